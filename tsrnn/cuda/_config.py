"""Launch configuration and shared helpers of the CUDA kernel modules.

Tile sizes live in :data:`CONFIG`, which tests shrink with :func:`configure`
because the CUDA simulator runs one Python thread per CUDA thread.  Kernels
are built lazily, per dtype, by the kernel modules (never at import); each
module registers its builder's cache here with :func:`kernel_cache`, so that
:func:`configure` discards every built kernel at once.

:func:`device_math` compiles the per-element math of :mod:`tsrnn._elementwise`
(activations, losses, optimiser steps) as device functions: the CPU kernels
compile the same source, so both devices compute the same float32 activations.
"""

from functools import lru_cache

import numpy as np
from numba import cuda, types

from .. import _elementwise

#: Tile sizes.  ``gemm``, ``step`` and ``seq``: (BM, BN, BK, TM, TN) — block tile
#: BM × BN of the output, BK of the inner dimension per shared-memory stage,
#: and TM × TN outputs per thread (so (BM/TM)·(BN/TN) threads per block).
#: ``threads``: threads per block of the 1-D and reduction kernels (a power of
#: two).  ``reduce_blocks``: blocks of the first stage of a reduction.
#: ``split_k_min``: smallest inner-dimension chunk of a split-K GEMM.
#: ``target_blocks``: how many blocks a GEMM should at least launch before
#: its inner dimension is split.  ``seq_max_hidden``: layers with at most this
#: many hidden units run a whole sweep in one launch (sequence kernels); wider
#: layers launch one step kernel per time step, whose grid also spans the
#: hidden units.
CONFIG = {
    "gemm": (128, 64, 8, 8, 4),
    "step": (32, 32, 16, 2, 2),
    "seq": (8, 32, 16, 1, 2),
    "threads": 256,
    "reduce_blocks": 256,
    "split_k_min": 256,
    "target_blocks": 256,
    "seq_max_hidden": 64,
}

_DEFAULT_CONFIG = dict(CONFIG)


def _numpy_compat():
    """Restore ``np.row_stack``, which numba-cuda 0.30 needs.

    numba-cuda 0.30 registers an overload of ``np.row_stack`` when it first
    compiles, an alias of ``np.vstack`` that NumPy 2.5 removed; without it no
    kernel compiles.  Restore the alias (the same function it always was).
    """
    if "row_stack" not in dir(np):
        np.row_stack = np.vstack  # noqa: NPY201


_numpy_compat()
NB_TYPES = {np.dtype(np.float32): types.float32, np.dtype(np.float64): types.float64}
_CACHES = []


def kernel_cache(builder):
    """Decorator: cache ``builder(dtype)`` per dtype until :func:`configure` changes sizes."""
    cached = lru_cache(maxsize=None)(builder)
    _CACHES.append(cached.cache_clear)
    return cached


def configure(**changes):
    """Change tile sizes (keys of :data:`CONFIG`); ``configure()`` restores defaults.

    Kernels already built are discarded, so the next launch compiles with the
    new sizes.  Raises ``ValueError`` for an unknown key or inconsistent tile.
    """
    new = dict(_DEFAULT_CONFIG) if not changes else dict(CONFIG)
    for key, value in changes.items():
        if key not in new:
            raise ValueError(f"unknown CUDA config key {key!r}; known: {sorted(new)}")
        new[key] = value
    for key in ("gemm", "step", "seq"):
        BM, BN, BK, TM, TN = new[key]
        if min(BM, BN, BK, TM, TN) < 1 or BM % TM or BN % TN:
            raise ValueError(f"{key} tile {new[key]}: need BM % TM == 0 and BN % TN == 0")
    if new["threads"] < 1 or new["threads"] & (new["threads"] - 1):
        raise ValueError(f"threads must be a power of two, got {new['threads']}")
    CONFIG.clear()
    CONFIG.update(new)
    for clear in _CACHES:
        clear()
    _scratch_cache.clear()


