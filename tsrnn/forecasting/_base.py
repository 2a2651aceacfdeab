"""The forecaster template: parameter checks, ``fit`` / ``update`` / ``predict`` / ``score``.

:class:`BaseForecaster` runs the stages every forecaster shares -- validate the parameters,
parse the input into a panel (:mod:`._panel`), remember the history forecasts start from,
format the forecasts (:mod:`._output`), score them -- and leaves three hooks to a forecaster:
``_fit(panel)``, ``_update(panel)`` and ``_predict(h, X_future, level)``. It reads only what
it sets itself, so every forecaster gets a working ``score`` and ``check_is_fitted``.
"""

from __future__ import annotations

from datetime import timedelta
from numbers import Integral

import numpy as np
import pandas as pd
from pandas.tseries.offsets import BaseOffset
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Interval, Options, StrOptions, make_constraint
from sklearn.utils.validation import check_is_fitted

from .._training import blas_single_threaded
from ..metrics import smape
from ._interrupt import interrupt_guard, raise_if_interrupted
from ._output import format_forecasts
from ._panel import _Panel, parse_panel
from ._time import _grid, series_name

# Shared constraints of the parameters every forecaster has.
POSITIVE_INT = Interval(Integral, 1, None, closed="left")
FREQ = [str, BaseOffset, timedelta, POSITIVE_INT, None]
FILL_METHOD = [StrOptions({"ffill", "interpolate", "zero"}), None]


def _satisfied(constraint, value) -> bool:
    """Whether ``value`` meets ``constraint`` (booleans are not numbers here)."""
    if isinstance(constraint, Interval) and isinstance(value, (bool, np.bool_)):
        return False
    try:
        return bool(constraint.is_satisfied_by(value))
    except (TypeError, ValueError):  # e.g. an unhashable value tested against options
        return False


def _describe(constraints) -> str:
    """What a parameter may be, in words: 'a positive integer or None', 'one of [...]'."""
    parts = []
    for c in constraints:
        if isinstance(c, Options):
            names = [repr(o) for o in sorted(o for o in c.options if isinstance(o, str))]
            flags = [repr(o) for o in (True, False, None) if o in c.options]
            if flags:
                words = names + flags
                parts.append(", ".join(words[:-1]) + " or " + words[-1])
            else:
                parts.append(f"one of [{', '.join(names)}]")
        elif c == POSITIVE_INT or (
            isinstance(c, Interval) and c.type is Integral and c.left == 1 and c.right is None
        ):
            parts.append("a positive integer")
        elif type(c).__name__ == "_NoneConstraint":
            parts.append("None")
        else:
            parts.append(str(c))
    return " or ".join(parts)


