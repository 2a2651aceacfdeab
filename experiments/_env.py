"""The environment report shared by every experiment.

One place for what each result file records about the machine and the software: date,
command, CPU model, cores, load average, platform, Python and library versions, the git
revision of the checkout, the BLAS / OpenMP thread pools (threadpoolctl) and, on request, the
float32 / float64 GEMM peak of NumPy's matmul.

The experiments run as scripts (``python experiments/NAME.py``), so this module is imported
as the top-level module ``_env`` from the scripts' own folder; importing it also puts the
checkout on ``sys.path`` when tsrnn is not installed. Run on its own, it prints the report as
JSON (``python experiments/_env.py [--gpu] [--gemm]``).
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import platform
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
"""The repository root (the folder above ``experiments/``)."""


def ensure_tsrnn_importable():
    """Make ``import tsrnn`` work from a checkout that was not ``pip install``-ed.

    Called when this module is imported, so a script that imports ``_env`` before tsrnn
    runs from a bare clone; nothing is imported to find out.
    """
    if importlib.util.find_spec("tsrnn") is None:
        sys.path.insert(0, ROOT)


ensure_tsrnn_importable()


def cpu_model():
    """The CPU's model name (``/proc/cpuinfo``), else what :mod:`platform` knows."""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def loadavg():
    """The 1, 5 and 15 minute load averages, rounded; None where unavailable."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def git_describe(root=ROOT):
    """Short commit of the checkout at ``root`` (``-dirty`` with uncommitted changes).

    None outside a git checkout.
    """
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode:
        return None
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def tsrnn_git():
    """The git commit of the tsrnn that runs: this checkout's when it is imported from here.

    An installed copy (``pip install .``, not editable) need not be this commit: then the
    checkout's commit is labelled as the scripts' only, with where tsrnn was imported from.
    """
    here = git_describe()
    try:
        import tsrnn
    except ImportError:
        return here
    package = os.path.dirname(os.path.abspath(tsrnn.__file__))
    if os.path.normcase(os.path.dirname(package)) == os.path.normcase(ROOT):
        return here
    return f"{here} (the scripts only; tsrnn imported from {package})"


def version(module):
    """``module.__version__`` (importing it), or None when it is not installed."""
    try:
        return __import__(module).__version__
    except Exception:  # noqa: BLE001 - a missing or broken optional package reads None
        return None


def distribution_version(name):
    """Installed version of the distribution ``name`` (e.g. ``numba-cuda``), or None."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version(name)
    except PackageNotFoundError:
        return None


def versions(modules=("numpy", "numba", "tsrnn")):
    """``{"python": ..., module: version}`` for each of ``modules``."""
    out = {"python": platform.python_version()}
    for module in modules:
        out[module] = version(module)
    return out


def thread_pools():
    """The BLAS and OpenMP pools loaded in this process, as threadpoolctl reports them."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    keys = ("user_api", "internal_api", "prefix", "num_threads", "version")
    return [{k: info.get(k) for k in keys} for info in threadpool_info()]


def blas_kernel():
    """The BLAS library and its kernel (architecture), e.g. ``openblas Zen``; None if none."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    for info in threadpool_info():
        if info.get("user_api") == "blas":
            arch = info.get("architecture")
            return f"{info['internal_api']} {arch}" if arch else info["internal_api"]
    return None


def gemm_peak_gflops(dtype="float32", size=2048, repeats=5):
    """Best-of-``repeats`` GFLOP/s of a size × size NumPy matmul (current thread limits)."""
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size)).astype(dtype)
    b = rng.standard_normal((size, size)).astype(dtype)
    c = np.empty((size, size), dtype=dtype)
    np.matmul(a, b, out=c)  # warm-up (thread pool start, page faults)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * size**3 / best / 1e9


def now():
    """The local date and time, ISO 8601 to the second with the UTC offset."""
    return datetime.datetime.now().astimezone().isoformat(timespec="seconds")


def command():
    """The command line of this process, as ``python script.py args``."""
    return " ".join([os.path.basename(sys.executable)] + sys.argv)


def environment(modules=("numpy", "numba", "tsrnn"), gemm=False, gemm_size=2048):
    """One dict describing the run: where, when, with what.

    Parameters
    ----------
    modules : sequence of str
        Modules whose ``__version__`` to record (None for one that is absent).
    gemm : bool
        Also measure the float32 GEMM peak (seconds of work with ``gemm_size``).
    gemm_size : int
        Matrix size of the GEMM measurement.

    Returns
    -------
    dict
        ``date``, ``command``, ``cpu_model``, ``cpu_count``, ``loadavg``, ``platform``,
        ``versions``, ``git``, ``blas`` and, with ``gemm``, ``gemm_float32_gflops``.
    """
    info = {
        "date": now(),
        "command": command(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "loadavg": loadavg(),
        "platform": platform.platform(),
        "versions": versions(modules),
        "git": tsrnn_git(),
        "blas": blas_kernel(),
    }
    if gemm:
        info["gemm_float32_gflops"] = gemm_peak_gflops("float32", gemm_size)
    return info


def gpu_environment():
    """The CUDA side: numba-cuda, the device, PyTorch's CUDA and cuDNN (None where absent)."""
    info = {
        "numba_cuda": distribution_version("numba-cuda"),
        "cuda_bindings": distribution_version("cuda-bindings"),
    }
    try:
        from numba import cuda

        info["cuda_implementation"] = getattr(cuda, "implementation", None)
        info["cuda_available"] = bool(cuda.is_available())
        if info["cuda_available"]:
            dev = cuda.get_current_device()
            info["gpu"] = dev.name.decode() if isinstance(dev.name, bytes) else str(dev.name)
            info["compute_capability"] = list(dev.compute_capability)
            info["multiprocessors"] = dev.MULTIPROCESSOR_COUNT
    except Exception as exc:  # noqa: BLE001 - reported, not raised: this is a report
        info["cuda_error"] = repr(exc)
    try:
        import torch
    except ImportError:
        info["torch"] = None
    else:
        info["torch"] = torch.__version__
        info["torch_cuda"] = torch.cuda.is_available()
        if info["torch_cuda"]:
            info["cudnn"] = torch.backends.cudnn.version()
    return info


def build_parser():
    """The script's ``argparse`` parser."""
    parser = argparse.ArgumentParser(description="Print the environment of an experiment.")
    parser.add_argument("--gpu", action="store_true", help="add the CUDA devices and libraries")
    parser.add_argument("--gemm", action="store_true", help="measure the float32 GEMM peak")
    return parser


def main(argv=None):
    """Print the environment report as JSON; returns the exit code."""
    args = build_parser().parse_args(argv)
    modules = ("numpy", "numba", "sklearn", "pandas", "threadpoolctl", "torch", "pytest", "tsrnn")
    info = environment(modules, gemm=args.gemm)
    if args.gpu:
        info["gpu"] = gpu_environment()
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())


def write_results(result, out, stem, markdown, default=None):
    """``OUT/stem.json`` (``result``) and ``OUT/stem.md`` (``markdown(result)``), OUT created."""
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, stem + ".json"), "w") as fh:
        json.dump(result, fh, indent=1, default=default)
    with open(os.path.join(out, stem + ".md"), "w") as fh:
        fh.write(markdown(result))
