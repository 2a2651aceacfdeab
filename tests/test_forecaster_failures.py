"""Forecasters when things go wrong: interrupted and failed fits, divergence, degenerate data.

* ``fit`` and ``update`` are transactional: a real SIGINT (Ctrl-C) or an exception at any stage
  -- inside a network's epoch loop in stage 1 or 2, during calibration, while the history is
  stored -- leaves the previous fit (the same objects, the same forecasts) or an unfitted
  forecaster, and Ctrl-C aborts the fit with KeyboardInterrupt.
* Divergence: a network whose outputs are not finite is an error at ``fit``; a forecast that
  overflows when mapped back to the data scale falls back to the seasonal naive forecast of
  that series, with a warning naming it -- never inf/NaN silently.
* Degenerate data: constant series are forecast as their constant with zero-width intervals,
  also in a panel; a series of exactly ``window + horizon`` observations gets a true error.

The SIGINT tests run in child processes, so a stray interrupt can never stop the test session.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from _signals import sigint_default
from sklearn.exceptions import NotFittedError

from tsrnn.forecasting import RNNForecaster

TINY = dict(hidden_size=4, max_iter=6, n_iter_no_change=6, random_state=0)


def _monthly(n=48, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 100 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.Series(values, index=pd.period_range("2001-01", periods=n, freq="M"), name="v")


def _run_child(code: str, *args, timeout=240):
    proc = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=None if sys.platform == "win32" else sigint_default,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------------------------
# Ctrl-C at a chosen point: the child sends itself a real SIGINT there
# --------------------------------------------------------------------------------------------

# Scenarios: where the SIGINT is sent during the second call (a refit, or an update on a later
# origin) or during the first fit of a fresh forecaster. One child runs them all.
_SCENARIOS = textwrap.dedent(r"""
    import json, os, signal, sys, warnings
    import numpy as np, pandas as pd
    from sklearn.exceptions import NotFittedError
    import tsrnn.estimators._base as est_base
    import contextlib
    import tsrnn.forecasting._base as fc_base
    import tsrnn.forecasting._interrupt as fc_interrupt
    import tsrnn.forecasting._rnn as fc_rnn
    from tsrnn.forecasting import RNNForecaster

    warnings.simplefilter("ignore")
    t = np.arange(48)
    y = pd.Series(100 + 0.5 * t + 8 * np.sin(2 * np.pi * t / 12)
                  + np.random.default_rng(0).normal(0, 1, 48),
                  index=pd.period_range("2001-01", periods=48, freq="M"))
    state = {"where": None, "armed": False, "epoch_loops": 0}

    def sigint(where):
        if state["armed"] and state["where"] == where:
            os.kill(os.getpid(), signal.SIGINT)

    class Proxy:  # the trainer; sends SIGINT in the second epoch of the chosen epoch loop
        def __init__(self, trainer, where):
            self._t, self._where, self._n = trainer, where, 0
        def __getattr__(self, name):
            return getattr(self._t, name)
        def train_epoch(self, *a, **k):
            self._n += 1
            if self._n == 2:
                sigint(self._where)
            return self._t.train_epoch(*a, **k)

    run_epochs = est_base.run_epochs
    def patched_run_epochs(trainer, *a, **k):
        # two members: stage 1 of member 0 and 1, then stage 2 of member 0 and 1
        state["epoch_loops"] += 1
        where = {2: "stage1", 3: "stage2"}.get(state["epoch_loops"])
        return run_epochs(Proxy(trainer, where), *a, **k)

    calibrate, set_history = fc_rnn.calibrate, fc_base.BaseForecaster._set_history
    def patched_calibrate(*a, **k):
        sigint("calibrate")
        return calibrate(*a, **k)
    def patched_set_history(self, panel):
        sigint("history")
        return set_history(self, panel)

    est_base.run_epochs = patched_run_epochs
    fc_rnn.calibrate = patched_calibrate
    fc_base.BaseForecaster._set_history = patched_set_history

    propagate = fc_interrupt.propagate_interrupts

    def scenario(where, mode):
        # "absorbed": the epoch loop keeps the interrupt to itself (as for a lone estimator);
        # the guard's own SIGINT count must still abort the forecaster's fit
        fc_interrupt.propagate_interrupts = (
            contextlib.nullcontext if mode == "absorbed" else propagate
        )
        f = RNNForecaster(horizon=3, hidden_size=4, max_iter=6, n_iter_no_change=6,
                          n_models=2, random_state=0)
        state["where"], state["armed"] = where, False
        if mode != "fresh":
            f.fit(y.iloc[:-6])
        before = dict(f.__dict__)
        out = {"interrupted": False, "expected": None}
        if mode != "fresh":
            out["expected"] = f.predict().tolist()
        state["armed"], state["epoch_loops"] = True, 0
        try:
            f.update(y) if mode == "update" else f.fit(y)
        except KeyboardInterrupt:
            out["interrupted"] = True
        state["armed"] = False
        out["same_keys"] = sorted(before) == sorted(f.__dict__)
        out["same_objects"] = all(f.__dict__.get(k) is v for k, v in before.items())
        try:
            out["forecast"] = f.predict().tolist()
        except NotFittedError:
            out["forecast"] = "NotFittedError"
        return out

    print(json.dumps({f"{w}-{m}": scenario(w, m) for w, m in json.loads(sys.argv[1])}))
