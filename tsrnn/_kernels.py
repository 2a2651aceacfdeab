"""Numba nopython kernels: forward pass and backpropagation through time.

Every function here is a pure function of arrays (plus plain numbers): no
strings, no ``None``, no Python objects cross the JIT boundary.  Outputs are
written into arrays the caller allocates, so the same signatures can be
mirrored one for one by the CUDA kernels in :mod:`tsrnn.cuda` (``gpu_``
prefix, same argument order).

Layout (see ``docs/math.md``): sequences are *time-major*, ``X`` has shape
``(T, B, D)``; one layer and one direction is processed per call.  Gate blocks
are stacked along the last axis in PyTorch's order (LSTM ``i, f, g, o``; GRU
``r, z, n``), so ``W_ih`` is ``(G*N, D)`` and ``W_hh`` is ``(G*N, N)``.

The fast formulation: one GEMM projects the inputs of all time steps
(``A = X W_ihᵀ + b``); the time loop holds only the recurrent product (register
tiles, :mod:`tsrnn._products`) and the fused element-wise gate math; after the
backward sweep the weight gradients are one GEMM each over all time steps.

Inference has its own fused kernels (``*_infer``, CPU only: the GPU predicts
with its forward twins) in :mod:`tsrnn._infer`, built on :func:`accumulate_rows`
and the activations here: no gate activations are stored, and a sample's
prediction is bit-identical whatever other samples share its batch. They are
this module's attributes too (``rnn_infer`` etc., looked up by the registry).

``H`` holds ``T + 1`` states, ``H[0]`` being the initial state (zero unless the
caller sets it), so ``H[t]`` is ``h_{t-1}`` for the step ``t`` (0-based) and
``H[t + 1]`` its output.
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic, overload

from . import _cache  # noqa: F401  (chooses the cache directory before any @njit(cache=True))
from . import _elementwise as E
from ._products import (  # noqa: F401  (this module's API too: the kernels' building blocks)
    accumulate_rows,
    padded_copy,
    padded_transpose,
    recurrent_accumulate,
    recurrent_gradient,
    recurrent_product,
)
from ._simd import FMA, VECTOR_BYTES, ZERO, fma  # noqa: F401

# error_model="numpy": a division by zero gives inf/nan like NumPy instead of
# raising inside the kernel; the training loop checks the loss for finiteness.
# No fastmath: NaN/inf semantics are kept.
_jit = njit(cache=True, nogil=True, error_model="numpy")


# --------------------------------------------------------------------------
# activations: the per-element math of :mod:`tsrnn._elementwise`, compiled here
# for the CPU (the CUDA kernels compile the same functions for the device).
# Both dtypes: arithmetic-only activations that LLVM vectorises (see that module).
# --------------------------------------------------------------------------


@intrinsic
def _pow2(typingctx, n):
    """2.0**n for a whole float64 n in [0, 1024), made from bits.

    t = n + 2**52 + 1023 holds n + 1023 in its low mantissa bits (exactly), which
    shifted left by 52 are 2**n's bits. Only a float add, an integer shift and
    reinterpretations, which LLVM vectorises (a float-to-integer conversion it would
    not). NaN n gives 0.0.
    """
    if n != types.float64:
        return None

    def codegen(context, builder, signature, args):
        i64, f64 = ir.IntType(64), ir.DoubleType()
        t = builder.fadd(args[0], ir.Constant(f64, 2.0**52 + 1023.0))
        bits = builder.shl(builder.bitcast(t, i64), ir.Constant(i64, 52))
        return builder.bitcast(bits, f64)

    return types.float64(n), codegen


@intrinsic
def _select(typingctx, cond, a, b):
    """Value a where cond, else b: LLVM's ``select`` (a blend in a vector loop), no branch."""
    if not (isinstance(cond, types.Boolean) and a == b and isinstance(a, types.Float)):
        return None

    def codegen(context, builder, signature, args):
        return builder.select(args[0], args[1], args[2])

    return a(cond, a, b), codegen


