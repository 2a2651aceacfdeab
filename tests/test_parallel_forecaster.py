"""The forecaster trains on several threads, with forecasts bit-identical for any thread count.

Two mechanisms (issue 15): the seed-ensemble members run concurrently on a thread pool
(:func:`tsrnn.forecasting._ensemble.run_members`), and a default 32-row batch of the default
network (an LSTM of 32 units) or a wider one is cut into two 16-row chunks
(:func:`tsrnn._network.chunk_rows`), computed by a chunk team
(:class:`tsrnn._network.ChunkTeam`) where :func:`tsrnn._training.cpu_parallel` has more
than one thread, runs of full batches handed to the team from one compiled call
(:func:`tsrnn._fused.train_block`). Each test changes Numba's real thread
count and checks with a spy that the parallel path really ran on more than one thread, so it
cannot pass with everything on the calling thread (as before both mechanisms existed).
"""

import functools
import threading
import time
import warnings
from contextlib import contextmanager

import numba
import numpy as np
import pandas as pd
import pytest
import sklearn
from sklearn.exceptions import ConvergenceWarning

from tsrnn import _fused
from tsrnn import _network as net
from tsrnn.forecasting import RNNForecaster, _ensemble

pytestmark = pytest.mark.skipif(
    numba.config.NUMBA_NUM_THREADS < 2, reason="needs Numba started with 2 threads or more"
)


@contextmanager
def threads(n):
    before = numba.get_num_threads()
    numba.set_num_threads(n)
    try:
        yield
    finally:
        numba.set_num_threads(before)


def _panel(n_series=4, n=60, seed=0):
    """A small monthly panel: about 40 windows per series, so full 32-row batches."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"s{k}",
                "ds": pd.period_range("2015-01", periods=n, freq="M"),
                "y": 20
                + 5 * k
                + 0.3 * t
                + 4 * np.sin(2 * np.pi * (t + k) / 12)
                + rng.normal(0, 1, n),
            }
        )
        for k in range(n_series)
    ]
    return pd.concat(frames, ignore_index=True)


class ThreadSpy:
    """Wraps a function of a module: records the threads (and their Numba counts) it ran on."""

    def __init__(self, monkeypatch, module, name, sleep=0.0):
        self.inner = getattr(module, name)
        self.sleep = sleep
        self.threads, self.numba_threads, self.assume_finite = [], [], []
        self._lock = threading.Lock()
        monkeypatch.setattr(module, name, self)

    def __get__(self, obj, objtype=None):  # also as a method of a class
        return self if obj is None else functools.partial(self, obj)

    def __call__(self, *args, **kwargs):
        with self._lock:
            self.threads.append(threading.get_ident())
            self.numba_threads.append(numba.get_num_threads())
            self.assume_finite.append(sklearn.get_config()["assume_finite"])
        time.sleep(self.sleep)
        return self.inner(*args, **kwargs)


def _fit_predict(n_threads, monkeypatch, **params):
    """Fit with ``n_threads`` Numba threads; the forecasts and the spies' records."""
    chunk_spy = ThreadSpy(monkeypatch, net, "_chunk_loss_and_grad", sleep=0.001)
    build_spy = ThreadSpy(monkeypatch, _ensemble.NetworkFactory, "build")
    with threads(n_threads), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = RNNForecaster(horizon=3, random_state=0, **params).fit(_panel())
        forecast = f.predict(level=[80])
        main_threads_after = numba.get_num_threads()
    monkeypatch.undo()
    assert main_threads_after == n_threads  # the workers' settings stay in the workers
    return f, forecast, chunk_spy, build_spy, caught


class BlockSpy:
    """Wraps :func:`tsrnn._fused.train_block`: records each call's helpers and batches done."""

    def __init__(self, monkeypatch):
        self.inner = _fused.train_block
        self.calls = []  # (n_helpers, batches trained)
        monkeypatch.setattr(_fused, "train_block", self)

    def __call__(self, *args):
        done, status = self.inner(*args)
        self.calls.append((args[9], done))
        return done, status


@pytest.mark.parametrize("hidden_size", [32, 64])  # the default network; a wider one
def test_default_batch_splits_across_threads_bit_identically(hidden_size, monkeypatch):
    # the default batch (32 rows): two 16-row chunks per batch; on two threads the second is
    # computed by a chunk team's helper thread (tsrnn._network.ChunkTeam), inside its fused
    # step, posted to it by the compiled block of batches (tsrnn._fused.train_block)
    params = dict(hidden_size=hidden_size, max_iter=2, n_iter_no_change=2)
    blocks1, helpers1 = BlockSpy(monkeypatch), ThreadSpy(monkeypatch, net, "_serve")
    f1, out1, chunks1, _, _ = _fit_predict(1, monkeypatch, **params)
    assert not helpers1.threads and {n for n, _ in blocks1.calls} == {0}  # no team
    blocks2, helpers2 = BlockSpy(monkeypatch), ThreadSpy(monkeypatch, net, "_serve")
    helpers_before = threading.active_count()
    f2, out2, chunks2, _, _ = _fit_predict(2, monkeypatch, **params)
    me = threading.get_ident()
    # two threads: each full batch went to the team (its first chunk on the caller, the
    # second on the helper thread); a short last batch is one chunk, run by the caller
    assert {n for n, _ in blocks2.calls} == {1}
    assert helpers2.threads and me not in helpers2.threads
    n_full = sum(done for _, done in blocks1.calls)
    assert n_full >= len(chunks1.threads) and sum(done for _, done in blocks2.calls) == n_full
    assert set(chunks1.threads) == set(chunks2.threads) == {me}
    assert len(chunks2.threads) == len(chunks1.threads)  # the same chunks
    assert threading.active_count() == helpers_before  # the helpers stopped with their epoch
    pd.testing.assert_frame_equal(out1, out2, check_exact=True)
    for a, b in zip(f1.estimators_, f2.estimators_):
        np.testing.assert_array_equal(a.coefs_, b.coefs_)
        assert a.loss_curve_ == b.loss_curve_