""")

_CASES = [
    ("stage1", "fresh"),
    ("stage1", "refit"),
    ("calibrate", "refit"),
    ("stage2", "refit"),
    ("stage2", "fresh"),
    ("history", "refit"),
    ("history", "update"),
    ("stage1", "absorbed"),
    ("stage2", "absorbed"),
]


@pytest.fixture(scope="module")
def sigint_scenarios():
    return _run_child(_SCENARIOS, json.dumps(_CASES))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to itself is POSIX")
@pytest.mark.parametrize("where, mode", _CASES)
def test_sigint_during_fit_keeps_previous_state(sigint_scenarios, where, mode):
    """Failed before: AttributeError '_panel' (fresh), IndexError or a silent mix (refit)."""
    out = sigint_scenarios[f"{where}-{mode}"]
    assert out["interrupted"], "Ctrl-C must abort the forecaster's fit"
    assert out["same_keys"] and out["same_objects"], "the previous state must be untouched"
    if mode == "fresh":
        assert out["forecast"] == "NotFittedError"
    else:
        assert out["forecast"] == out["expected"]


# --------------------------------------------------------------------------------------------
# Ctrl-C from outside, at whatever point the fit has reached
# --------------------------------------------------------------------------------------------

_LONG_FIT = textwrap.dedent(r"""
    import json, sys, warnings
    import numpy as np, pandas as pd
    from sklearn.exceptions import NotFittedError
    from tsrnn.forecasting import RNNForecaster

    warnings.simplefilter("ignore")
    mode = sys.argv[1]
    t = np.arange(60)
    y = pd.Series(50 + np.sin(t / 2) + 0.1 * t,
                  index=pd.date_range("2020-01-01", periods=60, freq="D"))
    f = RNNForecaster(horizon=2, hidden_size=4, max_iter=3, random_state=0)
    expected = cutoff = None
    if mode == "refit":
        expected = f.fit(y.iloc[:-5]).predict().tolist()
        cutoff = str(f.cutoff_)
    # an endless fit: patience and budget far beyond what the parent waits for
    f.set_params(max_iter=10**6, n_iter_no_change=10**6)
    before = dict(f.__dict__)
    print("READY", flush=True)
    out = {"interrupted": False}
    try:
        f.fit(y)
    except KeyboardInterrupt:
        out["interrupted"] = True
    out["same_state"] = (sorted(before) == sorted(f.__dict__)
                         and all(f.__dict__[k] is v for k, v in before.items()))
    try:
        out["forecast"] = f.predict().tolist()
        out["cutoff_kept"] = str(f.cutoff_) == cutoff
        out["expected"] = expected
    except NotFittedError:
        out["forecast"] = "NotFittedError"
    print(json.dumps(out), flush=True)
""")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process is POSIX")
@pytest.mark.parametrize("mode", ["fresh", "refit"])
def test_real_sigint_from_outside_mid_fit(mode):
    """A real Ctrl-C from another process: an aborted fit and the previous state."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _LONG_FIT, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=sigint_default,
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        time.sleep(1.0)  # well inside the endless stage-1 epoch loop
        os.kill(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out["interrupted"]
    assert out["same_state"], "the previous state (or none) must be untouched"
    if mode == "fresh":
        assert out["forecast"] == "NotFittedError"
    else:
        assert out["cutoff_kept"]
        assert out["forecast"] == out["expected"]


@pytest.fixture
def python_sigint():
    """Python's default SIGINT handler for the test, as in an interactive session (a test run
    started in the background by a shell without job control has SIGINT ignored: see
    tests/_signals.py); the disposition found is restored afterwards."""
    found = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, found)


