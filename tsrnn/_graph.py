"""The network graph, written once for every device: layers, directions, head.

A network is a stack of recurrent layers, each run in one or two directions,
and a linear head on the final states (``docs/math.md``).  This module loops
over layers and directions, forward and backward, and leaves everything else
to a *backend* and to the registries of :mod:`tsrnn._registry`:

* the cell's sweeps (``forward``, ``backward``, ``infer``) are registry
  kernels, looked up in the backend's kernel module and called with the
  buffers and parameter tensors they name;
* the products and sums around them (head, weight, bias and input gradients)
  and the re-layouts between directions are backend methods.

A backend is an object with ``device`` (``'cpu'`` or ``'cuda'``, the key of
the registries' kernels), ``kernels`` (the module holding them), ``empty`` and
``zeros`` (array allocation), ``preallocate`` (whether a training workspace
allocates its gradient buffers up front rather than after the forward pass)
and the methods of :data:`PRIMITIVES`, with the signatures of
:mod:`tsrnn._cpu`'s.  The CPU backend is :data:`tsrnn._cpu.CPU`,
the CUDA one :data:`tsrnn.cuda._network.CUDA`.

All buffers of a batch shape live in a :class:`Workspace`; the CPU builds one
per call (and per row chunk), the GPU once per batch shape and reuses it.
Buffers of one layer and direction (T steps, B samples, N hidden units,
G gates, D_k inputs of layer k)::

    X (T, B, D_k)   input, in the direction's own time order
    H (T+1, B, N)   states, H[0] the initial state (zero)
    A (T, B, G·N)   gate pre-activations, then activations (training)
    C (T+1, B, N)   LSTM cell states        HN (T, B, N)  GRU W_hn h + b_hn
    dH (T, B, N)    dL/dh_t from above      dA, dAh (T, B, G·N)  gate gradients
    dX (T, B, D_k)  dL/dx_t for the layer below        work (B, N)  carried state

Where it costs nothing the buffers alias: layer 0's forward X is the
workspace's input, a unidirectional layer's input is the layer below's
``H[1:]``, its ``dH`` the upper layer's ``dX``, and ``dAh`` is ``dA`` unless
the cell's backward sweep writes both.
"""

from ._registry import CELLS, call

#: Backend methods the graph calls besides the registry kernels.
PRIMITIVES = (
    "head_forward",
    "head_backward",
    "weight_gradients",
    "bias_gradient",
    "input_gradient",
    "reverse_time",
    "concat_directions",
    "final_state",
    "top_grad",
    "split_directions",
    "merge_directions",
)

_PARAMETERS = ("weight_ih", "weight_hh", "bias", "bias_ih", "bias_hh")
_ZEROED = ("H", "C")  # index 0 is the initial state: read, never written


def _shape(name, T, B, N, GN, D):
    return {
        "X": (T, B, D),
        "H": (T + 1, B, N),
        "C": (T + 1, B, N),
        "A": (T, B, GN),
        "HN": (T, B, N),
        "dH": (T, B, N),
        "dA": (T, B, GN),
        "dAh": (T, B, GN),
        "dX": (T, B, D),
        "work": (B, N),
    }[name]


def _buffer_args(kernel):
    return [a for a in kernel.args if a not in _PARAMETERS]


