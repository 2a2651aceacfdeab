"""The forecaster contract, run on every forecaster class.

In the spirit of scikit-learn's ``check_estimator`` and neuralforecast's ``check_model``: the
parameter protocol (get/set_params, clone, ``__init__`` stores only), fit / update / predict /
score, the output format for a Series and for a panel, intervals, pickling, bad parameters,
determinism and an untouched input. A new forecaster is one line in ``CASES``.
"""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import make_constraint

import tsrnn.forecasting as F
from tsrnn.forecasting import BaseForecaster, RNNForecaster, SeasonalNaiveForecaster

TINY = dict(hidden_size=4, max_iter=3, n_iter_no_change=3, random_state=0)

# (forecaster with tiny settings, whether it produces prediction intervals)
CASES = [
    (RNNForecaster(horizon=3, **TINY), True),
    (SeasonalNaiveForecaster(horizon=3), True),
    (F.NaiveForecaster(horizon=3), True),
    (F.DriftForecaster(horizon=3), True),
    (F.ThetaForecaster(horizon=3), True),
    (
        F.AutoRNNForecaster(
            horizon=3,
            candidates=[{"hidden_size": 2, "max_iter": 2, "early_stopping": False}],
            random_state=0,
        ),
        True,
    ),
]
IDS = [type(f).__name__ for f, _ in CASES]
H = 3


def _series(n=48, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    values = 50 + 0.3 * t + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, n)
    return pd.Series(values, index=pd.period_range("2001-01", periods=n, freq="M"), name="v")


def _panel(n=40):
    rng = np.random.default_rng(1)
    ds = pd.date_range("2022-03-01", periods=n, freq="D")
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "unique_id": uid,
                    "ds": ds,
                    "y": 10 * (k + 1)
                    + np.sin(2 * np.pi * np.arange(n) / 7)
                    + rng.normal(0, 0.1, n),
                }
            )
            for k, uid in enumerate(["p", "q"])
        ],
        ignore_index=True,
    )


def _invalid_value(constraints):
    """A value no constraint of a parameter accepts (by scikit-learn's own constraint checks)."""
    allowed = [make_constraint(c) for c in constraints]
    for candidate in ("__invalid__", -7, 2.5, [object()]):
        if not any(c.is_satisfied_by(candidate) for c in allowed):
            return candidate
    return None


@pytest.fixture(params=CASES, ids=IDS)
def case(request):
    forecaster, intervals = request.param
    return clone(forecaster), intervals


def test_every_forecaster_class_is_checked():
    exported = {
        obj
        for obj in vars(F).values()
        if isinstance(obj, type) and issubclass(obj, BaseForecaster) and obj is not BaseForecaster
    }
    assert exported == {type(f) for f, _ in CASES}


def test_params_round_trip_and_clone(case):
    f, _ = case
    params = f.get_params()
    assert f.set_params(**params) is f and f.get_params() == params
    g = clone(f)
    assert g is not f and g.get_params() == params
    fitted = clone(f).fit(_series())
    assert not any(k.endswith("_") for k in vars(clone(fitted)))


def test_init_only_stores_parameters(case):
    f, _ = case
    cls = type(f)
    bad = {name: _invalid_value(c) for name, c in cls._parameter_constraints.items()}
    g = cls(**bad)  # no validation in __init__
    assert vars(g) == {**f.get_params(), **bad}
    assert set(cls._parameter_constraints) <= set(f.get_params())


def test_unfitted_forecaster_raises_not_fitted(case):
    f, _ = case
    y = _series()
    with pytest.raises(NotFittedError):
        f.predict()
    with pytest.raises(NotFittedError):
        f.update(y)
    with pytest.raises(NotFittedError):
        f.score(y)


def test_fit_returns_self_and_predict_continues_the_series(case):
    f, _ = case
    y = _series()
    assert f.fit(y) is f
    fc = f.predict()
    assert isinstance(fc, pd.Series) and fc.name == "v" and len(fc) == H
    assert list(fc.index) == list(pd.period_range("2005-01", periods=H, freq="M"))
    assert np.isfinite(fc.to_numpy()).all()
    longer = f.predict(h=5)
    assert len(longer) == 5 and longer.index[0] == fc.index[0]
    assert f.cutoff_ == y.index[-1]


