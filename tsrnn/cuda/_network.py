"""The recurrent network on the device: the CUDA backend of :mod:`tsrnn._graph`.

The layer and direction loop is the graph's, shared with the CPU; this module
supplies the backend (:data:`CUDA`: device allocation, the ``gpu_`` launchers
of :mod:`tsrnn.cuda._kernels`) and the device entry points.  Where the CPU
builds a workspace per batch, the device writes into a :class:`Workspace`
allocated once per batch shape and reused for every batch of a fit, so a
training step allocates no device memory.

Parameters live in one flat device vector ``theta``; :func:`unpack` gives the
same named views as :func:`tsrnn._network.unpack`, as device arrays.
"""

import numpy as np
from numba import cuda

from .. import _graph as graph
from .. import _network as net
from .._registry import LOSSES, lookup
from . import _kernels as K


class CudaBackend:
    """Device arrays and the ``gpu_`` launchers (see :mod:`tsrnn._graph`)."""

    device = "cuda"
    kernels = K
    preallocate = True  # a workspace is allocated once and reused for a whole fit
    final_states_only = False  # the device's inference kernels write every step's states

    head_backward = staticmethod(K.gpu_head_backward)
    weight_gradients = staticmethod(K.gpu_weight_gradients)
    bias_gradient = staticmethod(K.gpu_bias_gradient)
    input_gradient = staticmethod(K.gpu_input_gradient)
    reverse_time = staticmethod(K.gpu_reverse_time)
    concat_directions = staticmethod(K.gpu_concat_directions)
    final_state = staticmethod(K.gpu_final_state)
    top_grad = staticmethod(K.gpu_top_grad)
    split_directions = staticmethod(K.gpu_split_directions)
    merge_directions = staticmethod(K.gpu_merge_directions)

    @staticmethod
    def empty(shape, dtype):
        """An uninitialised device array."""
        return cuda.device_array(shape, dtype=dtype)

    @staticmethod
    def zeros(shape, dtype):
        """A zero-filled device array."""
        return cuda.to_device(np.zeros(shape, dtype=dtype))

    @staticmethod
    def head_forward(Z, V, c, out, batch_invariant=False):
        """Head output out = Z Vᵀ + c (GEMM, never split along K if ``batch_invariant``)."""
        K.gpu_head_forward(Z, V, c, out, not batch_invariant)


CUDA = CudaBackend()


#: Named device views (no copies) into the flat device parameter vector: the
#: CPU's :func:`tsrnn._network.unpack`, which slices device arrays alike.
unpack = net.unpack


class Workspace(graph.Workspace):
    """Device buffers of one batch shape, reused across batches.

    Parameters
    ----------
    spec : NetworkSpec
    T, B : int
        Time steps and batch size.
    dtype : numpy dtype
        float32 or float64.
    loss : {'mse', 'mae', 'xent'}
        Decides the target buffer: ``Y`` (B, O) floats or ``labels`` (B,) int64.
    train : bool
        Also allocate what the backward sweep needs.

    Attributes
    ----------
    X : device array (T, B, D)
        The time-major input batch; callers fill it, :func:`forward` reads it.
    layers : list of list of dict
        ``layers[k][d]``: the buffers of layer k, direction d (see
        :mod:`tsrnn._graph`).
    Z, out, dO, dZ : device arrays
        Head input (B, N·dirs), output (B, O) and their gradients.
    """

    def __init__(self, spec, T, B, dtype, loss="mse", train=True):
        target = lookup(LOSSES, loss, "loss")
        super().__init__(spec, CUDA, T, B, np.dtype(dtype), train=train, target=target)


class WorkspaceCache:
    """Workspaces by batch size (a fit sees one or two: full and last batch)."""

    def __init__(self, spec, dtype, loss, train):
        self.spec, self.dtype, self.loss, self.train = spec, np.dtype(dtype), loss, train
        self._by_shape = {}

    def get(self, T, B):
        """The workspace of batch shape (T, B), allocated on first use."""
        ws = self._by_shape.get((T, B))
        if ws is None:
            if len(self._by_shape) >= 4:  # a new T: drop the old shapes
                self._by_shape.clear()
            ws = Workspace(self.spec, T, B, self.dtype, self.loss, self.train)
            self._by_shape[(T, B)] = ws
        return ws


# --------------------------------------------------------------------------
# forward and backward: the graph on the CUDA backend
# --------------------------------------------------------------------------


