"""Matplotlib plots for forecasts, backtests and training curves.

Every function draws on the Axes passed as ``ax`` (or on a new figure's Axes when ``ax`` is None)
and returns that Axes; none of them calls ``plt.show``, so they work with any backend, headless
ones included (:func:`plot_panel` draws a grid and returns its Figure). Periods
(:class:`pandas.PeriodIndex` or period-dtype columns) are converted to timestamps at the start of
each period before plotting.

Forecast plots join the forecast line to the last observation, so history and forecast read as
one line; ``last=N`` shows only the most recent N observations of the history (a 52-week forecast
after 40 years of weekly data is otherwise a sliver); every plot labels its axes and draws a light
grid; prediction intervals are shaded wherever the forecast (or backtest) frame has
``yhat_lo_<level>`` / ``yhat_hi_<level>`` columns, the widest level lightest.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_backtest", "plot_forecast", "plot_loss_curve", "plot_panel"]

_LONG_HISTORY_COLUMNS = ("unique_id", "ds", "y")
_LONG_FORECAST_COLUMNS = ("unique_id", "ds", "yhat")
_BACKTEST_COLUMNS = ("unique_id", "cutoff", "ds", "y", "yhat")
_LEVEL_COLUMN = re.compile(r"^yhat_lo_(\d+(?:\.\d+)?)$")


def _get_ax(ax: Axes | None) -> Axes:
    """Return ``ax``, or the Axes of a new figure when it is None."""
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 4))
    elif not isinstance(ax, Axes):  # e.g. the data passed in ax's place
        raise TypeError(
            f"ax must be a matplotlib Axes (or None for a new figure), got {type(ax).__name__}"
        )
    return ax


def _plot_x(values) -> np.ndarray:
    """Return x values matplotlib can plot, with periods converted to start timestamps."""
    index = pd.Index(values)
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    return index.to_numpy()


def _style(ax: Axes, xlabel: str, ylabel: str) -> None:
    """Label both axes and draw a light grid behind the data."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(True, color="0.85", linewidth=0.6)
    ax.set_axisbelow(True)


def _axis_name(name, default: str) -> str:
    """``name`` as an axis label, or ``default`` when it is None or a generic column name."""
    if name is None or str(name) in {"", "ds", "y", "index"}:
        return default
    return str(name)


def _is_positive_int(value) -> bool:
    """Whether ``value`` is an integer (not a bool) of at least 1."""
    integer = isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))
    return integer and value >= 1


def _check_last(last) -> int | None:
    """Validate the ``last`` option: None or a positive integer."""
    if last is None:
        return None
    if not _is_positive_int(last):
        raise ValueError(
            f"last must be a positive integer (the number of recent observations to show) or "
            f"None for the whole history, got {last!r}"
        )
    return int(last)


def _joined(x_hist: np.ndarray, y_hist: np.ndarray, x: np.ndarray, y: np.ndarray):
    """Prepend the last observation to the forecast line when the forecast follows it."""
    if len(x_hist) == 0 or len(x) == 0:
        return x, y
    kinds = (x_hist.dtype.kind, x.dtype.kind)
    if kinds == ("M", "M"):  # dates, perhaps in different units (ns, us, s)
        last_x = x_hist[-1:].astype(x.dtype)
    elif set(kinds) <= set("iuf") or x_hist.dtype == x.dtype:
        last_x = x_hist[-1:]
    else:  # not comparable (dates against numbers): leave the line as it is
        return x, y
    try:
        follows = bool(last_x[0] < x[0])
    except TypeError:  # objects that do not compare
        return x, y
    if not follows:
        return x, y
    return np.concatenate([last_x, x]), np.concatenate([y_hist[-1:], y])


def _format_date_axis(ax: Axes, x: np.ndarray) -> None:
    """Use concise date tick labels when ``x`` holds dates."""
    if np.issubdtype(x.dtype, np.datetime64):
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _cutoff_label(value) -> str:
    """Format a cutoff for a legend, dropping a midnight time of day."""
    if isinstance(value, pd.Timestamp) and value == value.normalize():
        return str(value.date())
    return str(value)


