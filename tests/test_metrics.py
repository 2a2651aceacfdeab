"""Accuracy metrics and the seasonal naive benchmark."""

import numpy as np
import pandas as pd
import pytest

from tsrnn.metrics import mae, mase, rmse, seasonal_naive, smape


def test_mae_and_rmse_known_values():
    assert mae([1, 2, 3], [2, 2, 5]) == pytest.approx(1.0)
    assert rmse([0, 0], [3, 4]) == pytest.approx(np.sqrt(12.5))
    assert mae(pd.Series([1.0, 2.0], index=[10, 11]), np.array([1.0, 4.0])) == pytest.approx(1.0)


def test_smape_is_makridakis_definition():
    y, f = np.array([100.0, 200.0, 50.0]), np.array([110.0, 200.0, 25.0])
    expected = np.mean(200 * np.abs(y - f) / (np.abs(y) + np.abs(f)))
    assert smape(y, f) == pytest.approx(expected)
    assert smape([0.0, 1.0], [0.0, 1.0]) == 0.0  # 0/0 terms count as perfect
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)  # the upper bound


def test_mase_uses_seasonal_naive_in_sample_scale():
    train = np.array([1.0, 5.0, 2.0, 7.0, 3.0, 8.0])  # seasonal diffs (m=2): 1, 2, 1, 1
    scale = np.mean([1, 2, 1, 1])
    assert mase([4.0, 9.0], [5.0, 9.0], train, season_length=2) == pytest.approx(1.0 / 2 / scale)
    assert mase([5, 6], [5, 8], y_train=[1, 2, 3, 4]) == pytest.approx(1.0)
    assert np.isnan(mase([1.0], [2.0], [3.0, 3.0, 3.0]))  # zero scale: undefined


def test_metric_input_errors():
    with pytest.raises(ValueError, match="different lengths"):
        mae([1, 2], [1])
    with pytest.raises(ValueError, match="empty"):
        smape([], [])
    with pytest.raises(ValueError, match="season_length"):
        mase([1], [1], [1, 2, 3], season_length=0)
    with pytest.raises(ValueError, match="more than season_length"):
        mase([1], [1], [1, 2], season_length=2)


def test_seasonal_naive_repeats_last_season():
    np.testing.assert_array_equal(
        seasonal_naive([1, 2, 3, 4, 5, 6], h=5, season_length=3), [4, 5, 6, 4, 5]
    )
    np.testing.assert_array_equal(seasonal_naive(np.arange(4.0), h=2), [3.0, 3.0])
    with pytest.raises(ValueError, match="fewer than season_length"):
        seasonal_naive([1.0, 2.0], h=1, season_length=3)


@pytest.mark.parametrize(
    "index, first_future",
    [
        (pd.period_range("2000-01", periods=24, freq="M"), pd.Period("2002-01", "M")),
        (pd.date_range("2000-01-01", periods=24, freq="MS"), pd.Timestamp("2002-01-01")),
        (pd.RangeIndex(24), 24),
    ],
)
def test_seasonal_naive_series_gets_future_index(index, first_future):
    y = pd.Series(np.arange(24.0), index=index, name="sales")
    fc = seasonal_naive(y, h=13, season_length=12)
    assert fc.name == "sales" and len(fc) == 13
    assert fc.index[0] == first_future
    np.testing.assert_array_equal(fc.to_numpy(), np.r_[np.arange(12.0, 24.0), 12.0])
