"""Diagnostics of trained or freshly initialised recurrent networks.

:func:`input_gradient_norms` measures how strongly the network's final state
depends on each earlier input: the norm of the Jacobian ∂h_T/∂x_{T−k} as a
function of the lag k.  It is the quantity behind the vanishing/exploding
gradient argument (Bengio et al., 1994; Hochreiter & Schmidhuber, 1997): for a
plain RNN the Jacobian is a product of k factors ``diag(1 − h_t²) W``, which
shrinks (or grows) geometrically in k, while the additive cell-state path of
the LSTM and the update-gate path of the GRU can keep it near constant.

The Jacobian is computed exactly, by backpropagation through time with the
network's own backward pass (:func:`tsrnn._network.input_gradient`: the graph
of :mod:`tsrnn._graph` without the parameter gradients), not by finite
differences.
"""

import numpy as np

from . import _network as net

__all__ = ["input_gradient_norms"]

_WRT = ("state", "output")


def _resolve_model(model):
    """(spec, theta) from a fitted estimator or a ``(spec, theta)`` pair."""
    if hasattr(model, "network_") and hasattr(model, "coefs_"):
        return model.network_, np.asarray(model.coefs_)
    if isinstance(model, (tuple, list)) and len(model) == 2:
        spec, theta = model
        if isinstance(spec, net.NetworkSpec):
            theta = np.asarray(theta)
            if theta.shape != (spec.n_params,):
                raise ValueError(
                    f"theta has shape {theta.shape}, the network needs ({spec.n_params},)"
                )
            return spec, theta
    if hasattr(model, "get_params") and not hasattr(model, "coefs_"):
        raise ValueError(
            f"This {type(model).__name__} instance is not fitted yet: call fit "
            "(or import_weights) first."
        )
    raise TypeError(
        "model must be a fitted tsrnn estimator or a (NetworkSpec, theta) pair, "
        f"got {type(model).__name__}"
    )


def _input_jacobian(spec, theta, X, seeds):
    """Rows ``seeds · ∂z/∂x_t`` for every sample, step and seed.

    Parameters
    ----------
    spec : NetworkSpec
    theta : ndarray of shape (n_params,)
    X : ndarray of shape (B, T, D)
    seeds : ndarray of shape (S, F)
        Cotangents of the head's input z (F = N·dirs).

    Returns
    -------
    J : ndarray of shape (T, B, S, D)
        ``J[t, b, s] = seeds[s] · ∂z_b/∂x_{b,t}`` (time in the user's order).
    """
    B, T, _ = X.shape
    S = seeds.shape[0]
    # one backward pass for all seeds: sample b, seed s sits in row b*S + s
    Xr = np.repeat(X, S, axis=0)
    dZ = np.tile(seeds, (B, 1))  # (B*S, F)
    return net.input_gradient(spec, theta, Xr, dZ).reshape(T, B, S, -1)


