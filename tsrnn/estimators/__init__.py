"""scikit-learn estimators: RNN, LSTM and GRU regressors and classifiers.

The six public classes differ only in their cell; the modules follow the layers of an
estimator:

- :mod:`~tsrnn.estimators._base`: :class:`BaseRecurrent`, the parameters (declared once),
  input validation, the choice of the validation set, the fitted attributes and the weight
  exchange; it runs the epochs through :func:`tsrnn._epochs.run_epochs` on a trainer from
  :mod:`tsrnn._backend`;
- :mod:`~tsrnn.estimators._regressor_base`: real-valued targets, ``loss``, R² scoring;
  :mod:`~tsrnn.estimators._regression`: :class:`RNNRegressor`, :class:`LSTMRegressor`,
  :class:`GRURegressor` on top of it;
- :mod:`~tsrnn.estimators._classification`: class labels, softmax, accuracy scoring, and
  :class:`RNNClassifier`, :class:`LSTMClassifier`, :class:`GRUClassifier`.

Every class is importable from here (``tsrnn.estimators.LSTMRegressor``), which is also where
estimators pickled before this package existed look for them.
"""

from ._base import BaseRecurrent as BaseRecurrent  # not public; for old imports
from ._classification import GRUClassifier, LSTMClassifier, RNNClassifier
from ._regression import GRURegressor, LSTMRegressor, RNNRegressor

__all__ = [
    "RNNRegressor",
    "LSTMRegressor",
    "GRURegressor",
    "RNNClassifier",
    "LSTMClassifier",
    "GRUClassifier",
]
