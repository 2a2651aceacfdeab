"""NaiveForecaster and DriftForecaster: forecasts and intervals against hand-derived values.

The expected numbers come from the formulas of Hyndman & Athanasopoulos, FPP3 sections 5.2 and
5.5 (Table 5.2) worked out by hand on tiny series; the normal quantiles are the textbook
constants z(0.90) = 1.2815515655446004 and z(0.975) = 1.959963984540054.
"""

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import (
    DriftForecaster,
    NaiveForecaster,
    RNNForecaster,
    SeasonalNaiveForecaster,
)
from tsrnn.forecasting._baselines import residual_std, step_std

Z80, Z95 = 1.2815515655446004, 1.959963984540054
TINY = dict(hidden_size=4, max_iter=3, n_iter_no_change=3, random_state=0)


def _y():
    # changes +2, -1, +2: naive sigma^2 = (4 + 1 + 4) / 3 = 3; drift 1, residuals 1, -2, 1,
    # drift sigma^2 = (1 + 4 + 1) / (4 - 2) = 3
    return pd.Series(
        [3.0, 5.0, 4.0, 6.0], index=pd.period_range("2020-01", periods=4, freq="M"), name="sales"
    )


def test_naive_forecast_and_intervals_by_hand():
    f = NaiveForecaster(horizon=3).fit(_y())
    assert f.residual_std_ == pytest.approx(np.sqrt(3.0))
    fc = f.predict(level=[80, 95])
    assert list(fc.index) == list(pd.period_range("2020-05", periods=3, freq="M"))
    assert list(fc.columns) == ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    np.testing.assert_array_equal(fc.yhat, [6.0, 6.0, 6.0])
    half80 = Z80 * np.sqrt(3.0) * np.sqrt([1.0, 2.0, 3.0])  # sigma * sqrt(h)
    half95 = Z95 * np.sqrt(3.0) * np.sqrt([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fc.yhat_hi_80 - 6.0, half80, rtol=1e-12)
    np.testing.assert_allclose(6.0 - fc.yhat_lo_80, half80, rtol=1e-12)
    np.testing.assert_allclose(fc.yhat_hi_95 - 6.0, half95, rtol=1e-12)
    np.testing.assert_allclose(fc.yhat_hi_80.iloc[0], 6.0 + 2.219712424042684, rtol=1e-12)
    point = f.predict(h=2)
    assert isinstance(point, pd.Series) and point.name == "sales"
    np.testing.assert_array_equal(point, [6.0, 6.0])


def test_drift_forecast_and_intervals_by_hand():
    f = DriftForecaster(horizon=3).fit(_y())
    assert f.drift_ == pytest.approx(1.0)
    assert f.residual_std_ == pytest.approx(np.sqrt(3.0))
    fc = f.predict(level=80)
    np.testing.assert_allclose(fc.yhat, [7.0, 8.0, 9.0], rtol=1e-12)
    # sigma_h = sigma * sqrt(h (1 + h / T)), T = 4: sqrt(3 * 1.25), sqrt(3 * 3), sqrt(3 * 5.25)
    sigma_h = np.sqrt([3.75, 9.0, 15.75])
    np.testing.assert_allclose(fc.yhat_hi_80 - fc.yhat, Z80 * sigma_h, rtol=1e-12)
    np.testing.assert_allclose(fc.yhat - fc.yhat_lo_80, Z80 * sigma_h, rtol=1e-12)
    np.testing.assert_allclose(fc.yhat_lo_80.iloc[1], 8.0 - 3 * Z80, rtol=1e-12)


def test_drift_is_the_line_through_the_first_and_last_values():
    # the values between do not move the line: only y_1 and y_T matter
    idx = pd.RangeIndex(10, 16)
    a = DriftForecaster().fit(pd.Series([2.0, 9.0, -4.0, 0.0, 5.0, 7.0], index=idx))
    b = DriftForecaster().fit(pd.Series([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], index=idx))
    np.testing.assert_array_equal(a.predict(h=4), [8.0, 9.0, 10.0, 11.0])
    np.testing.assert_array_equal(a.predict(h=4), b.predict(h=4))
    assert list(a.predict(h=2).index) == [16, 17]
    assert b.residual_std_ == 0.0  # a straight line: zero-width intervals
    fc = b.predict(h=2, level=[90])
    np.testing.assert_array_equal(fc.yhat_lo_90, fc.yhat_hi_90)


def test_panel_with_different_lengths_and_dates():
    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 4 + ["b"] * 3,
            "ds": list(pd.date_range("2024-01-01", periods=4))
            + list(pd.date_range("2024-02-10", periods=3)),
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 8.0],
        }
    )
    naive = NaiveForecaster(horizon=2).fit(df)
    drift = DriftForecaster(horizon=2).fit(df)
    n = naive.predict(level=[50])
    d = drift.predict()
    assert list(n.columns) == ["unique_id", "ds", "yhat", "yhat_lo_50", "yhat_hi_50"]
    assert list(d.ds) == [
        pd.Timestamp("2024-01-05"),
        pd.Timestamp("2024-01-06"),
        pd.Timestamp("2024-02-13"),
        pd.Timestamp("2024-02-14"),
    ]
    np.testing.assert_array_equal(n.yhat, [4.0, 4.0, 8.0, 8.0])
    np.testing.assert_allclose(d.yhat, [5.0, 6.0, 9.5, 11.0])  # drifts 1 and 1.5
    assert drift.drift_.to_dict() == {"a": 1.0, "b": 1.5}
    # naive sigma of b: changes 0 and 3, sqrt(9 / 2); of a: changes 1, 1, 1, sqrt(3 / 3) = 1
    assert naive.residual_std_.to_dict() == pytest.approx({"a": 1.0, "b": np.sqrt(4.5)})
    # drift sigma of b: changes around 1.5 are -1.5 and 1.5, sqrt(4.5 / (3 - 2)); of a: 0
    assert drift.residual_std_.to_dict() == pytest.approx({"a": 0.0, "b": np.sqrt(4.5)})
    b = n[n.unique_id == "b"]
    z50 = 0.6744897501960817
    np.testing.assert_allclose(b.yhat_hi_50 - b.yhat, z50 * np.sqrt(4.5) * np.sqrt([1, 2]))


