"""Streaming training windows (forecasting/_stream.py): the same windows, never all at once.

The reference is the materialised path, kept in tests/_materialised.py (``split_windows``,
``all_windows``) and the estimators' public ``fit`` / ``_fit_with_validation``: the streamed
batches, and the forecaster's forecasts and intervals, must equal it bit for bit.
"""

import numpy as np
import pandas as pd
import pytest
from _materialised import all_windows, split_windows

import tsrnn.forecasting._rnn as rnn_module
from tsrnn._epochs import Batches
from tsrnn._window_kernels import LOCATOR_SHIFT, _series_of, pairwise_sum, series_locator
from tsrnn.estimators._base import BaseRecurrent
from tsrnn.forecasting import RNNForecaster
from tsrnn.forecasting._features import Covariates
from tsrnn.forecasting._panel import parse_panel
from tsrnn.forecasting._stream import WindowSource, prepare_packed
from tsrnn.forecasting._transforms import SeriesTransform
from tsrnn.forecasting._windows import WindowLayout, prepare


def _panel(n_series=3, exog=True, seed=0):
    """A monthly panel of positive series of different lengths, with two covariates."""
    rng = np.random.default_rng(seed)
    frames = []
    for i in range(n_series):
        n = 40 + 9 * i
        ds = pd.period_range(end="2019-12", periods=n, freq="M").to_timestamp()
        t = np.arange(n)
        y = 30 + 10 * i + 0.4 * t + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 1, n)
        frame = pd.DataFrame({"unique_id": f"s{i}", "ds": ds, "y": y})
        if exog:
            frame["promo"] = rng.integers(0, 2, n).astype(float)  # known future
            frame["temp"] = rng.normal(0, 1, n)  # past only
        frames.append(frame)
    df = pd.concat(frames, ignore_index=True)
    if not exog:
        return df, None
    return df[["unique_id", "ds", "y"]], df[["unique_id", "ds", "promo", "temp"]]


def _prepared(normalize="window", extension=3, out_len=3):
    y, X = _panel()
    panel = parse_panel(y, X)
    transform = SeriesTransform(True, 12, True, normalize)
    cov = Covariates.fit(panel, ["temp"], "auto")
    layout = WindowLayout(
        window=8, out_len=out_len, horizon=3, extension=extension, transform=transform
    )
    return prepare(panel, transform, cov), layout, panel.kind


@pytest.mark.parametrize("normalize", ["window", "series", None])
def test_streamed_windows_equal_the_materialised_windows_bit_for_bit(normalize):
    prepared, layout, kind = _prepared(normalize)
    full = all_windows(prepared, layout, kind)
    split = split_windows(prepared, layout, kind, 0.2, early_stopping=True)
    assert full.X.shape[2] == 1 + 1 + 1 + 3  # target, temp, flag, promo + month sin/cos
    source = WindowSource(prepared, layout, kind)
    streamed = source.all_windows()
    s_split = source.split_windows(0.2, early_stopping=True)
    assert streamed.X.shape == full.X.shape and streamed.Y.shape == full.Y.shape
    for ref, lazy in ((full, streamed), (split.train, s_split.train), (split.val, s_split.val)):
        np.testing.assert_array_equal(np.asarray(lazy.X), ref.X, strict=True)
        np.testing.assert_array_equal(np.asarray(lazy.Y), ref.Y, strict=True)
    for a, b in zip(split.calib, s_split.calib):
        assert a.series_pos == b.series_pos
        np.testing.assert_array_equal(a.origins, b.origins)
    # batches: int index arrays (shuffled, repeated), slices (negative too), in both dtypes
    idx = np.random.default_rng(0).permutation(len(full))[:37]
    idx = np.concatenate([idx, idx[:3]])
    for dtype in (np.float32, np.float64):
        X, Y = streamed.X.astype(dtype), streamed.Y.astype(dtype, repeat=3)
        np.testing.assert_array_equal(X[idx], full.X[idx].astype(dtype), strict=True)
        np.testing.assert_array_equal(X[-5:], full.X[-5:].astype(dtype), strict=True)
        np.testing.assert_array_equal(X[3], full.X[3].astype(dtype), strict=True)
        np.testing.assert_array_equal(
            Y[idx], np.repeat(full.Y[idx], 3, axis=1).astype(dtype), strict=True
        )
    with pytest.raises(TypeError, match="int index array or slice"):
        streamed.X[np.ones(len(full), dtype=bool)]


