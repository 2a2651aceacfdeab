"""The recurrent classifiers: RNNClassifier, LSTMClassifier, GRUClassifier.

They differ only in the cell; everything else is :class:`_RecurrentClassifier` (labels,
softmax, cross-entropy, accuracy scoring) on top of
:class:`~tsrnn.estimators._base.BaseRecurrent`.
"""

import numpy as np
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import _check_y, column_or_1d

from ._base import BaseRecurrent

__all__ = ["RNNClassifier", "LSTMClassifier", "GRUClassifier"]


class _RecurrentClassifier(ClassifierMixin, BaseRecurrent):
    """Class labels, one output per class, trained on the cross-entropy."""

    _loss = "xent"

    def _y_validation_kwargs(self):
        return {"multi_output": False}

    def _validate_y_only(self, y):
        return column_or_1d(_check_y(y, multi_output=False, estimator=self), warn=True)

    def _n_outputs(self, Y):
        return len(self.classes_)

    def _encode_y(self, y, reset, classes=None):
        """Labels as int64 indices into ``classes_`` (fitted from ``classes`` or y on reset)."""
        check_classification_targets(y)
        if reset:
            self._label_encoder = LabelEncoder().fit(classes if classes is not None else y)
            self.classes_ = self._label_encoder.classes_
            if len(self.classes_) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least two classes; "
                    f"got only one class ({self.classes_.tolist()[0]!r})."
                )
        unknown = np.setdiff1d(unique_labels(y), self.classes_)
        if unknown.size:
            raise ValueError(f"y contains labels not seen in classes_: {unknown.tolist()}")
        return self._label_encoder.transform(y).astype(np.int64)

    def _target_changes(self, previous):
        old = getattr(previous, "classes_", None)
        if old is not None and old.tolist() != self.classes_.tolist():
            return [f"y has the classes {self.classes_.tolist()} (fitted: {old.tolist()})"]
        return []

    def _check_first_partial_fit(self, classes=None):
        if classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")

    def _score_raw(self, out, Y):
        return accuracy_score(Y, np.argmax(out, axis=1))

    def _set_outputs_from_import(self, n_outputs):
        self.classes_ = np.arange(n_outputs)
        self._label_encoder = LabelEncoder().fit(self.classes_)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Fit the network to sequences X and class labels y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences; 2-D input means univariate sequences.
        y : array-like of shape (n_samples,)
            Class labels.

        Returns
        -------
        self : object
            The fitted estimator.

        Notes
        -----
        The fit is all or nothing: if it raises, the estimator keeps its previous
        state.  Ctrl-C (KeyboardInterrupt) during the epochs stops training, as in
        scikit-learn's MLP: the completed epochs are kept (``n_iter_``,
        ``loss_curve_`` and the weights agree), a warning says which epoch's
        weights are kept, and ``fit`` returns.
        """
        return self._fit_full(X, y)

    def partial_fit(self, X, y, classes=None):
        """One epoch of updates on (X, y), keeping weights and optimiser state.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout of the first call.
        y : array-like of shape (n_samples,)
            Class labels, all of them in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All classes; required on the first call, as in scikit-learn.

        Returns
        -------
        self : object
            The updated estimator.

        Raises
        ------
        ValueError
            If the architecture (``hidden_size``, ``num_layers``,
            ``bidirectional``), ``dtype`` or the data layout changed since the
            network was fitted: ``partial_fit`` only continues that network.
        """
        return self._partial_fit(X, y, classes=classes)

    def predict_proba(self, X):
        """Class probabilities softmax(o) for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout used for fit.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities (float64) in the order of ``classes_``.
        """
        out = self._outputs(X).astype(np.float64)
        out -= out.max(axis=1, keepdims=True)
        np.exp(out, out=out)
        out /= out.sum(axis=1, keepdims=True)
        return out

    def predict(self, X):
        """Predicted class labels for sequences X.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
            Input sequences, in the layout used for fit.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The class of the largest output of each sequence.
        """
        out = self._outputs(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(out, axis=1)]


class RNNClassifier(_RecurrentClassifier):
    """Elman RNN classifier: sequences in, class probabilities out.

    Each layer and direction runs the Elman recurrence (``docs/math.md``, section 1)::

        h_t = tanh(b + W h_{t-1} + U x_t)

    with ``U = weight_ih`` (N x D), ``W = weight_hh`` (N x N) and one bias ``b``;
    h_0 = 0.

    The top layer's final state z (``[h_T ; h_1 of the reverse direction]`` when
    bidirectional) feeds a linear head o = c + V z with one output per class;
    the class probabilities are softmax(o), trained on the cross-entropy
    (``docs/math.md``, sections 2 and 3).  Inputs are sequences of shape
    (n_samples, n_timesteps, n_features), or (n_samples, n_timesteps) for one
    feature.

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
        never shuffled), score every epoch on them (accuracy), stop after
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
        Validation accuracy of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation accuracy (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of the columns of :meth:`predict_proba`.

    See Also
    --------
    LSTMClassifier : The same estimator with the LSTM cell.
    GRUClassifier : The same estimator with the GRU cell.
    RNNRegressor : The regressor with this cell.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import RNNClassifier
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = (X[:, -1, 0] > 0).astype(int)  # class: is the last value positive?
    >>> model = RNNClassifier(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "rnn"


class LSTMClassifier(_RecurrentClassifier):
    """LSTM classifier: sequences in, class probabilities out.

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
    bidirectional) feeds a linear head o = c + V z with one output per class;
    the class probabilities are softmax(o), trained on the cross-entropy
    (``docs/math.md``, sections 2 and 3).  Inputs are sequences of shape
    (n_samples, n_timesteps, n_features), or (n_samples, n_timesteps) for one
    feature.

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
        never shuffled), score every epoch on them (accuracy), stop after
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
        Validation accuracy of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation accuracy (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of the columns of :meth:`predict_proba`.

    See Also
    --------
    RNNClassifier : The same estimator with the Elman RNN cell.
    GRUClassifier : The same estimator with the GRU cell.
    LSTMRegressor : The regressor with this cell.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import LSTMClassifier
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = (X[:, -1, 0] > 0).astype(int)  # class: is the last value positive?
    >>> model = LSTMClassifier(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "lstm"


class GRUClassifier(_RecurrentClassifier):
    """GRU classifier: sequences in, class probabilities out.

    Each layer and direction runs the GRU cell in the "reset-after" form of PyTorch and
    cuDNN, gates in the order r, z, n (``docs/math.md``, section 1)::

        r_t = sigmoid(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z_t = sigmoid(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    with both bias vectors, input side and recurrent side; h_0 = 0.

    The top layer's final state z (``[h_T ; h_1 of the reverse direction]`` when
    bidirectional) feeds a linear head o = c + V z with one output per class;
    the class probabilities are softmax(o), trained on the cross-entropy
    (``docs/math.md``, sections 2 and 3).  Inputs are sequences of shape
    (n_samples, n_timesteps, n_features), or (n_samples, n_timesteps) for one
    feature.

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
        never shuffled), score every epoch on them (accuracy), stop after
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
        Validation accuracy of each epoch with early stopping, else None.
    best_loss_ : float or None
        Lowest training loss (without early stopping), else None.
    best_validation_score_ : float or None
        Best validation accuracy (with early stopping), else None.
    n_iter_ : int
        Epochs run, warm starts and ``partial_fit`` calls included.
    t_ : int
        Training samples seen: the training rows times the epochs.
    n_features_in_ : int
        Number of time steps for 2-D input, number of features for 3-D input.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Column names of a 2-D DataFrame X; only when X had string column names.
    classes_ : ndarray of shape (n_classes,)
        Class labels, in the order of the columns of :meth:`predict_proba`.

    See Also
    --------
    RNNClassifier : The same estimator with the Elman RNN cell.
    LSTMClassifier : The same estimator with the LSTM cell.
    GRURegressor : The regressor with this cell.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import GRUClassifier
    >>> X = np.random.default_rng(0).normal(size=(40, 8, 1))  # 40 sequences of 8 steps
    >>> y = (X[:, -1, 0] > 0).astype(int)  # class: is the last value positive?
    >>> model = GRUClassifier(hidden_size=4, max_iter=5, random_state=0).fit(X, y)
    >>> model.classes_
    array([0, 1])
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    """

    _cell = "gru"