def test_update_recomputes_from_the_new_history():
    y = _y()
    f = DriftForecaster(horizon=2).fit(y.iloc[:3])  # 3, 5, 4: drift 0.5
    assert f.drift_ == pytest.approx(0.5)
    assert f.update(y) is f
    assert f.drift_ == pytest.approx(1.0) and f.residual_std_ == pytest.approx(np.sqrt(3.0))
    np.testing.assert_allclose(f.predict(), [7.0, 8.0])
    g = NaiveForecaster().fit(y.iloc[:2]).update(y)
    assert g.residual_std_ == pytest.approx(np.sqrt(3.0))
    assert g.predict().index[0] == pd.Period("2020-05", "M")


def test_too_short_series_are_named():
    one = pd.Series([4.0], index=pd.RangeIndex(1), name="x")
    with pytest.raises(
        ValueError,
        match=r"series 'x' has 1 observation\(s\); DriftForecaster "
        "needs at least 2",
    ):
        DriftForecaster().fit(one)
    naive = NaiveForecaster(horizon=2).fit(one)
    np.testing.assert_array_equal(naive.predict(), [4.0, 4.0])
    assert np.isnan(naive.residual_std_)
    with pytest.raises(ValueError, match="series 'x' has 1 observation.*too few.*needs 2"):
        naive.predict(level=[80])
    two = DriftForecaster().fit(pd.Series([1.0, 3.0], name="x"))
    np.testing.assert_array_equal(two.predict(h=2), [5.0, 7.0])
    with pytest.raises(ValueError, match="series 'x' has 2 observation.*needs 3"):
        two.predict(level=[80])


def test_seasonal_naive_formulas_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0, 6.0, 5.0, 7.0, 9.0])
    # m = 4: residuals 5, 3, 4, 5 -> sigma^2 = 75 / (8 - 4)
    assert residual_std(y, "seasonal_naive", 4) == pytest.approx(np.sqrt(75 / 4))
    # k = floor((h - 1) / m): sqrt(1) for h = 1..4, sqrt(2) for 5..8, sqrt(3) for 9
    np.testing.assert_allclose(
        step_std(2.0, 9, "seasonal_naive", 8, 4), 2.0 * np.sqrt([1, 1, 1, 1, 2, 2, 2, 2, 3])
    )
    assert np.isnan(residual_std(y[:4], "seasonal_naive", 4))
    assert residual_std(y, "naive") == pytest.approx(np.sqrt((1 + 1 + 1 + 4 + 1 + 4 + 4) / 7))


