"""The subprocess checks of ``bench_speed.py``, each run in a fresh interpreter.

``bench_speed.py`` runs this file as ``python _bench_child.py MODE JSON`` with a prepared
environment (thread counts, ``NUMBA_CACHE_DIR``, ``PYTHONPATH``); the child prints one line
``RESULT {json}`` that the parent parses. Modes:

``compile``
    (b) fit every workload of ``args["workloads"]`` twice: the first fit compiles the kernels
    (cold cache), the second is warm; the compiled signatures per kernel at the end.
``startup``
    (a) import tsrnn and fit a small ``LSTMRegressor`` (the time of a fresh process with a
    warm cache).
``sweep``
    (c) fit the workloads once (the reference signatures), then sweep hyper-parameters and data
    shapes; the signatures per kernel before and after.
``memory``
    (d) peak RSS while training on ``args["n_windows"]`` windows.
``memory-launcher``
    Runs ``memory`` in a grandchild and reports the grandchild's peak RSS: ``ru_maxrss``
    survives fork + exec on Linux, so a child of the (large) benchmark process starts with the
    parent's high-water mark; read as ``RUSAGE_CHILDREN`` of this small launcher, whose own
    floor is a few MB, it is the worker's alone.

Only the standard library is imported at module level, so that the import time measured by
``startup`` includes NumPy and tsrnn, and the launcher stays small.
"""

import json
import sys
import time

_T0 = time.perf_counter()

__all__ = ["main", "make_data"]


def make_data(n_windows, n_steps, n_features, n_outputs, dtype="float32", seed=0):
    """Windows of a noisy multi-seasonal series: X (n, T, D) and the next n_outputs values.

    Built from a 1-D series with a strided view, so the only large allocation is X itself
    (the memory check relies on this).
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    length = n_windows + n_steps + n_outputs + n_features
    t = np.arange(length, dtype=np.float64)
    s = (
        np.sin(2 * np.pi * t / 24)
        + 0.5 * np.sin(2 * np.pi * t / 168)
        + 0.1 * rng.standard_normal(length)
    ).astype(dtype)
    view = np.lib.stride_tricks.sliding_window_view(s, n_steps + n_outputs)
    X = np.empty((n_windows, n_steps, n_features), dtype=dtype)
    for f in range(n_features):  # feature f: the series shifted by f steps
        X[:, :, f] = view[f : f + n_windows, :n_steps]
    Y = np.ascontiguousarray(view[:n_windows, n_steps:])
    return X, Y


def _result(payload):
    print("RESULT " + json.dumps(payload), flush=True)


def _import_tsrnn():
    """Import NumPy, the estimators and the kernels; (estimators module, import seconds)."""
    import warnings

    import numpy  # noqa: F401

    import tsrnn._kernels  # noqa: F401
    from tsrnn import estimators

    import_s = time.perf_counter() - _T0
    warnings.simplefilter("ignore")
    return estimators, import_s


def _signatures():
    """Compiled signatures of every Numba CPU dispatcher defined in tsrnn's loaded modules.

    Keyed by function name for ``tsrnn._kernels`` (as in earlier results) and by
    ``module.name`` (without the ``tsrnn.`` prefix) elsewhere; CUDA kernels are not counted.
    """
    from numba.core.registry import CPUDispatcher

    out = {}
    for mod_name, module in sorted(sys.modules.items()):
        if not mod_name.startswith("tsrnn.") or mod_name.startswith("tsrnn.cuda"):
            continue
        for name, f in vars(module).items():
            if isinstance(f, CPUDispatcher) and f.py_func.__module__ == mod_name:
                key = name if mod_name == "tsrnn._kernels" else f"{mod_name[6:]}.{name}"
                out[key] = len(f.signatures)
    return dict(sorted(out.items()))


def _small_data(n=24, T=6, D=1, O=2, dtype="float32", classes=False, seed=0):
    import numpy as np

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, T, D)).astype(dtype)
    if classes:
        y = (X[:, -1, 0] > 0).astype(int)
        y[:2] = (0, 1)  # both classes, whatever the draw
    else:
        y = X[:, -O:, 0].copy()
    return X, y


def _fit_workload(estimators, cls_name, params, dtype, classes, **data):
    X, y = _small_data(dtype=dtype, classes=classes, **data)
    est = getattr(estimators, cls_name)(
        hidden_size=params.pop("hidden_size", 4),
        max_iter=1,
        random_state=0,
        dtype=dtype,
        device="cpu",
        **params,
    )
    est.fit(X, y)
    est.predict(X[:5])
    return est


def compile_check(args):
    """(b): every workload fitted twice, cold then warm."""
    estimators, import_s = _import_tsrnn()
    steps = []
    for name, cls_name, params in args["workloads"]:
        times = []
        for _ in range(2):  # first: compiles (cold cache); second: warm, same process
            t0 = time.perf_counter()
            _fit_workload(
                estimators, cls_name, dict(params), args["dtype"], cls_name.endswith("Classifier")
            )
            times.append(time.perf_counter() - t0)
        steps.append({"workload": name, "cold_s": times[0], "warm_s": times[1]})
    return {
        "import_s": import_s,
        "steps": steps,
        "signatures": _signatures(),
        "total_s": time.perf_counter() - _T0,
    }


def startup_check(args):
    """(a): import tsrnn and fit a small LSTM, as a user's first script would."""
    import warnings

    import numpy as np

    from tsrnn import LSTMRegressor

    t1 = time.perf_counter()
    warnings.simplefilter("ignore")
    X = np.random.default_rng(0).normal(size=(256, 24, 1)).astype("float32")
    model = LSTMRegressor(hidden_size=16, max_iter=5, random_state=0, device="cpu")
    model.fit(X, X[:, -12:, 0])
    model.predict(X[:3])
    return {"import_s": t1 - _T0, "fit_s": time.perf_counter() - t1}


