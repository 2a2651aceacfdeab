"""One kernel call per row chunk: the training step of a unidirectional stack, fused.

:func:`tsrnn._graph.loss_and_grad` runs a training step as a dozen kernel calls from
Python (per layer: the forward sweep, the backward sweep, the weight, bias and input
gradients; then the head and the loss), each with its argument dictionary. For the small
networks forecasting uses (one LSTM layer of 32 units, 32-row batches) that Python side
cost about a third of the step (~300 us of ~1.1 ms, 2-core EPYC), held the GIL, and was
paid again for every row chunk, so chunks run on two threads could not be faster.

:func:`chunk_loss_grad` runs the same kernels in the same order with the same buffers, inside
one nopython call that releases the GIL: its loss and gradient are bit-identical to the
graph's (``tests/test_fused.py``). It covers unidirectional stacks of any depth, the three
cells and the regression losses; bidirectional networks and the cross-entropy loss take the
graph (:func:`fused_codes` returns None for them).

Parameter layout (``docs/math.md``, section 5): per layer ``weight_ih (G·N, D_k)``,
``weight_hh (G·N, N)``, then the biases (one for the RNN and LSTM, ``bias_ih`` and
``bias_hh`` for the GRU); then ``head.weight (O, N)`` and ``head.bias (O,)``. ``offs``
(L, 4) holds each layer's offsets of these four tensors in theta (the fourth -1 without a
second bias), ``head`` the offsets of the head's two.
"""

import numpy as np

from . import _kernels as K
from ._kernels import _jit
from ._registry import CELLS, LOSSES

# The sweeps and the loss are chosen by the registry's codes (``Cell.fused``,
# ``Loss.fused``): strings and kernels passed as arguments do not cross the JIT boundary
# (a kernel argument would also defeat the on-disk cache).


@_jit
def _layer_forward(sweep, X, theta, o, H, C, A, HN):
    """Forward sweep of one layer (the cell's kernel, parameters viewed from theta)."""
    GN, D, N = A.shape[2], X.shape[2], H.shape[2]
    W_ih = theta[o[0] : o[0] + GN * D].reshape((GN, D))
    W_hh = theta[o[1] : o[1] + GN * N].reshape((GN, N))
    b = theta[o[2] : o[2] + GN]
    if sweep == 0:  # rnn
        K.rnn_forward(X, W_ih, W_hh, b, H, A)
    elif sweep == 1:  # lstm
        K.lstm_forward(X, W_ih, W_hh, b, H, C, A)
    else:  # gru
        K.gru_forward(X, W_ih, W_hh, b, theta[o[3] : o[3] + GN], H, A, HN)


@_jit
def _layer_backward(sweep, X, theta, grad, o, H, C, A, HN, dH, dA, dAh, dX, below):
    """Backward sweep of one layer and its parameter (and, if ``below``, input) gradients."""
    GN, D, N = A.shape[2], X.shape[2], H.shape[2]
    W_hh = theta[o[1] : o[1] + GN * N].reshape((GN, N))
    if sweep == 0:  # rnn
        K.rnn_backward(W_hh, H, dH, dA)
    elif sweep == 1:  # lstm
        K.lstm_backward(W_hh, C, A, dH, dA)
    else:  # gru
        K.gru_backward(W_hh, H, A, HN, dH, dA, dAh)
    dW_ih = grad[o[0] : o[0] + GN * D].reshape((GN, D))
    dW_hh = grad[o[1] : o[1] + GN * N].reshape((GN, N))
    K.weight_gradients(X, H, dA, dAh, dW_ih, dW_hh)
    K.bias_gradient(dA, grad[o[2] : o[2] + GN])
    if sweep == 2:  # the GRU's recurrent-side bias
        K.bias_gradient(dAh, grad[o[3] : o[3] + GN])
    if below:
        K.input_gradient(dA, theta[o[0] : o[0] + GN * D].reshape((GN, D)), dX)


