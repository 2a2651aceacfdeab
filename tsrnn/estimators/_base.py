"""What the six recurrent estimators share: parameters, input validation, fitting, weights.

:class:`BaseRecurrent` is the scikit-learn adapter: it validates parameters and data, turns
targets into arrays (through its regression or classification subclass), chooses the
validation set, and keeps the fitted attributes.  The epochs themselves run in
:func:`tsrnn._epochs.run_epochs`, on a trainer that :mod:`tsrnn._backend` builds for the chosen
device; this module knows nothing of kernels, devices or loop indices.

The parameters are declared once, as dataclass fields: :func:`dataclasses.dataclass`
(``eq=False, repr=False``) writes the explicit ``__init__`` that scikit-learn requires (every
parameter a named argument with its default, stored unchanged), so the regressors can add
``loss`` without repeating the other 24 parameters.
"""

import warnings
from dataclasses import KW_ONLY, dataclass
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
    validate_data,
)

from .. import _network as net
from .._backend import make_optimizer, make_trainer, resolve_device
from .._backend import predict as _backend_predict
from .._epochs import DIVERGENCE_FACTOR, run_epochs

__all__ = ["BaseRecurrent"]

_FLOAT_DTYPES = (np.float64, np.float32)

# rows on which the loss of the untrained network is measured (the reference loss)
_LOSS_SAMPLE_ROWS = 256


def in_model_dtype(A, dtype, name):
    """``A`` as a C-contiguous array of ``dtype``; an error where float32 cannot hold a value.

    A cast would turn values beyond float32's range (about 3.4e38) into infinities: the
    fit would then train on them and predict garbage with nothing but NumPy's "overflow
    encountered in cast" to say so.
    """
    dtype = np.dtype(dtype)
    if dtype == np.float32 and A.dtype.itemsize > 4 and A.size:
        limit = float(np.finfo(np.float32).max)
        low, high = float(np.min(A)), float(np.max(A))
        if high > limit or low < -limit:
            worst = high if high > -low else low
            raise ValueError(
                f"{name} holds values beyond the range of float32 (e.g. {worst:.3g}; float32 "
                f"holds up to {limit:.3g}): pass dtype='float64', or rescale {name}."
            )
    return np.ascontiguousarray(A, dtype=dtype)


def _as_rows(X, dtype, name):
    """A row set in ``dtype``: a lazy one (its ``astype``) or a C-contiguous array."""
    if isinstance(X, np.ndarray):
        return in_model_dtype(X, dtype, name)
    return X.astype(dtype)


