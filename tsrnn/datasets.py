"""Real, public example datasets bundled with tsrnn.

The CSV files live in the ``tsrnn.data`` package (the repository's ``datasets/`` folder) and are
read with :mod:`importlib.resources`, so the loaders work from an installed wheel without network
access. Provenance and licences are listed in ``datasets/README.md``.

Univariate series are returned as float64 :class:`pandas.Series` with a :class:`pandas.PeriodIndex`
(monthly ``'M'``, yearly ``'Y'`` or quarterly ``'Q'``); the US macro data as a
:class:`pandas.DataFrame` with a quarterly index; the ArrowHead classification data as numpy
arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = [
    "list_datasets",
    "load_air_passengers",
    "load_arrowhead",
    "load_dataset",
    "load_elnino",
    "load_macrodata",
    "load_nile",
    "load_sunspots",
]

_DATA_PACKAGE = "tsrnn.data"
_ARROWHEAD_SPLITS = ("train", "test")


def _data_dir() -> Traversable:
    """Return the folder holding the bundled CSV files.

    Returns
    -------
    importlib.resources.abc.Traversable
        The ``tsrnn.data`` package resources; in a source checkout that was never installed
        (so ``tsrnn.data`` is not importable) the repository's ``datasets/`` folder, which is the
        folder that ``pyproject.toml`` maps to ``tsrnn.data``.
    """
    try:
        return resources.files(_DATA_PACKAGE)
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "datasets"


def _read_csv(filename: str) -> pd.DataFrame:
    """Read one bundled CSV file into a DataFrame."""
    with _data_dir().joinpath(filename).open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle)


def _monthly_series(filename: str, date_col: str, value_col: str, name: str) -> pd.Series:
    """Load a ``YYYY-MM,value`` file as a float Series with a monthly PeriodIndex."""
    frame = _read_csv(filename)
    index = pd.PeriodIndex(frame[date_col], freq="M", name="month")
    return pd.Series(frame[value_col].to_numpy(dtype=np.float64), index=index, name=name)


def _yearly_series(filename: str, year_col: str, value_col: str, name: str) -> pd.Series:
    """Load a ``year,value`` file as a float Series with a yearly PeriodIndex."""
    frame = _read_csv(filename)
    index = pd.PeriodIndex(frame[year_col].astype(str), freq="Y", name="year")
    return pd.Series(frame[value_col].to_numpy(dtype=np.float64), index=index, name=name)


def load_air_passengers() -> pd.Series:
    """Load the monthly international airline passengers series (Box & Jenkins series G).

    Monthly totals of international airline passengers, in thousands, January 1949 to
    December 1960. Source: Box, Jenkins & Reinsel, *Time Series Analysis* (1976), as shipped in
    sktime's datasets (BSD-3 package, public data).

    Returns
    -------
    pandas.Series
        144 float64 values named ``"passengers"``, indexed by a monthly
        :class:`pandas.PeriodIndex` (freq ``'M'``) named ``"month"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> y = load_air_passengers()
    >>> y.shape, y.index.freqstr
    ((144,), 'M')
    >>> y.head(2)
    month
    1949-01    112.0
    1949-02    118.0
    Freq: M, Name: passengers, dtype: float64
    """
    return _monthly_series("air_passengers.csv", "Date", "Passengers", "passengers")


def load_sunspots() -> pd.Series:
    """Load the yearly sunspot activity series.

    Yearly sunspot activity, 1700 to 2008. Source: NOAA National Geophysical Data Center, as
    shipped in statsmodels (public domain).

    Returns
    -------
    pandas.Series
        309 float64 values named ``"sunactivity"``, indexed by a yearly
        :class:`pandas.PeriodIndex` (freq ``'Y'``) named ``"year"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_sunspots
    >>> y = load_sunspots()
    >>> len(y), str(y.index[0]), str(y.index[-1])
    (309, '1700', '2008')
    """
    return _yearly_series("sunspots.csv", "YEAR", "SUNACTIVITY", "sunactivity")


def load_nile() -> pd.Series:
    """Load the annual flow of the river Nile at Aswan.

    Annual flow volume, in 10^8 cubic metres, 1871 to 1970. Source: Cobb (1978), as shipped in
    statsmodels (public domain).

    Returns
    -------
    pandas.Series
        100 float64 values named ``"volume"``, indexed by a yearly
        :class:`pandas.PeriodIndex` (freq ``'Y'``) named ``"year"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_nile
    >>> y = load_nile()
    >>> len(y), float(y.iloc[0])
    (100, 1120.0)
    """
    return _yearly_series("nile.csv", "year", "volume", "volume")


def load_elnino() -> pd.Series:
    """Load the monthly Niño 1+2 sea surface temperature series.

    Monthly sea surface temperature of the Niño 1+2 region, in degrees Celsius, January 1950 to
    December 2010. Source: NOAA National Weather Service Climate Prediction Center, as shipped in
    statsmodels (public domain) and reshaped to one value per month.

    Returns
    -------
    pandas.Series
        732 float64 values named ``"sst"``, indexed by a monthly
        :class:`pandas.PeriodIndex` (freq ``'M'``) named ``"month"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_elnino
    >>> y = load_elnino()
    >>> len(y), str(y.index[0]), str(y.index[-1])
    (732, '1950-01', '2010-12')
    """
    return _monthly_series("elnino_sst.csv", "date", "sst", "sst")


def load_macrodata() -> pd.DataFrame:
    """Load the quarterly US macroeconomic dataset.

    Quarterly US macroeconomic indicators, 1959Q1 to 2009Q3: real GDP (``realgdp``), real
    consumption (``realcons``), real investment (``realinv``), real government spending
    (``realgovt``), real disposable income (``realdpi``), CPI (``cpi``), M1 money stock (``m1``),
    3-month T-bill rate (``tbilrate``), unemployment rate (``unemp``), population (``pop``),
    inflation (``infl``) and real interest rate (``realint``). Source: FRED, Federal Reserve Bank
    of St. Louis, as shipped in statsmodels (public domain).

    Returns
    -------
    pandas.DataFrame
        203 rows by 12 float64 columns, indexed by a quarterly :class:`pandas.PeriodIndex`
        (freq ``'Q'``) named ``"quarter"``. The file's ``year`` and ``quarter`` columns are
        used to build the index and dropped.

    Examples
    --------
    >>> from tsrnn.datasets import load_macrodata
    >>> df = load_macrodata()
    >>> df.shape, str(df.index[0]), str(df.index[-1])
    ((203, 12), '1959Q1', '2009Q3')
    >>> list(df.columns[:3])
    ['realgdp', 'realcons', 'realinv']
    """
    frame = _read_csv("macrodata.csv")
    index = pd.PeriodIndex.from_fields(
        year=frame["year"].to_numpy(), quarter=frame["quarter"].to_numpy(), freq="Q"
    ).rename("quarter")
    values = frame.drop(columns=["year", "quarter"]).astype(np.float64)
    return values.set_axis(index, axis="index")


def load_arrowhead(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Load the ArrowHead shape-outline classification dataset (UCR archive).

    Each sample is the outline of a projectile point (arrowhead) converted to a series of 251
    z-normalised values; the label is one of three classes (0, 1, 2). Source: UCR Time Series
    Classification Archive, as shipped in sktime (free for research use).

    Parameters
    ----------
    split : {"train", "test"}, default="train"
        Which of the archive's fixed splits to load: 36 training or 175 test samples.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 251), dtype float64
        The series, one per row.
    y : numpy.ndarray of shape (n_samples,), dtype int64
        The class labels.

    Raises
    ------
    ValueError
        If ``split`` is not ``"train"`` or ``"test"``.

    Examples
    --------
    >>> from tsrnn.datasets import load_arrowhead
    >>> X, y = load_arrowhead("train")
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((36, 251), (36,), [0, 1, 2])
    """
    if split not in _ARROWHEAD_SPLITS:
        raise ValueError(f"split must be one of {list(_ARROWHEAD_SPLITS)}, got {split!r}")
    frame = _read_csv(f"arrowhead_{split}.csv")
    y = frame["label"].to_numpy(dtype=np.int64)
    X = frame.drop(columns="label").to_numpy(dtype=np.float64)
    return X, y


