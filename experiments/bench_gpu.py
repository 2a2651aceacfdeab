"""CPU vs GPU (vs PyTorch cuDNN) training speed of tsrnn's recurrent networks.

What is measured: seconds per training batch (forward, BPTT, Adam step, and the
loss scalar back on the host) of a one-layer network with a linear head,
float32, MSE on 12 outputs, 1 input feature, over

* the performance grid: cell in rnn/lstm/gru × hidden 16/64/128/256,
  batch 64, 48 steps;
* the target case: batch 1024, hidden 256, 48 steps (every cell);
* the large case: batch 1024, hidden 512, 96 steps (every cell);
* ``predict`` (case name): seconds per prediction call of 1024 sequences of
  48 steps, hidden 64 and 256, every cell — host array in, host array out
  (:func:`tsrnn._training.predict` on the CPU,
  :func:`tsrnn.cuda._inference.predict` on the GPU, the upload of X included,
  the parameters already on the device as after the first call).

Backends: ``cpu`` (:class:`tsrnn._training.CpuTrainer`, its process pinned to
two cores with two threads), ``gpu`` (:class:`tsrnn.cuda.CudaTrainer`),
``torch`` (``nn.RNN/LSTM/GRU`` + ``nn.Linear`` + Adam on CUDA: cuDNN, strict
float32 — ``allow_tf32=False`` — and, as a second column, PyTorch's default
TF32 tensor-core math).  Each timing is the median of ``--repeats`` epochs of
``--batches`` batches after a warm-up epoch (whose time, compilation included,
is reported separately).

Usage::

    python experiments/bench_gpu.py --check --out results/   # GPU machine
    python experiments/bench_gpu.py --devices cpu --out cpu/  # the 2-core CPU
    python experiments/bench_gpu.py --cpu-json cpu/bench_gpu.json ...  # merge

``--check`` first runs the parity tests (``tests/cuda``) on the real GPU.
``--variants`` times the GPU on the batch-1024 cases again with other tile
sizes of :data:`tsrnn.cuda._kernels.CONFIG` (e.g. ``"gemm=64,64,16,4,4"``;
variants separated by spaces, keys within one by ``;``), to tune the defaults.
Results go to ``OUT/bench_gpu.json`` and ``OUT/bench_gpu.md``, rewritten after
every case so a run cut short still leaves what it measured.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numpy as np

ROOT = _env.ROOT
GRID = [(cell, n, 64, 48) for cell in ("rnn", "lstm", "gru") for n in (16, 64, 128, 256)]
TARGET = [(cell, 256, 1024, 48) for cell in ("rnn", "lstm", "gru")]
LARGE = [(cell, 512, 1024, 96) for cell in ("rnn", "lstm", "gru")]
PREDICT = [(cell, n, 1024, 48) for cell in ("rnn", "lstm", "gru") for n in (64, 256)]
N_FEATURES, N_OUTPUTS, LR = 1, 12, 1e-3
CPU_TARGET, CUDNN_TARGET = 10.0, 2.0


def _import_tsrnn_core():
    """The network and training modules of tsrnn.

    They need NumPy and Numba only (``import tsrnn`` is lazy), so a bare GPU machine without
    scikit-learn or pandas runs them.
    """
    from tsrnn import _network as net
    from tsrnn import _training as tr

    return net, tr


def _data(n, T, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, N_FEATURES)).astype(dtype)
    y = rng.normal(size=(n, N_OUTPUTS)).astype(dtype)
    return X, y


def _time_epochs(run_epoch, repeats):
    """(warm-up seconds, median seconds of the timed epochs)."""
    t0 = time.perf_counter()
    run_epoch()
    warm = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_epoch()
        times.append(time.perf_counter() - t0)
    return warm, statistics.median(times)


def _parse_variant(text):
    """Parse ``'gemm=64,64,16,4,4;step=...'`` into ``{'gemm': (64, 64, 16, 4, 4), ...}``."""
    out = {}
    for part in filter(None, text.split(";")):
        key, _, value = part.partition("=")
        nums = tuple(int(v) for v in value.split(","))
        out[key.strip()] = nums if len(nums) > 1 else nums[0]
    return out


def bench_tsrnn(device, cell, hidden, batch, steps, n_batches, repeats, config=None):
    """Seconds per batch of CpuTrainer or CudaTrainer (``config``: CUDA tiles)."""
    net, tr = _import_tsrnn_core()
    if device == "gpu":
        from tsrnn.cuda import _kernels as K

        if config:
            K.configure(**config)
        elif K.CONFIG != K._DEFAULT_CONFIG:
            K.configure()
    spec = net.NetworkSpec(cell, N_FEATURES, hidden, 1, False, N_OUTPUTS)
    theta = net.init_params(spec, np.random.default_rng(0), np.float32)
    X, y = _data(batch * n_batches, steps)
    if device == "gpu":
        from tsrnn.cuda import CudaTrainer

        trainer = CudaTrainer(spec, theta, tr.Adam(LR), "mse")
    else:
        trainer = tr.CpuTrainer(spec, theta, tr.Adam(LR), "mse")
    rng = np.random.default_rng(1)

    def epoch():
        order = rng.permutation(X.shape[0])
        loss, ok = trainer.train_epoch(X, y, np.split(order, n_batches))
        if not ok:
            raise RuntimeError(f"non-finite loss in {device} {cell} {hidden}")

    warm, sec = _time_epochs(epoch, repeats)
    out = {"warmup_s": warm, "sec_per_batch": sec / n_batches}
    if device == "gpu":
        out["launches_per_batch"] = _count_launches(epoch) / n_batches
    return out


def _count_launches(run):
    """Kernel launches made by ``run()`` (numba-cuda's ``_Kernel.launch``, counted)."""
    from numba.cuda.dispatcher import _Kernel

    real, count = _Kernel.launch, [0]

    def launch(self, *args, **kwargs):
        count[0] += 1
        return real(self, *args, **kwargs)

    _Kernel.launch = launch
    try:
        run()
    finally:
        _Kernel.launch = real
    return count[0]


def bench_predict(device, cell, hidden, batch, steps, repeats):
    """Seconds per prediction call of ``batch`` sequences on the CPU or the GPU."""
    net, tr = _import_tsrnn_core()
    if device == "gpu":
        from tsrnn.cuda import _inference
        from tsrnn.cuda import _kernels as K

        if K.CONFIG != K._DEFAULT_CONFIG:
            K.configure()
        run = _inference.predict
    else:
        run = tr.predict
    spec = net.NetworkSpec(cell, N_FEATURES, hidden, 1, False, N_OUTPUTS)
    theta = net.init_params(spec, np.random.default_rng(0), np.float32)
    X, _ = _data(batch, steps)
    warm, sec = _time_epochs(lambda: run(spec, theta, X), repeats)
    out = {"warmup_s": warm, "sec_per_batch": sec}
    if device == "gpu":
        out["launches_per_call"] = _count_launches(lambda: run(spec, theta, X))
    return out


def bench_torch(cell, hidden, batch, steps, n_batches, repeats, tf32):
    """Seconds per batch of the equivalent PyTorch (cuDNN) training loop."""
    import torch
    from torch import nn

    torch.backends.cudnn.allow_tf32 = tf32
    torch.backends.cuda.matmul.allow_tf32 = tf32
    dev = torch.device("cuda")
    rnn_cls = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[cell]
    rnn = rnn_cls(N_FEATURES, hidden, batch_first=True).to(dev)
    head = nn.Linear(hidden, N_OUTPUTS).to(dev)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=LR)
    Xn, yn = _data(batch * n_batches, steps)
    X, y = torch.from_numpy(Xn).to(dev), torch.from_numpy(yn).to(dev)

    def epoch():
        order = torch.randperm(X.shape[0], device=dev)
        for b in range(n_batches):
            idx = order[b * batch : (b + 1) * batch]
            opt.zero_grad(set_to_none=True)
            _, h = rnn(X[idx])
            h_n = h[0] if cell == "lstm" else h
            loss = nn.functional.mse_loss(head(h_n[-1]), y[idx])
            loss.backward()
            opt.step()
            loss.item()  # the loss comes back to the host, as in tsrnn

    warm, sec = _time_epochs(epoch, repeats)
    return {"warmup_s": warm, "sec_per_batch": sec / n_batches}


