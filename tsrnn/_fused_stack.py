"""One compiled call per training chunk of a stacked or bidirectional network.

The twin of :mod:`tsrnn._fused` for the networks the graph runs layer by layer (several
layers, two directions). Its steps (:data:`lstm_stack_step` and twins) run
:func:`tsrnn._graph.forward`, the loss and :func:`tsrnn._graph.backward` for one row
chunk without returning to Python: the same kernels on the same workspace buffers in the
same order, and the re-layouts between layers (reversing time, joining and splitting the
two directions) as loops doing NumPy's arithmetic (a copy, or one addition an element).
So the loss and gradient are bit-identical to the graph's (tests compare both for every
cell, loss, dtype and shape of network). Like a one-layer step, a stack step also serves
a chunk team's helper thread (see :func:`tsrnn._fused.lstm_step`), so these networks
train on a team and in compiled blocks of batches (:func:`tsrnn._fused.train_block`).

Layer ``k``, direction ``d`` is entry ``i = k * n_dirs + d`` of every list argument
(Numba typed lists, whose type does not depend on their length: one compilation per cell
and dtype for any depth): its input ``Xs[i]`` (layer 0, direction 0: the chunk's ``X``;
a unidirectional layer above: the states ``H[1:]`` of the one below, the same memory), its
parameters and gradients (views into theta and the gradient vector) and its buffers
(:class:`tsrnn._graph.Workspace`). The cell is told by which of ``Cs`` and ``HNs`` are
lists (the LSTM's cell states, the GRU's ``W_hn h + b_hn``); the arguments a cell lacks
are ``()``. ``dXs[0]`` (and ``dXs[1]``) are empty: layer 0 passes no gradient down.
"""

from numba import types
from numba.extending import overload

from . import _fused as F
from . import _kernels as K
from ._kernels import _jit
from ._registry import CELLS

# The list argument that holds each registry name's array, entry i being layer/direction i.
_LIST_OF = {
    "X": "Xs", "weight_ih": "W_ihs", "weight_hh": "W_hhs", "bias": "b1s", "bias_ih": "b1s",
    "bias_hh": "b2s", "H": "Hs", "C": "Cs", "A": "As", "HN": "HNs", "dH": "dHs", "dA": "dAs",
    "dAh": "dAhs", "grad_bias": "gb1s", "grad_bias_ih": "gb1s", "grad_bias_hh": "gb2s",
}  # fmt: skip
_CELL_LISTS = ("C", "HN")  # the buffers only some cells have: a list, or () without


def cell_of(Cs, HNs):
    """The registry's name of the cell whose buffers are the lists among ``Cs``, ``HNs`` (types)."""
    have = {name: isinstance(t, types.ListType) for name, t in zip(_CELL_LISTS, (Cs, HNs))}
    for name, cell in CELLS.items():
        buffers = cell.kernels["cpu"]["forward"].args
        if all((b in buffers) == present for b, present in have.items()):
            return name
    raise TypeError(f"no cell has the buffers {have}")


def _caller(params, calls):
    """A function of ``params`` making the kernel ``calls`` [(kernel name, [argument])] on entry i.

    Generated from the registry's argument names (:data:`_LIST_OF` maps each to its list),
    so the cells differ here by data, as everywhere else, not by branches.
    """
    lines = [f"def call(i, {', '.join(params)}):"]
    for kernel, args in calls:
        lines.append(f"    K.{kernel}({', '.join(f'{_LIST_OF[a]}[i]' for a in args)})")
    namespace = {"K": K}
    exec("\n".join(lines), namespace)  # noqa: S102 (trusted: the registry's names)
    return namespace["call"]


_FORWARD = ("Xs", "W_ihs", "W_hhs", "b1s", "b2s", "Hs", "Cs", "As", "HNs")
_BACKWARD = ("W_hhs", "Hs", "Cs", "As", "HNs", "dHs", "dAs", "dAhs", "gb1s", "gb2s")


def _layer_forward(i, Xs, W_ihs, W_hhs, b1s, b2s, Hs, Cs, As, HNs):  # pragma: no cover
    """The training forward sweep of entry ``i`` (compiled: the overload below)."""


@overload(_layer_forward)
def _layer_forward_overload(i, Xs, W_ihs, W_hhs, b1s, b2s, Hs, Cs, As, HNs):
    kernel = CELLS[cell_of(Cs, HNs)].kernels["cpu"]["forward"]
    return _caller(_FORWARD, [(kernel.name, kernel.args)])


def _layer_backward(i, W_hhs, Hs, Cs, As, HNs, dHs, dAs, dAhs, gb1s, gb2s):  # pragma: no cover
    """The backward sweep and bias gradients of entry ``i`` (compiled: the overload below)."""


@overload(_layer_backward)
def _layer_backward_overload(i, W_hhs, Hs, Cs, As, HNs, dHs, dAs, dAhs, gb1s, gb2s):
    cell = CELLS[cell_of(Cs, HNs)]
    kernel = cell.kernels["cpu"]["backward"]
    calls = [(kernel.name, kernel.args)]
    calls += [("bias_gradient", (source, f"grad_{bias}")) for bias, source in cell.bias_grads]
    return _caller(_BACKWARD, calls)


