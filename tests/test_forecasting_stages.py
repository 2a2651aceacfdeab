"""The pure stages of the forecasting data flow, one by one, without a network.

Expected values are worked out by hand in the comments (or are exact identities such as a
transform followed by its inverse).
"""

import math

import numpy as np
import pandas as pd
import pytest

from tsrnn.forecasting import _rollout
from tsrnn.forecasting._base import _describe
from tsrnn.forecasting._ensemble import member_seeds
from tsrnn.forecasting._features import Covariates, _calendar, calendar_spec
from tsrnn.forecasting._output import (
    SeriesForecast,
    _level_name,
    forecast_columns,
    format_forecasts,
)
from tsrnn.forecasting._panel import future_exog, parse_panel
from tsrnn.forecasting._rollout import (
    calibrate,
    check_levels,
    half_width,
    holdout_roll_outs,
    padded_steps,
    roll_out,
)
from tsrnn.forecasting._stream import WindowSource
from tsrnn.forecasting._time import (
    _future_index,
    _grid,
    _index_kind,
    _infer_freq,
    resolve_season_length,
    season_length_from_freq,
)
from tsrnn.forecasting._transforms import (
    SeriesTransform,
    _seasonal_indices,
    _Stats,
    is_constant,
    is_seasonal,
    series_scale,
    shared_scale,
    shares_scale,
)
from tsrnn.forecasting._windows import (
    CalibrationOrigins,
    PreparedSeries,
    WindowLayout,
    check_lengths,
    default_window,
    prepare,
)

PLAIN = SeriesTransform(log=False, season_length=1, deseasonalize=False, normalize=None)


# --------------------------------------------------------------------------------------------
# time
# --------------------------------------------------------------------------------------------


def test_season_lengths_and_future_indexes():
    assert [season_length_from_freq(f) for f in ("MS", "QS", "D", "B", "h", "W", "YS")] == [
        12,
        4,
        7,
        5,
        24,
        52,
        1,
    ]
    assert season_length_from_freq("6h") == 4 and season_length_from_freq("5h") == 24
    assert season_length_from_freq(None) == 1 and season_length_from_freq(3) == 1
    assert resolve_season_length(None, "period", pd.offsets.MonthEnd()) == 12
    assert resolve_season_length(None, "int", 1) == 1 and resolve_season_length(5, "int", 1) == 5
    months = pd.period_range("2020-11", periods=2, freq="M")
    assert [str(p) for p in _future_index(months[-1], 3, "period", months.freq)] == [
        "2021-01",
        "2021-02",
        "2021-03",
    ]
    days = _future_index(pd.Timestamp("2020-02-28"), 2, "datetime", pd.offsets.Day())
    assert list(days) == [pd.Timestamp("2020-02-29"), pd.Timestamp("2020-03-01")]
    assert list(_future_index(10, 3, "int", 5)) == [15, 20, 25]
    assert list(_grid(2, 8, "int", 3)) == [2, 5, 8]


def test_index_kind_and_integer_frequency():
    assert _index_kind(pd.RangeIndex(3)) == "int"
    assert _index_kind(pd.period_range("2000", periods=2, freq="Y")) == "period"
    with pytest.raises(ValueError, match=r"the time index has dtype .*'a'"):
        _index_kind(pd.Index(["a", "b"]))
    assert _infer_freq(pd.Index([0, 4, 8, 16]), "int", None, "s") == 4  # the smallest step
    with pytest.raises(ValueError, match="positive integer step"):
        _infer_freq(pd.Index([0, 1]), "int", 0, "s")


# --------------------------------------------------------------------------------------------
# panel
# --------------------------------------------------------------------------------------------


