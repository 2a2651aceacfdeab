"""The ``tsrnn`` command: forecast or backtest a CSV file or a bundled dataset.

Run ``tsrnn --help`` (or ``python -m tsrnn --help``) for usage. The command is a thin layer over
:class:`tsrnn.forecasting.RNNForecaster` and :func:`tsrnn.model_selection.backtest`.

Building the parser imports nothing beyond the standard library, so ``tsrnn --help`` and
``tsrnn --version`` are fast: NumPy, pandas, scikit-learn and Numba are imported inside the
sub-command that runs. ``tsrnn bench`` runs ``experiments/bench_speed.py`` of a source checkout
(the benchmark is not part of the installed package).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["main"]

_DESCRIPTION = """\
Forecast time series with a recurrent neural network (LSTM, GRU or RNN).

Give the data either as a CSV file (one row per timestamp; add --id-col for a file holding
several series in long format) or with --dataset NAME for a bundled example dataset.
"""

_EPILOG = """\
examples:
  tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png
  tsrnn forecast sales.csv --time-col date --target sales --horizon 14 --level 80 95
  tsrnn forecast panel.csv --id-col store --time-col date --target sales --horizon 7
  tsrnn backtest --dataset air_passengers --horizon 12 --initial 96
  tsrnn datasets

Run 'tsrnn forecast --help' or 'tsrnn backtest --help' for all options.
"""

_FORECAST_EPILOG = """\
The CSV needs a time column (dates, or integers for a plain step count) and a numeric target
column; with --id-col it may hold many series in long format, which are fitted as one global
model. Timestamps must be sorted and unique within each series and have a regular frequency
(inferred, or given with --freq). Missing values are an error unless --fill-method is given.

The output CSV has the time column, 'yhat' (the forecast) and, with --level 80 95,
'yhat_lo_80', 'yhat_hi_80', 'yhat_lo_95', 'yhat_hi_95' (conformal prediction intervals).

example:
  tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png
"""

_BACKTEST_EPILOG = """\
The model is refitted at every cutoff: the first after --initial time steps, then every --step
steps, each forecasting --horizon steps. The table reports MAE, RMSE, sMAPE (percent) and MASE
(relative to the in-sample seasonal naive error) for the model and for the seasonal naive
benchmark, which repeats the last observed season.

example:
  tsrnn backtest --dataset air_passengers --horizon 12 --initial 96
