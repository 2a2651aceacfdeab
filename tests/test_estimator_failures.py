"""When an estimator's fit goes wrong: interrupts, exceptions, divergence, bad scale, changes.

Every fit is a transaction (the previous state or a consistent new one, never a mix);
Ctrl-C during the epochs stops training like scikit-learn's MLP; divergence, targets far
from unit scale, architecture changes under ``partial_fit`` / ``warm_start`` and non-finite
imported weights are reported, not passed over silently.
"""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from _signals import sigint_default
from sklearn.exceptions import ConvergenceWarning

import tsrnn
from tsrnn import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)
from tsrnn._epochs import DIVERGENCE_FACTOR, propagate_interrupts, run_epochs
from tsrnn.estimators import _base

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

REGRESSORS = [RNNRegressor, LSTMRegressor, GRURegressor]
CLASSIFIERS = [RNNClassifier, LSTMClassifier, GRUClassifier]
SMALL = dict(hidden_size=4, learning_rate_init=0.01, random_state=0)


def _data(n=32, T=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, T, 1))
    return X, X[:, -1, 0] + 0.5 * X[:, -2, 0]


def _fitted_state(est):
    """A deep snapshot of everything fit may change (arrays copied, lists copied)."""
    out = {}
    for k, v in vars(est).items():
        if isinstance(v, np.ndarray):
            out[k] = v.copy()
        elif isinstance(v, list):
            out[k] = list(v)
        else:
            out[k] = v
    return out


def _assert_same_state(est, before):
    now = vars(est)
    assert set(now) == set(before), set(now) ^ set(before)
    for k, v in before.items():
        if isinstance(v, np.ndarray):
            np.testing.assert_array_equal(now[k], v, err_msg=k)
        elif isinstance(v, float) and np.isnan(v):
            assert np.isnan(now[k]), k
        else:
            assert now[k] == v, k


class _Failing:
    """Wraps a real trainer: raises ``error`` in epoch ``at`` (1-based) of this trainer."""

    def __init__(self, trainer, at, error, after_batches=0):
        self.trainer, self.at, self.error, self.epoch = trainer, at, error, 0
        self.after_batches = after_batches

    def train_epoch(self, X, Y, batches):
        self.epoch += 1
        if self.epoch == self.at:
            # part of the epoch runs (the weights move), then the error
            if self.after_batches:
                self.trainer.train_epoch(X, Y, batches[: self.after_batches])
            raise self.error
        return self.trainer.train_epoch(X, Y, batches)

    def __getattr__(self, name):
        return getattr(self.trainer, name)


@pytest.fixture
def fail_in_epoch(monkeypatch):
    """fail_in_epoch(at, error): the next trainers raise ``error`` in their epoch ``at``."""

    def install(at, error, after_batches=1):
        real = _base.make_trainer

        def make(*args, **kwargs):
            return _Failing(real(*args, **kwargs), at, error, after_batches)

        monkeypatch.setattr(_base, "make_trainer", make)

    return install


# --------------------------------------------------------------------------
# KeyboardInterrupt in the epochs: training stops, the completed epochs are kept
# --------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [LSTMRegressor, GRUClassifier])
def test_interrupt_in_epoch_keeps_the_completed_epochs(cls, fail_in_epoch):
    X, y = _data()
    if cls in CLASSIFIERS:
        y = y > 0
    fail_in_epoch(4, KeyboardInterrupt(), after_batches=1)
    est = cls(**SMALL, max_iter=50, batch_size=8)
    with pytest.warns(
        UserWarning,
        match=r"interrupted by user after 3 epochs; the weights of "
        r"epoch 3 are kept",
    ):
        assert est.fit(X, y) is est
    assert est.n_iter_ == 3 == len(est.loss_curve_)
    assert est.t_ == 3 * len(X)
    # the kept weights are exactly those of an uninterrupted 3-epoch fit of the same seed
    ref = cls(**SMALL, max_iter=3, batch_size=8).fit(X, y)
    np.testing.assert_array_equal(est.coefs_, ref.coefs_)
    assert est.loss_curve_ == ref.loss_curve_
    np.testing.assert_array_equal(est.predict(X), ref.predict(X))


