"""experiments/bench_scale.py still runs: its panel generator and one tiny size.

Imported by path, as tests/test_bench_smoke.py does for the speed benchmark. No speed or memory
assertion: the benchmark reports those; these tests check the generator against independently
known properties and that a run yields a complete, consistent row.
"""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"


@pytest.fixture(scope="module")
def bench():
    """experiments/bench_scale.py as a module (it imports _env.py from its folder)."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location("bench_scale", EXPERIMENTS / "bench_scale.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EXPERIMENTS))


def test_panel_shape_lengths_positivity(bench):
    df = bench.make_panel(300, length=50, seed=3)
    assert list(df.columns) == ["unique_id", "ds", "y"]
    lengths = df.groupby("unique_id", sort=False).size()
    assert len(lengths) == 300
    assert lengths.min() >= 30 and lengths.max() <= 70  # [0.6, 1.4] x 50
    assert lengths.nunique() > 10  # heterogeneous
    assert len(df) == lengths.sum()
    assert (df["y"] > 0).all() and np.isfinite(df["y"]).all()
    # monthly, consecutive within each series, every series ending in December 2019
    for _, g in list(df.groupby("unique_id"))[:20]:
        months = g["ds"].dt.year * 12 + g["ds"].dt.month
        assert (np.diff(months.to_numpy()) == 1).all()
        assert g["ds"].iloc[-1] == pd.Timestamp("2019-12-01")
        assert (g["ds"].dt.day == 1).all()


def test_panel_is_deterministic_in_the_seed(bench):
    a, b = bench.make_panel(20, 40, seed=1), bench.make_panel(20, 40, seed=1)
    pd.testing.assert_frame_equal(a, b)
    c = bench.make_panel(20, 40, seed=2)
    assert not np.array_equal(a["y"].to_numpy()[:100], c["y"].to_numpy()[:100])


def test_panel_is_seasonal_with_period_12(bench):
    # the mean autocorrelation at lag 12 of the detrended (differenced) log series is clearly
    # positive and larger than at lag 6, where a period-12 sine is anti-correlated
    df = bench.make_panel(200, length=120, seed=0)
    acf12, acf6 = [], []
    for _, g in df.groupby("unique_id"):
        d = np.diff(np.log(g["y"].to_numpy()))
        d = d - d.mean()
        acf12.append(np.dot(d[12:], d[:-12]) / np.dot(d, d))
        acf6.append(np.dot(d[6:], d[:-6]) / np.dot(d, d))
    assert np.mean(acf12) > 0.2 and np.mean(acf6) < 0.0


def test_training_windows_rule(bench):
    # a series of n points gives n - window - horizon + 1 windows, none when too short
    assert bench.training_windows([60], 24, 18) == 19
    assert bench.training_windows([60, 41, 42, 10], 24, 18) == 19 + 0 + 1 + 0


def test_one_tiny_size_in_process(bench):
    row = bench.run_size(30, length=60, seed=0, threads=1, warm_up=False)
    assert row["status"] == "ok" and row["n_series"] == 30
    df = bench.make_panel(30, 60, seed=0)
    assert row["n_obs"] == len(df)
    assert row["values_bytes"] == 8 * len(df)
    assert row["window"] == 24  # max(2 * 12, 18) for series of about 60 points
    lengths = df.groupby("unique_id").size().to_numpy()
    assert row["n_windows"] == int(np.maximum(lengths - 24 - 18 + 1, 0).sum())
    assert row["forecast_rows"] == 30 * 18
    assert row["fit_s"] > 0 and row["predict_s"] > 0
    # the peak while fitting and predicting bounds the fit's (ru_maxrss and the kernel's VmHWM
    # are separate counters: they can differ by a few pages)
    assert row["process_peak_rss_bytes"] >= row["peak_rss_after_fit_bytes"] > 0
    assert row["peak_rss_bytes"] >= row["fit_peak_rss_bytes"] > 0
    if row["peak_reset"]:
        assert row["fit_growth_bytes"] == row["peak_rss_bytes"] - row["rss_before_fit_bytes"]
    assert row["rss_minus_data_bytes"] == row["peak_rss_bytes"] - row["data_bytes"]
    rows = bench.assess([row, {"n_series": 10**6, "status": "timeout after 1 s"}])
    assert rows[0]["ratio_to_smallest"] == 1.0 and rows[0]["time_bound_met"]
    assert "ratio_to_smallest" not in rows[1]


def test_failed_child_becomes_a_row(bench, tmp_path):
    argv = ["--series", "50", "--length", "60", "--timeout", "0.01"]
    args = bench.build_parser().parse_args(argv)
    row = bench.run_child(50, args)
    assert row["n_series"] == 50 and row["status"].startswith("timeout")
    results = {
        "environment": {
            "date": "d",
            "cpu_model": "c",
            "cpu_count": 1,
            "loadavg": None,
            "versions": {},
            "git": None,
            "command": "x",
        },
        "length": 60,
        "seed": 0,
        "threads": 1,
        "rows": [row],
    }
    bench.write(results, str(tmp_path / "s.json"), str(tmp_path / "s.md"))
    text = (tmp_path / "s.md").read_text()
    assert "timeout" in text and "copies the frame's `y` column" not in text
    # under pandas 2 the table says that the forecaster holds a copy of the y column
    for version, said in (("2.3.3", True), ("3.1.1", False)):
        results["environment"]["versions"] = {"pandas": version}
        bench.write(results, str(tmp_path / "s.json"), str(tmp_path / "s.md"))
        text = (tmp_path / "s.md").read_text()
        assert (f"pandas {version}: the forecaster copies the frame's `y` column" in text) == said


def test_neuralforecast_library_without_it_is_a_failed_row_and_its_table(bench, tmp_path):
    pytest.importorskip("numba")  # the tsrnn environment: neuralforecast is not a dependency
    args = bench.build_parser().parse_args(
        ["--library", "neuralforecast", "--max-steps", "5", "--series", "20", "--length", "60"]
    )
    assert args.library == "neuralforecast" and args.max_steps == 5
    row = bench.run_child(20, args)
    if importlib.util.find_spec("neuralforecast") is None:
        assert row["status"] == "exit 1"
        assert any("neuralforecast" in line for line in row["error_tail"])
    else:  # pragma: no cover - an environment with neuralforecast
        assert row["status"] == "ok" and row["steps"] == 5 and row["capped"]
    env = {
        "date": "d",
        "cpu_model": "c",
        "cpu_count": 2,
        "loadavg": None,
        "versions": {"numpy": "1"},
        "git": "g",
        "command": "x",
    }
    ok = {
        "n_series": 1000,
        "n_obs": 200_000,
        "n_windows": 160_000,
        "steps": 5_000,
        "epoch_steps": 10_000,
        "capped": True,
        "fit_s": 12.5,
        "us_per_window": 78.125,
        "predict_s": 1.25,
        "data_bytes": 16_000_000,
        "rss_before_fit_bytes": 900_000_000,
        "peak_rss_bytes": 1_200_000_000,
        "fit_growth_bytes": 300_000_000,
        "rss_minus_data_bytes": 1_184_000_000,
        "versions": {"neuralforecast": "3"},
        "status": "ok",
    }
    results = {"environment": env, "library": "neuralforecast", "threads": 2, "rows": [ok, row]}
    bench.write(results, str(tmp_path / "n.json"), str(tmp_path / "n.md"))
    text = (tmp_path / "n.md").read_text()
    assert "neuralforecast's LSTM" in text
    assert "| 1,000 | 200,000 | 160,000 | 5,000 (of 10,000) | 12.5 | 78.1 | 1.2 |" in text
    assert "| 1,200 | 300 | 1,184 | ok |" in text and "'neuralforecast': '3'" in text
    assert f"| 20 | | | | | | | | | | | | {row['status']} |" in text
