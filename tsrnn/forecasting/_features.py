"""Stage 4 of the data flow: the input features besides the target.

* calendar features that fit the frequency (month, day of week, hour, ...), each encoded as a
  sine/cosine pair, known for every future timestamp;
* exogenous covariates, standardised with the mean and standard deviation of the training
  panel: *past* covariates (observed up to the forecast origin) and *known-future* ones.

:class:`Covariates` is fitted on the training panel and turns a series' raw covariates and
timestamps into the ``(past, future)`` feature arrays the windows are cut from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._panel import _Panel, future_exog
from ._time import _OFFSET_TABLE, _offset_family


def calendar_spec(kind: str, freq, calendar) -> tuple:
    """The (attribute, period) calendar features of a frequency, or () when not wanted."""
    family = None if kind == "int" else _offset_family(freq)
    return tuple(_OFFSET_TABLE[family][1]) if (family and calendar == "auto") else ()


def _calendar(index: pd.Index, features) -> np.ndarray:
    """sin/cos calendar features of ``index``: array (len(index), 2 * len(features))."""
    out = np.empty((len(index), 2 * len(features)), dtype=np.float64)
    for j, (attr, period) in enumerate(features):
        if attr == "week":
            if isinstance(index, pd.PeriodIndex):
                values = np.asarray(index.week, dtype=np.float64)
            else:
                values = index.isocalendar().week.to_numpy(dtype=np.float64)
        else:
            values = np.asarray(getattr(index, attr), dtype=np.float64)
        angle = 2.0 * np.pi * values / period
        out[:, 2 * j] = np.sin(angle)
        out[:, 2 * j + 1] = np.cos(angle)
    return out


@dataclass
class Covariates:
    """Fitted feature configuration: covariate roles, their standardisation, the calendar.

    Attributes
    ----------
    columns : list of str
        All covariate columns of ``X``, in order.
    past_idx, future_idx : list of int
        Positions in ``columns`` of the past-only and the known-future covariates.
    mean, std : numpy.ndarray of shape (len(columns),)
        Standardisation of the covariates (over the training panel).
    calendar : tuple of (str, float)
        The calendar features as (attribute, period) pairs.
    """

    columns: list
    past_idx: list
    future_idx: list
    mean: np.ndarray
    std: np.ndarray
    calendar: tuple

    @classmethod
    def fit(cls, panel: _Panel, past_covariates, calendar) -> Covariates:
        """Roles and standardisation of ``panel``'s covariates, and the calendar features."""
        cols = list(panel.exog_columns)
        past = list(past_covariates or [])
        unknown = [c for c in past if c not in cols]
        if unknown:
            raise ValueError(
                f"past_covariates {unknown} are not columns of X (X has {cols})"
                if cols
                else f"past_covariates {unknown} were given but X is None"
            )
        if cols:
            stacked = np.concatenate([s.exog for s in panel.series])
            mean = stacked.mean(axis=0)
            std = stacked.std(axis=0)
            std = np.where(std > 0, std, 1.0)
        else:
            mean = std = np.zeros(0)
        return cls(
            columns=cols,
            past_idx=[cols.index(c) for c in cols if c in past],
            future_idx=[cols.index(c) for c in cols if c not in past],
            mean=mean,
            std=std,
            calendar=calendar_spec(panel.kind, panel.freq, calendar),
        )

    @property
    def past_names(self) -> list:
        """The past-only covariate columns."""
        return [self.columns[i] for i in self.past_idx]

    @property
    def future_names(self) -> list:
        """The known-future covariate columns."""
        return [self.columns[i] for i in self.future_idx]

    @property
    def calendar_names(self) -> list:
        """Names of the calendar features (``'month_sin'``, ``'month_cos'``, ...)."""
        return [f"{a}_{fn}" for a, _ in self.calendar for fn in ("sin", "cos")]

    def transform(self, exog: np.ndarray, index: pd.Index):
        """``(past, future)`` features on ``index``: standardised covariates, calendar last."""
        p, f = self.past_idx, self.future_idx
        past = (exog[:, p] - self.mean[p]) / self.std[p] if p else np.zeros((len(index), 0))
        fut = (exog[:, f] - self.mean[f]) / self.std[f] if f else np.zeros((len(index), 0))
        if self.calendar:
            fut = np.concatenate([fut, _calendar(index, self.calendar)], axis=1)
        return past, fut

    def future_exog(self, X_future, panel: _Panel, freq, h_pad: int) -> dict:
        """Raw covariates of the forecast period per series, (h_pad, n_columns).

        The known-future columns come from ``X_future``; past-only columns are left at 0.
        """
        if not self.future_idx:
            if X_future is not None:
                raise ValueError(
                    "X_future was given but the forecaster was fitted without known-future "
                    "covariates"
                )
            return {}
        if X_future is None:
            raise ValueError(
                f"the forecaster was fitted with known-future covariates "
                f"{self.future_names}; pass X_future covering the next {h_pad} steps"
            )
        values = future_exog(X_future, panel, freq, h_pad, self.future_names)
        out = {}
        for uid, vals in values.items():
            full = np.zeros((h_pad, len(self.columns)))
            full[:, self.future_idx] = vals
            out[uid] = full
        return out
