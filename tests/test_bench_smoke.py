"""The speed benchmark lives in experiments/, outside the package, and still runs.

Smoke tests of experiments/bench_speed.py (imported by path, tiny sizes, no subprocess
checks, PyTorch optional) and of the package tree: no benchmark module inside tsrnn/ and no
module of tsrnn importing torch when it is imported. No speed assertion: speed targets are
evaluated by the benchmark itself, never in unit tests.
"""

import ast
import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

import numba
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXPERIMENTS = ROOT / "experiments"
PACKAGE = ROOT / "tsrnn"


@pytest.fixture(scope="module")
def bench():
    """experiments/bench_speed.py as a module (its helpers are imported from its folder)."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location("bench_speed", EXPERIMENTS / "bench_speed.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EXPERIMENTS))


def _positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_forward_flops_formula(bench):
    # 2·G·N·(D+N) per step; LSTM G = 4; second layer of a bidirectional net sees 2N inputs
    assert bench.forward_flops_per_sample("lstm", 8, 1, 10) == 2 * 4 * 8 * 9 * 10
    assert bench.forward_flops_per_sample("gru", 4, 2, 1, num_layers=2, bidirectional=True) == (
        2 * (2 * 3 * 4 * (2 + 4)) + 2 * (2 * 3 * 4 * (8 + 4))
    )


def test_make_data_windows_are_the_shifted_series(bench):
    X, Y = bench.make_data(5, 4, 2, 3, "float32", seed=0)
    assert X.shape == (5, 4, 2) and Y.shape == (5, 3) and X.dtype == Y.dtype == "float32"
    # window i+1 is window i moved one step; feature 1 is feature 0 one step later;
    # the targets are the values that follow the window of feature 0
    assert (X[1:, :-1, 0] == X[:-1, 1:, 0]).all()
    assert (X[:-1, :, 1] == X[1:, :, 0]).all()
    assert Y[0, 0] == X[1, -1, 0] and Y[1, 0] == X[2, -1, 0]


def test_targets_are_issue_15s_over_every_row(bench):
    """Geometric mean over the 12 main cells; the worst ratios over every row, variants included."""

    def row(cell, hidden, train, predict, variant="", main=True, share=0.5):
        return dict(
            cell=cell,
            hidden=hidden,
            variant=variant,
            main=main,
            train_ratio=train,
            predict_ratio=predict,
            tsrnn_train_peak_share=share,
        )

    rows = [row(c, h, 4.0, 2.5) for c in ("rnn", "lstm", "gru") for h in (16, 64, 128, 256)]
    rows[7]["tsrnn_train_peak_share"] = 0.65  # lstm 256
    rows.append(row("lstm", 64, 1.1, 1.5, variant="2 layers", main=False))
    rows.append(row("rnn", 64, 3.0, 0.9, variant="float64", main=False))
    targets = {t["name"]: t for t in bench.evaluate_targets({"rows": rows})}
    assert targets["training ratio tsrnn/PyTorch, geometric mean"]["status"] == "PASS"
    worst = targets["training ratio, worst cell"]
    assert worst["status"] == "FAIL" and worst["value"] == 1.1
    assert "1 of 14 rows below: lstm h64 2 layers 1.10x" in worst["detail"]
    infer = targets["inference ratio, hidden <= 64 (worst)"]
    assert infer["status"] == "FAIL" and infer["value"] == 0.9
    assert infer["detail"].startswith("2 of 8 rows below: rnn h64 float64 0.90x, lstm h64 2 layers")
    assert targets["LSTM h256 training, share of float32 GEMM peak"]["status"] == "PASS"
    rows[7]["tsrnn_train_peak_share"] = 0.55
    for r in rows:
        r["train_ratio"] = 2.9
    targets = {t["name"]: t for t in bench.evaluate_targets({"rows": rows})}
    assert targets["training ratio tsrnn/PyTorch, geometric mean"]["status"] == "FAIL"
    assert targets["training ratio, worst cell"]["status"] == "PASS"
    assert targets["LSTM h256 training, share of float32 GEMM peak"]["status"] == "FAIL"


def test_quick_run_has_expected_keys_and_positive_numbers(bench):
    result = bench.run_benchmark(
        cells=("lstm",),
        hidden=(4,),
        n_windows=64,
        n_steps=6,
        epochs=1,
        repeats=1,
        predict_windows=64,
        extras=True,
        extra_hidden=4,
        threads=1,
        checks=(),
        gemm_size=128,
    )
    assert {"meta", "gemm", "rows", "targets"} <= set(result)
    meta = result["meta"]
    for key in ("date", "cpu_model", "python", "numpy", "numba", "torch", "threads"):
        assert key in meta
    assert meta["threads"]["requested"] == 1
    assert _positive(result["gemm"]["float32"]["gflops"])
    rows = result["rows"]
    assert [r["variant"] for r in rows] == ["", "bidirectional", "2 layers", "float64"]
    for row in rows:
        for key in (
            "tsrnn_train_sps",
            "tsrnn_predict_sps",
            "tsrnn_train_gflops",
            "tsrnn_train_peak_share",
        ):
            assert _positive(row[key]), key
        if meta["torch"] is not None:
            for key in ("torch_train_sps", "torch_predict_sps", "train_ratio", "predict_ratio"):
                assert _positive(row[key]), key
            assert row["torch_predict_mode"] in ("batches of 1024", "one batch")
    statuses = {t["status"] for t in result["targets"]}
    assert statuses <= {"PASS", "FAIL", "SKIP"}
    json.dumps(result)  # serialisable as --json writes it
    report = bench.format_report(result)
    assert "Targets" in report and "lstm" in report


def test_command_line_options_parse(bench):
    args = bench.build_parser().parse_args(
        [
            "--quick",
            "--cells",
            "rnn,gru",
            "--hidden",
            "8,16",
            "--threads",
            "1",
            "--skip",
            "memory,startup",
            "--json",
            "out.json",
        ]
    )
    assert args.quick and args.cells == ("rnn", "gru") and args.hidden == (8, 16)
    assert args.threads == 1 and args.skip == ("memory", "startup") and args.json == "out.json"


@pytest.mark.parametrize("argv", [["--cells", "bogus", "--skip", "all"]])
def test_unknown_cell_is_rejected(bench, argv):
    with pytest.raises(SystemExit) as exc:
        bench.main(argv)
    assert "unknown cell(s) ['bogus']" in str(exc.value.code)


def test_unknown_skip_value_is_rejected(bench):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--cells", "rnn", "--skip", "memory,compil"])
    assert "unknown --skip value(s) ['compil']" in str(exc.value.code)


def test_child_script_reports_a_result_line(tmp_path):
    """The subprocess checks are a real script; a bad mode is a usage error."""
    child = EXPERIMENTS / "_bench_child.py"
    proc = subprocess.run(
        [sys.executable, str(child), "nope"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode != 0 and "usage: _bench_child.py" in proc.stderr


def test_startup_check_runs_as_a_real_script(bench):
    """(a) through the parent's plumbing: a fresh interpreter runs _bench_child.py startup."""
    wall, res = bench._run_child("startup", {}, bench._child_env(1), timeout=300)
    assert _positive(wall) and _positive(res["import_s"]) and _positive(res["fit_s"])
    assert res["import_s"] + res["fit_s"] < wall  # both measured inside the child