# --------------------------------------------------------------------------
# environment, parity tests, report
# --------------------------------------------------------------------------


def environment():
    """The shared report of ``_env.py`` with flat version keys, plus the CUDA side."""
    info = _env.environment(("numpy", "numba", "tsrnn"))
    info.update(info.pop("versions"))
    info["machine"] = platform.machine()
    info.update(_env.gpu_environment())
    return info


def run_check(out_dir):
    """The parity tests of tests/cuda on the real GPU; returns (ok, summary)."""
    env = dict(os.environ, TSRNN_TEST_GPU="1")
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        os.path.join(ROOT, "tests", "cuda"),
        "-q",
        "-p",
        "no:cacheprovider",
        "--noconftest",
        "-rs",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    with open(os.path.join(out_dir, "gpu_tests.txt"), "w") as fh:
        fh.write(text)
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    summary = lines[-1] if lines else "(no output)"
    print(f"parity tests on the GPU ({time.perf_counter() - t0:.0f} s): {summary}", flush=True)
    if proc.returncode != 0:
        print(text[-6000:], flush=True)
    return proc.returncode == 0, summary


def _fmt(v, digits=2):
    return "–" if v is None else f"{v:.{digits}f}"


def markdown(results):
    env = results["environment"]
    lines = [
        "# tsrnn GPU benchmark",
        "",
        f"GPU: {env.get('gpu', '–')} (cc {env.get('compute_capability', '–')}), "
        f"numba {env.get('numba')}, numba-cuda {env.get('numba_cuda')} "
        f"({env.get('cuda_implementation')}), torch {env.get('torch')}, "
        f"cuDNN {env.get('cudnn', '–')}.",
        f"CPU column: {results.get('cpu_source', '–')}.",
        f"Parity tests on the GPU: {results.get('check', 'not run')}.",
        "",
        "ms per training batch (forward + BPTT + Adam + loss to host), float32, 1 feature, "
        "12 outputs, 1 layer.",
        "",
        "| cell | hidden | batch | steps | CPU 2-core | tsrnn GPU | cuDNN fp32 | cuDNN tf32 "
        "| GPU vs CPU | GPU / cuDNN fp32 | GPU / cuDNN tf32 | GPU launches / batch |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in _training_rows(results):
        ms = {
            k: (row[k]["sec_per_batch"] * 1e3 if row.get(k) else None)
            for k in ("cpu", "gpu", "torch_fp32", "torch_tf32")
        }
        speed = ms["cpu"] / ms["gpu"] if ms["cpu"] and ms["gpu"] else None
        r32 = ms["gpu"] / ms["torch_fp32"] if ms["gpu"] and ms["torch_fp32"] else None
        rtf = ms["gpu"] / ms["torch_tf32"] if ms["gpu"] and ms["torch_tf32"] else None
        lines.append(
            f"| {row['cell']} | {row['hidden']} | {row['batch']} | {row['steps']} "
            f"| {_fmt(ms['cpu'])} | {_fmt(ms['gpu'])} | {_fmt(ms['torch_fp32'])} "
            f"| {_fmt(ms['torch_tf32'])} | {_fmt(speed, 1)}× | {_fmt(r32)} | {_fmt(rtf)} "
            f"| {_fmt((row.get('gpu') or {}).get('launches_per_batch'), 0)} |"
        )
    predict_rows = [r for r in results["rows"] if r.get("kind") == "predict"]
    if predict_rows:
        lines += [
            "",
            "ms per prediction call (host X in, outputs out), float32, 1 layer, batch 1024:",
            "",
            "| cell | hidden | batch | steps | CPU 2-core | tsrnn GPU | GPU vs CPU "
            "| GPU launches |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for row in predict_rows:
            cpu, gpu = (
                row[k]["sec_per_batch"] * 1e3 if row.get(k) else None for k in ("cpu", "gpu")
            )
            speed = cpu / gpu if cpu and gpu else None
            lines.append(
                f"| {row['cell']} | {row['hidden']} | {row['batch']} | {row['steps']} "
                f"| {_fmt(cpu)} | {_fmt(gpu)} | {_fmt(speed, 1)}× "
                f"| {_fmt((row.get('gpu') or {}).get('launches_per_call'), 0)} |"
            )
    variant_rows = [r for r in results["rows"] if r.get("gpu_variants")]
    if variant_rows:
        lines += [
            "",
            "Tile variants (ms per batch; default tiles in the table above):",
            "",
            "| cell | hidden | batch | steps | default | variant | ms |",
            "| --- | ---: | ---: | ---: | ---: | --- | ---: |",
        ]
        for r in variant_rows:
            for text, v in r["gpu_variants"].items():
                ms = _fmt(v["sec_per_batch"] * 1e3) if "sec_per_batch" in v else v.get("error")
                if "launches_per_batch" in v:
                    ms += f" ({v['launches_per_batch']:.0f} launches)"
                lines.append(
                    f"| {r['cell']} | {r['hidden']} | {r['batch']} | {r['steps']} "
                    f"| {_fmt(r['gpu']['sec_per_batch'] * 1e3)} | `{text}` | {ms} |"
                )
    lines += [
        "",
        "Targets (H100): ≥10× the 2-core CPU at batch 1024 / hidden 256; within 2× of cuDNN.",
        "",
    ]
    for row in _training_rows(results):
        cpu, gpu = row.get("cpu"), row.get("gpu")
        if row["batch"] == 1024 and row["hidden"] == 256 and cpu and gpu:
            s = cpu["sec_per_batch"] / gpu["sec_per_batch"]
            verdict = "met" if s >= CPU_TARGET else "NOT met"
            lines.append(f"- {row['cell']} B=1024 N=256: {s:.1f}× the CPU — {verdict}")
    ratios = [
        r["gpu"]["sec_per_batch"] / r["torch_fp32"]["sec_per_batch"]
        for r in _training_rows(results)
        if r.get("gpu") and r.get("torch_fp32")
    ]
    if ratios:
        within = sum(r <= CUDNN_TARGET for r in ratios)
        lines.append(
            f"- within 2× of cuDNN fp32 in {within} of {len(ratios)} cases "
            f"(GPU/cuDNN from {min(ratios):.2f} to {max(ratios):.2f})"
        )
    return "\n".join(lines) + "\n"


def _training_rows(results):
    return [r for r in results["rows"] if r.get("kind", "train") == "train"]


def write(results, out_dir):
    with open(os.path.join(out_dir, "bench_gpu.json"), "w") as fh:
        json.dump(results, fh, indent=1)
    with open(os.path.join(out_dir, "bench_gpu.md"), "w") as fh:
        fh.write(markdown(results))


def _cpu_reference(paths):
    """CPU timings by (kind, cell, hidden, batch, steps) from earlier ``--devices cpu`` runs."""
    ref = {}
    for path in paths or []:
        with open(path) as fh:
            data = json.load(fh)
        for r in data["rows"]:
            if r.get("cpu"):
                ref[(r.get("kind", "train"), r["cell"], r["hidden"], r["batch"], r["steps"])] = r[
                    "cpu"
                ]
    return ref


def _pin_two_cores():
    """Hold this process (the CPU measurement) to two cores and two threads."""
    try:
        cores = sorted(os.sched_getaffinity(0))[:2]
        os.sched_setaffinity(0, cores)
    except (AttributeError, OSError):
        pass
    import numba

    numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))


