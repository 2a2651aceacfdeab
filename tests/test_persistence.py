"""tsrnn.save / tsrnn.load: round trips, the file format, and the files load must refuse."""

import datetime
import hashlib
import io
import json
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted

import tsrnn
from tsrnn._network import NetworkSpec
from tsrnn.estimators import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)
from tsrnn.forecasting import RNNForecaster, SeasonalNaiveForecaster
from tsrnn.persistence import FORMAT_VERSION, load, save

DATA = Path(__file__).parent / "data"
TINY = dict(hidden_size=3, max_iter=2, random_state=0)
FAST = dict(hidden_size=3, max_iter=3, n_iter_no_change=3, random_state=0)


@pytest.fixture(autouse=True)
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning of the 2-epoch fits
        yield


def _xy(n=16, t=5, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, t, d))
    return X, X[:, -1, :].sum(axis=1) + 0.1 * rng.normal(size=n)


# --------------------------------------------------------------------------------------------
# an independent implementation of the documented checksum, to craft files
# --------------------------------------------------------------------------------------------


def _entries(path):
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _checksum(meta, entries):
    h = hashlib.sha256()
    for name in sorted(entries):
        data = entries[name]
        h.update(name.encode() + b"\0" + len(data).to_bytes(8, "little") + data)
    rest = {k: v for k, v in meta.items() if k != "checksum"}
    h.update(b"meta.json\0" + json.dumps(rest, sort_keys=True, separators=(",", ":")).encode())
    return h.hexdigest()


def _rewrite(src, dst, replace=(), drop=(), meta_update=None, fix_checksum=True):
    """Copy a model file with entries replaced/dropped, the checksum recomputed."""
    entries = _entries(src)
    meta = json.loads(entries.pop("meta.json"))
    entries.update(dict(replace))
    for name in drop:
        del entries[name]
    meta.update(meta_update or {})
    meta["entries"] = sorted(entries)
    if fix_checksum:
        meta["checksum"] = {"algorithm": "sha256", "value": _checksum(meta, entries)}
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("meta.json", json.dumps(meta))
        for name, data in entries.items():
            zf.writestr(name, data)
    return dst


# --------------------------------------------------------------------------------------------
# estimators
# --------------------------------------------------------------------------------------------

REGRESSORS = [RNNRegressor, LSTMRegressor, GRURegressor]
CLASSIFIERS = [RNNClassifier, LSTMClassifier, GRUClassifier]


@pytest.mark.parametrize("cls", REGRESSORS)
def test_regressor_round_trip_is_bit_identical(cls, tmp_path):
    X, y = _xy()
    model = cls(num_layers=2, bidirectional=True, **TINY).fit(X, np.c_[y, -y])
    path = save(model, tmp_path / "m.tsrnn")
    loaded = load(path)
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.coefs_, model.coefs_)
    assert loaded.coefs_.dtype == np.float32 and loaded.coefs_.flags.writeable
    assert loaded.network_ == model.network_ and isinstance(loaded.network_, NetworkSpec)
    assert loaded.loss_curve_ == model.loss_curve_
    a, b = model.predict(X), loaded.predict(X)
    assert a.shape == (len(X), 2)
    assert np.array_equal(a, b) and a.tobytes() == b.tobytes()
    # the optimiser state came along: one more epoch gives the same weights on both
    model.partial_fit(X, np.c_[y, -y])
    loaded.partial_fit(X, np.c_[y, -y])
    np.testing.assert_array_equal(loaded.coefs_, model.coefs_)
    assert loaded.t_ == model.t_


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_classifier_round_trip_keeps_labels_and_probabilities(cls, tmp_path):
    X, y = _xy(n=18)
    labels = np.array(["low", "mid", "high"])[np.digitize(y, [-0.5, 0.5])]
    frame = pd.DataFrame(X[:, :, 0], columns=[f"t{i}" for i in range(X.shape[1])])
    model = cls(**TINY).fit(frame, labels)
    loaded = load(save(model, tmp_path / "c.tsrnn"))
    assert list(loaded.classes_) == ["high", "low", "mid"]
    assert loaded.classes_.dtype == model.classes_.dtype
    assert list(loaded.feature_names_in_) == list(frame.columns)
    np.testing.assert_array_equal(loaded._label_encoder.classes_, model.classes_)
    pa, pb = model.predict_proba(frame), loaded.predict_proba(frame)
    assert pa.tobytes() == pb.tobytes()
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))
    with pytest.raises(ValueError, match="feature names"):
        loaded.predict(frame.rename(columns={"t0": "zz"}))


