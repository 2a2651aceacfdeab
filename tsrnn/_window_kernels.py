"""Numba kernel of the streaming window index (pure array functions, no Python objects).

:func:`sorted_origins` orders the windows of a panel by the time of their last target without
materialising a sort key per window: a stable counting sort over the ranks of the time
stamps. It is what :mod:`tsrnn.forecasting._stream` calls; see there for the meaning.
"""

import numba
import numpy as np


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