def test_interrupt_with_early_stopping_keeps_the_best_scoring_epoch(fail_in_epoch):
    X, y = _data(n=40)
    fail_in_epoch(6, KeyboardInterrupt())
    params = dict(SMALL, early_stopping=True, validation_fraction=0.25, batch_size=10)
    with pytest.warns(UserWarning, match="interrupted by user after 5 epochs"):
        est = LSTMRegressor(**params, max_iter=50).fit(X, y)
    assert len(est.validation_scores_) == len(est.loss_curve_) == est.n_iter_ == 5
    best = int(np.argmax(est.validation_scores_)) + 1
    ref = LSTMRegressor(**dict(params, early_stopping=False), max_iter=best).fit(X[:30], y[:30])
    np.testing.assert_array_equal(est.coefs_, ref.coefs_)


def test_interrupt_of_a_warm_start_keeps_previous_plus_completed_epochs(fail_in_epoch):
    X, y = _data()
    est = LSTMRegressor(**SMALL, max_iter=2, warm_start=True, batch_size=8).fit(X, y)
    fail_in_epoch(3, KeyboardInterrupt())
    est.set_params(max_iter=40)
    with pytest.warns(UserWarning, match="after 4 epochs; the weights of epoch 4"):
        est.fit(X, y)
    assert est.n_iter_ == 4 == len(est.loss_curve_)
    ref = LSTMRegressor(**SMALL, max_iter=2, warm_start=True, batch_size=8).fit(X, y).fit(X, y)
    np.testing.assert_array_equal(est.coefs_, ref.coefs_)
    assert est.loss_curve_ == ref.loss_curve_


def test_interrupt_in_the_first_epoch_keeps_the_initial_weights(fail_in_epoch):
    X, y = _data()
    fail_in_epoch(1, KeyboardInterrupt())
    with pytest.warns(UserWarning, match="after 0 epochs; the initial weights are kept"):
        est = RNNRegressor(**SMALL, max_iter=5, batch_size=8).fit(X, y)
    assert est.n_iter_ == 0 and est.loss_curve_ == [] and np.isfinite(est.predict(X)).all()


def test_interrupt_propagates_inside_propagate_interrupts(fail_in_epoch):
    """The forecasting layer trains several networks: there Ctrl-C must end the job."""
    X, y = _data()
    est = LSTMRegressor(**SMALL, max_iter=2).fit(X, y)
    before = _fitted_state(est)
    fail_in_epoch(2, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt), propagate_interrupts():
        est.fit(X, y)
    _assert_same_state(est, before)


# --------------------------------------------------------------------------
# an exception, or an interrupt outside the epochs: the previous state, untouched
# --------------------------------------------------------------------------


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt()])
@pytest.mark.parametrize("way", ["fit", "warm_start", "partial_fit", "fit_with_validation"])
def test_failed_fit_leaves_the_previous_state(way, error, fail_in_epoch, monkeypatch):
    X, y = _data()
    X2 = np.concatenate([X, X], axis=2)  # another layout: every fitted attribute would change
    est = GRURegressor(**SMALL, max_iter=2, warm_start=way == "warm_start").fit(X, y)
    before = _fitted_state(est)
    if isinstance(error, KeyboardInterrupt):
        # outside the epochs (data validated, targets encoded): when the trainer is built
        def make(*args, **kwargs):
            raise error

        monkeypatch.setattr(_base, "make_trainer", make)
    else:
        # inside the epochs, after some batches have moved the weights
        fail_in_epoch(1 if way == "partial_fit" else 2, error)
    with pytest.raises(type(error)):
        if way == "partial_fit":
            est.partial_fit(X, y)
        elif way == "fit_with_validation":
            est._fit_with_validation(X2, y, X2, y)
        else:
            est.fit(X2, y)
    _assert_same_state(est, before)


