"""Speed benchmark: tsrnn estimators against an equivalent PyTorch training loop.

    python experiments/bench_speed.py                       # full run (~10 min on 2 cores)
    python experiments/bench_speed.py --quick               # smoke run (~1 min)
    python experiments/bench_speed.py --json experiments/results/bench_speed.json
    python experiments/bench_speed.py --cells lstm --hidden 64,256 --threads 1 --skip all

``python experiments/bench_speed.py --help`` lists every option; ``tsrnn bench ARGS`` runs this
file with the same arguments when tsrnn is installed from a clone of the repository (the
benchmark is not part of the installed package).

Everything runs in one process with one thread count for both libraries (BLAS and OpenMP
pools through threadpoolctl, ``torch.set_num_threads``), on the same data, with the same
optimiser (Adam, lr 1e-3) and batch size, in float32 unless a row says otherwise.

What is measured
----------------
- training: ``est.fit`` on ``n_windows`` windows for ``epochs`` epochs (shuffle on, no early
  stopping) vs a PyTorch ``nn.RNN/LSTM/GRU`` + ``nn.Linear`` loop (``_bench_torch.py``); best
  of ``repeats`` timed runs each, both sides warmed up first (a small fit for tsrnn so that
  compilation is excluded, a few steps for torch);
- inference: ``est.predict`` vs a ``torch.no_grad()`` forward, batches of 1024 or one batch,
  whichever is faster for torch (reported);
- GFLOP/s: forward = 2·G·N·(D+N) per sample, step, layer and direction (G = 1, 3, 4 for RNN,
  GRU, LSTM; the head is ignored), training = 3 × forward, and the share of the float32 (or
  float64) GEMM peak of NumPy's matmul measured in the same run with the same threads;
- in subprocesses (``_bench_child.py``): (a) wall time of a fresh process with a warm Numba
  cache that imports tsrnn and fits a small LSTMRegressor, (b) compilation of every kernel for
  one dtype from an empty kernel cache (``TSRNN_CACHE_DIR`` and ``NUMBA_CACHE_DIR`` set to a new
  temporary folder; first fit of each workload, cold vs warm), (c)
  compiled signatures per kernel after a hyper-parameter sweep, (d) peak RSS (``ru_maxrss``)
  while training on many windows vs the size of the data.

Entry points: :func:`run_benchmark` (returns a JSON-serialisable dict), :func:`format_report`,
:func:`build_parser` / :func:`run_from_args`, and :func:`main` (``argv`` list, returns an exit
code). The machine description comes from ``_env.py``, shared by every experiment.
"""

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import _env
import numpy as np
from _bench_child import make_data
from _bench_torch import import_torch, time_torch

__all__ = ["build_parser", "format_report", "main", "run_benchmark", "run_from_args"]

CHILD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bench_child.py")
"""The script of the subprocess checks (a)-(d)."""

CELLS = ("rnn", "lstm", "gru")
HIDDEN = (16, 64, 128, 256)
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
EXTRA_VARIANTS = ("bidirectional", "2 layers", "float64")

# targets: issue 15's acceptance 2 (the geometric mean over the 12 float32 one-layer cells; the
# worst training and inference ratios over every row, the bidirectional, 2-layer and float64
# ones included); the subprocess checks' from the first speed issue
TARGET_TRAIN_GEOMEAN = 3.0
TARGET_TRAIN_MIN = 1.2
TARGET_PREDICT_RATIO = 2.0
TARGET_PREDICT_MAX_HIDDEN = 64
TARGET_LSTM256_PEAK_SHARE = 0.60
TARGET_STARTUP_S = 3.0
TARGET_COLD_COMPILE_S = 60.0
TARGET_MEMORY_OVERHEAD_MB = 500.0

QUICK = dict(
    cells=("lstm",),
    hidden=(16, 64),
    n_windows=1024,
    epochs=1,
    repeats=1,
    extra_hidden=16,
    memory_windows=200_000,
)


# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def forward_flops_per_sample(cell, hidden, n_features, n_steps, num_layers=1, bidirectional=False):
    """Forward FLOPs of one sample: Σ over layers and directions of 2·G·N·(D+N)·T."""
    G, N = GATES[cell], hidden
    dirs = 2 if bidirectional else 1
    total = 0
    for k in range(num_layers):
        D = n_features if k == 0 else N * dirs
        total += dirs * 2 * G * N * (D + N)
    return total * n_steps


def _package_root():
    """The folder holding the imported ``tsrnn`` package (put on the children's path)."""
    import tsrnn

    return os.path.dirname(os.path.dirname(os.path.abspath(tsrnn.__file__)))


