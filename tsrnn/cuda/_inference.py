"""Predictions of fitted estimators on the device.

:func:`predict` is what :func:`tsrnn._backend.predict` calls for a model
fitted on CUDA.  The parameters are uploaded once and kept, with the
forward-only workspaces, in a small cache: a later call with equal parameters
(compared element by element on the host, so a copy or an in-place change is
noticed) reuses them, and only ``X`` goes to the device.

The inference sweeps (``gpu_{cell}_infer``) never split a GEMM along K, so a
row's prediction is bit-identical whatever the other rows of the call (batch
invariance, as on the CPU).  Against the CPU the outputs agree to rounding:
the devices share their activations and differ only in the order of sums.
"""

import threading

import numpy as np
from numba import cuda

from . import _network as dnet

#: Parameter vectors kept on the device (least recently used dropped), and networks whose
#: forward-only workspaces are kept (the workspaces are the large part: T·B·G·N per layer).
MAX_PARAMS, MAX_WORKSPACES = 16, 2
_PARAMS = []  # [(spec, theta host copy, P device views)], most recent last
_WORKSPACES = {}  # (spec, dtype) -> WorkspaceCache, in insertion order
_LOCK = threading.Lock()  # one call at a time: calls share the cached workspaces


def clear_cache():
    """Drop the cached device parameters and workspaces (frees their device memory)."""
    with _LOCK:
        _PARAMS.clear()
        _WORKSPACES.clear()


def _params(spec, theta):
    for i, entry in enumerate(_PARAMS):
        if entry[0] == spec and entry[1].dtype == theta.dtype and np.array_equal(entry[1], theta):
            _PARAMS.append(_PARAMS.pop(i))
            return entry[2]
    P = dnet.unpack(spec, cuda.to_device(theta))
    _PARAMS.append((spec, theta.copy(), P))
    del _PARAMS[:-MAX_PARAMS]
    return P


def _workspaces(spec, dtype):
    key = (spec, np.dtype(dtype))
    cache = _WORKSPACES.pop(key, None)
    if cache is None:
        cache = dnet.WorkspaceCache(spec, dtype, "mse", train=False)
    _WORKSPACES[key] = cache  # most recent last
    while len(_WORKSPACES) > MAX_WORKSPACES:
        del _WORKSPACES[next(iter(_WORKSPACES))]
    return cache


def predict(spec, theta, X, batch_size=1024):
    """Network outputs (host numpy (n, O)) for host X (n, T, D), computed on the device.

    ``theta`` (n_params,) float32 or float64 host array; X is cast to its
    dtype and uploaded once; rows run in chunks of ``batch_size``.
    """
    theta = np.ascontiguousarray(theta)
    X = np.ascontiguousarray(X, dtype=theta.dtype)
    with _LOCK:  # threads (e.g. joblib's) would otherwise write the same workspace
        P = _params(spec, theta)
        X_d = cuda.to_device(X)
        return dnet.predict(spec, P, X_d, _workspaces(spec, theta.dtype), batch_size)