def select(cond, a, b):
    """:func:`tsrnn._elementwise.select` on the CPU: one ``select`` instruction.

    Numba's IR, into which the float64 activations are inlined, would hold a conditional
    expression as branches, which its SSA check warns about (``NumbaIRAssumptionWarning``).
    Against the 0/1-weighted sum it replaces (float64 tanh, one thread, 2-core EPYC Zen 1,
    2026-12-03): 8.2 -> 7.4 ns an element.
    """
    return _select(cond, a, b)


def pow2_scale(p, n):
    """:func:`tsrnn._elementwise.pow2_scale` on the CPU: one product with 2**n made from its bits.

    The same value bit for bit (that function's products are all exact), with ~40 fewer
    operations per element. In a vectorised loop (2-core EPYC Zen 4, one thread) float64
    exp takes 1.06 instead of 2.71 ns an element and tanh 2.55 instead of 3.56; float64
    predictions of 64-unit layers 1.29-1.36x faster, training 1.10-1.23x.
    """
    return p * _pow2(n)


def fma_once(a, b, c):
    """:func:`tsrnn._elementwise.fma_f32` and ``fma_f64`` on the CPU: :func:`tsrnn._simd.fma`.

    Measured (2-core Xeon with AVX-512, one thread, 256 rows x 48 steps, float32) against
    a product and a sum: the lanes layout's LSTM of 16 units 0.69 -> 0.58 ms, the rows
    layout's LSTM of 64 units 4.6 -> 4.0 ms, RNN of 64 units 1.06 -> 0.97 ms.
    """
    return fma(a, b, c)


# Terms per block of the recurrent weights' gradient (weight_gradients): a block of
# dAh's rows, one page each for 256 LSTM units, stays within the first-level TLB.
WGRAD_BLOCK = 64
# dAh's blocks are transposed into a contiguous copy first (:func:`_transpose_block`) where a
# row of dAh is at least WGRAD_PACK_STRIDE bytes and one of the states at least WGRAD_PACK_ROW:
# there a tile's inputs, read down a column of the strided view, lie a page or half a page
# apart, while the copy costs 0.56 ns an element against the N products each feeds.
# Measured (one thread, 48 steps, 32 rows, strided view / copy, ms; 2-core EPYC Zen 1,
# 2026-12-03): float32 LSTM 256 units 33.4 / 25.9, 128 7.35 / 6.90, GRU 256 22.5 / 19.7;
# float64 LSTM 128 17.1 / 14.0, 64 3.03 / 2.91, GRU 128 12.0 / 10.5; below the thresholds
# the copy costs more than it saves (float32 LSTM 64 1.60 / 1.69, Elman 256 6.53 / 6.37 but
# 3.28 / 3.37 for 16 rows, LSTM 16 0.11 / 0.14). The same bits either way.
WGRAD_PACK_STRIDE, WGRAD_PACK_ROW = 2048, 256


# Not cached themselves: they are compiled into (and cached with) the kernels
# that call them, which inline them: LLVM inlines the small float32 ones; the
# float64 ones, too large for LLVM's inliner, are inlined in Numba's IR (their
# overloads below and _elementwise.INLINED), so the kernels' loops vectorise.
_E = E.compile_for(
    njit(nogil=True, error_model="numpy"),
    inline_jit=njit(nogil=True, error_model="numpy", inline="always"),
    replace={
        "pow2_scale": pow2_scale,
        "fma_f32": fma_once,
        "fma_f64": fma_once,
        "select": select,
    },
)
_tanh_f32, _sigmoid_f32 = _E.tanh_f32, _E.sigmoid_f32


def tanh(x):
    """Hyperbolic tangent for use inside kernels (vectorisable; see :mod:`tsrnn._elementwise`)."""
    return math.tanh(x)


def sigmoid(x):
    """Logistic sigmoid for use inside kernels (float32 via tanh, float64 via exp)."""
    return 1.0 / (1.0 + math.exp(-x))


