"""One compiled call per training chunk: forward, loss and backward of a one-layer network.

A training mini-batch is cut into row chunks run on a thread pool
(:func:`tsrnn._network.chunk_rows`).  Run through the network graph
(:mod:`tsrnn._graph`), a chunk makes about ten kernel calls, each releasing
and re-taking the GIL, with Python between them; with two threads the
hand-offs of the GIL cost more than the second core gives (the default
forecaster's LSTM of 32 units: two 16-row chunks on two threads were measured
slower than on one).  For the common network -- one layer, one direction --
the chunk's whole step is one call here: the cell's training sweep, the head,
the loss, the backward sweep and the parameter gradients (deeper and
bidirectional networks: :mod:`tsrnn._fused_stack`, whose steps
:func:`train_block` and the chunk team run the same way).

These functions call the kernels of :mod:`tsrnn._kernels` in the order the
graph calls them, on the same buffers, so a chunk's loss and gradient are
bit-identical to the graph's (a test checks it for every cell, loss and
dtype).  The loss is chosen by its number (``Loss.code`` of
:mod:`tsrnn._registry`), not compiled in, so each cell compiles once per dtype
(10-15 s on the 2-core EPYC, once per machine: the kernels are cached; the
step re-optimises the kernels it calls).  The arguments, in order, are the
cell's ``'step'`` entry in the registry.  Every target argument is passed: the
unused one (``Y`` for the cross-entropy, ``labels`` for the others) and
``taus`` without quantile levels are empty arrays.

The same functions also *serve* a chunk team's helper thread
(:class:`tsrnn._network.ChunkTeam`): given a non-empty ``control`` array they
stay inside, computing each chunk the calling thread posts, until told to stop
(see :func:`lstm_step` and the hand-off below).
"""

import sys
import time

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from . import _kernels as K
from ._kernels import _jit

# --------------------------------------------------------------------------
# the hand-off between the threads of a chunk team (tsrnn._network.ChunkTeam)
# --------------------------------------------------------------------------
#
# A helper thread of a team stays inside its step function between batches, spinning on
# an int64 ``control`` array that the calling thread writes, instead of going back to Python
# for every chunk: no lock, no GIL and no sleeping thread to wake per batch (measured on
# the 2-core EPYC: a hand-off through a thread pool cost more than a second core gave).
# ``control[TASK]`` is the number of the posted chunk (-1: stop), ``control[DONE]`` the
# number of the last chunk finished, ``control[N_TOTAL]`` the batch size of the loss mean.
TASK, DONE, N_TOTAL = 0, 1, 2
STOP, IDLE = -1, -2  # what a serving step returns: stopped, or no chunk came for a while
# A waiting thread polls; each poll after the first YIELD_EVERY - 1 offers the core to
# another runnable thread (sched_yield, which returns at once when there is none), so that
# where there are more busy threads than cores -- several processes training at once -- a
# waiting thread does not hold the core that the thread it waits for needs. Measured on the
# 2-core EPYC, two processes of two threads each fitting the default forecaster at once:
# 7.9-8.2 s each with pure spinning, 5.8-6.4 s yielding at every poll, 5.7-6.0 s with the
# thread pool (4.2-5.6 s with one thread each); one process alone: 2.4-2.5 s yielding, 2.7 s
# yielding every fourth poll, 4.5 s on one thread.
#
# How long a helper waits for its next chunk before it goes to sleep (the caller then wakes
# it from Python, which costs the helper's whole chunk when the caller only finds out after
# its own): at least SPINS polls and IDLE_MIN_NS, and at least as long as its last chunk took
# to compute. The caller's serial work between two batches (the sum of the parts, the
# optimiser's update: a few passes over the parameters) takes less than a chunk, so a helper
# of any width waits it out. With a fixed 1,000 polls (about a millisecond) the helpers of
# wide layers slept at every batch -- the caller's update of an LSTM of 256 units takes
# about that long -- and the two chunks of each batch ran one after the other: 2-thread
# training no faster than 1-thread (LSTM 256, 775 against 784 samples/s on the 2-core Xeon).
# Where there is no monotonic clock (Windows), the polls alone count.
SPINS = 1_000
IDLE_MIN_NS = 1_000_000
YIELD_EVERY = 1
_YIELD = None if sys.platform == "win32" else "sched_yield"  # POSIX; Windows: spin only
# clock_gettime(CLOCK_MONOTONIC) with a 64-bit timespec (POSIX, 64-bit); -1 elsewhere
_CLOCK = getattr(time, "CLOCK_MONOTONIC", None) if sys.maxsize > 2**32 else None


@intrinsic
def _load_acquire(typingctx, arr, i):
    """``arr[i]`` of an int64 array, an atomic load (acquire): never hoisted out of a loop."""
    sig = types.int64(arr, i)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        return builder.load_atomic(builder.gep(ary.data, [args[1]]), "acquire", 8)

    return sig, codegen


