"""Tests for :mod:`tsrnn.plotting`: plots render headless to non-empty PNG files.

The tests read the matplotlib objects (line data, collections, labels, grid, axes of a figure),
not pixels.
"""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from tsrnn.plotting import (  # noqa: E402
    plot_backtest,
    plot_forecast,
    plot_loss_curve,
    plot_panel,
)

MIN_PNG_BYTES = 5_000


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _save(ax, path):
    ax.figure.savefig(path, format="png")
    assert path.stat().st_size > MIN_PNG_BYTES
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def _monthly_history(n=36):
    index = pd.period_range("2000-01", periods=n, freq="M", name="month")
    return pd.Series(100 + 10 * np.sin(np.arange(n) / 2.0), index=index, name="value")


def _interval_forecast(history, horizon=6):
    future = pd.period_range(history.index[-1] + 1, periods=horizon, freq="M")
    yhat = np.full(horizon, history.iloc[-1])
    spread = np.arange(1, horizon + 1, dtype=float)
    return pd.DataFrame(
        {
            "yhat": yhat,
            "yhat_lo_80": yhat - spread,
            "yhat_hi_80": yhat + spread,
            "yhat_lo_95": yhat - 2 * spread,
            "yhat_hi_95": yhat + 2 * spread,
        },
        index=future,
    )


def _bands(ax):
    return [c for c in ax.collections if isinstance(c, PolyCollection)]


def test_plot_forecast_series_point_forecast(tmp_path):
    history = _monthly_history()
    forecast = _interval_forecast(history)["yhat"]
    ax = plot_forecast(history, forecast, title="point")
    assert len(ax.lines) == 2
    assert len(ax.collections) == 0
    assert ax.get_title() == "point"
    _save(ax, tmp_path / "point.png")


def test_plot_forecast_periods_become_timestamps():
    history = _monthly_history()
    ax = plot_forecast(history, _interval_forecast(history)["yhat"])
    x = ax.lines[0].get_xdata()
    assert np.issubdtype(np.asarray(x).dtype, np.datetime64)
    assert pd.Timestamp(x[0]) == pd.Timestamp("2000-01-01")
    # the forecast line starts at the last observation (2002-12), then the first step (2003-01)
    fx = ax.lines[1].get_xdata()
    assert pd.Timestamp(fx[0]) == pd.Timestamp("2002-12-01")
    assert pd.Timestamp(fx[1]) == pd.Timestamp("2003-01-01")


def test_plot_forecast_shades_each_level_lighter_when_wider(tmp_path):
    history = _monthly_history()
    ax = plot_forecast(history, _interval_forecast(history))
    bands = _bands(ax)
    assert len(ax.lines) == 2
    assert len(bands) == 2
    labels = [band.get_label() for band in bands]
    assert labels == ["95% interval", "80% interval"]
    alpha_95, alpha_80 = (to_rgba(band.get_facecolor()[0])[3] for band in bands)
    assert alpha_95 < alpha_80
    _save(ax, tmp_path / "intervals.png")


def test_plot_forecast_selected_levels_and_given_ax(tmp_path):
    history = _monthly_history()
    fig, given = plt.subplots()
    ax = plot_forecast(history, _interval_forecast(history), ax=given, levels=[80])
    assert ax is given
    assert [band.get_label() for band in _bands(ax)] == ["80% interval"]
    _save(ax, tmp_path / "level80.png")


def test_plot_forecast_unknown_level_raises():
    history = _monthly_history()
    with pytest.raises(ValueError, match="level"):
        plot_forecast(history, _interval_forecast(history), levels=[99])


def test_plot_forecast_missing_yhat_raises():
    history = _monthly_history()
    with pytest.raises(ValueError, match="yhat"):
        plot_forecast(history, _interval_forecast(history).drop(columns="yhat"))