def _inline_float64(expr, caller_info, callee_info):
    """Inline the float64 activations into the kernels' IR (too large for LLVM to inline)."""
    return callee_info.func_ir.func_id.func_name.endswith("_f64")


@overload(tanh, jit_options={"cache": True}, inline=_inline_float64)
def _ol_tanh(x):
    if x == types.float32:
        return lambda x: _tanh_f32(x)
    return _E.tanh_f64_py


@overload(sigmoid, jit_options={"cache": True}, inline=_inline_float64)
def _ol_sigmoid(x):
    if x == types.float32:
        return lambda x: _sigmoid_f32(x)
    return _E.sigmoid_f64_py


# --------------------------------------------------------------------------
# shared building blocks
# --------------------------------------------------------------------------


@_jit
def rowwise_product(A, W, out):
    """Product out = A Wᵀ, batch-invariant (see :func:`accumulate_rows`).

    A (M, K), W (N, K), out (M, N). The weights are laid out with their columns widened to
    whole vectors by zero weights, so that every output column runs in the register tiles
    (:func:`tsrnn._simd.accumulate_tiles`) and none in the scalar loops; the widened
    columns' sums are dropped. The same arithmetic per element as without (the same bits):
    a head of 12 outputs over 256 rows of 16 features took 12 µs in scalar loops, 2 µs in
    tiles (one thread, 2-core Xeon with AVX-512, float32).
    """
    M, K_ = A.shape
    N = W.shape[0]
    L = VECTOR_BYTES // A.itemsize
    Np = -(-N // L) * L
    Wt = np.zeros((K_, Np), dtype=A.dtype)
    for k in range(K_):
        for j in range(N):
            Wt[k, j] = W[j, k]
    acc = np.zeros((M, Np), dtype=A.dtype)
    accumulate_rows(A, ZERO, M, Wt, acc)
    for s in range(M):
        for j in range(N):
            out[s, j] = acc[s, j]


@_jit
def input_projection(X, W_ih, b, A):
    """A[t] = X[t] W_ihᵀ + b for all steps at once (one GEMM over T*B rows).

    X (T, B, D), W_ih (GN, D), b (GN,), A (T, B, GN) written.
    """
    T, B, D = X.shape
    GN = W_ih.shape[0]
    A2 = A.reshape(T * B, GN)
    np.dot(X.reshape(T * B, D), W_ih.T, A2)
    for r in range(T * B):
        for j in range(GN):
            A2[r, j] += b[j]


@_jit
def weight_gradients(X, H, dA, dAh, dW_ih, dW_hh):
    """Weight gradients after the backward sweep, each one product over all steps.

    dW_ih = Σ_t dA_tᵀ x_t and dW_hh = Σ_t dAh_tᵀ h_{t-1}.  ``dA`` and ``dAh``
    (T, B, GN) hold the gradients of the input-side and recurrent-side gate
    pre-activations: the same array except for the GRU, whose reset gate
    scales only the recurrent candidate term.  ``H`` (T+1, B, N) holds the states.

    dW_ih (D inputs, often one) is a BLAS GEMM. dW_hh runs in the register tiles of
    :func:`accumulate_rows` against dAhᵀ, a strided view of it or, for wide layers, a
    contiguous copy of each block (:data:`WGRAD_PACK_STRIDE`): every element is
    the fused multiply-adds of its T·B terms in ascending order (step, then row), so its
    bits do not depend on the BLAS library or the CPU's vector width. OpenBLAS's GEMM of
    this shape ran at 10-34 GFLOP/s a core on a 2-core EPYC Zen 1 depending on the process
    (2026-12-03); the tiles took, one thread, 48 steps, ms: 32 rows of 256 LSTM units 84 →
    54, of 128 units 18.3 → 7.7, 256 Elman units 20.4 → 6.8, 16 rows of 32 LSTM units over
    24 steps 0.12 → 0.10 (measured there only).

    The sum runs in blocks of :data:`WGRAD_BLOCK` terms (ascending, so the same bits):
    a column of the view steps by a whole row of dAh, 4 KB for 256 LSTM units, a page
    for every term; a block's rows stay within the first-level TLB while all the tiles
    pass over them. 32 rows of 256 LSTM units, 48 steps: 57 → 34 ms; other sizes within
    ±10 % (one thread, same Zen 1).
    """
    T, B, D = X.shape
    GN = dA.shape[2]
    N = H.shape[2]
    K = T * B
    np.dot(dA.reshape(K, GN).T, X.reshape(K, D), dW_ih)
    dW_hh[:] = 0.0
    Ht = H[:T].reshape(K, N)
    if GN * dAh.itemsize >= WGRAD_PACK_STRIDE and N * dAh.itemsize >= WGRAD_PACK_ROW:
        rows = dAh.reshape(K, GN)
        P = np.empty((GN, WGRAD_BLOCK), dtype=dAh.dtype)
        for k0 in range(0, K, WGRAD_BLOCK):
            k1 = min(K, k0 + WGRAD_BLOCK)
            _transpose_block(rows, k0, k1 - k0, P)
            accumulate_rows(P[:, : k1 - k0], ZERO, GN, Ht[k0:k1], dW_hh)
        return
    A = dAh.reshape(K, GN).T
    for k0 in range(0, K, WGRAD_BLOCK):
        k1 = min(K, k0 + WGRAD_BLOCK)
        accumulate_rows(A[:, k0:k1], ZERO, GN, Ht[k0:k1], dW_hh)


@_jit
def _transpose_block(rows, k0, n, P):
    """P[:, :n] = rows[k0 : k0 + n]ᵀ, eight rows at a time (each P row written 32 bytes on).

    0.56 ns an element for 64 rows of 1,024 float32 (one at a time: 1.47; one thread, 2-core
    EPYC Zen 1, 2026-12-03).
    """
    GN = rows.shape[1]
    k = 0
    while k + 8 <= n:
        for q in range(GN):
            a0, a1, a2, a3 = (
                rows[k0 + k, q],
                rows[k0 + k + 1, q],
                rows[k0 + k + 2, q],
                rows[k0 + k + 3, q],
            )
            a4, a5, a6, a7 = (
                rows[k0 + k + 4, q],
                rows[k0 + k + 5, q],
                rows[k0 + k + 6, q],
                rows[k0 + k + 7, q],
            )
            P[q, k], P[q, k + 1], P[q, k + 2], P[q, k + 3] = a0, a1, a2, a3
            P[q, k + 4], P[q, k + 5], P[q, k + 6], P[q, k + 7] = a4, a5, a6, a7
        k += 8
    while k < n:
        for q in range(GN):
            P[q, k] = rows[k0 + k, q]
        k += 1


@_jit
def bias_gradient(dA, db):
    """Bias gradient db = Σ over steps and samples of dA (T, B, GN)."""
    T, B, GN = dA.shape
    for j in range(GN):
        db[j] = 0.0
    for t in range(T):
        for s in range(B):
            for j in range(GN):
                db[j] += dA[t, s, j]


@_jit
def input_gradient(dA, W_ih, dX):
    """dX[t] = dA[t] W_ih: the gradient passed down to the layer below."""
    T, B, GN = dA.shape
    D = W_ih.shape[1]
    np.dot(dA.reshape(T * B, GN), W_ih, dX.reshape(T * B, D))


# --------------------------------------------------------------------------
# Elman RNN: h_t = tanh(b + W h_{t-1} + U x_t)
# --------------------------------------------------------------------------


@_jit
def rnn_forward(X, W_ih, W_hh, b, H, A):
    """Forward sweep of one Elman layer.

    A (T, B, N) receives the input projections and is then unused (the
    backward sweep only needs H); H (T+1, B, N) receives the states.
    """
    T, B, _ = X.shape
    N = W_hh.shape[1]
    input_projection(X, W_ih, b, A)
    W_hhT = padded_transpose(W_hh)
    for t in range(T):
        at = A[t]
        recurrent_accumulate(H[t], W_hhT, at)
        ht = H[t + 1]
        for s in range(B):
            for j in range(N):
                ht[s, j] = tanh(at[s, j])


@_jit
def rnn_backward(W_hh, H, dH, dA):
    """Backward sweep of one Elman layer.

    dH (T, B, N): gradient of the loss w.r.t. each output h_t coming from
    above (head or next layer).  dA (T, B, N) receives dL/da_t.
    """
    T, B, N = dH.shape
    dh = np.zeros((B, N), dtype=H.dtype)
    W_hhP = padded_copy(W_hh)
    for t in range(T - 1, -1, -1):
        ht = H[t + 1]
        dht = dH[t]
        dat = dA[t]
        for s in range(B):
            for j in range(N):
                g = dht[s, j] + dh[s, j]
                dat[s, j] = g * (1.0 - ht[s, j] * ht[s, j])
        recurrent_gradient(dat, W_hhP, dh)


# --------------------------------------------------------------------------
# LSTM, gate order i, f, g, o
#
# The element-wise work of a step is split into short passes that each touch
# two or three arrays: LLVM can then prove (with cheap run-time checks) that
# stores and loads do not overlap and vectorises every pass; one fused loop
# over seven arrays stays scalar and ran 5x slower.
# --------------------------------------------------------------------------


@_jit
def gate_coefficients(G, N, tanh_from, tanh_to, dtype_like):
    """Per-column (off, scale) so that every gate is off + scale·tanh(scale·x).

    sigmoid(x) = 0.5 + 0.5·tanh(x/2), tanh(x) = 0 + 1·tanh(1·x): one
    branch-free formula lets a single vectorised loop activate all the gate
    blocks of a row.  Columns [tanh_from, tanh_to) are tanh, the rest sigmoid.
    """
    off = np.empty(G * N, dtype=dtype_like.dtype)
    scale = np.empty(G * N, dtype=dtype_like.dtype)
    for j in range(G * N):
        is_tanh = tanh_from <= j < tanh_to
        off[j] = 0.0 if is_tanh else 0.5
        scale[j] = 1.0 if is_tanh else 0.5
    return off, scale


@_jit
def lstm_forward(X, W_ih, W_hh, b, H, C, A):
    """Forward sweep of one LSTM layer.

    H, C (T+1, B, N) receive hidden and cell states (index 0 = initial state);
    A (T, B, 4N) receives the gate activations i, f, g, o.
    """
    T, B, _ = X.shape
    N = W_hh.shape[1]
    input_projection(X, W_ih, b, A)
    W_hhT = padded_transpose(W_hh)
    off, scale = gate_coefficients(4, N, 2 * N, 3 * N, X)
    for t in range(T):
        at = A[t]
        recurrent_accumulate(H[t], W_hhT, at)
        cp = C[t]
        ct = C[t + 1]
        ht = H[t + 1]
        for s in range(B):
            a = at[s]
            for j in range(4 * N):  # i, f, o = sigmoid, g = tanh
                a[j] = off[j] + scale[j] * tanh(scale[j] * a[j])
            c = ct[s]
            c0 = cp[s]
            for j in range(N):  # c_t = f ⊙ c_{t-1} + i ⊙ g
                c[j] = a[N + j] * c0[j] + a[j] * a[2 * N + j]
            h = ht[s]
            for j in range(N):  # h_t = o ⊙ tanh(c_t)
                h[j] = a[3 * N + j] * tanh(c[j])


@_jit
def lstm_backward(W_hh, C, A, dH, dA):
    """Backward sweep of one LSTM layer.

    dH (T, B, N): gradient w.r.t. each output h_t from above.  dA (T, B, 4N)
    receives the gradients of the gate pre-activations.
    """
    T, B, N = dH.shape
    dh = np.zeros((B, N), dtype=C.dtype)  # dL/dh_t, recurrent path + from above
    dc = np.zeros((B, N), dtype=C.dtype)  # dL/dc_t
    tc = np.empty(N, dtype=C.dtype)
    W_hhP = padded_copy(W_hh)
    for t in range(T - 1, -1, -1):
        at = A[t]
        dat = dA[t]
        cp = C[t]
        ct = C[t + 1]
        dht = dH[t]
        for s in range(B):
            a = at[s]
            da = dat[s]
            gh = dh[s]
            gc = dc[s]
            x = dht[s]
            for j in range(N):
                gh[j] += x[j]
            c = ct[s]
            for j in range(N):
                tc[j] = tanh(c[j])
            for j in range(N):  # through h_t = o ⊙ tanh(c_t)
                gc[j] += gh[j] * a[3 * N + j] * (1.0 - tc[j] * tc[j])
            for j in range(N):  # o
                o = a[3 * N + j]
                da[3 * N + j] = gh[j] * tc[j] * o * (1.0 - o)
            for j in range(N):  # i
                i = a[j]
                da[j] = gc[j] * a[2 * N + j] * i * (1.0 - i)
            c0 = cp[s]
            for j in range(N):  # f
                f = a[N + j]
                da[N + j] = gc[j] * c0[j] * f * (1.0 - f)
            for j in range(N):  # g
                g = a[2 * N + j]
                da[2 * N + j] = gc[j] * a[j] * (1.0 - g * g)
            for j in range(N):  # dc_{t-1}
                gc[j] *= a[N + j]
        recurrent_gradient(dat, W_hhP, dh)


# --------------------------------------------------------------------------
# GRU (reset-after), gate order r, z, n
# --------------------------------------------------------------------------


@_jit
def gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, HN):
    """Forward sweep of one GRU layer (reset-after form).

    A (T, B, 3N) receives the activations r, z, n; HN (T, B, N) receives the
    recurrent candidate term W_hn h_{t-1} + b_hn that the reset gate scales.
    """
    T, B, _ = X.shape
    N = W_hh.shape[1]
    input_projection(X, W_ih, b_ih, A)
    rec = np.empty((B, 3 * N), dtype=X.dtype)
    W_hhT = padded_transpose(W_hh)
    for t in range(T):
        hp = H[t]
        recurrent_product(hp, W_hhT, rec)
        at = A[t]
        hnt = HN[t]
        ht = H[t + 1]
        for s in range(B):
            a = at[s]
            r = rec[s]
            for j in range(3 * N):
                r[j] += b_hh[j]
            for j in range(2 * N):  # r, z
                a[j] = sigmoid(a[j] + r[j])
            hn = hnt[s]
            for j in range(N):
                hn[j] = r[2 * N + j]
            for j in range(N):  # n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
                a[2 * N + j] = tanh(a[2 * N + j] + a[j] * hn[j])
            h = ht[s]
            h0 = hp[s]
            for j in range(N):  # h = (1 - z) ⊙ n + z ⊙ h_{t-1}
                z = a[N + j]
                h[j] = (1.0 - z) * a[2 * N + j] + z * h0[j]


