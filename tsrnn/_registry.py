"""Registries of the network: cells, losses and optimisers, with their kernels.

Everything that differs between cells, losses or optimisers is written here,
as data, and nowhere else: the network graph (:mod:`tsrnn._graph`), the
trainers and the backends look an entry up by name and call the kernels it
names.  Adding a cell means adding an entry here and its kernels to
:mod:`tsrnn._kernels` and :mod:`tsrnn.cuda._kernels`; a test checks that every
entry names a kernel that exists on both devices.

A :class:`Kernel` is a name in a backend's kernel module and the names of its
arguments.  An argument name is resolved by the caller:

* per layer and direction (cells): a buffer of the workspace (``X``, ``H``,
  ``A``, ``C``, ``HN``, ``dH``, ``dA``, ``dAh``, ``work``; shapes in
  :mod:`tsrnn._graph`) or a parameter tensor of that layer and direction
  (``weight_ih``, ``weight_hh``, ``bias``, ``bias_ih``, ``bias_hh``: the
  tensor ``f"{name}_l{k}{suffix}"`` of ``NetworkSpec.layout``);
* losses: ``out``, ``dO``, the target (``Y`` or ``labels``), ``n_total``,
  ``taus`` (the quantile levels, a float array, for the losses that take them),
  ``res`` (CUDA: where the loss is written);
* optimisers: ``theta``, ``grad``, the state arrays, the hyper-parameters,
  ``step`` and ``guard`` (CUDA: skip a non-finite update).

This module imports no kernel and no device library.
"""

from dataclasses import dataclass, field

import numpy as np

DEVICES = ("cpu", "cuda")


@dataclass(frozen=True)
class Kernel:
    """A kernel of one backend: ``name`` in its kernel module, ``args`` by name."""

    name: str
    args: tuple


@dataclass(frozen=True)
class Cell:
    """A recurrent cell.

    Attributes
    ----------
    name : str
    gates : int
        Gate blocks stacked in ``weight_ih`` / ``weight_hh`` (PyTorch's order).
    biases : tuple of str
        Bias tensors of a layer and direction, e.g. ``('bias',)`` (one bias,
        b = b_ih + b_hh folded) or ``('bias_ih', 'bias_hh')``.
    bias_grads : tuple of (str, str)
        For each bias, the workspace buffer whose sum over steps and samples
        is its gradient (``dA`` input side, ``dAh`` recurrent side).
    kernels : dict
        ``kernels[device][role]``, roles ``'forward'`` (keeps what the
        backward sweep needs), ``'backward'`` (fills ``dA``, and ``dAh`` where
        it is an argument) and ``'infer'`` (only the states).
    """

    name: str
    gates: int
    biases: tuple
    bias_grads: tuple
    kernels: dict = field(repr=False)


@dataclass(frozen=True)
class Loss:
    """A training loss.

    Attributes
    ----------
    name : str
    target : {'Y', 'labels'}
        ``Y``: (B, O) values in the model dtype; ``labels``: (B,) int64 classes.
    code : int
        Its number in the fused CPU training steps (:mod:`tsrnn._fused`), which
        choose the loss kernel by it.
    kernels : dict
        ``kernels[device]['loss']``; CUDA also ``'gather'`` (the batch's
        targets from the device copy of the data set).
    """

    name: str
    target: str
    code: int
    kernels: dict = field(repr=False)

    @property
    def integer_target(self):
        """Whether the target is class labels (int64) rather than values."""
        return self.target == "labels"

    @property
    def takes_levels(self):
        """Whether the loss kernels take quantile levels (``taus``)."""
        return "taus" in self.kernels["cpu"]["loss"].args

    def target_dtype(self, dtype):
        """The target's dtype for a model of ``dtype``."""
        return np.dtype(np.int64) if self.integer_target else np.dtype(dtype)


@dataclass(frozen=True)
class Optimizer:
    """An optimiser.

    Attributes
    ----------
    name : str
    hyperparameters : tuple of str
        Constructor arguments and attributes of its object, in order.
    state : tuple of str
        Arrays of its state, each shaped like theta (plus the step count).
    kernels : dict
        ``kernels[device]['update']``.
    """

    name: str
    hyperparameters: tuple
    state: tuple
    kernels: dict = field(repr=False)


def _step_args(forward, backward_args, biases):
    """The arguments of a cell's fused CPU training step (:mod:`tsrnn._fused`), in order."""
    gradient_buffers = tuple(a for a in backward_args if a not in forward and a != "weight_hh")
    return (
        *forward,
        *("V", "c", "Z", "out", "dO", "dZ"),  # the head's parameters and buffers
        *gradient_buffers,
        *("Y", "labels", "taus", "loss_code", "n_total"),
        *(f"grad_{name}" for name in ("weight_ih", "weight_hh", *biases, "V", "c")),
        *("control", "result"),  # empty for one step; a chunk team's hand-off (tsrnn._fused)
    )