def test_windows_are_sorted_by_the_time_of_their_last_target_like_the_materialised_rows():
    # out_len 1 without covariates: series of different lengths, all ending in December 2019
    prepared, layout, kind = _prepared(extension=0, out_len=1)
    source = WindowSource(prepared, layout, kind)
    pos = source.all_windows().X.pos
    series = np.searchsorted(source.offsets, pos, side="right") - 1
    ends = source.ranks[pos + 1]
    assert np.all(np.diff(ends) >= 0)  # by end time
    same = np.diff(ends) == 0
    assert np.all(np.diff(series)[same] > 0)  # ties: series order (a stable sort)
    # the last window of every series ends at the last month, so the last 3 rows are those
    assert sorted(series[-3:]) == [0, 1, 2]


def test_memory_is_the_data_plus_one_int_per_window():
    prepared, layout, kind = _prepared()
    n_points = sum(len(p.d) for p in prepared)
    # raw data: the target and the two covariates, float64
    raw = n_points * 3 * 8
    materialised = all_windows(prepared, layout, kind)
    source = WindowSource(prepared, layout, kind)
    streamed = source.all_windows()
    own = source.nbytes() + streamed.X.nbytes  # X and Y share one index
    assert streamed.X.pos is streamed.Y.pos
    assert streamed.X.nbytes == 4 * len(materialised)  # int32 positions
    # d, 1 past and 3 future float64 channels (5 x 8 bytes), 4 bytes of time rank per point
    assert source.nbytes() <= n_points * (5 * 8 + 4) + 1024
    assert own <= 2 * raw
    # the materialised windows: (window + extension) x features x 8 bytes each, 9x here
    assert materialised.X.nbytes + materialised.Y.nbytes > 8 * own
    # the prepared series are views of the concatenation: the data is held once
    assert all(np.shares_memory(p.d, source.d) for p in prepared)


def test_split_errors_are_those_of_the_materialised_split():
    y = pd.Series(np.arange(12.0) + 1)
    panel = parse_panel(y)
    transform = SeriesTransform(False, 1, False, "window")
    prepared = prepare(panel, transform, Covariates.fit(panel, None, False))
    layout = WindowLayout(window=8, out_len=3, horizon=3, extension=0, transform=transform)
    with pytest.raises(ValueError) as ref:
        split_windows(prepared, layout, "int", 0.5, early_stopping=True)
    with pytest.raises(ValueError) as lazy:
        WindowSource(prepared, layout, "int").split_windows(0.5, early_stopping=True)
    assert str(lazy.value) == str(ref.value) and "too short to hold out" in str(ref.value)
    assert WindowSource(prepared, layout, "int").split_windows(0.5, False).train is None


class _MaterialisedSource:
    """The materialised path: the functions of _windows behind WindowSource's interface."""

    def __init__(self, prepared, layout, kind):
        self.args = (prepared, layout, kind)

    def split_windows(self, validation_fraction, early_stopping):
        return split_windows(*self.args, validation_fraction, early_stopping)

    def all_windows(self):
        return all_windows(*self.args)

    def compact_future(self):  # the materialised windows keep their features per point
        return False


def _public_fit(self, X, y, X_val=None, y_val=None):
    """The estimators' public fit (and _fit_with_validation) on materialised arrays."""
    assert isinstance(X, np.ndarray) and isinstance(y, np.ndarray)
    if X_val is None:
        return self.fit(X, y)
    return self._fit_with_validation(X, y, X_val, y_val)


FAST = dict(hidden_size=4, max_iter=3, batch_size=16, random_state=0, n_iter_no_change=2)