def test_failed_first_fit_leaves_an_unfitted_estimator(fail_in_epoch):
    X, y = _data()
    est = LSTMClassifier(**SMALL)
    params = est.get_params()
    fail_in_epoch(2, RuntimeError("boom"))
    with pytest.raises(RuntimeError, match="boom"):
        est.fit(X, y > 0)
    assert vars(est) == params  # nothing fitted: no n_features_in_, classes_, coefs_ ...


# --------------------------------------------------------------------------
# a real SIGINT to a child process in the middle of fit (acceptance 3)
# --------------------------------------------------------------------------

_CHILD = textwrap.dedent(
    """
    import json, sys, warnings
    import numpy as np
    from tsrnn import LSTMRegressor

    warm = sys.argv[1] == "warm"
    rng = np.random.default_rng(0)
    X = rng.normal(size=(256, 12, 1))
    y = X[:, -1, 0] + 0.5 * X[:, -2, 0]
    params = dict(hidden_size=16, learning_rate_init=0.01, batch_size=16, random_state=0,
                  tol=0.0, n_iter_no_change=100000)
    est = LSTMRegressor(**params, max_iter=2, warm_start=warm)
    if warm:
        est.fit(X, y)
    before = est.coefs_.copy() if warm else None
    est.set_params(max_iter=100000, verbose=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        returned = est.fit(X, y) is est
    n = est.n_iter_
    # the same seed trained for exactly the kept epochs, uninterrupted
    ref = LSTMRegressor(**params, max_iter=2 if warm else n, warm_start=warm).fit(X, y)
    if warm:
        ref.set_params(max_iter=n - 2).fit(X, y)
    print(json.dumps({
        "returned": returned,
        "n_iter": n,
        "len_loss_curve": len(est.loss_curve_),
        "t": est.t_,
        "same_weights_as_reference": bool(np.array_equal(est.coefs_, ref.coefs_)),
        "same_losses_as_reference": est.loss_curve_ == ref.loss_curve_,
        "changed_from_before": None if before is None else not np.array_equal(before,
                                                                              est.coefs_),
        "predictions_finite": bool(np.isfinite(est.predict(X)).all()),
        "score": est.score(X, y),
        "reference_score": ref.score(X, y),
        "warnings": [str(w.message) for w in caught],
    }))
    """
)


