"""CUDA twins of :mod:`tsrnn._kernels`, written with ``numba.cuda``.

Every CPU kernel ``f`` has a host-side launcher ``gpu_f`` here with the same
argument order, taking device arrays instead of numpy arrays, so the two files
can be read side by side.  A launcher may start one or more ``@cuda.jit``
kernels.  Three systematic differences, all forced by the device:

* A value the CPU kernel *returns* (a loss, a penalty, a norm) is written into
  a trailing ``res`` argument, a one-element float64 device array, so that no
  launcher has to wait for the device; the caller copies the scalars back once
  per batch.
* The backward sweeps take an optional trailing ``work`` (B, N) device array
  for the carried state (the CPU kernels allocate it); the network layer passes
  one from its workspace so nothing is allocated per batch.
* The optimiser updates take an optional trailing ``guard`` (float64 device
  array: loss, penalty, norm) and skip the update on the device when any entry
  is not finite — the CPU trainer checks on the host before updating, which
  on the GPU would cost a synchronisation before every update.

Kernels are built lazily, per dtype, by :func:`_kit` (never at import), and
their tile sizes come from :data:`CONFIG`, which tests shrink with
:func:`configure` because the CUDA simulator runs one Python thread per CUDA
thread.

The recurrent kernels fuse the per-step GEMM with the element-wise gate math:
a thread block owns a tile of samples × hidden units and computes, for every
gate, that tile of ``h_{t-1} W_hhᵀ`` in shared memory before applying the cell
equations of ``MATH.md``; the backward step likewise computes its tile of
``dh = dA_{t+1} W_hh`` and then the gate derivatives of step ``t``.  Wide
layers launch one such *step* kernel per time step.  Narrow layers (hidden
size up to ``CONFIG['seq_max_hidden']``), which would be bound by launch
latency, run a *sequence* kernel: samples are independent, so a block that
owns some samples can loop over all steps and hidden tiles by itself with
only ``syncthreads`` between steps — one launch per sweep.
"""

import math
from functools import lru_cache

import numpy as np
from numba import cuda, types

#: Tile sizes.  ``gemm``, ``step`` and ``seq``: (BM, BN, BK, TM, TN) — block tile
#: BM × BN of the output, BK of the inner dimension per shared-memory stage,
#: and TM × TN outputs per thread (so (BM/TM)·(BN/TN) threads per block).
#: ``threads``: threads per block of the 1-D and reduction kernels (a power of
#: two).  ``reduce_blocks``: blocks of the first stage of a reduction.
#: ``split_k_min``: smallest inner-dimension chunk of a split-K GEMM.
#: ``target_blocks``: how many blocks a GEMM should at least launch before
#: its inner dimension is split.  ``seq_max_hidden``: layers with at most this
#: many hidden units run a whole sweep in one launch (sequence kernels); wider
#: layers launch one step kernel per time step, whose grid also spans the
#: hidden units.
CONFIG = {
    "gemm": (128, 64, 8, 8, 4),
    "step": (32, 32, 16, 2, 2),
    "seq": (8, 32, 16, 1, 2),
    "threads": 256,
    "reduce_blocks": 256,
    "split_k_min": 256,
    "target_blocks": 256,
    "seq_max_hidden": 64,
}

_DEFAULT_CONFIG = dict(CONFIG)


def _numpy_compat():
    """numba-cuda 0.30 registers an overload of ``np.row_stack`` when it first
    compiles, an alias of ``np.vstack`` that NumPy 2.5 removed; without it no
    kernel compiles.  Restore the alias (the same function it always was)."""
    if "row_stack" not in dir(np):
        np.row_stack = np.vstack


_numpy_compat()
_NB_TYPES = {np.dtype(np.float32): types.float32, np.dtype(np.float64): types.float64}


def configure(**changes):
    """Change tile sizes (keys of :data:`CONFIG`); ``configure()`` restores defaults.

    Kernels already built are discarded, so the next launch compiles with the
    new sizes.  Raises ``ValueError`` for an unknown key or inconsistent tile.
    """
    new = dict(_DEFAULT_CONFIG) if not changes else dict(CONFIG)
    for key, value in changes.items():
        if key not in new:
            raise ValueError(f"unknown CUDA config key {key!r}; known: {sorted(new)}")
        new[key] = value
    for key in ("gemm", "step", "seq"):
        BM, BN, BK, TM, TN = new[key]
        if min(BM, BN, BK, TM, TN) < 1 or BM % TM or BN % TN:
            raise ValueError(f"{key} tile {new[key]}: need BM % TM == 0 and BN % TN == 0")
    if new["threads"] < 1 or new["threads"] & (new["threads"] - 1):
        raise ValueError(f"threads must be a power of two, got {new['threads']}")
    CONFIG.clear()
    CONFIG.update(new)
    _kit_for.cache_clear()
    _layout_kernels.cache_clear()
    _scratch_cache.clear()


def _ceil_div(a, b):
    return -(-a // b)


# --------------------------------------------------------------------------
# kernel factories (closures over dtype and tile sizes: compile-time constants)
# --------------------------------------------------------------------------


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
        # P[block] = Σ x² over the block's grid-stride share (float64).
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        acc = 0.0
        for p in range(cuda.grid(1), x.shape[0], cuda.gridsize(1)):
            acc += x[p] * x[p]
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            P[cuda.blockIdx.x] = tot

    @cuda.jit
    def l2_partial_kernel(theta, mask, grad, scale, P):
        # grad += scale·mask·θ; P[block] = Σ mask·θ² over the block's share.
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        acc = 0.0
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            if mask[p]:
                w = theta[p]
                acc += w * w
                grad[p] += scale * w
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
    def clip_scale_kernel(grad, res, max_norm):
        # grad *= max_norm / (norm + 1e-6) where that is < 1 (norm = res[0]).
        coef = max_norm / (res[0] + 1e-6)
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
        "clip_scale": clip_scale_kernel,
    }, block_sum


