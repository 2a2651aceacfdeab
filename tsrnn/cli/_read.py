"""Reading the data of the ``tsrnn`` command: CSV files and bundled datasets.

:func:`_load` returns a :class:`_Data` (the series or long panel, its column names and the
covariates) for a CSV file or ``--dataset``. :func:`_read_csv` reads a file with the file-format
options, recognising ';' / tab separators and decimal commas; :func:`_parse_time` reads the
time column as dates, yearly (or R's fractional monthly / quarterly) periods or integer time
steps; :func:`_from_frame` picks the time, id and target columns (a panel in long format when
there is an id column); :func:`_read_future` and :func:`_add_future` read the known-future
covariates file. Every problem is one :class:`~tsrnn.cli._errors._CliError` line naming the
flag that fixes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import _CliError, _names, _short
from ._paths import _check_input

if TYPE_CHECKING:
    import pandas as pd


# the (separator, decimal mark, encoding) of a plain CSV: what a bundled dataset is written as
PLAIN_CSV = (",", ".", "utf-8")


@dataclass
class _Data:
    """The data of a command, ready for the forecaster."""

    y: object  # a Series, or a long DataFrame (unique_id, ds, y)
    time_name: str
    id_name: str | None
    X: object = None  # covariates over the history (see RNNForecaster.fit)
    X_future: object = None  # known-future covariates (the --future-covariates rows)
    past: list | None = None  # the past-only covariate columns
    note: str = ""  # what was detected, for the progress line
    dialect: tuple = PLAIN_CSV  # the CSV's separator, decimal mark and encoding


#: Characters inside numbers as a CSV writes them (digits, signs, exponents, quotes, line
#: ends): never a field separator or a decimal mark.
IN_NUMBERS = frozenset('0123456789+-eE"\n\r')


def _sep(text):
    if text is None:
        return None
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*|\s*[-+]?\d+\s*")
#: Numbers with thousands separators, by decimal mark: 1.234.567,5 and 1,234,567.5 (groups of
#: three digits after the first one to three); and the same numbers written without them.
_GROUPED = {
    ",": re.compile(r"\s*[-+]?\d{1,3}(?:\.\d{3})+(?:,\d*)?\s*"),
    ".": re.compile(r"\s*[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?\s*"),
}
_PLAIN = {",": re.compile(r"\s*[-+]?\d+(?:,\d*)?\s*"), ".": re.compile(r"\s*[-+]?\d+(?:\.\d*)?\s*")}


_NUMBER_WRITINGS = (*_GROUPED.values(), *_PLAIN.values())


def _grouped_column(values, decimal) -> bool:
    """Whether text ``values`` are numbers, some of them with thousands separators."""
    grouped, plain = _GROUPED[decimal], _PLAIN[decimal]
    first = values.iloc[0]
    if not (grouped.fullmatch(first) or plain.fullmatch(first)):
        return False  # e.g. series names: decided by the first value
    is_grouped = values.str.fullmatch(grouped.pattern)
    return bool(is_grouped.any()) and bool((is_grouped | values.str.fullmatch(plain.pattern)).all())


def _without_thousands(frame, decimal):
    """``frame`` with its text columns of numbers written with thousands separators as numbers.

    Spreadsheets export 1.234,5 (decimal comma) or "1,234.5". Read here, column by column,
    not by pandas' ``thousands=``, which would also read a date 01.02.2020 as 1022020.
    """
    import pandas as pd

    thousands = "." if decimal == "," else ","
    for col in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[col]):
            continue
        values = frame[col].dropna().astype(str)
        if len(values) and _grouped_column(values, decimal):
            text = frame[col].astype("string").str.strip().str.replace(thousands, "", regex=False)
            frame[col] = pd.to_numeric(text.str.replace(decimal, ".", regex=False)).astype(float)
    return frame


def _read_csv(path: str, args, what: str):
    """Read ``path`` with the file-format options; guess ';' / tab and decimal commas.

    Returns the frame and the (separator, decimal mark, encoding) it was read with.
    """
    import pandas as pd

    _check_input(path, what)
    sep, decimal = _sep(args.sep), args.decimal
    if decimal is not None and len(decimal) != 1:
        raise _CliError(f"--decimal must be one character, got {_short(decimal)}")
    if sep is not None and len(sep) != 1:
        raise _CliError(f"--sep must be one character ('\\t' for tab), got {_short(args.sep)}")
    for flag, char in (("--sep", sep), ("--decimal", decimal)):
        if char is not None and char in IN_NUMBERS:
            raise _CliError(f"{flag} {char!r} is part of how numbers are written; give another one")
    if sep is not None and sep == (decimal or "."):
        raise _CliError(
            f"--sep {sep!r} is also the decimal mark: give the file's decimal mark with --decimal"
        )

    def read(s, d):
        try:
            return pd.read_csv(
                path, sep=s, decimal=d, low_memory=False, encoding=args.encoding or "utf-8-sig"
            )
        except UnicodeDecodeError as exc:
            raise _CliError(
                f"cannot read {what} {_short(path)}: it is not {args.encoding or 'UTF-8'} text "
                f"({_short(str(exc))}); give its encoding with --encoding (e.g. --encoding "
                "latin-1)"
            ) from None
        except LookupError:
            raise _CliError(f"--encoding {_short(args.encoding)} is not a known encoding") from None
        except (IsADirectoryError, PermissionError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise _CliError(f"cannot read {what} {_short(path)}: {_short(reason)}") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise _CliError(
                f"cannot read {what} {_short(path)} as CSV ({_short(str(exc))}); check the "
                "separator (--sep)"
            ) from None

    used = decimal or "."
    frame = read(sep or ",", used)
    if sep is None and frame.shape[1] == 1:
        header = str(frame.columns[0])
        for guess in (";", "\t", "|"):
            if guess in header:
                sep = guess
                frame = read(sep, used)
                break
    if sep is not None and sep not in ",." and decimal is None:  # ';', tab, '|': commas are decimal
        texts = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        for c in texts:
            values = frame[c].dropna().astype(str)
            if len(values) and (
                (
                    values.str.contains(",").any()
                    and values.map(lambda v: bool(_DECIMAL_COMMA.fullmatch(v))).all()
                )
                or _grouped_column(values, ",")
            ):
                frame = read(sep, ",")
                used = ","
                break
    frame = _without_thousands(frame, used)
    if frame.shape[1] == 0:
        raise _CliError(f"{what} {_short(path)} has no columns")
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        guess = next((g for g in (";", "\t", "|", ",") if g in header and g != sep), None)
        hint = f"pass --sep {guess!r}" if guess else "give its separator with --sep"
        raise _CliError(
            f"{what} {_short(path)} has one column only ({_short(header)}); it "
            f"needs a time and a target column: {hint}"
        )
    return frame, (sep or ",", used, args.encoding or _utf8_kind(path))


def _utf8_kind(path: str) -> str:
    """'utf-8-sig' for a file that starts with the UTF-8 byte-order mark, else 'utf-8'.

    Spreadsheets write the mark ("CSV UTF-8") and need it to read such a file back as UTF-8.
    """
    with open(path, "rb") as f:
        return "utf-8-sig" if f.read(3) == b"\xef\xbb\xbf" else "utf-8"


_TIME_NAMES = (
    "ds",
    "date",
    "time",
    "timestamp",
    "datetime",
    "year",
    "month",
    "week",
    "day",
    "period",
)
_ID_NAMES = ("unique_id", "id")
_DAY_MONTH = re.compile(r"\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}\b.*")


def _to_years(values):
    import numpy as np
    import pandas as pd

    ordinals = np.asarray(values, dtype=np.int64) - 1970
    if hasattr(pd.PeriodIndex, "from_ordinals"):
        return pd.PeriodIndex.from_ordinals(ordinals, freq="Y")
    return pd.PeriodIndex([pd.Period(year=int(v), freq="Y") for v in values])


def _fractional_years(values):
    """R's ``time(ts)`` of a quarterly or monthly series (1949.0, 1949.0833, ...) as periods."""
    import numpy as np
    import pandas as pd

    if not np.isfinite(values).all() or (values == np.round(values)).all():
        return None
    if values.min() < 1000 or values.max() >= 3000:
        return None
    for per_year, freq in ((4, "Q"), (12, "M")):
        scaled = values * per_year
        steps = np.round(scaled)
        if np.abs(scaled - steps).max() < 0.01:
            ordinals = steps.astype(np.int64) - 1970 * per_year
            if hasattr(pd.PeriodIndex, "from_ordinals"):
                return pd.PeriodIndex.from_ordinals(ordinals, freq=freq)
            return pd.PeriodIndex(pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype(freq)))
    return None


