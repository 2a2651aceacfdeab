"""The recurrent products of the training sweeps, in every form, against NumPy in float64.

:mod:`tsrnn._products` hands the per-step products to BLAS in one of three forms, chosen by
the dtype, the layer's width and the chunk's rows: against a contiguous copy of W_hhᵀ (small
products), transposed with the weight matrix as the left operand (wide layers), or directly
(float64, narrow backward). A wrong transpose or a stale scratch row in any of them must fail
here, whichever form the sizes pick.
"""

import numpy as np
import pytest

from tsrnn import _kernels as K

# (rows, width, gates): a small float32 forward (the forecaster's 16 rows of 32 units),
# 16 rows of 64 (the small-product bound exactly), wide forwards and backwards, an RNN
CASES = [(16, 32, 4), (16, 64, 4), (32, 64, 4), (32, 128, 3), (7, 256, 4), (32, 96, 1)]


def _operands(B, N, G, dtype, seed=0):
    rng = np.random.default_rng(seed)
    W_hh = rng.normal(size=(G * N, N)).astype(dtype)
    return rng.normal(size=(B, N)).astype(dtype), rng.normal(size=(B, G * N)).astype(dtype), W_hh


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("B", "N", "G"), CASES)
def test_recurrent_products_are_the_products(B, N, G, dtype):
    h, dA, W_hh = _operands(B, N, G, dtype)
    W_hhT = K.transposed_weights(W_hh)
    if dtype == np.float32:
        np.testing.assert_array_equal(W_hhT, W_hh.T)
    out = np.full((B, G * N), np.nan, dtype)
    K.recurrent_product(h, W_hh, W_hhT, out, np.full((G * N, B), np.nan, dtype))
    expected = h.astype(np.float64) @ W_hh.T.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(N))
    grad = np.full((B, N), np.nan, dtype)
    K.recurrent_gradient(dA, W_hh, W_hhT, grad, np.full((N, B), np.nan, dtype))
    expected = dA.astype(np.float64) @ W_hh.astype(np.float64)
    np.testing.assert_allclose(grad, expected, rtol=tol, atol=tol * np.sqrt(G * N))


def test_the_cases_cover_every_form():
    """Each form of each product is taken by some float32 case above."""
    forward, backward = set(), set()
    for B, N, G in CASES:
        small = B * G * N * N <= K.SMALL_PRODUCT
        forward.add("swapped" if N >= K.SWAPPED_MIN_HIDDEN and not small else "contiguous")
        backward.add("swapped" if N >= K.SWAPPED_MIN_HIDDEN_BACKWARD else "direct")
    assert forward == {"swapped", "contiguous"}
    assert backward == {"swapped", "direct"}