def test_integer_labels_and_float64(tmp_path):
    X, y = _xy()
    model = LSTMClassifier(dtype="float64", **TINY).fit(X, (y > 0).astype(np.int64) * 7)
    loaded = load(save(model, tmp_path / "c.tsrnn"))
    assert loaded.classes_.dtype == np.int64 and list(loaded.classes_) == [0, 7]
    assert loaded.coefs_.dtype == np.float64
    assert loaded.predict_proba(X).tobytes() == model.predict_proba(X).tobytes()


def test_unfitted_model_saves_its_parameters_and_loads_unfitted(tmp_path):
    model = GRURegressor(hidden_size=7, solver="sgd", clip_grad_norm=0.5, random_state=3)
    loaded = load(save(model, tmp_path / "u.tsrnn"))
    assert loaded.get_params() == model.get_params()
    with pytest.raises(NotFittedError):
        check_is_fitted(loaded)


def test_random_state_instance_param(tmp_path):
    model = LSTMRegressor(random_state=np.random.RandomState(5))
    model.random_state.rand(3)  # advance it
    loaded = load(save(model, tmp_path / "r.tsrnn"))
    assert isinstance(loaded.random_state, np.random.RandomState)
    assert loaded.random_state.rand() == model.random_state.rand()


# --------------------------------------------------------------------------------------------
# forecasters
# --------------------------------------------------------------------------------------------


def _with_covariates(n=60, seed=0):
    rng = np.random.default_rng(seed)
    index = pd.date_range("2022-01-03", periods=n, freq="D")
    promo = (rng.random(n) < 0.3).astype(float)
    temp = rng.normal(size=n)
    y = pd.Series(20 + 8 * promo + rng.normal(0, 0.3, n), index=index, name="units")
    return y, pd.DataFrame({"promo": promo, "temp": temp}, index=index)


def test_forecaster_with_ensemble_and_covariates_round_trips(tmp_path):
    y, X = _with_covariates()
    model = RNNForecaster(horizon=3, n_models=2, past_covariates=["temp"], **FAST)
    model.fit(y.iloc[:-10], X.iloc[:-10])
    loaded = load(save(model, tmp_path / "f.tsrnn"))
    assert type(loaded) is RNNForecaster and len(loaded.estimators_) == 2
    assert loaded.past_covariates_ == ["temp"] and loaded.future_covariates_ == ["promo"]
    future = pd.date_range(y.index[-11], periods=4, freq="D")[1:]
    X_future = pd.DataFrame({"promo": [1.0, 0.0, 1.0]}, index=future)
    pd.testing.assert_series_equal(
        loaded.predict(X_future=X_future), model.predict(X_future=X_future), check_exact=True
    )
    pd.testing.assert_frame_equal(
        loaded.predict(X_future=X_future, level=[80, 95]),
        model.predict(X_future=X_future, level=[80, 95]),
        check_exact=True,
    )
    assert loaded.cutoff_ == model.cutoff_ and loaded.freq_ == model.freq_
    # update after load: forecasts from a later origin agree too
    later = pd.date_range(y.index[-1], periods=4, freq="D")[1:]
    X_later = pd.DataFrame({"promo": 0.0}, index=later)
    a = model.update(y, X).predict(X_future=X_later)
    b = loaded.update(y, X).predict(X_future=X_later)
    pd.testing.assert_series_equal(a, b, check_exact=True)


def test_long_panel_forecaster_round_trips(tmp_path):
    rng = np.random.default_rng(1)
    ds = pd.period_range("2001-01", periods=36, freq="M")
    df = pd.concat(
        [
            pd.DataFrame({"unique_id": uid, "ds": ds, "y": 10 + k + rng.normal(0, 1, 36).cumsum()})
            for k, uid in enumerate([101, 202])
        ],
        ignore_index=True,
    )
    df["y"] = df["y"].abs() + 1
    model = RNNForecaster(horizon=2, deseasonalize="auto", **FAST).fit(df)
    loaded = load(save(model, tmp_path / "p.tsrnn"))
    pd.testing.assert_frame_equal(
        loaded.predict(level=80), model.predict(level=80), check_exact=True
    )
    pd.testing.assert_series_equal(loaded.cutoff_, model.cutoff_)
    pd.testing.assert_series_equal(loaded.seasonal_, model.seasonal_)
    pd.testing.assert_frame_equal(loaded.predict(5), model.predict(5), check_exact=True)


def _public_forecasters():
    import tsrnn.forecasting as forecasting

    classes = [getattr(forecasting, name) for name in forecasting.__all__]
    return [
        c
        for c in classes
        if isinstance(c, type)
        and issubclass(c, BaseEstimator)
        and not c.__name__.startswith("Base")
    ]


