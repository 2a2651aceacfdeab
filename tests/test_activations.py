"""The kernels' activations against the C library (``math``), element by element.

float64 computes exp, tanh and the sigmoid from arithmetic only (``tsrnn._elementwise``), so
that the kernels' loops vectorise; these tests hold it to the C library within a few ulps,
check the special values (NaN, ±inf, ±0, the clamps) and that the kernels compute exactly
these functions (the inlined versions give the same bits as the functions called one by one).
"""

import math

import numpy as np
import pytest
from numba import njit

from tsrnn import _kernels as K

_tanh_f64, _sigmoid_f64, _exp_f64 = K._E.tanh_f64, K._E.sigmoid_f64, K._E.exp_f64
_tanh_f32, _sigmoid_f32 = K._E.tanh_f32, K._E.sigmoid_f32


@njit
def _apply_f64(x, out):
    for i in range(x.shape[0]):
        out[0, i] = _tanh_f64(x[i])
        out[1, i] = _sigmoid_f64(x[i])
        out[2, i] = _exp_f64(abs(x[i]))


@njit
def _apply_generic(x, out):  # through the overloads the kernels call (inlined in float64)
    for i in range(x.shape[0]):
        out[0, i] = K.tanh(x[i])
        out[1, i] = K.sigmoid(x[i])


def _grid():
    rng = np.random.default_rng(0)
    parts = [rng.standard_normal(20_000) * s for s in (1e-8, 1e-3, 0.1, 0.5, 1.0, 3.0, 10.0, 30.0)]
    edges = [0.625, 0.6249999999999999, 0.6250000000000001, 19.999, 20.0, 40.0, 79.9, 80.0]
    return np.concatenate(parts + [np.array(edges), -np.array(edges)])


