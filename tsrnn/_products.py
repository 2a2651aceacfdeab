"""The products of the kernels: rows against a weight matrix, in register tiles.

:func:`accumulate_rows` is every product of the CPU kernels' time loops: the inference
sweeps' (:mod:`tsrnn._infer`, blocks of rows against the layer's weights) and the training
sweeps' per-step recurrent products (:func:`recurrent_product` forward, h W_hhᵀ, and
:func:`recurrent_gradient` backward, dA W_hh). Whole quads of rows and whole vectors of
columns run in the register tiles of :func:`tsrnn._simd.accumulate_tiles`; the rest in
scalar loops with the same arithmetic (:func:`tsrnn._simd.fma` in ascending k), so a row's
result depends only on that row and its operands.

A training chunk's per-step product has few rows (a thread's chunk of the batch, 16 or 32)
against the layer's whole recurrent weight matrix, 48 times a sweep. OpenBLAS computed them
(repacking the weights on every call) until 2026-12-02; the tiles, against the weights
transposed or copied once per sweep with a padded row stride, took 1.2-2.0x less time for
float32 layers of 64-256 units (one thread, 2-core Xeon with AVX-512; figures in
:func:`recurrent_product`). A row's product does not depend on the rows that share its call,
and the chunking never depends on the thread count, so results stay deterministic. The
recurrent weights' gradient over all steps (:func:`tsrnn._kernels.weight_gradients`) runs in
the same tiles since 2026-12-03; the input projection over all steps and the input weights'
gradient stay with BLAS.
"""

import numpy as np
from numba import njit

from . import _cache  # noqa: F401  (chooses the cache directory before any @njit(cache=True))
from ._simd import VECTOR_BYTES, ZERO, accumulate_tiles, fma

# the kernels' options (tsrnn._kernels): no fastmath, NumPy's error model, GIL released
_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def accumulate_rows(A, i, r, Wt, acc):
    """acc[q] += A[i + q] Wt for q < r, with the same arithmetic for every row.

    A (M, K), Wt (K, N) (a weight matrix's transpose: rows of unit stride, best padded,
    :func:`padded_transpose`), acc (>= r, N).
    Every element is accumulated as ``fma(a_1, w_1, fma(a_0, w_0, acc)) ...`` in
    ascending k, each product fused with its add (one rounding, :func:`tsrnn._simd.fma`),
    whether its row is in a quad of four or alone, whether its column is in a vector of a
    register tile (:func:`tsrnn._simd.accumulate_tiles`, the quads' whole vectors of
    columns) or in the scalar loops here (the rest), and whether k is in an unrolled group
    of four or the tail. So a row's result depends only on that row, never on its position
    or on the other rows: batch-invariant. Optimised BLAS kernels do not give that
    guarantee: edge rows of a tile and small shapes take other code paths, and float32
    results then differ in the last bits with the batch's composition. The fused
    multiply-adds took 1.5-1.8x less time than a product and an add each (2-core Xeon,
    float32 and float64, 16-64 inputs by 64-256 outputs); the register tiles, which keep
    the partial sums in registers over all k, 1.4-2.2x less than the loops here (2-core
    Xeon of 2026-12-02, AVX-512). The arrays are indexed in two dimensions, never through
    row views (``acc[q]``): each view made in the loops is a reference-count increment and
    decrement (atomic), which cost 1.8x the time of the products for 16 inputs by 64
    outputs (2-core EPYC Zen 4).
    """
    N = Wt.shape[1]
    full = r - r % 4  # rows in whole quads
    j0 = 0
    if full > 0 and Wt.strides[1] == Wt.itemsize and acc.strides[1] == acc.itemsize:
        j0 = accumulate_tiles(A, i, full, Wt, acc)
    if j0 < N:
        for q in range(0, full, 4):
            _accumulate_quad(A, i + q, 4, Wt, acc, q, j0)
    if full < r:
        _accumulate_quad(A, i + full, r - full, Wt, acc, full, ZERO)


