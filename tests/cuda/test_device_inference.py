"""Predictions on the device, the forecaster on the device, and launches per batch.

Run like ``test_cudasim.py`` (see its docstring): under the simulator with
``NUMBA_ENABLE_CUDASIM=1`` and tiny tiles, on a GPU with ``TSRNN_TEST_GPU=1``;
otherwise everything here skips.

* :func:`tsrnn.cuda._inference.predict` against the CPU's ``predict``
  (float64 to 1e-10, float32 to 1e-4 relative to the largest output, as in
  ``test_cudasim.py``), every cell, one and two layers, bidirectional, row
  counts that are not a multiple of the sample tile;
* batch invariance on the device: a row's prediction is bit-identical alone,
  inside a larger batch, and with the rows permuted (float32 and float64);
* estimators fitted with ``device='cuda'`` predict on the device, and a saved
  one predicts on a machine without CUDA with the CPU kernels;
* ``RNNForecaster(device='cuda')`` end to end, its windows uploaded once per fit;
* kernel launches per training batch do not grow with the sequence length for
  layers that run the sequence kernels, and grow by 2 per step and layer
  direction for the per-step kernels (a count, not a timing).
"""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _support import DTYPES, SIM, SIM_CONFIG, assert_close, needs_cuda

from tsrnn import _network as net
from tsrnn._registry import CELLS

pytestmark = needs_cuda


@pytest.fixture(scope="module")
def kernels():
    from tsrnn.cuda import _inference, cuda_available, cuda_unavailable_reason
    from tsrnn.cuda import _kernels as K

    assert cuda_available(), cuda_unavailable_reason()
    if SIM:
        K.configure(**SIM_CONFIG)
    _inference.clear_cache()
    yield K
    _inference.clear_cache()
    K.configure()


# --------------------------------------------------------------------------
# device predict against the CPU predict
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_device_predict_matches_cpu_predict(kernels, cell, dtype):
    from tsrnn.cuda import _inference

    rng = np.random.default_rng(21)
    spec = net.NetworkSpec(cell, 3, 3, 2, True, 2)  # two layers, bidirectional
    theta = net.init_params(spec, rng, dtype)
    X = rng.normal(size=(3, 2, 3)).astype(dtype)  # 3 rows: not a multiple of any tile
    got = _inference.predict(spec, theta, X)
    assert got.dtype == dtype and got.shape == (3, 2)
    assert_close(got, net.predict(spec, theta, X), dtype)
    # in chunks smaller than the rows, the last one partial
    from tsrnn.cuda import _network as dnet

    assert_close(dnet.host_predict(spec, theta, X, batch_size=2), got, dtype)


@pytest.mark.parametrize("dtype,seq_max_hidden", [(np.float64, 64), (np.float32, 0)])
def test_device_predict_is_batch_invariant(kernels, monkeypatch, dtype, seq_max_hidden):
    """A row's prediction is bit-identical alone, in a larger batch and permuted.

    D = 6 and 2·N = 6 inputs to the GEMMs: with the simulator's tiles a training
    GEMM over them would be split along K depending on the batch size; the
    inference sweeps never split.  ``seq_max_hidden=0`` runs the per-step kernels.
    """
    from tsrnn.cuda import _inference

    monkeypatch.setitem(kernels.CONFIG, "seq_max_hidden", seq_max_hidden)
    rng = np.random.default_rng(22)
    spec = net.NetworkSpec("lstm", 6, 3, 2, True, 2)
    theta = net.init_params(spec, rng, dtype)
    X = rng.normal(size=(5, 2, 6)).astype(dtype)
    full = _inference.predict(spec, theta, X)
    perm = np.array([4, 2, 0, 3, 1])
    np.testing.assert_array_equal(_inference.predict(spec, theta, X[perm]), full[perm])
    np.testing.assert_array_equal(_inference.predict(spec, theta, X[3:4])[0], full[3])
    assert_close(full, net.predict(spec, theta, X), dtype)


