"""The epoch loop: mini-batches, shuffling, early stopping and the history (no scikit-learn here).

The estimators (:mod:`tsrnn.estimators`) decide *what* to train: they validate the data,
choose the validation set and hold the fitted attributes.  :func:`run_epochs` decides *how
long*: it cuts each epoch into mini-batches, hands them to a trainer (see
:mod:`tsrnn._training`; any object with ``train_epoch``, ``predict`` and ``get_params``
works), tracks the best loss or validation score, stops when it stops improving, and returns
what happened as an :class:`EpochHistory`.

Stopping rule (scikit-learn's MLP rule).  Each epoch gives a training loss and, when a
validation set is passed, a validation score (higher is better).  The epoch *improves* when

- with validation: ``score > best + tol``;
- without: ``loss < best - tol * reference`` (``reference``: the loss at the start of
  training, which the estimators measure, else the first epoch's loss; so the rule does not
  depend on the scale of the targets);

where ``best`` is the best value seen so far (the ``best`` argument included); ``best`` itself
moves to any strictly better value, even one inside ``tol``.  After ``n_iter_no_change``
consecutive epochs without improvement the loop stops.  With validation, the weights of the
best-scoring epoch are returned in ``best_params``.

What goes wrong is caught here too (see :func:`run_epochs`, Notes): a loss that turns
non-finite or grows by orders of magnitude (divergence) stops the loop and returns the best
finite weights, and a KeyboardInterrupt drops the epoch in progress and returns what the
completed epochs give, always consistent with the returned losses.
"""

import contextlib
import contextvars
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._progress import epoch_observer

__all__ = ["DIVERGENCE_FACTOR", "EpochHistory", "propagate_interrupts", "run_epochs"]

#: A training loss this many times the lowest loss so far (and above the loss where training
#: started) counts as divergence.
DIVERGENCE_FACTOR = 1e3

_PROPAGATE = contextvars.ContextVar("tsrnn_propagate_interrupts", default=False)


@contextlib.contextmanager
def propagate_interrupts():
    """Within this block a KeyboardInterrupt in :func:`run_epochs` propagates.

    For callers that train several networks in a row (the forecasting layer): there Ctrl-C
    must stop the whole job, not only the network being trained.
    """
    token = _PROPAGATE.set(True)
    try:
        yield
    finally:
        _PROPAGATE.reset(token)