@pytest.mark.parametrize("cls", _public_forecasters(), ids=lambda c: c.__name__)
def test_every_public_forecaster_round_trips(cls, tmp_path):
    rng = np.random.default_rng(2)
    y = pd.Series(
        50 + np.arange(40) + 5 * np.sin(np.arange(40) / 2) + rng.normal(size=40),
        index=pd.period_range("2010-01", periods=40, freq="M"),
        name="y",
    )
    kwargs = FAST if cls is RNNForecaster else {}
    if cls.__name__ == "AutoRNNForecaster":
        kwargs = {"candidates": [{"hidden_size": 2, "max_iter": 2}], "random_state": 0}
    model = cls(**kwargs).fit(y.iloc[:34])
    loaded = load(save(model, tmp_path / "f.tsrnn"))
    assert type(loaded) is cls
    pd.testing.assert_series_equal(loaded.predict(7), model.predict(7), check_exact=True)
    try:
        expected = model.predict(level=[80])
    except ValueError:  # no intervals
        expected = None
    if expected is not None:
        pd.testing.assert_frame_equal(loaded.predict(level=[80]), expected, check_exact=True)
    model.update(y)
    loaded.update(y)
    pd.testing.assert_series_equal(loaded.predict(3), model.predict(3), check_exact=True)


def test_seasonal_naive_round_trips(tmp_path):
    y = pd.Series(np.arange(30.0) % 7, index=pd.date_range("2020-03-01", periods=30, freq="D"))
    model = SeasonalNaiveForecaster(horizon=4).fit(y)
    loaded = load(save(model, tmp_path / "s.tsrnn"))
    pd.testing.assert_series_equal(loaded.predict(9), model.predict(9), check_exact=True)
    assert loaded.season_length_ == 7


# --------------------------------------------------------------------------------------------
# value types (through a forecaster's state, which is generic)
# --------------------------------------------------------------------------------------------


def _assert_same(a, b, path="x"):
    assert type(a) is type(b), (path, type(a), type(b))
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, path
        assert a.flags.f_contiguous == b.flags.f_contiguous, path
        if a.dtype == object:
            for i, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
                _assert_same(x, y, f"{path}[{i}]")
        else:
            np.testing.assert_array_equal(a, b)
    elif isinstance(a, pd.Index):
        pd.testing.assert_index_equal(a, b, exact=True)
        assert getattr(a, "freq", None) == getattr(b, "freq", None), path
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b, check_exact=True)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, dict):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b], path
        for k in a:
            _assert_same(a[k], b[k], f"{path}[{k!r}]")
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), path
    elif isinstance(a, np.random.Generator):
        _assert_same(a.bit_generator.state, b.bit_generator.state, path)
        assert a.random() == b.random()
    elif isinstance(a, LabelEncoder):
        assert hasattr(a, "classes_") == hasattr(b, "classes_"), path
        if hasattr(a, "classes_"):
            _assert_same(a.classes_, b.classes_, path)
    elif a is pd.NaT:
        assert b is pd.NaT
    else:
        assert a == b, (path, a, b)
        if isinstance(a, (pd.Timestamp, pd.Timedelta)):
            assert a.unit == b.unit and str(getattr(a, "tz", None)) == str(getattr(b, "tz", None))
        if isinstance(a, np.generic):
            assert a.dtype == b.dtype, path


