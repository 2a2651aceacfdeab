"""Numba kernels of the streaming windows (pure array functions, no Python objects).

:func:`sorted_origins` orders the windows of a panel by the time of their last target without
materialising a sort key per window: a stable counting sort over the ranks of the time
stamps. :func:`gather_inputs` and :func:`gather_targets` fill a training batch from the
concatenated series, each window's normalisation computed on the way (one call per batch, no
per-window arrays); they find a window's series through :func:`series_locator`'s table (made
with NumPy, once per panel). They are what :mod:`tsrnn.forecasting._stream` calls; see there for the
meaning.
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


# numpy's pairwise summation (``add.reduce`` of a contiguous float64 run): eight partial sums
# up to blocks of this many values, halves beyond
_PAIRWISE_BLOCK = 128


@numba.njit(cache=True, nogil=True)
def _pairwise(a, lo, n):
    """The pairwise sum of ``a[lo:lo + n]``: ``pairwise_sum`` of numpy's ``loops_utils``."""
    if n < 8:
        res = -0.0
        for i in range(n):
            res += a[lo + i]
        return res
    if n <= _PAIRWISE_BLOCK:
        r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
        r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
        i = 8
        m = n - n % 8
        while i < m:
            r0 += a[lo + i]
            r1 += a[lo + i + 1]
            r2 += a[lo + i + 2]
            r3 += a[lo + i + 3]
            r4 += a[lo + i + 4]
            r5 += a[lo + i + 5]
            r6 += a[lo + i + 6]
            r7 += a[lo + i + 7]
            i += 8
        res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        while i < n:
            res += a[lo + i]
            i += 1
        return res
    half = n // 2
    half -= half % 8
    return _pairwise(a, lo, half) + _pairwise(a, lo + half, n - half)


@numba.njit(cache=True, nogil=True)
def pairwise_sum(a, lo, n):
    """``numpy.add.reduce(a[lo:lo + n])`` for float64 ``a``, bit for bit.

    numpy's own algorithm for a contiguous run: below 8 values a running sum from -0.0; up to
    :data:`_PAIRWISE_BLOCK` values eight interleaved partial sums, combined pairwise, then the
    remainder; beyond, the sums of two halves (the first a multiple of 8). The reduction adds
    that to its identity, 0.0 (so -0.0 values sum to 0.0, as in numpy).
    """
    return 0.0 + _pairwise(a, lo, n)


#: a series locator has one entry per ``2**LOCATOR_SHIFT`` points of the concatenated panel
LOCATOR_SHIFT = 8


def series_locator(offsets):
    """The series holding every ``2**LOCATOR_SHIFT``-th point: where :func:`_series_of` starts.

    Entry ``b`` is the last series ``s`` with ``offsets[s] <= b << LOCATOR_SHIFT`` (int64;
    8 bytes per 256 points). For the concatenated panel of :func:`gather_inputs`.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    firsts = np.arange(0, int(offsets[-1]), 1 << LOCATOR_SHIFT, dtype=np.int64)
    return np.searchsorted(offsets, firsts, side="right").astype(np.int64) - 1


@numba.njit(cache=True, nogil=True)
def _series_of(offsets, locator, point):
    """The series ``s`` with ``offsets[s] <= point < offsets[s + 1]``.

    From the series of the point's bucket (:func:`series_locator`), forward past the series
    that end before ``point``: a few steps where series are a few hundred points long,
    instead of a binary search over all of them.
    """
    s = locator[point >> LOCATOR_SHIFT]
    while offsets[s + 1] <= point:
        s += 1
    return s


@numba.njit(cache=True, nogil=True)
def _window_loc_scale(d, offsets, locator, series_loc, series_scale, window_mean, origin, window):
    """(loc, scale) of the window whose last input is ``d[origin]``.

    ``scale`` is its series' (the series holding point ``origin``: :func:`_series_of`, with
    the panel's :func:`series_locator`);
    ``loc`` the mean of the window's ``window`` inputs when ``window_mean``
    (``normalize='window'``: ``add.reduce(inputs) / window``, as numpy computes it), else its
    series' location.
    """
    s = _series_of(offsets, locator, origin)
    if window_mean:
        return pairwise_sum(d, origin - (window - 1), window) / window, series_scale[s]
    return series_loc[s], series_scale[s]


@numba.njit(cache=True, nogil=True)
def gather_inputs(
    d,
    past,
    future,
    future_rows,
    offsets,
    locator,
    series_loc,
    series_scale,
    window_mean,
    origins,
    window,
    extension,
    out,
):
    """Fill ``out`` (n, window + extension, n_features) with the network inputs of windows.

    Row ``i`` is the window whose last input is point ``origins[i]`` of the concatenated
    arrays (series ``s`` holds points ``offsets[s] .. offsets[s + 1] - 1``), so it reads the
    input steps ``origins[i] - window + 1 .. origins[i]``: channel 0 the target
    ``(d - loc) / scale`` (float64, then cast to ``out``'s dtype; ``loc`` and ``scale`` of
    :func:`_window_loc_scale`), then the past covariates, then (``extension > 0``) a flag
    that is 1 on the ``extension`` steps after the origin, then the known-future covariates
    over all ``window + extension`` steps; the target and past covariates are 0 on the
    extension steps. The layout of :func:`tsrnn.forecasting._windows.assemble_inputs`. With
    an empty ``future_rows`` the known-future features of point ``p`` are ``future[p]``;
    otherwise ``future`` is a table and they are ``future[future_rows[p]]`` (one row per time
    stamp).
    """
    n_past = past.shape[1]
    n_future = future.shape[1]
    flag = 1 if extension > 0 else 0
    f0 = 1 + n_past + flag
    steps = window + extension
    for i in range(origins.size):
        loc, scale = _window_loc_scale(
            d, offsets, locator, series_loc, series_scale, window_mean, origins[i], window
        )
        s = origins[i] - (window - 1)
        for t in range(window):
            out[i, t, 0] = (d[s + t] - loc) / scale
            for j in range(n_past):
                out[i, t, 1 + j] = past[s + t, j]
        for t in range(window, steps):
            for j in range(1 + n_past):
                out[i, t, j] = 0.0
        if flag:
            for t in range(steps):
                out[i, t, 1 + n_past] = 1.0 if t >= window else 0.0
        if future_rows.size:
            for t in range(steps):
                r = future_rows[s + t]
                for j in range(n_future):
                    out[i, t, f0 + j] = future[r, j]
        else:
            for t in range(steps):
                for j in range(n_future):
                    out[i, t, f0 + j] = future[s + t, j]


@numba.njit(cache=True, nogil=True)
def gather_targets(
    d, offsets, locator, series_loc, series_scale, window_mean, origins, window, length, repeat, out
):
    """Fill ``out`` (n, length * repeat) with the normalised targets of windows.

    Row ``i`` holds ``(d[origins[i] + 1 + k] - loc) / scale`` for ``k < length``, ``loc`` and
    ``scale`` those of the inputs (:func:`_window_loc_scale`), computed in float64 and cast to
    ``out``'s dtype; each step is written ``repeat`` times in a row (the column layout of
    quantile targets, ``numpy.repeat``).
    """
    for i in range(origins.size):
        loc, scale = _window_loc_scale(
            d, offsets, locator, series_loc, series_scale, window_mean, origins[i], window
        )
        for k in range(length):
            value = (d[origins[i] + 1 + k] - loc) / scale
            for r in range(repeat):
                out[i, k * repeat + r] = value