class Workspace:
    """Buffers of one batch shape on one backend.

    Parameters
    ----------
    spec : NetworkSpec
    backend : backend object (see the module docstring)
    T, B : int
        Time steps and batch size.
    dtype : numpy dtype
        float32 or float64.
    train : bool, default=True
        Run the training forward (keeping what the backward sweep needs) and
        allocate the gradient buffers (up front if ``backend.preallocate``,
        else when the backward pass first needs them); otherwise the cell's
        ``infer`` kernel.
    X : array of shape (T, B, D), optional
        The time-major input to use as is; allocated (for the caller to fill)
        when omitted.
    target : tsrnn._registry.Loss, optional
        Allocate the loss target buffer, ``Y`` (B, O) or ``labels`` (B,) int64.

    Attributes
    ----------
    X : array (T, B, D)
        The time-major input batch.
    layers : list of list of dict
        ``layers[k][d]``: the buffers of layer k, direction d.
    Z, out, dO, dZ : arrays
        Head input (B, N·dirs), output (B, O) and their gradients.
    dX : array (T, B, D)
        After :func:`backward` with ``input_grad``: dL/dx in the user's time order.
    """

    def __init__(self, spec, backend, T, B, dtype, train=True, X=None, target=None):
        self.spec, self.backend, self.T, self.B, self.dtype = spec, backend, T, B, dtype
        self.cell = CELLS[spec.cell]
        self.train = train
        self.role = "forward" if train else "infer"
        self._kernels = self.cell.kernels[backend.device]
        N, dirs = spec.hidden_size, spec.n_directions
        self.X = backend.empty((T, B, spec.n_features), dtype) if X is None else X
        self.layers = []
        inp = self.X
        for k in range(spec.num_layers):
            bufs = []
            for d in range(dirs):
                buf = {"X": inp if d == 0 else self._alloc("X", k)}
                for name in _buffer_args(self._kernels[self.role]):
                    if name not in buf:
                        buf[name] = self._alloc(name, k)
                bufs.append(buf)
            self.layers.append(bufs)
            if k + 1 < spec.num_layers:  # the next layer's input sequence
                inp = backend.empty((T, B, 2 * N), dtype) if dirs == 2 else bufs[0]["H"][1:]
        self.Z = backend.empty((B, N * dirs), dtype)
        self.out = backend.empty((B, spec.n_outputs), dtype)
        self._input_grad = False
        self._gradients = False
        if train and backend.preallocate:
            self.allocate_gradients()
        if target is not None:
            shape = (B,) if target.integer_target else (B, spec.n_outputs)
            setattr(self, target.target, backend.empty(shape, target.target_dtype(dtype)))

    def _alloc(self, name, k):
        spec = self.spec
        N = spec.hidden_size
        shape = _shape(name, self.T, self.B, N, spec.gates * N, spec.layer_input_size(k))
        top = k == spec.num_layers - 1
        if name == "H" and top and not self.train and self.backend.final_states_only:
            shape = (2,) + shape[1:]  # the initial and the final state: all the head reads
        make = self.backend.zeros if name in _ZEROED else self.backend.empty
        return make(shape, self.dtype)

    def allocate_gradients(self, input_grad=False):
        """Allocate the backward sweep's buffers (once); ``input_grad`` adds dL/dx."""
        spec, backend = self.spec, self.backend
        if not self._gradients:
            names = _buffer_args(self._kernels["backward"])
            for k in range(spec.num_layers - 1, -1, -1):
                upper = self.layers[k + 1] if k + 1 < spec.num_layers else None
                for buf in self.layers[k]:
                    buf["dA"] = self._alloc("dA", k)
                    buf["dAh"] = self._alloc("dAh", k) if "dAh" in names else buf["dA"]
                    for name in names:
                        if name not in buf and name != "dH":
                            buf[name] = self._alloc(name, k)
                    if k > 0:
                        buf["dX"] = self._alloc("dX", k)
                    if upper is not None and not spec.bidirectional:
                        buf["dH"] = upper[0]["dX"]  # no copy: the layer above writes it
                    else:
                        buf["dH"] = self._alloc("dH", k)
            self.dO = backend.empty((self.B, spec.n_outputs), self.dtype)
            self.dZ = backend.empty((self.B, spec.hidden_size * spec.n_directions), self.dtype)
            self._gradients = True
        if input_grad and not self._input_grad:
            bottom = self.layers[0]
            for buf in bottom:
                buf["dX"] = self._alloc("dX", 0)
            self.dX = bottom[0]["dX"] if len(bottom) == 1 else self._alloc("dX", 0)
            self._input_grad = True

    def __getitem__(self, key):
        # the dict interface of the CPU network's former forward cache ("Z", "layers")
        return getattr(self, key)


def layer_values(P, k, sfx, buf):
    """A layer/direction's kernel arguments: its buffers and its parameter tensors."""
    values = dict(buf)
    for name in _PARAMETERS:
        key = f"{name}_l{k}{sfx}"
        if key in P:
            values[name] = P[key]
    return values


