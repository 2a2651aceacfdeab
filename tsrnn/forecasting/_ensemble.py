"""Stage 6 of the data flow: the seed ensemble of networks, trained in two stages.

Stage 1 trains every member on the training windows with early stopping on the explicit
held-out windows of :meth:`~tsrnn.forecasting._stream.WindowSource.split_windows` and keeps
its best epoch.
Stage 2 (``refit_full``) retrains every member from the *same* initial weights on all windows
for that many epochs. Each member has one concrete integer seed, drawn once per ``fit``
(:func:`member_seeds`), that both stages use.

The members are independent, so with ``n_models > 1`` on the CPU they train concurrently on a
thread pool (the kernels release the GIL; see :func:`run_members`), each with its own seed,
random generator and per-thread workspace. Whatever the number of threads, every member sees
the same data in the same order, so forecasts are bit-identical to training them one after
another.
"""

from __future__ import annotations

import contextlib
import contextvars
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from .._backend import resolve_device
from ..estimators import GRURegressor, LSTMRegressor, RNNRegressor
from ._interrupt import raise_if_interrupted
from ._windows import WindowSet

_ESTIMATORS = {"rnn": RNNRegressor, "lstm": LSTMRegressor, "gru": GRURegressor}

# Parameters handed to every network unchanged (the forecaster documents them). Not
# ``verbose``: the forecaster reports progress itself (tsrnn._progress), on stderr.
PASS_THROUGH = (
    "hidden_size",
    "num_layers",
    "bidirectional",
    "batch_size",
    "solver",
    "learning_rate_init",
    "momentum",
    "alpha",
    "clip_grad_norm",
    "shuffle",
    "n_iter_no_change",
    "tol",
    "loss",
    "quantiles",
    "dtype",
    "device",
)


def member_seeds(random_state, n_models: int) -> list:
    """One concrete integer seed per ensemble member, drawn once per ``fit``.

    An integer ``random_state`` gives itself (one member) or ``n_models`` seeds of a
    :class:`numpy.random.SeedSequence`; None (the global generator) or a
    :class:`numpy.random.RandomState` gives ``n_models`` draws from it. Both training stages
    of a member use its seed, so stage 2 starts from the initial weights of stage 1.
    """
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        if n_models == 1:
            return [int(random_state)]
        states = np.random.SeedSequence(int(random_state)).generate_state(n_models)
        return [int(s) for s in states]
    rng = check_random_state(random_state)
    return [int(s) for s in rng.randint(np.iinfo(np.int32).max, size=n_models)]


@dataclass(frozen=True)
class NetworkFactory:
    """Builds the ensemble's networks: the cell and the parameters passed through."""

    cell: str
    params: dict
    max_iter: int

    def build(self, seed: int, early_stopping: bool, max_iter=None, exact_epochs=False):
        """A fresh network with ``seed``; ``max_iter`` overrides the epoch budget.

        ``exact_epochs=True`` runs exactly ``max_iter`` epochs: the training-loss stopping rule
        (``n_iter_no_change``) cannot end the fit earlier.
        """
        budget = self.max_iter if max_iter is None else max(1, int(max_iter))
        params = dict(self.params)
        if exact_epochs:
            params["n_iter_no_change"] = budget
        return _ESTIMATORS[self.cell](
            **params,
            max_iter=budget,
            early_stopping=early_stopping,
            validation_fraction=0.1,
            random_state=seed,
        )


@dataclass
class EnsembleFit:
    """The members of one training stage and what the stage measured."""

    estimators: list
    best_epochs: list
    loss_curve: list
    validation_scores: list | None = field(default=None)


