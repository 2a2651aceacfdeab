"""The materialised windows of the forecaster before streaming: the tests' reference.

Until 2026-11-30 the forecaster built every training window as arrays
(``WindowLayout.windows``, ``split_windows``, ``all_windows`` in ``tsrnn.forecasting._windows``);
it now streams them (``tsrnn.forecasting._stream.WindowSource``). These functions, moved here
unchanged, are the independent reference the streamed windows, splits and fits are checked
against (tests/test_stream_windows.py, tests/test_forecasting_stages.py).
"""

from __future__ import annotations

import numpy as np

from tsrnn.forecasting._time import _ordinals
from tsrnn.forecasting._windows import (
    CalibrationOrigins,
    WindowLayout,  # noqa: F401  (annotations)
    WindowSet,
    WindowSplit,
    assemble_inputs,
    gather_windows,
    holdout_counts,
    window_origins,
)


def layout_windows(layout, p, origins):
    """Normalised training windows of one series at ``origins``: ``(X, Y)``."""
    L, H, E = layout.window, layout.out_len, layout.extension
    starts = origins - L + 1
    target = gather_windows(p.d, starts, L)
    loc = layout.transform.window_loc(target, np.full(len(origins), p.stats.loc))
    scale = np.full(len(origins), p.stats.scale)
    X = assemble_inputs(
        target,
        gather_windows(p.past, starts, L),
        gather_windows(p.future, starts, L + E),
        loc,
        scale,
        E,
    )
    Y = (gather_windows(p.d, origins + 1, H) - loc[:, None]) / scale[:, None]
    return X, Y


def _stack_sorted(parts) -> WindowSet | None:
    """Concatenate (X, Y, end_ordinal) parts and sort the rows by end time (stable)."""
    if not parts:
        return None
    X = np.concatenate([p[0] for p in parts])
    Y = np.concatenate([p[1] for p in parts])
    ends = np.concatenate([p[2] for p in parts])
    order = np.argsort(ends, kind="stable")
    return WindowSet(X[order], Y[order])


def split_windows(
    prepared, layout: WindowLayout, kind: str, validation_fraction: float, early_stopping: bool
) -> WindowSplit:
    """Stage-1 training and held-out windows of a panel, and the calibration origins.

    The latest ``ceil(validation_fraction * n)`` forecast origins of every series are held out;
    training windows whose targets overlap the held-out period are dropped, so the held-out
    residuals are honest. Windows are sorted by the time of their last target.

    Parameters
    ----------
    prepared : list of PreparedSeries
        The panel after the transform and feature stages.
    layout : WindowLayout
        Window shape and normalisation.
    kind : str
        The index kind, to order windows in time across series.
    validation_fraction : float
        Share of each series' latest origins held out; 0 holds nothing out.
    early_stopping : bool
        Whether the hold-out is required (then series too short for it are an error).

    Returns
    -------
    WindowSplit
    """
    if validation_fraction == 0:
        return WindowSplit(None, None, [])
    L, H, Hc = layout.window, layout.out_len, layout.horizon
    parts = {"train": [], "val": []}
    calib = []
    ks = holdout_counts(prepared, layout, validation_fraction)
    for pos, p in enumerate(prepared):
        n = len(p.d)
        origins = window_origins(n, L, H)
        cal_origins = window_origins(n, L, Hc)
        first_val = cal_origins[-ks[pos]]
        val_o = origins[origins >= first_val]
        train_o = origins[origins + H <= first_val]
        calib.append(CalibrationOrigins(pos, cal_origins[-ks[pos] :]))
        ords = _ordinals(p.series.index, kind)
        for key, o in (("train", train_o), ("val", val_o)):
            if len(o):
                X, Y = layout_windows(layout, p, o)
                parts[key].append((X, Y, ords[o + H]))
    n_train = sum(len(part[0]) for part in parts["train"])
    if n_train < 2 and not early_stopping:
        # a network fitted without early stopping needs two rows: no stage-1 hold-out then
        return WindowSplit(None, None, [])
    if not parts["train"]:
        if early_stopping:
            raise ValueError(
                "the series are too short to hold out their latest windows for early "
                f"stopping (window={L}, horizon={Hc}); use a shorter window, or set "
                "early_stopping=False and validation_fraction=0"
            )
        return WindowSplit(None, None, [])
    return WindowSplit(_stack_sorted(parts["train"]), _stack_sorted(parts["val"]), calib)


def all_windows(prepared, layout: WindowLayout, kind: str) -> WindowSet:
    """Every training window of every series, sorted by the time of its last target."""
    parts = []
    for p in prepared:
        origins = window_origins(len(p.d), layout.window, layout.out_len)
        X, Y = layout_windows(layout, p, origins)
        parts.append((X, Y, _ordinals(p.series.index, kind)[origins + layout.out_len]))
    return _stack_sorted(parts)