@_jit
def gru_backward(W_hh, H, A, HN, dH, dA, dAh):
    """Backward sweep of one GRU layer.

    dA (T, B, 3N) receives the gradients of the input-side pre-activations
    (for W_ih, b_ih and the layer below), dAh (T, B, 3N) those of the
    recurrent-side ones (for W_hh, b_hh): they differ only in the n block,
    where the recurrent side is scaled by r.
    """
    T, B, N = dH.shape
    dh = np.zeros((B, N), dtype=H.dtype)
    rec = np.empty((B, N), dtype=H.dtype)
    W_hhP = padded_copy(W_hh)
    for t in range(T - 1, -1, -1):
        at = A[t]
        dat = dA[t]
        daht = dAh[t]
        hp = H[t]
        hnt = HN[t]
        dht = dH[t]
        for s in range(B):
            a = at[s]
            da = dat[s]
            dah = daht[s]
            gh = dh[s]
            x = dht[s]
            for j in range(N):
                gh[j] += x[j]
            for j in range(N):  # n
                z = a[N + j]
                n = a[2 * N + j]
                da[2 * N + j] = gh[j] * (1.0 - z) * (1.0 - n * n)
            h0 = hp[s]
            for j in range(N):  # z
                z = a[N + j]
                da[N + j] = gh[j] * (h0[j] - a[2 * N + j]) * z * (1.0 - z)
            hn = hnt[s]
            for j in range(N):  # r
                r = a[j]
                da[j] = da[2 * N + j] * hn[j] * r * (1.0 - r)
            for j in range(2 * N):  # recurrent side: same r, z gradients
                dah[j] = da[j]
            for j in range(N):  # ... but the candidate's is scaled by r
                dah[2 * N + j] = da[2 * N + j] * a[j]
            for j in range(N):  # direct path through the update gate
                gh[j] *= a[N + j]
        recurrent_gradient(daht, W_hhP, rec)
        for s in range(B):
            gh = dh[s]
            r = rec[s]
            for j in range(N):
                gh[j] += r[j]