"""


class _CliError(Exception):
    """An error to report to the user as one line, without a traceback."""


def _add_data_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("data")
    group.add_argument("csv", nargs="?", metavar="CSV", help="CSV file with the series")
    group.add_argument(
        "--dataset", metavar="NAME",
        help="use a bundled dataset instead of a CSV (see 'tsrnn datasets')",
    )
    group.add_argument(
        "--time-col", metavar="COL",
        help="time column of the CSV (default: 'ds' if present, else the first column)",
    )
    group.add_argument(
        "--target", metavar="COL",
        help="column to forecast (default: 'y' if present, else the only other numeric column)",
    )
    group.add_argument(
        "--id-col", metavar="COL",
        help="series identifier column, for a CSV holding several series (long format)",
    )
    group.add_argument(
        "--freq", metavar="FREQ",
        help="frequency of the timestamps, e.g. D, W-SUN, MS, h (default: inferred)",
    )
    group.add_argument(
        "--fill-method", choices=["ffill", "interpolate", "zero"],
        help="fill missing values instead of stopping with an error",
    )


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
        "--seed", type=int, default=0,
        help="random seed; the same seed gives the same forecast (default: 0)",
    )
    group.add_argument("--verbose", action="store_true", help="print training progress")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _level(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number such as 80 or 95, got {text!r}"
        ) from None
    if not 0 < value < 100:
        raise argparse.ArgumentTypeError(f"a level must be between 0 and 100, got {text!r}")
    return value


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
            f"expected yes, no or a number of folds, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected yes, no or a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tsrnn`` command.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="tsrnn", description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"tsrnn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    forecast = sub.add_parser(
        "forecast", help="fit a model and forecast the next steps",
        description="Fit a recurrent network to the series and forecast the next --horizon steps.",
        epilog=_FORECAST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_data_args(forecast)
    _add_model_args(forecast)
    out = forecast.add_argument_group("output")
    out.add_argument(
        "--level", type=_level, nargs="+", metavar="L",
        help="prediction interval levels in percent, e.g. --level 80 95",
    )
    out.add_argument("--output", metavar="FILE.csv", help="write the forecasts to a CSV file")
    out.add_argument("--plot", metavar="FILE.png", help="save a plot of history and forecast")
    out.add_argument("--quiet", action="store_true", help="do not print the forecast table")

    bt = sub.add_parser(
        "backtest", help="evaluate the model on past data (rolling origin)",
        description="Refit the model at several past cutoffs, forecast from each and report "
        "the accuracy against the actual values.",
        epilog=_BACKTEST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
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
# data loading
# --------------------------------------------------------------------------------------------


def _load(args):
    """Return ``(y, time_name, id_name)``: a Series or long DataFrame and the output names."""
    import pandas as pd

    if args.csv and args.dataset:
        raise _CliError("give either a CSV file or --dataset, not both")
    if args.dataset:
        return _load_dataset(args)
    if not args.csv:
        raise _CliError("no data: give a CSV file, or --dataset NAME (see 'tsrnn datasets')")
    try:
        frame = pd.read_csv(args.csv)
    except FileNotFoundError:
        raise _CliError(f"file not found: {args.csv}") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _CliError(f"cannot read {args.csv} as CSV: {exc}") from None
    return _from_frame(frame, args)


def _load_dataset(args):
    import pandas as pd

    from .datasets import list_datasets, load_dataset

    if args.dataset not in list_datasets():
        raise _CliError(
            f"unknown dataset {args.dataset!r}; available: {', '.join(list_datasets())}"
        )
    data = load_dataset(args.dataset)
    if args.id_col or args.time_col:
        raise _CliError("--id-col and --time-col apply to CSV files, not to --dataset")
    if isinstance(data, pd.DataFrame):
        if args.target is None:
            raise _CliError(
                f"dataset {args.dataset!r} has several columns; choose one with --target "
                f"(one of: {', '.join(map(str, data.columns))})"
            )
        if args.target not in data.columns:
            raise _CliError(
                f"dataset {args.dataset!r} has no column {args.target!r}; choose one of: "
                f"{', '.join(map(str, data.columns))}"
            )
        data = data[args.target]
    elif args.target is not None and args.target != data.name:
        raise _CliError(f"dataset {args.dataset!r} has one series, named {data.name!r}")
    return data, data.index.name or "ds", None


def _from_frame(frame: pd.DataFrame, args):
    import numpy as np
    import pandas as pd

    columns = list(frame.columns)
    if not columns:
        raise _CliError(f"{args.csv} has no columns")
    time_col = args.time_col or ("ds" if "ds" in columns else columns[0])
    used = {time_col} | ({args.id_col} if args.id_col else set())
    for name, col in (("--time-col", time_col), ("--id-col", args.id_col)):
        if col is not None and col not in columns:
            raise _CliError(f"{name} {col!r} is not a column of {args.csv}; columns: {columns}")
    target = args.target
    if target is None:
        if "y" in columns and "y" not in used:
            target = "y"
        else:
            numeric = [c for c in columns if c not in used
                       and pd.api.types.is_numeric_dtype(frame[c])]
            if len(numeric) != 1:
                raise _CliError(
                    f"cannot tell which column to forecast; choose one with --target "
                    f"(columns: {columns})"
                )
            target = numeric[0]
    if target not in columns:
        raise _CliError(f"--target {target!r} is not a column of {args.csv}; columns: {columns}")
    if target in used:
        raise _CliError(f"--target {target!r} is also the time or id column")
    times = frame[time_col]
    if not pd.api.types.is_integer_dtype(times):
        try:
            times = pd.to_datetime(times)
        except (ValueError, TypeError) as exc:
            raise _CliError(
                f"cannot parse the time column {time_col!r} as dates ({exc}); use dates such "
                "as 2024-01-31 or integer time steps"
            ) from None
    values = pd.to_numeric(frame[target], errors="coerce")
    bad = values.isna() & frame[target].notna()
    if bad.any():
        raise _CliError(
            f"target column {target!r} holds non-numeric values, e.g. "
            f"{frame.loc[bad, target].iloc[0]!r} (row {int(np.flatnonzero(bad)[0]) + 2})"
        )
    if args.id_col:
        long = pd.DataFrame({"unique_id": frame[args.id_col], "ds": times, "y": values})
        return long, time_col, args.id_col
    series = pd.Series(values.to_numpy(), index=pd.Index(times, name=time_col), name=target)
    return series, time_col, None


def _forecaster(args):
    from .forecasting import RNNForecaster

    return RNNForecaster(
        cell=args.cell, window=args.window, horizon=args.horizon, strategy=args.strategy,
        log={"auto": "auto", "yes": True, "no": False}[args.log], freq=args.freq,
        deseasonalize={"auto": "auto", "yes": True, "no": False}[args.deseasonalize],
        loss=args.loss,
        fill_method=args.fill_method, n_models=args.n_models, hidden_size=args.hidden_size,
        max_iter=args.max_iter, random_state=args.seed, verbose=args.verbose,
    )


def _table(forecast, time_name, id_name) -> pd.DataFrame:
    """The forecast as a flat table with the user's column names."""
    import pandas as pd

    if isinstance(forecast, pd.Series):
        forecast = forecast.to_frame("yhat")
    if "unique_id" in forecast.columns:
        return forecast.rename(columns={"unique_id": id_name or "unique_id", "ds": time_name})
    return forecast.rename_axis(time_name).reset_index()


