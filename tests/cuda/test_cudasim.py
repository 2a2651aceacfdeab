"""The CUDA backend against the CPU path: kernels, network, trainer.

These tests set nothing themselves.  They run

* under Numba's CUDA simulator: ``NUMBA_ENABLE_CUDASIM=1 python -m pytest
  tests/cuda`` (a separate process, because the variable must be set before
  numba is imported; ``.ci/run`` starts it), with tiny sizes and tiny tiles;
* on a real GPU: ``TSRNN_TEST_GPU=1 python -m pytest tests/cuda``, with the
  production tile sizes and, in addition, sizes that span several tiles.

Otherwise (the main test run) only the detection tests run and the rest skip.
Tolerances: float64 to 1e-10, float32 to 1e-4, relative to the largest value;
float32 outputs and losses to 1e-6, as the devices share their activations.
The grids iterate the registries (cells, losses, optimisers) of tsrnn._registry.
"""

import itertools
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from _support import DTYPES, GPU, SIM, SIM_CONFIG, TOL, assert_close, gpu_only, needs_cuda

from tsrnn import _kernels as CK
from tsrnn import _network as net
from tsrnn import _training as tr
from tsrnn._registry import CELLS, LOSSES, OPTIMIZERS, call


@pytest.fixture(scope="module")
def kernels():
    """The CUDA kernel module, with small tiles under the simulator."""
    if not (SIM or GPU):
        pytest.skip("no CUDA target")
    from tsrnn.cuda import _kernels as K
    from tsrnn.cuda import cuda_available, cuda_unavailable_reason

    assert cuda_available(), cuda_unavailable_reason()  # TSRNN_TEST_GPU=1 demands a GPU
    if SIM:
        K.configure(**SIM_CONFIG)
    yield K
    K.configure()


# the quantile levels of the losses that take them (three: they divide O = 3)
LEVELS = (0.1, 0.5, 0.9)


def _levels(loss):
    return LEVELS if LOSSES[loss].takes_levels else None


def _problem(rng, cell, layers, bi, loss, dtype, B=2, T=3, D=2, N=3, O=3):
    spec = net.NetworkSpec(cell, D, N, layers, bi, O)
    theta = net.init_params(spec, rng, dtype)
    X = rng.normal(size=(B, T, D)).astype(dtype)
    y = rng.integers(0, O, B) if loss == "xent" else rng.normal(size=(B, O)).astype(dtype)
    if LOSSES[loss].takes_levels:  # one target per output, repeated for its 3 quantiles
        y = np.repeat(y[:, :1], len(LEVELS), axis=1)
    return spec, theta, X, y


# --------------------------------------------------------------------------
# detection (runs in every test process)
# --------------------------------------------------------------------------


def test_cuda_available_never_raises():
    from tsrnn.cuda import cuda_available, cuda_unavailable_reason

    available = cuda_available()
    assert isinstance(available, bool)
    assert available == (cuda_unavailable_reason() == "")
    if SIM:
        assert available


def test_require_cuda_message(monkeypatch):
    import tsrnn.cuda as tc

    monkeypatch.setattr(tc, "_detect", lambda: (False, "no GPU here"))
    assert tc.cuda_available() is False
    with pytest.raises(RuntimeError, match="device='cuda'.*no GPU here"):
        tc.require_cuda()
    with pytest.raises(RuntimeError, match="numba-cuda"):
        tc.CudaTrainer(net.NetworkSpec("rnn", 1, 2), np.zeros(9), tr.Adam(0.01))


def test_import_is_lazy():
    code = (
        "import sys, tsrnn.cuda; "
        "assert 'numba.cuda' not in sys.modules, "
        "sorted(m for m in sys.modules if m.startswith('numba'))"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)


# --------------------------------------------------------------------------
# building blocks against numpy and the CPU kernels
# --------------------------------------------------------------------------


