"""The seasonal naive benchmark: repeat the last observed season of every series."""

from __future__ import annotations

import numpy as np

from ._base import FILL_METHOD, FREQ, POSITIVE_INT, BaseForecaster
from ._output import SeriesForecast
from ._panel import _Panel
from ._time import _future_index, resolve_season_length


class SeasonalNaiveForecaster(BaseForecaster):
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

    Notes
    -----
    ``X`` (in ``fit`` and ``update``) and ``X_future`` (in ``predict``) are accepted and
    ignored; ``predict`` offers no intervals and raises an error when ``level`` is given.

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
    _uses_exog = False

    def __init__(self, season_length=None, horizon=1, *, freq=None, fill_method=None):
        self.season_length = season_length
        self.horizon = horizon
        self.freq = freq
        self.fill_method = fill_method

    def _fit(self, panel: _Panel) -> None:
        self.season_length_ = resolve_season_length(self.season_length, panel.kind, panel.freq)
        self._check_history(panel)

    def _update(self, panel: _Panel) -> None:
        self._check_history(panel)

    def _check_history(self, panel: _Panel) -> None:
        for s in panel.series:
            if len(s.y) < self.season_length_:
                raise ValueError(
                    f"series {s.uid!r} has {len(s.y)} observations, fewer than season_length = "
                    f"{self.season_length_}"
                )

    def _predict(self, h: int, X_future, level):
        if level is not None and np.size(level) > 0:
            raise ValueError("SeasonalNaiveForecaster does not produce prediction intervals")
        m = self.season_length_
        results = []
        for s in self._panel.series:
            yhat = np.resize(s.y[len(s.y) - m :], h)
            index = _future_index(s.index[-1], h, self._kind, self.freq_, s.index.name)
            results.append(SeriesForecast(s.uid, index, {"yhat": yhat}))
        return results, False
