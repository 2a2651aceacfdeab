"""Tests for :mod:`tsrnn.plotting`: plots render headless to non-empty PNG files."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from tsrnn.plotting import plot_backtest, plot_forecast, plot_loss_curve  # noqa: E402

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
    assert pd.Timestamp(ax.lines[1].get_xdata()[0]) == pd.Timestamp("2003-01-01")


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
    assert list(ax.lines[1].get_xdata()) == [20, 21, 22, 23, 24]
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
    assert ax.lines[1].get_ydata()[0] == -30.0


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
