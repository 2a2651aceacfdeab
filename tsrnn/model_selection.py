"""Time-series cross-validation: temporal splitters, backtesting and evaluation.

* :class:`ExpandingWindowSplitter` and :class:`SlidingWindowSplitter` follow scikit-learn's
  splitter protocol (``split`` yields train and test indices, ``get_n_splits``), so they can be
  passed as ``cv`` to :class:`sklearn.model_selection.GridSearchCV` together with an
  :class:`~tsrnn.forecasting.RNNForecaster`.
* :func:`backtest` refits (or updates) a forecaster at a series of cutoffs and returns every
  forecast next to the actual value, as a tidy DataFrame. Folds run in parallel through joblib,
  so the same call runs on a Dask cluster under ``joblib.parallel_config(backend="dask")``.
* :func:`evaluate` summarises a backtest with MAE, RMSE, sMAPE and MASE (against the seasonal
  naive and the naive scale), next to the naive, drift and seasonal naive baselines computed on
  the same folds (:func:`evaluate_backtest`).
* :func:`make_windows` turns a series into ``(X, y)`` arrays for the estimators.

Folds are defined on the time axis. For a Series (or any 1-D array-like) the time axis is the
positions ``0 .. n-1``::

    expanding, initial=5, step=2, horizon=2     sliding, window=3, step=2, horizon=2
    fold 0:  T T T T T t t . .                  fold 0:  . . T T T t t . .
    fold 1:  T T T T T T T t t                  fold 1:  . . . . T T T t t

For a long DataFrame (``unique_id``, ``ds``, ``y``) the time axis is the sorted unique timestamps
of ``ds``, and cutoffs are defined *per series*, counted back from each series' own end (as
statsforecast and neuralforecast do): the folds are laid out on the longest series as above, and
every series has its fold ``k`` cutoff the same number of steps before its own last timestamp as
the longest series has. A series takes part in the folds for which it has a full first training
set (``initial`` steps up to the cutoff); a series too short for every fold is left out with a
warning. Series over the same dates get the same cutoffs; series over different date ranges each
get folds within their own range::

    initial=4, step=2, horizon=2         time  0 1 2 3 4 5 6 7 8
    a, the longest series            fold 0:  T T T T t t . . .
                                     fold 1:  T T T T T T t t .
    b, from time 2 to 8              fold 0:  (2 training steps: b is not in fold 0)
                                     fold 1:      T T T T t t .
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone

from . import metrics as M
from ._progress import ProgressBar, compile_notice
from .forecasting._theta import ThetaForecaster
from .forecasting._time import _index_kind, _infer_freq, season_length_from_freq, series_name
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


class _Layout:
    """Where the series of the data lie on the time axis, and the folds' offsets from their ends.

    ``positions`` (per row) are time-axis positions; ``codes`` (per row) index ``uids``;
    ``starts``/``ends`` (per series) are the positions of each series' first and last
    timestamps; ``offsets`` (per fold) are the steps from a fold's cutoff to a series' end.
    """

    def __init__(self, times, positions, codes, uids, starts, ends, cutoffs, first):
        self.times, self.positions, self.codes, self.uids = times, positions, codes, uids
        self.starts, self.ends, self.first = starts, ends, first
        self.cutoffs = cutoffs  # on the longest series, whose first time step is 0
        self.offsets = int((ends - starts).max()) - cutoffs

    def fold(self, k: int):
        """Per-series cutoff positions of fold ``k`` and whether each series takes part."""
        cut = self.ends - self.offsets[k]
        return cut, cut - self.starts >= self.first


class _BaseSplitter:
    """Shared logic: cutoffs on the time axis (per series for a panel) and the rows of each fold."""

    def _first_cutoff(self) -> int:
        raise NotImplementedError

    def _train_start(self, cutoff):
        raise NotImplementedError

    def _check(self) -> None:
        _check_positive_int("step", self.step)
        _check_positive_int("horizon", self.horizon)

    def _layout(self, X) -> _Layout:
        """Validate the parameters and lay the folds out on the data (per series for a panel)."""
        self._check()
        times, positions = _time_axis(X)
        if _is_long(X):
            codes, uids = pd.factorize(X["unique_id"], sort=False)
            starts = np.full(len(uids), len(times), dtype=np.int64)
            ends = np.full(len(uids), -1, dtype=np.int64)
            np.minimum.at(starts, codes, positions)
            np.maximum.at(ends, codes, positions)
        else:
            codes = np.zeros(len(positions), dtype=np.int64)
            uids = pd.Index([_series_name(X) if isinstance(X, pd.Series) else 0])
            starts = np.zeros(1, dtype=np.int64)
            ends = np.full(1, len(times) - 1, dtype=np.int64)
        n = int((ends - starts).max()) + 1 if len(uids) else 0
        first = self._first_cutoff()
        last = n - 1 - self.horizon
        if last < first:
            what = "the data has" if len(uids) <= 1 else "the longest series has"
            raise ValueError(
                f"{what} {n} time steps: too few for {type(self).__name__} with a first "
                f"training set of {first + 1} steps and horizon={self.horizon}"
            )
        cutoffs = np.arange(first, last + 1, self.step, dtype=np.int64)
        layout = _Layout(times, positions, codes, uids, starts, ends, cutoffs, first)
        _, in_last = layout.fold(len(cutoffs) - 1)
        if not in_last.all():
            short = [
                f"{series_name(uid)} ({ends[i] - starts[i] + 1} steps)"
                for i, uid in enumerate(uids)
                if not in_last[i]
            ]
            warnings.warn(
                f"series {', '.join(short[:5])}{' ...' if len(short) > 5 else ''} "
                f"{'is' if len(short) == 1 else 'are'} too short for a first training set of "
                f"{first + 1} steps and horizon={self.horizon}: left out of every fold "
                "(give a smaller initial, or forecast them with a simpler model)",
                UserWarning,
                stacklevel=3,
            )
        return layout

    def cutoffs(self, X) -> np.ndarray:
        """Positions on the time axis of the last training observation of every fold.

        Parameters
        ----------
        X : pandas.Series, array-like or long pandas.DataFrame
            The data to split.

        Returns
        -------
        numpy.ndarray of int
            For a series, positions ``0 .. n-1``. For a long DataFrame, positions within the
            longest series (its first timestamp is 0); every other series has its cutoffs the
            same number of steps before its own end (see :meth:`series_cutoffs`).
        """
        return self._layout(X).cutoffs

    def series_cutoffs(self, X) -> pd.DataFrame:
        """The cutoff of every series in every fold.

        Parameters
        ----------
        X : pandas.Series, array-like or long pandas.DataFrame
            The data to split.

        Returns
        -------
        pandas.DataFrame
            Columns ``fold`` (0, 1, ...), ``unique_id`` (a Series' name, ``"y"`` when it has
            none, 0 for an array) and ``cutoff`` (the last training timestamp: a ``ds`` value,
            a Series' index label, or a position for an array), one row per series taking part
            in the fold, sorted by fold then by the series' first appearance in ``X``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"unique_id": ["a"] * 6 + ["b"] * 4,
        ...                    "ds": list(range(6)) + list(range(3, 7)), "y": 1.0})
        >>> ExpandingWindowSplitter(initial=2, horizon=1).series_cutoffs(df).values.tolist()
        [[0, 'a', 1], [1, 'a', 2], [2, 'a', 3], [2, 'b', 4], [3, 'a', 4], [3, 'b', 5]]
        """
        layout = self._layout(X)
        if _is_long(X):
            labels = layout.times
        elif isinstance(X, pd.Series):
            labels = X.index
        else:
            labels = np.arange(len(layout.times))
        rows = []
        for k in range(len(layout.offsets)):
            cut, inside = layout.fold(k)
            rows += [(k, layout.uids[i], labels[cut[i]]) for i in np.flatnonzero(inside)]
        return pd.DataFrame(rows, columns=["fold", "unique_id", "cutoff"])

    def split(self, X, y=None, groups=None):
        """Generate train and test indices for every fold.

        Parameters
        ----------
        X : pandas.Series, array-like of shape (n_obs,) or long pandas.DataFrame
            The data: a series (positions are time steps), or a long DataFrame with columns
            ``unique_id`` and ``ds`` (rows are selected per series, by timestamp, from cutoffs
            counted back from each series' end; see the module's description).
        y, groups : ignored
            For scikit-learn compatibility.

        Yields
        ------
        train : numpy.ndarray of int
            Row positions of the training data (time steps up to the cutoff), in the order of
            the rows of ``X``.
        test : numpy.ndarray of int
            Row positions of the ``horizon`` time steps after the cutoff.
        """
        layout = self._layout(X)
        positions, codes = layout.positions, layout.codes
        for k in range(len(layout.offsets)):
            cut, inside = layout.fold(k)
            row_cut, row_in = cut[codes], inside[codes]
            start = self._train_start(row_cut)
            train = np.flatnonzero(row_in & (positions >= start) & (positions <= row_cut))
            test = np.flatnonzero(
                row_in & (positions > row_cut) & (positions <= row_cut + self.horizon)
            )
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
        return len(self._layout(X).offsets)

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


def _run_folds(jobs, groups, n_jobs, verbose) -> list:
    """Run the fold groups' jobs; with ``verbose >= 1`` a progress bar over the folds."""
    joblib_verbose = verbose if verbose > 2 else 0
    if verbose < 1:
        return Parallel(n_jobs=n_jobs, verbose=joblib_verbose)(jobs)
    n_folds = sum(len(group) for group in groups)
    with ProgressBar(n_folds, "backtest", "fold") as bar:
        try:  # joblib >= 1.3: results in order, as they come
            parallel = Parallel(n_jobs=n_jobs, verbose=joblib_verbose, return_as="generator")
        except TypeError:
            parallel = None
        if parallel is None:
            parts = Parallel(n_jobs=n_jobs, verbose=joblib_verbose)(jobs)
            bar.update(n_folds)
            return parts
        parts = []
        for group, part in zip(groups, parallel(jobs)):
            parts.append(part)
            bar.update(len(group))
        return parts


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
    forecaster : BaseForecaster
        An unfitted forecaster of :mod:`tsrnn.forecasting` (it is cloned for every fit, so it
        is never modified).
    y : pandas.Series or pandas.DataFrame
        One series, or a long DataFrame with columns ``unique_id``, ``ds``, ``y``. For a long
        DataFrame the cutoffs are per series, counted back from each series' end (see the
        module's description): series over different date ranges each get their own folds.
    initial : int, optional
        Time steps in the first training set (the first cutoff is the ``initial``-th time step;
        for a long DataFrame, of the longest series). Required unless ``cv`` is given.
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
        Also return prediction intervals at these levels, in percent (``[80, 95]``), for
        forecasters with intervals.
    n_jobs : int or None, default=None
        Folds fitted in parallel through joblib (only folds with their own fit, so ``refit``
        matters). None means 1 unless inside a :func:`joblib.parallel_config` context, which
        also selects the backend: ``joblib.parallel_config(backend="dask")`` runs the folds on
        the Dask cluster of the active ``dask.distributed.Client``. Every fit limits BLAS to one
        thread, so parallel folds do not oversubscribe the CPUs, and results are identical
        whatever ``n_jobs`` or backend.
    verbose : int, default=0
        Progress on stderr. 0: nothing (each fit reports as the forecaster's own ``verbose``
        says). 1: a progress bar over the folds (``backtest: 40%|████      | 2/5 folds
        [...]``; it advances when a fit and the folds that share it are done), the
        forecasters fitted silently, and the compile notice of
        :class:`~tsrnn.forecasting.RNNForecaster` (see its ``verbose``). 2: the bar, and each
        fit's per-stage, per-epoch log (``verbose=2`` of the forecaster). Above 2: also
        joblib's own messages at that verbosity.

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
        If neither ``initial`` nor ``cv`` is given, the data (the longest series) are too
        short for one fold, or ``refit`` is invalid (and whatever the forecaster raises on bad
        input), before any fit.

    Warns
    -----
    UserWarning
        Naming the series of a long DataFrame too short for every fold (they are left out).

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
    verbose = int(verbose)
    if (
        verbose >= 1
        and hasattr(forecaster, "get_params")
        and "verbose" in forecaster.get_params(deep=False)
    ):
        # the bar is over the folds: the fits are silent, or log their epochs at 2
        forecaster = clone(forecaster).set_params(verbose=2 if verbose >= 2 else 0)
        params = forecaster.get_params(deep=False)
        if "cell" in params and params.get("device", "auto") != "cuda":
            compile_notice(params["cell"], params.get("dtype", "float32"))
    jobs = (
        delayed(_run_group)(forecaster, y, X, [folds[i] for i in group], horizon, level)
        for group in groups
    )
    parts = _run_folds(jobs, groups, n_jobs, verbose)
    results = pd.concat(parts, ignore_index=True)
    columns = ["unique_id", "cutoff", "ds", "y", "yhat"]
    columns += [c for c in results.columns if c not in columns]
    return (
        results[columns]
        .sort_values(["unique_id", "cutoff", "ds"], kind="stable")
        .reset_index(drop=True)
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


_BASELINES = ("naive", "drift", "seasonal_naive")  # baselines=True
_KNOWN_BASELINES = (*_BASELINES, "theta")


def _check_baselines(baselines) -> tuple:
    if baselines is True:
        return _BASELINES
    if baselines is False or baselines is None:
        return ()
    names = [baselines] if isinstance(baselines, str) else list(baselines)
    unknown = [b for b in names if b not in _KNOWN_BASELINES]
    if unknown:
        raise ValueError(
            f"baselines must be True, False or a list of {list(_KNOWN_BASELINES)}, got "
            f"{baselines!r}"
        )
    return tuple(dict.fromkeys(names))


def _baseline_forecast(name: str, train: np.ndarray, steps: np.ndarray, m: int) -> np.ndarray:
    """The forecasts ``steps`` ahead of a baseline from ``train``; NaN when it is too short."""
    n = len(train)
    if name == "naive":
        return np.full(len(steps), train[-1])
    if name == "theta":  # the forecaster itself, on the fold's training values
        theta = ThetaForecaster(horizon=int(steps.max()), season_length=m)
        return theta.fit(pd.Series(train)).predict().to_numpy()[steps - 1]
    if name == "drift":
        if n < 2:
            return np.full(len(steps), np.nan)
        return train[-1] + steps * (train[-1] - train[0]) / (n - 1)
    if n < m:
        return np.full(len(steps), np.nan)
    return train[n - m + (steps - 1) % m]


def _scores(uid, model, folds, season_length) -> dict:
    """The metrics of one model on one series: ``folds`` is a list of (actual, forecast, train)."""
    actual = np.concatenate([a for a, _, _ in folds])
    forecast = np.concatenate([f for _, f, _ in folds])
    row = {"unique_id": uid, "model": model, "n_folds": len(folds), "n_forecasts": len(actual)}
    if np.isnan(forecast).any():  # a baseline without enough history in some fold
        return {**row, **dict.fromkeys(("mae", "rmse", "smape", "mase", "mase_naive"), np.nan)}
    row.update(
        mae=M.mae(actual, forecast), rmse=M.rmse(actual, forecast), smape=M.smape(actual, forecast)
    )
    for column, m in (("mase", season_length), ("mase_naive", 1)):
        per_fold = [M.mase(a, f, t, m) if len(t) > m else np.nan for a, f, t in folds]
        row[column] = float(np.mean(per_fold)) if per_fold else np.nan
    return row


def evaluate_backtest(
    results: pd.DataFrame, y, season_length: int = 1, *, baselines=True, model_name="model"
) -> pd.DataFrame:
    """Accuracy of backtest forecasts per series, next to simple baselines on the same folds.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`backtest` (columns ``unique_id``, ``cutoff``, ``ds``, ``y``, ``yhat``).
    y : pandas.Series or pandas.DataFrame
        The data the backtest ran on. The baselines are computed from each fold's training
        data (the observations of the series up to the fold's cutoff), and MASE is scaled by
        that training data's in-sample error of the seasonal naive (``mase``) and of the naive
        (``mase_naive``) forecast.
    season_length : int, default=1
        Seasonal period ``m``: of the ``mase`` scale and of the seasonal naive baseline.
    baselines : bool or list of str, default=True
        The baselines reported beside the model: True for all of ``'naive'`` (the last value),
        ``'drift'`` (the line through the first and last values of the training data) and
        ``'seasonal_naive'`` (the last season, period ``season_length``), as
        :class:`~tsrnn.forecasting.NaiveForecaster`, :class:`~tsrnn.forecasting.DriftForecaster`
        and :class:`~tsrnn.forecasting.SeasonalNaiveForecaster` forecast them; False for the
        model alone; or a list of these names and ``'theta'`` (the Theta method as
        :class:`~tsrnn.forecasting.ThetaForecaster` forecasts it, season ``season_length``).
    model_name : str, default='model'
        The name of the backtested forecaster in the ``model`` column.

    Returns
    -------
    pandas.DataFrame
        One row per series and model: the backtested forecaster's row (``model_name``), then
        one row per baseline, in the order of ``results``' series. Columns: ``unique_id``,
        ``model``, ``n_folds``, ``n_forecasts``, ``mae``, ``rmse``, ``smape`` (pooled over all
        forecasts of the series), ``mase`` (mean over folds of the fold's MAE divided by the
        in-sample MAE of the seasonal naive forecast with period ``season_length``) and
        ``mase_naive`` (the same with the naive forecast's scale, period 1). A MASE is NaN
        when a scale is 0 or the training data are too short for it; a baseline's metrics are
        all NaN for a series when some fold's training data are too short for it (drift: 2
        observations, seasonal naive: ``season_length``). Forecast steps are counted in the
        observations of ``y`` after the cutoff.

    Raises
    ------
    ValueError
        If ``baselines`` is invalid or a forecast timestamp of ``results`` is not in ``y``.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.forecasting import SeasonalNaiveForecaster
    >>> y = load_air_passengers()
    >>> res = backtest(SeasonalNaiveForecaster(), y, initial=120, step=12, horizon=12)
    >>> scores = evaluate_backtest(res, y, season_length=12, model_name="snaive")
    >>> scores[["model", "smape"]].round(2).values.tolist()
    [['snaive', 11.17], ['naive', 19.36], ['drift', 16.45], ['seasonal_naive', 11.17]]
    """
    names = _check_baselines(baselines)
    history = _to_long(y)
    rows = []
    for uid, res in results.groupby("unique_id", sort=False):
        hist = history.loc[history["unique_id"] == uid]
        order = np.argsort(hist["ds"].to_numpy(), kind="stable")
        times = pd.Index(hist["ds"].to_numpy()[order])
        values = hist["y"].to_numpy(dtype=np.float64)[order]
        folds = {name: [] for name in (model_name, *names)}
        for cutoff, fold in res.groupby("cutoff", sort=True):
            n_train = int(times.searchsorted(cutoff, side="right"))
            train = values[:n_train]
            actual = fold["y"].to_numpy(dtype=np.float64)
            folds[model_name].append((actual, fold["yhat"].to_numpy(dtype=np.float64), train))
            if not names:
                continue
            position = times.get_indexer(pd.Index(fold["ds"].to_numpy()))
            if (position < 0).any() or n_train == 0:
                raise ValueError(
                    f"series {series_name(uid)}: the backtest results at cutoff {cutoff} do "
                    "not match y (pass the data the backtest ran on)"
                )
            steps = position - n_train + 1
            for name in names:
                folds[name].append(
                    (actual, _baseline_forecast(name, train, steps, season_length), train)
                )
        rows += [_scores(uid, name, f, season_length) for name, f in folds.items()]
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
    baselines=True,
    verbose=0,
) -> pd.DataFrame:
    """Backtest a forecaster and report MAE, RMSE, sMAPE and MASE per series, beside baselines.

    Parameters
    ----------
    forecaster, y, initial, step, horizon, X, refit, cv, n_jobs, verbose
        As in :func:`backtest`.
    season_length : int, optional
        Seasonal period of MASE's scale and of the seasonal naive baseline; the forecaster's
        ``season_length`` or the data's frequency (12 monthly, ...) when None.
    baselines : bool or list of str, default=True
        The baselines computed on the same folds (see :func:`evaluate_backtest`).

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluate_backtest`, with the forecaster's class name in the ``model`` column:
        one row per series and model with ``unique_id``, ``model``, ``n_folds``,
        ``n_forecasts``, ``mae``, ``rmse``, ``smape``, ``mase``, ``mase_naive``.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.forecasting import SeasonalNaiveForecaster
    >>> y = load_air_passengers()
    >>> scores = evaluate(SeasonalNaiveForecaster(), y, initial=120, step=12, horizon=12)
    >>> scores[["model", "n_folds"]].values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['SeasonalNaiveForecaster', 2], ['naive', 2], ['drift', 2], ['seasonal_naive', 2]]
    """
    names = _check_baselines(baselines)  # before the (long) backtest
    results = backtest(
        forecaster,
        y,
        initial,
        step,
        horizon,
        X=X,
        refit=refit,
        cv=cv,
        n_jobs=n_jobs,
        verbose=verbose,
    )
    m = season_length if season_length is not None else _season_length(y, forecaster)
    return evaluate_backtest(results, y, m, baselines=names, model_name=type(forecaster).__name__)