def build_parser():
    """The script's ``argparse`` parser."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--out", default="bench_gpu_results", help="output folder")
    p.add_argument("--devices", default="gpu,torch", help="comma list of cpu, gpu, torch")
    p.add_argument(
        "--cases",
        default="grid,target,large,predict",
        help="comma list of grid, target, large, predict",
    )
    p.add_argument(
        "--cpu-json", nargs="+", default=None, help="bench_gpu.json of earlier --devices cpu runs"
    )
    p.add_argument("--check", action="store_true", help="run the GPU parity tests first")
    p.add_argument("--check-note", default=None, help="result of parity tests run separately")
    p.add_argument("--batches", type=int, default=4, help="batches per timed epoch")
    p.add_argument("--repeats", type=int, default=3, help="timed epochs per case")
    p.add_argument(
        "--budget-s", type=float, default=None, help="start no case after this many seconds"
    )
    p.add_argument(
        "--variants", nargs="*", default=[], help="CUDA tile variants for the batch-1024 cases"
    )
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    start = time.perf_counter()
    devices = args.devices.split(",")
    _import_tsrnn_core()
    results = {"environment": environment(), "rows": [], "devices": devices}
    print(json.dumps(results["environment"]), flush=True)
    if args.check_note:
        results["check"] = args.check_note
    if args.check:
        ok, summary = run_check(args.out)
        results["check"] = ("passed: " if ok else "FAILED: ") + summary
    cpu_ref = _cpu_reference(args.cpu_json)
    results["cpu_source"] = (
        f"measured here, 2 cores ({_env.cpu_model()})"
        if "cpu" in devices
        else (f"from {', '.join(args.cpu_json)}" if cpu_ref else "not measured")
    )
    if "cpu" in devices:
        _pin_two_cores()
    cases = {"grid": GRID, "target": TARGET, "large": LARGE, "predict": PREDICT}
    unknown = sorted(set(args.cases.split(",")) - set(cases))
    if unknown:
        raise SystemExit(f"unknown --cases {unknown}; choose from {sorted(cases)}")
    todo = [
        ("predict" if name == "predict" else "train", c)
        for name in args.cases.split(",")
        for c in cases[name]
    ]
    for kind, case in todo:
        if args.budget_s and time.perf_counter() - start > args.budget_s:
            if "skipped" not in results:
                print(
                    f"budget of {args.budget_s} s spent: skipping {case} and later cases",
                    flush=True,
                )
            results.setdefault("skipped", []).append(list(case))
            continue
        cell, hidden, batch, steps = case
        row = {"kind": kind, "cell": cell, "hidden": hidden, "batch": batch, "steps": steps}
        big = batch * hidden * steps > 64 * 256 * 48
        reps, nb = (max(1, args.repeats - 1), 2) if big else (args.repeats, args.batches)
        for dev in devices:
            try:
                if kind == "predict":
                    if dev != "torch":
                        row[dev] = bench_predict(dev, cell, hidden, batch, steps, args.repeats)
                elif dev == "torch":
                    row["torch_fp32"] = bench_torch(cell, hidden, batch, steps, nb, reps, False)
                    row["torch_tf32"] = bench_torch(cell, hidden, batch, steps, nb, reps, True)
                else:
                    cpu_reps = 1 if (dev == "cpu" and big) else reps
                    row[dev] = bench_tsrnn(dev, cell, hidden, batch, steps, nb, cpu_reps)
            except Exception as exc:  # keep going: one broken backend must not hide the rest
                row[dev + "_error"] = f"{type(exc).__name__}: {exc}"
                print(f"{case} {dev}: {row[dev + '_error']}", flush=True)
        if (kind, *case) in cpu_ref and "cpu" not in row:
            row["cpu"] = cpu_ref[(kind, *case)]
        results["rows"].append(row)
        summary = {
            k: round(v["sec_per_batch"] * 1e3, 3) for k, v in row.items() if isinstance(v, dict)
        }
        what = "ms/predict" if kind == "predict" else "ms/batch"
        print(f"{cell:4s} N={hidden:3d} B={batch:4d} T={steps:2d} {what} {summary}", flush=True)
        write(results, args.out)
    for text in args.variants:
        variant = _parse_variant(text)
        for row in results["rows"]:
            if row["batch"] < 1024 or "gpu" not in row or row["kind"] != "train":
                continue
            if args.budget_s and time.perf_counter() - start > args.budget_s:
                break
            case = (row["cell"], row["hidden"], row["batch"], row["steps"])
            try:
                r = bench_tsrnn("gpu", *case, 2, max(1, args.repeats - 1), variant)
            except Exception as exc:
                r = {"error": f"{type(exc).__name__}: {exc}"}
            row.setdefault("gpu_variants", {})[text] = r
            print(f"variant {text} {case}: {r}", flush=True)
            write(results, args.out)
    results["elapsed_s"] = time.perf_counter() - start
    write(results, args.out)
    print(markdown(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
