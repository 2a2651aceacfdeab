"""The recurrent-network forecaster: a thin orchestrator of the data-flow stages.

``fit``: parse (:mod:`._panel`) -> the series too short for the network set aside
(:mod:`._fallback`) -> transforms (:mod:`._transforms`) and features (:mod:`._features`) ->
windows and the hold-out split (:mod:`._windows`) -> the seed ensemble, stage 1 and stage 2
(:mod:`._ensemble`) -> conformal calibration (:mod:`._rollout`) and held-out comparison
(:mod:`._summary`). ``predict``: roll-out from the end of the history and inverse transforms
(:mod:`._rollout`), baseline forecasts of the short series (:mod:`._fallback`) -> output frame
(:mod:`._output`).
"""

from __future__ import annotations

import time
from functools import partial
from numbers import Integral, Real

import pandas as pd
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._progress import StageProgress, compile_notice
from ..estimators import RNNRegressor
from ..estimators._quantiles import check_quantiles
from ._base import FILL_METHOD, FREQ, POSITIVE_INT, BaseForecaster
from ._ensemble import (
    _ESTIMATORS,
    PASS_THROUGH,
    NetworkFactory,
    _on_cpu,
    check_finite,
    ensemble_predict,
    ensemble_quantiles,
    fit_stage1,
    fit_stage2,
    member_seeds,
    stage2_budgets,
)
from ._fallback import assign_models, baseline_forecasts, network_panel, series_models
from ._features import Covariates
from ._panel import _Panel
from ._rollout import calibrate, check_levels, holdout_roll_outs, network_forecasts
from ._stream import WindowSource, prepare_packed
from ._summary import holdout_comparison, render_summary
from ._time import resolve_season_length
from ._transforms import (
    SeriesTransform,
    auto_log,
    is_constant,
    series_scale,
    shared_scale,
    shares_scale,
)
from ._windows import (
    WindowLayout,
    check_lengths,
    check_window_count,
    default_window,
    prepare,
)

# the losses that train quantile levels (``quantiles``)
_QUANTILE_LOSSES = ("quantile",)

# the forecaster's parameters, checked by BaseForecaster before any work is done
_PARAMETERS: dict = {
    "cell": [StrOptions(set(_ESTIMATORS))],
    "window": [POSITIVE_INT, None],
    "horizon": [POSITIVE_INT],
    "strategy": [StrOptions({"direct", "recursive"})],
    "normalize": [StrOptions({"window", "series"}), None],
    "scale": [StrOptions({"auto", "series", "global"})],
    "log": [Options(object, {"auto", True, False})],
    "deseasonalize": [Options(object, {"auto", True, False})],
    "season_length": [POSITIVE_INT, None],
    "calendar": [Options(object, {"auto", False, None})],
    "past_covariates": [list, tuple, None],
    "freq": FREQ,
    "fill_method": FILL_METHOD,
    "n_models": [POSITIVE_INT],
    "refit_full": ["boolean"],
    "max_iter": [POSITIVE_INT],
    "early_stopping": ["boolean"],
    "validation_fraction": [Interval(Real, 0, 1, closed="left")],
    "random_state": ["random_state"],
    "verbose": [Interval(Integral, 0, 2, closed="both"), "boolean"],
    # the networks' own parameters, checked before any work is done
    **{name: RNNRegressor._parameter_constraints[name] for name in PASS_THROUGH},
}


def _upgrade_state(state: dict) -> dict:
    """The pickled state of an RNNForecaster, in the layout of this version.

    Pickles of the single-module forecaster kept the feature configuration flat.
    """
    if "_past_idx_" in state and "_covariates_" not in state:
        state["_covariates_"] = Covariates(
            state["exog_columns_"],
            state.pop("_past_idx_"),
            state.pop("_future_idx_"),
            state.pop("_exog_mean_"),
            state.pop("_exog_std_"),
            state.pop("_calendar_spec_"),
        )
        state.pop("_out_len", None)
        state.pop("_extension", None)
    return state


