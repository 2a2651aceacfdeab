"""CUDA GEMM and reductions, and the launchers built on them.

The twins of :mod:`tsrnn._kernels`' products, sums and vector reductions:
the input projection, weight, bias and input gradients, the head, the L2
penalty and gradient-norm clipping.  A value the CPU kernel *returns* (a
penalty, a norm) is written into a trailing ``res`` argument, a one-element
float64 device array, so that no launcher has to wait for the device.

Reductions are deterministic: fixed partitions summed in a fixed order, so a
result never depends on scheduling.
"""

import math
from types import SimpleNamespace

import numpy as np
from numba import cuda, types

from ._config import (
    CONFIG,
    NB_TYPES,
    ceil_div,
    check_dtype,
    device_math,
    dummy,
    grid_1d,
    kernel_cache,
    scratch,
)


def _make_gemm(nbt, BM, BN, BK, TM, TN):
    """Tiled shared-memory GEMM with transposed-operand flags and split-K."""
    TX, TY = BN // TN, BM // TM
    NT = TX * TY

    @cuda.jit
    def gemm_kernel(A, B, C3, bias, trans_a, trans_b, has_bias, k_chunk):
        # C3[z] (M, N) = op(A) op(B) over the inner range of split z, + bias.
        # op(A) (M, K): A is (M, K), or (K, M) if trans_a; op(B) (K, N): B is
        # (K, N), or (N, K) if trans_b.
        M, N = C3.shape[1], C3.shape[2]
        K = A.shape[0] if trans_a else A.shape[1]
        As = cuda.shared.array((BK, BM), nbt)
        Bs = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        a = cuda.local.array(TM, nbt)
        b = cuda.local.array(TN, nbt)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tid = ty * TX + tx
        n0, m0, z = cuda.blockIdx.x * BN, cuda.blockIdx.y * BM, cuda.blockIdx.z
        k_lo = z * k_chunk
        k_hi = min(K, k_lo + k_chunk)
        for i in range(TM):
            for j in range(TN):
                acc[i, j] = 0
        for k0 in range(k_lo, k_hi, BK):
            for e in range(tid, BM * BK, NT):
                if trans_a:  # consecutive threads read consecutive m
                    kk, mm = e // BM, e % BM
                    if m0 + mm < M and k0 + kk < k_hi:
                        As[kk, mm] = A[k0 + kk, m0 + mm]
                    else:
                        As[kk, mm] = 0
                else:  # consecutive threads read consecutive k
                    mm, kk = e // BK, e % BK
                    if m0 + mm < M and k0 + kk < k_hi:
                        As[kk, mm] = A[m0 + mm, k0 + kk]
                    else:
                        As[kk, mm] = 0
            for e in range(tid, BN * BK, NT):
                if trans_b:
                    nn, kk = e // BK, e % BK
                    if n0 + nn < N and k0 + kk < k_hi:
                        Bs[kk, nn] = B[n0 + nn, k0 + kk]
                    else:
                        Bs[kk, nn] = 0
                else:
                    kk, nn = e // BN, e % BN
                    if n0 + nn < N and k0 + kk < k_hi:
                        Bs[kk, nn] = B[k0 + kk, n0 + nn]
                    else:
                        Bs[kk, nn] = 0
            cuda.syncthreads()
            for kk in range(BK):
                for i in range(TM):
                    a[i] = As[kk, ty + i * TY]
                for j in range(TN):
                    b[j] = Bs[kk, tx + j * TX]
                for i in range(TM):
                    for j in range(TN):
                        acc[i, j] += a[i] * b[j]
            cuda.syncthreads()
        for i in range(TM):
            m = m0 + ty + i * TY
            for j in range(TN):
                n = n0 + tx + j * TX
                if m < M and n < N:
                    if has_bias:
                        C3[z, m, n] = acc[i, j] + bias[n]
                    else:
                        C3[z, m, n] = acc[i, j]

    return gemm_kernel


