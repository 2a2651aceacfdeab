"""Gradient flow through time: plain RNN vs LSTM vs GRU on the adding problem.

The seed's claim, made measurable: the gradient of a plain RNN's final state
with respect to earlier inputs vanishes (or explodes) geometrically with the
lag, so it cannot learn a long dependency, while the LSTM's cell state and the
GRU's update gate can carry it.  Note that at PyTorch's initialisation the
gates sit near σ(0) = ½, so all three cells start out forgetting
geometrically; the difference is what training can make of it.  For each cell
this script

1. trains a regressor (same hidden size, optimiser, step size, clipping,
   mini-batches and number of epochs for all three cells) on the adding
   problem (Hochreiter & Schmidhuber, 1997): two input channels, a value
   uniform on [0, 1] and a marker that is 1 at one random step of the first
   half and one of the second half; the target is the sum of the two marked
   values, so the first one lies at least T/2 steps before the end;
2. measures, at initialisation and after training, the mean over test
   sequences of the Frobenius norm ||∂h_T/∂x_{T−k}|| for every lag
   k = 0..T−1 with :func:`tsrnn.diagnostics.input_gradient_norms` (exact, by
   backpropagation through time);
3. reports the test MSE against the trivial baseline that always predicts the
   mean target (MSE ≈ 1/6).

Each cell is trained once per seed (default 0, 1, 2; the seed draws data and
weights); the table shows every seed's error and the median over seeds of the
gradient norms, the plot every seed's curve (thin) and the median (bold).

Writes ``gradient_flow.png``, ``gradient_flow.md`` and ``gradient_flow.json``
to ``--out`` (default ``experiments/results``)::

    python experiments/gradient_flow.py            # full run, about 2 minutes on 2 cores
    python experiments/gradient_flow.py --quick    # smoke run, a few seconds

(``--quick`` writes ``gradient_flow_quick.*`` so it never overwrites the full run;
``--help`` lists the options.)
"""

import argparse
import json
import os
import sys
import time
import warnings

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numpy as np
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from tsrnn import GRURegressor, LSTMRegressor, RNNRegressor
from tsrnn import _network as net
from tsrnn.diagnostics import input_gradient_norms

CELLS = {"rnn": RNNRegressor, "lstm": LSTMRegressor, "gru": GRURegressor}
LABELS = {"rnn": "RNN (tanh)", "lstm": "LSTM", "gru": "GRU"}
COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}