class BaseForecaster(BaseEstimator):
    """Base class of the forecasters: the ``fit`` / ``update`` / ``predict`` / ``score`` template.

    A forecaster declares ``_parameter_constraints`` (scikit-learn's format; checked at the
    start of ``fit``, every violation a ValueError naming the parameter) and implements
    ``_fit(panel)``, ``_update(panel)`` and ``_predict(h, X_future, level)``, the last
    returning a list of :class:`~tsrnn.forecasting._output.SeriesForecast` and whether interval
    columns are present. Every forecaster has the parameters ``horizon``, ``freq`` and
    ``fill_method``.
    """

    _parameter_constraints: dict = {}
    _uses_exog = True  # whether X is read (False: it is accepted and ignored)

    # ----------------------------------------------------------------------------------------
    # parameters and state
    # ----------------------------------------------------------------------------------------

    def _validate_params(self):
        """Check every parameter against ``_parameter_constraints``, then ``_check_params``."""
        params = self.get_params(deep=False)
        for name, constraints in self._parameter_constraints.items():
            allowed = [make_constraint(c) for c in constraints]
            value = params[name]
            if not any(_satisfied(c, value) for c in allowed):
                raise ValueError(f"{name} must be {_describe(allowed)}, got {value!r}")
        self._check_params()

    def _check_params(self) -> None:
        """Checks that involve several parameters (none by default)."""

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "cutoff_")

    def _working_copy(self, fitted: bool):
        """A new forecaster of this class with this one's attributes, to fit or update.

        ``fit`` and ``update`` build the new state on this copy and :meth:`_commit` it when
        they succeed, so an exception or Ctrl-C part-way leaves this forecaster untouched.
        For ``fit`` (``fitted=False``) the public fitted attributes (names ending in ``_``)
        are left out, so the copy is unfitted; every fit sets all of its attributes anew. The
        copy shares the objects of the previous state: the hooks replace attributes, never
        change their objects in place.
        """
        params = self.get_params(deep=False)
        work = type(self).__new__(type(self))
        work.__dict__.update(
            (k, v) for k, v in self.__dict__.items() if fitted or k in params or not k.endswith("_")
        )
        return work

    def _commit(self, work) -> None:
        """Adopt the attributes of ``work`` in one step (nothing can interrupt it half-way)."""
        self.__dict__ = work.__dict__

    def _set_history(self, panel: _Panel) -> None:
        """Remember the series forecasts start from, and their cutoffs."""
        self._panel = panel
        self._kind = panel.kind
        self._input_type = panel.input_type
        self._name, self._index_name = panel.name, panel.index_name
        if panel.input_type == "series":
            self.cutoff_ = panel.series[0].index[-1]
        else:
            self.cutoff_ = pd.Series(
                [s.index[-1] for s in panel.series],
                index=pd.Index([s.uid for s in panel.series], name="unique_id"),
                name="cutoff",
            )

    # ----------------------------------------------------------------------------------------
    # the template
    # ----------------------------------------------------------------------------------------

    def fit(self, y, X=None):
        """Fit the forecaster to one series or a panel of series.

        Parameters
        ----------
        y : pandas.Series or pandas.DataFrame
            One series with a DatetimeIndex, PeriodIndex or integer index; or a long DataFrame
            with columns ``unique_id``, ``ds`` (timestamps) and ``y`` (values), one row per
            series and timestamp, sorted by ``ds`` within each series.
        X : pandas.DataFrame, optional
            Exogenous covariates covering every timestamp of ``y``: indexed like ``y`` for a
            Series, or a long DataFrame with ``unique_id``, ``ds`` and covariate columns.
            For :class:`~tsrnn.forecasting.RNNForecaster`, columns in ``past_covariates`` are
            past-only; the others are known-future covariates and must be given again for
            the forecast period in ``predict``. Forecasters without covariates ignore ``X``.

        Returns
        -------
        self : object
            The fitted forecaster.

        Notes
        -----
        ``fit`` is transactional: all fitted state is built aside and adopted together at the
        end. An exception, or a KeyboardInterrupt (Ctrl-C) anywhere in ``fit``, leaves the
        forecaster as it was before the call: still unfitted, or with its previous fit.
        Ctrl-C aborts the whole ``fit`` with KeyboardInterrupt, also when it arrives inside a
        network's epoch loop (where an estimator on its own would stop training and keep its
        best weights so far).

        The forecaster keeps each series' history for ``predict``. With pandas 3, a long
        DataFrame whose series are consecutive rows with a float64 ``y`` column and no gap to
        fill is not copied: the forecaster keeps a read-only view of the column and a
        reference to it, so copy-on-write copies the column before any later write to your
        frame and the fitted history never changes; deleting the frame does not free the
        column while the forecaster lives. Otherwise the values are copied.

        Raises
        ------
        ValueError
            With the series' ``unique_id``: unsorted or duplicated timestamps, missing values
            (unless ``fill_method`` is set), a series too short for the model, missing
            columns, covariates that do not cover ``y``; or invalid parameters (the message
            names the parameter).
        """
        self._validate_params()
        work = self._working_copy(fitted=False)
        with interrupt_guard(), blas_single_threaded():
            panel = parse_panel(
                y, X if self._uses_exog else None, freq=self.freq, fill_method=self.fill_method
            )
            work.freq_ = panel.freq
            work._input_type = panel.input_type
            work._fit(panel)
            work._set_history(panel)
            raise_if_interrupted()
        self._commit(work)
        return self

    def update(self, y, X=None):
        """Replace the history forecasts start from, without refitting.

        Use it to forecast from a later origin (as backtests with ``refit=False`` do) or for
        other series with the fitted model. Per-series statistics (for the network: scale,
        seasonal indices) are recomputed from the new history; what was learnt (network
        weights, frequency, window, calibration residuals) is kept.

        Parameters
        ----------
        y : pandas.Series or pandas.DataFrame
            The new history, in the format used for ``fit``.
        X : pandas.DataFrame, optional
            Covariates of the new history, with the columns used for ``fit`` (ignored by
            forecasters without covariates).

        Returns
        -------
        self : object
            The forecaster.

        Notes
        -----
        Like ``fit``, ``update`` is transactional: an exception or Ctrl-C leaves the previous
        history, cutoffs and statistics in place.
        """
        check_is_fitted(self)
        work = self._working_copy(fitted=True)
        with interrupt_guard(), blas_single_threaded():
            panel = parse_panel(
                y,
                X if self._uses_exog else None,
                freq=self.freq_,
                kind=self._kind,
                fill_method=self.fill_method,
            )
            if panel.input_type != self._input_type:
                raise ValueError(
                    f"y is a {panel.input_type} input but the forecaster was fitted on a "
                    f"{self._input_type} input"
                )
            work._update(panel)
            work._set_history(panel)
            raise_if_interrupted()
        self._commit(work)
        return self

    def predict(self, h=None, X_future=None, level=None):
        """Forecast the next ``h`` steps of every series after its last observation.

        Parameters
        ----------
        h : int, optional
            Number of steps; ``horizon`` when None. Beyond ``horizon`` a network's forecast
            continues block by block from its own forecasts (not possible with past
            covariates).
        X_future : pandas.DataFrame, optional
            Known-future covariates for the forecast period, required when the model was fitted
            with them: indexed by the future timestamps (Series input), or a long DataFrame
            with ``unique_id``, ``ds`` and the covariate columns. It must cover
            ``ceil(h / horizon) * horizon`` steps (the direct model reads the whole horizon;
            ``h`` steps for the recursive strategy).
        level : float or list of float, optional
            Coverage levels in percent of conformal prediction intervals, e.g. ``[80, 95]``.
            Forecasters without intervals raise an error when levels are given.

        Returns
        -------
        pandas.Series or pandas.DataFrame
            For Series input, a Series of forecasts with the future index, named like ``y``;
            with ``level``, a DataFrame with columns ``yhat``, ``yhat_lo_<level>``,
            ``yhat_hi_<level>``. For long input, a long DataFrame with columns ``unique_id``,
            ``ds``, ``yhat`` (and the interval columns).

        Raises
        ------
        ValueError
            If ``h`` or ``level`` is invalid, ``X_future`` is missing or does not cover the
            forecast period for some series, or intervals were asked for but the forecaster has
            no held-out residuals.
        """
        check_is_fitted(self)
        h = self.horizon if h is None else h
        if not isinstance(h, (int, np.integer)) or isinstance(h, bool) or h < 1:
            raise ValueError(f"h must be a positive integer, got {h!r}")
        with blas_single_threaded():
            results, intervals = self._predict(int(h), X_future, level)
        return format_forecasts(results, intervals, self._input_type, self._name, self._index_name)

    def score(self, y, X=None):
        """Negative sMAPE of the forecasts of ``y``, the observations following the training data.

        This is what :class:`sklearn.model_selection.GridSearchCV` maximises when it is given a
        forecaster and a splitter of :mod:`tsrnn.model_selection` as ``cv``.

        Parameters
        ----------
        y : pandas.Series or pandas.DataFrame
            Actual values after the cutoff, in the format used for ``fit`` (a long DataFrame
            may cover several series).
        X : pandas.DataFrame, optional
            Known-future covariates for those timestamps (passed to ``predict`` as
            ``X_future``).

        Returns
        -------
        float
            ``-smape``: higher is better, 0 is a perfect forecast.
        """
        check_is_fitted(self)
        first_uid = self._panel.series[0].uid
        if isinstance(y, pd.Series):
            actual = pd.DataFrame(
                {"unique_id": first_uid, "ds": y.index, "y": y.to_numpy(dtype=np.float64)}
            )
        elif isinstance(y, pd.DataFrame) and {"unique_id", "ds", "y"} <= set(y.columns):
            actual = y[["unique_id", "ds", "y"]]
        else:
            raise TypeError("y must be a Series or a long DataFrame with unique_id, ds, y")
        steps = 1
        histories = self._panel.by_id()
        for uid, group in actual.groupby("unique_id", sort=False):
            if uid not in histories:
                raise ValueError(f"series {series_name(uid)} was not in the training data")
            s = histories[uid]
            last = pd.Index(group["ds"]).max()
            n_ahead = len(_grid(s.index[-1], last, self._kind, self.freq_)) - 1
            if n_ahead < 1:
                raise ValueError(
                    f"series {series_name(uid)}: y to score must come after the cutoff "
                    f"{s.index[-1]}"
                )
            steps = max(steps, n_ahead)
        X_future = X if getattr(self, "future_covariates_", None) else None
        fc = self.predict(h=steps, X_future=X_future)
        if isinstance(fc, pd.Series):
            fc = pd.DataFrame({"unique_id": first_uid, "ds": fc.index, "yhat": fc.to_numpy()})
        merged = actual.merge(fc, on=["unique_id", "ds"], how="left")
        if merged["yhat"].isna().any():
            raise ValueError("some timestamps of y could not be matched with forecasts")
        return -smape(merged["y"], merged["yhat"])