class RNNForecaster(BaseForecaster):
    """Forecast one or many series with a recurrent network (RNN, LSTM or GRU).

    ``fit`` takes a :class:`pandas.Series` with a DatetimeIndex, PeriodIndex or integer index,
    or a long DataFrame with columns ``unique_id``, ``ds`` and ``y`` holding many series (they
    share one *global* network). ``predict`` returns the next ``horizon`` values with their
    future timestamps, optionally with conformal prediction intervals.

    The defaults are meant to be used without tuning; each is explained below.

    Parameters
    ----------
    cell : {'lstm', 'gru', 'rnn'}, default='lstm'
        Recurrent cell of the network.
    window : int or None, default=None
        Number of past observations the network reads (the *input window*). None derives it
        from the data: ``max(2 * season_length, horizon)``, i.e. two full seasons (so the
        network sees the seasonal pattern twice) and at least as much history as it must
        forecast; shrunk when the typical series (the upper median of the lengths) could not
        otherwise give at least 10 training windows. It is chosen for the panel as a whole:
        a few short series never shrink it; series shorter than ``window + horizon`` are
        forecast by a baseline instead (see Notes and ``series_models_``).
    horizon : int, default=1
        Number of steps the model forecasts. ``predict(h)`` may ask for fewer steps, or for
        more (the forecast is then extended block by block, feeding forecasts back as inputs).
    strategy : {'direct', 'recursive'}, default='direct'
        'direct': one network output per horizon step (multi-output head), trained on the
        whole horizon at once; forecast errors do not compound. 'recursive': a one-step model
        applied repeatedly, each forecast fed back as the next input.
    normalize : {'window', 'series', None}, default='window'
        'window': each input window is shifted by its mean level and divided by the series'
        scale (standard deviation of its first differences); forecasts are shifted back. It
        makes the model level-free, so it extrapolates trends and serves series of any scale.
        'series': standardise each series by its mean and standard deviation over the
        training data. None: raw values.
    scale : {'auto', 'series', 'global'}, default='auto'
        The divisor of the normalisation. 'series': each series' own scale (the RMS of its
        first differences for ``normalize='window'``, its standard deviation for 'series').
        'global': one scale for all series, the median of the per-series scales, fitted once
        and kept by :meth:`update` (constant series take no part; a nearly constant series,
        its own scale below 1e-4 of the shared one, keeps its own). 'auto': 'global' when the
        log transform applies, else 'series'. On the log scale a difference is a relative
        change, so one shared scale keeps the training loss a relative error for every series;
        per-series scales would weight the errors of smooth series up to thousands of times
        more than those of noisy ones.
        With ``normalize=None`` there is no scaling.
    log : {'auto', True, False}, default='auto'
        Model ``log(y)`` and exponentiate the forecasts. 'auto' applies it when every value of
        every series is strictly positive, which turns the multiplicative seasonality and
        growth typical of positive data (sales, passengers, M3/M4 series) into additive
        patterns. True raises an error for non-positive values.
    deseasonalize : {'auto', False, True}, default='auto'
        Remove classical seasonal indices (centred moving average, computed on the log scale
        when ``log`` applies) from a series before normalising, and add them back to its
        forecasts. 'auto' adjusts only the series whose seasonality is significant (see
        :func:`is_seasonal`: at least three full seasons and a lag-``season_length``
        autocorrelation beyond the 90 % limit used by the Theta method and the M4
        competition's benchmarks); the others are modelled as they are. True adjusts every
        series (each needs at least two full seasons); False none. 'auto' was chosen on the
        M3 training parts (the last ``horizon`` values of each held out, the test parts never
        read): sMAPE 16.12 against 16.69 with False on the monthly series, 9.46 against 9.81
        on the quarterly ones; a global network learns each series' seasonal pattern poorly
        from the few seasons a short series has. On a single long series the network can learn
        the season itself and False may be better: air passengers without its last 12 months,
        seeds 0-2, sMAPE 3.16 with False against 4.38 with 'auto' (but over 11 real series of
        the bundled and R data sets 'auto' was better on 7, worse on 2, mean 10.38 against
        11.88, see ``experiments/results/default_deseasonalize.md``). The decision per series is in
        ``seasonal_``.
    season_length : int or None, default=None
        Seasonal period ``m``; None derives it from the frequency (12 monthly, 4 quarterly,
        7 daily, 24 hourly, 52 weekly, 1 yearly or integer index).
    calendar : {'auto', False}, default='auto'
        'auto' adds calendar features that fit the frequency, encoded as sine/cosine pairs:
        month (monthly), quarter (quarterly), week of year (weekly), day of week and day of year
        (daily), hour and day of week (hourly)... None for yearly or integer-indexed data.
    past_covariates : list of str or None, default=None
        Columns of ``X`` observed only up to the forecast origin (they are fed on the input
        window only). Every other column of ``X`` is a *known-future* covariate: it must also be
        passed for the forecast period as ``X_future`` in ``predict``.
    freq : str, pandas offset, int or None, default=None
        Frequency of the series. None takes it from the index (a PeriodIndex's frequency, a
        DatetimeIndex's ``freq`` or :func:`pandas.infer_freq`, a RangeIndex's step). Give it
        when timestamps have gaps to fill.
    fill_method : {None, 'ffill', 'interpolate', 'zero'}, default=None
        What to do with missing values (NaN, or timestamps missing from the regular grid) in
        ``y`` and ``X``. None raises an error naming the series and the timestamps.
    n_models : int, default=1
        Size of a seed ensemble: ``n_models`` networks trained from different random seeds
        (derived from ``random_state``), their forecasts averaged. Averaging reduces the
        variance of the forecasts at ``n_models`` times the training cost. On a single short
        series the seed matters: over 10 seeds (last 12 months held out) UKDriverDeaths'
        sMAPE ranged 6.75-11.96 with one network, 7.40-11.31 with 3 and 8.12-10.75 with 5
        (standard deviation 1.86, 0.84, 0.54), and the mean also improved (9.85, 9.44, 9.37);
        ``n_models=3`` gets most of that for 3 times the fit time and is the recommended
        setting when the forecast of one series matters. The default stays 1, the cheapest
        (``experiments/seed_robustness.py``).
    refit_full : bool, default=True
        Training happens in two stages. Stage 1 holds out the latest windows of every series
        (``validation_fraction``), trains with early stopping on them, and measures the
        held-out residuals that calibrate the prediction intervals. With ``refit_full=True``
        stage 2 retrains from the same initial weights on *all* windows, for the number of
        epochs stage 1 found best, so the final model has seen the most recent data (this
        matters for trending series). False keeps the stage-1 model (half the cost).
    loss : {'squared_error', 'absolute_error', 'quantile'}, default='squared_error'
        Training loss on the normalised targets. The squared error fits the conditional mean;
        the absolute error fits the conditional median, the point forecast that sMAPE, MAE
        and MASE reward, and is robust to outliers. 'quantile' fits the levels ``quantiles``
        with the pinball loss (one head unit per step and level): ``predict`` then returns
        ``yhat`` (the median) and a column ``yhat_q<pct>`` per level, see Notes.
    quantiles : list of float or None, default=None
        Quantile levels of ``loss='quantile'``, strictly inside (0, 1) and distinct; 0.5 is
        added when absent (it is ``yhat``). None means (0.1, 0.5, 0.9). Must be None for the
        other losses.
    hidden_size : int, default=32
        Units per recurrent layer.
    num_layers : int, default=1
        Stacked recurrent layers.
    bidirectional : bool, default=False
        Whether every layer also reads the window backwards.
    batch_size : int or 'auto', default=32
        Windows per gradient step. Small batches give many updates per epoch, which short
        series need.
    max_iter : int, default=200
        Maximum number of epochs.
    solver : {'adam', 'sgd'}, default='adam'
        Optimiser.
    learning_rate_init : float, default=0.01
        Step size.
    momentum : float, default=0.9
        Momentum for ``solver='sgd'``.
    alpha : float, default=0.0
        L2 penalty on the weight matrices.
    clip_grad_norm : float or None, default=1.0
        Clip the gradient's global norm; guards against exploding gradients through time.
    shuffle : bool, default=True
        Shuffle the training windows every epoch.
    early_stopping : bool, default=True
        Stop stage 1 when the score on the held-out latest windows has not improved for
        ``n_iter_no_change`` epochs, and keep the best epoch's weights. When False, stage 1
        stops when the training loss has not improved by ``tol`` for ``n_iter_no_change``
        epochs, or after ``max_iter`` epochs, and keeps its last weights (the refit on all
        windows then runs as many epochs; with ``validation_fraction=0`` the one stage trains
        on all windows under the same rule).
    validation_fraction : float, default=0.1
        Share of each series' windows, the latest ones, held out in stage 1 for early stopping
        and interval calibration. Windows whose targets overlap the held-out targets are left
        out of stage-1 training, so the held-out residuals are honest. 0 disables the hold-out
        (then ``early_stopping`` must be False and no intervals are available).
    n_iter_no_change : int, default=50
        Patience, in epochs: of early stopping, or with ``early_stopping=False`` of the
        training loss (set it to ``max_iter`` to train exactly ``max_iter`` epochs).
    tol : float, default=1e-4
        Minimum improvement of the validation score (R² of the normalised targets), or with
        ``early_stopping=False`` of the training loss.
    random_state : int, RandomState instance or None, default=None
        Seed of the weight initialisation and shuffling. Every ensemble member gets one integer
        seed, drawn once per ``fit`` (from NumPy's global generator when None) and used by both
        training stages. An int makes ``fit`` and ``predict`` bit-for-bit reproducible.
    verbose : {0, 1, 2} or bool, default=0
        Progress of ``fit`` on stderr. 0 (or False): nothing. 1 (or True): a progress bar per
        training stage, over the members' epochs (``fit lstm: 45%|████▌     | 90/200 epochs
        [00:12<00:15, 7.4 epoch/s]``; the total shrinks when a member stops early), redrawn in
        place on a terminal and written as a plain line every 10 seconds elsewhere; and, once
        per process, ``tsrnn: compiling kernels (first run only; ...)`` when the compiled
        kernels are not cached yet. 2: instead of the bars, a header naming each stage, then
        one line per epoch (loss, validation score, seconds; prefixed with the member when
        ``n_models > 1``, as members train concurrently) and one when a member stops. With 0
        the compile notice goes to the ``'tsrnn'`` :mod:`logging` logger at INFO level.
    dtype : {'float32', 'float64'}, default='float32'
        Precision of the network.
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        Where the network is trained.

    Attributes
    ----------
    estimators_ : list of estimator
        The fitted networks (one per ensemble member), from :mod:`tsrnn.estimators`.
    window_ : int
        The input window used.
    season_length_ : int
        The seasonal period used.
    freq_ : pandas offset or int
        The frequency of the series (an integer step for integer indexes).
    log_ : bool
        Whether the log transform was applied.
    scale_ : float or None
        The shared scale with ``scale='global'`` (or 'auto' resolving to it), else None.
    seasonal_ : pandas.Series of bool
        Whether each series (indexed by ``unique_id``; the Series' name for Series input) is
        deseasonalised, for the history of the last ``fit`` or ``update``.
    cutoff_ : scalar or pandas.Series
        The last timestamp of the training data: a scalar for Series input, a Series indexed by
        ``unique_id`` for long input.
    calendar_features_ : list of str
        Names of the calendar features used.
    past_covariates_, future_covariates_ : list of str
        The covariate columns by role.
    conformal_scores_ : numpy.ndarray of shape (n_windows, horizon) or None
        Held-out absolute residuals in normalised units (``|z - ẑ| / scale``), one row per
        held-out forecast origin; None without a hold-out.
    interval_rule_ : str
        'origins': the conformal finite-sample correction is counted in held-out forecast
        origins (see Notes on intervals). A model loaded from a file saved before this rule
        has no such attribute and keeps the pooled-residual rule it was saved with, so it
        gives the intervals it gave; refit it to get the new rule.
    loss_curve_, validation_scores_ : list of float
        Training loss and validation score per epoch of the first ensemble member's stage 1
        (for :func:`tsrnn.plotting.plot_loss_curve`).
    best_epochs_ : list of int
        Epochs kept by stage 1 for each member (the stage-2 epoch budget).
    series_models_ : pandas.Series of str
        How each series (indexed by ``unique_id``) is forecast, for the history of the last
        ``fit`` or ``update``: ``'network'``, or the baseline of a series too short for the
        network: ``'theta'``, ``'seasonal_naive'``, ``'drift'`` or ``'naive'`` (see Notes).
    holdout_scores_ : pandas.DataFrame or None
        sMAPE and MAE, on the data's scale, of the stage-1 network and of the naive and
        seasonal naive forecasts from the same held-out forecast origins (rows ``'network'``,
        ``'naive'``, ``'seasonal_naive'``; columns ``'smape'``, ``'mae'``, ``'n_windows'``);
        None without a hold-out.
    fit_time_ : float
        Wall-clock seconds the last ``fit`` took.

    See Also
    --------
    tsrnn.model_selection.backtest : rolling-origin evaluation.
    tsrnn.model_selection.make_windows : the windowing used here, as a function.

    Notes
    -----
    **Quantile forecasts** (``loss='quantile'``): ``predict`` returns ``yhat``, the median
    forecast, and one column per fitted level named by the level in percent without a trailing
    '.0': ``yhat_q10`` for 0.1, ``yhat_q2.5`` for 0.025, ``yhat_q97.5`` for 0.975 (a
    DataFrame even without ``level``). The quantiles are sorted per step (rearrangement), so
    they never cross, and are mapped back through the inverse transforms (window scale, season,
    log): these are monotone increasing and quantiles commute with monotone maps, so the
    results are the quantiles on the data's scale. ``level=[80]`` then gives the interval
    between the fitted 10 % and 90 % quantiles (``yhat_lo_80``, ``yhat_hi_80``; a level
    whose two quantiles were not fitted is an error naming them), not the conformal one.
    Beyond the network's output (``strategy='recursive'``, or ``predict(h)`` with ``h >
    horizon``) the median is fed back as the next input, and the later quantiles are
    conditional on that median path: they leave out the uncertainty of the steps fed back,
    so they are too narrow there. Series forecast by a baseline (too short for the network)
    have no quantile columns (NaN in a long frame).

    Prediction intervals are split-conformal: residuals of the held-out windows, in normalised
    units, are divided per horizon step by their root mean square ``s_j``, pooled over steps,
    and their quantile ``q`` gives the interval ``ẑ_j ± q s_j`` which is mapped back through
    the inverse transforms (so it is asymmetric around the forecast after a log transform).
    The finite-sample correction counts held-out forecast *origins* ``n``, not pooled
    residuals (the residuals of one origin share its level error): ``q`` is the pooled
    quantile at ``min(1, ceil((n + 1) level) / n)``, the largest held-out residual when
    ``n < level / (1 - level)``. ``s_j`` is made non-decreasing in ``j``; steps beyond
    ``horizon`` (``predict(h)`` with ``h > horizon``) widen like a random walk,
    ``s_H sqrt(j / H)``, an extrapolation rather than a calibrated interval. Measured coverage
    on rolling-origin backtests of real series is in the README and
    ``experiments/interval_coverage.py``: near the level on panels, below it on single series
    with few held-out origins and level shifts. The held-out windows are not seen in training,
    but the per-series statistics are fitted once on the whole history, held-out part
    included: the seasonal indices (``deseasonalize``) and the series' scale. The residuals can
    therefore be slightly optimistic, most for deseasonalised series with few seasons (M3
    monthly, default forecaster: 75.8 % / 92.9 % coverage at 80 / 95 %).

    Short series. A series shorter than ``window_ + horizon`` gives no training window. It
    takes no part in the network's training, the ``log='auto'`` decision, the shared scale or
    the covariate statistics (so the other series' forecasts are bit-identical to those of a
    panel without it; ``X_future`` need not cover it), and is forecast by a
    baseline, with a UserWarning naming it: :class:`ThetaForecaster` for seasonal data with
    more than ``2 * season_length`` observations (on the M3 monthly training parts it beat
    seasonal naive on such series by 7 sMAPE points), :class:`SeasonalNaiveForecaster` for
    shorter seasonal data with at least ``season_length + 1``, :class:`DriftForecaster` for
    non-seasonal data with at least 3, else :class:`NaiveForecaster`. Its intervals are the
    baseline's normal intervals (Theta's as R's ``thetaf``, the others' FPP3, Table 5.2), NaN
    where its history is too short to estimate them. ``update`` assigns the network to every
    series holding at least ``window_`` observations. When every series is too short, ``fit``
    raises a ValueError.

    Degenerate data and failed training. A series whose history is constant (after the log
    transform and deseasonalising) is forecast as that constant, with zero-width intervals; it
    takes no part in the shared scale, nor in the calibration unless every series is constant.
    ``fit`` raises a ValueError when training diverged so far that the network's weights or
    outputs are not finite. A forecast that is not finite on the data's scale all the same (it
    overflowed in the inverse transforms, or underflowed to 0 after the log transform) is
    replaced by the series' seasonal naive forecast, with NaN interval bounds and a
    RuntimeWarning naming the series. ``fit`` and ``update`` are transactional, and Ctrl-C
    aborts them (see :meth:`BaseForecaster.fit`).

    Training and prediction run with the BLAS thread pool limited to one thread: the networks
    are small, multi-threaded BLAS only adds synchronisation overhead, and a fixed thread
    count keeps results bit-identical across runs, joblib workers and Dask workers.

    The defaults were checked on the bundled air passengers series (last 24 months held out):
    the default LSTM reaches an sMAPE of about 6 (seeds 0-4: 3.4 to 8.7) against 17.0 for the
    seasonal naive forecast; with ``deseasonalize=False`` about 4 (2.5 to 4.6), the better
    choice for this single long series, whose seasonal pattern the network learns itself. On
    the 1428 M3 monthly series the default scores sMAPE 13.50 (14.31 with
    ``deseasonalize=False``).

    Examples
    --------
    >>> from tsrnn.datasets import load_air_passengers
    >>> from tsrnn.forecasting import RNNForecaster
    >>> y = load_air_passengers()
    >>> f = RNNForecaster(horizon=12, hidden_size=8, max_iter=5, random_state=0).fit(y)
    >>> fc = f.predict(level=[80])
    >>> list(fc.columns), str(fc.index[0])
    (['yhat', 'yhat_lo_80', 'yhat_hi_80'], '1961-01')
    """

    _parameter_constraints: dict = _PARAMETERS

    def __init__(
        self,
        cell="lstm",
        window=None,
        horizon=1,
        *,
        strategy="direct",
        normalize="window",
        scale="auto",
        log="auto",
        deseasonalize="auto",
        season_length=None,
        calendar="auto",
        past_covariates=None,
        freq=None,
        fill_method=None,
        n_models=1,
        refit_full=True,
        loss="squared_error",
        quantiles=None,
        hidden_size=32,
        num_layers=1,
        bidirectional=False,
        batch_size=32,
        max_iter=200,
        solver="adam",
        learning_rate_init=1e-2,
        momentum=0.9,
        alpha=0.0,
        clip_grad_norm=1.0,
        shuffle=True,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=50,
        tol=1e-4,
        random_state=None,
        verbose=0,
        dtype="float32",
        device="auto",
    ):
        self.cell = cell
        self.window = window
        self.horizon = horizon
        self.strategy = strategy
        self.normalize = normalize
        self.scale = scale
        self.log = log
        self.deseasonalize = deseasonalize
        self.season_length = season_length
        self.calendar = calendar
        self.past_covariates = past_covariates
        self.freq = freq
        self.fill_method = fill_method
        self.n_models = n_models
        self.refit_full = refit_full
        self.loss = loss
        self.quantiles = quantiles
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.solver = solver
        self.learning_rate_init = learning_rate_init
        self.momentum = momentum
        self.alpha = alpha
        self.clip_grad_norm = clip_grad_norm
        self.shuffle = shuffle
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.dtype = dtype
        self.device = device

    def _check_params(self) -> None:
        if self.quantiles is not None:
            if self.loss not in _QUANTILE_LOSSES:
                raise ValueError(
                    f"quantiles={self.quantiles!r} is only used with loss='quantile' "
                    f"(loss={self.loss!r}); pass quantiles=None or set loss='quantile'."
                )
            check_quantiles(self.quantiles)
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError("early_stopping=True needs validation_fraction > 0")
        if self.past_covariates is not None and not all(
            isinstance(c, str) for c in self.past_covariates
        ):
            raise ValueError(
                f"past_covariates must be a list of column names, got {self.past_covariates!r}"
            )

    def __setstate__(self, state):
        super().__setstate__(_upgrade_state(state))

    # -- the stages' configuration, from the fitted attributes --

    def _transform(self) -> SeriesTransform:
        return SeriesTransform(
            self.log_, self.season_length_, self.deseasonalize, self.normalize, self.scale_
        )

    def _layout(self) -> WindowLayout:
        out_len = self.horizon if self.strategy == "direct" else 1
        extension = out_len if self._covariates_.future_idx else 0
        return WindowLayout(self.window_, out_len, self.horizon, extension, self._transform())

    def _remember(self, prepared) -> None:
        """Keep the transform statistics predict needs, and which series are deseasonalised."""
        self._stats = {p.series.uid: p.stats for p in prepared}
        self.seasonal_ = pd.Series(
            [p.stats.seasonal is not None for p in prepared],
            index=pd.Index([p.series.uid for p in prepared], name="unique_id"),
            name="seasonal",
        )

    # -- fit, update, predict --

    def _fit(self, panel: _Panel) -> None:
        started = time.perf_counter()
        panel = self._configure(panel)  # the series the network forecasts
        self.scale_ = None  # per-series scales first; one shared scale may replace them
        # every series' arrays written into one array per kind, covariates in the network dtype
        prepared = prepare_packed(panel, self._transform(), self._covariates_, self.dtype)
        if shares_scale(self.scale, self.log_, self.normalize):
            self.scale_ = shared_scale([p.stats for p in prepared if not is_constant(p.d)])
            for p in prepared:
                p.stats.scale = series_scale(p.stats.scale, self.scale_)
        check_lengths(panel, self.window_, self.horizon)
        layout = self._layout()
        check_window_count(panel, layout.window, layout.out_len)
        seeds = member_seeds(self.random_state, self.n_models)
        # the windows stream from the prepared series, batch by batch (see ._stream)
        source = WindowSource(prepared, layout, panel.kind)
        split = source.split_windows(self.validation_fraction, self.early_stopping)
        factory = NetworkFactory(
            self.cell, {name: getattr(self, name) for name in PASS_THROUGH}, self.max_iter
        )
        stage1 = stage2 = None
        self.conformal_scores_ = None
        # the conformal rule of this fit (half_width); files of older releases have none and
        # keep the pooled rule they were saved with
        self.interval_rule_ = "origins"
        self.holdout_scores_ = None
        verbose = int(self.verbose)
        if _on_cpu(self.device):
            compile_notice(self.cell, self.dtype, show=verbose >= 1)
        n = len(seeds)
        members = f"{n} members" if n > 1 else "1 network"
        if split.val is not None:
            header = (
                f"stage 1/{2 if self.refit_full else 1}, fit {self.cell}: {members}, up to "
                f"{self.max_iter} epochs"
                + (", early stopping on the held-out windows" if self.early_stopping else "")
            )
            with StageProgress(
                f"fit {self.cell}", [self.max_iter] * n, verbose, header=header
            ) as progress:
                stage1 = fit_stage1(
                    factory, seeds, split.train, split.val, self.early_stopping, progress
                )
            check_finite(stage1.estimators, split.train.X)
            predict = partial(ensemble_predict, stage1.estimators)
            # one roll-out of the held-out origins: the calibration's and the report's
            preds = holdout_roll_outs(layout, prepared, split.calib, predict)
            self.conformal_scores_ = calibrate(layout, prepared, split.calib, preds)
            check_finite(stage1.estimators, None, self.conformal_scores_)
            self.holdout_scores_ = holdout_comparison(
                layout, prepared, split.calib, preds, self.season_length_
            )
        if stage1 is None or self.refit_full:
            if self._covariates_.calendar and not self._covariates_.future_idx:
                # the calendar features as one row per time stamp (the calibration, the
                # last reader of the series' per-point features, is done)
                source.compact_future()
            full = source.all_windows()
            epochs = stage1.best_epochs if stage1 else None
            budgets = stage2_budgets(factory, n, epochs)
            if stage1 is None:
                name = f"fit {self.cell}"
                header = f"stage 1/1, fit {self.cell} on all windows: {members}, up to "
                header += f"{self.max_iter} epochs"
            else:
                name = f"refit {self.cell} on all windows"
                header = f"stage 2/2, {name}: {members}, the best stage-1 epochs {budgets}"
            with StageProgress(name, budgets, verbose, header=header) as progress:
                stage2 = fit_stage2(factory, seeds, full, epochs, progress)
            check_finite(stage2.estimators, full.X)
        report = stage1 or stage2  # the learning curves of stage 1 when there was one
        self.estimators_ = (stage2 or stage1).estimators
        self.best_epochs_ = report.best_epochs
        self.loss_curve_ = report.loss_curve
        self.validation_scores_ = report.validation_scores
        self._remember(prepared)
        self.fit_time_ = time.perf_counter() - started

    def _configure(self, panel: _Panel) -> _Panel:
        """Derive the fitted configuration: season, window, per-series models, covariates, log.

        Returns the panel of the series the network forecasts: the window is chosen on the
        whole panel, the covariate statistics and the log decision on the network's series.
        """
        self.season_length_ = resolve_season_length(self.season_length, panel.kind, panel.freq)
        self.window_ = (
            int(self.window)
            if self.window is not None
            else default_window(panel, self.season_length_, self.horizon)
        )
        self.series_models_, panel = assign_models(  # raises if every series is too short
            panel,
            window=self.window_,
            horizon=self.horizon,
            season_length=self.season_length_,
            stage="fit",
            stacklevel=5,  # the caller of fit
        )
        self._covariates_ = cov = Covariates.fit(panel, self.past_covariates, self.calendar)
        self.calendar_features_ = cov.calendar_names
        self.exog_columns_ = cov.columns
        self.past_covariates_ = cov.past_names
        self.future_covariates_ = cov.future_names
        if self.strategy == "recursive" and self.past_covariates_:
            raise ValueError(
                "strategy='recursive' cannot use past_covariates: their values after the "
                "forecast origin are unknown; use strategy='direct'"
            )
        if self.log == "auto":
            self.log_ = auto_log(panel.series, stacklevel=5)  # the caller of fit
        else:
            self.log_ = bool(self.log)
        return panel

    def _series_models(self) -> pd.Series:
        """``series_models_``; every series 'network' for models saved before it existed."""
        return series_models(getattr(self, "series_models_", None), self._panel)

    def _update(self, panel: _Panel) -> None:
        if panel.exog_columns != self.exog_columns_:
            raise ValueError(
                f"X has columns {panel.exog_columns} but the forecaster was fitted with "
                f"{self.exog_columns_}"
            )
        self.series_models_, network = assign_models(
            panel,
            window=self.window_,
            horizon=self.horizon,
            season_length=self.season_length_,
            stage="update",
            stacklevel=4,  # the caller of update
        )
        self._remember(prepare(network, self._transform(), self._covariates_))

    def _fitted_quantiles(self):
        """The quantile levels of the networks (``loss='quantile'``), else None."""
        return getattr(self.estimators_[0], "quantiles_", None)

    def _predict(self, h: int, X_future, level):
        quantiles = self._fitted_quantiles()
        levels = check_levels(level, quantiles is not None or self.conformal_scores_ is not None)
        predict = partial(
            ensemble_predict if quantiles is None else ensemble_quantiles, self.estimators_
        )
        if h > self.horizon and self.past_covariates_ and self.strategy == "direct":
            raise ValueError(
                f"h={h} exceeds horizon={self.horizon}, which needs past covariates after the "
                "forecast origin; refit with a longer horizon"
            )
        models = self._series_models()
        by_uid = network_forecasts(
            self._layout(),
            self._covariates_,
            network_panel(self._panel, models),
            self._stats,
            predict,
            h=h,
            X_future=X_future,
            freq=self.freq_,
            scores=self.conformal_scores_,
            by_origins=getattr(self, "interval_rule_", "pooled") == "origins",
            levels=levels,
            log=self.log_,
            season_length=self.season_length_,
            stacklevel=4,  # the caller of predict
            quantiles=quantiles,
        )
        by_uid.update(
            baseline_forecasts(
                self._panel,
                models,
                h,
                levels,
                horizon=self.horizon,
                freq=self.freq_,
                season_length=self.season_length_,
                stacklevel=4,
            )
        )
        return [by_uid[s.uid] for s in self._panel.series], bool(levels) or quantiles is not None

    # -- summary --

    def summary(self) -> str:
        """A plain-text report of the fitted forecaster.

        It lists the series count, the window, season length and horizon, the transforms of
        every series (log, deseasonalised, scale) and how it is forecast (network or
        baseline), the network (cell, hidden size, layers, parameters), the epochs of both
        training stages, the training time, and -- when stage 1 held out windows -- the
        held-out sMAPE and MAE of the network against the naive and seasonal naive forecasts
        from the same origins (``holdout_scores_``).

        Returns
        -------
        str
            The report (like statsmodels' ``summary``, it is returned, not printed:
            ``print(f.summary())``).

        Raises
        ------
        sklearn.exceptions.NotFittedError
            If the forecaster is not fitted.
        """
        check_is_fitted(self)
        return render_summary(self)