def test_interrupt_guard_installs_counts_and_restores(python_sigint):
    """The guard's handler: only over Python's default one, in the main thread, chained to it
    (KeyboardInterrupt where the signal lands), counted for raise_if_interrupted, restored."""
    import threading

    from tsrnn.forecasting import _interrupt

    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    _interrupt.raise_if_interrupted()  # outside a guard: nothing to do
    with _interrupt.interrupt_guard():
        assert signal.getsignal(signal.SIGINT) is _interrupt._handler
        _interrupt.raise_if_interrupted()  # no SIGINT yet
        with pytest.raises(KeyboardInterrupt):
            _interrupt._handler(signal.SIGINT, None)  # what a SIGINT runs
        with pytest.raises(KeyboardInterrupt, match="keeps its state from before"):
            _interrupt.raise_if_interrupted()  # also when the first one was swallowed
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    _interrupt.raise_if_interrupted()

    seen = []
    thread = threading.Thread(
        target=lambda: seen.append(
            (_interrupt._install(), signal.getsignal(signal.SIGINT) is signal.default_int_handler)
        )
    )
    thread.start()
    thread.join()
    assert seen == [(False, True)]  # another thread leaves the handler alone

    def own(signum, frame):  # a program's own handler is kept
        pass

    previous = signal.signal(signal.SIGINT, own)
    try:
        with _interrupt.interrupt_guard():
            assert signal.getsignal(signal.SIGINT) is own
        assert signal.getsignal(signal.SIGINT) is own
    finally:
        signal.signal(signal.SIGINT, previous)


# --------------------------------------------------------------------------------------------
# exceptions part-way: the same guarantee, in process
# --------------------------------------------------------------------------------------------


def test_exception_in_refit_keeps_previous_state(monkeypatch):
    y = _monthly()
    f = RNNForecaster(horizon=3, **TINY).fit(y.iloc[:-6])
    before, expected = dict(f.__dict__), f.predict()

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tsrnn.forecasting._rnn.fit_stage2", boom)
    with pytest.raises(RuntimeError, match="boom"):
        f.fit(y)
    assert f.__dict__.keys() == before.keys()
    assert all(f.__dict__[k] is v for k, v in before.items())
    pd.testing.assert_series_equal(f.predict(), expected)


def test_exception_in_fresh_fit_leaves_unfitted(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("tsrnn.forecasting._rnn.fit_stage2", boom)
    f = RNNForecaster(horizon=3, **TINY)
    with pytest.raises(RuntimeError, match="boom"):
        f.fit(_monthly())
    assert set(f.__dict__) == set(f.get_params())
    with pytest.raises(NotFittedError):
        f.predict()


def test_failed_update_keeps_previous_history():
    y = _monthly()
    f = RNNForecaster(horizon=3, **TINY).fit(y)
    before, expected = dict(f.__dict__), f.predict()
    bad = y.iloc[:-3].copy()
    bad.iloc[-1] = -5.0  # the fitted log transform cannot take it
    with pytest.raises(ValueError, match="strictly positive"):
        f.update(bad)
    assert all(f.__dict__[k] is v for k, v in before.items())
    pd.testing.assert_series_equal(f.predict(), expected)


def test_refit_does_not_keep_stale_state():
    """A refit starts from the parameters only: nothing of the previous fit leaks into it."""
    y = _monthly()
    f = RNNForecaster(horizon=3, **TINY).fit(y.iloc[:-6])
    f.set_params(horizon=2).fit(y)
    g = RNNForecaster(horizon=2, **TINY).fit(y)
    pd.testing.assert_series_equal(f.predict(), g.predict())
    assert f.__dict__.keys() == g.__dict__.keys()


# --------------------------------------------------------------------------------------------
# divergence: never inf/NaN forecasts silently
# --------------------------------------------------------------------------------------------


def test_diverging_training_gives_no_non_finite_forecasts():
    """Failed before: learning_rate_init=1e6 forecast [0, 0, 0, inf, inf, inf] silently."""
    t = np.arange(48)
    y = pd.Series(100 + 10 * np.sin(t), index=pd.period_range("2001-01", periods=48, freq="M"))
    f = RNNForecaster(horizon=6, hidden_size=4, max_iter=20, learning_rate_init=1e6, random_state=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fc = f.fit(y).predict()
    assert np.isfinite(fc).all() and (fc > 0).all(), fc.tolist()
    assert caught, "a diverged fit must say so"


def _positive_panel(n=40):
    rng = np.random.default_rng(5)
    ds = pd.date_range("2022-01-03", periods=n, freq="D")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ds,
                    "y": level + np.sin(np.arange(n) * 0.9) + rng.normal(0, 0.2, n),
                }
            )
            for uid, level in (("a", 20.0), ("b", 50.0))
        ],
        ignore_index=True,
    )


