"""The forecaster's report: held-out comparison with the baselines, and ``summary()``'s text.

:func:`holdout_comparison` takes the forecasts from the stage-1 held-out origins that the
calibration scored (:func:`~tsrnn.forecasting._rollout.holdout_roll_outs`), maps them back to the
data's scale and scores them beside the naive and seasonal naive forecasts from the same
origins. :func:`render_summary` formats a fitted
:class:`~tsrnn.forecasting.RNNForecaster` as plain text.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import mae, smape
from ._transforms import is_constant
from ._windows import WindowLayout, gather_windows

_ROWS = ("network", "naive", "seasonal_naive")


def holdout_forecasts(layout: WindowLayout, prepared, calib, preds, season_length: int):
    """Actuals and forecasts of every held-out origin, on the data's scale.

    Parameters
    ----------
    layout : WindowLayout
        Window shape and normalisation.
    prepared : list of PreparedSeries
        The network's series after the transform and feature stages.
    calib : list of CalibrationOrigins
        The held-out origins of each series.
    preds : list of numpy.ndarray
        The stage-1 ensemble's forecasts from those origins, in normalised units
        (:func:`~tsrnn.forecasting._rollout.holdout_roll_outs`, as the calibration used).
    season_length : int
        Seasonal period ``m`` of the seasonal naive forecast.

    Returns
    -------
    dict of numpy.ndarray of shape (n_origins, horizon)
        ``'actual'``, ``'network'``, ``'naive'`` (the value at the origin) and
        ``'seasonal_naive'`` (the last season before the first target; NaN rows where the
        origin has less than one season of history).
    """
    Hc = layout.horizon
    m = season_length
    steps = np.arange(Hc)
    lag = m * (steps // m + 1)  # y[o + 1 + k - lag_k]: the same season, last observed
    out = {name: [] for name in ("actual",) + _ROWS}
    for c, pred in zip(calib, preds):
        origins = c.origins
        if len(origins) == 0:
            continue
        p = prepared[c.series_pos]
        y = np.asarray(p.series.y, dtype=np.float64)
        # every origin of the series at once: row r is origin origins[r], column k step k + 1
        d_point = np.repeat(p.d[origins][:, None], Hc, axis=1) if is_constant(p.d) else pred
        with np.errstate(over="ignore", under="ignore"):
            out["network"].append(layout.transform.invert(d_point, p.stats, origins + 1))
        out["actual"].append(gather_windows(y, origins + 1, Hc))
        out["naive"].append(np.repeat(y[origins][:, None], Hc, axis=1))
        idx = origins[:, None] + 1 + steps - lag
        snaive = np.full((len(origins), Hc), np.nan)
        whole = idx.min(axis=1) >= 0  # a season of history before the first target
        snaive[whole] = y[idx[whole]]
        out["seasonal_naive"].append(snaive)
    return {
        k: np.concatenate(v) if v else np.empty((0, Hc), dtype=np.float64) for k, v in out.items()
    }


def holdout_comparison(layout, prepared, calib, preds, season_length: int):
    """The sMAPE and MAE of the network and the baselines on the same held-out windows.

    The windows scored are those where the seasonal naive forecast exists (every held-out
    window when none does; the seasonal naive row is then NaN).

    Returns
    -------
    pandas.DataFrame or None
        Index ``['network', 'naive', 'seasonal_naive']``, columns ``['smape', 'mae',
        'n_windows']``; None without held-out windows.
    """
    f = holdout_forecasts(layout, prepared, calib, preds, season_length)
    if len(f["actual"]) == 0:
        return None
    has_snaive = np.isfinite(f["seasonal_naive"]).all(axis=1)
    rows = has_snaive if has_snaive.any() else np.ones(len(has_snaive), dtype=bool)
    actual = f["actual"][rows].ravel()
    table = {}
    for name in _ROWS:
        fc = f[name][rows].ravel()
        if np.isfinite(fc).all():
            table[name] = (smape(actual, fc), mae(actual, fc), int(rows.sum()))
        else:
            table[name] = (np.nan, np.nan, int(rows.sum()))
    return pd.DataFrame.from_dict(table, orient="index", columns=["smape", "mae", "n_windows"])


def _yes_no(flag) -> str:
    return "yes" if flag else "no"


def render_summary(f) -> str:
    """The plain-text summary of a fitted :class:`~tsrnn.forecasting.RNNForecaster`."""
    models = f._series_models()
    n_net = int((models == "network").sum())
    n_all = len(models)
    first = f.estimators_[0]
    layers = f.num_layers
    lines = [
        f"{type(f).__name__} summary",
        "=" * (len(type(f).__name__) + 8),
        f"Series:          {n_all} ({n_net} network, {n_all - n_net} baseline)",
        f"Window:          {f.window_}",
        f"Season length:   {f.season_length_}",
        f"Horizon:         {f.horizon} ({f.strategy})",
        f"Network:         {f.cell.upper()}, hidden size {f.hidden_size}, {layers} "
        f"layer{'s' if layers != 1 else ''}"
        f"{', bidirectional' if f.bidirectional else ''}, {int(first.n_params_):,} "
        f"parameters, {len(f.estimators_)} model{'s' if len(f.estimators_) != 1 else ''}",
    ]
    best = ", ".join(str(int(e)) for e in f.best_epochs_)
    final = ", ".join(str(int(e.n_iter_)) for e in f.estimators_)
    if f.conformal_scores_ is not None or f.validation_scores_:
        if f.refit_full:
            epochs = f"stage 1 best: {best}; stage 2 (all windows): {final}"
        else:
            epochs = f"stage 1 best: {best}; no stage 2 (refit_full=False)"
    else:
        epochs = f"{final} (no hold-out, no stage 1)"
    lines.append(f"Epochs:          {epochs} (max_iter={f.max_iter})")
    fit_time = getattr(f, "fit_time_", None)  # absent from models saved before it existed
    lines.append(
        f"Training time:   {fit_time:.2f} s"
        if fit_time is not None
        else "Training time:   not recorded"
    )
    lines.append("")
    lines.append("Per series:")
    rows = []
    for uid, model in models.items():
        if model == "network":
            st = f._stats[uid]
            rows.append(
                (
                    str(uid),
                    model,
                    _yes_no(f.log_),
                    _yes_no(bool(f.seasonal_.get(uid, False))),
                    f"{st.scale:.4g}",
                )
            )
        else:
            rows.append((str(uid), model, "-", "-", "-"))
    header = ("unique_id", "model", "log", "deseasonalised", "scale")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    for r in [header] + rows:
        lines.append("  " + "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())
    lines.append("")
    scores = getattr(f, "holdout_scores_", None)
    if scores is None and f.conformal_scores_ is not None:
        lines.append("Validation: not recorded (a model saved by an earlier version)")
    elif scores is None:
        lines.append("Validation: no held-out windows (validation_fraction=0)")
    else:
        n = int(scores["n_windows"].iloc[0])
        lines.append(
            f"Validation ({n} held-out window{'s' if n != 1 else ''} of {f.horizon} steps, "
            "stage-1 network):"
        )
        lines.append(f"  {'model':<16}{'sMAPE':>10}{'MAE':>14}")
        names = {"network": "network", "naive": "naive", "seasonal_naive": "seasonal naive"}
        for name, row in scores.iterrows():
            lines.append(f"  {names[name]:<16}{row['smape']:>10.2f}{row['mae']:>14.4g}")
    return "\n".join(lines)
