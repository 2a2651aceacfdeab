r"""Progress of long fits on stderr: a tqdm-like bar, per-epoch logs, the cold-cache notice.

No dependency and no scikit-learn here (network layer), so that the forecasting layer, model
selection and the CLI can all use it.

* :class:`ProgressBar`: ``fit lstm:  45%|████▌     | 9/20 epochs [00:12<00:15, 1.33 epoch/s]``.
  On a terminal it redraws in place (``\r``, at most every ``interval`` seconds); on any
  other stream (a log file, CI, a notebook's captured output) it writes a plain line at most
  every ``plain_interval`` seconds, plus a final line. It is thread-safe (several threads may
  call :meth:`~ProgressBar.update`), its ``total`` may shrink while it runs (a member that
  stops early), and it always ends with a final line and a newline: on normal exit, on an
  exception and on KeyboardInterrupt (used as a context manager).
* :func:`epoch_observer`: the epoch loop (:func:`tsrnn._epochs.run_epochs`) reports every
  completed epoch, and its end, to the observer set in the current context (a
  :mod:`contextvars` variable, so every thread of an ensemble reports for its own member).
  :class:`StageProgress` is such an observer for the members of one training stage: a bar at
  ``verbose=1``, a per-epoch log at ``verbose=2``.
* :func:`compile_notice`: once per process, the line ``tsrnn: compiling kernels (first run
  only; ...)`` when the compiled-kernel cache of the kernels about to run is cold.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import threading
import time

__all__ = [
    "ProgressBar",
    "StageProgress",
    "compile_notice",
    "echo",
    "epoch_observer",
    "kernels_cold",
]

logger = logging.getLogger("tsrnn")

_BLOCKS = " ▏▎▍▌▋▊▉█"  # eighths of a bar cell


def format_interval(seconds: float) -> str:
    """``mm:ss``, or ``h:mm:ss`` from an hour on (as tqdm)."""
    seconds = int(max(0.0, seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours:d}:{m:02d}:{s:02d}" if hours else f"{m:02d}:{s:02d}"


def _is_tty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001  (closed or odd streams: not a terminal)
        return False


_lock = threading.RLock()  # one lock for every bar and line written through this module
_active: list = []  # the open bars, innermost last (echo writes above the last TTY one)


def echo(line: str, file=None) -> None:
    """Write ``line`` on ``file`` (stderr), above a bar being redrawn there, if any."""
    stream = sys.stderr if file is None else file
    with _lock:
        for bar in reversed(_active):
            if bar.file is stream and bar.tty:
                bar.write(line)
                return
        stream.write(line + "\n")
        stream.flush()


class ProgressBar:
    """A thread-safe, tqdm-like progress bar.

    Parameters
    ----------
    total : int
        Number of steps expected; may change later (:meth:`add_total`).
    desc : str, default=''
        Description in front of the bar.
    unit : str, default='it'
        Name of one step (shown as ``9/20 epochs`` and ``1.3 epoch/s``).
    file : stream or None, default=None
        Where to write; ``sys.stderr`` when None.
    tty : bool or None, default=None
        Whether to redraw in place; None asks ``file.isatty()``.
    clock : callable, default=time.monotonic
        Seconds, for the elapsed and remaining times (injectable for tests).
    interval : float, default=0.1
        Least seconds between two redraws on a terminal.
    plain_interval : float, default=10.0
        Least seconds between two lines on a stream that is not a terminal.
    width : int, default=10
        Cells of the bar.
    """

    def __init__(
        self,
        total,
        desc="",
        unit="it",
        *,
        file=None,
        tty=None,
        clock=time.monotonic,
        interval=0.1,
        plain_interval=10.0,
        width=10,
    ):
        self.total = max(0, int(total))
        self.desc = desc
        self.unit = unit
        self.file = sys.stderr if file is None else file
        self.tty = _is_tty(self.file) if tty is None else bool(tty)
        self.clock = clock
        self.interval = interval
        self.plain_interval = plain_interval
        self.width = width
        self.n = 0
        self.closed = False
        self.start = clock()
        # (time, count) of the first update: the rate is measured from there, so the first
        # step's cost (on a cold cache, the kernels' compilation) does not inflate the
        # remaining time of all the others
        self._first = None
        self._last_draw = -float("inf")
        self._last_plain = self.start
        self._drawn = 0  # length of the line on screen (terminal)
        with _lock:
            _active.append(self)
            if self.tty:
                self._draw(self.start)

    # -- text --

    def format(self, now=None, status=None) -> str:
        """The bar's line at time ``now`` (the clock's time when None)."""
        now = self.clock() if now is None else now
        elapsed = max(0.0, now - self.start)
        n, total = self.n, self.total
        frac = min(1.0, n / total) if total else (1.0 if self.closed else 0.0)
        eighths = int(frac * self.width * 8)
        full, part = divmod(eighths, 8)
        bar = "█" * full
        if full < self.width:
            bar += (_BLOCKS[part] if part else " ") + " " * (self.width - full - 1)
        mean = n / elapsed if n and elapsed > 0 else None
        steady = None  # the rate since the first update (its cost may be a compilation)
        if self._first is not None:
            t1, n1 = self._first
            steady = (n - n1) / (now - t1) if n > n1 and now > t1 else None
        rate = steady if steady is not None else mean
        if rate is None:
            remaining, speed = "?", f"? {self.unit}/s"
        else:
            if steady is not None or self._first is None or n >= total:
                remaining = format_interval(max(0, total - n) / rate)
            else:  # one update so far: its time may be compilation, not a step's
                remaining = "?"
            if rate >= 1:
                speed = f"{rate:.2f} {self.unit}/s"
            else:
                speed = f"{1 / rate:.2f}s/{self.unit}"
        prefix = f"{self.desc}: " if self.desc else ""
        line = (
            f"{prefix}{frac * 100:3.0f}%|{bar}| {n}/{total} {self.unit}s "
            f"[{format_interval(elapsed)}<{remaining}, {speed}]"
        )
        return f"{line} {status}" if status else line

    # -- drawing (callers hold _lock) --

    def _emit(self, text: str, newline: bool) -> None:
        try:
            if self.tty:
                pad = " " * max(0, self._drawn - len(text))
                self.file.write("\r" + text + pad + ("\n" if newline else ""))
                self._drawn = 0 if newline else len(text)
            else:
                self.file.write(text + "\n")
            self.file.flush()
        except (OSError, ValueError):  # a closed or broken stream never fails a fit
            pass

    def _draw(self, now, status=None, newline=False) -> None:
        self._last_draw = now
        self._emit(self.format(now, status), newline)

    def _refresh(self) -> None:
        now = self.clock()
        if self.tty:
            if now - self._last_draw >= self.interval or self.n >= self.total:
                self._draw(now)
        elif now - self._last_plain >= self.plain_interval:
            self._last_plain = now
            self._draw(now)

    # -- public --

    def update(self, n=1) -> None:
        """Count ``n`` more steps done (a no-op once closed)."""
        with _lock:
            if self.closed:
                return
            self.n += n
            if self._first is None and self.n > 0:
                self._first = (self.clock(), self.n)
            self._refresh()

    def add_total(self, delta) -> None:
        """Change the expected total by ``delta`` (negative: fewer steps than planned)."""
        with _lock:
            if self.closed:
                return
            self.total = max(self.n, self.total + int(delta))
            self._refresh()

    def write(self, line: str) -> None:
        """Write ``line`` above the bar (on a terminal the bar is drawn again below it)."""
        with _lock:
            if self.tty and not self.closed:
                self._emit(line, newline=True)
                self._draw(self.clock())
            else:
                self._emit(line, newline=False)

    def close(self, status=None) -> None:
        """Write the final line (with ``status``, e.g. 'interrupted') and a newline."""
        with _lock:
            if self.closed:
                return
            self.closed = True
            if self in _active:
                _active.remove(self)
            self._draw(self.clock(), status, newline=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif issubclass(exc_type, KeyboardInterrupt):
            self.close("interrupted")
        else:
            self.close("failed")
        return False


# ---------------------------------------------------------------------------------------------
# epoch observers: how the epoch loop reports to whoever is watching
# ---------------------------------------------------------------------------------------------

_OBSERVER = contextvars.ContextVar("tsrnn_epoch_observer", default=None)


def epoch_observer():
    """The observer of the epoch loops in this context, or None.

    An observer has ``epoch(number, loss, score, seconds)`` (called after every completed
    epoch; ``score`` is None without a validation set) and ``done(n_epochs, stop)`` (called
    once when the loop ends, with the completed epochs and :class:`~tsrnn._epochs.EpochHistory`
    ``stop``).
    """
    return _OBSERVER.get()


@contextlib.contextmanager
def observing(observer):
    """Within this block, the epoch loops of this context report to ``observer``."""
    token = _OBSERVER.set(observer)
    try:
        yield observer
    finally:
        _OBSERVER.reset(token)


_STOPS = {
    "max_iter": "epoch budget reached",
    "no_change": "no improvement",
    "non_finite": "non-finite loss",
    "diverged": "diverged",
    "interrupted": "interrupted",
}


class _Member:
    """The observer of one member's epoch loop."""

    def __init__(self, stage, k, budget):
        self.stage, self.k, self.budget = stage, k, budget

    def _label(self):
        n = self.stage.n_members
        return f"member {self.k + 1}/{n}, " if n > 1 else ""

    def epoch(self, number, loss, score, seconds):
        stage = self.stage
        if stage.closed:  # a member left running in the background after Ctrl-C
            return
        if stage.bar is not None:
            stage.bar.update(1)
        if stage.verbose >= 2:
            text = f"  {self._label()}epoch {number}: loss {loss:.6f}"
            if score is not None:
                text += f", validation score {score:.6f}"
            echo(f"{text}, {seconds:.3f}s", stage.file)

    def done(self, n_epochs, stop):
        stage = self.stage
        if stage.closed:
            return
        if stage.bar is not None and n_epochs < self.budget:
            stage.bar.add_total(n_epochs - self.budget)
        if stage.verbose >= 2:
            why = _STOPS.get(stop, stop)
            echo(f"  {self._label()}stopped after {n_epochs} epochs ({why})", stage.file)