def test_overflowing_forecast_falls_back_to_seasonal_naive(monkeypatch):
    """A forecast that overflows on the data's scale: the seasonal naive forecast of that
    series, NaN interval bounds, and a warning naming it; the other series are untouched.
    Failed before: inf returned without a word."""
    import tsrnn.forecasting._rnn as rnn_module

    panel = _positive_panel()
    f = RNNForecaster(horizon=4, **TINY).fit(panel)
    assert f.log_
    expected = f.predict(level=[80])
    real = rnn_module.ensemble_predict

    def overflow_first_row(estimators, X):
        out = real(estimators, X)
        out[0] = 1e6  # series 'a': exp(1e6 * scale) overflows
        return out

    monkeypatch.setattr(rnn_module, "ensemble_predict", overflow_first_row)
    with pytest.warns(RuntimeWarning, match=r"series 'a' is not finite.*seasonal naive"):
        fc = f.predict(level=[80])
    a, b = fc[fc.unique_id == "a"], fc[fc.unique_id == "b"]
    y_a = panel.loc[panel.unique_id == "a", "y"].to_numpy()
    m = f.season_length_
    np.testing.assert_array_equal(a["yhat"], np.resize(y_a[-m:], 4))
    assert a[["yhat_lo_80", "yhat_hi_80"]].isna().all().all()
    pd.testing.assert_frame_equal(
        b.reset_index(drop=True),
        expected[expected.unique_id == "b"].reset_index(drop=True),
    )


def test_non_finite_network_is_an_error_at_fit_and_keeps_previous_fit(monkeypatch):
    """Failed before: a network with NaN weights was kept and forecast NaN."""
    import tsrnn.forecasting._rnn as rnn_module

    y = _monthly()
    f = RNNForecaster(horizon=3, **TINY).fit(y.iloc[:-6])
    expected = f.predict()
    real = rnn_module.fit_stage2

    def nan_weights(*args, **kwargs):
        stage = real(*args, **kwargs)
        for est in stage.estimators:
            est.coefs_ = np.full_like(est.coefs_, np.nan)
        return stage

    monkeypatch.setattr(rnn_module, "fit_stage2", nan_weights)
    with pytest.raises(ValueError, match="training diverged.*learning_rate_init"):
        f.fit(y)
    pd.testing.assert_series_equal(f.predict(), expected)


# --------------------------------------------------------------------------------------------
# degenerate data: constant series, the window + horizon edge
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("level", [100.0, 1e6])
@pytest.mark.parametrize("normalize", ["window", "series", None])
def test_constant_series_is_forecast_as_its_constant(level, normalize):
    """Failed before: constant 100 forecast 79 to 118, 95 % intervals [48, 195]."""
    y = pd.Series(np.full(48, level), index=pd.period_range("2001-01", periods=48, freq="M"))
    f = RNNForecaster(horizon=6, normalize=normalize, **TINY).fit(y)
    fc = f.predict(level=[80, 95])
    np.testing.assert_array_equal(fc.to_numpy(), np.full((6, 5), level))
    np.testing.assert_array_equal(f.predict(h=9).to_numpy(), np.full(9, level))


def test_constant_series_in_a_panel():
    """Constant series at two levels among ordinary ones: exact constants, zero-width
    intervals; the shared scale and the calibration come from the ordinary series only."""
    rng = np.random.default_rng(2)
    ds = pd.date_range("2022-01-03", periods=40, freq="D")
    wave = np.sin(np.arange(40) * 0.9)
    series = {
        "c100": np.full(40, 100.0),
        "c1e6": np.full(40, 1e6),
        "a": 20 + wave + rng.normal(0, 0.2, 40),
        "b": 50 + 2 * wave + rng.normal(0, 0.2, 40),
    }
    panel = pd.concat(
        [pd.DataFrame({"unique_id": k, "ds": ds, "y": v}) for k, v in series.items()],
        ignore_index=True,
    )
    f = RNNForecaster(horizon=4, **TINY).fit(panel)
    fc = f.predict(level=[90])
    for uid, value in (("c100", 100.0), ("c1e6", 1e6)):
        rows = fc[fc.unique_id == uid][["yhat", "yhat_lo_90", "yhat_hi_90"]].to_numpy()
        np.testing.assert_array_equal(rows, np.full((4, 3), value))
    ordinary = fc[fc.unique_id.isin(["a", "b"])]
    assert np.isfinite(ordinary[["yhat", "yhat_lo_90", "yhat_hi_90"]].to_numpy()).all()
    assert (ordinary.yhat_hi_90 > ordinary.yhat_lo_90).all()
    # the constant series carry no scale: the shared scale is that of the ordinary ones
    g = RNNForecaster(horizon=4, **TINY).fit(panel[panel.unique_id.isin(["a", "b"])])
    assert f.scale_ == g.scale_


