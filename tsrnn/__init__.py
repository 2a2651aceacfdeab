"""tsrnn: recurrent neural networks for time-series forecasting, compiled with Numba.

The public surface:

- :mod:`tsrnn.estimators`: scikit-learn regressors and classifiers
  (``RNNRegressor``, ``LSTMRegressor``, ``GRURegressor``, ``RNNClassifier``,
  ``LSTMClassifier``, ``GRUClassifier``).
- :mod:`tsrnn.datasets`, :mod:`tsrnn.plotting`.
"""

from .estimators import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)

__version__ = "0.1.0"

__all__ = [
    "RNNRegressor",
    "LSTMRegressor",
    "GRURegressor",
    "RNNClassifier",
    "LSTMClassifier",
    "GRUClassifier",
    "__version__",
]
