"""Panels with series too short for the network (issue 13, acceptance 1).

The window is chosen for the panel as a whole; a series shorter than ``window + horizon`` is
forecast by a baseline, with a warning, and leaves the other series' forecasts unchanged.
"""

import os
import warnings
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

from tsrnn import persistence
from tsrnn.datasets import load_air_passengers
from tsrnn.forecasting import RNNForecaster, ThetaForecaster

FAST = dict(hidden_size=4, max_iter=3, n_iter_no_change=3, random_state=0)


def _long_panel():
    y = load_air_passengers()
    ds = y.index.to_timestamp()
    return pd.concat(
        [
            pd.DataFrame({"unique_id": "air", "ds": ds, "y": y.to_numpy()}),
            pd.DataFrame({"unique_id": "root", "ds": ds, "y": 3 * np.sqrt(y.to_numpy())}),
        ],
        ignore_index=True,
    )


def _short(n=20, uid="short", start="1959-05-01"):
    t = np.arange(n)
    values = 200 + 2.0 * t + 30 * np.sin(2 * np.pi * t / 12)
    return pd.DataFrame(
        {
            "unique_id": uid,
            "ds": pd.date_range(start, periods=n, freq="MS"),
            "y": values,
        }
    )


def _fit(df, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = RNNForecaster(horizon=12, **{**FAST, **kw}).fit(df)
    return f, [w for w in caught if issubclass(w.category, UserWarning)]


def test_a_short_series_leaves_the_window_and_the_other_forecasts_unchanged():
    panel = _long_panel()
    alone, _ = _fit(panel)
    f, caught = _fit(pd.concat([panel, _short()], ignore_index=True))
    # before: the 20-point series shrank the default window to 20 - 12 - 9 -> 2
    assert alone.window_ == f.window_ == 24
    long_fc = f.predict(level=[80])
    pd.testing.assert_frame_equal(
        long_fc[long_fc.unique_id != "short"].reset_index(drop=True),
        alone.predict(level=[80]),
        check_exact=True,
    )
    assert f.series_models_.to_dict() == {
        "air": "network",
        "root": "network",
        "short": "seasonal_naive",
    }
    assert len(caught) == 1
    msg = str(caught[0].message)
    assert "'short' (20 observations: seasonal naive)" in msg
    assert "24 + 12 = 36" in msg and "series_models_" in msg
    assert caught[0].filename == __file__  # the warning points at the caller's fit
    # the short series gets the seasonal naive forecast: its last 12 values, repeated
    y_short = _short()["y"].to_numpy()
    fc = long_fc[long_fc.unique_id == "short"]
    np.testing.assert_array_equal(fc.yhat, y_short[-12:])
    assert list(fc.ds) == list(pd.date_range("1961-01-01", periods=12, freq="MS"))
    # and its 80 % interval is seasonal naive's normal interval (FPP3 Table 5.2), by hand
    sigma = np.sqrt(np.sum((y_short[12:] - y_short[:-12]) ** 2) / (20 - 12))
    half = NormalDist().inv_cdf(0.9) * sigma  # every step is within the first season
    np.testing.assert_allclose(fc.yhat_hi_80 - fc.yhat, half, rtol=1e-12)
    np.testing.assert_allclose(fc.yhat - fc.yhat_lo_80, half, rtol=1e-12)


def test_baseline_by_length_and_season():
    panel = _long_panel()
    very_short = _short(n=8, uid="tiny", start="1960-05-01")  # under one season + 1: naive
    f, caught = _fit(pd.concat([panel, very_short], ignore_index=True))
    assert f.series_models_["tiny"] == "naive"
    fc = f.predict()
    np.testing.assert_array_equal(
        fc.loc[fc.unique_id == "tiny", "yhat"], np.full(12, very_short.y.iloc[-1])
    )
    assert "'tiny' (8 observations: naive)" in str(caught[0].message)
    # non-seasonal (integer-indexed) data: the random walk with drift
    rng = np.random.default_rng(1)
    long = pd.DataFrame({"unique_id": "a", "ds": np.arange(80), "y": rng.normal(size=80)})
    y_b = np.array([1.0, 4.0, 2.0, 7.0, 8.0])
    short = pd.DataFrame({"unique_id": "b", "ds": np.arange(5), "y": y_b})
    f = RNNForecaster(horizon=3, window=6, **FAST)
    with pytest.warns(UserWarning, match=r"'b' \(5 observations: drift\)"):
        f.fit(pd.concat([long, short], ignore_index=True))
    fc = f.predict()
    np.testing.assert_allclose(fc.loc[fc.unique_id == "b", "yhat"], 8.0 + 7.0 / 4 * np.arange(1, 4))


def test_a_seasonal_series_of_more_than_two_seasons_falls_back_to_theta():
    # 30 monthly observations (> 2 seasons, < window + horizon = 36): the Theta method
    t = np.arange(30)
    line = pd.DataFrame(
        {
            "unique_id": "line",
            "ds": pd.date_range("1958-07-01", periods=30, freq="MS"),
            "y": 200.0 + 2.0 * t,
        }
    )
    f, caught = _fit(pd.concat([_long_panel(), line], ignore_index=True))
    assert f.series_models_["line"] == "theta"
    assert "'line' (30 observations: Theta)" in str(caught[0].message)
    fc = f.predict(level=[80])
    got = fc[fc.unique_id == "line"].reset_index(drop=True)
    # Theta on a line y = a + b t: SES follows it (alpha at its bound, the level at the last
    # value) plus half the slope per step, so the forecast k steps ahead is y_T + k b / 2
    np.testing.assert_allclose(got.yhat, 258.0 + np.arange(1, 13), rtol=1e-3)
    # and the same forecast and intervals as the Theta forecaster on that series alone
    alone = ThetaForecaster(horizon=12, season_length=12).fit(line).predict(level=[80])
    for col in ("yhat", "yhat_lo_80", "yhat_hi_80"):
        np.testing.assert_allclose(got[col], alone[col], rtol=1e-12)


def test_every_series_too_short_is_still_an_error():
    df = pd.concat([_short(n=20), _short(n=25, uid="other")], ignore_index=True)
    with pytest.raises(
        ValueError,
        match=r"series 'short' has 20 observations, fewer than "
        r"window \+ horizon = 24 \+ 12 = 36",
    ):
        RNNForecaster(horizon=12, window=24, **FAST).fit(df)


def test_update_score_and_save_load_with_a_fallback_series(tmp_path):
    df = pd.concat([_long_panel(), _short()], ignore_index=True)
    f, _ = _fit(df)
    fc = f.predict(level=[80, 95])
    path = os.fspath(tmp_path / "model.tsrnn")
    persistence.save(f, path)
    g = persistence.load(path)
    pd.testing.assert_frame_equal(g.predict(level=[80, 95]), fc, check_exact=True)
    assert g.series_models_.to_dict() == f.series_models_.to_dict()
    # score: the short series' forecast is scored like any other
    future = pd.DataFrame(
        {
            "unique_id": "short",
            "ds": pd.date_range("1961-01-01", periods=2, freq="MS"),
            "y": [250.0, 240.0],
        }
    )
    yhat = _short()["y"].to_numpy()[-12:-10]
    expected = np.mean(200 * np.abs(future.y - yhat) / (np.abs(future.y) + np.abs(yhat)))
    assert f.score(future) == pytest.approx(-expected)
    # update: a series holding at least window_ observations is forecast by the network
    grown = pd.concat([_long_panel(), _short(n=30, start="1958-07-01")], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nobody falls back now: no warning
        f.update(grown)
    assert f.series_models_["short"] == "network"
    assert np.isfinite(f.predict().yhat).all()
    # and a series shorter than the window falls back again, with a warning naming it
    with pytest.warns(UserWarning, match=r"'short' \(20 observations: seasonal naive\)"):
        f.update(df)
    assert f.series_models_["short"] == "seasonal_naive"


def test_known_future_covariates_are_not_needed_for_a_fallback_series():
    df = pd.concat([_long_panel(), _short()], ignore_index=True)
    X = df[["unique_id", "ds"]].assign(promo=(df.ds.dt.month == 12).astype(float))
    with pytest.warns(UserWarning, match="'short'"):
        f = RNNForecaster(horizon=12, **FAST).fit(df, X)
    future = pd.DataFrame(
        {
            "unique_id": np.repeat(["air", "root"], 12),
            "ds": np.tile(pd.date_range("1961-01-01", periods=12, freq="MS"), 2),
        }
    )
    future["promo"] = (future.ds.dt.month == 12).astype(float)
    fc = f.predict(X_future=future)
    assert fc.groupby("unique_id").size().to_dict() == {"air": 12, "root": 12, "short": 12}
    assert np.isfinite(fc.yhat).all()