def _date_error(exc, col, where):
    """A one-line message for a failed date parse, with the flags that fix it."""
    found = re.search(r'time data "(.*?)" doesn\'t match format "(.*?)"', str(exc))
    if found:
        bad = f"the value {_short(found.group(1))} does not match the layout {found.group(2)}"
    else:
        bad = _short(str(exc).split("\n")[0], 120)
    return _CliError(
        f"cannot read the time column {col!r} of {where} as dates: {bad}; give the layout with "
        "--date-format (e.g. --date-format '%d.%m.%Y'), or --dayfirst for day/month/year dates"
    )


def _parse_time(raw, args, col, where, kind=None):
    """The time column as a DatetimeIndex, a yearly PeriodIndex or integer steps.

    ``kind`` ('datetime', 'period' or 'int') is the kind a saved model was fitted on, for the
    covariates file of ``tsrnn predict``.
    """
    import warnings

    import numpy as np
    import pandas as pd

    if raw.isna().any():
        row = int(np.flatnonzero(raw.isna().to_numpy())[0]) + 2
        raise _CliError(f"the time column {col!r} of {where} is empty in row {row}")
    if pd.api.types.is_bool_dtype(raw):
        raise _CliError(f"the time column {col!r} of {where} holds true/false values")
    fmt = args.date_format
    if pd.api.types.is_numeric_dtype(raw) and fmt is None:
        values = raw.to_numpy(dtype=np.float64)
        whole = np.isfinite(values) & (values == np.round(values))
        fractional = _fractional_years(values) if kind in (None, "period") else None
        if fractional is not None:
            return fractional
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise _CliError(
                f"the time column {col!r} of {where} holds {_short(raw.iloc[row])} (row "
                f"{row + 2}); numeric times must be whole numbers (years such as 1990, or time "
                "steps); for dates written as numbers give --date-format (e.g. '%Y%m%d')"
            )
        ints = values.astype(np.int64)
        if kind == "period" or (kind is None and ints.min() >= 1000 and ints.max() <= 2999):
            return _to_years(ints)
        return pd.Index(ints)
    if pd.api.types.is_numeric_dtype(raw):  # e.g. 20240131 with --date-format %Y%m%d
        values = raw.to_numpy(dtype=np.float64)
        raw = pd.Series([str(int(v)) if v == int(v) else str(v) for v in values])
    text = raw.astype(str).str.strip()
    mixed = []  # set when the timestamps carry several UTC offsets: read in UTC

    def to_datetimes(**options):
        try:
            return pd.DatetimeIndex(pd.to_datetime(text, **options))
        except (ValueError, TypeError) as exc:
            if "utc=True" not in str(exc):
                raise
        out = pd.DatetimeIndex(pd.to_datetime(text, utc=True, **options))
        mixed.append(True)
        return out

    stamps = _parse_datetimes(text, fmt, args.dayfirst, kind, col, where, to_datetimes)
    if mixed:
        warnings.warn(
            f"the time column {col!r} of {where} has timestamps with several UTC offsets "
            "(e.g. daylight saving time): read as UTC, and the forecasts' timestamps are UTC",
            UserWarning,
            stacklevel=2,
        )
    return stamps


