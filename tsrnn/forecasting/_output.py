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


def quantile_name(level: float) -> str:
    """The column of quantile level ``level``: 0.1 -> 'yhat_q10', 0.025 -> 'yhat_q2.5'.

    The level in percent, without a trailing '.0' (rounded to 8 decimals, so 0.1 is 10).
    """
    return f"yhat_q{_level_name(round(100.0 * float(level), 8))}"


def interval_quantiles(levels: list, quantiles: np.ndarray) -> dict:
    """``{level: (i_lo, i_hi)}``: the fitted quantiles bounding each central interval.

    A ``level`` % interval is [q_τ, q_(1-τ)] with τ = (1 - level/100) / 2 (80 -> 0.1 and 0.9);
    a ValueError names the missing levels and the fitted ones.
    """
    found = {}
    for lv in levels:
        tau = (1.0 - lv / 100.0) / 2.0
        lo = np.flatnonzero(np.isclose(quantiles, tau, rtol=0, atol=1e-9))
        hi = np.flatnonzero(np.isclose(quantiles, 1.0 - tau, rtol=0, atol=1e-9))
        if not (lo.size and hi.size):
            raise ValueError(
                f"level={_level_name(lv)} needs the quantiles {round(tau, 8)} and "
                f"{round(1.0 - tau, 8)}, but the forecaster was fitted with loss='quantile' "
                f"and quantiles {[round(float(q), 8) for q in quantiles]}; add both to "
                "quantiles and refit, or ask for a level whose quantiles were fitted."
            )
        found[lv] = (int(lo[0]), int(hi[0]))
    return found


def quantile_columns(point: np.ndarray, q: np.ndarray, quantiles, intervals: dict, invert):
    """``yhat``, interval and quantile columns from quantile forecasts on the transformed scale.

    Parameters
    ----------
    point : numpy.ndarray of shape (h,)
        The median forecast on the network's scale.
    q : numpy.ndarray of shape (h, Q)
        The forecasts of the levels ``quantiles`` on the same scale, non-decreasing per row.
    quantiles : numpy.ndarray of shape (Q,)
        The fitted levels, sorted.
    intervals : dict
        ``{level: (i_lo, i_hi)}`` from :func:`interval_quantiles`.
    invert : callable
        Maps transformed values back to the original scale. It is monotone increasing (log,
        scale, seasonal shift), and quantiles commute with monotone maps: the mapped values
        are the quantiles on the original scale, still in order.

    Returns
    -------
    dict
        ``{'yhat': ..., 'yhat_lo_<level>': ..., 'yhat_hi_<level>': ..., 'yhat_q<pct>': ...}``.
    """
    cols = {"yhat": invert(point)}
    mapped = [invert(np.ascontiguousarray(q[:, j])) for j in range(len(quantiles))]
    for level, (lo, hi) in intervals.items():
        cols[f"yhat_lo_{_level_name(level)}"] = mapped[lo]
        cols[f"yhat_hi_{_level_name(level)}"] = mapped[hi]
    for j, tau in enumerate(quantiles):
        cols[quantile_name(tau)] = mapped[j]
    return cols


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
    names = list(results[0].columns)
    same = all(list(r.columns) == names for r in results)
    if not same or len(results) < 2:
        frames = [pd.DataFrame({"unique_id": r.uid, "ds": r.index, **r.columns}) for r in results]
        return pd.concat(frames, ignore_index=True)
    # one frame from the concatenated columns: a frame per series costs several KB each
    # (hundreds of MB for 100,000 series) before they are concatenated
    ids = pd.Series([r.uid for r in results]).repeat([len(r.index) for r in results])
    ds = results[0].index.append([r.index for r in results[1:]])
    columns = {name: np.concatenate([r.columns[name] for r in results]) for name in names}
    return pd.DataFrame({"unique_id": ids.to_numpy(), "ds": ds, **columns})