def test_seed_ensemble_members_run_concurrently_bit_identically(monkeypatch):
    params = dict(n_models=3, hidden_size=4, max_iter=3, n_iter_no_change=3)
    f1, out1, _, build1, caught1 = _fit_predict(1, monkeypatch, **params)
    f2, out2, _, build2, caught2 = _fit_predict(2, monkeypatch, **params)
    me = threading.get_ident()
    assert set(build1.threads) == {me}  # one thread: members one after another
    # two threads: the 3 members of each stage were built (and trained) on the pool's
    # threads, each with a chunk pool of one thread (failed before: all on the caller)
    assert len(build2.threads) == 6
    assert len(set(build2.threads)) >= 2 and me not in build2.threads
    assert build2.numba_threads == [1] * 6
    pd.testing.assert_frame_equal(out1, out2, check_exact=True)
    assert len(f2.estimators_) == 3
    for a, b in zip(f1.estimators_, f2.estimators_):
        assert a.random_state == b.random_state
        np.testing.assert_array_equal(a.coefs_, b.coefs_)
    assert f1.best_epochs_ == f2.best_epochs_
    # the ConvergenceWarning of reaching max_iter stays hidden on the pool's threads too
    for caught in (caught1, caught2):
        assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]


def test_members_see_the_callers_sklearn_config(monkeypatch):
    spy = ThreadSpy(monkeypatch, _ensemble.NetworkFactory, "build")
    with threads(2), sklearn.config_context(assume_finite=True):
        RNNForecaster(horizon=2, n_models=2, hidden_size=4, max_iter=1, random_state=0).fit(
            _panel(n_series=2, n=40)
        )
    assert threading.get_ident() not in spy.threads
    assert spy.assume_finite == [True] * len(spy.threads)


def test_first_failing_member_raises_as_in_a_sequential_run(monkeypatch):
    seeds = _ensemble.member_seeds(0, 3)
    inner = _ensemble.NetworkFactory.build

    def build(self, seed, *args, **kwargs):
        est = inner(self, seed, *args, **kwargs)
        k = seeds.index(seed)
        if k in (1, 2):  # the second and third member fail, the third one sooner
            if k == 1:
                time.sleep(0.2)

            def fail(*a, **kw):
                raise RuntimeError(f"member {k} failed")

            est._fit_windows = fail
        return est

    monkeypatch.setattr(_ensemble.NetworkFactory, "build", build)
    f = RNNForecaster(horizon=2, n_models=3, hidden_size=4, max_iter=1, random_state=0)
    with threads(2), pytest.raises(RuntimeError, match="member 1 failed"):
        f.fit(_panel(n_series=2, n=40))
    assert not hasattr(f, "estimators_")


def test_parallel_plan():
    factory = _ensemble.NetworkFactory("lstm", {"verbose": 0, "device": "cpu"}, 5)
    with threads(2):
        assert _ensemble.parallel_plan(factory, 1) == (1, 2)
        assert _ensemble.parallel_plan(factory, 3) == (2, 1)
        assert _ensemble.parallel_plan(factory, 2) == (2, 1)
        verbose = _ensemble.NetworkFactory("lstm", {"verbose": 1, "device": "cpu"}, 5)
        assert _ensemble.parallel_plan(verbose, 3) == (1, 2)  # epoch lines not interleaved
        cuda = _ensemble.NetworkFactory("lstm", {"verbose": 0, "device": "cuda"}, 5)
        assert _ensemble.parallel_plan(cuda, 3) == (1, 2)
    with threads(1):
        assert _ensemble.parallel_plan(factory, 3) == (1, 1)


def test_chunk_rule_depends_on_batch_and_width_only():
    wide = net.NetworkSpec("lstm", 3, 64, n_outputs=3)
    default = net.NetworkSpec("lstm", 3, 32, n_outputs=3)  # the forecaster's default net
    narrow = net.NetworkSpec("rnn", 3, 8, n_outputs=3)
    assert net.chunk_rows(wide, 32) == 16  # a default batch: two chunks
    assert net.chunk_rows(wide, 20) == 16
    assert net.chunk_rows(wide, 33) == 32
    assert net.chunk_rows(wide, 500) == 32
    # the default LSTM's chunk is one fused call: its default batch splits in two
    assert net.chunk_rows(default, 32) == 16
    assert net.chunk_rows(default, 64) == 32
    # too little work per row to pay for a second chunk
    assert net.chunk_rows(narrow, 32) == 32
    # deeper and bidirectional networks: the same rule (a stack step is one call too)
    deep = net.NetworkSpec("lstm", 3, 32, num_layers=2, n_outputs=3)
    assert net.chunk_rows(deep, 32) == 16
    tiny = net.NetworkSpec("lstm", 3, 8, num_layers=2, bidirectional=True, n_outputs=3)
    assert tiny.n_recurrent_params < net.SPLIT_MIN_WORK and net.chunk_rows(tiny, 32) == 32
    with threads(1):
        one = [net.chunk_rows(wide, b) for b in (16, 32, 64)]
    with threads(2):
        two = [net.chunk_rows(wide, b) for b in (16, 32, 64)]
    assert one == two == [16, 16, 32]