@needs_cuda
@pytest.mark.parametrize("trans_a,trans_b", list(itertools.product([False, True], repeat=2)))
@pytest.mark.parametrize("M,N,K", [(5, 3, 7), (1, 6, 13)])
def test_gemm_transposes_bias_and_split_k(kernels, trans_a, trans_b, M, N, K):
    from numba import cuda

    rng = np.random.default_rng(0)
    A = rng.normal(size=(K, M) if trans_a else (M, K))
    B = rng.normal(size=(N, K) if trans_b else (K, N))
    bias = rng.normal(size=N)
    expected = (A.T if trans_a else A) @ (B.T if trans_b else B)
    for b in (None, bias):
        C = cuda.device_array((M, N))
        bd = None if b is None else cuda.to_device(b)
        kernels.gpu_gemm(cuda.to_device(A), cuda.to_device(B), C, trans_a, trans_b, bd)
        assert_close(C.copy_to_host(), expected + (0 if b is None else b), np.float64)


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_reductions_match_cpu_kernels(kernels, dtype):
    from numba import cuda

    rng = np.random.default_rng(1)
    dA = rng.normal(size=(3, 5, 7)).astype(dtype)
    db = cuda.device_array(7, dtype=dtype)
    kernels.gpu_bias_gradient(cuda.to_device(dA), db)
    expected = np.empty(7, dtype=dtype)
    CK.bias_gradient(dA, expected)
    assert_close(db.copy_to_host(), expected, dtype, "bias_gradient")

    theta = rng.normal(size=41).astype(dtype)
    mask = rng.random(41) < 0.6
    grad = rng.normal(size=41).astype(dtype)
    res = cuda.to_device(np.zeros(1))
    g_dev = cuda.to_device(grad)
    kernels.gpu_l2_penalty(cuda.to_device(theta), cuda.to_device(mask), g_dev, 0.3, res)
    g_cpu = grad.copy()
    pen = CK.l2_penalty(theta, mask, g_cpu, 0.3)
    assert_close(res.copy_to_host()[0], pen, dtype, "l2 penalty")
    assert_close(g_dev.copy_to_host(), g_cpu, dtype, "l2 gradient")

    for max_norm in (0.5, 1e9, np.inf):
        g_dev = cuda.to_device(grad)
        kernels.gpu_clip_grad_norm(g_dev, max_norm, res)
        g_cpu = grad.copy()
        norm = CK.clip_grad_norm(g_cpu, max_norm)
        assert_close(res.copy_to_host()[0], norm, dtype, "norm")
        assert_close(g_dev.copy_to_host(), g_cpu, dtype, "clipped gradient")


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_clip_grad_norm_without_overflow_matches_cpu(kernels, dtype):
    """Entries whose squares overflow the dtype: a finite norm, the gradient scaled, as on the
    CPU (the former kernels squared float32 entries in float32: norm inf, gradient zeroed)."""
    from numba import cuda

    rng = np.random.default_rng(11)
    grad = rng.normal(size=41).astype(dtype)
    huge = [2e19, -5e25, 3.3e38] if dtype == np.float32 else [1e200, -3e200, 2e160]
    grad[[3, 17, 40]] = huge
    expected_norm = math.hypot(*grad.astype(np.float64))
    res = cuda.to_device(np.zeros(1))
    for max_norm in (0.5, np.inf):
        g_dev = cuda.to_device(grad)
        kernels.gpu_clip_grad_norm(g_dev, max_norm, res)
        g_cpu = grad.copy()
        CK.clip_grad_norm(g_cpu, max_norm)
        norm = res.copy_to_host()[0]
        assert norm == pytest.approx(expected_norm, rel=1e-12)
        np.testing.assert_allclose(g_dev.copy_to_host(), g_cpu, rtol=TOL[dtype], atol=0)
    np.testing.assert_array_equal(g_dev.copy_to_host(), grad)  # max_norm inf: measured only

    g32 = np.array([1e20, 3e20], dtype=np.float32)  # the float64 arithmetic, exactly
    x = g32.astype(np.float64)
    exact = math.sqrt(x[0] * x[0] + x[1] * x[1])
    g_dev = cuda.to_device(g32)
    kernels.gpu_clip_grad_norm(g_dev, 1.0, res)
    assert res.copy_to_host()[0] == exact
    expected = (x * (1.0 / (exact + 1e-6))).astype(np.float32)
    np.testing.assert_array_equal(g_dev.copy_to_host(), expected)

    for bad, check in ((np.inf, math.isinf), (np.nan, math.isnan)):
        g = grad.copy()
        g[5] = bad
        kernels.gpu_clip_grad_norm(cuda.to_device(g), np.inf, res)
        assert check(res.copy_to_host()[0]), bad


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_losses_and_softmax_match_cpu_kernels(kernels, dtype):
    from numba import cuda

    rng = np.random.default_rng(2)
    out = (rng.normal(size=(5, 4)) * 30).astype(dtype)  # large logits: max shift
    Y = rng.normal(size=(5, 4)).astype(dtype)
    labels = rng.integers(0, 4, 5)
    res = cuda.to_device(np.zeros(1))
    Y[0, 1] = out[0, 1]  # a zero residual: the MAE and pinball subgradients are 0 on both
    taus = np.array([0.2, 0.7])  # two levels: columns 0, 2 have 0.2, columns 1, 3 have 0.7
    for name, entry in LOSSES.items():  # every registered loss, both devices' kernels
        target = labels if entry.integer_target else Y
        dO = cuda.device_array((5, 4), dtype=dtype)
        dO_cpu = np.empty_like(out)
        gpu_values = dict(out=cuda.to_device(out), dO=dO, n_total=7, res=res)
        gpu_values[entry.target] = cuda.to_device(target)
        gpu_values["taus"] = cuda.to_device(taus)
        call(kernels, entry.kernels["cuda"]["loss"], gpu_values)
        cpu_values = {"out": out, entry.target: target, "taus": taus, "dO": dO_cpu, "n_total": 7}
        L = call(CK, entry.kernels["cpu"]["loss"], cpu_values)
        assert_close(res.copy_to_host()[0], L, dtype, name)
        assert_close(dO.copy_to_host(), dO_cpu, dtype, name + " gradient")
    proba = cuda.device_array((5, 4), dtype=dtype)
    kernels.gpu_softmax(cuda.to_device(out), proba)
    expected = np.empty_like(out)
    CK.softmax(out, expected)
    assert_close(proba.copy_to_host(), expected, dtype, "softmax")


