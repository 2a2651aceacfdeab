"""The fused training steps: one compiled call per row chunk, the graph's bits.

A one-layer, one-direction network trains through :mod:`tsrnn._fused` (forward, head,
loss and backward in one kernel call), a deeper or bidirectional one through
:mod:`tsrnn._fused_stack`. Each must give exactly what the network graph
(:mod:`tsrnn._graph`, the layer loop) gives: the same loss and gradient bit for bit, for
every cell, loss, dtype and shape of network; and their per-thread argument lists, built
once and reused, must never hand a step stale parameters, gradients or targets.
"""

import numpy as np
import pytest

from tsrnn import _graph as graph
from tsrnn import _network as net
from tsrnn._cpu import CPU
from tsrnn._registry import CELLS, LOSSES

TAUS = np.array([0.1, 0.5, 0.9])


def _batch(cell, loss, dtype, B=7, T=5, D=2, O=3, seed=0, layers=1, bidirectional=False):
    rng = np.random.default_rng(seed)
    n_out = O * len(TAUS) if loss == "quantile" else O
    spec = net.NetworkSpec(
        cell, D, 6, num_layers=layers, bidirectional=bidirectional, n_outputs=n_out
    )
    theta = net.init_params(spec, rng, dtype=dtype)
    X = rng.normal(size=(B, T, D)).astype(dtype)
    if loss == "xent":
        y = rng.integers(0, n_out, size=B)
    elif loss == "quantile":
        y = np.repeat(rng.normal(size=(B, O)), len(TAUS), axis=1).astype(dtype)
    else:
        y = rng.normal(size=(B, n_out)).astype(dtype)
    return spec, theta, X, y


def _graph_loss_and_grad(spec, theta, X, y, loss, n_total):
    """The graph's loss and gradient of one chunk, on a fresh workspace."""
    entry = LOSSES[loss]
    ws = graph.Workspace(spec, CPU, X.shape[1], X.shape[0], theta.dtype, train=True)
    ws.X[...] = np.transpose(X, (1, 0, 2))
    grad = np.full_like(theta, np.nan)
    target = np.ascontiguousarray(y, dtype=entry.target_dtype(theta.dtype))
    taus = TAUS if loss == "quantile" else None
    L = graph.loss_and_grad(
        spec, net.unpack(spec, theta), net.unpack(spec, grad), ws, entry, target, n_total, taus=taus
    )
    return L, grad


SHAPES = [(1, False), (2, False), (1, True), (3, True)]  # (layers, bidirectional)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", sorted(LOSSES))
@pytest.mark.parametrize("cell", sorted(CELLS))
def test_fused_step_gives_the_graphs_bits(cell, loss, dtype, shape):
    layers, bidirectional = shape
    spec, theta, X, y = _batch(cell, loss, dtype, layers=layers, bidirectional=bidirectional)
    taus = TAUS if loss == "quantile" else None
    L, g = net._chunk_loss_and_grad(spec, theta, X, y, LOSSES[loss], 11, taus)
    L0, g0 = _graph_loss_and_grad(spec, theta, X, y, loss, 11)
    assert np.isfinite(L0) and np.all(np.isfinite(g0))
    assert L == L0
    np.testing.assert_array_equal(g, g0)
    assert g.dtype == theta.dtype


def test_each_network_takes_its_cells_compiled_step():
    from tsrnn import _fused, _fused_stack

    def kernel(**kw):
        spec, theta, X, y = _batch("gru", "mse", np.float64, **kw)
        net._chunk_loss_and_grad(spec, theta, X, y, LOSSES["mse"], 7)
        return net._thread_workspace(spec, theta, X.shape[1], X.shape[0]).fused_call.kernel

    assert net.one_layer(net.NetworkSpec("lstm", 3, 32, n_outputs=18))  # the forecaster's default
    assert not net.one_layer(net.NetworkSpec("lstm", 3, 32, num_layers=2))
    assert not net.one_layer(net.NetworkSpec("gru", 3, 32, bidirectional=True))
    assert kernel() is _fused.gru_step
    assert kernel(layers=2) is _fused_stack.gru_stack_step
    assert kernel(bidirectional=True) is _fused_stack.gru_stack_step


def test_stack_steps_compile_once_per_cell_and_dtype():
    """Depth and directions do not change a stack step's types: no recompilation."""
    from tsrnn import _fused_stack

    step = _fused_stack.rnn_stack_step
    counts = []
    for layers, bidirectional in SHAPES[1:]:
        spec, theta, X, y = _batch(
            "rnn", "mae", np.float32, layers=layers, bidirectional=bidirectional
        )
        net._chunk_loss_and_grad(spec, theta, X, y, LOSSES["mae"], 7)
        counts.append(len(step.signatures))
    assert counts[0] >= 1 and counts == [counts[0]] * len(counts)


def test_reused_arguments_follow_the_parameters_targets_and_loss():
    """Each thread keeps its step's argument list; it must follow every change."""
    spec, theta, X, y = _batch("lstm", "mse", np.float64)
    mse, mae = LOSSES["mse"], LOSSES["mae"]
    L1, g1 = net._chunk_loss_and_grad(spec, theta, X, y, mse, 7)
    # the same parameter array, changed in place (as the optimisers do)
    theta += 0.01
    L2, g2 = net._chunk_loss_and_grad(spec, theta, X, y, mse, 7)
    L2_0, g2_0 = _graph_loss_and_grad(spec, theta, X, y, "mse", 7)
    assert L2 != L1 and L2 == L2_0
    np.testing.assert_array_equal(g2, g2_0)
    # another parameter array of the same network
    other = theta.copy() * 0.5
    L3, g3 = net._chunk_loss_and_grad(spec, other, X, y, mse, 7)
    L3_0, g3_0 = _graph_loss_and_grad(spec, other, X, y, "mse", 7)
    assert L3 == L3_0
    np.testing.assert_array_equal(g3, g3_0)
    # other targets, another loss and another batch total
    y2 = y[::-1].copy()
    L4, g4 = net._chunk_loss_and_grad(spec, theta, X, y2, mae, 9)
    L4_0, g4_0 = _graph_loss_and_grad(spec, theta, X, y2, "mae", 9)
    assert L4 == L4_0
    np.testing.assert_array_equal(g4, g4_0)
    # a returned gradient is the caller's: the next step does not overwrite it
    kept = g4.copy()
    net._chunk_loss_and_grad(spec, theta, X, y, mse, 7)
    np.testing.assert_array_equal(g4, kept)


def test_step_arguments_are_the_registry_entries():
    """Each cell's 'step' kernel exists in tsrnn._fused and takes the registry's names."""
    import inspect

    from tsrnn import _fused

    for name, cell in CELLS.items():
        kernel = cell.kernels["cpu"]["step"]
        fn = getattr(_fused, kernel.name)
        assert len(inspect.signature(fn.py_func).parameters) == len(kernel.args), name
        assert kernel.args[: len(cell.kernels["cpu"]["forward"].args)] == (
            cell.kernels["cpu"]["forward"].args
        )
