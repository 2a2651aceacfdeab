"""The recurrent core: gradients, parameter counts, precision, weight exchange."""

import itertools

import numpy as np
import pytest

from tsrnn import _network as net

GRID = list(itertools.product(["rnn", "lstm", "gru"], [1, 2], [False, True], ["mse", "xent"])) + [
    (cell, 2, True, "mae") for cell in ("rnn", "lstm", "gru")
]


def _batch(rng, loss, B=4, T=5, D=2, O=3):
    X = rng.normal(size=(B, T, D))
    y = rng.integers(0, O, size=B) if loss == "xent" else rng.normal(size=(B, O))
    return X, y


def _numerical_grad(spec, theta, X, y, loss, alpha, eps=1e-6):
    num = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        lp = net.loss_and_grad(spec, tp, X, y, loss, alpha)[0]
        lm = net.loss_and_grad(spec, tm, X, y, loss, alpha)[0]
        num[i] = (lp - lm) / (2 * eps)
    return num


@pytest.mark.parametrize("cell,num_layers,bidirectional,loss", GRID)
def test_gradient_matches_central_differences(cell, num_layers, bidirectional, loss):
    rng = np.random.default_rng(42)
    spec = net.NetworkSpec(cell, 2, 3, num_layers, bidirectional, 3)
    theta = net.init_params(spec, rng)
    # an odd batch for the MAE: sums of +-1/(nO) subgradients cannot cancel to an exact 0,
    # which the relative-error check below would compare with finite-difference round-off
    X, y = _batch(rng, loss, B=5 if loss == "mae" else 4)
    alpha = 0.1  # the L2 term is part of the checked loss
    _, grad = net.loss_and_grad(spec, theta, X, y, loss, alpha)
    num = _numerical_grad(spec, theta, X, y, loss, alpha)
    for name, (start, stop, _) in spec.offsets.items():
        a, n = grad[start:stop], num[start:stop]
        rel = np.linalg.norm(a - n) / max(np.linalg.norm(a), np.linalg.norm(n), 1e-8)
        assert rel < 1e-6, f"{name}: relative error {rel:.2e}"
        # element-wise, the only slack is finite-difference round-off (~1e-10)
        np.testing.assert_allclose(a, n, rtol=1e-4, atol=1e-8, err_msg=name)


def test_lstm_parameter_count_of_the_worked_exercise():
    spec = net.NetworkSpec("lstm", 128, 128, n_outputs=1)
    assert spec.n_recurrent_params == 131584
    assert spec.n_params == 131584 + 128 + 1


@pytest.mark.parametrize("D,N,layers,bi,O", [(3, 5, 1, False, 2), (4, 6, 2, True, 3)])
def test_parameter_count_formulas(D, N, layers, bi, O):
    dirs = 2 if bi else 1
    per_layer = {
        "rnn": lambda d: (d + N) * N + N,
        "lstm": lambda d: 4 * ((d + N) * N + N),
        "gru": lambda d: 3 * (d * N + N * N + 2 * N),
    }
    for cell, formula in per_layer.items():
        spec = net.NetworkSpec(cell, D, N, layers, bi, O)
        expected = dirs * formula(D) + (layers - 1) * dirs * formula(N * dirs)
        expected += O * N * dirs + O
        assert spec.n_params == expected, cell


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("loss", ["mse", "xent"])
@pytest.mark.parametrize("hidden", [8, 128])
def test_float32_agrees_with_float64(cell, loss, hidden):
    # hidden 8: the products' scalar loops only (no whole vector of columns at 8 units);
    # hidden 128: their register tiles and blocks of inputs (tsrnn._products)
    rng = np.random.default_rng(1)
    spec = net.NetworkSpec(cell, 3, hidden, 2, True, 3)
    theta64 = net.init_params(spec, rng)
    theta32 = theta64.astype(np.float32)
    X, y = _batch(rng, loss, B=6, T=7, D=3)
    out64, _ = net.forward(spec, theta64, X)
    out32, _ = net.forward(spec, theta32, X.astype(np.float32))
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out64, rtol=1e-5, atol=1e-6)
    L64, g64 = net.loss_and_grad(spec, theta64, X, y, loss)
    L32, g32 = net.loss_and_grad(spec, theta32, X.astype(np.float32), y, loss)
    assert g32.dtype == np.float32
    assert abs(L32 - L64) <= 1e-5 * abs(L64)
    rel = np.linalg.norm(g32 - g64) / np.linalg.norm(g64)
    assert rel < 1e-5


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_state_dict_round_trip_and_naming(cell):
    spec = net.NetworkSpec(cell, 2, 4, 2, True, 3)
    theta = net.init_params(spec, np.random.default_rng(0))
    sd = net.export_state_dict(spec, theta)
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    assert sd["weight_ih_l0"].shape == (G * 4, 2)
    assert sd["weight_ih_l1_reverse"].shape == (G * 4, 8)
    assert sd["weight_hh_l1"].shape == (G * 4, 4)
    assert sd["bias_hh_l0_reverse"].shape == (G * 4,)
    assert sd["head.weight"].shape == (3, 8)
    assert sd["head.bias"].shape == (3,)
    if cell != "gru":
        assert not np.any(sd["bias_hh_l0"])  # single bias b exported as bias_ih
    back = net.import_state_dict(spec, sd)
    np.testing.assert_array_equal(back, theta)


