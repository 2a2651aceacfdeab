"""What the recurrent regressors share: :class:`_RecurrentRegressor`.

Real-valued targets (one or several columns, or quantile levels), the ``loss`` option, R²
scoring and the target-scale warning, on top of
:class:`~tsrnn.estimators._base.BaseRecurrent`. The public classes, which differ only in the
cell, are in :mod:`tsrnn.estimators._regression`.
"""

from dataclasses import KW_ONLY, dataclass

import numpy as np
from sklearn.base import RegressorMixin, _fit_context
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import _check_y

from .._registry import LOSSES
from ._base import BaseRecurrent, in_model_dtype
from ._quantiles import DEFAULT_QUANTILES, check_quantiles, sort_quantiles

# estimator option -> network loss (docs/math.md, section 3)
_REGRESSION_LOSSES = {"squared_error": "mse", "absolute_error": "mae", "quantile": "quantile"}

_TARGET_SCALE = (1e-2, 1e3)


@dataclass(eq=False, repr=False, match_args=False)
class _RecurrentRegressor(RegressorMixin, BaseRecurrent):
    """Real-valued targets, one or several outputs, trained on ``loss``."""

    _: KW_ONLY
    loss: str = "squared_error"
    quantiles: tuple | None = None

    _parameter_constraints = {
        **BaseRecurrent._parameter_constraints,
        "loss": [StrOptions(set(_REGRESSION_LOSSES))],
        "quantiles": ["array-like", None],
    }

    @property
    def _loss(self):
        return _REGRESSION_LOSSES[self.loss]

    @property
    def _quantile_loss(self):
        """Whether ``loss`` trains quantile levels (the network loss takes ``taus``)."""
        return LOSSES[self._loss].takes_levels

    def _fitted_levels(self):
        """The levels of ``quantiles`` (0.5 added) for a fit, or None; validates them."""
        if not self._quantile_loss:
            if self.quantiles is not None:
                raise ValueError(
                    f"quantiles={self.quantiles!r} is only used with loss='quantile' "
                    f"(loss={self.loss!r}); pass quantiles=None or set loss='quantile'."
                )
            return None
        given = DEFAULT_QUANTILES if self.quantiles is None else self.quantiles
        levels = check_quantiles(given)
        if not np.any(levels == 0.5):  # the median is what predict returns
            levels = np.sort(np.append(levels, 0.5))
        return levels

    def _levels(self):
        """The fitted quantile levels passed to the trainer (None for other losses)."""
        return getattr(self, "quantiles_", None)

    def _n_levels(self):
        levels = self._levels()
        return 1 if levels is None else len(levels)

    def _y_validation_kwargs(self):
        return {"multi_output": True, "y_numeric": True}

    def _validate_y_only(self, y):
        return _check_y(y, multi_output=True, y_numeric=True, estimator=self)

    def _n_outputs(self, Y):
        return Y.shape[1]

    def _encode_y(self, y, reset):
        """Targets as a C-contiguous (n, n_outputs) array in the model dtype.

        With ``loss='quantile'`` each column is repeated once per level, (n, n_outputs·Q):
        the network's target layout (``docs/math.md``, section 3).
        """
        y = np.asarray(y)
        Y = y.reshape(-1, 1) if y.ndim == 1 else y
        if reset:
            levels = self._fitted_levels()
            if levels is None:
                self.__dict__.pop("quantiles_", None)
            else:
                self.quantiles_ = levels
            self._y_ndim = y.ndim
            self.n_outputs_ = Y.shape[1]
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {Y.shape[1]} outputs but the model was fitted with {self.n_outputs_}."
            )
        Q = self._n_levels()
        if Q > 1:
            Y = np.repeat(Y, Q, axis=1)
        return in_model_dtype(Y, self.dtype, "y")

    def _encode_rows(self, y, reset):
        """``_encode_y`` for a lazy target row set: same attributes, the rows kept lazy."""
        if isinstance(y, np.ndarray) or not hasattr(y, "astype"):
            return self._encode_y(y, reset)
        if reset:
            levels = self._fitted_levels()
            if levels is None:
                self.__dict__.pop("quantiles_", None)
            else:
                self.quantiles_ = levels
            self._y_ndim = 2
            self.n_outputs_ = y.shape[1]
        elif y.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y has {y.shape[1]} outputs but the model was fitted with {self.n_outputs_}."
            )
        return y.astype(self.dtype, repeat=self._n_levels())

    def _median_columns(self, out):
        """The median of each output from network outputs (n, n_outputs·Q) (sorted first)."""
        levels = self._levels()
        if levels is None:
            return out
        Q = len(levels)
        q = sort_quantiles(out.reshape(out.shape[0], -1, Q))
        return q[:, :, int(np.flatnonzero(levels == 0.5)[0])]

    def _score_raw(self, out, Y):
        if not np.all(np.isfinite(out)):
            return -np.inf  # diverged weights: the worst score, not an error mid-fit
        # loss='quantile': R² of the median (Y's columns are repeated once per level)
        return r2_score(self._median_columns(Y), self._median_columns(out))

    def _target_changes(self, previous):
        """A phrase when the quantile levels differ from the fitted network's."""
        old, new = getattr(previous, "quantiles_", None), self._levels()
        if (old is None) != (new is None) or (new is not None and not np.array_equal(old, new)):
            old = None if old is None else old.tolist()
            new = None if new is None else new.tolist()
            return [f"quantile levels {new} (fitted: {old})"]
        return []

    def _start_loss(self, out, target):
        levels = self._levels()
        if levels is None:
            return super()._start_loss(out, target)
        taus = np.tile(levels, out.shape[1] // len(levels))
        e = target - out
        return np.mean(np.maximum(taus * e, (taus - 1.0) * e))

    def _scale_warning(self, Y):
        """A warning message when a target column is far from unit scale, else None.

        Too large: |mean| or standard deviation of a column above 1e3; too small: a
        standard deviation below 1e-2 (but not 0) (``_TARGET_SCALE``).  The initial weights
        and the default learning rate suit targets of scale ~1: Adam moves the outputs by
        about ``learning_rate_init`` per step, whatever the scale of y.
        """
        if hasattr(Y, "column_moments"):  # a lazy row set: by chunks, never whole
            mean, spread = Y.column_moments()
        else:
            Y = np.asarray(Y, dtype=np.float64)
            mean, spread = Y.mean(axis=0), Y.std(axis=0)
        size = np.maximum(np.abs(mean), spread)
        low, high = _TARGET_SCALE
        name = type(self).__name__
        fix = (
            f"wrap the estimator in TransformedTargetRegressor(regressor={name}(...), "
            "transformer=StandardScaler()) or scale y to mean 0 and standard deviation 1."
        )
        if size.max() > high:
            return (
                f"{name}: the targets have scale ~{size.max():.0e} (|mean| or standard "
                "deviation of y); the network's outputs start near 0 and its weights and "
                "learning rate suit targets of scale ~1, so training may stall far from the "
                f"targets or diverge. To fix it, {fix}"
            )
        positive = spread[spread > 0]
        if positive.size and positive.min() < low:
            return (
                f"{name}: the targets vary on a scale of ~{positive.min():.0e} (standard "
                "deviation of y); the network's outputs start at a scale of ~1 and each "
                "optimiser step moves them by about learning_rate_init, so the variation of y "
                f"is learnt late or not at all. To fix it, {fix}"
            )
        return None

    def _set_outputs_from_import(self, n_outputs):
        levels = self._fitted_levels()
        if levels is not None:
            if n_outputs % len(levels):
                raise ValueError(
                    f"the head has {n_outputs} units, not a multiple of the {len(levels)} "
                    f"quantile levels {levels.tolist()} (0.5 included); set quantiles to the "
                    "levels the weights were trained with."
                )
            self.quantiles_ = levels
            n_outputs //= len(levels)
        else:
            self.__dict__.pop("quantiles_", None)
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

        Notes
        -----
        The fit is all or nothing: if it raises, the estimator keeps its previous
        state.  Ctrl-C (KeyboardInterrupt) during the epochs stops training, as in
        scikit-learn's MLP: the completed epochs are kept (``n_iter_``,
        ``loss_curve_`` and the weights agree), a warning says which epoch's
        weights are kept, and ``fit`` returns.
        """
        return self._fit_full(X, y)

    def partial_fit(self, X, y):
        """One epoch of updates on (X, y), keeping weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout of the first call.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Targets, with the number of outputs of the first call.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            If the architecture (``hidden_size``, ``num_layers``,
            ``bidirectional``), ``dtype`` or the data layout changed since the
            network was fitted: ``partial_fit`` only continues that network.
        """
        return self._partial_fit(X, y)

    def predict(self, X):
        """Predict targets for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout used for fit.

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            Predictions (float64), 1-D when the model was fitted on 1-D y.  With
            ``loss='quantile'`` the fitted median (the 0.5 quantile, after the
            rearrangement of :meth:`predict_quantiles`), so ``score`` is the R² of
            the median.
        """
        out = self._median_columns(self._outputs(X).astype(np.float64))
        return out.ravel() if self._y_ndim == 1 else out

    def predict_quantiles(self, X):
        """Predict the fitted quantiles for sequences X (``loss='quantile'`` only).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout used for fit.

        Returns
        -------
        q : ndarray of shape (n_samples, n_quantiles) or (n_samples, n_outputs, n_quantiles)
            Quantile predictions (float64) at the levels ``quantiles_`` (sorted, 0.5
            included), 2-D when the model was fitted on 1-D y.  Each row's levels are
            sorted (rearrangement), so the quantiles never cross.

        Raises
        ------
        ValueError
            If the model was not trained with ``loss='quantile'``.
        """
        out = self._outputs(X).astype(np.float64)
        levels = self._levels()
        if levels is None:
            raise ValueError(
                f"predict_quantiles needs a model fitted with loss='quantile' (this one was "
                f"fitted with loss={self.loss!r}); set loss='quantile' and quantiles=[...] "
                "and fit again."
            )
        q = sort_quantiles(out.reshape(out.shape[0], -1, len(levels)))
        return q[:, 0, :] if self._y_ndim == 1 else q

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
