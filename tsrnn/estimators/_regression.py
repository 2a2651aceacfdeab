"""The recurrent regressors: RNNRegressor, LSTMRegressor, GRURegressor.

They differ only in the cell; everything else is :class:`_RecurrentRegressor` (targets,
``loss``, R² scoring; :mod:`tsrnn.estimators._regressor_base`) on top of
:class:`~tsrnn.estimators._base.BaseRecurrent`.
"""

from ._regressor_base import _RecurrentRegressor

__all__ = ["RNNRegressor", "LSTMRegressor", "GRURegressor"]


class RNNRegressor(_RecurrentRegressor):
    """Elman RNN regressor: sequences in, one or several real values out.

    Each layer and direction runs the Elman recurrence (``docs/math.md``, section 1)::

        h_t = tanh(b + W h_{t-1} + U x_t)

    with ``U = weight_ih`` (N x D), ``W = weight_hh`` (N x N) and one bias ``b``;
    h_0 = 0.

    The top layer's final state z (``[h_T ; h_1 of the reverse direction]`` when
    bidirectional) feeds a linear head o = c + V z with one output per target
    column, trained on ``loss`` (``docs/math.md``, sections 2 and 3).  Inputs
    are sequences of shape (n_samples, n_timesteps, n_features), or
    (n_samples, n_timesteps) for one feature.

    Parameters
    ----------
    hidden_size : int, default=32
        Units per layer and direction (N).
    num_layers : int, default=1
        Stacked recurrent layers; each reads the hidden sequence of the one below.
    bidirectional : bool, default=False
        Add a reverse direction with its own weights to each layer; the head sees
        both directions' final states.
    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is min(64, n_samples).
    max_iter : int, default=200
        Maximum number of epochs (passes over the training samples).
    solver : {'adam', 'sgd'}, default='adam'
        Optimiser: Adam with PyTorch's bias correction, or SGD with momentum.
    learning_rate_init : float, default=3e-3
        Step size.  A training loss that turns non-finite or rises above 1000
        times the lowest loss so far (and above the initial loss, see ``tol``)
        stops training with a RuntimeWarning and keeps the weights that began
        the lowest-loss epoch (or those of the best validation score).
    momentum : float, default=0.9
        Momentum for ``solver='sgd'`` (0 gives plain gradient descent).
    nesterovs_momentum : bool, default=False
        Nesterov momentum for ``solver='sgd'``.
    beta_1 : float, default=0.9
        Adam's decay rate of the first moment.
    beta_2 : float, default=0.999
        Adam's decay rate of the second moment.
    epsilon : float, default=1e-8
        Adam's denominator term.
    alpha : float, default=0.0
        L2 penalty (alpha / 2) * sum(W**2) / batch_size over the weight matrices
        (not the biases).
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value; None disables clipping.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out the *last* ``validation_fraction`` of the samples (time order,
        never shuffled), score every epoch on them (R²), stop after
        ``n_iter_no_change`` epochs without an improvement of at least ``tol``
        and keep the best-scoring weights.
    validation_fraction : float, default=0.1
        Share of the samples held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (of the training loss,
        or of the validation score with ``early_stopping``) before stopping.
    tol : float, default=1e-4
        Minimum improvement that resets the ``n_iter_no_change`` count: of the
        validation score with ``early_stopping`` (absolute), else of the training
        loss *relative to the initial loss* (that of the untrained network on the
        first 256 training samples): an epoch improves when its loss is below the
        best so far minus ``tol`` times the initial loss, so the rule does not
        depend on the scale of the targets.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling; an int gives bit-identical
        results across runs, processes and thread counts.
    warm_start : bool, default=False
        Continue ``fit`` from the current weights and optimiser state when the
        architecture, dtype and data layout are unchanged; otherwise a
        UserWarning names what changed and a new network is trained.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, epoch time).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation (``docs/math.md``, section 7).
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        Where to train; 'auto' uses a CUDA GPU only if one is really usable.
        Predictions run on the device of the fit (``device_``) when it is
        usable here, else on the CPU.
    loss : {'squared_error', 'absolute_error', 'quantile'}, default='squared_error'
        Training loss, averaged over samples and outputs: mean squared error,
        mean absolute error (robust to outliers; targets the conditional median,
        which suits forecasts scored by sMAPE or MASE), or the pinball loss of
        the levels ``quantiles`` (``docs/math.md``, section 3: the head then has
        ``n_outputs * n_quantiles`` units).  With 'quantile', :meth:`predict`
        returns the median and :meth:`predict_quantiles` every level.
    quantiles : array-like of float or None, default=None
        Quantile levels of ``loss='quantile'``, strictly inside (0, 1) and
        distinct, in any order (they are sorted); the median 0.5 is added when
        absent, since :meth:`predict` returns it.  None means (0.1, 0.5, 0.9).
        Must be None for the other losses.

    Attributes
    ----------
    coefs_ : ndarray of shape (n_params_,)
        All learnable parameters in one flat vector, in the layout of
        ``docs/math.md`` section 5 (see :meth:`export_weights`).
    device_ : {'cpu', 'cuda'}
        The device the network was trained on.  ``predict`` runs there when it
        is usable here (batch-invariant on both), else on the CPU, e.g. for a
        GPU-fitted model loaded on a machine without one (same outputs to
        rounding: 1e-10 in float64, about 1e-6 relative in float32);
        ``set_params(device='cpu')`` makes it predict on the CPU.
    network_ : NetworkSpec
        The fitted architecture.
    n_params_ : int
        Number of learnable parameters, head included.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    loss_ : float or None
        Mean training loss of the last epoch kept (``loss_curve_[-1]``; None when none was,
        e.g. when the first diverged).
    validation_scores_ : list of float or None
        Validation R² of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation R² (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    n_outputs_ : int
        Number of outputs (columns of y; 1 for 1-D y).
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted quantile levels, sorted, 0.5 included; only with
        ``loss='quantile'``.

    See Also
    --------
    LSTMRegressor : The same estimator with the LSTM cell.
    GRURegressor : The same estimator with the GRU cell.
    RNNClassifier : The classifier with this cell.
    tsrnn.RNNForecaster : Forecasts pandas series with these regressors.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNRegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = X[:, -1, 0]  # target: the last value of each sequence
    >>> model = RNNRegressor(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    >>> model.n_iter_, len(model.loss_curve_)
    (5, 5)
    """

    _cell = "rnn"


