"""Numba kernel of the streaming window index (pure array functions, no Python objects).

:func:`sorted_origins` orders the windows of a panel by the time of their last target without
materialising a sort key per window: a stable counting sort over the ranks of the time
stamps. It is what :mod:`tsrnn.forecasting._stream` calls; see there for the meaning.
"""

import numba
import numpy as np

from . import _cache  # noqa: F401  (chooses the cache directory before any cache=True)


@numba.njit(cache=True, nogil=True)
def sorted_origins(offsets, lo, hi, ranks, n_bins, shift, out):
    """Write the global origin positions of every window into ``out``, sorted by end rank.

    Series ``s`` occupies positions ``offsets[s]:offsets[s + 1]`` of the concatenated panel;
    its windows have the origins ``lo[s] .. hi[s]`` (inclusive, none when ``lo[s] > hi[s]``),
    and the window with origin ``o`` ends at position ``offsets[s] + o + shift``, whose time
    rank is ``ranks[...]`` (``0 <= rank < n_bins``). The order is that of a stable sort by end
    rank of the windows listed series by series, origins increasing -- the order of
    ``numpy.argsort(ends, kind='stable')`` over that list. ``out`` (int32 or int64) must hold
    ``sum(hi - lo + 1)`` entries; it receives ``offsets[s] + o``.
    """
    counts = np.zeros(n_bins + 1, dtype=np.int64)
    for s in range(lo.size):
        base = offsets[s] + shift
        for o in range(lo[s], hi[s] + 1):
            counts[ranks[base + o] + 1] += 1
    for b in range(n_bins):
        counts[b + 1] += counts[b]
    for s in range(lo.size):
        base = offsets[s]
        for o in range(lo[s], hi[s] + 1):
            r = ranks[base + shift + o]
            out[counts[r]] = base + o
            counts[r] += 1


@numba.njit(cache=True, nogil=True)
def gather_inputs(d, past, future, future_rows, starts, loc, scale, window, extension, out):
    """Fill ``out`` (n, window + extension, n_features) with the network inputs of windows.

    Row ``i`` reads the input steps ``starts[i] .. starts[i] + window - 1`` of the
    concatenated arrays: channel 0 the target ``(d - loc[i]) / scale[i]`` (float64, then
    cast to ``out``'s dtype), then the past covariates, then (``extension > 0``) a flag that
    is 1 on the ``extension`` steps after the origin, then the known-future covariates over
    all ``window + extension`` steps; the target and past covariates are 0 on the extension
    steps. The layout of :func:`tsrnn.forecasting._windows.assemble_inputs`. With an empty
    ``future_rows`` the known-future features of point ``p`` are ``future[p]``; otherwise
    ``future`` is a table and they are ``future[future_rows[p]]`` (one row per time stamp).
    """
    n_past = past.shape[1]
    n_future = future.shape[1]
    flag = 1 if extension > 0 else 0
    f0 = 1 + n_past + flag
    for i in range(starts.size):
        s = starts[i]
        for t in range(window + extension):
            row = out[i, t]
            row[:] = 0.0
            if t < window:
                row[0] = (d[s + t] - loc[i]) / scale[i]
                for j in range(n_past):
                    row[1 + j] = past[s + t, j]
            elif flag:
                row[1 + n_past] = 1.0
            r = s + t
            if future_rows.size:
                r = future_rows[r]
            for j in range(n_future):
                row[f0 + j] = future[r, j]


@numba.njit(cache=True, nogil=True)
def gather_targets(d, first, loc, scale, length, repeat, out):
    """Fill ``out`` (n, length * repeat) with ``(d[first[i] + k] - loc[i]) / scale[i]``.

    Computed in float64 and cast to ``out``'s dtype; each of the ``length`` steps is written
    ``repeat`` times in a row (the column layout of quantile targets, ``numpy.repeat``).
    """
    for i in range(first.size):
        for k in range(length):
            value = (d[first[i] + k] - loc[i]) / scale[i]
            for r in range(repeat):
                out[i, k * repeat + r] = value