def _make_losses(NTH, block_sum):
    """Losses, softmax and optimiser updates (dtype-generic, float64 scalars)."""

    @cuda.jit
    def mse_kernel(out, Y, dO, n_total, res):
        # one block: res[0] = Σ (o - y)² / (n_total·O), dO = 2 (o - y) / (n_total·O)
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        scale = 1.0 / (n_total * O)
        acc = 0.0
        for e in range(tid, B * O, NTH):
            s, k = e // O, e % O
            d = out[s, k] - Y[s, k]
            acc += d * d
            dO[s, k] = 2.0 * scale * d
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot * scale

    @cuda.jit
    def mae_kernel(out, Y, dO, n_total, res):
        # one block: res[0] = Σ |o - y| / (n_total·O), dO = sign(o - y) / (n_total·O)
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        scale = 1.0 / (n_total * O)
        acc = 0.0
        for e in range(tid, B * O, NTH):
            s, k = e // O, e % O
            d = out[s, k] - Y[s, k]
            if d > 0.0:
                acc += d
                dO[s, k] = scale
            elif d < 0.0:
                acc -= d
                dO[s, k] = -scale
            else:
                acc += abs(d)
                dO[s, k] = 0.0 * d
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot * scale

    @cuda.jit
    def xent_kernel(out, labels, dO, n_total, res):
        # one block, one sample per thread: mean softmax cross-entropy
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        acc = 0.0
        for s in range(tid, B, NTH):
            m = out[s, 0]
            for k in range(1, O):
                if out[s, k] > m:
                    m = out[s, k]
            tot = 0.0
            for k in range(O):
                tot += math.exp(out[s, k] - m)
            lse = m + math.log(tot)
            acc += lse - out[s, labels[s]]
            for k in range(O):
                dO[s, k] = math.exp(out[s, k] - lse) / n_total
            dO[s, labels[s]] -= 1.0 / n_total
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot / n_total

    @cuda.jit
    def softmax_kernel(out, proba):
        # one thread per sample
        B, O = out.shape
        s = cuda.grid(1)
        if s < B:
            m = out[s, 0]
            for k in range(1, O):
                if out[s, k] > m:
                    m = out[s, k]
            tot = 0.0
            for k in range(O):
                e = math.exp(out[s, k] - m)
                proba[s, k] = e
                tot += e
            for k in range(O):
                proba[s, k] /= tot

    @cuda.jit(device=True)
    def all_finite(guard):
        # x - x is 0 for finite x and NaN for inf or NaN
        for i in range(guard.shape[0]):
            if not (guard[i] - guard[i] == 0.0):
                return False
        return True

    @cuda.jit
    def sgd_kernel(theta, grad, velocity, lr, momentum, nesterov, guard):
        if not all_finite(guard):
            return
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            g = grad[p]
            if momentum != 0.0:
                velocity[p] = momentum * velocity[p] + g
                if nesterov:
                    g = g + momentum * velocity[p]
                else:
                    g = velocity[p]
            theta[p] -= lr * g

    @cuda.jit
    def adam_kernel(theta, grad, m, v, lr, beta1, beta2, eps, step, guard):
        if not all_finite(guard):
            return
        bc1 = 1.0 - beta1**step
        bc2 = 1.0 - beta2**step
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            g = grad[p]
            m[p] = beta1 * m[p] + (1.0 - beta1) * g
            v[p] = beta2 * v[p] + (1.0 - beta2) * g * g
            theta[p] -= lr * (m[p] / bc1) / (math.sqrt(v[p] / bc2) + eps)

    return {
        "mse": mse_kernel,
        "mae": mae_kernel,
        "xent": xent_kernel,
        "softmax": softmax_kernel,
        "sgd": sgd_kernel,
        "adam": adam_kernel,
    }


def _make_layout():
    """Gathers and re-layouts between the network's buffers (no CPU twin: the
    CPU network does these with numpy slicing)."""

    @cuda.jit
    def gather_batch_kernel(X, idx, start, out):
        # out[t, s, d] = X[idx[start + s], t, d]: (n, T, D) -> time-major batch
        T, B, D = out.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[idx[start + s], t, d]

    @cuda.jit
    def gather_rows_kernel(Y, idx, start, out):
        # out[s, k] = Y[idx[start + s], k]
        B, O = out.shape
        for e in range(cuda.grid(1), B * O, cuda.gridsize(1)):
            s, k = e // O, e % O
            out[s, k] = Y[idx[start + s], k]

    @cuda.jit
    def gather_labels_kernel(y, idx, start, out):
        for s in range(cuda.grid(1), out.shape[0], cuda.gridsize(1)):
            out[s] = y[idx[start + s]]

    @cuda.jit
    def slice_batch_kernel(X, start, out):
        # out[t, s, d] = X[start + s, t, d]: a contiguous chunk, time-major
        T, B, D = out.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[start + s, t, d]

    @cuda.jit
    def reverse_time_kernel(X, out):
        # out[t] = X[T - 1 - t]
        T, B, D = X.shape
        for e in range(cuda.grid(1), T * B * D, cuda.gridsize(1)):
            t, r = e // (B * D), e % (B * D)
            s, d = r // D, r % D
            out[t, s, d] = X[T - 1 - t, s, d]

    @cuda.jit
    def concat_directions_kernel(Hf, Hr, out):
        # out[t] = [h_t^fwd ; h_t^rev]; Hr runs in reverse time, Hr[T - t] is h_t^rev
        T, B, N2 = out.shape
        N = N2 // 2
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            out[t, s, j] = Hf[t + 1, s, j]
            out[t, s, N + j] = Hr[T - t, s, j]

    @cuda.jit
    def final_state_kernel(H, d, Z):
        # Z[:, dN:(d+1)N] = H[T]: the direction's final state
        T = H.shape[0] - 1
        B, N = H.shape[1], H.shape[2]
        for e in range(cuda.grid(1), B * N, cuda.gridsize(1)):
            s, j = e // N, e % N
            Z[s, d * N + j] = H[T, s, j]

    @cuda.jit
    def top_grad_kernel(dZ, d, dH):
        # dH = 0 except dH[T-1] = dZ[:, dN:(d+1)N] (only the final state feeds the head)
        T, B, N = dH.shape
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            if t == T - 1:
                dH[t, s, j] = dZ[s, d * N + j]
            else:
                dH[t, s, j] = 0

    @cuda.jit
    def split_directions_kernel(dXf, dXr, dHf, dHr):
        # the gradient w.r.t. the concatenated input [h^fwd ; h^rev] of the layer
        # above, summed over that layer's two directions (dXr in reverse time),
        # split back into each direction's own time order
        T, B, N = dHf.shape
        for e in range(cuda.grid(1), T * B * N, cuda.gridsize(1)):
            t, r = e // (B * N), e % (B * N)
            s, j = r // N, r % N
            dHf[t, s, j] = dXf[t, s, j] + dXr[T - 1 - t, s, j]
            dHr[t, s, j] = dXf[T - 1 - t, s, N + j] + dXr[t, s, N + j]

    return {
        "gather_batch": gather_batch_kernel,
        "gather_rows": gather_rows_kernel,
        "gather_labels": gather_labels_kernel,
        "slice_batch": slice_batch_kernel,
        "reverse_time": reverse_time_kernel,
        "concat_directions": concat_directions_kernel,
        "final_state": final_state_kernel,
        "top_grad": top_grad_kernel,
        "split_directions": split_directions_kernel,
    }


