"""The classical Theta method: :class:`ThetaForecaster`.

Assimakopoulos & Nikolopoulos (2000), in the form Hyndman & Billah (2003) showed it to be and
R's ``forecast::thetaf`` implements: simple exponential smoothing (SES) plus half the slope of
the series' linear trend, on the seasonally adjusted series. For a series ``y_1 .. y_T`` with
seasonal period ``m``:

1. **Seasonality test** (``thetaf``'s): for ``m > 1``, ``T > 2 m`` and a non-constant series,
   seasonal when ``|r_m| > 1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / T)`` (``r_k`` the sample
   autocorrelations; the 90 % one-sided test of the M3/M4 benchmarks).
2. **Classical multiplicative decomposition** of a seasonal series: a centred moving average of
   order ``m`` (``2 x m`` for even ``m``) as the trend, the seasonal index of every position
   the mean of ``y_t / trend_t`` over the seasons, normalised to mean 1 (R's ``decompose``);
   ``x_t = y_t / s_t``. A series with a value <= 0, or an index below 1e-4, is not adjusted.
3. **SES** on ``x``: ``l_t = l_{t-1} + alpha (x_t - l_{t-1})``; ``alpha`` in
   ``[1e-4, 0.9999]`` (R's ``ets`` bounds) and ``l_0`` minimise the sum of squared one-step
   errors ``e_t = x_t - l_{t-1}``. For a given ``alpha`` the errors are linear in ``l_0``, so
   the best ``l_0`` is a least-squares formula; ``alpha`` is searched on three nested grids
   of 41 points (spacing about 6e-5 at the end).
4. **Theta line drift**: ``b`` the least-squares slope of ``x_t`` on ``t``; the forecast
   ``k`` steps ahead is ``l_T + (b / 2) * (k - 1 + (1 - (1 - alpha)^T) / alpha)``
   (``thetaf``), reseasonalised: times ``s`` of its position.
5. **Intervals** (``thetaf``'s): ``sigma_k = sigma * sqrt(1 + (k - 1) alpha^2)`` with
   ``sigma = sqrt(sum(e_t^2) / (T - 2))`` (FPP3 eq. 5.1, two estimated parameters), the normal
   interval around the forecast of the adjusted series, multiplied by the seasonal index.
"""

from __future__ import annotations

import math

import numpy as np

from ._base import FILL_METHOD, FREQ, POSITIVE_INT
from ._baselines import (
    _RandomWalkForecaster,
    interval_columns,
    per_series,
    residual_std,
)
from ._output import SeriesForecast
from ._panel import _Panel
from ._rollout import check_levels
from ._time import _future_index, resolve_season_length
from ._transforms import seasonal_autocorrelation

ALPHA_BOUNDS = (1e-4, 0.9999)
_GRID = 41
_MIN_THETA = 3  # observations the Theta method needs; shorter series get the naive forecast
_Z_90 = 1.6448536269514722  # the 95 % quantile of the standard normal (90 % two-sided)


def theta_is_seasonal(y: np.ndarray, m: int) -> bool:
    """``thetaf``'s seasonality test: the lag-``m`` autocorrelation at the 90 % level.

    Parameters
    ----------
    y : numpy.ndarray of shape (T,)
        The series.
    m : int
        Seasonal period.

    Returns
    -------
    bool
        False for ``m < 2``, ``T <= 2 m`` or a constant series.
    """
    y = np.asarray(y, dtype=np.float64)
    if m < 2 or len(y) <= 2 * m:
        return False
    return seasonal_autocorrelation(y, m, _Z_90)