def forward(spec, P, ws):
    """Network output o = c + V z of the batch in ``ws.X`` into ``ws.out``.

    ``P``: named views of the parameters (:func:`tsrnn._network.unpack` or its
    device twin).  Every state the backward sweep needs stays in ``ws``.
    """
    backend = ws.backend
    kernel = ws._kernels[ws.role]
    for k, bufs in enumerate(ws.layers):
        for d, sfx in enumerate(spec.suffixes()):
            if d == 1:
                backend.reverse_time(bufs[0]["X"], bufs[1]["X"])
            call(backend.kernels, kernel, layer_values(P, k, sfx, bufs[d]))
        if spec.bidirectional and k + 1 < spec.num_layers:
            backend.concat_directions(bufs[0]["H"], bufs[1]["H"], ws.layers[k + 1][0]["X"])
    # z: each direction's final state (the reverse one has seen x_1 last)
    for d, buf in enumerate(ws.layers[-1]):
        backend.final_state(buf["H"], d, ws.Z)
    backend.head_forward(ws.Z, P["head.weight"], P["head.bias"], ws.out, not ws.train)


def backward(spec, P, G, ws, *, from_output=True, param_grads=True, input_grad=False):
    """Backpropagation through time after :func:`forward` on ``ws``.

    Parameters
    ----------
    spec : NetworkSpec
    P, G : dict
        Named views of the parameters and of the gradient written (G may be
        None without ``param_grads``).
    ws : Workspace
        After a training forward; ``ws.dO`` holds dL/do (or, without
        ``from_output``, ``ws.dZ`` holds dL/dz and the head is skipped).
    param_grads : bool, default=True
        Compute the parameter gradients; without, only the recurrent sweeps
        and the input gradients run (the diagnostics' Jacobians).
    input_grad : bool, default=False
        Also compute dL/dx of the bottom layer into ``ws.dX`` (T, B, D), in
        the user's time order.
    """
    if not ws.train:
        raise ValueError("backward needs a workspace of a training forward (train=True)")
    backend = ws.backend
    ws.allocate_gradients(input_grad)
    kernel = ws._kernels["backward"]
    if from_output:
        backend.head_backward(
            ws.Z, P["head.weight"], ws.dO, G["head.weight"], G["head.bias"], ws.dZ
        )
    for d, buf in enumerate(ws.layers[-1]):
        backend.top_grad(ws.dZ, d, buf["dH"])
    for k in range(spec.num_layers - 1, -1, -1):
        bufs = ws.layers[k]
        for d, sfx in enumerate(spec.suffixes()):
            buf = bufs[d]
            call(backend.kernels, kernel, layer_values(P, k, sfx, buf))
            if param_grads:
                backend.weight_gradients(
                    buf["X"],
                    buf["H"],
                    buf["dA"],
                    buf["dAh"],
                    G[f"weight_ih_l{k}{sfx}"],
                    G[f"weight_hh_l{k}{sfx}"],
                )
                for bias, source in ws.cell.bias_grads:
                    backend.bias_gradient(buf[source], G[f"{bias}_l{k}{sfx}"])
            if k > 0 or input_grad:
                backend.input_gradient(buf["dA"], P[f"weight_ih_l{k}{sfx}"], buf["dX"])
        if k > 0 and spec.bidirectional:
            lower = ws.layers[k - 1]
            backend.split_directions(bufs[0]["dX"], bufs[1]["dX"], lower[0]["dH"], lower[1]["dH"])
        # unidirectional: the lower layer's dH *is* this layer's dX
    if input_grad and spec.bidirectional:
        bottom = ws.layers[0]
        backend.merge_directions(bottom[0]["dX"], bottom[1]["dX"], ws.dX)


def loss_and_grad(spec, P, G, ws, loss, target, n_total, res=None, taus=None):
    """Forward, loss and backward of the batch in ``ws``.

    ``loss`` is a :class:`tsrnn._registry.Loss`, ``target`` the batch's
    ``Y`` or ``labels``, ``n_total`` the number of samples the mean is over
    (the whole mini-batch when ``ws`` holds a row chunk of it), ``taus`` the
    quantile levels (a float array on the backend's device) of a loss that
    takes them (``loss.takes_levels``).  Returns what
    the loss kernel returns: the loss on the CPU; on CUDA None, the loss
    being written into ``res``.
    """
    forward(spec, P, ws)
    ws.allocate_gradients()
    values = {"out": ws.out, loss.target: target, "dO": ws.dO, "n_total": n_total, "res": res}
    values["taus"] = taus
    L = call(ws.backend.kernels, loss.kernels[ws.backend.device]["loss"], values)
    backward(spec, P, G, ws)
    return L