def adding_problem(n, T, rng):
    """Sequences and targets of the adding problem.

    Parameters
    ----------
    n : int
        Number of sequences.
    T : int
        Steps per sequence (at least 2).
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (n, T, 2)
        Channel 0: values uniform on [0, 1]; channel 1: markers, 1 at one step
        of ``[0, T//2)`` and one of ``[T//2, T)``, 0 elsewhere.
    y : ndarray of shape (n,)
        Sum of the two marked values.
    """
    X = np.zeros((n, T, 2))
    X[:, :, 0] = rng.uniform(0.0, 1.0, size=(n, T))
    rows = np.arange(n)
    first = rng.integers(0, T // 2, size=n)
    second = rng.integers(T // 2, T, size=n)
    X[rows, first, 1] = 1.0
    X[rows, second, 1] = 1.0
    return X, X[rows, first, 0] + X[rows, second, 0]


def selected_lags(T):
    """Lags shown in the table: 0, 1, 5, 10, then quarters of T, and T - 1."""
    lags = {0, 1, 5, 10, T // 4, T // 2, (3 * T) // 4, T - 1}
    return sorted(k for k in lags if 0 <= k < T)


def run_cell(cell, seed, data, args):
    """Train one cell from a recorded initialisation; gradient norms before and after."""
    X, y, X_test, y_test, X_grad = data
    est = CELLS[cell](
        hidden_size=args.hidden,
        batch_size=args.batch_size,
        max_iter=args.epochs,
        learning_rate_init=args.lr,
        clip_grad_norm=args.clip,
        tol=0.0,
        n_iter_no_change=args.epochs,  # the same budget for every cell: no early stop
        random_state=seed,
        dtype="float32",
        warm_start=True,
    )
    # The initial weights are drawn here and loaded into the estimator, so the
    # "at initialisation" curve is measured on exactly the weights training starts from.
    spec = net.NetworkSpec(cell, X.shape[2], args.hidden, 1, False, 1)
    theta0 = net.init_params(spec, np.random.default_rng(seed), dtype=np.float32)
    est.import_weights(net.export_state_dict(spec, theta0))
    norms_init = input_gradient_norms((spec, theta0), X_grad)

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    fit_seconds = time.perf_counter() - start
    norms_trained = input_gradient_norms(est, X_grad)
    pred = est.predict(X_test)
    baseline_mse = float(np.mean((y_test - y.mean()) ** 2))
    test_mse = float(np.mean((pred - y_test) ** 2))
    return {
        "cell": cell,
        "seed": seed,
        "n_params": int(est.n_params_),
        "epochs": int(est.n_iter_),
        "fit_seconds": fit_seconds,
        "test_mse": test_mse,
        "baseline_mse": baseline_mse,
        "relative_mse": test_mse / baseline_mse,
        "train_loss_curve": [float(v) for v in est.loss_curve_],
        "grad_norms_init": norms_init.tolist(),
        "grad_norms_trained": norms_trained.tolist(),
    }


def _fmt(v):
    return f"{v:.1e}" if v != 0 else "0"


def _by_cell(results, cell):
    return [r for r in results if r["cell"] == cell]


def median_norms(results, cell, key):
    """Median over seeds of the (sample-mean) gradient norm, per lag."""
    return np.median([r[key] for r in _by_cell(results, cell)], axis=0)


def markdown_report(results, args, lags):
    """The markdown tables: task error, then gradient norms at selected lags."""
    T = args.T
    seeds = ", ".join(str(s) for s in args.seeds)
    lines = [
        f"## Gradient flow: adding problem, T = {T}",
        "",
        (
            f"Every cell gets the same budget: {args.hidden} hidden units, Adam (lr {args.lr}), "
            f"gradient-norm clipping {args.clip}, batch {args.batch_size}, {args.epochs} epochs "
            f"of {args.n_train} sequences, float32; seeds {seeds} (data and weights). Test set: "
            f"{args.n_test} sequences per seed. Baseline: always predict the mean training "
            "target (MSE ≈ 1/6). Solved: test MSE below 10 % of the baseline."
        ),
        "",
        (
            "| cell | parameters | test MSE (per seed) | MSE / baseline (per seed) | solved "
            "| fit time per seed (s) |"
        ),
        "| --- | ---: | --- | --- | :---: | ---: |",
    ]
    for cell in args.cells:
        rs = _by_cell(results, cell)
        mse = " / ".join(f"{r['test_mse']:.4f}" for r in rs)
        rel = " / ".join(f"{r['relative_mse']:.3f}" for r in rs)
        solved = sum(r["relative_mse"] < 0.1 for r in rs)
        secs = np.mean([r["fit_seconds"] for r in rs])
        lines.append(
            f"| {LABELS[cell]} | {rs[0]['n_params']} | {mse} | {rel} | {solved}/{len(rs)} "
            f"| {secs:.1f} |"
        )
    lines += [
        "",
        (
            f"‖∂h_T/∂x_(T−k)‖: Frobenius norm of the exact {args.hidden}×2 Jacobian "
            f"(`tsrnn.diagnostics.input_gradient_norms`), mean over {args.n_grad} test "
            f"sequences, median over seeds {seeds}. The adding problem's first marked value "
            f"lies at a lag between {T - T // 2} and {T - 1}."
        ),
        "",
        "| cell | weights | " + " | ".join(f"k = {k}" for k in lags) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in lags) + " |",
    ]
    for cell in args.cells:
        for when, key in (("init", "grad_norms_init"), ("trained", "grad_norms_trained")):
            med = median_norms(results, cell, key)
            row = " | ".join(_fmt(med[k]) for k in lags)
            lines.append(f"| {LABELS[cell]} | {when} | {row} |")
    lines.append("")
    return "\n".join(lines)


def plot(results, args, path):
    """Gradient norm vs lag at init and after training, and the training loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    lags = np.arange(args.T)
    baseline = np.median([r["baseline_mse"] for r in results])
    for ax, key, title in (
        (axes[0], "grad_norms_init", "at initialisation"),
        (axes[1], "grad_norms_trained", f"after {args.epochs} epochs"),
    ):
        for cell in args.cells:
            for r in _by_cell(results, cell):  # one thin line per seed
                ax.semilogy(
                    lags, np.maximum(r[key], 1e-300), color=COLORS[cell], lw=0.7, alpha=0.35
                )
            ax.semilogy(
                lags,
                np.maximum(median_norms(results, cell, key), 1e-300),
                color=COLORS[cell],
                lw=2,
                label=f"{LABELS[cell]} (median of seeds)",
            )
        ax.axvspan(
            args.T - args.T // 2,
            args.T - 1,
            color="0.92",
            zorder=0,
            label="lags of the first marked value",
        )
        ax.set_xlabel("lag k")
        ax.set_ylabel("mean ‖∂h_T / ∂x_(T−k)‖")
        ax.set_title(f"Gradient flow {title}")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(fontsize=8)
    ax = axes[2]
    for cell in args.cells:
        for i, r in enumerate(_by_cell(results, cell)):
            curve = r["train_loss_curve"]
            ax.semilogy(
                np.arange(1, len(curve) + 1),
                curve,
                color=COLORS[cell],
                lw=1,
                label=LABELS[cell] if i == 0 else None,
            )
    ax.axhline(baseline, color="k", ls="--", lw=1, label=f"baseline {baseline:.3f}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training MSE (one line per seed)")
    ax.set_title(f"Adding problem, T = {args.T}")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="gradient_flow.py",
        description="Gradient norm vs lag for RNN, LSTM and GRU on the adding problem.",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: T=20, 3 epochs of 256 sequences, one seed (seconds)",
    )
    p.add_argument("--T", type=int, default=100, help="sequence length (default 100)")
    p.add_argument("--hidden", type=int, default=32, help="hidden units (default 32)")
    p.add_argument("--epochs", type=int, default=60, help="epochs for every cell (default 60)")
    p.add_argument("--n-train", type=int, default=2048, help="training sequences (default 2048)")
    p.add_argument("--n-test", type=int, default=1000, help="test sequences (default 1000)")
    p.add_argument(
        "--n-grad",
        type=int,
        default=100,
        help="test sequences the gradient norms are averaged over (default 100)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default 32)")
    p.add_argument("--lr", type=float, default=3e-3, help="Adam step size (default 3e-3)")
    p.add_argument("--clip", type=float, default=1.0, help="gradient-norm clipping (default 1)")
    p.add_argument(
        "--seeds",
        default="0,1,2",
        help="comma-separated seeds of data and weights; every cell is trained "
        "once per seed (default 0,1,2)",
    )
    p.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="BLAS threads (default 1: the per-step GEMMs of these small "
        "networks only lose from threads)",
    )
    p.add_argument("--cells", default="rnn,lstm,gru", help="comma-separated (default all three)")
    p.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="output folder (default experiments/results)",
    )
    args = p.parse_args(argv)
    try:
        args.seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    except ValueError:
        p.error(f"--seeds must be comma-separated integers, got {args.seeds!r}")
    if not args.seeds:
        p.error("--seeds needs at least one seed")
    if args.quick:
        args.T, args.epochs, args.n_train, args.n_test, args.n_grad = 20, 3, 256, 200, 20
        args.seeds = args.seeds[:1]
    args.cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    unknown = set(args.cells) - set(CELLS)
    if unknown:
        p.error(f"unknown cells {sorted(unknown)}; choose from {sorted(CELLS)}")
    if args.T < 2:
        p.error("--T must be at least 2")
    return args


def main(argv=None):
    """Run the experiment; returns the exit code."""
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.perf_counter()
    results = []
    for seed in args.seeds:
        rng = np.random.default_rng(seed)
        X, y = adding_problem(args.n_train, args.T, rng)
        X_test, y_test = adding_problem(args.n_test, args.T, rng)
        data = (X, y, X_test, y_test, X_test[: args.n_grad])
        for cell in args.cells:
            with threadpool_limits(limits=args.blas_threads, user_api="blas"):
                r = run_cell(cell, seed, data, args)
            results.append(r)
            print(
                f"seed {seed} {LABELS[cell]:>10}: test MSE {r['test_mse']:.4f} "
                f"(baseline {r['baseline_mse']:.4f}); mean |dh_T/dx_(T-k)| init -> trained: "
                f"k=0 {r['grad_norms_init'][0]:.1e} -> {r['grad_norms_trained'][0]:.1e}, "
                f"k={args.T - 1} {r['grad_norms_init'][-1]:.1e} -> "
                f"{r['grad_norms_trained'][-1]:.1e}; fit {r['fit_seconds']:.1f} s",
                flush=True,
            )

    lags = selected_lags(args.T)
    md = markdown_report(results, args, lags)
    # a smoke run never overwrites the recorded full results
    stem = os.path.join(args.out, "gradient_flow_quick" if args.quick else "gradient_flow")
    with open(stem + ".md", "w") as f:
        f.write(md)
    plot(results, args, stem + ".png")
    config = {k: v for k, v in vars(args).items() if k != "out"}
    payload = {
        "task": "adding problem",
        "command": "python experiments/gradient_flow.py" + (" --quick" if args.quick else ""),
        "config": config,
        "quantity": "per seed and cell: mean over n_grad test sequences of the Frobenius "
        "norm of d h_T / d x_(T-k), for k = 0..T-1",
        "selected_lags": lags,
        "results": results,
        "total_seconds": time.perf_counter() - t0,
        "versions": _env.versions(("numpy", "tsrnn")),
        "load_average": _env.loadavg(),
        "environment": _env.environment(("numpy", "numba", "sklearn", "tsrnn")),
    }
    with open(stem + ".json", "w") as f:
        json.dump(payload, f, indent=1)
    print(md)
    print(f"wrote {stem}.png, {stem}.md, {stem}.json in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
