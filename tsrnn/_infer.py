"""Inference sweeps of one layer on the CPU (``{cell}_infer``): two layouts, the same bits.

No activations are stored and nothing but the states is written: ``H`` (T+1, B, N) receives
them (``H[0]`` the initial state) for the next layer; for the head, ``H`` of two slots
(2, B, N) receives only the final state, in ``H[1]`` (a prediction's top layer:
:attr:`tsrnn._cpu.CpuBackend.final_states_only`), the steps between never written out (the
rows layout alternates over a scratch pair): the same final state, bit for bit, in a
fraction of the memory traffic (an RNN of 16 units: 0.19 -> 0.14 ms a 256-row block of 48
steps, one thread).

Every element is computed as the bias, then + x_k·w_k in ascending k, then + h_k·w_k in
ascending k, each product fused with its add (:func:`tsrnn._products.fma`), then the cell's
gate math, the same expressions in both layouts. So a row's states depend only on that row
(batch-invariant), and the layout a layer takes changes no bit; it depends only on the dtype
and the layer's width (:func:`uses_lanes`).

- **Rows** (``*_infer_rows``): per time step and block of :data:`ROW_BLOCK` rows, the
  products (:func:`tsrnn._products.accumulate_rows`: register tiles of four rows by a few
  vectors of units, :func:`tsrnn._simd.accumulate_tiles`, against weights transposed with a
  padded row stride, :func:`tsrnn._products.padded_transpose`), the gate math and the state
  update run while the block is in L1; the vector dimension is the gate's units. Narrow
  layers leave it short: 16 units are a single vector of float32 (of AVX-512), too little
  work for a tile's set-up.
- **Lanes** (``*_infer_lanes``, float32 and float64 layers of at most 16 units:
  :func:`uses_lanes`): a block of up to :data:`LANES` rows runs all T steps with its state
  kept transposed (units x rows), the rows as the vector dimension; per group of four units
  (the RNN: all its units at once), their gates' rows of the weights (copied gate-major,
  :func:`_unit_groups`) are multiplied into a (gates x units) x rows accumulator
  (:func:`_lane_product`) and activated at once. A float32 LSTM's step runs in registers
  instead (:func:`tsrnn._simd.lstm_lanes_step`): per unit and four vectors of rows, its four
  gates' sums are held in 16 registers over all inputs and states, then activated and the
  cell updated on them, with the same operations in the same order (the same bits); its
  sweep of 16 units 0.58 -> 0.48 ms (one thread, 256 rows x 48 steps, 2-core Xeon with
  AVX-512, 2026-12-02; the gates' tanh, a division each, is now ~40 % of it). A block's
  lanes are whole vectors (:func:`_whole_vectors`): those beyond its rows compute on zeros
  and are never stored.

Measured (one thread, 256 rows x 48 steps, one input, rows / lanes, ms). 2-core Xeon with
AVX-512, 2026-12-02, with the register tiles: float32 RNN 8 / 16 / 32 / 48 units 0.34 / 0.10,
0.25 / 0.21, 0.45 / 0.57, 0.80 / 1.07; LSTM 0.47 / 0.34, 0.83 / 0.80, 1.74 / 2.15, 2.99 /
4.05; GRU 0.62 / 0.28, 0.74 / 0.64, 1.65 / 1.67, 2.77 / 3.08; float64 at 16 units RNN 0.77 /
0.69, LSTM 3.44 / 3.16, GRU 1.80 / 1.79, at 32 RNN 1.50 / 1.64, LSTM 7.57 / 7.42, GRU 3.85 /
4.39. The same machine compiling for AVX2 only (``NUMBA_CPU_NAME=haswell``, 32-byte vectors)
gave the same order: float32 RNN 32 0.58 / 0.70, LSTM 32 2.35 / 2.54, GRU 32 1.82 / 1.99, at
16 units 0.29 / 0.26, 1.04 / 0.97, 0.79 / 0.77. Before the tiles the lanes layout was the
faster one up to 32 float32 units (2-core EPYC Zen 4: RNN 32 0.91 -> 0.62, LSTM 2.81 -> 2.33,
GRU 2.06 -> 1.75 ms rows -> lanes).
"""

import numpy as np

from . import _kernels as K
from . import _simd as S
from ._simd import fma

_jit = K._jit

