"""Stage 2 of the data flow: the input (a Series or a long DataFrame, and covariates) as a panel.

:func:`parse_panel` validates ``y`` (and ``X``) into a :class:`_Panel` of regular series: every
series on the complete grid of its frequency, values as float64, gaps either reported (with the
series' ``unique_id`` and the timestamps) or filled by ``fill_method``. :func:`future_exog`
does the same for the known-future covariates of the forecast period.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ._time import (
    _check_order,
    _fmt,
    _future_index,
    _grid,
    _index_kind,
    _infer_freq,
    _ordinals,
    series_name,
)

_LONG_COLUMNS = ("unique_id", "ds", "y")
_PANDAS_MAJOR = int(pd.__version__.split(".")[0])
_FILL_METHODS = (None, "ffill", "interpolate", "zero")


@dataclass
class _Series:
    """One regular series: its index, target values and covariates on that index."""

    uid: object
    index: pd.Index
    y: np.ndarray
    exog: np.ndarray  # (n_obs, n_exog), raw covariate values


@dataclass
class _Panel:
    """Validated input: the series, their common index kind and frequency."""

    series: list
    kind: str
    freq: object
    input_type: str  # 'series' or 'long'
    name: object = None
    index_name: object = None
    exog_columns: list = field(default_factory=list)

    def by_id(self):
        """The series by ``unique_id``."""
        return {s.uid: s for s in self.series}

    def subset(self, uids) -> _Panel:
        """The panel of the series whose ``unique_id`` is in ``uids``, in panel order."""
        keep = set(uids)
        return replace(self, series=[s for s in self.series if s.uid in keep])


def _fill(values: np.ndarray, method: str) -> np.ndarray:
    """Fill NaNs in a 1-D or 2-D (time first) array with ``method``."""
    frame = pd.DataFrame(values.reshape(len(values), -1))
    if method == "ffill":
        frame = frame.ffill().bfill()
    elif method == "interpolate":
        frame = frame.interpolate(method="linear", limit_direction="both")
    else:  # zero
        frame = frame.fillna(0.0)
    return frame.to_numpy(dtype=np.float64).reshape(values.shape)


def _split_target(y):
    """``(raw, input_type, name, index_name)``: ``raw`` yields (uid, index, values) per series."""
    if isinstance(y, pd.Series):
        if len(y) == 0:
            raise ValueError("y is empty")
        uid = y.name if y.name is not None else "y"
        return [(uid, y.index, y, None)], "series", y.name, y.index.name
    if isinstance(y, pd.DataFrame):
        missing = [c for c in _LONG_COLUMNS if c not in y.columns]
        if missing:
            raise ValueError(
                f"y is missing column(s) {missing}; a DataFrame y must be in long format "
                f"with columns {list(_LONG_COLUMNS)} (one row per series and timestamp)"
            )
        extra = [c for c in y.columns if c not in _LONG_COLUMNS]
        if extra:
            raise ValueError(
                f"y has unexpected column(s) {extra}; pass exogenous data as X (a long "
                "DataFrame with unique_id, ds and the covariate columns)"
            )
        if len(y) == 0:
            raise ValueError("y is empty")
        return _long_groups(y), "long", None, "ds"
    raise TypeError(
        "y must be a pandas Series (one series) or a long DataFrame with columns "
        f"unique_id, ds, y; got {type(y).__name__}"
    )


def _series_codes(ids: pd.Series):
    """``(codes, uniques, None)`` of the ``unique_id`` column, or ``(None, uniques, starts)``.

    The second form when every series' rows are consecutive (``starts``: the first row of
    each series, in order): the column is compared with itself shifted by one row and only
    the first id of each run is hashed, so no hash table of one entry per row is built
    (``pandas.factorize`` sizes it by the row count: about 65 bytes a row, 1.3 GB for 20 M
    rows, while the series are parsed).
    """
    arrow = isinstance(ids.dtype, pd.StringDtype) and ids.dtype.storage == "pyarrow"
    if not arrow and len(ids) and not ids.isna().any():
        arr = ids.to_numpy()
        change = np.empty(len(arr), dtype=bool)
        change[0] = True
        np.not_equal(arr[1:], arr[:-1], out=change[1:])
        starts = np.flatnonzero(change)
        del change
        run_codes, uniques = pd.factorize(ids.iloc[starts], sort=False)
        if len(uniques) == len(starts):
            return None, uniques, starts
        lengths = np.diff(np.append(starts, len(arr)))
        return np.repeat(run_codes, lengths), uniques, None
    codes, uniques = pd.factorize(ids, sort=False)
    return codes, uniques, None


def _long_groups(y: pd.DataFrame):
    """``(uid, ds index, y values, rows)`` of every series of a long frame, one at a time.

    The series in order of first appearance, rows with a missing ``unique_id`` dropped (as
    ``groupby("unique_id", sort=False)``) with a warning that says which. Rows of one series
    that are consecutive (a frame sorted or grouped by series) are sliced from the ``ds`` and
    ``y`` columns without a copy; otherwise only those two columns are reordered once. Iterating
    a groupby made a sorted copy of the whole frame (its ``unique_id`` strings included): as
    much memory again as the data while the series were parsed. ``rows`` is the ``(first, end)``
    row span of a series sliced as it is, else None.
    """
    codes, uniques, starts = _series_codes(y["unique_id"])
    ds, values = y["ds"].array, y["y"].array
    if codes is None:  # every series' rows consecutive: sliced as they are
        ends = np.append(starts[1:], len(y))
        for k, (lo, hi) in enumerate(zip(starts, ends)):
            index = pd.Index(ds[lo:hi].to_numpy(), name="ds")
            yield uniques[k], index, pd.Series(values[lo:hi], copy=False), (int(lo), int(hi))
        return
    keep = codes >= 0
    all_kept = bool(keep.all())
    if not all_kept:
        dropped = y.index[~keep]
        warnings.warn(
            f"y: {len(dropped)} row(s) with a missing unique_id were left out (index "
            f"{dropped[:5].tolist()}{' ...' if len(dropped) > 5 else ''}); give them their "
            "series' id, or drop them first to silence this warning",
            UserWarning,
            stacklevel=4,
        )
    if not all_kept or (len(codes) > 1 and (np.diff(codes) < 0).any()):
        order = np.argsort(np.where(keep, codes, len(uniques)), kind="stable")
        order = order[: int(keep.sum())]
        codes = codes[order]
        ds, values = ds.take(order), values.take(order)
        del order
    del keep
    bounds = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate([[0], bounds]).astype(np.int64)
    ends = np.concatenate([bounds, [len(codes)]]).astype(np.int64)
    del codes, bounds
    for k, (lo, hi) in enumerate(zip(starts, ends)):
        index = pd.Index(ds[lo:hi].to_numpy(), name="ds")
        yield uniques[k], index, pd.Series(values[lo:hi], copy=False), None


class _Owned:
    """An array's memory with the pandas object that owns it (``numpy.asarray`` of it views it).

    The arrays made from it keep it, and so the pandas column, alive as their ``base``: while
    any view of the data lives, pandas' copy-on-write sees a reference to the column and copies
    it before a write to the user's frame, so the views never change.
    """

    def __init__(self, arr: np.ndarray, owner):
        self.__array_interface__ = arr.__array_interface__
        self._arr, self._owner = arr, owner


def _root(arr: np.ndarray) -> np.ndarray:
    while isinstance(arr.base, np.ndarray):
        arr = arr.base
    return arr


def _shared_column(y) -> np.ndarray | None:
    """A read-only view of the long frame's ``y`` column that keeps the column alive, or None.

    Shared (no copy) only with pandas' copy-on-write (pandas 3, where it is always on): a
    later write to the user's frame then copies the column instead of changing the fitted
    forecaster's history. Not shared (None) with pandas 2, for a column that is not float64,
    or for one that is a slice of a larger block (keeping it would keep the whole block).
    """
    if not isinstance(y, pd.DataFrame) or _PANDAS_MAJOR < 3:
        return None
    column = y["y"]
    if column.dtype != np.float64:
        return None
    arr = column.to_numpy()
    if arr.ndim != 1 or not arr.flags.c_contiguous or _root(arr).nbytes != arr.nbytes:
        return None
    out = np.asarray(_Owned(arr, column))
    out.flags.writeable = False
    return out


def _exog_frames(X, input_type, first_uid, what):
    """Per-series covariate frames indexed by time, from a Series-style or long ``X``."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(X).__name__}")
    if input_type == "series":
        return list(X.columns), {first_uid: X}
    missing = [c for c in ("unique_id", "ds") if c not in X.columns]
    if missing:
        if what == "X":
            raise ValueError(
                f"X is missing column(s) {missing}; with long-format y, X must be a long "
                "DataFrame with columns unique_id, ds and the covariates"
            )
        raise ValueError(f"{what} is missing column(s) {missing}")
    cols = [c for c in X.columns if c not in ("unique_id", "ds")]
    frames = {
        uid: g.drop(columns=["unique_id"]).set_index("ds")
        for uid, g in X.groupby("unique_id", sort=False)
    }
    return cols, frames