def test_device_parameters_are_uploaded_once_and_changes_noticed(kernels, monkeypatch):
    from numba import cuda

    from tsrnn.cuda import _inference

    rng = np.random.default_rng(23)
    spec = net.NetworkSpec("gru", 2, 3, 1, False, 1)
    theta = net.init_params(spec, rng)
    X = rng.normal(size=(3, 4, 2))
    _inference.clear_cache()
    uploads = []
    real = cuda.to_device
    monkeypatch.setattr(cuda, "to_device", lambda a, *args, **kw: uploads.append(a) or real(a))
    _inference.predict(spec, theta, X)
    _inference.predict(spec, theta.copy(), X)  # equal parameters: nothing re-sent
    assert sum(a.ndim == 1 and a.size == spec.n_params for a in uploads) == 1
    assert sum(a.shape == X.shape for a in uploads) == 2  # X once per call
    theta[0] += 1.0  # changed in place: re-uploaded, new result
    changed = _inference.predict(spec, theta, X)
    assert sum(a.ndim == 1 and a.size == spec.n_params for a in uploads) == 2
    assert_close(changed, net.predict(spec, theta, X), np.float64)


# --------------------------------------------------------------------------
# estimators fitted on the device predict there; saved ones predict anywhere
# --------------------------------------------------------------------------


def _needs_estimator_deps():
    # a bare GPU machine (experiments/gpu_check.sh) may lack them; CI and development have them
    pytest.importorskip("sklearn", reason="the estimators need scikit-learn")
    pytest.importorskip("pandas", reason="the estimators need pandas")


def _fit_regressor(device, dtype="float64", cell="gru"):
    _needs_estimator_deps()
    from tsrnn import GRURegressor, LSTMRegressor

    rng = np.random.default_rng(24)
    X = rng.normal(size=(9, 4, 2))
    y = X[:, -1, 0] + 0.5 * X[:, 0, 1]
    est = {"gru": GRURegressor, "lstm": LSTMRegressor}[cell](
        hidden_size=3,
        max_iter=2,
        batch_size=4,
        random_state=0,
        dtype=dtype,
        device=device,
    )
    with pytest.warns(Warning):  # max_iter reached
        est.fit(X, y)
    return est, X


@pytest.mark.parametrize("dtype", ["float64"])  # float32 parity: the predict tests above
def test_estimator_fitted_on_cuda_predicts_on_the_device(kernels, monkeypatch, dtype):
    from tsrnn import _backend
    from tsrnn.cuda import _inference

    calls = []
    real = _inference.predict
    monkeypatch.setattr(_inference, "predict", lambda *a, **k: calls.append(1) or real(*a, **k))
    est, X = _fit_regressor("cuda", dtype)
    assert est.device_ == "cuda"
    got = est.predict(X)
    assert len(calls) == 1
    want = _backend.predict(est.network_, est.coefs_, X.astype(dtype), "cpu")[:, 0]
    assert_close(got, want, np.dtype(dtype).type)
    est.set_params(device="cpu")  # asked for the CPU after the fit: predicts there
    np.testing.assert_array_equal(est.predict(X), want)
    assert len(calls) == 1
    est_cpu, _ = _fit_regressor("cpu", dtype)
    assert est_cpu.device_ == "cpu"
    est_cpu.predict(X)
    assert len(calls) == 1  # a CPU-fitted model predicts on the CPU