def test_no_benchmark_code_in_the_package():
    """The wheel packs tsrnn/: the benchmark must not be there, nor code run from strings."""
    assert not (PACKAGE / "_bench.py").exists()
    names = [p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")]
    assert not [n for n in names if "bench" in n], names
    assert (EXPERIMENTS / "bench_speed.py").is_file()


def _module_level_imports(tree):
    """Top-level modules imported when the module is imported (not inside functions)."""
    found = []
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Import):
            found += [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append(node.module.split(".")[0])
        elif isinstance(node, (ast.If, ast.Try, ast.With)):
            for field in ("body", "orelse", "finalbody", "handlers"):
                todo += getattr(node, field, [])
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body
    return found


def test_module_level_import_walker_sees_nested_imports():
    tree = ast.parse(
        "import os\ntry:\n    import torch\nexcept ImportError:\n    import a.b\n"
        "def f():\n    import numba\n"
    )
    assert sorted(_module_level_imports(tree)) == ["a", "os", "torch"]


def test_no_module_of_the_package_imports_torch_at_import_time():
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        if "torch" in _module_level_imports(tree):
            offenders.append(path.relative_to(ROOT).as_posix())
    assert offenders == []


def test_every_subpackage_goes_into_the_wheel():
    """The wheel holds exactly the packages listed in pyproject.toml: each folder of tsrnn/
    with an __init__.py must be listed (else the installed package lacks it)."""
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts) for p in PACKAGE.rglob("__init__.py")}
    assert on_disk - listed == set()
    assert not [name for name in listed if "bench" in name or "experiments" in name]


def test_train_step_benchmark_quick_run(tmp_path):
    """experiments/bench_train_step.py --quick: four rows, all with the one-thread bits."""
    sys.path.insert(0, str(EXPERIMENTS))
    try:
        spec = importlib.util.spec_from_file_location(
            "bench_train_step", EXPERIMENTS / "bench_train_step.py"
        )
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        result = module.main(["--quick", "--out", str(tmp_path)])
    finally:
        sys.path.remove(str(EXPERIMENTS))
    rows = result["rows"]
    threads = (1, 2)[: numba.config.NUMBA_NUM_THREADS]  # a one-core machine: one thread only
    assert [(r["loop"], r["threads"]) for r in rows] == [
        (loop, n) for loop in ("compiled", "python") for n in threads
    ]
    assert all(r["identical"] for r in rows)
    assert all(_positive(r["us_per_batch"]) and _positive(r["step_ceiling"]) for r in rows)
    saved = json.loads((tmp_path / "bench_train_step_quick.json").read_text())
    assert saved["rows"] == rows
    assert "| compiled | 1 |" in (tmp_path / "bench_train_step_quick.md").read_text()