class StageProgress:
    """Progress of one training stage of ``len(budgets)`` members (an ensemble).

    ``verbose=1``: a bar over ``sum(budgets)`` epochs (members x epochs), whose total shrinks
    when a member stops early; ``verbose=2``: a header naming the stage, then one line per
    epoch (prefixed with the member when there are several, which train concurrently) and
    one when a member stops; ``verbose=0``: nothing. Use as a context manager around the stage,
    and :meth:`member` around each member's fit.
    """

    def __init__(self, name, budgets, verbose, *, unit="epoch", file=None, header=None):
        self.name = name
        self.budgets = [int(b) for b in budgets]
        self.n_members = len(self.budgets)
        self.verbose = int(verbose)
        self.file = sys.stderr if file is None else file
        self.bar = None
        self.closed = False
        self._header = header
        self._unit = unit

    def __enter__(self):
        if self.verbose >= 2:
            echo(f"tsrnn: {self._header or self.name}", self.file)
        elif self.verbose == 1:
            self.bar = ProgressBar(sum(self.budgets), self.name, self._unit, file=self.file)
        return self

    def __exit__(self, exc_type, exc, tb):
        self.closed = True  # members still running (abandoned after Ctrl-C) stay silent
        if self.bar is not None:
            self.bar.__exit__(exc_type, exc, tb)
        return False

    def member(self, k):
        """Context manager: the epoch loops inside report as member ``k`` (0-based)."""
        if self.verbose <= 0:
            return contextlib.nullcontext()
        return observing(_Member(self, k, self.budgets[k]))


