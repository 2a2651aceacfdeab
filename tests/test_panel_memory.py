"""The memory-saving structures behind issue 15's 100k-series panel (acceptance 3).

- parse_panel slices the series of a long frame from its ``ds`` and ``y`` columns (no groupby
  copy, no row-sized hash table), keeps the values of all series in one array and interns the
  grids (series with the same span share one index object); with pandas 3 that array is the
  frame's own float64 ``y`` column (copy-on-write keeps later writes to the frame away from
  it) when every series is its rows as they are;
- predict's forecast indexes are one object per cutoff;
- the calendar features are one array per index object (prepare_packed) and one row per
  time stamp in WindowSource (checked against every point's own features);
- the epoch order is int32 and the same permutation as ``Generator.permutation``.

The references are independent: the frame's own rows per series, pandas' ``groupby``,
the per-point feature array before compaction.
"""

import numpy as np
import pandas as pd
import pytest
from _materialised import all_windows

import tsrnn.forecasting._panel as panel_module
import tsrnn.forecasting._rnn as rnn_module
from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting._features import Covariates
from tsrnn.forecasting._panel import parse_panel
from tsrnn.forecasting._stream import WindowSource, prepare_packed
from tsrnn.forecasting._transforms import SeriesTransform
from tsrnn.forecasting._windows import WindowLayout, prepare


