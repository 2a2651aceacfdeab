"""The recurrent products of the training sweeps against NumPy in float64.

:mod:`tsrnn._products` computes a chunk's per-step products in register tiles of four rows
by whole vectors of columns, in blocks of inputs, with scalar loops for the rows and columns
left over. A wrong index, a stale partial sum or a padded stride read as data in any of them
must fail here, whichever parts the sizes take.
"""

import numpy as np
import pytest

from tsrnn import _kernels as K
from tsrnn._simd import K_BLOCK, VECTOR_BYTES

# (rows, width, gates): the forecaster's 16 rows of 32 units, 16 and 32 rows of 64, an odd
# row count and a width that is no whole number of vectors (every tail), a GRU of 128, an RNN
# of 96, and a backward of more inputs than one block (4 x 256 > K_BLOCK)
CASES = [(16, 32, 4), (16, 64, 4), (32, 64, 4), (7, 50, 3), (32, 128, 3), (32, 96, 1), (5, 256, 4)]


def _operands(B, N, G, dtype, seed=0):
    rng = np.random.default_rng(seed)
    W_hh = rng.normal(size=(G * N, N)).astype(dtype)
    return rng.normal(size=(B, N)).astype(dtype), rng.normal(size=(B, G * N)).astype(dtype), W_hh


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("B", "N", "G"), CASES)
def test_recurrent_products_are_the_products(B, N, G, dtype):
    h, dA, W_hh = _operands(B, N, G, dtype)
    W_hhT, W_hhP = K.padded_transpose(W_hh), K.padded_copy(W_hh)
    np.testing.assert_array_equal(W_hhT, W_hh.T)
    np.testing.assert_array_equal(W_hhP, W_hh)
    out = np.full((B, G * N), np.nan, dtype)  # stale contents must not leak in
    K.recurrent_product(h, W_hhT, out)
    expected = h.astype(np.float64) @ W_hh.T.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(N))
    grad = np.full((B, N), np.nan, dtype)
    K.recurrent_gradient(dA, W_hhP, grad)
    expected = dA.astype(np.float64) @ W_hh.astype(np.float64)
    np.testing.assert_allclose(grad, expected, rtol=tol, atol=tol * np.sqrt(G * N))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_depends_only_on_its_operands(dtype):
    """Each row of a product is the same whichever rows share the call (tile, quad or tail)."""
    h, _, W_hh = _operands(13, 40, 4, dtype, seed=3)
    W_hhT = K.padded_transpose(W_hh)
    whole = np.empty((13, 160), dtype)
    K.recurrent_product(h, W_hhT, whole)
    for lo, hi in [(0, 1), (1, 4), (4, 13), (9, 13), (2, 11)]:
        part = np.empty((hi - lo, 160), dtype)
        K.recurrent_product(h[lo:hi], W_hhT, part)
        np.testing.assert_array_equal(part, whole[lo:hi])


def test_the_cases_cover_every_part():
    """Row tails, column tails and more than one block of inputs are all taken above."""
    lanes = VECTOR_BYTES // 4
    assert any(B % 4 for B, _, _ in CASES)
    assert any((G * N) % lanes or N % lanes for _, N, G in CASES)
    assert any(G * N > K_BLOCK for _, N, G in CASES)
    assert any(B >= 32 for B, _, _ in CASES)


# (steps, rows, width, gates, inputs): the forecaster's chunk, a GRU whose gate rows are no
# multiple of four (tail rows), a width that is no whole number of vectors, and more steps x
# rows than one block of inputs (the sum crosses K_BLOCK boundaries), and steps x rows more
# than one WGRAD_BLOCK and no multiple of it (a short last block of terms); a wide LSTM whose
# blocks are transposed into a copy first in both dtypes (K.WGRAD_PACK_STRIDE), the last
# block's terms no multiple of the eight the copy moves at a time
WEIGHT_CASES = [
    (24, 16, 32, 4, 3),
    (5, 3, 7, 3, 2),
    (9, 7, 50, 1, 1),
    (48, 32, 64, 4, 1),
    (13, 7, 20, 3, 2),
    (9, 11, 128, 4, 1),
]


def _copies_blocks(G, N, itemsize):
    return G * N * itemsize >= K.WGRAD_PACK_STRIDE and N * itemsize >= K.WGRAD_PACK_ROW


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("T", "B", "N", "G", "D"), WEIGHT_CASES)
def test_weight_gradients_are_the_sums_over_all_steps(T, B, N, G, D, dtype):
    rng = np.random.default_rng(T * B + N)
    X = rng.normal(size=(T, B, D)).astype(dtype)
    H = rng.normal(size=(T + 1, B, N)).astype(dtype)
    dA = rng.normal(size=(T, B, G * N)).astype(dtype)
    dAh = rng.normal(size=(T, B, G * N)).astype(dtype)
    dW_ih = np.full((G * N, D), np.nan, dtype)  # stale contents must not leak in
    dW_hh = np.full((G * N, N), np.nan, dtype)
    assert any(t * b > K.WGRAD_BLOCK and (t * b) % K.WGRAD_BLOCK for t, b, *_ in WEIGHT_CASES)
    size = np.dtype(dtype).itemsize
    copied = [_copies_blocks(g, n, size) for _, _, n, g, _ in WEIGHT_CASES]
    assert any(copied) and not all(copied)  # both paths, in each dtype
    assert any(c and (t * b % K.WGRAD_BLOCK) % 8 for c, (t, b, *_) in zip(copied, WEIGHT_CASES))
    K.weight_gradients(X, H, dA, dAh, dW_ih, dW_hh)
    f64 = np.float64
    ref_ih = np.einsum("tbg,tbd->gd", dA.astype(f64), X.astype(f64))
    ref_hh = np.einsum("tbg,tbn->gn", dAh.astype(f64), H[:T].astype(f64))
    tol = 1e-4 if dtype == np.float32 else 1e-12
    scale = np.sqrt(T * B)
    np.testing.assert_allclose(dW_ih, ref_ih, rtol=tol, atol=tol * scale)
    np.testing.assert_allclose(dW_hh, ref_hh, rtol=tol, atol=tol * scale)
    # dW_hh row by row through the scalar loops alone (r = 1, never a tile): the same bits,
    # each element the fused multiply-adds of its T*B terms in order of time, then row
    A = np.ascontiguousarray(dAh.reshape(T * B, G * N).T)
    Hs = np.ascontiguousarray(H[:T].reshape(T * B, N))
    for g in range(G * N):
        row = np.zeros((1, N), dtype)
        K.accumulate_rows(A, g, 1, Hs, row)
        np.testing.assert_array_equal(dW_hh[g], row[0], err_msg=f"row {g}")