def test_plot_forecast_range_index(tmp_path):
    history = pd.Series(np.arange(20, dtype=float))
    forecast = pd.Series(np.arange(20, 25, dtype=float), index=pd.RangeIndex(20, 25))
    ax = plot_forecast(history, forecast)
    assert len(ax.lines) == 2
    assert list(ax.lines[1].get_xdata()) == [19, 20, 21, 22, 23, 24]  # joined at t=19
    _save(ax, tmp_path / "range.png")


def _long_frames():
    dates = pd.date_range("2020-01-01", periods=30, freq="D")
    future = pd.date_range("2020-01-31", periods=5, freq="D")
    history = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": dates, "y": np.arange(30.0) * k})
        for uid, k in (("a", 1.0), ("b", -1.0))
    )
    forecast = pd.concat(
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": future,
                "yhat": np.full(5, 30.0 * k),
                "yhat_lo_90": np.full(5, 30.0 * k - 3),
                "yhat_hi_90": np.full(5, 30.0 * k + 3),
            }
        )
        for uid, k in (("a", 1.0), ("b", -1.0))
    )
    return history, forecast


def test_plot_forecast_long_format_first_id_by_default(tmp_path):
    history, forecast = _long_frames()
    ax = plot_forecast(history, forecast)
    assert len(ax.lines) == 2
    assert len(_bands(ax)) == 1
    assert ax.lines[0].get_ydata()[-1] == 29.0  # series "a"
    _save(ax, tmp_path / "long.png")


def test_plot_forecast_long_format_chosen_id():
    history, forecast = _long_frames()
    ax = plot_forecast(history, forecast, unique_id="b")
    assert ax.lines[0].get_ydata()[-1] == -29.0
    assert list(ax.lines[1].get_ydata()[:2]) == [-29.0, -30.0]  # joined to the last value


def test_plot_forecast_long_format_unknown_id_raises():
    history, forecast = _long_frames()
    with pytest.raises(ValueError, match="unique_id"):
        plot_forecast(history, forecast, unique_id="zzz")


def test_plot_forecast_long_forecast_needs_long_history():
    _, forecast = _long_frames()
    with pytest.raises(ValueError, match="long format"):
        plot_forecast(_monthly_history(), forecast)


