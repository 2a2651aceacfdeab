"""The argument parser of the ``tsrnn`` command: sub-commands, options and argument types.

:func:`build_parser` defines the sub-commands (forecast, fit, predict, backtest, datasets and
bench) with their help texts; the ``_add_*_args`` helpers the option groups they share, the
small functions ``_positive_int``, ``_level``, ``_refit``... the argument types that turn a
bad value into a usage error naming it. Only the standard library is imported, so
``tsrnn --help`` and ``tsrnn --version`` start fast.
"""

from __future__ import annotations

import argparse

from ._errors import _one_line, _short

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
in long format, fitted as one global model (series in the order they first appear; rows in
any order, each series read in time order). Timestamps must be unique within each series and
have a regular frequency (inferred, or given with --freq). Missing values are an error unless
--fill-method is given. Files separated by ';' or tabs are recognised (or give --sep); in a
file not separated by commas, numbers with decimal commas are read as such (or give --decimal);
thousands separators (1.234,5 or "1,234.5") are read too.

Covariates: --past-covariates names columns of the CSV known only up to the forecast origin;
--future-covariates FILE gives known-future covariates (e.g. holidays, prices) in a second CSV
with the same time (and id) column, covering the history and the next --horizon steps.
"""

_FORECAST_EPILOG = (
    _DATA_NOTES
    + """
The output CSV has the time column, 'yhat' (the forecast) and, with --level 80 95,
'yhat_lo_80', 'yhat_hi_80', 'yhat_lo_95', 'yhat_hi_95' (conformal prediction intervals).
It is written with the input CSV's separator, decimal mark and --encoding (a ';' file with
decimal commas gets one back) and ISO dates; --output-sep, --output-decimal and --output-date-format
choose others.

example:
  tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png
"""
)

_FIT_EPILOG = (
    _DATA_NOTES
    + """
The model file (written with tsrnn.save: no pickle, checksummed, versioned) holds the network
and the history the forecasts start from; 'tsrnn predict --model FILE' forecasts from it
and writes its --output with the fitted CSV's separator, decimal mark and encoding.

example:
  tsrnn fit --dataset air_passengers --horizon 12 --save air.tsrnn
"""
)

_PREDICT_EPILOG = """\
Forecasts from the end of the history the model was fitted on, without refitting. The output
has the same columns as 'tsrnn forecast', written with the separator, decimal mark and
encoding of the --future-covariates file when one is given, else of the CSV the model was
fitted on ('tsrnn fit' keeps them in the model file), else ',', '.' and UTF-8. A model fitted
with known-future covariates needs them again for the forecast period: --future-covariates
FILE.

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


def _add_format_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("file format")
    group.add_argument(
        "--sep",
        metavar="CHAR",
        help="field separator of the CSV files (default: ',', or ';' / tab when the header "
        "uses it; '\\t' for tab)",
    )
    group.add_argument(
        "--decimal",
        metavar="CHAR",
        help="decimal mark (default: '.', or ',' for files separated by ';', tabs or '|' "
        "whose numbers use it)",
    )
    group.add_argument(
        "--date-format",
        metavar="FMT",
        help="layout of the dates, e.g. '%%d.%%m.%%Y' or '%%Y%%m%%d' (default: inferred)",
    )
    group.add_argument(
        "--encoding",
        metavar="NAME",
        help="text encoding of the CSV files, e.g. latin-1 (default: UTF-8)",
    )
    group.add_argument(
        "--dayfirst",
        action="store_true",
        help="read dates such as 01/02/2024 as day/month/year",
    )


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("csv", nargs="?", metavar="CSV", help="CSV file with the series")
    group.add_argument(
        "--dataset",
        metavar="NAME",
        help="use a bundled dataset instead of a CSV (see 'tsrnn datasets')",
    )
    group.add_argument(
        "--time-col",
        metavar="COL",
        help="time column of the CSV (default: 'ds', 'date', 'time', 'year'... if present, "
        "else the first column)",
    )
    group.add_argument(
        "--target",
        metavar="COL",
        help="column to forecast (default: 'y' if present, else the only other numeric column)",
    )
    group.add_argument(
        "--id-col",
        metavar="COL",
        help="series identifier column, for a CSV holding several series (long format; "
        "default: 'unique_id' or 'id' if present)",
    )
    group.add_argument(
        "--freq",
        metavar="FREQ",
        help="frequency of the timestamps, e.g. D, W-SUN, MS, h (default: inferred)",
    )
    group.add_argument(
        "--fill-method",
        choices=["ffill", "interpolate", "zero"],
        help="fill missing values instead of stopping with an error",
    )
    cov = parser.add_argument_group("covariates")
    cov.add_argument(
        "--past-covariates",
        type=_columns,
        metavar="COL[,COL]",
        help="columns of the CSV observed only up to the forecast origin (fed as inputs)",
    )
    cov.add_argument(
        "--future-covariates",
        metavar="FILE",
        help="CSV of known-future covariates: the time (and id) column and covariate columns, "
        "covering the history and the next --horizon steps",
    )
    _add_format_args(parser)


