r"""The tagged-JSON encoding of a model's object tree (private, for :mod:`tsrnn.persistence`).

:class:`_Encoder` turns a tsrnn estimator or forecaster into the JSON tree stored as
``state.json`` plus the ``arrays/<n>.npy`` entries; :class:`_Decoder` rebuilds the model from
them.  The archive around them (zip entries, ``meta.json``, checksum, error messages) is
:mod:`tsrnn.persistence`'s, which documents the file format.

Plain JSON values stand for themselves; every other value is an object whose ``"__tsrnn__"``
tag names one of a fixed set of types, each with an explicit encoder and decoder: tuples,
sets, non-finite floats, dicts with non-string keys, numpy arrays (``.npy`` references, or
JSON lists for arrays of Python objects), numpy scalars, dtypes and scalar types, tsrnn
dataclasses, pandas timestamps, periods, offsets, indexes, series and frames, scikit-learn's
``LabelEncoder``, numpy random generators, and the models themselves.

Allow-lists: a model class must be one of the public estimators and forecasters of
:mod:`tsrnn.estimators` and :mod:`tsrnn.forecasting` (:func:`_model_classes`), a dataclass
must be defined inside the tsrnn package (moves and renames are recorded in
``_RENAMED_DATACLASSES``), a bit generator one of ``_BIT_GENERATORS``.  Nothing is looked up
by an arbitrary name from the file, nothing is unpickled, nothing evaluated.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import io
import math
import re

import numpy as np
import pandas as pd

_TAG = "__tsrnn__"
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
        raise ValueError(f"the dataclass {name!r} does not exist in this tsrnn version") from None
    if not (isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj.__module__ == module):
        raise ValueError(f"{name!r} is not a tsrnn dataclass")
    return obj


# --------------------------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------------------------


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
            values.dtype,
            pd.StringDtype,  # StringArray subclasses NumpyExtensionArray
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
            # strings in an object array (pandas 2's default) load as the reader's default
            # string dtype, as pandas 3's str values do: a file does not depend on the
            # writer's pandas
            strings = isinstance(dtype, pd.StringDtype) or (
                len(items) > 0 and all(isinstance(x, str) for x in items)
            )
            kind = "strings" if strings else "object"
            return {
                _TAG: kind,
                "items": [self.encode(x, f"{path}[{i}]") for i, x in enumerate(items)],
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
            k: v
            for k, v in offset.kwds.items()
            if not (k == "offset" and v == datetime.timedelta(0))  # the default
        }
        try:
            if _offset_class(type(offset).__name__) is not type(offset):
                raise TypeError
            rebuilt = type(offset)(offset.n, normalize=offset.normalize, **kwds)
            if rebuilt != offset or rebuilt.freqstr != offset.freqstr:
                raise TypeError
            node.update(
                name=type(offset).__name__,
                n=int(offset.n),
                normalize=bool(offset.normalize),
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
                _TAG: "RangeIndex",
                "start": index.start,
                "stop": index.stop,
                "step": index.step,
                "name": name,
            }
        if isinstance(index, pd.DatetimeIndex):
            return {
                _TAG: "DatetimeIndex",
                "i8": self.encode(np.asarray(index.asi8), path),
                "unit": index.unit,
                "tz": self._tz(index.tz, path),
                "freq": None if index.freq is None else self._offset(index.freq, path),
                "name": name,
            }
        if isinstance(index, pd.TimedeltaIndex):
            return {
                _TAG: "TimedeltaIndex",
                "i8": self.encode(np.asarray(index.asi8), path),
                "unit": index.unit,
                "freq": None if index.freq is None else self._offset(index.freq, path),
                "name": name,
            }
        if isinstance(index, pd.PeriodIndex):
            return {
                _TAG: "PeriodIndex",
                "ordinals": self.encode(np.asarray(index.asi8), path),
                "freq": index.freqstr,
                "name": name,
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
                _TAG: "Generator",
                "bit_generator": bit_generator,
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
                _TAG: "Timestamp",
                "i8": int(obj.asm8.view("i8")),
                "unit": obj.unit,
                "tz": self._tz(obj.tz, path),
            }
        if isinstance(obj, pd.Timedelta):
            return {_TAG: "Timedelta", "i8": int(obj.asm8.view("i8")), "unit": obj.unit}
        if isinstance(obj, pd.Period):
            return {_TAG: "Period", "ordinal": int(obj.ordinal), "freq": obj.freqstr}
        if isinstance(obj, pd.offsets.BaseOffset):
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
