"""scikit-learn estimators: RNN, LSTM and GRU regressors and classifiers.

The six public classes share :class:`BaseRecurrent`; the cell is their only
difference.  The estimator validates data and parameters, runs the epochs
(shuffling, early stopping on the *last* rows, verbose output) and hands each
epoch to a trainer of :mod:`tsrnn._training` (CPU) or :mod:`tsrnn.cuda`.  It
knows nothing of kernels or loop indices.
"""

import time
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_y,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)

from . import _network as net
from ._backend import make_optimizer, make_trainer, resolve_device
from ._backend import predict as _backend_predict

__all__ = [
    "RNNRegressor",
    "LSTMRegressor",
    "GRURegressor",
    "RNNClassifier",
    "LSTMClassifier",
    "GRUClassifier",
]

_FLOAT_DTYPES = (np.float64, np.float32)


class BaseRecurrent(BaseEstimator):
    """Shared machinery of the recurrent regressors and classifiers.

    Not for direct use: see the six public subclasses.
    """

    _cell = None  # set by subclasses: 'rnn', 'lstm' or 'gru'

    _parameter_constraints: dict = {
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

    def __init__(
        self,
        hidden_size=32,
        num_layers=1,
        bidirectional=False,
        *,
        batch_size="auto",
        max_iter=200,
        solver="adam",
        learning_rate_init=1e-3,
        momentum=0.9,
        nesterovs_momentum=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=0.0,
        clip_grad_norm=None,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        warm_start=False,
        verbose=False,
        dtype="float32",
        device="auto",
    ):
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.alpha = alpha
        self.clip_grad_norm = clip_grad_norm
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

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
                X, allow_nd=True, dtype=_FLOAT_DTYPES, ensure_min_samples=min_samples,
                input_name="X", estimator=self,
            )
            if X.shape[1] < 1 or X.shape[2] < 1:
                raise ValueError(
                    f"X has shape {X.shape}: sequences need at least one time step "
                    "and one feature."
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
            kwargs = dict(
                reset=reset, dtype=_FLOAT_DTYPES, ensure_min_samples=min_samples
            )
            if y is None and not reset:
                self._check_input_layout(2, None)
                X = validate_data(self, X, **kwargs)
            else:
                X, y = validate_data(self, X, y, **self._y_validation_kwargs(), **kwargs)
                self._input_ndim = 2
            X = X[:, :, np.newaxis]
        X = np.ascontiguousarray(X, dtype=self.dtype)
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
    # fitting
    # ------------------------------------------------------------------

    def _resolved_batch_size(self, n):
        if self.batch_size == "auto":
            return min(64, n)
        return min(self.batch_size, n)

    def _optimizer(self):
        return make_optimizer(
            self.solver, self.learning_rate_init, momentum=self.momentum,
            nesterov=self.nesterovs_momentum, beta_1=self.beta_1, beta_2=self.beta_2,
            epsilon=self.epsilon,
        )

    def _spec(self, n_features, n_outputs):
        return net.NetworkSpec(
            self._cell, int(n_features), int(self.hidden_size), int(self.num_layers),
            bool(self.bidirectional), int(n_outputs),
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

    def _can_continue(self, spec):
        return (
            hasattr(self, "coefs_")
            and self.network_ == spec
            and self.coefs_.dtype == np.dtype(self.dtype)
        )

    def _fit(self, X, Y, incremental, validation=None):
        """Run the epochs on validated X (n, T, D) and encoded targets Y.

        ``validation=(X_val, Y_val)`` (validated, encoded) is used for early
        stopping instead of the last ``validation_fraction`` of the rows.
        """
        n_outputs = self._n_outputs(Y)
        spec = self._spec(X.shape[2], n_outputs)
        rng = self._rng()
        continuing = (self.warm_start or incremental) and self._can_continue(spec)
        if not continuing:
            self._initialize(spec, rng)
        early_stopping = (self.early_stopping or validation is not None) and not incremental
        if validation is not None and not incremental:
            X_val, Y_val = validation
            if self.validation_scores_ is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
        elif early_stopping:
            n_val = int(np.ceil(self.validation_fraction * X.shape[0]))
            n_train = X.shape[0] - n_val
            if n_val < 1 or n_train < 1:
                raise ValueError(
                    f"early_stopping needs at least one training and one validation "
                    f"sample; with {X.shape[0]} samples and validation_fraction="
                    f"{self.validation_fraction} that is impossible."
                )
            # time order: the LAST rows validate, never a shuffled split
            X, X_val, Y, Y_val = X[:n_train], X[n_train:], Y[:n_train], Y[n_train:]
            if self.validation_scores_ is None:
                self.validation_scores_ = []
                self.best_validation_score_ = -np.inf
        elif self.best_loss_ is None:  # e.g. partial_fit after an early-stopping fit
            self.best_loss_ = np.inf
        n = X.shape[0]
        batch_size = self._resolved_batch_size(n)
        device = resolve_device(self.device)
        trainer = make_trainer(
            device, spec, self.coefs_, self._optimizer(), self._loss, self.alpha,
            self.clip_grad_norm, self._optimizer_state,
        )
        max_iter = 1 if incremental else self.max_iter
        self._no_improvement_count = 0
        best_params = None
        stopped = False
        for _ in range(max_iter):
            start = time.perf_counter()
            order = rng.permutation(n) if self.shuffle else np.arange(n)
            batches = [order[i : i + batch_size] for i in range(0, n, batch_size)]
            loss, ok = trainer.train_epoch(X, Y, batches)
            if not ok:
                warnings.warn(
                    f"Training stopped at epoch {self.n_iter_ + 1}: the loss or its "
                    "gradient became non-finite (NaN or inf). The last finite weights "
                    "are kept. Scale the data, lower learning_rate_init or set "
                    "clip_grad_norm.",
                    RuntimeWarning,
                    stacklevel=3,
                )
                stopped = True
                break
            self.n_iter_ += 1
            self.t_ += n
            self.loss_curve_.append(float(loss))
            msg = f"Iteration {self.n_iter_}, loss = {loss:.8f}"
            if early_stopping:
                score = self._score_raw(trainer.predict(X_val), Y_val)
                self.validation_scores_.append(float(score))
                msg += f", validation score = {score:.6f}"
                improved = score > self.best_validation_score_ + self.tol
                if score > self.best_validation_score_:
                    self.best_validation_score_ = float(score)
                    best_params = trainer.get_params()
            else:
                improved = loss < self.best_loss_ - self.tol
                if loss < self.best_loss_:
                    self.best_loss_ = float(loss)
            self._no_improvement_count = 0 if improved else self._no_improvement_count + 1
            if self.verbose:
                print(f"{msg}, time = {time.perf_counter() - start:.3f}s", flush=True)
            if not incremental and self._no_improvement_count >= self.n_iter_no_change:
                if self.verbose:
                    print(
                        f"No improvement for {self.n_iter_no_change} consecutive "
                        "epochs: stopping.", flush=True,
                    )
                stopped = True
                break
        self.coefs_ = best_params if (early_stopping and best_params is not None) else trainer.get_params()
        self._optimizer_state = trainer.get_optimizer_state()
        if not (stopped or incremental) and self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
            )
        return self

    def _raw_predict(self, X):
        """Network outputs (n, O) for validated X, in the model dtype."""
        theta = self.coefs_
        if not theta.flags.writeable or not theta.flags.c_contiguous:
            theta = np.array(theta)  # e.g. a read-only memmap from joblib
        return _backend_predict(self.network_, theta, X)

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
        n_features = state["weight_ih_l0"].shape[1]
        n_outputs = state["head.weight"].shape[0]
        spec = self._spec(n_features, n_outputs)
        theta = net.import_state_dict(spec, state, dtype=np.dtype(self.dtype))
        self._initialize(spec, np.random.default_rng(0))
        self.coefs_ = theta
        self.n_features_in_ = n_features
        self._input_ndim = 3
        self._set_outputs_from_import(n_outputs)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True
        tags.non_deterministic = False
        return tags


_REGRESSION_LOSSES = {"squared_error": "mse", "absolute_error": "mae"}


class _RegressorMixin(RegressorMixin):
    _parameter_constraints: dict = {
        **BaseRecurrent._parameter_constraints,
        "loss": [StrOptions(set(_REGRESSION_LOSSES))],
    }

    def __init__(
        self,
        hidden_size=32,
        num_layers=1,
        bidirectional=False,
        *,
        loss="squared_error",
        batch_size="auto",
        max_iter=200,
        solver="adam",
        learning_rate_init=1e-3,
        momentum=0.9,
        nesterovs_momentum=False,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        alpha=0.0,
        clip_grad_norm=None,
        shuffle=True,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        random_state=None,
        warm_start=False,
        verbose=False,
        dtype="float32",
        device="auto",
    ):
        super().__init__(
            hidden_size=hidden_size, num_layers=num_layers, bidirectional=bidirectional,
            batch_size=batch_size, max_iter=max_iter, solver=solver,
            learning_rate_init=learning_rate_init, momentum=momentum,
            nesterovs_momentum=nesterovs_momentum, beta_1=beta_1, beta_2=beta_2,
            epsilon=epsilon, alpha=alpha, clip_grad_norm=clip_grad_norm, shuffle=shuffle,
            early_stopping=early_stopping, validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change, tol=tol, random_state=random_state,
            warm_start=warm_start, verbose=verbose, dtype=dtype, device=device,
        )
        self.loss = loss

    @property
    def _loss(self):
        return _REGRESSION_LOSSES[self.loss]

    def _y_validation_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_y_only(self, y):
        return _check_y(y, multi_output=True, y_numeric=True, estimator=self)

    def _n_outputs(self, Y):
        return Y.shape[1]

    def _encode_y(self, y, reset):
        y = np.asarray(y)
        if reset:
            self._y_ndim = y.ndim
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        return np.ascontiguousarray(Y, dtype=self.dtype)

    def _score_raw(self, out, Y):
        return r2_score(Y, out)

    def _set_outputs_from_import(self, n_outputs):
        self._y_ndim = 1 if n_outputs == 1 else 2
        self.n_outputs_ = n_outputs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to sequences X and targets y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences; 2-D input means univariate sequences.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets; several outputs (e.g. a multi-step horizon) share one head.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = self._validate_X(X, y, reset=True, min_samples=2)
        Y = self._encode_y(y, reset=True)
        self.n_outputs_ = Y.shape[1]
        return self._fit(X, Y, incremental=False)

    def _fit_with_validation(self, X, y, X_val, y_val):
        """Fit on (X, y) with early stopping on the explicit set (X_val, y_val).

        For the forecasting layer, which holds out each series' latest
        windows itself; ``validation_fraction`` is not used.
        """
        self._validate_params()
        X, y = self._validate_X(X, y, reset=True, min_samples=1)
        Y = self._encode_y(y, reset=True)
        self.n_outputs_ = Y.shape[1]
        X_val, y_val = self._validate_X(X_val, y_val, reset=False, min_samples=1)
        Y_val = self._encode_y(y_val, reset=False)
        return self._fit(X, Y, incremental=False, validation=(X_val, Y_val))

    def partial_fit(self, X, y):
        """One epoch of updates on (X, y), keeping weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "coefs_")
        if first:
            self._validate_params()
        X, y = self._validate_X(X, y, reset=first, min_samples=1)
        Y = self._encode_y(y, reset=first)
        if not first and Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with {self.n_outputs_}."
            )
        self.n_outputs_ = Y.shape[1]
        return self._fit(X, Y, incremental=True)

    def predict(self, X):
        """Predict targets for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        out = self._raw_predict(X).astype(np.float64)
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags


class _ClassifierMixin(ClassifierMixin):
    _loss = "xent"

    def _y_validation_kwargs(self):
        return {"multi_output": False}

    def _validate_y_only(self, y):
        return column_or_1d(_check_y(y, multi_output=False, estimator=self), warn=True)

    def _n_outputs(self, Y):
        return len(self.classes_)

    def _encode_y(self, y, reset, classes=None):
        check_classification_targets(y)
        if reset:
            self._label_encoder = LabelEncoder().fit(classes if classes is not None else y)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least two classes; "
                    f"got only one class ({self.classes_[0]!r})."
                )
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen in classes_: {unknown.tolist()}")
        return self._label_encoder.transform(y).astype(np.int64)

    def _score_raw(self, out, Y):
        return accuracy_score(Y, np.argmax(out, axis=1))

    def _set_outputs_from_import(self, n_outputs):
        self.classes_ = np.arange(n_outputs)
        self._label_encoder = LabelEncoder().fit(self.classes_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to sequences X and class labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences; 2-D input means univariate sequences.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        X, y = self._validate_X(X, y, reset=True, min_samples=2)
        Y = self._encode_y(y, reset=True)
        return self._fit(X, Y, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch of updates on (X, y), keeping weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, as in scikit-learn.

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "coefs_")
        if first:
            self._validate_params()
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
        X, y = self._validate_X(X, y, reset=first, min_samples=1)
        Y = self._encode_y(y, reset=first, classes=classes)
        return self._fit(X, Y, incremental=True)

    def predict_proba(self, X):
        """Class probabilities softmax(o) for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        out = self._raw_predict(X).astype(np.float64)
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def predict(self, X):
        """Predicted class labels for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)

        Returns
        -------
        y : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        X = self._validate_X(X, reset=False)
        return self.classes_[np.argmax(self._raw_predict(X), axis=1)]


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_size : int, default=32
        Units per layer and direction.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Add a reverse direction to each layer; the head sees each direction's
        final state.
{loss_doc}    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is min(64, n_samples).
    max_iter : int, default=200
        Maximum number of epochs.
    solver : {'adam', 'sgd'}, default='adam'
        Optimiser.
    learning_rate_init : float, default=1e-3
        Step size.
    momentum : float, default=0.9
        Momentum for ``solver='sgd'`` (0 gives plain gradient descent).
    nesterovs_momentum : bool, default=False
        Nesterov momentum for ``solver='sgd'``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and denominator term.
    alpha : float, default=0.0
        L2 penalty (alpha / 2) * sum(W**2) / batch_size over weight matrices.
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value; None disables clipping.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out the *last* ``validation_fraction`` of the samples (time
        order, never shuffled) and stop when the validation score stops
        improving; the best weights are restored.
    validation_fraction : float, default=0.1
        Share of samples used for validation with early stopping.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
    tol : float, default=1e-4
        Minimum improvement of the loss (or validation score).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling; an int gives bit-identical
        results across runs, processes and thread counts.
    warm_start : bool, default=False
        Continue from the current weights and optimiser state on ``fit``.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, epoch time).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation.
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        Where to train; 'auto' uses a CUDA GPU only if one is really usable.
"""

_LOSS_DOC = """    loss : {'squared_error', 'absolute_error'}, default='squared_error'
        Training loss, averaged over samples and outputs: mean squared error,
        or mean absolute error (robust to outliers; targets the conditional
        median, which suits forecasts scored by sMAPE or MASE).
