"""Start-up time of the ``tsrnn`` command and of ``import tsrnn``, warm.

    python experiments/bench_cli_startup.py              # 7 runs per command
    python experiments/bench_cli_startup.py --runs 15 --json experiments/results/x.json

Each command runs in a fresh interpreter, once untimed (the operating system's file cache and
Python's bytecode cache are then warm), then ``--runs`` times; the table shows the median and
the fastest wall time, and, for reference, a bare interpreter and the import that ``import
tsrnn`` defers (``from tsrnn import LSTMRegressor``: scikit-learn, Numba, the kernels from
Numba's cache). The JSON (default ``experiments/results/bench_cli_startup.json``) holds every
run and the environment report of ``_env.py``.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed

COMMANDS = (
    ("python (bare interpreter)", ["-c", "pass"]),
    ("python -m tsrnn --version", ["-m", "tsrnn", "--version"]),
    ("python -m tsrnn --help", ["-m", "tsrnn", "--help"]),
    ("import tsrnn", ["-c", "import tsrnn"]),
    ("from tsrnn import LSTMRegressor", ["-c", "from tsrnn import LSTMRegressor"]),
)
DEFAULT_JSON = os.path.join(_env.ROOT, "experiments", "results", "bench_cli_startup.json")


def _env_vars():
    """The environment of the timed processes: tsrnn of this checkout importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([_env.ROOT] + [p for p in [env.get("PYTHONPATH")] if p])
    return env


def time_command(args, runs, env):
    """Wall seconds of ``runs`` fresh ``python ARGS`` processes after one untimed run."""
    cmd = [sys.executable, *args]
    subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - t0)
    return times


def format_table(rows):
    """The results as a text table, one command a line."""
    width = max(len(r["command"]) for r in rows)
    lines = [f"{'command':<{width}}  {'median s':>9}  {'min s':>7}  runs", "-" * (width + 27)]
    for r in rows:
        lines.append(
            f"{r['command']:<{width}}  {r['median_s']:>9.3f}  {r['min_s']:>7.3f}  "
            f"{len(r['times_s'])}"
        )
    return "\n".join(lines)


def build_parser():
    """The script's ``argparse`` parser."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs per command (7)")
    parser.add_argument(
        "--json",
        metavar="PATH",
        default=DEFAULT_JSON,
        help="where to write the results (experiments/results/bench_cli_startup.json)",
    )
    return parser


def main(argv=None):
    """Time the commands, print the table, write the JSON; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    env = _env_vars()
    info = _env.environment(("numpy", "numba", "sklearn", "pandas", "tsrnn"))
    rows = []
    for label, command in COMMANDS:
        times = time_command(command, args.runs, env)
        rows.append(
            {
                "command": label,
                "argv": command,
                "times_s": times,
                "median_s": statistics.median(times),
                "min_s": min(times),
            }
        )
    info["loadavg_end"] = _env.loadavg()
    print(
        f"{info['date']}  {info['cpu_model']} ({info['cpu_count']} CPUs), python "
        f"{info['versions']['python']}, load average {info['loadavg']} -> "
        f"{info['loadavg_end']}"
    )
    print(format_table(rows))
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as fh:
        json.dump({"environment": info, "runs": args.runs, "rows": rows}, fh, indent=1)
    print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
