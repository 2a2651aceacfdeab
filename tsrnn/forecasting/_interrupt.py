"""Ctrl-C aborts a forecaster's ``fit``, also when it arrives inside a network's epoch loop.

The estimators of :mod:`tsrnn.estimators` treat a KeyboardInterrupt inside their epoch loop
like scikit-learn's MLP: they keep the best weights so far, warn and return. For a forecaster
that would mean carrying on silently with a half-trained member. So while a forecaster fits,
:func:`interrupt_guard`

* runs inside :func:`tsrnn._epochs.propagate_interrupts`, where the epoch loop lets a
  KeyboardInterrupt propagate (the estimator being trained keeps its previous state), and
* as a second line, counts the SIGINTs that reach Python's default handler (it chains to that
  handler, which still raises KeyboardInterrupt where the signal lands), so that
  :func:`raise_if_interrupted` -- called after every member and at the end of ``fit`` --
  raises KeyboardInterrupt when one arrived, whoever caught it.

The forecaster then keeps its previous state (see :meth:`BaseForecaster.fit
<tsrnn.forecasting.BaseForecaster.fit>`). The handler is installed only from the main thread
(the only one Python delivers signals to) and only over Python's own default handler; a
program with its own SIGINT handler keeps it.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager

from .._epochs import propagate_interrupts

_count = 0  # SIGINTs seen by the handler, process-wide
_state = threading.local()  # the guards active in this thread (their start counts)


def _handler(signum, frame):
    global _count
    _count += 1
    signal.default_int_handler(signum, frame)  # raises KeyboardInterrupt


def _install() -> bool:
    """Put the counting handler over Python's default one (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        if signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
            return False  # a handler of the program's own, or already ours (nested fits)
        signal.signal(signal.SIGINT, _handler)
    except (ValueError, OSError):  # e.g. no signal support in this interpreter
        return False
    return True


@contextmanager
def interrupt_guard():
    """Count the SIGINTs during the block, and let epoch loops propagate KeyboardInterrupt."""
    stack = _state.__dict__.setdefault("starts", [])
    stack.append(_count)
    installed = False
    try:
        installed = _install()
        with propagate_interrupts():
            yield
    finally:
        stack.pop()
        if installed and signal.getsignal(signal.SIGINT) is _handler:
            signal.signal(signal.SIGINT, signal.default_int_handler)


def raise_if_interrupted() -> None:
    """Raise KeyboardInterrupt if a SIGINT arrived since the innermost guard began."""
    stack = getattr(_state, "starts", None)
    if stack and _count != stack[-1]:
        raise KeyboardInterrupt(
            "fit interrupted (Ctrl-C): the forecaster keeps its state from before this call"
        )
