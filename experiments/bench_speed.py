"""Speed benchmark of tsrnn against PyTorch (also available as ``tsrnn bench``).

    python experiments/bench_speed.py                       # full run (~10 min on 2 cores)
    python experiments/bench_speed.py --quick               # smoke run (~1 min)
    python experiments/bench_speed.py --json experiments/results/bench_speed.json
    python experiments/bench_speed.py --cells lstm --hidden 64,256 --threads 1 --skip all

The code lives in :mod:`tsrnn._bench` so that the installed ``tsrnn bench``
command runs exactly the same benchmark; ``python experiments/bench_speed.py
--help`` lists every option.
"""

import os
import sys


def _ensure_tsrnn_importable():
    try:
        import tsrnn  # noqa: F401
    except ImportError:  # running from a checkout without `pip install -e .`
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main(argv=None):
    """Run the benchmark with command-line arguments ``argv``; returns the exit code."""
    _ensure_tsrnn_importable()
    from tsrnn._bench import main as bench_main

    return bench_main(argv, prog="bench_speed.py")


if __name__ == "__main__":
    sys.exit(main())
