"""Stage 3 of the data flow: the per-series transforms, fitted, applied and inverted.

Every series goes through the same chain, and its forecasts through the inverse::

    y --log--> z --deseasonalise--> d --location/scale--> network inputs and targets

* ``log`` (when it applies): ``z = log(y)``; multiplicative seasonality and growth turn additive.
* deseasonalise: subtract classical seasonal indices of ``z`` (:func:`_seasonal_indices`), for
  every series or only for those that pass :func:`is_seasonal`.
* location/scale: ``normalize='window'`` shifts each window by its own mean level
  (:meth:`SeriesTransform.window_loc`) and divides by the RMS of the series' first differences;
  ``'series'`` standardises by the series' mean and standard deviation; None leaves the values.
  A log-transformed panel shares one scale (:func:`shared_scale`).
* a constant ``d`` (:func:`is_constant`) has no scale: 1.0 stands in (its windows are all zero
  once centred), and the forecaster forecasts such a series as its constant, not with the
  network.

:class:`SeriesTransform` holds the fitted configuration (the same for every series);
:class:`_Stats` the statistics of one series. Pure NumPy, no network.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._time import series_name


@dataclass
class _Stats:
    """Per-series transform statistics, fitted on that series' history."""

    seasonal: np.ndarray | None  # (m,) indices of z, or None
    loc: float  # series mean of the deseasonalised z (normalize='series')
    scale: float  # divisor of the normalised target


def is_seasonal(z, m: int) -> bool:
    """Whether ``z`` has significant seasonality of period ``m`` (90 % autocorrelation test).

    The test of the Theta method and of the M4 competition's benchmarks: the lag-``m``
    autocorrelation ``r_m`` must exceed ``1.645 * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)`` in
    absolute value (Bartlett's standard error of ``r_m`` when the autocorrelations beyond lag
    ``m - 1`` are zero). Series shorter than three seasons, and constant ones, are not
    seasonal.

    Parameters
    ----------
    z : array-like of shape (n,)
        The series, on the scale it is modelled on (after the log transform, if any).
    m : int
        Seasonal period.

    Returns
    -------
    bool
    """
    z = np.asarray(z, dtype=float)
    if m < 2 or len(z) < 3 * m:
        return False
    return seasonal_autocorrelation(z, m, 1.645)


def seasonal_autocorrelation(z: np.ndarray, m: int, z_crit: float) -> bool:
    """Whether the lag-``m`` autocorrelation of ``z`` exceeds ``z_crit`` standard errors.

    ``|r_m| > z_crit * sqrt((1 + 2 * sum_{k<m} r_k^2) / n)`` (Bartlett); False for a constant
    series. The test behind :func:`is_seasonal` and the Theta method's seasonality test, which
    differ only in the minimum length and in how ``z_crit`` is rounded.
    """
    n = len(z)
    x = z - z.mean()
    denom = float(np.dot(x, x))
    if not denom > 0:
        return False
    r = np.array([np.dot(x[: n - k], x[k:]) / denom for k in range(1, m + 1)])
    limit = z_crit * math.sqrt((1.0 + 2.0 * np.sum(r[:-1] ** 2)) / n)
    return bool(abs(r[-1]) > limit)


def _seasonal_indices(z: np.ndarray, m: int) -> np.ndarray:
    """Classical additive seasonal indices of ``z`` (centred moving average), summing to 0."""
    n = len(z)
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    trend = np.convolve(z, weights, mode="valid")
    offset = (len(weights) - 1) // 2
    detrended = z[offset : offset + len(trend)] - trend
    positions = (np.arange(len(trend)) + offset) % m
    idx = np.array(
        [detrended[positions == j].mean() if (positions == j).any() else 0.0 for j in range(m)]
    )
    if n < 2 * m:
        idx = np.zeros(m)
    return idx - idx.mean()