def _require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ValueError if ``frame`` lacks any of ``columns``."""
    missing = [col for col in columns if col not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing column(s) {missing}; it needs {list(columns)}")


def _is_long(frame) -> bool:
    """Whether ``frame`` is a long-format DataFrame with ``unique_id`` and ``ds`` columns."""
    return isinstance(frame, pd.DataFrame) and {"unique_id", "ds"} <= set(frame.columns)


def _choose_id(frame: pd.DataFrame, unique_id):
    """Return ``unique_id``, or the first id of ``frame`` when None; check that it is present."""
    ids = frame["unique_id"].unique()
    if unique_id is None:
        if len(ids) == 0:
            raise ValueError("cannot plot an empty DataFrame")
        return ids[0]
    if unique_id not in set(ids):
        raise ValueError(f"unique_id {unique_id!r} not found; available ids: {list(ids)}")
    return unique_id


def _select_long(history: pd.DataFrame, forecast: pd.DataFrame, unique_id):
    """Turn long history and forecast frames into one series' history Series and forecast frame."""
    if not (_is_long(history) and _is_long(forecast)):
        raise ValueError(
            "long format needs both history (unique_id, ds, y) and forecast (unique_id, ds, yhat)"
            " as DataFrames"
        )
    _require_columns(history, _LONG_HISTORY_COLUMNS, "long history DataFrame")
    _require_columns(forecast, _LONG_FORECAST_COLUMNS, "long forecast DataFrame")
    uid = _choose_id(forecast, unique_id)
    hist = history.loc[history["unique_id"] == uid].sort_values("ds")
    fcst = forecast.loc[forecast["unique_id"] == uid].sort_values("ds")
    series = pd.Series(hist["y"].to_numpy(), index=pd.Index(hist["ds"]), name=str(uid))
    return series, fcst.drop(columns="unique_id").set_index("ds")


def _forecast_frame(forecast) -> pd.DataFrame:
    """Normalise a point-forecast Series or a wide forecast DataFrame to a frame with ``yhat``."""
    if isinstance(forecast, pd.Series):
        return forecast.to_frame("yhat")
    if not isinstance(forecast, pd.DataFrame):
        raise TypeError(f"forecast must be a pandas Series or DataFrame, got {type(forecast)}")
    if "ds" in forecast.columns:
        forecast = forecast.set_index("ds")
    _require_columns(forecast, ["yhat"], "forecast DataFrame")
    return forecast


def _available_levels(forecast: pd.DataFrame) -> list[str]:
    """Return the interval levels (as column suffixes) with both ``yhat_lo_`` and ``yhat_hi_``."""
    levels = []
    for col in forecast.columns:
        match = _LEVEL_COLUMN.match(str(col))
        if match and f"yhat_hi_{match.group(1)}" in forecast.columns:
            levels.append(match.group(1))
    return levels


def _select_levels(forecast: pd.DataFrame, levels) -> list[str]:
    """Return the level suffixes to shade, widest first."""
    available = {float(suffix): suffix for suffix in _available_levels(forecast)}
    if levels is None:
        return sorted(available.values(), key=float, reverse=True)
    unknown = [level for level in levels if float(level) not in available]
    if unknown:
        raise ValueError(
            f"no interval columns for level(s) {unknown}; available: {list(available.values())}"
        )
    return sorted((available[float(level)] for level in levels), key=float, reverse=True)


def _shade_intervals(
    ax: Axes, x: np.ndarray, forecast: pd.DataFrame, levels, color, legend: bool = True
) -> None:
    """Shade each prediction interval, the widest level lightest (in the legend if ``legend``)."""
    alphas = np.linspace(0.15, 0.35, num=len(levels)) if levels else []
    for level, alpha in zip(levels, alphas):
        ax.fill_between(
            x,
            forecast[f"yhat_lo_{level}"].to_numpy(dtype=float),
            forecast[f"yhat_hi_{level}"].to_numpy(dtype=float),
            color=color,
            alpha=float(alpha),
            linewidth=0,
            label=f"{level}% interval" if legend else "_nolegend_",
        )


