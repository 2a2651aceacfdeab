"""Files the ``tsrnn`` command reads and writes: checked before any work, written atomically.

:func:`_check_input` turns a missing, folder or unreadable input file into one line;
:func:`_check_outputs` checks every file the command will write (``--output``, ``--plot``,
``--save``) before any data is read or any model fitted: its folder exists and is writable,
it is not a folder nor one of the input files, a plot has an image extension.
:func:`_write_atomic` writes to a temporary name and renames, so an interrupted run leaves no
half-written file.
"""

from __future__ import annotations

import os
from pathlib import Path

from ._errors import _CliError, _short

# file extensions matplotlib writes (--plot), without importing it
_PLOT_SUFFIXES = (
    ".png",
    ".pdf",
    ".svg",
    ".svgz",
    ".jpg",
    ".jpeg",
    ".eps",
    ".ps",
    ".tif",
    ".tiff",
    ".webp",
    ".pgf",
)


def _same_file(a: str, b: str) -> bool:
    try:
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _check_input(path: str, what: str) -> None:
    """One-line errors for an input file that is missing, a folder or unreadable."""
    if not os.path.exists(path):
        raise _CliError(f"file not found: {_short(path, 200)[1:-1]} ({what})")
    if os.path.isdir(path):
        raise _CliError(f"{what} {_short(path)} is a folder, not a file")
    if not os.access(path, os.R_OK):
        raise _CliError(f"cannot read {what} {_short(path)}: permission denied")


def _check_outputs(args, inputs: list) -> None:
    """Check every file the command will write, before any work is done."""
    outputs = [
        (flag, getattr(args, attr, None))
        for flag, attr in (("--output", "output"), ("--plot", "plot"), ("--save", "save"))
    ]
    outputs = [(flag, path) for flag, path in outputs if path is not None]
    for flag, path in outputs:
        if not path.strip():
            raise _CliError(f"{flag} needs a file name")
        target = Path(path)
        if target.is_dir() or path.endswith(("/", os.sep)):
            raise _CliError(f"{flag} {_short(path)} is a folder; give a file name in it")
        folder = target.parent
        if not folder.exists():
            raise _CliError(
                f"{flag} {_short(path)}: the folder {_short(str(folder))} does not exist"
            )
        if not folder.is_dir():
            raise _CliError(f"{flag} {_short(path)}: {_short(str(folder))} is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise _CliError(
                f"{flag} {_short(path)}: cannot write to the folder "
                f"{_short(str(folder))} (permission denied)"
            )
        if target.exists() and not os.access(target, os.W_OK):
            raise _CliError(f"{flag} {_short(path)}: the file is not writable")
        for in_flag, source in inputs:
            if source is not None and _same_file(path, source):
                raise _CliError(
                    f"{flag} {_short(path)} is the input file ({in_flag}); writing there "
                    "would overwrite your data; choose another file name"
                )
        if flag == "--plot" and target.suffix.lower() not in _PLOT_SUFFIXES:
            raise _CliError(
                f"--plot {_short(path)}: unknown image type {_short(target.suffix or '(none)')};"
                f" use one of {', '.join(_PLOT_SUFFIXES[:6])}..."
            )
    for i, (flag, path) in enumerate(outputs):
        for other, other_path in outputs[i + 1 :]:
            if _same_file(path, other_path):
                raise _CliError(f"{flag} and {other} are the same file {_short(path)}")
    if getattr(args, "plot", None):
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise _CliError("--plot needs matplotlib: pip install matplotlib")


def _write_atomic(path: str, write) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``path``, then rename it to ``path``."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp{target.suffix}")
    try:
        write(str(tmp))
        os.replace(tmp, target)
    except BaseException:
        try:
            tmp.unlink()
        except FileNotFoundError:
            pass
        raise