def _save_figure(ax, path: str) -> None:
    fig = ax.figure
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    import matplotlib.pyplot as plt

    plt.close(fig)


def _plot_forecast(y, forecast, path, levels) -> None:
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plotting import plot_forecast

    if isinstance(y, pd.Series):
        ax = plot_forecast(y, forecast, levels=levels or None, title=f"Forecast of {y.name}")
        _save_figure(ax, path)
        return
    ids = list(forecast["unique_id"].unique())[:6]
    fig, axes = plt.subplots(len(ids), 1, figsize=(10, 3 * len(ids)), squeeze=False)
    for ax, uid in zip(axes[:, 0], ids):
        plot_forecast(y, forecast, ax=ax, levels=levels or None, unique_id=uid, title=str(uid))
    _save_figure(axes[0, 0], path)


def _run_forecast(args, out) -> None:
    import pandas as pd

    y, time_name, id_name = _load(args)
    model = _forecaster(args)
    start = time.perf_counter()
    model.fit(y)
    forecast = model.predict(level=args.level)
    elapsed = time.perf_counter() - start
    table = _table(forecast, time_name, id_name)
    n_series = 1 if isinstance(y, pd.Series) else y["unique_id"].nunique()
    print(
        f"Fitted {args.cell.upper()} on {n_series} series (window={model.window_}, "
        f"horizon={args.horizon}, log={'yes' if model.log_ else 'no'}, "
        f"epochs={model.best_epochs_}) in {elapsed:.1f}s",
        file=out,
    )
    if not args.quiet:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    if args.output:
        table.to_csv(args.output, index=False)
        print(f"Forecasts written to {args.output}", file=out)
    if args.plot:
        _plot_forecast(y, forecast, args.plot, args.level)
        print(f"Plot saved to {args.plot}", file=out)


def _run_backtest(args, out) -> None:
    import pandas as pd

    from .forecasting import SeasonalNaiveForecaster
    from .model_selection import _season_length, backtest, evaluate_backtest

    y, time_name, id_name = _load(args)
    model = _forecaster(args)
    n_steps = len(y) if isinstance(y, pd.Series) else y["ds"].nunique()
    initial = args.initial if args.initial is not None else n_steps - 3 * args.horizon
    if initial < 1:
        raise _CliError(
            f"the data has {n_steps} time steps, too few for 3 folds of horizon {args.horizon}; "
            "give a smaller --horizon or --initial"
        )
    step = args.step or args.horizon
    m = args.season_length or _season_length(y, model)
    start = time.perf_counter()
    results = backtest(model, y, initial, step, args.horizon, refit=args.refit, n_jobs=args.n_jobs)
    elapsed = time.perf_counter() - start
    naive = backtest(SeasonalNaiveForecaster(season_length=m, freq=args.freq,
                                             fill_method=args.fill_method),
                     y, initial, step, args.horizon)
    scores = pd.concat(
        [
            evaluate_backtest(results, y, m).assign(model=args.cell),
            evaluate_backtest(naive, y, m).assign(model="seasonal_naive"),
        ],
        ignore_index=True,
    )
    scores = scores.sort_values(["unique_id", "model"], kind="stable")
    cols = ["unique_id", "model", "n_folds", "mae", "rmse", "smape", "mase"]
    table = scores[cols].rename(columns={"unique_id": id_name or "series"})
    n_folds = results["cutoff"].nunique()
    print(
        f"Backtest: {n_folds} folds (first cutoff after {initial} steps, step {step}, "
        f"horizon {args.horizon}, season length {m}) in {elapsed:.1f}s",
        file=out,
    )
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    if scores["unique_id"].nunique() > 1:
        mean = scores.groupby("model", sort=False)[["mae", "rmse", "smape", "mase"]].mean()
        print("\nMean over series:", file=out)
        print(mean.to_string(float_format=lambda v: f"{v:.4g}"), file=out)
    if args.output:
        _table(results, time_name, id_name).to_csv(args.output, index=False)
        print(f"Backtest forecasts written to {args.output}", file=out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from .plotting import plot_backtest

        _save_figure(plot_backtest(results), args.plot)
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
        Exit status: 0 on success, 2 on a usage or data error (reported on stderr as one
        ``tsrnn: error: ...`` line).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:
        return _run_bench(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    out = sys.stdout
    try:
        if args.command == "forecast":
            _run_forecast(args, out)
        elif args.command == "backtest":
            _run_backtest(args, out)
        else:
            _run_datasets(out)
    except (_CliError, ValueError) as exc:
        print(f"tsrnn: error: {exc}", file=sys.stderr)
        return 2
    return 0