@pytest.mark.parametrize("mode", ["fresh", "warm"])
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child needs POSIX signals")
def test_real_sigint_mid_fit_leaves_a_consistent_trained_state(mode, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    env = dict(os.environ, PYTHONPATH=str(Path(tsrnn.__file__).parent.parent))
    proc = subprocess.Popen(
        [sys.executable, str(script), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=sigint_default,
    )
    lines = []
    deadline = time.monotonic() + 300
    try:
        # wait until the interrupted call has completed a few epochs of its own
        target = "Iteration 6," if mode == "warm" else "Iteration 4,"
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith(target):
                proc.send_signal(signal.SIGINT)
                break
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-3000:]
    verdict = json.loads(out.strip().splitlines()[-1])
    first = 2 if mode == "warm" else 0
    assert verdict["returned"]
    assert verdict["n_iter"] == verdict["len_loss_curve"] >= first + 4
    assert verdict["t"] == 256 * verdict["n_iter"]
    assert verdict["same_weights_as_reference"] and verdict["same_losses_as_reference"]
    assert verdict["predictions_finite"]
    assert verdict["score"] == verdict["reference_score"]
    if mode == "warm":
        assert verdict["changed_from_before"]
    (message,) = [w for w in verdict["warnings"] if "interrupted" in w]
    assert f"after {verdict['n_iter']} epochs; the weights of epoch {verdict['n_iter']}" in (
        message
    )


# --------------------------------------------------------------------------
# divergence: a clear warning and the best finite weights
# --------------------------------------------------------------------------


def test_huge_learning_rate_warns_and_keeps_finite_weights_that_predict():
    X, y = _data(n=64, T=8)
    est = LSTMRegressor(hidden_size=8, learning_rate_init=1e6, max_iter=50, random_state=0)
    with pytest.warns(
        RuntimeWarning, match=r"diverged at epoch \d+: the training loss rose to"
    ) as record:
        est.fit(X, y)
    message = str([w for w in record if "diverged" in str(w.message)][0].message)
    assert "learning_rate_init" in message and "clip_grad_norm" in message
    assert "are kept" in message
    assert est.n_iter_ == len(est.loss_curve_)
    curve = np.asarray(est.loss_curve_)
    assert np.isfinite(curve).all() and curve.max() <= DIVERGENCE_FACTOR * curve.min()
    pred = est.predict(X)
    assert np.isfinite(pred).all()
    # the kept weights are sane: their error is of the order of the targets' variance, not
    # the 1e12 of the diverged ones (before: R² -1e12, no warning)
    assert np.mean((pred - y) ** 2) < 10 * np.var(y)
    assert est.best_loss_ == min(est.loss_curve_)


def test_sgd_with_clipping_that_diverges_warns():
    X, y = _data(n=64, T=8)
    est = LSTMRegressor(
        hidden_size=8,
        solver="sgd",
        learning_rate_init=100.0,
        clip_grad_norm=1.0,
        max_iter=100,
        random_state=0,
    )
    with pytest.warns(RuntimeWarning, match="diverged"):
        est.fit(X, y)
    assert np.mean((est.predict(X) - y) ** 2) < 10 * np.var(y)


def test_divergence_after_progress_keeps_the_weights_the_best_epoch_began_with():
    """On a trainer double: losses 1, 0.5, 0.2, 0.3, then 5000 (> 1000 x 0.2 and > 1)."""
    h = _run(_Scripted([1.0, 0.5, 0.2, 0.3, 5000.0, 0.1]), n_iter_no_change=10)
    assert h.stop == "diverged" and h.diverged_loss == 5000.0
    assert h.losses == [1.0, 0.5, 0.2, 0.3]
    # epoch 3 had the lowest loss; it began with the weights after epoch 2
    assert h.kept_epoch == 2 and h.params.tolist() == [2.0]
    assert h.optimizer_state == {"step": 2}
    # a spike far above a tiny best loss but below where training started is not divergence
    h = _run(_Scripted([1.0, 1e-6, 0.5, 1e-7]), n_iter_no_change=10)
    assert h.stop == "max_iter" and h.params.tolist() == [4.0]
    # with a validation set the best-scoring weights are kept, with their optimiser state
    h = _run(_Scripted([1.0, 0.5, 0.4, 1e4], scores=[0.1, 0.6, 0.5, 0.0]), n_iter_no_change=10)
    assert h.stop == "diverged" and h.scores == [0.1, 0.6, 0.5]
    assert h.params.tolist() == [2.0] and h.optimizer_state == {"step": 2}


def test_non_finite_loss_keeps_the_weights_the_best_epoch_began_with():
    h = _run(_Scripted([1.0, 0.5, 0.7, np.nan]), n_iter_no_change=10)
    assert h.stop == "non_finite" and h.losses == [1.0, 0.5, 0.7]
    assert h.kept_epoch == 1 and h.params.tolist() == [1.0]


@pytest.mark.filterwarnings("ignore:.*the targets have scale:UserWarning")
def test_non_finite_in_the_first_epoch_keeps_the_initial_weights():
    X, y = _data()
    est = RNNRegressor(
        hidden_size=4,
        solver="sgd",
        learning_rate_init=1e30,
        momentum=0,
        max_iter=5,
        batch_size=8,
        random_state=0,
    )
    with pytest.warns(RuntimeWarning, match="non-finite.*the initial weights are kept"):
        est.fit(X, y * 1e30)
    assert est.n_iter_ == len(est.loss_curve_) and np.isfinite(est.coefs_).all()


# --------------------------------------------------------------------------
# the epoch loop on a trainer double: interrupts and the relative tol
# --------------------------------------------------------------------------


class _Scripted:
    """Trainer double: epoch k returns the k-th loss; weights [k]; optimiser state {step: k}.

    ``interrupt_at``: KeyboardInterrupt in that epoch (1-based); ``interrupt_in``: in
    'train', 'predict' (the validation scoring) or 'get_params' (the end-of-epoch copy).
    """

    def __init__(self, losses, scores=None, interrupt_at=None, interrupt_in="train"):
        self.losses, self.scores, self.epoch = list(losses), scores, 0
        self.interrupt_at, self.interrupt_in = interrupt_at, interrupt_in

    def _maybe_interrupt(self, where):
        if self.interrupt_in == where and self.interrupt_at == self.epoch + (where == "train"):
            raise KeyboardInterrupt

    def train_epoch(self, X, Y, batches):
        self._maybe_interrupt("train")
        loss = self.losses[self.epoch]
        if not np.isfinite(loss):
            return float("nan"), False
        self.epoch += 1
        return loss, True

    def predict(self, X):
        self._maybe_interrupt("predict")
        return np.array([[self.scores[self.epoch - 1]]])

    def get_params(self):
        self._maybe_interrupt("get_params")
        return np.array([float(self.epoch)])

    def get_optimizer_state(self):
        return {"step": self.epoch}


def _run(trainer, n=4, **kw):
    X = np.zeros((n, 1, 1))
    defaults = dict(
        n_epochs=len(trainer.losses), batch_size=n, shuffle=False, rng=np.random.default_rng(0)
    )
    if trainer.scores is not None:
        defaults.update(validation=(X, None), score=lambda out, Y: float(out[0, 0]))
    defaults.update(kw)
    return run_epochs(trainer, X, X[:, 0, 0], **defaults)


@pytest.mark.parametrize("where", ["train", "predict", "get_params"])
def test_epoch_loop_interrupt_drops_the_epoch_in_progress(where):
    t = _Scripted(
        [1.0, 0.9, 0.8, 0.7, 0.6],
        scores=[0.1, 0.2, 0.3, 0.25, 0.5],
        interrupt_at=4,
        interrupt_in=where,
    )
    h = _run(t, n_iter_no_change=10)
    assert h.stop == "interrupted"
    assert h.losses == [1.0, 0.9, 0.8] and h.scores == [0.1, 0.2, 0.3]
    assert h.best == 0.3 and h.params.tolist() == [3.0] and h.kept_epoch == 3
    assert h.optimizer_state == {"step": 3} and h.n_no_improvement == 0
    # without validation: the last completed epoch
    t = _Scripted([1.0, 0.9, 0.95, 0.7], interrupt_at=4, interrupt_in="train")
    h = _run(t, n_iter_no_change=10)
    assert h.losses == [1.0, 0.9, 0.95] and h.params.tolist() == [3.0]
    assert h.best == 0.9 and h.n_no_improvement == 1


def test_epoch_loop_tol_is_relative_to_the_first_loss():
    """The same curve at any scale stops at the same epoch (before: absolute tol)."""
    curve = [1.0, 0.5, 0.3, 0.2999, 0.2998, 0.1]
    for scale in (1.0, 1e-6, 1e6):
        h = _run(_Scripted([c * scale for c in curve]), tol=1e-3, n_iter_no_change=2)
        assert len(h.losses) == 5 and h.stop == "no_change", scale
    # a warm start passes the model's first loss as the reference
    # (measured against its own first loss, 0.2995e-6, the first epoch would improve)
    h = _run(
        _Scripted([0.2995e-6, 0.299e-6]), best=0.3e-6, reference=1e-6, tol=1e-3, n_iter_no_change=2
    )
    assert h.stop == "no_change" and h.n_no_improvement == 2


@pytest.mark.filterwarnings("ignore:.*targets vary on a scale:UserWarning")
def test_estimators_measure_tol_against_the_loss_before_training(monkeypatch, fail_in_epoch):
    """The reference loss: the untrained network's, carried over warm starts."""
    X, y = _data(n=300)
    y = 1e-3 * y / y.std()  # an absolute tol of 1e-4 would be meaningless at this scale
    # the untrained network: a fit interrupted in its first epoch keeps the initial weights
    fail_in_epoch(1, KeyboardInterrupt())
    with pytest.warns(UserWarning, match="the initial weights are kept"):
        untrained = RNNRegressor(**SMALL, max_iter=3).fit(X, y)
    initial = np.mean((untrained.predict(X[:256]) - y[:256]) ** 2)
    monkeypatch.undo()
    calls = []
    real = _base.run_epochs

    def spy(*args, **kwargs):
        calls.append(kwargs["reference"])
        return real(*args, **kwargs)

    monkeypatch.setattr(_base, "run_epochs", spy)
    est = RNNRegressor(**SMALL, max_iter=3, warm_start=True).fit(X, y)
    est.fit(X, y)
    est.partial_fit(X, y)
    assert calls[0] == pytest.approx(initial, rel=1e-5)  # float32 outputs, float64 mean
    assert calls == [calls[0]] * 3


def test_a_blow_up_within_the_first_epoch_is_divergence():
    """Measured against the untrained network's loss, epoch 1 itself can diverge."""
    X, y = _data(n=256, T=8)
    est = RNNRegressor(
        hidden_size=8, learning_rate_init=1e6, batch_size=8, max_iter=20, random_state=0
    )
    with pytest.warns(
        RuntimeWarning, match="diverged at epoch 1.*the initial weights are kept"
    ) as record:
        est.fit(X, y)
    assert est.n_iter_ == 0 and est.loss_curve_ == []
    assert np.mean((est.predict(X) - y) ** 2) < 10 * np.var(y)
    (message,) = [str(w.message) for w in record if "diverged" in str(w.message)]
    lowest = float(message.split("lowest loss so far (")[1].split(")")[0])
    assert lowest == pytest.approx(est._initial_loss, rel=1e-2)  # the untrained network's


# --------------------------------------------------------------------------
# targets far from unit scale
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("transform", "pattern"),
    [
        (lambda y: 1e6 + y, r"the targets have scale ~1e\+06"),
        (lambda y: 1e6 * y, r"the targets have scale ~1e\+06"),
        (lambda y: 1e-3 * y, r"the targets vary on a scale of ~1e-03"),
    ],
)
def test_targets_far_from_unit_scale_warn_and_point_to_scaling(transform, pattern):
    X, y = _data()
    y = y / y.std()
    with pytest.warns(UserWarning, match=pattern) as record:
        LSTMRegressor(**SMALL, max_iter=2).fit(X, transform(y))
    message = str([w for w in record if "scale" in str(w.message)][0].message)
    assert "TransformedTargetRegressor" in message and "StandardScaler" in message