# every registered optimiser, with the settings its kernel branches on
OPTIMIZER_CASES = {
    "sgd": [tr.SGD(0.1), tr.SGD(0.1, momentum=0.9), tr.SGD(0.1, momentum=0.9, nesterov=True)],
    "adam": [tr.Adam(0.01), tr.Adam(0.05, beta_1=0.5, beta_2=0.9, epsilon=1e-3)],
}


def test_optimizer_cases_cover_the_registry():
    assert set(OPTIMIZER_CASES) == set(OPTIMIZERS)
    assert {opt.name for cases in OPTIMIZER_CASES.values() for opt in cases} == set(OPTIMIZERS)


@needs_cuda
@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_optimizer_updates_match_cpu_kernels(kernels, name, dtype):
    from numba import cuda

    rng = np.random.default_rng(3)
    entry = OPTIMIZERS[name]
    theta, grad = (rng.normal(size=19).astype(dtype) for _ in range(2))
    for opt in OPTIMIZER_CASES[name]:
        state = {key: rng.normal(size=19).astype(dtype) ** 2 for key in entry.state}
        state["step"] = 2
        cpu_theta, cpu_state = theta.copy(), {k: np.copy(v) for k, v in state.items()}
        opt.step(cpu_theta, grad, cpu_state)  # the CPU kernel, through the optimiser object
        dev = {k: cuda.to_device(v) for k, v in state.items() if k != "step"}
        d_theta = cuda.to_device(theta)
        values = {
            "theta": d_theta,
            "grad": cuda.to_device(grad),
            **dev,
            **opt.hyperparameters(),
            "step": cpu_state["step"],
            "guard": cuda.to_device(np.zeros(2)),
        }
        call(kernels, entry.kernels["cuda"]["update"], values)
        assert_close(d_theta.copy_to_host(), cpu_theta, dtype, f"{name} theta")
        for key in entry.state:
            assert_close(dev[key].copy_to_host(), cpu_state[key], dtype, f"{name} {key}")
    # a non-finite guard skips the update on the device
    d_theta = cuda.to_device(theta)
    guard = cuda.to_device(np.array([np.nan, 0.0]))
    kernels.gpu_sgd_update(
        d_theta, cuda.to_device(grad), cuda.to_device(grad), 0.1, 0.0, False, guard
    )
    np.testing.assert_array_equal(d_theta.copy_to_host(), theta)