@dataclass(eq=False, repr=False, match_args=False)
class BaseRecurrent(BaseEstimator):
    """Shared machinery of the recurrent regressors and classifiers.

    Not for direct use: see the six public subclasses, whose docstrings describe every
    parameter.  A subclass sets ``_cell`` ('rnn', 'lstm' or 'gru') and supplies the target
    handling: ``_y_validation_kwargs``, ``_validate_y_only``, ``_encode_y``, ``_n_outputs``,
    ``_loss``, ``_score_raw`` and ``_set_outputs_from_import``.
    """

    hidden_size: int = 32
    num_layers: int = 1
    bidirectional: bool = False
    _: KW_ONLY
    batch_size: int | str = "auto"
    max_iter: int = 200
    solver: str = "adam"
    learning_rate_init: float = 3e-3
    momentum: float = 0.9
    nesterovs_momentum: bool = False
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8
    alpha: float = 0.0
    clip_grad_norm: float | None = None
    shuffle: bool = True
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-4
    random_state: int | np.random.RandomState | None = None
    warm_start: bool = False
    verbose: bool | int = False
    dtype: str = "float32"
    device: str = "auto"

    _cell = None  # set by subclasses: 'rnn', 'lstm' or 'gru' (not a dataclass field)

    _parameter_constraints = {
        "hidden_size": [Interval(Integral, 1, None, closed="left")],
        "num_layers": [Interval(Integral, 1, None, closed="left")],
        "bidirectional": ["boolean"],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "solver": [StrOptions({"adam", "sgd"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "clip_grad_norm": [Interval(Real, 0, None, closed="neither"), None],
        "shuffle": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "dtype": [StrOptions({"float32", "float64"})],
        "device": [StrOptions({"auto", "cpu", "cuda"})],
    }

    # ------------------------------------------------------------------
    # input validation
    # ------------------------------------------------------------------

    def _validate_X(self, X, y=None, reset=True, min_samples=1):
        """Return X as a C-contiguous (n, T, D) array in the model dtype (and y).

        2-D input is univariate sequences (n_samples, n_timesteps) and goes
        through scikit-learn's ``validate_data`` (feature names, n_features_in_
        = n_timesteps).  3-D input (n_samples, n_timesteps, n_features) sets
        n_features_in_ = n_features; at predict time the number of time steps
        may differ, the number of features may not.
        """
        ndim = getattr(X, "ndim", None)  # arrays, DataFrames, sparse matrices
        if ndim is None:
            try:
                ndim = np.asarray(X).ndim  # nested lists, array-likes
            except (ValueError, TypeError):
                ndim = None  # ragged: let check_array report it
        if ndim == 3:
            X = check_array(
                X,
                allow_nd=True,
                dtype=_FLOAT_DTYPES,
                ensure_min_samples=min_samples,
                input_name="X",
                estimator=self,
            )
            if X.shape[1] < 1 or X.shape[2] < 1:
                raise ValueError(
                    f"X has shape {X.shape}: sequences need at least one time step and one feature."
                )
            if reset:
                self.n_features_in_ = X.shape[2]
                if hasattr(self, "feature_names_in_"):
                    del self.feature_names_in_
                self._input_ndim = 3
            else:
                self._check_input_layout(3, X.shape[2])
            if reset and y is None:
                raise ValueError(
                    f"{type(self).__name__} requires y to be passed, but the target y is None."
                )
            if y is not None:
                check_consistent_length(X, y)
                y = self._validate_y_only(y)
        else:
            kwargs = dict(reset=reset, dtype=_FLOAT_DTYPES, ensure_min_samples=min_samples)
            if y is None and not reset:
                self._check_input_layout(2, None)
                X = validate_data(self, X, **kwargs)
            else:
                X, y = validate_data(self, X, y, **self._y_validation_kwargs(), **kwargs)
                self._input_ndim = 2
            X = X[:, :, np.newaxis]
        X = in_model_dtype(X, self.dtype, "X")
        return X if y is None else (X, y)

    def _check_input_layout(self, ndim, n_features):
        fitted_ndim = getattr(self, "_input_ndim", 3)
        if fitted_ndim != ndim:
            raise ValueError(
                f"X is {ndim}-D but {type(self).__name__} was fitted on {fitted_ndim}-D "
                "input; pass sequences in the layout used for fit (2-D "
                "(n_samples, n_timesteps) or 3-D (n_samples, n_timesteps, n_features))."
            )
        if n_features is not None and n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    # ------------------------------------------------------------------
    # the three ways in: fit, fit on an explicit validation set, partial_fit
    #
    # Every way in is a transaction: it validates and trains a shallow copy of the estimator
    # (``_staged``) and only at the end swaps that copy's attributes in as a whole
    # (``_commit``).  An exception, or a KeyboardInterrupt outside the epochs, leaves the
    # estimator as it was; a KeyboardInterrupt during the epochs ends training like
    # scikit-learn's MLP (see ``_fit``).
    # ------------------------------------------------------------------

    def _staged(self):
        """A shallow copy to fit: same parameters and fitted attributes, own ``__dict__``."""
        staged = object.__new__(type(self))
        staged.__dict__.update(vars(self))
        return staged

    def _commit(self, staged, pending, stacklevel=3):
        """Take over the attributes of ``staged`` in one step, then issue its warnings.

        ``stacklevel`` counts from the caller of ``_commit`` (the user's line is
        ``stacklevel`` frames up).
        """
        self.__dict__ = staged.__dict__
        for message, category in pending:
            warnings.warn(message, category, stacklevel=stacklevel + 1)
        return self

    def _fit_full(self, X, y):
        """Body of ``fit`` (parameters already validated by ``_fit_context``)."""
        staged = self._staged()
        X, y = staged._validate_X(X, y, reset=True, min_samples=2)
        Y = staged._encode_y(y, reset=True)
        pending = staged._fit(X, Y, previous=self, incremental=False)
        return self._commit(staged, pending, stacklevel=4)  # fit, _fit_context, user

    def _fit_with_validation(self, X, y, X_val, y_val):
        """Fit on (X, y) with early stopping on the explicit set (X_val, y_val).

        For the forecasting layer, which holds out each series' latest windows
        itself.  Every epoch is scored on exactly (X_val, y_val) (R² for
        regressors, accuracy for classifiers) into ``validation_scores_``; the
        fit stops after ``n_iter_no_change`` epochs without an improvement of
        ``tol`` and keeps the best-scoring weights, whatever
        ``early_stopping`` says.  ``validation_fraction`` is not used.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Training sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Training targets (class labels for classifiers).
        X_val : array-like of shape (n_val, n_timesteps_val, n_features) or (n_val, n_timesteps)
            Validation sequences, in the layout of X.
        y_val : array-like of shape (n_val,) or (n_val, n_outputs)
            Validation targets (labels seen in y for classifiers).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        staged = self._staged()
        X, y = staged._validate_X(X, y, reset=True, min_samples=1)
        Y = staged._encode_y(y, reset=True)
        X_val, y_val = staged._validate_X(X_val, y_val, reset=False, min_samples=1)
        Y_val = staged._encode_y(y_val, reset=False)
        pending = staged._fit(X, Y, previous=self, incremental=False, validation=(X_val, Y_val))
        return self._commit(staged, pending, stacklevel=2)

    def _fit_windows(self, X, y, X_val=None, y_val=None):
        """Fit on row sets the forecasting layer built and checked: no validation, no copy.

        The forecasting layer's private path (:mod:`tsrnn.forecasting._stream`): ``X`` and
        ``X_val`` are *lazy row sets* (``shape``, ``ndim``, ``dtype``, ``__len__``,
        ``__getitem__`` over int index arrays and slices, ``astype(dtype)``), ``y`` and
        ``y_val`` their targets (also ``astype(dtype, repeat=Q)`` and ``column_moments()``), or
        plain arrays of the same shapes. No ``check_array`` runs over them and nothing is
        copied whole: the trainer gathers one batch at a time, cast to the model dtype. The
        data must be finite, 3-D and float, as the forecaster's windows are. With
        ``(X_val, y_val)`` every epoch is scored on them as in :meth:`_fit_with_validation`;
        otherwise the fit is that of ``fit``. The results are bit-identical to those methods
        on the materialised arrays. A CUDA device is given the materialised arrays (its
        trainer uploads the whole training set once).

        Returns
        -------
        self : object
            The fitted estimator.
        """
        self._validate_params()
        staged = self._staged()
        if resolve_device(self.device) != "cpu":
            X, y = np.asarray(X), np.asarray(y)
            if X_val is not None:
                X_val, y_val = np.asarray(X_val), np.asarray(y_val)
        staged._accept_rows(X, reset=True)
        Y = staged._encode_rows(y, reset=True)
        validation = None
        if X_val is not None:
            staged._accept_rows(X_val, reset=False)
            Y_val = np.asarray(staged._encode_rows(y_val, reset=False))
            validation = (_as_rows(X_val, self.dtype, "X_val"), Y_val)
        pending = staged._fit(
            _as_rows(X, self.dtype, "X"), Y, previous=self, incremental=False, validation=validation
        )
        return self._commit(staged, pending, stacklevel=2)

    def _accept_rows(self, X, reset):
        """Record (``reset``) or check the layout of a checked 3-D row set."""
        if X.ndim != 3 or len(X) < 1:
            raise ValueError(f"X must be a non-empty 3-D row set, got shape {X.shape}")
        if reset:
            self.n_features_in_ = X.shape[2]
            self.__dict__.pop("feature_names_in_", None)
            self._input_ndim = 3
        else:
            self._check_input_layout(3, X.shape[2])

    def _encode_rows(self, y, reset):
        """``_encode_y`` for a lazy target row set (kept lazy), or for an array."""
        return self._encode_y(y, reset)

    def _partial_fit(self, X, y, **encode_kwargs):
        """Body of ``partial_fit``: one epoch, continuing from the current state."""
        first = not hasattr(self, "coefs_")
        if first:
            self._validate_params()
            self._check_first_partial_fit(**encode_kwargs)
        staged = self._staged()
        X, y = staged._validate_X(X, y, reset=first, min_samples=1)
        Y = staged._encode_y(y, reset=first, **encode_kwargs)
        pending = staged._fit(X, Y, previous=self, incremental=True)
        return self._commit(staged, pending, stacklevel=3)  # partial_fit, user

    def _check_first_partial_fit(self, **encode_kwargs):
        """Raise if the first ``partial_fit`` call lacks what only it can be given."""

    # ------------------------------------------------------------------
    # fitting
    # ------------------------------------------------------------------

    def _resolved_batch_size(self, n):
        if self.batch_size == "auto":
            return min(64, n)
        return min(self.batch_size, n)

    def _optimizer(self):
        return make_optimizer(
            self.solver,
            self.learning_rate_init,
            momentum=self.momentum,
            nesterov=self.nesterovs_momentum,
            beta_1=self.beta_1,
            beta_2=self.beta_2,
            epsilon=self.epsilon,
        )

    def _spec(self, n_features, n_outputs):
        return net.NetworkSpec(
            self._cell,
            int(n_features),
            int(self.hidden_size),
            int(self.num_layers),
            bool(self.bidirectional),
            int(n_outputs),
        )

    def _initialize(self, spec, rng):
        self.network_ = spec
        self.n_params_ = spec.n_params
        self.coefs_ = net.init_params(spec, rng, dtype=np.dtype(self.dtype))
        self._optimizer_state = None
        self.loss_curve_ = []
        self.validation_scores_ = [] if self.early_stopping else None
        self.best_loss_ = np.inf if not self.early_stopping else None
        self.best_validation_score_ = -np.inf if self.early_stopping else None
        self.n_iter_ = 0
        self.t_ = 0

    def _rng(self):
        seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
        return np.random.default_rng(seed)

    def _changes(self, previous, spec):
        """What keeps ``previous`` (a fitted estimator) from continuing as ``spec``.

        A list of phrases, empty when the fitted network can continue training.
        """
        old = previous.network_
        changes = []
        for field in ("hidden_size", "num_layers", "bidirectional"):
            new, was = getattr(spec, field), getattr(old, field)
            if new != was:
                changes.append(f"{field}={new!r} (fitted: {was!r})")
        if old.n_features != spec.n_features:
            changes.append(
                f"X has {spec.n_features} features per time step (fitted: {old.n_features})"
            )
        if old.n_outputs != spec.n_outputs:
            changes.append(f"y has {spec.n_outputs} outputs (fitted: {old.n_outputs})")
        if previous.coefs_.dtype != np.dtype(self.dtype):
            changes.append(f"dtype={self.dtype!r} (fitted: {previous.coefs_.dtype.name!r})")
        changes.extend(self._target_changes(previous))
        return changes

    def _target_changes(self, previous):
        """Target-specific reasons not to continue (the classifiers compare the classes)."""
        return []

    def _scale_warning(self, Y):
        """A warning message when the targets are far from unit scale, else None."""
        return None

    def _loss_at_start(self, trainer, X, Y):
        """The training loss of the untrained network on the first (up to 256) rows.

        The reference of the relative ``tol`` and of the divergence rule (see
        :func:`tsrnn._epochs.run_epochs`); the L2 term is left out.  None if it is not a
        positive finite number.
        """
        rows = slice(0, _LOSS_SAMPLE_ROWS)
        out = np.asarray(trainer.predict(X[rows]), dtype=np.float64)
        with np.errstate(all="ignore"):
            value = float(self._start_loss(out, Y[rows]))
        return value if np.isfinite(value) and value > 0 else None

    def _start_loss(self, out, target):
        """The training loss (without the L2 term) of outputs ``out`` (float64)."""
        if self._loss == "xent":
            out = out - out.max(axis=1, keepdims=True)
            log_p = out - np.log(np.exp(out).sum(axis=1, keepdims=True))
            return -np.mean(log_p[np.arange(len(target)), target])
        if self._loss == "mae":
            return np.mean(np.abs(out - target))
        return np.mean((out - target) ** 2)

    def _levels(self):
        """The quantile levels of a quantile loss (the regressors), else None."""
        return None

    def _reference_loss(self):
        """Loss scale of this model for ``tol`` and divergence.

        The loss at the start of training, else (models fitted before it was recorded) the
        first epoch's loss.
        """
        reference = getattr(self, "_initial_loss", None)
        if reference is None and self.loss_curve_:
            reference = self.loss_curve_[0]
        return reference

    def _hold_out_last_rows(self, X, Y):
        """(X_train, Y_train, (X_val, Y_val)): the last ``validation_fraction`` of the rows."""
        n_val = int(np.ceil(self.validation_fraction * X.shape[0]))
        n_train = X.shape[0] - n_val
        if n_val < 1 or n_train < 1:
            raise ValueError(
                f"early_stopping needs at least one training and one validation "
                f"sample; with {X.shape[0]} samples and validation_fraction="
                f"{self.validation_fraction} that is impossible."
            )
        # time order: the LAST rows validate, never a shuffled split
        return X[:n_train], Y[:n_train], (X[n_train:], Y[n_train:])

    def _fit(self, X, Y, previous, incremental, validation=None):
        """Run the epochs on validated X (n, T, D) and encoded targets Y.

        Called on the staged copy; ``previous`` is the estimator as it was before the call.
        ``validation=(X_val, Y_val)`` (validated, encoded) is used for early stopping
        instead of the last ``validation_fraction`` of the rows.  ``incremental``
        (``partial_fit``) runs one epoch from the current state, without early stopping.
        Returns the warnings to issue once the fit is committed, as (message, category).
        """
        pending = []
        spec = self._spec(X.shape[2], self._n_outputs(Y))
        rng = self._rng()
        fitted = hasattr(previous, "coefs_")
        changes = self._changes(previous, spec) if fitted else []
        if incremental and fitted and changes:
            raise ValueError(
                f"partial_fit cannot continue the fitted network: {'; '.join(changes)}. "
                "partial_fit only continues training the fitted network; set the parameters "
                "back, or call fit to train a new network."
            )
        if (self.warm_start or incremental) and fitted and not changes:
            # continue: fresh lists, so that the previous state is never modified
            self.loss_curve_ = list(self.loss_curve_)
            if self.validation_scores_ is not None:
                self.validation_scores_ = list(self.validation_scores_)
        else:
            if self.warm_start and fitted:
                pending.append(
                    (
                        f"warm_start=True but the fitted network cannot continue: "
                        f"{'; '.join(changes)}. A new network was initialised and trained from "
                        "scratch (n_iter_ and loss_curve_ restart); keep the architecture, "
                        "dtype and data layout unchanged to continue training.",
                        UserWarning,
                    )
                )
            self._initialize(spec, rng)
        if not (incremental and fitted):
            message = self._scale_warning(Y)
            if message is not None:
                pending.append((message, UserWarning))
        if incremental:
            validation = None
        elif validation is None and self.early_stopping:
            X, Y, validation = self._hold_out_last_rows(X, Y)
        if validation is not None and self.validation_scores_ is None:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
        if validation is None and self.best_loss_ is None:  # e.g. partial_fit after early stopping
            self.best_loss_ = np.inf
        device = resolve_device(self.device)
        trainer = make_trainer(
            device,
            spec,
            self.coefs_,
            self._optimizer(),
            self._loss,
            self.alpha,
            self.clip_grad_norm,
            self._optimizer_state,
            self._levels(),
        )
        if self.n_iter_ == 0:
            self._initial_loss = self._loss_at_start(trainer, X, Y)
        epochs_before = self.n_iter_
        history = run_epochs(
            trainer,
            X,
            Y,
            n_epochs=1 if incremental else self.max_iter,
            batch_size=self._resolved_batch_size(X.shape[0]),
            shuffle=self.shuffle,
            rng=rng,
            validation=validation,
            score=self._score_raw,
            best=self.best_loss_ if validation is None else self.best_validation_score_,
            tol=self.tol,
            reference=self._reference_loss(),
            n_iter_no_change=None if incremental else self.n_iter_no_change,
            first_epoch=self.n_iter_ + 1,
            verbose=self.verbose,
        )
        n_epochs = len(history.losses)
        self.n_iter_ += n_epochs
        self.t_ += n_epochs * X.shape[0]
        self.loss_curve_.extend(history.losses)
        if validation is None:
            self.best_loss_ = history.best
        else:
            self.validation_scores_.extend(history.scores)
            self.best_validation_score_ = history.best
        self._no_improvement_count = history.n_no_improvement
        self.coefs_ = history.params
        self.device_ = device  # predict runs there when usable (tsrnn._backend.predict)
        self._optimizer_state = history.optimizer_state
        kept = epochs_before + history.kept_epoch
        if history.kept_epoch == 0:
            weights = (
                f"the weights from before this call (epoch {kept})"
                if epochs_before
                else "the initial weights"
            )
        else:
            weights = f"the weights of epoch {kept}"
        advice = (
            "Lower learning_rate_init, scale the data (e.g. StandardScaler for X, "
            "TransformedTargetRegressor(transformer=StandardScaler()) for y) or set "
            "clip_grad_norm."
        )
        why = (
            "the best validation score"
            if history.best_params is not None
            else "they began the epoch with the lowest loss"
        )
        if history.stop == "interrupted":
            pending.append(
                (
                    f"Training interrupted by user after {self.n_iter_} epochs; "
                    f"{weights} are kept (n_iter_ and loss_curve_ count the completed epochs).",
                    UserWarning,
                )
            )
        elif history.stop == "non_finite":
            pending.append(
                (
                    f"Training stopped at epoch {self.n_iter_ + 1}: the loss or its gradient "
                    f"became non-finite (NaN or inf), training diverged. That epoch is dropped "
                    f"and {weights} are kept ({why}). {advice}",
                    RuntimeWarning,
                )
            )
        elif history.stop == "diverged":
            pending.append(
                (
                    f"Training diverged at epoch {self.n_iter_ + 1}: the training loss rose to "
                    f"{history.diverged_loss:.3g}, more than {DIVERGENCE_FACTOR:g} times the "
                    f"lowest loss so far ({history.lowest_loss:.3g}). That epoch is "
                    f"dropped and {weights} are kept ({why}). {advice}",
                    RuntimeWarning,
                )
            )
        elif history.stop == "max_iter" and not incremental:
            pending.append(
                (
                    f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                    "and the optimization hasn't converged yet.",
                    ConvergenceWarning,
                )
            )
        return pending

    @property
    def loss_(self):
        """Mean training loss of the last epoch (``loss_curve_[-1]``), as scikit-learn's MLP."""
        check_is_fitted(self)
        return self.loss_curve_[-1] if self.loss_curve_ else None

    def _outputs(self, X):
        """Network outputs (n, O) for raw X, in the model dtype, after the fitted check."""
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        theta = self.coefs_
        if not theta.flags.writeable or not theta.flags.c_contiguous:
            theta = np.array(theta)  # e.g. a read-only memmap from joblib
        device = "cpu" if self.device == "cpu" else getattr(self, "device_", "cpu")
        return _backend_predict(self.network_, theta, X, device)

    # ------------------------------------------------------------------
    # weight exchange
    # ------------------------------------------------------------------

    def export_weights(self):
        """All learnable parameters in PyTorch's ``state_dict`` naming.

        Returns
        -------
        state : dict of str to ndarray
            ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
            ``bias_hh_l{k}`` (``_reverse`` for the reverse direction), and
            ``head.weight``, ``head.bias`` for the output layer.  For RNN and
            LSTM the single bias is exported as ``bias_ih`` with a zero
            ``bias_hh``.
        """
        check_is_fitted(self)
        return net.export_state_dict(self.network_, np.asarray(self.coefs_))

    def import_weights(self, state):
        """Load parameters from a PyTorch-style ``state_dict``.

        The architecture is read from the tensors' shapes and must match
        ``hidden_size``, ``num_layers`` and ``bidirectional``.  Afterwards the
        estimator predicts 3-D input with the weights' number of features, and
        a ``warm_start=True`` fit continues from them.

        Parameters
        ----------
        state : dict of str to array-like
            For example ``{k: v.numpy() for k, v in module.state_dict().items()}``
            plus ``head.weight`` and ``head.bias``.

        Returns
        -------
        self : object
        """
        state = {k: np.asarray(v) for k, v in state.items()}
        for key in ("weight_ih_l0", "head.weight"):
            if key not in state:
                raise ValueError(f"state dict has no {key!r} entry")
        for key, value in state.items():
            if not (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_):
                raise ValueError(f"state dict entry {key!r} is not numeric (dtype {value.dtype}).")
            if not np.all(np.isfinite(value)):
                raise ValueError(
                    f"state dict entry {key!r} holds non-finite values (NaN or inf); "
                    "such weights would make every prediction NaN. Import finite weights."
                )
        n_features = state["weight_ih_l0"].shape[1]
        n_outputs = state["head.weight"].shape[0]
        spec = self._spec(n_features, n_outputs)
        theta = net.import_state_dict(spec, state, dtype=np.dtype(self.dtype))
        staged = self._staged()
        staged._initialize(spec, np.random.default_rng(0))
        staged.coefs_ = theta
        staged.n_features_in_ = n_features
        staged.__dict__.pop("feature_names_in_", None)
        staged._input_ndim = 3
        staged._set_outputs_from_import(n_outputs)
        return self._commit(staged, [])

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags
