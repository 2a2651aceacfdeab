"""AutoRNNForecaster: the choice made on the training data, results_, budget, fallback."""

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from tsrnn import load, save
from tsrnn.forecasting import AutoRNNForecaster
from tsrnn.model_selection import ExpandingWindowSplitter, backtest

# a tiny network: one cheap candidate
TINY = {"hidden_size": 2, "max_iter": 1, "early_stopping": False, "validation_fraction": 0.0}
TINY_GRU = {**TINY, "cell": "gru"}


def _long(columns: dict, freq="M") -> pd.DataFrame:
    frames = []
    for uid, values in columns.items():
        ds = pd.period_range("2000-01", periods=len(values), freq=freq)
        frames.append(pd.DataFrame({"unique_id": uid, "ds": ds, "y": values}))
    return pd.concat(frames, ignore_index=True)


def _seasonal(n=60, level=10.0, phase=0.0):
    """A clean period-12 pattern: seasonal naive forecasts it exactly."""
    season = 3 * np.sin(2 * np.pi * np.arange(12) / 12 + phase) + np.cos(np.arange(12))
    return level + np.resize(season, n)


def _auto(**kw):
    kw.setdefault("candidates", [TINY])
    kw.setdefault("random_state", 0)
    kw.setdefault("top_k", 1)
    return AutoRNNForecaster(**kw)


def test_results_hold_the_baselines_validation_errors_computed_by_hand():
    rng = np.random.default_rng(0)
    series = {f"s{k}": 50 + np.cumsum(rng.normal(size=40)) for k in range(3)}
    h = 5
    f = _auto(horizon=h, season_length=4, combination=True).fit(_long(series))
    res = f.results_.set_index("candidate")
    bases = ["naive", "drift", "seasonal_naive", "theta"]
    assert set(res.index) == {"candidate_0", *bases, "combination"}
    assert (res["status"] == "ok").all()
    best_base = res.loc[bases, "score"].idxmin()
    assert res.loc["combination", "params"] == f"mean of candidate_0 and {best_base}"
    expected = {"naive": [], "drift": [], "seasonal_naive": []}
    smapes = {"naive": [], "drift": [], "seasonal_naive": []}
    for y in series.values():
        train, test = y[:-h], y[-h:]
        scale = np.mean(np.abs(train[4:] - train[:-4]))
        drift = (train[-1] - train[0]) / (len(train) - 1)
        fcs = {
            "naive": np.full(h, train[-1]),
            "drift": train[-1] + drift * np.arange(1, h + 1),
            "seasonal_naive": np.resize(train[-4:], h),
        }
        for name, fc in fcs.items():
            expected[name].append(np.mean(np.abs(test - fc)) / scale)
            smapes[name].append(np.mean(200 * np.abs(test - fc) / (np.abs(test) + np.abs(fc))))
    for name in expected:
        assert res.loc[name, "mase"] == pytest.approx(np.mean(expected[name]), rel=1e-12)
        assert res.loc[name, "smape"] == pytest.approx(np.mean(smapes[name]), rel=1e-12)
        assert res.loc[name, "score"] == res.loc[name, "mase"]
    # ranked best first; the rank follows the score
    assert list(f.results_["rank"]) == [1, 2, 3, 4, 5, 6]
    assert f.results_["score"].is_monotonic_increasing
    assert f.best_candidate_ == f.results_["candidate"].iloc[0]


def test_duplicates_are_not_fitted_twice():
    rng = np.random.default_rng(8)
    df = _long({f"s{k}": 30 + np.cumsum(rng.normal(size=30)) for k in range(2)}, freq="Y")
    cands = [TINY, {**TINY, "deseasonalize": "auto"}, TINY_GRU]  # 'auto' is False at m = 1
    f = _auto(horizon=3, candidates=cands, baselines=False).fit(df)
    status = f.results_.set_index("candidate")["status"]
    assert status["candidate_1"] == "duplicate of candidate_0"
    assert status["candidate_0"] == status["candidate_2"] == "ok"


def test_clean_seasonal_panel_chooses_seasonal_naive():
    df = _long({"a": _seasonal(), "b": _seasonal(level=20, phase=1.0)})
    with pytest.warns(UserWarning, match="MASE is undefined"):
        f = _auto(horizon=6).fit(df)
    assert f.metric_ == "smape"
    assert f.best_candidate_ == "seasonal_naive"
    assert f.results_.set_index("candidate").loc["seasonal_naive", "score"] == 0.0
    assert f.best_params_ == {"horizon": 6, "season_length": 12}
    assert "combination" not in set(f.results_["candidate"])  # only with combination=True
    # the forecast repeats the last season
    fc = f.predict()
    for uid, y in (("a", _seasonal()), ("b", _seasonal(level=20, phase=1.0))):
        got = fc[fc.unique_id == uid].yhat.to_numpy()
        np.testing.assert_allclose(got, y[-12:-6], rtol=0, atol=1e-12)


def test_series_that_stops_moving_chooses_naive():
    rng = np.random.default_rng(3)
    y = np.concatenate([50 + np.cumsum(rng.normal(size=30)), np.full(20, 42.0)])
    f = _auto(horizon=4, season_length=1, freq=1).fit(pd.Series(y, name="v"))
    assert f.best_candidate_ == "naive"
    assert f.predict().tolist() == [42.0] * 4


def test_metric_smape_ranks_by_smape():
    rng = np.random.default_rng(7)
    df = _long({"a": _seasonal() + rng.normal(size=60), "b": _seasonal(level=30)})
    f = _auto(horizon=6, metric="smape").fit(df)
    assert (f.results_["score"] == f.results_["smape"]).all()


def test_choice_uses_only_the_data_passed_to_fit():
    rng = np.random.default_rng(1)
    past = 100 + np.cumsum(rng.normal(size=48))
    futures = [past[-1] + np.cumsum(rng.normal(size=12)) for _ in range(2)]
    fits = []
    for future in futures:
        full = pd.Series(
            np.concatenate([past, future]),
            index=pd.period_range("2000-01", periods=60, freq="M"),
            name="v",
        )
        f = _auto(horizon=6).fit(full.iloc[:48])  # the test part is left out
        fits.append(f)
    a, b = (f.results_.drop(columns="fit_s") for f in fits)
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    pd.testing.assert_series_equal(fits[0].predict(), fits[1].predict(), check_exact=True)


def test_per_series_fallback_to_a_clearly_better_baseline():
    # seasonal series: seasonal naive exact; a straight line: drift exact, seasonal naive not.
    # The seasonal series cross zero, so Theta does not adjust them (multiplicative
    # decomposition needs positive values) and is far from exact on them.
    seasonal = {f"s{k}": _seasonal(level=float(k), phase=k) for k in range(4)}
    df = _long({**seasonal, "line": 5.0 + 2.0 * np.arange(60)})
    f = _auto(horizon=6, metric="smape").fit(df)
    assert f.best_candidate_ == "seasonal_naive"
    models = f.series_models_
    assert models.loc["line", "model"] == "drift"
    assert "drift" in models.loc["line", "reason"]
    assert (models.loc[list(seasonal), "model"] == "auto").all()
    text = f.summary()
    assert "chosen: seasonal_naive" in text and "series by model: auto 4, drift 1" in text
    fc = f.predict()
    line = fc[fc.unique_id == "line"].yhat.to_numpy()
    np.testing.assert_allclose(line, 5.0 + 2.0 * np.arange(60, 66), rtol=1e-12)
    # without the fallback the line gets the seasonal naive forecast
    g = _auto(horizon=6, metric="smape", fallback_margin=None).fit(df)
    assert (g.series_models_["model"] == "auto").all()
    fc = g.predict()
    np.testing.assert_allclose(fc[fc.unique_id == "line"].yhat, 5.0 + 2.0 * np.arange(48, 54))


def test_fallback_respects_the_margin():
    rng = np.random.default_rng(5)
    df = _long({f"s{k}": 50 + np.cumsum(rng.normal(size=50)) for k in range(4)})
    cands = [TINY, TINY_GRU]
    for top_k, margin in ((1, 0.0), (2, 0.3)):
        f = _auto(
            horizon=5,
            season_length=1,
            candidates=cands,
            top_k=top_k,
            top_k_tolerance=None,
            fallback_margin=margin,
        )
        f.fit(df)
        err = f.validation_errors_  # metric mase: same order as MAE within a series
        if top_k == 1:
            np.testing.assert_array_equal(err["chosen"], err[f.best_candidate_])
        bases = [c for c in ("naive", "drift") if c in err]
        for uid, row in err.iterrows():
            worse = row["chosen"] > (1 + margin) * row[bases].min()
            assert (f.series_models_.loc[uid, "model"] != "auto") == worse


def test_time_budget_skips_the_later_candidates():
    y = pd.Series(_seasonal(48), index=pd.period_range("2000-01", periods=48, freq="M"))
    f = _auto(
        horizon=6,
        candidates=[TINY, TINY_GRU, {**TINY, "hidden_size": 3}],
        time_budget_s=1e-9,
        metric="smape",
    )
    f.fit(y)
    status = f.results_.set_index("candidate")["status"]
    assert status["candidate_0"] == "ok"  # the first always runs
    assert status["candidate_1"] == status["candidate_2"] == "skipped (time budget)"
    assert f.results_.set_index("candidate")["rank"][["candidate_1", "candidate_2"]].isna().all()


def test_top_k_forecasts_the_mean_of_the_best_k():
    rng = np.random.default_rng(2)
    df = _long({f"s{k}": 30 + np.cumsum(rng.normal(size=40)) for k in range(3)})
    kw = dict(candidates=[TINY, TINY_GRU], top_k=2, top_k_tolerance=None, fallback_margin=None)
    f = _auto(horizon=4, **kw).fit(df)
    assert len(f.estimators_) == 2 and f.estimators_[0] is f.best_forecaster_
    members = [e.predict().yhat.to_numpy() for e in f.estimators_]
    np.testing.assert_allclose(f.predict().yhat.to_numpy(), (members[0] + members[1]) / 2)


def test_top_k_keeps_only_runners_up_within_the_tolerance_of_the_best():
    # clean seasonal series: seasonal naive is exact (score 0), naive and drift are not
    df = _long({f"s{k}": _seasonal(level=10 + k, phase=k / 3) for k in range(3)})
    f = _auto(horizon=6, top_k=3, fallback_margin=None).fit(df)  # tolerance 0.1
    res = f.results_.set_index("candidate")
    assert res.loc["seasonal_naive", "rank"] == 1 and res["score"].nsmallest(2).iloc[1] > 0
    assert len(f.estimators_) == 1  # nothing else within 10 % of a perfect score
    np.testing.assert_allclose(
        f.predict().yhat.to_numpy(), f.best_forecaster_.predict().yhat.to_numpy()
    )
    g = _auto(horizon=6, top_k=3, top_k_tolerance=None, fallback_margin=None).fit(df)
    assert len(g.estimators_) == 3  # the mean of the best three, as asked


def test_same_random_state_same_choice_and_forecasts():
    rng = np.random.default_rng(4)
    df = _long({f"s{k}": 30 + np.cumsum(rng.normal(size=40)) for k in range(3)})
    a = _auto(horizon=4, candidates=[TINY, TINY_GRU], baselines=False).fit(df)
    b = _auto(horizon=4, candidates=[TINY, TINY_GRU], baselines=False).fit(df)
    pd.testing.assert_frame_equal(
        a.results_.drop(columns="fit_s"), b.results_.drop(columns="fit_s"), check_exact=True
    )
    pd.testing.assert_frame_equal(a.predict(level=[80]), b.predict(level=[80]), check_exact=True)
    assert a.best_candidate_.startswith("candidate_")