# --------------------------------------------------------------------------
# output head o = c + V z and losses
# --------------------------------------------------------------------------


@_jit
def head_forward(Z, V, c, out, batch_invariant=False):
    """Head output out = Z Vᵀ + c.  Z (B, F), V (O, F), c (O,), out (B, O).

    ``batch_invariant``: the product by :func:`rowwise_product` (inference).
    """
    if batch_invariant:
        rowwise_product(Z, V, out)
    else:
        np.dot(Z, V.T, out)
    B, O = out.shape
    for s in range(B):
        for k in range(O):
            out[s, k] += c[k]


@_jit
def head_backward(Z, V, dO, dV, dc, dZ):
    """Gradients of the head: dV = dOᵀ Z, dc = Σ dO, dZ = dO V."""
    np.dot(dO.T, Z, dV)
    np.dot(dO, V, dZ)
    B, O = dO.shape
    for k in range(O):
        dc[k] = 0.0
    for s in range(B):
        for k in range(O):
            dc[k] += dO[s, k]


_mse_element, _mae_element = _E.mse_element, _E.mae_element
_pinball_element = _E.pinball_element
_softmax_xent_row, _softmax_row = _E.softmax_xent_row, _E.softmax_row
_l2_element, _clip_coefficient = _E.l2_element, _E.clip_coefficient
_norm_sq_element, _norm_from_parts = _E.norm_sq_element, _E.norm_from_parts
_sgd_element, _adam_element = _E.sgd_element, _E.adam_element
_adam_corrections = _E.adam_corrections