def _make_reductions(nbt, NTH):
    """Sums over long vectors and columns: block partials, then one block."""
    m = device_math()
    l2_element, clip_coefficient = m.l2_element, m.clip_coefficient
    norm_sq_element, norm_from_parts = m.norm_sq_element, m.norm_from_parts

    @cuda.jit(device=True)
    def block_sum(sh, tid, value):
        # Tree reduction of one float64 per thread; result valid in thread 0.
        sh[tid] = value
        cuda.syncthreads()
        stride = NTH // 2
        while stride > 0:
            if tid < stride:
                sh[tid] += sh[tid + stride]
            cuda.syncthreads()
            stride //= 2
        return sh[0]

    @cuda.jit
    def sum_split_kernel(P3, C, bias, has_bias):
        # C (M, N) = Σ_z P3[z] (+ bias): the second stage of a split-K GEMM.
        M, N = C.shape
        S = P3.shape[0]
        start = cuda.grid(1)
        for e in range(start, M * N, cuda.gridsize(1)):
            m, n = e // N, e % N
            tot = P3[0, m, n]
            for z in range(1, S):
                tot += P3[z, m, n]
            if has_bias:
                tot += bias[n]
            C[m, n] = tot

    @cuda.jit
    def colsum_partial_kernel(M2, P, rows_per_chunk):
        # P[c, j] = Σ of M2[r, j] over the rows r of chunk c (M2 (R, G)).
        R, G = M2.shape
        j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        c = cuda.blockIdx.y
        r_lo = c * rows_per_chunk
        if j < G and r_lo < R:
            tot = M2[r_lo, j]
            for r in range(r_lo + 1, min(R, r_lo + rows_per_chunk)):
                tot += M2[r, j]
            P[c, j] = tot

    @cuda.jit
    def colsum_finish_kernel(P, out):
        # out[j] = Σ_c P[c, j]
        S, G = P.shape
        j = cuda.grid(1)
        if j < G:
            tot = P[0, j]
            for c in range(1, S):
                tot += P[c, j]
            out[j] = tot

    @cuda.jit
    def sumsq_partial_kernel(x, P):
        # P[:, block] = the two parts of Σ x² (norm_sq_element) over the block's share.
        sh_mid = cuda.shared.array(NTH, types.float64)
        sh_big = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        mid = 0.0
        big = 0.0
        for p in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            a, b = norm_sq_element(x, p)
            mid += a
            big += b
        mid = block_sum(sh_mid, tid, mid)
        big = block_sum(sh_big, tid, big)
        if tid == 0:
            P[0, cuda.blockIdx.x] = mid
            P[1, cuda.blockIdx.x] = big

    @cuda.jit
    def l2_partial_kernel(theta, mask, grad, scale, P):
        # grad += scale·mask·θ; P[block] = Σ mask·θ² over the block's share.
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        acc = 0.0
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            acc += l2_element(theta, mask, grad, p, scale)
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            P[cuda.blockIdx.x] = tot

    @cuda.jit
    def finish_sum_kernel(P, mul, take_sqrt, res):
        # res[0] = mul · Σ P (square-rooted if take_sqrt); one block.
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        acc = 0.0
        for p in range(tid, P.shape[0], NTH):
            acc += P[p]
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            tot *= mul
            if take_sqrt:
                tot = math.sqrt(tot)
            res[0] = tot

    @cuda.jit
    def finish_norm_kernel(P, res):
        # res[0] = the L2 norm from the two parts' block partials; one block.
        sh_mid = cuda.shared.array(NTH, types.float64)
        sh_big = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        mid = 0.0
        big = 0.0
        for p in range(tid, P.shape[1], NTH):
            mid += P[0, p]
            big += P[1, p]
        mid = block_sum(sh_mid, tid, mid)
        big = block_sum(sh_big, tid, big)
        if tid == 0:
            res[0] = norm_from_parts(mid, big)

    @cuda.jit
    def clip_scale_kernel(grad, res, max_norm):
        # grad *= max_norm / (norm + 1e-6) where that is < 1 (norm = res[0]).
        coef = clip_coefficient(res[0], max_norm)
        if coef < 1.0:
            for p in range(cuda.grid(1), grad.shape[0], cuda.gridsize(1)):
                grad[p] *= coef

    return {
        "block_sum": block_sum,
        "sum_split": sum_split_kernel,
        "colsum_partial": colsum_partial_kernel,
        "colsum_finish": colsum_finish_kernel,
        "sumsq_partial": sumsq_partial_kernel,
        "l2_partial": l2_partial_kernel,
        "finish_sum": finish_sum_kernel,
        "finish_norm": finish_norm_kernel,
        "clip_scale": clip_scale_kernel,
    }, block_sum