#: Rows of a block of the lanes layout: the LSTM's and GRU's (their accumulators hold one
#: group of four units), the RNN's (its accumulator holds every unit: kept within L1). A
#: runtime trip count of this size, which the compiler vectorises; a constant 16 would be
#: unrolled into scalar code instead.
LANES, LANES_RNN = 256, 128
#: Rows of a block of the rows layout: its products run as register tiles of four rows
#: (:func:`tsrnn._simd.accumulate_tiles`), each tile's weights read by the block's four quads.
ROW_BLOCK = 16
#: Widest layers (units) that take the lanes layout: float32 Elman, LSTM and GRU layers (their
#: steps in registers: :func:`tsrnn._simd.rnn_lanes_step`, ``lstm_lanes_step``; the GRU's
#: loops), and float64 layers of any cell. The float32 limits depend on the vector width: the
#: register steps hold 16 sums of four vectors of rows, which fit AVX-512's 32 registers and
#: not AVX2's 16. Measured (one thread, 256 rows x 48 steps, a prediction's top layer, rows /
#: lanes, ms; the layouts give the same bits). With AVX-512 (2-core Xeon, 2026-12-02): RNN 32
#: units 0.49 / 0.23, 64 0.84-1.03 / 0.69-0.74, 96 1.87 / 1.46, 128 2.89 / 2.98; LSTM 32 1.56
#: / 1.11, 64 3.45-4.47 / 3.39-4.22, 128 11.2 / 13.0; GRU 24 1.33 / 0.82, 32 1.45 / 1.27, 48
#: 2.43 / 2.50. With AVX2 (2-core EPYC Zen 1, 2026-12-03): RNN 16 0.83 / 0.62, 24 1.30 /
#: 1.12, 32 1.71 / 1.75, 48 2.99 / 3.37, 64 4.58 / 5.51, 96 9.11 / 11.37; LSTM 16 3.27 /
#: 2.86, 24 5.17 / 5.08, 32 7.60 / 7.76, 48 13.3 / 14.9, 64 20.5 / 24.1; GRU 16 2.33 / 1.84,
#: 32 5.49 / 4.93, 48 9.68 / 9.35; float64 RNN / LSTM / GRU 16 3.51 / 3.20, 16.7 / 16.1, 8.77
#: / 8.09, at 32 units within 3 %. Narrower vectors (SSE, NEON) take AVX2's limits (not
#: measured).
LANES_MAX_HIDDEN_F32 = (
    {"rnn": 96, "lstm": 64, "gru": 32}
    if S.VECTOR_BYTES >= 64
    else {"rnn": 32, "lstm": 32, "gru": 32}
)
LANES_MAX_HIDDEN_F64 = 16
# the float32 limits by gate count G (1 Elman, 3 GRU, 4 LSTM), as the kernels can tell the cell
_LIMIT_BY_GATES_F32 = (0, LANES_MAX_HIDDEN_F32["rnn"], 0,
                       LANES_MAX_HIDDEN_F32["gru"], LANES_MAX_HIDDEN_F32["lstm"])  # fmt: skip


