"""Forecasting on pandas with recurrent networks: :class:`RNNForecaster`.

The forecaster turns one series (a :class:`pandas.Series`) or many (a long DataFrame with columns
``unique_id``, ``ds``, ``y``) into sliding windows, trains one of the recurrent estimators of
:mod:`tsrnn.estimators` on them (one *global* model shared by all series), and turns the network's
outputs back into forecasts with a future time index.

How a training example is built (``window=4``, ``horizon=2``, direct strategy)::

    time          t-3  t-2  t-1   t  | t+1  t+2
    input window   y    y    y    y  |              <- normalised by the window's level
    target                           |  y    y      <- normalised the same way

With known-future covariates the input sequence is extended over the horizon: the extra steps
carry the covariates, a flag set to 1, and a 0 in place of the unknown target, so the network
reads the future it must forecast. Past-only covariates appear on the input steps only.

The pipeline applied to every series, and inverted on the forecasts:

1. ``log`` (when chosen): ``z = log(y)``; turns multiplicative seasonality and growth additive.
2. ``deseasonalize``: subtract classical seasonal indices of ``z`` (by default only from the
   series whose seasonality passes a significance test).
3. ``normalize='window'``: every window is shifted by its own mean level and divided by a scale
   (the RMS of first differences: of each series, or one shared by a log-transformed panel), so
   series of any level or unit, and a trending series at any point of its trend, look alike to
   the network.

The modules are the stages of that data flow, in order:

============================  ==============================================================
``_time``                     time index kinds, frequencies, seasonal periods, future index
``_panel``                    Series / long DataFrame / covariates into a regular panel
``_transforms``               per-series log, deseasonalising, location/scale; fit/apply/invert
``_features``                 calendar features and standardised covariates
``_windows``                  sliding windows; the train / validation / calibration split
``_ensemble``                 the seed ensemble: stage 1 with a hold-out, stage 2 refit
``_fallback``                 series too short for the network: their baselines and forecasts
``_rollout``                  the roll-out of the networks, forecasts on the data's scale;
                              conformal calibration
``_summary``                  held-out comparison with the baselines; ``summary()``'s text
``_output``                   forecasts as a Series or (long) DataFrame
``_base``                     :class:`BaseForecaster`: parameter checks, the fit / update /
                              predict / score template
``_rnn``, ``_naive``          :class:`RNNForecaster`, :class:`SeasonalNaiveForecaster`
``_baselines``                :class:`NaiveForecaster`, :class:`DriftForecaster` (FPP3 5.2)
``_theta``                    :class:`ThetaForecaster` (the classical Theta method)
``_auto``                     :class:`AutoRNNForecaster`: the configuration chosen on the data
``_auto_jobs``                its default candidates and the jobs joblib runs for it
============================  ==============================================================
"""

# ``name as name``: kept at this path for the code and pickles of the single-module forecaster
# (fitted forecasters refer to the data classes by these paths; model_selection imports the
# time helpers from here).
from ._auto import AutoRNNForecaster
from ._base import BaseForecaster
from ._baselines import DriftForecaster, NaiveForecaster
from ._naive import SeasonalNaiveForecaster
from ._panel import _Panel as _Panel
from ._panel import _Series as _Series
from ._rnn import RNNForecaster
from ._theta import ThetaForecaster
from ._time import _index_kind as _index_kind
from ._time import _infer_freq as _infer_freq
from ._time import season_length_from_freq
from ._transforms import _Stats as _Stats
from ._transforms import is_seasonal

_BaseForecaster = BaseForecaster  # the base class's name before the package split

__all__ = [
    "AutoRNNForecaster",
    "BaseForecaster",
    "DriftForecaster",
    "NaiveForecaster",
    "RNNForecaster",
    "SeasonalNaiveForecaster",
    "ThetaForecaster",
    "is_seasonal",
    "season_length_from_freq",
]