def test_unit_scale_and_constant_targets_do_not_warn_about_scale():
    X, y = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        LSTMRegressor(**SMALL, max_iter=2).fit(X, y)
        LSTMRegressor(**SMALL, max_iter=2).fit(X, np.column_stack([y, 0.5 * y]))
        LSTMRegressor(**SMALL, max_iter=2).fit(X, np.full(len(y), 3.0))
        LSTMClassifier(**SMALL, max_iter=2).fit(X, (y > 0) * 1_000_000)


# --------------------------------------------------------------------------
# partial_fit / warm_start after the architecture changed
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (dict(hidden_size=8), r"hidden_size=8 \(fitted: 4\)"),
        (dict(num_layers=2), r"num_layers=2 \(fitted: 1\)"),
        (dict(bidirectional=True), r"bidirectional=True \(fitted: False\)"),
        (dict(dtype="float64"), r"dtype='float64' \(fitted: 'float32'\)"),
    ],
)
def test_partial_fit_refuses_a_changed_architecture(change, pattern):
    X, y = _data()
    est = LSTMRegressor(**SMALL)
    for _ in range(2):
        est.partial_fit(X, y)
    before = _fitted_state(est)
    est.set_params(**change)
    with pytest.raises(ValueError, match=f"partial_fit cannot continue.*{pattern}"):
        est.partial_fit(X, y)
    _assert_same_state(est, {**before, **change})
    est.set_params(**{k: before[k] for k in change})
    est.partial_fit(X, y)
    assert est.n_iter_ == 3


