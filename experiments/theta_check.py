"""ThetaForecaster against two independent Theta implementations on all of M3.

The classical Theta method of :class:`tsrnn.forecasting.ThetaForecaster` (R's ``thetaf``:
SES with least-squares alpha and initial level, half the trend slope, multiplicative
decomposition when the 90 % autocorrelation test finds seasonality) is compared, series by
series on the M3 training parts, with

* statsforecast's ``Theta`` (the standard Theta model, theta = 2, in Fiorucci et al.'s state
  space form, with its own seasonality test and decomposition and alpha / level fitted by
  its own optimiser);
* statsmodels' ``ThetaModel`` (Hyndman & Billah's form; ``method='additive'`` is not used:
  the default multiplicative deseasonalisation with its own seasonality test, alpha by
  SES MLE);

and the published Theta sMAPE of the M3 competition (Makridakis & Hibon, 2000, Table 6:
yearly 16.90, quarterly 8.96, monthly 13.85, other 4.41). Reported per subset: the sMAPE and
MASE of each on the test parts, and the median / 90th percentile of the relative difference
``|f_tsrnn - f_other| / |f_other|`` of the forecasts. The references live only here (they
are not test dependencies).

Usage::

    python experiments/theta_check.py                      # all four subsets
    python experiments/theta_check.py --subsets monthly --series 100
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import _env
import numpy as np
from m3 import SUBSETS, load_subset, sf_frame, tsrnn_frame

import tsrnn.forecasting as tf
from tsrnn.metrics import mase, smape

PUBLISHED = {"yearly": 16.90, "quarterly": 8.96, "monthly": 13.85, "other": 4.41}


def run_tsrnn(train, h, freq):
    t0 = time.perf_counter()
    model = tf.ThetaForecaster(horizon=h).fit(tsrnn_frame(train, freq))
    fc = model.predict()
    out = {u: g["yhat"].to_numpy(np.float64) for u, g in fc.groupby("unique_id", sort=False)}
    return out, time.perf_counter() - t0


def run_statsforecast(train, h, season):
    from statsforecast import StatsForecast
    from statsforecast.models import Theta

    t0 = time.perf_counter()
    sf = StatsForecast([Theta(season_length=season)], freq=1, n_jobs=1)
    fc = sf.forecast(df=sf_frame(train), h=h)
    out = {u: g["Theta"].to_numpy(np.float64) for u, g in fc.groupby("unique_id", sort=False)}
    return out, time.perf_counter() - t0


def run_statsmodels(train, h, season):
    from statsmodels.tsa.forecasting.theta import ThetaModel

    t0 = time.perf_counter()
    out = {}
    for u, y in train.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ThetaModel(y, period=season).fit()
            out[u] = np.asarray(res.forecast(h), dtype=np.float64)
    return out, time.perf_counter() - t0


def scores(train, test, fc, season):
    s = [smape(test[u], fc[u]) for u in test]
    m = [mase(test[u], fc[u], y_train=train[u], season_length=season) for u in test]
    return float(np.mean(s)), float(np.nanmean(m))


def rel_diff(a, b):
    d = np.concatenate([np.abs(a[u] - b[u]) / np.maximum(np.abs(b[u]), 1e-12) for u in b])
    return float(np.median(d)), float(np.quantile(d, 0.9))


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subsets", default=",".join(SUBSETS), help="comma-separated subsets")
    parser.add_argument(
        "--series", type=int, default=None, help="random subset per subset (no files written)"
    )
    parser.add_argument(
        "--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    )
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    bad = [s for s in subsets if s not in SUBSETS]
    if bad:
        parser.error(f"unknown subsets {bad}; choose from {list(SUBSETS)}")
    rows = []
    for subset in subsets:
        h, season, freq = SUBSETS[subset]
        train, test = load_subset(subset, args.series)
        ours, t_ours = run_tsrnn(train, h, freq)
        sfc, t_sf = run_statsforecast(train, h, season)
        smc, t_sm = run_statsmodels(train, h, season)
        row = {"subset": subset, "n_series": len(train), "published_smape": PUBLISHED[subset]}
        for name, fc, sec in (("tsrnn", ours, t_ours), ("sf", sfc, t_sf), ("sm", smc, t_sm)):
            row[f"{name}_smape"], row[f"{name}_mase"] = scores(train, test, fc, season)
            row[f"{name}_s"] = sec
        row["reldiff_sf_median"], row["reldiff_sf_p90"] = rel_diff(ours, sfc)
        row["reldiff_sm_median"], row["reldiff_sm_p90"] = rel_diff(ours, smc)
        rows.append(row)
        print(json.dumps(row), flush=True)
    lines = [
        "# ThetaForecaster against statsforecast's Theta and statsmodels' ThetaModel (M3)",
        "",
        "Command: `" + _env.command() + "`, " + _env.now() + f", load {_env.loadavg()}",
        "",
        "| subset | series | published Theta sMAPE | tsrnn Theta sMAPE / MASE | "
        "statsforecast Theta sMAPE / MASE | statsmodels ThetaModel sMAPE / MASE | "
        "rel. diff. to statsforecast (median / p90) | rel. diff. to statsmodels "
        "(median / p90) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['subset']} | {r['n_series']} | {r['published_smape']:.2f} | "
            f"{r['tsrnn_smape']:.2f} / {r['tsrnn_mase']:.3f} | "
            f"{r['sf_smape']:.2f} / {r['sf_mase']:.3f} | "
            f"{r['sm_smape']:.2f} / {r['sm_mase']:.3f} | "
            f"{r['reldiff_sf_median']:.2e} / {r['reldiff_sf_p90']:.2e} | "
            f"{r['reldiff_sm_median']:.2e} / {r['reldiff_sm_p90']:.2e} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.series is None:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "theta_check.md"), "w") as fh:
            fh.write(text)
        with open(os.path.join(args.out, "theta_check.json"), "w") as fh:
            json.dump(
                {
                    "env": _env.environment(("numpy", "tsrnn", "statsforecast", "statsmodels")),
                    "rows": rows,
                },
                fh,
                indent=1,
            )


if __name__ == "__main__":
    main()
