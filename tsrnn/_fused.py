"""One compiled call per training chunk: forward, loss and backward of a one-layer network.

A training mini-batch is cut into row chunks run on a thread pool
(:func:`tsrnn._network.chunk_rows`).  Run through the network graph
(:mod:`tsrnn._graph`), a chunk makes about ten kernel calls, each releasing
and re-taking the GIL, with Python between them; with two threads the
hand-offs of the GIL cost more than the second core gives (the default
forecaster's LSTM of 32 units: two 16-row chunks on two threads were measured
slower than on one).  For the common network -- one layer, one direction --
the chunk's whole step is one call here: the cell's training sweep, the head,
the loss, the backward sweep and the parameter gradients.

These functions call the kernels of :mod:`tsrnn._kernels` in the order the
graph calls them, on the same buffers, so a chunk's loss and gradient are
bit-identical to the graph's (a test checks it for every cell, loss and
dtype).  The loss is chosen by its number (``Loss.code`` of
:mod:`tsrnn._registry`), not compiled in, so each cell compiles once per dtype
(about 10 s, once per machine: the kernels are cached).  The arguments, in
order, are the cell's ``'step'`` entry in the registry.  Every target argument
is passed: the unused one (``Y`` for the cross-entropy, ``labels`` for the
others) and ``taus`` without quantile levels are empty arrays.
"""

import numpy as np

from . import _kernels as K
from ._kernels import _jit


@_jit
def _head_and_loss(Z, V, c, out, dO, dZ, Y, labels, taus, loss_code, n_total, gV, gc):
    """Head output, loss, dL/do and the head's gradients, as the graph computes them."""
    K.head_forward(Z, V, c, out, False)
    if loss_code == 0:
        L = K.mse_loss_grad(out, Y, dO, n_total)
    elif loss_code == 1:
        L = K.mae_loss_grad(out, Y, dO, n_total)
    elif loss_code == 2:
        L = K.quantile_loss_grad(out, Y, taus, dO, n_total)
    else:
        L = K.softmax_xent_loss_grad(out, labels, dO, n_total)
    K.head_backward(Z, V, dO, gV, gc, dZ)
    return L


@_jit
def _top_gradient(dZ, dH):
    """The top gradient: dH = 0 except dH[T-1] = dL/dz (only h_T feeds the head)."""
    T = dH.shape[0]
    dH[: T - 1] = 0.0
    dH[T - 1] = dZ


@_jit
def rnn_step(
    X, W_ih, W_hh, b, H, A, V, c, Z, out, dO, dZ, dH, dA,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb, gV, gc,
):  # fmt: skip
    """Loss of a chunk of a one-layer Elman network; its gradient into the ``g*`` arrays."""
    K.rnn_forward(X, W_ih, W_hh, b, H, A)
    Z[:] = H[X.shape[0]]
    L = _head_and_loss(Z, V, c, out, dO, dZ, Y, labels, taus, loss_code, n_total, gV, gc)
    _top_gradient(dZ, dH)
    K.rnn_backward(W_hh, H, dH, dA)
    K.weight_gradients(X, H, dA, dA, gW_ih, gW_hh)
    K.bias_gradient(dA, gb)
    return L


@_jit
def lstm_step(
    X, W_ih, W_hh, b, H, C, A, V, c, Z, out, dO, dZ, dH, dA,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb, gV, gc,
):  # fmt: skip
    """Loss of a chunk of a one-layer LSTM; its gradient into the ``g*`` arrays."""
    K.lstm_forward(X, W_ih, W_hh, b, H, C, A)
    Z[:] = H[X.shape[0]]
    L = _head_and_loss(Z, V, c, out, dO, dZ, Y, labels, taus, loss_code, n_total, gV, gc)
    _top_gradient(dZ, dH)
    K.lstm_backward(W_hh, C, A, dH, dA)
    K.weight_gradients(X, H, dA, dA, gW_ih, gW_hh)
    K.bias_gradient(dA, gb)
    return L


@_jit
def gru_step(
    X, W_ih, W_hh, b_ih, b_hh, H, A, HN, V, c, Z, out, dO, dZ, dH, dA, dAh,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb_ih, gb_hh, gV, gc,
):  # fmt: skip
    """Loss of a chunk of a one-layer GRU; its gradient into the ``g*`` arrays."""
    K.gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, HN)
    Z[:] = H[X.shape[0]]
    L = _head_and_loss(Z, V, c, out, dO, dZ, Y, labels, taus, loss_code, n_total, gV, gc)
    _top_gradient(dZ, dH)
    K.gru_backward(W_hh, H, A, HN, dH, dA, dAh)
    K.weight_gradients(X, H, dA, dAh, gW_ih, gW_hh)
    K.bias_gradient(dA, gb_ih)
    K.bias_gradient(dAh, gb_hh)
    return L


def empty_targets(dtype):
    """The placeholders of the unused target arguments: (Y, labels, taus)."""
    return np.empty((0, 0), dtype), np.empty(0, np.int64), np.empty(0, np.float64)
