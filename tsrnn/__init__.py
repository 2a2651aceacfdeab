"""tsrnn: recurrent neural networks for time-series forecasting, compiled with Numba.

The public surface:

- :mod:`tsrnn.estimators`: scikit-learn regressors and classifiers
  (``RNNRegressor``, ``LSTMRegressor``, ``GRURegressor``, ``RNNClassifier``,
  ``LSTMClassifier``, ``GRUClassifier``).
- :mod:`tsrnn.forecasting`: ``RNNForecaster`` for pandas series, one or many.
- :mod:`tsrnn.model_selection`: splitters, ``backtest``, ``evaluate``.
- :mod:`tsrnn.datasets`, :mod:`tsrnn.plotting`, :mod:`tsrnn.metrics`.
"""

from .estimators import (
    GRUClassifier,
    GRURegressor,
    LSTMClassifier,
    LSTMRegressor,
    RNNClassifier,
    RNNRegressor,
)
from .forecasting import RNNForecaster, SeasonalNaiveForecaster

__version__ = "0.1.0"

__all__ = [
    "RNNRegressor",
    "LSTMRegressor",
    "GRURegressor",
    "RNNClassifier",
    "LSTMClassifier",
    "GRUClassifier",
    "RNNForecaster",
    "SeasonalNaiveForecaster",
    "__version__",
]