def _parse_datetimes(text, fmt, dayfirst, kind, col, where, to_datetimes):
    """:func:`_parse_time` for text: dates (by ``to_datetimes``), or years."""
    import warnings

    if fmt is not None:
        try:
            return to_datetimes(format=fmt)
        except (ValueError, TypeError) as exc:
            found = re.search(r'time data "(.*?)"', str(exc))
            value = f"the value {_short(found.group(1))}" if found else _short(str(exc))
            raise _CliError(
                f"--date-format {fmt!r} does not match the time column {col!r} of {where}: {value}"
            ) from None
    if text.str.fullmatch(r"[12]\d{3}").all() and kind in (None, "period"):
        return _to_years(text.astype(int).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if dayfirst:
            try:
                return to_datetimes(dayfirst=True)
            except (ValueError, TypeError) as exc:
                raise _date_error(exc, col, where) from None
        try:
            month_first, error = to_datetimes(), None
        except (ValueError, TypeError) as exc:
            month_first, error = None, exc
        if not _DAY_MONTH.fullmatch(text.iloc[0]):
            if error is not None:
                raise _date_error(error, col, where) from None
            return month_first
        try:
            day_first = to_datetimes(dayfirst=True)
        except (ValueError, TypeError):
            day_first = None
    if month_first is None and day_first is None:
        raise _date_error(error, col, where)
    if month_first is None:
        return day_first  # only a day-first reading fits, e.g. 13/01/2024
    if day_first is None or day_first.equals(month_first):
        return month_first
    # 01.02.2020 ... as the first of each month, or as January 2nd, 3rd, ..., 12th, then
    # 2021: only one reading gives evenly spaced timestamps
    regular = [_evenly_spaced(month_first), _evenly_spaced(day_first)]
    if regular == [False, True]:
        return day_first
    if regular == [True, False]:
        return month_first
    raise _CliError(
        f"the dates of the time column {col!r} of {where} are ambiguous: "
        f"{_short(text.iloc[0])} may be day/month or month/day; pass --dayfirst for "
        "day/month/year, or the layout with --date-format (e.g. --date-format '%m/%d/%Y')"
    )


def _evenly_spaced(stamps) -> bool:
    """Whether the distinct timestamps (of all series) have a frequency pandas can infer."""
    import warnings

    import pandas as pd

    distinct = stamps.unique().sort_values()
    if len(distinct) < 3:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pd.infer_freq(distinct) is not None


def _stamp(value) -> str:
    """A timestamp for a message: the date alone at midnight."""
    text = str(value)
    return text[:-9] if text.endswith(" 00:00:00") else _short(text)


def _numeric(frame, col, what, where):
    """A column as float64, with a one-line error naming the first non-number."""
    import numpy as np
    import pandas as pd

    values = pd.to_numeric(frame[col], errors="coerce")
    bad = values.isna() & frame[col].notna()
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        # name a value that is no number in any writing (not 1,234.5 among them)
        odd = [
            r
            for r in rows[:1000]
            if not any(p.fullmatch(str(frame[col].iloc[r])) for p in _NUMBER_WRITINGS)
        ]
        row = int(odd[0] if odd else rows[0])
        value = frame[col].iloc[row]
        hint = ""
        if isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value):
            hint = "; for decimal commas pass --decimal ,"
        elif isinstance(value, str) and ";" in value:
            hint = "; the file may be separated by ';': pass --sep ';'"
        raise _CliError(
            f"{what} {col!r} of {where} holds non-numeric values, e.g. {_short(value)} "
            f"(row {row + 2}){hint}"
        )
    return values.astype(np.float64)


