"""Settings shared by the CUDA test modules (simulator or GPU, tolerances, tiny tiles)."""

import os

import numpy as np
import pytest

SIM = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
GPU = os.environ.get("TSRNN_TEST_GPU") == "1" and not SIM

needs_cuda = pytest.mark.skipif(
    not (SIM or GPU),
    reason="CUDA tests need NUMBA_ENABLE_CUDASIM=1 (simulator) or TSRNN_TEST_GPU=1 (GPU)",
)
gpu_only = pytest.mark.skipif(not GPU, reason="sizes too large for the simulator")

TOL = {np.float64: 1e-10, np.float32: 1e-4}
DTYPES = [np.float64, np.float32]

# tiles small enough that tiny problems still span several blocks and split K
SIM_CONFIG = dict(
    gemm=(4, 4, 2, 2, 2),
    step=(4, 4, 2, 2, 2),
    seq=(2, 4, 2, 1, 2),
    threads=4,
    reduce_blocks=4,
    split_k_min=2,
    target_blocks=4,
)


def assert_close(actual, expected, dtype, what=""):
    """Equal within the dtype's tolerance, relative to the largest expected magnitude."""
    tol = TOL[np.dtype(dtype).type]
    expected = np.asarray(expected, dtype=np.float64)
    scale = max(1.0, float(np.abs(expected).max())) if expected.size else 1.0
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * scale, err_msg=what)
