"""The sub-commands of ``tsrnn``: forecast, fit, predict, backtest, datasets and bench.

Each ``_run_*`` function checks the output files, loads the data, fits (or loads) the
:class:`~tsrnn.forecasting.RNNForecaster` built from the options by :func:`_forecaster`, and
prints and writes the result; the files it has written are appended to ``written`` for the
message of an interrupted run. NumPy, pandas, scikit-learn, Numba and matplotlib are imported
here, inside the command that needs them. ``tsrnn bench`` runs ``experiments/bench_speed.py``
of a source checkout (:func:`_bench_script`).
"""

from __future__ import annotations

import codecs
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ._errors import _CliError, _flags, _names, _short
from ._paths import _check_input, _check_outputs, _write_atomic
from ._read import IN_NUMBERS, PLAIN_CSV, _Data, _load, _read_future, _sep

if TYPE_CHECKING:
    import pandas as pd


def _verbosity(args) -> int:
    """The forecaster's verbose: the progress bar by default, the epoch log with --verbose."""
    if args.verbose:
        return 2
    return 0 if getattr(args, "quiet", False) else 1


def _forecaster(args, past=None, verbose=None):
    from ..forecasting import RNNForecaster

    return RNNForecaster(
        cell=args.cell,
        window=args.window,
        horizon=args.horizon,
        strategy=args.strategy,
        log={"auto": "auto", "yes": True, "no": False}[args.log],
        freq=int(args.freq) if args.freq and args.freq.isdigit() else args.freq,
        deseasonalize={"auto": "auto", "yes": True, "no": False}[args.deseasonalize],
        loss=args.loss,
        quantiles=_quantiles(args),
        past_covariates=past,
        fill_method=args.fill_method,
        n_models=args.n_models,
        hidden_size=args.hidden_size,
        max_iter=args.max_iter,
        random_state=args.seed,
        verbose=_verbosity(args) if verbose is None else verbose,
        learning_rate_init=args.learning_rate,
        validation_fraction=args.validation_fraction,
        early_stopping=not args.no_early_stopping,
    )


def _quantiles(args):
    """``--quantiles`` for the forecaster (which refuses them with another --loss)."""
    return None if args.quantiles is None else list(args.quantiles)


def _n_series(y) -> int:
    import pandas as pd

    return 1 if isinstance(y, pd.Series) else int(y["unique_id"].nunique())


def _fit(args, data: _Data, err):
    """Fit the forecaster of ``args`` on ``data``; ``(model, seconds)``."""
    model = _forecaster(args, data.past)
    n = _n_series(data.y)
    what = f"{n} series" if n > 1 else "1 series"
    extra = f"; {data.note}" if data.note else ""
    print(
        f"Fitting {args.cell.upper()} on {what} ({len(data.y)} observations, horizon "
        f"{args.horizon}{extra})...",
        file=err,
        flush=True,
    )
    start = time.perf_counter()
    model.fit(data.y, data.X)  # Ctrl-C: the forecaster raises KeyboardInterrupt (see main)
    return model, time.perf_counter() - start


def _fitted_line(model, n_series, elapsed) -> str:
    cell = str(model.cell).upper()
    return (
        f"Fitted {cell} on {n_series} series (window={model.window_}, "
        f"horizon={model.horizon}, log={'yes' if model.log_ else 'no'}, "
        f"epochs={model.best_epochs_}) in {elapsed:.1f}s"
    )


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


# interval levels the plot shows when --level is not given
_PLOT_LEVELS = [80.0, 95.0]