def _long(n_series=4, seed=0):
    """Monthly series; series 0 and 2 share their span, the others differ."""
    rng = np.random.default_rng(seed)
    lengths = [30, 36, 30, 41]
    frames = []
    for i in range(n_series):
        n = lengths[i]
        ds = pd.date_range(end="2019-12-01", periods=n, freq="MS")
        frames.append(pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": rng.normal(50, 5, n)}))
    return pd.concat(frames, ignore_index=True)


def test_series_of_a_grouped_frame_are_its_rows_in_one_array_with_shared_grids():
    df = _long()
    panel = parse_panel(df)
    assert [s.uid for s in panel.series] == ["s0", "s1", "s2", "s3"]
    base = panel.series[0].y.base
    assert base is not None and len(base) == len(df)
    for s in panel.series:
        rows = df[df["unique_id"] == s.uid]
        np.testing.assert_array_equal(s.y, rows["y"].to_numpy(), strict=True)
        assert s.index.equals(pd.DatetimeIndex(rows["ds"].to_numpy()))
        assert s.y.base is base and s.exog.shape == (len(rows), 0)
    assert panel.series[0].index is panel.series[2].index  # the same span: one object
    assert panel.series[0].index is not panel.series[1].index


def test_interleaved_rows_and_missing_ids_give_the_groupby_series():
    df = _long()
    # rows of the series interleaved (each series' rows still in time order), one row
    # without a unique_id, which groupby drops (and the parser too, saying so)
    turn = df.groupby("unique_id").cumcount().to_numpy()  # round robin over the series
    shuffled = df.iloc[np.argsort(turn, kind="stable")].copy()
    shuffled.loc[shuffled.index[3], "unique_id"] = None
    label = shuffled.index[3]
    with pytest.warns(UserWarning, match=rf"1 row\(s\) with a missing unique_id .*\[{label}\]"):
        panel = parse_panel(shuffled, fill_method="ffill")
    expected = list(shuffled.groupby("unique_id", sort=False))
    assert [s.uid for s in panel.series] == [u for u, _ in expected]
    for s, (_, g) in zip(panel.series, expected):
        idx = pd.DatetimeIndex(g["ds"].to_numpy())
        on_grid = pd.Series(g["y"].to_numpy(), index=idx).reindex(s.index).ffill().bfill()
        np.testing.assert_array_equal(s.y, on_grid.to_numpy(), strict=True)


def test_a_series_split_in_two_runs_is_one_series():
    df = _long(2)
    a = df[df["unique_id"] == "s0"]
    b = df[df["unique_id"] == "s1"]
    split = pd.concat([a.iloc[:10], b, a.iloc[10:]], ignore_index=True)
    panel = parse_panel(split)
    assert [s.uid for s in panel.series] == ["s0", "s1"]
    np.testing.assert_array_equal(panel.series[0].y, a["y"].to_numpy(), strict=True)
    np.testing.assert_array_equal(panel.series[1].y, b["y"].to_numpy(), strict=True)


def _layout():
    transform = SeriesTransform(False, 12, False, "window")
    return WindowLayout(window=6, out_len=3, horizon=3, extension=0, transform=transform)


def _packed(panel):
    layout = _layout()
    cov = Covariates.fit(panel, None, "auto")
    return prepare_packed(panel, layout.transform, cov, np.float32), layout


def _month_features(index):
    """Month sin and cos of ``index`` (period 12), float32: the reference, from pandas."""
    angle = 2.0 * np.pi * index.month.to_numpy(dtype=np.float64) / 12.0
    return np.column_stack([np.sin(angle), np.cos(angle)]).astype(np.float32)


def test_calendar_features_are_one_row_per_time_stamp_and_the_windows_unchanged():
    panel = parse_panel(_long())
    prepared, layout = _packed(panel)
    # series sharing their index object share their features: no array of one row per point
    assert prepared[0].future is prepared[2].future
    assert prepared[0].future is not prepared[1].future
    source = WindowSource(prepared, layout, panel.kind)
    # one row per distinct month of the panel (41 months), read through each point's rank
    assert source.future.shape == (41, 2) and source.future_rows is source.ranks
    for p, lo, hi in zip(prepared, source.offsets[:-1], source.offsets[1:]):
        expected = _month_features(p.series.index)
        np.testing.assert_allclose(source.future[source.ranks[lo:hi]], expected, atol=1e-6)
        np.testing.assert_array_equal(source.future[source.ranks[lo:hi]], p.future, strict=True)
    # the windows: those of the materialised path (per-point features, tests/_materialised)
    cov = Covariates.fit(panel, None, "auto")
    reference = all_windows(prepare(panel, layout.transform, cov), layout, panel.kind)
    np.testing.assert_array_equal(
        np.asarray(source.all_windows().X.astype(np.float32)),
        reference.X.astype(np.float32),
        strict=True,
    )
    assert source.compact_future() and all(p.future is None for p in prepared)
    assert source.future.shape == (41, 2)


@pytest.mark.parametrize("change", ["value", "signed zero"])
def test_features_that_differ_within_a_time_stamp_are_kept_per_point(change):
    panel = parse_panel(_long())
    prepared, layout = _packed(panel)
    for p in prepared:
        p.future = p.future.copy()
    if change == "value":
        prepared[3].future[-1, 0] += 1.0  # its last month now differs from the other series'
    else:  # equal as numbers, not as bits: the table must give every point its own bits
        for p in prepared:
            p.future[-1, 0] = 0.0
        prepared[3].future[-1, 0] = -0.0
    source = WindowSource(prepared, layout, panel.kind)
    assert source.future_rows.size == 0 and len(source.future) == len(source.d)
    np.testing.assert_array_equal(
        source.future, np.concatenate([p.future for p in prepared]), strict=True
    )
    kept = source.future
    assert not source.compact_future()
    assert source.future is kept and source.future_rows.size == 0


def _tiny(max_iter):
    return RNNForecaster(
        horizon=3,
        window=6,
        hidden_size=4,
        max_iter=max_iter,
        validation_fraction=0.0,
        early_stopping=False,
        random_state=0,
    )


@pytest.mark.parametrize("validation_fraction", [0.0, 0.2])
def test_forecasts_do_not_depend_on_the_table(monkeypatch, validation_fraction):
    forecasts = {}
    for table in (True, False):
        if not table:  # features kept one row per point throughout
            monkeypatch.setattr(rnn_module.WindowSource, "_table", lambda self, parts: None)
            monkeypatch.setattr(rnn_module.WindowSource, "compact_future", lambda self: False)
        f = _tiny(2).set_params(validation_fraction=validation_fraction)
        forecasts[table] = f.fit(_long()).predict(level=[80] if validation_fraction else None)
    pd.testing.assert_frame_equal(forecasts[True], forecasts[False], check_exact=True)


def test_epoch_order_is_int32_and_the_generator_permutation(monkeypatch):
    import tsrnn._epochs as epochs

    seen = []
    original = epochs.Batches.__init__

    def spy(self, order, size):
        seen.append(order.copy())
        original(self, order, size)

    monkeypatch.setattr(epochs.Batches, "__init__", spy)
    f = _tiny(1)
    f.fit(_long())
    assert seen and all(o.dtype == np.int32 for o in seen)
    n = len(seen[0])
    assert sorted(seen[0].tolist()) == list(range(n))  # a permutation of the windows


needs_cow = pytest.mark.skipif(
    int(pd.__version__.split(".")[0]) < 3, reason="the y column is shared with pandas 3 only"
)


@needs_cow
def test_the_y_column_of_a_grouped_frame_is_shared_and_later_writes_do_not_reach_the_fit():
    df = _long()
    original = df["y"].to_numpy().copy()
    panel = parse_panel(df)
    assert all(np.shares_memory(s.y, df["y"].to_numpy()) for s in panel.series)
    assert not panel.series[0].y.flags.writeable
    fitted = _tiny(1).fit(df)
    expected = _tiny(1).fit(df.copy(deep=True)).predict()
    # writes to the user's frame after the fit, every way pandas offers
    df.loc[df.index[-1], "y"] = -1e6
    df.iloc[0, df.columns.get_loc("y")] = 1e6
    df["y"] *= 3.0
    del df
    kept = np.concatenate([s.y for s in fitted._panel.series])
    np.testing.assert_array_equal(kept, original, strict=True)
    pd.testing.assert_frame_equal(fitted.predict(), expected, check_exact=True)


@needs_cow
def test_a_series_not_as_its_rows_makes_a_copy_from_there_on():
    df = _long()
    gap = df.index[(df["unique_id"] == "s2").to_numpy()][5]
    holed = df.drop(index=gap).reset_index(drop=True)  # s2 misses one month: filled
    panel = parse_panel(holed, freq="MS", fill_method="ffill")
    column = holed["y"].to_numpy()
    assert not any(np.shares_memory(s.y, column) for s in panel.series)
    for s in panel.series:
        rows = holed[holed["unique_id"] == s.uid]
        on_grid = pd.Series(rows["y"].to_numpy(), index=pd.DatetimeIndex(rows["ds"].to_numpy()))
        expected = on_grid.reindex(s.index).ffill().to_numpy()
        np.testing.assert_array_equal(s.y, expected, strict=True)
    assert np.isnan(holed["y"].to_numpy()).sum() == 0 and len(panel.series[2].y) == 30


@pytest.mark.parametrize("case", ["int", "pandas2", "wide block", "interleaved"])
def test_the_y_column_is_copied_when_it_cannot_be_shared_safely(case, monkeypatch):
    df = _long()
    if case == "int":
        df["y"] = np.round(df["y"].to_numpy() * 100).astype(np.int64)
    elif case == "pandas2":  # no copy-on-write to protect a shared column
        monkeypatch.setattr(panel_module, "_PANDAS_MAJOR", 2)
    elif case == "wide block":  # y one column of a 2-D float block
        wide = pd.DataFrame(
            np.column_stack([df["y"].to_numpy(), df["y"].to_numpy() + 1.0]), columns=["y", "z"]
        )
        df = pd.concat([df[["unique_id", "ds"]], wide], axis=1)[["unique_id", "ds", "y"]]
    else:
        turn = df.groupby("unique_id").cumcount().to_numpy()
        df = df.iloc[np.argsort(turn, kind="stable")]
    panel = parse_panel(df)
    column = df["y"].to_numpy()
    assert not any(np.shares_memory(s.y, column) for s in panel.series)
    for s in panel.series:
        rows = df[df["unique_id"] == s.uid]
        np.testing.assert_array_equal(s.y, rows["y"].to_numpy(dtype=np.float64), strict=True)


@needs_cow
def test_a_forecaster_on_a_shared_column_saves_and_pickles_its_history_alone(tmp_path):
    import pickle

    from tsrnn.persistence import load, save

    df = _long()
    fitted = _tiny(1).fit(df)
    expected = fitted.predict()
    blob = pickle.dumps(fitted)
    assert len(blob) < 200_000  # no copy of a whole frame
    save(fitted, tmp_path / "m.tsrnn")
    for back in (pickle.loads(blob), load(tmp_path / "m.tsrnn")):
        kept = np.concatenate([s.y for s in back._panel.series])
        np.testing.assert_array_equal(kept, df["y"].to_numpy(), strict=True)
        pd.testing.assert_frame_equal(back.predict(), expected, check_exact=True)


def test_series_ending_together_share_their_forecast_index():
    from tsrnn.forecasting._rollout import origins_at_end, padded_steps

    fitted = _tiny(1).fit(_long())
    panel = fitted._panel
    start = origins_at_end(
        fitted._layout(), fitted._covariates_, panel, fitted._stats, fitted.freq_, 5, {}
    )
    expected = pd.date_range("2020-01-01", periods=5, freq="MS", name="ds")
    for index in start.indexes:
        assert index.equals(expected)
    assert len({id(index) for index in start.indexes}) == 1  # one object for one cutoff
    assert start.future.shape == (4, 6 + padded_steps(5, 3), 2)


@pytest.mark.parametrize("freq", ["MS", "ME", "QS-OCT", "YE", "W-SUN", "B", "SMS", "BMS"])
def test_a_complete_index_is_its_own_grid_without_date_range(freq, monkeypatch):
    ref = pd.date_range("2001-01-01", periods=40, freq=freq, name="ds")
    df = pd.DataFrame({"unique_id": "a", "ds": ref.to_numpy(), "y": np.arange(40.0) + 1.0})
    holed = df.drop(index=7)
    # date_range only for the series with a gap: counted
    calls = []
    original = panel_module._grid

    def spy(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(panel_module, "_grid", spy)
    panel = parse_panel(df, freq=freq)
    assert calls == []
    index = panel.series[0].index
    assert index.equals(ref) and index.dtype == ref.dtype and index.name == "ds"
    assert not np.shares_memory(index.asi8, df["ds"].to_numpy())  # a copy, not the frame's
    filled = parse_panel(holed, freq=freq, fill_method="ffill").series[0]
    assert len(calls) == 1 and filled.index.equals(ref)
    np.testing.assert_array_equal(filled.y[6:9], [7.0, 7.0, 9.0])
    off = df.assign(ds=df["ds"] + pd.Timedelta(days=2))  # not on the offset: reported
    with pytest.raises(ValueError, match="do not fall on the"):
        parse_panel(off, freq=freq)


def test_series_with_the_stamps_of_an_earlier_grid_reuse_its_inferred_frequency(monkeypatch):
    # 30 monthly series on the same 24 months and one on a later span; then an irregular
    # series with the same first and last stamp and length as the first 30
    months = pd.date_range("2018-01-01", periods=24, freq="MS")
    later = pd.date_range("2019-01-01", periods=24, freq="MS")
    frames = [pd.DataFrame({"unique_id": f"m{i}", "ds": months, "y": i + 1.0}) for i in range(30)]
    frames.append(pd.DataFrame({"unique_id": "late", "ds": later, "y": 1.0}))
    odd = months[:-2].append(pd.DatetimeIndex([months[-1] - pd.Timedelta(days=3), months[-1]]))
    irregular = pd.DataFrame({"unique_id": "odd", "ds": odd, "y": 1.0})
    calls = []
    original = pd.infer_freq

    def spy(index):
        calls.append(index[0])
        return original(index)

    monkeypatch.setattr(pd, "infer_freq", spy)
    panel = parse_panel(pd.concat(frames, ignore_index=True))
    # inferred for the first series of each span only
    assert calls == [months[0], later[0]]
    assert panel.freq == pd.tseries.frequencies.to_offset("MS")
    assert all(s.index.equals(months) for s in panel.series[:30])
    assert panel.series[30].index.equals(later)
    # the same first and last stamp and length as a grid, other stamps: inferred, refused
    calls.clear()
    with pytest.raises(ValueError, match="'odd': cannot infer the frequency"):
        parse_panel(pd.concat(frames[:2] + [irregular], ignore_index=True))
    assert calls == [months[0], months[0]]


def test_interval_half_widths_are_computed_once_per_level_not_per_series(monkeypatch):
    # the pooled held-out residuals give every series the same normalised half-widths, scaled
    # by each series' scale: one computation per level (it sorts every residual), not per series
    import tsrnn.forecasting._rollout as rollout_module

    rng = np.random.default_rng(3)
    months = pd.date_range("2015-01-01", periods=48, freq="MS")
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": f"s{i}", "ds": months, "y": 10 + i + rng.normal(0, 1, 48)})
            for i in range(6)
        ],
        ignore_index=True,
    )
    f = RNNForecaster(horizon=4, window=8, hidden_size=4, max_iter=2, random_state=0).fit(df)
    calls = []
    original = rollout_module.half_width

    def spy(*args, **kwargs):
        calls.append(args[1])
        return original(*args, **kwargs)

    monkeypatch.setattr(rollout_module, "half_width", spy)
    fc = f.predict(level=[80, 95])
    assert sorted(calls) == [80, 95]
    # each series' half-width is the shared one times its own scale
    for uid, g in fc.groupby("unique_id"):
        widths = [(g[f"yhat_hi_{lv}"] - g[f"yhat_lo_{lv}"]).to_numpy() / 2 for lv in (80, 95)]
        assert np.all(widths[1] >= widths[0]) and np.all(widths[0] > 0), uid
