"""The ``tsrnn`` command: forecast, fit, predict or backtest a CSV file or a bundled dataset.

Run ``tsrnn --help`` (or ``python -m tsrnn --help``) for usage. The command is a thin layer over
:class:`tsrnn.forecasting.RNNForecaster`, :func:`tsrnn.model_selection.backtest` and
:mod:`tsrnn.persistence` (``tsrnn fit --save`` / ``tsrnn predict --model``).

Building the parser imports nothing beyond the standard library, so ``tsrnn --help`` and
``tsrnn --version`` are fast: NumPy, pandas, scikit-learn and Numba are imported inside the
sub-command that runs. ``tsrnn bench`` runs ``experiments/bench_speed.py`` of a source checkout
(the benchmark is not part of the installed package).

Safety: every file the command writes (``--output``, ``--plot``, ``--save``) is checked before
any data is read or any model fitted (its folder exists and is writable, it is not a folder,
not one of the input files, ``--plot`` has an image extension); files are written to a
temporary name and renamed, so an interrupted run leaves no half-written file. Errors are one
line, ``tsrnn: error: ...`` with exit status 2; Ctrl-C stops with one line and status 130.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]

_DESCRIPTION = """\
Forecast time series with a recurrent neural network (LSTM, GRU or RNN).

Give the data either as a CSV file (one row per timestamp; a file with a 'unique_id' or 'id'
column, or --id-col, holds several series in long format) or with --dataset NAME for a bundled
example dataset. 'tsrnn forecast' fits and forecasts in one go; 'tsrnn fit --save' keeps the
fitted model in a file that 'tsrnn predict --model' forecasts from without refitting.
"""

_EPILOG = """\
examples:
  tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png
  tsrnn forecast sales.csv --time-col date --target sales --horizon 14 --level 80 95
  tsrnn forecast panel.csv --id-col store --time-col date --target sales --horizon 7
  tsrnn forecast data.csv --sep ';' --decimal , --dayfirst --horizon 6
  tsrnn fit sales.csv --horizon 14 --save model.tsrnn
  tsrnn predict --model model.tsrnn --level 80 --output fc.csv
  tsrnn backtest --dataset air_passengers --horizon 12 --initial 96
  tsrnn datasets

Run 'tsrnn forecast --help' (or fit, predict, backtest) for all options.
"""

_DATA_NOTES = """\
The CSV needs a time column and a numeric target column. Times are dates (ISO 2024-01-31, or
day-first 31.01.2024 with --dayfirst, or any layout with --date-format), years (whole numbers
from 1000 to 2999, also written 1700.0; read as yearly periods; R's fractional times such as
1949.0833 as monthly or quarterly periods) or other whole numbers (plain time steps). A
column named 'unique_id' or 'id' (or the one given with --id-col) identifies several series
in long format, fitted as one global model. Timestamps must be unique within each series and
have a regular frequency (inferred, or given with --freq). Missing values are an error unless
--fill-method is given. Files separated by ';' or tabs are recognised (or give --sep); ';'
files with decimal commas are read as such (or give --decimal).

Covariates: --past-covariates names columns of the CSV known only up to the forecast origin;
--future-covariates FILE gives known-future covariates (e.g. holidays, prices) in a second CSV
with the same time (and id) column, covering the history and the next --horizon steps.
"""

_FORECAST_EPILOG = _DATA_NOTES + """
The output CSV has the time column, 'yhat' (the forecast) and, with --level 80 95,
'yhat_lo_80', 'yhat_hi_80', 'yhat_lo_95', 'yhat_hi_95' (conformal prediction intervals).

example:
  tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png
"""

_FIT_EPILOG = _DATA_NOTES + """
The model file (written with tsrnn.save: no pickle, checksummed, versioned) holds the network
and the history the forecasts start from; 'tsrnn predict --model FILE' forecasts from it.

example:
  tsrnn fit --dataset air_passengers --horizon 12 --save air.tsrnn
"""

_PREDICT_EPILOG = """\
Forecasts from the end of the history the model was fitted on, without refitting. The output
has the same columns as 'tsrnn forecast'. A model fitted with known-future covariates needs
them again for the forecast period: --future-covariates FILE.

example:
  tsrnn predict --model air.tsrnn --level 80 95 --output fc.csv --plot fc.png
"""

_BACKTEST_EPILOG = """\
The model is refitted at every cutoff: the first after --initial time steps, then every --step
steps, each forecasting --horizon steps (for a panel, every series' cutoffs are counted back
from its own end). The table reports MAE, RMSE, sMAPE (percent), MASE (relative to the
in-sample seasonal naive error) and MASE against the naive error (mase_naive) for the model
and, on the same folds, for three baselines: naive (the last value), drift (the line through
the first and last values) and seasonal naive (the last observed season).

example:
  tsrnn backtest --dataset air_passengers --horizon 12 --initial 96
"""

# file extensions matplotlib writes (--plot), without importing it
_PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".jpg", ".jpeg", ".eps", ".ps", ".tif",
                  ".tiff", ".webp", ".pgf")
_SHOW = 80  # longest value echoed in an error message
_MAX_MESSAGE = 600  # longest error message


class _CliError(Exception):
    """An error to report to the user as one line, without a traceback."""


# --------------------------------------------------------------------------------------------
# messages: one line, short values, CLI flags instead of Python parameters
# --------------------------------------------------------------------------------------------


def _short(value, limit: int = _SHOW) -> str:
    """``repr(value)`` cut to about ``limit`` characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(columns, limit: int = _SHOW) -> str:
    """A list of column names for a message, cut to about ``limit`` characters."""
    shown, size = [], 0
    for c in columns:
        item = _short(str(c), 30)
        if shown and size + len(item) > limit:
            return ", ".join(shown) + f", ... ({len(columns)} columns)"
        shown.append(item)
        size += len(item) + 2
    return ", ".join(shown)


