"""loss='quantile' in the regressors and the forecaster: levels, non-crossing, columns."""

import warnings

import numpy as np
import pandas as pd
import pytest

import tsrnn
from tsrnn.estimators import GRURegressor, LSTMRegressor, RNNRegressor
from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting._output import quantile_name
from tsrnn.forecasting._rollout import roll_out
from tsrnn.forecasting._transforms import SeriesTransform
from tsrnn.forecasting._windows import WindowLayout

SMALL = dict(hidden_size=3, max_iter=3, random_state=0)
FAST = dict(hidden_size=4, max_iter=4, n_iter_no_change=4, random_state=0)


def _monthly(n=60, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.5 * t + 5 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
    return pd.Series(values, index=pd.period_range("2000-01", periods=n, freq="M"), name="y")


# --------------------------------------------------------------------------
# regressors
# --------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_quantile_regressor_fits_the_empirical_quantiles():
    # inputs carry no information: the best constant of level τ is the target's τ-quantile;
    # y = 0.0, 0.1, ..., 9.9 has quantiles 1.0, 5.0 and 9.0 (±0.1) at levels 0.1, 0.5, 0.9
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3, 1)) * 1e-3
    y = np.arange(100) / 10.0
    est = GRURegressor(
        hidden_size=2,
        loss="quantile",
        quantiles=[0.9, 0.1],  # unsorted, 0.5 missing: sorted and added
        max_iter=400,
        learning_rate_init=0.05,
        batch_size=100,
        shuffle=False,
        n_iter_no_change=400,
        random_state=0,
    ).fit(X, y)
    assert est.quantiles_.tolist() == [0.1, 0.5, 0.9]
    assert est.network_.n_outputs == 3
    q = est.predict_quantiles(X)
    assert q.shape == (100, 3)
    np.testing.assert_allclose(q.mean(axis=0), [0.95, 4.95, 8.95], atol=0.3)
    np.testing.assert_array_equal(est.predict(X), q[:, 1])  # predict is the median


def _crossing(cls, n_outputs, levels):
    """A fitted quantile regressor whose raw head outputs cross: bias 1, 0, -1 per output."""
    est = cls(hidden_size=2, loss="quantile", quantiles=levels, dtype="float64")
    X = np.zeros((4, 3, 1))
    y = np.zeros((4, n_outputs)) if n_outputs > 1 else np.zeros(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est.set_params(max_iter=1).fit(X, y)
    state = est.export_weights()
    state["head.weight"] = np.zeros_like(state["head.weight"])
    state["head.bias"] = np.tile([1.0, 0.0, -1.0], n_outputs) + np.repeat(
        np.arange(n_outputs) * 10.0, 3
    )
    est.import_weights(state)
    return est, X


@pytest.mark.parametrize("cls", [RNNRegressor, LSTMRegressor, GRURegressor])
def test_quantiles_never_cross_and_predict_is_the_sorted_median(cls):
    est, X = _crossing(cls, 1, (0.2, 0.5, 0.8))
    np.testing.assert_array_equal(est.predict_quantiles(X), [[-1.0, 0.0, 1.0]] * 4)
    np.testing.assert_array_equal(est.predict(X), [0.0] * 4)
    est, X = _crossing(cls, 2, (0.2, 0.5, 0.8))
    q = est.predict_quantiles(X)
    assert q.shape == (4, 2, 3)
    np.testing.assert_array_equal(q[0], [[-1.0, 0.0, 1.0], [9.0, 10.0, 11.0]])
    np.testing.assert_array_equal(est.predict(X), [[0.0, 10.0]] * 4)


def test_quantile_parameter_errors():
    X, y = np.random.default_rng(0).normal(size=(6, 3)), np.arange(6.0)
    for bad, match in [
        ([0.0, 0.5], "strictly inside"),
        ([0.5, 1.2], "strictly inside"),
        ([0.1, 0.1], "must not repeat"),
        ([], "non-empty"),
        (["a"], "sequence of numbers"),
    ]:
        with pytest.raises(ValueError, match=match):
            RNNRegressor(loss="quantile", quantiles=bad, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="only used with loss='quantile'"):
        RNNRegressor(quantiles=[0.1, 0.9], **SMALL).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = RNNRegressor(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="predict_quantiles needs a model fitted with"):
        plain.predict_quantiles(X)


def test_quantile_warm_start_with_other_levels_restarts(recwarn):
    X, y = np.random.default_rng(0).normal(size=(8, 3)), np.arange(8.0) / 8
    est = RNNRegressor(loss="quantile", warm_start=True, **SMALL).fit(X, y)
    est.set_params(quantiles=[0.25, 0.5, 0.75]).fit(X, y)
    assert any("quantile levels [0.25, 0.5, 0.75]" in str(w.message) for w in recwarn)
    assert est.quantiles_.tolist() == [0.25, 0.5, 0.75] and est.n_iter_ == 3


def test_quantile_regressor_round_trips_through_save_and_load(tmp_path):
    X, y = np.random.default_rng(1).normal(size=(10, 4)), np.arange(10.0) / 10
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        est = LSTMRegressor(loss="quantile", quantiles=(0.05, 0.95), **SMALL).fit(X, y)
    path = tmp_path / "q.tsrnn"
    tsrnn.save(est, path)
    back = tsrnn.load(path)
    assert back.quantiles_.tolist() == [0.05, 0.5, 0.95]
    np.testing.assert_array_equal(back.predict_quantiles(X), est.predict_quantiles(X))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))


