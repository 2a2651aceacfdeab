"""Sliding windows: kept importable here; they live in :mod:`tsrnn.forecasting._windows`.

The windowing is a stage of the forecasting data flow, so the code moved into the forecasting
package. This module re-exports it for code that imports ``tsrnn._windows``.
"""

from .forecasting._windows import (  # noqa: F401
    assemble_inputs,
    gather_windows,
    make_windows,
    window_origins,
)

__all__ = ["make_windows", "window_origins"]