def _parse_exog(X, input_type, raw):
    """Split ``X`` into per-series covariate frames indexed by time."""
    if X is None:
        return [], {}
    cols, frames = _exog_frames(X, input_type, raw[0][0], "X")
    if not cols:
        raise ValueError("X has no covariate columns")
    for col in cols:
        dtype = X[col].dtype
        if not (pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)):
            raise ValueError(f"X column {col!r} must be numeric, got dtype {dtype}")
    return [str(c) for c in cols], frames


def _align_exog(frame, grid, cols, uid, what, fill_method) -> np.ndarray:
    """Covariates of one series reindexed on ``grid``; raise on gaps unless filling."""
    if frame is None:
        raise ValueError(f"series {series_name(uid)}: {what} has no rows for this series")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing covariate column(s) {missing}")
    idx = pd.Index(frame.index)
    _check_order(idx, uid, what)
    values = frame[cols].astype(np.float64)
    values.index = idx
    try:
        out = values.reindex(grid).to_numpy(dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"series {series_name(uid)}: {what} timestamps cannot be matched with the series' "
            f"timestamps ({exc})"
        ) from None
    if np.isnan(out).any():
        rows = np.isnan(out).any(axis=1)
        if fill_method is None or what == "X_future":
            bad_cols = [c for c, m in zip(cols, np.isnan(out).any(axis=0)) if m]
            raise ValueError(
                f"series {series_name(uid)}: {what} does not cover {int(rows.sum())} timestamp(s) "
                f"{_fmt(grid[rows])} in column(s) {bad_cols} (rows absent or NaN)"
            )
        out = _fill(out, fill_method)
    return out


