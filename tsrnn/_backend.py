"""Device choice and the objects that train on a device.

The estimators ask this module, and nothing below it, for an optimiser, a
trainer and predictions; which device runs them is decided here.

``resolve_device(device) -> 'cpu' | 'cuda'``
``make_optimizer(solver, learning_rate, *, momentum, nesterov, beta_1, beta_2, epsilon)``
``make_trainer(device, spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state)``
``predict(spec, theta, X) -> ndarray (n, O)`` (always on the CPU: batch-invariant kernels)
"""

from ._training import SGD, Adam, CpuTrainer
from ._training import predict as _cpu_predict

__all__ = ["resolve_device", "make_optimizer", "make_trainer", "predict"]


def resolve_device(device):
    """'cpu' or 'cuda' for the requested device; clear error if CUDA is unusable."""
    if device == "cpu":
        return "cpu"
    try:
        from .cuda import cuda_available

        available = cuda_available()
    except ImportError:
        available = False
    if device == "cuda" and not available:
        raise RuntimeError(
            "device='cuda' was requested but no usable CUDA GPU was found. Install "
            "the optional extra (pip install 'tsrnn[cuda]') on a machine with an "
            "NVIDIA GPU and driver, or use device='cpu' / 'auto'."
        )
    return "cuda" if available else "cpu"


def make_optimizer(solver, learning_rate, *, momentum=0.9, nesterov=False, beta_1=0.9,
                   beta_2=0.999, epsilon=1e-8):
    """The optimiser object for ``solver`` ('adam' or 'sgd')."""
    if solver == "adam":
        return Adam(learning_rate, beta_1, beta_2, epsilon)
    if solver == "sgd":
        return SGD(learning_rate, momentum, nesterov)
    raise ValueError(f"solver must be 'adam' or 'sgd', got {solver!r}")


def make_trainer(device, spec, theta, optimizer, loss="mse", alpha=0.0, clip_grad_norm=None,
                 optimizer_state=None):
    """A trainer (see :mod:`tsrnn._training`) for the resolved ``device``."""
    if device == "cuda":
        from .cuda import CudaTrainer

        return CudaTrainer(spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state)
    return CpuTrainer(spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state)


def predict(spec, theta, X):
    """Network outputs for validated X (n, T, D) with the batch-invariant CPU kernels."""
    return _cpu_predict(spec, theta, X)