def _backtest_results(n_folds=3, horizon=4):
    dates = pd.date_range("2021-01-01", periods=40, freq="D")
    actual = pd.Series(np.sin(np.arange(40) / 3.0), index=dates)
    frames = []
    for uid in ("x", "y"):
        for fold in range(n_folds):
            cutoff = dates[20 + fold * horizon]
            ds = pd.date_range(cutoff + pd.Timedelta(days=1), periods=horizon, freq="D")
            frames.append(
                pd.DataFrame(
                    {
                        "unique_id": uid,
                        "cutoff": cutoff,
                        "ds": ds,
                        "y": actual[ds].to_numpy(),
                        "yhat": actual[ds].to_numpy() + 0.1 * (fold + 1),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def test_plot_backtest(tmp_path):
    results = _backtest_results(n_folds=3)
    ax = plot_backtest(results)
    # One actuals line, then per fold a forecast line and a dotted cutoff line.
    assert len(ax.lines) == 1 + 2 * 3
    forecast_lines = [line for line in ax.lines[1:] if line.get_linestyle() != ":"]
    cutoff_lines = [line for line in ax.lines[1:] if line.get_linestyle() == ":"]
    assert len(forecast_lines) == 3 and len(cutoff_lines) == 3
    assert len({line.get_color() for line in forecast_lines}) == 3
    # Actuals plotted once, without duplicated dates.
    assert len(ax.lines[0].get_xdata()) == results.loc[results.unique_id == "x", "ds"].nunique()
    assert ax.get_title() == "Backtest: x"
    _save(ax, tmp_path / "backtest.png")


def test_plot_backtest_with_periods_and_chosen_id(tmp_path):
    results = _backtest_results(n_folds=2)
    results["cutoff"] = results["cutoff"].dt.to_period("D")
    results["ds"] = results["ds"].dt.to_period("D")
    ax = plot_backtest(results, unique_id="y")
    assert len(ax.lines) == 5
    assert ax.get_title() == "Backtest: y"
    _save(ax, tmp_path / "backtest_periods.png")


def test_plot_backtest_missing_column_raises():
    with pytest.raises(ValueError, match="cutoff"):
        plot_backtest(_backtest_results().drop(columns="cutoff"))


class _Fitted:
    def __init__(self, loss_curve, validation_scores=None):
        self.loss_curve_ = loss_curve
        self.validation_scores_ = validation_scores


def test_plot_loss_curve_sequence_is_log_scaled(tmp_path):
    ax = plot_loss_curve([1.0, 0.6, 0.4, 0.3, 0.25])
    assert len(ax.lines) == 1
    assert ax.get_yscale() == "log"
    assert list(ax.lines[0].get_xdata()) == [1, 2, 3, 4, 5]
    _save(ax, tmp_path / "loss.png")


def test_plot_loss_curve_estimator_with_validation(tmp_path):
    est = _Fitted([1.0, 0.5, 0.3, 0.2], validation_scores=[0.1, 0.4, 0.6, 0.7])
    ax = plot_loss_curve(est)
    assert len(ax.lines) == 1
    twins = [other for other in ax.figure.axes if other is not ax]
    assert len(twins) == 1 and len(twins[0].lines) == 1
    legend_texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend_texts == ["training loss", "validation score"]
    _save(ax, tmp_path / "loss_val.png")


def test_plot_loss_curve_estimator_without_validation_and_nonpositive_loss():
    ax = plot_loss_curve(_Fitted([0.5, 0.0, -0.1], validation_scores=None))
    assert ax.get_yscale() == "linear"
    assert len(ax.figure.axes) == 1


def test_plot_loss_curve_empty_raises():
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curve([])


def test_plot_loss_curve_string_raises():
    with pytest.raises(TypeError):
        plot_loss_curve("loss")


# --- joined forecast line, recent history, labels, grid, intervals, panels (issue 13) ---


def _grid_on(ax):
    lines = ax.get_xgridlines() + ax.get_ygridlines()
    return bool(lines) and all(line.get_visible() for line in lines)


def test_forecast_line_starts_at_the_last_observation():
    history = _monthly_history()
    forecast = _interval_forecast(history)
    forecast["yhat"] = forecast["yhat"] + 7.0  # the first step differs from the last value
    ax = plot_forecast(history, forecast)
    hist_line, fc_line = ax.lines
    assert fc_line.get_xdata()[0] == hist_line.get_xdata()[-1]
    assert fc_line.get_ydata()[0] == history.iloc[-1]
    # the rest of the line is the forecast itself, one point per step
    np.testing.assert_array_equal(fc_line.get_ydata()[1:], forecast["yhat"].to_numpy())
    assert len(fc_line.get_xdata()) == len(forecast) + 1


def test_forecast_line_not_joined_when_the_forecast_does_not_follow_the_history():
    history = pd.Series(np.arange(10, dtype=float))
    overlap = pd.Series([50.0, 51.0], index=pd.RangeIndex(5, 7))  # in-sample: nothing to join
    ax = plot_forecast(history, overlap)
    assert list(ax.lines[1].get_xdata()) == [5, 6]


def test_forecast_line_joined_across_date_units():
    # pandas 3 parses dates to microseconds while generated ranges may be in nanoseconds
    history = pd.Series(
        [1.0, 2.0, 3.0],
        index=pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-03"]).as_unit("s"),
    )
    future = pd.date_range("2024-01-04", periods=2, freq="D").as_unit("ns")
    ax = plot_forecast(history, pd.Series([4.0, 5.0], index=future))
    x = ax.lines[1].get_xdata()
    assert pd.Timestamp(x[0]) == pd.Timestamp("2024-01-03")
    assert list(ax.lines[1].get_ydata()) == [3.0, 4.0, 5.0]


def test_last_shows_only_the_most_recent_observations():
    history = _monthly_history(120)
    forecast = _interval_forecast(history)
    ax = plot_forecast(history, forecast, last=24)
    x = ax.lines[0].get_xdata()
    assert len(x) == 24
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), history.iloc[-24:].to_numpy())
    assert pd.Timestamp(x[0]) == pd.Timestamp("2008-01-01")  # 24 months before the end
    # the view starts near the first shown observation, not at the first of all 120
    left = matplotlib.dates.num2date(ax.get_xlim()[0]).replace(tzinfo=None)
    assert pd.Timestamp(left) > pd.Timestamp("2007-06-01")
    assert ax.lines[1].get_ydata()[0] == history.iloc[-1]
    # a longer `last` than the history shows all of it
    ax = plot_forecast(history, forecast, last=1000, ax=plt.subplots()[1])
    assert len(ax.lines[0].get_xdata()) == 120


@pytest.mark.parametrize("last", [0, -3, 2.5, True, "12"])
def test_bad_last_is_a_clear_error(last):
    history = _monthly_history()
    with pytest.raises(ValueError, match="last must be a positive integer"):
        plot_forecast(history, _interval_forecast(history), last=last)


def test_axis_labels_and_light_grid():
    history = _monthly_history()
    ax = plot_forecast(history, _interval_forecast(history))
    assert ax.get_xlabel() == "month" and ax.get_ylabel() == "value"
    assert _grid_on(ax)
    unnamed = pd.Series(np.arange(20, dtype=float))
    ax = plot_forecast(unnamed, pd.Series([20.0], index=[20]), ax=plt.subplots()[1])
    assert ax.get_xlabel() == "time" and ax.get_ylabel() == "value"
    history, forecast = _long_frames()
    ax = plot_forecast(history, forecast, ax=plt.subplots()[1])
    assert ax.get_xlabel() == "time" and ax.get_ylabel() == "value"
    assert _grid_on(ax)


def test_one_band_per_interval_level_of_the_forecast_frame():
    history = _monthly_history()
    forecast = _interval_forecast(history)
    ax = plot_forecast(history, forecast)
    bands = _bands(ax)
    assert len(bands) == 2
    # each band spans the forecast steps, between that level's bounds
    band_95 = bands[0].get_paths()[0].vertices
    assert band_95[:, 1].min() == forecast["yhat_lo_95"].min()
    assert band_95[:, 1].max() == forecast["yhat_hi_95"].max()


def test_plot_forecast_last_with_long_frames():
    history, forecast = _long_frames()
    ax = plot_forecast(history, forecast, unique_id="b", last=5)
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [-25.0, -26.0, -27.0, -28.0, -29.0])