def _one_line(message: str) -> str:
    """The message on one line, long words and the whole cut to readable lengths."""
    words = [w if len(w) <= _SHOW else w[: _SHOW - 3] + "..." for w in str(message).split()]
    text = " ".join(words)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


# Python parameters of the forecaster -> the CLI flag that sets them
_FLAGS = {
    "fill_method": "--fill-method", "freq": "--freq", "window": "--window",
    "horizon": "--horizon", "h": "--horizon", "log": "--log",
    "deseasonalize": "--deseasonalize", "past_covariates": "--past-covariates",
    "cell": "--cell", "strategy": "--strategy", "loss": "--loss",
    "hidden_size": "--hidden-size", "max_iter": "--max-iter", "n_models": "--n-models",
    "random_state": "--seed", "season_length": "--season-length", "level": "--level",
    "learning_rate_init": "--learning-rate", "validation_fraction": "--validation-fraction",
    "early_stopping": "--no-early-stopping",
}
_PARAMS = "|".join(sorted(_FLAGS, key=len, reverse=True))
_ASSIGN = re.compile(rf"\b({_PARAMS})=('[^']*'|\"[^\"]*\"|[^\s,;()]+)?")
_NAMED = re.compile(
    r"\b(window|horizon|season_length|validation_fraction|learning_rate_init)\b"
    r"(?= [=+<>]| or | and |\))"
)
_SHORTER = re.compile(
    r"\b(shorter|smaller|longer|larger|lower|higher) (window|horizon|learning_rate_init)\b",
    re.IGNORECASE,
)
_VALUE_WORDS = {"True": "yes", "False": "no"}
_FILL_VALUES = re.compile(r"'(ffill|interpolate|zero)'")


def _flags(message: str) -> str:
    """Name CLI flags where the forecaster's message names its Python parameters.

    ``pass fill_method='ffill'`` becomes ``pass --fill-method ffill``, ``freq=`` ``--freq``,
    ``log=False`` ``--log no``, ``X_future`` the ``--future-covariates`` file.
    """
    if "h=" in message:  # "h=30 exceeds horizon=12": the second is the fitted horizon
        message = re.sub(r"\bhorizon=(\S+)", r"the model's horizon \1", message)

    def assign(m):
        flag, value = _FLAGS[m.group(1)], m.group(2)
        if value is None:
            return flag
        value = value.strip("'\"")
        if m.group(1) == "early_stopping":
            return flag if value == "False" else "early stopping (the default)"
        return f"{flag} {_VALUE_WORDS.get(value, value)}"

    message = _ASSIGN.sub(assign, message)
    message = _NAMED.sub(lambda m: _FLAGS[m.group(1)], message)
    message = _SHORTER.sub(lambda m: f"{m.group(1)} {_FLAGS[m.group(2).lower()]}", message)
    if "--fill-method" in message:
        message = _FILL_VALUES.sub(r"\1", message)
    message = re.sub(r"(--[a-z-]+ [^\s,;()']+) or '([^']*)'", r"\1 or \2", message)
    message = re.sub(r"(?<![\w'\"])X_future\b(?!['\"])", "the --future-covariates data",
                     message)
    message = re.sub(r"(?<![\w'\"])X column\b", "covariate column", message)
    message = re.sub(r"(?<![\w'\"])X(?= (?:has|is|does|must|was|were|covers)\b)",
                     "the covariate data", message)
    return message