def test_series_with_a_gap_is_regularised_and_filled():
    idx = pd.to_datetime(["2021-01-01", "2021-01-02", "2021-01-04"])
    y = pd.Series([1.0, 2.0, 6.0], index=idx, name="s")
    with pytest.raises(ValueError, match=r"series 's': 1 missing value\(s\).*2021-01-03"):
        parse_panel(y, freq="D")
    panel = parse_panel(y, freq="D", fill_method="interpolate")
    (s,) = panel.series
    np.testing.assert_array_equal(s.y, [1.0, 2.0, 4.0, 6.0])  # 4 = midway between 2 and 6
    assert (panel.kind, panel.input_type, panel.name, s.uid) == ("datetime", "series", "s", "s")
    ffill = parse_panel(y, freq="D", fill_method="ffill").series[0].y
    np.testing.assert_array_equal(ffill, [1.0, 2.0, 2.0, 6.0])


def test_long_frame_with_covariates_becomes_a_panel():
    df = pd.DataFrame(
        {
            "unique_id": ["a", "a", "a", "b", "b"],
            "ds": [0, 1, 2, 5, 6],
            "y": [1.0, 2.0, 3.0, 10.0, 20.0],
        }
    )
    X = pd.DataFrame(
        {
            "unique_id": ["b", "b", "a", "a", "a"],
            "ds": [5, 6, 0, 1, 2],
            "x": [7.0, 8.0, 1.0, 2.0, 3.0],
        }
    )
    panel = parse_panel(df, X)
    assert [s.uid for s in panel.series] == ["a", "b"] and panel.exog_columns == ["x"]
    assert panel.freq == 1 and panel.index_name == "ds"
    np.testing.assert_array_equal(panel.series[1].y, [10.0, 20.0])
    np.testing.assert_array_equal(panel.series[1].exog[:, 0], [7.0, 8.0])
    X_future = pd.DataFrame(
        {"unique_id": ["a", "a", "b", "b"], "ds": [3, 4, 7, 8], "x": [4.0, 5.0, 9.0, 10.0]}
    )
    out = future_exog(X_future, panel, 1, 2, ["x"])
    np.testing.assert_array_equal(out["b"][:, 0], [9.0, 10.0])
    with pytest.raises(ValueError, match=r"series 'a': X_future does not cover 1 timestamp"):
        future_exog(X_future, panel, 1, 3, ["x"])


# --------------------------------------------------------------------------------------------
# transforms
# --------------------------------------------------------------------------------------------


def test_seasonal_indices_of_an_alternating_series():
    # z = 5 + (+1, -1, +1, ...): the centred 2x2 moving average is exactly 5, so the
    # detrended values are the pattern itself
    z = 5.0 + np.tile([1.0, -1.0], 6)
    np.testing.assert_array_equal(_seasonal_indices(z, 2), [1.0, -1.0])
    assert is_seasonal(np.sin(2 * np.pi * np.arange(48) / 12), 12)
    assert not is_seasonal(np.random.default_rng(0).normal(size=48), 12)
    assert not is_seasonal(np.sin(2 * np.pi * np.arange(30) / 12), 12)  # < 3 seasons


def test_location_and_scale_statistics():
    y = np.array([1.0, 2.0, 4.0, 7.0])
    window = SeriesTransform(False, 1, False, "window").fit(y, "s")
    # RMS of the first differences (1, 2, 3): sqrt(14 / 3)
    assert (window.loc, window.scale) == (0.0, pytest.approx(math.sqrt(14 / 3)))
    series = SeriesTransform(False, 1, False, "series").fit(y, "s")
    assert series.loc == 3.5 and series.scale == pytest.approx(np.sqrt(5.25))
    for normalize in ("window", "series"):
        # a constant series has no scale: 1.0 stands in (not its level, as it once was)
        flat = SeriesTransform(False, 1, False, normalize).fit(np.full(5, 4.0), "s")
        assert flat.scale == 1.0
    assert SeriesTransform(False, 1, False, "series").fit(np.full(3, 0.1), "s").loc == 0.1
    shared = SeriesTransform(False, 1, False, "window", scale=0.5).fit(y, "s")
    assert shared.scale == 0.5
    target = np.array([[1.0, 3.0], [2.0, 6.0]])
    np.testing.assert_array_equal(
        SeriesTransform(False, 1, False, "window").window_loc(target, np.zeros(2)), [2.0, 4.0]
    )
    np.testing.assert_array_equal(
        SeriesTransform(False, 1, False, "series").window_loc(target, np.array([7.0, 8.0])),
        [7.0, 8.0],
    )