class LSTMRegressor(_RecurrentRegressor):
    """LSTM regressor: sequences in, one or several real values out.

    Each layer and direction runs the LSTM cell, gates in the order i, f, g, o
    (``docs/math.md``, section 1)::

        i_t = sigmoid(W_ii x_t + W_hi h_{t-1} + b_i)
        f_t = sigmoid(W_if x_t + W_hf h_{t-1} + b_f)
        g_t = tanh(W_ig x_t + W_hg h_{t-1} + b_g)
        o_t = sigmoid(W_io x_t + W_ho h_{t-1} + b_o)
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    with one bias per gate (PyTorch's two biases per gate add up to it); h_0 = c_0 = 0.

    The top layer's final state z (``[h_T ; h_1 of the reverse direction]`` when
    bidirectional) feeds a linear head o = c + V z with one output per target
    column, trained on ``loss`` (``docs/math.md``, sections 2 and 3).  Inputs
    are sequences of shape (n_samples, n_timesteps, n_features), or
    (n_samples, n_timesteps) for one feature.

    Parameters
    ----------
    hidden_size : int, default=32
        Units per layer and direction (N).
    num_layers : int, default=1
        Stacked recurrent layers; each reads the hidden sequence of the one below.
    bidirectional : bool, default=False
        Add a reverse direction with its own weights to each layer; the head sees
        both directions' final states.
    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is min(64, n_samples).
    max_iter : int, default=200
        Maximum number of epochs (passes over the training samples).
    solver : {'adam', 'sgd'}, default='adam'
        Optimiser: Adam with PyTorch's bias correction, or SGD with momentum.
    learning_rate_init : float, default=3e-3
        Step size.  A training loss that turns non-finite or rises above 1000
        times the lowest loss so far (and above the initial loss, see ``tol``)
        stops training with a RuntimeWarning and keeps the weights that began
        the lowest-loss epoch (or those of the best validation score).
    momentum : float, default=0.9
        Momentum for ``solver='sgd'`` (0 gives plain gradient descent).
    nesterovs_momentum : bool, default=False
        Nesterov momentum for ``solver='sgd'``.
    beta_1 : float, default=0.9
        Adam's decay rate of the first moment.
    beta_2 : float, default=0.999
        Adam's decay rate of the second moment.
    epsilon : float, default=1e-8
        Adam's denominator term.
    alpha : float, default=0.0
        L2 penalty (alpha / 2) * sum(W**2) / batch_size over the weight matrices
        (not the biases).
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value; None disables clipping.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out the *last* ``validation_fraction`` of the samples (time order,
        never shuffled), score every epoch on them (R²), stop after
        ``n_iter_no_change`` epochs without an improvement of at least ``tol``
        and keep the best-scoring weights.
    validation_fraction : float, default=0.1
        Share of the samples held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (of the training loss,
        or of the validation score with ``early_stopping``) before stopping.
    tol : float, default=1e-4
        Minimum improvement that resets the ``n_iter_no_change`` count: of the
        validation score with ``early_stopping`` (absolute), else of the training
        loss *relative to the initial loss* (that of the untrained network on the
        first 256 training samples): an epoch improves when its loss is below the
        best so far minus ``tol`` times the initial loss, so the rule does not
        depend on the scale of the targets.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling; an int gives bit-identical
        results across runs, processes and thread counts.
    warm_start : bool, default=False
        Continue ``fit`` from the current weights and optimiser state when the
        architecture, dtype and data layout are unchanged; otherwise a
        UserWarning names what changed and a new network is trained.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, epoch time).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation (``docs/math.md``, section 7).
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        Where to train; 'auto' uses a CUDA GPU only if one is really usable.
        Predictions run on the device of the fit (``device_``) when it is
        usable here, else on the CPU.
    loss : {'squared_error', 'absolute_error', 'quantile'}, default='squared_error'
        Training loss, averaged over samples and outputs: mean squared error,
        mean absolute error (robust to outliers; targets the conditional median,
        which suits forecasts scored by sMAPE or MASE), or the pinball loss of
        the levels ``quantiles`` (``docs/math.md``, section 3: the head then has
        ``n_outputs * n_quantiles`` units).  With 'quantile', :meth:`predict`
        returns the median and :meth:`predict_quantiles` every level.
    quantiles : array-like of float or None, default=None
        Quantile levels of ``loss='quantile'``, strictly inside (0, 1) and
        distinct, in any order (they are sorted); the median 0.5 is added when
        absent, since :meth:`predict` returns it.  None means (0.1, 0.5, 0.9).
        Must be None for the other losses.

    Attributes
    ----------
    coefs_ : ndarray of shape (n_params_,)
        All learnable parameters in one flat vector, in the layout of
        ``docs/math.md`` section 5 (see :meth:`export_weights`).
    device_ : {'cpu', 'cuda'}
        The device the network was trained on.  ``predict`` runs there when it
        is usable here (batch-invariant on both), else on the CPU, e.g. for a
        GPU-fitted model loaded on a machine without one (same outputs to
        rounding: 1e-10 in float64, about 1e-6 relative in float32);
        ``set_params(device='cpu')`` makes it predict on the CPU.
    network_ : NetworkSpec
        The fitted architecture.
    n_params_ : int
        Number of learnable parameters, head included.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    loss_ : float or None
        Mean training loss of the last epoch kept (``loss_curve_[-1]``; None when none was,
        e.g. when the first diverged).
    validation_scores_ : list of float or None
        Validation R² of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation R² (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    n_outputs_ : int
        Number of outputs (columns of y; 1 for 1-D y).
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted quantile levels, sorted, 0.5 included; only with
        ``loss='quantile'``.

    See Also
    --------
    RNNRegressor : The same estimator with the Elman RNN cell.
    GRURegressor : The same estimator with the GRU cell.
    LSTMClassifier : The classifier with this cell.
    tsrnn.RNNForecaster : Forecasts pandas series with these regressors.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import LSTMRegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = X[:, -1, 0]  # target: the last value of each sequence
    >>> model = LSTMRegressor(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    >>> model.n_iter_, len(model.loss_curve_)
    (5, 5)
    """

    _cell = "lstm"