def _panel(n_series, n=30, h=5):
    dates = pd.date_range("2020-01-01", periods=n, freq="D")
    future = pd.date_range(dates[-1] + pd.Timedelta(days=1), periods=h, freq="D")
    ids = [f"s{i}" for i in range(n_series)]
    history = pd.concat(
        pd.DataFrame({"unique_id": uid, "ds": dates, "y": np.arange(n) + 100.0 * k})
        for k, uid in enumerate(ids)
    )
    forecast = pd.concat(
        pd.DataFrame(
            {
                "unique_id": uid,
                "ds": future,
                "yhat": np.full(h, n + 100.0 * k),
                "yhat_lo_80": np.full(h, n + 100.0 * k - 2),
                "yhat_hi_80": np.full(h, n + 100.0 * k + 2),
            }
        )
        for k, uid in enumerate(ids)
    )
    return history, forecast


def test_plot_panel_draws_one_axes_per_series_in_a_grid(tmp_path):
    history, forecast = _panel(5)
    fig = plot_panel(history, forecast, last=10)
    assert len(fig.axes) == 5  # a 2 x 3 grid with the sixth cell removed
    assert [ax.get_title() for ax in fig.axes] == ["s0", "s1", "s2", "s3", "s4"]
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes} == {(2, 3)}
    for k, ax in enumerate(fig.axes):
        assert len(ax.lines[0].get_xdata()) == 10
        assert ax.lines[1].get_ydata()[0] == 29.0 + 100.0 * k  # joined to its own series
        assert len(_bands(ax)) == 1 and _grid_on(ax) and ax.get_xlabel()
    assert fig.axes[0].get_legend() is not None and fig.axes[1].get_legend() is None
    fig.savefig(tmp_path / "panel.png")
    assert (tmp_path / "panel.png").stat().st_size > MIN_PNG_BYTES


