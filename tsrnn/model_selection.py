"""Time-series cross-validation: temporal splitters, backtesting and evaluation.

* :class:`ExpandingWindowSplitter` and :class:`SlidingWindowSplitter` follow scikit-learn's
  splitter protocol (``split`` yields train and test indices, ``get_n_splits``), so they can be
  passed as ``cv`` to :class:`sklearn.model_selection.GridSearchCV` together with an
  :class:`~tsrnn.forecasting.RNNForecaster`.
* :func:`backtest` refits (or updates) a forecaster at a series of cutoffs and returns every
  forecast next to the actual value, as a tidy DataFrame. Folds run in parallel through joblib,
  so the same call runs on a Dask cluster under ``joblib.parallel_config(backend="dask")``.
* :func:`evaluate` summarises a backtest with MAE, RMSE, sMAPE and seasonal MASE.
* :func:`make_windows` turns a series into ``(X, y)`` arrays for the estimators.

Folds are defined on the time axis. For a Series (or any 1-D array-like) the time axis is the
positions ``0 .. n-1``; for a long DataFrame (``unique_id``, ``ds``, ``y``) it is the sorted
unique timestamps of ``ds``, and a fold selects the rows of *all* series up to the cutoff (train)
and in the ``horizon`` timestamps after it (test)::

    expanding, initial=5, step=2, horizon=2     sliding, window=3, step=2, horizon=2
    fold 0:  T T T T T t t . .                  fold 0:  . . T T T t t . .
    fold 1:  T T T T T T T t t                  fold 1:  . . . . T T T t t
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from . import metrics as M
from .forecasting._time import _index_kind, _infer_freq, season_length_from_freq
from .forecasting._windows import make_windows

__all__ = [
    "ExpandingWindowSplitter",
    "SlidingWindowSplitter",
    "backtest",
    "evaluate",
    "evaluate_backtest",
    "make_windows",
]


def _check_positive_int(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _is_long(X) -> bool:
    return isinstance(X, pd.DataFrame) and {"unique_id", "ds"} <= set(X.columns)


def _time_axis(X):
    """Return ``(times, row_time_positions)`` for a Series/array or a long DataFrame."""
    if _is_long(X):
        times = np.sort(pd.unique(X["ds"].to_numpy()))
        positions = np.searchsorted(times, X["ds"].to_numpy())
        return times, positions
    if X is None:
        raise ValueError("the splitter needs the data (X) to count its folds")
    n = len(X)
    return np.arange(n), np.arange(n)


class _BaseSplitter:
    """Shared logic: cutoffs on the time axis and the rows of each fold."""

    def _first_cutoff(self) -> int:
        raise NotImplementedError

    def _train_start(self, cutoff: int) -> int:
        raise NotImplementedError

    def _check(self) -> None:
        _check_positive_int("step", self.step)
        _check_positive_int("horizon", self.horizon)

    def cutoffs(self, X) -> np.ndarray:
        """Positions on the time axis of the last training observation of every fold.

        Parameters
        ----------
        X : pandas.Series, array-like or long pandas.DataFrame
            The data to split.

        Returns
        -------
        numpy.ndarray of int
        """
        self._check()
        times, _ = _time_axis(X)
        n = len(times)
        first = self._first_cutoff()
        last = n - 1 - self.horizon
        if last < first:
            raise ValueError(
                f"the data has {n} time steps: too few for {type(self).__name__} with a first "
                f"training set of {first + 1} steps and horizon={self.horizon}"
            )
        return np.arange(first, last + 1, self.step, dtype=np.int64)

    def split(self, X, y=None, groups=None):
        """Generate train and test indices for every fold.

        Parameters
        ----------
        X : pandas.Series, array-like of shape (n_obs,) or long pandas.DataFrame
            The data: a series (positions are time steps), or a long DataFrame with columns
            ``unique_id`` and ``ds`` (rows are selected by timestamp, for all series at once).
        y, groups : ignored
            For scikit-learn compatibility.

        Yields
        ------
        train : numpy.ndarray of int
            Row positions of the training data (time steps up to the cutoff).
        test : numpy.ndarray of int
            Row positions of the ``horizon`` time steps after the cutoff.
        """
        _, positions = _time_axis(X)
        for cutoff in self.cutoffs(X):
            start = self._train_start(int(cutoff))
            train = np.flatnonzero((positions >= start) & (positions <= cutoff))
            test = np.flatnonzero((positions > cutoff) & (positions <= cutoff + self.horizon))
            yield train, test

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds.

        Parameters
        ----------
        X : pandas.Series, array-like or long pandas.DataFrame
            The data (needed: the number of folds depends on its length).
        y, groups : ignored

        Returns
        -------
        int
        """
        return len(self.cutoffs(X))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._params)
        return f"{type(self).__name__}({params})"


