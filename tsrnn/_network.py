"""The recurrent network: its specification and parameters, and its CPU entry points.

:class:`NetworkSpec` and the parameter layout (``docs/math.md``) are device
independent, as are :func:`init_params` and the weight exchange in PyTorch's
``state_dict`` naming.  :func:`forward`, :func:`backward`,
:func:`loss_and_grad` and :func:`predict` run the network graph
(:mod:`tsrnn._graph`, the layer and direction loop written once for every
device) on the CPU backend (:mod:`tsrnn._cpu`) with host arrays; the CUDA
entry points are in :mod:`tsrnn.cuda._network`.  Nothing here knows
scikit-learn.

All parameters live in one flat vector ``theta`` (as scikit-learn's MLP packs
them), so optimisers, gradient clipping and weight decay are single loops, and
a CUDA backend can hold the whole model in one device array.  Named views into
``theta`` follow PyTorch's ``state_dict`` names.
"""

import threading
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import _fused, _fused_stack
from . import _graph as graph
from . import _kernels as K
from ._cpu import CPU
from ._registry import CELLS, lookup
from ._registry import LOSSES as _LOSS_REGISTRY

GATES = {name: cell.gates for name, cell in CELLS.items()}
LOSSES = tuple(_LOSS_REGISTRY)


@dataclass(frozen=True)
class NetworkSpec:
    """Architecture of a recurrent network with a linear head.

    Parameters
    ----------
    cell : {'rnn', 'lstm', 'gru'}
        Recurrent cell.
    n_features : int
        Input features per time step (D).
    hidden_size : int
        Units per layer and direction (N).
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Whether each layer also runs a reverse direction.
    n_outputs : int, default=1
        Outputs of the head (O): horizon steps, or classes.
    """

    cell: str
    n_features: int
    hidden_size: int
    num_layers: int = 1
    bidirectional: bool = False
    n_outputs: int = 1

    def __post_init__(self):
        if self.cell not in GATES:
            raise ValueError(f"cell must be one of {sorted(GATES)}, got {self.cell!r}")
        for name in ("n_features", "hidden_size", "num_layers", "n_outputs"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")

    @property
    def gates(self):
        return GATES[self.cell]

    @property
    def n_directions(self):
        return 2 if self.bidirectional else 1

    def layer_input_size(self, k):
        return self.n_features if k == 0 else self.hidden_size * self.n_directions

    def suffixes(self):
        return ("", "_reverse") if self.bidirectional else ("",)

    @cached_property
    def layout(self):
        """Ordered ``(name, shape, is_weight)`` of every learnable tensor."""
        GN, N = self.gates * self.hidden_size, self.hidden_size
        entries = []
        for k in range(self.num_layers):
            D = self.layer_input_size(k)
            for sfx in self.suffixes():
                entries.append((f"weight_ih_l{k}{sfx}", (GN, D), True))
                entries.append((f"weight_hh_l{k}{sfx}", (GN, N), True))
                for bias in CELLS[self.cell].biases:
                    entries.append((f"{bias}_l{k}{sfx}", (GN,), False))
        F = N * self.n_directions
        entries.append(("head.weight", (self.n_outputs, F), True))
        entries.append(("head.bias", (self.n_outputs,), False))
        return tuple(entries)

    @cached_property
    def offsets(self):
        """Map name -> (start, stop, shape) in the flat parameter vector."""
        out, pos = {}, 0
        for name, shape, _ in self.layout:
            size = int(np.prod(shape))
            out[name] = (pos, pos + size, shape)
            pos += size
        return out

    @cached_property
    def n_params(self):
        """Number of learnable parameters, head included."""
        return sum(int(np.prod(shape)) for _, shape, _ in self.layout)

    @cached_property
    def n_recurrent_params(self):
        """Learnable parameters of the recurrent layers only (head excluded)."""
        return self.n_params - self.n_outputs * (self.hidden_size * self.n_directions + 1)

    def weight_mask(self):
        """Boolean vector, True where theta holds a weight (L2 applies), False for biases."""
        mask = np.zeros(self.n_params, dtype=np.bool_)
        for name, _, is_weight in self.layout:
            start, stop, _ = self.offsets[name]
            mask[start:stop] = is_weight
        return mask


def unpack(spec, theta):
    """Named views (no copies) into the flat parameter vector."""
    return {
        name: theta[start:stop].reshape(shape)
        for name, (start, stop, shape) in spec.offsets.items()
    }


def init_params(spec, rng, dtype=np.float64):
    """PyTorch's initialisation: every recurrent tensor uniform(±1/√N).

    The head follows ``nn.Linear``: uniform(±1/√fan_in), fan_in = N·dirs.
    ``rng`` is a :class:`numpy.random.Generator`; values are drawn in float64
    and cast, so float32 and float64 models start from the same weights.
    """
    theta = np.empty(spec.n_params, dtype=np.float64)
    k_rec = 1.0 / np.sqrt(spec.hidden_size)
    k_head = 1.0 / np.sqrt(spec.hidden_size * spec.n_directions)
    for name, (start, stop, _) in spec.offsets.items():
        k = k_head if name.startswith("head.") else k_rec
        theta[start:stop] = rng.uniform(-k, k, size=stop - start)
    return theta.astype(dtype)


# --------------------------------------------------------------------------
# forward and backward on the CPU (the graph of tsrnn._graph, CPU backend)
# --------------------------------------------------------------------------


def to_time_major(X, dtype):
    """(B, T, D) user layout -> contiguous (T, B, D) in the model's dtype."""
    return np.ascontiguousarray(np.transpose(X, (1, 0, 2)), dtype=dtype)


def _workspace(spec, theta, X, train):
    inp = to_time_major(X, theta.dtype)
    T, B, _ = inp.shape
    return graph.Workspace(spec, CPU, T, B, theta.dtype, train=train, X=inp)


def forward(spec, theta, X, keep_cache=False):
    """Network output o = c + V z for a batch.

    Parameters
    ----------
    spec : NetworkSpec
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (B, T, D)
        Batch in the user layout; converted to time-major in theta's dtype.
    keep_cache : bool
        Keep what the backward sweep needs (the training path, BLAS products).
        Without it the fused inference kernels run: nothing but the states is
        stored, and every sample is computed with the same arithmetic, so its
        output does not depend on the other samples of the batch or on its
        position (see :func:`tsrnn._kernels.accumulate_rows`).

    Returns
    -------
    out : ndarray of shape (B, O)
    cache : tsrnn._graph.Workspace or None
        The buffers for :func:`backward` (``cache["Z"]`` is the head input z).
    """
    ws = _workspace(spec, theta, X, keep_cache)
    graph.forward(spec, unpack(spec, theta), ws)
    return ws.out, (ws if keep_cache else None)


def backward(spec, theta, cache, dO):
    """Gradient of the loss w.r.t. theta, given dL/do (B, O)."""
    grad = np.empty_like(theta)
    cache.allocate_gradients()
    cache.dO[...] = dO
    graph.backward(spec, unpack(spec, theta), unpack(spec, grad), cache)
    return grad


def input_gradient(spec, theta, X, dZ):
    """Rows ``dZ[b] · ∂z_b/∂x_{b,t}`` for every sample and step: the input Jacobian.

    One backward sweep without the parameter gradients (the diagnostics).

    Parameters
    ----------
    spec : NetworkSpec
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (B, T, D)
    dZ : ndarray of shape (B, N·dirs)
        Cotangent of each sample's head input z.

    Returns
    -------
    dX : ndarray of shape (T, B, D)
        Time-major, in the user's time order.
    """
    ws = _workspace(spec, theta, X, True)
    P = unpack(spec, theta)
    graph.forward(spec, P, ws)
    ws.allocate_gradients(input_grad=True)
    ws.dZ[...] = dZ
    graph.backward(spec, P, None, ws, from_output=False, param_grads=False, input_grad=True)
    return ws.dX


# How a training mini-batch is cut into row chunks, one task of the thread pool each.  The
# partition depends only on the batch and the network (chunk_rows), never on the number of
# threads, so every bit of a loss and gradient is the same with any pool size: the chunks'
# sums are added in chunk order.
#
# The rule: chunks of 32 rows (STANDARD_CHUNK_ROWS), except that a batch of at most 32 rows
# is cut into chunks of 16 (CHUNK_ROWS) when the recurrent layers have at least
# SPLIT_MIN_WORK parameters (spec.n_recurrent_params, about the multiply-adds per row and
# time step; 4,608 for the forecaster's default LSTM of 32 units on 3 features, 3,552 for a
# GRU of 32).  Every chunk is one compiled call (tsrnn._fused, tsrnn._fused_stack); below
# the threshold the split costs more CPU time than a second thread gives back.  Measured
# (2-core EPYC, 2026-11-30): the default LSTM in two 16-row chunks through the graph's
# Python layer loop was slower on two threads than on one (1,380 against 1,200 us a batch);
# as fused steps the same chunks reach the speedups in the README ("The forecaster by thread
# count").  Deeper and bidirectional networks had a threshold of 16,384 while their chunks
# ran that loop; as stack steps (2026-12-01, 2-core EPYC Zen 4, batch 32, two epochs of
# 8,192 windows) a bidirectional GRU of 32, an RNN of 64 in 2 layers and an LSTM of 16 in 3
# layers fit 1.5-1.8x faster on two threads in 16-row chunks than in one 32-row chunk, and
# no slower on one thread.  Results remain independent of the thread count, and a fused step
# gives the graph's bits.
#
# CHUNK_ROWS is the smallest chunk: thread pools are sized in its units.
CHUNK_ROWS = 16
STANDARD_CHUNK_ROWS = 32
SPLIT_MIN_WORK = 3072
PREDICT_CHUNK_ROWS = 256


def chunk_rows(spec, batch_rows):
    """Rows per thread-pool task for a training batch of ``batch_rows`` rows of ``spec``.

    Never depends on the number of threads (see the rule above), so results do not either.
    """
    if batch_rows <= STANDARD_CHUNK_ROWS and spec.n_recurrent_params >= SPLIT_MIN_WORK:
        return CHUNK_ROWS
    return STANDARD_CHUNK_ROWS


def _row_chunks(n, size):
    return [(lo, min(lo + size, n)) for lo in range(0, n, size)]


def _map(executor, fn, items):
    """``[fn(item) for item in items]``, shared by the calling thread and ``executor``'s.

    The calling thread takes items too (it would otherwise only wait), so a pool of
    ``n - 1`` threads runs ``n`` items at once, with one hand-off between threads fewer per
    batch (each costs tens of microseconds against a ~1 ms step). Items are taken in order;
    each result is stored at its item's index, so the result does not depend on which thread
    ran what. The first error (in item order) is raised once every thread has stopped.
    """
    if executor is None or len(items) == 1:
        return [fn(item) for item in items]
    results = [None] * len(items)
    errors = {}
    order = iter(range(len(items)))
    lock = threading.Lock()
    stop = threading.Event()

    def drain():
        while True:
            with lock:
                i = None if errors or stop.is_set() else next(order, None)
            if i is None:
                return
            try:
                results[i] = fn(items[i])
            except BaseException as exc:
                with lock:
                    errors[i] = exc
                return

    n_helpers = min(getattr(executor, "_max_workers", 1), len(items) - 1)
    futures = []
    try:
        for _ in range(n_helpers):
            futures.append(executor.submit(drain))
        drain()
        for future in futures:
            future.result()
    except BaseException:
        # e.g. Ctrl-C landing here, maybe inside submit: no helper takes another item, and one
        # still queued (perhaps with no thread started to run it) is cancelled, never waited for
        stop.set()
        for future in futures:
            if not future.cancel():
                future.exception()  # waits for the running one; its errors are in ``errors``
        raise
    if errors:
        raise errors[min(errors)]
    return results


_reuse = threading.local()


def _thread_workspace(spec, theta, T, B):
    """The training workspace of the calling thread for ``B`` sequences of ``T`` steps.

    Reused from batch to batch (one per thread, replaced when the shape
    changes): a training step then allocates nothing, like the device's.
    Every buffer is written before it is read, so reuse changes no result.
    """
    key = (spec, T, B, theta.dtype)
    cached = getattr(_reuse, "workspace", None)
    if cached is None or cached[0] != key:
        cached = (key, graph.Workspace(spec, CPU, T, B, theta.dtype, train=True))
        _reuse.workspace = cached
    return cached[1]


def _training_workspace(spec, theta, X):
    """The calling thread's training workspace for the batch ``X`` (B, T, D), filled with it."""
    ws = _thread_workspace(spec, theta, X.shape[1], X.shape[0])
    np.copyto(ws.X, np.transpose(X, (1, 0, 2)), casting="same_kind")
    return ws


def one_layer(spec):
    """One layer, one direction: the default forecaster's network and most others.

    Its training chunk is the cell's own step (:mod:`tsrnn._fused`); a deeper or
    bidirectional network's is a stack step (:mod:`tsrnn._fused_stack`). Both are one
    compiled call and give the network graph's bits.
    """
    return spec.num_layers == 1 and not spec.bidirectional


class _FusedCall:
    """The argument list of a fused step on one thread's workspace, built once and reused.

    Everything but the targets, ``taus`` and ``n_total`` stays the same from batch to
    batch while the parameter vector is the same array (the trainers update it in place):
    the workspace's buffers, views into ``theta`` and into a gradient buffer of this
    workspace. Built anew when any of them changes.
    """

    def __init__(self, spec, theta, ws, entry):
        self.key = (theta, entry)
        ws.allocate_gradients()
        self.grad = np.empty_like(theta)
        P, G = unpack(spec, theta), unpack(spec, self.grad)
        B, O = ws.B, spec.n_outputs
        Y, labels, self.no_taus = _fused.empty_targets(ws.dtype)
        self.target = np.empty(
            (B,) if entry.integer_target else (B, O), entry.target_dtype(ws.dtype)
        )
        if one_layer(spec):
            values = graph.layer_values(P, 0, "", ws.layers[0][0])
            for name in ("weight_ih", "weight_hh", *CELLS[spec.cell].biases):
                values[f"grad_{name}"] = G[f"{name}_l0"]
            values.update(grad_V=G["head.weight"], grad_c=G["head.bias"])
            self.kernel = getattr(_fused, CELLS[spec.cell].kernels["cpu"]["step"].name)
            names = CELLS[spec.cell].kernels["cpu"]["step"].args
        else:
            values = _stack_values(spec, P, G, ws)
            self.kernel = getattr(_fused_stack, f"{spec.cell}_stack_step")
            names = _fused_stack.STEP_ARGS
        values.update(V=P["head.weight"], c=P["head.bias"], Z=ws.Z, out=ws.out, dO=ws.dO)
        values.update(dZ=ws.dZ, Y=Y, labels=labels, taus=None, loss_code=entry.code)
        values["n_total"] = 0
        values["control"], values["result"] = _fused.no_control()
        values[entry.target] = self.target
        self.args = [values[a] for a in names]
        self._taus, self._n_total = names.index("taus"), names.index("n_total")

    def __call__(self, y, n_total, taus):
        """Loss of the chunk in the workspace with targets ``y``; the gradient is ``self.grad``."""
        np.copyto(self.target, y, casting="unsafe")
        self.args[self._taus] = self.no_taus if taus is None else taus
        self.args[self._n_total] = n_total
        return self.kernel(*self.args)


def _stack_values(spec, P, G, ws):
    """The per-layer arguments of a stack step (:mod:`tsrnn._fused_stack`) by name.

    Typed lists over layer ``k``, direction ``d`` (entry ``k * n_dirs + d``) of the
    workspace's buffers and of the parameter and gradient views; ``()`` for what the cell
    does not have (the LSTM's cell states, the GRU's second bias and ``HN``).
    """
    from numba.typed import List

    entries = [
        (f"_l{k}{sfx}", ws.layers[k][d])
        for k in range(spec.num_layers)
        for d, sfx in enumerate(spec.suffixes())
    ]
    biases = CELLS[spec.cell].biases
    no_dX = np.empty((0, 0, 0), ws.dtype)  # layer 0 passes no gradient down

    def of(get):
        return List([get(key, buf) for key, buf in entries])

    def of_cell(name):
        return of(lambda key, buf: buf[name]) if name in ws.layers[0][0] else ()

    return {
        "X": ws.X,
        "Xs": of(lambda key, buf: buf["X"]),
        "W_ihs": of(lambda key, buf: P["weight_ih" + key]),
        "W_hhs": of(lambda key, buf: P["weight_hh" + key]),
        "b1s": of(lambda key, buf: P[biases[0] + key]),
        "b2s": of(lambda key, buf: P[biases[1] + key]) if len(biases) == 2 else (),
        "Hs": of(lambda key, buf: buf["H"]),
        "Cs": of_cell("C"),
        "As": of(lambda key, buf: buf["A"]),
        "HNs": of_cell("HN"),
        "dHs": of(lambda key, buf: buf["dH"]),
        "dAs": of(lambda key, buf: buf["dA"]),
        "dAhs": of(lambda key, buf: buf["dAh"]),
        "dXs": of(lambda key, buf: buf.get("dX", no_dX)),
        "gW_ihs": of(lambda key, buf: G["weight_ih" + key]),
        "gW_hhs": of(lambda key, buf: G["weight_hh" + key]),
        "gb1s": of(lambda key, buf: G[biases[0] + key]),
        "gb2s": of(lambda key, buf: G[biases[1] + key]) if len(biases) == 2 else (),
        "gV": G["head.weight"],
        "gc": G["head.bias"],
        "n_dirs": spec.n_directions,
    }


def _fused_call(spec, theta, ws, entry):
    """The workspace's :class:`_FusedCall` for ``theta`` and ``entry``, made when missing."""
    fc = getattr(ws, "fused_call", None)
    if fc is None or fc.key[0] is not theta or fc.key[1] is not entry:
        fc = ws.fused_call = _FusedCall(spec, theta, ws, entry)
    return fc


class ChunkTeam:
    """Helper threads that stay inside a fused step between batches (one row chunk each).

    With a thread pool, every batch wakes a pool thread, which takes the GIL, runs its
    chunk, gives its result back and wakes the caller: on the 2-core EPYC this cost about
    as much as the second core gave (2 x 16 rows of the default LSTM: 1,020-1,130 us a
    batch against 930-1,100 us on one thread). A team's helpers instead stay in their fused
    step (:func:`tsrnn._fused.lstm_step` and its twins, serving), each on its own workspace:
    the caller writes a chunk's inputs and targets into a helper's buffers and posts its
    number, computes the first chunk itself, then waits (spinning, without the GIL) for the
    helpers' ``DONE``; 580-710 us a batch in the same measurement. Waiting threads offer
    their core to any other runnable thread at every poll (``sched_yield``), so several
    processes training at once on too few cores lose no more than with the pool, and a
    helper that gets no chunk for as long as its last one took (at least a millisecond)
    sleeps until the next is posted, so a team costs nothing while the caller is away.
    Same chunks, same kernels, same order of the sums: the same bits as the pool and as
    one thread.

    A team serves batches of exactly ``len(helpers) + 1`` full chunks (the others, such as an
    epoch's short last batch, take the pool). Use it as a context manager: leaving stops and
    joins the helpers, also on an error or a KeyboardInterrupt.
    """

    def __init__(self, spec, theta, entry, taus, rows, n_chunks):
        self.spec, self.theta, self.entry, self.taus = spec, theta, entry, taus
        self.rows, self.n_chunks = rows, n_chunks
        self.seq = 0
        # workspaces and threads are made for the first batch (its sequence length)
        self.helpers = [{"thread": None, "wake": threading.Event()} for _ in range(n_chunks - 1)]
        self._T = None

    def _start(self, T):
        """Make the helpers' workspaces for sequences of ``T`` steps and start their threads."""
        spec, theta = self.spec, self.theta
        for h in self.helpers:
            ws = graph.Workspace(spec, CPU, T, self.rows, theta.dtype, train=True)
            fc = _FusedCall(spec, theta, ws, self.entry)
            control, result = np.zeros(3, np.int64), np.zeros(1, np.float64)
            args = list(fc.args)
            args[fc._taus] = fc.no_taus if self.taus is None else self.taus
            args[-2], args[-1] = control, result
            h.update(ws=ws, call=fc, control=control, result=result)
            h["thread"] = threading.Thread(
                target=_serve, args=(fc.kernel, args, control, h["wake"]), daemon=True
            )
            h["thread"].start()
        self._T = T

    def buffers(self, T):
        """The helpers' (X, target, gradient, control, result) buffers, tuples in helper order.

        Starts the helpers (for sequences of ``T`` steps) if the team has not; for
        :func:`tsrnn._fused.train_block`, which posts the chunks itself.
        """
        if self._T is None:
            self._start(T)
        hs = self.helpers
        return (
            tuple(h["ws"].X for h in hs),
            tuple(h["call"].target for h in hs),
            tuple(h["call"].grad for h in hs),
            tuple(h["control"] for h in hs),
            tuple(h["result"] for h in hs),
        )

    def wake(self):
        """Wake helpers that went to sleep waiting; raise if one has stopped."""
        for h in self.helpers:
            if h["thread"] is not None:
                _check_alive(h)
            h["wake"].set()

    def takes(self, X):
        """Whether the team computes the batch ``X`` (its chunks are the team's)."""
        return X.shape[0] == self.rows * self.n_chunks and self._T in (None, X.shape[1])

    def parts(self, X, y, n_total):
        """The chunks' (loss, gradient) in chunk order, as :func:`_map` would return them."""
        if self._T is None:
            self._start(X.shape[1])
        self.seq += 1
        rows = self.rows
        for k, h in enumerate(self.helpers, start=1):
            lo, hi = k * rows, (k + 1) * rows
            ws, fc = h["ws"], h["call"]
            np.copyto(ws.X, np.transpose(X[lo:hi], (1, 0, 2)), casting="same_kind")
            np.copyto(fc.target, y[lo:hi], casting="unsafe")
            h["control"][_fused.N_TOTAL] = n_total
            _fused.post(h["control"], _fused.TASK, self.seq)
            h["wake"].set()
        first = _chunk_loss_and_grad(
            self.spec, self.theta, X[:rows], y[:rows], self.entry, n_total, self.taus
        )
        out = [first]
        for h in self.helpers:
            while not _fused.wait_done(h["control"], self.seq, _fused.SPINS, 0):
                _check_alive(h)
            out.append((float(h["result"][0]), h["call"].grad))
        return out

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in self.helpers:
            if h["thread"] is not None:
                _fused.post(h["control"], _fused.TASK, _fused.STOP)
                h["wake"].set()
        for h in self.helpers:
            if h["thread"] is not None:
                h["thread"].join()
        return False


def block_step(spec, theta, T, rows, entry, taus, n_total):
    """The calling thread's fused step for chunks of ``rows`` sequences of ``T`` steps.

    Returns ``(args, X, target, grad)`` for :func:`tsrnn._fused.train_block`: the step's
    argument tuple (``n_total`` and ``taus`` set, no ``control``) and the buffers it reads
    the chunk from and writes the gradient to. The workspace is the one the Python loop's
    chunks use (:func:`_thread_workspace`).
    """
    fc = _fused_call(spec, theta, _thread_workspace(spec, theta, T, rows), entry)
    args = list(fc.args)
    args[fc._taus] = fc.no_taus if taus is None else taus
    args[fc._n_total] = n_total
    return tuple(args), fc.args[0], fc.target, fc.grad


def _check_alive(helper):
    """Raise if a team helper's thread has stopped (it never should)."""
    if not helper["thread"].is_alive():
        raise RuntimeError("a training thread stopped unexpectedly")


def _serve(step, args, control, wake):
    """A team helper's thread: serve chunks; between bursts, sleep until one is posted."""
    while step(*args) != _fused.STOP:
        wake.wait()
        wake.clear()


def chunk_team(spec, theta, batch_rows, loss="mse", quantiles=None, n_threads=None):
    """A :class:`ChunkTeam` for batches of ``batch_rows`` rows, or None where none applies.

    Only for a network whose batch splits into 2 to ``n_threads`` full chunks
    (the forecaster's default network and batch on two or more threads).
    """
    import numba

    n_threads = numba.get_num_threads() if n_threads is None else n_threads
    rows = chunk_rows(spec, batch_rows)
    n_chunks = batch_rows // rows
    if batch_rows % rows or not 2 <= n_chunks <= n_threads:
        return None
    entry = lookup(_LOSS_REGISTRY, loss, "loss")
    taus = quantile_levels(entry, quantiles, spec.n_outputs)
    return ChunkTeam(spec, theta, entry, taus, rows, n_chunks)


def _chunk_loss_and_grad(spec, theta, X, y, entry, n_total, taus=None):
    ws = _training_workspace(spec, theta, X)
    fc = _fused_call(spec, theta, ws, entry)
    return fc(y, n_total, taus), fc.grad.copy()  # the buffer is this thread's next chunk's


def quantile_levels(entry, quantiles, n_outputs):
    """The quantile levels of a loss that takes them, as a float64 array (else None).

    Raises a ValueError when the loss needs levels and none, or levels that do not
    divide the head's ``n_outputs`` units, are given (or levels for a loss without).
    """
    if not entry.takes_levels:
        if quantiles is not None:
            raise ValueError(f"loss {entry.name!r} takes no quantile levels; pass quantiles=None")
        return None
    if quantiles is None:
        raise ValueError(f"loss {entry.name!r} needs quantile levels (quantiles=[...])")
    taus = np.ascontiguousarray(quantiles, dtype=np.float64).ravel()
    if taus.size == 0 or n_outputs % taus.size:
        raise ValueError(
            f"the head's {n_outputs} units are not a multiple of the {taus.size} quantile levels"
        )
    if not (np.all(taus > 0.0) and np.all(taus < 1.0)):
        raise ValueError(f"quantile levels must lie strictly inside (0, 1), got {taus}")
    return taus


def loss_and_grad(
    spec,
    theta,
    X,
    y,
    loss="mse",
    alpha=0.0,
    weight_mask=None,
    executor=None,
    quantiles=None,
    team=None,
):
    """Loss of a mini-batch and its gradient w.r.t. theta.

    Parameters
    ----------
    spec : NetworkSpec
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (B, T, D)
    y : ndarray
        (B, O) targets for ``loss='mse'``, 'mae' or 'quantile' (for 'quantile' O =
        n_outputs·Q: each target repeated Q times, ``np.repeat(y, Q, axis=1)``);
        (B,) int class indices for 'xent'.
    loss : {'mse', 'mae', 'quantile', 'xent'}
        Mean squared error, mean absolute error, mean pinball loss or softmax
        cross-entropy.
    alpha : float
        L2 penalty: + alpha/(2B) Σ W² over weight matrices (not biases).
    weight_mask : ndarray of bool, optional
        ``spec.weight_mask()``, passed in to avoid recomputing it per batch.
    executor : concurrent.futures.Executor, optional
        Runs the batch's row chunks (:func:`chunk_rows` each) in parallel; their
        losses and gradients are summed in chunk order, so the result is the
        same with any number of threads.
    quantiles : array-like of float, optional
        The Q quantile levels of ``loss='quantile'`` (head unit k has level
        ``quantiles[k % Q]``); None for the other losses.
    team : ChunkTeam, optional
        Computes the batch instead of ``executor`` where it takes it (:func:`chunk_team`,
        made for this ``theta``, loss and quantile levels); the same result.

    Returns
    -------
    loss : float
    grad : ndarray of shape (n_params,)
    """
    entry = lookup(_LOSS_REGISTRY, loss, "loss")
    taus = quantile_levels(entry, quantiles, spec.n_outputs)
    B = X.shape[0]
    if team is not None and team.takes(X):
        parts = team.parts(X, y, B)
    else:
        parts = _map(
            executor,
            lambda c: _chunk_loss_and_grad(
                spec, theta, X[c[0] : c[1]], y[c[0] : c[1]], entry, B, taus
            ),
            _row_chunks(B, chunk_rows(spec, B)),
        )
    L, grad = parts[0]
    for L_c, g_c in parts[1:]:
        L += L_c
        grad += g_c
    if alpha:
        mask = spec.weight_mask() if weight_mask is None else weight_mask
        L += K.l2_penalty(theta, mask, grad, alpha / B)
    return float(L), grad


def predict(spec, theta, X, executor=None):
    """Outputs for X (n, T, D), in row chunks so memory stays bounded.

    Batch-invariant: each sample's output is bit-identical whatever other
    samples are predicted with it, in whatever order or chunking.
    """
    out = np.empty((X.shape[0], spec.n_outputs), dtype=theta.dtype)
    P = unpack(spec, theta)
    # One workspace per thread and chunk size for this call, reused from chunk to chunk:
    # a fresh one per chunk made its states' pages fault in every time (400 of 2,400 us
    # for 256 rows of an RNN of 64 units). Every buffer is written before it is read
    # (H[0], the zero initial state, is never written), so reuse changes no bit.
    spaces = {}

    def run(c):
        lo, hi = c
        key = (threading.get_ident(), hi - lo)
        ws = spaces.get(key)
        if ws is None:
            ws = spaces[key] = graph.Workspace(spec, CPU, X.shape[1], hi - lo, theta.dtype, False)
        np.copyto(ws.X, np.transpose(X[lo:hi], (1, 0, 2)), casting="same_kind")
        graph.forward(spec, P, ws)
        out[lo:hi] = ws.out

    _map(executor, run, _row_chunks(X.shape[0], PREDICT_CHUNK_ROWS))
    return out


# --------------------------------------------------------------------------
# weight exchange in PyTorch state_dict naming
# --------------------------------------------------------------------------


def export_state_dict(spec, theta):
    """All parameters as a dict of numpy arrays in PyTorch's state_dict naming.

    RNN/LSTM layers hold one bias b; it is exported as ``bias_ih`` with a zero
    ``bias_hh`` so that PyTorch computes the same b_ih + b_hh.
    """
    P = unpack(spec, theta)
    out = {}
    for name, value in P.items():
        if name.startswith("bias_l"):
            rest = name[len("bias_") :]
            out[f"bias_ih_{rest}"] = value.copy()
            out[f"bias_hh_{rest}"] = np.zeros_like(value)
        else:
            out[name] = value.copy()
    return out


def import_state_dict(spec, state, dtype=np.float64):
    """Flat theta from a PyTorch-style state_dict (numpy arrays or tensors).

    Every expected name must be present with the right shape; for RNN/LSTM,
    b = bias_ih + bias_hh.  Unknown names raise, so a mismatched architecture
    is reported rather than half-loaded.
    """
    state = {name: np.asarray(value, dtype=np.float64) for name, value in state.items()}
    expected = set(export_state_dict(spec, np.zeros(spec.n_params)))
    missing, unexpected = expected - set(state), set(state) - expected
    if missing or unexpected:
        raise ValueError(
            "state dict does not match the network: "
            f"missing {sorted(missing)}, unexpected {sorted(unexpected)}"
        )
    theta = np.empty(spec.n_params, dtype=np.float64)
    P = unpack(spec, theta)
    for name, view in P.items():
        if name.startswith("bias_l"):
            rest = name[len("bias_") :]
            value = state[f"bias_ih_{rest}"] + state[f"bias_hh_{rest}"]
        else:
            value = state[name]
        if value.shape != view.shape:
            raise ValueError(f"{name}: expected shape {view.shape}, got {value.shape}")
        view[...] = value
    return theta.astype(dtype)
