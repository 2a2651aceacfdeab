"""Stage 1 of the data flow: time indexes and frequencies.

What a series' timestamps say: the kind of index (period, datetime or integer), its frequency,
the seasonal period that frequency implies, the regular grid between two timestamps and the
timestamps that follow the last one. Pure pandas, no network.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

_SHOW = 5  # how many offending timestamps an error message lists

# Seasonal period and calendar features by pandas offset class. Calendar features are
# (attribute, period) pairs encoded as sin/cos of 2*pi*value/period.
_OFFSET_TABLE = {
    "Year": (1, ()),
    "Quarter": (4, (("quarter", 4),)),
    "Month": (12, (("month", 12),)),
    "Week": (52, (("week", 52),)),
    "BusinessDay": (5, (("day_of_week", 7),)),
    "Day": (7, (("day_of_week", 7), ("day_of_year", 365.25))),
    "Hour": (24, (("hour", 24), ("day_of_week", 7))),
    "Minute": (60, (("minute", 60), ("hour", 24))),
    "Second": (60, (("second", 60), ("minute", 60))),
}


def _offset_family(freq) -> str | None:
    """Name the calendar family of a pandas offset ('Month', 'Day', ...) or None."""
    name = type(freq).__name__
    if name.startswith(("BusinessMonth", "SemiMonth")):
        return "Month"
    for family in ("Year", "Quarter", "Month", "Week", "BusinessDay", "Hour", "Minute", "Second"):
        if family in name:
            return family
    if name in ("Day", "CalendarDay"):
        return "Day"
    return None


def season_length_from_freq(freq) -> int:
    """Seasonal period implied by a frequency: 12 for monthly data, 7 for daily, ...

    Parameters
    ----------
    freq : str, pandas offset or int or None
        A pandas frequency (``'M'``, ``'MS'``, ``'D'``, ``'h'``...) or offset; an integer step
        or None (integer-indexed data) gives 1.

    Returns
    -------
    int
        1 for yearly or unknown frequencies, 4 quarterly, 12 monthly, 52 weekly, 7 daily,
        5 business-daily, 24 hourly, 60 for minutes and seconds. A multiple of a base
        frequency divides the period when it can (``'6h'`` -> 4).

    Examples
    --------
    >>> season_length_from_freq("MS"), season_length_from_freq("6h"), season_length_from_freq(None)
    (12, 4, 1)
    """
    if freq is None or isinstance(freq, (int, np.integer)):
        return 1
    offset = pd.tseries.frequencies.to_offset(freq)
    family = _offset_family(offset)
    if family is None:
        return 1
    period = _OFFSET_TABLE[family][0]
    n = abs(int(getattr(offset, "n", 1) or 1))
    if n > 1 and period % n == 0:
        period //= n
    return max(1, period)


def resolve_season_length(season_length, kind: str, freq) -> int:
    """The seasonal period: ``season_length`` when given, else the frequency's (1 for ints)."""
    if season_length is not None:
        return int(season_length)
    return season_length_from_freq(None if kind == "int" else freq)


def _index_kind(index: pd.Index) -> str:
    """'period', 'datetime' or 'int' for a supported index; raise otherwise."""
    if isinstance(index, pd.PeriodIndex):
        return "period"
    if isinstance(index, pd.DatetimeIndex):
        return "datetime"
    if pd.api.types.is_integer_dtype(index.dtype):
        return "int"
    if index.name == "ds":  # a long frame's time column
        where, fix = "the ds column", "df['ds'] = pd.to_datetime(df['ds'])"
    else:
        where, fix = "the time index", "y.index = pd.to_datetime(y.index)"
    raise ValueError(
        f"{where} has dtype {index.dtype} (e.g. {str(index[0])[:40]!r}); times must "
        f"be datetimes, periods or integers: convert date strings, e.g. {fix}"
    )


def series_name(uid) -> str:
    """A series' ``unique_id`` as messages show it: its Python repr (``1``, ``'north'``).

    NumPy 2 scalars, which the ids of an integer column are, would show as ``np.int64(1)``.
    """
    if isinstance(uid, np.generic) and not isinstance(uid, (np.datetime64, np.timedelta64)):
        uid = uid.item()
    return repr(uid)


def _fmt(values) -> str:
    """Format the first few timestamps for an error message."""
    values = list(values)
    shown = ", ".join(str(v) for v in values[:_SHOW])
    return shown + (f", ... ({len(values)} in all)" if len(values) > _SHOW else "")


def _infer_freq(index: pd.Index, kind: str, freq, uid):
    """Frequency of one series: a pandas offset (datetime/period) or an int step (int)."""
    if kind == "period":
        return index.freq
    if kind == "int":
        if freq is not None:
            if not isinstance(freq, (int, np.integer)) or freq < 1:
                raise ValueError(
                    f"freq must be a positive integer step for an integer index, got {freq!r}"
                )
            return int(freq)
        if isinstance(index, pd.RangeIndex):
            return int(index.step)
        if len(index) < 2:
            return 1
        return int(np.diff(index.to_numpy()).min())
    if freq is not None:
        try:
            return pd.tseries.frequencies.to_offset(freq)
        except ValueError as exc:
            raise ValueError(f"invalid freq {freq!r}: {exc}") from None
    if index.freq is not None:
        return index.freq
    inferred = None
    if len(index) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            inferred = pd.infer_freq(index)
    if inferred is None:
        gaps = _frequency_with_gaps(index) if len(index) >= 3 else None
        if gaps is not None:
            offset, missing = gaps
            raise ValueError(
                f"series {series_name(uid)}: its timestamps are not evenly spaced; they fit "
                f"frequency {offset.freqstr!r} with {len(missing)} missing timestamp(s): "
                f"{_fmt(missing)}; pass freq={offset.freqstr!r} and fill_method='ffill', "
                "'interpolate' or 'zero' to fill them (or add those rows to the data)"
            )
        raise ValueError(
            f"series {series_name(uid)}: cannot infer the frequency of its timestamps "
            "(fewer than 3, or irregular spacing); pass freq= (e.g. freq='D' or 'MS') and, "
            "for gaps, fill_method="
        )
    return pd.tseries.frequencies.to_offset(inferred)