def test_nearly_constant_series_is_forecast_near_its_constant():
    rng = np.random.default_rng(0)
    y = pd.Series(
        100 + rng.normal(0, 1e-6, 48), index=pd.period_range("2001-01", periods=48, freq="M")
    )
    fc = RNNForecaster(horizon=6, **TINY).fit(y).predict(level=[95])
    np.testing.assert_allclose(fc.to_numpy(), 100.0, atol=1e-3)


def test_nearly_constant_series_in_a_shared_scale_panel_keeps_its_own_scale():
    """Failed before: with the panel's shared (log) scale a series varying by 1e-8 was
    forecast 99.7 to 100.2 with 90 % intervals about [98.3, 101.6]."""
    rng = np.random.default_rng(2)
    ds = pd.date_range("2022-01-03", periods=40, freq="D")
    wave = np.sin(np.arange(40) * 0.9)
    series = {
        "near": 100 + rng.normal(0, 1e-6, 40),
        "a": 20 + wave + rng.normal(0, 0.2, 40),
        "b": 50 + 2 * wave + rng.normal(0, 0.2, 40),
    }
    panel = pd.concat(
        [pd.DataFrame({"unique_id": k, "ds": ds, "y": v}) for k, v in series.items()],
        ignore_index=True,
    )
    f = RNNForecaster(horizon=4, **TINY).fit(panel)
    assert f.scale_ is not None  # a shared scale (log transform)
    fc = f.predict(level=[90])
    near = fc[fc.unique_id == "near"][["yhat", "yhat_lo_90", "yhat_hi_90"]].to_numpy()
    np.testing.assert_allclose(near, 100.0, atol=1e-3)


def test_update_to_a_constant_history_forecasts_the_constant():
    y = _monthly()
    f = RNNForecaster(horizon=3, **TINY).fit(y)
    flat = pd.Series(np.full(30, 7.5), index=y.index[-30:], name="v")
    fc = f.update(flat).predict(level=[80])
    np.testing.assert_array_equal(fc.to_numpy(), np.full((3, 3), 7.5))


def test_series_of_exactly_window_plus_horizon_gets_a_true_error():
    """Failed before: the error advised early_stopping=False, validation_fraction=0, which then
    failed with scikit-learn's "Found array with 1 sample(s)"."""
    y = pd.Series(np.arange(1.0, 11.0))  # 10 = window 7 + horizon 3: one training window
    base = dict(window=7, horizon=3, hidden_size=4, max_iter=3, random_state=0)
    for extra in ({}, dict(early_stopping=False, validation_fraction=0)):
        with pytest.raises(ValueError, match="only 1 training window.*shorter window") as err:
            RNNForecaster(**base, **extra).fit(y)
        assert "early_stopping" not in str(err.value)
    # the advice holds: a shorter window works (without early stopping: too short to hold out)
    shorter = RNNForecaster(**{**base, "window": 6}, early_stopping=False, validation_fraction=0)
    assert np.isfinite(shorter.fit(y).predict()).all()


def test_window_plus_horizon_plus_one_advice_is_true():
    """Two windows: too few to hold one out; the advised configuration then fits."""
    y = pd.Series(np.arange(1.0, 12.0))
    base = dict(window=7, horizon=3, hidden_size=4, max_iter=3, random_state=0)
    with pytest.raises(ValueError, match="early_stopping=False and validation_fraction=0"):
        RNNForecaster(**base).fit(y)
    for extra in (dict(early_stopping=False, validation_fraction=0), dict(early_stopping=False)):
        fc = RNNForecaster(**base, **extra).fit(y).predict()
        assert np.isfinite(fc).all()
