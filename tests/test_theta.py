"""ThetaForecaster: the classical Theta method against values worked out by hand.

The formulas are those of R's ``forecast::thetaf`` (Hyndman & Billah, 2003): SES with the
weight ``alpha`` and initial level ``l_0`` fitted by least squares, plus half the slope of the
linear trend, on the multiplicatively seasonally adjusted series. The normal quantile is the
textbook constant z(0.90) = 1.2815515655446004.
"""

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import ThetaForecaster
from tsrnn.forecasting._theta import (
    multiplicative_indices,
    ses_errors,
    ses_fit,
    theta_is_seasonal,
)

Z80 = 1.2815515655446004


def _sse_plain(x, alpha, level0):
    """Sum of squared one-step SES errors, written as the textbook recursion."""
    level, total = level0, 0.0
    for v in x:
        total += (v - level) ** 2
        level = alpha * v + (1 - alpha) * level
    return total


def test_ses_errors_with_a_known_alpha_by_hand():
    # alpha 0.5, l_0 = 2: e1 = 2 - 2 = 0, l1 = 2; e2 = 4 - 2 = 2, l2 = 3; e3 = 3 - 3 = 0,
    # l3 = 3; e4 = 5 - 3 = 2
    e = ses_errors(np.array([2.0, 4.0, 3.0, 5.0]), 0.5, 2.0)
    np.testing.assert_array_equal(e, [0.0, 2.0, 0.0, 2.0])


def test_ses_fit_finds_the_least_squares_alpha_and_initial_level():
    rng = np.random.default_rng(0)
    x = 20 + np.cumsum(rng.normal(size=15)) + rng.normal(0, 2, size=15)
    alpha, level0, level, sse = ses_fit([x])
    # brute force: for each alpha of a fine grid, SSE is a parabola in l_0, whose vertex
    # follows from three evaluations of the plain recursion
    best = (np.inf, None, None)
    for a in np.linspace(1e-4, 0.9999, 2001):
        f_m, f_0, f_p = (_sse_plain(x, a, l) for l in (-1.0, 0.0, 1.0))
        curv, slope = (f_p + f_m - 2 * f_0) / 2, (f_p - f_m) / 2
        l_best = -slope / (2 * curv)
        value = _sse_plain(x, a, l_best)
        if value < best[0]:
            best = (value, a, l_best)
    assert sse[0] <= best[0] * (1 + 1e-6)
    assert alpha[0] == pytest.approx(best[1], abs=1e-3)
    assert level0[0] == pytest.approx(best[2], rel=1e-3)
    assert sse[0] == pytest.approx(_sse_plain(x, alpha[0], level0[0]), rel=1e-9)
    # the final level is the recursion's
    lv = level0[0]
    for v in x:
        lv = alpha[0] * v + (1 - alpha[0]) * lv
    assert level[0] == pytest.approx(lv, rel=1e-12)