def test_panel_in_long_frame_out(case):
    f, _ = case
    df = _panel()
    fc = f.fit(df).predict(h=4)
    assert list(fc.columns) == ["unique_id", "ds", "yhat"]
    assert fc.groupby("unique_id").size().to_dict() == {"p": 4, "q": 4}
    assert (fc.groupby("unique_id")["ds"].min() == pd.Timestamp("2022-04-10")).all()
    assert list(f.cutoff_.index) == ["p", "q"]


def test_prediction_interval_columns(case):
    f, intervals = case
    f.fit(_series())
    if not intervals:
        with pytest.raises(ValueError, match="interval"):
            f.predict(level=[80, 95])
        return
    fc = f.predict(level=[80, 95])
    assert list(fc.columns) == ["yhat", "yhat_lo_80", "yhat_hi_80", "yhat_lo_95", "yhat_hi_95"]
    assert (fc.yhat_lo_95 <= fc.yhat_lo_80).all() and (fc.yhat_lo_80 <= fc.yhat).all()
    assert (fc.yhat <= fc.yhat_hi_80).all() and (fc.yhat_hi_80 <= fc.yhat_hi_95).all()


def test_update_then_predict_moves_the_cutoff(case):
    f, _ = case
    y = _series(n=54)
    f.fit(y.iloc[:48])
    assert f.update(y) is f
    assert f.cutoff_ == y.index[-1]
    assert f.predict().index[0] == y.index[-1] + 1


def test_score_is_a_finite_float(case):
    f, _ = case
    y = _series(n=51)
    score = f.fit(y.iloc[:48]).score(y.iloc[48:])
    assert isinstance(score, float) and np.isfinite(score) and score <= 0


def test_pickle_round_trip_gives_identical_forecasts(case):
    f, _ = case
    df = _panel()
    f.fit(df)
    restored = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(restored.predict(h=5), f.predict(h=5), check_exact=True)


def test_every_bad_parameter_is_a_value_error_naming_it(case):
    f, _ = case
    y = _series()
    constraints = type(f)._parameter_constraints
    assert constraints, "a forecaster declares its parameters' constraints"
    for name, allowed in constraints.items():
        value = _invalid_value(allowed)
        assert value is not None, f"no invalid value found for {name}"
        with pytest.raises(ValueError, match=rf"\b{name}\b"):
            clone(f).set_params(**{name: value}).fit(y)


def test_same_parameters_give_identical_forecasts(case):
    f, _ = case
    y = _series()
    a = clone(f).fit(y).predict(h=4)
    b = clone(f).fit(y).predict(h=4)
    pd.testing.assert_series_equal(a, b, check_exact=True)


def test_fit_update_predict_do_not_mutate_their_input(case):
    f, _ = case
    y, df = _series(), _panel()
    y_copy, df_copy = y.copy(), df.copy()
    clone(f).fit(y).update(y)
    clone(f).fit(df).predict()
    pd.testing.assert_series_equal(y, y_copy, check_exact=True)
    pd.testing.assert_frame_equal(df, df_copy, check_exact=True)


def test_fit_and_update_that_fail_late_leave_the_previous_state(case, monkeypatch):
    """Transactional fit/update: a failure after the forecaster's own hook has run (here in
    storing the history) leaves the previous fit -- the same objects, the same forecasts -- or
    an unfitted forecaster; nothing of the failed call is kept."""
    f, _ = case
    y = _series(n=54)
    real = BaseForecaster._set_history

    def fail(self, panel):
        real(self, panel)
        raise RuntimeError("late failure")

    monkeypatch.setattr(BaseForecaster, "_set_history", fail)
    fresh = clone(f)
    with pytest.raises(RuntimeError, match="late failure"):
        fresh.fit(y)
    assert set(vars(fresh)) == set(fresh.get_params())
    with pytest.raises(NotFittedError):
        fresh.predict()
    monkeypatch.setattr(BaseForecaster, "_set_history", real)
    f.fit(y.iloc[:48])
    before, expected = dict(vars(f)), f.predict(h=4)
    monkeypatch.setattr(BaseForecaster, "_set_history", fail)
    for call in (lambda: f.fit(y), lambda: f.update(y)):
        with pytest.raises(RuntimeError, match="late failure"):
            call()
        assert vars(f).keys() == before.keys()
        assert all(vars(f)[k] is v for k, v in before.items())
        pd.testing.assert_series_equal(f.predict(h=4), expected, check_exact=True)