# --------------------------------------------------------------------------
# forecaster
# --------------------------------------------------------------------------


def test_quantile_column_names():
    assert quantile_name(0.1) == "yhat_q10"
    assert quantile_name(0.5) == "yhat_q50"
    assert quantile_name(0.025) == "yhat_q2.5"
    assert quantile_name(0.975) == "yhat_q97.5"
    assert quantile_name(0.07) == "yhat_q7"  # 100·0.07 = 7.000000000000001 in floats


def test_quantile_forecaster_columns_median_and_intervals():
    y = _monthly()
    f = RNNForecaster(horizon=3, loss="quantile", quantiles=[0.1, 0.9], log=True, **FAST).fit(y)
    fc = f.predict(level=[80])
    assert list(fc.columns) == [
        "yhat",
        "yhat_lo_80",
        "yhat_hi_80",
        "yhat_q10",
        "yhat_q50",
        "yhat_q90",
    ]
    np.testing.assert_array_equal(fc["yhat"], fc["yhat_q50"])  # yhat is the median
    np.testing.assert_array_equal(fc["yhat_lo_80"], fc["yhat_q10"])  # from the quantiles
    np.testing.assert_array_equal(fc["yhat_hi_80"], fc["yhat_q90"])
    q = fc[["yhat_q10", "yhat_q50", "yhat_q90"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all() and (q > 0).all()  # ordered, exp of the log scale
    plain = f.predict()
    assert isinstance(plain, pd.DataFrame) and "yhat_q90" in plain  # quantiles without level
    with pytest.raises(ValueError, match=r"level=95 needs the quantiles 0.025 and 0.975"):
        f.predict(level=[95])


def test_quantile_forecaster_parameter_errors():
    with pytest.raises(ValueError, match="only used with loss='quantile'"):
        RNNForecaster(horizon=2, quantiles=[0.1, 0.9], **FAST).fit(_monthly())
    with pytest.raises(ValueError, match="strictly inside"):
        RNNForecaster(horizon=2, loss="quantile", quantiles=[10, 90], **FAST).fit(_monthly())


def test_roll_out_feeds_back_the_median():
    # identity transform, loc 0, scale 1: the network input is the history itself. The fake
    # network forecasts last + 1 as its median and ±5 around it; fed back, the median path
    # is 1, 2, 3 (feeding back the upper quantile would give 6, 12, 18)
    layout = WindowLayout(2, 1, 1, 0, SeriesTransform(False, 1, False, None))

    def predict(X):
        median = X[:, -1, 0][:, None] + 1.0
        return median, np.stack([median - 5.0, median, median + 5.0], axis=2)

    dbuf = np.zeros((1, 2 + 3))
    qbuf = np.empty((1, 3, 3))
    past, future = np.zeros((1, 2, 0)), np.zeros((1, 5, 0))
    path = roll_out(layout, predict, dbuf, past, future, np.zeros(1), np.ones(1), 3, qbuf)
    np.testing.assert_array_equal(path, [[1.0, 2.0, 3.0]])
    np.testing.assert_array_equal(qbuf[0], [[-4.0, 1.0, 6.0], [-3.0, 2.0, 7.0], [-2.0, 3.0, 8.0]])


def test_recursive_quantile_forecaster_and_ensemble():
    y = _monthly()
    f = RNNForecaster(horizon=1, strategy="recursive", loss="quantile", n_models=2, **FAST).fit(y)
    fc = f.predict(4)
    np.testing.assert_array_equal(fc["yhat"], fc["yhat_q50"])
    q = fc[["yhat_q10", "yhat_q50", "yhat_q90"]].to_numpy()
    assert (np.diff(q, axis=1) >= 0).all()


def test_quantile_forecaster_round_trips_through_save_and_load(tmp_path):
    f = RNNForecaster(horizon=2, loss="quantile", quantiles=[0.25, 0.75], **FAST).fit(_monthly())
    tsrnn.save(f, tmp_path / "f.tsrnn")
    back = tsrnn.load(tmp_path / "f.tsrnn")
    pd.testing.assert_frame_equal(back.predict(level=[50]), f.predict(level=[50]))