def test_warm_start_with_a_changed_architecture_warns_and_restarts():
    X, y = _data()
    est = GRURegressor(**SMALL, max_iter=3, warm_start=True).fit(X, y)
    est.set_params(hidden_size=6)
    with pytest.warns(
        UserWarning,
        match=r"warm_start=True but the fitted network cannot "
        r"continue: hidden_size=6 \(fitted: 4\)\. A new network",
    ):
        est.fit(X, y)
    assert est.n_iter_ == 3 and est.network_.hidden_size == 6
    # new features per step (3-D input) and new outputs are changes too
    with pytest.warns(
        UserWarning,
        match=r"X has 2 features per time step \(fitted: 1\); y has "
        r"2 outputs \(fitted: 1\)",
    ):
        est.fit(np.concatenate([X, X], axis=2), np.column_stack([y, y]))
    # unchanged: it continues, without a warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(np.concatenate([X, X], axis=2), np.column_stack([y, y]))
    assert est.n_iter_ == 6


def test_warm_start_classifier_with_other_classes_warns_and_restarts():
    X, y = _data()
    est = RNNClassifier(**SMALL, max_iter=2, warm_start=True).fit(X, y > 0)
    with pytest.warns(
        UserWarning,
        match=r"y has the classes \['down', 'up'\] \(fitted: "
        r"\[False, True\]\)",
    ):
        est.fit(X, np.where(y > 0, "up", "down"))
    assert est.n_iter_ == 2 and est.classes_.tolist() == ["down", "up"]


