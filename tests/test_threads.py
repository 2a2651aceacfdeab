"""Results do not depend on the size of tsrnn's CPU thread pool.

The pool that runs a batch's row chunks has ``numba.get_num_threads()``
workers (:func:`tsrnn._training.cpu_parallel`); a training batch is cut into
fixed chunks (``chunk_rows``: from the batch and the network, never the threads), a
prediction into ``PREDICT_CHUNK_ROWS``.
These tests change the real pool size (``numba.set_num_threads``, not BLAS's
threads), use batches that split into several chunks (sizes that are not
multiples of the chunk, so the last chunk is short), and check that the pool
really ran chunks on several threads, so that they cannot pass with the pool
idle.  BLAS is held to one thread inside the pool either way.
"""

import threading
import time
from contextlib import contextmanager

import numba
import numpy as np
import pytest

from tsrnn import GRUClassifier, LSTMRegressor, _training
from tsrnn import _network as net

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@contextmanager
def pool_threads(n, monkeypatch):
    """Run with a pool of ``n`` threads, restoring numba's setting afterwards.

    Where numba was started with fewer threads than ``n`` (a one-core machine)
    ``numba.set_num_threads(n)`` is impossible; the pool size is then what
    ``numba.get_num_threads`` reports to tsrnn, which is all that sizes the pool
    (it is a ``ThreadPoolExecutor``, not numba's own threading layer).
    """
    before = numba.get_num_threads()
    if n <= numba.config.NUMBA_NUM_THREADS:
        numba.set_num_threads(n)
        try:
            yield
        finally:
            numba.set_num_threads(before)
    else:
        with monkeypatch.context() as m:
            m.setattr(numba, "get_num_threads", lambda: n)
            yield


