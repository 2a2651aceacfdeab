"""Make the figures of the README by running the README's own commands.

``python docs/make_figures.py`` (from the repository root, about 30 s on 2 cores) writes:

- ``docs/forecast_air_passengers.png``: the plot of the README's main job,
  ``tsrnn forecast --dataset air_passengers --horizon 12 --output fc.csv --plot fc.png``,
  run with exactly those options (the forecast joined to the last observation, 80 and 95 %
  intervals drawn by default, labelled axes, light grid);
- ``docs/backtest_air_passengers.png``: ``tsrnn backtest --dataset air_passengers --horizon 12
  --plot ...`` (three folds, each with its 80 % interval).

The commands run through :func:`tsrnn.cli.main` in a temporary folder; only the PNG files are
kept. The same random seed (the CLI's default) gives the same forecast on the same machine.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from tsrnn.cli import main  # noqa: E402

DOCS = Path(__file__).resolve().parent

FIGURES = {
    "forecast_air_passengers.png": [
        "forecast",
        "--dataset",
        "air_passengers",
        "--horizon",
        "12",
        "--output",
        "fc.csv",
        "--plot",
        "fc.png",
    ],
    "backtest_air_passengers.png": [
        "backtest",
        "--dataset",
        "air_passengers",
        "--horizon",
        "12",
        "--plot",
        "fc.png",
    ],
}


def make(name: str, argv: list) -> Path:
    """Run ``tsrnn argv`` in a temporary folder and copy its ``fc.png`` to ``docs/name``."""
    with tempfile.TemporaryDirectory() as tmp:
        with _chdir(tmp):
            code = main(argv)
        if code != 0:
            raise SystemExit(f"tsrnn {' '.join(argv)} failed with exit code {code}")
        target = DOCS / name
        shutil.copyfile(Path(tmp) / "fc.png", target)
    return target


class _chdir:
    """Run a block in another working directory (contextlib.chdir needs Python 3.11)."""

    def __init__(self, path):
        self.path, self.old = Path(path), None

    def __enter__(self):
        self.old = Path.cwd()
        os.chdir(self.path)

    def __exit__(self, *exc):
        os.chdir(self.old)


if __name__ == "__main__":
    names = sys.argv[1:] or list(FIGURES)
    for figure in names:
        print(f"wrote {make(figure, FIGURES[figure])}")