def _values():
    fortran = np.asfortranarray(np.arange(12, dtype=np.int16).reshape(3, 4))
    objects = np.empty(4, dtype=object)
    objects[:] = ["a", 1, None, 2.5]
    return {
        "floats": [0.1, -0.0, 1e308, float("inf"), float("-inf"), float("nan"), 2**70],
        "tuple": (1, ("nested", None), [True, False]),
        "int_keys": {3: "three", -1: (1,), "s": 2, (1, 2): "tuple key", np.int64(5): 1.5},
        "tag_key": {"__tsrnn__": "not a tag"},
        "sets": [{1, 2}, frozenset({"a"})],
        "np_scalars": [
            np.float32(1.1),
            np.float64("nan"),
            np.int8(-3),
            np.uint64(2**63),
            np.bool_(True),
            np.datetime64("2020-01-02T03:04", "m"),
            np.timedelta64(5, "s"),
            np.str_("café"),
        ],
        "dtypes": [np.dtype("float32"), np.dtype("<U3"), np.dtype(object), np.float32, np.int64],
        "arrays": [
            np.arange(5.0),
            fortran,
            np.array(3.5),
            np.zeros((0, 3)),
            np.array(["x", "yz"]),
            np.array([True, False]),
            np.array(["2020-01-01", "NaT"], dtype="M8[ns]"),
            objects,
            np.array([[1 + 2j]]),
        ],
        "pandas": [
            pd.Index(["a", "b"], name="k"),
            pd.Index([1.5, 2.5], dtype="float32"),
            pd.Index([3, 1], dtype="int8"),
            pd.Index(["x", 1], dtype=object),
            pd.RangeIndex(2, 11, 3, name="r"),
            pd.date_range("2021-03-27", periods=4, freq="D", tz="Europe/Berlin", name="ds"),
            pd.date_range("2021-01-01", periods=3, freq="h", unit="s"),
            pd.DatetimeIndex(["2021-01-05", "2021-01-01"]),
            pd.period_range("2020Q1", periods=3, freq="Q-DEC"),
            pd.period_range("2020-01", periods=2, freq="M"),
            pd.timedelta_range("1D", periods=3, freq="6h"),
            pd.Timestamp("2020-01-01 12:00:00.123456789"),
            pd.Timestamp("2020-06-01", tz="UTC"),
            pd.Timestamp("2020-06-01 08:00", tz="America/New_York"),
            pd.Period("2020-05", "M"),
            pd.Period("2020-05-03", "D"),
            pd.Timedelta("1D 2h"),
            pd.offsets.MonthEnd(),
            pd.offsets.Week(weekday=6),
            pd.offsets.Hour(3),
            pd.offsets.BusinessDay(),
            pd.DateOffset(months=2, days=1),
            pd.offsets.QuarterEnd(startingMonth=3),
            pd.offsets.FY5253(weekday=1, startingMonth=2),
            pd.NaT,
            pd.Series([1.0, np.nan], index=pd.Index(["a", "b"], name="uid"), name="s"),
            pd.Series(pd.period_range("2020-01", periods=2, freq="M"), name="cutoff"),
            pd.Series(pd.date_range("2020", periods=2, tz="UTC")),
            pd.Series(["u", "v"]),
            pd.Series([True, False]),
            pd.DataFrame(
                {"a": [1, 2], "b": ["x", "y"], "c": [0.5, np.nan]}, index=pd.RangeIndex(2, name="i")
            ),
            pd.DataFrame(index=pd.Index([1, 2])),
        ],
        "random": [np.random.default_rng(7), np.random.Generator(np.random.Philox(3))],
        "sklearn": [LabelEncoder().fit(["b", "a"]), LabelEncoder()],
        "spec": NetworkSpec("gru", 2, 3, 2, True, 4),
        "model_class": LSTMRegressor,
    }


def test_supported_values_round_trip(tmp_path):
    model = SeasonalNaiveForecaster()
    values = _values()
    model.extra_ = values
    model.same_ = values["arrays"][0]  # one array twice: stored once, identity kept
    loaded = load(save(model, tmp_path / "v.tsrnn"))
    assert set(loaded.extra_) == set(values)
    for key in values:
        _assert_same(values[key], loaded.extra_[key], key)
    assert loaded.same_ is loaded.extra_["arrays"][0]
    state = json.loads(_entries(tmp_path / "v.tsrnn")["state.json"])["state"]
    assert (
        state["same_"]
        == state["extra_"]["arrays"][0]
        == {"__tsrnn__": "ndarray", "entry": state["same_"]["entry"]}
    )


def test_offsets_are_stored_by_class_not_by_version_dependent_strings(tmp_path):
    # 'ME' (pandas >= 2.2) is 'M' before: the class name and keywords read back everywhere
    model = SeasonalNaiveForecaster()
    model.offset_ = pd.offsets.MonthEnd(2)
    model.index_ = pd.date_range("2020-01-31", periods=3, freq="ME")
    loaded = load(save(model, tmp_path / "o.tsrnn"))
    state = json.loads(_entries(tmp_path / "o.tsrnn")["state.json"])["state"]
    assert {k: state["offset_"][k] for k in ("name", "n", "normalize", "kwds")} == {
        "name": "MonthEnd",
        "n": 2,
        "normalize": False,
        "kwds": {},
    }
    assert state["index_"]["freq"]["name"] == "MonthEnd"
    assert loaded.offset_ == pd.offsets.MonthEnd(2) and loaded.index_.freq == model.index_.freq
    pd.testing.assert_index_equal(loaded.index_, model.index_)


def test_string_values_come_back_in_this_pandas_default_string_dtype(tmp_path):
    # files must not depend on the writer's pandas string dtype (pandas 2 object, 3 str)
    model = SeasonalNaiveForecaster()
    model.index_ = pd.Index(["a", "b"])
    model.series_ = pd.Series(["a", "b"])
    loaded = load(save(model, tmp_path / "s.tsrnn"))
    state = json.loads(_entries(tmp_path / "s.tsrnn")["state.json"])["state"]
    assert state["index_"]["values"] == {"__tsrnn__": "strings", "items": ["a", "b"]}
    assert loaded.index_.dtype == pd.Index(["a"]).dtype
    assert loaded.series_.dtype == pd.Series(["a"]).dtype


