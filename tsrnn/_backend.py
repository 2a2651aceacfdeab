"""Device choice and the objects that train on a device.

The estimators ask this module, and nothing below it, for an optimiser, a
trainer and predictions; which device runs them is decided here.

``resolve_device(device) -> 'cpu' | 'cuda'``
``make_optimizer(solver, learning_rate, *, momentum, nesterov, beta_1, beta_2, epsilon)``
``make_trainer(device, spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state,
quantiles)``
``predict(spec, theta, X, device='cpu') -> ndarray (n, O)`` (batch-invariant on both devices)

Predictions run on the device the model was fitted on (the estimators'
``device_``) when that device is usable here, else on the CPU: a model fitted
on a GPU predicts on a machine without one (same numbers to rounding).
"""

from ._registry import OPTIMIZERS
from ._training import OPTIMIZER_CLASSES, CpuTrainer
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


def make_optimizer(
    solver, learning_rate, *, momentum=0.9, nesterov=False, beta_1=0.9, beta_2=0.999, epsilon=1e-8
):
    """The optimiser object for ``solver`` ('adam' or 'sgd'), from the registry."""
    if solver not in OPTIMIZERS:
        raise ValueError(f"solver must be 'adam' or 'sgd', got {solver!r}")
    given = dict(
        learning_rate=learning_rate,
        momentum=momentum,
        nesterov=nesterov,
        beta_1=beta_1,
        beta_2=beta_2,
        epsilon=epsilon,
    )
    return OPTIMIZER_CLASSES[solver](**{k: given[k] for k in OPTIMIZERS[solver].hyperparameters})


def _cuda_trainer():
    from .cuda import CudaTrainer  # lazy: importing tsrnn must not import numba.cuda

    return CudaTrainer


#: The trainer class of each device (a callable returning it, so CUDA loads lazily).
TRAINERS = {"cpu": lambda: CpuTrainer, "cuda": _cuda_trainer}


def make_trainer(
    device,
    spec,
    theta,
    optimizer,
    loss="mse",
    alpha=0.0,
    clip_grad_norm=None,
    optimizer_state=None,
    quantiles=None,
):
    """A trainer (see :mod:`tsrnn._training`) for the resolved ``device``.

    ``quantiles``: the levels of ``loss='quantile'`` (None for the other losses).
    """
    trainer = TRAINERS[device]()
    args = (spec, theta, optimizer, loss, alpha, clip_grad_norm, optimizer_state)
    if quantiles is None:
        return trainer(*args)
    return trainer(*args, quantiles=quantiles)


def predict_device(device):
    """Where a model fitted on ``device`` ('cpu' or 'cuda') predicts here: 'cuda' only if usable."""
    if device != "cuda":
        return "cpu"
    try:
        from .cuda import cuda_available

        return "cuda" if cuda_available() else "cpu"
    except ImportError:
        return "cpu"


def predict(spec, theta, X, device="cpu"):
    """Network outputs for validated X (n, T, D), batch-invariant.

    On the GPU when ``device`` is 'cuda' and CUDA is usable here
    (:func:`tsrnn.cuda._inference.predict`), else with the CPU kernels.
    """
    if predict_device(device) == "cuda":
        from .cuda import _inference  # lazy: importing tsrnn must not import numba.cuda

        return _inference.predict(spec, theta, X)
    return _cpu_predict(spec, theta, X)