def multiplicative_indices(y: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative seasonal indices (R's ``decompose(type='multiplicative')``).

    Parameters
    ----------
    y : numpy.ndarray of shape (T,)
        A positive series with ``T >= 2 m``.
    m : int
        Seasonal period.

    Returns
    -------
    numpy.ndarray of shape (m,)
        The index of every position ``t % m`` (``t = 0`` the first observation), mean 1.
    """
    y = np.asarray(y, dtype=np.float64)
    weights = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    trend = np.convolve(y, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    ratio = y[offset : offset + len(trend)] / trend
    positions = (np.arange(len(trend)) + offset) % m
    idx = np.array([ratio[positions == j].mean() for j in range(m)])
    return idx / idx.mean()


def ses_fit(series: list, bounds=ALPHA_BOUNDS, grid: int = _GRID, rounds: int = 3):
    """SES with ``alpha`` and ``l_0`` minimising the in-sample sum of squared errors.

    All series at once: they are left-aligned in a padded array and the smoothing recursion
    runs over time for every series and every ``alpha`` of the grid together. The errors are
    linear in ``l_0``, ``e_t = c_t - (1 - alpha)^(t-1) l_0`` with ``c_t`` the errors from
    ``l_0 = 0``, so the best ``l_0`` of every ``alpha`` is ``sum(c d) / sum(d d)``.

    Parameters
    ----------
    series : list of numpy.ndarray
        The series, each with at least one value.
    bounds : tuple of float, default=(1e-4, 0.9999)
        Search interval of ``alpha``.
    grid : int, default=41
        Points of every grid.
    rounds : int, default=3
        Grids: each next one spans the two cells around the best point of the previous one.

    Returns
    -------
    alpha, level0, level, sse : numpy.ndarray of shape (n_series,)
        The smoothing weight, the initial and the final level, the sum of squared errors.
    """
    n_s = len(series)
    lengths = np.array([len(s) for s in series])
    t_max = int(lengths.max())
    first = np.array([s[0] for s in series], dtype=np.float64)
    data = np.zeros((n_s, t_max))
    for i, s in enumerate(series):
        data[i, : len(s)] = np.asarray(s, dtype=np.float64) - first[i]  # shift-equivariant
    lo = np.full(n_s, float(bounds[0]))
    hi = np.full(n_s, float(bounds[1]))
    for _ in range(rounds):
        alphas = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, grid)[None, :]
        sse, _, _ = _ses_profile(data, lengths, alphas)
        best = np.argmin(sse, axis=1)
        step = (hi - lo) / (grid - 1)
        centre = alphas[np.arange(n_s), best]
        lo = np.maximum(centre - step, bounds[0])
        hi = np.minimum(centre + step, bounds[1])
    alpha = centre
    sse, level0, level = _ses_profile(data, lengths, alpha[:, None])
    return alpha, level0[:, 0] + first, level[:, 0] + first, np.maximum(sse[:, 0], 0.0)


def _ses_profile(data, lengths, alphas):
    """SSE, best ``l_0`` and final level of SES for every series (rows) and alpha (columns)."""
    n_s, n_a = alphas.shape
    lz = np.zeros((n_s, n_a))  # level from l_0 = 0
    d = np.ones((n_s, n_a))  # (1 - alpha)^t: the weight of l_0 in the level
    cc = np.zeros((n_s, n_a))
    cd = np.zeros((n_s, n_a))
    dd = np.zeros((n_s, n_a))
    keep = 1.0 - alphas
    for t in range(data.shape[1]):
        active = (t < lengths)[:, None]
        c = data[:, t, None] - lz
        cc += np.where(active, c * c, 0.0)
        cd += np.where(active, c * d, 0.0)
        dd += np.where(active, d * d, 0.0)
        lz = np.where(active, lz + alphas * c, lz)
        d = np.where(active, d * keep, d)
    level0 = cd / dd
    sse = cc - cd * level0
    return sse, level0, lz + level0 * d


def ses_errors(x: np.ndarray, alpha: float, level0: float) -> np.ndarray:
    """One-step errors ``x_t - l_{t-1}`` of SES with the given ``alpha`` and ``l_0``."""
    e = np.empty(len(x))
    level = level0
    for t, v in enumerate(x):
        e[t] = v - level
        level += alpha * e[t]
    return e


class ThetaForecaster(_RandomWalkForecaster):
    """The classical Theta method (Assimakopoulos & Nikolopoulos, 2000), as R's ``thetaf``.

    Per series: a seasonality test at lag ``season_length``; when seasonal, classical
    multiplicative decomposition; simple exponential smoothing of the adjusted series with
    ``alpha`` and the initial level fitted by least squares on the series' own history; plus
    half the slope of its linear trend (the drift of the theta = 2 line, Hyndman & Billah
    2003); reseasonalised. Normal prediction intervals. It takes the same inputs and returns
    the same outputs as :class:`~tsrnn.forecasting.RNNForecaster`, so it runs through
    :func:`tsrnn.model_selection.backtest` as a baseline, and it is one of
    :class:`~tsrnn.forecasting.AutoRNNForecaster`'s baselines.

    Parameters
    ----------
    horizon : int, default=1
        Default number of steps of ``predict``.
    season_length : int or None, default=None
        Seasonal period ``m``; None derives it from the frequency (12 for monthly data...).
        1 switches the seasonal adjustment off.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None takes it from the index.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        Missing-value policy, as in :class:`~tsrnn.forecasting.RNNForecaster`.

    Attributes
    ----------
    alpha_ : float or pandas.Series
        SES smoothing weight of every series (per ``unique_id`` for long input); NaN for a
        series forecast by the naive method (see Notes).
    drift_ : float or pandas.Series
        Half the least-squares slope of the (seasonally adjusted) series; NaN as ``alpha_``.
    seasonal_ : bool or pandas.Series
        Whether the series was seasonally adjusted.
    residual_std_ : float or pandas.Series
        ``sigma`` of the intervals: ``sqrt(sum(e_t^2) / (T - 2))`` of the one-step SES errors
        of the adjusted series (the naive method's for a naive series).
    season_length_ : int
        The seasonal period used.
    freq_ : pandas offset or int
        The frequency of the series.
    cutoff_ : scalar or pandas.Series
        Last timestamp of the data (per ``unique_id`` for long input).

    See Also
    --------
    NaiveForecaster : The random walk.
    DriftForecaster : The random walk with drift.
    SeasonalNaiveForecaster : Repeats the last season.

    Notes
    -----
    The method, step by step (the module :mod:`tsrnn.forecasting._theta` has the formulas):

    * seasonal when ``season_length > 1``, the series has more than ``2 * season_length``
      values, all positive, and ``|r_m| > 1.645 * sqrt((1 + 2 sum_{k<m} r_k^2) / T)``;
      then ``x = y / s`` with the classical multiplicative seasonal indices ``s``;
    * ``alpha`` in ``[1e-4, 0.9999]`` and ``l_0`` minimise the squared one-step SES errors
      (``alpha`` by nested grid search, ``l_0`` in closed form); ``l_T`` the last level;
    * the forecast ``k`` steps ahead is
      ``(l_T + drift * (k - 1 + (1 - (1 - alpha)^T) / alpha)) * s``, ``drift`` half the
      least-squares slope of ``x`` on time;
    * interval: ``yhat +- z * sigma * sqrt(1 + (k - 1) alpha^2) * s``.

    A series of fewer than 3 observations, or a constant one, is forecast by the naive
    method (last value; its intervals as :class:`NaiveForecaster`'s), and its ``alpha_`` and
    ``drift_`` are NaN. ``X`` and ``X_future`` are accepted and ignored. ``level`` is in
    percent (``[80, 95]``).

    References
    ----------
    V. Assimakopoulos and K. Nikolopoulos, "The theta model: a decomposition approach to
    forecasting", *International Journal of Forecasting* 16 (2000) 521-530.
    R. J. Hyndman and B. Billah, "Unmasking the Theta method", *International Journal of
    Forecasting* 19 (2003) 287-290.

    Examples
    --------
    >>> import pandas as pd
    >>> y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=pd.RangeIndex(5))
    >>> f = ThetaForecaster(horizon=2).fit(y)
    >>> round(float(f.alpha_), 4), round(float(f.drift_), 6)
    (0.9999, 0.5)
    >>> [round(v, 3) for v in f.predict()]
    [5.5, 6.0]
    """

    _parameter_constraints: dict = {
        "horizon": [POSITIVE_INT],
        "season_length": [POSITIVE_INT, None],
        "freq": FREQ,
        "fill_method": FILL_METHOD,
    }
    _method = "naive"

    def __init__(self, horizon=1, *, season_length=None, freq=None, fill_method=None):
        self.horizon = horizon
        self.season_length = season_length
        self.freq = freq
        self.fill_method = fill_method

    def _fit(self, panel: _Panel) -> None:
        self.season_length_ = resolve_season_length(self.season_length, panel.kind, panel.freq)
        self._learn(panel)

    def _learn(self, panel: _Panel) -> None:
        m = self.season_length_
        states = {}
        adjusted, theta_uids = [], []
        for s in panel.series:
            y = np.asarray(s.y, dtype=np.float64)
            if len(y) < _MIN_THETA or np.all(y == y[0]):
                states[s.uid] = None  # the naive method
                continue
            index = np.ones(1)  # not adjusted
            if theta_is_seasonal(y, m) and np.all(y > 0):
                idx = multiplicative_indices(y, m)
                if np.all(np.abs(idx) >= 1e-4):
                    index = idx
            x = y / index[np.arange(len(y)) % len(index)]
            adjusted.append(x)
            theta_uids.append((s.uid, index))
        if adjusted:
            alpha, level0, level, _ = ses_fit(adjusted)
            for k, ((uid, index), x) in enumerate(zip(theta_uids, adjusted)):
                t = np.arange(len(x), dtype=np.float64)
                slope = float(np.polyfit(t, x, 1)[0])
                e = ses_errors(x, float(alpha[k]), float(level0[k]))
                sigma = math.sqrt(float(np.sum(e * e)) / (len(x) - 2))
                states[uid] = {
                    "alpha": float(alpha[k]),
                    "level": float(level[k]),
                    "drift": slope / 2.0,
                    "index": index,
                    "n": len(x),
                    "sigma": sigma,
                }
        self._states = states

        def pick(key, naive):
            return [
                (naive(s) if states[s.uid] is None else states[s.uid][key]) for s in panel.series
            ]

        self.alpha_ = per_series(panel, pick("alpha", lambda s: np.nan), "alpha")
        self.drift_ = per_series(panel, pick("drift", lambda s: np.nan), "drift")
        seasonal = [
            states[s.uid] is not None and len(states[s.uid]["index"]) > 1 for s in panel.series
        ]
        self.seasonal_ = (
            bool(seasonal[0])
            if panel.input_type == "series"
            else per_series(panel, seasonal, "seasonal").astype(bool)
        )
        self.residual_std_ = per_series(
            panel, pick("sigma", lambda s: residual_std(s.y, "naive")), "residual_std"
        )

    def _point_and_factor(self, s, h: int):
        """Forecast of ``h`` steps and the seasonal factor of every step (None: naive)."""
        st = self._states[s.uid]
        if st is None:
            return np.full(h, s.y[-1], dtype=np.float64), None, None
        a, n = st["alpha"], st["n"]
        k = np.arange(1, h + 1, dtype=np.float64)
        base = st["level"] + st["drift"] * (k - 1.0 + (1.0 - (1.0 - a) ** n) / a)
        index = st["index"]
        factor = index[(n + np.arange(h)) % len(index)]
        return base, factor, st

    def _predict(self, h: int, X_future, level):
        levels = check_levels(level, True)
        results = []
        for s in self._panel.series:
            base, factor, st = self._point_and_factor(s, h)
            if st is None:  # the naive method and its intervals
                columns = self._method_columns(s, base, h, levels, "naive", 1)
            elif levels:
                point = base * factor
                steps = np.arange(h, dtype=np.float64)
                sigma_h = st["sigma"] * np.sqrt(1.0 + steps * st["alpha"] ** 2) * factor
                columns = interval_columns(point, sigma_h, levels)
            else:
                columns = {"yhat": base * factor}
            index = _future_index(s.index[-1], h, self._kind, self.freq_, s.index.name)
            results.append(SeriesForecast(s.uid, index, columns))
        return results, bool(levels)