@pytest.mark.parametrize(
    "value, where",
    [
        (lambda x: x, "SeasonalNaiveForecaster.bad_"),
        ({"k": [1, object()]}, r"SeasonalNaiveForecaster.bad_\['k'\]\[1\]"),
        (np.array([1, print], dtype=object), r"SeasonalNaiveForecaster.bad_\[1\]"),
        (np.array([[1 + 2j]]), None),  # complex arrays are plain .npy: supported
        (1 + 2j, "SeasonalNaiveForecaster.bad_"),
        (b"bytes", "SeasonalNaiveForecaster.bad_"),
        (pd.Series([1, 2], dtype="category"), "SeasonalNaiveForecaster.bad_"),
        (pd.offsets.CustomBusinessDay(holidays=["2020-01-01"]), "SeasonalNaiveForecaster.bad_"),
        (LinearRegression(), "SeasonalNaiveForecaster.bad_"),
    ],
)
def test_unsupported_values_are_refused_naming_the_attribute(value, where, tmp_path):
    model = SeasonalNaiveForecaster()
    model.bad_ = value
    path = tmp_path / "x.tsrnn"
    if where is None:
        _assert_same(load(save(model, path)).bad_, value)
        return
    with pytest.raises(TypeError, match=where):
        save(model, path)
    assert list(tmp_path.iterdir()) == []  # nothing written, no temp file left


@dataclass
class _ForeignDataclass:
    a: int = 1


class _MyLSTM(LSTMRegressor):
    pass


def test_only_tsrnn_models_and_dataclasses_are_saved(tmp_path):
    with pytest.raises(TypeError, match="tsrnn's estimators and forecasters"):
        save(LinearRegression(), tmp_path / "x")
    with pytest.raises(TypeError, match="tsrnn's estimators and forecasters"):
        save(_MyLSTM(), tmp_path / "x")
    model = SeasonalNaiveForecaster()
    model.bad_ = _ForeignDataclass()
    with pytest.raises(TypeError, match="bad_.*only dataclasses of the tsrnn package"):
        save(model, tmp_path / "x")


# --------------------------------------------------------------------------------------------
# the file
# --------------------------------------------------------------------------------------------


def test_file_layout_and_metadata(tmp_path):
    X, y = _xy()
    model = LSTMRegressor(**TINY).fit(X, y)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    path = save(model, str(tmp_path / "m.tsrnn"))
    assert isinstance(path, Path) and path == tmp_path / "m.tsrnn"
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        infos = {i.filename: i for i in zf.infolist()}
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos.values())
    entries = _entries(path)
    meta = json.loads(entries.pop("meta.json"))
    assert meta["format"] == "tsrnn-model" and meta["format_version"] == FORMAT_VERSION == 1
    assert meta["tsrnn_version"] == tsrnn.__version__
    assert meta["class"] == "tsrnn.estimators.LSTMRegressor"
    created = datetime.datetime.fromisoformat(meta["created"])
    assert before <= created <= datetime.datetime.now(datetime.timezone.utc)
    assert meta["entries"] == sorted(entries)
    assert meta["checksum"] == {"algorithm": "sha256", "value": _checksum(meta, entries)}
    arrays = sorted(n for n in entries if n.startswith("arrays/"))
    assert arrays and set(entries) == {"state.json", *arrays}
    for name in arrays:  # plain .npy, readable without pickle
        np.load(io.BytesIO(entries[name]), allow_pickle=False)
    state = json.loads(entries["state.json"], parse_constant=lambda c: pytest.fail(c))
    assert state["__tsrnn__"] == "model" and state["class"] == meta["class"]
    assert state["params"]["hidden_size"] == 3 and state["params"]["random_state"] == 0
    coefs = state["state"]["coefs_"]
    assert coefs["__tsrnn__"] == "ndarray"
    stored = np.load(io.BytesIO(entries[coefs["entry"]]), allow_pickle=False)
    np.testing.assert_array_equal(stored, model.coefs_)
    assert state["state"]["network_"] == {
        "__tsrnn__": "dataclass",
        "class": "tsrnn._network:NetworkSpec",
        "fields": {
            "cell": "lstm",
            "n_features": 2,
            "hidden_size": 3,
            "num_layers": 1,
            "bidirectional": False,
            "n_outputs": 1,
        },
    }