class ExpandingWindowSplitter(_BaseSplitter):
    """Folds whose training set grows: always from the first observation to the cutoff.

    Parameters
    ----------
    initial : int
        Number of time steps in the first training set.
    step : int, default=1
        Time steps between consecutive cutoffs.
    horizon : int, default=1
        Number of time steps in every test set. Folds without a complete test set are dropped.

    Examples
    --------
    >>> import numpy as np
    >>> cv = ExpandingWindowSplitter(initial=5, step=2, horizon=2)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.arange(9))]
    [([0, 1, 2, 3, 4], [5, 6]), ([0, 1, 2, 3, 4, 5, 6], [7, 8])]
    """

    _params = ("initial", "step", "horizon")

    def __init__(self, initial, step=1, horizon=1):
        self.initial = initial
        self.step = step
        self.horizon = horizon

    def _check(self):
        _check_positive_int("initial", self.initial)
        super()._check()

    def _first_cutoff(self):
        return self.initial - 1

    def _train_start(self, cutoff):
        return 0


class SlidingWindowSplitter(_BaseSplitter):
    """Folds whose training set is a fixed-length window ending at the cutoff.

    Parameters
    ----------
    window : int
        Number of time steps in every training set.
    step : int, default=1
        Time steps between consecutive cutoffs.
    horizon : int, default=1
        Number of time steps in every test set. Folds without a complete test set are dropped.
    initial : int or None, default=None
        Time steps before the first cutoff (included); ``window`` when None. A larger value
        starts the folds later.

    Examples
    --------
    >>> import numpy as np
    >>> cv = SlidingWindowSplitter(window=3, step=2, horizon=2, initial=5)
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(np.arange(9))]
    [([2, 3, 4], [5, 6]), ([4, 5, 6], [7, 8])]
    """

    _params = ("window", "step", "horizon", "initial")

    def __init__(self, window, step=1, horizon=1, initial=None):
        self.window = window
        self.step = step
        self.horizon = horizon
        self.initial = initial

    def _check(self):
        _check_positive_int("window", self.window)
        _check_positive_int("initial", self.initial, allow_none=True)
        if self.initial is not None and self.initial < self.window:
            raise ValueError(f"initial ({self.initial}) must be at least window ({self.window})")
        super()._check()

    def _first_cutoff(self):
        return (self.window if self.initial is None else self.initial) - 1

    def _train_start(self, cutoff):
        return cutoff - self.window + 1


# --------------------------------------------------------------------------------------------
# backtesting
# --------------------------------------------------------------------------------------------


def _series_name(y: pd.Series):
    return y.name if y.name is not None else "y"


def _to_long(y) -> pd.DataFrame:
    """A Series as a long DataFrame (unique_id, ds, y); a long DataFrame as is."""
    if isinstance(y, pd.Series):
        return pd.DataFrame({"unique_id": _series_name(y), "ds": y.index, "y": y.to_numpy()})
    return y[["unique_id", "ds", "y"]]


def _refit_groups(n_folds: int, refit) -> list[list[int]]:
    """Group consecutive folds that share one fit: [[0], [1], ...] for refit=True."""
    if refit is True:
        every = 1
    elif refit is False:
        every = n_folds
    elif isinstance(refit, numbers.Integral) and refit >= 1:
        every = int(refit)
    else:
        raise ValueError(f"refit must be True, False or a positive integer, got {refit!r}")
    return [list(range(i, min(i + every, n_folds))) for i in range(0, n_folds, every)]


def _run_group(forecaster, y, X, folds, horizon, level):
    """Fit on the first fold of a group, update for the others; forecast every fold.

    Runs in a joblib worker: everything it needs travels as arguments, and it returns plain
    DataFrames.
    """
    model = clone(forecaster)
    out = []
    for k, (train, test) in enumerate(folds):
        y_train = y.iloc[train]
        if k == 0:
            model.fit(y_train, X)
        else:
            model.update(y_train, X)
        kwargs = {"level": level} if level else {}
        if getattr(model, "future_covariates_", None):
            kwargs["X_future"] = X
        fc = model.predict(horizon, **kwargs)
        if isinstance(fc, pd.Series):
            fc = fc.to_frame("yhat")
        if not _is_long(fc):
            fc = fc.rename_axis("ds").reset_index()
            fc.insert(0, "unique_id", _series_name(y))
        actual = _to_long(y.iloc[test])
        if isinstance(y, pd.Series):
            cutoff = y.index[train[-1]]
            fc_cut = fc.assign(cutoff=cutoff)
        else:
            last = y_train.groupby("unique_id", sort=False)["ds"].max().rename("cutoff")
            fc_cut = fc.merge(last, left_on="unique_id", right_index=True, how="left")
        merged = fc_cut.merge(actual, on=["unique_id", "ds"], how="inner")
        out.append(merged)
    return pd.concat(out, ignore_index=True)


