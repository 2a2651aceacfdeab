"""Seed robustness of RNNForecaster: accuracy spread over seeds against ``n_models`` and cost.

Every series is split once: its last ``h`` values held out. The default
``RNNForecaster(horizon=h, random_state=s)`` is fitted for a pool of seeds ``s``; the accuracy
of a single network is then measured per seed, and that of a seed ensemble of ``k`` networks
(``n_models=k``) on every ``k``-subset of the pool.

An ensemble's forecast is recomputed from its members' forecasts, not refitted: for a direct
forecast within the horizon the ensemble averages its members' normalised outputs, and the
normalisation and the optional log are the only transforms of the default forecaster, so the
ensemble forecast is the members' arithmetic mean (geometric mean when the log transform
applies). ``--check`` verifies this against a real ``n_models=2`` fit (same member seeds) before
the run. The cost of ``n_models=k`` is ``k`` single fits (the members are trained one after the
other); the fit times per seed are recorded.

Spread: min, max and standard deviation of sMAPE and MASE over seeds (``k=1``) or over the
``k``-subsets of the pool; subsets of a finite pool overlap, so for ``k > 1`` the spread is a
lower estimate of that of independent ensembles (each subset's number is still an exact
ensemble result).

Usage::

    python experiments/seed_robustness.py                # pool of seeds 0-9
    python experiments/seed_robustness.py --quick        # smoke run: 2 series, 2 seeds
    python experiments/seed_robustness.py --seeds 6 --series m3_monthly --m3-series 50 --tag m3

Results: ``OUT/seed_robustness.md`` and ``.json`` (``--quick``: ``seed_robustness_quick.*``),
rewritten after every series.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import time

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numpy as np
import pandas as pd

from tsrnn.forecasting import RNNForecaster
from tsrnn.metrics import mase, smape

SIZES = (1, 3, 5)
DEFAULT_SERIES = "air_passengers,UKDriverDeaths,nile,sunspots,m3_monthly"


def load(names, m3_series):
    """Map each name to (y, horizon, season length); ``m3_monthly``: a long frame (a sample)."""
    from interval_coverage import load_m3, load_single

    singles, _ = load_single(["bundled", "r"], 800)
    by_name = {n: (y, h) for n, y, h, _ in singles}
    out = {}
    for name in names:
        if name == "m3_monthly":
            frame, h = load_m3("monthly", m3_series, 0)
            out[name] = (frame, h, 12)
        else:
            y, h = by_name[name]
            out[name] = (y, h, 12 if h == 12 else (4 if h == 8 else 1))
    return out


def split(y, h):
    """Training part and held-out last ``h`` values (per series for a long frame)."""
    if isinstance(y, pd.Series):
        return y.iloc[:-h], {y.name: y.iloc[-h:].to_numpy()}
    pos = y.groupby("unique_id", sort=False).cumcount(ascending=False)
    test = y[pos < h]
    return y[pos >= h], {u: g["y"].to_numpy() for u, g in test.groupby("unique_id")}


def fit_one(train, h, seed, params):
    start = time.perf_counter()
    model = RNNForecaster(horizon=h, random_state=seed, **params).fit(train)
    seconds = time.perf_counter() - start
    fc = model.predict()
    if isinstance(fc, pd.DataFrame):
        out = {u: g["yhat"].to_numpy() for u, g in fc.groupby("unique_id")}
    else:
        out = {train.name: fc.to_numpy()}
    return out, seconds, bool(model.log_)


def combine(members, log):
    """The ensemble forecast from its members' forecasts (uid -> array)."""
    out = {}
    for uid in members[0]:
        stack = np.stack([m[uid] for m in members])
        out[uid] = np.exp(np.log(stack).mean(axis=0)) if log else stack.mean(axis=0)
    return out


def score(fc, test, train, m):
    """Mean sMAPE and MASE over the series."""
    if isinstance(train, pd.Series):
        hist = {train.name: train.to_numpy()}
    else:
        hist = {u: g["y"].to_numpy() for u, g in train.groupby("unique_id")}
    s = [smape(test[u], fc[u]) for u in test]
    q = [mase(test[u], fc[u], hist[u], m if len(hist[u]) > m else 1) for u in test]
    return float(np.mean(s)), float(np.nanmean(q))


def check_equivalence():
    """A real n_models=2 ensemble against the combination of its two members fitted alone."""
    from tsrnn.datasets import load_air_passengers
    from tsrnn.forecasting._ensemble import member_seeds

    y = load_air_passengers()
    kw = {"horizon": 12, "max_iter": 4, "hidden_size": 8}
    ens = RNNForecaster(n_models=2, random_state=0, **kw).fit(y).predict().to_numpy()
    seeds = member_seeds(0, 2)
    members = [{0: RNNForecaster(random_state=s, **kw).fit(y).predict().to_numpy()} for s in seeds]
    rebuilt = combine(members, log=True)[0]
    err = float(np.max(np.abs(rebuilt - ens) / np.abs(ens)))
    return err


