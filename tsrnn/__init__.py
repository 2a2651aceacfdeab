"""tsrnn: recurrent neural networks for time-series forecasting, compiled with Numba."""

__version__ = "0.1.0"