@_jit
def _accumulate_quad(A, i, r, Wt, acc, qa, j0):
    """acc[qa + q, j] += A[i + q] Wt[:, j] for q < r <= 4 and j >= j0: the scalar loops.

    Blocks of 4 rows x 4 k keep the rows in L1 and cut their loads and stores fourfold.
    """
    K = A.shape[1]
    N = Wt.shape[1]
    k = 0
    while k + 4 <= K:
        if r == 4:
            a00, a01, a02, a03 = A[i, k], A[i, k + 1], A[i, k + 2], A[i, k + 3]
            a10, a11, a12, a13 = A[i + 1, k], A[i + 1, k + 1], A[i + 1, k + 2], A[i + 1, k + 3]
            a20, a21, a22, a23 = A[i + 2, k], A[i + 2, k + 1], A[i + 2, k + 2], A[i + 2, k + 3]
            a30, a31, a32, a33 = A[i + 3, k], A[i + 3, k + 1], A[i + 3, k + 2], A[i + 3, k + 3]
            q0, q1, q2, q3 = qa, qa + 1, qa + 2, qa + 3
            for j in range(j0, N):
                x0, x1, x2, x3 = Wt[k, j], Wt[k + 1, j], Wt[k + 2, j], Wt[k + 3, j]
                acc[q0, j] = fma(a03, x3, fma(a02, x2, fma(a01, x1, fma(a00, x0, acc[q0, j]))))
                acc[q1, j] = fma(a13, x3, fma(a12, x2, fma(a11, x1, fma(a10, x0, acc[q1, j]))))
                acc[q2, j] = fma(a23, x3, fma(a22, x2, fma(a21, x1, fma(a20, x0, acc[q2, j]))))
                acc[q3, j] = fma(a33, x3, fma(a32, x2, fma(a31, x1, fma(a30, x0, acc[q3, j]))))
        else:
            for q in range(r):
                b0, b1, b2, b3 = A[i + q, k], A[i + q, k + 1], A[i + q, k + 2], A[i + q, k + 3]
                for j in range(j0, N):
                    x0, x1, x2, x3 = Wt[k, j], Wt[k + 1, j], Wt[k + 2, j], Wt[k + 3, j]
                    acc[qa + q, j] = fma(
                        b3, x3, fma(b2, x2, fma(b1, x1, fma(b0, x0, acc[qa + q, j])))
                    )
        k += 4
    while k < K:
        for q in range(r):
            b = A[i + q, k]
            for j in range(j0, N):
                acc[qa + q, j] = fma(b, Wt[k, j], acc[qa + q, j])
        k += 1


@_jit
def padded_copy(W):
    """W as rows of unit stride whose stride is padded by one vector (a view of a copy).

    Rows whose stride is a power of two (256 floats, say) fall into the same few sets of
    the L1 cache as the products read down the columns; one vector of padding spreads
    them. With :func:`tsrnn._simd.accumulate_tiles`, float32 products of 65 inputs by 256
    outputs took 3.0 against 3.4 ms (one thread, 256 rows x 48 steps, 2-core Xeon).
    """
    M, N = W.shape
    pad = VECTOR_BYTES // W.itemsize
    out = np.empty((M, N + pad), dtype=W.dtype)
    for k in range(M):
        for j in range(N):
            out[k, j] = W[k, j]
    return out[:, :N]


@_jit
def padded_transpose(W):
    """W.T as :func:`padded_copy` lays it out: the weights of a product ``A Wᵀ``."""
    return padded_copy(W.T)


@_jit
def _product(A, Wt, out):
    """Write the product out = A Wt (every row of A) through :func:`accumulate_rows`."""
    B, M = out.shape
    for s in range(B):
        for j in range(M):
            out[s, j] = 0.0
    accumulate_rows(A, ZERO, B, Wt, out)


@_jit
def recurrent_product(h, W_hhT, out):
    """The forward's recurrent term out = h W_hhᵀ, h (B, N), out (B, GN).

    ``W_hhT`` is :func:`padded_transpose` of W_hh, made once per sweep. Measured against
    OpenBLAS's h W_hhᵀ as computed before (float32, one thread, 2-core Xeon with AVX-512,
    us a step, rows 16 / 32): 64 units 3.5 / 11.7 -> 3.8 / 6.5, 128 units 24.3 / 49.9 ->
    15.5 / 30.1, 256 units 96 / 173 -> 72 / 142.
    """
    _product(h, W_hhT, out)


@_jit
def recurrent_accumulate(h, W_hhT, acc):
    """Add the recurrent term h W_hhᵀ into ``acc``, the step's pre-activations.

    The RNN's and LSTM's forward sweeps add the recurrent term straight into the input
    projections ``A[t]`` (no zeroed buffer, no pass adding it).
    """
    accumulate_rows(h, ZERO, acc.shape[0], W_hhT, acc)


@_jit
def recurrent_gradient(dA, W_hhP, out):
    """The backward's recurrent term out = dA W_hh, dA (B, GN), out (B, N).

    ``W_hhP`` is :func:`padded_copy` of W_hh, made once per sweep. Measured as
    :func:`recurrent_product`: 64 units 4.2 / 8.0 -> 3.3 / 8.3, 128 units 25.9 / 44.5 ->
    15.6 / 31.5, 256 units 104 / 172 -> 57 / 105 us.
    """
    _product(dA, W_hhP, out)
