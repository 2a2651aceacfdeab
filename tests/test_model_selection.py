"""Temporal splitters, backtest, evaluate, GridSearchCV and make_windows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, check_cv

import tsrnn.forecasting as F
from tsrnn.datasets import load_air_passengers
from tsrnn.forecasting import RNNForecaster, SeasonalNaiveForecaster
from tsrnn.metrics import mae, mase, rmse, smape
from tsrnn.model_selection import (
    ExpandingWindowSplitter,
    SlidingWindowSplitter,
    backtest,
    evaluate,
    evaluate_backtest,
    make_windows,
)

FAST = dict(hidden_size=4, max_iter=4, n_iter_no_change=4, random_state=0)


def _long(n=40):
    ds = pd.date_range("2021-01-01", periods=n, freq="D")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ds,
                    "y": 10.0 * (k + 1) + np.sin(2 * np.pi * np.arange(n) / 7),
                }
            )
            for k, uid in enumerate(["a", "b"])
        ],
        ignore_index=True,
    )


# --------------------------------------------------------------------------------------------
# splitters
# --------------------------------------------------------------------------------------------


def test_expanding_window_splitter_indices():
    cv = ExpandingWindowSplitter(initial=5, step=2, horizon=2)
    folds = [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.arange(10))]
    assert folds == [
        (list(range(5)), [5, 6]),
        (list(range(7)), [7, 8]),
    ]
    assert cv.get_n_splits(np.arange(10)) == 2
    assert repr(cv) == "ExpandingWindowSplitter(initial=5, step=2, horizon=2)"


def test_sliding_window_splitter_indices():
    cv = SlidingWindowSplitter(window=3, step=1, horizon=2)
    folds = [(tr.tolist(), te.tolist()) for tr, te in cv.split(pd.Series(np.zeros(7)))]
    assert folds == [([0, 1, 2], [3, 4]), ([1, 2, 3], [4, 5]), ([2, 3, 4], [5, 6])]
    later = SlidingWindowSplitter(window=3, step=2, horizon=2, initial=5)
    assert [tr.tolist() for tr, _ in later.split(np.arange(9))] == [[2, 3, 4], [4, 5, 6]]


def test_splitters_on_long_dataframe_split_by_time_for_all_series():
    df = _long(n=10).sample(frac=1.0, random_state=0)  # row order must not matter
    cv = ExpandingWindowSplitter(initial=6, step=2, horizon=2)
    folds = list(cv.split(df))
    assert len(folds) == cv.get_n_splits(df) == 2
    train, test = folds[1]
    assert df.iloc[train]["ds"].max() == pd.Timestamp("2021-01-08")
    assert sorted(df.iloc[test]["ds"].unique()) == list(pd.date_range("2021-01-09", periods=2))
    assert df.iloc[test].groupby("unique_id").size().to_dict() == {"a": 2, "b": 2}
    assert len(train) == 2 * 8


def test_splitter_errors_and_sklearn_check_cv():
    with pytest.raises(ValueError, match="too few"):
        ExpandingWindowSplitter(initial=9, horizon=2).get_n_splits(np.arange(10))
    with pytest.raises(ValueError, match="initial must be a positive integer"):
        list(ExpandingWindowSplitter(initial=0).split(np.arange(10)))
    with pytest.raises(ValueError, match=r"initial \(2\) must be at least window \(3\)"):
        SlidingWindowSplitter(window=3, initial=2).get_n_splits(np.arange(10))
    with pytest.raises(ValueError, match="needs the data"):
        ExpandingWindowSplitter(initial=3).get_n_splits()
    cv = ExpandingWindowSplitter(initial=5)
    assert check_cv(cv) is cv  # accepted as-is by scikit-learn


# --------------------------------------------------------------------------------------------
# backtest and evaluate
# --------------------------------------------------------------------------------------------


def test_backtest_tidy_output_for_a_series():
    y = load_air_passengers()
    res = backtest(RNNForecaster(horizon=12, **FAST), y, initial=108, step=12, level=[80])
    assert list(res.columns) == [
        "unique_id",
        "cutoff",
        "ds",
        "y",
        "yhat",
        "yhat_lo_80",
        "yhat_hi_80",
    ]
    assert (res.unique_id == "passengers").all()
    assert list(res.cutoff.unique()) == [
        pd.Period("1957-12", "M"),
        pd.Period("1958-12", "M"),
        pd.Period("1959-12", "M"),
    ]
    assert len(res) == 36
    np.testing.assert_array_equal(res.y.to_numpy(), y.iloc[108:].to_numpy())
    assert (res.ds > res.cutoff).all()


def test_backtest_refit_options():
    y = load_air_passengers().iloc[:96]
    f = RNNForecaster(horizon=6, **FAST)
    every = backtest(f, y, initial=60, step=6, refit=True)
    once = backtest(f, y, initial=60, step=6, refit=False)
    pairs = backtest(f, y, initial=60, step=6, refit=2)
    for res in (once, pairs):
        pd.testing.assert_frame_equal(res[["cutoff", "ds", "y"]], every[["cutoff", "ds", "y"]])
    # the first fold is always a fresh fit; refit=2 refits at folds 0, 2, 4
    n = 6
    first = every.cutoff == every.cutoff.iloc[0]
    np.testing.assert_array_equal(once.yhat[first], every.yhat[first])
    third = every.cutoff == every.cutoff.unique()[2]
    np.testing.assert_array_equal(pairs.yhat[third], every.yhat[third])
    second = every.cutoff == every.cutoff.unique()[1]
    assert not np.array_equal(once.yhat[second], every.yhat[second])
    assert every.cutoff.nunique() == n
    with pytest.raises(ValueError, match="refit must be"):
        backtest(f, y, initial=60, refit=0)


def test_backtest_identical_with_one_and_two_jobs():
    y = load_air_passengers().iloc[:96]
    f = RNNForecaster(horizon=6, **FAST)
    one = backtest(f, y, initial=72, step=6, n_jobs=1, level=[90])
    two = backtest(f, y, initial=72, step=6, n_jobs=2, level=[90])
    pd.testing.assert_frame_equal(one, two, check_exact=True)


def test_backtest_on_long_dataframe_and_sliding_cv():
    df = _long(n=40)
    res = backtest(
        SeasonalNaiveForecaster(), df, cv=SlidingWindowSplitter(window=21, step=7, horizon=7)
    )
    assert res.groupby("unique_id").size().to_dict() == {"a": 14, "b": 14}
    # a pure weekly pattern: repeating the last week is exact
    np.testing.assert_allclose(res.y, res.yhat, atol=1e-9)
    rnn = backtest(RNNForecaster(horizon=7, **FAST), df, initial=26, step=7)
    assert set(rnn.unique_id) == {"a", "b"} and rnn.cutoff.nunique() == 2


def test_evaluate_metrics_match_hand_computation():
    y = load_air_passengers()
    scores = evaluate(SeasonalNaiveForecaster(), y, initial=120, step=12, horizon=12)
    row = scores.iloc[0]
    assert row.unique_id == "passengers" and row.n_folds == 2 and row.n_forecasts == 24
    actual, fc = [], []
    mases = []
    for cut in (120, 132):
        f = y.iloc[cut - 12 : cut].to_numpy()
        a = y.iloc[cut : cut + 12].to_numpy()
        actual.append(a), fc.append(f)
        mases.append(mase(a, f, y.iloc[:cut], season_length=12))
    actual, fc = np.concatenate(actual), np.concatenate(fc)
    assert row.mae == pytest.approx(mae(actual, fc))
    assert row.rmse == pytest.approx(rmse(actual, fc))
    assert row.smape == pytest.approx(smape(actual, fc))
    assert row.mase == pytest.approx(np.mean(mases))  # season length 12 from the frequency
    assert row.model == "SeasonalNaiveForecaster"
    assert list(scores.model) == ["SeasonalNaiveForecaster", "naive", "drift", "seasonal_naive"]
    assert list(scores.columns) == [
        "unique_id",
        "model",
        "n_folds",
        "n_forecasts",
        "mae",
        "rmse",
        "smape",
        "mase",
        "mase_naive",
    ]
    # the seasonal naive baseline is the backtested forecaster itself
    same = scores.iloc[3][["mae", "rmse", "smape", "mase", "mase_naive"]]
    np.testing.assert_allclose(
        same.to_numpy(float), row[["mae", "rmse", "smape", "mase", "mase_naive"]].to_numpy(float)
    )


def test_evaluate_backtest_per_series_and_errors():
    df = _long(n=42)
    df["y"] = np.tile([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0], 12)  # exactly weekly
    res = backtest(SeasonalNaiveForecaster(season_length=7), df, initial=26, step=7, horizon=7)
    scores = evaluate_backtest(res, df, season_length=7, baselines=False)
    assert list(scores.unique_id) == ["a", "b"] and (scores.model == "model").all()
    assert (scores.smape == 0).all() and scores.mase.isna().all()  # zero-scale MASE
    with pytest.raises(ValueError, match="give initial"):
        backtest(SeasonalNaiveForecaster(), df)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['y'\]"):
        backtest(SeasonalNaiveForecaster(), df.drop(columns="y"), initial=20)


def _ragged_panel():
    """a: 2020-01 .. 2021-12 (24 months); b: 2021-01 .. 2022-06 (18 months), yearly seasonal."""
    t = np.arange(30)
    season = 10 * np.sin(2 * np.pi * t / 12)
    ds = pd.date_range("2020-01-01", periods=30, freq="MS")
    return pd.concat(
        [
            pd.DataFrame({"unique_id": "a", "ds": ds[:24], "y": 100 + t[:24] + season[:24]}),
            pd.DataFrame({"unique_id": "b", "ds": ds[12:], "y": 50 + season[12:]}),
        ],
        ignore_index=True,
    )


def test_panel_backtest_cutoffs_are_counted_back_from_each_series_end():
    df = _ragged_panel()
    cv = ExpandingWindowSplitter(initial=12, step=3, horizon=3)
    # a (the longest, 24 steps): cutoffs at its steps 11, 14, 17, 20, i.e. 12, 9, 6 and 3
    # steps before its end (2021-12). b ends 2022-06: the same offsets give 2021-06 (6
    # observations), 2021-09 (9), 2021-12 (12) and 2022-03 (15); the first two are shorter
    # than initial=12, so b is in folds 2 and 3 only.
    a_cut = pd.to_datetime(["2020-12-01", "2021-03-01", "2021-06-01", "2021-09-01"])
    b_cut = pd.to_datetime(["2021-12-01", "2022-03-01"])
    table = cv.series_cutoffs(df)
    assert table.fold.tolist() == [0, 1, 2, 2, 3, 3]
    assert table.unique_id.tolist() == ["a", "a", "a", "b", "a", "b"]
    assert list(table.cutoff[table.unique_id == "a"]) == list(a_cut)
    assert list(table.cutoff[table.unique_id == "b"]) == list(b_cut)
    assert cv.get_n_splits(df) == 4 and cv.cutoffs(df).tolist() == [11, 14, 17, 20]
    folds = list(cv.split(df))
    train, test = folds[3]
    assert df.iloc[train].groupby("unique_id")["ds"].agg(
        ["min", "max", "size"]
    ).values.tolist() == [
        [pd.Timestamp("2020-01-01"), pd.Timestamp("2021-09-01"), 21],
        [pd.Timestamp("2021-01-01"), pd.Timestamp("2022-03-01"), 15],
    ]
    assert list(df.iloc[test].ds) == list(pd.date_range("2021-10-01", periods=3, freq="MS")) + list(
        pd.date_range("2022-04-01", periods=3, freq="MS")
    )
    # the backtest runs (on the union of dates, b had 3 months of history at the 2021-03 cutoff
    # and the seasonal naive forecaster, which needs 12, failed)
    res = backtest(SeasonalNaiveForecaster(season_length=12), df, initial=12, step=3, horizon=3)
    assert list(res.loc[res.unique_id == "a", "cutoff"].unique()) == list(a_cut)
    assert list(res.loc[res.unique_id == "b", "cutoff"].unique()) == list(b_cut)
    assert res.groupby("unique_id").size().to_dict() == {"a": 12, "b": 6}
    assert res.loc[res.unique_id == "b", "ds"].max() == pd.Timestamp("2022-06-01")
    np.testing.assert_allclose(
        res.loc[res.unique_id == "b", "yhat"], res.loc[res.unique_id == "b", "y"]
    )  # b is exactly seasonal


def test_panel_backtest_with_the_network_over_different_date_ranges():
    df = _ragged_panel()
    res = backtest(
        RNNForecaster(horizon=3, window=3, **FAST), df, initial=12, step=3, horizon=3, refit=False
    )
    assert res.groupby("unique_id")["cutoff"].nunique().to_dict() == {"a": 4, "b": 2}
    assert np.isfinite(res.yhat).all()


def test_series_too_short_for_every_fold_is_left_out_with_a_warning():
    df = _ragged_panel()
    short = pd.DataFrame(
        {"unique_id": "c", "ds": pd.date_range("2021-06-01", periods=10, freq="MS"), "y": 1.0}
    )
    df = pd.concat([df, short], ignore_index=True)
    cv = ExpandingWindowSplitter(initial=12, step=3, horizon=3)
    with pytest.warns(UserWarning, match=r"series 'c' \(10 steps\) is too short .* left out"):
        folds = list(cv.split(df))
    assert all("c" not in set(df.iloc[np.concatenate(f)].unique_id) for f in folds)
    with pytest.raises(ValueError, match="the longest series has 24 time steps: too few"):
        ExpandingWindowSplitter(initial=22, horizon=3).get_n_splits(df)


def test_sliding_window_per_series():
    df = _ragged_panel()
    cv = SlidingWindowSplitter(window=6, step=6, horizon=3, initial=12)
    folds = list(cv.split(df))
    # a: cutoffs at its steps 11 and 17 (offsets 12 and 6); b: offset 12 is b's step 5 < 11
    train, test = folds[1]
    spans = df.iloc[train].groupby("unique_id")["ds"].agg(["min", "max"])
    assert spans.loc["a"].tolist() == [pd.Timestamp("2021-01-01"), pd.Timestamp("2021-06-01")]
    assert spans.loc["b"].tolist() == [pd.Timestamp("2021-07-01"), pd.Timestamp("2021-12-01")]
    assert set(df.iloc[folds[0][0]].unique_id) == {"a"}


def test_evaluate_backtest_baselines_by_hand():
    y = pd.Series([1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0], name="s")
    res = backtest(SeasonalNaiveForecaster(season_length=2), y, initial=5, step=1, horizon=2)
    scores = evaluate_backtest(res, y, season_length=2).set_index("model")
    assert list(scores.index) == ["model", "naive", "drift", "seasonal_naive"]
    # fold 0: train 1 3 2 5 4, actual 6 8; fold 1: train 1 3 2 5 4 6, actual 8 7
    # naive 4 4 | 6 6; drift (slopes 3/4 and 5/5) 4.75 5.5 | 7 8; seasonal naive 5 4 | 4 6
    assert scores.loc["naive", "mae"] == pytest.approx((2 + 4 + 2 + 1) / 4)
    assert scores.loc["naive", "rmse"] == pytest.approx(2.5)
    assert scores.loc["drift", "mae"] == pytest.approx((1.25 + 2.5 + 1 + 1) / 4)
    assert scores.loc["drift", "rmse"] == pytest.approx(np.sqrt((1.5625 + 6.25 + 1 + 1) / 4))
    assert scores.loc["seasonal_naive", "mae"] == pytest.approx((1 + 4 + 4 + 1) / 4)
    assert scores.loc["model", "mae"] == pytest.approx(2.5)
    # naive scales: fold 0 (2 + 1 + 3 + 1) / 4, fold 1 (2 + 1 + 3 + 1 + 2) / 5;
    # seasonal (m = 2) scales: fold 0 (1 + 2 + 2) / 3, fold 1 (1 + 2 + 2 + 1) / 4
    assert scores.loc["naive", "mase_naive"] == pytest.approx((3 / 1.75 + 1.5 / 1.8) / 2)
    assert scores.loc["naive", "mase"] == pytest.approx((3 / (5 / 3) + 1.5 / 1.5) / 2)
    assert scores.loc["drift", "smape"] == pytest.approx(
        100 / 4 * (2 * 1.25 / 10.75 + 2 * 2.5 / 13.5 + 2 * 1 / 15 + 2 * 1 / 15)
    )
    assert (scores.n_folds == 2).all() and (scores.n_forecasts == 4).all()


def test_evaluate_backtest_baselines_match_the_baseline_forecasters():
    df = _ragged_panel()
    kw = dict(initial=12, step=3, horizon=3)
    model = backtest(RNNForecaster(horizon=3, window=3, **FAST), df, refit=False, **kw)
    scores = evaluate_backtest(model, df, season_length=12, model_name="rnn")
    assert list(scores.model) == ["rnn", "naive", "drift", "seasonal_naive"] * 2
    for name, forecaster in (
        ("naive", F.NaiveForecaster()),
        ("drift", F.DriftForecaster()),
        ("seasonal_naive", SeasonalNaiveForecaster(season_length=12)),
    ):
        own = evaluate_backtest(backtest(forecaster, df, **kw), df, 12, baselines=False)
        expected = own[["unique_id", "n_folds", "mae", "rmse", "smape", "mase", "mase_naive"]]
        got = scores.loc[scores.model == name, expected.columns].reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    only = evaluate_backtest(model, df, 12, baselines=["drift"], model_name="rnn")
    assert list(only.model) == ["rnn", "drift"] * 2
    # Theta on request (not in True): as ThetaForecaster backtested on the same folds
    with_theta = evaluate_backtest(model, df, 12, baselines=["theta"], model_name="rnn")
    assert list(with_theta.model) == ["rnn", "theta"] * 2
    theta = F.ThetaForecaster(season_length=12)
    own = evaluate_backtest(backtest(theta, df, **kw), df, 12, baselines=False)
    expected = own[["unique_id", "n_folds", "mae", "rmse", "smape", "mase", "mase_naive"]]
    got = with_theta.loc[with_theta.model == "theta", expected.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)
    with pytest.raises(ValueError, match="baselines must be"):
        evaluate_backtest(model, df, 12, baselines=["arima"])


def test_evaluate_backtest_baseline_without_enough_history_is_nan():
    y = pd.Series([1.0, 2.0, 4.0, 7.0])
    res = backtest(F.NaiveForecaster(), y, initial=1, step=1, horizon=1)
    scores = evaluate_backtest(res, y).set_index("model")
    assert scores.loc["drift"][["mae", "smape", "mase"]].isna().all()  # 1 value at cutoff 0
    assert scores.loc["naive", "mae"] == pytest.approx((1 + 2 + 3) / 3)
    assert scores.loc["model", "mae"] == scores.loc["naive", "mae"]


# --------------------------------------------------------------------------------------------
# GridSearchCV
# --------------------------------------------------------------------------------------------


def test_grid_search_over_forecaster_with_time_series_splitter():
    y = load_air_passengers().iloc[:96]
    search = GridSearchCV(
        RNNForecaster(horizon=6, **FAST),
        {"hidden_size": [2, 4], "cell": ["gru", "lstm"]},
        cv=ExpandingWindowSplitter(initial=72, step=6, horizon=6),
    )
    search.fit(y)
    assert len(search.cv_results_["params"]) == 4
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores).all() and (scores <= 0).all()  # -sMAPE
    assert search.best_params_ in search.cv_results_["params"]
    assert len(search.best_estimator_.predict()) == 6


def test_grid_search_on_long_dataframe():
    df = _long(n=47)
    search = GridSearchCV(
        RNNForecaster(horizon=7, **FAST),
        {"window": [7, 14]},
        cv=ExpandingWindowSplitter(initial=33, step=7, horizon=7),
    )
    search.fit(df)
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


# --------------------------------------------------------------------------------------------
# make_windows
# --------------------------------------------------------------------------------------------


def test_make_windows_shapes_and_values():
    X, y = make_windows(np.arange(10.0), window=4, horizon=3)
    assert X.shape == (4, 4, 1) and y.shape == (4, 3)
    np.testing.assert_array_equal(X[0, :, 0], [0, 1, 2, 3])
    np.testing.assert_array_equal(y[-1], [7, 8, 9])
    X2, y2 = make_windows(pd.Series(np.arange(10.0)), window=4, horizon=3, step=2)
    assert X2.shape == (2, 4, 1)
    np.testing.assert_array_equal(y2[:, 0], [5.0, 7.0])  # the latest window is always kept
    feats = np.column_stack([np.arange(10.0) * 10, -np.arange(10.0)])
    X3, _ = make_windows(np.arange(10.0), window=4, horizon=1, features=feats)
    assert X3.shape == (6, 4, 3)
    np.testing.assert_array_equal(X3[1, :, 1], [10, 20, 30, 40])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_make_windows_feeds_an_estimator():
    from tsrnn.estimators import GRURegressor

    X, y = make_windows(np.sin(np.arange(60) / 3), window=8, horizon=2)
    model = GRURegressor(hidden_size=4, max_iter=3, random_state=0).fit(X, y)
    assert model.predict(X).shape == (len(X), 2)


def test_make_windows_errors():
    with pytest.raises(ValueError, match="fewer than window \\+ horizon = 6"):
        make_windows(np.arange(5.0), window=4, horizon=2)
    with pytest.raises(ValueError, match="missing or infinite"):
        make_windows(np.array([1.0, np.nan, 2.0, 3.0]), window=2)
    with pytest.raises(ValueError, match="one-dimensional"):
        make_windows(np.zeros((5, 2)), window=2)
    with pytest.raises(ValueError, match="window must be a positive integer"):
        make_windows(np.arange(5.0), window=0)
