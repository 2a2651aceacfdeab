r"""Where Numba caches tsrnn's compiled kernels.

Imported (for its side effect) at the top of every module that defines
``cache=True`` kernels, before the first decorator runs.

tsrnn's kernels are compiled by Numba on first use and the machine code is
kept on disk, so that later processes start in a second instead of compiling
again (tens of seconds).  The cache lives in a per-user folder, never inside
the installed package (``site-packages``), so installing, upgrading or
uninstalling tsrnn never finds stale files there:

1. ``$TSRNN_CACHE_DIR`` when that environment variable is set;
2. else the platform's user cache folder: ``$XDG_CACHE_HOME/tsrnn`` or
   ``~/.cache/tsrnn`` on Linux, ``~/Library/Caches/tsrnn`` on macOS,
   ``%LOCALAPPDATA%\tsrnn\Cache`` on Windows;
3. else ``$NUMBA_CACHE_DIR/tsrnn`` when that variable is set.

The first of these that is writable is used, with a subfolder per tsrnn,
Python and Numba version (``tsrnn-0.1.0-py3.11-numba-0.60.0``) so that
upgrades do not mix; old subfolders can be deleted at any time.  When none is
writable (read-only containers, system installs) tsrnn still imports and runs,
compiling its kernels in every new process, and says so once with a
:class:`CacheWarning`; set ``TSRNN_CACHE_DIR`` to a writable folder to keep
the compiled kernels.  A cache entry that cannot be read back (a truncated
file after a disk fault) is deleted and its kernel recompiled, with a warning.

Only functions defined in tsrnn's own source files are redirected: a
locator class is put in front of Numba's list of cache locators, and Numba's
global setting ``numba.config.CACHE_DIR`` is left alone for other libraries.
tsrnn's CUDA kernels are not cached on disk.
"""

import functools
import glob
import os
import re
import sys
import tempfile
import threading
import warnings

import numba
from numba.core import caching as _nbcache

__all__ = ["CacheWarning", "cache_dir", "user_cache_dir"]

ENV_VAR = "TSRNN_CACHE_DIR"

_PKG_DIR = os.path.dirname(os.path.realpath(__file__))

# Source files whose functions are compiled into cached kernels of other files:
# part of every tsrnn kernel's source stamp (see _TsrnnCacheLocator). Numba links a
# kernel's callees into the kernel's own cached machine code, and checks only the
# defining file: the per-element math (_elementwise) is inlined into the kernels, the
# recurrent products (_products) compiled into them, and the kernels (_kernels) into the
# fused training steps (_fused), which an edit of _kernels.py alone left stale.
_INLINED_SOURCES = tuple(
    p
    for p in (
        os.path.join(_PKG_DIR, f)
        for f in ("_elementwise.py", "_products.py", "_simd.py", "_kernels.py")
    )
    if os.path.exists(p)
)


class CacheWarning(UserWarning):
    """Numba's kernel cache cannot be used as intended (compilation is repeated)."""


def user_cache_dir(appname="tsrnn"):
    r"""The platform's per-user cache folder for ``appname`` (not created).

    Linux and other POSIX systems: ``$XDG_CACHE_HOME/appname`` (an absolute
    ``XDG_CACHE_HOME`` only, as the XDG specification says), else
    ``~/.cache/appname``; macOS: ``~/Library/Caches/appname``; Windows:
    ``%LOCALAPPDATA%\appname\Cache``.
    """
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.path.join(
            os.path.expanduser("~"), "AppData", "Local"
        )
        return os.path.join(base, appname, "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", appname)
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, appname)


def _tsrnn_version():
    """The version of the tsrnn source being imported (not of some installed copy)."""
    pattern = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
    for name in ("_version.py", "__init__.py"):
        try:
            with open(os.path.join(_PKG_DIR, name), encoding="utf-8") as f:
                match = pattern.search(f.read())
        except OSError:
            continue
        if match:
            return match.group(1)
    try:
        from importlib.metadata import version

        return version("tsrnn")
    except Exception:  # noqa: BLE001  (any failure: the folder name only gets less precise)
        return "unknown"


