"""tsrnn: recurrent neural networks for time-series forecasting, compiled with Numba.

The public surface:

- :mod:`tsrnn.estimators`: scikit-learn regressors and classifiers
  (``RNNRegressor``, ``LSTMRegressor``, ``GRURegressor``, ``RNNClassifier``,
  ``LSTMClassifier``, ``GRUClassifier``).
- :mod:`tsrnn.forecasting`: ``RNNForecaster`` for pandas series, one or many.
- :mod:`tsrnn.model_selection`: splitters, ``backtest``, ``evaluate``.
- :func:`tsrnn.save` / :func:`tsrnn.load`: safe, versioned model files (:mod:`tsrnn.persistence`).
- :mod:`tsrnn.datasets`, :mod:`tsrnn.plotting`, :mod:`tsrnn.metrics`.

The names above are imported on first use (PEP 562), so ``import tsrnn`` and the ``tsrnn``
command's ``--help`` load neither scikit-learn, pandas nor Numba; ``from tsrnn import
LSTMRegressor`` imports :mod:`tsrnn.estimators` then.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "RNNRegressor",
    "LSTMRegressor",
    "GRURegressor",
    "RNNClassifier",
    "LSTMClassifier",
    "GRUClassifier",
    "RNNForecaster",
    "AutoRNNForecaster",
    "SeasonalNaiveForecaster",
    "NaiveForecaster",
    "DriftForecaster",
    "ThetaForecaster",
    "save",
    "load",
    "__version__",
]

# public name -> the submodule that defines it
_LAZY = {
    "RNNRegressor": "estimators",
    "LSTMRegressor": "estimators",
    "GRURegressor": "estimators",
    "RNNClassifier": "estimators",
    "LSTMClassifier": "estimators",
    "GRUClassifier": "estimators",
    "RNNForecaster": "forecasting",
    "AutoRNNForecaster": "forecasting",
    "SeasonalNaiveForecaster": "forecasting",
    "NaiveForecaster": "forecasting",
    "DriftForecaster": "forecasting",
    "ThetaForecaster": "forecasting",
    "save": "persistence",
    "load": "persistence",
}

# public submodules, reachable as attributes (``tsrnn.metrics``) after a bare ``import tsrnn``
_SUBMODULES = frozenset(
    {
        "cli",
        "cuda",
        "datasets",
        "diagnostics",
        "estimators",
        "forecasting",
        "metrics",
        "model_selection",
        "persistence",
        "plotting",
    }
)

if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from .estimators import (
        GRUClassifier,
        GRURegressor,
        LSTMClassifier,
        LSTMRegressor,
        RNNClassifier,
        RNNRegressor,
    )
    from .forecasting import (
        AutoRNNForecaster,
        DriftForecaster,
        NaiveForecaster,
        RNNForecaster,
        SeasonalNaiveForecaster,
        ThetaForecaster,
    )
    from .persistence import load, save


def __getattr__(name):
    """Import a public name, or a submodule, on first access (PEP 562)."""
    if name in _LAZY:
        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    elif name in _SUBMODULES:
        try:
            value = import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:  # hasattr() must see an AttributeError
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