def _candidate_offsets(index: pd.DatetimeIndex) -> list:
    """Frequencies a datetime index with gaps may have: calendar ones, then its smallest step.

    In that order, so that of two with the same grid the calendar one is named ('W-SUN', not
    '7D').
    """
    offsets = pd.offsets
    out = [offsets.Day(), offsets.BDay(), offsets.Hour(), offsets.Minute(), offsets.Second()]
    out += [offsets.Week(weekday=d) for d in range(7)]
    out += [offsets.MonthBegin(), offsets.MonthEnd(), offsets.BMonthBegin(), offsets.BMonthEnd()]
    out += [offsets.QuarterBegin(startingMonth=m) for m in (1, 2, 3)]
    out += [offsets.QuarterEnd(startingMonth=m) for m in (12, 1, 2)]
    out += [offsets.YearBegin(), offsets.YearEnd()]
    step = (index[1:] - index[:-1]).min()  # in the index's own unit (ns, us, ms or s)
    if step > pd.Timedelta(0):
        out.append(pd.tseries.frequencies.to_offset(step))
    return out


def _frequency_with_gaps(index: pd.DatetimeIndex):
    """``(offset, missing timestamps)`` of a frequency that explains timestamps with gaps.

    The coarsest candidate (:func:`_candidate_offsets`) whose grid from the first timestamp
    to the last holds every timestamp and at most as many missing ones as present (daily
    data with gaps is not called hourly); None when none does. Only to say what an error
    should: a frequency is never assumed for the user.
    """
    best = None
    for offset in _candidate_offsets(index):
        try:
            grid = pd.date_range(index[0], index[-1], freq=offset)
        except (ValueError, OverflowError):
            continue
        if len(grid) > 2 * len(index) or (best is not None and len(grid) >= len(best[1])):
            continue
        if len(grid) and grid[0] == index[0] and bool(index.isin(grid).all()):
            best = (offset, grid)
    if best is None or len(best[1]) == len(index):
        return None
    return best[0], best[1].difference(index)


def _grid(first, last, kind: str, freq, name=None) -> pd.Index:
    """The regular index from ``first`` to ``last`` (both included)."""
    if kind == "period":
        return pd.period_range(first, last, freq=freq, name=name)
    if kind == "datetime":
        return pd.date_range(first, last, freq=freq, name=name)
    return pd.RangeIndex(int(first), int(last) + 1, freq, name=name)


def _future_index(last, h: int, kind: str, freq, name=None) -> pd.Index:
    """The ``h`` timestamps following ``last``."""
    if kind == "period":
        return pd.period_range(last + 1, periods=h, freq=freq, name=name)
    if kind == "datetime":
        return pd.date_range(last, periods=h + 1, freq=freq, name=name)[1:]
    return pd.RangeIndex(int(last) + freq, int(last) + freq * (h + 1), freq, name=name)


def _ordinals(index: pd.Index, kind: str) -> np.ndarray:
    """int64 positions comparable across series of the same kind (for time ordering)."""
    if kind == "period":
        return index.asi8.astype(np.int64)
    if kind == "datetime":
        return index.as_unit("ns").asi8.astype(np.int64)
    return index.to_numpy(dtype=np.int64)


_NAT = np.iinfo(np.int64).min  # NaT as int64 (``asi8``)


def _strictly_increasing(index: pd.Index) -> bool:
    """Whether the time stamps are sorted, without duplicates or NaT: one vectorised pass.

    False (the caller looks closer) also for an index of another type. Tried before pandas'
    ``has_duplicates``, which builds a hash table per index (a panel of 10,000 series parsed
    in 1.9 s instead of 2.0-2.2 s).
    """
    if isinstance(index, (pd.DatetimeIndex, pd.PeriodIndex)):
        a = index.asi8
        if len(a) and a[0] == _NAT:  # a NaT can only come first in an increasing run
            return False
    elif pd.api.types.is_integer_dtype(index.dtype):
        a = index.to_numpy()
    else:
        return False
    return bool(np.all(a[1:] > a[:-1]))


def _check_order(index: pd.Index, uid, what: str) -> None:
    """Raise if ``index`` has missing (NaT), duplicated or unsorted timestamps."""
    if _strictly_increasing(index):
        return
    if index.hasnans:
        at = np.flatnonzero(np.asarray(index.isna()))
        raise ValueError(
            f"series {series_name(uid)}: {what} has {len(at)} missing timestamp(s) (NaT), "
            f"at row(s) {at[:5].tolist()}{' ...' if len(at) > 5 else ''} of the series; drop "
            "those rows or give them their timestamps"
        )
    if index.has_duplicates:
        dup = index[index.duplicated()].unique()
        raise ValueError(
            f"series {series_name(uid)}: {what} has duplicated timestamps: {_fmt(dup)}; "
            "each timestamp must appear once (aggregate or drop duplicates first)"
        )
    if not index.is_monotonic_increasing:
        pos = int(np.flatnonzero(np.asarray(index[1:] < index[:-1]))[0]) + 1
        raise ValueError(
            f"series {series_name(uid)}: {what} timestamps are not sorted ({index[pos]} "
            f"comes after {index[pos - 1]}); sort them first, e.g. y.sort_index() or "
            "df.sort_values(['unique_id', 'ds'])"
        )