def _warn_line(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command: one ``tsrnn: warning:`` line."""
    print(f"tsrnn: warning: {_one_line(_flags(str(message)))}", file=file or sys.stderr)


# --------------------------------------------------------------------------------------------
# the parser
# --------------------------------------------------------------------------------------------


def _add_format_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("file format")
    group.add_argument(
        "--sep", metavar="CHAR",
        help="field separator of the CSV files (default: ',', or ';' / tab when the header "
             "uses it; '\\t' for tab)",
    )
    group.add_argument(
        "--decimal", metavar="CHAR",
        help="decimal mark (default: '.', or ',' for ';'-separated files that use it)",
    )
    group.add_argument(
        "--date-format", metavar="FMT",
        help="layout of the dates, e.g. '%%d.%%m.%%Y' or '%%Y%%m%%d' (default: inferred)",
    )
    group.add_argument(
        "--encoding", metavar="NAME",
        help="text encoding of the CSV files, e.g. latin-1 (default: UTF-8)",
    )
    group.add_argument(
        "--dayfirst", action="store_true",
        help="read dates such as 01/02/2024 as day/month/year",
    )


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("csv", nargs="?", metavar="CSV", help="CSV file with the series")
    group.add_argument(
        "--dataset", metavar="NAME",
        help="use a bundled dataset instead of a CSV (see 'tsrnn datasets')",
    )
    group.add_argument(
        "--time-col", metavar="COL",
        help="time column of the CSV (default: 'ds', 'date', 'time', 'year'... if present, "
             "else the first column)",
    )
    group.add_argument(
        "--target", metavar="COL",
        help="column to forecast (default: 'y' if present, else the only other numeric column)",
    )
    group.add_argument(
        "--id-col", metavar="COL",
        help="series identifier column, for a CSV holding several series (long format; "
             "default: 'unique_id' or 'id' if present)",
    )
    group.add_argument(
        "--freq", metavar="FREQ",
        help="frequency of the timestamps, e.g. D, W-SUN, MS, h (default: inferred)",
    )
    group.add_argument(
        "--fill-method", choices=["ffill", "interpolate", "zero"],
        help="fill missing values instead of stopping with an error",
    )
    cov = parser.add_argument_group("covariates")
    cov.add_argument(
        "--past-covariates", type=_columns, metavar="COL[,COL]",
        help="columns of the CSV observed only up to the forecast origin (fed as inputs)",
    )
    cov.add_argument(
        "--future-covariates", metavar="FILE",
        help="CSV of known-future covariates: the time (and id) column and covariate columns, "
             "covering the history and the next --horizon steps",
    )
    _add_format_args(parser)


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--horizon", type=_positive_int, required=True, metavar="H",
        help="number of steps to forecast (required)",
    )
    group.add_argument(
        "--cell", choices=["lstm", "gru", "rnn"], default="lstm",
        help="recurrent cell (default: lstm)",
    )
    group.add_argument(
        "--window", type=_positive_int, metavar="W",
        help="past steps the network reads (default: two seasons, at least the horizon)",
    )
    group.add_argument(
        "--strategy", choices=["direct", "recursive"], default="direct",
        help="direct multi-step output, or a one-step model applied recursively (default: direct)",
    )
    group.add_argument(
        "--log", choices=["auto", "yes", "no"], default="auto",
        help="model log(y): 'auto' does it when all values are positive (default: auto)",
    )
    group.add_argument(
        "--deseasonalize", choices=["no", "auto", "yes"], default="no",
        help="remove seasonal indices: 'auto' only from series with significant seasonality "
             "(default: no)",
    )
    group.add_argument(
        "--loss", choices=["squared_error", "absolute_error"], default="squared_error",
        help="training loss; absolute_error targets the median (default: squared_error)",
    )
    group.add_argument(
        "--hidden-size", type=_positive_int, default=32, metavar="N",
        help="units of the recurrent layer (default: 32)",
    )
    group.add_argument(
        "--max-iter", type=_positive_int, default=200, metavar="N",
        help="maximum training epochs (default: 200; early stopping usually ends sooner)",
    )
    group.add_argument(
        "--n-models", type=_positive_int, default=1, metavar="N",
        help="average N networks trained from different seeds (default: 1)",
    )
    group.add_argument(
        "--learning-rate", type=_positive_float, default=0.01, metavar="LR",
        help="step size of the Adam optimiser (default: 0.01)",
    )
    group.add_argument(
        "--validation-fraction", type=_fraction, default=0.1, metavar="F",
        help="share of each series' latest windows held out for early stopping and the "
             "interval calibration (default: 0.1; 0 needs --no-early-stopping and gives no "
             "intervals)",
    )
    group.add_argument(
        "--no-early-stopping", action="store_true",
        help="train for --max-iter epochs instead of stopping when the held-out error stalls",
    )
    group.add_argument(
        "--seed", type=int, default=0,
        help="random seed; the same seed gives the same forecast (default: 0)",
    )
    group.add_argument("--verbose", action="store_true", help="print training progress")


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument(
        "--level", type=_level, nargs="+", metavar="L",
        help="prediction interval levels in percent, e.g. --level 80 95",
    )
    out.add_argument("--output", metavar="FILE.csv", help="write the forecasts to a CSV file")
    out.add_argument(
        "--plot", metavar="FILE.png",
        help="save a plot of history and forecast (.png, .pdf, .svg, .jpg...)",
    )
    out.add_argument("--quiet", action="store_true", help="do not print the forecast table")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {_short(text)}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {_short(text)}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {_short(text)}")
    return value


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number from 0 to below 1, got {_short(text)}"
        )
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number such as 80 or 95, got {_short(text)}"
        ) from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(
            f"a level must be between 0 and 100 (percent), got {_short(text)}"
        )
    if value <= 1:
        raise argparse.ArgumentTypeError(
            f"levels are percentages, got {_short(text)}: pass 80 for an 80 % interval"
        )
    return value


def _columns(text: str) -> list:
    names = [c.strip() for c in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"expected column names separated by commas, got {_short(text)}"
        )
    return names


def _refit(text: str):
    low = text.lower()
    if low in ("yes", "true", "1"):
        return True
    if low in ("no", "false", "0"):
        return False
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected yes, no or a number of folds, got {_short(text)}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected yes, no or a positive number, got {_short(text)}"
        )
    return value


class _Parser(argparse.ArgumentParser):
    """argparse, with usage errors on one ``tsrnn: error: ...`` line and values cut short."""

    def error(self, message):
        hint = f"; see '{self.prog} --help'"
        self.exit(2, f"tsrnn: error: {_one_line(message)}{hint}\n")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tsrnn`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = _Parser(
        prog="tsrnn", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter
    forecast = sub.add_parser(
        "forecast", help="fit a model and forecast the next steps",
        description="Fit a recurrent network to the series and forecast the next --horizon steps.",
        epilog=_FORECAST_EPILOG, formatter_class=raw,
    )
    _add_data_args(forecast)
    _add_model_args(forecast)
    _add_output_args(forecast)

    fit = sub.add_parser(
        "fit", help="fit a model and save it to a file (see 'tsrnn predict')",
        description="Fit a recurrent network to the series, as 'tsrnn forecast' does, and save "
        "it with its history to a model file.",
        epilog=_FIT_EPILOG, formatter_class=raw,
    )
    _add_data_args(fit)
    _add_model_args(fit)
    saving = fit.add_argument_group("output")
    saving.add_argument(
        "--save", metavar="FILE.tsrnn", required=True, help="model file to write (required)"
    )

    predict = sub.add_parser(
        "predict", help="forecast with a model saved by 'tsrnn fit'",
        description="Load a model file written by 'tsrnn fit --save' (or tsrnn.save) and "
        "forecast from the end of its history.",
        epilog=_PREDICT_EPILOG, formatter_class=raw,
    )
    model = predict.add_argument_group("model")
    model.add_argument("--model", metavar="FILE.tsrnn", required=True, help="the model file")
    model.add_argument(
        "--horizon", type=_positive_int, metavar="H",
        help="number of steps to forecast (default: the model's horizon)",
    )
    model.add_argument(
        "--future-covariates", metavar="FILE",
        help="CSV of the known-future covariates over the forecast period, for a model "
             "fitted with them",
    )
    _add_format_args(predict)
    _add_output_args(predict)

    bt = sub.add_parser(
        "backtest", help="evaluate the model on past data (rolling origin)",
        description="Refit the model at several past cutoffs, forecast from each and report "
        "the accuracy against the actual values.",
        epilog=_BACKTEST_EPILOG, formatter_class=raw,
    )
    _add_data_args(bt)
    _add_model_args(bt)
    folds = bt.add_argument_group("folds")
    folds.add_argument(
        "--initial", type=_positive_int, metavar="N",
        help="time steps in the first training set (default: all but 3 horizons)",
    )
    folds.add_argument(
        "--step", type=_positive_int, metavar="S",
        help="time steps between cutoffs (default: the horizon)",
    )
    folds.add_argument(
        "--refit", type=_refit, default=True, metavar="{yes,no,K}",
        help="refit at every cutoff (yes, default), only at the first (no), or every K cutoffs",
    )
    folds.add_argument(
        "--n-jobs", type=int, default=1, metavar="N",
        help="folds fitted in parallel (default: 1; -1 uses all CPUs)",
    )
    folds.add_argument(
        "--season-length", type=_positive_int, metavar="M",
        help="seasonal period of MASE and the naive benchmark (default: from the frequency)",
    )
    out = bt.add_argument_group("output")
    out.add_argument(
        "--output", metavar="FILE.csv", help="write every backtest forecast to a CSV file"
    )
    out.add_argument("--plot", metavar="FILE.png", help="save a plot of the backtest forecasts")

    sub.add_parser(
        "datasets", help="list the bundled datasets", description="List the bundled datasets."
    )
    # listed here for the help; main() hands every argument after "bench" to the script,
    # whose own --help lists its options
    sub.add_parser(
        "bench", add_help=False,
        help="training/inference speed vs PyTorch, compile time, memory (source checkout only)",
        description="Run experiments/bench_speed.py of a source checkout with these arguments.",
    )
    return parser


# --------------------------------------------------------------------------------------------
# files: checked before any work, written atomically
# --------------------------------------------------------------------------------------------


def _same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _check_input(path: str, what: str) -> None:
    """One-line errors for an input file that is missing, a folder or unreadable."""
    if not os.path.exists(path):
        raise _CliError(f"file not found: {_short(path, 200)[1:-1]} ({what})")
    if os.path.isdir(path):
        raise _CliError(f"{what} {_short(path)} is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise _CliError(f"cannot read {what} {_short(path)}: permission denied")


def _check_outputs(args, inputs: list) -> None:
    """Check every file the command will write, before any work is done."""
    outputs = [(flag, getattr(args, attr, None))
               for flag, attr in (("--output", "output"), ("--plot", "plot"), ("--save", "save"))]
    outputs = [(flag, path) for flag, path in outputs if path is not None]
    for flag, path in outputs:
        if not path.strip():
            raise _CliError(f"{flag} needs a file name")
        target = Path(path)
        if target.is_dir() or path.endswith(("/", os.sep)):
            raise _CliError(f"{flag} {_short(path)} is a folder; give a file name in it")
        folder = target.parent
        if not folder.exists():
            raise _CliError(f"{flag} {_short(path)}: the folder {_short(str(folder))} does "
                            "not exist")
        if not folder.is_dir():
            raise _CliError(f"{flag} {_short(path)}: {_short(str(folder))} is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _CliError(f"{flag} {_short(path)}: cannot write to the folder "
                            f"{_short(str(folder))} (permission denied)")
        if target.exists() and not os.access(target, os.W_OK):
            raise _CliError(f"{flag} {_short(path)}: the file is not writable")
        for in_flag, source in inputs:
            if source is not None and _same_file(path, source):
                raise _CliError(
                    f"{flag} {_short(path)} is the input file ({in_flag}); writing there "
                    "would overwrite your data; choose another file name"
                )
        if flag == "--plot" and target.suffix.lower() not in _PLOT_SUFFIXES:
            raise _CliError(
                f"--plot {_short(path)}: unknown image type {_short(target.suffix or '(none)')};"
                f" use one of {', '.join(_PLOT_SUFFIXES[:6])}..."
            )
    for i, (flag, path) in enumerate(outputs):
        for other, other_path in outputs[i + 1:]:
            if _same_file(path, other_path):
                raise _CliError(f"{flag} and {other} are the same file {_short(path)}")
    if getattr(args, "plot", None):
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise _CliError("--plot needs matplotlib: pip install matplotlib")


def _write_atomic(path: str, write) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix}")
    try:
        write(str(tmp))
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise


# --------------------------------------------------------------------------------------------
# reading CSV files
# --------------------------------------------------------------------------------------------


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


def _sep(text):
    if text is None:
        return None
    return {"\\t": "\t", "tab": "\t", "TAB": "\t"}.get(text, text)


_DECIMAL_COMMA = re.compile(r"\s*[-+]?\d*,\d+\s*|\s*[-+]?\d+\s*")


def _read_csv(path: str, args, what: str):
    """Read ``path`` with the file-format options; guess ';' / tab and decimal commas."""
    import pandas as pd

    _check_input(path, what)
    sep, decimal = _sep(args.sep), args.decimal
    if decimal is not None and len(decimal) != 1:
        raise _CliError(f"--decimal must be one character, got {_short(decimal)}")

    def read(s, d):
        try:
            return pd.read_csv(path, sep=s, decimal=d, low_memory=False,
                               encoding=args.encoding or "utf-8-sig")
        except UnicodeDecodeError as exc:
            raise _CliError(
                f"cannot read {what} {_short(path)}: it is not {args.encoding or 'UTF-8'} text "
                f"({_short(str(exc))}); give its encoding with --encoding (e.g. --encoding "
                "latin-1)"
            ) from None
        except LookupError:
            raise _CliError(f"--encoding {_short(args.encoding)} is not a known encoding") \
                from None
        except (IsADirectoryError, PermissionError, OSError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise _CliError(f"cannot read {what} {_short(path)}: {_short(reason)}") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
            raise _CliError(
                f"cannot read {what} {_short(path)} as CSV ({_short(str(exc))}); check the "
                "separator (--sep)"
            ) from None

    frame = read(sep or ",", decimal or ".")
    if sep is None and frame.shape[1] == 1:
        header = str(frame.columns[0])
        for guess in (";", "\t", "|"):
            if guess in header:
                sep = guess
                frame = read(sep, decimal or ".")
                break
    if sep == ";" and decimal is None:
        texts = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
        for c in texts:
            values = frame[c].dropna().astype(str)
            if len(values) and values.str.contains(",").any() and values.map(
                lambda v: bool(_DECIMAL_COMMA.fullmatch(v))
            ).all():
                frame = read(sep, ",")
                break
    if frame.shape[1] == 0:
        raise _CliError(f"{what} {_short(path)} has no columns")
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        guess = next((g for g in (";", "\t", "|", ",") if g in header and g != sep), None)
        hint = f"pass --sep {guess!r}" if guess else "give its separator with --sep"
        raise _CliError(f"{what} {_short(path)} has one column only ({_short(header)}); it "
                        f"needs a time and a target column: {hint}")
    return frame


_TIME_NAMES = ("ds", "date", "time", "timestamp", "datetime", "year", "month", "week", "day",
               "period")
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
    if fmt is not None:
        try:
            return pd.DatetimeIndex(pd.to_datetime(text, format=fmt))
        except (ValueError, TypeError) as exc:
            found = re.search(r'time data "(.*?)"', str(exc))
            value = f"the value {_short(found.group(1))}" if found else _short(str(exc))
            raise _CliError(
                f"--date-format {fmt!r} does not match the time column {col!r} of {where}: "
                f"{value}"
            ) from None
    if text.str.fullmatch(r"[12]\d{3}").all() and kind in (None, "period"):
        return _to_years(text.astype(int).to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if args.dayfirst:
            try:
                return pd.DatetimeIndex(pd.to_datetime(text, dayfirst=True))
            except (ValueError, TypeError) as exc:
                raise _date_error(exc, col, where) from None
        try:
            month_first, error = pd.DatetimeIndex(pd.to_datetime(text)), None
        except (ValueError, TypeError) as exc:
            month_first, error = None, exc
        if not _DAY_MONTH.fullmatch(text.iloc[0]):
            if error is not None:
                raise _date_error(error, col, where) from None
            return month_first
        try:
            day_first = pd.DatetimeIndex(pd.to_datetime(text, dayfirst=True))
        except (ValueError, TypeError):
            day_first = None
    if month_first is None and day_first is None:
        raise _date_error(error, col, where)
    if month_first is None:
        return day_first  # only a day-first reading fits, e.g. 13/01/2024
    if day_first is None or day_first.equals(month_first):
        return month_first
    raise _CliError(
        f"the dates of the time column {col!r} of {where} are ambiguous: "
        f"{_short(text.iloc[0])} may be day/month or month/day; pass --dayfirst for "
        "day/month/year, or the layout with --date-format (e.g. --date-format '%m/%d/%Y')"
    )


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
        row = int(np.flatnonzero(bad.to_numpy())[0])
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
    frame = _read_csv(args.csv, args, "the CSV")
    data = _from_frame(frame, args)
    if args.future_covariates:
        _add_future(data, args)
    return data


def _load_dataset(args) -> _Data:
    import pandas as pd

    from .datasets import list_datasets, load_dataset

    if args.dataset not in list_datasets():
        raise _CliError(
            f"unknown dataset {_short(args.dataset)}; available: {', '.join(list_datasets())}"
        )
    if args.id_col or args.time_col:
        raise _CliError("--id-col and --time-col apply to CSV files, not to --dataset")
    if args.past_covariates or args.future_covariates:
        raise _CliError("--past-covariates and --future-covariates apply to CSV files, "
                        "not to --dataset")
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
    for flag, col in (("--time-col", args.time_col), ("--id-col", args.id_col),
                      ("--target", args.target)):
        if col is not None and col not in columns:
            raise _CliError(f"{flag} {_short(col)} is not a column of {where}; columns: "
                            f"{_names(columns)}")
    past = list(args.past_covariates or [])
    for col in past:
        if col not in columns:
            raise _CliError(f"--past-covariates: {_short(col)} is not a column of {where}; "
                            f"columns: {_names(columns)}")
    note = []
    id_col = args.id_col
    if id_col is None:
        id_col = _pick([c for c in columns if c not in (args.time_col, args.target, *past)],
                       _ID_NAMES)
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
    covs = {c: _numeric(frame, c, "the covariate column (--past-covariates)", where)
            for c in past}
    if id_col is None:
        dup = pd.Index(times).duplicated()
        if dup.any():
            row = int(np.flatnonzero(dup)[0])
            labels = [c for c in columns if c not in used | {target}
                      and not pd.api.types.is_numeric_dtype(frame[c])]
            hint = (f"; if the file holds several series, name the column that identifies "
                    f"them with --id-col (e.g. --id-col {labels[0]})" if labels else
                    "; if the file holds several series, add a column that identifies them "
                    "and name it with --id-col")
            raise _CliError(
                f"the time column {time_col!r} has duplicated timestamps, e.g. "
                f"{_stamp(times[row])} (row {row + 2}){hint}"
            )
        index = pd.Index(times, name=time_col)
        y = pd.Series(values.to_numpy(), index=index, name=target)
        X = pd.DataFrame({c: v.to_numpy() for c, v in covs.items()}, index=index) if past \
            else None
        return _Data(y, time_name=time_col, id_name=None, X=X, past=past or None,
                     note=", ".join(note))
    ids = frame[id_col]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna().to_numpy())[0]) + 2
        raise _CliError(f"the id column {id_col!r} (--id-col) is empty in row {row}")
    long = pd.DataFrame({"unique_id": ids.to_numpy(), "ds": times, "y": values.to_numpy()})
    X = None
    if past:
        X = pd.DataFrame({"unique_id": ids.to_numpy(), "ds": times,
                          **{c: v.to_numpy() for c, v in covs.items()}})
    return _Data(long, time_name=time_col, id_name=id_col, X=X, past=past or None,
                 note=", ".join(note))


def _read_future(args, path, time_name, id_name, kind=None):
    """The known-future covariates file, indexed like the data (Series) or long."""
    import pandas as pd

    frame = _read_csv(path, args, "the --future-covariates file")
    where = _short(path)
    columns = list(frame.columns)
    if time_name not in columns:
        raise _CliError(f"the --future-covariates file {where} has no time column "
                        f"{time_name!r} (columns: {_names(columns)})")
    if id_name is not None and id_name not in columns:
        raise _CliError(f"the --future-covariates file {where} has no id column {id_name!r} "
                        f"(columns: {_names(columns)})")
    cols = [c for c in columns if c not in (time_name, id_name)]
    if not cols:
        raise _CliError(f"the --future-covariates file {where} has no covariate columns")
    times = _parse_time(frame[time_name], args, time_name, where, kind=kind)
    values = {c: _numeric(frame, c, "the covariate column", where).to_numpy() for c in cols}
    if id_name is None:
        index = pd.Index(times, name=time_name)
        if index.has_duplicates:
            raise _CliError(f"the --future-covariates file {where} repeats the timestamp "
                            f"{_stamp(index[index.duplicated()][0])}")
        return pd.DataFrame(values, index=index).sort_index(), cols
    out = pd.DataFrame({"unique_id": frame[id_name].to_numpy(), "ds": times, **values})
    return out.sort_values(["unique_id", "ds"], kind="stable").reset_index(drop=True), cols


def _add_future(data: _Data, args) -> None:
    """Join the known-future covariates to ``data.X`` and keep them as ``X_future``."""
    future, cols = _read_future(args, args.future_covariates, data.time_name, data.id_name)
    clash = [c for c in cols if c in (data.past or [])]
    if clash:
        raise _CliError(f"column(s) {_names(clash)} are both --past-covariates and in the "
                        "--future-covariates file")
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


# --------------------------------------------------------------------------------------------
# the commands
# --------------------------------------------------------------------------------------------


def _forecaster(args, past=None):
    from .forecasting import RNNForecaster

    return RNNForecaster(
        cell=args.cell, window=args.window, horizon=args.horizon, strategy=args.strategy,
        log={"auto": "auto", "yes": True, "no": False}[args.log],
        freq=int(args.freq) if args.freq and args.freq.isdigit() else args.freq,
        deseasonalize={"auto": "auto", "yes": True, "no": False}[args.deseasonalize],
        loss=args.loss, past_covariates=past,
        fill_method=args.fill_method, n_models=args.n_models, hidden_size=args.hidden_size,
        max_iter=args.max_iter, random_state=args.seed, verbose=args.verbose,
        learning_rate_init=args.learning_rate, validation_fraction=args.validation_fraction,
        early_stopping=not args.no_early_stopping,
    )


def _n_series(y) -> int:
    import pandas as pd

    return 1 if isinstance(y, pd.Series) else int(y["unique_id"].nunique())


def _fit(args, data: _Data, err):
    """Fit the forecaster of ``args`` on ``data``; ``(model, seconds)``."""
    model = _forecaster(args, data.past)
    n = _n_series(data.y)
    what = f"{n} series" if n > 1 else "1 series"
    extra = f"; {data.note}" if data.note else ""
    print(f"Fitting {args.cell.upper()} on {what} ({len(data.y)} observations, horizon "
          f"{args.horizon}{extra})...", file=err, flush=True)
    start = time.perf_counter()
    model.fit(data.y, data.X)  # Ctrl-C: the forecaster raises KeyboardInterrupt (see main)
    return model, time.perf_counter() - start


def _fitted_line(model, n_series, elapsed) -> str:
    cell = str(model.cell).upper()
    return (f"Fitted {cell} on {n_series} series (window={model.window_}, "
            f"horizon={model.horizon}, log={'yes' if model.log_ else 'no'}, "
            f"epochs={model.best_epochs_}) in {elapsed:.1f}s")


def _table(forecast, time_name, id_name) -> pd.DataFrame:
    """The forecast as a flat table with the user's column names."""
    import pandas as pd

    if isinstance(forecast, pd.Series):
        forecast = forecast.to_frame("yhat")
    if "unique_id" in forecast.columns:
        return forecast.rename(columns={"unique_id": id_name or "unique_id", "ds": time_name})
    return forecast.rename_axis(time_name).reset_index()


def _save_figure(ax, path: str, written: list) -> None:
    import matplotlib.pyplot as plt

    fig = ax.figure
    fig.tight_layout()
    fmt = Path(path).suffix.lower().lstrip(".")
    _write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=100, format=fmt))
    written.append(path)
    plt.close(fig)


