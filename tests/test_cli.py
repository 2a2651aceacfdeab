"""The tsrnn command: forecast, backtest, datasets, help and errors."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tsrnn.cli import main

ROOT = Path(__file__).resolve().parent.parent
FAST = ["--hidden-size", "4", "--max-iter", "4"]


def _is_png(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"\x89PNG") and len(data) > 5000


def test_readme_main_job_runs_fast_with_python_m(tmp_path):
    """The README's command, with default settings, in a fresh interpreter."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "tsrnn",
            "forecast",
            "--dataset",
            "air_passengers",
            "--horizon",
            "12",
            "--output",
            "fc.csv",
            "--plot",
            "fc.png",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 60
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert list(fc.columns) == ["month", "yhat"] and len(fc) == 12
    assert fc["month"].iloc[0] == "1961-01" and fc["month"].iloc[-1] == "1961-12"
    assert fc["yhat"].between(300, 800).all()  # the level of 1960 passengers, in thousands
    assert _is_png(tmp_path / "fc.png")
    assert "Forecasts written to fc.csv" in proc.stdout


def test_forecast_csv_with_levels(tmp_path, capsys):
    n = 60
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2020-01-06", periods=n, freq="W-MON").strftime("%Y-%m-%d"),
            "store": "x",
            "sales": 100 + 10 * np.sin(np.arange(n) / 3),
        }
    )
    frame.to_csv(tmp_path / "sales.csv", index=False)
    code = main(
        [
            "forecast",
            str(tmp_path / "sales.csv"),
            "--time-col",
            "date",
            "--target",
            "sales",
            "--horizon",
            "4",
            "--level",
            "80",
            "95",
            "--output",
            str(tmp_path / "out.csv"),
            *FAST,
        ]
    )
    assert code == 0
    out = pd.read_csv(tmp_path / "out.csv")
    assert list(out.columns) == [
        "date",
        "yhat",
        "yhat_lo_80",
        "yhat_hi_80",
        "yhat_lo_95",
        "yhat_hi_95",
    ]
    assert out["date"].iloc[0] == "2021-03-01"
    assert (out.yhat_lo_95 <= out.yhat).all() and (out.yhat <= out.yhat_hi_95).all()
    assert "yhat_hi_95" in capsys.readouterr().out  # the table is printed too


def test_forecast_long_csv_with_id_column(tmp_path):
    dates = pd.date_range("2023-01-01", periods=40, freq="D")
    frame = pd.concat(
        [
            pd.DataFrame({"shop": shop, "day": dates, "units": 5.0 * (k + 1) + np.arange(40) % 7})
            for k, shop in enumerate(["north", "south"])
        ]
    )
    frame.to_csv(tmp_path / "panel.csv", index=False)
    code = main(
        [
            "forecast",
            str(tmp_path / "panel.csv"),
            "--id-col",
            "shop",
            "--time-col",
            "day",
            "--target",
            "units",
            "--horizon",
            "3",
            "--output",
            str(tmp_path / "fc.csv"),
            "--plot",
            str(tmp_path / "fc.png"),
            "--quiet",
            "--deseasonalize",
            "auto",
            "--loss",
            "absolute_error",
            *FAST,
        ]
    )
    assert code == 0
    fc = pd.read_csv(tmp_path / "fc.csv")
    assert list(fc.columns) == ["shop", "day", "yhat"]
    assert fc.groupby("shop").size().to_dict() == {"north": 3, "south": 3}
    assert _is_png(tmp_path / "fc.png")


def test_quantile_loss_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "q.csv"
    argv = ["forecast", "--dataset", "air_passengers", "--horizon", "3", "--quiet", *FAST]
    code = main([*argv, "--loss", "quantile", "--quantiles", "0.9", "0.1", "--output", str(out)])
    assert code == 0
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["month", "yhat", "yhat_q10", "yhat_q50", "yhat_q90"]
    assert (fc["yhat_q10"] <= fc["yhat_q50"]).all() and (fc["yhat_q50"] <= fc["yhat_q90"]).all()
    assert (fc["yhat"] == fc["yhat_q50"]).all()  # the point forecast is the median
    capsys.readouterr()
    assert main([*argv, "--quantiles", "0.5"]) == 2  # without --loss quantile
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == (
        "tsrnn: error: --quantiles [0.5] is only used with --loss quantile (--loss "
        "squared_error); drop --quantiles or set --loss quantile."
    )
    with pytest.raises(SystemExit):
        main([*argv, "--loss", "quantile", "--quantiles", "90"])
    assert "pass 0.9 for the 90 % quantile" in capsys.readouterr().err