_LOADERS: dict[str, Callable[[], pd.Series | pd.DataFrame]] = {
    "air_passengers": load_air_passengers,
    "sunspots": load_sunspots,
    "nile": load_nile,
    "elnino": load_elnino,
    "macrodata": load_macrodata,
}


def list_datasets() -> list[str]:
    """Return the names of the forecasting datasets accepted by :func:`load_dataset`.

    The ArrowHead classification data is not listed: load it with :func:`load_arrowhead`.

    Returns
    -------
    list of str
        The dataset names.

    Examples
    --------
    >>> from tsrnn.datasets import list_datasets
    >>> list_datasets()
    ['air_passengers', 'sunspots', 'nile', 'elnino', 'macrodata']
    """
    return list(_LOADERS)


def load_dataset(name: str) -> pd.Series | pd.DataFrame:
    """Load a bundled forecasting dataset by name.

    Parameters
    ----------
    name : str
        One of the names returned by :func:`list_datasets`: ``"air_passengers"``,
        ``"sunspots"``, ``"nile"``, ``"elnino"`` or ``"macrodata"``.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        What the matching ``load_<name>`` function returns: a Series for the univariate datasets,
        a DataFrame for ``"macrodata"``.

    Raises
    ------
    ValueError
        If ``name`` is not a known dataset; the message lists the valid names.

    Examples
    --------
    >>> from tsrnn.datasets import load_dataset
    >>> load_dataset("nile").index.freqstr
    'Y-DEC'
    """
    try:
        loader = _LOADERS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown dataset {name!r}; valid names are: {', '.join(_LOADERS)}"
        ) from None
    return loader()