@_jit
def chunk_loss_grad(
    sweep, objective, Xb, Y, taus, theta, grad, offs, head, n_total,
    Xt, H, C, A, HN, dA, dAh, dH, Z, out, dO, dZ,
):  # fmt: skip
    """Loss of a row chunk and its gradient, written into ``grad`` (every entry).

    Parameters
    ----------
    sweep, objective : int
        The cell's and the loss's registry codes (``Cell.fused``, ``Loss.fused``).
    Xb : ndarray (B, T, D)
        The chunk's input rows (batch first, the model dtype).
    Y : ndarray (B, O)
        Targets (for the quantile loss each repeated Q times, as the graph takes them).
    taus : float64 ndarray (Q,)
        Quantile levels (any array for the other losses).
    theta, grad : ndarray (n_params,)
    offs : int64 ndarray (L, 4); head : int64 ndarray (2,)
        Offsets of the layers' and the head's tensors (module docstring).
    n_total : int
        Rows of the whole mini-batch (the mean is over them).
    Xt, H, C, A, HN, dA, dAh, dH, Z, out, dO, dZ : ndarray
        The workspace: Xt (T, B, D); per layer H, C (L, T+1, B, N) with H[:, 0] = C[:, 0] = 0;
        A, dA (L, T, B, G·N); HN, dH (L, T, B, N); dAh the same array as dA except for the GRU;
        C (LSTM) and HN (GRU) may be (L, 1, 1, 1) for the other cells; Z, dZ (B, N);
        out, dO (B, O).

    Returns
    -------
    float
        The chunk's share of the mini-batch loss (the graph's ``loss_and_grad``).
    """
    B, T, D = Xb.shape
    L = offs.shape[0]
    O, N = out.shape[1], H.shape[3]
    for t in range(T):
        xt = Xt[t]
        for s in range(B):
            for d in range(D):
                xt[s, d] = Xb[s, t, d]
    for k in range(L):
        X = Xt if k == 0 else H[k - 1, 1:]
        _layer_forward(sweep, X, theta, offs[k], H[k], C[k], A[k], HN[k])
    Z[:] = H[L - 1, T]
    V = theta[head[0] : head[0] + O * N].reshape((O, N))
    K.head_forward(Z, V, theta[head[1] : head[1] + O], out, False)
    if objective == 0:  # mse
        value = K.mse_loss_grad(out, Y, dO, n_total)
    elif objective == 1:  # mae
        value = K.mae_loss_grad(out, Y, dO, n_total)
    else:  # quantile
        value = K.quantile_loss_grad(out, Y, taus, dO, n_total)
    dV = grad[head[0] : head[0] + O * N].reshape((O, N))
    K.head_backward(Z, V, dO, dV, grad[head[1] : head[1] + O], dZ)
    top = dH[L - 1]
    top[: T - 1] = 0.0
    top[T - 1] = dZ
    for k in range(L - 1, -1, -1):
        X = Xt if k == 0 else H[k - 1, 1:]
        below = dH[k - 1] if k > 0 else dH[k]
        _layer_backward(
            sweep, X, theta, grad, offs[k], H[k], C[k], A[k], HN[k],
            dH[k], dA[k], dAh[k], below, k > 0,
        )  # fmt: skip
    return value


def fused_codes(spec, loss_name):
    """(cell code, loss code) when :func:`chunk_loss_grad` runs this network and loss, else None."""
    entry = LOSSES.get(loss_name)
    if spec.bidirectional or entry is None or entry.fused is None:
        return None
    return CELLS[spec.cell].fused, entry.fused


def offsets(spec):
    """The ``offs`` (L, 4) and ``head`` (2,) int64 arrays of :func:`chunk_loss_grad`."""
    biases = CELLS[spec.cell].biases  # ('bias',) or ('bias_ih', 'bias_hh')
    offs = np.full((spec.num_layers, 4), -1, dtype=np.int64)
    for k in range(spec.num_layers):
        for j, name in enumerate(("weight_ih", "weight_hh", *biases)):
            offs[k, j] = spec.offsets[f"{name}_l{k}"][0]
    head = np.array([spec.offsets["head.weight"][0], spec.offsets["head.bias"][0]], np.int64)
    return offs, head


class Workspace:
    """The buffers of :func:`chunk_loss_grad` for one chunk shape (reused from call to call)."""

    def __init__(self, spec, T, B, dtype):
        L, N, D, O = spec.num_layers, spec.hidden_size, spec.n_features, spec.n_outputs
        GN = spec.gates * N
        kernels = CELLS[spec.cell].kernels["cpu"]
        state = kernels["forward"].args  # C: the LSTM's cell states, HN: the GRU's W_hn h + b_hn

        def extra(name, shape, make=np.empty):
            return make(shape if name in state else (L, 1, 1, 1), dtype)

        self.Xt = np.empty((T, B, D), dtype)
        self.H = np.zeros((L, T + 1, B, N), dtype)
        self.C = extra("C", (L, T + 1, B, N), np.zeros)
        self.A = np.empty((L, T, B, GN), dtype)
        self.HN = extra("HN", (L, T, B, N))
        self.dA = np.empty((L, T, B, GN), dtype)
        two_sided = "dAh" in kernels["backward"].args  # the GRU's recurrent-side gradients
        self.dAh = np.empty((L, T, B, GN), dtype) if two_sided else self.dA
        self.dH = np.empty((L, T, B, N), dtype)
        self.Z = np.empty((B, N), dtype)
        self.out = np.empty((B, O), dtype)
        self.dO = np.empty((B, O), dtype)
        self.dZ = np.empty((B, N), dtype)
        self.offs, self.head = offsets(spec)

    def run(self, codes, X, Y, taus, theta, grad, n_total):
        """:func:`chunk_loss_grad` on this workspace; returns the chunk's loss."""
        return chunk_loss_grad(
            codes[0], codes[1], X, Y, taus, theta, grad, self.offs, self.head, n_total,
            self.Xt, self.H, self.C, self.A, self.HN, self.dA, self.dAh, self.dH,
            self.Z, self.out, self.dO, self.dZ,
        )  # fmt: skip