def summary(values):
    a = np.asarray(values)
    return {
        "mean": float(a.mean()),
        "min": float(a.min()),
        "max": float(a.max()),
        "std": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
        "n": len(a),
    }


def markdown(res):
    m = res["meta"]
    lines = [
        "# Seed robustness of RNNForecaster: spread over seeds against n_models",
        "",
        (
            f"Default `RNNForecaster(horizon=h)`, last h values of each series held out; pool "
            f"of seeds 0-{m['n_seeds'] - 1}; n_models=k scored on every k-subset of the pool "
            "(exact ensemble forecasts rebuilt from the members, see the script). sMAPE: mean, "
            "[min, max] and std over seeds / subsets; cost: k x the mean single fit time."
        ),
        "",
        "| series | h | n_models | sMAPE mean | sMAPE min-max | sMAPE std | MASE mean | "
        "MASE std | fit s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in res["series"].items():
        for k, row in r["by_size"].items():
            s, q = row["smape"], row["mase"]
            lines.append(
                f"| {name} | {r['h']} | {k} | {s['mean']:.2f} | {s['min']:.2f}-{s['max']:.2f} | "
                f"{s['std']:.2f} | {q['mean']:.3f} | {q['std']:.3f} | {row['fit_s']:.0f} |"
            )
    if m.get("equivalence_max_rel_error") is not None:
        lines += [
            "",
            (
                "Check: a real `n_models=2` fit against its two members fitted alone and "
                f"combined: max relative difference {m['equivalence_max_rel_error']:.2e}."
            ),
        ]
    lines += [
        "",
        (
            f"Run: {m['date']}, {m['cpu_model']} ({m['cpu_count']} CPUs), load average at "
            f"start {m['loadavg_start']}, at end {m.get('loadavg_end')}; tsrnn git "
            f"{m['git_revision']}. Command: `{m['command']}`."
        ),
        "",
    ]
    return "\n".join(lines)


def write(res, out, stem):
    _env.write_results(res, out, stem, markdown)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="smoke run; seed_robustness_quick.*")
    p.add_argument("--seeds", type=int, default=10, help="pool of seeds 0..N-1 (default 10)")
    p.add_argument("--series", default=DEFAULT_SERIES, help="comma-separated series names")
    p.add_argument("--m3-series", type=int, default=100, help="M3 monthly sample size (100)")
    p.add_argument("--params", default=None, help="JSON of RNNForecaster parameters")
    p.add_argument("--tag", default="", help="suffix of the output files")
    p.add_argument("--check", action="store_true", help="verify the ensemble rebuild first")
    p.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="output folder (default experiments/results)",
    )
    args = p.parse_args(argv)
    args.series = [s.strip() for s in args.series.split(",") if s.strip()]
    args.params = json.loads(args.params) if args.params else {}
    if args.quick:
        args.series, args.seeds = ["air_passengers", "nile"], 2
        args.params.setdefault("max_iter", 3)
    return args


def main(argv=None):
    args = parse_args(argv)
    stem = "seed_robustness_quick" if args.quick else "seed_robustness"
    stem += f"_{args.tag}" if args.tag else ""
    meta = {
        "date": _env.now(),
        "command": _env.command(),
        "cpu_model": _env.cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_revision": _env.git_describe(),
        "versions": _env.versions(("tsrnn", "numpy", "numba", "pandas")),
        "loadavg_start": _env.loadavg(),
        "n_seeds": args.seeds,
        "params": args.params,
        "equivalence_max_rel_error": check_equivalence() if args.check else None,
    }
    res = {"meta": meta, "series": {}}
    data = load(args.series, args.m3_series)
    for name, (y, h, m) in data.items():
        train, test = split(y, h)
        fcs, secs, logs = [], [], []
        for seed in range(args.seeds):
            fc, s, log = fit_one(train, h, seed, args.params)
            fcs.append(fc)
            secs.append(s)
            logs.append(log)
            print(f"{name:<16} seed {seed}: {s:6.1f} s", flush=True)
        by_size = {}
        for k in SIZES:
            if k > args.seeds:
                continue
            scores = [
                score(combine([fcs[i] for i in sub], logs[0]), test, train, m)
                for sub in itertools.combinations(range(args.seeds), k)
            ]
            by_size[k] = {
                "smape": summary([s for s, _ in scores]),
                "mase": summary([q for _, q in scores]),
                "fit_s": k * float(np.mean(secs)),
            }
        single = [score(f, test, train, m) for f in fcs]
        res["series"][name] = {
            "h": h,
            "by_size": by_size,
            "smape_per_seed": [round(s, 4) for s, _ in single],
            "fit_s_per_seed": [round(s, 2) for s in secs],
            "log": logs[0],
        }
        meta["loadavg_end"] = _env.loadavg()
        write(res, args.out, stem)
        print(markdown(res).split("\n\n")[2], flush=True)
    write(res, args.out, stem)
    print(markdown(res))
    return res


if __name__ == "__main__":
    main()