@kernel_cache
def _build(dtype):
    nbt = NB_TYPES[dtype]
    red, block_sum = _make_reductions(nbt, CONFIG["threads"])
    return SimpleNamespace(
        gemm=_make_gemm(nbt, *CONFIG["gemm"]),
        gemm_tile=CONFIG["gemm"],
        k=red,
        block_sum=block_sum,
        threads=CONFIG["threads"],
        reduce_blocks=CONFIG["reduce_blocks"],
        split_k_min=CONFIG["split_k_min"],
        target_blocks=CONFIG["target_blocks"],
    )


def kit(dtype):
    """The GEMM and reduction kernels of ``dtype`` with the sizes they were built with."""
    return _build(check_dtype(dtype))


def gpu_gemm(A, B, C, trans_a=False, trans_b=False, bias=None, allow_split=True):
    """C = op(A) op(B) (+ bias broadcast over rows), all 2-D device arrays.

    ``op(A)`` is ``Aᵀ`` when ``trans_a`` (A stored (K, M)), else A (M, K);
    likewise B.  A GEMM whose output has few tiles but a long inner dimension
    (the weight gradients, summed over T·B rows) is split along K into partial
    products that a second kernel adds up, so the whole device is busy.
    ``allow_split=False`` never splits: every output is then one sum over k in
    a fixed order whatever M is, so a row of C does not depend on the other
    rows (the batch invariance of device predictions).
    """
    k = kit(C.dtype)
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    if (B.shape[1] if trans_b else B.shape[0]) != K or (A.shape[1] if trans_a else A.shape[0]) != M:
        raise ValueError("gpu_gemm: operand shapes do not match")
    BM, BN, BK, TM, TN = k.gemm_tile
    tiles = ceil_div(M, BM) * ceil_div(N, BN)
    splits = 1
    if allow_split and tiles < k.target_blocks:
        splits = max(1, min(ceil_div(k.target_blocks, tiles), K // k.split_k_min))
    k_chunk = ceil_div(ceil_div(K, splits), BK) * BK
    splits = ceil_div(K, k_chunk) if K else 1
    has_bias = bias is not None
    b = bias if has_bias else dummy(C.dtype)
    grid = (ceil_div(N, BN), ceil_div(M, BM), splits)
    block = (BN // TN, BM // TM)
    if splits == 1:
        C3 = C.reshape(1, M, N)
        k.gemm[grid, block](A, B, C3, b, trans_a, trans_b, has_bias, max(k_chunk, 1))
        return
    P3 = scratch("split_k", (splits, M, N), C.dtype)
    k.gemm[grid, block](A, B, P3, b, trans_a, trans_b, False, k_chunk)
    k.k["sum_split"][grid_1d(M * N)](P3, C, b, has_bias)


def gpu_column_sums(M2, out):
    """out[j] = Σ_r M2[r, j] for a 2-D device array (two deterministic stages)."""
    k = kit(M2.dtype)
    R, G = M2.shape
    chunks = max(1, min(k.reduce_blocks, ceil_div(R, 64)))
    rows_per_chunk = ceil_div(R, chunks)
    chunks = max(1, ceil_div(R, rows_per_chunk))
    P = scratch("colsum", (chunks, G), M2.dtype)
    tpb = min(k.threads, 128)
    k.k["colsum_partial"][(ceil_div(G, tpb), chunks), tpb](M2, P, rows_per_chunk)
    k.k["colsum_finish"][ceil_div(G, tpb), tpb](P, out)


def _as_rows(X):
    """(T, B, D) -> (T·B, D) view of a C-contiguous device array."""
    T, B, D = X.shape
    return X.reshape(T * B, D)


# --------------------------------------------------------------------------
# shared building blocks (twins of tsrnn._kernels)
# --------------------------------------------------------------------------


def gpu_input_projection(X, W_ih, b, A, allow_split=True):
    """A[t] = X[t] W_ihᵀ + b for all steps at once (one GEMM over T*B rows).

    X (T, B, D), W_ih (GN, D), b (GN,), A (T, B, GN) written.  ``allow_split``:
    see :func:`gpu_gemm` (False: batch-invariant).
    """
    gpu_gemm(_as_rows(X), W_ih, _as_rows(A), trans_b=True, bias=b, allow_split=allow_split)


def gpu_weight_gradients(X, H, dA, dAh, dW_ih, dW_hh):
    """dW_ih = Σ_t dA_tᵀ x_t and dW_hh = Σ_t dAh_tᵀ h_{t-1} (one GEMM each).

    X (T, B, D), H (T+1, B, N), dA and dAh (T, B, GN); dW_ih (GN, D) and
    dW_hh (GN, N) written.
    """
    T = X.shape[0]
    gpu_gemm(_as_rows(dA), _as_rows(X), dW_ih, trans_a=True)
    gpu_gemm(_as_rows(dAh), _as_rows(H[:T]), dW_hh, trans_a=True)


def gpu_bias_gradient(dA, db):
    """Bias gradient db = Σ over steps and samples of dA (T, B, GN)."""
    gpu_column_sums(_as_rows(dA), db)


def gpu_input_gradient(dA, W_ih, dX):
    """dX[t] = dA[t] W_ih: the gradient passed down to the layer below."""
    gpu_gemm(_as_rows(dA), W_ih, _as_rows(dX))


# --------------------------------------------------------------------------
# output head o = c + V z
# --------------------------------------------------------------------------


def gpu_head_forward(Z, V, c, out, allow_split=True):
    """Head output out = Z Vᵀ + c.  Z (B, F), V (O, F), c (O,), out (B, O).

    ``allow_split=False``: batch-invariant (see :func:`gpu_gemm`).
    """
    gpu_gemm(Z, V, out, trans_b=True, bias=c, allow_split=allow_split)


def gpu_head_backward(Z, V, dO, dV, dc, dZ):
    """Gradients of the head: dV = dOᵀ Z, dc = Σ dO, dZ = dO V."""
    gpu_gemm(dO, Z, dV, trans_a=True)
    gpu_gemm(dO, V, dZ)
    gpu_column_sums(dO, dc)


# --------------------------------------------------------------------------
# regularisation and clipping on the flat parameter vector
# --------------------------------------------------------------------------


def _finish(k, P, mul, take_sqrt, res):
    k.k["finish_sum"][1, k.threads](P, mul, take_sqrt, res)


def gpu_l2_penalty(theta, mask, grad, scale, res):
    """Add scale·mask·θ to grad and write scale/2·Σ mask·θ² into res[0]."""
    k = kit(theta.dtype)
    blocks, tpb = grid_1d(theta.shape[0])
    blocks = min(blocks, k.reduce_blocks)
    P = scratch("partials", (blocks,), np.float64)
    k.k["l2_partial"][blocks, tpb](theta, mask, grad, float(scale), P)
    _finish(k, P, 0.5 * float(scale), False, res)


def gpu_clip_grad_norm(grad, max_norm, res):
    """Scale grad in place so its global L2 norm is at most max_norm.

    The norm before clipping is written into res[0].  ``max_norm = inf`` only
    measures the norm (the trainer's finiteness check).  It is summed without overflow, as
    on the CPU (:func:`tsrnn._elementwise.norm_sq_element`): a finite float32 gradient of
    any size has a finite norm and is scaled, not zeroed or taken for a divergence.
    """
    k = kit(grad.dtype)
    blocks, tpb = grid_1d(grad.shape[0])
    blocks = min(blocks, k.reduce_blocks)
    P = scratch("norm_partials", (2, blocks), np.float64)
    k.k["sumsq_partial"][blocks, tpb](grad, P)
    k.k["finish_norm"][1, k.threads](P, res)
    if math.isfinite(max_norm):
        k.k["clip_scale"][grid_1d(grad.shape[0])](grad, res, float(max_norm))