class GRURegressor(_RecurrentRegressor):
    """GRU regressor: sequences in, one or several real values out.

    Each layer and direction runs the GRU cell in the "reset-after" form of PyTorch and
    cuDNN, gates in the order r, z, n (``docs/math.md``, section 1)::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    with both bias vectors, input side and recurrent side; h_0 = 0.

    The top layer's final state z (``[h_T ; h_1 of the reverse direction]`` when
    bidirectional) feeds a linear head o = c + V z with one output per target
    column, trained on ``loss`` (``docs/math.md``, sections 2 and 3).  Inputs
    are sequences of shape (n_samples, n_timesteps, n_features), or
    (n_samples, n_timesteps) for one feature.

    Parameters
    ----------
    hidden_size : int, default=32
        Units per layer and direction (N).
    num_layers : int, default=1
        Stacked recurrent layers; each reads the hidden sequence of the one below.
    bidirectional : bool, default=False
        Add a reverse direction with its own weights to each layer; the head sees
        both directions' final states.
    batch_size : int or 'auto', default='auto'
        Mini-batch size; 'auto' is min(64, n_samples).
    max_iter : int, default=200
        Maximum number of epochs (passes over the training samples).
    solver : {'adam', 'sgd'}, default='adam'
        Optimiser: Adam with PyTorch's bias correction, or SGD with momentum.
    learning_rate_init : float, default=3e-3
        Step size.  A training loss that turns non-finite or rises above 1000
        times the lowest loss so far (and above the initial loss, see ``tol``)
        stops training with a RuntimeWarning and keeps the weights that began
        the lowest-loss epoch (or those of the best validation score).
    momentum : float, default=0.9
        Momentum for ``solver='sgd'`` (0 gives plain gradient descent).
    nesterovs_momentum : bool, default=False
        Nesterov momentum for ``solver='sgd'``.
    beta_1 : float, default=0.9
        Adam's decay rate of the first moment.
    beta_2 : float, default=0.999
        Adam's decay rate of the second moment.
    epsilon : float, default=1e-8
        Adam's denominator term.
    alpha : float, default=0.0
        L2 penalty (alpha / 2) * sum(W**2) / batch_size over the weight matrices
        (not the biases).
    clip_grad_norm : float or None, default=None
        Clip the global gradient norm to this value; None disables clipping.
    shuffle : bool, default=True
        Shuffle the samples every epoch.
    early_stopping : bool, default=False
        Hold out the *last* ``validation_fraction`` of the samples (time order,
        never shuffled), score every epoch on them (R²), stop after
        ``n_iter_no_change`` epochs without an improvement of at least ``tol``
        and keep the best-scoring weights.
    validation_fraction : float, default=0.1
        Share of the samples held out with ``early_stopping``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` (of the training loss,
        or of the validation score with ``early_stopping``) before stopping.
    tol : float, default=1e-4
        Minimum improvement that resets the ``n_iter_no_change`` count: of the
        validation score with ``early_stopping`` (absolute), else of the training
        loss *relative to the initial loss* (that of the untrained network on the
        first 256 training samples): an epoch improves when its loss is below the
        best so far minus ``tol`` times the initial loss, so the rule does not
        depend on the scale of the targets.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and shuffling; an int gives bit-identical
        results across runs, processes and thread counts.
    warm_start : bool, default=False
        Continue ``fit`` from the current weights and optimiser state when the
        architecture, dtype and data layout are unchanged; otherwise a
        UserWarning names what changed and a new network is trained.
    verbose : bool or int, default=False
        Print one line per epoch (loss, validation score, epoch time).
    dtype : {'float32', 'float64'}, default='float32'
        Precision of weights and computation (``docs/math.md``, section 7).
    device : {'auto', 'cpu', 'cuda'}, default='auto'
        Where to train; 'auto' uses a CUDA GPU only if one is really usable.
        Predictions run on the device of the fit (``device_``) when it is
        usable here, else on the CPU.
    loss : {'squared_error', 'absolute_error', 'quantile'}, default='squared_error'
        Training loss, averaged over samples and outputs: mean squared error,
        mean absolute error (robust to outliers; targets the conditional median,
        which suits forecasts scored by sMAPE or MASE), or the pinball loss of
        the levels ``quantiles`` (``docs/math.md``, section 3: the head then has
        ``n_outputs * n_quantiles`` units).  With 'quantile', :meth:`predict`
        returns the median and :meth:`predict_quantiles` every level.
    quantiles : array-like of float or None, default=None
        Quantile levels of ``loss='quantile'``, strictly inside (0, 1) and
        distinct, in any order (they are sorted); the median 0.5 is added when
        absent, since :meth:`predict` returns it.  None means (0.1, 0.5, 0.9).
        Must be None for the other losses.

    Attributes
    ----------
    coefs_ : ndarray of shape (n_params_,)
        All learnable parameters in one flat vector, in the layout of
        ``docs/math.md`` section 5 (see :meth:`export_weights`).
    device_ : {'cpu', 'cuda'}
        The device the network was trained on.  ``predict`` runs there when it
        is usable here (batch-invariant on both), else on the CPU, e.g. for a
        GPU-fitted model loaded on a machine without one (same outputs to
        rounding: 1e-10 in float64, about 1e-6 relative in float32);
        ``set_params(device='cpu')`` makes it predict on the CPU.
    network_ : NetworkSpec
        The fitted architecture.
    n_params_ : int
        Number of learnable parameters, head included.
    loss_curve_ : list of float
        Mean training loss of each epoch.
    loss_ : float or None
        Mean training loss of the last epoch kept (``loss_curve_[-1]``; None when none was,
        e.g. when the first diverged).
    validation_scores_ : list of float or None
        Validation R² of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation R² (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    n_outputs_ : int
        Number of outputs (columns of y; 1 for 1-D y).
    quantiles_ : ndarray of shape (n_quantiles,)
        The fitted quantile levels, sorted, 0.5 included; only with
        ``loss='quantile'``.

    See Also
    --------
    RNNRegressor : The same estimator with the Elman RNN cell.
    LSTMRegressor : The same estimator with the LSTM cell.
    GRUClassifier : The classifier with this cell.
    tsrnn.RNNForecaster : Forecasts pandas series with these regressors.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import GRURegressor
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = X[:, -1, 0]  # target: the last value of each sequence
    >>> model = GRURegressor(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    >>> model.n_iter_, len(model.loss_curve_)
    (5, 5)
    """

    _cell = "gru"