def test_transform_apply_invert_round_trip():
    t = np.arange(36)
    y = np.exp(3 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 4))
    tr = SeriesTransform(log=True, season_length=4, deseasonalize=True, normalize="window")
    stats, d = tr.fit_apply(y, "s")
    assert stats.seasonal is not None and stats.seasonal.sum() == pytest.approx(0, abs=1e-12)
    np.testing.assert_allclose(tr.invert(d, stats, start=0), y, rtol=1e-12)
    np.testing.assert_array_equal(tr.apply(y, stats, "s"), d)
    # a continuation is re-seasonalised from its own position in the cycle
    tail = tr.invert(d[-6:], stats, start=30)
    np.testing.assert_allclose(tail, y[-6:], rtol=1e-12)
    with pytest.raises(ValueError, match="log transform needs strictly positive values"):
        tr.to_z(np.array([1.0, 0.0]), "s")
    with pytest.raises(ValueError, match=r"at least 2 \* season_length = 8"):
        tr.fit(np.ones(7), "s")


def test_shared_scale_rules():
    assert shared_scale([_Stats(None, 0.0, s) for s in (1.0, 5.0, 2.0)]) == 2.0
    assert shared_scale([]) == 1.0  # only constant series
    # a nearly constant series (own scale below 1e-4 of the shared one) keeps its own
    assert series_scale(0.3, 2.0) == 2.0 and series_scale(1e-7, 2.0) == 1e-7
    assert series_scale(1e-3, 2.0) == 2.0 and series_scale(1e-4, 2.0) == 1e-4
    assert SeriesTransform(False, 1, False, "window", scale=2.0).fit(
        np.array([5.0, 5.0 + 1e-9, 5.0]), "s"
    ).scale == pytest.approx(1e-9)
    assert is_constant(np.full(4, 0.1)) and is_constant(np.array([3.0]))
    assert not is_constant(np.array([1.0, 1.0 + 1e-15])) and not is_constant(np.array([]))
    assert shares_scale("global", False, "window") and shares_scale("auto", True, "series")
    assert not shares_scale("auto", False, "window") and not shares_scale("global", True, None)


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


def test_calendar_features_and_covariate_standardisation():
    assert calendar_spec("period", pd.offsets.MonthEnd(), "auto") == (("month", 12),)
    assert calendar_spec("period", pd.offsets.MonthEnd(), False) == ()
    assert calendar_spec("int", 1, "auto") == ()
    march = pd.period_range("2020-03", periods=1, freq="M")
    np.testing.assert_allclose(_calendar(march, (("month", 12),)), [[1.0, 0.0]], atol=1e-15)
    df = pd.DataFrame({"unique_id": "a", "ds": [0, 1], "y": [1.0, 2.0]})
    X = pd.DataFrame({"unique_id": "a", "ds": [0, 1], "p": [0.0, 2.0], "f": [3.0, 3.0]})
    cov = Covariates.fit(parse_panel(df, X), ["p"], "auto")
    assert (cov.past_names, cov.future_names, cov.calendar_names) == (["p"], ["f"], [])
    past, future = cov.transform(np.array([[0.0, 3.0], [2.0, 3.0]]), pd.RangeIndex(2))
    np.testing.assert_array_equal(past[:, 0], [-1.0, 1.0])  # mean 1, std 1
    np.testing.assert_array_equal(future[:, 0], [0.0, 0.0])  # constant: std taken as 1
    with pytest.raises(ValueError, match=r"past_covariates \['w'\] are not columns of X"):
        Covariates.fit(parse_panel(df, X), ["w"], "auto")