def test_backtest_prints_metrics_table(tmp_path, capsys):
    code = main(
        [
            "backtest",
            "--dataset",
            "air_passengers",
            "--horizon",
            "12",
            "--initial",
            "120",
            "--output",
            str(tmp_path / "bt.csv"),
            "--plot",
            str(tmp_path / "bt.png"),
            *FAST,
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "Backtest: 2 folds" in out
    header = next(line for line in out.splitlines() if "smape" in line).split()
    assert header == ["series", "model", "n_folds", "mae", "rmse", "smape", "mase", "mase_naive"]
    rows = [line.split()[:2] for line in out.splitlines() if line.startswith("passengers ")]
    assert [model for _, model in rows] == ["lstm", "naive", "drift", "seasonal_naive"]
    results = pd.read_csv(tmp_path / "bt.csv")
    assert len(results) == 24 and {"cutoff", "month", "y", "yhat"} <= set(results.columns)
    assert not any(c.startswith("yhat_lo") for c in results.columns)  # the plot's only
    assert _is_png(tmp_path / "bt.png")


def test_backtest_default_initial_counts_the_longest_series(tmp_path, capsys):
    # two monthly series of 24 points with disjoint dates: 48 dates in all, but the folds are
    # laid out on the longest series (24), so the default initial is 24 - 3 * 2 = 18
    rng = np.random.default_rng(0)
    frames = [
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": pd.date_range(start, periods=24, freq="MS"),
                "y": 50 + rng.normal(size=24).cumsum(),
            }
        )
        for uid, start in (("a", "2000-01-01"), ("b", "2002-01-01"))
    ]
    path = tmp_path / "panel.csv"
    pd.concat(frames).to_csv(path, index=False)
    code = main(
        ["backtest", str(path), "--horizon", "2", "--output", str(tmp_path / "bt.csv"), *FAST]
    )
    assert code == 0
    results = pd.read_csv(tmp_path / "bt.csv")
    assert results.groupby("unique_id")["cutoff"].nunique().to_dict() == {"a": 3, "b": 3}
    # the backtest's file in another format: the same table
    fmt = ["--output-sep", ";", "--output-decimal", ",", "--output-date-format", "%d.%m.%Y"]
    out = tmp_path / "bt2.csv"
    code = main(["backtest", str(path), "--horizon", "2", "--output", str(out), *FAST, *fmt])
    assert code == 0
    assert out.read_text().splitlines()[0].count(";") == len(results.columns) - 1
    other = pd.read_csv(out, sep=";", decimal=",")
    for col in ("ds", "cutoff"):
        other[col] = pd.to_datetime(other[col], format="%d.%m.%Y").dt.strftime("%Y-%m-%d")
    pd.testing.assert_frame_equal(other, results)


def test_datasets_and_help(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "air_passengers" in out and "144 observations" in out
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "tsrnn forecast --dataset air_passengers --horizon 12" in text
    with pytest.raises(SystemExit):
        main(["forecast", "--help"])
    text = capsys.readouterr().out
    for option in (
        "--time-col",
        "--target",
        "--id-col",
        "--cell",
        "--window",
        "--horizon",
        "--level",
        "--output",
        "--plot",
        "--dataset",
    ):
        assert option in text
    assert main([]) == 2  # no command: help, non-zero status


@pytest.mark.parametrize(
    "argv, message",
    [
        (["forecast", "--horizon", "3"], "no data: give a CSV file, or --dataset"),
        (["forecast", "--dataset", "nope", "--horizon", "3"], "unknown dataset 'nope'"),
        (["forecast", "--dataset", "macrodata", "--horizon", "3"], "choose one with --target"),
        (["forecast", "missing.csv", "--horizon", "3"], "file not found: missing.csv"),
    ],
)
def test_errors_are_one_clear_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("tsrnn: error: ") and message in err
    assert "Traceback" not in err


def test_csv_problems_are_reported(tmp_path, capsys):
    frame = pd.DataFrame({"ds": ["2020-01-03", "2020-01-01", "2020-01-02"] * 10, "y": 1.0})
    frame.to_csv(tmp_path / "bad.csv", index=False)
    assert main(["forecast", str(tmp_path / "bad.csv"), "--horizon", "2"]) == 2
    assert "duplicated timestamps" in capsys.readouterr().err
    assert main(["forecast", str(tmp_path / "bad.csv"), "--target", "sales", "--horizon", "2"]) == 2
    assert "--target 'sales' is not a column" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["forecast", "--dataset", "nile", "--horizon", "0"])
    assert "expected a positive integer" in capsys.readouterr().err


