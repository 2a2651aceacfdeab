"""The pinball (quantile) loss of the network: hand-computed values, gradients, validation."""

import numpy as np
import pytest

from tsrnn import _kernels as K
from tsrnn import _network as net

LEVELS = (0.1, 0.5, 0.9)


def test_pinball_kernel_on_a_hand_computed_case():
    # one row, one output, levels 0.25 and 0.75; target 2; outputs 1 (under) and 3 (over)
    out = np.array([[1.0, 3.0]])
    Y = np.array([[2.0, 2.0]])
    dO = np.empty_like(out)
    L = K.quantile_loss_grad(out, Y, np.array([0.25, 0.75]), dO, 1)
    # e = y - o = 1 at level 0.25: 0.25·1; e = -1 at level 0.75: (0.75 - 1)·(-1) = 0.25
    assert L == 0.25  # (0.25 + 0.25) / 2 units
    # dρ/do = -τ for e > 0 and 1 - τ for e < 0, divided by n_total·units = 2
    assert dO.tolist() == [[-0.125, 0.125]]


def test_pinball_kernel_zero_residual_and_columns_cycle_through_the_levels():
    out = np.array([[0.0, 0.0, 5.0, 5.0], [1.0, 1.0, 1.0, 1.0]])
    Y = np.array([[4.0, 4.0, 5.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    dO = np.empty_like(out)
    L = K.quantile_loss_grad(out, Y, np.array([0.1, 0.8]), dO, 4)  # n_total 4: a chunk of 4
    # row 0: e = 4 (τ .1) → 0.4; e = 4 (τ .8) → 3.2; e = 0 → 0; e = -5 (τ .8) → 1.0; row 1 all 0
    assert L == pytest.approx((0.4 + 3.2 + 1.0) / 16, abs=1e-15)
    assert dO[0].tolist() == pytest.approx([-0.1 / 16, -0.8 / 16, 0.0, 0.2 / 16], abs=1e-15)
    assert dO[1].tolist() == [0.0, 0.0, 0.0, 0.0]  # e = 0: the subgradient 0


def test_pinball_kernel_float32_and_nan():
    out = np.array([[1.0, np.nan]], dtype=np.float32)
    Y = np.array([[0.0, 0.0]], dtype=np.float32)
    dO = np.empty_like(out)
    L = K.quantile_loss_grad(out, Y, np.array([0.5]), dO, 1)
    assert np.isnan(L) and dO[0, 0] == np.float32(0.25) and np.isnan(dO[0, 1])


def test_median_level_is_half_the_absolute_error():
    rng = np.random.default_rng(3)
    spec = net.NetworkSpec("gru", 2, 3, 1, False, 2)
    theta = net.init_params(spec, rng)
    X, y = rng.normal(size=(5, 4, 2)), rng.normal(size=(5, 2))
    Lq, gq = net.loss_and_grad(spec, theta, X, y, "quantile", quantiles=[0.5])
    La, ga = net.loss_and_grad(spec, theta, X, y, "mae")
    assert Lq == pytest.approx(La / 2, rel=1e-14)
    np.testing.assert_allclose(gq, ga / 2, rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("cell,bidirectional", [("rnn", True), ("lstm", False), ("gru", True)])
def test_quantile_gradient_matches_central_differences(cell, bidirectional):
    rng = np.random.default_rng(42)
    O = 2
    spec = net.NetworkSpec(cell, 2, 3, 2, bidirectional, O * len(LEVELS))
    theta = net.init_params(spec, rng)
    X = rng.normal(size=(5, 4, 2))
    Y = np.repeat(rng.normal(size=(5, O)), len(LEVELS), axis=1)

    def loss(t):
        return net.loss_and_grad(spec, t, X, Y, "quantile", 0.1, quantiles=LEVELS)[0]

    _, grad = net.loss_and_grad(spec, theta, X, Y, "quantile", 0.1, quantiles=LEVELS)
    eps = 1e-6
    num = np.empty_like(theta)
    for i in range(theta.size):
        tp, tm = theta.copy(), theta.copy()
        tp[i] += eps
        tm[i] -= eps
        num[i] = (loss(tp) - loss(tm)) / (2 * eps)
    np.testing.assert_allclose(grad, num, rtol=1e-4, atol=1e-8)


def test_quantile_levels_are_validated():
    spec = net.NetworkSpec("rnn", 1, 2, n_outputs=3)
    theta = net.init_params(spec, np.random.default_rng(0))
    X, Y = np.zeros((2, 3, 1)), np.zeros((2, 3))
    with pytest.raises(ValueError, match="needs quantile levels"):
        net.loss_and_grad(spec, theta, X, Y, "quantile")
    with pytest.raises(ValueError, match="not a multiple"):
        net.loss_and_grad(spec, theta, X, Y, "quantile", quantiles=[0.1, 0.9])
    with pytest.raises(ValueError, match="strictly inside"):
        net.loss_and_grad(spec, theta, X, Y, "quantile", quantiles=[0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="takes no quantile levels"):
        net.loss_and_grad(spec, theta, X, Y, "mse", quantiles=[0.5])
