"""Runs of full mini-batches trained in one compiled call give the batch-by-batch loop's bits.

:class:`tsrnn._training._Block` hands runs of full batches of a one-layer, one-direction
network to :func:`tsrnn._fused.train_block`; the loop of ``CpuTrainer.train_epoch`` trains
the rest (and everything, with ``_Block.make`` patched to give None). Both must leave the
same weights, optimiser state and losses, on one thread and on a chunk team, through a
non-finite batch and through a helper thread that fell asleep.
"""

import threading
import time

import numpy as np
import pytest
from test_threads import pool_threads

from tsrnn import _fused, _training
from tsrnn import _network as net
from tsrnn._epochs import Batches


def _problem(cell, hidden, n, dtype, outputs=3, seed=0, layers=1, bidirectional=False):
    rng = np.random.default_rng(seed)
    spec = net.NetworkSpec(
        cell, 3, hidden, num_layers=layers, bidirectional=bidirectional, n_outputs=outputs
    )
    X = rng.normal(size=(n, 7, 3)).astype(dtype)
    y = (X[:, -3:, :1].sum(axis=1) + 0.1 * rng.normal(size=(n, 1))).astype(dtype)
    return spec, X, np.repeat(y, outputs, axis=1), net.init_params(spec, rng, dtype)


def _train(spec, X, y, theta, batch, optimizer, epochs=2, **kw):
    """(theta, optimiser state, [(loss, ok)] per epoch) after ``epochs`` epochs."""
    trainer = _training.CpuTrainer(spec, theta, optimizer, **kw)
    order = np.random.default_rng(1).permutation(len(X)).astype(np.int32)
    out = [trainer.train_epoch(X, y, Batches(order, batch)) for _ in range(epochs)]
    return trainer.theta, trainer.get_optimizer_state(), out


def _both(monkeypatch, *args, **kw):
    """The same training through the compiled blocks and through the loop alone."""
    calls = []
    run = _fused.train_block

    def spy(*a):
        result = run(*a)
        calls.append(result)
        return result

    with monkeypatch.context() as m:
        m.setattr(_fused, "train_block", spy)
        blocks = _train(*args, **kw)
    assert calls, "the compiled block did not run"
    with monkeypatch.context() as m:
        m.setattr(_training._Block, "make", classmethod(lambda cls, *a: None))
        m.setattr(_fused, "train_block", None)  # would fail if called
        loop = _train(*args, **kw)
    return blocks, loop, calls


def _assert_same(a, b):
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1].keys() == b[1].keys()
    for key in a[1]:
        np.testing.assert_array_equal(a[1][key], b[1][key])
    assert a[2] == b[2]


CASES = [
    # cell, hidden, batch (two chunks: a team on two threads), dtype, optimiser, trainer options
    ("lstm", 32, 32, np.float32, lambda: _training.Adam(1e-2), {}),
    ("gru", 32, 32, np.float64, lambda: _training.SGD(0.05, 0.9, True), {"alpha": 1e-3}),
    ("rnn", 8, 64, np.float32, lambda: _training.SGD(0.05), {"clip_grad_norm": 0.05}),
    (
        "lstm",
        32,
        32,
        np.float64,
        lambda: _training.Adam(1e-2),
        {"loss": "quantile", "quantiles": np.array([0.1, 0.5, 0.9])},
    ),
    # stacked and bidirectional networks (tsrnn._fused_stack): 32-row chunks
    ("lstm", 8, 64, np.float32, lambda: _training.Adam(1e-2), {}, {"layers": 2}),
    (
        "gru",
        6,
        64,
        np.float64,
        lambda: _training.SGD(0.05, 0.9),
        {"clip_grad_norm": 0.05},
        {"layers": 2, "bidirectional": True},
    ),
]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("case", CASES)
def test_blocks_give_the_loops_bits(case, threads, monkeypatch):
    cell, hidden, batch, dtype, optimizer, kw, *network = case
    outputs = 3 if kw.get("loss") == "quantile" else 2
    spec, X, y, theta = _problem(cell, hidden, 7 * batch + 5, dtype, outputs, **dict(*network))
    assert net.chunk_rows(spec, batch) * 2 == batch
    monkeypatch.setattr(_training, "BLOCK_ROWS", 3 * batch)  # several blocks an epoch
    with pool_threads(threads, monkeypatch):
        blocks, loop, calls = _both(monkeypatch, spec, X, y, theta, batch, optimizer(), **kw)
    _assert_same(blocks, loop)
    assert all(ok for _, ok in blocks[2])
    # seven full batches an epoch in blocks of three: 3 + 3 + 1, the short one by the loop
    # (a helper slow to start, say compiling, makes a block return early and resume)
    assert sum(done for done, _ in calls) == 2 * 7
    assert all(status != _fused.BLOCK_NON_FINITE for _, status in calls)