def test_model_options_reach_the_forecaster():
    from tsrnn.cli import _forecaster, build_parser

    args = build_parser().parse_args(
        [
            "forecast",
            "--dataset",
            "air_passengers",
            "--horizon",
            "6",
            "--deseasonalize",
            "auto",
            "--loss",
            "absolute_error",
            "--log",
            "no",
            "--learning-rate",
            "0.003",
            "--validation-fraction",
            "0",
            "--no-early-stopping",
        ]
    )
    params = _forecaster(args).get_params()
    assert params["deseasonalize"] == "auto" and params["loss"] == "absolute_error"
    assert params["log"] is False
    assert params["learning_rate_init"] == 0.003 and params["validation_fraction"] == 0
    assert params["early_stopping"] is False
    defaults = _forecaster(
        build_parser().parse_args(["forecast", "--dataset", "air_passengers", "--horizon", "6"])
    ).get_params()
    assert defaults["deseasonalize"] == "auto" and defaults["loss"] == "squared_error"
    assert defaults["early_stopping"] is True and defaults["validation_fraction"] == 0.1


# --------------------------------------------------------------------------------------------
# a fast start: lazy imports, and the benchmark outside the package
# --------------------------------------------------------------------------------------------

HEAVY = ("sklearn", "pandas", "numba", "torch", "matplotlib")


def _imported_modules(*args):
    """Names of the modules a fresh ``python -X importtime ARGS`` imported."""
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = [
        line.rsplit("|", 1)[-1].strip()
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    ]
    assert "tsrnn.cli" in names  # the parsing above found the modules
    return proc.stdout, names


@pytest.mark.parametrize(
    "option, expected", [("--help", "tsrnn forecast --dataset"), ("--version", "tsrnn 0.1.0")]
)
def test_help_and_version_import_no_heavy_library(option, expected):
    out, names = _imported_modules("-m", "tsrnn", option)
    assert expected in out
    heavy = sorted({n for n in names if n.split(".")[0] in HEAVY})
    assert heavy == []
    assert not [n for n in names if "bench" in n]