def test_import_adds_the_two_biases_and_rejects_mismatches():
    spec = net.NetworkSpec("lstm", 2, 3)
    sd = net.export_state_dict(spec, net.init_params(spec, np.random.default_rng(0)))
    sd["bias_hh_l0"] = np.ones(12)
    theta = net.import_state_dict(spec, sd)
    np.testing.assert_allclose(net.unpack(spec, theta)["bias_l0"], sd["bias_ih_l0"] + 1)
    bad = dict(sd)
    del bad["head.bias"]
    with pytest.raises(ValueError, match="missing.*head.bias"):
        net.import_state_dict(spec, bad)
    bad = dict(sd, weight_hh_l0=np.zeros((12, 4)))
    with pytest.raises(ValueError, match="weight_hh_l0"):
        net.import_state_dict(spec, bad)


def test_bidirectional_head_sees_each_directions_final_state():
    # Changing only x_1 must change the reverse direction's final state, so the
    # output; with z = output[:, -1] the reverse half would not see x_1 at all.
    spec = net.NetworkSpec("rnn", 1, 3, 1, True, 1)
    theta = net.init_params(spec, np.random.default_rng(3))
    P = net.unpack(spec, theta)
    P["weight_ih_l0"][:] = 0.0  # forward direction blind to the input
    X = np.zeros((1, 6, 1))
    X2 = X.copy()
    X2[0, 0, 0] = 1.0
    assert net.forward(spec, theta, X)[0][0, 0] != net.forward(spec, theta, X2)[0][0, 0]


def test_hand_computed_elman_step():
    # One unit, one input, T=2: h1 = tanh(b + u x1), h2 = tanh(b + w h1 + u x2), o = c + v h2
    spec = net.NetworkSpec("rnn", 1, 1)
    theta = np.empty(spec.n_params)
    P = net.unpack(spec, theta)
    P["weight_ih_l0"][:] = 0.5
    P["weight_hh_l0"][:] = -0.3
    P["bias_l0"][:] = 0.1
    P["head.weight"][:] = 2.0
    P["head.bias"][:] = -1.0
    X = np.array([[[1.0], [2.0]]])
    h1 = np.tanh(0.1 + 0.5 * 1.0)
    h2 = np.tanh(0.1 - 0.3 * h1 + 0.5 * 2.0)
    out, _ = net.forward(spec, theta, X)
    assert out[0, 0] == pytest.approx(-1.0 + 2.0 * h2, abs=1e-15)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_chunked_batches_are_thread_count_independent(cell):
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(5)
    spec = net.NetworkSpec(cell, 2, 5, 2, True, 3)
    theta = net.init_params(spec, rng)
    B = 3 * net.chunk_rows(spec, 1000) + 7  # four chunks, the last one short
    X, y = _batch(rng, "mse", B=B, T=4, D=2)
    serial = net.loss_and_grad(spec, theta, X, y, "mse", 0.1)
    with ThreadPoolExecutor(3) as ex:
        threaded = net.loss_and_grad(spec, theta, X, y, "mse", 0.1, executor=ex)
    assert serial[0] == threaded[0]
    np.testing.assert_array_equal(serial[1], threaded[1])
    # chunking only regroups the sums: equal to one-chunk results to round-off
    grads = [net.loss_and_grad(spec, theta, X[i : i + 1], y[i : i + 1], "mse")[1] for i in range(B)]
    without_l2 = serial[1] - spec.weight_mask() * 0.1 / B * theta
    np.testing.assert_allclose(without_l2, np.mean(grads, axis=0), rtol=1e-10, atol=1e-13)