@intrinsic
def _store_release(typingctx, arr, i, value):
    """``arr[i] = value`` of an int64 array, an atomic store (release)."""
    sig = types.void(arr, i, value)

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        builder.store_atomic(args[2], builder.gep(ary.data, [args[1]]), "release", 8)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def _relax(typingctx):
    """Offer the core to another runnable thread (``sched_yield``; nothing on Windows)."""
    sig = types.int32()

    def codegen(context, builder, signature, args):
        if _YIELD is None:
            return ir.Constant(ir.IntType(32), 0)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.IntType(32), []), _YIELD
        )
        return builder.call(fn, [])

    return sig, codegen


@intrinsic
def _now_ns(typingctx):
    """Nanoseconds of ``clock_gettime(CLOCK_MONOTONIC)``, or -1 where there is no such clock."""
    sig = types.int64()

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        if _CLOCK is None:
            return ir.Constant(i64, -1)
        timespec = ir.LiteralStructType([i64, i64])  # tv_sec, tv_nsec (64-bit platforms)
        ts = cgutils.alloca_once(builder, timespec)
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.IntType(32), [ir.IntType(32), timespec.as_pointer()]),
            "clock_gettime",
        )
        builder.call(fn, [ir.Constant(ir.IntType(32), _CLOCK), ts])
        sec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 0))
        nsec = builder.load(cgutils.gep_inbounds(builder, ts, 0, 1))
        return builder.add(builder.mul(sec, ir.Constant(i64, 1_000_000_000)), nsec)

    return sig, codegen


@_jit
def now_ns():
    """The clock the waits below use, in nanoseconds (-1 where there is none)."""
    return _now_ns()


@_jit
def post(control, slot, value):
    """``control[slot] = value``, visible to a spinning thread after every earlier write."""
    _store_release(control, slot, value)


@_jit
def _poll_again(i, spins, start, wait_ns):
    """After poll ``i`` (from 0), begun at ``start``: whether to poll once more.

    Offers the core first (every YIELD_EVERY polls); yes until ``spins`` polls and
    ``wait_ns`` nanoseconds have passed (the polls alone where there is no clock).
    """
    if i % YIELD_EVERY == YIELD_EVERY - 1:
        _relax()
    return i + 1 < spins or (start >= 0 and _now_ns() - start < wait_ns)


@_jit
def wait_done(control, seq, spins, wait_ns):
    """Spin until ``control[DONE] == seq``: True, or False after ``spins`` polls and ``wait_ns``.

    ``wait_ns`` nanoseconds at least, where there is a clock (the polls alone where not).
    """
    start = _now_ns()
    i = 0
    while _load_acquire(control, DONE) != seq:
        if not _poll_again(i, spins, start, wait_ns):
            return False
        i += 1
    return True


@_jit
def _next_task(control, done, spins, wait_ns):
    """The next posted chunk's number (or STOP), or IDLE.

    IDLE once none came in ``spins`` polls and ``wait_ns`` nanoseconds (the polls alone
    where there is no clock).
    """
    start = _now_ns()
    i = 0
    while True:
        task = _load_acquire(control, TASK)
        if task != done:
            return task
        if not _poll_again(i, spins, start, wait_ns):
            return IDLE
        i += 1