def test_a_non_finite_batch_stops_the_block_where_the_loop_stops(monkeypatch):
    spec, X, y, theta = _problem("lstm", 32, 32 * 6, np.float32)
    order = np.random.default_rng(1).permutation(len(X))
    X[order[32 * 4 + 3], 2, 1] = np.inf  # a row of the fifth batch of the first epoch
    with pool_threads(2, monkeypatch):
        blocks, loop, calls = _both(monkeypatch, spec, X, y, theta, 32, _training.Adam(1e-2))
    _assert_same(blocks, loop)
    assert [ok for _, ok in blocks[2]] == [False, False]
    # the fifth batch (the block may have returned to wake a slow helper and resumed before)
    first = next(i for i, (_, status) in enumerate(calls) if status == _fused.BLOCK_NON_FINITE)
    assert sum(done for done, _ in calls[: first + 1]) == 4
    assert blocks[1]["step"] == 2 * 4  # four updates an epoch, none from the fifth batch


def test_a_sleeping_helper_is_woken_and_its_batch_waited_for(monkeypatch):
    """A helper asleep when its chunk is posted: the block returns, wakes it and resumes."""
    spec, X, y, theta = _problem("lstm", 32, 32 * 5, np.float32)
    wake = net.ChunkTeam.wake
    woken = []

    def late_wake(self):  # the first wake of each block comes too late: the helper sleeps
        woken.append(threading.get_ident())
        if len(woken) % 2:
            time.sleep(0.05)  # the helper gives up spinning (milliseconds) and sleeps
            return None
        return wake(self)

    monkeypatch.setattr(net.ChunkTeam, "wake", late_wake)
    with pool_threads(2, monkeypatch):
        blocks, loop, calls = _both(monkeypatch, spec, X, y, theta, 32, _training.Adam(1e-2))
    _assert_same(blocks, loop)
    assert (0, _fused.BLOCK_WAKE) in calls
    assert sum(done for done, _ in calls) == 2 * 5


def test_a_block_gathers_at_most_block_bytes_of_inputs(monkeypatch):
    """Long windows of many features: fewer batches a block, never less than one."""
    spec, X, y, theta = _problem("lstm", 32, 32 * 9, np.float32)
    sizes = []
    gather = _training._Block.run

    def spy(self, X, y, idx):
        sizes.append(len(idx))
        return gather(self, X, y, idx)

    monkeypatch.setattr(_training._Block, "run", spy)
    row = 7 * 3 * 4  # bytes of one window's inputs
    for limit, expected in [(2**20, [32 * 9]), (3 * 32 * row, [96, 96, 96]), (row, [32] * 9)]:
        monkeypatch.setattr(_training, "BLOCK_BYTES", limit)
        sizes.clear()
        _train(spec, X, y, theta, 32, _training.Adam(1e-2), epochs=1)
        assert sizes == expected


@pytest.mark.skipif(not hasattr(time, "CLOCK_MONOTONIC"), reason="no POSIX monotonic clock")
def test_the_helpers_clock_is_the_monotonic_clock():
    """The compiled clock reads clock_gettime(CLOCK_MONOTONIC) in nanoseconds."""
    _fused.now_ns()  # compiled (or loaded) before the reading
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    now = _fused.now_ns()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert before <= now <= after


@pytest.mark.skipif(not hasattr(time, "CLOCK_MONOTONIC"), reason="no POSIX monotonic clock")
def test_a_waiting_helper_sleeps_only_after_its_last_chunks_time():
    """A helper waits for its next chunk as long as its last one took, at least IDLE_MIN_NS.

    With a fixed count of polls (about a millisecond) the helpers of wide layers slept
    during the caller's update at every batch, and the batch's chunks ran one after the
    other. A posted chunk or STOP is taken at once.
    """
    control = np.zeros(3, np.int64)
    _fused._next_task(control, 0, 1, 0)  # compiled (or loaded) before the timings
    assert _fused._idle_wait(_fused.now_ns() + 10**12) == _fused.IDLE_MIN_NS  # a short chunk
    assert _fused._idle_wait(_fused.now_ns() - 50_000_000) >= 50_000_000

    start = time.monotonic()
    assert _fused._next_task(control, 0, 10, 30_000_000) == _fused.IDLE
    assert time.monotonic() - start >= 0.03  # not after 10 polls: the wait it was given

    control[_fused.TASK] = 7
    assert _fused._next_task(control, 0, 10**9, 10**15) == 7
    control[_fused.TASK] = _fused.STOP
    assert _fused._next_task(control, 0, 10**9, 10**15) == _fused.STOP


@pytest.mark.skipif(not hasattr(time, "CLOCK_MONOTONIC"), reason="no POSIX monotonic clock")
def test_the_caller_waits_for_a_helper_as_long_as_it_was_told():
    """The caller gives up on a helper's chunk (and goes to wake it) only after its wait."""
    control = np.zeros(3, np.int64)
    _fused.wait_done(control, 0, 1, 0)  # compiled (or loaded) before the timing
    start = time.monotonic()
    assert not _fused.wait_done(control, 3, 10, 30_000_000)
    assert time.monotonic() - start >= 0.03
    control[_fused.DONE] = 3
    assert _fused.wait_done(control, 3, 10**9, 10**15)