def _plot_forecast(y, forecast, path, levels, written) -> None:
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_forecast

    if isinstance(y, pd.Series):
        ax = plot_forecast(y, forecast, levels=levels or None, title=f"Forecast of {y.name}")
        _save_figure(ax, path, written)
        return
    ids = list(forecast["unique_id"].unique())[:6]
    fig, axes = plt.subplots(len(ids), 1, figsize=(10, 3 * len(ids)), squeeze=False)
    for ax, uid in zip(axes[:, 0], ids):
        plot_forecast(y, forecast, ax=ax, levels=levels or None, unique_id=uid, title=str(uid))
    _save_figure(axes[0, 0], path, written)


def _write_forecast(args, y, forecast, time_name, id_name, out, written) -> None:
    """Print and write the forecast table, and the plot."""
    table = _table(forecast, time_name, id_name)
    if not args.quiet:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    if args.output:
        _write_atomic(args.output, lambda tmp: table.to_csv(tmp, index=False))
        written.append(args.output)
        print(f"Forecasts written to {args.output}", file=out)
    if args.plot:
        _plot_forecast(y, forecast, args.plot, args.level, written)
        print(f"Plot saved to {args.plot}", file=out)


def _inputs(args) -> list:
    return [("CSV", getattr(args, "csv", None)),
            ("--future-covariates", getattr(args, "future_covariates", None)),
            ("--model", getattr(args, "model", None))]


