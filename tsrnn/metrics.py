"""Point-forecast accuracy metrics and the seasonal naive benchmark.

All metrics take array-likes (NumPy arrays, lists, pandas Series; an index is ignored, values are
compared position by position) and return a Python float. Lower is better for all of them.

* :func:`mae` -- mean absolute error, in the units of the series.
* :func:`rmse` -- root mean squared error, in the units of the series; punishes large errors.
* :func:`smape` -- symmetric mean absolute percentage error in percent, between 0 and 200, as
  used in the M3/M4 competitions (Makridakis): the mean of ``200 |y - ŷ| / (|y| + |ŷ|)``.
* :func:`mase` -- mean absolute scaled error (Hyndman & Koehler, 2006): the MAE divided by the
  in-sample MAE of the seasonal naive forecast; below 1 means better than seasonal naive did
  in-sample.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["mae", "mase", "rmse", "seasonal_naive", "smape"]


def _pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """Return both inputs as equal-length 1-D float arrays."""
    a = np.asarray(y_true, dtype=np.float64).ravel()
    b = np.asarray(y_pred, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"y_true and y_pred have different lengths: {a.size} and {b.size}")
    if a.size == 0:
        raise ValueError("y_true and y_pred are empty")
    return a, b


def mae(y_true, y_pred) -> float:
    """Mean absolute error.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values.

    Returns
    -------
    float
        ``mean(|y_true - y_pred|)``.

    Examples
    --------
    >>> mae([1, 2, 3], [2, 2, 5])
    1.0
    """
    a, b = _pair(y_true, y_pred)
    return float(np.mean(np.abs(a - b)))


def rmse(y_true, y_pred) -> float:
    """Root mean squared error.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values.

    Returns
    -------
    float
        ``sqrt(mean((y_true - y_pred) ** 2))``.

    Examples
    --------
    >>> rmse([0, 0], [3, 4])  # doctest: +ELLIPSIS
    3.535...
    """
    a, b = _pair(y_true, y_pred)
    return float(np.sqrt(np.mean((a - b) ** 2)))


def smape(y_true, y_pred) -> float:
    """Symmetric mean absolute percentage error (Makridakis), in percent.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values.

    Returns
    -------
    float
        ``mean(200 * |y_true - y_pred| / (|y_true| + |y_pred|))``, between 0 and 200. A term
        whose actual and forecast are both 0 counts as 0 (a perfect forecast).

    Examples
    --------
    >>> smape([100, 200], [110, 200])  # doctest: +ELLIPSIS
    4.76...
    """
    a, b = _pair(y_true, y_pred)
    num = 200.0 * np.abs(a - b)
    den = np.abs(a) + np.abs(b)
    terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
    return float(np.mean(terms))


def _naive_scale(y_train, season_length: int) -> float:
    """In-sample MAE of the seasonal naive forecast: ``mean(|y[t] - y[t - m]|)``."""
    train = np.asarray(y_train, dtype=np.float64).ravel()
    if train.size <= season_length:
        raise ValueError(
            f"y_train needs more than season_length = {season_length} values to scale MASE,"
            f" got {train.size}"
        )
    return float(np.mean(np.abs(train[season_length:] - train[:-season_length])))


def mase(y_true, y_pred, y_train, season_length: int = 1) -> float:
    """Mean absolute scaled error with a seasonal naive scale.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n,)
        Actual and forecast values over the forecast period.
    y_train : array-like
        The series before the forecast period (the data the forecast was made from); it gives
        the scale, the in-sample MAE of the seasonal naive forecast ``y[t - season_length]``.
    season_length : int, default=1
        Seasonal period ``m`` (12 for monthly data, 4 for quarterly...); 1 gives the non-seasonal
        MASE, scaled by the naive (random walk) forecast.

    Returns
    -------
    float
        ``mae(y_true, y_pred) / mean(|y_train[t] - y_train[t - m]|)``. NaN when the scale is 0
        (``y_train`` repeats itself exactly every ``m`` steps), since the ratio is then
        undefined.

    Raises
    ------
    ValueError
        If ``season_length`` is not a positive integer or ``y_train`` has no more than
        ``season_length`` values.

    Examples
    --------
    >>> mase([5, 6], [5, 8], y_train=[1, 2, 3, 4])
    1.0
    """
    if not isinstance(season_length, (int, np.integer)) or season_length < 1:
        raise ValueError(f"season_length must be a positive integer, got {season_length!r}")
    scale = _naive_scale(y_train, int(season_length))
    error = mae(y_true, y_pred)
    if scale == 0.0:
        return float("nan")
    return error / scale


def _future_index(index: pd.Index, h: int) -> pd.Index:
    """The ``h`` timestamps following a regular DatetimeIndex, PeriodIndex or integer index."""
    if isinstance(index, pd.PeriodIndex):
        return pd.period_range(index[-1] + 1, periods=h, freq=index.freq, name=index.name)
    if isinstance(index, pd.DatetimeIndex):
        freq = index.freq
        if freq is None:
            freq = pd.infer_freq(index) if len(index) >= 3 else None
        if freq is None:
            raise ValueError("cannot infer the frequency of the series' DatetimeIndex")
        return pd.date_range(index[-1], periods=h + 1, freq=freq, name=index.name)[1:]
    if pd.api.types.is_integer_dtype(index.dtype):
        step = index.step if isinstance(index, pd.RangeIndex) else 1
        last = int(index[-1])
        return pd.RangeIndex(last + step, last + step * (h + 1), step, name=index.name)
    raise ValueError(
        f"unsupported index type {type(index).__name__}; use a DatetimeIndex, PeriodIndex or an"
        " integer index"
    )


def seasonal_naive(y, h: int, season_length: int = 1):
    """Forecast by repeating the last observed season.

    The forecast for step ``k`` (1-based) is the observation ``season_length`` steps before it,
    taken from the last full season: ``ŷ[n + k] = y[n + k - m * ceil(k / m)]``.

    Parameters
    ----------
    y : pandas.Series or array-like of shape (n_obs,)
        The history. A Series must have a regular DatetimeIndex, PeriodIndex or integer index.
    h : int
        Number of steps to forecast.
    season_length : int, default=1
        Seasonal period ``m``; 1 gives the naive (last value) forecast.

    Returns
    -------
    pandas.Series or numpy.ndarray
        The ``h`` forecasts: a Series with the future index (same name as ``y``) when ``y`` is a
        Series, a float array otherwise.

    Raises
    ------
    ValueError
        If ``h`` or ``season_length`` is not a positive integer or ``y`` is shorter than one
        season.

    Examples
    --------
    >>> seasonal_naive([1, 2, 3, 4, 5, 6], h=3, season_length=2)
    array([5., 6., 5.])
    """
    for name, value in (("h", h), ("season_length", season_length)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    values = np.asarray(y, dtype=np.float64).ravel()
    if values.size < season_length:
        raise ValueError(f"y has {values.size} values, fewer than season_length = {season_length}")
    last_season = values[values.size - season_length :]
    forecast = np.resize(last_season, h)
    if isinstance(y, pd.Series):
        return pd.Series(forecast, index=_future_index(y.index, h), name=y.name)
    return forecast
