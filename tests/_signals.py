"""Children that must see Ctrl-C: SIGINT at its default disposition.

A shell without job control starts its background commands with SIGINT ignored (POSIX), and
children inherit an ignored signal across ``exec``: a test run started that way (``pytest &``
in a script) would hand its children a SIGINT they never see, and the tests that send them one
would fail for the environment's sake. Their children start from the default instead.
"""

import signal


def sigint_default():
    """``preexec_fn`` of a child process: SIGINT back to its default (POSIX only)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