@_jit
def mse_loss_grad(out, Y, dO, n_total):
    """Mean squared error over all samples and outputs; dO receives dL/do.

    The mean is taken over ``n_total`` samples (the whole mini-batch) so that a
    batch processed in row chunks sums its chunks' losses and gradients.
    """
    B, O = out.shape
    scale = 1.0 / (n_total * O)
    loss = 0.0
    for s in range(B):
        for k in range(O):
            loss += _mse_element(out, Y, dO, s, k, scale)
    return loss * scale


@_jit
def mae_loss_grad(out, Y, dO, n_total):
    """Mean absolute error over all samples and outputs; dO receives dL/do.

    dL/do = sign(o - y) / (n_total·O), with sign(0) = 0 (the subgradient
    PyTorch's L1 loss uses). The mean is over ``n_total`` samples, as in
    :func:`mse_loss_grad`.
    """
    B, O = out.shape
    scale = 1.0 / (n_total * O)
    loss = 0.0
    for s in range(B):
        for k in range(O):
            loss += _mae_element(out, Y, dO, s, k, scale)
    return loss * scale


@_jit
def quantile_loss_grad(out, Y, taus, dO, n_total):
    """Mean pinball (quantile) loss over all samples and output units; dO receives dL/do.

    ``out`` and ``Y`` are (B, O·Q): unit k of the head is quantile level
    ``taus[k % Q]`` of output ``k // Q`` and ``Y`` holds each target repeated Q
    times (``docs/math.md``, section 3).  ``taus`` is a float array of the Q
    levels.  Loss = Σ max(τ·e, (τ - 1)·e) / (n_total·O·Q), e = y - o;
    dL/do = -τ, 1 - τ or 0 (e > 0, e < 0, e = 0) over n_total·O·Q.
    """
    B, O = out.shape
    scale = 1.0 / (n_total * O)
    loss = 0.0
    for s in range(B):
        for k in range(O):
            loss += _pinball_element(out, Y, taus, dO, s, k, scale)
    return loss * scale