def test_intervals_are_conformal_over_the_validation_errors():
    df = _long({f"s{k}": _seasonal(level=10 + k, phase=k / 3) for k in range(5)})
    # not deseasonalised: these series are exactly seasonal, so their adjusted series would be
    # constant and the validation errors ~1e-15
    cand = {**TINY, "deseasonalize": False}
    f = _auto(horizon=3, candidates=[cand], baselines=False, metric="smape").fit(df)
    fc = f.predict(level=[50])
    # 5 held-out residuals per step: the 50 % quantile is the 3rd smallest (ceil(6 * 0.5))
    q = np.maximum.accumulate(np.sort(f.conformal_scores_, axis=0)[2])
    for uid, g in fc.groupby("unique_id"):
        y = df[df.unique_id == uid].y.to_numpy()
        scale = np.mean(np.abs(np.diff(y)))
        np.testing.assert_allclose(g.yhat_hi_50 - g.yhat, q * scale, rtol=1e-10)
        np.testing.assert_allclose(g.yhat - g.yhat_lo_50, q * scale, rtol=1e-10)


def test_bad_inputs_are_clear_errors():
    y = pd.Series(_seasonal(30), index=pd.period_range("2000-01", periods=30, freq="M"))
    with pytest.raises(ValueError, match="no series is long enough"):
        _auto(horizon=24).fit(y)
    with pytest.raises(ValueError, match="candidates\\[0\\] sets \\['horizon'\\]"):
        _auto(candidates=[{"horizon": 3}]).fit(y)
    with pytest.raises(ValueError, match="unknown key"):
        _auto(candidates=[{"hidden": 3}]).fit(y)
    with pytest.raises(ValueError, match="covariates"):
        _auto().fit(y, X=pd.DataFrame({"x": np.ones(30)}, index=y.index))


def test_short_series_are_left_out_of_the_validation_with_a_warning():
    df = _long({"a": _seasonal(60), "b": _seasonal(60, level=12), "short": _seasonal(14)})
    with pytest.warns(UserWarning, match="1 of 3 series .* no part in the validation"):
        f = _auto(horizon=6, metric="smape").fit(df)
    assert "short" not in f.validation_errors_.index
    assert "too short" in f.series_models_.loc["short", "reason"]
    assert len(f.predict().query("unique_id == 'short'")) == 6


def test_clone_save_load_backtest_and_grid_search(tmp_path):
    y = pd.Series(
        _seasonal(60) + np.linspace(0, 3, 60),
        index=pd.period_range("2000-01", periods=60, freq="M"),
        name="v",
    )
    f = _auto(horizon=6, candidates=[TINY, TINY_GRU])
    g = clone(f)
    assert g.get_params() == f.get_params() and g.candidates is not f.candidates
    f.fit(y.iloc[:54])
    loaded = load(save(f, tmp_path / "auto.tsrnn"))
    pd.testing.assert_frame_equal(loaded.predict(level=[80]), f.predict(level=[80]))
    pd.testing.assert_frame_equal(loaded.results_, f.results_)
    loaded.update(y)
    f.update(y)
    pd.testing.assert_series_equal(loaded.predict(), f.predict(), check_exact=True)
    assert f.predict().index[0] == y.index[-1] + 1
    bt = backtest(_auto(horizon=6), y, initial=48, step=6, horizon=6)
    assert len(bt) == 12 and np.isfinite(bt.yhat).all()
    search = GridSearchCV(
        _auto(horizon=6),
        {"metric": ["mase", "smape"]},
        cv=ExpandingWindowSplitter(initial=48, step=6, horizon=6),
    )
    search.fit(y)
    assert len(search.cv_results_["params"]) == 2
    assert len(search.best_estimator_.predict()) == 6


def test_search_runs_on_dask_with_identical_results():
    distributed = pytest.importorskip("dask.distributed")
    rng = np.random.default_rng(6)
    df = _long({f"s{k}": 30 + np.cumsum(rng.normal(size=40)) for k in range(3)})
    local = _auto(horizon=4, candidates=[TINY, TINY_GRU]).fit(df)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        with joblib.parallel_config(backend="dask"):
            remote = _auto(horizon=4, candidates=[TINY, TINY_GRU], n_jobs=2).fit(df)
        assert client.status == "running"
    pd.testing.assert_frame_equal(
        local.results_.drop(columns="fit_s"),
        remote.results_.drop(columns="fit_s"),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(local.predict(), remote.predict(), check_exact=True)
