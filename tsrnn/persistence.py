r"""Safe, versioned model files: :func:`save` and :func:`load`.

``save(model, path)`` writes any tsrnn estimator (the six regressors and classifiers of
:mod:`tsrnn.estimators`) or forecaster (:mod:`tsrnn.forecasting`) to one file; ``load(path)``
rebuilds it, and its predictions are bit-identical to the saved model's.  Unlike pickle,
loading never executes code from the file, detects any modification, and tells which tsrnn
wrote the file.

The file format (``format_version`` 1)
--------------------------------------
A zip archive (deflate-compressed) with these entries:

``meta.json``
    ``{"format": "tsrnn-model", "format_version": 1, "tsrnn_version": ..., "class": ...,
    "created": ..., "entries": [...], "checksum": {"algorithm": "sha256", "value": ...}}``
    plus the Python, numpy, pandas and scikit-learn versions (informational).  ``class`` is
    the model's public name, e.g. ``"tsrnn.estimators.LSTMRegressor"``; ``entries`` lists
    every other entry.
``state.json``
    The model as a tagged JSON tree: ``{"__tsrnn__": "model", "class": ..., "params":
    {...}, "state": {...}}`` where ``params`` is ``get_params(deep=False)`` and ``state``
    every other attribute of the object (the fitted state).  Plain JSON values stand for
    themselves; everything else is an object with a ``"__tsrnn__"`` tag naming its type
    (tuples, non-finite floats, dicts with non-string keys, numpy scalars and dtypes,
    tsrnn dataclasses, pandas indexes, series and frames, random generators...).
``arrays/<n>.npy``
    Every numpy array without Python objects, in numpy's ``.npy`` format, read back with
    ``allow_pickle=False``.  Arrays of Python objects (e.g. ``feature_names_in_``) are
    JSON lists instead; anything else is refused when saving, naming the attribute.

The checksum is the SHA-256 of, for each entry other than ``meta.json`` in sorted name
order, ``name + b"\0" + len(data).to_bytes(8, "little") + data``, followed by
``b"meta.json\\0"`` and the canonical JSON (sorted keys, no spaces) of ``meta.json`` without
its ``checksum`` field.  It covers every byte of data and every field of the metadata.

Safety
------
Classes are never looked up by an arbitrary name from the file: a model's class must be
one of the public classes of :mod:`tsrnn.estimators` and :mod:`tsrnn.forecasting` (their
``__all__``), a dataclass must be defined inside the tsrnn package, and every other type is
one of a fixed set of explicit decoders.  Nothing is unpickled (``.npy`` entries holding
objects are rejected); no ``eval``.  :func:`load` raises :class:`ValueError` naming the
problem and the path for a file that is not a zip archive, is truncated or lacks entries,
fails the checksum, was written by a newer format version, is not a tsrnn model file, or
holds a pickle payload.

Unfitted models save their parameters only and load unfitted.  :func:`save` writes to a
temporary file in the target's folder and renames it, so a failed save never leaves a
half-written file; a missing folder is an error before anything is written.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import importlib
import io
import json
import math
import os
import platform
import re
import secrets
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "tsrnn-model"
FORMAT_VERSION = 1

_TAG = "__tsrnn__"
_META = "meta.json"
_STATE = "state.json"
_ARRAY_ENTRY = re.compile(r"arrays/[0-9]+\.npy")
_TSRNN_MODULE = re.compile(r"tsrnn(\.[A-Za-z_][A-Za-z0-9_]*)*")
_QUALNAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")

# Dataclasses that moved or were renamed: old "module:qualname" -> new "module:qualname".
# Files keep loading after a refactoring when its moves are recorded here.
_RENAMED_DATACLASSES: dict[str, str] = {}

# Bit generators a saved numpy Generator may use (explicit: no lookup by name).
_BIT_GENERATORS = {
    "PCG64": np.random.PCG64,
    "PCG64DXSM": np.random.PCG64DXSM,
    "MT19937": np.random.MT19937,
    "Philox": np.random.Philox,
    "SFC64": np.random.SFC64,
}


# pandas < 2.1 calls NumpyExtensionArray PandasArray
_NUMPY_ARRAY = getattr(pd.arrays, "NumpyExtensionArray", None) or pd.arrays.PandasArray


def _periods(ordinals, freq) -> pd.PeriodIndex:
    if hasattr(pd.PeriodIndex, "from_ordinals"):  # pandas >= 2.2
        return pd.PeriodIndex.from_ordinals(ordinals, freq=freq)
    return pd.PeriodIndex(ordinal=ordinals, freq=freq)


def _offset_class(name):
    """The pandas offset class ``name`` of :mod:`pandas.offsets` (explicit module), or None."""
    if not isinstance(name, str) or not name.isidentifier():
        return None
    cls = getattr(pd.offsets, name, None)
    if isinstance(cls, type) and issubclass(cls, pd.offsets.BaseOffset):
        return cls
    return None


# --------------------------------------------------------------------------------------------
# allow-lists
# --------------------------------------------------------------------------------------------


def _model_classes() -> dict[str, type]:
    """Public name -> class of every model :func:`load` may build.

    The public classes (``__all__``) of :mod:`tsrnn.estimators` and :mod:`tsrnn.forecasting`
    that are scikit-learn estimators, without the shared ``Base*`` classes: a forecaster
    added there later is saved and loaded without new code.
    """
    from sklearn.base import BaseEstimator

    from . import estimators, forecasting

    out = {}
    for module in (estimators, forecasting):
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name, None)
            if (
                isinstance(obj, type)
                and issubclass(obj, BaseEstimator)
                and not name.startswith(("Base", "_"))  # shared bases, not models
            ):
                out[f"{module.__name__}.{name}"] = obj
    return out


def _model_name(cls: type) -> str | None:
    for name, known in _model_classes().items():
        if known is cls:
            return name
    return None


def _dataclass_name(cls: type) -> str | None:
    module = getattr(cls, "__module__", "")
    if not _TSRNN_MODULE.fullmatch(module):
        return None
    return f"{module}:{cls.__qualname__}"


def _resolve_dataclass(name: str) -> type:
    """The tsrnn dataclass ``module:qualname``; nothing outside the tsrnn package."""
    name = _RENAMED_DATACLASSES.get(name, name)
    module, _, qualname = name.partition(":")
    if not (_TSRNN_MODULE.fullmatch(module) and _QUALNAME.fullmatch(qualname)):
        raise ValueError(f"{name!r} is not a tsrnn dataclass")
    try:
        obj = importlib.import_module(module)  # tsrnn's own modules only (checked above)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ValueError(
            f"the dataclass {name!r} does not exist in this tsrnn version"
        ) from None
    if not (
        isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module
    ):
        raise ValueError(f"{name!r} is not a tsrnn dataclass")
    return obj


# --------------------------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------------------------


def _tsrnn_version() -> str:
    import tsrnn

    version = getattr(tsrnn, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("tsrnn")
    return str(version)


class _Encoder:
    """Turns a model into a tagged JSON tree plus ``.npy`` entries."""

    def __init__(self):
        self.arrays: dict[str, bytes] = {}
        self._memo: dict[int, tuple[str, np.ndarray]] = {}  # id -> (entry, array kept alive)

    # -- helpers --------------------------------------------------------------------------

    @staticmethod
    def _refuse(path, obj, why=""):
        raise TypeError(
            f"cannot save {path}: {type(obj).__module__}.{type(obj).__qualname__} is not a "
            f"type tsrnn.save supports{': ' + why if why else ''}"
        )

    def _float(self, x: float):
        if math.isfinite(x):
            return x
        return {_TAG: "float", "value": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}

    def _array(self, arr: np.ndarray, path):
        if arr.dtype.hasobject:
            if arr.dtype != object:
                self._refuse(path, arr, "structured arrays with object fields")
            return {
                _TAG: "objarray",
                "shape": list(arr.shape),
                "items": [self.encode(x, f"{path}[{i}]") for i, x in enumerate(arr.ravel())],
            }
        key = id(arr)
        if key not in self._memo:
            entry = f"arrays/{len(self.arrays)}.npy"
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, arr, allow_pickle=False)
            self.arrays[entry] = buffer.getvalue()
            self._memo[key] = (entry, arr)
        return {_TAG: "ndarray", "entry": self._memo[key][0]}

    def _values(self, values, path):
        """The values of a pandas Index/Series column (ndarray or extension array)."""
        if isinstance(values, _NUMPY_ARRAY) and not isinstance(
            values.dtype, pd.StringDtype  # StringArray subclasses NumpyExtensionArray
        ):
            values = values.to_numpy()
        dtype = values.dtype
        if isinstance(dtype, np.dtype) and dtype.kind != "O":
            return self.encode(np.asarray(values), path)
        if isinstance(dtype, pd.PeriodDtype):
            return {
                _TAG: "period_values",
                "ordinals": self.encode(np.asarray(values.asi8), path),
                "freq": values.freqstr,
            }
        if isinstance(dtype, pd.DatetimeTZDtype):
            return {
                _TAG: "datetimetz_values",
                "utc": self.encode(np.asarray(values.tz_convert("UTC").tz_localize(None)), path),
                "tz": self._tz(dtype.tz, path),
            }
        if isinstance(dtype, pd.StringDtype) or (isinstance(dtype, np.dtype) and dtype.kind == "O"):
            items = list(values)
            kind = "strings" if isinstance(dtype, pd.StringDtype) else "object"
            return {
                _TAG: kind, "items": [self.encode(x, f"{path}[{i}]") for i, x in enumerate(items)]
            }
        self._refuse(path, values, f"pandas dtype {dtype}")

    def _tz(self, tz, path):
        if tz is None:
            return None
        name = str(tz)
        try:
            ok = str(pd.Timestamp(0, tz=name).tz) == name
        except Exception:
            ok = False
        if not ok:
            self._refuse(path, tz, f"time zone {name!r} has no name pandas reads back")
        return name

    def _offset(self, offset, path):
        """A pandas offset as its class name, n, normalize and keywords (plus freqstr).

        The structured form reads back on every pandas version (frequency strings change:
        'M' became 'ME', 'H' became 'h'); ``freq`` is the fallback and for humans.
        """
        from pandas.tseries.frequencies import to_offset

        node = {_TAG: "DateOffset", "freq": offset.freqstr}
        kwds = {
            k: v for k, v in offset.kwds.items()
            if not (k == "offset" and v == datetime.timedelta(0))  # the default
        }
        try:
            if _offset_class(type(offset).__name__) is not type(offset):
                raise TypeError
            rebuilt = type(offset)(offset.n, normalize=offset.normalize, **kwds)
            if rebuilt != offset or rebuilt.freqstr != offset.freqstr:
                raise TypeError
            node.update(
                name=type(offset).__name__, n=int(offset.n), normalize=bool(offset.normalize),
                kwds=self.encode(kwds, f"{path}.kwds"),
            )
            return node
        except (TypeError, ValueError):
            pass
        try:
            ok = to_offset(offset.freqstr) == offset
        except (TypeError, ValueError):
            ok = False
        if not ok:
            self._refuse(path, offset, f"offset {offset!r} cannot be rebuilt")
        return node

    def _index(self, index: pd.Index, path):
        name = self.encode(index.name, f"{path}.name")
        if isinstance(index, pd.MultiIndex):
            self._refuse(path, index, "MultiIndex")
        if isinstance(index, pd.RangeIndex):
            return {
                _TAG: "RangeIndex", "start": index.start, "stop": index.stop,
                "step": index.step, "name": name,
            }
        if isinstance(index, pd.DatetimeIndex):
            return {
                _TAG: "DatetimeIndex",
                "i8": self.encode(np.asarray(index.asi8), path), "unit": index.unit,
                "tz": self._tz(index.tz, path),
                "freq": None if index.freq is None else self._offset(index.freq, path),
                "name": name,
            }
        if isinstance(index, pd.TimedeltaIndex):
            return {
                _TAG: "TimedeltaIndex",
                "i8": self.encode(np.asarray(index.asi8), path), "unit": index.unit,
                "freq": None if index.freq is None else self._offset(index.freq, path),
                "name": name,
            }
        if isinstance(index, pd.PeriodIndex):
            return {
                _TAG: "PeriodIndex",
                "ordinals": self.encode(np.asarray(index.asi8), path),
                "freq": index.freqstr, "name": name,
            }
        if isinstance(index, (pd.CategoricalIndex, pd.IntervalIndex)):
            self._refuse(path, index)
        return {_TAG: "Index", "values": self._values(index.array, path), "name": name}

    def _model(self, obj, path):
        name = _model_name(type(obj))
        if name is None:
            self._refuse(path, obj, "only tsrnn's estimators and forecasters can be saved")
        params = obj.get_params(deep=False)
        state = {k: v for k, v in vars(obj).items() if k not in params}
        return {
            _TAG: "model",
            "class": name,
            "params": {k: self.encode(v, f"{path}.{k}") for k, v in params.items()},
            "state": {k: self.encode(v, f"{path}.{k}") for k, v in state.items()},
        }

    # -- the dispatcher -------------------------------------------------------------------

    def encode(self, obj, path):  # noqa: C901 - one flat type switch
        from sklearn.base import BaseEstimator
        from sklearn.preprocessing import LabelEncoder

        if obj is None or type(obj) in (bool, str):
            return obj
        if type(obj) is int:
            return obj
        if type(obj) is float:
            return self._float(obj)
        if type(obj) is list:
            return [self.encode(x, f"{path}[{i}]") for i, x in enumerate(obj)]
        if type(obj) is tuple:
            items = [self.encode(x, f"{path}[{i}]") for i, x in enumerate(obj)]
            return {_TAG: "tuple", "items": items}
        if type(obj) in (set, frozenset):
            items = sorted(obj, key=repr)
            return {
                _TAG: type(obj).__name__,
                "items": [self.encode(x, f"{path}{{{i}}}") for i, x in enumerate(items)],
            }
        if type(obj) is dict:
            if all(type(k) is str for k in obj) and _TAG not in obj:
                return {k: self.encode(v, f"{path}[{k!r}]") for k, v in obj.items()}
            return {
                _TAG: "dict",
                "items": [
                    [self.encode(k, f"{path}.keys()"), self.encode(v, f"{path}[{k!r}]")]
                    for k, v in obj.items()
                ],
            }
        if type(obj) in (np.ndarray, np.memmap):
            return self._array(np.asarray(obj) if type(obj) is np.memmap else obj, path)
        if isinstance(obj, np.generic):
            dtype = obj.dtype
            if dtype.kind in "biu":
                value = int(obj) if dtype.kind != "b" else bool(obj)
            elif dtype.kind == "f" and dtype.itemsize <= 8:
                value = self._float(float(obj))
            elif dtype.kind in "mM":
                value = int(obj.view("i8"))
            elif dtype.kind == "U":
                value = str(obj)
            else:
                self._refuse(path, obj)
            return {_TAG: "npscalar", "dtype": dtype.str, "value": value}
        if isinstance(obj, np.dtype):
            if obj.fields is not None or obj.subdtype is not None:
                self._refuse(path, obj, "structured dtypes")
            return {_TAG: "dtype", "str": obj.str}
        if isinstance(obj, type) and issubclass(obj, np.generic) and obj is not np.object_:
            return {_TAG: "nptype", "str": np.dtype(obj).str}
        if isinstance(obj, type):
            name = _model_name(obj)
            if name is None:
                self._refuse(path, obj, "classes other than tsrnn's estimators and forecasters")
            return {_TAG: "class", "name": name}
        if isinstance(obj, LabelEncoder):
            state = {}
            if hasattr(obj, "classes_"):
                state["classes_"] = self.encode(obj.classes_, f"{path}.classes_")
            return {_TAG: "LabelEncoder", "state": state}
        if isinstance(obj, BaseEstimator):
            return self._model(obj, path)
        if isinstance(obj, np.random.Generator):
            bit_generator = type(obj.bit_generator).__name__
            if _BIT_GENERATORS.get(bit_generator) is not type(obj.bit_generator):
                self._refuse(path, obj, f"bit generator {bit_generator}")
            return {
                _TAG: "Generator", "bit_generator": bit_generator,
                "state": self.encode(obj.bit_generator.state, f"{path}.state"),
            }
        if isinstance(obj, np.random.RandomState):
            return {
                _TAG: "RandomState",
                "state": self.encode(obj.get_state(legacy=False), f"{path}.state"),
            }
        if obj is pd.NaT:
            return {_TAG: "NaT"}
        if obj is pd.NA:
            return {_TAG: "NA"}
        if isinstance(obj, pd.Timestamp):
            return {
                _TAG: "Timestamp", "i8": int(obj.asm8.view("i8")), "unit": obj.unit,
                "tz": self._tz(obj.tz, path),
            }
        if isinstance(obj, pd.Timedelta):
            return {_TAG: "Timedelta", "i8": int(obj.asm8.view("i8")), "unit": obj.unit}
        if isinstance(obj, pd.Period):
            return {_TAG: "Period", "ordinal": int(obj.ordinal), "freq": obj.freqstr}
        if isinstance(obj, pd.DateOffset):
            return self._offset(obj, path)
        if isinstance(obj, pd.Index):
            return self._index(obj, path)
        if type(obj) is pd.Series:
            return {
                _TAG: "Series",
                "values": self._values(obj.array, path),
                "index": self._index(obj.index, f"{path}.index"),
                "name": self.encode(obj.name, f"{path}.name"),
            }
        if type(obj) is pd.DataFrame:
            return {
                _TAG: "DataFrame",
                "columns": self._index(obj.columns, f"{path}.columns"),
                "index": self._index(obj.index, f"{path}.index"),
                "data": [
                    self._values(obj.iloc[:, j].array, f"{path}.iloc[:, {j}]")
                    for j in range(obj.shape[1])
                ],
            }
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            name = _dataclass_name(type(obj))
            if name is None:
                self._refuse(path, obj, "only dataclasses of the tsrnn package")
            return {
                _TAG: "dataclass",
                "class": name,
                "fields": {
                    f.name: self.encode(getattr(obj, f.name), f"{path}.{f.name}")
                    for f in dataclasses.fields(obj)
                },
            }
        self._refuse(path, obj)


# --------------------------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------------------------


class _Decoder:
    """Rebuilds objects from the tagged JSON tree; arrays come from the verified entries."""

    def __init__(self, entries: dict[str, bytes]):
        self._entries = entries
        self._arrays: dict[str, np.ndarray] = {}

    def _array(self, entry):
        if entry in self._arrays:
            return self._arrays[entry]
        if not isinstance(entry, str) or not _ARRAY_ENTRY.fullmatch(entry):
            raise ValueError(f"bad array reference {entry!r}")
        if entry not in self._entries:
            raise ValueError(f"entry {entry} is missing")
        buffer = io.BytesIO(self._entries[entry])
        try:
            version = np.lib.format.read_magic(buffer)
            if version == (1, 0):
                _, _, dtype = np.lib.format.read_array_header_1_0(buffer)
            elif version == (2, 0):
                _, _, dtype = np.lib.format.read_array_header_2_0(buffer)
            else:
                raise ValueError(f"unsupported .npy version {version}")
        except ValueError as exc:
            raise ValueError(f"entry {entry} is not a numpy .npy array ({exc})") from None
        if dtype.hasobject:
            raise ValueError(
                f"entry {entry} holds a pickle payload (an object array); refusing to load it"
            )
        buffer.seek(0)
        array = np.lib.format.read_array(buffer, allow_pickle=False)
        self._arrays[entry] = array
        return array

    @staticmethod
    def _float(node):
        value = node["value"]
        if value not in ("nan", "inf", "-inf"):
            raise ValueError(f"bad float {value!r}")
        return float(value)

    def _values(self, node):
        """Values for a pandas Index or Series (see _Encoder._values)."""
        tag = node.get(_TAG) if isinstance(node, dict) else None
        if tag == "period_values":
            ordinals = self._array_node(node["ordinals"])
            return _periods(ordinals, node["freq"]).array
        if tag == "datetimetz_values":
            utc = pd.DatetimeIndex(self._array_node(node["utc"])).tz_localize("UTC")
            return utc.tz_convert(node["tz"]).array
        if tag == "strings":  # let pandas pick its default string dtype (object or str)
            return [self.decode(x) for x in node["items"]]
        if tag == "object":
            items = [self.decode(x) for x in node["items"]]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out
        return self._array_node(node)

    def _array_node(self, node):
        value = self.decode(node)
        if not isinstance(value, np.ndarray):
            raise ValueError("expected an array")
        return value

    def _datetimes(self, node, kind):
        unit = node["unit"]
        if unit not in ("s", "ms", "us", "ns"):
            raise ValueError(f"bad time unit {unit!r}")
        i8 = self._array_node(node["i8"]).astype(np.int64, copy=False)
        return i8.view(f"{kind}8[{unit}]")

    def _offset(self, node):
        from pandas.tseries.frequencies import to_offset

        if node is None:
            return None
        if node.get(_TAG) != "DateOffset":
            raise ValueError("expected an offset")
        if "name" in node:
            cls = _offset_class(node["name"])
            if cls is None:
                raise ValueError(f"unknown pandas offset {node['name']!r}")
            kwds = self.decode(node["kwds"])
            return cls(int(node["n"]), normalize=bool(node["normalize"]), **kwds)
        return to_offset(node["freq"])

    def _index(self, node):
        tag = node[_TAG]
        name = self.decode(node["name"])
        if tag == "RangeIndex":
            return pd.RangeIndex(node["start"], node["stop"], node["step"], name=name)
        if tag == "DatetimeIndex":
            index = pd.DatetimeIndex(self._datetimes(node, "M"), name=name)
            if node["tz"] is not None:
                index = index.tz_localize("UTC").tz_convert(node["tz"])
            if node["freq"] is not None:
                index = pd.DatetimeIndex(index, freq=self._offset(node["freq"]))
            return index
        if tag == "TimedeltaIndex":
            index = pd.TimedeltaIndex(self._datetimes(node, "m"), name=name)
            if node["freq"] is not None:
                index = pd.TimedeltaIndex(index, freq=self._offset(node["freq"]))
            return index
        if tag == "PeriodIndex":
            ordinals = self._array_node(node["ordinals"])
            return _periods(ordinals, node["freq"]).rename(name)
        if tag == "Index":
            values = self._values(node["values"])
            if isinstance(values, np.ndarray) and values.dtype == object:
                return pd.Index(values, dtype=object, name=name)
            return pd.Index(values, name=name)
        raise ValueError(f"unknown index type {tag!r}")

    def model(self, node):
        if not isinstance(node, dict) or node.get(_TAG) != "model":
            raise ValueError("the state is not a tsrnn model")
        name = node["class"]
        cls = _model_classes().get(name) if isinstance(name, str) else None
        if cls is None:
            raise ValueError(f"{name!r} is not a tsrnn estimator or forecaster")
        params = {k: self.decode(v) for k, v in node["params"].items()}
        state = {k: self.decode(v) for k, v in node["state"].items()}
        for key in state:
            if key.startswith("__"):
                raise ValueError(f"bad attribute name {key!r}")
        try:
            obj = cls(**params)
        except TypeError as exc:
            raise ValueError(
                f"{name} of this tsrnn version does not take the saved parameters ({exc})"
            ) from None
        obj.__dict__.update(state)
        return obj

    def decode(self, node):  # noqa: C901 - one flat type switch
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.decode(x) for x in node]
        if not isinstance(node, dict):
            raise ValueError(f"unexpected JSON value {type(node).__name__}")
        if _TAG not in node:
            return {k: self.decode(v) for k, v in node.items()}
        tag = node[_TAG]
        if tag == "float":
            return self._float(node)
        if tag == "tuple":
            return tuple(self.decode(x) for x in node["items"])
        if tag in ("set", "frozenset"):
            items = [self.decode(x) for x in node["items"]]
            return set(items) if tag == "set" else frozenset(items)
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in node["items"]}
        if tag == "ndarray":
            return self._array(node["entry"])
        if tag == "objarray":
            items = [self.decode(x) for x in node["items"]]
            out = np.empty(len(items), dtype=object)
            out[:] = items
            return out.reshape([int(n) for n in node["shape"]])
        if tag == "npscalar":
            dtype = np.dtype(node["dtype"])
            if dtype.kind not in "biufmMU":
                raise ValueError(f"bad scalar dtype {node['dtype']!r}")
            value = self.decode(node["value"])
            if dtype.kind in "mM":
                return np.array(value, dtype=np.int64).view(dtype)[()]
            return np.array(value, dtype=dtype)[()]
        if tag in ("dtype", "nptype"):
            dtype = np.dtype(node["str"])
            if dtype.fields is not None or (tag == "nptype" and dtype.hasobject):
                raise ValueError(f"bad dtype {node['str']!r}")
            return dtype if tag == "dtype" else dtype.type
        if tag == "class":
            cls = _model_classes().get(node["name"])
            if cls is None:
                raise ValueError(f"{node['name']!r} is not a tsrnn estimator or forecaster")
            return cls
        if tag == "model":
            return self.model(node)
        if tag == "LabelEncoder":
            from sklearn.preprocessing import LabelEncoder

            encoder = LabelEncoder()
            if "classes_" in node["state"]:
                encoder.classes_ = self._array_node(node["state"]["classes_"])
            return encoder
        if tag == "dataclass":
            cls = _resolve_dataclass(node["class"])
            values = {k: self.decode(v) for k, v in node["fields"].items()}
            fields = {f.name: f for f in dataclasses.fields(cls)}
            unknown = set(values) - set(fields)
            if unknown:
                raise ValueError(f"{node['class']} has no field(s) {sorted(unknown)}")
            obj = cls(**{k: v for k, v in values.items() if fields[k].init})
            for k, v in values.items():
                if not fields[k].init:
                    object.__setattr__(obj, k, v)
            return obj
        if tag == "Generator":
            cls = _BIT_GENERATORS.get(node["bit_generator"])
            if cls is None:
                raise ValueError(f"unknown bit generator {node['bit_generator']!r}")
            bit_generator = cls()
            bit_generator.state = self.decode(node["state"])
            return np.random.Generator(bit_generator)
        if tag == "RandomState":
            rs = np.random.RandomState()
            rs.set_state(self.decode(node["state"]))
            return rs
        if tag == "NaT":
            return pd.NaT
        if tag == "NA":
            return pd.NA
        if tag == "Timestamp":
            ts = pd.Timestamp(np.datetime64(int(node["i8"]), node["unit"]))
            return ts if node["tz"] is None else ts.tz_localize("UTC").tz_convert(node["tz"])
        if tag == "Timedelta":
            return pd.Timedelta(np.timedelta64(int(node["i8"]), node["unit"]))
        if tag == "Period":
            return pd.Period(ordinal=int(node["ordinal"]), freq=node["freq"])
        if tag == "DateOffset":
            return self._offset(node)
        if tag in ("RangeIndex", "DatetimeIndex", "TimedeltaIndex", "PeriodIndex", "Index"):
            return self._index(node)
        if tag == "Series":
            index = self._index(node["index"])
            values = self._values(node["values"])
            return pd.Series(values, index=index, name=self.decode(node["name"]))
        if tag == "DataFrame":
            index = self._index(node["index"])
            columns = self._index(node["columns"])
            data = [pd.Series(self._values(v), index=index) for v in node["data"]]
            if len(data) != len(columns):
                raise ValueError("DataFrame columns and data differ in length")
            if not data:
                return pd.DataFrame(index=index, columns=columns)
            frame = pd.concat(data, axis=1, ignore_index=True)
            frame.columns = columns
            return frame
        raise ValueError(f"unknown type tag {tag!r}")


# --------------------------------------------------------------------------------------------
# the archive
# --------------------------------------------------------------------------------------------


def _canonical(obj) -> bytes:
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def _digest(meta: dict, entries: dict[str, bytes]) -> str:
    """SHA-256 over the entries (sorted by name) and the metadata without its checksum."""
    h = hashlib.sha256()
    for name in sorted(entries):
        data = entries[name]
        h.update(name.encode("utf-8") + b"\0" + len(data).to_bytes(8, "little"))
        h.update(data)
    h.update(b"meta.json\0" + _canonical({k: v for k, v in meta.items() if k != "checksum"}))
    return h.hexdigest()


def _reject_constant(name):
    raise ValueError(f"invalid JSON constant {name}")


def _parse_json(data: bytes, entry: str):
    try:
        return json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError(f"{entry} is not valid JSON") from None


def save(model, path):
    """Write a tsrnn estimator or forecaster to one file.

    Parameters
    ----------
    model : estimator or forecaster
        One of :mod:`tsrnn.estimators`' regressors and classifiers or a forecaster of
        :mod:`tsrnn.forecasting`, fitted or not (an unfitted model saves its parameters
        only and loads unfitted).
    path : str or path-like
        The file to write (e.g. ``"model.tsrnn"``); an existing file is replaced.  Its folder
        must exist.  The file is written to a temporary name in that folder first and then
        renamed, so a failed save leaves no half-written file.

    Returns
    -------
    path : pathlib.Path

    Raises
    ------
    TypeError
        The model is not a tsrnn model, or holds a value of a type the format does not
        support (the message names the attribute).
    FileNotFoundError
        The folder of ``path`` does not exist.
    """
    path = Path(os.fspath(path))
    name = _model_name(type(model))
    if name is None:
        raise TypeError(
            f"tsrnn.save saves tsrnn's estimators and forecasters, not "
            f"{type(model).__module__}.{type(model).__qualname__}"
        )
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(f"cannot save to {path}: the folder {folder} does not exist")
    if path.is_dir():
        raise IsADirectoryError(f"cannot save to {path}: it is a folder")

    encoder = _Encoder()
    tree = encoder.encode(model, type(model).__name__)
    entries = {_STATE: json.dumps(tree, allow_nan=False, separators=(",", ":")).encode("utf-8")}
    entries.update(encoder.arrays)

    import sklearn

    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    meta = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "tsrnn_version": _tsrnn_version(),
        "class": name,
        "created": now.isoformat(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "sklearn": sklearn.__version__,
        "entries": sorted(entries),
    }
    meta["checksum"] = {"algorithm": "sha256", "value": _digest(meta, entries)}

    date_time = now.timetuple()[:6]
    tmp = folder / f".{path.name}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "xb") as fh:
            with zipfile.ZipFile(fh, "w") as zf:
                for entry, data in [(_META, json.dumps(meta, indent=1).encode("utf-8"))] + [
                    (k, entries[k]) for k in sorted(entries)
                ]:
                    info = zipfile.ZipInfo(entry, date_time=date_time)
                    info.compress_type = zipfile.ZIP_DEFLATED
                    zf.writestr(info, data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
    return path


def load(path):
    """Read a model written by :func:`save`.

    Nothing from the file is executed: no pickle, no ``eval``, no import of names the file
    chooses (see the module documentation).

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    model : estimator or forecaster
        Its predictions are bit-identical to the saved model's.

    Raises
    ------
    ValueError
        The file is not a tsrnn model file, is truncated or corrupted (checksum mismatch),
        was written by a newer tsrnn, or holds a pickle payload; the message names the
        problem and the path.
    FileNotFoundError
        ``path`` does not exist.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")

    def fail(why):
        return ValueError(f"cannot load {path}: {why}")

    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            entries = {}
            if _META in names and len(set(names)) == len(names):
                entries = {n: zf.read(n) for n in names}
    except zipfile.BadZipFile as exc:
        raise fail(f"not a tsrnn model file or truncated/corrupted ({exc})") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # zlib.error, EOFError, unsupported compression, "encrypted"...
        raise fail(
            f"the file is truncated or corrupted ({type(exc).__name__}: {exc})"
        ) from None

    if _META not in names:
        raise fail("not a tsrnn model file (no meta.json)")
    if len(set(names)) != len(names):
        raise fail("the archive has duplicate entries")
    try:
        meta = _parse_json(entries.pop(_META), _META)
    except ValueError as exc:
        raise fail(f"not a tsrnn model file ({exc})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_NAME:
        raise fail(f"not a tsrnn model file (meta.json has no format {FORMAT_NAME!r})")
    version = meta.get("format_version")
    if type(version) is not int or version < 1:
        raise fail(f"bad format_version {version!r}")
    if version > FORMAT_VERSION:
        raise fail(
            f"written by a newer tsrnn (format {version}, tsrnn {meta.get('tsrnn_version')}); "
            f"upgrade tsrnn (this one, {_tsrnn_version()}, reads format {FORMAT_VERSION} "
            "and older)"
        )
    listed = meta.get("entries")
    if (
        not isinstance(listed, list)
        or not all(isinstance(n, str) for n in listed)
        or set(listed) != set(entries)
    ):
        listed = [n for n in listed if isinstance(n, str)] if isinstance(listed, list) else []
        missing, extra = sorted(set(listed) - set(entries)), sorted(set(entries) - set(listed))
        raise fail(
            f"the archive's entries do not match meta.json (missing {missing}, "
            f"unexpected {extra}): truncated or modified"
        )
    checksum = meta.get("checksum")
    if (
        not isinstance(checksum, dict)
        or checksum.get("algorithm") != "sha256"
        or not isinstance(checksum.get("value"), str)
    ):
        raise fail("meta.json has no sha256 checksum")
    if not hmac.compare_digest(
        checksum["value"].encode("utf-8"), _digest(meta, entries).encode("ascii")
    ):
        raise fail("checksum mismatch: the file was modified or corrupted")
    if _STATE not in entries:
        raise fail("missing entry state.json")
    for name in entries:
        if name != _STATE and not _ARRAY_ENTRY.fullmatch(name):
            raise fail(f"unexpected entry {name!r}")

    try:
        tree = _parse_json(entries[_STATE], _STATE)
        model = _Decoder(entries).model(tree)
    except Exception as exc:  # a verified file that does not decode was crafted or is foreign
        what = f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError) else str(exc)
        raise fail(f"cannot rebuild the model ({what})") from None
    if _model_name(type(model)) != meta.get("class"):
        raise fail(
            f"meta.json names class {meta.get('class')!r} but the state holds "
            f"{_model_name(type(model))!r}"
        )
    return model
