"""Stage 7 of the data flow: rolling the network forward, and conformal calibration.

:func:`roll_out` forecasts any number of steps from a window of history, ``out_len`` steps
per network call, feeding its forecasts back as inputs (one call for a direct forecast within
the horizon). :func:`network_forecasts` forecasts every series of the network from the end of
its history and maps the forecasts back to the data's scale. :func:`holdout_roll_outs` rolls
out every held-out origin of stage 1, many series per network call, and :func:`calibrate` keeps
the absolute residuals of those forecasts in normalised units;
:func:`half_width` turns them into split-conformal interval half-widths.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np

from ._features import Covariates
from ._output import SeriesForecast, forecast_columns, interval_quantiles, quantile_columns
from ._panel import _Panel
from ._time import _future_index, series_name
from ._transforms import is_constant
from ._windows import WindowLayout, _pad_rows, assemble_inputs, gather_windows


def padded_steps(h: int, out_len: int) -> int:
    """``h`` rounded up to whole network outputs (blocks of ``out_len`` steps)."""
    return int(math.ceil(h / out_len)) * out_len


def roll_out(
    layout: WindowLayout, predict, dbuf, past, future, loc_fixed, scale, h: int, qbuf=None
):
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
    qbuf : numpy.ndarray of shape (n, h_pad, Q), optional
        For quantile networks (``loss='quantile'``): ``predict`` then returns ``(median,
        quantiles)`` (shapes (n, out_len) and (n, out_len, Q)), the median is fed back as the
        next input and ``qbuf`` receives the quantiles on the d scale. Beyond the first
        network call they are conditional on the fed-back median path, so they leave out the
        uncertainty of the steps fed back (too narrow there).

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
        if qbuf is None:
            out = predict(X)
        else:
            out, q = predict(X)
            qbuf[:, pos - L : pos - L + H] = loc[:, None, None] + scale[:, None, None] * q
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
    layout: WindowLayout,
    covariates: Covariates,
    panel: _Panel,
    stats: dict,
    freq,
    h: int,
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
    future, indexes = None, []
    loc, scale = np.empty(n), np.empty(n)
    # series with the same last time stamp share their forecast index (and, without
    # known-future covariates, its features): one object per cutoff, not per series
    ahead = {}
    for i, s in enumerate(tracks):
        st = stats[s.uid]
        dbuf[i, :L] = layout.transform.apply(s.y, st, s.uid)[-L:]
        p_hist, f_hist = covariates.transform(s.exog, s.index)
        past[i] = p_hist[-L:]
        cutoff = s.index[-1]
        if cutoff not in ahead or covariates.future_idx:
            fidx = _future_index(cutoff, h_pad + E, panel.kind, freq, s.index.name)
            exog_f = np.zeros((h_pad + E, len(covariates.columns)))
            if covariates.future_idx:
                exog_f[:h_pad] = future_exog[s.uid]
            ahead[cutoff] = (fidx[:h], covariates.transform(exog_f, fidx)[1])
        index, f_fut = ahead[cutoff]
        if future is None:
            future = np.empty((n, L + len(f_fut), f_hist.shape[1]))
        future[i, :L] = f_hist[-L:]
        future[i, L:] = f_fut
        loc[i], scale[i] = st.loc, st.scale
        indexes.append(index)
    if future is None:  # no series
        future = np.zeros((0, L + h_pad + E, 0))
    return Origins(dbuf, past, future, loc, scale, indexes)


def network_forecasts(
    layout: WindowLayout,
    covariates: Covariates,
    panel: _Panel,
    stats: dict,
    predict,
    *,
    h: int,
    X_future,
    freq,
    scores,
    levels: list,
    log: bool,
    season_length: int,
    stacklevel: int,
    quantiles=None,
    by_origins: bool = True,
) -> dict:
    """Forecasts of ``h`` steps from the end of every series of ``panel``, on the data's scale.

    Parameters
    ----------
    layout : WindowLayout
        Window shape and normalisation.
    covariates : Covariates
        The fitted feature configuration.
    panel : _Panel
        The history of the series the network forecasts.
    stats : dict
        ``unique_id -> _Stats``: the transform statistics of each series.
    predict : callable
        The ensemble's prediction (normalised outputs for a batch of inputs).
    h : int
        Number of steps.
    X_future : pandas.DataFrame or None
        Known-future covariates over the forecast period.
    freq : pandas offset or int
        The fitted frequency.
    scores : numpy.ndarray or None
        The conformal scores (``conformal_scores_``).
    levels : list of float
        Validated interval levels (percent); [] for point forecasts.
    log : bool
        Whether the log transform applies (a forecast that underflowed to 0 then failed).
    season_length : int
        Seasonal period of the fallback for forecasts that are not finite.
    stacklevel : int
        Of the warning about forecasts that are not finite, counted from this function.
    quantiles : numpy.ndarray of shape (Q,), optional
        The fitted levels of quantile networks (``loss='quantile'``): ``predict`` returns
        ``(median, quantiles)`` (:func:`~tsrnn.forecasting._ensemble.ensemble_quantiles`), the
        interval of each level comes from its two quantiles (``scores`` is not used) and the
        columns ``yhat_q<pct>`` hold every quantile.
    by_origins : bool, default=True
        Passed to :func:`half_width` (False for forecasters fitted before the origin-counted
        correction).

    Returns
    -------
    dict
        ``unique_id -> SeriesForecast``. A constant series is forecast as its constant with
        zero-width intervals; a forecast that is not finite on the data's scale (it overflowed
        in the inverse transforms, or underflowed to 0 after the log) is replaced, with a
        RuntimeWarning, by the seasonal naive forecast with NaN interval bounds.
    """
    h_pad = padded_steps(h, layout.out_len)
    exog = covariates.future_exog(X_future, panel, freq, h_pad)
    start = origins_at_end(layout, covariates, panel, stats, freq, h, exog)
    qbuf = None
    if quantiles is not None:
        bounds = interval_quantiles(levels, quantiles)
        qbuf = np.empty((len(panel.series), start.dbuf.shape[1] - layout.window, len(quantiles)))
    pred = roll_out(
        layout, predict, start.dbuf, start.past, start.future, start.loc, start.scale, h, qbuf
    )
    # the pooled residuals give every series the same normalised half-widths (sorting them
    # once per series took 70 ms a series at 10,000 series): once per level, scaled per series
    widths = {}
    if quantiles is None and scores is not None:
        widths = {lv: half_width(scores, lv, h, by_origins) for lv in levels}
    by_uid, overflowed = {}, []
    for i, s in enumerate(panel.series):
        st = stats[s.uid]
        d_hist = layout.transform.apply(s.y, st, s.uid)
        invert = partial(layout.transform.invert, stats=st, start=len(s.y))
        if quantiles is not None:
            if is_constant(d_hist):  # every quantile is the constant
                point = np.full(h, d_hist[-1])
                q = np.repeat(point[:, None], len(quantiles), axis=1)
            else:
                point, q = pred[i], qbuf[i, :h]
            with np.errstate(over="ignore", under="ignore"):  # overflow: reported below
                cols = quantile_columns(point, q, quantiles, bounds, invert)
        else:
            if is_constant(d_hist):  # forecast as its constant, zero-width intervals
                point, halves = np.full(h, d_hist[-1]), {lv: np.zeros(h) for lv in levels}
            else:
                point = pred[i]
                halves = {lv: widths[lv] * start.scale[i] for lv in levels}
            with np.errstate(over="ignore", under="ignore"):  # overflow: reported below
                cols = forecast_columns(point, halves, invert)
        if np.all(s.y == s.y[0]):  # exactly the constant, whatever the rounding of exp/log
            cols = {name: np.full(h, s.y[0]) for name in cols}
        if not all(np.isfinite(v).all() for v in cols.values()) or (
            log and not (cols["yhat"] > 0).all()  # exp underflowed to 0
        ):
            overflowed.append(s.uid)
            cols = _seasonal_naive_columns(s.y, h, season_length, cols)
        by_uid[s.uid] = SeriesForecast(s.uid, start.indexes[i], cols)
    if overflowed:
        shown = ", ".join(series_name(u) for u in overflowed[:10])
        more = f" and {len(overflowed) - 10} more" if len(overflowed) > 10 else ""
        warnings.warn(
            f"the network's forecast of series {shown}{more} is not finite on the data's "
            "scale (it overflowed when mapped back: training likely diverged); the seasonal "
            "naive forecast is returned for those series instead, with NaN interval "
            "bounds. Refit with a lower learning_rate_init or check the data.",
            RuntimeWarning,
            stacklevel=stacklevel,
        )
    return by_uid


def _seasonal_naive_columns(y: np.ndarray, h: int, season_length: int, cols: dict) -> dict:
    """The seasonal naive forecast of ``y`` (last value if shorter than a season), NaN bounds."""
    m = season_length if len(y) >= season_length else 1
    naive = np.resize(np.asarray(y[len(y) - m :], dtype=np.float64), h)
    return {name: naive if name == "yhat" else np.full(h, np.nan) for name in cols}


# tracks per held-out roll-out call: enough for the thread pool's prediction chunks
# (tsrnn._network.PREDICT_CHUNK_ROWS) to run in parallel, few enough to bound the buffers
HOLDOUT_BLOCK_ROWS = 8192


def _holdout_tracks(layout: WindowLayout, p, origins):
    """One series' roll-out buffers from its held-out origins (see :func:`roll_out`)."""
    L = layout.window
    h_pad = padded_steps(layout.horizon, layout.out_len)
    starts = origins - L + 1
    dbuf = np.zeros((len(origins), L + h_pad))
    dbuf[:, :L] = gather_windows(p.d, starts, L)
    ext = L + h_pad + layout.extension
    fut = gather_windows(_pad_rows(p.future, len(p.d) + h_pad + layout.extension), starts, ext)
    return dbuf, gather_windows(p.past, starts, L), fut