def sweep_check(args):
    """(c): compiled signatures before and after a hyper-parameter and data-shape sweep."""
    import itertools

    estimators, _ = _import_tsrnn()
    dtype = args["dtype"]
    for _name, cls_name, params in args["workloads"]:  # reference: every code path once
        _fit_workload(estimators, cls_name, dict(params), dtype, cls_name.endswith("Classifier"))
    reference = _signatures()
    n_fits = 0
    cells = {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"}
    grid = itertools.product(
        ["rnn", "lstm", "gru"],
        ["Regressor", "Classifier"],
        [1, 3, 17],
        [1, 2, 3],
        [False, True],
    )
    for i, (cell, kind, hidden, layers, bidir) in enumerate(grid):
        params = dict(
            hidden_size=hidden,
            num_layers=layers,
            bidirectional=bidir,
            batch_size=[1, 5, "auto", 64][i % 4],
            solver=["adam", "sgd"][i % 2],
            learning_rate_init=[1e-3, 0.05][(i // 2) % 2],
            alpha=[0.0, 0.1][(i // 3) % 2],
            clip_grad_norm=[None, 0.5][(i // 5) % 2],
            shuffle=bool(i % 2),
            early_stopping=bool((i // 4) % 2),
            nesterovs_momentum=bool((i // 6) % 2),
        )
        data = dict(
            n=[7, 24, 40][i % 3],
            T=[1, 5, 13][(i // 3) % 3],
            D=[1, 3][(i // 2) % 2],
            O=[1, 4][(i // 5) % 2],
        )
        classifier = kind == "Classifier"
        if classifier:
            data.pop("O")
        else:  # both regression losses: MSE and the MAE kernel
            params["loss"] = ["squared_error", "absolute_error"][(i // 7) % 2]
        est = _fit_workload(estimators, cells[cell] + kind, params, dtype, classifier, **data)
        X, y = _small_data(
            n=9,
            T=data["T"] + 2,
            D=data["D"],
            O=data.get("O", 2),
            dtype=dtype,
            classes=classifier,
            seed=1,
        )
        est.set_params(warm_start=True, max_iter=2).fit(X, y)  # warm start, other lengths
        if not params["early_stopping"]:
            # (partial_fit after an early-stopping fit is skipped: best_loss_ is None there)
            est.partial_fit(X, y)
            n_fits += 1
        est.predict(X)
        if classifier:
            est.predict_proba(X)
        n_fits += 2
    return {"reference": reference, "after": _signatures(), "n_fits": n_fits}


def _rss_scale():
    return 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB on Linux


def _vm_hwm():
    """Peak RSS of this process image (Linux), None elsewhere."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_check(args):
    """(d): peak RSS of one training epoch on ``n_windows`` windows (run by the launcher)."""
    import resource
    import warnings

    from tsrnn import estimators

    warnings.simplefilter("ignore")

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _rss_scale()

    X, Y = make_data(args["n_windows"], args["n_steps"], 1, args["n_outputs"], "float32")
    cls = getattr(estimators, args["estimator"])
    cls(hidden_size=4, max_iter=1, device="cpu").fit(X[:64], Y[:64])  # kernels loaded first
    before, before_hwm = peak(), _vm_hwm()
    est = cls(
        hidden_size=args["hidden"],
        max_iter=1,
        batch_size=64,
        random_state=0,
        dtype="float32",
        device="cpu",
    )
    t0 = time.perf_counter()
    est.fit(X, Y)
    fit_s = time.perf_counter() - t0
    return {
        "ru_maxrss_self_bytes": peak(),
        "vm_hwm_bytes": _vm_hwm(),
        "peak_before_fit_bytes": before_hwm or before,
        "data_bytes": X.nbytes + Y.nbytes,
        "fit_s": fit_s,
    }


def memory_launcher(args):
    """Run ``memory`` in a grandchild; its peak RSS is this launcher's RUSAGE_CHILDREN."""
    import resource
    import subprocess

    proc = subprocess.run(
        [sys.executable, __file__, "memory", json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    sys.stderr.write(proc.stderr)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            res = json.loads(line[len("RESULT ") :])
            res["peak_bytes"] = (
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * _rss_scale()
            )
            return res
    sys.exit(proc.returncode or 1)


MODES = {
    "compile": compile_check,
    "startup": startup_check,
    "sweep": sweep_check,
    "memory": memory_check,
    "memory-launcher": memory_launcher,
}


def main(argv=None):
    """``_bench_child.py MODE [JSON]``: run one check and print ``RESULT {json}``."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in MODES:
        sys.exit(f"usage: _bench_child.py {{{','.join(MODES)}}} [JSON]")
    args = json.loads(argv[1]) if len(argv) > 1 else {}
    _result(MODES[argv[0]](args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
