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
- without: ``loss < best - tol``;

where ``best`` is the best value seen so far (the ``best`` argument included); ``best`` itself
moves to any strictly better value, even one inside ``tol``.  After ``n_iter_no_change``
consecutive epochs without improvement the loop stops.  With validation, the weights of the
best-scoring epoch are returned in ``best_params``.
"""

import time
from dataclasses import dataclass

import numpy as np

__all__ = ["EpochHistory", "run_epochs"]


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
        Best value after the last epoch: the lowest loss, or with a validation set the
        highest score (the ``best`` passed in counts as seen before the first epoch).
    best_params : ndarray or None
        Weights after the best-scoring epoch of this call; None without a validation set or
        when no epoch of this call beat the ``best`` passed in.
    n_no_improvement : int
        Consecutive epochs without improvement at the end.
    stop : {'max_iter', 'no_change', 'non_finite'}
        Why the loop ended: all ``n_epochs`` ran; ``n_iter_no_change`` epochs without
        improvement; or the trainer reported a non-finite loss or gradient in the epoch after
        the last completed one (the trainer then holds the last finite weights).
    """

    losses: list
    scores: list | None
    best: float
    best_params: np.ndarray | None
    n_no_improvement: int
    stop: str


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
    n_iter_no_change=None,
    first_epoch=1,
    verbose=False,
):
    """Run up to ``n_epochs`` epochs of mini-batch training.

    Parameters
    ----------
    trainer : object
        Has ``train_epoch(X, Y, batches) -> (mean_loss, ok)``, ``predict(X)`` and
        ``get_params()`` (see :mod:`tsrnn._training`).
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
        Minimum change that counts as an improvement.
    n_iter_no_change : int or None, default=None
        Stop after this many consecutive epochs without improvement; None never stops early.
    first_epoch : int, default=1
        Number of the first epoch in the verbose output (epochs continue across warm starts).
    verbose : bool, default=False
        Print one line per epoch: loss, validation score, time.

    Returns
    -------
    history : EpochHistory
    """
    if validation is not None and score is None:
        raise ValueError("run_epochs: a validation set needs a score function.")
    if best is None:
        best = -np.inf if validation is not None else np.inf
    n = X.shape[0]
    losses = []
    scores = [] if validation is not None else None
    best_params = None
    count = 0
    stop = "max_iter"
    for epoch in range(first_epoch, first_epoch + n_epochs):
        start = time.perf_counter()
        order = rng.permutation(n) if shuffle else np.arange(n)
        batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
        loss, ok = trainer.train_epoch(X, Y, batches)
        if not ok:
            stop = "non_finite"
            break
        losses.append(float(loss))
        msg = f"Iteration {epoch}, loss = {loss:.8f}"
        if validation is not None:
            value = score(trainer.predict(validation[0]), validation[1])
            scores.append(float(value))
            msg += f", validation score = {value:.6f}"
            improved = value > best + tol
            if value > best:
                best = float(value)
                best_params = trainer.get_params()
        else:
            improved = loss < best - tol
            if loss < best:
                best = float(loss)
        count = 0 if improved else count + 1
        if verbose:
            print(f"{msg}, time = {time.perf_counter() - start:.3f}s", flush=True)
        if n_iter_no_change is not None and count >= n_iter_no_change:
            if verbose:
                print(
                    f"No improvement for {n_iter_no_change} consecutive epochs: stopping.",
                    flush=True,
                )
            stop = "no_change"
            break
    return EpochHistory(losses, scores, best, best_params, count, stop)