def test_intervals_cover_their_level_on_random_walks():
    # each method on its own data-generating process (random walk, random walk with drift):
    # the empirical coverage of many series is near the level
    rng = np.random.default_rng(0)
    n_series, T, h = 400, 120, 6
    ds = pd.date_range("2000-01-01", periods=T + h, freq="D")
    for forecaster, drift in ((NaiveForecaster(horizon=h), 0.0), (DriftForecaster(horizon=h), 0.3)):
        paths = np.cumsum(rng.normal(drift, 1.0, size=(n_series, T + h)), axis=1)
        df = pd.DataFrame(
            {
                "unique_id": np.repeat(np.arange(n_series), T + h),
                "ds": np.tile(ds, n_series),
                "y": paths.ravel(),
            }
        )
        train = df[df.ds <= ds[T - 1]]
        actual = df[df.ds > ds[T - 1]].reset_index(drop=True)
        fc = forecaster.fit(train).predict(level=[80, 95])
        assert (fc.ds.to_numpy() == actual.ds.to_numpy()).all()
        for level in (80, 95):
            inside = (actual.y >= fc[f"yhat_lo_{level}"]) & (actual.y <= fc[f"yhat_hi_{level}"])
            assert abs(inside.mean() - level / 100) < 0.03, (type(forecaster), level)


@pytest.mark.parametrize(
    "forecaster",
    [NaiveForecaster(horizon=2), DriftForecaster(horizon=2), RNNForecaster(horizon=2, **TINY)],
    ids=lambda f: type(f).__name__,
)
def test_fraction_levels_are_refused_with_a_hint(forecaster):
    t = np.arange(48)
    y = pd.Series(
        10 + np.sin(t / 2) + 0.1 * t, index=pd.period_range("2001-01", periods=48, freq="M")
    )
    forecaster.fit(y)
    for bad in ([0.8], 0.95, [80, 0.5], 1, [1.0]):
        with pytest.raises(ValueError, match="pass 80 for an 80 % interval"):
            forecaster.predict(level=bad)
    fc = forecaster.predict(level=[1.5, 80])  # just above 1 is a (narrow) percentage
    assert {"yhat_lo_1.5", "yhat_hi_80"} <= set(fc.columns)


def test_seasonal_naive_intervals_by_hand():
    # y = 1 2 3 4 | 2 4 5 5 with m = 4: residuals y_t - y_{t-4} = 1 2 2 1, T - m = 4 degrees of
    # freedom, sigma = sqrt((1 + 4 + 4 + 1) / 4) = sqrt(2.5) (FPP3 eq. 5.1).  Step k's sigma is
    # sigma * sqrt(floor((k - 1) / 4) + 1): factors 1 1 1 1 sqrt(2) sqrt(2) (FPP3 Table 5.2).
    # z(80 %) = 1.2815515655446004, z(95 %) = 1.959963984540054.
    y = pd.Series([1.0, 2, 3, 4, 2, 4, 5, 5], index=pd.period_range("2020Q1", periods=8, freq="Q"))
    f = SeasonalNaiveForecaster(horizon=6).fit(y)
    assert f.residual_std_ == pytest.approx(np.sqrt(2.5), rel=1e-15)
    fc = f.predict(level=[80, 95])
    np.testing.assert_array_equal(fc["yhat"], [2, 4, 5, 5, 2, 4])
    half80 = 1.2815515655446004 * np.sqrt(2.5) * np.array([1, 1, 1, 1, np.sqrt(2), np.sqrt(2)])
    half95 = 1.959963984540054 * np.sqrt(2.5) * np.array([1, 1, 1, 1, np.sqrt(2), np.sqrt(2)])
    np.testing.assert_allclose(fc["yhat_hi_80"] - fc["yhat"], half80, rtol=1e-12)
    np.testing.assert_allclose(fc["yhat"] - fc["yhat_lo_95"], half95, rtol=1e-12)
    with pytest.raises(ValueError, match="pass 80 for an 80 % interval"):
        f.predict(level=[0.8])
    # m observations hold no residual: intervals are refused with the reason, points still work
    short = SeasonalNaiveForecaster(season_length=4).fit(y[:4])
    assert np.isnan(short.residual_std_)
    with pytest.raises(ValueError, match="it needs 5"):
        short.predict(level=[80])
    assert short.predict(h=2).tolist() == [1.0, 2.0]


def test_save_and_load_round_trip(tmp_path):
    from tsrnn.persistence import load, save

    df = pd.DataFrame(
        {
            "unique_id": ["a"] * 4 + ["b"] * 3,
            "ds": list(pd.date_range("2024-01-01", periods=4))
            + list(pd.date_range("2024-01-03", periods=3)),
            "y": [1.0, 2.0, 3.0, 4.0, 5.0, 5.0, 8.0],
        }
    )
    for forecaster in (NaiveForecaster(horizon=2), DriftForecaster(horizon=2)):
        forecaster.fit(df)
        save(forecaster, tmp_path / "m.tsrnn")
        restored = load(tmp_path / "m.tsrnn")
        pd.testing.assert_frame_equal(
            restored.predict(level=[80]), forecaster.predict(level=[80]), check_exact=True
        )
