"""CUDA backend: the same forward and BPTT kernels on an NVIDIA GPU via numba-cuda.

Install with ``pip install "tsrnn[cuda]"`` (NVIDIA's ``numba-cuda`` package).
Nothing here imports ``numba.cuda`` or compiles a kernel at import time:
:class:`CudaTrainer` and the kernel modules are loaded on first use, and
:func:`cuda_available` imports ``numba.cuda`` inside a broad guard, because
driver initialisation has been seen to raise (and break test discovery) on
misconfigured machines.

Testing without a GPU: run with ``NUMBA_ENABLE_CUDASIM=1`` set before numba is
imported; the kernels then execute in Numba's CUDA simulator.
"""

import os
from functools import lru_cache

__all__ = ["CudaTrainer", "cuda_available", "cuda_unavailable_reason", "require_cuda"]


def is_simulator():
    """Whether Numba's CUDA simulator is enabled (``NUMBA_ENABLE_CUDASIM=1``)."""
    try:
        from numba import config

        return bool(config.ENABLE_CUDASIM)
    except Exception:  # pragma: no cover - numba itself broken
        return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


@lru_cache(maxsize=1)
def _detect():
    """(usable, reason): checked once per process; never raises."""
    try:
        from numba import cuda
    except Exception as exc:  # ImportError, CudaSupportError, OSError ...
        return False, f"numba.cuda cannot be imported ({type(exc).__name__}: {exc})"
    try:
        if not cuda.is_available():
            return False, "numba.cuda.is_available() is False (no GPU, driver or NVVM)"
        if not is_simulator():
            cc = cuda.get_current_device().compute_capability
            if tuple(cc) < (5, 0):
                return False, f"compute capability {cc} is below 5.0"
        cuda.device_array(1)  # a context and an allocation really work
    except Exception as exc:  # CudaSupportError, CudaAPIError, TypeError ...
        return False, f"CUDA initialisation failed ({type(exc).__name__}: {exc})"
    return True, ""


def cuda_available():
    """True when CUDA kernels can run here; never raises.

    A usable NVIDIA GPU with a working driver and ``numba-cuda`` — or the CUDA
    simulator, when ``NUMBA_ENABLE_CUDASIM=1`` was set before numba was
    imported (an explicit opt-in, used by the tests).  The answer is cached.
    """
    try:
        return _detect()[0]
    except Exception:  # pragma: no cover - _detect already guards
        return False


def cuda_unavailable_reason():
    """Why :func:`cuda_available` is False ('' when it is True)."""
    try:
        return _detect()[1]
    except Exception as exc:  # pragma: no cover
        return repr(exc)


def require_cuda():
    """Raise ``RuntimeError`` with a clear message unless CUDA is usable."""
    if not cuda_available():
        raise RuntimeError(
            "device='cuda' needs an NVIDIA GPU with a working driver and the "
            "numba-cuda package (pip install 'tsrnn[cuda]'): "
            f"{cuda_unavailable_reason()}. Use device='cpu' or device='auto'."
        )


def __getattr__(name):
    # lazy: importing tsrnn.cuda must not import numba.cuda
    if name == "CudaTrainer":
        from ._training import CudaTrainer

        return CudaTrainer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
