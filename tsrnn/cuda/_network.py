"""The recurrent network on the device: the twin of :mod:`tsrnn._network`.

The same layer and direction loops as the CPU network, calling the ``gpu_``
launchers of :mod:`tsrnn.cuda._kernels` on device arrays.  Where the CPU
network allocates its caches per batch, the device network writes into a
:class:`Workspace` allocated once per batch shape and reused for every batch
of a fit, so a training step allocates no device memory.

Parameters live in one flat device vector ``theta``; :func:`unpack` gives the
same named views as :func:`tsrnn._network.unpack`, as device arrays.
"""

import numpy as np
from numba import cuda

from .. import _network as net
from . import _kernels as K


def unpack(spec, theta):
    """Named device views (no copies) into the flat device parameter vector."""
    return {
        name: theta[start:stop].reshape(shape)
        for name, (start, stop, shape) in spec.offsets.items()
    }


class Workspace:
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
        ``layers[k][d]``: the buffers of layer k, direction d (``X``, ``H``,
        ``A``, ``C``, ``HN``, and for training ``dH``, ``dA``, ``dAh``,
        ``dX``, ``work``).
    Z, out, dO, dZ : device arrays
        Head input (B, N·dirs), output (B, O) and their gradients.
    """

    def __init__(self, spec, T, B, dtype, loss="mse", train=True):
        self.T, self.B, self.dtype = T, B, np.dtype(dtype)
        N, dirs = spec.hidden_size, spec.n_directions
        zeros = lambda *shape: cuda.to_device(np.zeros(shape, dtype=self.dtype))  # noqa: E731
        empty = lambda *shape: cuda.device_array(shape, dtype=self.dtype)  # noqa: E731
        self.X = empty(T, B, spec.n_features)
        self.layers = []
        inp = self.X
        for k in range(spec.num_layers):
            D = spec.layer_input_size(k)
            bufs = []
            for d in range(dirs):
                buf = {"X": inp if d == 0 else empty(T, B, D)}
                buf["H"] = zeros(T + 1, B, N)  # H[0] = 0 is never written
                buf["A"] = empty(T, B, spec.gates * N)
                if spec.cell == "lstm":
                    buf["C"] = zeros(T + 1, B, N)
                if spec.cell == "gru":
                    buf["HN"] = empty(T, B, N)
                if train:
                    self._add_training_buffers(spec, k, buf, empty)
                bufs.append(buf)
            self.layers.append(bufs)
            if k + 1 < spec.num_layers:  # the next layer's input sequence
                inp = empty(T, B, 2 * N) if dirs == 2 else bufs[0]["H"][1:]
                bufs[0]["next_input"] = inp
        self.Z = empty(B, N * dirs)
        self.out = empty(B, spec.n_outputs)
        if train:
            self._link_gradients(spec, empty)
            self.dO = empty(B, spec.n_outputs)
            self.dZ = empty(B, N * dirs)
        if loss == "xent":
            self.labels = cuda.device_array(B, dtype=np.int64)
        else:
            self.Y = empty(B, spec.n_outputs)

    @staticmethod
    def _add_training_buffers(spec, k, buf, empty):
        T, B, GN = buf["A"].shape
        N = spec.hidden_size
        buf["dA"] = empty(T, B, GN)
        buf["dAh"] = empty(T, B, GN) if spec.cell == "gru" else buf["dA"]
        buf["work"] = empty(B, N)
        if k > 0:
            buf["dX"] = empty(T, B, spec.layer_input_size(k))

    def _link_gradients(self, spec, empty):
        """dH of each layer: its own buffer, except that a unidirectional layer
        below another reads the upper layer's dX directly (no copy)."""
        T, B, N = self.T, self.B, spec.hidden_size
        for k in range(spec.num_layers - 1, -1, -1):
            for d, buf in enumerate(self.layers[k]):
                upper = self.layers[k + 1] if k + 1 < spec.num_layers else None
                if upper is not None and not spec.bidirectional:
                    buf["dH"] = upper[0]["dX"]
                else:
                    buf["dH"] = empty(T, B, N)