def test_mae_loss_and_subgradient_by_hand():
    """Mean |o - y| over samples and outputs; dL/do = sign(o - y) / (n O), 0 at a tie."""
    from tsrnn import _kernels as K

    out = np.array([[1.0, -2.0, 0.5], [3.0, 0.0, -1.0]])
    Y = np.array([[0.0, -1.0, 0.5], [1.0, 0.5, -4.0]])
    dO = np.empty_like(out)
    # |1| + |-1| + 0 + |2| + |-0.5| + |3| = 7.5, over n_total=4 samples x 3 outputs
    L = K.mae_loss_grad(out, Y, dO, 4)
    assert L == pytest.approx(7.5 / 12, abs=1e-15)
    expected = np.array([[1.0, -1.0, 0.0], [1.0, -1.0, 1.0]]) / 12
    np.testing.assert_array_equal(dO, expected)
    # a NaN output propagates to the loss and the gradient (the trainer stops on it)
    out[0, 0] = np.nan
    assert np.isnan(K.mae_loss_grad(out, Y, dO, 4)) and np.isnan(dO[0, 0])


def test_unknown_loss_is_rejected():
    spec = net.NetworkSpec("rnn", 1, 2, 1, False, 1)
    theta = net.init_params(spec, np.random.default_rng(0))
    with pytest.raises(ValueError, match="loss must be one of"):
        net.loss_and_grad(spec, theta, np.zeros((2, 3, 1)), np.zeros((2, 1)), "huber")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_predictions_are_batch_invariant(cell, dtype):
    """A sample's prediction is bit-identical alone, in any order and in any batch."""
    rng = np.random.default_rng(5)
    spec = net.NetworkSpec(cell, 3, 9, 2, True, 5)
    theta = net.init_params(spec, rng, dtype)
    X = rng.normal(size=(300, 6, 3)).astype(dtype)  # more rows than one predict chunk
    full = net.predict(spec, theta, X)
    perm = rng.permutation(len(X))
    np.testing.assert_array_equal(net.predict(spec, theta, X[perm]), full[perm])
    for lo, hi in [(0, 1), (7, 10), (101, 106), (299, 300)]:
        np.testing.assert_array_equal(net.predict(spec, theta, X[lo:hi]), full[lo:hi])
    # and it agrees with the BLAS forward pass used in training to round-off
    blas = net.forward(spec, theta, X, keep_cache=True)[0]
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(full, blas, rtol=tol, atol=tol)


@pytest.mark.parametrize("M, K_, N", [(7, 9, 4), (9, 5, 17), (6, 3, 40)])
def test_rowwise_product_equals_a_row_by_row_dot_product(M, K_, N):
    """Row, k and column tails; outputs in one, two and three vectors (widened by zeros)."""
    from fractions import Fraction

    from tsrnn import _kernels as K

    rng = np.random.default_rng(6)
    A, W = rng.normal(size=(M, K_)), rng.normal(size=(N, K_))
    out = np.full((M, N), np.nan)
    K.rowwise_product(A, W, out)
    for i in range(M):
        for j in range(N):
            acc = 0.0
            for k in range(K_):  # ascending k, each product fused with its add: one rounding
                acc = float(Fraction(A[i, k]) * Fraction(W[j, k]) + Fraction(acc))
            assert out[i, j] == acc


def test_without_fma_instructions_the_rows_are_a_rounded_product_and_an_add(tmp_path):
    """Code compiled for a CPU without FMA (here: Numba's generic x86-64 / AArch64 target)
    sums rounded products instead of calling a slow software FMA, in every loop alike."""
    import os
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from tsrnn import _kernels as K\n"
        "assert not K.FMA\n"
        "rng = np.random.default_rng(6)\n"
        "A, W = rng.normal(size=(7, 9)), rng.normal(size=(4, 9))\n"
        "out = np.empty((7, 4))\n"
        "K.rowwise_product(A, W, out)\n"
        "for i in range(7):\n"
        "    for j in range(4):\n"
        "        acc = 0.0\n"
        "        for k in range(9):\n"
        "            acc += A[i, k] * W[j, k]\n"
        "        assert out[i, j] == acc, (i, j)\n"
        "print('unfused')\n"
    )
    env = dict(os.environ, TSRNN_CACHE_DIR=str(tmp_path), NUMBA_CPU_NAME="generic")
    env.pop("NUMBA_CPU_FEATURES", None)
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "unfused"


