"""AutoRNNForecaster's candidates and the jobs joblib runs for it.

The default candidate set, the checks of user candidates, and the plain-data functions that
joblib (or a Dask cluster) runs: fit on the cut panel and forecast the held-out part, refit on
all data; with the validation errors they are scored by.
"""

from __future__ import annotations

import copy
import time
import warnings

import numpy as np
import pandas as pd

from .._training import blas_single_threaded
from ._baselines import DriftForecaster, NaiveForecaster
from ._naive import SeasonalNaiveForecaster
from ._panel import _Panel
from ._rnn import RNNForecaster
from ._theta import ThetaForecaster

# The fixed-epoch recipe found on the M3 monthly training parts (experiments/m3_monthly.py):
# one training stage on all windows, no inner hold-out (the outer validation chooses).
_FIXED = {
    "window_seasons": 2,
    "calendar": False,
    "learning_rate_init": 1e-3,
    "early_stopping": False,
    "validation_fraction": 0.0,
    "deseasonalize": "auto",
    "loss": "absolute_error",
}

#: The default candidates, in priority order (the order :attr:`time_budget_s` cuts from the
#: end). See :class:`AutoRNNForecaster`'s Notes.
DEFAULT_CANDIDATES = (
    {**_FIXED, "cell": "lstm", "max_iter": 5},
    {**_FIXED, "cell": "rnn", "max_iter": 10},
    {**_FIXED, "cell": "gru", "max_iter": 3},
    {**_FIXED, "cell": "lstm", "max_iter": 20},
    {**_FIXED, "cell": "lstm", "max_iter": 5, "loss": "squared_error"},
    {**_FIXED, "cell": "lstm", "max_iter": 5, "deseasonalize": False},
    {"cell": "lstm"},  # RNNForecaster's defaults: early stopping, up to 200 epochs
)

_BASELINES = {
    "naive": NaiveForecaster,
    "drift": DriftForecaster,
    "seasonal_naive": SeasonalNaiveForecaster,
    "theta": ThetaForecaster,
}
_RESERVED = ("horizon", "freq", "fill_method", "past_covariates")
_EXTRA_KEYS = ("window_seasons",)


def _params_text(params: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in params.items())


def _check_candidates(candidates) -> list:
    """The candidate dicts, checked: RNNForecaster parameters (and ``window_seasons``)."""
    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise ValueError(
            f"candidates must be None or a non-empty list of dicts, got {candidates!r}"
        )
    known = set(RNNForecaster().get_params()) | set(_EXTRA_KEYS)
    out = []
    for k, cand in enumerate(candidates):
        if not isinstance(cand, dict):
            raise ValueError(f"candidates[{k}] must be a dict of RNNForecaster parameters")
        reserved = [key for key in cand if key in _RESERVED]
        if reserved:
            raise ValueError(
                f"candidates[{k}] sets {reserved}: AutoRNNForecaster sets these for every "
                "candidate; pass them to AutoRNNForecaster itself"
            )
        unknown = [key for key in cand if key not in known]
        if unknown:
            raise ValueError(
                f"candidates[{k}] has unknown key(s) {unknown}; use RNNForecaster parameters "
                "or 'window_seasons'"
            )
        if "window" in cand and "window_seasons" in cand:
            raise ValueError(f"candidates[{k}] sets both window and window_seasons")
        out.append(dict(cand))
    return out


def _to_frame(panel: _Panel, cut: int = 0) -> pd.DataFrame:
    """The panel as a long DataFrame, the last ``cut`` observations of every series dropped."""
    frames = []
    for s in panel.series:
        n = len(s.y) - cut
        frames.append(
            pd.DataFrame({"unique_id": s.uid, "ds": s.index[:n], "y": s.y[:n]}, copy=False)
        )
    frame = pd.concat(frames, ignore_index=True)
    frame["unique_id"] = frame["unique_id"].astype(object)
    return frame


def _build(kind: str, params: dict):
    """A forecaster of a candidate (``kind='network'``) or a baseline (its name)."""
    if kind == "network":
        return RNNForecaster(**params)
    return _BASELINES[kind](**params)


def _forecasts(model, uids, h) -> np.ndarray:
    """Point forecasts of ``uids`` (in that order), shape (len(uids), h)."""
    with blas_single_threaded():  # as BaseForecaster.predict does
        by_uid = {r.uid: r.columns["yhat"] for r in model._predict(h, None, None)[0]}
    return np.stack([np.asarray(by_uid[u], dtype=np.float64) for u in uids])


def _validate_job(kind: str, params: dict, frames: list, uids: list, h: int):
    """Fit ``kind`` on every cut frame and forecast ``h`` steps; runs in a joblib worker.

    Returns ``(forecasts of shape (n_origins, n_series, h) or None, seconds, error text)``.
    """
    started = time.perf_counter()
    out = []
    try:
        with warnings.catch_warnings():  # short series of the cut panel: expected here
            warnings.simplefilter("ignore")
            for frame in frames:
                model = _build(kind, params).fit(frame)
                out.append(_forecasts(model, uids, h))
    except (ValueError, ArithmeticError) as exc:  # recorded (e.g. diverged); search goes on
        return None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"
    return np.stack(out), time.perf_counter() - started, None


def _refit_job(kind: str, params: dict, frame: pd.DataFrame):
    """A forecaster of ``kind`` fitted on ``frame`` (all the data); runs in a joblib worker."""
    return _build(kind, params).fit(frame)


def _errors(actual, pred, scale, metric: str) -> np.ndarray:
    """Per-series error, mean over origins and steps: shape (n_series,).

    ``actual`` and ``pred``: (n_origins, n_series, h); ``scale``: (n_origins, n_series).
    """
    if metric == "smape":
        den = np.abs(actual) + np.abs(pred)
        num = 200.0 * np.abs(actual - pred)
        terms = np.divide(num, den, out=np.zeros_like(num), where=den > 0)
        return terms.mean(axis=(0, 2))
    mae = np.abs(actual - pred).mean(axis=2)
    if metric == "mae":
        return mae.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(scale > 0, mae / np.where(scale > 0, scale, 1.0), np.nan)
    return ratio.mean(axis=0)


def _nanmean(values) -> float:
    """Mean of the finite values; NaN (without a warning) when there is none."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if finite.size else float("nan")


def _conformal_quantile(scores: np.ndarray, level: float) -> float:
    """Split-conformal quantile: the ``ceil((n + 1) L)``-th smallest score; inf if n too small."""
    n = len(scores)
    rank = int(np.ceil((n + 1) * level / 100.0))
    if rank > n:
        return np.inf
    return float(np.sort(scores)[rank - 1])


def _same(v):
    return v


def _copy_update(model, frame):
    """A copy of the fitted ``model`` with its history replaced by ``frame``."""
    twin = copy.copy(model)
    twin.__dict__ = dict(model.__dict__)
    return twin.update(frame)