def test_plot_panel_ids_columns_and_the_series_left_out():
    history, forecast = _panel(15)
    fig = plot_panel(history, forecast, ids=["s3", "s1"], ncols=1)
    assert [ax.get_title() for ax in fig.axes] == ["s3", "s1"]
    assert {ax.get_subplotspec().get_geometry()[:2] for ax in fig.axes} == {(2, 1)}
    fig = plot_panel(history, forecast, max_series=4)
    assert len(fig.axes) == 4
    assert fig.get_suptitle() == "first 4 of 15 series"  # says what was left out


def test_plot_panel_errors():
    history, forecast = _panel(2)
    with pytest.raises(ValueError, match="not found"):
        plot_panel(history, forecast, ids=["zzz"])
    with pytest.raises(ValueError, match="ids is empty"):
        plot_panel(history, forecast, ids=[])
    with pytest.raises(ValueError, match="ncols must be a positive integer"):
        plot_panel(history, forecast, ncols=0)
    with pytest.raises(TypeError, match="plot_forecast"):
        plot_panel(_monthly_history(), forecast)


def test_plot_backtest_shades_intervals_per_fold_and_level(tmp_path):
    results = _backtest_results(n_folds=3)
    for level, width in ((80, 0.2), (95, 0.4)):
        results[f"yhat_lo_{level}"] = results["yhat"] - width
        results[f"yhat_hi_{level}"] = results["yhat"] + width
    ax = plot_backtest(results)
    bands = _bands(ax)
    assert len(bands) == 3 * 2  # each fold, each level
    # bands take their fold's colour; only the first fold's bands are in the legend
    forecast_lines = [line for line in ax.lines[1:] if line.get_linestyle() != ":"]
    assert to_rgba(bands[0].get_facecolor()[0])[:3] == to_rgba(forecast_lines[0].get_color())[:3]
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    assert legend.count("95% interval") == 1 and legend.count("80% interval") == 1
    assert len(_bands(plot_backtest(results, levels=[80], ax=plt.subplots()[1]))) == 3
    assert ax.get_xlabel() and ax.get_ylabel() and _grid_on(ax)
    _save(ax, tmp_path / "backtest_intervals.png")


def test_plot_backtest_without_interval_columns_has_no_bands():
    ax = plot_backtest(_backtest_results(n_folds=2))
    assert _bands(ax) == []


def test_docstring_examples_run():
    import doctest

    import tsrnn.plotting

    result = doctest.testmod(tsrnn.plotting, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 4 and result.failed == 0


@pytest.mark.parametrize("plot", ["forecast", "backtest", "loss_curve"])
def test_something_else_in_ax_s_place_is_a_type_error(plot):
    # before: the data passed as ax was drawn on by pandas' Series.plot, which failed deep
    # inside with a message about positional arguments
    history = pd.Series(np.arange(10.0), index=pd.RangeIndex(10))
    res = pd.DataFrame(
        {"unique_id": "a", "cutoff": [2, 2], "ds": [3, 4], "y": [1.0, 2.0], "yhat": [1.1, 1.8]}
    )
    calls = {
        "forecast": lambda: plot_forecast(history, pd.Series([10.0], index=[10]), ax=history),
        "backtest": lambda: plot_backtest(res, history),
        "loss_curve": lambda: plot_loss_curve([1.0, 0.5], ax="left"),
    }
    with pytest.raises(TypeError, match=r"ax must be a matplotlib Axes .*got (Series|str)"):
        calls[plot]()
