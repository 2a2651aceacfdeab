"""Sliding windows: turn series into the ``(X, y)`` arrays the recurrent estimators learn from.

Pure NumPy, no pandas. A *window* is ``window`` consecutive observations (the network's input);
its *origin* is the position of its last observation, and its targets are the ``horizon``
observations that follow the origin::

    series    y0 y1 y2 y3 y4 y5 y6 y7
    window=3, horizon=2, origin=4:
    input           y2 y3 y4
    target                   y5 y6

The estimators take ``X`` of shape ``(n_samples, n_timesteps, n_features)`` and ``y`` of shape
``(n_samples, n_outputs)``; :func:`make_windows` produces exactly that.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["make_windows", "window_origins"]


def window_origins(n_obs: int, window: int, horizon: int = 1, step: int = 1) -> np.ndarray:
    """Positions of the last input observation of every complete window.

    Parameters
    ----------
    n_obs : int
        Length of the series.
    window : int
        Number of input observations per window.
    horizon : int, default=1
        Number of target observations that must follow each window.
    step : int, default=1
        Distance between consecutive origins. The *latest* window is always included, so the
        windows end as close to the end of the series as possible.

    Returns
    -------
    numpy.ndarray of int64
        Origins in increasing order, from ``window - 1`` to ``n_obs - 1 - horizon``; empty
        when the series is shorter than ``window + horizon``.

    Examples
    --------
    >>> window_origins(8, window=3, horizon=2)
    array([2, 3, 4, 5])
    >>> window_origins(8, window=3, horizon=2, step=2)
    array([3, 5])
    """
    last = n_obs - 1 - horizon
    first = window - 1
    if last < first:
        return np.empty(0, dtype=np.int64)
    return np.arange(last, first - 1, -step, dtype=np.int64)[::-1].copy()


def gather_windows(values: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Copy the windows ``values[s:s + length]`` for every start ``s``.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_obs,) or (n_obs, n_features)
        The series, time along the first axis.
    starts : numpy.ndarray of int
        First position of each window; every window must lie inside ``values``.
    length : int
        Window length.

    Returns
    -------
    numpy.ndarray of shape (len(starts), length) or (len(starts), length, n_features)
        A writable copy.
    """
    starts = np.asarray(starts, dtype=np.int64)
    if values.ndim == 1:
        return sliding_window_view(values, length)[starts].copy()
    view = sliding_window_view(values, length, axis=0)  # (n, n_features, length)
    return np.ascontiguousarray(np.swapaxes(view[starts], 1, 2))


def assemble_inputs(target, past, future, loc, scale, extension):
    """Build network inputs from target windows and covariate windows.

    Every time step of an input sequence holds, in this order: the normalised target, the
    past-only covariates, a flag that is 1 on the ``extension`` steps that follow the origin
    (present only when ``extension > 0``), then the known-future covariates. On extension steps
    the target and past covariates are unknown and set to 0; the known-future covariates are
    filled in, so the network reads the future it is asked to forecast.

    Parameters
    ----------
    target : numpy.ndarray of shape (n, window)
        Target values of each input window (already transformed, not yet normalised).
    past : numpy.ndarray of shape (n, window, n_past)
        Past-only covariates of the input steps.
    future : numpy.ndarray of shape (n, window + extension, n_future)
        Known-future covariates (and calendar features) of the input and extension steps.
    loc, scale : numpy.ndarray of shape (n,)
        Normalisation of each window: the target channel is ``(target - loc) / scale``.
    extension : int
        Number of steps after the origin appended to the sequence (0 or more).

    Returns
    -------
    numpy.ndarray of shape (n, window + extension, n_features), float64
        ``n_features = 1 + n_past + (extension > 0) + n_future``.
    """
    n, window = target.shape
    n_past, n_future = past.shape[2], future.shape[2]
    flag = 1 if extension else 0
    X = np.zeros((n, window + extension, 1 + n_past + flag + n_future), dtype=np.float64)
    X[:, :window, 0] = (target - loc[:, None]) / scale[:, None]
    X[:, :window, 1 : 1 + n_past] = past
    if extension:
        X[:, window:, 1 + n_past] = 1.0
    if n_future:
        X[:, :, 1 + n_past + flag :] = future
    return X


def make_windows(series, window: int, horizon: int = 1, step: int = 1, features=None):
    """Turn a series into supervised ``(X, y)`` windows for the recurrent estimators.

    No scaling is applied: the values are copied as they are.

    Parameters
    ----------
    series : array-like of shape (n_obs,)
        The target series (a NumPy array, list or pandas Series; the index is ignored).
    window : int
        Number of past observations in each input sequence.
    horizon : int, default=1
        Number of future observations each window is asked to predict.
    step : int, default=1
        Distance between consecutive windows; the latest window is always kept.
    features : array-like of shape (n_obs, n_features), optional
        Extra input channels observed alongside the target (covariates). They are appended after
        the target channel over the input steps only.

    Returns
    -------
    X : numpy.ndarray of shape (n_windows, window, 1 + n_features), float64
        Input sequences; channel 0 is the target.
    y : numpy.ndarray of shape (n_windows, horizon), float64
        The ``horizon`` values following each input sequence.

    Raises
    ------
    ValueError
        If ``series`` is not one-dimensional, holds non-finite values, ``features`` has the wrong
        length, or the series is shorter than ``window + horizon``.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = make_windows(np.arange(6.0), window=3, horizon=2)
    >>> X.shape, y.shape
    ((2, 3, 1), (2, 2))
    >>> X[0, :, 0], y[0]
    (array([0., 1., 2.]), array([3., 4.]))
    """
    values = np.asarray(series, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"series must be one-dimensional, got shape {values.shape}")
    for name, value in (("window", window), ("horizon", horizon), ("step", step)):
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not np.isfinite(values).all():
        raise ValueError("series holds missing or infinite values; fill or drop them first")
    if values.size < window + horizon:
        raise ValueError(
            f"series has {values.size} observations, fewer than window + horizon = "
            f"{window + horizon}"
        )
    origins = window_origins(values.size, window, horizon, step)
    target = gather_windows(values, origins - window + 1, window)[:, :, None]
    y = gather_windows(values, origins + 1, horizon)
    if features is None:
        return target, y
    feats = np.asarray(features, dtype=np.float64)
    if feats.ndim == 1:
        feats = feats[:, None]
    if feats.ndim != 2 or feats.shape[0] != values.size:
        raise ValueError(
            f"features must have shape (n_obs, n_features) = ({values.size}, k), got {feats.shape}"
        )
    past = gather_windows(feats, origins - window + 1, window)
    return np.concatenate([target, past], axis=2), y