def holdout_roll_outs(layout: WindowLayout, prepared, calib, predict) -> list:
    """The network's forecasts from every held-out origin, one array per entry of ``calib``.

    Each array is (len(origins), horizon), in normalised units; each origin is the last
    observation a forecast starts from. The origins of many series are rolled out together,
    in blocks of about :data:`HOLDOUT_BLOCK_ROWS` tracks, so the prediction runs in large
    batches on the thread pool: a track's forecast is the same bits as when rolled out alone
    (the network's prediction and :func:`roll_out` are batch-invariant).
    """
    Hc = layout.horizon
    out = [np.zeros((0, Hc)) for _ in calib]
    first = 0
    while first < len(calib):
        last, rows = first, 0
        while last < len(calib) and (
            last == first or rows + len(calib[last].origins) <= HOLDOUT_BLOCK_ROWS
        ):
            rows += len(calib[last].origins)
            last += 1
        block = [i for i in range(first, last) if len(calib[i].origins)]
        first = last
        if not block:
            continue
        series = [prepared[calib[i].series_pos] for i in block]
        counts = [len(calib[i].origins) for i in block]
        tracks = [_holdout_tracks(layout, p, calib[i].origins) for p, i in zip(series, block)]
        dbuf, past, fut = (np.concatenate([t[k] for t in tracks]) for k in range(3))
        loc = np.repeat(np.array([p.stats.loc for p in series], dtype=np.float64), counts)
        scale = np.repeat(np.array([p.stats.scale for p in series], dtype=np.float64), counts)
        pred = roll_out(layout, predict, dbuf, past, fut, loc, scale, Hc)
        for i, lo, hi in zip(block, np.cumsum([0] + counts[:-1]), np.cumsum(counts)):
            out[i] = pred[lo:hi]
    return out