def test_save_errors_and_atomic_replace(tmp_path):
    X, y = _xy()
    model = LSTMRegressor(**TINY).fit(X, y)
    with pytest.raises(FileNotFoundError, match="folder .*nope.* does not exist"):
        save(model, tmp_path / "nope" / "m.tsrnn")
    assert not (tmp_path / "nope").exists()
    with pytest.raises(IsADirectoryError):
        save(model, tmp_path)
    path = save(model, tmp_path / "m.tsrnn")
    good = path.read_bytes()
    model.bad_ = object()
    with pytest.raises(TypeError, match="bad_"):
        save(model, path)
    assert path.read_bytes() == good  # the old file is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.tsrnn"]  # no temp file


def test_a_failure_while_writing_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = save(LSTMRegressor(hidden_size=5), tmp_path / "m.tsrnn")
    good = path.read_bytes()
    calls = []
    real = zipfile.ZipFile.writestr

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)
    with pytest.raises(OSError, match="disk full"):
        save(LSTMRegressor(hidden_size=6), path)
    monkeypatch.undo()
    assert len(calls) == 2
    assert path.read_bytes() == good and load(path).hidden_size == 5
    assert [p.name for p in tmp_path.iterdir()] == ["m.tsrnn"]


def test_load_rejects_non_tsrnn_and_truncated_files(tmp_path):
    X, y = _xy()
    path = save(LSTMRegressor(**TINY).fit(X, y), tmp_path / "m.tsrnn")
    data = path.read_bytes()
    text = tmp_path / "text.tsrnn"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"cannot load .*text\.tsrnn: not a tsrnn model file"):
        load(text)
    for cut in (10, len(data) // 2, len(data) - 30):
        short = tmp_path / f"short{cut}.tsrnn"
        short.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=rf"short{cut}\.tsrnn"):
            load(short)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "hi")
    with pytest.raises(ValueError, match="not a tsrnn model file .no meta.json"):
        load(other)
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("meta.json", json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match="not a tsrnn model file"):
        load(other)
    entries = _entries(path)
    del entries["arrays/0.npy"]  # meta.json still lists it
    missing = tmp_path / "missing.tsrnn"
    with zipfile.ZipFile(missing, "w") as zf:
        for name, value in entries.items():
            zf.writestr(name, value)
    with pytest.raises(ValueError, match=r"missing \['arrays/0.npy'\]"):
        load(missing)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "absent.tsrnn")


def test_checksum_mismatch_for_any_modified_entry(tmp_path):
    X, y = _xy()
    path = save(LSTMRegressor(**TINY).fit(X, y), tmp_path / "m.tsrnn")
    entries = _entries(path)
    state = entries["state.json"]
    tampered = {
        "state.json": state.replace(b'"hidden_size":3', b'"hidden_size":4'),
        "arrays/0.npy": entries["arrays/0.npy"][:-1] + bytes([entries["arrays/0.npy"][-1] ^ 1]),
    }
    for name, data in tampered.items():
        assert data != entries[name]
        bad = _rewrite(path, tmp_path / "bad.tsrnn", replace={name: data}, fix_checksum=False)
        with pytest.raises(
            ValueError,
            match=r"bad\.tsrnn: checksum mismatch: the file was "
            r"modified or corrupted",
        ):
            load(bad)
    bad = _rewrite(
        path, tmp_path / "meta.tsrnn", fix_checksum=False, meta_update={"tsrnn_version": "0.0.1"}
    )
    with pytest.raises(ValueError, match="checksum mismatch"):
        load(bad)


def test_every_flipped_byte_is_detected_or_harmless(tmp_path):
    X, y = _xy(n=4, t=2, d=1)
    model = RNNRegressor(hidden_size=1, max_iter=1, random_state=0).fit(X, y)
    path = save(model, tmp_path / "m.tsrnn")
    data = path.read_bytes()
    reference = _entries(path)
    reference.pop("meta.json")
    flipped, detected = tmp_path / "f.tsrnn", 0
    for i in range(len(data)):
        flipped.write_bytes(data[:i] + bytes([data[i] ^ 0x10]) + data[i + 1 :])
        try:
            loaded = load(flipped)
        except ValueError as exc:
            assert "f.tsrnn" in str(exc)
            detected += 1
            continue
        # not detected: only bytes the model does not depend on (zip timestamps, attributes)
        again = _entries(save(loaded, tmp_path / "again.tsrnn"))
        again.pop("meta.json")
        assert again == reference, i
    assert detected > 0.6 * len(data), (detected, len(data))  # ~84% for this file