def is_constant(d) -> bool:
    """Whether the transformed series ``d`` is constant (then it has no scale to learn from).

    A constant series (after the log transform and deseasonalising: a constant raw series, or
    one that repeats its seasonal pattern exactly) is forecast as that constant, with
    zero-width intervals, and takes no part in the shared scale or the calibration.
    """
    d = np.asarray(d)
    return bool(d.size) and bool(np.all(d == d.flat[0]))


def auto_log(series, *, stacklevel: int = 2) -> bool:
    """``log='auto'``: whether every value of every series is strictly positive.

    When some series are strictly positive and others are not (zeros from ``fill='zero'``, a
    series with a negative value), the log transform is off for the whole panel; a warning
    names the series that turned it off, so a panel of positive data does not lose its
    multiplicative model without the user knowing.

    Parameters
    ----------
    series : sequence
        The prepared series, each with ``uid`` and ``y``.
    stacklevel : int, default=2
        Passed to :func:`warnings.warn` (counted from this function).

    Returns
    -------
    bool
    """
    positive = [bool((s.y > 0).all()) for s in series]
    if all(positive):
        return True
    if any(positive):
        off = [s.uid for s, ok in zip(series, positive) if not ok]
        shown = ", ".join(series_name(u) for u in off[:5]) + (", ..." if len(off) > 5 else "")
        warnings.warn(
            f"log='auto' left the log transform off for the whole panel: {len(off)} of "
            f"{len(series)} series have values <= 0 ({shown}), e.g. zeros from fill='zero'. "
            "Pass log=False to silence this, or remove or fill those values to model log(y)",
            UserWarning,
            stacklevel=stacklevel,
        )
    return False


def shares_scale(scale: str, log: bool, normalize) -> bool:
    """Whether one scale is shared by all series (``scale='global'``, or 'auto' with log)."""
    return normalize is not None and (scale == "global" or (scale == "auto" and log))


#: A series whose own scale is below this share of the shared scale is nearly constant: it keeps
#: its own scale (:func:`series_scale`). 1e-4, not smaller: deseasonalising shrinks the shared
#: scale of a seasonal panel to its noise (a daily panel of tests/test_forecaster_failures.py:
#: 0.0055 instead of 0.026), and a series varying by 1e-8 then sat at 2.5e-6 of it.
NEARLY_CONSTANT = 1e-4


def series_scale(own: float, shared: float) -> float:
    """The scale of a series in a panel with a shared scale.

    The shared one, unless the series is nearly constant -- its own scale below
    ``NEARLY_CONSTANT`` times the shared one -- when it keeps its own, so it is forecast near
    its constant with intervals as narrow as its variation (the shared scale would give it the
    panel's typical variability).
    """
    return own if own < NEARLY_CONSTANT * shared else shared


def shared_scale(stats) -> float:
    """The shared scale of a panel: the median of the per-series scales (1.0 for none).

    The forecaster passes the statistics of its non-constant series only.
    """
    return float(np.median([st.scale for st in stats])) if len(stats) else 1.0