def test_building_the_parser_imports_no_benchmark_code():
    code = (
        "import sys, tsrnn.cli; tsrnn.cli.build_parser(); "
        "assert not [m for m in sys.modules if 'bench' in m], sys.modules"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_public_names_are_lazy_but_complete():
    import tsrnn
    from tsrnn import estimators, forecasting

    assert set(tsrnn.__all__) <= set(dir(tsrnn))
    assert tsrnn.LSTMRegressor is estimators.LSTMRegressor
    assert tsrnn.SeasonalNaiveForecaster is forecasting.SeasonalNaiveForecaster
    assert tsrnn.metrics.__name__ == "tsrnn.metrics"  # submodules as attributes
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        tsrnn.nope  # noqa: B018


def test_pickled_estimator_loads_in_a_fresh_process():
    import pickle

    from tsrnn import GRUClassifier

    blob = pickle.dumps(GRUClassifier(hidden_size=7, random_state=3)).hex()
    code = (
        "import pickle, sys, tsrnn\n"
        "assert 'sklearn' not in sys.modules  # import tsrnn alone is light\n"
        "est = pickle.loads(bytes.fromhex(sys.argv[1]))\n"
        "print(type(est).__name__, est.get_params()['hidden_size'], est.random_state)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, blob], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["GRUClassifier", "7", "3"]


def test_bench_runs_the_script_of_the_checkout(capfd):
    assert main(["bench", "--help"]) == 0
    out = capfd.readouterr().out
    assert "usage: bench_speed.py" in out and "--quick" in out and "--json" in out


def test_bench_outside_a_checkout_is_one_clear_line(monkeypatch, capsys):
    from tsrnn.cli import _commands

    monkeypatch.setattr(_commands, "_bench_script", lambda: None)
    assert main(["bench", "--quick"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tsrnn: error: ") and err.count("\n") == 1
    assert "python experiments/bench_speed.py" in err and "clone of the repository" in err


@pytest.fixture
def saved_axes(monkeypatch):
    """The Axes each --plot figure was saved from (the figures still go to their files)."""
    import matplotlib

    matplotlib.use("Agg")
    from tsrnn.cli import _commands

    axes, save = [], _commands._save_figure

    def capture(ax, path, written):
        axes.append(ax)
        save(ax, path, written)

    monkeypatch.setattr(_commands, "_save_figure", capture)
    return axes


def _plot_bands(ax):
    from matplotlib.collections import PolyCollection

    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_plot_of_the_main_job_has_intervals_and_plot_last(tmp_path, saved_axes):
    """The README's job draws 80 and 95 % intervals without --level; the CSV stays as asked."""
    code = main(
        [
            "forecast",
            "--dataset",
            "air_passengers",
            "--horizon",
            "12",
            "--quiet",
            "--output",
            str(tmp_path / "fc.csv"),
            "--plot",
            str(tmp_path / "fc.png"),
            "--plot-last",
            "36",
            *FAST,
        ]
    )
    assert code == 0
    (ax,) = saved_axes
    assert [band.get_label() for band in _plot_bands(ax)] == ["95% interval", "80% interval"]
    history, forecast = ax.lines
    assert len(history.get_xdata()) == 36
    assert forecast.get_ydata()[0] == history.get_ydata()[-1] == 432.0  # joined at Dec 1960
    assert ax.get_xlabel() == "month" and ax.get_ylabel() == "passengers"
    assert list(pd.read_csv(tmp_path / "fc.csv").columns) == ["month", "yhat"]
    assert _is_png(tmp_path / "fc.png")


def test_plot_shows_the_asked_levels_and_says_when_it_has_none(tmp_path, saved_axes, capsys):
    base = [
        "forecast",
        "--dataset",
        "air_passengers",
        "--horizon",
        "6",
        "--quiet",
        "--plot",
        str(tmp_path / "fc.png"),
        *FAST,
    ]
    assert main([*base, "--level", "90", "--output", str(tmp_path / "fc.csv")]) == 0
    assert [band.get_label() for band in _plot_bands(saved_axes[-1])] == ["90% interval"]
    assert list(pd.read_csv(tmp_path / "fc.csv").columns) == [
        "month",
        "yhat",
        "yhat_lo_90",
        "yhat_hi_90",
    ]
    assert main([*base, "--validation-fraction", "0", "--no-early-stopping"]) == 0
    assert _plot_bands(saved_axes[-1]) == []
    err = capsys.readouterr().err
    assert "the plot shows no intervals" in err and "--validation-fraction" in err


def test_panel_plot_is_a_grid_of_its_series(tmp_path, saved_axes):
    dates = pd.date_range("2023-01-01", periods=40, freq="D")
    frame = pd.concat(
        [
            pd.DataFrame(
                {"unique_id": f"s{k}", "ds": dates, "y": 5.0 * (k + 1) + np.arange(40) % 7}
            )
            for k in range(3)
        ]
    )
    frame.to_csv(tmp_path / "panel.csv", index=False)
    code = main(
        [
            "forecast",
            str(tmp_path / "panel.csv"),
            "--id-col",
            "unique_id",
            "--horizon",
            "3",
            "--quiet",
            "--plot",
            str(tmp_path / "fc.png"),
            "--plot-last",
            "10",
            *FAST,
        ]
    )
    assert code == 0
    fig = saved_axes[0].figure
    assert [ax.get_title() for ax in fig.axes] == ["s0", "s1", "s2"]
    assert all(len(ax.lines[0].get_xdata()) == 10 for ax in fig.axes)
    assert all(len(_plot_bands(ax)) == 2 for ax in fig.axes)


def test_plot_last_needs_plot_and_a_positive_count(capsys):
    base = ["forecast", "--dataset", "air_passengers", "--horizon", "3"]
    assert main([*base, "--plot-last", "12"]) == 2
    assert "--plot-last only applies to the plot: give --plot" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main([*base, "--plot", "fc.png", "--plot-last", "0"])
    assert "--plot-last" in capsys.readouterr().err


def test_backtest_plot_shades_80_percent_intervals_per_fold(tmp_path, saved_axes):
    code = main(
        [
            "backtest",
            "--dataset",
            "air_passengers",
            "--horizon",
            "6",
            "--initial",
            "126",
            "--plot",
            str(tmp_path / "bt.png"),
            *FAST,
        ]
    )
    assert code == 0
    (ax,) = saved_axes
    bands = _plot_bands(ax)
    assert len(bands) == 3  # 3 folds (144 - 126 = 3 x 6) x the 80 % level
    assert [b.get_label() for b in bands] == ["80% interval", "_nolegend_", "_nolegend_"]