def ceil_div(a, b):
    """Ceiling of a / b for positive integers."""
    return -(-a // b)


def grid_1d(n):
    """(blocks, threads) of a grid-stride kernel over n items."""
    threads = CONFIG["threads"]
    return max(1, min(ceil_div(n, threads), 4096)), threads


def _quiet_occupancy_warnings():
    """Turn off numba-cuda's "Grid size N will likely result in GPU under-utilization".

    The one-block reductions and the sequence kernels of small layers launch
    small grids on purpose, and the warning would be raised (and its message
    built) at every such launch.  This sets numba-cuda's global
    ``CUDA_LOW_OCCUPANCY_WARNINGS`` to 0.
    """
    import importlib

    for name in ("numba.cuda.core.config", "numba.core.config"):
        try:
            importlib.import_module(name).CUDA_LOW_OCCUPANCY_WARNINGS = 0
        except Exception:  # another numba layout: keep the warnings
            pass


_quiet_occupancy_warnings()

_scratch_cache = {}


def scratch(name, shape, dtype):
    """A device array reused between launches (all work is on one stream)."""
    key = (name, tuple(shape), np.dtype(dtype).str)
    arr = _scratch_cache.get(key)
    if arr is None:
        arr = cuda.device_array(shape, dtype=dtype)
        _scratch_cache[key] = arr
    return arr


def dummy(dtype):
    """A zero-filled one-element device array for an unused argument."""
    key = ("dummy", (1,), np.dtype(dtype).str)
    arr = _scratch_cache.get(key)
    if arr is None:
        arr = cuda.to_device(np.zeros(1, dtype=dtype))
        _scratch_cache[key] = arr
    return arr


def check_dtype(dtype):
    """``np.dtype(dtype)`` if it is float32 or float64; TypeError otherwise."""
    dtype = np.dtype(dtype)
    if dtype not in NB_TYPES:
        raise TypeError(f"CUDA kernels support float32 and float64, got {dtype}")
    return dtype


def _fma(a, b, c):
    """:func:`tsrnn._elementwise.fma_f32` and ``fma_f64`` on the GPU: rounded once, as the CPU."""
    return cuda.fma(a, b, c)


def _fma_f32_simulated(a, b, c):
    """:func:`_fma` of float32 in the simulator, whose ``cuda.fma`` rounds twice.

    a·b is exact in float64 (two 24-bit significands); the sum is rounded to float64, then
    to float32.
    """
    return np.float32(np.float64(a) * np.float64(b) + np.float64(c))


@lru_cache(maxsize=1)
def device_math():
    """:mod:`tsrnn._elementwise` compiled as CUDA device functions (built once).

    The simulator's fused multiply-adds are plain Python rounded once (:func:`_fma_f32_simulated`,
    :func:`tsrnn._elementwise.fma_exact`), as the GPU's and the CPU's.
    """
    from . import is_simulator

    if is_simulator():
        replace = {"fma_f32": _fma_f32_simulated, "fma_f64": _elementwise.fma_exact}
    else:
        replace = {"fma_f32": _fma, "fma_f64": _fma}
    return _elementwise.compile_for(cuda.jit(device=True), replace=replace)


def activations(nbt):
    """(tanh, sigmoid, LSTM gate sigmoid) device functions for the numba type ``nbt``.

    The same functions as the CPU kernels use for that dtype: float32 the
    rational tanh and 0.5 + 0.5·tanh(x/2); float64 the arithmetic-only tanh and
    1/(1 + e^-x) of :mod:`tsrnn._elementwise`, and for the LSTM gates
    0.5 + 0.5·tanh(x/2) (the CPU LSTM's gate loop).
    """
    m = device_math()
    if nbt == types.float32:
        return m.tanh_f32, m.sigmoid_f32, m.sigmoid_f32
    return m.tanh_f64, m.sigmoid_f64, m.sigmoid_tanh_form_f64
