"""The fused training step (tsrnn._fused) against the layer-by-layer graph (tsrnn._graph).

Both run the same kernels in the same order on the same data, so the loss and every
gradient entry must agree bit for bit; the graph itself is checked against finite
differences and PyTorch elsewhere (tests/test_gradients*.py, tests/test_torch_parity*.py).
"""

import numpy as np
import pytest

from tsrnn import _fused as fused
from tsrnn import _graph as graph
from tsrnn import _network as net
from tsrnn._registry import LOSSES

TAUS = np.array([0.1, 0.5, 0.9])


def _graph_loss_and_grad(spec, theta, X, y, loss, taus):
    """The graph path of one chunk, as tsrnn._network ran every chunk before fusion."""
    entry = LOSSES[loss]
    ws = net._training_workspace(spec, theta, X)
    grad = np.empty_like(theta)
    y = np.ascontiguousarray(y, dtype=theta.dtype)
    P, G = net.unpack(spec, theta), net.unpack(spec, grad)
    value = graph.loss_and_grad(spec, P, G, ws, entry, y, len(X), taus=taus)
    return value, grad


def _problem(cell, layers, loss, dtype, B=7, T=5, D=3, N=6, H=4, seed=0):
    rng = np.random.default_rng(seed)
    Q = len(TAUS) if loss == "quantile" else 1
    spec = net.NetworkSpec(cell, D, N, layers, False, H * Q)
    theta = net.init_params(spec, rng, dtype)
    X = rng.standard_normal((B, T, D)).astype(dtype)
    y = rng.standard_normal((B, H)).astype(dtype)
    if Q > 1:
        y = np.repeat(y, Q, axis=1)
    return spec, theta, X, y, (TAUS if loss == "quantile" else None)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss", ["mse", "mae", "quantile"])
@pytest.mark.parametrize("layers", [1, 2, 3])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_step_equals_graph_bit_for_bit(cell, layers, loss, dtype):
    spec, theta, X, y, taus = _problem(cell, layers, loss, dtype)
    assert fused.fused_codes(spec, loss) is not None
    want_L, want_g = _graph_loss_and_grad(spec, theta, X, y, loss, taus)
    got_L, got_g = net._chunk_loss_and_grad(spec, theta, X, y, LOSSES[loss], len(X), taus)
    assert got_g.dtype == theta.dtype
    assert got_L == float(want_L)
    np.testing.assert_array_equal(got_g, want_g)
    # the workspace is reused: a second, different batch gives the graph's answer again
    X2 = X[::-1].copy()
    want_L2, want_g2 = _graph_loss_and_grad(spec, theta, X2, y, loss, taus)
    got_L2, got_g2 = net._chunk_loss_and_grad(spec, theta, X2, y, LOSSES[loss], len(X), taus)
    assert got_L2 == float(want_L2) and got_L2 != got_L
    np.testing.assert_array_equal(got_g2, want_g2)


def test_fused_gradient_matches_finite_differences():
    """Independent of the graph: central differences of the fused loss (float64, 2 layers)."""
    spec, theta, X, y, taus = _problem("lstm", 2, "mse", np.float64, B=3, T=4, N=3, H=2)
    entry = LOSSES["mse"]
    _, grad = net._chunk_loss_and_grad(spec, theta, X, y, entry, len(X))
    rng = np.random.default_rng(1)
    for p in rng.choice(theta.size, 25, replace=False):
        up, down = theta.copy(), theta.copy()
        up[p] += 1e-6
        down[p] -= 1e-6
        f_up = net._chunk_loss_and_grad(spec, up, X, y, entry, len(X))[0]
        f_down = net._chunk_loss_and_grad(spec, down, X, y, entry, len(X))[0]
        assert abs((f_up - f_down) / 2e-6 - grad[p]) < 1e-6 * max(1.0, abs(grad[p]))


def test_not_fused_bidirectional_and_cross_entropy():
    spec = net.NetworkSpec("lstm", 2, 3, 1, True, 2)
    assert fused.fused_codes(spec, "mse") is None
    assert fused.fused_codes(net.NetworkSpec("gru", 2, 3, 1, False, 3), "xent") is None


def test_offsets_name_every_tensor_of_the_layout():
    spec = net.NetworkSpec("gru", 3, 4, 2, False, 5)
    offs, head = fused.offsets(spec)
    assert offs.shape == (2, 4) and (offs >= 0).all()  # the GRU's two biases
    # bias_ih of layer 1 follows weight_ih (12 x 4) and weight_hh (12 x 4) of layer 1
    assert offs[1, 2] == offs[1, 0] + 12 * 4 + 12 * 4
    assert head[1] == head[0] + 5 * 4 and head[1] + 5 == spec.n_params
    lstm_offs, _ = fused.offsets(net.NetworkSpec("lstm", 3, 4, 1, False, 1))
    assert lstm_offs[0, 3] == -1
