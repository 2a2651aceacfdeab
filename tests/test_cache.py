"""Numba's on-disk cache of tsrnn's kernels: where it goes, and that it never breaks a run.

Every check runs in a fresh interpreter on a copy of the tsrnn package (first on
PYTHONPATH), so that the package folder starts without any cache file and what
the run writes into it can be seen.  Unwritable locations are paths *below a
regular file*: creating them fails with NotADirectoryError even for root (the
tests run as root in CI, and root ignores permission bits).
"""

import ast
import importlib.metadata
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import tsrnn

ROOT = Path(__file__).resolve().parent.parent
PKG = Path(tsrnn.__file__).resolve().parent

PROBE = """\
from . import _cache  # noqa: F401
from numba import njit


@njit(cache=True)
def probe(x):
    return 2.0 * x + 1.0
"""

# a tiny probe kernel; prints the value, the cache statistics and every warning
RUN_PROBE = """\
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from tsrnn._cache_probe import probe
    value = probe(3.0)
    from tsrnn import _cache
print(json.dumps({
    "value": value,
    "hits": sum(probe.stats.cache_hits.values()),
    "misses": sum(probe.stats.cache_misses.values()),
    "cache_dir": _cache.cache_dir(),
    "warnings": [[w.category.__name__, str(w.message)] for w in caught],
}))
"""

# a tiny fit of a real estimator
RUN_FIT = """\
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import numpy as np
    import tsrnn
    from tsrnn import RNNRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(16, 4, 1)).astype(np.float32)
    y = X[:, -1, 0]
    model = RNNRegressor(hidden_size=2, max_iter=2, random_state=0).fit(X, y)
    pred = model.predict(X[:3])
    from tsrnn import _cache
print(json.dumps({
    "file": tsrnn.__file__,
    "pred": [float(v) for v in np.ravel(pred)],
    "cache_dir": _cache.cache_dir(),
    "warnings": [[w.category.__name__, str(w.message)] for w in caught],
}))
"""


def _expected_version():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    return re.search(r'^version\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1)


def _copy_package(dest_parent: Path, probe: bool = True) -> Path:
    """A copy of the tsrnn package under ``dest_parent`` (with the probe kernel)."""
    dest = dest_parent / "tsrnn"
    shutil.copytree(PKG, dest, ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"))
    if probe:
        (dest / "_cache_probe.py").write_text(PROBE, encoding="utf-8")
    return dest


def _env(tmp_path: Path, site: Path, **overrides) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "TSRNN_CACHE_DIR",
            "NUMBA_CACHE_DIR",
            "NUMBA_DISABLE_JIT",
            "NUMBA_CACHE_LOCATOR_CLASSES",
            "PYTHONPATH",
        )
    }
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # so any __pycache__ in the copy would be Numba's
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg")  # never the real user cache
    env["MPLCONFIGDIR"] = str(tmp_path / "mpl")
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = str(value)
    return env


def _run(code: str, env: dict, cwd: Path, timeout: int = 300) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cache_warnings(result: dict) -> list:
    return [
        msg for cat, msg in result["warnings"] if cat == "CacheWarning" or "cache" in msg.lower()
    ]


def _numba_files(folder: Path) -> list:
    return sorted(p for p in folder.rglob("*") if p.suffix in (".nbi", ".nbc"))


def _blocker(tmp_path: Path) -> Path:
    """A regular file: no folder can be created below it, not even by root."""
    path = tmp_path / "afile"
    path.write_text("not a folder\n")
    return path


def test_fit_caches_in_tsrnn_cache_dir_with_version_and_not_in_the_package(tmp_path):
    site = tmp_path / "site"
    pkg = _copy_package(site, probe=False)
    cache = tmp_path / "tsrnn-cache"
    res = _run(RUN_FIT, _env(tmp_path, site, TSRNN_CACHE_DIR=cache), tmp_path)

    assert Path(res["file"]).resolve().parent == pkg.resolve()
    assert len(res["pred"]) == 3 and all(abs(v) < 1e6 for v in res["pred"])
    assert _cache_warnings(res) == []

    files = _numba_files(cache)
    assert any(p.suffix == ".nbi" for p in files) and any(p.suffix == ".nbc" for p in files)
    assert any(p.name.startswith("_kernels.") for p in files)
    # nothing in the package folder (no __pycache__ at all: bytecode writing is off)
    assert _numba_files(pkg) == [] and not list(pkg.rglob("__pycache__"))
    assert not (tmp_path / "xdg").exists()  # TSRNN_CACHE_DIR wins over the user cache

    # (d) one subfolder per tsrnn, Python and Numba version
    version = _expected_version()
    sub = Path(res["cache_dir"])
    assert sub.parent == cache
    py = f"py{sys.version_info[0]}.{sys.version_info[1]}"
    assert sub.name == f"tsrnn-{version}-{py}-numba-{importlib.metadata.version('numba')}"
    assert all(sub in p.parents for p in files)