def _version_tag():
    py = f"{sys.version_info[0]}.{sys.version_info[1]}"
    return f"tsrnn-{_tsrnn_version()}-py{py}-numba-{numba.__version__}"


def _candidates():
    """(description, root folder) in order of preference."""
    out = []
    env = os.environ.get(ENV_VAR)
    if env:
        out.append((f"{ENV_VAR}={env}", env))
    try:
        out.append(("the user cache folder", user_cache_dir()))
    except Exception:  # noqa: BLE001  (no home directory at all)
        pass
    numba_dir = numba.config.CACHE_DIR or os.environ.get("NUMBA_CACHE_DIR")
    if numba_dir:
        out.append((f"NUMBA_CACHE_DIR={numba_dir}", os.path.join(numba_dir, "tsrnn")))
    return out


def _writable_dir(path):
    """Create ``path`` if needed; None if it is a writable folder, else the error."""
    try:
        os.makedirs(path, exist_ok=True)
        tempfile.TemporaryFile(dir=path).close()
    except OSError as exc:
        return exc
    return None


_lock = threading.Lock()
_state = {}  # "dir": chosen folder or None; "intended": where it would have been


def _warn(message):
    warnings.warn(message, CacheWarning, stacklevel=3)


def _resolve():
    """(cache folder or None, intended folder); decided once per process, warns at most once."""
    with _lock:
        if "dir" in _state:
            return _state["dir"], _state["intended"]
        tag = _version_tag()
        tried = []
        chosen = None
        candidates = _candidates()
        for desc, root in candidates:
            path = os.path.join(os.path.abspath(os.path.expanduser(root)), tag)
            error = _writable_dir(path)
            if error is None:
                chosen = path
                break
            tried.append(f"{desc} ({path}: {error.strerror or error})")
        # where a disabled locator points (never written; not inside the package)
        first = candidates[0][1] if candidates else tempfile.gettempdir()
        intended = os.path.join(os.path.abspath(os.path.expanduser(first)), tag)
        _state["dir"], _state["intended"] = chosen, intended
        if chosen is None:
            _warn(
                "tsrnn: no writable folder for the compiled-kernel cache, tried "
                + "; ".join(tried)
                + ". tsrnn works without it but compiles its kernels again in every new "
                "process (tens of seconds before the first fit). Set the environment "
                f"variable {ENV_VAR} to a writable folder to keep them."
            )
        elif tried and os.environ.get(ENV_VAR):
            _warn(
                f"tsrnn: {ENV_VAR} is not a writable folder ({tried[0]}); the compiled "
                f"kernels are cached in {chosen} instead."
            )
        return chosen, intended


def cache_dir():
    """The folder holding tsrnn's compiled kernels, or None when nothing is writable."""
    return _resolve()[0]


def _in_package(py_file):
    try:
        path = os.path.realpath(py_file)
    except (TypeError, ValueError):
        return False
    return path.startswith(_PKG_DIR + os.sep)


# numba >= 0.63 dropped the leading underscore
_LocatorBase = getattr(_nbcache, "UserProvidedCacheLocator", None) or getattr(
    _nbcache, "_UserProvidedCacheLocator", None
)


class _TsrnnCacheLocator(_LocatorBase):
    """Numba cache locator for functions defined in tsrnn's source files only.

    Puts the cache in :func:`cache_dir` (one subfolder per source folder, as
    Numba does).  When no folder is writable the locator is still returned,
    disabled, so that Numba neither raises nor falls back to the package's
    ``__pycache__``; loads then miss and saves are skipped.
    """

    _tsrnn_locator = True

    def __init__(self, py_func, py_file, root, enabled):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))
        self.enabled = enabled

    def get_cache_path(self):
        return self._cache_path

    def get_source_stamp(self):
        """Freshness of the function's file AND of the files its kernels inline.

        Numba invalidates an entry when the stamp differs.  Its own stamp covers
        the defining file only, but tsrnn's kernels inline the per-element math
        of :mod:`tsrnn._elementwise` and compile in the products of
        :mod:`tsrnn._products`, and the fused training steps of :mod:`tsrnn._fused`
        compile in the kernels of :mod:`tsrnn._kernels`: an edit of any of them
        alone must recompile the kernels that use it.
        """
        stamps = []
        for path in (self._py_file, *_INLINED_SOURCES):
            st = os.stat(path)
            stamps.append((os.path.basename(path), st.st_mtime, st.st_size))
        return tuple(stamps)

    def ensure_cache_path(self):
        if not self.enabled:
            raise OSError(
                f"tsrnn's kernel cache is disabled (no writable folder): {self._cache_path}"
            )
        super().ensure_cache_path()

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _in_package(py_file) or not os.path.exists(py_file):
            return None
        chosen, intended = _resolve()
        return cls(py_func, py_file, chosen or intended, chosen is not None)