def _output_format(args, dialect=PLAIN_CSV) -> dict:
    """``DataFrame.to_csv``'s options for --output: the options given, else ``dialect``.

    ``dialect`` is the (separator, decimal mark, encoding) of the CSV the command read; its
    decimal mark gives way to '.' when it is the separator given. Checked before any fit, so
    that a wrong option does not cost a training run.
    """
    sep = getattr(args, "output_sep", None)
    decimal = getattr(args, "output_decimal", None)
    date_format = getattr(args, "output_date_format", None)
    encoding = getattr(args, "output_encoding", None)
    given = [
        flag
        for flag, value in (
            ("--output-sep", sep),
            ("--output-decimal", decimal),
            ("--output-date-format", date_format),
            ("--output-encoding", encoding),
        )
        if value is not None
    ]
    if given and not args.output:
        raise _CliError(
            f"{given[0]} only applies to the --output file: give --output FILE.csv as well"
        )
    if not args.output:
        return {}
    for flag, value in (("--output-sep", sep), ("--output-decimal", decimal)):
        if value is not None and len(_sep(value)) != 1:
            raise _CliError(f"{flag} must be one character, got {_short(value)}")
    sep = dialect[0] if sep is None else _sep(sep)
    if sep in IN_NUMBERS or sep == ".":
        raise _CliError(f"--output-sep {sep!r} would be read as part of the numbers")
    if decimal is None:
        decimal = dialect[1] if dialect[1] != sep else "."
    if decimal in IN_NUMBERS:
        raise _CliError(f"--output-decimal {decimal!r} would be read as part of the numbers")
    if decimal == sep:
        raise _CliError(
            f"--output-decimal and --output-sep are both {sep!r}: the numbers could not be "
            "read back; give another one"
        )
    if date_format is not None and "%" not in date_format:
        raise _CliError(
            f"--output-date-format {_short(date_format)} has no % directive (e.g. "
            "'%d.%m.%Y'): every date would be written the same"
        )
    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise _CliError(
                f"--output-encoding {_short(encoding)} is not a known encoding (e.g. utf-8, "
                "utf-8-sig, latin-1, cp1252)"
            ) from None
    encoding = dialect[2] if encoding is None else encoding
    return {"sep": sep, "decimal": decimal, "date_format": date_format, "encoding": encoding}


def _write_csv(path: str, table, fmt: dict) -> None:
    """Write ``table`` to ``path`` (atomically) with the --output format ``fmt``."""
    try:
        _write_atomic(path, lambda tmp: table.to_csv(tmp, index=False, **fmt))
    except UnicodeEncodeError as exc:
        raise _CliError(
            f"the forecasts hold text that {fmt['encoding']} cannot encode "
            f"({_short(str(exc))}); write another with --output-encoding (e.g. utf-8)"
        ) from None


def _check_plot_last(args) -> None:
    if getattr(args, "plot_last", None) is not None and not args.plot:
        raise _CliError("--plot-last only applies to the plot: give --plot FILE.png as well")


def _predict(model, args, err, **kwargs):
    """Forecast at --level; with --plot and no --level, at the plot's levels when possible."""
    if args.level or not args.plot:
        return model.predict(level=args.level, **kwargs)
    try:
        return model.predict(level=_PLOT_LEVELS, **kwargs)
    except ValueError as exc:  # the model gives no intervals (e.g. --validation-fraction 0)
        forecast = model.predict(**kwargs)
        print(f"tsrnn: note: the plot shows no intervals: {_flags(str(exc))}", file=err)
        return forecast


def _without_intervals(forecast, levels):
    """The forecast without the interval columns of levels the user did not ask for."""
    import pandas as pd

    from ..forecasting._output import _level_name

    if isinstance(forecast, pd.Series):
        return forecast
    keep = {f"yhat_{side}_{_level_name(lv)}" for lv in (levels or []) for side in ("lo", "hi")}
    drop = [
        c
        for c in forecast.columns
        if str(c).startswith(("yhat_lo_", "yhat_hi_")) and str(c) not in keep
    ]
    return forecast.drop(columns=drop)


def _plot_forecast(y, forecast, path, last, written) -> None:
    import matplotlib
    import pandas as pd

    matplotlib.use("Agg")

    from ..plotting import plot_forecast, plot_panel

    if isinstance(y, pd.Series):
        ax = plot_forecast(y, forecast, title=f"Forecast of {y.name}", last=last)
        _save_figure(ax, path, written)
        return
    fig = plot_panel(y, forecast, last=last, max_series=12)
    _save_figure(fig.axes[0], path, written)


def _write_forecast(args, y, forecast, time_name, id_name, out, written, fmt) -> None:
    """Print and write the forecast table (at --level), and the plot (with its intervals).

    ``fmt``: the --output file's ``to_csv`` options (:func:`_output_format`).
    """
    table = _table(_without_intervals(forecast, args.level), time_name, id_name)
    if not args.quiet:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4g}"), file=out)
    if args.output:
        _write_csv(args.output, table, fmt)
        written.append(args.output)
        print(f"Forecasts written to {args.output}", file=out)
    if args.plot:
        _plot_forecast(y, forecast, args.plot, args.plot_last, written)
        print(f"Plot saved to {args.plot}", file=out)


def _inputs(args) -> list:
    return [
        ("CSV", getattr(args, "csv", None)),
        ("--future-covariates", getattr(args, "future_covariates", None)),
        ("--model", getattr(args, "model", None)),
    ]