def _load(args) -> _Data:
    if args.csv and args.dataset:
        raise _CliError("give either a CSV file or --dataset, not both")
    if args.dataset:
        return _load_dataset(args)
    if not args.csv:
        raise _CliError("no data: give a CSV file, or --dataset NAME (see 'tsrnn datasets')")
    frame, dialect = _read_csv(args.csv, args, "the CSV")
    data = _from_frame(frame, args)
    data.dialect = dialect
    if args.future_covariates:
        _add_future(data, args)
    return data


def _load_dataset(args) -> _Data:
    import pandas as pd

    from ..datasets import list_datasets, load_dataset

    if args.dataset not in list_datasets():
        raise _CliError(
            f"unknown dataset {_short(args.dataset)}; available: {', '.join(list_datasets())}"
        )
    if args.id_col or args.time_col:
        raise _CliError("--id-col and --time-col apply to CSV files, not to --dataset")
    if args.past_covariates or args.future_covariates:
        raise _CliError(
            "--past-covariates and --future-covariates apply to CSV files, not to --dataset"
        )
    data = load_dataset(args.dataset)
    if isinstance(data, pd.DataFrame):
        if args.target is None:
            raise _CliError(
                f"dataset {args.dataset!r} has several columns; choose one with --target "
                f"(one of: {_names(data.columns)})"
            )
        if args.target not in data.columns:
            raise _CliError(
                f"dataset {args.dataset!r} has no column {_short(args.target)}; choose one "
                f"with --target (one of: {_names(data.columns)})"
            )
        data = data[args.target]
    elif args.target is not None and args.target != data.name:
        raise _CliError(f"dataset {args.dataset!r} has one series, named {data.name!r}")
    return _Data(data, data.index.name or "ds", None)


