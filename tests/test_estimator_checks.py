"""scikit-learn's own estimator checks over all six estimators."""

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from tsrnn import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)

# Small networks and few epochs: the checks use tiny data sets and must run fast
# (as scikit-learn's own suite does with MLPRegressor(max_iter=100)).
SMALL = dict(hidden_size=8, max_iter=60, learning_rate_init=0.02, random_state=0)
CLASSES = (RNNRegressor, LSTMRegressor, GRURegressor, RNNClassifier, LSTMClassifier, GRUClassifier)
ESTIMATORS = [cls(**SMALL) for cls in CLASSES]


def expected_failed_checks(estimator):
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