"""

_ATTRS_DOC = """
    Attributes
    ----------
    coefs_ : ndarray of shape (n_params_,)
        All learnable parameters in one flat vector (see :meth:`export_weights`).
    network_ : NetworkSpec
        The fitted architecture.
    n_params_ : int
        Number of learnable parameters, head included.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    validation_scores_ : list of float or None
        Validation score of each epoch ({score}) with early stopping.
    best_loss_ : float or None
        Lowest training loss (without early stopping).
    best_validation_score_ : float or None
        Best validation score (with early stopping).
    n_iter_ : int
        Epochs run.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X.
"""


def _doc(cell, kind):
    """Class docstring of one estimator (the cell is the only difference)."""
    cell_name = {"rnn": "Elman RNN", "lstm": "LSTM", "gru": "GRU"}[cell]
    name = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}[cell] + kind
    if kind == "Regressor":
        what, score, target = "o = c + V z, trained on the ``loss``", "R²", "X[:, -1, 0]"
        loss_doc = _LOSS_DOC
    else:
        loss_doc = ""
        what, score = "softmax(c + V z), trained on cross-entropy", "accuracy"
        target = "(X[:, -1, 0] > 0).astype(int)"
    return (
        f"""{cell_name} {kind.lower()}: the network's final state z feeds {what}.

    Forward pass and backpropagation through time run as compiled Numba kernels
    (see ``MATH.md`` for the equations and parameter layout).
""" + _PARAMS_DOC.replace("{loss_doc}", loss_doc) + _ATTRS_DOC.format(score=score) + f"""
    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import {name}
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))
    >>> y = {target}
    >>> model = {name}(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
"""
    )


class RNNRegressor(_RegressorMixin, BaseRecurrent):
    __doc__ = _doc("rnn", "Regressor")
    _cell = "rnn"


class LSTMRegressor(_RegressorMixin, BaseRecurrent):
    __doc__ = _doc("lstm", "Regressor")
    _cell = "lstm"


class GRURegressor(_RegressorMixin, BaseRecurrent):
    __doc__ = _doc("gru", "Regressor")
    _cell = "gru"


class RNNClassifier(_ClassifierMixin, BaseRecurrent):
    __doc__ = _doc("rnn", "Classifier")
    _cell = "rnn"


class LSTMClassifier(_ClassifierMixin, BaseRecurrent):
    __doc__ = _doc("lstm", "Classifier")
    _cell = "lstm"


class GRUClassifier(_ClassifierMixin, BaseRecurrent):
    __doc__ = _doc("gru", "Classifier")
    _cell = "gru"
