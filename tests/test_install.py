"""The README's install sequence, in a fresh virtual environment.

``pip install .`` then a forecast (which compiles and caches the kernels, saying so once on
stderr; a second forecast does not), then
``pip install -e ".[test]"``: the editable install must work from any folder.
Before tsrnn cached its kernels outside the package, the first run left Numba's
cache files in ``site-packages/tsrnn/__pycache__``; the uninstall done by the
editable install left that folder behind, Python imported it as an empty
namespace package, and ``tsrnn --help`` failed everywhere but in the repository.

Offline and quick: the new environment sees the test interpreter's installed
packages (numba, pandas, setuptools, pip, ...) through a folder of symbolic
links that leaves out tsrnn itself, so the only tsrnn there is the one this
test installs, with ``--no-deps --no-build-isolation`` and no package index.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BIN = "Scripts" if os.name == "nt" else "bin"


def _excluded(entry: Path) -> bool:
    name = entry.name.lower()
    if name.startswith(("tsrnn", "__editable__", "__pycache__")) or name.endswith(".egg-link"):
        return True
    if name.endswith(".pth"):
        try:
            text = entry.read_text(errors="replace")
        except OSError:
            return True
        return "tsrnn" in text or str(ROOT) in text
    return False


def _overlay(dest: Path) -> list:
    """Folders of links to the test interpreter's site-packages, tsrnn left out."""
    site_dirs = []
    for p in sys.path:
        if p and os.path.basename(p) in ("site-packages", "dist-packages") and os.path.isdir(p):
            real = os.path.realpath(p)
            if real not in site_dirs:
                site_dirs.append(real)
    assert site_dirs, sys.path
    out = []
    for i, src in enumerate(site_dirs):
        folder = dest / f"site{i}"
        folder.mkdir(parents=True)
        for entry in Path(src).iterdir():
            if not _excluded(entry):
                (folder / entry.name).symlink_to(entry)
        out.append(folder)
    return out


def _source_copy(dest: Path) -> Path:
    """What a clone holds that the build needs (the repository itself stays untouched)."""
    dest.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc", "*.egg-info", "build")
    for name in ("tsrnn", "datasets"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    for path in ROOT.iterdir():
        if path.is_file() and (
            path.name in ("pyproject.toml", "README.md")
            or path.name.startswith(("LICENSE", "setup.", "MANIFEST"))
        ):
            shutil.copy2(path, dest / path.name)
    return dest


def _run(args, env, cwd, timeout=600, stderr=False):
    proc = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )
    assert proc.returncode == 0, f"{args}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return (proc.stdout, proc.stderr) if stderr else proc.stdout


def test_readme_install_sequence_then_editable_install_works_from_any_folder(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    py = venv / BIN / ("python.exe" if os.name == "nt" else "python")

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PIP_", "PYTHON", "TSRNN_", "NUMBA_CACHE", "VIRTUAL_ENV", "CONDA"))
    }
    env.update(
        {
            "PATH": str(venv / BIN) + os.pathsep + os.environ.get("PATH", ""),
            "VIRTUAL_ENV": str(venv),
            "XDG_CACHE_HOME": str(tmp_path / "xdg"),  # the platform cache folder, isolated
            "MPLCONFIGDIR": str(tmp_path / "mpl"),
            "PIP_NO_INDEX": "1",  # nothing is downloaded
            "PIP_NO_CACHE_DIR": "1",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIP_CONFIG_FILE": os.devnull,
        }
    )
    purelib = Path(
        _run(
            [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env, tmp_path
        ).strip()
    )
    overlay = _overlay(tmp_path / "overlay")
    (purelib / "_tsrnn_test_overlay.pth").write_text(
        "".join(f"import site; site.addsitedir({str(p)!r})\n" for p in overlay)
    )
    # the new environment has no tsrnn yet, and has tsrnn's dependencies
    probe = "import importlib.util as u; print(u.find_spec('tsrnn'), u.find_spec('numba') is None)"
    assert _run([py, "-c", probe], env, "/").split() == ["None", "False"]

    src = _source_copy(tmp_path / "src")
    pip = [py, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "--quiet"]

    # 1. pip install . && tsrnn forecast ... (tiny settings: compiles and caches the kernels)
    _run([*pip, src], env, src)
    installed = purelib / "tsrnn"
    assert (installed / "__init__.py").is_file()
    work = tmp_path / "work"
    work.mkdir()
    command = [
        venv / BIN / "tsrnn",
        "forecast",
        "--dataset",
        "air_passengers",
        "--horizon",
        "12",
        "--max-iter",
        "1",
        "--hidden-size",
        "4",
    ]
    _, err = _run([*command, "--output", "fc.csv", "--plot", "fc.png"], env, work, stderr=True)
    # the cache is cold: the one-line notice, once, then the progress bars (stderr)
    notice = "tsrnn: compiling kernels (first run only; about a minute, cached afterwards in "
    assert err.count(notice) == 1, err
    assert "fit lstm: 100%|" in err, err
    fc = pd.read_csv(work / "fc.csv")
    assert len(fc) == 12 and "yhat" in fc.columns
    assert (work / "fc.png").read_bytes().startswith(b"\x89PNG")
    # the kernels were cached in the user cache folder, nothing in site-packages
    cached = list((tmp_path / "xdg" / "tsrnn").rglob("*.nbi"))
    assert cached, "no kernel was cached in the user cache folder"
    assert not [p for p in installed.rglob("*") if p.suffix in (".nbi", ".nbc")]
    # a second run finds them: no notice, the bars still there
    _, err = _run(command, env, work, stderr=True)
    assert "compiling kernels" not in err and "fit lstm: 100%|" in err, err

    # 2. pip install -e ".[test]": the uninstall of the copy above leaves nothing behind
    _run([*pip, "-e", f"{src}[test]"], env, src)
    assert not installed.exists(), sorted(str(p) for p in installed.rglob("*"))

    # and tsrnn works from any folder, not only from the repository
    assert "forecast" in _run([venv / BIN / "tsrnn", "--help"], env, "/")
    where = _run(
        [
            py,
            "-c",
            "import tsrnn; from tsrnn import RNNForecaster; "
            "print(tsrnn.__file__, RNNForecaster.__name__)",
        ],
        env,
        "/",
    ).split()
    assert Path(where[0]).resolve() == (src / "tsrnn" / "__init__.py").resolve()
    assert where[1] == "RNNForecaster"

    # pip uninstall leaves nothing of tsrnn in site-packages
    _run([py, "-m", "pip", "uninstall", "--yes", "--quiet", "tsrnn"], env, "/")
    left = [
        p.name
        for p in purelib.iterdir()
        if "tsrnn" in p.name.lower() and p.name != "_tsrnn_test_overlay.pth"
    ]
    assert left == []