def _run_forecast(args, out, err, written) -> None:
    _check_outputs(args, _inputs(args))
    _check_plot_last(args)
    data = _load(args)
    fmt = _output_format(args, data.dialect)
    model, elapsed = _fit(args, data, err)
    forecast = _predict(model, args, err, X_future=data.X_future)
    print(_fitted_line(model, _n_series(data.y), elapsed), file=out)
    _write_forecast(args, data.y, forecast, data.time_name, data.id_name, out, written, fmt)


# the attribute of a model saved by 'tsrnn fit' that keeps the file's column names and format
_CLI_ATTR = "_tsrnn_cli"
_DIALECT_KEYS = ("sep", "decimal", "encoding")  # its keys of the format (PLAIN_CSV's order)


def _run_fit(args, out, err, written) -> None:
    from ..persistence import save

    _check_outputs(args, _inputs(args))
    data = _load(args)
    model, elapsed = _fit(args, data, err)
    setattr(
        model,
        _CLI_ATTR,
        {
            "time_col": str(data.time_name),
            "id_col": None if data.id_name is None else str(data.id_name),
            **dict(zip(_DIALECT_KEYS, data.dialect)),  # for 'tsrnn predict --output'
        },
    )
    print(_fitted_line(model, _n_series(data.y), elapsed), file=out)
    print(model.summary(), file=out)
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

    from ..forecasting._base import BaseForecaster
    from ..persistence import load

    _check_outputs(args, _inputs(args))
    _check_plot_last(args)
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
        raise _CliError(
            f"--model {_short(args.model)} holds an unfitted "
            f"{type(model).__name__}; fit it with 'tsrnn fit'"
        ) from None
    names = getattr(model, _CLI_ATTR, None) or {}
    time_name = names.get("time_col") or model._index_name or "ds"
    id_name = names.get("id_col")
    X_future = None
    dialect = tuple(names.get(k) or d for k, d in zip(_DIALECT_KEYS, PLAIN_CSV))
    if args.future_covariates:
        X_future, _, dialect = _read_future(
            args,
            args.future_covariates,
            time_name,
            None if model._input_type == "series" else (id_name or "unique_id"),
            kind=model._kind,
        )
    elif getattr(model, "future_covariates_", None):
        raise _CliError(
            f"the model was fitted with known-future covariates "
            f"{_names(model.future_covariates_)}; give them for the forecast period with "
            "--future-covariates FILE"
        )
    fmt = _output_format(args, dialect)
    forecast = _predict(model, args, err, h=args.horizon, X_future=X_future)
    _write_forecast(args, _history(model), forecast, time_name, id_name, out, written, fmt)


def _run_backtest(args, out, err, written) -> None:
    import pandas as pd

    from ..model_selection import _season_length, backtest, evaluate_backtest

    _check_outputs(args, _inputs(args))
    data = _load(args)
    fmt = _output_format(args, data.dialect)
    y, time_name, id_name = data.y, data.time_name, data.id_name
    verbose = _verbosity(args)  # a bar over the folds, or the fits' epoch logs
    model = _forecaster(args, data.past, verbose=0)
    # folds are laid out on the longest series (per-series cutoffs, see backtest)
    n_steps = len(y) if isinstance(y, pd.Series) else int(y.groupby("unique_id").size().max())
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
    # with --plot, 80 % intervals for the plot (not written to --output)
    levels = [80.0] if args.plot and args.validation_fraction > 0 else None
    folds = dict(X=data.X, refit=args.refit, n_jobs=args.n_jobs, verbose=verbose)
    try:
        results = backtest(model, y, initial, step, args.horizon, level=levels, **folds)
    except ValueError as exc:  # a fold too short to hold windows out: no intervals to plot
        if levels is None or "held-out residuals" not in str(exc):
            raise
        print(f"tsrnn: note: the plot shows no intervals: {_flags(str(exc))}", file=err)
        results = backtest(model, y, initial, step, args.horizon, **folds)
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
        table_out = _table(_without_intervals(results, None), time_name, id_name)
        _write_csv(args.output, table_out, fmt)
        written.append(args.output)
        print(f"Backtest forecasts written to {args.output}", file=out)
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        from ..plotting import plot_backtest

        _save_figure(plot_backtest(results), args.plot, written)
        print(f"Plot saved to {args.plot}", file=out)


def _run_datasets(out) -> None:
    import pandas as pd

    from ..datasets import list_datasets, load_dataset

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
    # the folder that holds the tsrnn package (this file is tsrnn/cli/_commands.py)
    here = os.path.abspath(__file__)
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(here)))
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