def _add_model_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model")
    group.add_argument(
        "--horizon",
        type=_positive_int,
        required=True,
        metavar="H",
        help="number of steps to forecast (required)",
    )
    group.add_argument(
        "--cell",
        choices=["lstm", "gru", "rnn"],
        default="lstm",
        help="recurrent cell (default: lstm)",
    )
    group.add_argument(
        "--window",
        type=_positive_int,
        metavar="W",
        help="past steps the network reads (default: two seasons, at least the horizon)",
    )
    group.add_argument(
        "--strategy",
        choices=["direct", "recursive"],
        default="direct",
        help="direct multi-step output, or a one-step model applied recursively (default: direct)",
    )
    group.add_argument(
        "--log",
        choices=["auto", "yes", "no"],
        default="auto",
        help="model log(y): 'auto' does it when all values are positive (default: auto)",
    )
    group.add_argument(
        "--deseasonalize",
        choices=["no", "auto", "yes"],
        default="auto",
        help="remove seasonal indices: 'auto' only from series with significant seasonality "
        "(default: auto)",
    )
    group.add_argument(
        "--loss",
        choices=["squared_error", "absolute_error", "quantile"],
        default="squared_error",
        help="training loss; absolute_error targets the median; quantile fits the levels of "
        "--quantiles and gives yhat_q<percent> columns (default: squared_error)",
    )
    group.add_argument(
        "--quantiles",
        type=_quantile_level,
        nargs="+",
        metavar="Q",
        help="with --loss quantile: the quantile levels as fractions, e.g. --quantiles 0.1 0.5 "
        "0.9 (default: 0.1 0.5 0.9; 0.5 is always added); --level 80 then uses 0.1 and 0.9",
    )
    group.add_argument(
        "--hidden-size",
        type=_positive_int,
        default=32,
        metavar="N",
        help="units of the recurrent layer (default: 32)",
    )
    group.add_argument(
        "--max-iter",
        type=_positive_int,
        default=200,
        metavar="N",
        help="maximum training epochs (default: 200; early stopping usually ends sooner)",
    )
    group.add_argument(
        "--n-models",
        type=_positive_int,
        default=1,
        metavar="N",
        help="average N networks trained from different seeds (default: 1)",
    )
    group.add_argument(
        "--learning-rate",
        type=_positive_float,
        default=0.01,
        metavar="LR",
        help="step size of the Adam optimiser (default: 0.01)",
    )
    group.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.1,
        metavar="F",
        help="share of each series' latest windows held out for early stopping and the "
        "interval calibration (default: 0.1; 0 needs --no-early-stopping and gives no "
        "intervals)",
    )
    group.add_argument(
        "--no-early-stopping",
        action="store_true",
        help="no early stopping on held-out windows: train until the training loss stalls "
        "(50 epochs without improvement) or for --max-iter epochs",
    )
    group.add_argument(
        "--seed",
        type=int,
        default=0,
        help="random seed; the same seed gives the same forecast (default: 0)",
    )
    group.add_argument(
        "--verbose",
        action="store_true",
        help="print the training log on stderr, one line per epoch under a header per "
        "training stage, instead of the progress bar",
    )


def _add_output_format(out) -> None:
    """The written CSV's format: by default that of the CSV the command read."""
    out.add_argument(
        "--output-sep",
        metavar="CHAR",
        help="field separator of the --output file (default: the input CSV's, given or "
        "recognised; ',' for --dataset and for 'tsrnn predict' without the fitted file's; "
        "'\\t' for tab)",
    )
    out.add_argument(
        "--output-decimal",
        metavar="CHAR",
        help="decimal mark of the --output file (default: the input CSV's, or '.' when that "
        "is the --output-sep)",
    )
    out.add_argument(
        "--output-date-format",
        metavar="FMT",
        help="layout of the dates in the --output file, e.g. '%%d.%%m.%%Y' (default: ISO "
        "8601, 2024-01-31 or 2024-01-31 06:00:00; years and integer steps are written as "
        "numbers)",
    )
    out.add_argument(
        "--output-encoding",
        metavar="ENC",
        help="text encoding of the --output file, e.g. utf-8 (default: the input CSV's "
        "--encoding, or UTF-8 with the byte-order mark when the input has one, else UTF-8; "
        "'utf-8-sig' writes the mark that spreadsheets look for)",
    )