def _make_steps(nbt, BM, BN, BK, TM, TN):
    """Recurrent kernels: tile GEMM + the cell's gate math, per step or per sequence.

    A *step* kernel covers one time step with a grid of (hidden tiles, sample
    tiles).  A *sequence* kernel runs the whole sweep in one launch: samples
    are independent, so each block owns BM samples, loops over the time steps
    and over all hidden tiles, and only needs ``syncthreads`` between steps.
    It saves one launch per step, which is what small layers are bound by.
    """
    TX, TY = BN // TN, BM // TM
    NT = TX * TY
    npdt = np.float32 if nbt == types.float32 else np.float64
    ONE = npdt(1.0)

    @cuda.jit(device=True)
    def sigmoid(x):
        return ONE / (ONE + math.exp(-x))

    def make_rec_fwd(G):
        @cuda.jit(device=True)
        def rec_fwd(H, W_hh, t, s0, j0, Hs, Ws, acc):
            # acc[g, i, jj] = Σ_k H[t, s, k] W_hh[gN + j, k] for the thread's
            # outputs (s, j) = (s0 + ty + i·TY, j0 + tx + jj·TX)
            B, N = H.shape[1], H.shape[2]
            tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
            tid = ty * TX + tx
            wv = cuda.local.array((G, TN), nbt)
            for g in range(G):
                for i in range(TM):
                    for jj in range(TN):
                        acc[g, i, jj] = 0
            for k0 in range(0, N, BK):
                for e in range(tid, BM * BK, NT):
                    mm, kk = e // BK, e % BK
                    if s0 + mm < B and k0 + kk < N:
                        Hs[kk, mm] = H[t, s0 + mm, k0 + kk]
                    else:
                        Hs[kk, mm] = 0
                for e in range(tid, G * BN * BK, NT):
                    g, rem = e // (BN * BK), e % (BN * BK)
                    nn, kk = rem // BK, rem % BK
                    if j0 + nn < N and k0 + kk < N:
                        Ws[g, kk, nn] = W_hh[g * N + j0 + nn, k0 + kk]
                    else:
                        Ws[g, kk, nn] = 0
                cuda.syncthreads()
                for kk in range(BK):
                    for g in range(G):
                        for jj in range(TN):
                            wv[g, jj] = Ws[g, kk, tx + jj * TX]
                    for i in range(TM):
                        h = Hs[kk, ty + i * TY]
                        for g in range(G):
                            for jj in range(TN):
                                acc[g, i, jj] += h * wv[g, jj]
                cuda.syncthreads()

        return rec_fwd

    @cuda.jit(device=True)
    def rec_bwd(dAh, W_hh, t1, s0, j0, As, Ws, acc):
        # acc[i, jj] = Σ_k dAh[t1, s, k] W_hh[k, j]: a tile of dh = dA_{t+1} W_hh;
        # t1 = T (past the end) gives zeros
        T, B, GN = dAh.shape
        N = W_hh.shape[1]
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        tid = ty * TX + tx
        wv = cuda.local.array(TN, nbt)
        for i in range(TM):
            for jj in range(TN):
                acc[i, jj] = 0
        if t1 >= T:
            return
        for k0 in range(0, GN, BK):
            for e in range(tid, BM * BK, NT):
                mm, kk = e // BK, e % BK
                if s0 + mm < B and k0 + kk < GN:
                    As[kk, mm] = dAh[t1, s0 + mm, k0 + kk]
                else:
                    As[kk, mm] = 0
            for e in range(tid, BK * BN, NT):
                kk, nn = e // BN, e % BN
                if j0 + nn < N and k0 + kk < GN:
                    Ws[kk, nn] = W_hh[k0 + kk, j0 + nn]
                else:
                    Ws[kk, nn] = 0
            cuda.syncthreads()
            for kk in range(BK):
                for jj in range(TN):
                    wv[jj] = Ws[kk, tx + jj * TX]
                for i in range(TM):
                    a = As[kk, ty + i * TY]
                    for jj in range(TN):
                        acc[i, jj] += a * wv[jj]
            cuda.syncthreads()

    rec_fwd1, rec_fwd3, rec_fwd4 = make_rec_fwd(1), make_rec_fwd(3), make_rec_fwd(4)

    # ---- the cell equations on one tile, given its recurrent products acc ----

    @cuda.jit(device=True)
    def rnn_cell(A, H, t, s0, j0, acc):
        # h_t = tanh(a_t + W h_{t-1}); A[t] holds the input projection
        B, N = H.shape[1], H.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    H[t + 1, s, j] = math.tanh(A[t, s, j] + acc[0, i, jj])

    @cuda.jit(device=True)
    def lstm_cell(A, H, C, t, s0, j0, acc):
        # gates i, f, g, o of step t; A[t] receives the activations
        B, N = H.shape[1], H.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    ig = sigmoid(A[t, s, j] + acc[0, i, jj])
                    fg = sigmoid(A[t, s, N + j] + acc[1, i, jj])
                    gg = math.tanh(A[t, s, 2 * N + j] + acc[2, i, jj])
                    og = sigmoid(A[t, s, 3 * N + j] + acc[3, i, jj])
                    c = fg * C[t, s, j] + ig * gg
                    A[t, s, j] = ig
                    A[t, s, N + j] = fg
                    A[t, s, 2 * N + j] = gg
                    A[t, s, 3 * N + j] = og
                    C[t + 1, s, j] = c
                    H[t + 1, s, j] = og * math.tanh(c)

    @cuda.jit(device=True)
    def gru_cell(A, H, HN, b_hh, t, s0, j0, acc):
        # gates r, z, n of step t (reset-after); HN[t] = W_hn h_{t-1} + b_hn
        B, N = H.shape[1], H.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    r = sigmoid(A[t, s, j] + acc[0, i, jj] + b_hh[j])
                    z = sigmoid(A[t, s, N + j] + acc[1, i, jj] + b_hh[N + j])
                    hn = acc[2, i, jj] + b_hh[2 * N + j]
                    n = math.tanh(A[t, s, 2 * N + j] + r * hn)
                    A[t, s, j] = r
                    A[t, s, N + j] = z
                    A[t, s, 2 * N + j] = n
                    HN[t, s, j] = hn
                    H[t + 1, s, j] = (ONE - z) * n + z * H[t, s, j]

    @cuda.jit(device=True)
    def rnn_cell_back(H, dH, dA, t, s0, j0, acc):
        # da_t = (dH_t + dA_{t+1} W) ⊙ (1 - h_t²)
        B, N = dH.shape[1], dH.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    h = H[t + 1, s, j]
                    dA[t, s, j] = (dH[t, s, j] + acc[i, jj]) * (ONE - h * h)

    @cuda.jit(device=True)
    def lstm_cell_back(C, A, dH, dA, t, s0, j0, acc, dc):
        # gate derivatives of step t; dc (B, N) carries dL/dc_t between steps
        T, B, N = dH.shape
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    ig = A[t, s, j]
                    fg = A[t, s, N + j]
                    gg = A[t, s, 2 * N + j]
                    og = A[t, s, 3 * N + j]
                    tc = math.tanh(C[t + 1, s, j])
                    gh = dH[t, s, j] + acc[i, jj]
                    gc = gh * og * (ONE - tc * tc)
                    if t < T - 1:
                        gc += dc[s, j]
                    dA[t, s, j] = gc * gg * ig * (ONE - ig)
                    dA[t, s, N + j] = gc * C[t, s, j] * fg * (ONE - fg)
                    dA[t, s, 2 * N + j] = gc * ig * (ONE - gg * gg)
                    dA[t, s, 3 * N + j] = gh * tc * og * (ONE - og)
                    dc[s, j] = gc * fg

    @cuda.jit(device=True)
    def gru_cell_back(H, A, HN, dH, dA, dAh, t, s0, j0, acc, dhz):
        # gate derivatives of step t; dhz (B, N) carries the direct path
        # dL/dh_t · z_t of the update gate to step t - 1
        T, B, N = dH.shape
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    r = A[t, s, j]
                    z = A[t, s, N + j]
                    n = A[t, s, 2 * N + j]
                    gh = dH[t, s, j] + acc[i, jj]
                    if t < T - 1:
                        gh += dhz[s, j]
                    dn = gh * (ONE - z) * (ONE - n * n)
                    dz = gh * (H[t, s, j] - n) * z * (ONE - z)
                    dr = dn * HN[t, s, j] * r * (ONE - r)
                    dA[t, s, j] = dr
                    dA[t, s, N + j] = dz
                    dA[t, s, 2 * N + j] = dn
                    dAh[t, s, j] = dr
                    dAh[t, s, N + j] = dz
                    dAh[t, s, 2 * N + j] = dn * r
                    dhz[s, j] = gh * z

    # ---- forward kernels ----

    @cuda.jit
    def rnn_step_kernel(A, H, W_hh, t):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((1, BK, BN), nbt)
        acc = cuda.local.array((1, TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_fwd1(H, W_hh, t, s0, j0, Hs, Ws, acc)
        rnn_cell(A, H, t, s0, j0, acc)

    @cuda.jit
    def rnn_seq_kernel(A, H, W_hh):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((1, BK, BN), nbt)
        acc = cuda.local.array((1, TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(A.shape[0]):
            for j0 in range(0, H.shape[2], BN):
                rec_fwd1(H, W_hh, t, s0, j0, Hs, Ws, acc)
                rnn_cell(A, H, t, s0, j0, acc)
            cuda.syncthreads()  # h_t of the block's samples complete

    @cuda.jit
    def lstm_step_kernel(A, H, C, W_hh, t):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((4, BK, BN), nbt)
        acc = cuda.local.array((4, TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_fwd4(H, W_hh, t, s0, j0, Hs, Ws, acc)
        lstm_cell(A, H, C, t, s0, j0, acc)

    @cuda.jit
    def lstm_seq_kernel(A, H, C, W_hh):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((4, BK, BN), nbt)
        acc = cuda.local.array((4, TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(A.shape[0]):
            for j0 in range(0, H.shape[2], BN):
                rec_fwd4(H, W_hh, t, s0, j0, Hs, Ws, acc)
                lstm_cell(A, H, C, t, s0, j0, acc)
            cuda.syncthreads()

    @cuda.jit
    def gru_step_kernel(A, H, HN, W_hh, b_hh, t):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((3, BK, BN), nbt)
        acc = cuda.local.array((3, TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_fwd3(H, W_hh, t, s0, j0, Hs, Ws, acc)
        gru_cell(A, H, HN, b_hh, t, s0, j0, acc)

    @cuda.jit
    def gru_seq_kernel(A, H, HN, W_hh, b_hh):
        Hs = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((3, BK, BN), nbt)
        acc = cuda.local.array((3, TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(A.shape[0]):
            for j0 in range(0, H.shape[2], BN):
                rec_fwd3(H, W_hh, t, s0, j0, Hs, Ws, acc)
                gru_cell(A, H, HN, b_hh, t, s0, j0, acc)
            cuda.syncthreads()

    # ---- backward kernels ----

    @cuda.jit
    def rnn_back_step_kernel(W_hh, H, dH, dA, t):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_bwd(dA, W_hh, t + 1, s0, j0, As, Ws, acc)
        rnn_cell_back(H, dH, dA, t, s0, j0, acc)

    @cuda.jit
    def rnn_back_seq_kernel(W_hh, H, dH, dA):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(dH.shape[0] - 1, -1, -1):
            for j0 in range(0, dH.shape[2], BN):
                rec_bwd(dA, W_hh, t + 1, s0, j0, As, Ws, acc)
                rnn_cell_back(H, dH, dA, t, s0, j0, acc)
            cuda.syncthreads()  # dA_t of the block's samples complete

    @cuda.jit
    def lstm_back_step_kernel(W_hh, C, A, dH, dA, t, dc):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_bwd(dA, W_hh, t + 1, s0, j0, As, Ws, acc)
        lstm_cell_back(C, A, dH, dA, t, s0, j0, acc, dc)

    @cuda.jit
    def lstm_back_seq_kernel(W_hh, C, A, dH, dA, dc):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(dH.shape[0] - 1, -1, -1):
            for j0 in range(0, dH.shape[2], BN):
                rec_bwd(dA, W_hh, t + 1, s0, j0, As, Ws, acc)
                lstm_cell_back(C, A, dH, dA, t, s0, j0, acc, dc)
            cuda.syncthreads()

    @cuda.jit
    def gru_back_step_kernel(W_hh, H, A, HN, dH, dA, dAh, t, dhz):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0, j0 = cuda.blockIdx.y * BM, cuda.blockIdx.x * BN
        rec_bwd(dAh, W_hh, t + 1, s0, j0, As, Ws, acc)
        gru_cell_back(H, A, HN, dH, dA, dAh, t, s0, j0, acc, dhz)

    @cuda.jit
    def gru_back_seq_kernel(W_hh, H, A, HN, dH, dA, dAh, dhz):
        As = cuda.shared.array((BK, BM), nbt)
        Ws = cuda.shared.array((BK, BN), nbt)
        acc = cuda.local.array((TM, TN), nbt)
        s0 = cuda.blockIdx.y * BM
        for t in range(dH.shape[0] - 1, -1, -1):
            for j0 in range(0, dH.shape[2], BN):
                rec_bwd(dAh, W_hh, t + 1, s0, j0, As, Ws, acc)
                gru_cell_back(H, A, HN, dH, dA, dAh, t, s0, j0, acc, dhz)
            cuda.syncthreads()

    return {
        "rnn_step": rnn_step_kernel,
        "rnn_seq": rnn_seq_kernel,
        "lstm_step": lstm_step_kernel,
        "lstm_seq": lstm_seq_kernel,
        "gru_step": gru_step_kernel,
        "gru_seq": gru_seq_kernel,
        "rnn_back_step": rnn_back_step_kernel,
        "rnn_back_seq": rnn_back_seq_kernel,
        "lstm_back_step": lstm_back_step_kernel,
        "lstm_back_seq": lstm_back_seq_kernel,
        "gru_back_step": gru_back_step_kernel,
        "gru_back_seq": gru_back_seq_kernel,
    }


def _quiet_occupancy_warnings():
    """Turn off numba-cuda's "Grid size N will likely result in GPU
    under-utilization" warning: the one-block reductions and the sequence
    kernels of small layers launch small grids on purpose, and the warning
    would be raised (and its message built) at every such launch.  This sets
    numba-cuda's global ``CUDA_LOW_OCCUPANCY_WARNINGS`` to 0."""
    import importlib

    for name in ("numba.cuda.core.config", "numba.core.config"):
        try:
            importlib.import_module(name).CUDA_LOW_OCCUPANCY_WARNINGS = 0
        except Exception:  # another numba layout: keep the warnings
            pass


class _Kit:
    """The kernels of one dtype and the launch geometry of the current CONFIG."""

    def __init__(self, dtype):
        nbt = _NB_TYPES[dtype]
        self.dtype = dtype
        self.gemm_tile = CONFIG["gemm"]
        self.step_tile = CONFIG["step"]
        self.seq_tile = CONFIG["seq"]
        self.threads = CONFIG["threads"]
        self.reduce_blocks = CONFIG["reduce_blocks"]
        self.split_k_min = CONFIG["split_k_min"]
        self.target_blocks = CONFIG["target_blocks"]
        self.gemm = _make_gemm(nbt, *self.gemm_tile)
        red, block_sum = _make_reductions(nbt, self.threads)
        self.k = {**red, **_make_losses(self.threads, block_sum)}
        # per-step kernels tile samples × hidden units; sequence kernels use
        # short sample tiles, so that small batches still fill several blocks
        steps = _make_steps(nbt, *self.step_tile)
        seqs = _make_steps(nbt, *self.seq_tile)
        self.k.update({k: v for k, v in steps.items() if k.endswith("_step")})
        self.k.update({k: v for k, v in seqs.items() if k.endswith("_seq")})

    def grid_1d(self, n):
        """(blocks, threads) of a grid-stride kernel over n items."""
        return _grid_1d(n)

    def step_geometry(self, B, N):
        """(grid, block) of a step kernel over B samples × N hidden units."""
        BM, BN, _, TM, TN = self.step_tile
        return (_ceil_div(N, BN), _ceil_div(B, BM)), (BN // TN, BM // TM)

    def seq_geometry(self, B):
        """(grid, block) of a sequence kernel: one block per BM samples."""
        BM, BN, _, TM, TN = self.seq_tile
        return (1, _ceil_div(B, BM)), (BN // TN, BM // TM)

    def whole_sequence(self, N):
        """Whether a layer of N hidden units uses the sequence kernels."""
        return N <= CONFIG["seq_max_hidden"]


def _grid_1d(n):
    """(blocks, threads) of a grid-stride kernel over n items."""
    threads = CONFIG["threads"]
    return max(1, min(_ceil_div(n, threads), 4096)), threads


@lru_cache(maxsize=None)
def _layout_kernels():
    return _make_layout()


_quiet_occupancy_warnings()


def _kit(dtype):
    """The kernels for ``dtype`` (built on first use, cached per dtype)."""
    dtype = np.dtype(dtype)
    if dtype not in _NB_TYPES:
        raise TypeError(f"CUDA kernels support float32 and float64, got {dtype}")
    return _kit_for(dtype)


@lru_cache(maxsize=None)
def _kit_for(dtype):
    return _Kit(dtype)


_scratch_cache = {}


def _scratch(name, shape, dtype):
    """A device array reused between launches (all work is on one stream)."""
    key = (name, tuple(shape), np.dtype(dtype).str)
    arr = _scratch_cache.get(key)
    if arr is None:
        arr = cuda.device_array(shape, dtype=dtype)
        _scratch_cache[key] = arr
    return arr


def _dummy(dtype):
    """A zero-filled one-element device array for an unused argument."""
    key = ("dummy", (1,), np.dtype(dtype).str)
    arr = _scratch_cache.get(key)
    if arr is None:
        arr = cuda.to_device(np.zeros(1, dtype=dtype))
        _scratch_cache[key] = arr
    return arr


# --------------------------------------------------------------------------
# GEMM and column sums (the building blocks of the launchers below)
# --------------------------------------------------------------------------


def gpu_gemm(A, B, C, trans_a=False, trans_b=False, bias=None):
    """C = op(A) op(B) (+ bias broadcast over rows), all 2-D device arrays.

    ``op(A)`` is ``Aᵀ`` when ``trans_a`` (A stored (K, M)), else A (M, K);
    likewise B.  A GEMM whose output has few tiles but a long inner dimension
    (the weight gradients, summed over T·B rows) is split along K into partial
    products that a second kernel adds up, so the whole device is busy.
    """
    kit = _kit(C.dtype)
    M, N = C.shape
    K = A.shape[0] if trans_a else A.shape[1]
    if (B.shape[1] if trans_b else B.shape[0]) != K or (A.shape[1] if trans_a else A.shape[0]) != M:
        raise ValueError("gpu_gemm: operand shapes do not match")
    BM, BN, BK, TM, TN = kit.gemm_tile
    tiles = _ceil_div(M, BM) * _ceil_div(N, BN)
    splits = 1
    if tiles < kit.target_blocks:
        splits = max(1, min(_ceil_div(kit.target_blocks, tiles), K // kit.split_k_min))
    k_chunk = _ceil_div(_ceil_div(K, splits), BK) * BK
    splits = _ceil_div(K, k_chunk) if K else 1
    has_bias = bias is not None
    b = bias if has_bias else _dummy(C.dtype)
    grid = (_ceil_div(N, BN), _ceil_div(M, BM), splits)
    block = (BN // TN, BM // TM)
    if splits == 1:
        C3 = C.reshape(1, M, N)
        kit.gemm[grid, block](A, B, C3, b, trans_a, trans_b, has_bias, max(k_chunk, 1))
        return
    P3 = _scratch("split_k", (splits, M, N), C.dtype)
    kit.gemm[grid, block](A, B, P3, b, trans_a, trans_b, False, k_chunk)
    kit.k["sum_split"][kit.grid_1d(M * N)](P3, C, b, has_bias)


def gpu_column_sums(M2, out):
    """out[j] = Σ_r M2[r, j] for a 2-D device array (two deterministic stages)."""
    kit = _kit(M2.dtype)
    R, G = M2.shape
    chunks = max(1, min(kit.reduce_blocks, _ceil_div(R, 64)))
    rows_per_chunk = _ceil_div(R, chunks)
    chunks = max(1, _ceil_div(R, rows_per_chunk))
    P = _scratch("colsum", (chunks, G), M2.dtype)
    tpb = min(kit.threads, 128)
    kit.k["colsum_partial"][(_ceil_div(G, tpb), chunks), tpb](M2, P, rows_per_chunk)
    kit.k["colsum_finish"][_ceil_div(G, tpb), tpb](P, out)


def _as_rows(X):
    """(T, B, D) -> (T·B, D) view of a C-contiguous device array."""
    T, B, D = X.shape
    return X.reshape(T * B, D)


# --------------------------------------------------------------------------
# shared building blocks (twins of tsrnn._kernels)
# --------------------------------------------------------------------------


def gpu_input_projection(X, W_ih, b, A):
    """A[t] = X[t] W_ihᵀ + b for all steps at once (one GEMM over T*B rows).

    X (T, B, D), W_ih (GN, D), b (GN,), A (T, B, GN) written.
    """
    gpu_gemm(_as_rows(X), W_ih, _as_rows(A), trans_b=True, bias=b)


def gpu_weight_gradients(X, H, dA, dAh, dW_ih, dW_hh):
    """dW_ih = Σ_t dA_tᵀ x_t and dW_hh = Σ_t dAh_tᵀ h_{t-1} (one GEMM each).

    X (T, B, D), H (T+1, B, N), dA and dAh (T, B, GN); dW_ih (GN, D) and
    dW_hh (GN, N) written.
    """
    T = X.shape[0]
    gpu_gemm(_as_rows(dA), _as_rows(X), dW_ih, trans_a=True)
    gpu_gemm(_as_rows(dAh), _as_rows(H[:T]), dW_hh, trans_a=True)


def gpu_bias_gradient(dA, db):
    """db = Σ over steps and samples of dA (T, B, GN)."""
    gpu_column_sums(_as_rows(dA), db)


def gpu_input_gradient(dA, W_ih, dX):
    """dX[t] = dA[t] W_ih: the gradient passed down to the layer below."""
    gpu_gemm(_as_rows(dA), W_ih, _as_rows(dX))


# --------------------------------------------------------------------------
# recurrent sweeps: one fused launch per time step
# --------------------------------------------------------------------------


def gpu_rnn_forward(X, W_ih, W_hh, b, H, A):
    """Forward sweep of one Elman layer.

    A (T, B, N) receives the input projections; H (T+1, B, N) the states
    (H[0] is the initial state and is read, not written).
    """
    gpu_input_projection(X, W_ih, b, A)
    kit = _kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if kit.whole_sequence(N):
        kit.k["rnn_seq"][kit.seq_geometry(B)](A, H, W_hh)
        return
    launch = kit.k["rnn_step"][kit.step_geometry(B, N)]
    for t in range(T):
        launch(A, H, W_hh, t)


def gpu_rnn_backward(W_hh, H, dH, dA):
    """Backward sweep of one Elman layer; dA (T, B, N) receives dL/da_t."""
    kit = _kit(H.dtype)
    T, B, N = dH.shape
    if kit.whole_sequence(N):
        kit.k["rnn_back_seq"][kit.seq_geometry(B)](W_hh, H, dH, dA)
        return
    launch = kit.k["rnn_back_step"][kit.step_geometry(B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, H, dH, dA, t)


def gpu_lstm_forward(X, W_ih, W_hh, b, H, C, A):
    """Forward sweep of one LSTM layer.

    H, C (T+1, B, N) receive hidden and cell states (index 0 = initial state);
    A (T, B, 4N) receives the gate activations i, f, g, o.
    """
    gpu_input_projection(X, W_ih, b, A)
    kit = _kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if kit.whole_sequence(N):
        kit.k["lstm_seq"][kit.seq_geometry(B)](A, H, C, W_hh)
        return
    launch = kit.k["lstm_step"][kit.step_geometry(B, N)]
    for t in range(T):
        launch(A, H, C, W_hh, t)


def gpu_lstm_backward(W_hh, C, A, dH, dA, work=None):
    """Backward sweep of one LSTM layer; dA (T, B, 4N) receives the gradients
    of the gate pre-activations.  ``work`` (B, N): scratch for dL/dc."""
    kit = _kit(C.dtype)
    T, B, N = dH.shape
    dc = work if work is not None else cuda.device_array((B, N), dtype=C.dtype)
    if kit.whole_sequence(N):
        kit.k["lstm_back_seq"][kit.seq_geometry(B)](W_hh, C, A, dH, dA, dc)
        return
    launch = kit.k["lstm_back_step"][kit.step_geometry(B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, C, A, dH, dA, t, dc)


def gpu_gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, HN):
    """Forward sweep of one GRU layer (reset-after form).

    A (T, B, 3N) receives the activations r, z, n; HN (T, B, N) receives the
    recurrent candidate term W_hn h_{t-1} + b_hn that the reset gate scales.
    """
    gpu_input_projection(X, W_ih, b_ih, A)
    kit = _kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if kit.whole_sequence(N):
        kit.k["gru_seq"][kit.seq_geometry(B)](A, H, HN, W_hh, b_hh)
        return
    launch = kit.k["gru_step"][kit.step_geometry(B, N)]
    for t in range(T):
        launch(A, H, HN, W_hh, b_hh, t)


def gpu_gru_backward(W_hh, H, A, HN, dH, dA, dAh, work=None):
    """Backward sweep of one GRU layer.

    dA (T, B, 3N) receives the gradients of the input-side pre-activations,
    dAh (T, B, 3N) those of the recurrent-side ones.  ``work`` (B, N): scratch
    for the update gate's direct path.
    """
    kit = _kit(H.dtype)
    T, B, N = dH.shape
    dhz = work if work is not None else cuda.device_array((B, N), dtype=H.dtype)
    if kit.whole_sequence(N):
        kit.k["gru_back_seq"][kit.seq_geometry(B)](W_hh, H, A, HN, dH, dA, dAh, dhz)
        return
    launch = kit.k["gru_back_step"][kit.step_geometry(B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, H, A, HN, dH, dA, dAh, t, dhz)


# --------------------------------------------------------------------------
# output head o = c + V z and losses
# --------------------------------------------------------------------------


def gpu_head_forward(Z, V, c, out):
    """out = Z Vᵀ + c.  Z (B, F), V (O, F), c (O,), out (B, O)."""
    gpu_gemm(Z, V, out, trans_b=True, bias=c)


def gpu_head_backward(Z, V, dO, dV, dc, dZ):
    """Gradients of the head: dV = dOᵀ Z, dc = Σ dO, dZ = dO V."""
    gpu_gemm(dO, Z, dV, trans_a=True)
    gpu_gemm(dO, V, dZ)
    gpu_column_sums(dO, dc)


def gpu_mse_loss_grad(out, Y, dO, n_total, res):
    """Mean squared error into res[0] (float64, (1,)); dO receives dL/do.

    The mean is over ``n_total`` samples (the whole mini-batch).
    """
    kit = _kit(out.dtype)
    kit.k["mse"][1, kit.threads](out, Y, dO, int(n_total), res)


def gpu_mae_loss_grad(out, Y, dO, n_total, res):
    """Mean absolute error into res[0] (float64, (1,)); dO receives dL/do.

    dL/do = sign(o - y) / (n_total·O), with sign(0) = 0.
    """
    kit = _kit(out.dtype)
    kit.k["mae"][1, kit.threads](out, Y, dO, int(n_total), res)


def gpu_softmax_xent_loss_grad(out, labels, dO, n_total, res):
    """Mean softmax cross-entropy into res[0]; labels (B,) int class indices.

    dO receives (softmax(o) - onehot(y)) / n_total, computed with the max shift.
    """
    kit = _kit(out.dtype)
    kit.k["xent"][1, kit.threads](out, labels, dO, int(n_total), res)


def gpu_softmax(out, proba):
    """Row-wise softmax of out (B, O) into proba."""
    kit = _kit(out.dtype)
    B = out.shape[0]
    kit.k["softmax"][_ceil_div(B, kit.threads), kit.threads](out, proba)


# --------------------------------------------------------------------------
# regularisation, clipping and optimiser updates on the flat parameter vector
# --------------------------------------------------------------------------


def _finish(kit, P, mul, take_sqrt, res):
    kit.k["finish_sum"][1, kit.threads](P, mul, take_sqrt, res)


def gpu_l2_penalty(theta, mask, grad, scale, res):
    """Add scale·mask·θ to grad and write scale/2·Σ mask·θ² into res[0]."""
    kit = _kit(theta.dtype)
    blocks, tpb = kit.grid_1d(theta.shape[0])
    blocks = min(blocks, kit.reduce_blocks)
    P = _scratch("partials", (blocks,), np.float64)
    kit.k["l2_partial"][blocks, tpb](theta, mask, grad, float(scale), P)
    _finish(kit, P, 0.5 * float(scale), False, res)


def gpu_clip_grad_norm(grad, max_norm, res):
    """Scale grad in place so its global L2 norm is at most max_norm.

    The norm before clipping is written into res[0].  ``max_norm = inf`` only
    measures the norm (the trainer's finiteness check).
    """
    kit = _kit(grad.dtype)
    blocks, tpb = kit.grid_1d(grad.shape[0])
    blocks = min(blocks, kit.reduce_blocks)
    P = _scratch("partials", (blocks,), np.float64)
    kit.k["sumsq_partial"][blocks, tpb](grad, P)
    _finish(kit, P, 1.0, True, res)
    if math.isfinite(max_norm):
        kit.k["clip_scale"][kit.grid_1d(grad.shape[0])](grad, res, float(max_norm))


def gpu_sgd_update(theta, grad, velocity, lr, momentum, nesterov, guard=None):
    """SGD with (Nesterov) momentum, PyTorch's form (dampening 0).

    ``guard``: optional float64 device array; the update is skipped on the
    device when any of its entries (loss, norm) is not finite.
    """
    kit = _kit(theta.dtype)
    g = guard if guard is not None else _dummy(np.float64)
    kit.k["sgd"][kit.grid_1d(theta.shape[0])](
        theta, grad, velocity, float(lr), float(momentum), bool(nesterov), g
    )


def gpu_adam_update(theta, grad, m, v, lr, beta1, beta2, eps, step, guard=None):
    """One Adam step (PyTorch's form with bias correction); ``step`` is 1-based.

    ``guard`` as in :func:`gpu_sgd_update`.
    """
    kit = _kit(theta.dtype)
    g = guard if guard is not None else _dummy(np.float64)
    kit.k["adam"][kit.grid_1d(theta.shape[0])](
        theta, grad, m, v, float(lr), float(beta1), float(beta2), float(eps), int(step), g
    )


# --------------------------------------------------------------------------
# data movement on the device (no CPU twin: numpy indexing on the host)
# --------------------------------------------------------------------------


def _launch_1d(name, n, *args):
    _layout_kernels()[name][_grid_1d(n)](*args)


def gpu_gather_batch(X, idx, start, out):
    """out (T, B, D) = X[idx[start:start+B]] transposed to time-major; X (n, T, D)."""
    _launch_1d("gather_batch", out.size, X, idx, int(start), out)


def gpu_gather_rows(Y, idx, start, out):
    """out (B, O) = Y[idx[start:start+B]]."""
    _launch_1d("gather_rows", out.size, Y, idx, int(start), out)


def gpu_gather_labels(y, idx, start, out):
    """out (B,) = y[idx[start:start+B]]."""
    _launch_1d("gather_labels", out.size, y, idx, int(start), out)


def gpu_slice_batch(X, start, out):
    """out (T, B, D) = X[start:start+B] transposed to time-major."""
    _launch_1d("slice_batch", out.size, X, int(start), out)


def gpu_reverse_time(X, out):
    """out[t] = X[T-1-t] for (T, B, D) arrays."""
    _launch_1d("reverse_time", X.size, X, out)


def gpu_concat_directions(Hf, Hr, out):
    """out (T, B, 2N) = [h_t^fwd ; h_t^rev] from each direction's states (T+1, B, N)."""
    _launch_1d("concat_directions", out.size // 2, Hf, Hr, out)


def gpu_final_state(H, d, Z):
    """Z[:, dN:(d+1)N] = H[T] (H (T+1, B, N), Z (B, N·dirs))."""
    _launch_1d("final_state", H.shape[1] * H.shape[2], H, int(d), Z)


def gpu_top_grad(dZ, d, dH):
    """dH (T, B, N) = 0 except dH[T-1] = dZ[:, dN:(d+1)N]."""
    _launch_1d("top_grad", dH.size, dZ, int(d), dH)


def gpu_split_directions(dXf, dXr, dHf, dHr):
    """Sum the two directions' input gradients (T, B, 2N) of the layer above
    and split them into each lower direction's output gradient (T, B, N)."""
    _launch_1d("split_directions", dHf.size, dXf, dXr, dHf, dHr)