# ---------------------------------------------------------------------------------------------
# the cold-cache notice
# ---------------------------------------------------------------------------------------------

# the CPU kernels a network's training and prediction run, besides the cell's own
_SHARED_KERNELS = (
    "input_projection",
    "weight_gradients",
    "bias_gradient",
    "head_forward",
    "head_backward",
)
_noticed = []  # one element once the notice was given in this process


def _dispatcher_cold(dispatcher, dtype: str) -> bool:
    """Whether ``dispatcher`` must be compiled for ``dtype``: in memory or in its disk cache."""
    if any(dtype in str(sig) for sig in dispatcher.overloads):
        return False
    cache = getattr(dispatcher, "_cache", None)
    cache_file = getattr(cache, "_cache_file", None)
    if cache_file is None:  # no disk cache: compiled in every process
        return True
    try:
        overloads = cache_file._load_index()  # {} when missing or for another source stamp
    except Exception:  # noqa: BLE001  (unreadable: the cache layer recompiles it)
        return True
    return not any(dtype in str(key[0]) for key in overloads)


def kernels_cold(cell: str, dtype: str = "float32") -> bool:
    """Whether the CPU training kernels of ``cell`` for ``dtype`` are not compiled yet.

    True when one of them is neither compiled in this process nor in the compiled-kernel cache
    (:mod:`tsrnn._cache`) for the current source of the kernels: its index file is missing,
    holds another source stamp, or has no entry for ``dtype``. Reads the index files only
    (a few small pickles); compiles nothing.
    """
    from . import _kernels

    names = (f"{cell}_forward", f"{cell}_backward", f"{cell}_infer", *_SHARED_KERNELS)
    for name in names:
        dispatcher = getattr(_kernels, name, None)
        if dispatcher is not None and _dispatcher_cold(dispatcher, dtype):
            return True
    return False


def compile_notice(cell: str, dtype: str = "float32", *, show=True, file=None) -> bool:
    """Say once per process that the kernels are being compiled, when their cache is cold.

    ``show=True`` writes the line on ``file`` (stderr); otherwise it goes to the ``'tsrnn'``
    logger at INFO level. Returns whether the notice was given by this call.
    """
    if _noticed:
        return False
    try:
        cold = kernels_cold(cell, dtype)
    except Exception:  # noqa: BLE001  (a notice must never fail a fit)
        return False
    if not cold:
        return False
    _noticed.append(True)
    from ._cache import cache_dir

    where = cache_dir()
    kept = f"cached afterwards in {where}" if where else "not cached: no writable folder"
    message = f"tsrnn: compiling kernels (first run only; about a minute, {kept})"
    if show:
        echo(message, file)
    else:
        logger.info(message)
    return True