def _run_forecast(args, out, err, written) -> None:
    _check_outputs(args, _inputs(args))
    data = _load(args)
    model, elapsed = _fit(args, data, err)
    forecast = model.predict(X_future=data.X_future, level=args.level)
    print(_fitted_line(model, _n_series(data.y), elapsed), file=out)
    _write_forecast(args, data.y, forecast, data.time_name, data.id_name, out, written)


# the attribute of a model saved by 'tsrnn fit' that keeps the file's column names
_CLI_ATTR = "_tsrnn_cli"


def _run_fit(args, out, err, written) -> None:
    from .persistence import save

    _check_outputs(args, _inputs(args))
    data = _load(args)
    model, elapsed = _fit(args, data, err)
    setattr(model, _CLI_ATTR, {"time_col": str(data.time_name),
                               "id_col": None if data.id_name is None else str(data.id_name)})
    print(_fitted_line(model, _n_series(data.y), elapsed), file=out)
    save(model, args.save)
    written.append(args.save)
    print(f"Model saved to {args.save}", file=out)


def _history(model):
    """The history a fitted forecaster forecasts from, as a Series or long DataFrame."""
    import pandas as pd

    panel = model._panel
    if panel.input_type == "series":
        s = panel.series[0]
        return pd.Series(s.y, index=s.index, name=panel.name)
    return pd.concat(
        [pd.DataFrame({"unique_id": s.uid, "ds": s.index, "y": s.y}) for s in panel.series],
        ignore_index=True,
    )