# --------------------------------------------------------------------------
# one graph, two backends: the registries
# --------------------------------------------------------------------------


def test_every_registry_entry_has_a_cpu_and_a_cuda_kernel():
    """Every cell, loss and optimiser names kernels that exist on both devices,
    and both backends provide every primitive the graph calls."""
    import os
    import subprocess
    import sys

    from tsrnn import _fused, _graph
    from tsrnn import _kernels as K
    from tsrnn._cpu import CPU
    from tsrnn._registry import CELLS, DEVICES, LOSSES, OPTIMIZERS

    roles = {
        "cells": {"forward", "backward", "infer"},
        "losses": {"loss"},
        "optimizers": {"update"},
    }
    for kind, registry in (("cells", CELLS), ("losses", LOSSES), ("optimizers", OPTIMIZERS)):
        for name, entry in registry.items():
            assert set(entry.kernels) == set(DEVICES), (kind, name)
            for device in DEVICES:
                assert roles[kind] <= set(entry.kernels[device]), (kind, name, device)
            for role, kernel in entry.kernels["cpu"].items():
                module = _fused if role == "step" else K  # fused steps: their own module
                assert callable(getattr(module, kernel.name, None)), (name, kernel.name)
    assert LOSSES["xent"].kernels["cuda"]["gather"].name == "gpu_gather_labels"
    for method in _graph.PRIMITIVES + ("empty", "zeros"):
        assert callable(getattr(CPU, method, None)), method
    # the CUDA names, resolved in the simulator (a fresh process: the variable
    # must be set before numba is imported; nothing is compiled)
    code = (
        "from tsrnn import _graph; from tsrnn.cuda import _kernels as K; "
        "from tsrnn.cuda._network import CUDA; "
        "from tsrnn._registry import CELLS, LOSSES, OPTIMIZERS; "
        "missing = [(n, k.name) for r in (CELLS, LOSSES, OPTIMIZERS) for n, e in r.items() "
        "for k in e.kernels['cuda'].values() if not callable(getattr(K, k.name, None))]; "
        "missing += [m for m in _graph.PRIMITIVES + ('empty', 'zeros') "
        "if not callable(getattr(CUDA, m, None))]; "
        "assert not missing, missing; print('ok')"
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


def test_no_cell_or_loss_branch_outside_the_registry():
    """What differs between cells and losses is registry data, not branches."""
    import pathlib
    import re

    import tsrnn

    root = pathlib.Path(tsrnn.__file__).parent
    pattern = re.compile(r"\b(cell|loss)\s*(==|!=)")
    found = [
        f"{path.relative_to(root)}:{i}"
        for path in sorted(root.rglob("*.py"))
        if path.name != "_registry.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert not found, found


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_input_gradient_matches_finite_differences(cell):
    """The graph's backward without parameter gradients: dZ · dz/dx for every step."""
    rng = np.random.default_rng(13)
    spec = net.NetworkSpec(cell, 2, 3, 2, True, 1)
    theta = net.init_params(spec, rng)
    X = rng.normal(size=(2, 4, 2))
    dZ = rng.normal(size=(2, 6))
    got = net.input_gradient(spec, theta, X, dZ)  # (T, B, D), user time order
    eps = 1e-6
    for b, t, d in itertools.product(range(2), range(4), range(2)):
        Xp, Xm = X.copy(), X.copy()
        Xp[b, t, d] += eps
        Xm[b, t, d] -= eps
        zp = net.forward(spec, theta, Xp, keep_cache=True)[1]["Z"][b]
        zm = net.forward(spec, theta, Xm, keep_cache=True)[1]["Z"][b]
        assert got[t, b, d] == pytest.approx(dZ[b] @ (zp - zm) / (2 * eps), rel=1e-6, abs=1e-9)