class WorkspaceCache:
    """Workspaces by batch size (a fit sees one or two: full and last batch)."""

    def __init__(self, spec, dtype, loss, train):
        self.spec, self.dtype, self.loss, self.train = spec, np.dtype(dtype), loss, train
        self._by_shape = {}

    def get(self, T, B):
        ws = self._by_shape.get((T, B))
        if ws is None:
            if len(self._by_shape) >= 4:  # a new T: drop the old shapes
                self._by_shape.clear()
            ws = Workspace(self.spec, T, B, self.dtype, self.loss, self.train)
            self._by_shape[(T, B)] = ws
        return ws


# --------------------------------------------------------------------------
# forward and backward
# --------------------------------------------------------------------------


def _layer_forward(spec, P, k, sfx, buf):
    """Run one layer in one direction on buf['X'] (its own time order)."""
    W_ih, W_hh = P[f"weight_ih_l{k}{sfx}"], P[f"weight_hh_l{k}{sfx}"]
    X, H, A = buf["X"], buf["H"], buf["A"]
    if spec.cell == "rnn":
        K.gpu_rnn_forward(X, W_ih, W_hh, P[f"bias_l{k}{sfx}"], H, A)
    elif spec.cell == "lstm":
        K.gpu_lstm_forward(X, W_ih, W_hh, P[f"bias_l{k}{sfx}"], H, buf["C"], A)
    else:
        b_ih, b_hh = P[f"bias_ih_l{k}{sfx}"], P[f"bias_hh_l{k}{sfx}"]
        K.gpu_gru_forward(X, W_ih, W_hh, b_ih, b_hh, H, A, buf["HN"])


def _layer_backward(spec, P, G, k, sfx, buf, need_dx):
    """Backward sweep of one layer/direction; writes gradients into views G."""
    W_ih, W_hh = P[f"weight_ih_l{k}{sfx}"], P[f"weight_hh_l{k}{sfx}"]
    X, H, A, dH, dA, dAh = buf["X"], buf["H"], buf["A"], buf["dH"], buf["dA"], buf["dAh"]
    if spec.cell == "rnn":
        K.gpu_rnn_backward(W_hh, H, dH, dA)
    elif spec.cell == "lstm":
        K.gpu_lstm_backward(W_hh, buf["C"], A, dH, dA, buf["work"])
    else:
        K.gpu_gru_backward(W_hh, H, A, buf["HN"], dH, dA, dAh, buf["work"])
    K.gpu_weight_gradients(X, H, dA, dAh, G[f"weight_ih_l{k}{sfx}"], G[f"weight_hh_l{k}{sfx}"])
    if spec.cell == "gru":
        K.gpu_bias_gradient(dA, G[f"bias_ih_l{k}{sfx}"])
        K.gpu_bias_gradient(dAh, G[f"bias_hh_l{k}{sfx}"])
    else:
        K.gpu_bias_gradient(dA, G[f"bias_l{k}{sfx}"])
    if need_dx:
        K.gpu_input_gradient(dA, W_ih, buf["dX"])


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
    for k, bufs in enumerate(ws.layers):
        for d, sfx in enumerate(spec.suffixes()):
            if d == 1:
                K.gpu_reverse_time(bufs[0]["X"], bufs[1]["X"])
            _layer_forward(spec, P, k, sfx, bufs[d])
        if spec.bidirectional and k + 1 < spec.num_layers:
            K.gpu_concat_directions(bufs[0]["H"], bufs[1]["H"], bufs[0]["next_input"])
    # z: each direction's final state (the reverse one has seen x_1 last)
    for d, buf in enumerate(ws.layers[-1]):
        K.gpu_final_state(buf["H"], d, ws.Z)
    K.gpu_head_forward(ws.Z, P["head.weight"], P["head.bias"], ws.out)


