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
    tsrnn dataclasses, pandas indexes, series and frames, random generators...); the
    encoding and its type registry live in the private module ``tsrnn._state_codec``.
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

import datetime
import hashlib
import hmac
import json
import os
import platform
import secrets
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from ._state_codec import _ARRAY_ENTRY, _Decoder, _Encoder, _model_name

__all__ = ["save", "load", "FORMAT_NAME", "FORMAT_VERSION"]

FORMAT_NAME = "tsrnn-model"
FORMAT_VERSION = 1

_META = "meta.json"
_STATE = "state.json"

#: Decompression-bomb guard of :func:`load`: an archive whose entries would expand to more than
#: this many bytes *and* more than ``_MAX_EXPANSION_RATIO`` times the file's size is refused
#: before anything is decompressed. Model arrays barely compress (ratio ~1.1), so a real model
#: of any size passes.
_MAX_EXPANSION_BYTES = 256 * 2**20
_MAX_EXPANSION_RATIO = 50


def _tsrnn_version() -> str:
    import tsrnn

    version = getattr(tsrnn, "__version__", None)
    if version is None:
        from importlib.metadata import version as dist_version

        version = dist_version("tsrnn")
    return str(version)


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
            expanded = sum(info.file_size for info in zf.infolist())
            limit = max(_MAX_EXPANSION_BYTES, _MAX_EXPANSION_RATIO * path.stat().st_size)
            if expanded > limit:
                raise fail(
                    f"its entries would expand to {expanded / 2**20:.0f} MiB from a "
                    f"{path.stat().st_size / 2**20:.1f} MiB file: refused as a possible "
                    "decompression bomb (not a file written by tsrnn.save)"
                )
            entries = {}
            if _META in names and len(set(names)) == len(names):
                entries = {n: zf.read(n) for n in names}
    except zipfile.BadZipFile as exc:
        raise fail(f"not a tsrnn model file or truncated/corrupted ({exc})") from None
    except (FileNotFoundError, IsADirectoryError, PermissionError):
        raise
    except Exception as exc:  # zlib.error, EOFError, unsupported compression, "encrypted"...
        raise fail(f"the file is truncated or corrupted ({type(exc).__name__}: {exc})") from None

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