def _sweeps(cell, biases, backward_args, cuda_backward_args, infer_args, extra_forward):
    forward = ("X", "weight_ih", "weight_hh", *biases, "H", *extra_forward)
    return {
        "cpu": {
            "forward": Kernel(f"{cell}_forward", forward),
            "backward": Kernel(f"{cell}_backward", backward_args),
            "infer": Kernel(f"{cell}_infer", infer_args),
            # forward, head, loss and backward of a one-layer, one-direction network in one
            # call (tsrnn._fused, not tsrnn._kernels)
            "step": Kernel(f"{cell}_step", _step_args(forward, backward_args, biases)),
        },
        "cuda": {
            "forward": Kernel(f"gpu_{cell}_forward", forward),
            "backward": Kernel(f"gpu_{cell}_backward", cuda_backward_args),
            # the training forward's sweeps with batch-invariant (never split) GEMMs
            "infer": Kernel(f"gpu_{cell}_infer", forward),
        },
    }


CELLS = {
    "rnn": Cell(
        "rnn",
        1,
        ("bias",),
        (("bias", "dA"),),
        _sweeps(
            "rnn",
            ("bias",),
            ("weight_hh", "H", "dH", "dA"),
            ("weight_hh", "H", "dH", "dA"),
            ("X", "weight_ih", "weight_hh", "bias", "H"),
            ("A",),
        ),
    ),
    "lstm": Cell(
        "lstm",
        4,
        ("bias",),
        (("bias", "dA"),),
        _sweeps(
            "lstm",
            ("bias",),
            ("weight_hh", "C", "A", "dH", "dA"),
            ("weight_hh", "C", "A", "dH", "dA", "work"),
            ("X", "weight_ih", "weight_hh", "bias", "H"),
            ("C", "A"),
        ),
    ),
    "gru": Cell(
        "gru",
        3,
        ("bias_ih", "bias_hh"),
        (("bias_ih", "dA"), ("bias_hh", "dAh")),
        _sweeps(
            "gru",
            ("bias_ih", "bias_hh"),
            ("weight_hh", "H", "A", "HN", "dH", "dA", "dAh"),
            ("weight_hh", "H", "A", "HN", "dH", "dA", "dAh", "work"),
            ("X", "weight_ih", "weight_hh", "bias_ih", "bias_hh", "H"),
            ("A", "HN"),
        ),
    ),
}


def _loss(name, target, code, cpu, cuda, gather, levels=False):
    inputs = ("out", target, "taus") if levels else ("out", target)
    return Loss(
        name,
        target,
        code,
        {
            "cpu": {"loss": Kernel(cpu, (*inputs, "dO", "n_total"))},
            "cuda": {
                "loss": Kernel(cuda, (*inputs, "dO", "n_total", "res")),
                "gather": Kernel(gather, ("data", "idx", "start", target)),
            },
        },
    )


LOSSES = {
    "mse": _loss("mse", "Y", 0, "mse_loss_grad", "gpu_mse_loss_grad", "gpu_gather_rows"),
    "mae": _loss("mae", "Y", 1, "mae_loss_grad", "gpu_mae_loss_grad", "gpu_gather_rows"),
    # target Y (B, O·Q): each target repeated Q times, one column per head unit
    "quantile": _loss(
        "quantile",
        "Y",
        2,
        "quantile_loss_grad",
        "gpu_quantile_loss_grad",
        "gpu_gather_rows",
        levels=True,
    ),
    "xent": _loss(
        "xent",
        "labels",
        3,
        "softmax_xent_loss_grad",
        "gpu_softmax_xent_loss_grad",
        "gpu_gather_labels",
    ),
}


def _optimizer(name, hyperparameters, state, update_args, cpu, cuda):
    args = ("theta", "grad", *state, *update_args)
    return Optimizer(
        name,
        hyperparameters,
        state,
        {
            "cpu": {"update": Kernel(cpu, args)},
            "cuda": {"update": Kernel(cuda, (*args, "guard"))},
        },
    )


OPTIMIZERS = {
    "sgd": _optimizer(
        "sgd",
        ("learning_rate", "momentum", "nesterov"),
        ("velocity",),
        ("learning_rate", "momentum", "nesterov"),
        "sgd_update",
        "gpu_sgd_update",
    ),
    "adam": _optimizer(
        "adam",
        ("learning_rate", "beta_1", "beta_2", "epsilon"),
        ("m", "v"),
        ("learning_rate", "beta_1", "beta_2", "epsilon", "step"),
        "adam_update",
        "gpu_adam_update",
    ),
}


def lookup(registry, name, what):
    """``registry[name]``, or a ValueError naming the valid choices."""
    try:
        return registry[name]
    except (KeyError, TypeError):
        raise ValueError(f"{what} must be one of {tuple(registry)}, got {name!r}") from None


def call(module, kernel, values):
    """Run ``kernel`` from ``module``, its arguments looked up by name in ``values``."""
    return getattr(module, kernel.name)(*[values[a] for a in kernel.args])