def backtest(
    forecaster,
    y,
    initial=None,
    step=None,
    horizon=None,
    *,
    X=None,
    refit=True,
    cv=None,
    level=None,
    n_jobs=None,
    verbose=0,
) -> pd.DataFrame:
    """Rolling-origin evaluation: forecast from a series of cutoffs and compare with actuals.

    Parameters
    ----------
    forecaster : RNNForecaster or SeasonalNaiveForecaster
        An unfitted forecaster (it is cloned for every fit, so it is never modified).
    y : pandas.Series or pandas.DataFrame
        One series, or a long DataFrame with columns ``unique_id``, ``ds``, ``y``.
    initial : int, optional
        Time steps in the first training set (the first cutoff is the ``initial``-th time step).
        Required unless ``cv`` is given.
    step : int, optional
        Time steps between cutoffs; ``horizon`` when None (folds that do not overlap).
    horizon : int, optional
        Steps forecast from each cutoff; the forecaster's ``horizon`` when None.
    X : pandas.DataFrame, optional
        Covariates for the whole period (see :meth:`RNNForecaster.fit`); each fold uses the rows
        up to its cutoff for fitting and the known-future columns after it for forecasting.
    refit : bool or int, default=True
        True refits the forecaster at every cutoff; False fits once, at the first cutoff, and
        only updates the history for later ones (fast, and what happens when a trained model
        is deployed); an integer ``k`` refits every ``k`` cutoffs.
    cv : splitter, optional
        An :class:`ExpandingWindowSplitter` or :class:`SlidingWindowSplitter` defining the folds
        instead of ``initial``/``step``/``horizon``; its ``horizon`` is then used.
    level : list of float, optional
        Also return conformal prediction intervals at these levels (RNNForecaster only).
    n_jobs : int or None, default=None
        Folds fitted in parallel through joblib (only folds with their own fit, so ``refit``
        matters). None means 1 unless inside a :func:`joblib.parallel_config` context, which
        also selects the backend: ``joblib.parallel_config(backend="dask")`` runs the folds on
        the Dask cluster of the active ``dask.distributed.Client``. Every fit limits BLAS to one
        thread, so parallel folds do not oversubscribe the CPUs, and results are identical
        whatever ``n_jobs`` or backend.
    verbose : int, default=0
        joblib verbosity.

    Returns
    -------
    pandas.DataFrame
        One row per series, cutoff and forecast step, with columns ``unique_id``, ``cutoff``
        (last training timestamp), ``ds`` (forecast timestamp), ``y`` (actual), ``yhat``
        (forecast), plus ``yhat_lo_<level>``/``yhat_hi_<level>`` with ``level``. A Series' id
        is its name (``"y"`` when it has none).

    Raises
    ------
    ValueError
        If neither ``initial`` nor ``cv`` is given, the data are too short for one fold, or
        ``refit`` is invalid (and whatever the forecaster raises on bad input).

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.forecasting import SeasonalNaiveForecaster
    >>> y = load_air_passengers()
    >>> res = backtest(SeasonalNaiveForecaster(), y, initial=120, step=12, horizon=12)
    >>> res.shape, list(res.columns)
    ((24, 5), ['unique_id', 'cutoff', 'ds', 'y', 'yhat'])
    """
    if not isinstance(y, (pd.Series, pd.DataFrame)):
        raise TypeError(f"y must be a pandas Series or long DataFrame, got {type(y).__name__}")
    if isinstance(y, pd.DataFrame):
        missing = [c for c in ("unique_id", "ds", "y") if c not in y.columns]
        if missing:
            raise ValueError(
                f"y is missing column(s) {missing}; a DataFrame y must be in long format with "
                "columns ['unique_id', 'ds', 'y']"
            )
    if cv is None:
        if initial is None:
            raise ValueError("give initial (size of the first training set) or a cv splitter")
        horizon = getattr(forecaster, "horizon", 1) if horizon is None else horizon
        _check_positive_int("horizon", horizon)
        cv = ExpandingWindowSplitter(initial, horizon if step is None else step, horizon)
    horizon = cv.horizon
    folds = list(cv.split(y))
    groups = _refit_groups(len(folds), refit)
    jobs = (
        delayed(_run_group)(forecaster, y, X, [folds[i] for i in group], horizon, level)
        for group in groups
    )
    parts = Parallel(n_jobs=n_jobs, verbose=verbose)(jobs)
    results = pd.concat(parts, ignore_index=True)
    columns = ["unique_id", "cutoff", "ds", "y", "yhat"]
    columns += [c for c in results.columns if c not in columns]
    return results[columns].sort_values(["unique_id", "cutoff", "ds"], kind="stable").reset_index(
        drop=True
    )


