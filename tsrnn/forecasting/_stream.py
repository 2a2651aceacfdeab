"""Streaming training windows: a panel's windows gathered batch by batch, never all at once.

The forecaster used to materialise every window of a panel (``split_windows`` and
``all_windows``, now the tests' reference in ``tests/_materialised.py``), an
``(n_windows, window + extension, n_features)`` float64 array (about 2.3 KB per window for a
monthly panel with calendar features: 37 GB for 100,000 series of 200 points). Here the
prepared series are kept once, concatenated (:class:`WindowSource`), with a compact index of
the windows: one integer per window, the position of its origin in the concatenated panel,
sorted by the time of its last target exactly as the materialised rows were sorted (stable).
:class:`StreamInputs` and :class:`StreamTargets` assemble the rows ``X[idx]``, ``Y[idx]`` (int
index arrays, slices) on demand, with the same normalisation and feature layout as
the materialised windows and :func:`assemble_inputs` -- the same float64 arithmetic (one
kernel call per batch; a window's mean summed as NumPy sums it), so a batch is bit-identical
to the same rows of the materialised arrays (cast to the model dtype). Memory: the data (the
concatenated series, float64) plus 4 bytes per window (8 for panels of 2**31 points or more)
plus one batch.

They are the *lazy row sets* that the estimators' private path
:meth:`~tsrnn.estimators._base.BaseRecurrent._fit_windows` takes: objects with ``shape``,
``ndim``, ``dtype``, ``__len__``, ``__getitem__`` (int index arrays and slices give arrays in
the model dtype) and ``astype(dtype)``; the targets also ``astype(dtype, repeat=Q)`` (each
column repeated for ``Q`` quantile levels) and ``column_moments()``. ``numpy.asarray`` of one
materialises it (the CUDA trainer, which uploads the whole training set once, is given the
materialised arrays).
"""

from __future__ import annotations

import numpy as np

from .._window_kernels import gather_inputs, gather_targets, series_locator, sorted_origins
from ._time import _ordinals
from ._windows import (
    CalibrationOrigins,
    WindowLayout,
    WindowSet,
    WindowSplit,
    holdout_counts,
    window_origins,
)

# rows per chunk when a whole row set is materialised or its target moments are computed
_CHUNK_ROWS = 65536
# series per chunk when the union of the time stamps is built
_UNION_CHUNK = 4096