def _kernels_fingerprint():
    import hashlib

    from tsrnn import _kernels

    try:
        with open(_kernels.__file__, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()[:12]
    except OSError:
        return None


def _log(verbose, msg):
    if verbose:
        print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------
# the two sides
# --------------------------------------------------------------------------


def _estimator(cell, hidden, num_layers, bidirectional, dtype, batch_size, epochs, seed):
    from tsrnn import estimators as E

    cls = {"rnn": E.RNNRegressor, "lstm": E.LSTMRegressor, "gru": E.GRURegressor}[cell]
    return cls(
        hidden_size=hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        batch_size=batch_size,
        max_iter=epochs,
        solver="adam",
        learning_rate_init=1e-3,
        shuffle=True,
        early_stopping=False,
        n_iter_no_change=10**9,
        tol=0.0,
        random_state=seed,
        dtype=dtype,
        device="cpu",
    )


def _fit_quietly(est, X, Y):
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, Y)
    return est


def _time_tsrnn(cfg, X, Y, Xp, epochs, repeats, seed):
    """(train seconds, predict seconds) best of repeats; warm-up fit first."""
    cell, hidden, layers, bidir, dtype, batch = (
        cfg["cell"],
        cfg["hidden"],
        cfg["num_layers"],
        cfg["bidirectional"],
        cfg["dtype"],
        cfg["batch_size"],
    )
    warm = _estimator(cell, hidden, layers, bidir, dtype, batch, 1, seed)
    _fit_quietly(warm, X[: 2 * batch], Y[: 2 * batch])  # compiles (or loads) the kernels
    warm.predict(Xp[:batch])
    train, pred, est = math.inf, math.inf, None
    for _ in range(repeats):
        est = _estimator(cell, hidden, layers, bidir, dtype, batch, epochs, seed)
        t0 = time.perf_counter()
        _fit_quietly(est, X, Y)
        train = min(train, time.perf_counter() - t0)
        if est.n_iter_ != epochs:
            raise RuntimeError(f"tsrnn ran {est.n_iter_} epochs instead of {epochs}")
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        est.predict(Xp)
        pred = min(pred, time.perf_counter() - t0)
    return train, pred


# --------------------------------------------------------------------------
# subprocess checks (a)-(d)
# --------------------------------------------------------------------------

# Workloads that between them call every kernel the estimators use (float32 or
# float64), on both training paths: one layer (a fused step per chunk, tsrnn._fused) and
# the layer loop of deeper networks (each kernel called on its own): each cell with MSE,
# the MAE loss, cross-entropy, SGD + L2 + clipping, two bidirectional layers.  Tiny sizes:
# the time is the compilation.
_COVERAGE = (
    ("lstm", "LSTMRegressor", dict()),
    ("gru", "GRURegressor", dict()),
    ("rnn", "RNNRegressor", dict()),
    ("mae", "LSTMRegressor", dict(loss="absolute_error")),
    ("xent", "LSTMClassifier", dict()),
    ("sgd+l2+clip", "GRURegressor", dict(solver="sgd", alpha=1e-3, clip_grad_norm=1.0)),
    ("2 layers bidir", "RNNRegressor", dict(num_layers=2, bidirectional=True)),
    ("lstm 2 layers, mae", "LSTMRegressor", dict(num_layers=2, loss="absolute_error")),
    ("gru 2 layers, xent", "GRUClassifier", dict(num_layers=2)),
)


def _child_env(threads, cache_dir=None):
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    root = _package_root()
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    env.pop("NUMBA_DISABLE_JIT", None)
    if cache_dir is not None:
        # tsrnn keeps its kernels in TSRNN_CACHE_DIR (else a per-user folder, see
        # tsrnn._cache); NUMBA_CACHE_DIR for any other cached function
        env["TSRNN_CACHE_DIR"] = cache_dir
        env["NUMBA_CACHE_DIR"] = cache_dir
    return env