@pytest.mark.parametrize(
    "params, with_exog",
    [
        (dict(cell="rnn", n_models=2), True),  # covariates, calendar, log, 2 members
        (dict(cell="gru", strategy="recursive", normalize="series", calendar=False), False),
        (dict(cell="rnn", normalize=None, log=False, early_stopping=False), True),
        (dict(cell="lstm", deseasonalize=True, loss="quantile", dtype="float64"), False),
        (dict(cell="rnn", validation_fraction=0.0, early_stopping=False, refit_full=False), True),
    ],
)
def test_forecasts_with_streaming_equal_the_materialised_path_bit_for_bit(
    monkeypatch, params, with_exog
):
    y, X = _panel(exog=with_exog)
    if with_exog:
        params = {**params, "past_covariates": ["temp"]}
    kwargs = {"X": X} if with_exog else {}
    future = None
    if with_exog:
        last = X.groupby("unique_id")["ds"].max()
        future = pd.DataFrame(
            [
                (uid, ds + pd.DateOffset(months=k), 1.0, 0.0)
                for uid, ds in last.items()
                for k in (1, 2, 3)
            ],
            columns=["unique_id", "ds", "promo", "temp"],
        )[["unique_id", "ds", "promo"]]
    level = [] if params.get("validation_fraction") == 0.0 else [80]

    def run():
        f = RNNForecaster(horizon=3, **FAST, **params).fit(y, **kwargs)
        return f.predict(X_future=future, level=level or None), f

    streamed, f_stream = run()
    with monkeypatch.context() as m:
        m.setattr(rnn_module, "WindowSource", _MaterialisedSource)
        m.setattr(rnn_module, "prepare_packed", lambda panel, t, c, dtype: prepare(panel, t, c))
        m.setattr(BaseRecurrent, "_fit_windows", _public_fit)
        reference, f_ref = run()
    pd.testing.assert_frame_equal(streamed, reference, check_exact=True)
    assert len(reference) == 9 and reference["yhat"].notna().all()
    if level:
        assert "yhat_lo_80" in reference
    for a, b in zip(f_stream.estimators_, f_ref.estimators_):
        np.testing.assert_array_equal(a.coefs_, b.coefs_, strict=True)
        assert a.n_features_in_ == b.n_features_in_ and a.n_outputs_ == b.n_outputs_
        assert getattr(a, "quantiles_", None) is getattr(b, "quantiles_", None) or (
            np.array_equal(a.quantiles_, b.quantiles_)
        )
    assert f_stream.loss_curve_ == f_ref.loss_curve_
    assert f_stream.validation_scores_ == f_ref.validation_scores_