def _quietly(fit, *args):
    """``fit(*args)``, returned, without the ConvergenceWarning of ``max_iter``; stop on Ctrl-C.

    Stopping at ``max_iter`` is the expected outcome of the stage-2 refit (its epoch budget is
    the best stage-1 epoch), and in stage 1 the best weights are kept anyway. A Ctrl-C that the
    network's epoch loop absorbed (it keeps its best weights and returns) aborts the
    forecaster's fit here rather than carrying on with a half-trained member.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        result = fit(*args)
    raise_if_interrupted()
    return result


def _on_cpu(device) -> bool:
    """Whether the networks of ``device`` train on the CPU (where members run concurrently)."""
    if device == "cpu":
        return True
    if device == "cuda":
        return False
    try:
        return resolve_device(device) == "cpu"
    except Exception:  # the network's own fit reports an unusable device
        return False


def parallel_plan(factory: NetworkFactory, n_members: int) -> tuple[int, int]:
    """How ``n_members`` members train: (members at a time, threads of each member).

    Members run concurrently only on the CPU, without ``verbose`` (whose per-epoch lines
    would interleave), and when Numba's thread count (:func:`numba.get_num_threads`, as the
    caller set it) is above 1. The threads are divided among the concurrent members, each
    member's own row-chunk pool getting ``threads // members`` (so 1 on two cores with two
    members or more: no nested pools oversubscribing the cores). The split changes only the
    speed: the row chunks of a batch are fixed by :func:`tsrnn._network.chunk_rows`, not by
    the thread count.
    """
    threads = numba.get_num_threads()
    params = factory.params
    if n_members <= 1 or threads <= 1 or params.get("verbose"):
        return 1, threads
    if not _on_cpu(params.get("device", "auto")):
        return 1, threads
    workers = min(threads, n_members)
    return workers, max(1, min(threads // workers, numba.config.NUMBA_NUM_THREADS))


def run_members(factory: NetworkFactory, jobs) -> list:
    """Run the member jobs (callables, one per member) and return their results in order.

    One member at a time, or (see :func:`parallel_plan`) several at once on a thread pool:
    each job runs in a copy of the caller's context variables and scikit-learn configuration,
    with Numba's thread count of the worker set to its share. ``ConvergenceWarning`` is hidden
    as in :func:`_quietly`. The first failing member (in member order) raises its error, as in
    a sequential run; on Ctrl-C the members not yet started are cancelled and the fit is
    abandoned at once (members already running finish in the background, and are discarded).
    """
    workers, per_member = parallel_plan(factory, len(jobs))
    if workers <= 1:
        return [_quietly(job) for job in jobs]

    config = sklearn.get_config()

    def run(job, context):
        previous = numba.get_num_threads()
        numba.set_num_threads(per_member)  # thread-local: this worker's own chunk pool
        try:
            with sklearn.config_context(**config):
                return context.run(job)
        finally:
            numba.set_num_threads(previous)

    # The warning filters are process-wide: set once here, for every worker (catch_warnings
    # inside the workers would race on them).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tsrnn-member")
        try:
            futures = [executor.submit(run, job, contextvars.copy_context()) for job in jobs]
            results = [future.result() for future in futures]
        except BaseException as exc:
            executor.shutdown(wait=not isinstance(exc, KeyboardInterrupt), cancel_futures=True)
            raise
        executor.shutdown(wait=True)
    raise_if_interrupted()
    return results


def _best_epoch(est) -> int:
    """The epoch with the best finite validation score (1-based), else the epochs run."""
    scores = np.asarray(est.validation_scores_, dtype=float)
    finite = np.isfinite(scores)
    if not finite.any():
        return est.n_iter_
    return int(np.argmax(np.where(finite, scores, -np.inf))) + 1


def _watched(progress, k):
    """The context in which member ``k`` trains: reporting to ``progress`` (if any)."""
    return contextlib.nullcontext() if progress is None else progress.member(k)


def fit_stage1(
    factory: NetworkFactory,
    seeds,
    train: WindowSet,
    val: WindowSet,
    early_stopping: bool,
    progress=None,
) -> EnsembleFit:
    """Train every member on ``train``; early stopping on exactly the windows ``val``.

    ``train`` and ``val`` hold arrays or the lazy row sets of :mod:`._stream` (the networks'
    private path ``_fit_windows`` takes both; the results are the same).

    ``progress``: a :class:`tsrnn._progress.StageProgress` the members' epochs report to.
    """

    def job(k, seed):
        def fit_member():
            est = factory.build(seed, early_stopping=early_stopping)
            with _watched(progress, k):
                if early_stopping:
                    est._fit_windows(train.X, train.Y, val.X, val.Y)
                    return est, _best_epoch(est)
                est._fit_windows(train.X, train.Y)
            return est, est.n_iter_

        return fit_member

    done = run_members(factory, [job(k, seed) for k, seed in enumerate(seeds)])
    members, best = [est for est, _ in done], [epochs for _, epochs in done]
    first = members[0]
    scores = first.validation_scores_
    return EnsembleFit(
        members, best, list(first.loss_curve_), list(scores) if scores is not None else None
    )


def stage2_budgets(factory: NetworkFactory, n_members: int, epochs=None) -> list:
    """The epochs each member of stage 2 runs at most: ``epochs[k]``, else ``max_iter``."""
    return [max(1, int(epochs[k])) if epochs else factory.max_iter for k in range(n_members)]


def fit_stage2(
    factory: NetworkFactory, seeds, full: WindowSet, epochs=None, progress=None
) -> EnsembleFit:
    """Train every member on all windows, for ``epochs[k]`` epochs (``max_iter`` if None).

    With ``epochs`` (the best epochs of stage 1) each member runs exactly that many epochs;
    without, the user's stopping rule on the training loss applies as in any fit.
    ``progress`` as in :func:`fit_stage1`.
    """

    def job(k, seed):
        def fit_member():
            budget = epochs[k] if epochs else factory.max_iter
            est = factory.build(
                seed, early_stopping=False, max_iter=budget, exact_epochs=bool(epochs)
            )
            with _watched(progress, k):
                est._fit_windows(full.X, full.Y)
            return est

        return fit_member

    members = run_members(factory, [job(k, seed) for k, seed in enumerate(seeds)])
    return EnsembleFit(members, [e.n_iter_ for e in members], list(members[0].loss_curve_))


def check_finite(estimators, X, scores=None) -> None:
    """Raise ValueError if training diverged: non-finite weights or outputs.

    Checks every member's weights, the ensemble's outputs on the latest (up to 256) rows of
    ``X`` (when given) and the calibration residuals ``scores`` (when given).
    """
    ok = all(np.isfinite(np.asarray(e.coefs_)).all() for e in estimators)
    if ok and X is not None and len(X):
        ok = bool(np.isfinite(ensemble_predict(estimators, X[-256:])).all())
    if ok and scores is not None:
        ok = bool(np.isfinite(scores).all())
    if not ok:
        raise ValueError(
            "training diverged: the trained network's weights or outputs are not finite (NaN "
            "or inf), so it cannot forecast. Lower learning_rate_init, keep clip_grad_norm "
            "set, or normalise the data (normalize='window')."
        )


def ensemble_predict(estimators, X: np.ndarray) -> np.ndarray:
    """The members' mean prediction for ``X``, shape (len(X), n_outputs)."""
    out = estimators[0].predict(X)
    for est in estimators[1:]:
        out = out + est.predict(X)
    out = out / len(estimators)
    return out.reshape(len(X), -1)


def ensemble_quantiles(estimators, X: np.ndarray) -> tuple:
    """The members' mean median and quantiles for ``X`` (``loss='quantile'`` networks).

    Returns ``(median, quantiles)`` of shapes (len(X), n_outputs) and (len(X), n_outputs, Q):
    the mean over members of each one's sorted quantiles (a mean of non-decreasing rows is
    non-decreasing, so they never cross), and its column at level 0.5 -- the same numbers as
    :func:`ensemble_predict`, whose members predict their median.
    """
    q = estimators[0].predict_quantiles(X)
    for est in estimators[1:]:
        q = q + est.predict_quantiles(X)
    q = q / len(estimators)
    levels = estimators[0].quantiles_
    q = q.reshape(len(X), -1, len(levels))
    return q[:, :, int(np.flatnonzero(levels == 0.5)[0])], q
