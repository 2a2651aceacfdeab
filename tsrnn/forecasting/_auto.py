"""The configuration chosen on the user's own data: :class:`AutoRNNForecaster`.

``fit`` holds out the last ``horizon`` observations of every series (``n_origins`` such
windows, one after another), fits every candidate configuration of
:class:`~tsrnn.forecasting.RNNForecaster` and the baselines on the rest, scores their
forecasts of the held-out values, refits the best (or the mean of the best ``top_k``) on all
the data, and lets a series whose held-out error was clearly worse than a baseline's use that
baseline. The candidates run through :class:`joblib.Parallel` as functions of plain data, so
``with joblib.parallel_config(backend="dask")`` runs the search on a Dask cluster.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real
from statistics import NormalDist

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from ._auto_jobs import (
    _BASELINES,
    DEFAULT_CANDIDATES,
    _check_candidates,
    _conformal_quantile,
    _copy_update,
    _errors,
    _nanmean,
    _params_text,
    _refit_job,
    _same,
    _to_frame,
    _validate_job,
)
from ._base import FILL_METHOD, FREQ, POSITIVE_INT, BaseForecaster
from ._output import SeriesForecast, forecast_columns
from ._panel import _Panel
from ._rnn import RNNForecaster
from ._rollout import check_levels
from ._time import resolve_season_length

_DESEASONALIZE_DEFAULT = RNNForecaster().deseasonalize


class AutoRNNForecaster(BaseForecaster):
    """RNNForecaster with its configuration chosen on the training data itself.

    ``fit`` holds out the last ``horizon`` observations of every series (``n_origins``
    windows of ``horizon`` steps, the latest ones), fits each candidate configuration of
    :class:`~tsrnn.forecasting.RNNForecaster` and the baselines on the data before them,
    scores their forecasts of the held-out values with ``metric``, and refits the best
    configuration -- or the mean of the ``top_k`` best -- on all the data. Only the data
    passed to ``fit`` is used for the choice. A series whose held-out error was more than
    ``fallback_margin`` worse than the best baseline's is forecast by that baseline
    (``series_models_``).

    Parameters
    ----------
    horizon : int, default=1
        Number of steps forecast, and the length of every held-out validation window.
    candidates : list of dict or None, default=None
        Configurations to try: dicts of :class:`RNNForecaster` parameters (``horizon``,
        ``freq``, ``fill_method`` and ``past_covariates`` excepted: they are set by this
        forecaster), in priority order. A dict may use ``window_seasons=k`` instead of
        ``window``: ``window = max(k * season_length, horizon)``. None uses
        :data:`DEFAULT_CANDIDATES` (see Notes).
    metric : {'mase', 'smape'}, default='mase'
        Validation error, averaged over the held-out steps and origins of every series, then
        over the series. 'mase': each series' MAE divided by the in-sample MAE of the seasonal
        naive forecast of its training part (series where that scale is 0 take no part in the
        mean). 'smape': Makridakis' symmetric MAPE in percent.
    n_origins : int, default=1
        Validation windows per series: the last ``n_origins * horizon`` observations are
        held out, ``horizon`` at a time, and every candidate is fitted once per origin.
    top_k : int, default=3
        Forecast with the mean of the ``top_k`` best configurations (networks or baselines),
        each refitted on all the data. The default 3 averages away part of the noise of a
        ranking whose leaders differ by about 1 %: on the M3 monthly training parts the mean
        of the best three beat the best one alone (sMAPE 11.09 vs 11.15, MASE 0.892 vs
        0.899 on the held-out window; ``experiments/results/auto_design.md``).
    top_k_tolerance : float or None, default=0.1
        Of the ``top_k`` best, average only those whose validation score is at most
        ``(1 + top_k_tolerance)`` times the best score, so a clear winner is not diluted by
        worse runners-up (air passengers without its last 12 months: the best candidate
        scored validation MASE 0.79, the next two 1.21 and 1.53; on those last 12 months the
        mean of the three scored sMAPE 6.25 against 3.67 for the best alone). On M3 monthly
        it leaves out the third: Theta scored validation MASE 0.875, the best networks 0.959
        and 0.977 (within 9.6 % and 11.6 %); on the other M3 subsets the best three are
        within 7 % of each other. None averages all ``top_k``.
    baselines : bool, default=True
        Also score :class:`NaiveForecaster`, :class:`DriftForecaster`, (for seasonal data)
        :class:`SeasonalNaiveForecaster` and :class:`ThetaForecaster` (the classical Theta
        method): they can win, and they are the per-series fallback.
    combination : bool, default=False
        Also score the mean of the best network and the best baseline (a 'combination' row
        of ``results_``, no extra fit), which can then be chosen. Off by default: on the M3
        monthly training parts it won the validation by 1 % but was 4 % worse than the
        network alone on the next held-out window.
    fallback_margin : float or None, default=1.0
        A series whose held-out error of the chosen forecaster exceeds ``(1 + margin)`` times
        that of the best baseline on that series is forecast by that baseline. None disables
        the fallback (so does ``baselines=False``). With ``metric='mase'`` the comparison
        uses the series' MAE (the same order; it is also defined where the MASE scale is 0).
    time_budget_s : float or None, default=None
        Seconds for the validation search. Candidates are launched in priority order, a batch
        of ``n_jobs`` at a time; no new batch starts once the elapsed time plus the last
        batch's duration exceeds the budget. The first batch always runs, so at least one
        network is scored. Skipped candidates are listed in ``results_``. The final refit is
        not part of the budget.
    season_length : int or None, default=None
        Seasonal period; None derives it from the frequency (as RNNForecaster does). Passed
        to every candidate and to the seasonal naive and Theta baselines.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series; None takes it from the index.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        Missing-value policy, as in :class:`RNNForecaster`.
    n_jobs : int or None, default=None
        Candidates fitted at a time by :class:`joblib.Parallel` (None: one, unless a
        ``joblib.parallel_config`` says otherwise).
    random_state : int, RandomState instance or None, default=None
        Seed given to every candidate (a RandomState or None draws one integer per ``fit``).
        An int makes ``fit`` reproducible when no time budget cuts the search.
    verbose : int, default=0
        Print one line per candidate scored.

    Attributes
    ----------
    results_ : pandas.DataFrame
        One row per candidate and baseline, best first: ``candidate`` (name:
        ``candidate_<i>`` for ``candidates[i]``, the baseline's name, or 'combination'),
        ``kind`` ('network', the baseline, or 'combination'), ``params`` (text), ``score``
        (the ranking metric), ``mase``, ``smape``, ``fit_s`` (seconds of its validation
        fits), ``status`` ('ok', 'failed: ...', 'skipped (time budget)', 'duplicate of ...'),
        ``rank``. With ``combination=True`` a 'combination' row is the mean of the best
        network's and the best baseline's held-out forecasts (no extra fit); when it ranks
        first both are refitted and their forecasts averaged.
    best_candidate_ : str
        Name of the best row of ``results_``.
    best_params_ : dict
        Parameters of the first forecaster it uses (the RNNForecaster parameters of a
        network, resolved: window, seed...; or the baseline's).
    best_score_ : float
        Validation score of the forecaster used (the mean of the ``top_k`` when > 1), before
        the per-series fallback.
    best_forecaster_ : BaseForecaster
        The best configuration refitted on all the data.
    estimators_ : list of BaseForecaster
        The ``top_k`` configurations refitted on all the data (the first is
        ``best_forecaster_``).
    series_models_ : pandas.DataFrame
        Per series (index ``unique_id``): ``model`` ('auto' for the chosen forecaster, or the
        baseline name: 'naive', 'drift', 'seasonal_naive', 'theta') and ``reason`` (why).
    validation_errors_ : pandas.DataFrame
        Per scored series (index ``unique_id``), the held-out error in the ranking metric of
        the forecaster chosen before the fallback (column ``'chosen'``: the mean of the
        ``top_k``) and of every scored candidate (columns by name).
    window_ : int or None
        Input window of the best network (None when a baseline won).
    season_length_ : int
        The seasonal period used.
    metric_ : str
        The metric that ranked the candidates: ``metric``, or 'smape' (with a UserWarning)
        when MASE is undefined for every validated series (each repeats its seasonal pattern
        exactly).
    conformal_scores_ : numpy.ndarray of shape (n_series * n_origins, horizon)
        Held-out absolute errors of the chosen forecaster, divided by each series' naive
        scale (in-sample MAE of its one-step changes); the prediction intervals' calibration.
    freq_ : pandas offset or int
        The frequency of the series.
    cutoff_ : scalar or pandas.Series
        Last timestamp of the data (per ``unique_id`` for long input).
    fit_time_ : float
        Wall-clock seconds of the last ``fit`` (search and refit).

    See Also
    --------
    RNNForecaster : One configuration, given by the user.
    tsrnn.model_selection.backtest : Rolling-origin evaluation.

    Notes
    -----
    The default candidates (:data:`DEFAULT_CANDIDATES`, in priority order) were designed on
    the training parts of the four M3 subsets, their last ``horizon`` observations held out
    (``experiments/auto_design.py``; the M3 test parts were not used). Six use one training
    stage of a fixed number of epochs on all windows (no inner hold-out: the outer validation
    chooses), a window of two seasons (at least ``horizon``), no calendar features, learning
    rate 0.001, seasonality-tested deseasonalising (``deseasonalize='auto'``) and the
    absolute-error loss: LSTM 5 epochs (best on M3 monthly and yearly), RNN 10 (best on
    quarterly), GRU 3, LSTM 20, LSTM 5 with the squared error, LSTM 5 without
    deseasonalising. The seventh is ``RNNForecaster(cell='lstm')``'s defaults (early
    stopping, up to 200 epochs): it suits single long series such as air passengers, where
    a few fixed epochs are too few gradient steps, and is the most expensive one on large
    panels (about half of the search on M3 monthly), hence last.

    The default ``fallback_margin=1.0`` was chosen on the same held-out parts, from 0, 0.1,
    0.25, 0.5, 1 and 2: on the yearly series (short, noisy) the fallback helps at any
    margin, on the quarterly, monthly and other series small margins hurt (one window of
    ``horizon`` values is a noisy judge of a single series); 1 was the best compromise.
    These choices were made with the naive, drift and seasonal naive baselines;
    :class:`ThetaForecaster` was added to the baselines later as a textbook method (R's
    ``thetaf``, nothing tuned), and the defaults were kept.

    Candidates identical to an earlier one once resolved for the data (e.g.
    ``deseasonalize='auto'`` and False for non-seasonal data) are not fitted again.

    Series with fewer than ``n_origins * horizon + max(season_length + 1, 3)`` observations
    take no part in the validation (a UserWarning says how many); they are forecast by the
    chosen forecaster.

    Prediction intervals (``predict(level=...)``) are split-conformal over the series: the
    held-out absolute errors of the chosen forecaster, each divided by its series' naive
    scale, give per step the conformal quantile ``q_j``; the interval is
    ``yhat +- q_j * scale`` with the scale of the series' whole history. With too few
    held-out series for a quantile per step (fewer than ``100 / (100 - level) - 1``), one
    quantile of all steps' errors divided by ``sqrt(step)`` is used, times ``sqrt(step)``;
    with fewer residuals than even that needs (one short series), a normal interval:
    ``z * rms * sqrt(step)`` with ``rms`` the root mean square of those scaled errors -- an
    approximation, not a calibrated interval. Steps beyond ``horizon`` widen like a random
    walk. Series using a baseline get its normal intervals (FPP3, Table 5.2; Theta's as
    :class:`ThetaForecaster` gives them). ``X`` is not
    supported: use :class:`RNNForecaster` for covariates.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> y = load_air_passengers()
    >>> f = AutoRNNForecaster(
    ...     horizon=12, candidates=[{"hidden_size": 4, "max_iter": 2}], random_state=0
    ... ).fit(y)
    >>> f.best_candidate_, len(f.predict())
    ('theta', 12)
    """

    _parameter_constraints: dict = {
        "horizon": [POSITIVE_INT],
        "candidates": [list, tuple, None],
        "metric": [StrOptions({"mase", "smape"})],
        "n_origins": [POSITIVE_INT],
        "top_k": [POSITIVE_INT],
        "top_k_tolerance": [Interval(Real, 0, None, closed="left"), None],
        "baselines": ["boolean"],
        "combination": ["boolean"],
        "fallback_margin": [Interval(Real, 0, None, closed="left"), None],
        "time_budget_s": [Interval(Real, 0, None, closed="neither"), None],
        "season_length": [POSITIVE_INT, None],
        "freq": FREQ,
        "fill_method": FILL_METHOD,
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }
    _uses_exog = False

    def __init__(
        self,
        horizon=1,
        *,
        candidates=None,
        metric="mase",
        n_origins=1,
        top_k=3,
        top_k_tolerance=0.1,
        baselines=True,
        combination=False,
        fallback_margin=1.0,
        time_budget_s=None,
        season_length=None,
        freq=None,
        fill_method=None,
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.horizon = horizon
        self.candidates = candidates
        self.metric = metric
        self.n_origins = n_origins
        self.top_k = top_k
        self.top_k_tolerance = top_k_tolerance
        self.baselines = baselines
        self.combination = combination
        self.fallback_margin = fallback_margin
        self.time_budget_s = time_budget_s
        self.season_length = season_length
        self.freq = freq
        self.fill_method = fill_method
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _check_params(self) -> None:
        _check_candidates(DEFAULT_CANDIDATES if self.candidates is None else self.candidates)

    def fit(self, y, X=None):
        if X is not None:
            raise ValueError(
                "AutoRNNForecaster does not take covariates (X); use RNNForecaster with X"
            )
        return super().fit(y)

    fit.__doc__ = BaseForecaster.fit.__doc__

    def update(self, y, X=None):
        if X is not None:
            raise ValueError(
                "AutoRNNForecaster does not take covariates (X); use RNNForecaster with X"
            )
        return super().update(y)

    update.__doc__ = BaseForecaster.update.__doc__

    # ----------------------------------------------------------------------------------------
    # fit
    # ----------------------------------------------------------------------------------------

    def _jobs(self, panel: _Panel, seed: int) -> list:
        """(name, kind, params, priority) of every candidate and baseline, in launch order."""
        m = self.season_length_
        common = {"freq": panel.freq, "fill_method": None}
        jobs = []
        cands = DEFAULT_CANDIDATES if self.candidates is None else self.candidates
        for k, cand in enumerate(_check_candidates(cands)):
            params = {"horizon": self.horizon, "season_length": m, "random_state": seed}
            cand = dict(cand)
            seasons = cand.pop("window_seasons", None)
            if seasons is not None:
                cand["window"] = max(int(seasons) * m, self.horizon)
            params.update(cand)
            params.update(common)
            # the same model at m = 1, where nothing is seasonal (the default included)
            if m == 1 and params.get("deseasonalize", _DESEASONALIZE_DEFAULT) == "auto":
                params["deseasonalize"] = False
            jobs.append((f"candidate_{k}", "network", params))
        if self.baselines:
            names = ["naive", "drift"] + (["seasonal_naive"] if m > 1 else []) + ["theta"]
            for name in names:
                params = {"horizon": self.horizon, **common}
                if name in ("seasonal_naive", "theta"):
                    params["season_length"] = m
                jobs.append((name, name, params))
        return jobs

    def _fit(self, panel: _Panel) -> None:
        started = time.perf_counter()
        h = self.horizon
        self.season_length_ = m = resolve_season_length(self.season_length, panel.kind, panel.freq)
        rs = self.random_state
        if isinstance(rs, (int, np.integer)) and not isinstance(rs, bool):
            seed = int(rs)
        else:
            seed = int(check_random_state(rs).randint(np.iinfo(np.int32).max))
        cut_total = self.n_origins * h
        need = cut_total + max(m + 1, 3)
        scored = [s for s in panel.series if len(s.y) >= need]
        if not scored:
            raise ValueError(
                f"no series is long enough to validate on: holding out n_origins * horizon = "
                f"{cut_total} observations needs at least {need} per series (the longest has "
                f"{max(len(s.y) for s in panel.series)}); lower horizon or n_origins, or use "
                "RNNForecaster"
            )
        if len(scored) < len(panel.series):
            warnings.warn(
                f"{len(panel.series) - len(scored)} of {len(panel.series)} series have fewer "
                f"than {need} observations: they take no part in the validation and are "
                "forecast by the chosen configuration",
                UserWarning,
                stacklevel=4,
            )
        val_panel = panel.subset(s.uid for s in scored)
        uids = [s.uid for s in scored]
        n_o = self.n_origins
        # origin j (0 = earliest) ends (n_o - j) * h before the end of the series
        frames = [_to_frame(val_panel, (n_o - j) * h) for j in range(n_o)]
        actual = np.empty((n_o, len(scored), h))
        mase_scale = np.empty((n_o, len(scored)))
        naive_scale = np.empty((n_o, len(scored)))
        for j in range(n_o):
            end = (n_o - j) * h
            for i, s in enumerate(scored):
                train = s.y[: len(s.y) - end]
                actual[j, i] = s.y[len(s.y) - end : len(s.y) - end + h]
                mase_scale[j, i] = np.mean(np.abs(train[m:] - train[:-m]))
                naive_scale[j, i] = np.mean(np.abs(np.diff(train)))

        metric = self.metric
        if metric == "mase" and not (mase_scale > 0).any():
            warnings.warn(
                "every validated series repeats its seasonal pattern exactly (the MASE scale "
                "is 0), so MASE is undefined: candidates are ranked by sMAPE",
                UserWarning,
                stacklevel=4,
            )
            metric = "smape"
        self.metric_ = metric
        jobs = self._jobs(panel, seed)
        duplicates = {}  # a candidate identical to an earlier one (once resolved) is not run
        full = [RNNForecaster(**p).get_params() if k == "network" else p for _, k, p in jobs]
        for k, (name, kind, _) in enumerate(jobs):
            for j, (other, _, _) in enumerate(jobs[:k]):
                if kind == "network" and full[j] == full[k] and other not in duplicates:
                    duplicates[name] = other
                    break
        nets = [j for j in jobs if j[1] == "network" and j[0] not in duplicates]
        bases = [j for j in jobs if j[1] != "network"]
        outcome = {}
        parallel = Parallel(n_jobs=self.n_jobs)
        # the baselines are cheap: scored first, in one batch
        if bases:
            done = parallel(delayed(_validate_job)(k, p, frames, uids, h) for _, k, p in bases)
            outcome.update(zip([j[0] for j in bases], done))
        search_start = time.perf_counter()
        if self.time_budget_s is None:
            done = parallel(delayed(_validate_job)(k, p, frames, uids, h) for _, k, p in nets)
            outcome.update(zip([j[0] for j in nets], done))
        else:
            batch = max(1, parallel._effective_n_jobs())
            last = 0.0
            for b in range(0, len(nets), batch):
                elapsed = time.perf_counter() - search_start
                if b > 0 and elapsed + last > self.time_budget_s:
                    break
                part = nets[b : b + batch]
                t0 = time.perf_counter()
                done = parallel(delayed(_validate_job)(k, p, frames, uids, h) for _, k, p in part)
                last = time.perf_counter() - t0
                outcome.update(zip([j[0] for j in part], done))

        # -- scores --
        rows, preds = [], {}
        for priority, (name, kind, params) in enumerate(jobs):
            shown = {k: v for k, v in params.items() if k not in ("freq", "fill_method")}
            row = {
                "candidate": name,
                "kind": kind,
                "params": _params_text(shown),
                "score": np.nan,
                "mase": np.nan,
                "smape": np.nan,
                "fit_s": np.nan,
                "status": "skipped (time budget)",
                "priority": priority,
            }
            if name in duplicates:
                row["status"] = f"duplicate of {duplicates[name]}"
            elif name in outcome:
                fc, seconds, error = outcome[name]
                row["fit_s"] = seconds
                if error is not None:
                    row["status"] = f"failed: {error}"
                elif not np.isfinite(fc).all():
                    row["status"] = "failed: non-finite forecasts"
                else:
                    preds[name] = fc
                    row["status"] = "ok"
                    row["mase"] = _nanmean(_errors(actual, fc, mase_scale, "mase"))
                    row["smape"] = float(np.mean(_errors(actual, fc, mase_scale, "smape")))
                    row["score"] = row[metric]
            rows.append(row)
            if self.verbose:
                print(
                    f"[AutoRNNForecaster] {name:<16} {row['status']:<8} "
                    f"{metric} {row['score']:.4f}  {row['fit_s']:.1f} s",
                    flush=True,
                )
        # the combination: mean of the best network and the best baseline (no extra fit)
        parts = {name: [name] for name in preds}
        scored_rows = sorted(
            (r for r in rows if r["status"] == "ok"), key=lambda r: (r["score"], r["priority"])
        )
        best_net = next((r for r in scored_rows if r["kind"] == "network"), None)
        best_base = next((r for r in scored_rows if r["kind"] != "network"), None)
        if self.combination and best_net is not None and best_base is not None:
            pair = [best_net["candidate"], best_base["candidate"]]
            fc = (preds[pair[0]] + preds[pair[1]]) / 2.0
            preds["combination"], parts["combination"] = fc, pair
            row = {
                "candidate": "combination",
                "kind": "combination",
                "params": f"mean of {pair[0]} and {pair[1]}",
                "score": np.nan,
                "mase": _nanmean(_errors(actual, fc, mase_scale, "mase")),
                "smape": float(np.mean(_errors(actual, fc, mase_scale, "smape"))),
                "fit_s": 0.0,
                "status": "ok",
                "priority": len(rows),
            }
            row["score"] = row[metric]
            rows.append(row)
        results = pd.DataFrame(rows)
        ok = results[results["status"] == "ok"].sort_values(["score", "priority"], kind="stable")
        if ok.empty:
            raise ValueError(
                "every candidate failed on the validation data: "
                + "; ".join(f"{r.candidate}: {r.status}" for r in results.itertuples())
            )
        if not (ok["kind"] == "network").any():
            warnings.warn(
                "no network candidate was scored successfully; a baseline is used",
                UserWarning,
                stacklevel=4,
            )
        ranked = ok["candidate"].tolist()
        rank = {name: r + 1 for r, name in enumerate(ranked)}
        results["rank"] = [rank.get(n, np.nan) for n in results["candidate"]]
        results = results.sort_values(["rank", "priority"], kind="stable", na_position="last")
        results = results.drop(columns="priority").reset_index(drop=True)

        leaders = ranked[: self.top_k]
        if self.top_k_tolerance is not None:
            score = ok.set_index("candidate")["score"]
            limit = (1.0 + self.top_k_tolerance) * score[leaders[0]]
            leaders = [w for w in leaders if score[w] <= limit]
        winners = list(dict.fromkeys(p for w in leaders for p in parts[w]))
        by_name = {name: (kind, params) for name, kind, params in jobs}
        chosen = np.mean([preds[w] for w in winners], axis=0)
        cmp_metric = "mae" if metric == "mase" else "smape"
        err_chosen = _errors(actual, chosen, mase_scale, cmp_metric)
        self.best_score_ = _nanmean(_errors(actual, chosen, mase_scale, metric))

        # -- per-series fallback --
        reasons = {}
        base_ok = [n for n in ranked if n in by_name and by_name[n][0] != "network"]
        if self.fallback_margin is not None and base_ok:
            base_err = np.stack(
                [_errors(actual, preds[b], mase_scale, cmp_metric) for b in base_ok]
            )
            best_b = np.argmin(base_err, axis=0)
            best_e = base_err[best_b, np.arange(len(uids))]
            worse = err_chosen > (1.0 + self.fallback_margin) * best_e
            for i in np.flatnonzero(worse):
                b = base_ok[best_b[i]]
                reasons[uids[i]] = (
                    b,
                    f"validation {cmp_metric} {err_chosen[i]:.4g} > (1 + "
                    f"{self.fallback_margin:g}) x {b}'s {best_e[i]:.4g}",
                )
        # conformal scores of the chosen forecaster on the series that keep it
        keep = np.array([u not in reasons for u in uids])
        with np.errstate(divide="ignore", invalid="ignore"):
            sc = np.abs(actual - chosen) / naive_scale[:, :, None]
        sc = np.where(naive_scale[:, :, None] > 0, sc, np.where(actual == chosen, 0.0, np.inf))
        self.conformal_scores_ = sc[:, keep].reshape(-1, h) if keep.any() else sc.reshape(-1, h)

        # -- refit on all the data --
        frame = _to_frame(panel)
        fitted = Parallel(n_jobs=self.n_jobs)(
            delayed(_refit_job)(by_name[w][0], by_name[w][1], frame) for w in winners
        )
        self.estimators_ = fitted
        self.best_forecaster_ = fitted[0]
        self.best_candidate_ = ranked[0]
        kind0, params0 = by_name[winners[0]]
        self.best_params_ = {k: v for k, v in params0.items() if k not in ("freq", "fill_method")}
        self.window_ = getattr(fitted[0], "window_", None)
        self._winners = list(winners)
        self._fallback = {u: b for u, (b, _) in reasons.items()}
        self._fallback_models = self._fit_fallbacks(panel)
        scored_set = set(uids)
        self.series_models_ = pd.DataFrame(
            {
                "model": [self._fallback.get(s.uid, "auto") for s in panel.series],
                "reason": [
                    reasons[s.uid][1]
                    if s.uid in reasons
                    else (
                        "chosen forecaster"
                        if s.uid in scored_set
                        else "chosen forecaster (too short to validate)"
                    )
                    for s in panel.series
                ],
            },
            index=pd.Index([s.uid for s in panel.series], name="unique_id"),
        )
        self.results_ = results
        self.validation_errors_ = pd.DataFrame(
            {
                "chosen": _errors(actual, chosen, mase_scale, metric),
                **{n: _errors(actual, preds[n], mase_scale, metric) for n in ranked},
            },
            index=pd.Index(uids, name="unique_id"),
        )
        self.fit_time_ = time.perf_counter() - started

    def _fit_fallbacks(self, panel: _Panel) -> dict:
        """The baselines of the fallback series, each fitted on its own series."""
        models = {}
        for name in sorted(set(self._fallback.values())):
            sub = panel.subset(u for u, b in self._fallback.items() if b == name)
            sub_uids = [s.uid for s in sub.series]
            if not sub_uids:
                continue
            params = {"horizon": self.horizon, "freq": panel.freq}
            if name in ("seasonal_naive", "theta"):
                params["season_length"] = self.season_length_
            models[name] = _BASELINES[name](**params).fit(_to_frame(sub))
        return models

    # ----------------------------------------------------------------------------------------
    # update, predict
    # ----------------------------------------------------------------------------------------

    def _update(self, panel: _Panel) -> None:
        frame = _to_frame(panel)
        self.estimators_ = [_copy_update(e, frame) for e in self.estimators_]
        self.best_forecaster_ = self.estimators_[0]
        present = {s.uid for s in panel.series}
        self._fallback = {u: b for u, b in self._fallback.items() if u in present}
        models = {}
        for name in sorted(set(self._fallback.values())):
            sub = panel.subset(u for u, b in self._fallback.items() if b == name)
            models[name] = _copy_update(self._fallback_models[name], _to_frame(sub))
        self._fallback_models = models
        old = self.series_models_
        self.series_models_ = pd.DataFrame(
            {
                "model": [self._fallback.get(s.uid, "auto") for s in panel.series],
                "reason": [
                    old["reason"].get(s.uid, "chosen forecaster (new series)") for s in panel.series
                ],
            },
            index=pd.Index([s.uid for s in panel.series], name="unique_id"),
        )

    def _predict(self, h: int, X_future, level):
        levels = check_levels(level, True)
        per_model = [
            {r.uid: r.columns["yhat"] for r in est._predict(h, None, None)[0]}
            for est in self.estimators_
        ]
        fallback = {}
        for model in self._fallback_models.values():
            fallback.update({r.uid: r for r in model._predict(h, None, levels or None)[0]})
        q = self._quantiles(levels, h) if levels else {}
        results = []
        for s in self._panel.series:
            if s.uid in self._fallback:
                r = fallback[s.uid]
                results.append(SeriesForecast(s.uid, r.index, r.columns))
                continue
            point = np.mean([np.asarray(p[s.uid], dtype=np.float64) for p in per_model], axis=0)
            diffs = np.abs(np.diff(s.y))
            scale = float(np.mean(diffs)) if len(diffs) else 0.0
            halves = {lv: q[lv] * scale for lv in levels}
            if scale == 0:
                halves = {lv: np.zeros(h) for lv in levels}
            results.append(
                SeriesForecast(s.uid, self._future(s, h), forecast_columns(point, halves, _same))
            )
        return results, bool(levels)

    def _future(self, s, h):
        from ._time import _future_index

        return _future_index(s.index[-1], h, self._kind, self.freq_, s.index.name)

    def _quantiles(self, levels, h) -> dict:
        """Per level, the conformal quantile of every step.

        Per step when every step has enough held-out residuals; otherwise (few series) one
        quantile of all steps' residuals divided by ``sqrt(step)``, times ``sqrt(step)``; with
        fewer residuals still, the normal quantile times their root mean square.
        Steps past ``horizon`` grow like a random walk, ``q_H sqrt(j / H)``.
        """
        scores = self.conformal_scores_
        n_steps = scores.shape[1]
        root = np.sqrt(np.arange(1, n_steps + 1))
        out = {}
        for lv in levels:
            q = np.array([_conformal_quantile(scores[:, j], lv) for j in range(n_steps)])
            if not np.isfinite(q).all():
                q = _conformal_quantile((scores / root).ravel(), lv) * root
            if not np.isfinite(q).all():  # too few residuals: a normal interval
                rms = float(np.sqrt(np.mean((scores / root) ** 2)))
                q = NormalDist().inv_cdf(0.5 + lv / 200.0) * rms * root
            q = np.maximum.accumulate(q)
            if h > n_steps:
                extra = q[-1] * np.sqrt(np.arange(n_steps + 1, h + 1) / n_steps)
                q = np.concatenate([q, extra])
            out[lv] = q[:h]
        return out

    # ----------------------------------------------------------------------------------------
    # summary
    # ----------------------------------------------------------------------------------------

    def summary(self) -> str:
        """A plain-text report: the validation table, the choice and the per-series fallback.

        Returns
        -------
        str
            The report (returned, not printed: ``print(f.summary())``).
        """
        check_is_fitted(self)
        counts = self.series_models_["model"].value_counts()
        table = self.results_[
            ["rank", "candidate", "kind", "score", "mase", "smape", "fit_s", "status"]
        ].to_string(index=False, float_format=lambda v: f"{v:.4f}")
        lines = [
            "AutoRNNForecaster",
            f"  series: {len(self.series_models_)}, horizon {self.horizon}, season length "
            f"{self.season_length_}, validation origins {self.n_origins}, metric {self.metric_}",
            f"  chosen: {', '.join(self._winners)} (validation {self.metric_} "
            f"{self.best_score_:.4f}); window {self.window_}",
            f"  best params: {_params_text(self.best_params_)}",
            "  series by model: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
            f"  fit time: {self.fit_time_:.1f} s",
            "",
            "Validation (held-out last horizon of every series):",
            table,
        ]
        return "\n".join(lines)