@_jit
def _idle_wait(started):
    """How long a helper waits for its next chunk: its last one's time, at least IDLE_MIN_NS."""
    return max(IDLE_MIN_NS, _now_ns() - started)


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
def _rnn_once(
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
def _lstm_once(
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
def _gru_once(
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


@_jit
def rnn_step(
    X, W_ih, W_hh, b, H, A, V, c, Z, out, dO, dZ, dH, dA,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb, gV, gc, control, result,
):  # fmt: skip
    """One chunk's loss (``control`` empty), or serve a team's chunks (see :func:`lstm_step`)."""
    serving = control.size > 0
    wait = IDLE_MIN_NS
    while True:  # one call of the chunk's step below: the kernels are compiled in once
        task = _next_task(control, control[DONE], SPINS, wait) if serving else 0
        if task < 0:
            return float(task)
        started = _now_ns()
        L = _rnn_once(X, W_ih, W_hh, b, H, A, V, c, Z, out, dO, dZ, dH, dA,
                      Y, labels, taus, loss_code, control[N_TOTAL] if serving else n_total,
                      gW_ih, gW_hh, gb, gV, gc)  # fmt: skip
        if not serving:
            return L
        result[0] = L
        _store_release(control, DONE, task)
        wait = _idle_wait(started)


@_jit
def lstm_step(
    X, W_ih, W_hh, b, H, C, A, V, c, Z, out, dO, dZ, dH, dA,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb, gV, gc, control, result,
):  # fmt: skip
    """One chunk's loss (``control`` empty), or serve a team's chunks.

    With an empty ``control`` the chunk's loss is returned and its gradient written. With a
    ``control`` array the function serves a helper thread of a chunk team: it waits for a
    posted chunk (its inputs and targets already in ``X`` and ``Y`` or ``labels``), computes
    it with ``n_total = control[N_TOTAL]``, writes the loss into ``result[0]``, marks it done
    and waits for the next; it returns STOP when told to, IDLE when no chunk came for
    as long as its last one took to compute (at least :data:`IDLE_MIN_NS` and :data:`SPINS`
    polls; the caller then sleeps until the next one is posted).
    """
    serving = control.size > 0
    wait = IDLE_MIN_NS
    while True:  # one call of the chunk's step below: the kernels are compiled in once
        task = _next_task(control, control[DONE], SPINS, wait) if serving else 0
        if task < 0:
            return float(task)
        started = _now_ns()
        L = _lstm_once(X, W_ih, W_hh, b, H, C, A, V, c, Z, out, dO, dZ, dH, dA,
                       Y, labels, taus, loss_code, control[N_TOTAL] if serving else n_total,
                       gW_ih, gW_hh, gb, gV, gc)  # fmt: skip
        if not serving:
            return L
        result[0] = L
        _store_release(control, DONE, task)
        wait = _idle_wait(started)


@_jit
def gru_step(
    X, W_ih, W_hh, b_ih, b_hh, H, A, HN, V, c, Z, out, dO, dZ, dH, dA, dAh,
    Y, labels, taus, loss_code, n_total, gW_ih, gW_hh, gb_ih, gb_hh, gV, gc, control, result,
):  # fmt: skip
    """One chunk's loss (``control`` empty), or serve a team's chunks (see :func:`lstm_step`)."""
    serving = control.size > 0
    wait = IDLE_MIN_NS
    while True:  # one call of the chunk's step below: the kernels are compiled in once
        task = _next_task(control, control[DONE], SPINS, wait) if serving else 0
        if task < 0:
            return float(task)
        started = _now_ns()
        L = _gru_once(X, W_ih, W_hh, b_ih, b_hh, H, A, HN, V, c, Z, out, dO, dZ, dH, dA, dAh,
                      Y, labels, taus, loss_code, control[N_TOTAL] if serving else n_total,
                      gW_ih, gW_hh, gb_ih, gb_hh, gV, gc)  # fmt: skip
        if not serving:
            return L
        result[0] = L
        _store_release(control, DONE, task)
        wait = _idle_wait(started)


def empty_targets(dtype):
    """The placeholders of the unused target arguments: (Y, labels, taus)."""
    return np.empty((0, 0), dtype), np.empty(0, np.int64), np.empty(0, np.float64)


def no_control():
    """The ``control`` and ``result`` arguments of a single step (empty arrays)."""
    return np.empty(0, np.int64), np.empty(0, np.float64)


# --------------------------------------------------------------------------
# a block of training steps in one call (tsrnn._training.CpuTrainer)
# --------------------------------------------------------------------------
#
# Between two batches the Python training loop did about 200 microseconds of serial work
# (slicing the batch, posting the helpers' chunks, summing, clipping, the optimiser's call),
# against a ~600-microsecond chunk: on two threads a third of each batch's time. Here the
# whole step of each of a block of full mini-batches runs compiled: the chunks' inputs and
# targets copied into the workspaces, the helpers' chunks posted, the caller's computed, the
# parts summed in chunk order, the L2 penalty, the finiteness check, the clipping and the
# optimiser's update -- the kernels of the Python loop, called in its order, on its buffers:
# the same bits. The caller returns to Python after each block (for Ctrl-C and progress).

BLOCK_DONE, BLOCK_NON_FINITE, BLOCK_WAKE = 0, 1, 2  # how train_block ended


def _run_step(args):  # pragma: no cover (compiled: the overload below)
    """The cell's step (:func:`rnn_step`, :func:`lstm_step` or :func:`gru_step`) on ``args``."""


@overload(_run_step)
def _run_step_overload(args):
    """Choose the step by its argument tuple: its length (26, 27 or 30), or a stack step's cell."""
    step = {26: rnn_step, 27: lstm_step, 30: gru_step}.get(len(args.types))
    if step is None:
        from . import _fused_stack as S  # (it imports this module)

        if len(args.types) != len(S.STEP_ARGS):
            return None
        cell = S.cell_of(args.types[S.STEP_ARGS.index("Cs")], args.types[S.STEP_ARGS.index("HNs")])
        step = getattr(S, f"{cell}_stack_step")
    return lambda args: step(*args)


@_jit
def _fill_chunk(X, T, Xb, Yb, lo):
    """Fill a chunk's inputs ``X`` (time-major: steps, rows, D) and targets ``T`` (rows, O).

    From rows ``lo .. lo + rows - 1`` of the block's batch-major ``Xb`` and ``Yb``.
    """
    steps, rows, D = X.shape
    for r in range(rows):
        for t in range(steps):
            for d in range(D):
                X[t, r, d] = Xb[lo + r, t, d]
        for o in range(T.shape[1]):
            T[r, o] = Yb[lo + r, o]


@_jit
def train_block(
    own, own_X, own_T, own_G, hX, hT, hG, hC, hR, n_helpers, Xb, Yb, n_batches, n_chunks,
    resume, seq0, theta, grad, mask, alpha, clip, opt, s1, s2, hyper, step0, losses, partial,
):  # fmt: skip
    """Train on ``n_batches`` full mini-batches: rows ``b·B .. (b+1)·B - 1`` of ``Xb`` / ``Yb``.

    A batch of ``B = n_chunks · rows`` rows is ``n_chunks`` row chunks (``rows`` the chunk
    workspace's). ``own`` is the argument tuple of the caller's step (``n_total = B``, empty
    ``control``), computing into ``own_X``, ``own_T`` (its inputs and targets) and
    ``own_G`` (its gradient). With ``n_helpers`` > 0 (a chunk team; then ``n_chunks ==
    n_helpers + 1``) chunk ``k`` goes to helper ``k - 1``, whose buffers are ``hX[k - 1]``,
    ``hT``, ``hG``, its ``control`` ``hC`` and ``result`` ``hR``; batch ``b`` is posted as task
    ``seq0 + 1 + b``. Otherwise the caller computes every chunk. Per batch, as
    ``CpuTrainer.train_epoch``: loss = the chunks' sum (float64, in chunk order), gradient
    ``grad`` = the chunks' sum in chunk order; ``+ l2_penalty`` when ``alpha``; a non-finite
    loss or gradient stops before any update; clipping to ``clip`` when ``clip >= 0``; the
    update (``opt`` 0: ``sgd_update`` with ``hyper = (lr, momentum, nesterov)``, its velocity
    ``s1``; 1: ``adam_update`` with ``hyper = (lr, beta1, beta2, eps)``, ``s1 = m``, ``s2 = v``,
    step ``step0 + 1 + b``). ``losses[b]`` receives the batch's loss.

    Returns ``(b, status)``: ``(n_batches, BLOCK_DONE)``; ``(b, BLOCK_NON_FINITE)`` when batch
    ``b`` was not finite (``b`` updates made); ``(b, BLOCK_WAKE)`` when a helper had not finished
    batch ``b`` after :data:`SPINS` polls and as long again as the caller's own chunks took (it
    may have gone to sleep; only the polls when resuming): wake the helpers and call
    again with the rows from batch ``b`` on and ``resume=True``, which waits for that batch
    instead of posting it (the caller's part of it is kept in ``grad`` and ``partial[0]``).
    """
    rows = own_X.shape[1]
    B = rows * n_chunks
    for b in range(n_batches):
        base = b * B
        seq = seq0 + 1 + b
        own_ns = 0  # resuming: the helper may be asleep, give up after SPINS polls
        if not (resume and b == 0):
            for k in range(n_helpers):
                _fill_chunk(hX[k], hT[k], Xb, Yb, base + (k + 1) * rows)
                post(hC[k], N_TOTAL, B)
                post(hC[k], TASK, seq)
            started = _now_ns()
            _fill_chunk(own_X, own_T, Xb, Yb, base)
            L = float(_run_step(own))
            grad[:] = own_G
            for c in range(n_helpers + 1, n_chunks):
                _fill_chunk(own_X, own_T, Xb, Yb, base + c * rows)
                L += float(_run_step(own))
                grad += own_G
            partial[0] = L
            own_ns = _now_ns() - started
        for k in range(n_helpers):  # a helper takes about as long as the caller's chunk
            if not wait_done(hC[k], seq, SPINS, own_ns):
                return b, BLOCK_WAKE
        L = partial[0]
        for k in range(n_helpers):
            L += hR[k][0]
            grad += hG[k]
        if alpha != 0.0:
            L += K.l2_penalty(theta, mask, grad, alpha / B)
        if not (np.isfinite(L) and K.all_finite(grad)):
            return b, BLOCK_NON_FINITE
        if clip >= 0.0:
            K.clip_grad_norm(grad, clip)
        if opt == 0:
            K.sgd_update(theta, grad, s1, hyper[0], hyper[1], hyper[2] != 0.0)
        else:
            lr, beta1, beta2, eps = hyper[0], hyper[1], hyper[2], hyper[3]
            K.adam_update(theta, grad, s1, s2, lr, beta1, beta2, eps, step0 + 1 + b)
        losses[b] = L
    return n_batches, BLOCK_DONE
