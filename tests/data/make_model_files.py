"""Write the committed model files of tests/test_persistence.py (run once per format version).

    python tests/data/make_model_files.py [name ...]

For each model it writes ``<name>.tsrnn`` (with :func:`tsrnn.persistence.save`) and
``<name>.json``: the class, the inputs and the predictions the file must keep giving in every
later tsrnn release.  Do not regenerate existing files to make a failing test pass: a failing
test means files written by an earlier release no longer load as they did.  Files of a new
format version get new names next to the old ones.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent


def _floats(a):
    return np.asarray(a, dtype=np.float64).tolist()  # JSON floats round-trip exactly


def lstm_regressor():
    from tsrnn.estimators import LSTMRegressor

    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(8, 5, 2)), 3)
    y = X[:, -1, 0] - 0.5 * X[:, 0, 1]
    model = LSTMRegressor(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    return model, {"X": X.tolist(), "predict": _floats(model.predict(X))}


def gru_classifier():
    from tsrnn.estimators import GRUClassifier

    rng = np.random.default_rng(1)
    X = np.round(rng.normal(size=(12, 6)), 3)
    labels = np.where(X[:, -1] > X[:, 0], "up", "down")
    model = GRUClassifier(hidden_size=4, max_iter=5, random_state=0).fit(X, labels)
    return model, {
        "X": X.tolist(),
        "predict": model.predict(X).tolist(),
        "predict_proba": _floats(model.predict_proba(X)),
    }


def _forecaster_record(model, update_n):
    from tsrnn.datasets import load_air_passengers

    point = model.predict()
    record = {"index": [str(t) for t in point.index], "predict": _floats(point)}
    try:
        frame = model.predict(level=[80])
    except ValueError:  # no intervals (seasonal naive)
        pass
    else:
        record["predict_level"] = {c: _floats(frame[c]) for c in frame.columns}
    record["update_n"] = update_n
    model.update(load_air_passengers().iloc[:update_n])
    record["update_predict"] = _floats(model.predict())
    return record


def rnn_forecaster():
    from tsrnn.datasets import load_air_passengers
    from tsrnn.forecasting import RNNForecaster

    model = RNNForecaster(
        horizon=3, n_models=2, hidden_size=4, max_iter=5, n_iter_no_change=5, random_state=0
    ).fit(load_air_passengers().iloc[:48])
    return model, None


def seasonal_naive():
    from tsrnn.datasets import load_air_passengers
    from tsrnn.forecasting import SeasonalNaiveForecaster

    model = SeasonalNaiveForecaster(horizon=6).fit(load_air_passengers().iloc[:48])
    return model, None


MAKERS = {f.__name__: f for f in (lstm_regressor, gru_classifier, rnn_forecaster, seasonal_naive)}


def main(names):
    from tsrnn.persistence import _model_name, save

    warnings.simplefilter("ignore")  # ConvergenceWarning of the 5-epoch fits
    for name in names or MAKERS:
        model, record = MAKERS[name]()
        path = save(model, HERE / f"{name}.tsrnn")
        if record is None:  # forecasters: record the predictions, then those after update
            record = _forecaster_record(model, update_n=54)
        record = {"class": _model_name(type(model)), **record}
        (HERE / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"wrote {path.name} ({path.stat().st_size} bytes) and {name}.json")


if __name__ == "__main__":
    main(sys.argv[1:])
