"""CUDA recurrent sweeps: the twins of :mod:`tsrnn._kernels`' forward and BPTT sweeps.

The recurrent kernels fuse the per-step GEMM with the element-wise gate math:
a thread block owns a tile of samples × hidden units and computes, for every
gate, that tile of ``h_{t-1} W_hhᵀ`` in shared memory before applying the cell
equations of ``docs/math.md``; the backward step likewise computes its tile of
``dh = dA_{t+1} W_hh`` and then the gate derivatives of step ``t``.  Wide
layers launch one such *step* kernel per time step.  Narrow layers (hidden
size up to ``CONFIG['seq_max_hidden']``), which would be bound by launch
latency, run a *sequence* kernel: samples are independent, so a block that
owns some samples can loop over all steps and hidden tiles by itself with
only ``syncthreads`` between steps — one launch per sweep.

The activations are the CPU's own (:func:`tsrnn.cuda._config.activations`),
so float32 results of the two devices differ only by the order of sums.

The backward sweeps take an optional trailing ``work`` (B, N) device array
for the carried state (the CPU kernels allocate it); the network passes one
from its workspace so nothing is allocated per batch.
"""

from types import SimpleNamespace

import numpy as np
from numba import cuda, types

from ._config import CONFIG, NB_TYPES, activations, ceil_div, check_dtype, kernel_cache
from ._gemm import gpu_input_projection


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
    tanh, sigmoid, gate_sigmoid = activations(nbt)

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
                    H[t + 1, s, j] = tanh(A[t, s, j] + acc[0, i, jj])

    @cuda.jit(device=True)
    def lstm_cell(A, H, C, t, s0, j0, acc):
        # gates i, f, g, o of step t; A[t] receives the activations
        B, N = H.shape[1], H.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    ig = gate_sigmoid(A[t, s, j] + acc[0, i, jj])
                    fg = gate_sigmoid(A[t, s, N + j] + acc[1, i, jj])
                    gg = tanh(A[t, s, 2 * N + j] + acc[2, i, jj])
                    og = gate_sigmoid(A[t, s, 3 * N + j] + acc[3, i, jj])
                    c = fg * C[t, s, j] + ig * gg
                    A[t, s, j] = ig
                    A[t, s, N + j] = fg
                    A[t, s, 2 * N + j] = gg
                    A[t, s, 3 * N + j] = og
                    C[t + 1, s, j] = c
                    H[t + 1, s, j] = og * tanh(c)

    @cuda.jit(device=True)
    def gru_cell(A, H, HN, b_hh, t, s0, j0, acc):
        # gates r, z, n of step t (reset-after); HN[t] = W_hn h_{t-1} + b_hn
        B, N = H.shape[1], H.shape[2]
        for i in range(TM):
            s = s0 + cuda.threadIdx.y + i * TY
            for jj in range(TN):
                j = j0 + cuda.threadIdx.x + jj * TX
                if s < B and j < N:
                    # as the CPU: input side + (recurrent product + recurrent bias)
                    r = sigmoid(A[t, s, j] + (acc[0, i, jj] + b_hh[j]))
                    z = sigmoid(A[t, s, N + j] + (acc[1, i, jj] + b_hh[N + j]))
                    hn = acc[2, i, jj] + b_hh[2 * N + j]
                    n = tanh(A[t, s, 2 * N + j] + r * hn)
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
                    tc = tanh(C[t + 1, s, j])
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


@kernel_cache
def _build(dtype):
    # per-step kernels tile samples × hidden units; sequence kernels use short
    # sample tiles, so that small batches still fill several blocks
    nbt = NB_TYPES[dtype]
    steps = _make_steps(nbt, *CONFIG["step"])
    seqs = _make_steps(nbt, *CONFIG["seq"])
    k = {name: f for name, f in steps.items() if name.endswith("_step")}
    k.update({name: f for name, f in seqs.items() if name.endswith("_seq")})
    return SimpleNamespace(k=k, step_tile=CONFIG["step"], seq_tile=CONFIG["seq"])


def kit(dtype):
    """The sweep kernels of ``dtype`` and their launch geometry."""
    return _build(check_dtype(dtype))