def _pick(columns, names):
    """The first column whose lower-cased name is in ``names`` (in the order of ``names``)."""
    lower = {str(c).lower(): c for c in reversed(columns)}
    for name in names:
        if name in lower:
            return lower[name]
    return None


def _from_frame(frame: pd.DataFrame, args) -> _Data:
    import numpy as np
    import pandas as pd

    # the unnamed first column of R's write.csv (row names) is no data
    frame = frame.drop(columns=[c for c in frame.columns[:1] if str(c).startswith("Unnamed: ")])
    columns = list(frame.columns)
    where = _short(args.csv)
    for flag, col in (
        ("--time-col", args.time_col),
        ("--id-col", args.id_col),
        ("--target", args.target),
    ):
        if col is not None and col not in columns:
            raise _CliError(
                f"{flag} {_short(col)} is not a column of {where}; columns: {_names(columns)}"
            )
    past = list(args.past_covariates or [])
    for col in past:
        if col not in columns:
            raise _CliError(
                f"--past-covariates: {_short(col)} is not a column of {where}; "
                f"columns: {_names(columns)}"
            )
    note = []
    id_col = args.id_col
    if id_col is None:
        id_col = _pick(
            [c for c in columns if c not in (args.time_col, args.target, *past)], _ID_NAMES
        )
        if id_col is not None:
            note.append(f"series identified by column {id_col!r}")
    rest = [c for c in columns if c != id_col]
    time_col = args.time_col or _pick(rest, _TIME_NAMES) or rest[0]
    used = {time_col, id_col, *past}
    target = args.target
    if target is None:
        if "y" in columns and "y" not in used:
            target = "y"
        else:
            others = [c for c in columns if c not in used]
            numeric = [c for c in others if pd.api.types.is_numeric_dtype(frame[c])]
            if not numeric and len(others) == 1:
                numeric = others  # e.g. decimal commas: _numeric says what to pass
            if len(numeric) != 1:
                raise _CliError(
                    "cannot tell which column to forecast; choose one with --target "
                    f"(columns: {_names(columns)})"
                )
            target = numeric[0]
    if target in (time_col, id_col):
        raise _CliError(f"--target {_short(target)} is also the time or id column")
    if target in past:
        raise _CliError(f"--past-covariates: {target!r} is the target column")
    if id_col == time_col:
        raise _CliError(f"--id-col {_short(id_col)} is also the time column (--time-col)")
    times = _parse_time(frame[time_col], args, time_col, where)
    values = _numeric(frame, target, "the target column", where)
    covs = {c: _numeric(frame, c, "the covariate column (--past-covariates)", where) for c in past}
    if id_col is None:
        dup = pd.Index(times).duplicated()
        if dup.any():
            row = int(np.flatnonzero(dup)[0])
            labels = [
                c
                for c in columns
                if c not in used | {target} and not pd.api.types.is_numeric_dtype(frame[c])
            ]
            hint = (
                f"; if the file holds several series, name the column that identifies "
                f"them with --id-col (e.g. --id-col {labels[0]})"
                if labels
                else "; if the file holds several series, add a column that identifies them "
                "and name it with --id-col"
            )
            raise _CliError(
                f"the time column {time_col!r} has duplicated timestamps, e.g. "
                f"{_stamp(times[row])} (row {row + 2}){hint}"
            )
        order = _time_order(None, times)
        index = pd.Index(times, name=time_col)[order]
        y = pd.Series(values.to_numpy()[order], index=index, name=target)
        X = (
            pd.DataFrame({c: v.to_numpy()[order] for c, v in covs.items()}, index=index)
            if past
            else None
        )
        return _Data(
            y, time_name=time_col, id_name=None, X=X, past=past or None, note=", ".join(note)
        )
    ids = frame[id_col]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 2
        raise _CliError(f"the id column {id_col!r} (--id-col) is empty in row {row}")
    order = _time_order(ids, times)
    ids, times = ids.to_numpy()[order], pd.Index(times)[order]
    long = pd.DataFrame({"unique_id": ids, "ds": times, "y": values.to_numpy()[order]})
    X = None
    if past:
        X = pd.DataFrame(
            {"unique_id": ids, "ds": times, **{c: v.to_numpy()[order] for c, v in covs.items()}}
        )
    return _Data(
        long, time_name=time_col, id_name=id_col, X=X, past=past or None, note=", ".join(note)
    )