@_jit
def uses_lanes(W_hh):
    """Whether a layer with recurrent weights ``W_hh`` (G·N, N) takes the lanes layout."""
    N = W_hh.shape[1]
    if W_hh.itemsize != 4:
        return N <= LANES_MAX_HIDDEN_F64
    return N <= _LIMIT_BY_GATES_F32[W_hh.shape[0] // max(N, 1)]


# --------------------------------------------------------------------------
# the dispatchers: the registry's ``{cell}_infer``
# --------------------------------------------------------------------------


@_jit
def rnn_infer(X, W_ih, W_hh, b, H):
    """Inference sweep of one Elman layer: H[t+1] = tanh(b + X[t] W_ihᵀ + H[t] W_hhᵀ)."""
    if uses_lanes(W_hh):
        rnn_infer_lanes(X, W_ih, W_hh, b, H)
    else:
        rnn_infer_rows(X, W_ih, W_hh, b, H)


@_jit
def lstm_infer(X, W_ih, W_hh, b, H):
    """Inference sweep of one LSTM layer (gates i, f, g, o; the cell state kept per row)."""
    if uses_lanes(W_hh):
        lstm_infer_lanes(X, W_ih, W_hh, b, H)
    else:
        lstm_infer_rows(X, W_ih, W_hh, b, H)


@_jit
def gru_infer(X, W_ih, W_hh, b_ih, b_hh, H):
    """Inference sweep of one GRU layer (reset-after form, as the training forward)."""
    if uses_lanes(W_hh):
        gru_infer_lanes(X, W_ih, W_hh, b_ih, b_hh, H)
    else:
        gru_infer_rows(X, W_ih, W_hh, b_ih, b_hh, H)


# --------------------------------------------------------------------------
# rows layout
# --------------------------------------------------------------------------


@_jit
def _scratch_states(H, T):
    """The pair of states a sweep alternates over when ``H`` keeps only the final state."""
    keep_all = H.shape[0] == T + 1
    return np.empty((0 if keep_all else 2, H.shape[1], H.shape[2]), dtype=H.dtype)


@_jit
def _state_slots(H, Hs, t, T):
    """(The states step t reads, the states it writes).

    ``H[t]``, ``H[t + 1]`` when ``H`` keeps every step; with two slots, ``H[0]`` (the initial
    state) first, then the scratch pair ``Hs`` in turn, the last step writing ``H[1]``.
    """
    if H.shape[0] == T + 1:
        return H[t], H[t + 1]
    hp = H[0] if t == 0 else Hs[(t - 1) % 2]
    ht = H[1] if t == T - 1 else Hs[t % 2]
    return hp, ht


@_jit
def pre_activations(xt, hp, i, r, b, W_ihT, W_hhT, acc):
    """acc[q] = b + xt[i + q] W_ihᵀ + hp[i + q] W_hhᵀ for the block's r rows, in that order."""
    for q in range(r):
        for j in range(b.shape[0]):
            acc[q, j] = b[j]
    K.accumulate_rows(xt, i, r, W_ihT, acc)
    K.accumulate_rows(hp, i, r, W_hhT, acc)


@_jit
def rnn_infer_rows(X, W_ih, W_hh, b, H):
    """:func:`rnn_infer` in the rows layout."""
    T, B, _ = X.shape
    N = W_hh.shape[1]
    W_ihT = K.padded_transpose(W_ih)
    W_hhT = K.padded_transpose(W_hh)
    Hs = _scratch_states(H, T)
    acc = np.empty((ROW_BLOCK, N), dtype=X.dtype)
    for t in range(T):
        xt = X[t]
        hp, ht = _state_slots(H, Hs, t, T)
        for i in range(0, B, ROW_BLOCK):
            r = min(ROW_BLOCK, B - i)
            pre_activations(xt, hp, i, r, b, W_ihT, W_hhT, acc)
            for q in range(r):
                for j in range(N):
                    ht[i + q, j] = K.tanh(acc[q, j])


@_jit
def lstm_infer_rows(X, W_ih, W_hh, b, H):
    """:func:`lstm_infer` in the rows layout."""
    T, B, _ = X.shape
    N = W_hh.shape[1]
    G = 4 * N
    W_ihT = K.padded_transpose(W_ih)
    W_hhT = K.padded_transpose(W_hh)
    Hs = _scratch_states(H, T)
    off, scale = K.gate_coefficients(4, N, 2 * N, 3 * N, X)
    C = np.zeros((B, N), dtype=X.dtype)
    acc = np.empty((ROW_BLOCK, G), dtype=X.dtype)
    for t in range(T):
        xt = X[t]
        hp, ht = _state_slots(H, Hs, t, T)
        for i in range(0, B, ROW_BLOCK):
            r = min(ROW_BLOCK, B - i)
            pre_activations(xt, hp, i, r, b, W_ihT, W_hhT, acc)
            for q in range(r):
                for j in range(G):  # i, f, o = sigmoid, g = tanh
                    s = scale[j]
                    acc[q, j] = off[j] + s * K.tanh(s * acc[q, j])
                for j in range(N):  # c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
                    c = acc[q, N + j] * C[i + q, j] + acc[q, j] * acc[q, 2 * N + j]
                    C[i + q, j] = c
                    ht[i + q, j] = acc[q, 3 * N + j] * K.tanh(c)


@_jit
def gru_infer_rows(X, W_ih, W_hh, b_ih, b_hh, H):
    """:func:`gru_infer` in the rows layout."""
    T, B, _ = X.shape
    N = W_hh.shape[1]
    W_ihT = K.padded_transpose(W_ih)
    W_hhT = K.padded_transpose(W_hh)
    Hs = _scratch_states(H, T)
    gi = np.empty((ROW_BLOCK, 3 * N), dtype=X.dtype)
    gh = np.empty((ROW_BLOCK, 3 * N), dtype=X.dtype)
    for t in range(T):
        xt = X[t]
        hp, ht = _state_slots(H, Hs, t, T)
        for i in range(0, B, ROW_BLOCK):
            r = min(ROW_BLOCK, B - i)
            for q in range(r):
                for j in range(3 * N):
                    gi[q, j] = b_ih[j]
                    gh[q, j] = b_hh[j]
            K.accumulate_rows(xt, i, r, W_ihT, gi)
            K.accumulate_rows(hp, i, r, W_hhT, gh)
            for q in range(r):
                for j in range(2 * N):  # r, z
                    gi[q, j] = K.sigmoid(gi[q, j] + gh[q, j])
                for j in range(N):  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
                    n = K.tanh(gi[q, 2 * N + j] + gi[q, j] * gh[q, 2 * N + j])
                    z = gi[q, N + j]
                    ht[i + q, j] = (1.0 - z) * n + z * hp[i + q, j]


# --------------------------------------------------------------------------
# lanes layout
# --------------------------------------------------------------------------


@_jit
def _unit_groups(W, G, N):
    """W's rows (G gate blocks of N) regrouped per four units, gate-major within a group.

    ``out[g, a·U + u] = W[a·N + 4g + u]`` for gate a and the group's u-th of its U units
    (U = 4, fewer in the last group). W is (G·N, K) or, for a bias, (G·N,) seen as (G·N, 1).
    """
    K_ = W.shape[1]
    n_groups = (N + 3) // 4
    out = np.zeros((n_groups, 4 * G, K_), dtype=W.dtype)
    for g in range(n_groups):
        U = min(4, N - 4 * g)
        for a in range(G):
            for u in range(U):
                for k in range(K_):
                    out[g, a * U + u, k] = W[a * N + 4 * g + u, k]
    return out


@_jit
def _lane_product(V, W, g, M, acc, L):
    """acc[m, l] += Σ_k W[g, m, k]·V[k, l] for m < M, l < L: k ascending, fused multiply-adds.

    Four rows of W at a time against four k at a time (sixteen weights held, four loads of V
    shared by sixteen multiply-adds per lane). Indexed in three and two dimensions, never
    through views (each would be an atomic reference count in the loop).
    """
    K_ = V.shape[0]
    m = 0
    while m + 4 <= M:
        k = 0
        while k + 4 <= K_:
            w00, w01, w02, w03 = W[g, m, k], W[g, m, k + 1], W[g, m, k + 2], W[g, m, k + 3]
            w10, w11 = W[g, m + 1, k], W[g, m + 1, k + 1]
            w12, w13 = W[g, m + 1, k + 2], W[g, m + 1, k + 3]
            w20, w21 = W[g, m + 2, k], W[g, m + 2, k + 1]
            w22, w23 = W[g, m + 2, k + 2], W[g, m + 2, k + 3]
            w30, w31 = W[g, m + 3, k], W[g, m + 3, k + 1]
            w32, w33 = W[g, m + 3, k + 2], W[g, m + 3, k + 3]
            for l in range(L):
                v0, v1, v2, v3 = V[k, l], V[k + 1, l], V[k + 2, l], V[k + 3, l]
                acc[m, l] = fma(v3, w03, fma(v2, w02, fma(v1, w01, fma(v0, w00, acc[m, l]))))
                a1 = acc[m + 1, l]
                acc[m + 1, l] = fma(v3, w13, fma(v2, w12, fma(v1, w11, fma(v0, w10, a1))))
                a2 = acc[m + 2, l]
                acc[m + 2, l] = fma(v3, w23, fma(v2, w22, fma(v1, w21, fma(v0, w20, a2))))
                a3 = acc[m + 3, l]
                acc[m + 3, l] = fma(v3, w33, fma(v2, w32, fma(v1, w31, fma(v0, w30, a3))))
            k += 4
        while k < K_:
            w0, w1, w2, w3 = W[g, m, k], W[g, m + 1, k], W[g, m + 2, k], W[g, m + 3, k]
            for l in range(L):
                v = V[k, l]
                acc[m, l] = fma(v, w0, acc[m, l])
                acc[m + 1, l] = fma(v, w1, acc[m + 1, l])
                acc[m + 2, l] = fma(v, w2, acc[m + 2, l])
                acc[m + 3, l] = fma(v, w3, acc[m + 3, l])
            k += 1
        m += 4
    while m < M:
        for k in range(K_):
            w = W[g, m, k]
            for l in range(L):
                acc[m, l] = fma(V[k, l], w, acc[m, l])
        m += 1


@_jit
def _unit_major(W_ih, W_hh, b, G, N):
    """Each unit's gate rows together: row ``G·j + a`` = [W_ih, W_hh][a·N + j], and its bias.

    The weights of :func:`tsrnn._simd.lstm_lanes_step`: a unit's inputs' weights, then its
    recurrent ones, gate after gate.
    """
    D = W_ih.shape[1]
    W = np.empty((G * N, D + N), dtype=W_ih.dtype)
    bu = np.empty(G * N, dtype=b.dtype)
    for j in range(N):
        for a in range(G):
            for k in range(D):
                W[G * j + a, k] = W_ih[a * N + j, k]
            for k in range(N):
                W[G * j + a, D + k] = W_hh[a * N + j, k]
            bu[G * j + a] = b[a * N + j]
    return W, bu


@_jit
def _bias_rows(bg, g, M, acc, L):
    """acc[m, l] = the bias of group g's gate row m, for m < M."""
    for m in range(M):
        bm = bg[g, m, 0]
        for l in range(L):
            acc[m, l] = bm


@_jit
def _pre_activations_lanes(xT, hT, Wi, Wh, bg, g, M, acc, L):
    """acc[m] = b + x Wᵢₕᵀ + h Wₕₕᵀ for group g's M gate rows, in that order."""
    _bias_rows(bg, g, M, acc, L)
    _lane_product(xT, Wi, g, M, acc, L)
    _lane_product(hT, Wh, g, M, acc, L)


@_jit
def _whole_vectors(n, like):
    """Lanes for ``n`` rows: whole vectors of ``like``'s dtype.

    The lanes beyond a block's rows compute on zeros and are never stored.
    """
    L = S.VECTOR_BYTES // like.itemsize
    return -(-n // L) * L


@_jit
def _load_block(H0, i0, r, hT):
    """Set hT (N, L) to the block's initial states H0[i0 + l] transposed, 0 beyond r rows."""
    N, L = hT.shape
    for j in range(N):
        for l in range(L):
            hT[j, l] = H0[i0 + l, j] if l < r else 0.0


@_jit
def _gather_inputs(Xt, i0, r, xT):
    """Set xT (D, L) to the block's inputs Xt[i0 + l] transposed (rows beyond r keep zeros)."""
    for k in range(xT.shape[0]):
        for l in range(r):
            xT[k, l] = Xt[i0 + l, k]


@_jit
def _store_block(hT, i0, r, Ht):
    """Ht[i0 + l] = the block's states hT[:, l] for its r rows."""
    for l in range(r):
        for j in range(hT.shape[0]):
            Ht[i0 + l, j] = hT[j, l]


@_jit
def rnn_infer_lanes(X, W_ih, W_hh, b, H):
    """:func:`rnn_infer` in the lanes layout (one group: all N units' rows at once)."""
    T, B, D = X.shape
    N = W_hh.shape[1]
    L = _whole_vectors(min(LANES_RNN, B), X)
    Wu, bu = _unit_major(W_ih, W_hh, b, 1, N)
    Wi, Wh = W_ih.reshape((1, N, D)), W_hh.reshape((1, N, N))
    bg = b.reshape((1, N, 1))
    hT, hN = np.zeros((N, L), X.dtype), np.zeros((N, L), X.dtype)
    keep_all = H.shape[0] == T + 1
    for i0 in range(0, B, L):
        r = min(L, B - i0)
        xT = np.zeros((D, L), X.dtype)
        _load_block(H[0], i0, r, hT)
        for t in range(T):
            _gather_inputs(X[t], i0, r, xT)
            if not S.rnn_lanes_step(xT, hT, Wu, bu, hN):  # float32: ran in registers
                _pre_activations_lanes(xT, hT, Wi, Wh, bg, 0, N, hN, L)
                for j in range(N):
                    for l in range(S.tanh_row(hN, j, L), L):
                        hN[j, l] = K.tanh(hN[j, l])
            hT, hN = hN, hT
            if keep_all or t == T - 1:
                _store_block(hT, i0, r, H[min(t + 1, H.shape[0] - 1)])


@_jit
def lstm_infer_lanes(X, W_ih, W_hh, b, H):
    """:func:`lstm_infer` in the lanes layout."""
    T, B, D = X.shape
    N = W_hh.shape[1]
    L = _whole_vectors(min(LANES, B), X)
    off, scale = K.gate_coefficients(4, N, 2 * N, 3 * N, X)
    off4, scale4 = K.gate_coefficients(4, 1, 2, 3, X)  # per gate: i, f, o sigmoid; g tanh
    Wu, bu = _unit_major(W_ih, W_hh, b, 4, N)
    Wi, Wh = _unit_groups(W_ih, 4, N), _unit_groups(W_hh, 4, N)
    bg = _unit_groups(b.reshape((b.shape[0], 1)), 4, N)
    og = _unit_groups(off.reshape((off.shape[0], 1)), 4, N)
    sg = _unit_groups(scale.reshape((scale.shape[0], 1)), 4, N)
    hT, hN = np.zeros((N, L), X.dtype), np.zeros((N, L), X.dtype)
    keep_all = H.shape[0] == T + 1
    cT = np.zeros((N, L), X.dtype)
    acc = np.empty((16, L), X.dtype)
    for i0 in range(0, B, L):
        r = min(L, B - i0)
        xT = np.zeros((D, L), X.dtype)
        _load_block(H[0], i0, r, hT)
        cT[:] = 0.0
        for t in range(T):
            _gather_inputs(X[t], i0, r, xT)
            if S.lstm_lanes_step(xT, hT, Wu, bu, off4, scale4, cT, hN):
                groups = 0  # float32: the step ran in registers
            else:
                groups = (N + 3) // 4
            for g in range(groups):
                U = min(4, N - 4 * g)
                M = 4 * U
                _pre_activations_lanes(xT, hT, Wi, Wh, bg, g, M, acc, L)
                for m in range(M):  # i, f, o = sigmoid, g = tanh
                    s, o = sg[g, m, 0], og[g, m, 0]
                    for l in range(S.gate_row(acc, m, o, s, L), L):
                        acc[m, l] = o + s * K.tanh(s * acc[m, l])
                for u in range(U):  # c_t = f ⊙ c_{t-1} + i ⊙ g;  h_t = o ⊙ tanh(c_t)
                    j = 4 * g + u
                    for l in range(S.lstm_cell_lanes(acc, U, u, cT, hN, j, L), L):
                        c = acc[U + u, l] * cT[j, l] + acc[u, l] * acc[2 * U + u, l]
                        cT[j, l] = c
                        hN[j, l] = acc[3 * U + u, l] * K.tanh(c)
            hT, hN = hN, hT
            if keep_all or t == T - 1:
                _store_block(hT, i0, r, H[min(t + 1, H.shape[0] - 1)])


@_jit
def gru_infer_lanes(X, W_ih, W_hh, b_ih, b_hh, H):
    """:func:`gru_infer` in the lanes layout."""
    T, B, D = X.shape
    N = W_hh.shape[1]
    L = min(LANES, B)
    Wi, Wh = _unit_groups(W_ih, 3, N), _unit_groups(W_hh, 3, N)
    bi = _unit_groups(b_ih.reshape((b_ih.shape[0], 1)), 3, N)
    bh = _unit_groups(b_hh.reshape((b_hh.shape[0], 1)), 3, N)
    hT, hN = np.zeros((N, L), X.dtype), np.zeros((N, L), X.dtype)
    keep_all = H.shape[0] == T + 1
    gi, gh = np.empty((12, L), X.dtype), np.empty((12, L), X.dtype)
    for i0 in range(0, B, L):
        r = min(L, B - i0)
        xT = np.zeros((D, L), X.dtype)
        _load_block(H[0], i0, r, hT)
        for t in range(T):
            _gather_inputs(X[t], i0, r, xT)
            for g in range((N + 3) // 4):
                U = min(4, N - 4 * g)
                M = 3 * U
                _bias_rows(bi, g, M, gi, L)
                _lane_product(xT, Wi, g, M, gi, L)
                _bias_rows(bh, g, M, gh, L)
                _lane_product(hT, Wh, g, M, gh, L)
                for m in range(2 * U):  # r, z
                    for l in range(S.sigmoid_sum_row(gi, gh, m, L), L):
                        gi[m, l] = K.sigmoid(gi[m, l] + gh[m, l])
                for u in range(U):  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
                    j = 4 * g + u
                    for l in range(L):
                        n = K.tanh(gi[2 * U + u, l] + gi[u, l] * gh[2 * U + u, l])
                        z = gi[U + u, l]
                        hN[j, l] = (1.0 - z) * n + z * hT[j, l]
            hT, hN = hN, hT
            if keep_all or t == T - 1:
                _store_block(hT, i0, r, H[min(t + 1, H.shape[0] - 1)])