# ---------------------------------------------------------------------------
# fail-soft load and save, for caches that use the tsrnn locator only
# ---------------------------------------------------------------------------


def _our_locator(cache):
    locator = getattr(getattr(cache, "_impl", None), "locator", None)
    return locator if getattr(locator, "_tsrnn_locator", False) else None


def _discard_entries(cache):
    """Delete the index and data files of ``cache``'s function; the names removed."""
    cache_file = cache._cache_file
    index = cache_file._index_path
    base = index[: -len(".nbi")]
    removed = []
    for path in [index] + glob.glob(glob.escape(base) + ".*.nbc"):
        try:
            os.remove(path)
            removed.append(os.path.basename(path))
        except OSError:
            pass
    return removed


def _index_unreadable(cache):
    try:
        cache._cache_file._load_index()
    except OSError:
        return False
    except Exception:  # noqa: BLE001  (truncated or garbled pickle: EOFError, UnpicklingError, ...)
        return True
    return False


def _wrap_load(original):
    @functools.wraps(original)
    def load_overload(self, sig, target_context):
        locator = _our_locator(self)
        if locator is None:
            return original(self, sig, target_context)
        if not locator.enabled:
            return None
        try:
            return original(self, sig, target_context)
        except Exception as exc:  # noqa: BLE001  (a cache must never fail a fit)
            removed = _discard_entries(self)
            _warn(
                f"tsrnn: a compiled-kernel cache entry in {self.cache_path} could not be read "
                f"({type(exc).__name__}: {exc}); removed {', '.join(removed) or 'nothing'} "
                "and recompiling. If this repeats, delete that folder."
            )
            return None

    load_overload._tsrnn_wrapped = True
    return load_overload


_save_failed = []


def _wrap_save(original):
    @functools.wraps(original)
    def save_overload(self, sig, data):
        locator = _our_locator(self)
        if locator is None:
            return original(self, sig, data)
        if not locator.enabled:
            return None
        try:
            return original(self, sig, data)
        except Exception as exc:  # noqa: BLE001  (a cache must never fail a fit)
            error = exc
        if _index_unreadable(self):
            _discard_entries(self)
            try:
                return original(self, sig, data)
            except Exception as exc:  # noqa: BLE001
                error = exc
        if not _save_failed:
            _save_failed.append(True)
            _warn(
                f"tsrnn: could not write the compiled-kernel cache in {self.cache_path} "
                f"({type(error).__name__}: {error}); the kernels will be compiled again in "
                f"the next process. Set {ENV_VAR} to a writable folder."
            )
        return None

    save_overload._tsrnn_wrapped = True
    return save_overload


def _install():
    """Register the locator and the fail-soft wrappers (idempotent, also under reload)."""
    impl_classes = [
        cls
        for cls in (getattr(_nbcache, "CacheImpl", None), getattr(_nbcache, "_CacheImpl", None))
        if cls is not None
    ]
    for impl in impl_classes:
        locators = impl.__dict__.get("_locator_classes")
        if locators is None:
            continue
        locators[:] = [c for c in locators if not getattr(c, "_tsrnn_locator", False)]
        locators.insert(0, _TsrnnCacheLocator)
    cache_cls = _nbcache.Cache
    for name, wrap in (("load_overload", _wrap_load), ("save_overload", _wrap_save)):
        method = cache_cls.__dict__[name]
        if getattr(method, "_tsrnn_wrapped", False):
            method = method.__wrapped__
        setattr(cache_cls, name, wrap(method))


_install()
