"""Numba nopython kernels: forward pass and backpropagation through time.

Every function here is a pure function of arrays (plus plain numbers): no
strings, no ``None``, no Python objects cross the JIT boundary.  Outputs are
written into arrays the caller allocates, so the same signatures can be
mirrored one for one by the CUDA kernels in :mod:`tsrnn.cuda` (``gpu_``
prefix, same argument order).

Layout (see ``MATH.md``): sequences are *time-major*, ``X`` has shape
``(T, B, D)``; one layer and one direction is processed per call.  Gate blocks
are stacked along the last axis in PyTorch's order (LSTM ``i, f, g, o``; GRU
``r, z, n``), so ``W_ih`` is ``(G*N, D)`` and ``W_hh`` is ``(G*N, N)``.

The fast formulation: one GEMM projects the inputs of all time steps
(``A = X W_ihᵀ + b``); the time loop holds only the recurrent GEMM and the
fused element-wise gate math; after the backward sweep the weight gradients
are one GEMM each over all time steps.

``H`` holds ``T + 1`` states, ``H[0]`` being the initial state (zero unless the
caller sets it), so ``H[t]`` is ``h_{t-1}`` for the step ``t`` (0-based) and
``H[t + 1]`` its output.
"""

import math

import numpy as np
from numba import njit

# error_model="numpy": a division by zero gives inf/nan like NumPy instead of
# raising inside the kernel; the training loop checks the loss for finiteness.
# No fastmath: NaN/inf semantics are kept.
_jit = njit(cache=True, nogil=True, error_model="numpy")


@_jit
def _sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


# --------------------------------------------------------------------------
# shared building blocks
# --------------------------------------------------------------------------


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
    """Weight gradients after the backward sweep, one GEMM each over all steps.

    dW_ih = Σ_t dA_tᵀ x_t and dW_hh = Σ_t dAh_tᵀ h_{t-1}.  ``dA`` and ``dAh``
    (T, B, GN) hold the gradients of the input-side and recurrent-side gate
    pre-activations: the same array except for the GRU, whose reset gate
    scales only the recurrent candidate term.  ``H`` (T+1, B, N) holds the states.
    """
    T, B, D = X.shape
    GN = dA.shape[2]
    N = H.shape[2]
    np.dot(dA.reshape(T * B, GN).T, X.reshape(T * B, D), dW_ih)
    np.dot(dAh.reshape(T * B, GN).T, H[:T].reshape(T * B, N), dW_hh)


@_jit
def bias_gradient(dA, db):
    """db = Σ over steps and samples of dA (T, B, GN)."""
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
    rec = np.empty((B, N), dtype=X.dtype)
    for t in range(T):
        np.dot(H[t], W_hh.T, rec)
        at = A[t]
        ht = H[t + 1]
        for s in range(B):
            for j in range(N):
                ht[s, j] = math.tanh(at[s, j] + rec[s, j])


@_jit
def rnn_backward(W_hh, H, dH, dA):
    """Backward sweep of one Elman layer.

    dH (T, B, N): gradient of the loss w.r.t. each output h_t coming from
    above (head or next layer).  dA (T, B, N) receives dL/da_t.
    """
    T, B, N = dH.shape
    dh = np.zeros((B, N), dtype=H.dtype)
    for t in range(T - 1, -1, -1):
        ht = H[t + 1]
        dht = dH[t]
        dat = dA[t]
        for s in range(B):
            for j in range(N):
                g = dht[s, j] + dh[s, j]
                dat[s, j] = g * (1.0 - ht[s, j] * ht[s, j])
        np.dot(dat, W_hh, dh)


# --------------------------------------------------------------------------
# LSTM, gate order i, f, g, o
# --------------------------------------------------------------------------


@_jit
def lstm_forward(X, W_ih, W_hh, b, H, C, A):
    """Forward sweep of one LSTM layer.

    H, C (T+1, B, N) receive hidden and cell states (index 0 = initial state);
    A (T, B, 4N) receives the gate activations i, f, g, o.
    """
    T, B, _ = X.shape
    N = W_hh.shape[1]
    input_projection(X, W_ih, b, A)
    rec = np.empty((B, 4 * N), dtype=X.dtype)
    for t in range(T):
        np.dot(H[t], W_hh.T, rec)
        at = A[t]
        cp = C[t]
        ct = C[t + 1]
        ht = H[t + 1]
        for s in range(B):
            for j in range(N):
                i = _sigmoid(at[s, j] + rec[s, j])
                f = _sigmoid(at[s, N + j] + rec[s, N + j])
                g = math.tanh(at[s, 2 * N + j] + rec[s, 2 * N + j])
                o = _sigmoid(at[s, 3 * N + j] + rec[s, 3 * N + j])
                c = f * cp[s, j] + i * g
                at[s, j] = i
                at[s, N + j] = f
                at[s, 2 * N + j] = g
                at[s, 3 * N + j] = o
                ct[s, j] = c
                ht[s, j] = o * math.tanh(c)