# --------------------------------------------------------------------------------------------
# windows
# --------------------------------------------------------------------------------------------


def _prepared(n=20, normalize=None):
    y = pd.Series(np.arange(float(n)))
    transform = SeriesTransform(False, 1, False, normalize)
    panel = parse_panel(y)
    cov = Covariates.fit(panel, None, False)
    return prepare(panel, transform, cov), transform


def test_split_holds_out_the_latest_origins_and_drops_overlapping_training_windows():
    prepared, transform = _prepared()
    layout = WindowLayout(window=4, out_len=2, horizon=2, extension=0, transform=transform)
    source = WindowSource(prepared, layout, "int")
    split = source.split_windows(0.2, early_stopping=True)
    # origins 3..17 (15 of them); ceil(0.2 * 15) = 3 held out: 15, 16, 17
    np.testing.assert_array_equal(split.calib[0].origins, [15, 16, 17])
    np.testing.assert_array_equal(np.asarray(split.val.Y), [[16, 17], [17, 18], [18, 19]])
    np.testing.assert_array_equal(np.asarray(split.val.X)[0, :, 0], [12, 13, 14, 15])
    # training windows end their targets before the first held-out target (16): origins 3..13
    assert len(split.train) == 11 and np.asarray(split.train.Y)[-1].tolist() == [14.0, 15.0]
    assert len(source.all_windows()) == 15
    assert source.split_windows(0, early_stopping=False).train is None


def test_window_normalisation_of_the_inputs_and_targets():
    prepared, transform = _prepared(normalize="window")
    scale = prepared[0].stats.scale
    assert scale == 1.0  # unit steps
    layout = WindowLayout(window=4, out_len=2, horizon=2, extension=0, transform=transform)
    full = WindowSource(prepared, layout, "int").all_windows()
    # first window 0..3 has mean level 1.5; its targets 4, 5
    np.testing.assert_array_equal(np.asarray(full.X)[0, :, 0], [-1.5, -0.5, 0.5, 1.5])
    np.testing.assert_array_equal(np.asarray(full.Y)[0], [2.5, 3.5])


def test_default_window_and_length_check():
    panel = parse_panel(pd.Series(np.arange(60.0)))
    assert default_window(panel, 12, 6) == 24
    short = parse_panel(pd.Series(np.arange(30.0)))
    assert default_window(short, 12, 6) == 30 - 6 - 9
    with pytest.raises(ValueError, match=r"fewer than window \+ horizon = 25 \+ 6 = 31"):
        check_lengths(short, 25, 6)


# --------------------------------------------------------------------------------------------
# roll-out and calibration
# --------------------------------------------------------------------------------------------


def test_roll_out_feeds_forecasts_back():
    # the "network" forecasts the last normalised input plus 1 for each of 2 steps
    layout = WindowLayout(window=3, out_len=2, horizon=2, extension=0, transform=PLAIN)

    def predict(X):
        return X[:, -1, 0][:, None] + np.array([1.0, 2.0])

    dbuf = np.zeros((1, 3 + 4))
    dbuf[0, :3] = [1.0, 2.0, 3.0]
    out = roll_out(
        layout, predict, dbuf, np.zeros((1, 3, 0)), np.zeros((1, 7, 0)), np.zeros(1), np.ones(1), 3
    )
    # block 1 from 3: 4, 5; block 2 from 5: 6 (7 dropped)
    np.testing.assert_array_equal(out, [[4.0, 5.0, 6.0]])
    assert padded_steps(3, 2) == 4 and padded_steps(4, 4) == 4