def _make_read_only(folder: Path):
    for path in [folder, *folder.rglob("*")]:
        mode = 0o555 if path.is_dir() else 0o444
        path.chmod(mode)


def _make_writable(folder: Path):
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def test_read_only_install_and_no_writable_cache_runs_with_one_warning(tmp_path):
    site = tmp_path / "ro-site"
    pkg = _copy_package(site, probe=False)
    blocker = _blocker(tmp_path)
    env = _env(
        tmp_path,
        site,
        HOME=blocker / "home",
        XDG_CACHE_HOME=blocker / "xdg",
        NUMBA_CACHE_DIR=blocker / "numba",
        TSRNN_CACHE_DIR=blocker / "tsrnn",
    )
    _make_read_only(site)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "tsrnn", "--version"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip() == f"tsrnn {_expected_version()}"

        res = _run(RUN_FIT, env, tmp_path)
        assert Path(res["file"]).resolve().parent == pkg.resolve()
        assert len(res["pred"]) == 3 and all(abs(v) < 1e6 for v in res["pred"])
        assert res["cache_dir"] is None
        cache_msgs = _cache_warnings(res)
        assert len(cache_msgs) == 1, res["warnings"]
        [(category, message)] = [w for w in res["warnings"] if w[1] == cache_msgs[0]]
        assert category == "CacheWarning"
        assert "TSRNN_CACHE_DIR" in message and "every new process" in message
        # nothing was written into the package (root could have: permission bits don't stop it)
        assert _numba_files(pkg) == [] and not list(pkg.rglob("__pycache__"))
    finally:
        _make_writable(site)


def _truncate(path: Path, size):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2] if size == "half" else data[:size])


@pytest.mark.parametrize("suffix, size", [(".nbi", 0), (".nbi", "half"), (".nbc", "half")])
def test_truncated_cache_entry_is_removed_and_recompiled(tmp_path, suffix, size):
    site = tmp_path / "site"
    _copy_package(site)
    cache = tmp_path / "tsrnn-cache"
    env = _env(tmp_path, site, TSRNN_CACHE_DIR=cache)

    first = _run(RUN_PROBE, env, tmp_path)
    assert first["value"] == 7.0 and first["misses"] == 1 and first["hits"] == 0
    files = [p for p in _numba_files(cache) if p.name.startswith("_cache_probe.")]
    assert sorted(p.suffix for p in files) == [".nbc", ".nbi"]
    [target] = [p for p in files if p.suffix == suffix]
    _truncate(target, size)

    second = _run(RUN_PROBE, env, tmp_path)
    assert second["value"] == 7.0 and second["misses"] == 1 and second["hits"] == 0
    msgs = _cache_warnings(second)
    assert len(msgs) == 1 and "could not be read" in msgs[0] and str(cache) in msgs[0]

    third = _run(RUN_PROBE, env, tmp_path)  # the entry was written again, whole
    assert third["value"] == 7.0 and third["hits"] == 1 and third["misses"] == 0
    assert _cache_warnings(third) == []


def test_unwritable_tsrnn_cache_dir_falls_back_to_user_cache_with_a_warning(tmp_path):
    site = tmp_path / "site"
    _copy_package(site)
    blocker = _blocker(tmp_path)
    res = _run(RUN_PROBE, _env(tmp_path, site, TSRNN_CACHE_DIR=blocker / "c"), tmp_path)
    assert res["value"] == 7.0
    assert Path(res["cache_dir"]).parent == tmp_path / "xdg" / "tsrnn"
    assert len(_numba_files(tmp_path / "xdg")) == 2
    msgs = _cache_warnings(res)
    assert len(msgs) == 1 and "TSRNN_CACHE_DIR" in msgs[0] and "not a writable" in msgs[0]


def test_numba_cache_dir_is_the_last_resort_and_other_functions_keep_numbas_locators(tmp_path):
    site = tmp_path / "site"
    _copy_package(site)
    other = tmp_path / "other"
    other.mkdir()
    (other / "othermod.py").write_text(
        "import tsrnn._cache  # noqa: F401\nfrom numba import njit\n\n\n"
        "@njit(cache=True)\ndef twice(x):\n    return 2 * x\n"
    )
    blocker = _blocker(tmp_path)
    numba_dir = tmp_path / "numba-cache"
    env = _env(
        tmp_path,
        site,
        HOME=blocker / "home",
        XDG_CACHE_HOME=blocker / "xdg",
        NUMBA_CACHE_DIR=numba_dir,
    )
    env["PYTHONPATH"] += os.pathsep + str(other)
    code = RUN_PROBE.replace(
        "    value = probe(3.0)\n",
        "    value = probe(3.0)\n    import othermod\n    othermod.twice(2)\n",
    )
    res = _run(code, env, tmp_path)
    assert res["value"] == 7.0
    assert _cache_warnings(res) == []  # TSRNN_CACHE_DIR unset: a quiet fallback
    assert Path(res["cache_dir"]).parent == numba_dir / "tsrnn"
    ours = _numba_files(numba_dir / "tsrnn")
    assert sorted(p.name.split(".")[0] for p in ours) == ["_cache_probe", "_cache_probe"]
    # a function outside tsrnn is cached where Numba itself puts it (NUMBA_CACHE_DIR/<folder>)
    theirs = [p for p in _numba_files(numba_dir) if numba_dir / "tsrnn" not in p.parents]
    assert sorted(p.name.split(".")[0] for p in theirs) == ["othermod", "othermod"]