def calibrate(layout: WindowLayout, prepared, calib, preds):
    """Held-out absolute residuals in normalised units, (n_origins, horizon), or None.

    Parameters
    ----------
    layout : WindowLayout
        Window shape and normalisation.
    prepared : list of PreparedSeries
        The panel after the transform and feature stages.
    calib : list of CalibrationOrigins
        The held-out origins of each series.
    preds : list of numpy.ndarray
        The stage-1 ensemble's forecasts from those origins (:func:`holdout_roll_outs`).

    Returns
    -------
    numpy.ndarray or None

    Notes
    -----
    Constant series (:func:`~tsrnn.forecasting._transforms.is_constant`) are forecast as their
    constant, not by the network, so their residuals are left out -- unless every series is
    constant, when the network's residuals on them are all there is.
    """
    Hc = layout.horizon
    rows, constant_rows = [], []
    for c, pred in zip(calib, preds):
        p = prepared[c.series_pos]
        actual = gather_windows(p.d, c.origins + 1, Hc)
        (constant_rows if is_constant(p.d) else rows).append(np.abs(actual - pred) / p.stats.scale)
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


def half_width(scores: np.ndarray, level: float, h: int, by_origins: bool = True) -> np.ndarray:
    """Conformal half-widths (normalised units) of the first ``h`` steps.

    Parameters
    ----------
    scores : numpy.ndarray of shape (n_origins, horizon)
        Held-out absolute residuals in normalised units.
    level : float
        Coverage in percent.
    h : int
        Number of steps; beyond the calibrated horizon the width grows like a random walk.
    by_origins : bool, default=True
        Count the finite-sample correction in origins (see Notes). False is the rule of
        forecasters fitted before tsrnn had it (the ``ceil((n + 1) level)``-th smallest of the
        ``n`` pooled residuals), which models loaded from such files keep, so that a saved
        model gives the intervals it gave.

    Returns
    -------
    numpy.ndarray of shape (h,)

    Notes
    -----
    The finite-sample correction of split conformal is counted in forecast *origins* (the rows
    of ``scores``), not in pooled residuals: the ``H`` residuals of one origin, and those of
    neighbouring origins, share the same level error, so ``n`` origins are far fewer than
    ``n * H`` exchangeable values. The quantile is taken at the level
    ``min(1, ceil((n + 1) level) / n)`` of the pooled scaled residuals (the ``ceil((n + 1)
    level)``-th smallest of ``n`` values when ``H = 1``); with fewer than
    ``level / (1 - level)`` origins (4 at 80 %, 19 at 95 %) that is the largest held-out
    residual, which no longer guarantees the level. On a panel (many series, hundreds of
    origins) the correction is negligible; on one series with a few held-out origins it widens
    the intervals, which measured 67 % / 82 % coverage at 80 % / 95 % on single real series
    without it (``experiments/interval_coverage.py``).
    """
    sigma = np.sqrt(np.mean(scores**2, axis=0))
    sigma = np.maximum.accumulate(np.where(sigma > 0, sigma, np.finfo(float).eps))
    pooled = np.sort((scores / sigma).ravel())
    n = pooled.size
    if by_origins:
        n_origins = scores.shape[0]
        corrected = min(1.0, math.ceil((n_origins + 1) * level / 100.0) / n_origins)
        k = math.ceil(n * corrected - 1e-9)  # the tolerance absorbs rounding of n * corrected
    else:
        k = math.ceil((n + 1) * level / 100.0)
    q = pooled[min(max(k, 1), n) - 1]
    if h > len(sigma):
        # steps beyond the calibrated horizon: widen like a random walk from the last step
        extra = sigma[-1] * np.sqrt(np.arange(len(sigma) + 1, h + 1) / len(sigma))
        sigma = np.concatenate([sigma, extra])
    return q * sigma[:h]