def _run_child(mode, payload, env, timeout):
    """Run ``_bench_child.py MODE`` in a fresh interpreter; (wall seconds, RESULT dict)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, CHILD, mode, json.dumps(payload)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return wall, json.loads(line[len("RESULT ") :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    raise RuntimeError(f"child exited with {proc.returncode}: " + " | ".join(tail))


def _subprocess_checks(checks, threads, dtype, memory, timeout, verbose):
    """(a)-(d); each failure is recorded as {'error': ...} and the others still run."""
    out = {}
    cache_dir = tempfile.mkdtemp(prefix="tsrnn-bench-numba-")
    try:
        env = _child_env(threads, cache_dir)
        workloads = [list(w) for w in _COVERAGE]
        if "compile" in checks or "startup" in checks or "signatures" in checks:
            # (b) always runs first: it fills the temporary cache that (a), (c) use warm
            _log(verbose, "[bench] (b) compiling every kernel from an empty NUMBA_CACHE_DIR ...")
            try:
                wall, res = _run_child(
                    "compile", {"workloads": workloads, "dtype": dtype}, env, timeout
                )
                res["wall_s"] = wall
                res["dtype"] = dtype
                res["compile_s"] = sum(max(s["cold_s"] - s["warm_s"], 0.0) for s in res["steps"])
                res["not_compiled"] = [k for k, v in res["signatures"].items() if v == 0]
                out["compile"] = res
            except (RuntimeError, subprocess.SubprocessError) as exc:
                out["compile"] = {"error": str(exc)}
        if "startup" in checks:
            _log(verbose, "[bench] (a) fresh process, warm cache: import + small LSTM fit ...")
            try:
                runs = [_run_child("startup", {}, env, timeout) for _ in range(2)]
                walls = [w for w, _ in runs]
                best = int(np.argmin(walls))
                out["startup"] = {"wall_s": walls[best], "all_wall_s": walls, **runs[best][1]}
            except (RuntimeError, subprocess.SubprocessError) as exc:
                out["startup"] = {"error": str(exc)}
        if "signatures" in checks:
            _log(verbose, "[bench] (c) hyper-parameter sweep, counting compiled signatures ...")
            try:
                wall, res = _run_child(
                    "sweep", {"workloads": workloads, "dtype": dtype}, env, timeout
                )
                ref, after = res["reference"], res["after"]
                res["new_signatures"] = {
                    k: after[k] - ref.get(k, 0) for k in after if after[k] != ref.get(k, 0)
                }
                res["max_per_kernel"] = max(after.values()) if after else 0
                res["dtype"] = dtype
                res["wall_s"] = wall
                out["signatures"] = res
            except (RuntimeError, subprocess.SubprocessError) as exc:
                out["signatures"] = {"error": str(exc)}
        if "memory" in checks:
            _log(
                verbose, f"[bench] (d) peak memory training on {memory['n_windows']:,} windows ..."
            )
            try:
                wall, res = _run_child("memory-launcher", dict(memory), env, timeout)
                res.update(memory)
                res["wall_s"] = wall
                res["overhead_mb"] = (res["peak_bytes"] - res["data_bytes"]) / 2**20
                out["memory"] = res
            except (RuntimeError, subprocess.SubprocessError) as exc:
                out["memory"] = {"error": str(exc), **memory}
    finally:
        shutil.rmtree(cache_dir, ignore_errors=True)
    return out


# --------------------------------------------------------------------------
# the benchmark
# --------------------------------------------------------------------------


def _configs(cells, hidden, extras, extra_hidden, batch_size):
    rows = []
    base = dict(num_layers=1, bidirectional=False, dtype="float32", batch_size=batch_size)
    for cell in cells:
        for h in hidden:
            rows.append(dict(base, cell=cell, hidden=h, variant="", main=True))
    if extras:
        for cell in cells:
            for variant in EXTRA_VARIANTS:
                cfg = dict(base, cell=cell, hidden=extra_hidden, variant=variant, main=False)
                if variant == "bidirectional":
                    cfg["bidirectional"] = True
                elif variant == "2 layers":
                    cfg["num_layers"] = 2
                else:
                    cfg["dtype"] = "float64"
                rows.append(cfg)
    return rows


def _measure_rows(
    torch,
    threads,
    cells,
    hidden,
    extras,
    extra_hidden,
    batch_size,
    n_windows,
    n_steps,
    n_features,
    n_outputs,
    epochs,
    repeats,
    predict_windows,
    gemm_size,
    seed,
    verbose,
    meta,
):
    """GEMM peaks and the timed rows, under the thread limits set by the caller.

    All tsrnn rows run first, then all PyTorch rows: torch's idle OpenMP workers
    spin for a while after each parallel region, and interleaving let them steal a
    core from the tsrnn measurements on a small machine.
    """
    import numba

    meta["threads"] = {
        "requested": threads,
        "tsrnn_numba": numba.get_num_threads(),
        "torch": torch.get_num_threads() if torch is not None else None,
        "numba_config": numba.config.NUMBA_NUM_THREADS,
        "pools": _env.thread_pools(),
    }
    _log(verbose, f"[bench] GEMM peak ({gemm_size}x{gemm_size}, {threads} threads) ...")
    gemm = {dt: _env.gemm_peak_gflops(dt, gemm_size) for dt in ("float32", "float64")}

    X32, Y32 = make_data(n_windows, n_steps, n_features, n_outputs, "float32", seed)
    Xp32 = make_data(predict_windows, n_steps, n_features, n_outputs, "float32", seed + 1)[0]
    data = {
        "float32": (X32, Y32, Xp32),
        "float64": (X32.astype(np.float64), Y32.astype(np.float64), Xp32.astype(np.float64)),
    }
    rows = []
    for cfg in _configs(cells, hidden, extras, extra_hidden, batch_size):
        X, Y, Xp = data[cfg["dtype"]]
        _log(verbose, f"[bench] tsrnn {_label(cfg)} ...")
        fwd = forward_flops_per_sample(
            cfg["cell"], cfg["hidden"], n_features, n_steps, cfg["num_layers"], cfg["bidirectional"]
        )
        row = dict(
            cfg, n_windows=n_windows, epochs=epochs, n_steps=n_steps, forward_flops_per_sample=fwd
        )
        tr, tp = _time_tsrnn(cfg, X, Y, Xp, epochs, repeats, seed)
        row.update(
            tsrnn_train_s=tr,
            tsrnn_train_sps=n_windows * epochs / tr,
            tsrnn_predict_s=tp,
            tsrnn_predict_sps=predict_windows / tp,
        )
        _log(
            verbose,
            f"        train {row['tsrnn_train_sps']:.0f} samples/s, predict "
            f"{row['tsrnn_predict_sps']:.0f} samples/s",
        )
        rows.append(row)
    if torch is not None:
        for row in rows:
            X, Y, Xp = data[row["dtype"]]
            _log(verbose, f"[bench] torch {_label(row)} ...")
            ttr, ttp, mode = time_torch(torch, row, X, Y, Xp, epochs, repeats, seed)
            row.update(
                torch_train_s=ttr,
                torch_train_sps=n_windows * epochs / ttr,
                torch_predict_s=ttp,
                torch_predict_sps=predict_windows / ttp,
                torch_predict_mode=mode,
            )
            row["train_ratio"] = row["tsrnn_train_sps"] / row["torch_train_sps"]
            row["predict_ratio"] = row["tsrnn_predict_sps"] / row["torch_predict_sps"]
            _log(
                verbose,
                f"        train {row['torch_train_sps']:.0f} samples/s, predict "
                f"{row['torch_predict_sps']:.0f} samples/s ({mode})",
            )
    # the peak again at the end: the better of the two is the machine's peak
    gemm = {dt: max(g, _env.gemm_peak_gflops(dt, gemm_size)) for dt, g in gemm.items()}
    for row in rows:
        fwd = row["forward_flops_per_sample"]
        for side in ("tsrnn", "torch"):
            if f"{side}_train_sps" in row:
                g = 3 * fwd * row[f"{side}_train_sps"] / 1e9
                row[f"{side}_train_gflops"] = g
                row[f"{side}_train_peak_share"] = g / gemm[row["dtype"]]
                row[f"{side}_predict_gflops"] = fwd * row[f"{side}_predict_sps"] / 1e9
    return gemm, rows


def _label(cfg):
    return f"{cfg['cell']} h{cfg['hidden']} {cfg['variant']}".strip()


def run_benchmark(
    cells=CELLS,
    hidden=HIDDEN,
    *,
    n_windows=4096,
    n_steps=48,
    n_features=1,
    n_outputs=12,
    batch_size=64,
    epochs=1,
    repeats=2,
    predict_windows=4096,
    extras=True,
    extra_hidden=64,
    threads=None,
    use_torch=True,
    checks=("compile", "startup", "signatures", "memory"),
    memory_windows=200_000,
    memory_hidden=64,
    memory_cell="lstm",
    gemm_size=2048,
    subprocess_timeout=900,
    seed=0,
    verbose=False,
):
    """Run the benchmark and return a JSON-serialisable dict of results.

    Parameters
    ----------
    cells, hidden : sequences
        The grid of main rows (float32, one layer, one direction).
    n_windows, epochs, repeats : int
        Each timed fit trains ``epochs`` epochs on ``n_windows`` windows; the
        best of ``repeats`` timings is kept (same for torch).
    extras : bool
        Add, for each cell at ``extra_hidden``, a bidirectional, a 2-layer and
        a float64 row.
    threads : int or None
        Threads for both libraries (BLAS, OpenMP, torch); None = os.cpu_count().
    use_torch : bool
        Compare against PyTorch when it is importable (tsrnn-only columns otherwise).
    checks : iterable of {'compile', 'startup', 'signatures', 'memory'}
        Subprocess checks (b), (a), (c), (d) to run; empty to skip them all.
    memory_windows : int
        Windows of the peak-memory run (d) (the issue's full size is 1,000,000).

    Returns
    -------
    dict with keys ``meta``, ``gemm``, ``rows``, ``compile``, ``startup``,
    ``signatures``, ``memory`` (absent when skipped) and ``targets``.
    """
    import numba
    from threadpoolctl import threadpool_limits

    import tsrnn

    threads = int(threads or os.cpu_count() or 1)
    checks = tuple(checks)
    torch = import_torch() if use_torch else None
    torch_note = None
    if use_torch and torch is None:
        torch_note = (
            "PyTorch is not installed: tsrnn-only columns. Install the bench "
            "extra (pip install 'tsrnn[bench]') for the comparison."
        )
        print(f"[bench] {torch_note}", file=sys.stderr, flush=True)
    t_start = time.perf_counter()
    load_start = _env.loadavg()
    result = {
        "meta": {
            "date": _env.now(),
            "cpu_model": _env.cpu_model(),
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "command": _env.command(),
            "blas": _env.blas_kernel(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "numba": numba.__version__,
            "torch": getattr(torch, "__version__", None),
            "tsrnn": tsrnn.__version__,
            "git": _env.git_describe(_package_root()),
            "kernels_sha256": _kernels_fingerprint(),
            "torch_note": torch_note,
            "config": dict(
                cells=list(cells),
                hidden=list(hidden),
                n_windows=n_windows,
                n_steps=n_steps,
                n_features=n_features,
                n_outputs=n_outputs,
                batch_size=batch_size,
                epochs=epochs,
                repeats=repeats,
                predict_windows=predict_windows,
                extras=extras,
                extra_hidden=extra_hidden,
                optimizer="adam lr=1e-3 betas=(0.9, 0.999) eps=1e-8",
                checks=list(checks),
                memory_windows=memory_windows,
                memory_hidden=memory_hidden,
                memory_cell=memory_cell,
                gemm_size=gemm_size,
                seed=seed,
            ),
        }
    }
    # tsrnn splits each batch into row chunks run on numba.get_num_threads() threads
    # (BLAS held to one thread inside); torch uses its intra-op OpenMP pool.  Both are
    # set to `threads`, and the BLAS / OpenMP pools are limited to it as well.
    numba_threads_before = numba.get_num_threads()
    numba_threads = min(threads, numba.config.NUMBA_NUM_THREADS)
    if numba_threads != threads:
        print(
            f"[bench] NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS} caps tsrnn at "
            f"{numba_threads} threads",
            file=sys.stderr,
            flush=True,
        )
    with threadpool_limits(limits=threads):
        numba.set_num_threads(numba_threads)
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            gemm, rows = _measure_rows(
                torch,
                threads,
                cells,
                hidden,
                extras,
                extra_hidden,
                batch_size,
                n_windows,
                n_steps,
                n_features,
                n_outputs,
                epochs,
                repeats,
                predict_windows,
                gemm_size,
                seed,
                verbose,
                result["meta"],
            )
        finally:
            numba.set_num_threads(numba_threads_before)
    result["gemm"] = {
        dt: {"size": gemm_size, "gflops": g, "threads": threads} for dt, g in gemm.items()
    }
    result["rows"] = rows
    if checks:
        memory = dict(
            n_windows=int(memory_windows),
            n_steps=n_steps,
            n_outputs=n_outputs,
            hidden=memory_hidden,
            estimator={"rnn": "RNNRegressor", "lstm": "LSTMRegressor", "gru": "GRURegressor"}[
                memory_cell
            ],
        )
        result.update(
            _subprocess_checks(checks, threads, "float32", memory, subprocess_timeout, verbose)
        )
    result["meta"]["loadavg_start"] = load_start
    result["meta"]["loadavg_end"] = _env.loadavg()
    result["meta"]["elapsed_s"] = time.perf_counter() - t_start
    result["meta"]["busy_warning"] = _busy(result["meta"])
    result["targets"] = evaluate_targets(result)
    return result


# --------------------------------------------------------------------------
# targets and report
# --------------------------------------------------------------------------


def _below(rows, key, goal):
    """'cell (ratio), ...' of the rows whose ``key`` is under ``goal``, worst first."""
    low = sorted((r for r in rows if r[key] < goal), key=lambda r: r[key])
    if not low:
        return f"all {len(rows)} rows"
    names = ", ".join(f"{_label(r)} {r[key]:.2f}x" for r in low)
    return f"{len(low)} of {len(rows)} rows below: {names}"


def _target(name, value, goal, passed, detail=""):
    status = "SKIP" if passed is None else ("PASS" if passed else "FAIL")
    return {"name": name, "value": value, "goal": goal, "status": status, "detail": detail}


def evaluate_targets(result):
    """PASS / FAIL / SKIP for each target of the issue."""
    rows = result.get("rows", [])
    main = [r for r in rows if r["main"]]
    with_torch = [r for r in main if "train_ratio" in r]
    every = [r for r in rows if "train_ratio" in r]  # the variant rows too
    out = []
    if with_torch:
        ratios = [r["train_ratio"] for r in with_torch]
        gm = math.exp(sum(math.log(x) for x in ratios) / len(ratios))
        worst = min(every, key=lambda r: r["train_ratio"])
        note = "" if len(ratios) == 12 else f"over {len(ratios)} cells, not the full 12"
        out.append(
            _target(
                "training ratio tsrnn/PyTorch, geometric mean",
                gm,
                f">= {TARGET_TRAIN_GEOMEAN}x",
                gm >= TARGET_TRAIN_GEOMEAN,
                note,
            )
        )
        out.append(
            _target(
                "training ratio, worst cell",
                worst["train_ratio"],
                f">= {TARGET_TRAIN_MIN}x",
                worst["train_ratio"] >= TARGET_TRAIN_MIN,
                _below(every, "train_ratio", TARGET_TRAIN_MIN),
            )
        )
        small = [r for r in every if r["hidden"] <= TARGET_PREDICT_MAX_HIDDEN]
        if small:
            w = min(small, key=lambda r: r["predict_ratio"])
            out.append(
                _target(
                    f"inference ratio, hidden <= {TARGET_PREDICT_MAX_HIDDEN} (worst)",
                    w["predict_ratio"],
                    f">= {TARGET_PREDICT_RATIO}x",
                    w["predict_ratio"] >= TARGET_PREDICT_RATIO,
                    _below(small, "predict_ratio", TARGET_PREDICT_RATIO),
                )
            )
        else:
            out.append(
                _target(
                    f"inference ratio, hidden <= {TARGET_PREDICT_MAX_HIDDEN}",
                    None,
                    f">= {TARGET_PREDICT_RATIO}x",
                    None,
                    "no such row",
                )
            )
    else:
        for name, goal in (
            ("training ratio tsrnn/PyTorch, geometric mean", f">= {TARGET_TRAIN_GEOMEAN}x"),
            ("training ratio, worst cell", f">= {TARGET_TRAIN_MIN}x"),
            (
                f"inference ratio, hidden <= {TARGET_PREDICT_MAX_HIDDEN}",
                f">= {TARGET_PREDICT_RATIO}x",
            ),
        ):
            out.append(_target(name, None, goal, None, "no PyTorch comparison"))
    lstm256 = [r for r in main if r["cell"] == "lstm" and r["hidden"] == 256]
    if lstm256:
        share = lstm256[0]["tsrnn_train_peak_share"]
        out.append(
            _target(
                "LSTM h256 training, share of float32 GEMM peak",
                share,
                f">= {TARGET_LSTM256_PEAK_SHARE:.0%}",
                share >= TARGET_LSTM256_PEAK_SHARE,
            )
        )
    else:
        out.append(
            _target(
                "LSTM h256 training, share of float32 GEMM peak",
                None,
                f">= {TARGET_LSTM256_PEAK_SHARE:.0%}",
                None,
                "row not run",
            )
        )

    def sub(key, name, goal, fn):
        res = result.get(key)
        if res is None:
            out.append(_target(name, None, goal, None, "not run"))
        elif "error" in res:
            out.append(_target(name, None, goal, False, "error: " + res["error"][:200]))
        else:
            out.append(_target(name, *fn(res)))

    sub(
        "startup",
        "(a) fresh process, warm cache: import + small LSTM fit",
        f"< {TARGET_STARTUP_S:g} s",
        lambda r: (
            r["wall_s"],
            f"< {TARGET_STARTUP_S:g} s",
            r["wall_s"] < TARGET_STARTUP_S,
            f"import {r['import_s']:.2f} s, fit {r['fit_s']:.2f} s",
        ),
    )
    sub(
        "compile",
        "(b) compile every kernel, cold cache, one dtype",
        f"< {TARGET_COLD_COMPILE_S:g} s",
        lambda r: (
            r["wall_s"],
            f"< {TARGET_COLD_COMPILE_S:g} s",
            r["wall_s"] < TARGET_COLD_COMPILE_S,
            (
                f"{r['dtype']}, whole subprocess; not reached by the estimators: "
                f"{', '.join(r['not_compiled']) or 'none'}"
            ),
        ),
    )
    sub(
        "signatures",
        "(c) no recompilation across a hyper-parameter sweep",
        "0 new, <= 1 per kernel",
        lambda r: (
            sum(r["new_signatures"].values()),
            "0 new, <= 1 per kernel",
            not r["new_signatures"] and r["max_per_kernel"] <= 1,
            f"{r['n_fits']} fits; max {r['max_per_kernel']} per kernel"
            + (f"; new: {r['new_signatures']}" if r["new_signatures"] else ""),
        ),
    )
    sub(
        "memory",
        "(d) peak RSS training vs data size",
        f"<= data + {TARGET_MEMORY_OVERHEAD_MB:g} MB",
        lambda r: (
            r["peak_bytes"] / 2**20,
            f"<= data + {TARGET_MEMORY_OVERHEAD_MB:g} MB",
            r["overhead_mb"] <= TARGET_MEMORY_OVERHEAD_MB,
            (
                f"{r['n_windows']:,} windows, data {r['data_bytes'] / 2**20:.0f} MB, "
                f"overhead {r['overhead_mb']:.0f} MB"
            ),
        ),
    )
    return out


def _fmt(x, spec, suffix=""):
    return "-" if x is None else format(x, spec) + suffix


def _busy(meta):
    """True when, before the run, the load average exceeded the cores left free for it.

    Only the load at the start counts: the run itself raises the load average by more
    than its thread count (spinning BLAS/OpenMP workers).
    """
    la0 = meta.get("loadavg_start")
    free = (meta.get("cpu_count") or 1) - meta["threads"]["requested"]
    return bool(la0) and la0[0] > max(free, 0) + 0.5


def format_report(result):
    """Human-readable report (tables and targets) of :func:`run_benchmark`'s result."""
    meta, lines = result["meta"], []
    cfg = meta["config"]
    lines.append(
        f"tsrnn bench  {meta['date']}  {meta['cpu_model']}  ({meta['cpu_count']} CPUs; "
        f"threads: tsrnn {meta['threads'].get('tsrnn_numba')}, torch "
        f"{meta['threads'].get('torch')}, BLAS/OpenMP pools {meta['threads']['requested']})"
    )
    lines.append(
        f"python {meta['python']}  numpy {meta['numpy']}  numba {meta['numba']}  "
        f"torch {meta['torch'] or 'absent'}  tsrnn {meta['tsrnn']} ({meta['git']}, "
        f"_kernels {meta['kernels_sha256']})"
    )
    lines.append(
        f"batch {cfg['batch_size']}, {cfg['n_steps']} steps, {cfg['n_features']} feature(s), "
        f"{cfg['n_outputs']} outputs, Adam lr 1e-3; training: {cfg['n_windows']} windows x "
        f"{cfg['epochs']} epoch(s), best of {cfg['repeats']}; inference: "
        f"{cfg['predict_windows']} windows"
    )
    g = result["gemm"]
    lines.append(
        f"GEMM peak (NumPy matmul {g['float32']['size']}^2, same threads): float32 "
        f"{g['float32']['gflops']:.1f} GFLOP/s, float64 {g['float64']['gflops']:.1f} GFLOP/s"
    )
    if meta.get("torch_note"):
        lines.append("NOTE: " + meta["torch_note"])
    lines.append("")
    head = (
        f"{'cell':<5}{'hidden':>7} {'variant':<14}|{'train samples/s':>16}{'torch':>9}"
        f"{'ratio':>7} |{'GFLOP/s':>8}{'torch':>7} |{'%peak':>6}{'torch':>6} |"
        f"{'predict samples/s':>18}{'torch':>9}{'ratio':>7}  torch inference"
    )
    lines += [head, "-" * len(head)]
    for r in result["rows"]:
        torch_share = r.get("torch_train_peak_share")
        lines.append(
            f"{r['cell']:<5}{r['hidden']:>7} {r['variant'] or '-':<14}|"
            f"{r['tsrnn_train_sps']:>16.0f}{_fmt(r.get('torch_train_sps'), '.0f'):>9}"
            f"{_fmt(r.get('train_ratio'), '.2f', 'x'):>7} |"
            f"{r['tsrnn_train_gflops']:>8.2f}{_fmt(r.get('torch_train_gflops'), '.2f'):>7} |"
            f"{_fmt(100 * r['tsrnn_train_peak_share'], '.1f', '%'):>6}"
            f"{_fmt(torch_share and 100 * torch_share, '.1f', '%'):>6} |"
            f"{r['tsrnn_predict_sps']:>18.0f}{_fmt(r.get('torch_predict_sps'), '.0f'):>9}"
            f"{_fmt(r.get('predict_ratio'), '.2f', 'x'):>7}  {r.get('torch_predict_mode', '-')}"
        )
    lines.append(
        "ratio = tsrnn samples/s / PyTorch samples/s (> 1: tsrnn faster); GFLOP/s: "
        "training = 3 x forward, forward = 2*G*N*(D+N) per sample, step, layer and "
        "direction; %peak of the dtype's GEMM peak"
    )

    comp = result.get("compile")
    if comp:
        lines.append("")
        if "error" in comp:
            lines.append(f"(b) compile, cold cache: ERROR {comp['error']}")
        else:
            lines.append(
                f"(b) compile from an empty NUMBA_CACHE_DIR ({comp['dtype']}): subprocess "
                f"{comp['wall_s']:.1f} s (import {comp['import_s']:.1f} s, compilation "
                f"~{comp['compile_s']:.1f} s); first fit cold vs second fit warm, in order:"
            )
            for s in comp["steps"]:
                lines.append(
                    f"    {s['workload']:<16} cold {s['cold_s']:7.2f} s   warm {s['warm_s']:6.3f} s"
                )
    st = result.get("startup")
    if st:
        if "error" in st:
            lines.append(f"(a) fresh process, warm cache: ERROR {st['error']}")
        else:
            lines.append(
                f"(a) fresh process, warm cache, import tsrnn + LSTMRegressor(16).fit(256x24x1, "
                f"5 epochs): {st['wall_s']:.2f} s wall (import {st['import_s']:.2f} s, fit "
                f"{st['fit_s']:.2f} s; runs: {', '.join(f'{w:.2f}' for w in st['all_wall_s'])})"
            )
    sg = result.get("signatures")
    if sg:
        if "error" in sg:
            lines.append(f"(c) signatures: ERROR {sg['error']}")
        else:
            counts = ", ".join(f"{k} {v}" for k, v in sg["after"].items())
            lines.append(
                f"(c) signatures per kernel after {sg['n_fits']} fits sweeping "
                f"hyper-parameters ({sg['dtype']}): {counts}"
            )
            lines.append(
                "    (0: called only from inside other kernels, which came from the "
                "cache compiled, or not used by the estimators)"
            )
            if sg["new_signatures"]:
                lines.append(f"    NEW during the sweep (recompilation): {sg['new_signatures']}")
    mem = result.get("memory")
    if mem:
        if "error" in mem:
            lines.append(f"(d) memory: ERROR {mem['error']}")
        else:
            lines.append(
                f"(d) {mem['estimator']}(hidden {mem['hidden']}), {mem['n_windows']:,} windows x "
                f"{mem['n_steps']} steps, 1 epoch ({mem['fit_s']:.0f} s): peak RSS (ru_maxrss) "
                f"{mem['peak_bytes'] / 2**20:.0f} MB, data {mem['data_bytes'] / 2**20:.0f} MB, "
                f"peak before fit {mem['peak_before_fit_bytes'] / 2**20:.0f} MB"
                + (
                    f", VmHWM {mem['vm_hwm_bytes'] / 2**20:.0f} MB"
                    if mem.get("vm_hwm_bytes")
                    else ""
                )
            )
    lines.append("")
    lines.append("Targets")
    for t in result["targets"]:
        v = t["value"]
        vs = "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else str(v))
        lines.append(
            f"  [{t['status']}] {t['name']}: {vs} (goal {t['goal']})"
            + (f"  {t['detail']}" if t["detail"] else "")
        )
    la0, la1 = meta.get("loadavg_start"), meta.get("loadavg_end")
    lines.append(
        f"load average at start {la0}, at end {la1}; elapsed {meta.get('elapsed_s', 0):.0f} s"
    )
    if _busy(meta):
        lines.append(
            "WARNING: at the start the load average exceeded the cores left free for the run: "
            "other processes competed for the cores. Timings are unreliable, PyTorch's most of all "
            "(its OpenMP threads spin-wait and can slow down by an order of magnitude when a "
            "core is taken). Rerun on a quiet machine or with --threads set to the free cores."
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------


def _int_list(text):
    return tuple(int(x) for x in text.split(",") if x.strip())


def _str_list(text):
    return tuple(x.strip() for x in text.split(",") if x.strip())


def add_arguments(parser):
    """Add the benchmark's options to an ``argparse`` (sub-)parser."""
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: LSTM only, hidden 16 and 64, 1024 windows, 1 epoch, "
        "extras at hidden 16, memory check on 200,000 windows",
    )
    parser.add_argument(
        "--cells", type=_str_list, default=None, help="comma-separated cells (default rnn,lstm,gru)"
    )
    parser.add_argument(
        "--hidden",
        type=_int_list,
        default=None,
        help="comma-separated hidden sizes (default 16,64,128,256)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for both libraries (default os.cpu_count())",
    )
    parser.add_argument("--epochs", type=int, default=None, help="epochs per timed fit (1)")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed fits per side, the fastest is kept (2)"
    )
    parser.add_argument(
        "--windows", type=int, default=None, help="training windows per epoch (4096)"
    )
    parser.add_argument(
        "--no-extras", action="store_true", help="skip the bidirectional / 2-layer / float64 rows"
    )
    parser.add_argument(
        "--extra-hidden", type=int, default=None, help="hidden size of the extra rows (64)"
    )
    parser.add_argument("--no-torch", action="store_true", help="tsrnn-only columns")
    parser.add_argument(
        "--skip",
        type=_str_list,
        default=(),
        help="comma-separated subprocess checks to skip: "
        "compile,startup,signatures,memory (or 'all')",
    )
    parser.add_argument(
        "--memory-windows",
        type=int,
        default=None,
        help="windows of the peak-memory run (200,000; the full check is 1,000,000)",
    )
    parser.add_argument(
        "--full-memory", action="store_true", help="the peak-memory run on 1,000,000 windows"
    )
    parser.add_argument(
        "--json", metavar="PATH", default=None, help="write the results as JSON to PATH"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")
    return parser


def run_from_args(args):
    """Run with parsed arguments, print the report, write JSON; exit code 0."""
    kw = dict(QUICK) if args.quick else {}
    if args.cells:
        bad = set(args.cells) - set(CELLS)
        if bad:
            raise SystemExit(f"unknown cell(s) {sorted(bad)}; choose from {CELLS}")
        kw["cells"] = args.cells
    for name, value in (
        ("hidden", args.hidden),
        ("epochs", args.epochs),
        ("repeats", args.repeats),
        ("n_windows", args.windows),
        ("extra_hidden", args.extra_hidden),
        ("memory_windows", args.memory_windows),
    ):
        if value:
            kw[name] = value
    if args.full_memory:
        kw["memory_windows"] = 1_000_000
    skip = set(args.skip)
    unknown = skip - {"all", "compile", "startup", "signatures", "memory"}
    if unknown:
        raise SystemExit(
            f"unknown --skip value(s) {sorted(unknown)}; choose from "
            "compile,startup,signatures,memory or all"
        )
    kw["checks"] = (
        ()
        if "all" in skip
        else tuple(c for c in ("compile", "startup", "signatures", "memory") if c not in skip)
    )
    kw.update(
        threads=args.threads,
        extras=not args.no_extras,
        use_torch=not args.no_torch,
        verbose=args.verbose,
    )
    result = run_benchmark(**kw)
    print(format_report(result), flush=True)
    if args.json:
        directory = os.path.dirname(os.path.abspath(args.json))
        os.makedirs(directory, exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=2)
        print(f"results written to {args.json}")
    return 0


def build_parser(prog="bench_speed.py"):
    """The benchmark's ``argparse`` parser."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Training and inference speed of tsrnn vs PyTorch, compile "
        "time, start-up time, recompilation and peak memory.",
    )
    return add_arguments(parser)


def main(argv=None, prog="bench_speed.py"):
    """Command-line entry point; returns the exit code."""
    args = build_parser(prog).parse_args(argv)
    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