@needs_cuda
@pytest.mark.parametrize("dtype", DTYPES)
def test_device_activations_are_the_cpu_ones(kernels, dtype):
    """The same per-element source on both devices: bit-identical in the simulator."""
    from numba import cuda, njit

    from tsrnn.cuda._config import NB_TYPES, activations

    tanh, sigmoid, gate_sigmoid = activations(NB_TYPES[np.dtype(dtype)])

    @cuda.jit
    def on_device(x, out):  # one thread (no cuda.* inside: a closure in the simulator)
        for i in range(x.shape[0]):
            out[0, i] = tanh(x[i])
            out[1, i] = sigmoid(x[i])
            out[2, i] = gate_sigmoid(x[i])

    @njit
    def on_cpu(x, out, half):
        for i in range(x.shape[0]):
            out[0, i] = CK.tanh(x[i])
            out[1, i] = CK.sigmoid(x[i])
            out[2, i] = half + half * CK.tanh(half * x[i])  # the CPU LSTM's gate form

    x = np.concatenate(
        [np.linspace(-12, 12, 97), [0.0, -0.0, 1e-30, 7.9, -7.9, np.inf, -np.inf, np.nan]]
    ).astype(dtype)
    want = np.empty((3, x.size), dtype=dtype)
    on_cpu(x, want, dtype(0.5))
    got = cuda.device_array((3, x.size), dtype=dtype)
    on_device[1, 1](cuda.to_device(x), got)
    if SIM:
        np.testing.assert_array_equal(got.copy_to_host(), want)
    else:  # a GPU may contract to FMA and has its own libm: a few ulps
        np.testing.assert_allclose(got.copy_to_host(), want, rtol=4 * np.finfo(dtype).eps)


# --------------------------------------------------------------------------
# the network: predictions and gradients equal the CPU path
# --------------------------------------------------------------------------

# every registered cell, loss and dtype; every layer configuration with the MSE
NET_GRID = [
    (cell, layers, bi, dtype, loss)
    for cell, (layers, bi), dtype, loss in itertools.product(
        CELLS, [(1, False), (1, True), (2, False), (2, True)], DTYPES, LOSSES
    )
    if loss == "mse"
    or (layers, bi) == (1, False)
    or ((layers, bi) == (2, True) and not LOSSES[loss].takes_levels)
]


@needs_cuda
@pytest.mark.parametrize("cell,layers,bi,dtype,loss", NET_GRID)
def test_network_matches_cpu(kernels, cell, layers, bi, dtype, loss):
    from tsrnn.cuda import _network as dnet

    rng = np.random.default_rng(4)
    spec, theta, X, y = _problem(rng, cell, layers, bi, loss, dtype)
    q = _levels(loss)
    L_gpu, g_gpu = dnet.host_loss_and_grad(spec, theta, X, y, loss, alpha=0.1, quantiles=q)
    L_cpu, g_cpu = net.loss_and_grad(spec, theta, X, y, loss, alpha=0.1, quantiles=q)
    assert_close(L_gpu, L_cpu, dtype, "loss")
    for name, (start, stop, _) in spec.offsets.items():
        assert_close(g_gpu[start:stop], g_cpu[start:stop], dtype, name)
    assert_close(dnet.host_predict(spec, theta, X), net.predict(spec, theta, X), dtype)


@needs_cuda
@pytest.mark.parametrize("cell", list(CELLS))
def test_float32_outputs_and_loss_match_cpu_to_1e6(kernels, cell):
    """The two devices share their activations: float32 agrees to sum-order round-off."""
    from tsrnn.cuda import _network as dnet

    rng = np.random.default_rng(11)
    spec = net.NetworkSpec(cell, 2, 4, 2, True, 3)
    # large weights and inputs: the gates also work in their saturated range
    theta = (3.0 * net.init_params(spec, rng)).astype(np.float32)
    X = (2.0 * rng.normal(size=(3, 6, 2))).astype(np.float32)
    y = rng.normal(size=(3, 3)).astype(np.float32)
    gpu = dnet.host_predict(spec, theta, X)
    for cpu in (net.predict(spec, theta, X), net.forward(spec, theta, X, keep_cache=True)[0]):
        scale = max(1.0, float(np.abs(cpu).max()))
        np.testing.assert_allclose(gpu, cpu, rtol=1e-6, atol=1e-6 * scale)
    L_gpu = dnet.host_loss_and_grad(spec, theta, X, y, "mse")[0]
    L_cpu = net.loss_and_grad(spec, theta, X, y, "mse")[0]
    assert abs(L_gpu - L_cpu) <= 1e-6 * abs(L_cpu)


