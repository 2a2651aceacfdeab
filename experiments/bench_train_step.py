"""Training time per batch of the forecaster's default network, by thread count and loop.

The default ``RNNForecaster``'s network (LSTM of 32 units, 3 input features, 24 steps, 18
outputs, float32, Adam) trained on random data in 32-row batches through
``tsrnn._training.CpuTrainer.train_epoch`` -- the epoch the forecaster runs, without the
forecaster around it -- two ways: with runs of full batches in one compiled call each
(``tsrnn._fused.train_block``, the default) and batch by batch through the Python loop
(``tsrnn._training._Block.make`` patched to give None), on 1 and 2 threads. Repeats alternate
the four; each row is the best of ``--epochs`` epochs. Every row also records the *step
ceiling* measured just before it (``bench_forecaster.available_step_speedup``: two threads
each running the 16-row chunk on its own, no hand-off, over one), and whether the weights
after training equal those of the compiled loop on one thread (they must).

Usage::

    python experiments/bench_train_step.py                 # 400 batches, 3 repeats
    python experiments/bench_train_step.py --quick         # 20 batches, 1 repeat: smoke run

Results: ``OUT/bench_train_step[_TAG].md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import os
import time

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numba
import numpy as np
from bench_forecaster import available_step_speedup

from tsrnn import _network as net
from tsrnn import _training
from tsrnn._epochs import Batches

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
BATCH, STEPS, FEATURES, HIDDEN, OUTPUTS = 32, 24, 3, 32, 18


def problem(n_batches, seed=0):
    """(spec, X, y, theta) of the default network, ``n_batches`` full batches of data."""
    rng = np.random.default_rng(seed)
    spec = net.NetworkSpec("lstm", FEATURES, HIDDEN, n_outputs=OUTPUTS)
    n = BATCH * n_batches
    X = rng.normal(size=(n, STEPS, FEATURES)).astype(np.float32)
    y = rng.normal(size=(n, OUTPUTS)).astype(np.float32)
    return spec, X, y, net.init_params(spec, rng, np.float32)


def epoch_us(spec, X, y, theta, threads, compiled, epochs):
    """(best microseconds per batch over ``epochs`` epochs, weights after the last)."""
    numba.set_num_threads(threads)
    make = _training._Block.make
    if not compiled:
        _training._Block.make = classmethod(lambda cls, *a: None)
    try:
        best, order = np.inf, np.arange(len(X), dtype=np.int32)
        for _ in range(epochs):
            trainer = _training.CpuTrainer(spec, theta, _training.Adam(1e-3))
            start = time.perf_counter()
            trainer.train_epoch(X, y, Batches(order, BATCH))
            best = min(best, time.perf_counter() - start)
        return best / (len(X) // BATCH) * 1e6, trainer.theta
    finally:
        _training._Block.make = make


def markdown(result):
    rows = [
        "# Training time per batch: the default network, compiled blocks and the Python loop",
        "",
        __doc__.split("\n\n")[1].replace("\n", " "),
        "",
        "| repeat | loop | threads | µs per batch | speedup over 1 thread | step ceiling "
        "| identical |",
        "| ---: | --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for r in result["rows"]:
        rows.append(
            f"| {r['repeat']} | {r['loop']} | {r['threads']} | {r['us_per_batch']:.0f} "
            f"| {r['speedup']:.2f}x | {r['step_ceiling']:.2f}x | "
            f"{'yes' if r['identical'] else '**NO**'} |"
        )
    env = result["environment"]
    rows += [
        "",
        f"Run: {env.get('date')}, {env.get('cpu_model')}; git {env.get('git')}; "
        f"command: `{env.get('command')}`.",
        "",
    ]
    return "\n".join(rows)


def build_parser():
    """The script's ``argparse`` parser."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=400, help="full batches an epoch")
    parser.add_argument("--repeat", type=int, default=3, help="alternations of the four rows")
    parser.add_argument("--epochs", type=int, default=3, help="best of this many epochs a row")
    parser.add_argument("--quick", action="store_true", help="20 batches, 1 repeat, 1 epoch")
    parser.add_argument("--tag", default="", help="suffix of the result files")
    parser.add_argument("--out", default=OUT, help="folder of the result files")
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.quick:
        args.batches, args.repeat, args.epochs = 20, 1, 1
    spec, X, y, theta = problem(args.batches)
    before = numba.get_num_threads()
    reference = epoch_us(spec, X, y, theta, 1, True, 1)[1]  # compiles, and the bits to match
    result = {"environment": _env.environment(), "rows": []}
    stem = (
        "bench_train_step" + ("_quick" if args.quick else "") + (f"_{args.tag}" if args.tag else "")
    )
    try:
        for repeat in range(args.repeat):
            for loop in ("compiled", "python"):
                one = None
                for threads in (1, 2)[: numba.config.NUMBA_NUM_THREADS]:  # 1 on 1 core
                    ceiling = available_step_speedup(threads, 0.5) if threads > 1 else 1.0
                    us, weights = epoch_us(
                        spec, X, y, theta, threads, loop == "compiled", args.epochs
                    )
                    one = us if threads == 1 else one
                    row = {
                        "repeat": repeat,
                        "loop": loop,
                        "threads": threads,
                        "us_per_batch": us,
                        "speedup": one / us,
                        "step_ceiling": ceiling,
                        "identical": bool(np.array_equal(weights, reference)),
                    }
                    result["rows"].append(row)
                    print(row, flush=True)
                    _env.write_results(result, args.out, stem, markdown)
    finally:
        numba.set_num_threads(before)
    print("wrote", os.path.join(args.out, stem + ".md"))
    return result


if __name__ == "__main__":
    main()
