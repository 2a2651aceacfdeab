"""CUDA losses, softmax and optimiser updates: the twins of :mod:`tsrnn._kernels`'.

The per-element math is that of :mod:`tsrnn._elementwise` (compiled as device
functions by :func:`tsrnn.cuda._config.device_math`), the same source the CPU
kernels compile; only the loops differ (one block reducing in shared memory,
grid-stride loops over the parameters).

A loss the CPU kernel *returns* is written into a trailing ``res`` argument,
a one-element float64 device array.  The optimiser updates take an optional
trailing ``guard`` (float64 device array: loss, penalty, norm) and skip the
update on the device when any entry is not finite — the CPU trainer checks on
the host before updating, which on the GPU would cost a synchronisation
before every update.
"""

from types import SimpleNamespace

import numpy as np
from numba import cuda, types

from . import _gemm
from ._config import CONFIG, ceil_div, check_dtype, device_math, dummy, grid_1d, kernel_cache


def _make_updates(NTH, block_sum):
    """Losses, softmax and optimiser updates (dtype-generic, float64 scalars)."""
    m = device_math()
    mse_element, mae_element, pinball_element = m.mse_element, m.mae_element, m.pinball_element
    softmax_xent_row, softmax_row = m.softmax_xent_row, m.softmax_row
    sgd_element, adam_element, adam_corrections = m.sgd_element, m.adam_element, m.adam_corrections

    @cuda.jit
    def mse_kernel(out, Y, dO, n_total, res):
        # one block: res[0] = Σ (o - y)² / (n_total·O), dO = 2 (o - y) / (n_total·O)
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        scale = 1.0 / (n_total * O)
        acc = 0.0
        for e in range(tid, B * O, NTH):
            acc += mse_element(out, Y, dO, e // O, e % O, scale)
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot * scale

    @cuda.jit
    def mae_kernel(out, Y, dO, n_total, res):
        # one block: res[0] = Σ |o - y| / (n_total·O), dO = sign(o - y) / (n_total·O)
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        scale = 1.0 / (n_total * O)
        acc = 0.0
        for e in range(tid, B * O, NTH):
            acc += mae_element(out, Y, dO, e // O, e % O, scale)
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot * scale

    @cuda.jit
    def quantile_kernel(out, Y, taus, dO, n_total, res):
        # one block: res[0] = Σ pinball / (n_total·O·Q), O·Q = out.shape[1]
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        B, O = out.shape
        scale = 1.0 / (n_total * O)
        acc = 0.0
        for e in range(tid, B * O, NTH):
            acc += pinball_element(out, Y, taus, dO, e // O, e % O, scale)
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot * scale

    @cuda.jit
    def xent_kernel(out, labels, dO, n_total, res):
        # one block, one sample per thread: mean softmax cross-entropy
        sh = cuda.shared.array(NTH, types.float64)
        tid = cuda.threadIdx.x
        acc = 0.0
        for s in range(tid, out.shape[0], NTH):
            acc += softmax_xent_row(out, labels, dO, s, n_total)
        tot = block_sum(sh, tid, acc)
        if tid == 0:
            res[0] = tot / n_total

    @cuda.jit
    def softmax_kernel(out, proba):
        # one thread per sample
        s = cuda.grid(1)
        if s < out.shape[0]:
            softmax_row(out, proba, s)

    @cuda.jit(device=True)
    def all_finite(guard):
        # x - x is 0 for finite x and NaN for inf or NaN
        for i in range(guard.shape[0]):
            if not (guard[i] - guard[i] == 0.0):
                return False
        return True

    @cuda.jit
    def sgd_kernel(theta, grad, velocity, lr, momentum, nesterov, guard):
        if not all_finite(guard):
            return
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            sgd_element(theta, grad, velocity, p, lr, momentum, nesterov)

    @cuda.jit
    def adam_kernel(theta, grad, m, v, lr, beta1, beta2, eps, step, guard):
        if not all_finite(guard):
            return
        bc1, bc2 = adam_corrections(beta1, beta2, step)
        for p in range(cuda.grid(1), theta.shape[0], cuda.gridsize(1)):
            adam_element(theta, grad, m, v, p, lr, beta1, beta2, eps, bc1, bc2)

    return {
        "mse": mse_kernel,
        "mae": mae_kernel,
        "quantile": quantile_kernel,
        "xent": xent_kernel,
        "softmax": softmax_kernel,
        "sgd": sgd_kernel,
        "adam": adam_kernel,
    }


@kernel_cache
def _build(dtype):
    threads = CONFIG["threads"]
    return SimpleNamespace(k=_make_updates(threads, _gemm.kit(dtype).block_sum), threads=threads)


def kit(dtype):
    """The loss and update kernels of ``dtype``."""
    return _build(check_dtype(dtype))


# --------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------


def gpu_mse_loss_grad(out, Y, dO, n_total, res):
    """Mean squared error into res[0] (float64, (1,)); dO receives dL/do.

    The mean is over ``n_total`` samples (the whole mini-batch).
    """
    k = kit(out.dtype)
    k.k["mse"][1, k.threads](out, Y, dO, int(n_total), res)


def gpu_mae_loss_grad(out, Y, dO, n_total, res):
    """Mean absolute error into res[0] (float64, (1,)); dO receives dL/do.

    dL/do = sign(o - y) / (n_total·O), with sign(0) = 0.
    """
    k = kit(out.dtype)
    k.k["mae"][1, k.threads](out, Y, dO, int(n_total), res)


def gpu_quantile_loss_grad(out, Y, taus, dO, n_total, res):
    """Mean pinball loss into res[0] (float64, (1,)); dO receives dL/do.

    ``taus``: device array of the Q quantile levels; see
    :func:`tsrnn._kernels.quantile_loss_grad` for the layout.
    """
    k = kit(out.dtype)
    k.k["quantile"][1, k.threads](out, Y, taus, dO, int(n_total), res)


def gpu_softmax_xent_loss_grad(out, labels, dO, n_total, res):
    """Mean softmax cross-entropy into res[0]; labels (B,) int class indices.

    dO receives (softmax(o) - onehot(y)) / n_total, computed with the max shift.
    """
    k = kit(out.dtype)
    k.k["xent"][1, k.threads](out, labels, dO, int(n_total), res)


def gpu_softmax(out, proba):
    """Row-wise softmax of out (B, O) into proba."""
    k = kit(out.dtype)
    k.k["softmax"][ceil_div(out.shape[0], k.threads), k.threads](out, proba)


# --------------------------------------------------------------------------
# optimiser updates on the flat parameter vector
# --------------------------------------------------------------------------


def gpu_sgd_update(theta, grad, velocity, lr, momentum, nesterov, guard=None):
    """SGD with (Nesterov) momentum, PyTorch's form (dampening 0).

    ``guard``: optional float64 device array; the update is skipped on the
    device when any of its entries (loss, norm) is not finite.
    """
    k = kit(theta.dtype)
    g = guard if guard is not None else dummy(np.float64)
    k.k["sgd"][grid_1d(theta.shape[0])](
        theta, grad, velocity, float(lr), float(momentum), bool(nesterov), g
    )


def gpu_adam_update(theta, grad, m, v, lr, beta1, beta2, eps, step, guard=None):
    """One Adam step (PyTorch's form with bias correction); ``step`` is 1-based.

    ``guard`` as in :func:`gpu_sgd_update`.
    """
    k = kit(theta.dtype)
    g = guard if guard is not None else dummy(np.float64)
    k.k["adam"][grid_1d(theta.shape[0])](
        theta, grad, m, v, float(lr), float(beta1), float(beta2), float(eps), int(step), g
    )
