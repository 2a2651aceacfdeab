"""RNNForecaster.summary(), holdout_scores_ and fit_time_ (issue 13, acceptance 8)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from tsrnn.datasets import load_air_passengers
from tsrnn.forecasting import RNNForecaster

# deseasonalize=False: the by-hand scales and hold-out forecasts below are of the series as
# they are (and a deseasonalised hold-out uses the indices of the whole training data, while
# update() recomputes them from the shorter history, so the public path would differ)
FAST = dict(hidden_size=4, max_iter=3, n_iter_no_change=3, random_state=0, deseasonalize=False)
H = 12


def _panel(with_short=True):
    y = load_air_passengers().to_numpy()
    ds = pd.date_range("1949-01-01", periods=len(y), freq="MS")
    frames = [
        pd.DataFrame({"unique_id": "air", "ds": ds, "y": y}),
        pd.DataFrame({"unique_id": "root", "ds": ds, "y": 3 * np.sqrt(y)}),
    ]
    if with_short:
        frames.append(pd.DataFrame({"unique_id": "short", "ds": ds[-20:], "y": y[:20]}))
    return pd.concat(frames, ignore_index=True)


def _fit(df, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the short series' warning
        return RNNForecaster(horizon=H, **{**FAST, **kw}).fit(df)


def _holdout_origins(n=144, window=24, fraction=0.1):
    # every origin with a whole horizon after it; the latest ceil(10 %) are held out
    n_cal = n - window - H + 1
    k = int(np.ceil(fraction * n_cal))
    return np.arange(n - 1 - H - k + 1, n - H)


def _smape(a, f):
    return np.mean(200 * np.abs(a - f) / (np.abs(a) + np.abs(f)))


def test_summary_needs_a_fit():
    with pytest.raises(NotFittedError):
        RNNForecaster().summary()


@pytest.fixture(scope="module")
def fitted():
    return _fit(_panel())


def test_summary_content(fitted):
    f = fitted
    text = f.summary()
    assert isinstance(text, str)
    assert "Series:          3 (2 network, 1 baseline)" in text
    assert "Window:          24" in text and "Season length:   12" in text
    assert "Horizon:         12 (direct)" in text
    # LSTM, 3 inputs (target + month sine/cosine), 4 units: 4 gates x (4 x (3 + 4) + 4) = 128
    # weights, plus the dense head 4 x 12 + 12 = 60
    assert "LSTM, hidden size 4, 1 layer, 188 parameters, 1 model" in text
    assert f"stage 1 best: {f.best_epochs_[0]}; stage 2 (all windows): 3 (max_iter=3)" in text
    assert f.fit_time_ > 0 and f"Training time:   {f.fit_time_:.2f} s" in text
    # per series: log on every network series, the shared scale is the median of the RMS of
    # the log differences of the two series
    y = _panel()
    scales = [
        np.sqrt(np.mean(np.diff(np.log(y.loc[y.unique_id == u, "y"].to_numpy())) ** 2))
        for u in ("air", "root")
    ]
    shared = f"{np.median(scales):.4g}"
    lines = text.splitlines()
    row = {line.split()[0]: line.split() for line in lines if line.startswith("  ")}
    assert row["air"] == ["air", "network", "yes", "no", shared]
    assert row["root"] == ["root", "network", "yes", "no", shared]
    assert row["short"] == ["short", "seasonal_naive", "-", "-", "-"]
    # with the default deseasonalize='auto' both seasonal series are shown deseasonalised
    default = _fit(_panel(), deseasonalize="auto").summary().splitlines()
    row = {line.split()[0]: line.split() for line in default if line.startswith("  ")}
    assert row["air"][:4] == ["air", "network", "yes", "yes"]
    assert row["root"][:4] == ["root", "network", "yes", "yes"]


def test_holdout_scores_of_the_baselines_by_hand(fitted):
    f = fitted
    df = _panel(with_short=False)
    origins = _holdout_origins()
    actual, naive, snaive = [], [], []
    for uid in ("air", "root"):
        y = df.loc[df.unique_id == uid, "y"].to_numpy()
        for o in origins:
            actual.append(y[o + 1 : o + 1 + H])
            naive.append(np.full(H, y[o]))
            snaive.append(y[o + 1 - 12 : o + 1])  # horizon = one season: the last season
    actual, naive, snaive = map(np.concatenate, (actual, naive, snaive))
    scores = f.holdout_scores_
    assert scores.index.tolist() == ["network", "naive", "seasonal_naive"]
    assert scores["n_windows"].tolist() == [22, 22, 22]
    assert scores.loc["naive", "smape"] == pytest.approx(_smape(actual, naive), rel=1e-12)
    assert scores.loc["naive", "mae"] == pytest.approx(np.mean(np.abs(actual - naive)), rel=1e-12)
    assert scores.loc["seasonal_naive", "smape"] == pytest.approx(_smape(actual, snaive), rel=1e-12)
    assert scores.loc["seasonal_naive", "mae"] == pytest.approx(
        np.mean(np.abs(actual - snaive)), rel=1e-12
    )
    text = f.summary()
    assert "Validation (22 held-out windows of 12 steps, stage-1 network):" in text
    assert f"naive{_smape(actual, naive):>21.2f}" in text
    assert f"seasonal naive{_smape(actual, snaive):>12.2f}" in text
    assert f"network{scores.loc['network', 'smape']:>19.2f}" in text


def test_holdout_network_score_matches_forecasts_from_the_held_out_origins():
    # without stage 2 the final network is the stage-1 network: forecasting from each held-out
    # origin with update + predict (the public path) must give the scores of holdout_scores_
    df = _panel(with_short=False)
    f = _fit(df, refit_full=False)
    assert "no stage 2 (refit_full=False)" in f.summary()
    actual, forecast = {}, {}
    for o in _holdout_origins():
        history = df.groupby("unique_id").head(o + 1)
        fc = f.update(history).predict()
        for uid in ("air", "root"):
            y = df.loc[df.unique_id == uid, "y"].to_numpy()
            actual.setdefault(uid, []).append(y[o + 1 : o + 1 + H])
            forecast.setdefault(uid, []).append(fc.loc[fc.unique_id == uid, "yhat"].to_numpy())
    a = np.concatenate([np.concatenate(actual[u]) for u in ("air", "root")])
    p = np.concatenate([np.concatenate(forecast[u]) for u in ("air", "root")])
    assert f.holdout_scores_.loc["network", "smape"] == pytest.approx(_smape(a, p), rel=1e-9)
    assert f.holdout_scores_.loc["network", "mae"] == pytest.approx(
        np.mean(np.abs(a - p)), rel=1e-9
    )


def test_summary_without_a_holdout():
    y = load_air_passengers()
    f = RNNForecaster(horizon=H, early_stopping=False, validation_fraction=0, **FAST).fit(y)
    assert f.holdout_scores_ is None
    text = f.summary()
    assert "Validation: no held-out windows (validation_fraction=0)" in text
    assert "Series:          1 (1 network, 0 baseline)" in text
    assert "Epochs:          3 (no hold-out, no stage 1) (max_iter=3)" in text


def test_summary_of_a_model_file_saved_before_these_attributes():
    # the committed model file predates series_models_, fit_time_ and holdout_scores_
    from pathlib import Path

    from tsrnn.persistence import load

    f = load(Path(__file__).parent / "data" / "rnn_forecaster.tsrnn")
    assert not hasattr(f, "series_models_")
    text = f.summary()
    assert "Series:          1 (1 network, 0 baseline)" in text
    assert "Training time:   not recorded" in text
    assert "Validation: not recorded (a model saved by an earlier version)" in text