def _step_geometry(k, B, N):
    """(grid, block) of a step kernel over B samples × N hidden units."""
    BM, BN, _, TM, TN = k.step_tile
    return (ceil_div(N, BN), ceil_div(B, BM)), (BN // TN, BM // TM)


def _seq_geometry(k, B):
    """(grid, block) of a sequence kernel: one block per BM samples."""
    BM, BN, _, TM, TN = k.seq_tile
    return (1, ceil_div(B, BM)), (BN // TN, BM // TM)


def _whole_sequence(N):
    """Whether a layer of N hidden units uses the sequence kernels."""
    return N <= CONFIG["seq_max_hidden"]


# --------------------------------------------------------------------------
# recurrent sweeps: one fused launch per time step
# --------------------------------------------------------------------------


def gpu_rnn_forward(X, W_ih, W_hh, b, H, A, allow_split=True):
    """Forward sweep of one Elman layer.

    A (T, B, N) receives the input projections; H (T+1, B, N) the states
    (H[0] is the initial state and is read, not written).  ``allow_split``:
    see :func:`tsrnn.cuda._gemm.gpu_gemm` (False in the inference sweeps).
    """
    gpu_input_projection(X, W_ih, b, A, allow_split)
    k = kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if _whole_sequence(N):
        k.k["rnn_seq"][_seq_geometry(k, B)](A, H, W_hh)
        return
    launch = k.k["rnn_step"][_step_geometry(k, B, N)]
    for t in range(T):
        launch(A, H, W_hh, t)


def gpu_rnn_backward(W_hh, H, dH, dA):
    """Backward sweep of one Elman layer; dA (T, B, N) receives dL/da_t."""
    k = kit(H.dtype)
    T, B, N = dH.shape
    if _whole_sequence(N):
        k.k["rnn_back_seq"][_seq_geometry(k, B)](W_hh, H, dH, dA)
        return
    launch = k.k["rnn_back_step"][_step_geometry(k, B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, H, dH, dA, t)


def gpu_lstm_forward(X, W_ih, W_hh, b, H, C, A, allow_split=True):
    """Forward sweep of one LSTM layer.

    H, C (T+1, B, N) receive hidden and cell states (index 0 = initial state);
    A (T, B, 4N) receives the gate activations i, f, g, o.
    """
    gpu_input_projection(X, W_ih, b, A, allow_split)
    k = kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if _whole_sequence(N):
        k.k["lstm_seq"][_seq_geometry(k, B)](A, H, C, W_hh)
        return
    launch = k.k["lstm_step"][_step_geometry(k, B, N)]
    for t in range(T):
        launch(A, H, C, W_hh, t)


def gpu_lstm_backward(W_hh, C, A, dH, dA, work=None):
    """Backward sweep of one LSTM layer.

    dA (T, B, 4N) receives the gradients of the gate pre-activations.
    ``work`` (B, N): scratch for dL/dc.
    """
    k = kit(C.dtype)
    T, B, N = dH.shape
    dc = work if work is not None else cuda.device_array((B, N), dtype=C.dtype)
    if _whole_sequence(N):
        k.k["lstm_back_seq"][_seq_geometry(k, B)](W_hh, C, A, dH, dA, dc)
        return
    launch = k.k["lstm_back_step"][_step_geometry(k, B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, C, A, dH, dA, t, dc)


def gpu_gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, HN, allow_split=True):
    """Forward sweep of one GRU layer (reset-after form).

    A (T, B, 3N) receives the activations r, z, n; HN (T, B, N) receives the
    recurrent candidate term W_hn h_{t-1} + b_hn that the reset gate scales.
    """
    gpu_input_projection(X, W_ih, b_ih, A, allow_split)
    k = kit(X.dtype)
    T, B, N = X.shape[0], X.shape[1], W_hh.shape[1]
    if _whole_sequence(N):
        k.k["gru_seq"][_seq_geometry(k, B)](A, H, HN, W_hh, b_hh)
        return
    launch = k.k["gru_step"][_step_geometry(k, B, N)]
    for t in range(T):
        launch(A, H, HN, W_hh, b_hh, t)


def gpu_gru_backward(W_hh, H, A, HN, dH, dA, dAh, work=None):
    """Backward sweep of one GRU layer.

    dA (T, B, 3N) receives the gradients of the input-side pre-activations,
    dAh (T, B, 3N) those of the recurrent-side ones.  ``work`` (B, N): scratch
    for the update gate's direct path.
    """
    k = kit(H.dtype)
    T, B, N = dH.shape
    dhz = work if work is not None else cuda.device_array((B, N), dtype=H.dtype)
    if _whole_sequence(N):
        k.k["gru_back_seq"][_seq_geometry(k, B)](W_hh, H, A, HN, dH, dA, dAh, dhz)
        return
    launch = k.k["gru_back_step"][_step_geometry(k, B, N)]
    for t in range(T - 1, -1, -1):
        launch(W_hh, H, A, HN, dH, dA, dAh, t, dhz)


# --------------------------------------------------------------------------
# inference sweeps: the forward sweeps with batch-invariant products
# --------------------------------------------------------------------------
#
# Every sum of a prediction runs over a fixed range in a fixed order whatever
# the batch: the recurrent products per sample (both kernels), and the input
# projection and the head as GEMMs that are never split along K.  A row's
# prediction is therefore bit-identical whatever the other rows of the call.


def gpu_rnn_infer(X, W_ih, W_hh, b, H, A):
    """:func:`gpu_rnn_forward` without split-K: batch-invariant."""
    gpu_rnn_forward(X, W_ih, W_hh, b, H, A, False)


def gpu_lstm_infer(X, W_ih, W_hh, b, H, C, A):
    """:func:`gpu_lstm_forward` without split-K: batch-invariant."""
    gpu_lstm_forward(X, W_ih, W_hh, b, H, C, A, False)


def gpu_gru_infer(X, W_ih, W_hh, b_ih, b_hh, H, A, HN):
    """:func:`gpu_gru_forward` without split-K: batch-invariant."""
    gpu_gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, HN, False)
