"""The short-series fallback: which series the network forecasts, and the others' baselines.

The window is chosen for the panel as a whole. A series too short for it (fewer than
``window + horizon`` observations at ``fit``, fewer than ``window`` at ``update``) is forecast
by a baseline (:func:`~tsrnn.forecasting._windows.fallback_method`): :func:`assign_models`
splits the panel and warns about the short series, :func:`baseline_forecasts` forecasts them
with the baseline forecasters and their normal intervals (Theta's as R's ``thetaf``, the
random walks' FPP3, Table 5.2).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ._baselines import DriftForecaster, NaiveForecaster, interval_columns, residual_std, step_std
from ._naive import SeasonalNaiveForecaster
from ._output import SeriesForecast
from ._panel import _Panel
from ._theta import ThetaForecaster
from ._time import series_name
from ._windows import check_lengths, series_treatment

BASELINES = {
    "naive": NaiveForecaster,
    "drift": DriftForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "theta": ThetaForecaster,
}
BASELINE_NAMES = {
    "naive": "naive",
    "drift": "drift",
    "seasonal_naive": "seasonal naive",
    "theta": "Theta",
}


def series_models(models, panel: _Panel) -> pd.Series:
    """``models`` (``series_models_``), or every series of ``panel`` 'network' when None.

    None is the state of models saved before ``series_models_`` existed.
    """
    if models is None:
        uids = [s.uid for s in panel.series]
        models = pd.Series(
            ["network"] * len(uids), index=pd.Index(uids, name="unique_id"), name="model"
        )
    return models


def network_panel(panel: _Panel, models: pd.Series) -> _Panel:
    """The series of ``panel`` that ``models`` assigns to the network."""
    return panel.subset(u for u, t in zip(models.index, models) if t == "network")


def assign_models(
    panel: _Panel,
    *,
    window: int,
    horizon: int,
    season_length: int,
    stage: str,
    stacklevel: int,
) -> tuple[pd.Series, _Panel]:
    """Assign every series of ``panel`` the network or a baseline; warn about the short ones.

    Parameters
    ----------
    panel : _Panel
        The series of ``fit`` or ``update``.
    window, horizon, season_length : int
        The fitted window, horizon and seasonal period.
    stage : {'fit', 'update'}
        At ``fit`` the network needs ``window + horizon`` observations (one training window),
        at ``update`` ``window`` (one input window).
    stacklevel : int
        Of the warning, counted from this function (it names the caller of fit / update).

    Returns
    -------
    series_models : pandas.Series of str
        ``'network'`` or the baseline of each series, indexed by ``unique_id``.
    network : _Panel
        The series the network forecasts.

    Raises
    ------
    ValueError
        If every series is too short; the error names the first one.
    """
    need = window + horizon if stage == "fit" else window
    treatment = series_treatment(panel, need, season_length)
    models = pd.Series(
        list(treatment.values()), index=pd.Index(list(treatment), name="unique_id"), name="model"
    )
    network = network_panel(panel, models)
    if not network.series:
        if stage == "fit":
            check_lengths(panel, window, horizon)
        s = panel.series[0]
        raise ValueError(
            f"series {series_name(s.uid)} has {len(s.y)} observations, fewer than window = {window}"
        )
    short = [s for s in panel.series if treatment[s.uid] != "network"]
    if short:
        shown = ", ".join(
            f"{series_name(s.uid)} ({len(s.y)} observations: {BASELINE_NAMES[treatment[s.uid]]})"
            for s in short[:10]
        )
        more = f" and {len(short) - 10} more" if len(short) > 10 else ""
        needed = (
            f"window + horizon = {window} + {horizon} = {need}"
            if stage == "fit"
            else f"window = {window}"
        )
        warnings.warn(
            f"{len(short)} series {'is' if len(short) == 1 else 'are'} too short for the "
            f"network, which needs {needed} "
            f"observations: {shown}{more}. They are forecast by the baseline named instead "
            "(see series_models_); the window of the other series is unchanged. Pass a "
            "shorter window to forecast them with the network.",
            UserWarning,
            stacklevel=stacklevel,
        )
    return models, network


def baseline_forecasts(
    panel: _Panel,
    models: pd.Series,
    h: int,
    levels: list,
    *,
    horizon: int,
    freq,
    season_length: int,
    stacklevel: int,
) -> dict:
    """Forecasts of the series too short for the network, by their baselines.

    Each baseline forecaster is fitted on its series' history; intervals are its normal
    intervals (FPP3, Table 5.2), NaN (with a warning) where the history is too short to
    estimate the residual spread.

    Parameters
    ----------
    panel : _Panel
        The history of every series.
    models : pandas.Series of str
        ``series_models_``: the series whose entry names a baseline are forecast here.
    h : int
        Number of steps.
    levels : list of float
        Validated interval levels (percent); [] for point forecasts.
    horizon : int
        The forecaster's horizon (the baselines' default number of steps).
    freq : pandas offset or int
        The fitted frequency.
    season_length : int
        Seasonal period of the seasonal naive baseline.
    stacklevel : int
        Of the warning, counted from this function (it names the caller of predict).

    Returns
    -------
    dict
        ``unique_id -> SeriesForecast`` of the baseline series.
    """
    out, no_interval = {}, []
    m = season_length
    for method, cls in BASELINES.items():
        uids = [u for u, t in zip(models.index, models) if t == method]
        if not uids:
            continue
        sub = panel.subset(uids)
        seasonal = method in ("seasonal_naive", "theta")
        baseline = cls(horizon=horizon, **({"season_length": m} if seasonal else {}))
        baseline.freq_ = freq
        baseline._fit(sub)
        baseline._set_history(sub)
        # Theta's intervals are its own (thetaf's); the random walks' are computed below
        own = method == "theta"
        results, _ = baseline._predict(h, None, levels if own else None)
        for s, r in zip(sub.series, results):
            cols = r.columns
            if levels and not own:
                sigma = residual_std(s.y, method, m)
                if not np.isfinite(sigma):
                    no_interval.append(s.uid)
                sigma_h = step_std(sigma, h, method, len(s.y), m)
                cols = interval_columns(cols["yhat"], sigma_h, levels)
            out[s.uid] = SeriesForecast(s.uid, r.index, cols)
    if no_interval:
        shown = ", ".join(series_name(u) for u in no_interval[:10])
        warnings.warn(
            f"series {shown} are too short to estimate the spread of their baseline "
            "forecast: their interval bounds are NaN",
            UserWarning,
            stacklevel=stacklevel,
        )
    return out