def test_linear_series_forecast_and_intervals_by_hand():
    # y = 1..5: SES follows the line best with alpha at its upper bound 0.9999 (any smaller
    # alpha lags more); l_0 = 1 makes the errors 0, 1, 1, 1, 1 (SSE 4, sigma^2 = 4 / (5 - 2));
    # the slope is 1, so drift = 1/2 and the forecast is l_5 + 0.5 * (k - 1 + 1 / alpha)
    y = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], index=pd.RangeIndex(5), name="v")
    f = ThetaForecaster(horizon=3).fit(y)
    assert f.alpha_ == pytest.approx(0.9999, abs=1e-12)
    assert f.drift_ == pytest.approx(0.5, rel=1e-12)
    assert f.seasonal_ is False
    assert f.residual_std_ == pytest.approx(np.sqrt(4 / 3), rel=1e-3)
    fc = f.predict(level=80)
    np.testing.assert_allclose(fc.yhat, [5.5, 6.0, 6.5], rtol=1e-4)
    # sigma_k = sigma * sqrt(1 + (k - 1) alpha^2)
    half = Z80 * np.sqrt(4 / 3) * np.sqrt([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fc.yhat_hi_80 - fc.yhat, half, rtol=1e-3)
    np.testing.assert_allclose(fc.yhat - fc.yhat_lo_80, half, rtol=1e-3)


def test_multiplicative_seasonal_series_is_continued_in_phase():
    # y = 10 * s_(t mod 4): the 2x4 moving average is 10 everywhere, the ratios are s, the
    # adjusted series is the constant 10, so the forecast repeats 10 * s from the next phase
    s = np.array([0.8, 1.2, 0.9, 1.1])
    np.testing.assert_allclose(multiplicative_indices(10 * np.resize(s, 16), 4), s, rtol=1e-12)
    for n, first in ((40, 0), (39, 3)):
        y = pd.Series(10 * np.resize(s, n), index=pd.period_range("2001Q1", periods=n, freq="Q"))
        f = ThetaForecaster(horizon=6).fit(y)
        assert f.seasonal_ is True
        expected = 10 * s[(first + np.arange(6)) % 4]
        fc = f.predict(level=[80, 95])
        np.testing.assert_allclose(fc.yhat, expected, rtol=1e-9)
        np.testing.assert_allclose(fc.yhat_hi_95 - fc.yhat_lo_95, 0.0, atol=1e-8)


def test_seasonality_test_follows_thetaf_rules():
    s = np.array([0.8, 1.2, 0.9, 1.1])
    assert not theta_is_seasonal(np.resize(s, 8), 4)  # thetaf needs more than 2 seasons
    assert theta_is_seasonal(np.resize(s, 40), 4)
    assert not theta_is_seasonal(np.resize(s, 40), 1)
    assert not theta_is_seasonal(np.ones(12), 4)
    # the alternating series 1, -1, ... (n = 12, mean 0): r_k = (-1)^k (12 - k) / 12, so
    # r_4 = 8/12 and stat = sqrt((1 + 2 (121 + 100 + 81) / 144) / 12) = 0.65793; the ratio
    # 0.66667 / 0.65793 = 1.013 < 1.645: not seasonal, although the lag-4 correlation is 2/3
    assert not theta_is_seasonal(np.resize([1.0, -1.0], 12), 4)


def test_non_positive_seasonal_series_is_not_adjusted():
    s = np.array([-1.0, 2.0, 0.5, 1.5])
    y = pd.Series(np.resize(s, 16), index=pd.period_range("2001Q1", periods=16, freq="Q"))
    assert ThetaForecaster(horizon=2).fit(y).seasonal_ is False


def test_short_and_constant_series_get_the_naive_forecast():
    df = pd.DataFrame(
        {
            "unique_id": ["two", "two", "flat", "flat", "flat", "flat"],
            "ds": [1, 2, 1, 2, 3, 4],
            "y": [3.0, 5.0, 7.0, 7.0, 7.0, 7.0],
        }
    )
    f = ThetaForecaster(horizon=2, freq=1).fit(df)
    assert np.isnan(f.alpha_["two"]) and np.isnan(f.alpha_["flat"])
    fc = f.predict(level=80).set_index("unique_id")
    np.testing.assert_array_equal(fc.loc["two", "yhat"], [5.0, 5.0])
    np.testing.assert_array_equal(fc.loc["flat", "yhat"], [7.0, 7.0])
    # naive intervals for 'two': sigma = |5 - 3| / sqrt(1), sigma_h = 2 sqrt(h)
    np.testing.assert_allclose(
        fc.loc["two", "yhat_hi_80"] - 5.0, Z80 * 2 * np.sqrt([1.0, 2.0]), rtol=1e-12
    )
    one = pd.Series([4.0], index=pd.RangeIndex(1))
    assert ThetaForecaster(horizon=2).fit(one).predict().tolist() == [4.0, 4.0]
    with pytest.raises(ValueError, match="too few .* predict without level"):
        ThetaForecaster(horizon=2).fit(one).predict(level=80)


def test_panel_fit_equals_fitting_each_series_alone():
    rng = np.random.default_rng(4)
    series = {f"s{k}": 30 + np.cumsum(rng.normal(size=n)) for k, n in enumerate((9, 30, 17))}
    frames = [
        pd.DataFrame({"unique_id": u, "ds": np.arange(len(v)), "y": v}) for u, v in series.items()
    ]
    df = pd.concat(frames, ignore_index=True)
    f = ThetaForecaster(horizon=4, freq=1).fit(df)
    fc = f.predict()
    for u, v in series.items():
        g = ThetaForecaster(horizon=4, freq=1).fit(pd.Series(v))
        assert f.alpha_[u] == g.alpha_
        np.testing.assert_array_equal(fc[fc.unique_id == u].yhat, g.predict())
