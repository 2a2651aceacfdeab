"""Stage 8 of the data flow: forecasts as pandas objects.

The forecasts of every series (:class:`SeriesForecast`: future index and columns ``yhat``,
``yhat_lo_<level>``, ``yhat_hi_<level>``) become a Series (one series, no intervals), a
DataFrame indexed by time (one series with intervals) or a long DataFrame with ``unique_id``
and ``ds`` (long input), the format the forecaster was fitted on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class SeriesForecast:
    """The forecasts of one series: its future timestamps and the output columns."""

    uid: object
    index: pd.Index
    columns: dict


def _level_name(level: float) -> str:
    """80.0 -> '80', 97.5 -> '97.5'."""
    return str(int(level)) if float(level).is_integer() else str(level)


def forecast_columns(point: np.ndarray, halves: dict, invert) -> dict:
    """``yhat`` and interval columns from a forecast on the transformed scale.

    Parameters
    ----------
    point : numpy.ndarray of shape (h,)
        The forecast on the scale the network works on (after log and deseasonalising).
    halves : dict
        ``{level: half-width array of shape (h,)}`` on the same scale.
    invert : callable
        Maps transformed values back to the original scale, so intervals may be asymmetric.

    Returns
    -------
    dict
        ``{'yhat': ..., 'yhat_lo_<level>': ..., 'yhat_hi_<level>': ...}``.
    """
    cols = {"yhat": invert(point)}
    for level, half in halves.items():
        cols[f"yhat_lo_{_level_name(level)}"] = invert(point - half)
        cols[f"yhat_hi_{_level_name(level)}"] = invert(point + half)
    return cols


def format_forecasts(results, intervals: bool, input_type: str, name=None, index_name=None):
    """Assemble forecasts as a Series/DataFrame (Series input) or a long DataFrame.

    Parameters
    ----------
    results : list of SeriesForecast
        One entry per series, in panel order.
    intervals : bool
        Whether interval columns are present (a Series input then gives a DataFrame).
    input_type : {'series', 'long'}
        The format of the fitted data.
    name, index_name : object, optional
        Name of the Series and of its index (Series input).

    Returns
    -------
    pandas.Series or pandas.DataFrame
    """
    if input_type == "series":
        r = results[0]
        index = r.index.rename(index_name)
        if not intervals:
            return pd.Series(r.columns["yhat"], index=index, name=name)
        return pd.DataFrame(r.columns, index=index)
    frames = [pd.DataFrame({"unique_id": r.uid, "ds": r.index, **r.columns}) for r in results]
    return pd.concat(frames, ignore_index=True)