def _run_predict(args, out, err, written) -> None:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    from .forecasting._base import BaseForecaster
    from .persistence import load

    _check_outputs(args, _inputs(args))
    _check_input(args.model, "the model file (--model)")
    model = load(args.model)
    if not isinstance(model, BaseForecaster):
        raise _CliError(
            f"--model {_short(args.model)} holds a {type(model).__name__}, not a forecaster; "
            "give a file written by 'tsrnn fit --save'"
        )
    try:
        check_is_fitted(model)
    except NotFittedError:
        raise _CliError(f"--model {_short(args.model)} holds an unfitted "
                        f"{type(model).__name__}; fit it with 'tsrnn fit'") from None
    names = getattr(model, _CLI_ATTR, None) or {}
    time_name = names.get("time_col") or model._index_name or "ds"
    id_name = names.get("id_col")
    X_future = None
    if args.future_covariates:
        X_future, _ = _read_future(args, args.future_covariates, time_name,
                                   None if model._input_type == "series" else
                                   (id_name or "unique_id"), kind=model._kind)
    elif getattr(model, "future_covariates_", None):
        raise _CliError(
            f"the model was fitted with known-future covariates "
            f"{_names(model.future_covariates_)}; give them for the forecast period with "
            "--future-covariates FILE"
        )
    forecast = model.predict(h=args.horizon, X_future=X_future, level=args.level)
    _write_forecast(args, _history(model), forecast, time_name, id_name, out, written)