@dataclass(frozen=True)
class SeriesTransform:
    """The fitted transform chain: log, deseasonalisation, location and scale.

    Parameters
    ----------
    log : bool
        Whether ``z = log(y)``.
    season_length : int
        Seasonal period ``m``.
    deseasonalize : {'auto', True, False}
        Which series are deseasonalised (a truth value, or 'auto' for those passing
        :func:`is_seasonal`).
    normalize : {'window', 'series', None}
        The location/scale normalisation.
    scale : float or None, default=None
        The shared scale given to every series, or None for per-series scales.
    """

    log: bool
    season_length: int
    deseasonalize: object
    normalize: str | None
    scale: float | None = None

    def to_z(self, y: np.ndarray, uid) -> np.ndarray:
        """Apply the log transform (if any) to raw values."""
        if not self.log:
            return y
        if (y <= 0).any():
            raise ValueError(
                f"series {series_name(uid)}: log transform needs strictly positive values, found "
                f"{int((y <= 0).sum())} value(s) <= 0; set log=False"
            )
        return np.log(y)

    def from_z(self, z: np.ndarray) -> np.ndarray:
        """Invert the log transform (if any)."""
        return np.exp(z) if self.log else z

    def fit(self, z: np.ndarray, uid) -> _Stats:
        """Seasonal indices, location and scale of one log-transformed series ``z``."""
        m = self.season_length
        seasonal = None
        # 'auto', or a truth value (numpy booleans from a parameter grid included)
        mode = "auto" if isinstance(self.deseasonalize, str) else bool(self.deseasonalize)
        if mode is True and m > 1:
            if len(z) < 2 * m:
                raise ValueError(
                    f"series {series_name(uid)}: deseasonalize needs at least 2 * season_length = "
                    f"{2 * m} observations, got {len(z)}"
                )
            seasonal = _seasonal_indices(z, m)
        elif mode == "auto" and m > 1 and is_seasonal(z, m):
            seasonal = _seasonal_indices(z, m)
        d = z if seasonal is None else z - seasonal[np.arange(len(z)) % m]
        if self.normalize == "series":
            loc, scale = float(d.mean()), float(d.std())
        elif self.normalize == "window":
            loc = 0.0
            diffs = np.diff(d)
            scale = float(np.sqrt(np.mean(diffs**2))) if diffs.size else 0.0
        else:
            loc, scale = 0.0, 1.0
        if is_constant(d):  # no scale: 1.0 stands in, and its windows centre to exact zeros
            loc = float(d[0]) if self.normalize == "series" else loc
            scale = 1.0
        elif not scale > 0 or not math.isfinite(scale):  # differences below float range
            scale = 1.0
        if self.scale is not None:
            scale = series_scale(scale, self.scale)
        return _Stats(seasonal, loc, scale)

    def deseason(self, z: np.ndarray, stats: _Stats, start: int = 0) -> np.ndarray:
        """Subtract the seasonal indices from ``z``, whose first value is at ``start``."""
        if stats.seasonal is None:
            return z
        m = len(stats.seasonal)
        return z - stats.seasonal[(start + np.arange(len(z))) % m]

    def reseason(self, d: np.ndarray, stats: _Stats, start) -> np.ndarray:
        """Add the seasonal indices back to ``d`` (last axis: time from position ``start``).

        ``start`` is an int, or an array of one start per row of a 2-D ``d``.
        """
        if stats.seasonal is None:
            return d
        m = len(stats.seasonal)
        return d + stats.seasonal[(np.asarray(start)[..., None] + np.arange(d.shape[-1])) % m]

    def fit_apply(self, y: np.ndarray, uid) -> tuple[_Stats, np.ndarray]:
        """Fit the statistics of raw series ``y`` and return them with its deseasonalised ``d``."""
        z = self.to_z(y, uid)
        stats = self.fit(z, uid)
        return stats, self.deseason(z, stats)

    def apply(self, y: np.ndarray, stats: _Stats, uid) -> np.ndarray:
        """The deseasonalised ``d`` of raw series ``y`` with fitted ``stats``."""
        return self.deseason(self.to_z(y, uid), stats)

    def invert(self, d: np.ndarray, stats: _Stats, start) -> np.ndarray:
        """Raw values from deseasonalised ``d`` whose first step is at position ``start``.

        ``start`` is an int, or an array of one start per row of a 2-D ``d``.
        """
        return self.from_z(self.reseason(d, stats, start))

    def window_loc(self, target: np.ndarray, fixed_loc: np.ndarray) -> np.ndarray:
        """Location of each window (rows of ``target``): its mean ('window') or ``fixed_loc``."""
        if self.normalize == "window":
            # target.mean(axis=1), bit for bit, without its Python wrapper (once per batch)
            return np.add.reduce(target, axis=1) / target.shape[1]
        return fixed_loc
