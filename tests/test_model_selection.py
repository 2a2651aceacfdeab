"""Temporal splitters, backtest, evaluate, GridSearchCV and make_windows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, check_cv

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
        [pd.DataFrame({"unique_id": uid, "ds": ds,
                       "y": 10.0 * (k + 1) + np.sin(2 * np.pi * np.arange(n) / 7)})
         for k, uid in enumerate(["a", "b"])],
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
    assert list(res.columns) == ["unique_id", "cutoff", "ds", "y", "yhat",
                                 "yhat_lo_80", "yhat_hi_80"]
    assert (res.unique_id == "passengers").all()
    assert list(res.cutoff.unique()) == [pd.Period("1957-12", "M"), pd.Period("1958-12", "M"),
                                         pd.Period("1959-12", "M")]
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
    res = backtest(SeasonalNaiveForecaster(), df, cv=SlidingWindowSplitter(window=21, step=7,
                                                                         horizon=7))
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


def test_evaluate_backtest_per_series_and_errors():
    df = _long(n=42)
    df["y"] = np.tile([1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0], 12)  # exactly weekly
    res = backtest(SeasonalNaiveForecaster(season_length=7), df, initial=26, step=7, horizon=7)
    scores = evaluate_backtest(res, df, season_length=7)
    assert list(scores.unique_id) == ["a", "b"]
    assert (scores.smape == 0).all() and scores.mase.isna().all()  # zero-scale MASE
    with pytest.raises(ValueError, match="give initial"):
        backtest(SeasonalNaiveForecaster(), df)
    with pytest.raises(ValueError, match=r"missing column\(s\) \['y'\]"):
        backtest(SeasonalNaiveForecaster(), df.drop(columns="y"), initial=20)


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
        RNNForecaster(horizon=7, **FAST), {"window": [7, 14]},
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
