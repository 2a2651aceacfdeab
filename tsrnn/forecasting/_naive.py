"""The seasonal naive benchmark: repeat the last observed season of every series."""

from __future__ import annotations

import numpy as np

from ._base import FILL_METHOD, FREQ, POSITIVE_INT
from ._baselines import _RandomWalkForecaster
from ._panel import _Panel
from ._time import resolve_season_length, series_name


class SeasonalNaiveForecaster(_RandomWalkForecaster):
    """Benchmark forecaster that repeats the last observed season of every series.

    The forecast for step ``k`` is the value observed ``season_length * ceil(k / m)`` steps
    earlier. It takes the same inputs and returns the same outputs as
    :class:`~tsrnn.forecasting.RNNForecaster`, so it runs through
    :func:`tsrnn.model_selection.backtest` as a baseline.

    Parameters
    ----------
    season_length : int or None, default=None
        Seasonal period ``m``; None derives it from the frequency (12 for monthly data...).
        1 gives the naive (last value) forecast.
    horizon : int, default=1
        Default number of steps of ``predict``.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None takes it from the index.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        Missing-value policy, as in :class:`~tsrnn.forecasting.RNNForecaster`.

    Attributes
    ----------
    season_length_ : int
        The seasonal period used.
    freq_ : pandas offset or int
        The frequency of the series.
    cutoff_ : scalar or pandas.Series
        Last timestamp of the data (per ``unique_id`` for long input).
    residual_std_ : float or pandas.Series
        Standard deviation of the in-sample seasonal naive residuals ``y_t - y_{t-m}``
        (Hyndman & Athanasopoulos, FPP3 eq. 5.1; per ``unique_id`` for long input); NaN for a
        series of ``m`` observations or fewer.

    Notes
    -----
    ``X`` (in ``fit`` and ``update``) and ``X_future`` (in ``predict``) are accepted and
    ignored. ``predict(level=...)`` gives normal prediction intervals
    ``yhat +- z * sigma * sqrt(floor((k - 1) / m) + 1)`` for step ``k`` (FPP3 Table 5.2), which
    need at least ``m + 1`` observations per series.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> y = load_air_passengers()
    >>> SeasonalNaiveForecaster(horizon=2).fit(y).predict().tolist()
    [417.0, 391.0]
    """

    _parameter_constraints: dict = {
        "season_length": [POSITIVE_INT, None],
        "horizon": [POSITIVE_INT],
        "freq": FREQ,
        "fill_method": FILL_METHOD,
    }
    _method = "seasonal_naive"

    def __init__(self, season_length=None, horizon=1, *, freq=None, fill_method=None):
        self.season_length = season_length
        self.horizon = horizon
        self.freq = freq
        self.fill_method = fill_method

    def _fit(self, panel: _Panel) -> None:
        self.season_length_ = resolve_season_length(self.season_length, panel.kind, panel.freq)
        self._learn(panel)

    def _season(self) -> int:
        return self.season_length_

    def _min_history(self) -> int:
        return self.season_length_

    def _too_short(self, s) -> str:
        return (
            f"series {series_name(s.uid)} has {len(s.y)} observations, fewer than season_length = "
            f"{self.season_length_}"
        )

    def _point(self, y, h):
        return np.resize(y[len(y) - self.season_length_ :], h)