def input_gradient_norms(
    model, X, *, wrt="state", dtype="float64", per_sample=False, max_rows=2048
):
    """Norm of the Jacobian of the final state w.r.t. each earlier input, per lag.

    For every sample and every lag ``k = 0, ..., T-1`` this computes the
    Frobenius norm ``||∂z/∂x_{T-k}||_F`` of the exact Jacobian of the vector
    ``z`` the head reads (``wrt='state'``) or of the network output ``o``
    (``wrt='output'``) with respect to the input vector ``k`` steps before the
    last one, and averages it over the samples.

    ``z`` is the top layer's final hidden state ``h_T`` for a unidirectional
    network and ``[h_T^fwd ; h_1^rev]`` for a bidirectional one (``docs/math.md``).
    ``k = 0`` is the last input ``x_T``, which ``h_T`` reads directly.

    The Jacobian is exact: one backpropagation-through-time sweep with the
    network's kernels per row of the Jacobian (``F = hidden_size·dirs`` rows
    for ``'state'``, ``n_outputs`` for ``'output'``), all rows of all samples
    batched into one sweep, so the cost is that of a forward and backward
    pass on ``F·n_samples`` sequences.

    Parameters
    ----------
    model : fitted estimator or tuple (NetworkSpec, ndarray)
        A fitted tsrnn estimator (its ``network_`` and ``coefs_`` are used),
        or a network specification with a flat parameter vector, for example
        ``(spec, tsrnn._network.init_params(spec, rng))`` for a network at
        initialisation.
    X : array-like of shape (n_samples, n_timesteps, n_features) or (n_samples, n_timesteps)
        Sequences at which the Jacobian is evaluated; 2-D input is univariate.
    wrt : {'state', 'output'}, default='state'
        Differentiate the final state ``z`` (``∂h_T/∂x_{T−k}``, independent of
        the head) or the network output ``o = c + V z`` (``∂o/∂x_{T−k}``; for
        one output this is the Euclidean norm of a gradient).
    dtype : {'float64', 'float32'} or None, default='float64'
        Precision of the computation; None uses the model's own.  float64
        keeps norms far below float32's range (down to ~1e-300) distinct from
        zero, which matters for a vanishing RNN gradient at long lags.
    per_sample : bool, default=False
        Return the norm of every sample instead of the mean.
    max_rows : int, default=2048
        Largest number of sequences (samples × Jacobian rows) in one sweep;
        bounds the memory, not the result.

    Returns
    -------
    norms : ndarray of shape (n_timesteps,) or (n_samples, n_timesteps)
        ``norms[..., k]`` is ``||∂z/∂x_{T−k}||_F`` (mean over samples unless
        ``per_sample``), for ``k = 0, ..., n_timesteps − 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from tsrnn import LSTMRegressor
    >>> from tsrnn.diagnostics import input_gradient_norms
    >>> X = np.random.default_rng(0).normal(size=(32, 20, 1))
    >>> est = LSTMRegressor(hidden_size=8, max_iter=2, random_state=0).fit(X, X[:, 0, 0])
    >>> input_gradient_norms(est, X).shape
    (20,)
    """
    if wrt not in _WRT:
        raise ValueError(f"wrt must be one of {_WRT}, got {wrt!r}")
    if int(max_rows) < 1:
        raise ValueError(f"max_rows must be a positive integer, got {max_rows!r}")
    spec, theta = _resolve_model(model)
    dt = theta.dtype if dtype is None else np.dtype(dtype)
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    theta = np.ascontiguousarray(theta, dtype=dt)  # copy: a read-only memmap is fine

    X = np.asarray(X, dtype=dt)
    if X.ndim == 2:
        X = X[:, :, np.newaxis]
    if X.ndim != 3:
        raise ValueError(f"X must be 2-D or 3-D, got shape {X.shape}")
    if X.shape[2] != spec.n_features:
        raise ValueError(f"X has {X.shape[2]} features, but the network expects {spec.n_features}")
    n, T, _ = X.shape
    if n < 1 or T < 1:
        raise ValueError(f"X has shape {X.shape}: need at least one sample and one step")
    if not np.all(np.isfinite(X)):
        raise ValueError("X contains NaN or infinity")

    F = spec.hidden_size * spec.n_directions
    if wrt == "state":
        seeds = np.eye(F, dtype=dt)
    else:
        seeds = np.ascontiguousarray(net.unpack(spec, theta)["head.weight"], dtype=dt)
    S = seeds.shape[0]
    step = max(1, int(max_rows) // S)
    norms = np.empty((n, T), dtype=np.float64)
    for lo in range(0, n, step):
        hi = min(lo + step, n)
        J = _input_jacobian(spec, theta, np.ascontiguousarray(X[lo:hi]), seeds)
        fro = np.sqrt(np.einsum("tbsd,tbsd->bt", J, J, dtype=np.float64))
        norms[lo:hi] = fro[:, ::-1]  # column k <- step T-1-k
    return norms if per_sample else norms.mean(axis=0)