def _time_order(ids, times):
    """The rows in time order within each series (series in order of first appearance).

    A file's row order means nothing once it has a time column (a spreadsheet sorted
    newest first, a log appended per sensor), so the command sorts what the library would
    refuse as unsorted. A slice (no copy) when the rows are in order already; left as they
    are when a timestamp is missing, which the forecaster reports by row.
    """
    import numpy as np
    import pandas as pd

    stamps = pd.Index(times)
    if len(stamps) < 2 or stamps.hasnans:
        return slice(None)
    later = np.asarray(stamps[1:] >= stamps[:-1])
    if ids is None:
        in_order = bool(later.all())
    else:
        series = pd.factorize(ids, sort=False)[0]
        step = np.diff(series)
        in_order = bool(((step > 0) | ((step == 0) & later)).all())
    if in_order:
        return slice(None)
    ranks = pd.factorize(stamps, sort=True)[0]
    if ids is None:
        return np.argsort(ranks, kind="stable")
    return np.lexsort((ranks, series))


def _read_future(args, path, time_name, id_name, kind=None):
    """The known-future covariates file, indexed like the data (Series) or long.

    Returns the covariates, their column names and the file's (separator, decimal mark,
    encoding).
    """
    import pandas as pd

    frame, dialect = _read_csv(path, args, "the --future-covariates file")
    where = _short(path)
    columns = list(frame.columns)
    if time_name not in columns:
        raise _CliError(
            f"the --future-covariates file {where} has no time column "
            f"{time_name!r} (columns: {_names(columns)})"
        )
    if id_name is not None and id_name not in columns:
        raise _CliError(
            f"the --future-covariates file {where} has no id column {id_name!r} "
            f"(columns: {_names(columns)})"
        )
    cols = [c for c in columns if c not in (time_name, id_name)]
    if not cols:
        raise _CliError(f"the --future-covariates file {where} has no covariate columns")
    times = _parse_time(frame[time_name], args, time_name, where, kind=kind)
    values = {c: _numeric(frame, c, "the covariate column", where).to_numpy() for c in cols}
    if id_name is None:
        index = pd.Index(times, name=time_name)
        if index.has_duplicates:
            raise _CliError(
                f"the --future-covariates file {where} repeats the timestamp "
                f"{_stamp(index[index.duplicated()][0])}"
            )
        return pd.DataFrame(values, index=index).sort_index(), cols, dialect
    out = pd.DataFrame({"unique_id": frame[id_name].to_numpy(), "ds": times, **values})
    out = out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    return out, cols, dialect


def _add_future(data: _Data, args) -> None:
    """Join the known-future covariates to ``data.X`` and keep them as ``X_future``."""
    future, cols, _ = _read_future(args, args.future_covariates, data.time_name, data.id_name)
    clash = [c for c in cols if c in (data.past or [])]
    if clash:
        raise _CliError(
            f"column(s) {_names(clash)} are both --past-covariates and in the "
            "--future-covariates file"
        )
    if data.id_name is None:
        data.X = future if data.X is None else data.X.join(future, how="outer")
    elif data.X is None:
        data.X = future
    else:
        data.X = data.X.merge(future, on=["unique_id", "ds"], how="outer")
    if data.id_name is not None:
        data.X = data.X.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True)
    data.X_future = future
    data.note = ", ".join(filter(None, [data.note, f"future covariates {_names(cols)}"]))