@_jit
def lstm_backward(W_hh, C, A, dH, dA):
    """Backward sweep of one LSTM layer.

    dH (T, B, N): gradient w.r.t. each output h_t from above.  dA (T, B, 4N)
    receives the gradients of the gate pre-activations.
    """
    T, B, N = dH.shape
    dh = np.zeros((B, N), dtype=C.dtype)
    dc = np.zeros((B, N), dtype=C.dtype)
    for t in range(T - 1, -1, -1):
        at = A[t]
        dat = dA[t]
        cp = C[t]
        ct = C[t + 1]
        dht = dH[t]
        for s in range(B):
            for j in range(N):
                i = at[s, j]
                f = at[s, N + j]
                g = at[s, 2 * N + j]
                o = at[s, 3 * N + j]
                tc = math.tanh(ct[s, j])
                gh = dht[s, j] + dh[s, j]
                gc = dc[s, j] + gh * o * (1.0 - tc * tc)
                dat[s, j] = gc * g * i * (1.0 - i)
                dat[s, N + j] = gc * cp[s, j] * f * (1.0 - f)
                dat[s, 2 * N + j] = gc * i * (1.0 - g * g)
                dat[s, 3 * N + j] = gh * tc * o * (1.0 - o)
                dc[s, j] = gc * f
        np.dot(dat, W_hh, dh)


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
    for t in range(T):
        hp = H[t]
        np.dot(hp, W_hh.T, rec)
        at = A[t]
        hn = HN[t]
        ht = H[t + 1]
        for s in range(B):
            for j in range(N):
                r = _sigmoid(at[s, j] + rec[s, j] + b_hh[j])
                z = _sigmoid(at[s, N + j] + rec[s, N + j] + b_hh[N + j])
                hnj = rec[s, 2 * N + j] + b_hh[2 * N + j]
                n = math.tanh(at[s, 2 * N + j] + r * hnj)
                at[s, j] = r
                at[s, N + j] = z
                at[s, 2 * N + j] = n
                hn[s, j] = hnj
                ht[s, j] = (1.0 - z) * n + z * hp[s, j]


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
    for t in range(T - 1, -1, -1):
        at = A[t]
        dat = dA[t]
        daht = dAh[t]
        hp = H[t]
        hn = HN[t]
        dht = dH[t]
        for s in range(B):
            for j in range(N):
                r = at[s, j]
                z = at[s, N + j]
                n = at[s, 2 * N + j]
                gh = dht[s, j] + dh[s, j]
                dn = gh * (1.0 - z) * (1.0 - n * n)
                dz = gh * (hp[s, j] - n) * z * (1.0 - z)
                dr = dn * hn[s, j] * r * (1.0 - r)
                dat[s, j] = dr
                dat[s, N + j] = dz
                dat[s, 2 * N + j] = dn
                daht[s, j] = dr
                daht[s, N + j] = dz
                daht[s, 2 * N + j] = dn * r
                dh[s, j] = gh * z  # direct path through the update gate
        np.dot(daht, W_hh, rec)
        for s in range(B):
            for j in range(N):
                dh[s, j] += rec[s, j]


# --------------------------------------------------------------------------
# output head o = c + V z and losses
# --------------------------------------------------------------------------


@_jit
def head_forward(Z, V, c, out):
    """out = Z Vᵀ + c.  Z (B, F), V (O, F), c (O,), out (B, O)."""
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


@_jit
def mse_loss_grad(out, Y, dO):
    """Mean squared error over all samples and outputs; dO receives dL/do."""
    B, O = out.shape
    scale = 1.0 / (B * O)
    loss = 0.0
    for s in range(B):
        for k in range(O):
            e = out[s, k] - Y[s, k]
            loss += e * e
            dO[s, k] = 2.0 * scale * e
    return loss * scale


@_jit
def softmax_xent_loss_grad(out, labels, dO):
    """Mean softmax cross-entropy; labels (B,) int class indices.

    dO receives (softmax(o) - onehot(y)) / B.  Computed with the max shift, so
    large logits neither overflow nor lose the gradient.
    """
    B, O = out.shape
    loss = 0.0
    for s in range(B):
        m = out[s, 0]
        for k in range(1, O):
            if out[s, k] > m:
                m = out[s, k]
        tot = 0.0
        for k in range(O):
            tot += math.exp(out[s, k] - m)
        lse = m + math.log(tot)
        loss += lse - out[s, labels[s]]
        for k in range(O):
            dO[s, k] = math.exp(out[s, k] - lse) / B
        dO[s, labels[s]] -= 1.0 / B
    return loss / B


@_jit
def softmax(out, proba):
    """Row-wise softmax of out (B, O) into proba."""
    B, O = out.shape
    for s in range(B):
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


# --------------------------------------------------------------------------
# regularisation, clipping and optimiser updates on the flat parameter vector
# --------------------------------------------------------------------------


@_jit
def l2_penalty(theta, mask, grad, scale):
    """Add scale/2·Σ mask·θ² to the loss (returned) and scale·mask·θ to grad."""
    pen = 0.0
    for p in range(theta.shape[0]):
        if mask[p]:
            w = theta[p]
            pen += w * w
            grad[p] += scale * w
    return 0.5 * scale * pen


@_jit
def clip_grad_norm(grad, max_norm):
    """Scale grad in place so its global L2 norm is at most max_norm.

    Returns the norm before clipping (as ``torch.nn.utils.clip_grad_norm_``).
    """
    sq = 0.0
    for p in range(grad.shape[0]):
        sq += grad[p] * grad[p]
    norm = math.sqrt(sq)
    coef = max_norm / (norm + 1e-6)
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
        g = grad[p]
        if momentum != 0.0:
            velocity[p] = momentum * velocity[p] + g
            if nesterov:
                g = g + momentum * velocity[p]
            else:
                g = velocity[p]
        theta[p] -= lr * g


@_jit
def adam_update(theta, grad, m, v, lr, beta1, beta2, eps, step):
    """One Adam step (Kingma & Ba; PyTorch's form with bias correction).

    ``step`` is the 1-based number of this update.
    """
    bc1 = 1.0 - beta1**step
    bc2 = 1.0 - beta2**step
    for p in range(theta.shape[0]):
        g = grad[p]
        m[p] = beta1 * m[p] + (1.0 - beta1) * g
        v[p] = beta2 * v[p] + (1.0 - beta2) * g * g
        theta[p] -= lr * (m[p] / bc1) / (math.sqrt(v[p] / bc2) + eps)
