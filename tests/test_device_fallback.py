"""Where predictions run: the device of the fit when usable here, else the CPU.

The device side itself is tested in ``tests/cuda/test_device_inference.py``
(simulator or GPU); here only the rule, on any machine.
"""

import numpy as np
import pytest

import tsrnn.cuda
from tsrnn import RNNRegressor, _backend
from tsrnn import _training as tr


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(tsrnn.cuda, "cuda_available", lambda: False)


def _fitted():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(8, 4, 2))
    y = X[:, -1, 0]
    est = RNNRegressor(hidden_size=3, max_iter=2, random_state=0, dtype="float64", device="cpu")
    with pytest.warns(Warning):  # max_iter reached
        est.fit(X, y)
    return est, X


def test_predict_device_rule(no_cuda):
    assert _backend.predict_device("cpu") == "cpu"
    assert _backend.predict_device("cuda") == "cpu"  # fitted on a GPU, none here


def test_cuda_fitted_model_predicts_on_the_cpu_without_cuda(no_cuda):
    est, X = _fitted()
    assert est.device_ == "cpu"
    want = tr.predict(est.network_, est.coefs_, X)[:, 0]
    np.testing.assert_array_equal(est.predict(X), want)
    est.device_ = "cuda"  # as loaded from a GPU machine
    np.testing.assert_array_equal(est.predict(X), want)
    del est.device_  # saved before the attribute existed: the CPU
    np.testing.assert_array_equal(est.predict(X), want)
