"""Error messages of the ``tsrnn`` command: one line, short values, CLI flags.

:class:`_CliError` is an error reported to the user as one ``tsrnn: error: ...`` line without
a traceback. :func:`_short`, :func:`_names` and :func:`_one_line` cut values, column lists and
whole messages to readable lengths; :func:`_flags` translates the forecaster's messages, which
name its Python parameters (``fill_method='ffill'``, ``X_future``), into the command's flags
(``--fill-method ffill``, the ``--future-covariates`` data); :func:`_warn_line` shows a
warning the same way, as one ``tsrnn: warning: ...`` line.
"""

from __future__ import annotations

import re
import sys

_SHOW = 80  # longest value echoed in an error message
_MAX_MESSAGE = 600  # longest error message


class _CliError(Exception):
    """An error to report to the user as one line, without a traceback."""


def _short(value, limit: int = _SHOW) -> str:
    """``repr(value)`` cut to about ``limit`` characters."""
    text = repr(value) if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _names(columns, limit: int = _SHOW) -> str:
    """A list of column names for a message, cut to about ``limit`` characters."""
    shown, size = [], 0
    for c in columns:
        item = _short(str(c), 30)
        if shown and size + len(item) > limit:
            return ", ".join(shown) + f", ... ({len(columns)} columns)"
        shown.append(item)
        size += len(item) + 2
    return ", ".join(shown)


def _one_line(message: str) -> str:
    """The message on one line, long words and the whole cut to readable lengths."""
    words = [w if len(w) <= _SHOW else w[: _SHOW - 3] + "..." for w in str(message).split()]
    text = " ".join(words)
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 3] + "..."


# Python parameters of the forecaster -> the CLI flag that sets them
_FLAGS = {
    "fill_method": "--fill-method",
    "freq": "--freq",
    "window": "--window",
    "horizon": "--horizon",
    "h": "--horizon",
    "log": "--log",
    "deseasonalize": "--deseasonalize",
    "past_covariates": "--past-covariates",
    "cell": "--cell",
    "strategy": "--strategy",
    "loss": "--loss",
    "hidden_size": "--hidden-size",
    "max_iter": "--max-iter",
    "n_models": "--n-models",
    "random_state": "--seed",
    "season_length": "--season-length",
    "level": "--level",
    "learning_rate_init": "--learning-rate",
    "validation_fraction": "--validation-fraction",
    "early_stopping": "--no-early-stopping",
    "initial": "--initial",
}
_PARAMS = "|".join(sorted(_FLAGS, key=len, reverse=True))
_ASSIGN = re.compile(rf"\b({_PARAMS})=('[^']*'|\"[^\"]*\"|[^\s,;()]+)?")
_NAMED = re.compile(
    r"\b(window|horizon|season_length|validation_fraction|learning_rate_init)\b"
    r"(?= [=+<>]| or | and |\))"
)
_SHORTER = re.compile(
    r"\b(shorter|smaller|longer|larger|lower|higher) (window|horizon|learning_rate_init|initial)\b",
    re.IGNORECASE,
)
_VALUE_WORDS = {"True": "yes", "False": "no"}
_FILL_VALUES = re.compile(r"'(ffill|interpolate|zero)'")


def _flags(message: str) -> str:
    """Name CLI flags where the forecaster's message names its Python parameters.

    ``pass fill_method='ffill'`` becomes ``pass --fill-method ffill``, ``freq=`` ``--freq``,
    ``log=False`` ``--log no``, ``X_future`` the ``--future-covariates`` file.
    """
    if "h=" in message:  # "h=30 exceeds horizon=12": the second is the fitted horizon
        message = re.sub(r"\bhorizon=(\S+)", r"the model's horizon \1", message)

    def assign(m):
        flag, value = _FLAGS[m.group(1)], m.group(2)
        if value is None:
            return flag
        value = value.strip("'\"")
        if m.group(1) == "early_stopping":
            return flag if value == "False" else "early stopping (the default)"
        return f"{flag} {_VALUE_WORDS.get(value, value)}"

    message = message.replace("(see series_models_)", "(listed in the summary of tsrnn fit)")
    message = re.sub(r"\bpass quantiles=None\b", "drop --quantiles", message)
    message = re.sub(r"\bquantiles=(\[[^\]]*\]|\([^)]*\))", r"--quantiles \1", message)
    message = _ASSIGN.sub(assign, message)
    message = _NAMED.sub(lambda m: _FLAGS[m.group(1)], message)
    message = _SHORTER.sub(lambda m: f"{m.group(1)} {_FLAGS[m.group(2).lower()]}", message)
    if "--fill-method" in message:
        message = _FILL_VALUES.sub(r"\1", message)
    message = re.sub(r"(--[a-z-]+ [^\s,;()']+) or '([^']*)'", r"\1 or \2", message)
    message = re.sub(r"(?<![\w'\"])X_future\b(?!['\"])", "the --future-covariates data", message)
    message = re.sub(r"(?<![\w'\"])X column\b", "covariate column", message)
    message = re.sub(
        r"(?<![\w'\"])X(?= (?:has|is|does|must|was|were|covers)\b)", "the covariate data", message
    )
    return message


def _warn_line(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command: one ``tsrnn: warning:`` line."""
    print(f"tsrnn: warning: {_one_line(_flags(str(message)))}", file=file or sys.stderr)