@needs_cuda
@pytest.mark.parametrize("bi", [False, True])
def test_input_gradient_matches_cpu(kernels, bi):
    """The graph's backward without parameter gradients (the diagnostics') on the device."""
    from numba import cuda

    from tsrnn import _graph as graph
    from tsrnn.cuda import _network as dnet

    rng = np.random.default_rng(12)
    spec = net.NetworkSpec("lstm", 2, 3, 2, bi, 2)
    theta = net.init_params(spec, rng)
    X = rng.normal(size=(2, 4, 2))
    dZ = rng.normal(size=(2, 3 * spec.n_directions))
    want = net.input_gradient(spec, theta, X, dZ)
    ws = dnet.Workspace(spec, 4, 2, np.float64, train=True)
    kernels.gpu_slice_batch(cuda.to_device(X), 0, ws.X)
    P = dnet.unpack(spec, cuda.to_device(theta))
    graph.forward(spec, P, ws)
    ws.allocate_gradients(input_grad=True)
    ws.dZ.copy_to_device(dZ)
    graph.backward(spec, P, None, ws, from_output=False, param_grads=False, input_grad=True)
    assert_close(ws.dX.copy_to_host(), want, np.float64, "input gradient")


@needs_cuda
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("dtype", DTYPES)
def test_per_step_kernels_match_cpu(kernels, monkeypatch, cell, dtype):
    # the grid above runs the whole-sequence kernels (tiny layers); force the
    # one-launch-per-step kernels that wide layers use
    from tsrnn.cuda import _network as dnet

    monkeypatch.setitem(kernels.CONFIG, "seq_max_hidden", 0)
    rng = np.random.default_rng(10)
    spec, theta, X, y = _problem(rng, cell, 2, True, "mse", dtype)
    L_gpu, g_gpu = dnet.host_loss_and_grad(spec, theta, X, y, "mse", alpha=0.1)
    L_cpu, g_cpu = net.loss_and_grad(spec, theta, X, y, "mse", alpha=0.1)
    assert_close(L_gpu, L_cpu, dtype, "loss")
    for name, (start, stop, _) in spec.offsets.items():
        assert_close(g_gpu[start:stop], g_cpu[start:stop], dtype, name)


