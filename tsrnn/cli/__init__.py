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

The modules are the command's concerns:

===============  ============================================================================
``_parser``      the argparse definitions: sub-commands, options, help texts, argument types
``_paths``       input and output file checks, atomic writes
``_read``        CSV files and datasets: separators, decimals, dates, years, panels,
                 covariates
``_errors``      one-line errors, the forecaster's messages in terms of flags, truncation
``_commands``    forecast, fit, predict, backtest, datasets, bench
===============  ============================================================================

This package imports only the standard library; :func:`main` dispatches to the command.
"""

from __future__ import annotations

import sys

# ``name as name``: the names the tests (and users' scripts) import from ``tsrnn.cli``
from ._commands import _forecaster as _forecaster
from ._commands import _history as _history
from ._commands import (
    _run_backtest,
    _run_bench,
    _run_datasets,
    _run_fit,
    _run_forecast,
    _run_predict,
)
from ._errors import _CliError, _flags, _one_line, _short, _warn_line
from ._parser import build_parser
from ._read import _load as _load

__all__ = ["build_parser", "main"]


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
            run = {
                "forecast": _run_forecast,
                "fit": _run_fit,
                "predict": _run_predict,
                "backtest": _run_backtest,
            }.get(args.command)
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