def test_scale_warning_of_streamed_targets_matches_the_array_path():
    # the moments behind the estimators' target-scale warning, computed by chunks
    prepared, layout, kind = _prepared(normalize=None)
    full = all_windows(prepared, layout, kind)
    Y = WindowSource(prepared, layout, kind).all_windows().Y
    mean, std = Y.column_moments()
    np.testing.assert_allclose(mean, full.Y.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(std, full.Y.std(axis=0), rtol=1e-9)


def test_packed_preparation_holds_the_data_once_in_the_network_dtype():
    y, X = _panel()
    panel = parse_panel(y, X)
    transform = SeriesTransform(True, 12, True, "window")
    cov = Covariates.fit(panel, ["temp"], "auto")
    layout = WindowLayout(window=8, out_len=3, horizon=3, extension=3, transform=transform)
    reference = prepare(panel, transform, cov)
    packed = prepare_packed(panel, transform, cov, np.float32)
    source = WindowSource(packed, layout, panel.kind)
    assert source.d.dtype == np.float64 and source.future.dtype == np.float32
    for p, q in zip(reference, packed):
        np.testing.assert_array_equal(q.d, p.d, strict=True)
        np.testing.assert_array_equal(q.future, p.future.astype(np.float32), strict=True)
        assert q.d.base is source.d and q.future.base is source.future  # no copy was made
    full = all_windows(reference, layout, panel.kind)
    X32 = source.all_windows().X.astype(np.float32)
    np.testing.assert_array_equal(np.asarray(X32), full.X.astype(np.float32), strict=True)


def test_epoch_batches_are_the_consecutive_slices_of_the_order():
    order = np.random.default_rng(0).permutation(10)
    batches = Batches(order, 4)
    expected = [order[0:4], order[4:8], order[8:10]]
    assert len(batches) == 3
    for got in (list(batches), [batches[0], batches[1], batches[-1]], batches[0:3]):
        assert len(got) == 3
        for a, b in zip(got, expected):
            np.testing.assert_array_equal(a, b)
    assert max(len(b) for b in batches) == 4
    with pytest.raises(IndexError):
        batches[3]


@pytest.mark.parametrize("case", ["mixed", "long", "single", "empty series"])
def test_the_series_locator_finds_the_series_of_every_point(case):
    rng = np.random.default_rng(3)
    lengths = {
        "mixed": rng.integers(1, 700, 60),  # shorter and longer than a bucket (256 points)
        "long": np.array([5000, 3, 1, 2000]),
        "single": np.array([257]),
        "empty series": np.array([0, 4, 0, 0, 300, 0, 1, 600, 0]),
    }[case]
    offsets = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    locator = series_locator(offsets)
    assert locator.dtype == np.int64 and len(locator) == -(-offsets[-1] // 2**LOCATOR_SHIFT)
    owner = np.repeat(np.arange(len(lengths)), lengths)  # the series of every point
    got = np.array([_series_of(offsets, locator, p) for p in range(offsets[-1])])
    np.testing.assert_array_equal(got, owner)


@pytest.mark.parametrize(("n", "size"), [(10, 4), (12, 4), (3, 4), (4, 4), (0, 4), (1, 1)])
def test_a_run_of_full_batches_is_found_without_looking_at_each(n, size):
    order = np.random.default_rng(0).permutation(n).astype(np.int32)
    batches = Batches(order, size)
    listed = list(batches)
    largest = max(map(len, listed), default=0)
    assert batches.largest == largest
    for limit in (1, 2, 5):
        for k in range(len(listed) + 1):
            k1, rows = batches.full_run(k, limit)
            want = k
            while want < len(listed) and want - k < limit and len(listed[want]) == largest:
                want += 1
            assert k1 == want, (k, limit)
            expected = np.concatenate(listed[k:k1]) if k1 > k else order[:0]
            np.testing.assert_array_equal(rows, expected, strict=True)


def test_window_means_are_summed_as_numpy_sums_them():
    # the batch kernels sum a window as numpy's add.reduce does (pairwise, eight partial sums,
    # halves beyond 128 values), so the streamed and the materialised windows agree bit for
    # bit at any window length; values spanning 1e-3 .. 1e5 make the order of the sum matter
    rng = np.random.default_rng(1)
    for n in [*range(1, 40), 63, 64, 65, 127, 128, 129, 130, 200, 255, 256, 257, 1000, 1031]:
        for trial in range(4):
            a = rng.standard_normal(n + 9) * 10.0 ** rng.integers(-3, 6, n + 9)
            if trial == 1:
                a[rng.integers(0, n + 9, 3)] = -0.0
            if trial == 2:
                a[:] = -0.0  # numpy's sum of negative zeros is +0.0
            lo = int(rng.integers(0, 10))
            want = np.add.reduce(a[lo : lo + n])
            got = pairwise_sum(a, lo, n)
            assert np.float64(got).tobytes() == want.tobytes(), (n, trial)


@pytest.mark.parametrize("window", [5, 130])
def test_long_windows_stream_bit_for_bit(window):
    # a window beyond numpy's 128-value block, normalised by its mean
    rng = np.random.default_rng(2)
    frames = [
        pd.DataFrame(
            {
                "unique_id": f"s{i}",
                "ds": pd.date_range("2000-01-03", periods=n, freq="D"),
                "y": 1e4 + rng.standard_normal(n).cumsum() * 10.0 ** rng.integers(-2, 3, n),
            }
        )
        for i, n in enumerate((window + 20, window + 31))
    ]
    panel = parse_panel(pd.concat(frames, ignore_index=True), None)
    transform = SeriesTransform(False, 7, False, "window")
    layout = WindowLayout(window=window, out_len=4, horizon=4, extension=0, transform=transform)
    prepared = prepare(panel, transform, Covariates.fit(panel, [], "auto"))
    full = all_windows(prepared, layout, panel.kind)
    streamed = WindowSource(prepared, layout, panel.kind).all_windows()
    assert len(full) == 2 * 20 + 11 - 6  # (n - window - out_len + 1) per series
    np.testing.assert_array_equal(np.asarray(streamed.X), full.X, strict=True)
    np.testing.assert_array_equal(np.asarray(streamed.Y), full.Y, strict=True)