# --------------------------------------------------------------------------------------------
# evaluation
# --------------------------------------------------------------------------------------------


def _season_length(y, forecaster=None) -> int:
    """The forecaster's season_length, else the one implied by the data's frequency."""
    if forecaster is not None and getattr(forecaster, "season_length", None):
        return int(forecaster.season_length)
    freq = getattr(forecaster, "freq", None)
    if isinstance(y, pd.Series):
        index = y.index
    else:
        first = y["unique_id"].iloc[0]
        index = pd.Index(y.loc[y["unique_id"] == first, "ds"].to_numpy())
    kind = _index_kind(index)
    if kind == "int":
        return 1
    try:
        return season_length_from_freq(_infer_freq(index, kind, freq, "?"))
    except ValueError:
        return 1


def evaluate_backtest(results: pd.DataFrame, y, season_length: int = 1) -> pd.DataFrame:
    """Accuracy of backtest forecasts, per series.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`backtest` (columns ``unique_id``, ``cutoff``, ``ds``, ``y``, ``yhat``).
    y : pandas.Series or pandas.DataFrame
        The data the backtest ran on; MASE is scaled by each fold's in-sample seasonal naive
        error, computed on the data up to that fold's cutoff.
    season_length : int, default=1
        Seasonal period of MASE's scale.

    Returns
    -------
    pandas.DataFrame
        One row per series: ``unique_id``, ``n_folds``, ``n_forecasts``, ``mae``, ``rmse``,
        ``smape`` (pooled over all forecasts of the series) and ``mase`` (mean over folds of the
        fold's MAE divided by its scale; NaN when a scale is 0).
    """
    history = _to_long(y)
    rows = []
    for uid, res in results.groupby("unique_id", sort=False):
        hist = history.loc[history["unique_id"] == uid]
        mases = []
        for cutoff, fold in res.groupby("cutoff", sort=True):
            train = hist.loc[hist["ds"] <= cutoff, "y"].to_numpy(dtype=np.float64)
            if len(train) > season_length:
                mases.append(M.mase(fold["y"], fold["yhat"], train, season_length))
            else:
                mases.append(float("nan"))
        rows.append(
            {
                "unique_id": uid,
                "n_folds": res["cutoff"].nunique(),
                "n_forecasts": len(res),
                "mae": M.mae(res["y"], res["yhat"]),
                "rmse": M.rmse(res["y"], res["yhat"]),
                "smape": M.smape(res["y"], res["yhat"]),
                "mase": float(np.mean(mases)) if mases else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def evaluate(
    forecaster,
    y,
    initial=None,
    step=None,
    horizon=None,
    *,
    X=None,
    refit=True,
    cv=None,
    n_jobs=None,
    season_length=None,
) -> pd.DataFrame:
    """Backtest a forecaster and report MAE, RMSE, sMAPE and seasonal MASE per series.

    Parameters
    ----------
    forecaster, y, initial, step, horizon, X, refit, cv, n_jobs
        As in :func:`backtest`.
    season_length : int, optional
        Seasonal period of MASE's scale; the forecaster's ``season_length`` or the data's
        frequency (12 monthly, ...) when None.

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluate_backtest`: one row per series with ``unique_id``, ``n_folds``,
        ``n_forecasts``, ``mae``, ``rmse``, ``smape``, ``mase``.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.forecasting import SeasonalNaiveForecaster
    >>> y = load_air_passengers()
    >>> scores = evaluate(SeasonalNaiveForecaster(), y, initial=120, step=12, horizon=12)
    >>> scores[["unique_id", "n_folds"]].values.tolist()
    [['passengers', 2]]
    """
    results = backtest(
        forecaster, y, initial, step, horizon, X=X, refit=refit, cv=cv, n_jobs=n_jobs
    )
    m = season_length if season_length is not None else _season_length(y, forecaster)
    return evaluate_backtest(results, y, m)