def _complete(index, kind, f, name):
    """A copy of ``index`` if it is the whole grid from its first to its last stamp, else None.

    ``pandas.date_range`` builds grids of calendar offsets (month, quarter, year starts and
    ends, business days) one time stamp at a time in Python: about 4 ms for 200 months, ten
    minutes for 100,000 series of different spans. A naive datetime index whose first stamp
    is on the offset and whose every next stamp is the previous one plus the offset (one
    vectorised addition) is that grid, the same stamps (it carries no ``freq`` attribute).
    Only offsets that are not fixed durations: those ``date_range`` builds vectorised.
    """
    if (
        kind != "datetime"
        or len(index) < 2
        or isinstance(f, pd.offsets.Tick)
        or index.tz is not None
        or not f.is_on_offset(index[0])
    ):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", pd.errors.PerformanceWarning)  # applied one by one
        following = index[:-1] + f
    if not np.array_equal(following.asi8, index[1:].asi8):
        return None
    return pd.DatetimeIndex(index.asi8.copy().view(index.dtype), name=name)


def _regular_values(uid, index, values, kind, f, index_name, fill_method, grids=None):
    """The grid of one series, its values on it (gaps filled or reported), and if they are its own.

    ``grids`` (a dict) interns the grids: series with the same first and last time stamp get
    the same (immutable) index object, built once. The third item is True when the values
    are the series' values as they are (already on the grid, nothing filled).
    """
    key = (kind, str(index.dtype), index[0], index[-1], f, index_name)  # dtype: unit, tz
    grid = None if grids is None else grids.get(key)
    if grid is None:
        grid = _complete(index, kind, f, index_name)
        if grid is None:
            grid = _grid(index[0], index[-1], kind, f, name=index_name)
        if grids is not None:
            grids[key] = grid
    if len(grid) == len(index):
        aligned = grid.equals(index) or np.array_equal(
            _ordinals(grid, kind), _ordinals(index, kind)
        )
    else:
        aligned = False
    if not aligned:
        off_grid = index.difference(grid)
        if len(off_grid):
            raise ValueError(
                f"series {series_name(uid)}: timestamps {_fmt(off_grid)} do not fall on the "
                f"{f} grid starting at {index[0]}; pass the right freq="
            )
    arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
    if not aligned:
        arr = pd.Series(arr, index=index).reindex(grid).to_numpy(dtype=np.float64)
    if np.isinf(arr).any():
        raise ValueError(
            f"series {series_name(uid)}: infinite values at {_fmt(grid[np.isinf(arr)])}"
        )
    if np.isnan(arr).any():
        if fill_method is None:
            bad = grid[np.isnan(arr)]
            raise ValueError(
                f"series {series_name(uid)}: {len(bad)} missing value(s) (NaN, or timestamps "
                f"missing from the regular grid) at {_fmt(bad)}; fill them, or pass "
                "fill_method='ffill', 'interpolate' or 'zero'"
            )
        if np.isnan(arr).all():
            raise ValueError(f"series {series_name(uid)}: all values are missing")
        return grid, _fill(arr, fill_method), False
    return grid, arr, aligned


