"""The network layer when things go wrong: huge gradients and threads.

* ``clip_grad_norm`` sums the global norm without overflow: a float32 gradient whose squares
  overflow float32 (entries above ~1.8e19) was zeroed (norm inf, factor 0); it is now scaled
  to ``max_norm`` as float64 arithmetic says.  Ordinary gradients are clipped bit for bit as
  before, and a non-finite gradient still gives an inf / NaN norm, which the trainer checks
  before clipping (it stops the epoch without an update).
* BLAS is held to one thread inside tsrnn's regions (:func:`tsrnn._training.cpu_parallel`, a
  forecaster's fit / update / predict).  threadpoolctl's limits are process-wide: regions of
  several user threads that overlapped restored each other's limits in the wrong order and left
  the process's BLAS pinned to one thread.  All regions now share one limit, set by the first
  to enter and restored by the last to leave.
"""

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest

from tsrnn import LSTMRegressor, SeasonalNaiveForecaster, _training
from tsrnn import _kernels as K
from tsrnn import _network as net

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# --------------------------------------------------------------------------
# clip_grad_norm without overflow
# --------------------------------------------------------------------------


def _expected_clip(g, max_norm, norm):
    """grad ← grad · max_norm / (norm + 1e-6) when that factor is < 1, in float64, stored back."""
    coef = max_norm / (norm + 1e-6)
    if coef >= 1.0:
        return g.copy()
    return (g.astype(np.float64) * coef).astype(g.dtype)