def test_newer_format_version_asks_to_upgrade(tmp_path):
    path = save(LSTMRegressor(), tmp_path / "m.tsrnn")
    newer = _rewrite(
        path, tmp_path / "n.tsrnn", meta_update={"format_version": 2, "tsrnn_version": "9.9"}
    )
    with pytest.raises(
        ValueError,
        match=r"n\.tsrnn: written by a newer tsrnn \(format 2, "
        r"tsrnn 9\.9\); upgrade tsrnn",
    ):
        load(newer)
    for bad_version in ("1", 0, None, 1.0):
        bad = _rewrite(path, tmp_path / "b.tsrnn", meta_update={"format_version": bad_version})
        with pytest.raises(ValueError, match="format_version"):
            load(bad)


def test_only_allow_listed_classes_are_built(tmp_path):
    path = save(LSTMRegressor(), tmp_path / "m.tsrnn")
    state = json.loads(_entries(path)["state.json"])
    for name in (
        "sklearn.linear_model.LinearRegression",
        "os.system",
        "tsrnn.estimators.BaseRecurrent",
        "tsrnn.persistence._Encoder",
    ):
        bad = _rewrite(
            path,
            tmp_path / "c.tsrnn",
            meta_update={"class": name},
            replace={"state.json": json.dumps({**state, "class": name}).encode()},
        )
        with pytest.raises(ValueError, match="is not a tsrnn estimator or forecaster"):
            load(bad)
    for name in (
        "os:system",
        "subprocess:Popen",
        "tsrnn.persistence:_Encoder",
        "tsrnn._network:nonexistent",
        "tsrnn.x;y:Z",
    ):
        node = {"__tsrnn__": "dataclass", "class": name, "fields": {}}
        doc = {**state, "state": {"spec_": node}}
        bad = _rewrite(path, tmp_path / "d.tsrnn", replace={"state.json": json.dumps(doc).encode()})
        with pytest.raises(ValueError, match=r"cannot rebuild the model .*(dataclass)"):
            load(bad)
    doc = {**state, "state": {"x_": {"__tsrnn__": "eval", "code": "1+1"}}}
    bad = _rewrite(path, tmp_path / "t.tsrnn", replace={"state.json": json.dumps(doc).encode()})
    with pytest.raises(ValueError, match="unknown type tag 'eval'"):
        load(bad)


@pytest.mark.parametrize(
    "node",
    [
        {"__tsrnn__": "npscalar", "dtype": "<i8", "value": 2**200},
        {"__tsrnn__": "npscalar", "dtype": "|O", "value": 1},
        {"__tsrnn__": "tuple", "items": 5},
        {"__tsrnn__": "ndarray", "entry": "../../etc/passwd"},
        {"__tsrnn__": "ndarray", "entry": "arrays/99.npy"},
        {"__tsrnn__": "Generator", "bit_generator": "os", "state": {}},
        {"__tsrnn__": "DateOffset", "name": "to_offset", "n": 1, "normalize": False, "kwds": {}},
        {"__tsrnn__": "DateOffset", "name": "__class__", "n": 1, "normalize": False, "kwds": {}},
        {"__tsrnn__": "class", "name": "builtins.eval"},
        {"__tsrnn__": "model", "class": "os.system", "params": {}, "state": {}},
        {"__tsrnn__": "Index", "values": {"__tsrnn__": "nope"}, "name": None},
        [1, {"__tsrnn__": 3}],
    ],
)
def test_crafted_state_with_a_valid_checksum_is_refused(node, tmp_path):
    path = save(SeasonalNaiveForecaster(), tmp_path / "m.tsrnn")
    state = json.loads(_entries(path)["state.json"])
    doc = {**state, "state": {"x_": node}}
    bad = _rewrite(path, tmp_path / "c.tsrnn", replace={"state.json": json.dumps(doc).encode()})
    with pytest.raises(ValueError, match=r"c\.tsrnn: cannot rebuild the model"):
        load(bad)
    doc = {**state, "state": {"__class__": 1}}
    bad = _rewrite(path, tmp_path / "d.tsrnn", replace={"state.json": json.dumps(doc).encode()})
    with pytest.raises(ValueError, match="bad attribute name '__class__'"):
        load(bad)
    bad = _rewrite(path, tmp_path / "e.tsrnn")
    entries = _entries(bad)
    meta = json.loads(entries["meta.json"])
    meta["entries"] = [{"a": 1}]
    with zipfile.ZipFile(bad, "w") as zf:
        for name, data in {**entries, "meta.json": json.dumps(meta).encode()}.items():
            zf.writestr(name, data)
    with pytest.raises(ValueError, match="entries do not match"):
        load(bad)


class ToyForecaster(SeasonalNaiveForecaster):
    """Stands for a forecaster class added to tsrnn.forecasting later."""