@_jit
def softmax_xent_loss_grad(out, labels, dO, n_total):
    """Mean softmax cross-entropy; labels (B,) int class indices.

    dO receives (softmax(o) - onehot(y)) / n_total, the mean being over the
    whole mini-batch of ``n_total`` samples (see :func:`mse_loss_grad`).
    Computed with the max shift, so large logits neither overflow nor lose the
    gradient.
    """
    loss = 0.0
    for s in range(out.shape[0]):
        loss += _softmax_xent_row(out, labels, dO, s, n_total)
    return loss / n_total


@_jit
def softmax(out, proba):
    """Row-wise softmax of out (B, O) into proba."""
    for s in range(out.shape[0]):
        _softmax_row(out, proba, s)


# --------------------------------------------------------------------------
# regularisation, clipping and optimiser updates on the flat parameter vector
# --------------------------------------------------------------------------


@_jit
def l2_penalty(theta, mask, grad, scale):
    """Add scale/2·Σ mask·θ² to the loss (returned) and scale·mask·θ to grad."""
    pen = 0.0
    for p in range(theta.shape[0]):
        pen += _l2_element(theta, mask, grad, p, scale)
    return 0.5 * scale * pen


@_jit
def all_finite(a):
    """Whether every element of the 1-D array ``a`` is finite (stops at the first that is not)."""
    for p in range(a.shape[0]):
        if not np.isfinite(a[p]):
            return False
    return True