def test_held_out_origins_of_many_series_roll_out_together(monkeypatch):
    # the "network" forecasts the last normalised input plus 1 and plus 2; series s has
    # d = 10 s + t (t = 0 .. 7), loc s, scale 2, so from origin o the d-scale forecast is
    # d[o] + 2 * 1 and d[o] + 2 * 2 (normalised x, back as loc + 2 (x + k))
    layout = WindowLayout(window=3, out_len=2, horizon=2, extension=0, transform=PLAIN)
    batches = []

    def predict(X):
        batches.append(len(X))
        return X[:, -1, 0][:, None] + np.array([1.0, 2.0])

    prepared = [
        PreparedSeries(
            None,
            _Stats(None, float(s), 2.0),
            10.0 * s + np.arange(8.0),
            np.zeros((8, 0)),
            np.zeros((8, 1)),
        )
        for s in range(4)
    ]
    calib = [
        CalibrationOrigins(0, np.array([4, 5])),
        CalibrationOrigins(1, np.array([], dtype=np.int64)),  # no origin: an empty block
        CalibrationOrigins(2, np.array([3, 4, 5])),
        CalibrationOrigins(3, np.array([5])),
    ]
    monkeypatch.setattr(_rollout, "HOLDOUT_BLOCK_ROWS", 4)
    preds = holdout_roll_outs(layout, prepared, calib, predict)
    # blocks of at most 4 tracks, whole series each: [0, 1] (2 tracks), then [2, 3] (4)
    assert batches == [2, 4]
    expected = [
        [[6.0, 8.0], [7.0, 9.0]],
        np.zeros((0, 2)),
        [[25, 27], [26, 28], [27, 29]],
        [[37, 39]],
    ]
    for got, want in zip(preds, expected):
        np.testing.assert_array_equal(got, np.asarray(want, dtype=float).reshape(-1, 2))
    # one series' block larger than the limit is rolled out whole
    batches.clear()
    monkeypatch.setattr(_rollout, "HOLDOUT_BLOCK_ROWS", 1)
    again = holdout_roll_outs(layout, prepared, calib, predict)
    assert batches == [2, 3, 1]
    for a, b in zip(again, preds):
        np.testing.assert_array_equal(a, b)
    # the calibration scores those forecasts: |actual - forecast| / scale, actual d[o + 1 ..]
    scores = calibrate(layout, prepared, calib, preds)
    # series 0 from 4: actual 5, 6 against 6, 8 -> 0.5, 1; every series the same
    np.testing.assert_array_equal(scores, np.tile([[0.5, 1.0]], (6, 1)))


def test_conformal_half_widths():
    scores = np.ones((9, 2))
    np.testing.assert_array_equal(half_width(scores, 80, 2), [1.0, 1.0])
    # beyond the calibrated horizon the width grows like sqrt(j / H)
    np.testing.assert_allclose(half_width(scores, 80, 4), [1, 1, math.sqrt(1.5), math.sqrt(2)])
    # 9 scores 1..9 in one column: the 80 % quantile with the finite-sample correction is the
    # ceil(10 * 0.8) = 8th smallest, in units of the RMS
    col = np.arange(1.0, 10.0)[:, None]
    rms = math.sqrt(np.mean(col**2))
    assert half_width(col, 80, 1)[0] == pytest.approx(8.0)
    assert half_width(col, 80, 1)[0] / rms == pytest.approx(8.0 / rms)
    assert check_levels([95, 80, 80], True) == [80.0, 95.0] and check_levels(None, False) == []