def plot_forecast(
    history, forecast, ax=None, levels=None, title=None, unique_id=None, last=None
) -> Axes:
    """Plot a series' history followed by its forecast and prediction intervals.

    The forecast line starts at the last observation, so the two lines join; the axes are
    labelled (the index name or "time", the series name or "value") and a light grid is drawn.
    For a panel (a long DataFrame of several series) this plots one series; :func:`plot_panel`
    draws them all in a grid.

    Parameters
    ----------
    history : pandas.Series or pandas.DataFrame
        The observed series, indexed by a DatetimeIndex, PeriodIndex or integer index; or a long
        DataFrame with columns ``unique_id``, ``ds``, ``y`` (then ``forecast`` must be long too).
    forecast : pandas.Series or pandas.DataFrame
        Point forecasts as a Series with a future index; or a DataFrame indexed like that (or with
        a ``ds`` column) holding a ``yhat`` column and optional interval columns
        ``yhat_lo_<level>`` / ``yhat_hi_<level>`` (for example ``yhat_lo_80``, ``yhat_hi_95``);
        or a long DataFrame with columns ``unique_id``, ``ds``, ``yhat`` and optional intervals.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created when None.
    levels : sequence of int or str, optional
        Interval levels to shade (for example ``[80, 95]``); all levels found in ``forecast``
        when None. Wider intervals are shaded lighter.
    title : str, optional
        Axes title.
    unique_id : hashable, optional
        With long DataFrames, the series to plot; the first id of ``forecast`` when None.
    last : int, optional
        Show only the most recent ``last`` observations of the history (all of it when None or
        when the history is shorter).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: two lines (history, then the forecast, whose first point is the last
        observation shown) and one filled band per level.

    Raises
    ------
    TypeError
        If ``history`` or ``forecast`` is not a pandas Series or DataFrame.
    ValueError
        If required columns are missing, ``unique_id`` is unknown, a requested level has no
        interval columns or ``last`` is not a positive integer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.plotting import plot_forecast
    >>> y = load_air_passengers()
    >>> future = pd.period_range(y.index[-1] + 1, periods=12, freq="M")
    >>> fc = pd.DataFrame({"yhat": y.iloc[-12:].to_numpy()}, index=future)
    >>> fc["yhat_lo_80"], fc["yhat_hi_80"] = fc["yhat"] - 20, fc["yhat"] + 20
    >>> ax = plot_forecast(y, fc, title="Air passengers", last=48)
    >>> len(ax.lines), len(ax.collections)
    (2, 1)
    >>> len(ax.lines[0].get_xdata()), bool(ax.lines[1].get_ydata()[0] == y.iloc[-1])
    (48, True)
    >>> ax.get_xlabel(), ax.get_ylabel()
    ('month', 'passengers')
    """
    last = _check_last(last)
    long = _is_long(history) or _is_long(forecast)
    if long:
        history, forecast = _select_long(history, forecast, unique_id)
    elif not isinstance(history, pd.Series):
        raise TypeError(f"history must be a pandas Series or long DataFrame, got {type(history)}")
    forecast = _forecast_frame(forecast)
    if last is not None:
        history = history.iloc[-last:]
    ax = _get_ax(ax)
    x_hist, y_hist = _plot_x(history.index), history.to_numpy(dtype=float)
    ax.plot(x_hist, y_hist, color="C0", label="history")
    x = _plot_x(forecast.index)
    _shade_intervals(ax, x, forecast, _select_levels(forecast, levels), color="C1")
    x_line, y_line = _joined(x_hist, y_hist, x, forecast["yhat"].to_numpy(dtype=float))
    ax.plot(x_line, y_line, color="C1", label="forecast")
    _format_date_axis(ax, x_line)
    if title is not None:
        ax.set_title(title)
    ylabel = "value" if long else _axis_name(history.name, "value")
    _style(ax, _axis_name(history.index.name, "time"), ylabel)
    ax.legend(loc="best")
    return ax