def test_saved_cuda_model_predicts_on_a_machine_without_cuda(kernels, tmp_path):
    import tsrnn

    est, X = _fit_regressor("cuda", "float64", cell="lstm")
    on_device = est.predict(X)
    tsrnn.save(est, tmp_path / "m.tsrnn")
    np.save(tmp_path / "X.npy", X)
    script = textwrap.dedent(
        f"""
        import numpy as np, tsrnn
        import tsrnn.cuda as c
        assert not c.cuda_available(), "this process must not see CUDA"
        est = tsrnn.load({str(tmp_path / "m.tsrnn")!r})
        assert est.device_ == "cuda"
        np.save({str(tmp_path / "cpu.npy")!r}, est.predict(np.load({str(tmp_path / "X.npy")!r})))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("NUMBA_ENABLE_CUDASIM",)}
    env["NUMBA_DISABLE_CUDA"] = "1"  # numba.cuda reports no device
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    on_cpu = np.load(tmp_path / "cpu.npy")
    assert_close(on_cpu, on_device, np.float64)


# --------------------------------------------------------------------------
# the forecaster end to end on the device
# --------------------------------------------------------------------------


def _monthly(n=24):
    import pandas as pd

    t = np.arange(n)
    values = 50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12)
    return pd.Series(values, index=pd.period_range("2000-01", periods=n, freq="M"))


def _forecaster(max_iter):
    _needs_estimator_deps()
    from tsrnn.forecasting import RNNForecaster

    return RNNForecaster(
        horizon=2,
        window=4,
        hidden_size=2,
        max_iter=max_iter,
        n_iter_no_change=max_iter,
        batch_size=16,
        refit_full=False,
        random_state=0,
        device="cuda",
        dtype="float64",
    )


def test_forecaster_on_the_device_uploads_its_windows_once_per_fit(kernels, monkeypatch):
    import warnings

    from numba import cuda

    _needs_estimator_deps()
    y = _monthly()
    real = cuda.to_device
    counts = {}
    for max_iter in (1, 2):
        uploads = []

        def spy(a, *args, _uploads=uploads, **kw):
            _uploads.append(np.asarray(a))
            return real(a, *args, **kw)

        monkeypatch.setattr(cuda, "to_device", spy)
        f = _forecaster(max_iter)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            f.fit(y)
        monkeypatch.setattr(cuda, "to_device", real)
        # data sets (3-D and not all zero: workspaces start as uploaded zeros)
        counts[max_iter] = sum(a.ndim == 3 and a.any() for a in uploads)
        assert counts[max_iter] >= 1
    assert counts[1] == counts[2], counts  # not per epoch, not per batch
    fc = np.asarray(f.predict(), dtype=np.float64)
    assert fc.shape == (2,) and np.all(np.isfinite(fc))
    # the same fitted forecaster, with its networks forced to the CPU: same forecast
    models = list(f.estimators_)
    assert models and all(m.device_ == "cuda" for m in models)
    for m in models:
        m.device_ = "cpu"
    assert_close(fc, np.asarray(f.predict(), dtype=np.float64), np.float64)


# --------------------------------------------------------------------------
# kernel launches per training batch
# --------------------------------------------------------------------------


def _count_launches(monkeypatch, spec, T, B=2):
    """Kernels launched by one training batch (loss, gradient, clipping, update)."""
    from tsrnn import _training as tr
    from tsrnn.cuda import CudaTrainer

    rng = np.random.default_rng(25)
    theta = net.init_params(spec, rng)
    X = rng.normal(size=(B, T, spec.n_features))
    y = rng.normal(size=(B, spec.n_outputs))
    trainer = CudaTrainer(spec, theta, tr.Adam(learning_rate=1e-3), "mse", 0.1, 1.0)
    trainer.train_epoch(X, y, [np.arange(B)])  # compile, allocate
    launches = count_kernel_launches(monkeypatch)
    trainer.train_epoch(X, y, [np.arange(B)])
    return launches()


def count_kernel_launches(monkeypatch):
    """Start counting kernel launches; returns a function giving the count so far."""
    n = [0]
    if SIM:
        from numba.cuda.simulator import kernel as sim

        real = sim.FakeCUDAKernel.__call__

        def call(self, *args):
            if not (self._device or sim._kernel_context):
                n[0] += 1
            return real(self, *args)

        monkeypatch.setattr(sim.FakeCUDAKernel, "__call__", call)
    else:
        from numba.cuda.dispatcher import _Kernel

        real = _Kernel.launch

        def launch(self, *args, **kw):
            n[0] += 1
            return real(self, *args, **kw)

        monkeypatch.setattr(_Kernel, "launch", launch)
    return lambda: n[0]


@pytest.fixture
def no_split_k(kernels):
    """GEMMs never split along K (whether they do depends on T·B: one launch more)."""
    if SIM:
        kernels.configure(**dict(SIM_CONFIG, target_blocks=1))
        yield kernels
        kernels.configure(**SIM_CONFIG)
    else:
        kernels.configure(target_blocks=1)
        yield kernels
        kernels.configure()


def test_launches_per_batch_do_not_grow_with_T_for_sequence_kernels(no_split_k, monkeypatch):
    # GRU (the cell with the most buffers), one bidirectional layer: two layer directions
    kernels = no_split_k
    spec = net.NetworkSpec("gru", 2, 3, 1, True, 1)
    n2 = _count_launches(monkeypatch, spec, 2)
    n4 = _count_launches(monkeypatch, spec, 4)
    assert n2 == n4
    # per-step kernels (wide layers): one forward and one backward launch per step,
    # layer and direction instead of one each per sweep
    monkeypatch.setitem(kernels.CONFIG, "seq_max_hidden", 0)
    s2 = _count_launches(monkeypatch, spec, 2)
    s4 = _count_launches(monkeypatch, spec, 4)
    layer_dirs = spec.num_layers * spec.n_directions
    assert s2 - n2 == layer_dirs * (2 * 2 - 2)
    assert s4 - s2 == layer_dirs * 2 * 2