# --------------------------------------------------------------------------
# import_weights
# --------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_import_weights_rejects_non_finite_values_naming_the_tensor(bad):
    X, y = _data()
    est = LSTMRegressor(**SMALL, max_iter=2).fit(X, y)
    state = est.export_weights()
    state["weight_hh_l0"] = state["weight_hh_l0"].copy()
    state["weight_hh_l0"][1, 2] = bad
    other = LSTMRegressor(**SMALL, max_iter=1).fit(X, -y)
    before = _fitted_state(other)
    with pytest.raises(ValueError, match=r"'weight_hh_l0' holds non-finite values"):
        other.import_weights(state)
    _assert_same_state(other, before)
    with pytest.raises(ValueError, match=r"'head.bias' is not numeric"):
        other.import_weights({**est.export_weights(), "head.bias": np.array(["a"])})
    # finite weights import
    other.import_weights(est.export_weights())
    np.testing.assert_array_equal(other.predict(X), est.predict(X))


# --------------------------------------------------------------------------
# what the forecasting layer relies on: partial results are never visible
# --------------------------------------------------------------------------


def test_no_partial_state_is_visible_on_a_failed_fit_with_validation(fail_in_epoch):
    X, y = _data()
    est = LSTMRegressor(**SMALL, max_iter=3)
    fail_in_epoch(2, RuntimeError("boom"))
    with pytest.raises(RuntimeError):
        est._fit_with_validation(X, y, X[:8], y[:8])
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_features_in_")


def test_convergence_warning_still_raised_at_max_iter():
    X, y = _data()
    with pytest.warns(ConvergenceWarning, match="maximum iterations"):
        LSTMRegressor(**SMALL, max_iter=2).fit(X, y)