def plot_panel(
    history, forecast, ids=None, levels=None, last=None, ncols=None, max_series=12
) -> Figure:
    """Plot the history and forecast of several series of a panel, one Axes each, in a grid.

    Each Axes is drawn by :func:`plot_forecast` (forecast joined to the last observation,
    intervals, labels, grid) and titled with the series id.

    Parameters
    ----------
    history : pandas.DataFrame
        Long DataFrame with columns ``unique_id``, ``ds``, ``y``.
    forecast : pandas.DataFrame
        Long DataFrame with columns ``unique_id``, ``ds``, ``yhat`` and optional interval columns
        ``yhat_lo_<level>`` / ``yhat_hi_<level>``, as returned by a forecaster fitted on a panel.
    ids : sequence of hashable, optional
        The series to plot, in this order; the first ``max_series`` ids of ``forecast`` when
        None (the figure's title then says how many were left out).
    levels : sequence of int or str, optional
        Interval levels to shade; all levels found in ``forecast`` when None.
    last : int, optional
        Show only the most recent ``last`` observations of each series' history.
    ncols : int, optional
        Columns of the grid; 1 for a single series, 2 for up to 4, otherwise 3.
    max_series : int, default=12
        Most series plotted when ``ids`` is None.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; ``figure.axes`` holds one Axes per plotted series, in order (unused cells
        of the grid are removed).

    Raises
    ------
    TypeError
        If ``history`` or ``forecast`` is not a long DataFrame.
    ValueError
        If a required column is missing, an id of ``ids`` is unknown, ``ids`` is empty or
        ``last``, ``ncols`` or ``max_series`` is not a positive integer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from tsrnn.plotting import plot_panel
    >>> hist = pd.DataFrame({"unique_id": list("aaabbbccc"), "ds": [1, 2, 3] * 3,
    ...                      "y": [1.0, 2, 3, 3, 2, 1, 5, 5, 5]})
    >>> fc = pd.DataFrame({"unique_id": list("abc"), "ds": [4] * 3, "yhat": [4.0, 0.0, 5.0]})
    >>> fig = plot_panel(hist, fc)
    >>> [ax.get_title() for ax in fig.axes]
    ['a', 'b', 'c']
    """
    for name, frame in (("history", history), ("forecast", forecast)):
        if not _is_long(frame):
            raise TypeError(
                f"plot_panel needs {name} as a long DataFrame with unique_id and ds columns, got "
                f"{type(frame).__name__}; use plot_forecast for a single Series"
            )
    _check_last(last)
    for name, value in (("ncols", ncols), ("max_series", max_series)):
        if value is not None and not _is_positive_int(value):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    all_ids = list(forecast["unique_id"].unique())
    note = None
    if ids is None:
        chosen = all_ids[:max_series]
        if len(all_ids) > len(chosen):
            note = f"first {len(chosen)} of {len(all_ids)} series"
    else:
        chosen = list(ids)
        if not chosen:
            raise ValueError("ids is empty; give at least one series id, or None for the first")
        unknown = [uid for uid in chosen if uid not in set(all_ids)]
        if unknown:
            raise ValueError(f"unique_id(s) {unknown} not found; available ids: {all_ids}")
    if not chosen:
        raise ValueError("cannot plot an empty DataFrame")
    n = len(chosen)
    ncols = int(ncols) if ncols is not None else (1 if n == 1 else 2 if n <= 4 else 3)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5 * ncols if ncols > 1 else 10, 3 * nrows), squeeze=False
    )
    cells = list(axes.ravel())
    for ax, uid in zip(cells, chosen):
        plot_forecast(
            history, forecast, ax=ax, levels=levels, title=str(uid), unique_id=uid, last=last
        )
        if ax is not cells[0]:
            legend = ax.get_legend()
            if legend is not None:
                legend.remove()
    for ax in cells[n:]:
        fig.delaxes(ax)
    if note is not None:
        fig.suptitle(note)
    return fig


