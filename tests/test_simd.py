"""The inference products' register tiles (tsrnn._simd) against the scalar loops.

:func:`tsrnn._kernels.accumulate_rows` computes the whole vectors of columns of every quad of
four rows in register tiles and the rest (tail columns, tail rows, rows of a non-unit stride)
in scalar loops. A row's result must be the same bits whichever path computed it: the
expected values come from rows computed one at a time (never in a tile) and from a float64
NumPy product within rounding, never from the tiles under test.
"""

import numpy as np
import pytest

from tsrnn import _kernels as K
from tsrnn import _simd as S


def _lanes(dtype):
    return S.VECTOR_BYTES // np.dtype(dtype).itemsize


def _one_row_at_a_time(A, Wt, acc0):
    out = acc0.copy()
    for q in range(acc0.shape[0]):
        row = out[q : q + 1].copy()
        K.accumulate_rows(A, q, 1, Wt, row)  # r = 1: the scalar loops only
        out[q] = row[0]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k_in", [1, 3, 4, 5, 65])
def test_tiles_give_the_bits_of_the_scalar_loops(dtype, k_in):
    L = _lanes(dtype)
    rng = np.random.default_rng(k_in)
    # columns: below one vector, one vector, a tail, every tile width, one more than four vectors
    widths = sorted({1, L - 1, L, L + 1, 2 * L, 2 * L + 3, 4 * L, 4 * L + 1, 12 * L + 5})
    for N in widths:
        for r in (1, 3, 4, 5, 8, 16, 17):
            A = rng.standard_normal((r + 2, k_in)).astype(dtype)
            W = rng.standard_normal((N, k_in)).astype(dtype)
            Wt = K.padded_transpose(W)
            acc0 = rng.standard_normal((r, N)).astype(dtype)
            acc = acc0.copy()
            K.accumulate_rows(A, 0, r, Wt, acc)
            expected = _one_row_at_a_time(A[:r], Wt, acc0)
            np.testing.assert_array_equal(acc, expected, err_msg=f"N={N} r={r}")
            ref = acc0.astype(np.float64) + A[:r].astype(np.float64) @ W.T.astype(np.float64)
            tol = 1e-4 if dtype == np.float32 else 1e-12
            np.testing.assert_allclose(acc, ref, rtol=tol, atol=tol * k_in)


def test_a_row_offset_and_strided_operands_give_the_same_bits():
    rng = np.random.default_rng(7)
    L = _lanes(np.float32)
    N, k_in = 4 * L + 2, 9
    A = rng.standard_normal((20, k_in)).astype(np.float32)
    W = rng.standard_normal((N, k_in)).astype(np.float32)
    acc0 = rng.standard_normal((8, N)).astype(np.float32)
    tiled = acc0.copy()
    K.accumulate_rows(A, 5, 8, K.padded_transpose(W), tiled)  # rows 5..12 of A
    # a contiguous transpose (no padding) and an acc whose columns are strided: the tiles
    # apply to the first, the scalar loops alone to the second
    plain = acc0.copy()
    K.accumulate_rows(A, 5, 8, np.ascontiguousarray(W.T), plain)
    wide = np.zeros((8, 2 * N), np.float32)
    wide[:, ::2] = acc0
    strided = wide[:, ::2]
    K.accumulate_rows(A, 5, 8, np.ascontiguousarray(W.T), strided)
    np.testing.assert_array_equal(tiled, plain)
    np.testing.assert_array_equal(tiled, strided)
    np.testing.assert_array_equal(
        tiled, _one_row_at_a_time(A[5:13], np.ascontiguousarray(W.T), acc0)
    )


def test_nan_stays_in_its_row():
    L = _lanes(np.float32)
    N, k_in = 4 * L, 6
    rng = np.random.default_rng(3)
    A = rng.standard_normal((8, k_in)).astype(np.float32)
    A[2, 4] = np.nan
    W = rng.standard_normal((N, k_in)).astype(np.float32)
    acc = np.zeros((8, N), np.float32)
    K.accumulate_rows(A, 0, 8, K.padded_transpose(W), acc)
    assert np.isnan(acc[2]).all()
    assert np.isfinite(np.delete(acc, 2, axis=0)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_padded_transpose_is_the_transpose_with_a_longer_row_stride(dtype):
    W = np.arange(6 * 5, dtype=dtype).reshape(6, 5)
    Wt = K.padded_transpose(W)
    np.testing.assert_array_equal(Wt, W.T)
    assert Wt.strides == ((6 + _lanes(dtype)) * Wt.itemsize, Wt.itemsize)


def test_vector_shape_is_a_known_one():
    assert (S.VECTOR_BYTES, S.TILE_VECTORS) in {(64, 4), (32, 2), (16, 4), (16, 2)}


def _scalar_loops():
    import numba

    @numba.njit
    def tanh_all(A):
        out = np.empty_like(A)
        for m in range(A.shape[0]):
            for j in range(A.shape[1]):
                out[m, j] = K.tanh(A[m, j])
        return out

    @numba.njit
    def sigmoid_sum_all(A, B):
        out = np.empty_like(A)
        for m in range(A.shape[0]):
            for j in range(A.shape[1]):
                out[m, j] = K.sigmoid(A[m, j] + B[m, j])
        return out

    return tanh_all, sigmoid_sum_all


_SPECIAL = [0.0, -0.0, 1e-39, -1e-39, 1e-8, 0.3, -0.3, 7.9, -7.9, 7.91, 9.0, -9.0, 50.0]
_SPECIAL += [np.inf, -np.inf, np.nan, 3.4e38, -3.4e38]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_vector_activations_give_the_bits_of_the_scalar_functions(dtype):
    import numba

    @numba.njit
    def vector_rows(A, B):
        T, Sg = A.copy(), A.copy()
        ends = np.empty((A.shape[0], 2), np.int64)
        for m in range(A.shape[0]):
            ends[m, 0] = S.tanh_row(T, m, A.shape[1])
            ends[m, 1] = S.sigmoid_sum_row(Sg, B, m, A.shape[1])
        return T, Sg, ends

    rng = np.random.default_rng(11)
    n = max(3 * _lanes(np.float32), len(_SPECIAL)) + 5  # a tail after the whole vectors
    A = (rng.standard_normal((4, n)) * 4).astype(dtype)
    A[0, : len(_SPECIAL)] = _SPECIAL
    B = (rng.standard_normal((4, n)) * 4).astype(dtype)
    tanh_all, sigmoid_sum_all = _scalar_loops()
    T, Sg, ends = vector_rows(A, B)
    if dtype == np.float64:  # left to the scalar loops
        assert (ends == 0).all()
        return
    L = _lanes(dtype)
    assert (ends == (n // L) * L).all()
    done = ends[0, 0]
    expected_t, expected_s = tanh_all(A), sigmoid_sum_all(A, B)
    # the vectors' part equals the scalar function bit for bit (NaN where it is NaN, the sign
    # of zero kept); the rest is left untouched for the caller's scalar loop
    np.testing.assert_array_equal(T[:, :done].view(np.int32), expected_t[:, :done].view(np.int32))
    np.testing.assert_array_equal(Sg[:, :done].view(np.int32), expected_s[:, :done].view(np.int32))
    np.testing.assert_array_equal(T[:, done:], A[:, done:])
    assert np.isnan(T[0, _SPECIAL.index(np.nan)])
    assert np.signbit(T[0, 1]) and T[0, 1] == 0
    np.testing.assert_allclose(
        T[:, :done][np.isfinite(A[:, :done])],
        np.tanh(A[:, :done][np.isfinite(A[:, :done])]),
        atol=1e-6,
    )