@_jit
def _reverse_time(X, out):
    """out[t] = X[T-1-t] (:meth:`tsrnn._cpu.CpuBackend.reverse_time`)."""
    T = X.shape[0]
    for t in range(T):
        out[t] = X[T - 1 - t]


@_jit
def _concat_directions(Hf, Hr, out):
    """out[t] = [h_t^fwd ; h_t^rev] (:meth:`tsrnn._cpu.CpuBackend.concat_directions`)."""
    T, B, N = out.shape[0], out.shape[1], Hf.shape[2]
    for t in range(T):
        for s in range(B):
            for j in range(N):
                out[t, s, j] = Hf[t + 1, s, j]
                out[t, s, N + j] = Hr[T - t, s, j]


@_jit
def _split_directions(dXf, dXr, dHf, dHr):
    """The lower directions' dH from the upper dX (``CpuBackend.split_directions``)."""
    T, B, N = dHf.shape
    for t in range(T):
        for s in range(B):
            for j in range(N):
                dHf[t, s, j] = dXf[t, s, j] + dXr[T - 1 - t, s, j]
                dHr[t, s, j] = dXf[T - 1 - t, s, N + j] + dXr[t, s, N + j]


def _stack_step(
    X, Xs, W_ihs, W_hhs, b1s, b2s, Hs, Cs, As, HNs, V, c, Z, out, dO, dZ, dHs, dAs, dAhs, dXs,
    Y, labels, taus, loss_code, n_total, gW_ihs, gW_hhs, gb1s, gb2s, gV, gc, n_dirs,
    control, result,
):  # fmt: skip
    """One chunk's loss (``control`` empty), or serve a team's chunks (see ``_fused.lstm_step``).

    ``X`` is the chunk's input (``Xs[0]``, the buffer a team's caller fills).
    """
    serving = control.size > 0
    wait = F.IDLE_MIN_NS
    n_layers = len(Hs) // n_dirs
    T = X.shape[0]
    N = Hs[0].shape[2]
    top = (n_layers - 1) * n_dirs
    while True:
        task = F._next_task(control, control[F.DONE], F.SPINS, wait) if serving else 0
        if task < 0:
            return float(task)
        started = F._now_ns()
        for k in range(n_layers):  # tsrnn._graph.forward
            for d in range(n_dirs):
                i = k * n_dirs + d
                if d == 1:
                    _reverse_time(Xs[i - 1], Xs[i])
                _layer_forward(i, Xs, W_ihs, W_hhs, b1s, b2s, Hs, Cs, As, HNs)
            if n_dirs == 2 and k + 1 < n_layers:
                _concat_directions(Hs[2 * k], Hs[2 * k + 1], Xs[2 * k + 2])
        for d in range(n_dirs):  # z: each direction's final state
            Z[:, d * N : (d + 1) * N] = Hs[top + d][T]
        L = F._head_and_loss(Z, V, c, out, dO, dZ, Y, labels, taus, loss_code,
                             control[F.N_TOTAL] if serving else n_total, gV, gc)  # fmt: skip
        for d in range(n_dirs):  # the top gradient: only h_T feeds the head
            F._top_gradient(dZ[:, d * N : (d + 1) * N], dHs[top + d])
        for k in range(n_layers - 1, -1, -1):  # tsrnn._graph.backward
            for d in range(n_dirs):
                i = k * n_dirs + d
                _layer_backward(i, W_hhs, Hs, Cs, As, HNs, dHs, dAs, dAhs, gb1s, gb2s)
                K.weight_gradients(Xs[i], Hs[i], dAs[i], dAhs[i], gW_ihs[i], gW_hhs[i])
                if k > 0:
                    K.input_gradient(dAs[i], W_ihs[i], dXs[i])
            if k > 0 and n_dirs == 2:
                lower = (k - 1) * 2
                _split_directions(dXs[2 * k], dXs[2 * k + 1], dHs[lower], dHs[lower + 1])
            # one direction: the lower layer's dH *is* this layer's dX (the same buffer)
        if not serving:
            return L
        result[0] = L
        F._store_release(control, F.DONE, task)
        wait = F._idle_wait(started)


# One dispatcher per cell, each compiled only for its cell: one signature per dtype, so a
# sweep over cells, depths and directions compiles nothing new (the per-layer arguments are
# typed lists, whose type does not depend on their length).
rnn_stack_step = _jit(_stack_step)
lstm_stack_step = _jit(_stack_step)
gru_stack_step = _jit(_stack_step)


#: The argument names of the stack steps, in order (a one-layer step's are the registry's).
STEP_ARGS = (
    "X", "Xs", "W_ihs", "W_hhs", "b1s", "b2s", "Hs", "Cs", "As", "HNs",
    "V", "c", "Z", "out", "dO", "dZ", "dHs", "dAs", "dAhs", "dXs",
    "Y", "labels", "taus", "loss_code", "n_total",
    "gW_ihs", "gW_hhs", "gb1s", "gb2s", "gV", "gc", "n_dirs", "control", "result",
)  # fmt: skip