def test_conformal_correction_counts_origins_not_pooled_residuals():
    # 5 origins x 2 steps; both columns have RMS sqrt(11), so the scaled scores are the raw
    # ones / sqrt(11): sorted 0 0 0 0 1 2 3 4 5 sqrt(55). The correction counts the 5 origins:
    # level 60 -> ceil(6 * 0.6) / 5 = 0.8 -> the ceil(10 * 0.8) = 8th smallest, 4 (counting
    # the 10 pooled residuals, ceil(11 * 0.6) = 7th: 3); level 80 -> ceil(6 * 0.8) / 5 = 1 ->
    # the largest, sqrt(55) (pooled: ceil(11 * 0.8) = 9th, 5).
    scores = np.column_stack([[1.0, 2, 3, 4, 5], [0.0, 0, 0, 0, math.sqrt(55)]])
    np.testing.assert_allclose(half_width(scores, 60, 2), [4.0, 4.0])
    np.testing.assert_allclose(half_width(scores, 80, 2), [math.sqrt(55)] * 2)
    # the pooled rule that forecasters saved before the correction keep (interval_rule_ absent)
    np.testing.assert_allclose(half_width(scores, 60, 2, by_origins=False), [3.0, 3.0])
    np.testing.assert_allclose(half_width(scores, 80, 2, by_origins=False), [5.0, 5.0])
    # one step: n origins are n residuals, the usual ceil((n + 1) level)-th smallest
    col = np.arange(1.0, 21.0)[:, None]  # 20 origins: ceil(21 * 0.8) = 17th, ceil(21 * 0.95) = 20th
    assert half_width(col, 80, 1)[0] == pytest.approx(17.0)
    assert half_width(col, 95, 1)[0] == pytest.approx(20.0)
    with pytest.raises(ValueError, match="held-out residuals"):
        check_levels(80, False)
    with pytest.raises(ValueError, match="strictly between 0 and 100"):
        check_levels([True], True)


# --------------------------------------------------------------------------------------------
# output
# --------------------------------------------------------------------------------------------


def test_forecast_columns_and_frames():
    cols = forecast_columns(np.zeros(2), {80.0: np.ones(2)}, np.exp)
    assert list(cols) == ["yhat", "yhat_lo_80", "yhat_hi_80"]
    np.testing.assert_allclose(cols["yhat_lo_80"], [1 / math.e] * 2)  # asymmetric after exp
    np.testing.assert_allclose(cols["yhat_hi_80"], [math.e] * 2)
    assert _level_name(97.5) == "97.5" and _level_name(80.0) == "80"
    idx = pd.RangeIndex(5, 7)
    one = [SeriesForecast("y", idx, {"yhat": np.array([1.0, 2.0])})]
    s = format_forecasts(one, False, "series", name="sales", index_name="t")
    assert isinstance(s, pd.Series) and s.name == "sales" and s.index.name == "t"
    frame = format_forecasts(
        [
            SeriesForecast("a", idx, {"yhat": np.array([1.0, 2.0])}),
            SeriesForecast("b", idx, {"yhat": np.array([3.0, 4.0])}),
        ],
        False,
        "long",
    )
    assert list(frame.columns) == ["unique_id", "ds", "yhat"]
    assert frame["unique_id"].tolist() == ["a", "a", "b", "b"]
    assert frame["ds"].tolist() == [5, 6, 5, 6]


# --------------------------------------------------------------------------------------------
# ensemble seeds and parameter messages
# --------------------------------------------------------------------------------------------


def test_member_seeds_are_concrete_integers():
    assert member_seeds(7, 1) == [7]
    expected = [int(s) for s in np.random.SeedSequence(7).generate_state(3)]
    assert member_seeds(7, 3) == expected
    rs = np.random.RandomState(0)
    assert member_seeds(np.random.RandomState(0), 2) == [
        int(v) for v in rs.randint(np.iinfo(np.int32).max, size=2)
    ]
    drawn = member_seeds(None, 2)  # drawn from the global generator, once
    assert all(type(s) is int for s in drawn) and len(drawn) == 2
    assert member_seeds(np.random.RandomState(3), 1) == [
        int(np.random.RandomState(3).randint(np.iinfo(np.int32).max))
    ]


def test_parameter_descriptions():
    from numbers import Integral

    from sklearn.utils._param_validation import Interval, Options, StrOptions, make_constraint

    def words(*cs):
        return _describe([make_constraint(c) for c in cs])

    assert words(Interval(Integral, 1, None, closed="left"), None) == "a positive integer or None"
    assert words(StrOptions({"b", "a"})) == "one of ['a', 'b']"
    assert words(Options(object, {"auto", True, False})) == "'auto', True or False"
