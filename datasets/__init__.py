"""Bundled example datasets (CSV files) for :mod:`tsrnn.datasets`; see README.md."""
