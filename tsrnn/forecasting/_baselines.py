"""The random-walk benchmarks: :class:`NaiveForecaster` and :class:`DriftForecaster`.

Both are the simple methods of Hyndman & Athanasopoulos, *Forecasting: Principles and
Practice* (3rd ed., FPP3), section 5.2, with the normal prediction intervals of its section 5.5
(Table 5.2). For a series ``y_1 .. y_T``:

============  ===================================  ========================================
method        forecast ``h`` steps ahead           standard deviation ``sigma_h``
============  ===================================  ========================================
naive         ``y_T``                              ``sigma * sqrt(h)``
seasonal      ``y_{T + h - m (k + 1)}``            ``sigma * sqrt(k + 1)``,
naive                                              ``k = floor((h - 1) / m)``
drift         ``y_T + h (y_T - y_1) / (T - 1)``    ``sigma * sqrt(h (1 + h / T))``
============  ===================================  ========================================

``sigma`` is the standard deviation of the in-sample residuals, FPP3 eq. (5.1):
``sqrt(sum(e_t^2) / (T - K - M))`` with ``K`` estimated parameters and ``M`` residuals that
cannot be computed:

* naive: ``e_t = y_t - y_{t-1}``; ``K = 0``, ``M = 1``;
* seasonal naive: ``e_t = y_t - y_{t-m}``; ``K = 0``, ``M = m``;
* drift: ``e_t = y_t - y_{t-1} - b`` with the drift ``b = (y_T - y_1) / (T - 1)``; ``K = 1``,
  ``M = 1``.

The interval at level ``L`` % is ``yhat +- z * sigma_h`` with ``z`` the ``(1 + L/100) / 2``
quantile of the standard normal distribution. The helpers :func:`residual_std` and
:func:`interval_columns` compute them for any of the three methods.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd

from ._base import FILL_METHOD, FREQ, POSITIVE_INT, BaseForecaster
from ._output import SeriesForecast, forecast_columns
from ._panel import _Panel
from ._rollout import check_levels
from ._time import _future_index, series_name

_METHODS = ("naive", "seasonal_naive", "drift")


def residual_std(y: np.ndarray, method: str, season_length: int = 1) -> float:
    """Standard deviation of the in-sample residuals of a benchmark method (FPP3 eq. 5.1).

    Parameters
    ----------
    y : numpy.ndarray of shape (T,)
        The series.
    method : {'naive', 'seasonal_naive', 'drift'}
        The benchmark.
    season_length : int, default=1
        Seasonal period ``m`` of ``'seasonal_naive'`` (ignored by the others).

    Returns
    -------
    float
        ``sqrt(sum(e_t^2) / (T - K - M))``; NaN when the series is too short to hold one
        degree of freedom (naive: fewer than 2 values, seasonal naive: fewer than ``m + 1``,
        drift: fewer than 3).
    """
    y = np.asarray(y, dtype=np.float64)
    lag, n_params = (season_length, 0) if method == "seasonal_naive" else (1, 0)
    if method == "drift":
        n_params = 1
    dof = len(y) - lag - n_params
    if dof < 1:
        return float("nan")
    e = y[lag:] - y[:-lag]
    if method == "drift":
        e = e - (y[-1] - y[0]) / (len(y) - 1)
    return math.sqrt(float(np.sum(e * e)) / dof)


def step_std(sigma: float, h: int, method: str, n_obs: int, season_length: int = 1):
    """``sigma_h`` of FPP3 Table 5.2 for the steps ``1 .. h``.

    Parameters
    ----------
    sigma : float
        The residual standard deviation (:func:`residual_std`).
    h : int
        Number of steps.
    method : {'naive', 'seasonal_naive', 'drift'}
        The benchmark.
    n_obs : int
        Length ``T`` of the series (used by ``'drift'``).
    season_length : int, default=1
        Seasonal period ``m`` (used by ``'seasonal_naive'``).

    Returns
    -------
    numpy.ndarray of shape (h,)
    """
    steps = np.arange(1, h + 1, dtype=np.float64)
    if method == "naive":
        factor = np.sqrt(steps)
    elif method == "seasonal_naive":
        factor = np.sqrt(np.floor((steps - 1) / season_length) + 1)
    elif method == "drift":
        factor = np.sqrt(steps * (1 + steps / n_obs))
    else:
        raise ValueError(f"method must be one of {list(_METHODS)}, got {method!r}")
    return sigma * factor


def interval_columns(point: np.ndarray, sigma_h: np.ndarray, levels) -> dict:
    """``yhat`` and normal interval columns ``yhat +- z * sigma_h`` for every level.

    Parameters
    ----------
    point : numpy.ndarray of shape (h,)
        The point forecasts.
    sigma_h : numpy.ndarray of shape (h,)
        Standard deviation of the forecast error of every step (:func:`step_std`).
    levels : list of float
        Coverage levels in percent, already validated (``check_levels``).

    Returns
    -------
    dict
        ``{'yhat': ..., 'yhat_lo_<level>': ..., 'yhat_hi_<level>': ...}``.
    """
    halves = {lv: NormalDist().inv_cdf(0.5 + lv / 200.0) * sigma_h for lv in levels}
    return forecast_columns(point, halves, lambda v: v)


def per_series(panel: _Panel, values: list, name: str):
    """A float for Series input, a Series by ``unique_id`` for long input."""
    if panel.input_type == "series":
        return values[0]
    index = pd.Index([s.uid for s in panel.series], name="unique_id")
    return pd.Series(values, index=index, name=name, dtype=np.float64)


class _RandomWalkForecaster(BaseForecaster):
    """Shared template of the benchmarks (naive, drift, seasonal naive): history and intervals.

    A subclass names its ``_method`` (see :func:`residual_std`), its ``_point`` forecast and,
    when seasonal, its period (``_season``) and the history it needs (``_min_history``).
    """

    _parameter_constraints: dict = {
        "horizon": [POSITIVE_INT],
        "freq": FREQ,
        "fill_method": FILL_METHOD,
    }
    _uses_exog = False
    _method = "naive"
    _min_obs = 1  # observations needed for a point forecast

    def __init__(self, horizon=1, *, freq=None, fill_method=None):
        self.horizon = horizon
        self.freq = freq
        self.fill_method = fill_method

    def _fit(self, panel: _Panel) -> None:
        self._learn(panel)

    def _update(self, panel: _Panel) -> None:
        self._learn(panel)

    def _season(self) -> int:
        """The seasonal period of the method (1 for the random walks)."""
        return 1

    def _min_history(self) -> int:
        """Observations a series needs for a point forecast."""
        return self._min_obs

    def _too_short(self, s) -> str:
        return (
            f"series {series_name(s.uid)} has {len(s.y)} observation(s); {type(self).__name__} "
            f"needs at least {self._min_history()}"
        )

    def _learn(self, panel: _Panel) -> None:
        """Check the lengths and compute the per-series statistics of the new history."""
        for s in panel.series:
            if len(s.y) < self._min_history():
                raise ValueError(self._too_short(s))
        m = self._season()
        sigmas = [residual_std(s.y, self._method, m) for s in panel.series]
        self.residual_std_ = per_series(panel, sigmas, "residual_std")

    def _point(self, y: np.ndarray, h: int) -> np.ndarray:
        raise NotImplementedError

    def _predict(self, h: int, X_future, level):
        levels = check_levels(level, True)
        m = self._season()
        results = []
        for s in self._panel.series:
            columns = self._method_columns(s, self._point(s.y, h), h, levels, self._method, m)
            index = _future_index(s.index[-1], h, self._kind, self.freq_, s.index.name)
            results.append(SeriesForecast(s.uid, index, columns))
        return results, bool(levels)

    def _method_columns(self, s, point, h: int, levels, method: str, m: int) -> dict:
        """The output columns of ``point`` with the intervals of ``method`` (if ``levels``)."""
        if not levels:
            return {"yhat": point}
        sigma = residual_std(s.y, method, m)
        if not np.isfinite(sigma):
            raise ValueError(
                f"series {series_name(s.uid)} has {len(s.y)} observation(s): too few to estimate "
                f"the residual standard deviation of {type(self).__name__}'s prediction "
                f"intervals (it needs {self._min_history() + 1}); predict without level"
            )
        return interval_columns(point, step_std(sigma, h, method, len(s.y), m), levels)


class NaiveForecaster(_RandomWalkForecaster):
    """Benchmark forecaster that repeats the last observation of every series (random walk).

    The forecast of every step is the last observed value ``y_T``; the prediction interval at
    ``h`` steps is ``y_T +- z * sigma * sqrt(h)`` (FPP3 section 5.5, Table 5.2), ``sigma`` the
    standard deviation of the one-step changes ``y_t - y_{t-1}``
    (``sqrt(sum(e_t^2) / (T - 1))``) and ``z`` the normal quantile of the level. It takes the
    same inputs and returns the same outputs as :class:`~tsrnn.forecasting.RNNForecaster`, so it
    runs through :func:`tsrnn.model_selection.backtest` as a baseline.

    Parameters
    ----------
    horizon : int, default=1
        Default number of steps of ``predict``.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None takes it from the index.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        Missing-value policy, as in :class:`~tsrnn.forecasting.RNNForecaster`.

    Attributes
    ----------
    residual_std_ : float or pandas.Series
        ``sigma`` of the history forecasts start from (per ``unique_id`` for long input;
        recomputed by ``update``); NaN for a series of one observation, which then has no
        intervals.
    freq_ : pandas offset or int
        The frequency of the series.
    cutoff_ : scalar or pandas.Series
        Last timestamp of the data (per ``unique_id`` for long input).

    See Also
    --------
    DriftForecaster : The random walk with drift.
    SeasonalNaiveForecaster : Repeats the last season.

    Notes
    -----
    ``X`` (in ``fit`` and ``update``) and ``X_future`` (in ``predict``) are accepted and
    ignored. ``level`` is in percent (``[80, 95]``).

    References
    ----------
    R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.,
    OTexts, 2021, sections 5.2 and 5.5. https://otexts.com/fpp3/

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([3.0, 5.0, 4.0, 6.0], index=pd.period_range("2020-01", periods=4, freq="M"))
    >>> NaiveForecaster(horizon=2).fit(y).predict().tolist()
    [6.0, 6.0]
    >>> round(NaiveForecaster().fit(y).residual_std_ ** 2, 6)  # (4 + 1 + 4) / 3
    3.0
    """

    _method = "naive"
    _min_obs = 1

    def _point(self, y, h):
        return np.full(h, y[-1], dtype=np.float64)


class DriftForecaster(_RandomWalkForecaster):
    """Benchmark forecaster: the random walk with drift, the line through the first and last values.

    The forecast ``h`` steps ahead is ``y_T + h * (y_T - y_1) / (T - 1)``: the last value plus
    the average change per step. The prediction interval is ``yhat +- z * sigma_h`` with
    ``sigma_h = sigma * sqrt(h * (1 + h / T))`` (FPP3 Table 5.2), ``sigma`` the standard
    deviation of the one-step changes around the drift, ``sqrt(sum(e_t^2) / (T - 2))`` with
    ``e_t = y_t - y_{t-1} - drift``, and ``z`` the normal quantile of the level.

    Parameters
    ----------
    horizon : int, default=1
        Default number of steps of ``predict``.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None takes it from the index.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        Missing-value policy, as in :class:`~tsrnn.forecasting.RNNForecaster`.

    Attributes
    ----------
    drift_ : float or pandas.Series
        The drift ``(y_T - y_1) / (T - 1)`` of the history forecasts start from (per
        ``unique_id`` for long input; recomputed by ``update``).
    residual_std_ : float or pandas.Series
        ``sigma``; NaN for a series of two observations, which then has no intervals.
    freq_ : pandas offset or int
        The frequency of the series.
    cutoff_ : scalar or pandas.Series
        Last timestamp of the data (per ``unique_id`` for long input).

    See Also
    --------
    NaiveForecaster : The random walk without drift.
    SeasonalNaiveForecaster : Repeats the last season.

    Notes
    -----
    Every series needs at least two observations. ``X`` and ``X_future`` are accepted and
    ignored. ``level`` is in percent (``[80, 95]``).

    References
    ----------
    R. J. Hyndman and G. Athanasopoulos, *Forecasting: Principles and Practice*, 3rd ed.,
    OTexts, 2021, sections 5.2 and 5.5. https://otexts.com/fpp3/

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([3.0, 5.0, 4.0, 6.0], index=pd.period_range("2020-01", periods=4, freq="M"))
    >>> f = DriftForecaster(horizon=3).fit(y)
    >>> f.drift_, f.predict().tolist()
    (1.0, [7.0, 8.0, 9.0])
    """

    _method = "drift"
    _min_obs = 2

    def _learn(self, panel: _Panel) -> None:
        super()._learn(panel)
        drifts = [(s.y[-1] - s.y[0]) / (len(s.y) - 1) for s in panel.series]
        self.drift_ = per_series(panel, [float(d) for d in drifts], "drift")

    def _point(self, y, h):
        drift = (y[-1] - y[0]) / (len(y) - 1)
        return y[-1] + drift * np.arange(1, h + 1, dtype=np.float64)
