"""``python -m tsrnn``: the same as the ``tsrnn`` command (see :mod:`tsrnn.cli`)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
