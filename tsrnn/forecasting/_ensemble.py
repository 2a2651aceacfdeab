"""Stage 6 of the data flow: the seed ensemble of networks, trained in two stages.

Stage 1 trains every member on the training windows with early stopping on the explicit
held-out windows of :func:`~tsrnn.forecasting._windows.split_windows` and keeps its best epoch.
Stage 2 (``refit_full``) retrains every member from the *same* initial weights on all windows
for that many epochs. Each member has one concrete integer seed, drawn once per ``fit``
(:func:`member_seeds`), that both stages use.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from ..estimators import GRURegressor, LSTMRegressor, RNNRegressor
from ._interrupt import raise_if_interrupted
from ._windows import WindowSet

_ESTIMATORS = {"rnn": RNNRegressor, "lstm": LSTMRegressor, "gru": GRURegressor}

# Parameters handed to every network unchanged (the forecaster documents them).
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
    "verbose",
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
    """Fit without the ConvergenceWarning of reaching ``max_iter``; stop on Ctrl-C.

    Stopping at ``max_iter`` is the expected outcome of the stage-2 refit (its epoch budget is
    the best stage-1 epoch), and in stage 1 the best weights are kept anyway. A Ctrl-C that the
    network's epoch loop absorbed (it keeps its best weights and returns) aborts the
    forecaster's fit here rather than carrying on with a half-trained member.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit(*args)
    raise_if_interrupted()


def _best_epoch(est) -> int:
    """The epoch with the best finite validation score (1-based), else the epochs run."""
    scores = np.asarray(est.validation_scores_, dtype=float)
    finite = np.isfinite(scores)
    if not finite.any():
        return est.n_iter_
    return int(np.argmax(np.where(finite, scores, -np.inf))) + 1


def fit_stage1(
    factory: NetworkFactory, seeds, train: WindowSet, val: WindowSet, early_stopping: bool
) -> EnsembleFit:
    """Train every member on ``train``; early stopping on exactly the windows ``val``."""
    members, best = [], []
    for seed in seeds:
        est = factory.build(seed, early_stopping=early_stopping)
        if early_stopping:
            _quietly(est._fit_with_validation, train.X, train.Y, val.X, val.Y)
            best.append(_best_epoch(est))
        else:
            _quietly(est.fit, train.X, train.Y)
            best.append(est.n_iter_)
        members.append(est)
    first = members[0]
    scores = first.validation_scores_
    return EnsembleFit(
        members, best, list(first.loss_curve_), list(scores) if scores is not None else None
    )


def fit_stage2(factory: NetworkFactory, seeds, full: WindowSet, epochs=None) -> EnsembleFit:
    """Train every member on all windows, for ``epochs[k]`` epochs (``max_iter`` if None).

    With ``epochs`` (the best epochs of stage 1) each member runs exactly that many epochs;
    without, the user's stopping rule on the training loss applies as in any fit.
    """
    members = []
    for k, seed in enumerate(seeds):
        budget = epochs[k] if epochs else factory.max_iter
        est = factory.build(seed, early_stopping=False, max_iter=budget,
                            exact_epochs=bool(epochs))
        _quietly(est.fit, full.X, full.Y)
        members.append(est)
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