class Batches(Sequence):
    """The mini-batches of one epoch: ``order[k * size : (k + 1) * size]``, made on demand.

    A sequence (``len``, indexing, iteration) of index arrays, like the list of them it
    replaces, without one array object per batch held for the whole epoch (with hundreds of
    thousands of batches, tens of MB).
    """

    def __init__(self, order, size):
        self.order = order
        self.size = int(size)

    def __len__(self):
        return -(-len(self.order) // self.size)

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        k = range(len(self))[k]  # bounds and negative indices as a list's
        return self.order[k * self.size : (k + 1) * self.size]

    def __iter__(self):
        for i in range(0, len(self.order), self.size):
            yield self.order[i : i + self.size]

    @property
    def largest(self) -> int:
        """Rows of the largest batch (0 for an empty epoch)."""
        return min(self.size, len(self.order))

    def full_run(self, k, limit):
        """``(k1, rows)``: batches ``k .. k1 - 1`` are full (``largest`` rows), at most ``limit``.

        ``rows`` their rows in order (a view of ``order``); ``k1 == k`` when batch ``k`` is not
        full. Without looking at the batches one by one: only the last may be short.
        """
        n = len(self.order)
        n_full = n // self.size if n >= self.size else int(n > 0)
        k1 = max(k, min(k + limit, n_full))
        return k1, self.order[k * self.size : k1 * self.size]


@dataclass
class EpochHistory:
    """What one call of :func:`run_epochs` did.

    Attributes
    ----------
    losses : list of float
        Mean training loss of each completed epoch, in order.
    scores : list of float or None
        Validation score of each completed epoch; None without a validation set.
    best : float
        Best value after the last completed epoch: the lowest loss, or with a validation set
        the highest score (the ``best`` passed in counts as seen before the first epoch).
    best_params : ndarray or None
        Weights after the best-scoring epoch of this call; None without a validation set or
        when no epoch of this call beat the ``best`` passed in.
    n_no_improvement : int
        Consecutive epochs without improvement at the end.
    stop : {'max_iter', 'no_change', 'non_finite', 'diverged', 'interrupted'}
        Why the loop ended: all ``n_epochs`` ran; ``n_iter_no_change`` epochs without
        improvement; the trainer reported a non-finite loss or gradient in the epoch after
        the last completed one; the epoch after the last completed one diverged (its loss is
        not in ``losses``, see ``diverged_loss``); or a KeyboardInterrupt arrived during the
        epoch after the last completed one (that epoch is dropped).
    params : ndarray
        The weights to keep: the best-scoring epoch's with a validation set (when one of this
        call beat ``best``); after 'non_finite' or 'diverged' without one, the weights of the
        epoch with the lowest training loss (the starting weights if no epoch completed);
        otherwise those after the last completed epoch.
    optimizer_state : dict
        The trainer's optimiser state after the last completed epoch, or, when ``params`` are
        the lowest-loss or best-scoring weights after 'non_finite' or 'diverged', the state
        that went with them.
    kept_epoch : int
        Which epoch of this call ``params`` come from (1-based; 0 = the starting weights).
    diverged_loss : float or None
        The loss of the diverged epoch when ``stop == 'diverged'``.
    lowest_loss : float
        The lowest training loss of the completed epochs, ``reference`` included (inf if
        neither).
    """

    losses: list
    scores: list | None
    best: float
    best_params: np.ndarray | None
    n_no_improvement: int
    stop: str
    params: np.ndarray | None = None
    optimizer_state: dict | None = None
    kept_epoch: int = 0
    diverged_loss: float | None = None
    lowest_loss: float = np.inf


@dataclass(frozen=True)
class _Mark:
    """Everything the loop knows after ``n`` completed epochs.

    Replaced in one assignment, so a KeyboardInterrupt never finds it half-updated.
    """

    n: int
    best: float
    best_params: object
    best_state: object
    best_n: int
    count: int
    low: float
    low_params: object
    low_state: object
    low_n: int
    params: object
    state: object


def _optimizer_state(trainer):
    get = getattr(trainer, "get_optimizer_state", None)
    return get() if get is not None else None


def run_epochs(
    trainer,
    X,
    Y,
    *,
    n_epochs,
    batch_size,
    shuffle,
    rng,
    validation=None,
    score=None,
    best=None,
    tol=0.0,
    reference=None,
    n_iter_no_change=None,
    first_epoch=1,
    verbose=False,
):
    """Run up to ``n_epochs`` epochs of mini-batch training.

    Parameters
    ----------
    trainer : object
        Has ``train_epoch(X, Y, batches) -> (mean_loss, ok)``, ``predict(X)``,
        ``get_params()`` and ``get_optimizer_state()`` (see :mod:`tsrnn._training`).
    X, Y : ndarray
        Training inputs and targets, passed to the trainer as they are.
    n_epochs : int
        Maximum number of epochs.
    batch_size : int
        Rows per mini-batch; the last batch of an epoch takes the remainder.
    shuffle : bool
        Draw a new order of the rows every epoch from ``rng``; otherwise keep their order
        (and leave ``rng`` untouched).
    rng : numpy.random.Generator
        Source of the shuffles.
    validation : tuple (X_val, Y_val) or None, default=None
        Held-out set scored after every epoch with ``score(trainer.predict(X_val), Y_val)``;
        the stopping rule then follows the score and the best weights are kept.
    score : callable or None, default=None
        ``score(outputs, Y_val) -> float``, higher is better; required with ``validation``.
    best : float or None, default=None
        Best value seen before this call (e.g. in an earlier warm-started fit); None means
        none: +inf for the loss, -inf for the score.
    tol : float, default=0.0
        Minimum change that counts as an improvement: of the score (absolute), or of the
        loss relative to ``reference`` (the loss must fall by ``tol * reference``).
    reference : float or None, default=None
        Loss scale for ``tol`` and the divergence rule: the loss of the model before it was
        trained (the estimators measure it; it carries over warm starts); None means the
        loss of the first epoch of this call.
    n_iter_no_change : int or None, default=None
        Stop after this many consecutive epochs without improvement; None never stops early.
    first_epoch : int, default=1
        Number of the first epoch in the verbose output (epochs continue across warm starts).
    verbose : bool, default=False
        Print one line per epoch: loss, validation score, time.

    Returns
    -------
    history : EpochHistory

    Notes
    -----
    Stopping rule (scikit-learn's MLP rule, with the loss tolerance relative).  Each epoch
    gives a training loss and, when a validation set is passed, a validation score (higher
    is better).  The epoch *improves* when

    - with validation: ``score > best + tol``;
    - without: ``loss < best - tol * reference``;

    where ``best`` is the best value seen so far (the ``best`` argument included); ``best``
    itself moves to any strictly better value, even one inside ``tol``.  After
    ``n_iter_no_change`` consecutive epochs without improvement the loop stops.  With
    validation, the weights of the best-scoring epoch are returned.

    Divergence: an epoch whose training loss exceeds ``DIVERGENCE_FACTOR`` (1e3) times the
    lowest loss so far (``reference`` included) *and* the reference loss itself stops the
    loop ('diverged'); the weights that began the epoch with the lowest training loss are
    kept (or the best-scoring ones with validation).  A non-finite loss or gradient
    ('non_finite') is handled the same way.

    Progress: after every completed epoch, and once when the loop ends, it reports to the
    observer that :func:`tsrnn._progress.epoch_observer` gives in the caller's context, if any
    (the forecasting layer's progress bars and per-epoch logs).

    KeyboardInterrupt: the epoch in progress is dropped and the loop returns what the
    completed epochs give ('interrupted'), unless the call runs inside
    :func:`propagate_interrupts`, where the interrupt propagates.
    """
    if validation is not None and score is None:
        raise ValueError("run_epochs: a validation set needs a score function.")
    if best is None:
        best = -np.inf if validation is not None else np.inf
    n = X.shape[0]
    losses = []
    scores = [] if validation is not None else None
    params0, state0 = trainer.get_params(), _optimizer_state(trainer)
    low0 = np.inf if reference is None else float(reference)
    mark = _Mark(0, float(best), None, None, 0, 0, low0, params0, state0, 0, params0, state0)
    stop = "max_iter"
    diverged_loss = None
    observer = epoch_observer()  # a progress bar or log of the caller's (tsrnn._progress)
    try:
        for epoch in range(first_epoch, first_epoch + n_epochs):
            start = time.perf_counter()
            # int32 where the rows fit (half the memory of int64: 64 MB less for 16 M
            # windows); Generator.shuffle draws the same swaps for any dtype, so the order is
            # the permutation(n) of int64 rows
            order = np.arange(n, dtype=np.int32 if n < 2**31 else np.int64)
            if shuffle:
                rng.shuffle(order)
            batches = Batches(order, batch_size)
            loss, ok = trainer.train_epoch(X, Y, batches)
            if not ok:
                stop = "non_finite"
                break
            loss = float(loss)
            ref = reference if reference is not None else (losses[0] if losses else loss)
            if loss > DIVERGENCE_FACTOR * mark.low and loss > ref:
                stop, diverged_loss = "diverged", loss
                if verbose:
                    print(
                        f"Iteration {epoch}, loss = {loss:.8g}: diverged (over "
                        f"{DIVERGENCE_FACTOR:g} times the lowest loss {mark.low:.8g}): "
                        "stopping.",
                        flush=True,
                    )
                break
            msg = f"Iteration {epoch}, loss = {loss:.8f}"
            value = None
            if validation is not None:
                value = float(score(trainer.predict(validation[0]), validation[1]))
                msg += f", validation score = {value:.6f}"
            params, state = trainer.get_params(), _optimizer_state(trainer)
            k = mark.n + 1
            new = dict(
                best=mark.best,
                best_params=mark.best_params,
                best_state=mark.best_state,
                best_n=mark.best_n,
            )
            if validation is not None:
                improved = value > mark.best + tol
                if value > mark.best:
                    new = dict(best=value, best_params=params, best_state=state, best_n=k)
            else:
                improved = loss < mark.best - tol * ref
                if loss < mark.best:
                    new["best"] = loss
            # an epoch's mean loss judges the weights it began with (its first batches ran
            # on them); those it ends with are judged by the next epoch
            low = (
                (loss, mark.params, mark.state, k - 1)
                if loss < mark.low
                else (mark.low, mark.low_params, mark.low_state, mark.low_n)
            )
            count = 0 if improved else mark.count + 1
            losses.append(loss)
            if scores is not None:
                scores.append(value)
            mark = _Mark(
                k,
                **new,
                count=count,
                low=low[0],
                low_params=low[1],
                low_state=low[2],
                low_n=low[3],
                params=params,
                state=state,
            )
            seconds = time.perf_counter() - start
            if verbose:
                print(f"{msg}, time = {seconds:.3f}s", flush=True)
            if observer is not None:
                observer.epoch(epoch, loss, value, seconds)
            if n_iter_no_change is not None and count >= n_iter_no_change:
                if verbose:
                    print(
                        f"No improvement for {n_iter_no_change} consecutive epochs: stopping.",
                        flush=True,
                    )
                stop = "no_change"
                break
    except KeyboardInterrupt:
        if _PROPAGATE.get():
            raise
        stop = "interrupted"
    # the completed epochs only: an interrupt may have come between an append and the mark
    del losses[mark.n :]
    if scores is not None:
        del scores[mark.n :]
    if observer is not None:
        observer.done(mark.n, stop)
    params, state, kept = mark.params, mark.state, mark.n
    if mark.best_params is not None:
        params, kept = mark.best_params, mark.best_n
        if stop in ("non_finite", "diverged"):
            state = mark.best_state
    elif stop in ("non_finite", "diverged"):
        params, state, kept = mark.low_params, mark.low_state, mark.low_n
    return EpochHistory(
        losses,
        scores,
        mark.best,
        mark.best_params,
        mark.count,
        stop,
        params=params,
        optimizer_state=state,
        kept_epoch=kept,
        diverged_loss=diverged_loss,
        lowest_loss=mark.low,
    )