def _run_backtest(args, out, err, written) -> None:
    import pandas as pd

    from .model_selection import _season_length, backtest, evaluate_backtest

    _check_outputs(args, _inputs(args))
    data = _load(args)
    y, time_name, id_name = data.y, data.time_name, data.id_name
    model = _forecaster(args, data.past)
    n_steps = len(y) if isinstance(y, pd.Series) else y["ds"].nunique()
    initial = args.initial if args.initial is not None else n_steps - 3 * args.horizon
    if initial < 1:
        raise _CliError(
            f"the data has {n_steps} time steps, too few for 3 folds of horizon {args.horizon}; "
            "give a smaller --horizon or --initial"
        )
    step = args.step or args.horizon
    m = args.season_length or _season_length(y, model)
    print(f"Backtesting {args.cell.upper()} on {_n_series(y)} series...", file=err, flush=True)
    start = time.perf_counter()
    results = backtest(model, y, initial, step, args.horizon, X=data.X, refit=args.refit,
                       n_jobs=args.n_jobs)
    elapsed = time.perf_counter() - start
    # the model's row, then naive, drift and seasonal naive on the same folds
    scores = evaluate_backtest(results, y, m, model_name=args.cell)
    cols = ["unique_id", "model", "n_folds", "mae", "rmse", "smape", "mase", "mase_naive"]
    table = scores[cols].rename(columns={"unique_id": id_name or "series"})
    n_folds = results["cutoff"].nunique()
    print(
        f"Backtest: {n_folds} folds (first cutoff after {initial} steps, step {step}, "
        f"horizon {args.horizon}, season length {m}) in {elapsed:.1f}s",
        file=out,
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    if scores["unique_id"].nunique() > 1:
        mean = scores.groupby("model", sort=False)[cols[3:]].mean()
        print("\nMean over series:", file=out)
        print(mean.to_string(float_format=lambda v: f"{v:.4g}"), file=out)
    if args.output:
        table_out = _table(results, time_name, id_name)
        _write_atomic(args.output, lambda tmp: table_out.to_csv(tmp, index=False))
        written.append(args.output)
        print(f"Backtest forecasts written to {args.output}", file=out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import plot_backtest

        _save_figure(plot_backtest(results), args.plot, written)
        print(f"Plot saved to {args.plot}", file=out)


def _run_datasets(out) -> None:
    import pandas as pd

    from .datasets import list_datasets, load_dataset

    for name in list_datasets():
        data = load_dataset(name)
        what = "series" if isinstance(data, pd.Series) else f"{data.shape[1]} columns"
        freq = getattr(data.index, "freqstr", "?")
        print(f"{name:16s} {len(data):5d} observations, {what}, frequency {freq}", file=out)


def _bench_script() -> str | None:
    """Path of the speed benchmark script, or None when there is none.

    ``experiments/bench_speed.py`` of the source checkout tsrnn is imported from (an editable
    install), else of the current directory; None for tsrnn installed from a wheel outside
    a clone.
    """
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for root in (package_parent, os.getcwd()):
        path = os.path.join(root, "experiments", "bench_speed.py")
        if os.path.isfile(path):
            return path
    return None


def _run_bench(bench_args) -> int:
    """``tsrnn bench ARGS``: run the benchmark script with ARGS; its exit status."""
    script = _bench_script()
    if script is None:
        print(
            "tsrnn: error: the speed benchmark is not part of the installed package; run "
            "'python experiments/bench_speed.py' from a clone of the repository",
            file=sys.stderr,
        )
        return 2
    return subprocess.run([sys.executable, script, *bench_args], check=False).returncode


def main(argv=None) -> int:
    """Run the ``tsrnn`` command.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments without the program name; ``sys.argv[1:]`` when None.

    Returns
    -------
    int
        Exit status: 0 on success, 2 on a usage, data or file error (reported on stderr as one
        ``tsrnn: error: ...`` line), 130 when interrupted with Ctrl-C.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _run_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    import warnings

    out, err = sys.stdout, sys.stderr
    written: list = []
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _warn_line
            run = {"forecast": _run_forecast, "fit": _run_fit, "predict": _run_predict,
                   "backtest": _run_backtest}.get(args.command)
            if run is None:
                _run_datasets(out)
            else:
                run(args, out, err, written)
    except KeyboardInterrupt:
        done = f"; already written: {', '.join(written)}" if written else "; no file written"
        print(f"tsrnn: interrupted (Ctrl-C){done}", file=err)
        return 130
    except _CliError as exc:
        print(f"tsrnn: error: {_one_line(str(exc))}", file=err)
        return 2
    except ValueError as exc:  # from the forecaster: name the flags, not its parameters
        print(f"tsrnn: error: {_one_line(_flags(str(exc)))}", file=err)
        return 2
    except OSError as exc:  # a file that became unwritable, a full disk...
        what = exc.strerror or str(exc)
        where = f" ({_short(exc.filename)})" if exc.filename else ""
        print(f"tsrnn: error: {_one_line(what)}{where}", file=err)
        return 2
    return 0