def prepare_packed(panel, transform, covariates, dtype=np.float64) -> list:
    """:func:`~tsrnn.forecasting._windows.prepare`, every series written into one array per kind.

    Each series' ``d`` (float64) and ``past`` go straight into concatenated arrays (no
    per-series copies kept, no second copy when they are concatenated): the returned
    PreparedSeries hold views of them, which :class:`WindowSource` takes over. Without
    known-future covariates the ``future`` features are the calendar features, a function of
    the series' index alone: series sharing their index object (the panel interns one per
    span) share one array, so no array of one row per point is made (8 bytes a point for
    two float32 features); :class:`WindowSource` reads them from one row per time stamp.
    Known-future covariates are packed like ``past``. The covariates are stored in
    ``dtype``, the networks' dtype: they reach the networks only as inputs, cast to that
    dtype, so float32 storage changes no result (a float32 value cast to float64 and back is
    itself). The target ``d`` stays float64: the windows are normalised from it.

    Returns
    -------
    list of PreparedSeries
    """
    from ._windows import PreparedSeries

    series = panel.series
    offsets = np.zeros(len(series) + 1, dtype=np.int64)
    np.cumsum([len(s.y) for s in series], out=offsets[1:])
    n_total = int(offsets[-1])
    by_index = None if covariates.future_idx else {}  # id(index) -> (index, features)
    prepared, arrays = [], None
    for s, lo, hi in zip(series, offsets[:-1], offsets[1:]):
        stats, d = transform.fit_apply(s.y, s.uid)
        if by_index is not None and id(s.index) in by_index:
            past = covariates.transform(s.exog, s.index)[0]
            future = by_index[id(s.index)][1]
        else:
            past, future = covariates.transform(s.exog, s.index)
            if by_index is not None:  # the index is kept with its features: ids stay unique
                future = by_index.setdefault(id(s.index), (s.index, future.astype(dtype)))[1]
        if arrays is None:
            arrays = [
                np.empty(n_total, dtype=np.float64),
                np.empty((n_total, past.shape[1]), dtype=dtype),
            ]
            if by_index is None:
                arrays.append(np.empty((n_total, future.shape[1]), dtype=dtype))
        views = [a[lo:hi] for a in arrays]
        for view, value in zip(views, (d, past, future)):
            view[...] = value
        if by_index is not None:
            views.append(future)
        prepared.append(PreparedSeries(s, stats, *views))
    return prepared


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two arrays hold the same values bit for bit (0.0 and -0.0 differ, NaN match)."""
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class WindowSource:
    """The prepared series of a panel, concatenated once, and the time rank of every point.

    Parameters
    ----------
    prepared : list of PreparedSeries
        The panel after the transform and feature stages. When their arrays are consecutive
        views of one array per kind (:func:`prepare_packed`) those arrays are used as they
        are; otherwise the arrays are concatenated and the series' ``d``, ``past`` and
        ``future`` replaced by views of the concatenation (same values), so the data is held
        once.
    layout : WindowLayout
        Window shape and normalisation.
    kind : str
        The index kind, to order windows in time across series.
    """

    def __init__(self, prepared, layout: WindowLayout, kind: str):
        self.prepared = prepared
        self.layout = layout
        lengths = np.array([len(p.d) for p in prepared], dtype=np.int64)
        self.offsets = np.zeros(len(prepared) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.offsets[1:])
        self.locator = series_locator(self.offsets)  # where the gathers find a point's series
        self.d = self._concat("d")
        self.past = self._concat("past")
        self.loc = np.array([p.stats.loc for p in prepared], dtype=np.float64)
        self.scale = np.array([p.stats.scale for p in prepared], dtype=np.float64)
        self.ranks, self.n_bins = self._time_ranks(kind)
        # ``future_rows`` empty: ``future`` has a row per point; else ``future`` is a table
        # of one row per time stamp and ``future_rows`` the table row of every point
        self.future_rows = np.empty(0, dtype=np.int64)
        parts = [p.future for p in prepared]
        table = None if self._packed(parts) else self._table(parts)
        if table is None:
            self.future = self._concat("future")
        else:
            self.future, self.future_rows = table, self.ranks
        n_total = int(self.offsets[-1])
        self.pos_dtype = np.int32 if n_total < np.iinfo(np.int32).max else np.int64

    def _concat(self, name):
        parts = [getattr(p, name) for p in self.prepared]
        if self._packed(parts):
            return parts[0].base
        out = np.concatenate(parts)
        for p, lo, hi in zip(self.prepared, self.offsets[:-1], self.offsets[1:]):
            setattr(p, name, out[lo:hi])  # the data held once: a view of the concatenation
        return out

    def _packed(self, parts) -> bool:
        """Whether ``parts`` are the consecutive row blocks of one C-contiguous array."""
        base = parts[0].base
        if not isinstance(base, np.ndarray) or not base.flags.c_contiguous:
            return False
        if base.shape[0] != self.offsets[-1] or base.shape[1:] != parts[0].shape[1:]:
            return False
        row = base.strides[0]
        start = base.__array_interface__["data"][0]
        return base.size == 0 or all(
            a.base is base
            and len(a) == hi - lo
            and a.__array_interface__["data"][0] == start + int(lo) * row
            for a, lo, hi in zip(parts, self.offsets[:-1], self.offsets[1:])
        )

    def _time_ranks(self, kind):
        """int32 rank of every point's time stamp among all the panel's time stamps."""
        union = np.empty(0, dtype=np.int64)
        prepared = self.prepared
        for first in range(0, len(prepared), _UNION_CHUNK):
            chunk = prepared[first : first + _UNION_CHUNK]
            stamps = np.concatenate([_ordinals(p.series.index, kind) for p in chunk])
            union = np.union1d(union, stamps)
        small = len(union) <= np.iinfo(np.uint16).max
        ranks = np.empty(int(self.offsets[-1]), dtype=np.uint16 if small else np.int32)
        for p, lo, hi in zip(prepared, self.offsets[:-1], self.offsets[1:]):
            ranks[lo:hi] = np.searchsorted(union, _ordinals(p.series.index, kind))
        return ranks, len(union)

    def _table(self, parts):
        """The features ``parts`` as one row per time stamp, or None if they are not that.

        Built when the series' arrays are not one packed array (:func:`prepare_packed` shares
        the calendar features of series with the same index): read through each point's time
        rank, every point must find its own features, bit for bit (checked), else None.
        """
        if not parts or parts[0].shape[1] == 0:
            return None
        table = np.zeros((self.n_bins, parts[0].shape[1]), dtype=parts[0].dtype)
        bounds = list(zip(self.offsets[:-1], self.offsets[1:]))
        for part, (lo, hi) in zip(parts, bounds):
            table[self.ranks[lo:hi]] = part
        for part, (lo, hi) in zip(parts, bounds):
            if not _same_bits(table[self.ranks[lo:hi]], part):
                return None
        return table

    def compact_future(self) -> bool:
        """Keep the known-future features as one row per time stamp; drop the series' views.

        For features that depend on the time stamp only (the calendar features, with no
        known-future covariate of ``X``: the caller knows), a per-point array becomes a table
        of one row per distinct time stamp, read through the time rank of each point; the
        batches are bit-identical. Checked: if any two points of the same time stamp differ,
        nothing changes (False). The series' ``future`` arrays are dropped (set to None): call
        this after the last use of the prepared series' ``future`` (the calibration). True when
        the features are (already) a table.
        """
        fut = self.future
        if fut.shape[1] == 0 or len(fut) == 0:
            return False
        if not self.future_rows.size:
            bounds = zip(self.offsets[:-1], self.offsets[1:])
            table = self._table([fut[lo:hi] for lo, hi in bounds])
            if table is None:
                return False
            self.future, self.future_rows = table, self.ranks
        for p in self.prepared:
            p.future = None
        return True

    def windows(self, lo, hi, dtype=np.float64):
        """The row set of the windows with origins ``lo[s] .. hi[s]`` of every series ``s``.

        Sorted by the time of the last target (stable: series order, then origin), as
        the materialised rows were; None when there are no windows.
        """
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        n = int(np.maximum(hi - lo + 1, 0).sum())
        if n == 0:
            return None
        pos = np.empty(n, dtype=self.pos_dtype)
        sorted_origins(self.offsets, lo, hi, self.ranks, self.n_bins, self.layout.out_len, pos)
        return WindowSet(StreamInputs(self, pos, dtype), StreamTargets(self, pos, dtype))

    def all_windows(self) -> WindowSet:
        """Every training window of every series."""
        L, H = self.layout.window, self.layout.out_len
        lengths = np.diff(self.offsets)
        return self.windows(np.full(len(lengths), L - 1), lengths - 1 - H)

    def split_windows(self, validation_fraction: float, early_stopping: bool) -> WindowSplit:
        """The stage-1 split: training and held-out windows, and the calibration origins.

        The latest ``ceil(validation_fraction * n)`` forecast origins of every series are
        held out (:func:`holdout_counts`); training windows whose targets overlap the held-out
        period are dropped, so the held-out residuals are honest.
        """
        if validation_fraction == 0:
            return WindowSplit(None, None, [])
        layout = self.layout
        L, H, Hc = layout.window, layout.out_len, layout.horizon
        ks = holdout_counts(self.prepared, layout, validation_fraction)
        S = len(self.prepared)
        bounds = {key: (np.zeros(S, np.int64), np.full(S, -1, np.int64)) for key in ("t", "v")}
        calib = []
        for pos, p in enumerate(self.prepared):
            n = len(p.d)
            origins = window_origins(n, L, H)
            cal_origins = window_origins(n, L, Hc)
            first_val = cal_origins[-ks[pos]]
            calib.append(CalibrationOrigins(pos, cal_origins[-ks[pos] :]))
            for key, o in (
                ("t", origins[origins + H <= first_val]),
                ("v", origins[origins >= first_val]),
            ):
                if len(o):
                    bounds[key][0][pos], bounds[key][1][pos] = o[0], o[-1]
        n_train = int((bounds["t"][1] - bounds["t"][0] + 1).clip(0).sum())
        if n_train < 2 and not early_stopping:
            return WindowSplit(None, None, [])
        if n_train == 0:
            if early_stopping:
                raise ValueError(
                    "the series are too short to hold out their latest windows for early "
                    f"stopping (window={L}, horizon={Hc}); use a shorter window, or set "
                    "early_stopping=False and validation_fraction=0"
                )
            return WindowSplit(None, None, [])  # pragma: no cover (n_train < 2 above)
        return WindowSplit(self.windows(*bounds["t"]), self.windows(*bounds["v"]), calib)

    # -- batches --

    def _norm_args(self):
        """The arguments of the gather kernels that locate and normalise each window."""
        window_mean = self.layout.transform.normalize == "window"
        return self.offsets, self.locator, self.loc, self.scale, window_mean

    def inputs(self, pos, dtype=np.float64) -> np.ndarray:
        """Network inputs of the windows at ``pos`` in ``dtype``.

        The float64 values of :func:`assemble_inputs` (the target channel computed in float64,
        the window's location as ``SeriesTransform.window_loc`` computes it), cast to
        ``dtype``; one kernel call (:func:`tsrnn._window_kernels.gather_inputs`).
        """
        L, E = self.layout.window, self.layout.extension
        origins = np.asarray(pos, dtype=np.int64)
        n_features = 1 + self.past.shape[1] + (1 if E else 0) + self.future.shape[1]
        out = np.empty((len(origins), L + E, n_features), dtype=dtype)
        gather_inputs(
            self.d, self.past, self.future, self.future_rows, *self._norm_args(), origins, L, E, out
        )
        return out

    def targets(self, pos, dtype=np.float64, repeat=1) -> np.ndarray:
        """Normalised targets of the windows at ``pos`` in ``dtype``.

        float64 values, then cast; each column repeated ``repeat`` times (quantile levels).
        """
        H = self.layout.out_len
        origins = np.asarray(pos, dtype=np.int64)
        out = np.empty((len(origins), H * repeat), dtype=dtype)
        gather_targets(self.d, *self._norm_args(), origins, self.layout.window, H, repeat, out)
        return out

    def nbytes(self) -> int:
        """Bytes of the arrays the source holds (the data, the ranks, the per-series numbers)."""
        arrays = (self.d, self.past, self.future, self.loc, self.scale, self.offsets, self.ranks)
        arrays += (self.locator,)
        return int(sum(a.nbytes for a in arrays))


class _Rows:
    """A lazy row set: the windows at the positions ``pos`` of a :class:`WindowSource`."""

    ndim = None

    def __init__(self, source: WindowSource, pos: np.ndarray, dtype=np.float64):
        self.source = source
        self.pos = pos
        self.dtype = np.dtype(dtype)

    def __len__(self) -> int:
        return len(self.pos)

    def _rows(self, pos) -> np.ndarray:  # the rows at pos, in self.dtype
        raise NotImplementedError

    def __getitem__(self, key):
        if isinstance(key, tuple) or (isinstance(key, np.ndarray) and key.dtype == bool):
            raise TypeError(
                f"{type(self).__name__} takes an int, int index array or slice of rows, got {key!r}"
            )
        pos = self.pos[key]
        if np.ndim(pos) == 0:
            return self._rows(np.array([pos]))[0]
        return self._rows(pos)

    def __array__(self, dtype=None, copy=None):
        if copy is False:
            raise ValueError(f"a {type(self).__name__} cannot be viewed as an array without a copy")
        out = np.empty(self.shape, dtype=self.dtype)
        for lo in range(0, len(self), _CHUNK_ROWS):
            out[lo : lo + _CHUNK_ROWS] = self[lo : lo + _CHUNK_ROWS]
        return out if dtype is None else out.astype(dtype, copy=False)

    @property
    def nbytes(self) -> int:
        """Bytes of the row set's own index (the source's data is shared)."""
        return int(self.pos.nbytes)


class StreamInputs(_Rows):
    """Lazy network inputs ``X`` of shape (n, window + extension, n_features)."""

    ndim = 3

    @property
    def shape(self):
        layout = self.source.layout
        n_features = (
            1
            + self.source.past.shape[1]
            + (1 if layout.extension else 0)
            + self.source.future.shape[1]
        )
        return (len(self.pos), layout.window + layout.extension, n_features)

    def _rows(self, pos):
        return self.source.inputs(pos, self.dtype)

    def astype(self, dtype):
        """The same rows in ``dtype`` (the network's), still lazy."""
        return StreamInputs(self.source, self.pos, dtype)


class StreamTargets(_Rows):
    """Lazy normalised targets ``Y`` of shape (n, out_len) (or (n, out_len * Q) repeated)."""

    ndim = 2

    def __init__(self, source, pos, dtype=np.float64, repeat=1):
        super().__init__(source, pos, dtype)
        self.repeat = int(repeat)

    @property
    def shape(self):
        return (len(self.pos), self.source.layout.out_len * self.repeat)

    def _rows(self, pos):
        return self.source.targets(pos, self.dtype, self.repeat)

    def astype(self, dtype, repeat=1):
        """The rows in ``dtype``, each column repeated ``repeat`` times, still lazy."""
        return StreamTargets(self.source, self.pos, dtype, repeat * self.repeat)

    def column_moments(self):
        """Mean and (population) standard deviation of every column, in float64, by chunks."""
        n, total = len(self), np.zeros(self.shape[1])
        for lo in range(0, n, _CHUNK_ROWS):
            total += self[lo : lo + _CHUNK_ROWS].astype(np.float64).sum(axis=0)
        mean = total / n
        squares = np.zeros(self.shape[1])
        for lo in range(0, n, _CHUNK_ROWS):
            squares += ((self[lo : lo + _CHUNK_ROWS].astype(np.float64) - mean) ** 2).sum(axis=0)
        return mean, np.sqrt(squares / n)