def test_install_is_idempotent_under_reload(tmp_path):
    site = tmp_path / "site"
    _copy_package(site)
    code = RUN_PROBE.replace(
        "    from tsrnn._cache_probe import probe\n",
        "    import importlib\n"
        "    import tsrnn._cache as C\n"
        "    from numba.core import caching\n"
        "    importlib.reload(C); importlib.reload(C)\n"
        "    impl = getattr(caching, 'CacheImpl', None) or caching._CacheImpl\n"
        "    n_loc = sum(getattr(c, '_tsrnn_locator', False) for c in impl._locator_classes)\n"
        "    inner = caching.Cache.load_overload.__wrapped__\n"
        "    assert n_loc == 1 and not getattr(inner, '_tsrnn_wrapped', False), n_loc\n"
        "    from tsrnn._cache_probe import probe\n",
    )
    env = _env(tmp_path, site, TSRNN_CACHE_DIR=tmp_path / "c")
    assert _run(code, env, tmp_path)["misses"] == 1
    res = _run(code, env, tmp_path)
    assert res["value"] == 7.0 and res["hits"] == 1 and _cache_warnings(res) == []


def test_user_cache_dir_per_platform(monkeypatch, tmp_path):
    from tsrnn._cache import user_cache_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == os.path.join(str(tmp_path / "xdg"), "tsrnn")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    assert user_cache_dir() == os.path.join(str(tmp_path / "home"), ".cache", "tsrnn")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert user_cache_dir() == os.path.join(str(tmp_path / "home"), ".cache", "tsrnn")

    monkeypatch.setattr(sys, "platform", "darwin")
    assert user_cache_dir() == os.path.join(str(tmp_path / "home"), "Library", "Caches", "tsrnn")

    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "local"))
    assert user_cache_dir() == os.path.join(str(tmp_path / "local"), "tsrnn", "Cache")


def _first_cached_jit_line(tree):
    """Line of the first ``cache=True`` keyword or ``{"cache": True}`` entry, or None."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "cache":
            if isinstance(node.value, ast.Constant) and node.value.value is True:
                lines.append(node.value.lineno)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if (
                    isinstance(key, ast.Constant)
                    and key.value == "cache"
                    and isinstance(value, ast.Constant)
                    and value.value is True
                ):
                    lines.append(key.lineno)
    return min(lines, default=None)


def _cache_import_line(tree):
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and any(a.name == "_cache" for a in node.names):
            return node.lineno
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("_cache"):
            return node.lineno
        if isinstance(node, ast.Import) and any(a.name == "tsrnn._cache" for a in node.names):
            return node.lineno
    return None


def test_every_module_with_cached_kernels_imports_the_cache_policy_first():
    """Otherwise its kernels would be decorated before the locator is installed (in-tree cache)."""
    checked = []
    for path in sorted(PKG.rglob("*.py")):
        if path.name == "_cache.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        first = _first_cached_jit_line(tree)
        if first is None:
            continue
        checked.append(path.name)
        imported = _cache_import_line(tree)
        assert imported is not None and imported < first, (
            f"{path.relative_to(PKG)}: cache=True on line {first} but tsrnn._cache is not "
            "imported at module level before it"
        )
    assert "_kernels.py" in checked


def test_source_stamp_covers_inlined_sources(tmp_path, monkeypatch):
    """An edit of a file whose functions are inlined into the kernels (the per-element math)
    must invalidate the cached kernels, not only an edit of the kernels' own file."""
    import os

    from tsrnn import _cache, _kernels

    assert any(p.endswith("_elementwise.py") for p in _cache._INLINED_SOURCES)
    # the fused steps (tsrnn._fused) compile the kernels into theirs
    assert any(p.endswith("_kernels.py") for p in _cache._INLINED_SOURCES)
    inlined = tmp_path / "inlined.py"
    inlined.write_text("x = 1\n")
    monkeypatch.setattr(_cache, "_INLINED_SOURCES", (str(inlined),))
    py_func = _kernels.clip_grad_norm.py_func
    locator = _cache._TsrnnCacheLocator.from_function(py_func, py_func.__code__.co_filename)
    before = locator.get_source_stamp()
    inlined.write_text("x = 22\n")  # another size
    os.utime(inlined, (1_000_000_000, 1_000_000_000))  # and another mtime
    assert locator.get_source_stamp() != before