def plot_backtest(results: pd.DataFrame, ax=None, unique_id=None, levels=None) -> Axes:
    """Plot the forecasts of every backtest fold against the actual values.

    Prediction intervals are shaded around each fold's forecast, in the fold's colour, when
    ``results`` has interval columns (``backtest(..., level=[80])`` adds them).

    Parameters
    ----------
    results : pandas.DataFrame
        Tidy backtest results with columns ``unique_id``, ``cutoff``, ``ds``, ``y``, ``yhat``:
        one row per fold (cutoff) and forecast step; optionally ``yhat_lo_<level>`` /
        ``yhat_hi_<level>`` interval columns.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created when None.
    unique_id : hashable, optional
        The series to plot; the first id of ``results`` when None.
    levels : sequence of int or str, optional
        Interval levels to shade (for example ``[80]``); all levels found in ``results`` when
        None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on: one line of actuals, then for each fold a forecast line and a dotted
        vertical line at its cutoff, both in the fold's colour, and one filled band per fold
        and level; labelled axes and a light grid.

    Raises
    ------
    ValueError
        If a required column is missing, ``unique_id`` is unknown or a requested level has no
        interval columns.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from tsrnn.plotting import plot_backtest
    >>> res = pd.DataFrame({
    ...     "unique_id": "a", "cutoff": [2, 2, 4, 4], "ds": [3, 4, 5, 6],
    ...     "y": [1.0, 2.0, 3.0, 4.0], "yhat": [1.1, 1.8, 3.2, 3.9]})
    >>> res["yhat_lo_80"], res["yhat_hi_80"] = res["yhat"] - 0.5, res["yhat"] + 0.5
    >>> ax = plot_backtest(res)
    >>> len(ax.lines)  # actuals + 2 folds x (forecast + cutoff line)
    5
    >>> len(ax.collections)  # one 80 % band per fold
    2
    """
    _require_columns(results, _BACKTEST_COLUMNS, "backtest results")
    uid = _choose_id(results, unique_id)
    rows = results.loc[results["unique_id"] == uid]
    chosen = _select_levels(rows, levels)
    ax = _get_ax(ax)
    actuals = rows.drop_duplicates("ds").sort_values("ds")
    x = _plot_x(actuals["ds"])
    ax.plot(x, actuals["y"].to_numpy(dtype=float), color="black", label="actual")
    for i, (cutoff, fold) in enumerate(rows.groupby("cutoff", sort=True)):
        fold = fold.sort_values("ds")
        color = f"C{i % 10}"
        fold_x = _plot_x(fold["ds"])
        _shade_intervals(ax, fold_x, fold, chosen, color=color, legend=i == 0)
        ax.plot(
            fold_x,
            fold["yhat"].to_numpy(dtype=float),
            color=color,
            marker=".",
            label=f"cutoff {_cutoff_label(cutoff)}",
        )
        ax.axvline(_plot_x([cutoff])[0], color=color, linestyle=":", linewidth=1)
    _format_date_axis(ax, x)
    ax.set_title(f"Backtest: {uid}")
    _style(ax, "time", "value")
    ax.legend(loc="best", fontsize="small")
    return ax


def _curves(estimator_or_curve) -> tuple[np.ndarray, np.ndarray | None]:
    """Return the training-loss curve and the validation scores (or None) as float arrays."""
    if hasattr(estimator_or_curve, "loss_curve_"):
        loss = estimator_or_curve.loss_curve_
        scores = getattr(estimator_or_curve, "validation_scores_", None)
    elif isinstance(estimator_or_curve, (str, bytes)):
        raise TypeError("expected an estimator with loss_curve_ or a sequence of floats")
    else:
        loss, scores = estimator_or_curve, None
    loss = np.asarray(loss, dtype=float).ravel()
    if loss.size == 0:
        raise ValueError("the loss curve is empty")
    if scores is not None:
        scores = np.asarray(scores, dtype=float).ravel()
        scores = scores if scores.size else None
    return loss, scores


def plot_loss_curve(estimator_or_curve, ax=None) -> Axes:
    """Plot the training loss per epoch, with validation scores when available.

    Parameters
    ----------
    estimator_or_curve : estimator or sequence of float
        A fitted estimator with a ``loss_curve_`` attribute (a list of floats, one per epoch) and
        optionally ``validation_scores_`` (a list of floats, or None); or a plain sequence of
        loss values.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is created when None.

    Returns
    -------
    matplotlib.axes.Axes
        The Axes holding the training-loss line, on a log y scale when every loss is positive.
        Validation scores, when present, are drawn on a twin y axis (linear scale) sharing the
        epoch axis, and appear in the same legend.

    Raises
    ------
    TypeError
        If ``estimator_or_curve`` is a string rather than an estimator or a sequence.
    ValueError
        If the loss curve is empty.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from tsrnn.plotting import plot_loss_curve
    >>> ax = plot_loss_curve([1.0, 0.5, 0.3, 0.25])
    >>> ax.get_yscale(), len(ax.lines)
    ('log', 1)
    """
    loss, scores = _curves(estimator_or_curve)
    ax = _get_ax(ax)
    handles = ax.plot(np.arange(1, loss.size + 1), loss, color="C0", label="training loss")
    if np.all(loss > 0):
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("loss")
    if scores is not None:
        twin = ax.twinx()
        handles += twin.plot(
            np.arange(1, scores.size + 1), scores, color="C1", label="validation score"
        )
        twin.set_ylabel("validation score")
        ax.set_zorder(twin.get_zorder() + 1)  # keep the legend above the twin's lines
        ax.patch.set_visible(False)
    ax.legend(handles=handles, loc="best")
    return ax
