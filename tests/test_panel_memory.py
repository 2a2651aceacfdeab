"""The memory-saving structures behind issue 15's 100k-series panel (acceptance 3).

- parse_panel slices the series of a long frame from its ``ds`` and ``y`` columns (no groupby
  copy, no row-sized hash table), keeps the values of all series in one array and interns the
  grids (series with the same span share one index object);
- WindowSource.compact_future keeps the calendar features as one row per time stamp;
- the epoch order is int32 and the same permutation as ``Generator.permutation``.

The references are independent: the frame's own rows per series, pandas' ``groupby``,
the per-point feature array before compaction.
"""

import numpy as np
import pandas as pd

import tsrnn.forecasting._rnn as rnn_module
from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting._features import Covariates
from tsrnn.forecasting._panel import parse_panel
from tsrnn.forecasting._stream import WindowSource, prepare_packed
from tsrnn.forecasting._transforms import SeriesTransform
from tsrnn.forecasting._windows import WindowLayout


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
    # without a unique_id, which groupby drops
    turn = df.groupby("unique_id").cumcount().to_numpy()  # round robin over the series
    shuffled = df.iloc[np.argsort(turn, kind="stable")].copy()
    shuffled.loc[shuffled.index[3], "unique_id"] = None
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


def _source():
    panel = parse_panel(_long())
    transform = SeriesTransform(False, 12, False, "window")
    cov = Covariates.fit(panel, None, "auto")
    layout = WindowLayout(window=6, out_len=3, horizon=3, extension=0, transform=transform)
    return WindowSource(prepare_packed(panel, transform, cov, np.float32), layout, panel.kind)


def test_compacted_calendar_features_give_the_same_inputs():
    source = _source()
    per_point = source.future.copy()
    assert per_point.shape == (len(source.d), 2)  # month sin and cos
    windows = source.all_windows()
    before = np.asarray(windows.X)
    assert source.compact_future()
    # one row per distinct month of the panel (41 months), read through each point's rank
    assert source.future.shape == (41, 2) and source.future_rows is source.ranks
    np.testing.assert_array_equal(source.future[source.ranks], per_point, strict=True)
    assert all(p.future is None for p in source.prepared)
    np.testing.assert_array_equal(np.asarray(windows.X), before, strict=True)
    assert not source.compact_future()  # already compact


def test_features_that_differ_within_a_time_stamp_are_not_compacted():
    source = _source()
    source.future[0, 0] += 1.0  # no longer a function of the time stamp
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


def test_forecasts_do_not_depend_on_the_compaction(monkeypatch):
    original = rnn_module.WindowSource.compact_future
    forecasts = {}
    for compact in (True, False):
        calls = []

        def spy(self, compact=compact, calls=calls):
            calls.append(True)
            return original(self) if compact else False

        monkeypatch.setattr(rnn_module.WindowSource, "compact_future", spy)
        forecasts[compact] = _tiny(2).fit(_long()).predict()
        assert calls == [True]
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
