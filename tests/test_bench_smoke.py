"""Smoke test of the speed benchmark (tsrnn._bench, experiments/bench_speed.py).

Tiny sizes, no subprocess checks, PyTorch optional.  No speed assertion:
speed targets are evaluated by the benchmark itself, never in unit tests.
"""

import json
import math

import pytest

from tsrnn import _bench


def _positive(x):
    return isinstance(x, float) and math.isfinite(x) and x > 0


def test_forward_flops_formula():
    # 2·G·N·(D+N) per step; LSTM G = 4; second layer of a bidirectional net sees 2N inputs
    assert _bench.forward_flops_per_sample("lstm", 8, 1, 10) == 2 * 4 * 8 * 9 * 10
    assert _bench.forward_flops_per_sample("gru", 4, 2, 1, num_layers=2, bidirectional=True) == (
        2 * (2 * 3 * 4 * (2 + 4)) + 2 * (2 * 3 * 4 * (8 + 4))
    )


def test_quick_run_has_expected_keys_and_positive_numbers():
    result = _bench.run_benchmark(
        cells=("lstm",), hidden=(4,), n_windows=64, n_steps=6, epochs=1, repeats=1,
        predict_windows=64, extras=True, extra_hidden=4, threads=1, checks=(),
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
        for key in ("tsrnn_train_sps", "tsrnn_predict_sps", "tsrnn_train_gflops",
                    "tsrnn_train_peak_share"):
            assert _positive(row[key]), key
        if meta["torch"] is not None:
            for key in ("torch_train_sps", "torch_predict_sps", "train_ratio",
                        "predict_ratio"):
                assert _positive(row[key]), key
            assert row["torch_predict_mode"] in ("batches of 1024", "one batch")
    statuses = {t["status"] for t in result["targets"]}
    assert statuses <= {"PASS", "FAIL", "SKIP"}
    json.dumps(result)  # serialisable as --json writes it
    report = _bench.format_report(result)
    assert "Targets" in report and "lstm" in report


def test_command_line_options_parse():
    args = _bench.build_parser().parse_args(
        ["--quick", "--cells", "rnn,gru", "--hidden", "8,16", "--threads", "1",
         "--skip", "memory,startup", "--json", "out.json"]
    )
    assert args.quick and args.cells == ("rnn", "gru") and args.hidden == (8, 16)
    assert args.threads == 1 and args.skip == ("memory", "startup") and args.json == "out.json"


@pytest.mark.parametrize("argv", [["--cells", "bogus", "--skip", "all"]])
def test_unknown_cell_is_rejected(argv):
    with pytest.raises(SystemExit):
        _bench.main(argv)