def forward(spec, P, ws):
    """Network output o = c + V z of the batch in ``ws.X`` into ``ws.out``.

    Parameters
    ----------
    spec : NetworkSpec
    P : dict of device arrays
        :func:`unpack` of the device parameter vector.
    ws : Workspace
        Its ``X`` (T, B, D) holds the time-major batch.  Every state the
        backward sweep needs stays in ``ws``.
    """
    graph.forward(spec, P, ws)


def backward(spec, P, G, ws):
    """Gradient of the loss w.r.t. theta into the device views G, given ``ws.dO``."""
    graph.backward(spec, P, G, ws)


def loss_and_grad(spec, P, G, ws, loss, alpha, mask, theta, grad, res, taus=None):
    """Loss of the batch in ``ws`` and its gradient, all on the device.

    Parameters
    ----------
    ws : Workspace
        ``X`` and the targets (``Y`` or ``labels``) filled by the caller.
    loss : {'mse', 'mae', 'quantile', 'xent'}
    alpha : float
        L2 penalty: + alpha/(2B) Σ W² over weight matrices (not biases).
    mask : device array of bool (n_params,)
        ``spec.weight_mask()``.
    theta, grad : device arrays (n_params,)
        Parameters and the gradient written (``P``, ``G`` are their views).
    res : device array of float64 (2,) or longer
        Receives the data loss in res[0] and the L2 penalty in res[1]; the
        loss is their sum (read back once per batch by the caller).
    taus : device array of float64, optional
        The quantile levels of ``loss='quantile'``.
    """
    entry = lookup(LOSSES, loss, "loss")
    target = getattr(ws, entry.target)
    graph.loss_and_grad(spec, P, G, ws, entry, target, ws.B, res[0:1], taus=taus)
    if alpha:
        K.gpu_l2_penalty(theta, mask, grad, alpha / ws.B, res[1:2])


def predict(spec, P, X, cache, batch_size=1024):
    """Outputs (host numpy (n, O)) for a device array X (n, T, D), in chunks.

    ``cache`` is a forward-only :class:`WorkspaceCache`.
    """
    n, T = X.shape[0], X.shape[1]
    out = np.empty((n, spec.n_outputs), dtype=cache.dtype)
    for start in range(0, n, batch_size):
        B = min(batch_size, n - start)
        ws = cache.get(T, B)
        K.gpu_slice_batch(X, start, ws.X)
        forward(spec, P, ws)
        out[start : start + B] = ws.out.copy_to_host()
    return out


# --------------------------------------------------------------------------
# host-array convenience (tests and checks): same calls as tsrnn._network
# --------------------------------------------------------------------------


def host_loss_and_grad(spec, theta, X, y, loss="mse", alpha=0.0, quantiles=None):
    """:func:`tsrnn._network.loss_and_grad` computed on the device.

    Takes and returns host arrays: ``(loss, grad)``; for parity checks.
    """
    theta = np.ascontiguousarray(theta)
    X = np.ascontiguousarray(X, dtype=theta.dtype)
    B, T = X.shape[0], X.shape[1]
    entry = lookup(LOSSES, loss, "loss")
    taus = net.quantile_levels(entry, quantiles, spec.n_outputs)
    taus = None if taus is None else cuda.to_device(taus)
    theta_d = cuda.to_device(theta)
    grad_d = cuda.device_array_like(theta_d)
    ws = Workspace(spec, T, B, theta.dtype, loss, train=True)
    K.gpu_slice_batch(cuda.to_device(X), 0, ws.X)
    target = np.ascontiguousarray(y, dtype=entry.target_dtype(theta.dtype))
    getattr(ws, entry.target).copy_to_device(target)
    res = cuda.to_device(np.zeros(2))
    mask = cuda.to_device(spec.weight_mask())
    loss_and_grad(
        spec,
        unpack(spec, theta_d),
        unpack(spec, grad_d),
        ws,
        loss,
        alpha,
        mask,
        theta_d,
        grad_d,
        res,
        taus,
    )
    r = res.copy_to_host()
    return float(r[0] + r[1]), grad_d.copy_to_host()


def host_predict(spec, theta, X, batch_size=1024):
    """:func:`tsrnn._network.predict` computed on the device (host arrays)."""
    theta = np.ascontiguousarray(theta)
    X_d = cuda.to_device(np.ascontiguousarray(X, dtype=theta.dtype))
    cache = WorkspaceCache(spec, theta.dtype, "mse", train=False)
    return predict(spec, unpack(spec, cuda.to_device(theta)), X_d, cache, batch_size)