def parse_panel(y, X=None, *, freq=None, kind=None, fill_method=None) -> _Panel:
    """Validate ``y`` (and ``X``) into a :class:`_Panel` of regular series.

    Parameters
    ----------
    y : pandas.Series or pandas.DataFrame
        One series, or a long DataFrame with columns ``unique_id``, ``ds``, ``y``.
    X : pandas.DataFrame, optional
        Covariates covering every timestamp of ``y`` (indexed like ``y``, or long).
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None infers it from each series' index.
    kind : {'period', 'datetime', 'int'} or None, default=None
        The index kind the series must have (that of the fitted data), or None for any.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        How gaps are filled; None reports them as an error.

    Returns
    -------
    _Panel
        The regular series, their index kind, frequency and the input format.
    """
    raw, input_type, name, index_name = _split_target(y)
    raw = iter(raw)  # the series one at a time
    first = next(raw, None)
    raw = itertools.chain([first] if first is not None else [], raw)
    exog_cols, exog_by_id = _parse_exog(X, input_type, [first] if first is not None else [])
    series, kinds, freqs = [], set(), []
    # one index object per distinct (first, last) span: a panel whose series share their
    # spans (e.g. all end on the same date) keeps a few grids, not one per series
    grids = {}
    inferred = {}  # (dtype, first, last, length) -> (complete grid, its inferred frequency)
    # the values (and covariates) of all series in one array each, the series hold views:
    # no per-series allocation kept (grown when filled gaps add points). The values are the
    # frame's own y column (no copy) while every series is its rows as they are
    shared = _shared_column(y) if input_type == "long" else None
    values_all = None  # a copy, from the first series that is not its rows as they are
    exog_parts, spans = [], []
    for uid, index, values, rows in raw:
        k = _index_kind(index)
        if kind is not None and k != kind:
            raise ValueError(
                f"series {series_name(uid)}: its index is {k} but the forecaster was fitted "
                f"on {kind} timestamps"
            )
        kinds.add(k)
        if not pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(
            values.dtype
        ):
            raise ValueError(
                f"series {series_name(uid)}: values must be numeric, got dtype {values.dtype}"
            )
        _check_order(index, uid, "y")
        # pandas.infer_freq costs about 0.4 ms a series: a series whose time stamps are those
        # of an earlier series' complete grid (checked, not assumed) takes its frequency
        key = None
        if k == "datetime" and freq is None and index.freq is None and len(index) >= 3:
            key = (str(index.dtype), index[0], index[-1], len(index))
        known = inferred.get(key) if key is not None else None
        if known is not None and known[0].equals(index):
            f = known[1]
        else:
            f = _infer_freq(index, k, freq, uid)
        freqs.append((uid, f))
        grid, arr, verbatim = _regular_values(
            uid, index, values, k, f, index_name, fill_method, grids
        )
        if key is not None and known is None and len(grid) == len(index) and grid.equals(index):
            inferred[key] = (grid, f)
        lo = spans[-1][1] if spans else 0
        hi = lo + len(arr)
        if values_all is None and not (shared is not None and verbatim and rows == (lo, hi)):
            values_all = np.empty(max(len(y), hi), dtype=np.float64)
            if shared is not None:  # the series so far are the column's rows 0:lo
                values_all[:lo] = shared[:lo]
        if values_all is not None:
            if hi > len(values_all):  # filled gaps: more points than rows
                grown = np.empty(max(hi, 2 * len(values_all)), dtype=np.float64)
                grown[:lo] = values_all[:lo]
                values_all = grown
            values_all[lo:hi] = arr
        spans.append((lo, hi))
        if exog_cols:
            exog_parts.append(
                _align_exog(exog_by_id.get(uid), grid, exog_cols, uid, "X", fill_method)
            )
        series.append(_Series(uid, grid, None, None))
    n_total = spans[-1][1] if spans else 0
    if values_all is None:  # every series is its rows of the column: shared, no copy
        values_all = shared[:n_total] if shared is not None else np.empty(0)
    elif n_total < len(values_all):
        values_all = values_all[:n_total].copy()
    if exog_cols:
        exog_all = np.concatenate(exog_parts)
        del exog_parts
    else:
        exog_all = np.zeros((n_total, 0), dtype=np.float64)
    for s, (lo, hi) in zip(series, spans):
        s.y, s.exog = values_all[lo:hi], exog_all[lo:hi]
    if len(kinds) > 1:
        raise ValueError(f"all series must use the same kind of timestamps, got {sorted(kinds)}")
    freq_ = freqs[0][1]
    for uid, f in freqs[1:]:
        if f != freq_:
            raise ValueError(
                f"series {series_name(uid)} has frequency {f} but series "
                f"{series_name(freqs[0][0])} has {freq_}; "
                "all series must share one frequency (pass freq= to choose it)"
            )
    return _Panel(series, kinds.pop(), freq_, input_type, name, index_name, exog_cols)


def future_exog(X_future, panel: _Panel, freq, h: int, columns) -> dict:
    """The covariates ``columns`` of every series over its next ``h`` timestamps.

    Parameters
    ----------
    X_future : pandas.DataFrame
        Indexed by the future timestamps (Series input) or long (``unique_id``, ``ds``, ...).
    panel : _Panel
        The history the forecasts start from.
    freq : pandas offset or int
        The fitted frequency.
    h : int
        Number of future steps that must be covered.
    columns : list of str
        The covariate columns to read.

    Returns
    -------
    dict
        ``{unique_id: array of shape (h, len(columns))}``.
    """
    _, frames = _exog_frames(X_future, panel.input_type, panel.series[0].uid, "X_future")
    out = {}
    for s in panel.series:
        grid = _future_index(s.index[-1], h, panel.kind, freq)
        frame = frames.get(s.uid)
        if frame is None:
            raise ValueError(f"series {series_name(s.uid)}: X_future has no rows for this series")
        out[s.uid] = _align_exog(frame, grid, columns, s.uid, "X_future", None)
    return out
