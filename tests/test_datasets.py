"""Tests for the bundled dataset loaders in :mod:`tsrnn.datasets`."""

import numpy as np
import pandas as pd
import pytest

from tsrnn import datasets

UNIVARIATE = {
    # name: (loader, length, freqstr, first period, last period, series name)
    "air_passengers": (datasets.load_air_passengers, 144, "M", "1949-01", "1960-12", "passengers"),
    "sunspots": (datasets.load_sunspots, 309, "Y-DEC", "1700", "2008", "sunactivity"),
    "nile": (datasets.load_nile, 100, "Y-DEC", "1871", "1970", "volume"),
    "elnino": (datasets.load_elnino, 732, "M", "1950-01", "2010-12", "sst"),
}


@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_univariate_loader_shape_index_and_dtype(name):
    loader, length, freqstr, first, last, series_name = UNIVARIATE[name]
    y = loader()
    assert isinstance(y, pd.Series)
    assert len(y) == length
    assert y.name == series_name
    assert y.dtype == np.float64
    assert not y.isna().any()
    assert isinstance(y.index, pd.PeriodIndex)
    assert y.index.freqstr == freqstr
    assert (str(y.index[0]), str(y.index[-1])) == (first, last)
    # Regular: no gaps or duplicates between the first and last period.
    expected = pd.period_range(y.index[0], periods=length, freq=y.index.freq)
    assert y.index.equals(expected)


def test_air_passengers_values():
    y = datasets.load_air_passengers()
    assert y.index.name == "month"
    assert y.iloc[0] == 112.0
    assert y.iloc[-1] == 432.0
    assert y.index.freq == pd.offsets.MonthEnd()


def test_yearly_index_name():
    assert datasets.load_nile().index.name == "year"
    assert datasets.load_sunspots().index.name == "year"


def test_macrodata():
    df = datasets.load_macrodata()
    assert isinstance(df, pd.DataFrame)
    assert df.shape == (203, 12)
    assert "year" not in df.columns and "quarter" not in df.columns
    assert {"realgdp", "cpi", "unemp", "infl"} <= set(df.columns)
    assert all(dtype == np.float64 for dtype in df.dtypes)
    assert isinstance(df.index, pd.PeriodIndex)
    assert df.index.name == "quarter"
    assert df.index.freqstr == "Q-DEC"
    assert (str(df.index[0]), str(df.index[-1])) == ("1959Q1", "2009Q3")
    assert df.index.equals(pd.period_range("1959Q1", periods=203, freq="Q"))
    assert df["realgdp"].iloc[0] == pytest.approx(2710.349)


@pytest.mark.parametrize(
    ("split", "n_samples", "counts"),
    [("train", 36, [12, 12, 12]), ("test", 175, [69, 53, 53])],
)
def test_arrowhead(split, n_samples, counts):
    X, y = datasets.load_arrowhead(split)
    assert X.shape == (n_samples, 251)
    assert X.dtype == np.float64
    assert y.shape == (n_samples,)
    assert np.issubdtype(y.dtype, np.integer)
    assert np.unique(y).tolist() == [0, 1, 2]
    assert np.bincount(y).tolist() == counts
    assert np.isfinite(X).all()


def test_arrowhead_default_split_is_train():
    X, _ = datasets.load_arrowhead()
    assert X.shape == (36, 251)


@pytest.mark.parametrize("split", ["valid", "TRAIN", "", None])
def test_arrowhead_unknown_split_raises(split):
    with pytest.raises(ValueError, match="split must be one of"):
        datasets.load_arrowhead(split)


def test_list_datasets():
    assert datasets.list_datasets() == ["air_passengers", "sunspots", "nile", "elnino", "macrodata"]


@pytest.mark.parametrize("name", ["air_passengers", "sunspots", "nile", "elnino", "macrodata"])
def test_load_dataset_dispatches(name):
    loaded = datasets.load_dataset(name)
    direct = getattr(datasets, f"load_{name}")()
    if isinstance(direct, pd.DataFrame):
        pd.testing.assert_frame_equal(loaded, direct)
    else:
        pd.testing.assert_series_equal(loaded, direct)


@pytest.mark.parametrize("name", ["airline", "arrowhead", "", None])
def test_load_dataset_unknown_name_lists_valid_names(name):
    with pytest.raises(ValueError, match="unknown dataset") as info:
        datasets.load_dataset(name)
    for valid in datasets.list_datasets():
        assert valid in str(info.value)