def backward(spec, P, G, ws):
    """Gradient of the loss w.r.t. theta into the device views G, given ``ws.dO``."""
    K.gpu_head_backward(ws.Z, P["head.weight"], ws.dO, G["head.weight"], G["head.bias"], ws.dZ)
    for d, buf in enumerate(ws.layers[-1]):
        K.gpu_top_grad(ws.dZ, d, buf["dH"])
    for k in range(spec.num_layers - 1, -1, -1):
        bufs = ws.layers[k]
        for d, sfx in enumerate(spec.suffixes()):
            _layer_backward(spec, P, G, k, sfx, bufs[d], k > 0)
        if k > 0 and spec.bidirectional:
            lower = ws.layers[k - 1]
            K.gpu_split_directions(bufs[0]["dX"], bufs[1]["dX"], lower[0]["dH"], lower[1]["dH"])
        # unidirectional: the lower layer's dH *is* this layer's dX


def loss_and_grad(spec, P, G, ws, loss, alpha, mask, theta, grad, res):
    """Loss of the batch in ``ws`` and its gradient, all on the device.

    Parameters
    ----------
    ws : Workspace
        ``X`` and the targets (``Y`` or ``labels``) filled by the caller.
    loss : {'mse', 'mae', 'xent'}
    alpha : float
        L2 penalty: + alpha/(2B) Σ W² over weight matrices (not biases).
    mask : device array of bool (n_params,)
        ``spec.weight_mask()``.
    theta, grad : device arrays (n_params,)
        Parameters and the gradient written (``P``, ``G`` are their views).
    res : device array of float64 (2,) or longer
        Receives the data loss in res[0] and the L2 penalty in res[1]; the
        loss is their sum (read back once per batch by the caller).
    """
    forward(spec, P, ws)
    if loss == "mse":
        K.gpu_mse_loss_grad(ws.out, ws.Y, ws.dO, ws.B, res[0:1])
    elif loss == "mae":
        K.gpu_mae_loss_grad(ws.out, ws.Y, ws.dO, ws.B, res[0:1])
    elif loss == "xent":
        K.gpu_softmax_xent_loss_grad(ws.out, ws.labels, ws.dO, ws.B, res[0:1])
    else:
        raise ValueError(f"loss must be one of {net.LOSSES}, got {loss!r}")
    backward(spec, P, G, ws)
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


def host_loss_and_grad(spec, theta, X, y, loss="mse", alpha=0.0):
    """:func:`tsrnn._network.loss_and_grad` computed on the device.

    Takes and returns host arrays: ``(loss, grad)``; for parity checks.
    """
    theta = np.ascontiguousarray(theta)
    X = np.ascontiguousarray(X, dtype=theta.dtype)
    B, T = X.shape[0], X.shape[1]
    theta_d = cuda.to_device(theta)
    grad_d = cuda.device_array_like(theta_d)
    ws = Workspace(spec, T, B, theta.dtype, loss, train=True)
    K.gpu_slice_batch(cuda.to_device(X), 0, ws.X)
    if loss == "xent":
        ws.labels.copy_to_device(np.ascontiguousarray(y, dtype=np.int64))
    else:
        ws.Y.copy_to_device(np.ascontiguousarray(y, dtype=theta.dtype))
    res = cuda.to_device(np.zeros(2))
    mask = cuda.to_device(spec.weight_mask())
    loss_and_grad(
        spec, unpack(spec, theta_d), unpack(spec, grad_d), ws, loss, alpha, mask,
        theta_d, grad_d, res,
    )
    r = res.copy_to_host()
    return float(r[0] + r[1]), grad_d.copy_to_host()


def host_predict(spec, theta, X, batch_size=1024):
    """:func:`tsrnn._network.predict` computed on the device (host arrays)."""
    theta = np.ascontiguousarray(theta)
    X_d = cuda.to_device(np.ascontiguousarray(X, dtype=theta.dtype))
    cache = WorkspaceCache(spec, theta.dtype, "mse", train=False)
    return predict(spec, unpack(spec, cuda.to_device(theta)), X_d, cache, batch_size)