def _ulps(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_float64_activations_within_a_few_ulps_of_libm():
    x = _grid()
    out = np.empty((3, x.size))
    _apply_f64(x, out)
    tanh_ref = np.array([math.tanh(v) for v in x])
    sig_ref = np.array([1.0 / (1.0 + math.exp(-v)) for v in x])
    a = np.minimum(np.abs(x), 80.0)
    exp_ref = np.array([math.exp(v) for v in a])
    assert _ulps(out[0], tanh_ref).max() <= 2.0
    inside = np.abs(x) <= 80.0
    assert _ulps(out[1][inside], sig_ref[inside]).max() <= 4.0
    assert _ulps(out[2], exp_ref).max() <= 1.0
    # and on average much closer than the worst case
    assert _ulps(out[0], tanh_ref).mean() < 0.5


def test_float64_activations_special_values():
    x = np.array(
        [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308, -1e308, 100.0, -100.0]
    )
    out = np.empty((3, x.size))
    _apply_f64(x, out)
    tanh, sig, exp_abs = out
    np.testing.assert_array_equal(
        tanh[[0, 1, 2, 3, 5, 6, 7, 8]], [0.0, -0.0, 1.0, -1.0, 5e-324, -5e-324, 1.0, -1.0]
    )
    assert math.copysign(1.0, tanh[1]) == -1.0 and math.copysign(1.0, tanh[0]) == 1.0  # as libm
    assert np.isnan(tanh[4]) and np.isnan(sig[4]) and np.isnan(exp_abs[4])
    np.testing.assert_array_equal(sig[[0, 1, 2, 7, 9]], [0.5, 0.5, 1.0, 1.0, 1.0])
    # below -80 the sigmoid is clamped at e^-80 (its true value is smaller still)
    np.testing.assert_allclose(sig[[3, 8, 10]], math.exp(-80.0), rtol=1e-15)
    assert 0.0 < sig[10] < 2e-35
    # exp of |x| is clamped at 80
    np.testing.assert_allclose(exp_abs[[2, 3, 7]], math.exp(80.0), rtol=1e-15)
    assert exp_abs[0] == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kernels_activations_are_the_elementwise_functions(dtype):
    """The overloads the kernels use compute the same bits as the functions themselves."""
    x = _grid().astype(dtype)
    got = np.empty((2, x.size), dtype=dtype)
    _apply_generic(x, got)
    want = np.empty((2, x.size), dtype=dtype)
    if dtype == np.float64:
        full = np.empty((3, x.size))
        _apply_f64(x, full)
        want[:] = full[:2]
    else:

        @njit
        def f32(x, out):
            for i in range(x.shape[0]):
                out[0, i] = _tanh_f32(x[i])
                out[1, i] = _sigmoid_f32(x[i])

        f32(x, want)
    np.testing.assert_array_equal(got, want)


def test_float64_kernel_matches_the_textbook_recurrence():
    """An RNN layer's states (rnn_infer, vectorised loop) against math.tanh step by step."""
    rng = np.random.default_rng(1)
    T, B, D, N = 5, 7, 3, 9
    X = rng.standard_normal((T, B, D))
    W_ih, W_hh, b = (
        rng.standard_normal((N, D)),
        rng.standard_normal((N, N)) * 0.5,
        rng.standard_normal(N),
    )
    H = np.zeros((T + 1, B, N))
    K.rnn_infer(X, W_ih, W_hh, b, H)
    h = np.zeros((B, N))
    for t in range(T):
        pre = X[t] @ W_ih.T + h @ W_hh.T + b
        h = np.vectorize(math.tanh)(pre)
        np.testing.assert_allclose(H[t + 1], h, rtol=1e-13, atol=1e-15)


def test_float64_cpu_scaling_by_bits_equals_the_shared_product_chain():
    """The CPU's exp scales by 2**n built from its bits (``tsrnn._kernels.pow2_scale``); the
    source shared with the GPU multiplies by a chain of exact powers of two. Same bits."""
    from tsrnn import _elementwise as E

    # every 10th point of the grid (the exact multiply-adds in integers are slow) and its edges
    grid = _grid()
    x = np.concatenate([grid[::10], grid[-16:], [0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324]])
    x = np.concatenate([x, [1e308, 100.0]])
    out = np.empty((3, x.size))
    _apply_f64(x, out)
    # the shared source run by the Python interpreter with a fused multiply-add rounded once
    # (as the CUDA simulator does)
    P = E.compile_for(lambda f: f, replace={"fma_f64": E.fma_exact})
    want = np.array([[P.tanh_f64(v), P.sigmoid_f64(v), P.exp_f64(abs(v))] for v in x]).T
    np.testing.assert_array_equal(out.view(np.int64), want.view(np.int64))
    # every whole n of the range (and p's whole range of signs and sizes)
    n = np.arange(117, dtype=np.float64)
    for p in (1.0, -1.0, 0.7071067811865476, 1.4142135623730951, 0.0):
        got = np.array([K._E.pow2_scale(p, v) for v in n])
        np.testing.assert_array_equal(got, [E.pow2_scale(p, v) for v in n])
        np.testing.assert_array_equal(got, p * 2.0**n)


def test_exact_fma_rounds_once():
    """The interpreter's (and the CUDA simulator's) float64 fused multiply-add."""
    from tsrnn import _elementwise as E

    u = 2.0**-52
    # (1 + u)(1 - u) - 1 = -u²: a product rounded first gives 0
    assert (1.0 + u) * (1.0 - u) - 1.0 == 0.0
    assert E.fma_exact(1.0 + u, 1.0 - u, -1.0) == -(u * u)
    assert E.fma_exact(0.1, 10.0, -1.0) == 2.0**-54  # 0.1 is 1/10 + 2**-54 / 10
    assert math.isnan(E.fma_exact(math.nan, 1.0, 0.0))
    assert E.fma_exact(math.inf, 2.0, 1.0) == math.inf
    assert E.fma_exact(1e308, 10.0, 0.0) == math.inf
    assert math.copysign(1.0, E.fma_exact(-0.0, 1.0, -0.0)) == -1.0


def test_float64_activations_compile_without_numba_warnings():
    """The float64 activations inline into a kernel's IR without branches: a conditional
    expression there (tanh's choice of formula) made Numba's SSA check warn."""
    import warnings

    @njit(error_model="numpy")
    def kernel(x, out):  # a fresh function (compiled here, not taken from a cache) in the
        for i in range(x.shape[0]):  # shape of the LSTM's gate loops, which warned
            for j in range(x.shape[1]):
                out[i, j] = 0.5 + 0.5 * K.tanh(0.5 * x[i, j])
            for j in range(x.shape[1]):
                out[i, j] = out[i, j] * K.tanh(x[i, j]) + K.sigmoid(x[i, j])

    x = np.array([[0.1, -0.7, 3.0, 0.0], [np.nan, -np.inf, np.inf, -30.0]])
    out = np.empty_like(x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kernel(x, out)
    want = [(0.5 + 0.5 * math.tanh(0.5 * v)) * math.tanh(v) + 1 / (1 + math.exp(-v)) for v in x[0]]
    np.testing.assert_allclose(out[0], want, rtol=1e-15)
    assert math.isnan(out[1, 0]) and out[1, 2] == 2.0
    assert np.abs(out[1, [1, 3]]).max() < 1e-12  # a closed gate times -1, plus sigmoid ≈ 0