def test_float32_gradient_beyond_float32_squares_is_scaled_not_zeroed():
    g = np.array([1e20, 3e20], dtype=np.float32)  # squares 1e40, 9e40 overflow float32
    x = g.astype(np.float64)
    expected_norm = math.sqrt(x[0] * x[0] + x[1] * x[1])  # float64 math, no overflow there
    got = g.copy()
    norm = K.clip_grad_norm(got, 1.0)
    assert norm == expected_norm
    np.testing.assert_array_equal(got, _expected_clip(g, 1.0, expected_norm))
    assert got[0] != 0 and got[1] != 0  # the old kernel returned inf and zeros
    assert np.sqrt(np.sum(got.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-6)
    assert got[1] / got[0] == pytest.approx(3.0, rel=1e-6)  # the direction is kept


def test_float32_gradient_mixing_ordinary_and_huge_entries():
    rng = np.random.default_rng(0)
    g = rng.normal(size=50).astype(np.float32)
    g[[3, 17, 40]] = np.array([2e19, -5e25, 3.3e38], dtype=np.float32)  # 3.3e38: near max
    expected_norm = math.hypot(*g.astype(np.float64))
    got = g.copy()
    norm = K.clip_grad_norm(got, 0.5)
    assert math.isfinite(norm)
    assert norm == pytest.approx(expected_norm, rel=1e-12)
    np.testing.assert_allclose(got, _expected_clip(g, 0.5, expected_norm), rtol=1e-6, atol=0)
    assert np.sqrt(np.sum(got.astype(np.float64) ** 2)) == pytest.approx(0.5, rel=1e-6)


def test_float64_gradient_beyond_float64_squares_is_scaled():
    g = np.array([1e200, -3e200, 0.5, 2e160])  # squares overflow float64
    expected_norm = math.hypot(*g)
    got = g.copy()
    norm = K.clip_grad_norm(got, 2.0)
    assert norm == pytest.approx(expected_norm, rel=1e-15)
    np.testing.assert_allclose(got, g * (2.0 / expected_norm), rtol=1e-15, atol=0)
    assert math.hypot(*got) == pytest.approx(2.0, rel=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ratio", [0.1, 3.0])
def test_ordinary_gradients_are_clipped_bit_for_bit_as_before(dtype, ratio):
    """The former formula: squares in the gradient's dtype summed in float64, in order."""
    rng = np.random.default_rng(1)
    g = (rng.normal(size=101) * 7.0).astype(dtype)
    sq = 0.0
    for v in g:
        sq += float(v * v)  # v * v in dtype, as the former kernel
    norm_before = math.sqrt(sq)
    max_norm = ratio * norm_before
    got = g.copy()
    norm = K.clip_grad_norm(got, max_norm)
    assert norm == norm_before
    np.testing.assert_array_equal(got, _expected_clip(g, max_norm, norm_before))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_gradients_give_non_finite_norms(dtype):
    for bad, check in ((np.inf, math.isinf), (-np.inf, math.isinf), (np.nan, math.isnan)):
        g = np.array([1.0, bad, 3e20 if dtype == np.float32 else 1e300], dtype=dtype)
        assert check(K.clip_grad_norm(g, 1.0)), bad
    g = np.array([np.inf, np.nan], dtype=dtype)
    assert math.isnan(K.clip_grad_norm(g, 1.0))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_all_finite_finds_any_non_finite_entry(dtype):
    assert K.all_finite(np.zeros(0, dtype)) and K.all_finite(np.array([0.0, -1e30, 1e-40], dtype))
    assert K.all_finite(np.array([np.finfo(dtype).max, -np.finfo(dtype).max], dtype))
    for bad in (np.inf, -np.inf, np.nan):
        for where in (0, 3, 6):
            g = np.ones(7, dtype)
            g[where] = bad
            assert not K.all_finite(g), (bad, where)


def _tiny_trainer(dtype, clip, lr=0.1):
    spec = net.NetworkSpec("rnn", 2, 3, 1, False, 1)
    theta = net.init_params(spec, np.random.default_rng(2), dtype)
    X = np.random.default_rng(3).normal(size=(4, 3, 2)).astype(dtype)
    y = np.zeros((4, 1), dtype=dtype)
    return _training.CpuTrainer(spec, theta, _training.SGD(lr), "mse", 0.0, clip), X, y


def _replace_gradient(monkeypatch, make_grad):
    """loss_and_grad returns a loss of 1 and the gradient ``make_grad(shape, dtype)``."""

    def fake(spec, theta, X, y, *args):
        return 1.0, make_grad(theta.shape, theta.dtype)

    monkeypatch.setattr(net, "loss_and_grad", fake)


def test_trainer_clips_a_huge_finite_float32_gradient(monkeypatch):
    trainer, X, y = _tiny_trainer(np.float32, clip=1.0)
    theta0 = trainer.get_params()
    huge = np.zeros(theta0.shape, np.float32)
    huge[[0, 5]] = [4e25, -3e25]

    _replace_gradient(monkeypatch, lambda shape, dtype: huge.copy())
    L, ok = trainer.train_epoch(X, y, [np.arange(4)])
    assert ok and L == 1.0
    step = theta0.astype(np.float64) - trainer.get_params()
    # SGD with lr 0.1 on the gradient scaled to norm 1: a step of norm 0.1, along (4, -3)
    assert np.sqrt(np.sum(step**2)) == pytest.approx(0.1, rel=1e-5)
    assert step[0] == pytest.approx(0.08, rel=1e-4) and step[5] == pytest.approx(-0.06, rel=1e-4)


@pytest.mark.parametrize("bad", [np.inf, np.nan])
def test_trainer_stops_on_a_non_finite_gradient_without_update(monkeypatch, bad):
    trainer, X, y = _tiny_trainer(np.float32, clip=1.0)
    theta0 = trainer.get_params()

    def grad(shape, dtype):
        g = np.ones(shape, dtype)
        g[2] = bad
        return g

    _replace_gradient(monkeypatch, grad)
    L, ok = trainer.train_epoch(X, y, [np.arange(4)])
    assert not ok and math.isnan(L)  # no finite step to average
    trainer, X, y = _tiny_trainer(np.float32, clip=None)  # checked without clipping too
    L, ok = trainer.train_epoch(X, y, [np.arange(4)])
    assert not ok and math.isnan(L)
    np.testing.assert_array_equal(trainer.get_params(), theta0)
    assert trainer.get_optimizer_state()["step"] == 0


# --------------------------------------------------------------------------
# BLAS limits across threads
# --------------------------------------------------------------------------


def _release_blas_control():
    """Let any thread change OpenBLAS's limit again (threadpoolctl >= 3.8; a no-op before)."""
    import threadpoolctl

    cls = getattr(threadpoolctl, "OpenBLASController", None)
    if hasattr(cls, "clear_controlling_thread"):
        cls.clear_controlling_thread(force=True)


def _blas_threads():
    """The thread counts of the BLAS libraries tsrnn's controller holds, read live."""
    return [i["num_threads"] for i in _training._blas_controller().select(user_api="blas").info()]


@pytest.fixture
def blas_at_3():
    """BLAS set to 3 threads (not 1, not a machine's usual default) for the test, then restored.

    threadpoolctl >= 3.8 lets only one thread change OpenBLAS's limit until it gives control
    back; the fixture gives it back, so that any thread may limit BLAS during the test.

    The preconditions are checked first, so that state left by earlier tests in the process is
    named rather than showing up as a limit that did not hold: no tsrnn region still active
    (a leaked region count makes the next region skip the limit), and tsrnn's controller
    holding every BLAS loaded now (one loaded after it was made would escape the limit).
    """
    from threadpoolctl import ThreadpoolController

    assert _training._BLAS_REGIONS == 0 and _training._BLAS_LIMITER is None, (
        "a tsrnn BLAS region is still active from an earlier test",
        _training._BLAS_REGIONS,
        [t.name for t in threading.enumerate()],
    )
    held = {
        lib.filepath for lib in _training._blas_controller().select(user_api="blas").lib_controllers
    }
    loaded = {
        lib.filepath for lib in ThreadpoolController().select(user_api="blas").lib_controllers
    }
    assert loaded <= held, ("BLAS loaded after tsrnn's controller was made", loaded - held)
    limiter = _training._blas_controller().limit(limits=3, user_api="blas")
    _release_blas_control()
    try:
        before = _blas_threads()
        assert before and set(before) == {3}, before
        yield before
    finally:
        limiter.restore_original_limits()
        _release_blas_control()


def _series(n=40):
    index = pd.date_range("2020-01-01", periods=n, freq="D")
    return pd.Series(np.sin(np.arange(n) / 3.0) + 5.0, index=index, name="y")


def test_overlapping_regions_of_two_threads_restore_blas(blas_at_3, monkeypatch):
    """A enters, B enters, A leaves, B leaves: the order that left BLAS at 1 thread."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(6, 4, 2)), rng.normal(size=6)
    model = LSTMRegressor(hidden_size=3, max_iter=2, batch_size=6, random_state=0).fit(X, y)
    expected = model.predict(X)

    a_in, b_in, a_done = threading.Event(), threading.Event(), threading.Event()
    inside = {}
    inner = net.predict

    def spy(spec, theta, Xc, executor=None):
        name = threading.current_thread().name
        if name == "A":
            a_in.set()
            assert b_in.wait(10)
        else:
            b_in.set()
            assert a_done.wait(10)  # B is still inside after A has left
        inside[name] = _blas_threads()
        return inner(spec, theta, Xc, executor)

    monkeypatch.setattr(net, "predict", spy)
    results = {}

    def run(name):
        threading.current_thread().name = name
        results[name] = model.predict(X)

    thread_a = threading.Thread(target=run, args=("A",))
    thread_b = threading.Thread(target=run, args=("B",))
    thread_a.start()
    assert a_in.wait(10)
    thread_b.start()
    thread_a.join(10)
    assert not thread_a.is_alive()
    between = _blas_threads()  # A has left, B is still inside
    a_done.set()
    thread_b.join(10)
    assert not thread_b.is_alive()
    after = _blas_threads()

    one = [1] * len(blas_at_3)
    # the former per-call limits gave between == [3, 3] (lifted under B), after == [1, 1]
    assert (inside, between, after) == ({"A": one, "B": one}, one, blas_at_3)
    np.testing.assert_array_equal(results["A"], expected)
    np.testing.assert_array_equal(results["B"], expected)


def test_forecaster_and_estimator_regions_share_the_limit(blas_at_3, monkeypatch):
    """A forecaster's predict (its own region) overlapping an estimator's: same one limit."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 4, 2)), rng.normal(size=6)
    model = LSTMRegressor(hidden_size=3, max_iter=2, batch_size=6, random_state=0).fit(X, y)
    naive = SeasonalNaiveForecaster(season_length=7, horizon=3).fit(_series())
    expected = naive.predict()

    f_in, e_in, f_done = threading.Event(), threading.Event(), threading.Event()
    inside = {}
    inner_forecast = type(naive)._predict
    inner_predict = net.predict

    def forecast_spy(self, *args):
        f_in.set()
        assert e_in.wait(10)
        inside["forecaster"] = _blas_threads()
        return inner_forecast(self, *args)

    def predict_spy(*args):
        e_in.set()
        assert f_done.wait(10)
        inside["estimator"] = _blas_threads()
        return inner_predict(*args)

    monkeypatch.setattr(type(naive), "_predict", forecast_spy)
    monkeypatch.setattr(net, "predict", predict_spy)
    with ThreadPoolExecutor(max_workers=2) as pool:
        forecast = pool.submit(naive.predict)
        assert f_in.wait(10)
        estimate = pool.submit(model.predict, X)
        forecast.result(timeout=10)  # the forecaster left first
        between = _blas_threads()
        f_done.set()
        estimate.result(timeout=10)
    one = [1] * len(blas_at_3)
    assert (inside, between) == ({"forecaster": one, "estimator": one}, one)
    assert _blas_threads() == blas_at_3
    pd.testing.assert_series_equal(forecast.result(), expected)


def test_concurrent_fits_and_predicts_leave_blas_as_found(blas_at_3, monkeypatch):
    """Several fits and predicts from a thread pool, starting and ending at staggered times."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(8, 4, 2)), rng.normal(size=8)
    fitted = LSTMRegressor(hidden_size=3, max_iter=2, batch_size=4, random_state=0).fit(X, y)
    inside = []
    lock = threading.Lock()
    inner_grad, inner_predict = net.loss_and_grad, net.predict

    def record():
        with lock:
            inside.append(_blas_threads())
        time.sleep(0.002)

    def grad_spy(*args, **kwargs):
        record()
        return inner_grad(*args, **kwargs)

    def predict_spy(*args, **kwargs):
        record()
        return inner_predict(*args, **kwargs)

    monkeypatch.setattr(net, "loss_and_grad", grad_spy)
    monkeypatch.setattr(net, "predict", predict_spy)

    def job(i):
        time.sleep(0.003 * (i % 4))  # staggered starts
        if i % 2:
            est = LSTMRegressor(hidden_size=2, max_iter=1 + i % 3, batch_size=4, random_state=i)
            return est.fit(X, y).predict(X)
        return fitted.predict(X)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(job, range(12)))
    assert len(results) == 12 and all(r.shape == (8,) for r in results)
    assert len(inside) >= 12 and all(t == [1] * len(blas_at_3) for t in inside)
    assert _blas_threads() == blas_at_3


def test_nested_and_failing_regions_restore_blas(blas_at_3):
    with _training.blas_single_threaded():
        with _training.cpu_parallel(10, 100):
            assert _blas_threads() == [1] * len(blas_at_3)
        assert _blas_threads() == [1] * len(blas_at_3)  # the outer region still holds it
    assert _blas_threads() == blas_at_3
    with pytest.raises(RuntimeError, match="boom"):
        with _training.cpu_parallel(10, 100):
            raise RuntimeError("boom")
    assert _blas_threads() == blas_at_3
    assert _training._BLAS_REGIONS == 0