class ChunkSpy:
    """Wraps ``net._chunk_loss_and_grad``: records which thread ran which chunk.

    With ``reverse_delay`` each chunk first sleeps longer the earlier it is in
    the batch, so that chunks finish in roughly the reverse of their order: a
    combination in completion order, rather than chunk order, would show.
    ``sleep`` delays every chunk a little so that the pool's threads overlap
    (a chunk of a tiny network is done before a second worker starts).
    """

    def __init__(self, monkeypatch, X=None, n_chunks=None, reverse_delay=0.0, sleep=0.0):
        self.inner = net._chunk_loss_and_grad
        self.X, self.n_chunks, self.delay, self.sleep = X, n_chunks, reverse_delay, sleep
        self.threads = []
        self.chunks = []
        self._lock = threading.Lock()
        monkeypatch.setattr(net, "_chunk_loss_and_grad", self)

    def __call__(self, spec, theta, X, *args):
        with self._lock:
            self.threads.append(threading.get_ident())
        if self.X is not None:
            start = (X.ctypes.data - self.X.ctypes.data) // self.X.strides[0]
            rows = net.chunk_rows(spec, len(self.X))
            with self._lock:
                self.chunks.append(start // rows)
            if self.delay:
                time.sleep(self.delay * (self.n_chunks - start // rows))
        time.sleep(self.sleep)
        return self.inner(spec, theta, X, *args)


def _data(n, T=5, D=2, O=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, T, D)), rng.normal(size=(n, O))


@pytest.mark.parametrize("layers", [1, 2])  # a fused step per chunk; the graph's layer loop
@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_loss_and_grad_identical_with_and_without_the_pool(cell, dtype, layers, monkeypatch):
    spec = net.NetworkSpec(cell, 2, 6, num_layers=layers, n_outputs=3)
    B = 5 * net.chunk_rows(spec, 1000) + 7  # six chunks, the last one short
    n_chunks = -(-B // net.chunk_rows(spec, B))
    theta = net.init_params(spec, np.random.default_rng(1), dtype=dtype)
    X, y = _data(B)
    X = np.ascontiguousarray(X, dtype=dtype)
    L0, g0 = net.loss_and_grad(spec, theta, X, y, "mse", 1e-3, None, None)

    for n_threads in (2, 3):
        spy = ChunkSpy(monkeypatch, X, n_chunks, reverse_delay=0.01)
        with _training.cpu_parallel(B, net.CHUNK_ROWS, n_threads=n_threads) as executor:
            assert executor is not None
            L, g = net.loss_and_grad(spec, theta, X, y, "mse", 1e-3, None, executor)
        assert sorted(spy.chunks) == list(range(n_chunks))
        # n_threads threads ran the chunks: the pool's n_threads - 1 and the caller's
        assert len(set(spy.threads)) == n_threads
        assert threading.get_ident() in spy.threads
        assert L == L0
        np.testing.assert_array_equal(g, g0)
        monkeypatch.undo()


def test_cpu_parallel_sizes_the_pool_from_numba(monkeypatch):
    B = 3 * net.CHUNK_ROWS
    with pool_threads(1, monkeypatch), _training.cpu_parallel(B, net.CHUNK_ROWS) as ex:
        assert ex is None
    with pool_threads(2, monkeypatch), _training.cpu_parallel(B, net.CHUNK_ROWS) as ex:
        assert ex is not None and ex._max_workers == 1  # the caller is the second thread
    # one chunk: no pool whatever the threads
    with pool_threads(2, monkeypatch), _training.cpu_parallel(net.CHUNK_ROWS, net.CHUNK_ROWS) as ex:
        assert ex is None


def _fit(cls, X, y, threads, monkeypatch, **kw):
    params = dict(hidden_size=8, max_iter=3, random_state=7, batch_size=3 * net.STANDARD_CHUNK_ROWS)
    params.update(kw)
    spy = ChunkSpy(monkeypatch, sleep=0.002)
    with pool_threads(threads, monkeypatch):
        est = cls(**params).fit(X, y)
    monkeypatch.undo()
    return est, set(spy.threads)


@pytest.mark.parametrize("cls", [LSTMRegressor, GRUClassifier])
def test_fit_is_bit_identical_across_pool_sizes(cls, monkeypatch):
    # 167 rows, batches of 96: each epoch is a batch of three full chunks and
    # one of 71 rows (32 + 32 + 7), so every step runs several chunks.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(167, 10, 1))
    target = X[:, -3:, 0].sum(axis=1)
    y = target if cls is LSTMRegressor else (target > 0).astype(int)

    a, threads_1 = _fit(cls, X, y, 1, monkeypatch)
    b, threads_2 = _fit(cls, X, y, 2, monkeypatch)
    assert threads_1 == {threading.get_ident()}  # one thread: no pool
    # each epoch opens its own pool (the caller's thread works too), so more than two
    # idents may show up
    assert len(threads_2) >= 2 and threading.get_ident() in threads_2
    np.testing.assert_array_equal(a.coefs_, b.coefs_)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)
    # same seed, same weights again; another seed, other weights
    c, _ = _fit(cls, X, y, 2, monkeypatch)
    np.testing.assert_array_equal(b.coefs_, c.coefs_)
    d, _ = _fit(cls, X, y, 2, monkeypatch, random_state=8)
    assert not np.array_equal(a.coefs_, d.coefs_)


def test_predict_is_bit_identical_across_pool_sizes(monkeypatch):
    n = 2 * net.PREDICT_CHUNK_ROWS + 45  # three prediction chunks, the last short
    rng = np.random.default_rng(3)
    X = rng.normal(size=(n, 6, 2))
    est = LSTMRegressor(hidden_size=5, max_iter=1, random_state=0, batch_size=n).fit(
        X[:40], rng.normal(size=40)
    )
    threads = {}
    for n_threads in (1, 2):
        seen = []
        inner = net.graph.forward

        def spy(*args, _seen=seen, _inner=inner, **kw):
            _seen.append(threading.get_ident())
            time.sleep(0.02)  # let the second worker start before the first is free
            return _inner(*args, **kw)

        with monkeypatch.context() as m:
            m.setattr(net.graph, "forward", spy)
            with pool_threads(n_threads, monkeypatch):
                threads[n_threads] = (est.predict(X), set(seen), len(seen))
    p1, t1, calls1 = threads[1]
    p2, t2, calls2 = threads[2]
    assert calls1 == calls2 == 3  # one forward pass per chunk
    assert t1 == {threading.get_ident()}
    assert len(t2) == 2 and threading.get_ident() in t2  # the caller's and the pool's
    np.testing.assert_array_equal(p1, p2)
    # and each row is the row predicted alone (batch invariance)
    np.testing.assert_array_equal(p2[[0, 300, n - 1]], est.predict(X[[0, 300, n - 1]]))


def test_map_raises_the_first_failing_chunk_after_all_threads_stop():
    from concurrent.futures import ThreadPoolExecutor

    done = []

    def fn(i):
        time.sleep(0.01 * (5 - i))  # later items finish first
        if i in (1, 3):
            raise ValueError(f"chunk {i}")
        done.append(i)
        return i * i

    with ThreadPoolExecutor(max_workers=2) as executor:
        assert net._map(executor, lambda i: i * i, list(range(7))) == [0, 1, 4, 9, 16, 25, 36]
        with pytest.raises(ValueError, match="chunk 1"):
            net._map(executor, fn, list(range(6)))
        # every thread stopped taking items after the first error: not all items ran
        assert len(done) < 4


@pytest.mark.parametrize(
    "cls, kw",
    [
        (LSTMRegressor, {}),
        (LSTMRegressor, {"loss": "quantile", "quantiles": [0.2, 0.8]}),
        (GRUClassifier, {}),
    ],
)
def test_chunk_team_fits_bit_identical_to_one_thread(cls, kw, monkeypatch):
    """The default network's 32-row batch: two fused 16-row chunks, one on a team helper."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 8, 3))  # four full batches of 32 and a short one of 22
    target = X[:, -2:, 0].sum(axis=1)
    y = target if cls is LSTMRegressor else (target > 0).astype(int)
    params = dict(hidden_size=32, max_iter=2, random_state=3, batch_size=32, **kw)
    spec = net.NetworkSpec("lstm", 3, 32)
    assert net.chunk_rows(spec, 32) == 16 and net.one_layer(spec)

    calls = []  # batches each team computed (its last task's number), one team an epoch
    leave = net.ChunkTeam.__exit__

    def spy(self, *exc):
        calls.append(self.seq)
        return leave(self, *exc)

    monkeypatch.setattr(net.ChunkTeam, "__exit__", spy)
    with pool_threads(1, monkeypatch):
        a = cls(**params).fit(X, y)
    assert not calls  # one thread: no team
    with pool_threads(2, monkeypatch):
        b = cls(**params).fit(X, y)
    assert calls == [4, 4]  # the full batches of both epochs; the short ones take the pool
    assert not any(
        t.name.startswith("Thread") and t.is_alive() and t.daemon for t in threading.enumerate()
    )
    np.testing.assert_array_equal(a.coefs_, b.coefs_)
    np.testing.assert_array_equal(a.loss_curve_, b.loss_curve_)


def test_chunk_team_applies_only_to_full_chunks():
    default = net.NetworkSpec("lstm", 3, 32, n_outputs=18)
    theta = net.init_params(default, np.random.default_rng(0), np.float32)
    team = net.chunk_team(default, theta, 32, n_threads=2)
    assert team is not None and team.n_chunks == 2 and team.rows == 16
    assert team.takes(np.zeros((32, 5, 3))) and not team.takes(np.zeros((20, 5, 3)))
    assert net.chunk_team(default, theta, 32, n_threads=1) is None  # one thread
    assert net.chunk_team(default, theta, 24, n_threads=2) is None  # 16 + 8: not full chunks
    deep = net.NetworkSpec("lstm", 3, 64, num_layers=2)  # a stack step (tsrnn._fused_stack)
    team = net.chunk_team(deep, net.init_params(deep, np.random.default_rng(0)), 32, n_threads=2)
    assert team is not None and team.n_chunks == 2 and team.rows == 16
    with net.chunk_team(default, theta, 32, n_threads=2):
        pass  # never started: nothing to stop