@_jit
def clip_grad_norm(grad, max_norm):
    """Scale grad in place so its global L2 norm is at most max_norm.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).  The norm is
    summed in float64 without overflow (:func:`tsrnn._elementwise.norm_sq_element`): a finite
    gradient of any size is scaled to max_norm, never zeroed; a non-finite one gives an inf
    or NaN norm (the trainers check finiteness before clipping).
    """
    mid = 0.0
    big = 0.0
    for p in range(grad.shape[0]):
        m, b = _norm_sq_element(grad, p)
        mid += m
        big += b
    norm = _norm_from_parts(mid, big)
    coef = _clip_coefficient(norm, max_norm)
    if coef < 1.0:
        for p in range(grad.shape[0]):
            grad[p] *= coef
    return norm


@_jit
def sgd_update(theta, grad, velocity, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum, PyTorch's form (dampening 0).

    velocity ← momentum·velocity + grad; θ ← θ - lr·velocity (or, with
    Nesterov, θ ← θ - lr·(grad + momentum·velocity)).  momentum = 0 is plain
    gradient descent.
    """
    for p in range(theta.shape[0]):
        _sgd_element(theta, grad, velocity, p, lr, momentum, nesterov)


@_jit
def adam_update(theta, grad, m, v, lr, beta1, beta2, eps, step):
    """One Adam step (Kingma & Ba; PyTorch's form with bias correction).

    ``step`` is the 1-based number of this update.
    """
    bc1, bc2 = _adam_corrections(beta1, beta2, step)
    for p in range(theta.shape[0]):
        _adam_element(theta, grad, m, v, p, lr, beta1, beta2, eps, bc1, bc2)


_INFERENCE = ("rnn_infer", "lstm_infer", "gru_infer")


def __getattr__(name):
    """The inference sweeps, which live in :mod:`tsrnn._infer` (it builds on this module)."""
    if name in _INFERENCE:
        from . import _infer

        return getattr(_infer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