def _add_output_args(parser: argparse.ArgumentParser) -> None:
    out = parser.add_argument_group("output")
    out.add_argument(
        "--level",
        type=_level,
        nargs="+",
        metavar="L",
        help="prediction interval levels in percent, e.g. --level 80 95",
    )
    out.add_argument("--output", metavar="FILE.csv", help="write the forecasts to a CSV file")
    _add_output_format(out)
    out.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a plot of history and forecast (.png, .pdf, .svg, .jpg...), with the "
        "--level intervals (80 and 95 when --level is not given); a panel is drawn as a "
        "grid of its first 12 series",
    )
    out.add_argument(
        "--plot-last",
        type=_positive_int,
        metavar="N",
        help="show only the last N observations of the history in the plot (default: all)",
    )
    out.add_argument(
        "--quiet",
        action="store_true",
        help="do not print the forecast table, nor (when fitting) the progress bar and "
        "compile notice on stderr",
    )


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


def _quantile_level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {_short(text)}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(
            f"expected a quantile level strictly between 0 and 1, got {_short(text)} "
            "(pass 0.9 for the 90 % quantile)"
        )
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
        raise argparse.ArgumentTypeError(f"expected a number from 0 to below 1, got {_short(text)}")
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
        prog="tsrnn",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter
    forecast = sub.add_parser(
        "forecast",
        help="fit a model and forecast the next steps",
        description="Fit a recurrent network to the series and forecast the next --horizon steps.",
        epilog=_FORECAST_EPILOG,
        formatter_class=raw,
    )
    _add_data_args(forecast)
    _add_model_args(forecast)
    _add_output_args(forecast)

    fit = sub.add_parser(
        "fit",
        help="fit a model and save it to a file (see 'tsrnn predict')",
        description="Fit a recurrent network to the series, as 'tsrnn forecast' does, and save "
        "it with its history to a model file.",
        epilog=_FIT_EPILOG,
        formatter_class=raw,
    )
    _add_data_args(fit)
    _add_model_args(fit)
    saving = fit.add_argument_group("output")
    saving.add_argument(
        "--save", metavar="FILE.tsrnn", required=True, help="model file to write (required)"
    )
    saving.add_argument(
        "--quiet",
        action="store_true",
        help="do not print the progress bar and compile notice of the fit (stderr)",
    )

    predict = sub.add_parser(
        "predict",
        help="forecast with a model saved by 'tsrnn fit'",
        description="Load a model file written by 'tsrnn fit --save' (or tsrnn.save) and "
        "forecast from the end of its history.",
        epilog=_PREDICT_EPILOG,
        formatter_class=raw,
    )
    model = predict.add_argument_group("model")
    model.add_argument("--model", metavar="FILE.tsrnn", required=True, help="the model file")
    model.add_argument(
        "--horizon",
        type=_positive_int,
        metavar="H",
        help="number of steps to forecast (default: the model's horizon)",
    )
    model.add_argument(
        "--future-covariates",
        metavar="FILE",
        help="CSV of the known-future covariates over the forecast period, for a model "
        "fitted with them",
    )
    _add_format_args(predict)
    _add_output_args(predict)

    bt = sub.add_parser(
        "backtest",
        help="evaluate the model on past data (rolling origin)",
        description="Refit the model at several past cutoffs, forecast from each and report "
        "the accuracy against the actual values.",
        epilog=_BACKTEST_EPILOG,
        formatter_class=raw,
    )
    _add_data_args(bt)
    _add_model_args(bt)
    folds = bt.add_argument_group("folds")
    folds.add_argument(
        "--initial",
        type=_positive_int,
        metavar="N",
        help="time steps in the first training set (default: all but 3 horizons)",
    )
    folds.add_argument(
        "--step",
        type=_positive_int,
        metavar="S",
        help="time steps between cutoffs (default: the horizon)",
    )
    folds.add_argument(
        "--refit",
        type=_refit,
        default=True,
        metavar="{yes,no,K}",
        help="refit at every cutoff (yes, default), only at the first (no), or every K cutoffs",
    )
    folds.add_argument(
        "--n-jobs",
        type=int,
        default=1,
        metavar="N",
        help="folds fitted in parallel (default: 1; -1 uses all CPUs)",
    )
    folds.add_argument(
        "--season-length",
        type=_positive_int,
        metavar="M",
        help="seasonal period of MASE and the naive benchmark (default: from the frequency)",
    )
    out = bt.add_argument_group("output")
    out.add_argument(
        "--output", metavar="FILE.csv", help="write every backtest forecast to a CSV file"
    )
    _add_output_format(out)
    out.add_argument(
        "--plot",
        metavar="FILE.png",
        help="save a plot of the backtest forecasts of the first series, with 80 %% intervals",
    )
    out.add_argument(
        "--quiet",
        action="store_true",
        help="do not print the progress bar over the folds and the compile notice (stderr)",
    )

    sub.add_parser(
        "datasets", help="list the bundled datasets", description="List the bundled datasets."
    )
    # listed here for the help; main() hands every argument after "bench" to the script,
    # whose own --help lists its options
    sub.add_parser(
        "bench",
        add_help=False,
        help="training/inference speed vs PyTorch, compile time, memory (source checkout only)",
        description="Run experiments/bench_speed.py of a source checkout with these arguments.",
    )
    return parser