@gpu_only
@pytest.mark.parametrize("cell", list(CELLS))
@pytest.mark.parametrize("layers,bi", [(2, False), (1, True)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("seq_max_hidden", [0, 64])
def test_network_matches_cpu_across_many_tiles(
    kernels, monkeypatch, cell, layers, bi, dtype, seq_max_hidden
):
    from tsrnn.cuda import _network as dnet

    monkeypatch.setitem(kernels.CONFIG, "seq_max_hidden", seq_max_hidden)
    rng = np.random.default_rng(6)
    spec, theta, X, y = _problem(rng, cell, layers, bi, "mse", dtype, B=70, T=9, D=3, N=40, O=5)
    L_gpu, g_gpu = dnet.host_loss_and_grad(spec, theta, X, y, "mse", alpha=0.01)
    L_cpu, g_cpu = net.loss_and_grad(spec, theta, X, y, "mse", alpha=0.01)
    assert_close(L_gpu, L_cpu, dtype, "loss")
    for name, (start, stop, _) in spec.offsets.items():
        assert_close(g_gpu[start:stop], g_cpu[start:stop], dtype, name)
    assert_close(dnet.host_predict(spec, theta, X, 32), net.predict(spec, theta, X), dtype)


# --------------------------------------------------------------------------
# the trainer: same interface and same numbers as CpuTrainer
# --------------------------------------------------------------------------


def _trainers(spec, theta, optimizer, loss, alpha=0.0, clip=None, state=None):
    from tsrnn.cuda import CudaTrainer

    args = (spec, theta, optimizer, loss, alpha, clip)
    kw = dict(optimizer_state=state, quantiles=_levels(loss))
    return tr.CpuTrainer(*args, **kw), CudaTrainer(*args, **kw)


TRAIN_GRID = [
    ("gru", "mse", tr.Adam(0.05), 0.1, None, np.float64),
    ("lstm", "xent", tr.SGD(0.2, momentum=0.9, nesterov=True), 0.0, 0.5, np.float64),
    ("rnn", "mse", tr.SGD(0.1), 0.0, 1.0, np.float32),
    ("lstm", "mse", tr.Adam(0.01), 0.01, None, np.float32),
    ("gru", "quantile", tr.Adam(0.05), 0.0, 1.0, np.float64),
    ("rnn", "quantile", tr.SGD(0.1, momentum=0.9), 0.0, None, np.float32),
]


@needs_cuda
@pytest.mark.parametrize("cell,loss,optimizer,alpha,clip,dtype", TRAIN_GRID)
def test_trainer_matches_cpu_trainer(kernels, cell, loss, optimizer, alpha, clip, dtype):
    rng = np.random.default_rng(7)
    spec = net.NetworkSpec(cell, 2, 3, 1, cell == "lstm", 3)
    theta = net.init_params(spec, rng, dtype)
    X = rng.normal(size=(5, 3, 2)).astype(dtype)
    y = rng.integers(0, 3, 5) if loss == "xent" else rng.normal(size=(5, 3)).astype(dtype)
    if LOSSES[loss].takes_levels:
        y = np.repeat(y[:, :1], len(LEVELS), axis=1)
    cpu, gpu = _trainers(spec, theta, optimizer, loss, alpha, clip)
    for epoch in range(2):
        batches = [rng.permutation(5)[:3], np.array([4, 0])]  # uneven last batch
        L_cpu, ok_cpu = cpu.train_epoch(X, y, batches)
        L_gpu, ok_gpu = gpu.train_epoch(X, y, batches)
        assert ok_cpu and ok_gpu
        assert_close(L_gpu, L_cpu, dtype, f"epoch {epoch} loss")
        assert_close(gpu.get_params(), cpu.get_params(), dtype, f"epoch {epoch} params")
    assert gpu.n_uploads == 1  # X and y went to the device once for both epochs
    assert_close(gpu.predict(X), cpu.predict(X), dtype, "predict")
    assert gpu.n_uploads == 1  # predicting on the training set reuses its copy
    s_cpu, s_gpu = cpu.get_optimizer_state(), gpu.get_optimizer_state()
    assert s_gpu.keys() == s_cpu.keys() and s_gpu["step"] == s_cpu["step"] == 4
    for key, value in s_cpu.items():
        if isinstance(value, np.ndarray):
            assert isinstance(s_gpu[key], np.ndarray) and s_gpu[key].dtype == dtype
            assert_close(s_gpu[key], value, dtype, key)


@needs_cuda
def test_trainer_warm_start_and_host_results(kernels):
    rng = np.random.default_rng(8)
    spec = net.NetworkSpec("gru", 2, 3, 2, False, 2)
    theta = net.init_params(spec, rng)
    X, y = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 2))
    cpu, gpu = _trainers(spec, theta, tr.Adam(0.02), "mse")
    cpu.train_epoch(X, y, [np.arange(4)])
    gpu.train_epoch(X, y, [np.arange(4)])
    # continue from host copies, as an estimator with warm_start does
    _, gpu2 = _trainers(
        spec, gpu.get_params(), tr.Adam(0.02), "mse", state=gpu.get_optimizer_state()
    )
    cpu.train_epoch(X, y, [np.arange(4)])
    gpu2.train_epoch(X, y, [np.arange(4)])
    assert_close(gpu2.get_params(), cpu.get_params(), np.float64, "warm start")
    params = gpu2.get_params()
    assert type(params) is np.ndarray
    assert np.array_equal(pickle.loads(pickle.dumps(params)), params)
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(gpu2)