def test_a_new_public_forecaster_class_needs_no_new_code(tmp_path, monkeypatch):
    import tsrnn.forecasting as forecasting

    y = pd.Series(np.arange(20.0) % 4, index=pd.period_range("2020Q1", periods=20, freq="Q"))
    model = ToyForecaster(horizon=2).fit(y)
    with pytest.raises(TypeError, match="tsrnn's estimators and forecasters"):
        save(model, tmp_path / "t.tsrnn")  # not public yet
    monkeypatch.setattr(forecasting, "ToyForecaster", ToyForecaster, raising=False)
    monkeypatch.setattr(forecasting, "__all__", [*forecasting.__all__, "ToyForecaster"])
    loaded = load(save(model, tmp_path / "t.tsrnn"))
    assert type(loaded) is ToyForecaster
    pd.testing.assert_series_equal(loaded.predict(), model.predict(), check_exact=True)
    assert json.loads(_entries(tmp_path / "t.tsrnn")["meta.json"])["class"] == (
        "tsrnn.forecasting.ToyForecaster"
    )


# --------------------------------------------------------------------------------------------
# pickle payloads never run
# --------------------------------------------------------------------------------------------


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


def test_pickle_payloads_are_refused_and_never_run(tmp_path):
    proof = tmp_path / "proof"
    pickle.loads(pickle.dumps(_Evil(proof)))
    assert proof.exists()  # the payload does run when unpickled

    marker = tmp_path / "marker"
    payload = pickle.dumps(_Evil(marker))
    buffer = io.BytesIO()
    np.save(buffer, np.array([_Evil(marker)], dtype=object), allow_pickle=True)
    object_npy = buffer.getvalue()

    X, y = _xy()
    path = save(LSTMRegressor(**TINY).fit(X, y), tmp_path / "m.tsrnn")
    whole = tmp_path / "whole.tsrnn"
    whole.write_bytes(payload)
    crafted = {
        "whole file": whole,
        "pickle as array entry": _rewrite(
            path, tmp_path / "a.tsrnn", replace={"arrays/0.npy": payload}
        ),
        "object .npy": _rewrite(path, tmp_path / "o.tsrnn", replace={"arrays/0.npy": object_npy}),
        "pickle as state.json": _rewrite(
            path, tmp_path / "s.tsrnn", replace={"state.json": payload}
        ),
    }
    meta_pickle = tmp_path / "meta.tsrnn"
    with zipfile.ZipFile(meta_pickle, "w") as zf:
        zf.writestr("meta.json", payload)
    crafted["pickle as meta.json"] = meta_pickle
    messages = {}
    for what, file in crafted.items():
        with pytest.raises(ValueError) as info:
            load(file)
        messages[what] = str(info.value)
        assert file.name in messages[what], what
        assert not marker.exists(), what
    assert "pickle payload" in messages["object .npy"]
    assert "not a numpy .npy array" in messages["pickle as array entry"]
    assert "state.json is not valid JSON" in messages["pickle as state.json"]
    assert "not a tsrnn model file" in messages["whole file"]
    assert not marker.exists()


# --------------------------------------------------------------------------------------------
# files written by earlier releases keep loading
# --------------------------------------------------------------------------------------------

COMMITTED = {
    "lstm_regressor": LSTMRegressor,
    "gru_classifier": GRUClassifier,
    "rnn_forecaster": RNNForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
}


@pytest.mark.parametrize("name", COMMITTED)
def test_committed_model_files_load_and_predict_as_recorded(name):
    model = load(DATA / f"{name}.tsrnn")
    expected = json.loads((DATA / f"{name}.json").read_text())
    meta = json.loads(_entries(DATA / f"{name}.tsrnn")["meta.json"])
    assert meta["format_version"] <= FORMAT_VERSION
    assert type(model) is COMMITTED[name] and meta["class"] == expected["class"]
    # bit-identical on the machine that wrote them; other CPUs may round float32 differently
    close = dict(rtol=1e-5, atol=1e-6)
    if "X" in expected:
        X = np.asarray(expected["X"])
        if name.endswith("classifier"):
            np.testing.assert_allclose(model.predict_proba(X), expected["predict_proba"], **close)
            assert model.predict(X).tolist() == expected["predict"]
        else:
            np.testing.assert_allclose(model.predict(X), expected["predict"], **close)
        return
    point = model.predict()
    assert [str(t) for t in point.index] == expected["index"]
    np.testing.assert_allclose(point.to_numpy(), expected["predict"], **close)
    if "predict_level" in expected:
        frame = model.predict(level=[80])
        for column, values in expected["predict_level"].items():
            np.testing.assert_allclose(frame[column].to_numpy(), values, **close)
    if "update_predict" in expected:
        from tsrnn.datasets import load_air_passengers

        y = load_air_passengers().iloc[: expected["update_n"]]
        after = model.update(y).predict()
        np.testing.assert_allclose(after.to_numpy(), expected["update_predict"], **close)
