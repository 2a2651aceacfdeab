"""Stage 7 of the data flow: rolling the network forward, and conformal calibration.

:func:`roll_out` forecasts any number of steps from a window of history, ``out_len`` steps
per network call, feeding its forecasts back as inputs (one call for a direct forecast within
the horizon). :func:`calibrate` rolls out every held-out origin of stage 1 and keeps the
absolute residuals in normalised units; :func:`half_width` turns them into split-conformal
interval half-widths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._features import Covariates
from ._panel import _Panel
from ._time import _future_index
from ._transforms import is_constant
from ._windows import WindowLayout, _pad_rows, assemble_inputs, gather_windows


def padded_steps(h: int, out_len: int) -> int:
    """``h`` rounded up to whole network outputs (blocks of ``out_len`` steps)."""
    return int(math.ceil(h / out_len)) * out_len


def roll_out(layout: WindowLayout, predict, dbuf, past, future, loc_fixed, scale, h: int):
    """Forecast ``h`` steps for every track; return d-scale forecasts (n_tracks, h).

    Parameters
    ----------
    layout : WindowLayout
        Window shape and normalisation.
    predict : callable
        Network outputs (normalised) for a batch of inputs, shape (n, out_len).
    dbuf : numpy.ndarray of shape (n, window + h_pad)
        The last ``window`` values of each track, then room for the forecasts (written here).
    past : numpy.ndarray of shape (n, window, n_past)
        Past covariates of the input steps (zero once the window has moved past the origin).
    future : numpy.ndarray of shape (n, window + h_pad + extension, n_future)
        Future covariates from the first input step on.
    loc_fixed, scale : numpy.ndarray of shape (n,)
        Series location (used unless ``normalize='window'``) and scale of each track.
    h : int
        Number of steps.

    Returns
    -------
    numpy.ndarray of shape (n, h)
    """
    L, H, E = layout.window, layout.out_len, layout.extension
    pos = L
    while pos < L + h:
        target = dbuf[:, pos - L : pos]
        loc = layout.transform.window_loc(target, loc_fixed)
        p = past if pos == L else np.zeros_like(past)
        X = assemble_inputs(target, p, future[:, pos - L : pos + E], loc, scale, E)
        out = predict(X)
        dbuf[:, pos : pos + H] = loc[:, None] + scale[:, None] * out
        pos += H
    return dbuf[:, L : L + h]


@dataclass
class Origins:
    """The roll-out's starting point for every series of a panel (one *track* per series).

    Attributes
    ----------
    dbuf : numpy.ndarray of shape (n, window + h_pad)
        The last ``window`` transformed values, then room for the forecasts.
    past : numpy.ndarray of shape (n, window, n_past)
        Past covariates of the input steps.
    future : numpy.ndarray of shape (n, window + h_pad + extension, n_future)
        Future covariates and calendar features from the first input step on.
    loc, scale : numpy.ndarray of shape (n,)
        Series location and scale of each track.
    indexes : list of pandas.Index
        The ``h`` future timestamps of each track.
    """

    dbuf: np.ndarray
    past: np.ndarray
    future: np.ndarray
    loc: np.ndarray
    scale: np.ndarray
    indexes: list


def origins_at_end(
    layout: WindowLayout, covariates: Covariates, panel: _Panel, stats: dict, freq, h: int,
    future_exog: dict,
) -> Origins:
    """The inputs of a forecast of ``h`` steps from the end of every series of ``panel``.

    ``stats`` maps each ``unique_id`` to its transform statistics; ``future_exog`` holds the
    raw known-future covariates of each series over the padded forecast period.
    """
    L, E = layout.window, layout.extension
    h_pad = padded_steps(h, layout.out_len)
    tracks = panel.series
    n = len(tracks)
    dbuf = np.zeros((n, L + h_pad))
    past = np.zeros((n, L, len(covariates.past_idx)))
    fut_rows, indexes = [], []
    loc, scale = np.empty(n), np.empty(n)
    for i, s in enumerate(tracks):
        st = stats[s.uid]
        dbuf[i, :L] = layout.transform.apply(s.y, st, s.uid)[-L:]
        p_hist, f_hist = covariates.transform(s.exog, s.index)
        past[i] = p_hist[-L:]
        fidx = _future_index(s.index[-1], h_pad + E, panel.kind, freq, s.index.name)
        exog_f = np.zeros((h_pad + E, len(covariates.columns)))
        if covariates.future_idx:
            exog_f[:h_pad] = future_exog[s.uid]
        _, f_fut = covariates.transform(exog_f, fidx)
        fut_rows.append(np.concatenate([f_hist[-L:], f_fut]))
        loc[i], scale[i] = st.loc, st.scale
        indexes.append(fidx[:h])
    return Origins(dbuf, past, np.stack(fut_rows), loc, scale, indexes)


def calibrate(layout: WindowLayout, prepared, calib, predict):
    """Held-out absolute residuals in normalised units, (n_origins, horizon), or None.

    Parameters
    ----------
    layout : WindowLayout
        Window shape and normalisation.
    prepared : list of PreparedSeries
        The panel after the transform and feature stages.
    calib : list of CalibrationOrigins
        The held-out origins of each series.
    predict : callable
        The stage-1 ensemble's prediction.

    Returns
    -------
    numpy.ndarray or None

    Notes
    -----
    Constant series (:func:`~tsrnn.forecasting._transforms.is_constant`) are forecast as their
    constant, not by the network, so their residuals are left out -- unless every series is
    constant, when the network's residuals on them are all there is.
    """
    L, Hc, E = layout.window, layout.horizon, layout.extension
    h_pad = padded_steps(Hc, layout.out_len)
    rows, constant_rows = [], []
    for c in calib:
        p = prepared[c.series_pos]
        origins = c.origins
        n = len(origins)
        starts = origins - L + 1
        dbuf = np.zeros((n, L + h_pad))
        dbuf[:, :L] = gather_windows(p.d, starts, L)
        fut = gather_windows(_pad_rows(p.future, len(p.d) + h_pad + E), starts, L + h_pad + E)
        pw = gather_windows(p.past, starts, L)
        pred = roll_out(
            layout, predict, dbuf, pw, fut, np.full(n, p.stats.loc), np.full(n, p.stats.scale), Hc
        )
        actual = gather_windows(p.d, origins + 1, Hc)
        (constant_rows if is_constant(p.d) else rows).append(
            np.abs(actual - pred) / p.stats.scale
        )
    rows = rows or constant_rows
    return np.concatenate(rows) if rows else None


def check_levels(level, calibrated: bool) -> list:
    """Validated interval levels (sorted, unique floats); [] for None."""
    if level is None:
        return []
    levels = [level] if np.isscalar(level) else list(level)
    for lv in levels:
        number = isinstance(lv, (int, float, np.number)) and not isinstance(lv, bool)
        if not number or not 0 < lv < 100:
            raise ValueError(f"level must hold numbers strictly between 0 and 100, got {lv!r}")
        if lv <= 1:  # a fraction (statsmodels, sktime) would silently give a ~1 % interval
            raise ValueError(
                f"level is in percent, got {lv!r}: pass 80 for an 80 % interval (levels of "
                "1 or less are refused as probable fractions)"
            )
    if levels and not calibrated:
        raise ValueError(
            "prediction intervals need held-out residuals, but this forecaster was fitted "
            "with validation_fraction=0 (or with series too short to hold windows out)"
        )
    return sorted(set(float(lv) for lv in levels))


def half_width(scores: np.ndarray, level: float, h: int) -> np.ndarray:
    """Conformal half-widths (normalised units) of the first ``h`` steps.

    Parameters
    ----------
    scores : numpy.ndarray of shape (n_origins, horizon)
        Held-out absolute residuals in normalised units.
    level : float
        Coverage in percent.
    h : int
        Number of steps; beyond the calibrated horizon the width grows like a random walk.

    Returns
    -------
    numpy.ndarray of shape (h,)
    """
    sigma = np.sqrt(np.mean(scores**2, axis=0))
    sigma = np.maximum.accumulate(np.where(sigma > 0, sigma, np.finfo(float).eps))
    pooled = np.sort((scores / sigma).ravel())
    n = pooled.size
    k = math.ceil((n + 1) * level / 100.0)
    q = pooled[min(k, n) - 1]
    if h > len(sigma):
        # steps beyond the calibrated horizon: widen like a random walk from the last step
        extra = sigma[-1] * np.sqrt(np.arange(len(sigma) + 1, h + 1) / len(sigma))
        sigma = np.concatenate([sigma, extra])
    return q * sigma[:h]