@needs_cuda
def test_trainer_stops_on_non_finite_loss(kernels):
    rng = np.random.default_rng(9)
    spec = net.NetworkSpec("rnn", 2, 3, 1, False, 1)
    theta = net.init_params(spec, rng)
    X, y = rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 1))
    y[3, 0] = np.nan
    cpu, gpu = _trainers(spec, theta, tr.SGD(0.1), "mse")
    batches = [np.array([0, 1]), np.array([2, 3]), np.array([0, 2])]
    L_cpu, ok_cpu = cpu.train_epoch(X, y, batches)
    L_gpu, ok_gpu = gpu.train_epoch(X, y, batches)
    assert not ok_cpu and not ok_gpu
    assert_close(L_gpu, L_cpu, np.float64, "loss of the finite steps")
    assert_close(gpu.get_params(), cpu.get_params(), np.float64, "last finite step")
    assert gpu.get_optimizer_state()["step"] == cpu.get_optimizer_state()["step"] == 1


@needs_cuda
def test_trainer_clips_a_huge_finite_float32_gradient(kernels, monkeypatch):
    """A finite gradient beyond float32 squares is clipped and applied, not taken for a
    divergence (the former device norm was inf, so the trainer stopped the epoch)."""
    rng = np.random.default_rng(12)
    spec = net.NetworkSpec("rnn", 2, 3, 1, False, 1)
    theta = net.init_params(spec, rng, np.float32)
    X, y = rng.normal(size=(4, 3, 2)).astype(np.float32), np.zeros((4, 1), np.float32)
    huge = np.zeros(spec.n_params, np.float32)
    huge[[0, 5]] = [4e25, -3e25]
    cpu, gpu = _trainers(spec, theta, tr.SGD(0.1), "mse", clip=1.0)

    inner_cpu = net.loss_and_grad
    monkeypatch.setattr(net, "loss_and_grad", lambda *a, **k: (inner_cpu(*a, **k)[0], huge.copy()))

    class HugeGradient:  # the device network with the gradient replaced after the backward pass
        def __init__(self, dnet):
            self._dnet = dnet

        def __getattr__(self, name):
            return getattr(self._dnet, name)

        def loss_and_grad(self, *args):
            self._dnet.loss_and_grad(*args)
            args[8].copy_to_device(huge)  # the gradient buffer

    gpu._dnet = HugeGradient(gpu._dnet)
    L_cpu, ok_cpu = cpu.train_epoch(X, y, [np.arange(4)])
    L_gpu, ok_gpu = gpu.train_epoch(X, y, [np.arange(4)])
    assert ok_cpu and ok_gpu
    assert_close(L_gpu, L_cpu, np.float32, "loss")
    step = theta.astype(np.float64) - gpu.get_params()
    assert np.sqrt(np.sum(step**2)) == pytest.approx(0.1, rel=1e-5)  # lr 0.1 · norm 1
    assert_close(gpu.get_params(), cpu.get_params(), np.float32, "params")


@needs_cuda
def test_trainer_rejects_bad_input(kernels):
    from tsrnn.cuda import CudaTrainer

    spec = net.NetworkSpec("rnn", 2, 3, 1, False, 2)
    theta = np.zeros(spec.n_params)
    with pytest.raises(TypeError, match="float32 or float64"):
        CudaTrainer(spec, theta.astype(np.int64), tr.SGD(0.1))
    with pytest.raises(ValueError, match="shape"):
        CudaTrainer(spec, theta[:-1], tr.SGD(0.1))
    with pytest.raises(ValueError, match="loss"):
        CudaTrainer(spec, theta, tr.SGD(0.1), loss="hinge")
    trainer = CudaTrainer(spec, theta, tr.SGD(0.1))
    with pytest.raises(ValueError, match="X must have shape"):
        trainer.train_epoch(np.zeros((4, 3, 5)), np.zeros((4, 2)), [np.arange(4)])
    with pytest.raises(ValueError, match="y must have shape"):
        trainer.train_epoch(np.zeros((4, 3, 2)), np.zeros((4, 3)), [np.arange(4)])
    with pytest.raises(IndexError):
        trainer.train_epoch(np.zeros((4, 3, 2)), np.zeros((4, 2)), [np.arange(5)])
