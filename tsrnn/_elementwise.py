"""Per-element math, written once and compiled for both targets.

Every function here is plain Python on scalars or on one element (one row) of
arrays: no decorator, no allocation, nothing a target lacks.  The CPU kernels
of :mod:`tsrnn._kernels` compile them with ``numba.njit`` (LLVM inlines them
into the kernels' loops), the CUDA kernels of :mod:`tsrnn.cuda` with
``numba.cuda.jit(device=True)``.  So the activations, losses and optimiser
steps of the two devices are the same source, and float32 outputs of the CPU
and of the GPU (or its simulator) agree to the rounding of their sums.

The float32 activation policy (``docs/math.md``): llvmlite ships no vector
math library, so a scalar ``math.tanh`` in a loop costs ~15-30 ns and blocks
vectorisation.  In float32, tanh is a rational approximation made only of
``+``, ``*``, ``/`` and compares, which LLVM vectorises (~1 ns per element),
accurate to 4e-7 absolute (a few float32 ulps); NaN propagates and ±inf
saturate.  The float32 sigmoid is ``0.5 + 0.5·tanh(x/2)`` with that tanh.
float64 keeps libm's ``tanh`` and ``exp``, so float64 results stay exact to
round-off (PyTorch parity to 1e-10).

Functions that touch one element take the arrays and the element's index, so a
CPU loop and a CUDA grid-stride loop call them identically.  A target compiles
them all at once with :func:`compile_for`, so that a function calling another
(the float32 sigmoid calls the float32 tanh) calls its compiled twin.
"""

import math
import types

import numpy as np

_F = np.float32
# Eigen's float tanh: odd rational p(x)/q(x) on [-7.905, 7.905], clamped outside.
_TA1, _TA3, _TA5, _TA7 = (
    _F(4.89352455891786e-03),
    _F(6.37261928875436e-04),
    _F(1.48572235717979e-05),
    _F(5.12229709037114e-08),
)
_TA9, _TA11, _TA13 = _F(-8.60467152213735e-11), _F(2.00018790482477e-13), _F(-2.76076847742355e-16)
_TB0, _TB2, _TB4, _TB6 = (
    _F(4.89352518554385e-03),
    _F(2.26843463243900e-03),
    _F(1.18534705686654e-04),
    _F(1.19825839466702e-06),
)
_TCLAMP = _F(7.90531110763549805)
HALF32 = _F(0.5)


# --------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------


def tanh_f32(x):
    """float32 tanh: Eigen's rational approximation (vectorisable, 4e-7 absolute)."""
    # written with comparisons (not min/max) so that NaN stays NaN
    if x > _TCLAMP:
        x = _TCLAMP
    if x < -_TCLAMP:
        x = -_TCLAMP
    x2 = x * x
    p = x2 * _TA13 + _TA11
    p = x2 * p + _TA9
    p = x2 * p + _TA7
    p = x2 * p + _TA5
    p = x2 * p + _TA3
    p = x2 * p + _TA1
    q = x2 * _TB6 + _TB4
    q = x2 * q + _TB2
    q = x2 * q + _TB0
    return x * p / q


def tanh_f64(x):
    """float64 tanh (libm)."""
    return math.tanh(x)


def sigmoid_f32(x):
    """float32 logistic sigmoid, 0.5 + 0.5·tanh(x/2) with :func:`tanh_f32`."""
    return HALF32 + HALF32 * tanh_f32(HALF32 * x)


def sigmoid_f64(x):
    """float64 logistic sigmoid 1 / (1 + exp(-x))."""
    return 1.0 / (1.0 + math.exp(-x))


def sigmoid_tanh_form_f64(x):
    """float64 sigmoid as 0.5 + 0.5·tanh(x/2): the form of the LSTM's gate loop.

    The LSTM forms every gate as ``off + scale·tanh(scale·x)`` (sigmoid gates
    off = scale = 0.5, the tanh gate 0 and 1), one branch-free vectorised loop
    on the CPU; the GPU computes its sigmoid gates with this function so that
    both use the same formula.
    """
    return 0.5 + 0.5 * math.tanh(0.5 * x)


# --------------------------------------------------------------------------
# losses (one element or one row; the caller sums the returned terms)
# --------------------------------------------------------------------------


def mse_element(out, Y, dO, s, k, scale):
    """(o - y)² of element (s, k), returned; dO[s, k] = 2·scale·(o - y)."""
    e = out[s, k] - Y[s, k]
    dO[s, k] = 2.0 * scale * e
    return e * e


def mae_element(out, Y, dO, s, k, scale):
    """|o - y| of element (s, k), returned; dO[s, k] = scale·sign(o - y), sign(0) = 0.

    A NaN residual gives a NaN term and gradient (the training loop detects it).
    """
    e = out[s, k] - Y[s, k]
    if e > 0.0:
        dO[s, k] = scale
        return e
    if e < 0.0:
        dO[s, k] = -scale
        return -e
    dO[s, k] = 0.0 * e
    return abs(e)


def pinball_element(out, Y, taus, dO, s, k, scale):
    """Pinball loss of element (s, k), returned; dO[s, k] = scale·dρ/do.

    Column k holds quantile level τ = taus[k % Q] (Q = len(taus)).  With
    e = y - o: ρ_τ(e) = max(τ·e, (τ - 1)·e); dρ/do = -τ for e > 0, 1 - τ for
    e < 0 and 0 at e = 0 (a subgradient in [-τ, 1 - τ], as MAE's sign(0) = 0).
    A NaN residual gives a NaN term and gradient (the training loop detects it).
    """
    tau = taus[k % taus.shape[0]]
    e = Y[s, k] - out[s, k]
    if e > 0.0:
        dO[s, k] = -tau * scale
        return tau * e
    if e < 0.0:
        dO[s, k] = (1.0 - tau) * scale
        return (tau - 1.0) * e
    dO[s, k] = 0.0 * e
    return abs(e)


def softmax_xent_row(out, labels, dO, s, n_total):
    """Cross-entropy of row s, returned; dO[s] = (softmax(o_s) - onehot(y_s)) / n_total.

    Computed with the max shift, so large logits neither overflow nor lose the
    gradient.
    """
    O = out.shape[1]
    m = out[s, 0]
    for k in range(1, O):
        if out[s, k] > m:
            m = out[s, k]
    tot = 0.0
    for k in range(O):
        tot += math.exp(out[s, k] - m)
    lse = m + math.log(tot)
    for k in range(O):
        dO[s, k] = math.exp(out[s, k] - lse) / n_total
    dO[s, labels[s]] -= 1.0 / n_total
    return lse - out[s, labels[s]]


def softmax_row(out, proba, s):
    """proba[s] = softmax(out[s]) (max-shifted)."""
    O = out.shape[1]
    m = out[s, 0]
    for k in range(1, O):
        if out[s, k] > m:
            m = out[s, k]
    tot = 0.0
    for k in range(O):
        e = math.exp(out[s, k] - m)
        proba[s, k] = e
        tot += e
    for k in range(O):
        proba[s, k] /= tot


# --------------------------------------------------------------------------
# regularisation, clipping and optimiser steps (one parameter p)
# --------------------------------------------------------------------------


def l2_element(theta, mask, grad, p, scale):
    """grad[p] += scale·θ_p where mask[p]; returns θ_p² there, else 0."""
    if mask[p]:
        w = theta[p]
        grad[p] += scale * w
        return w * w
    return 0.0


#: The global gradient norm is summed in two parts so that no square and no sum overflows
#: (the idea of LAPACK's nrm2, after Blue 1978).  Entries up to 2**63 are squared in the
#: gradient's dtype, as they always were (a float32 square of them cannot overflow); larger
#: ones are squared in float64, exactly for a float32 entry (whose float32 square would
#: overflow beyond ~1.8e19); float64 entries beyond 2**480 add up, in a second part, as
#: squares of entry·2**-600.  Powers of two scale exactly.
_NORM_SMALL = 2.0**63
_NORM_BIG = 2.0**480
_NORM_SCALE = 2.0**-600


def norm_sq_element(grad, p):
    """grad[p]'s share of the squared norm as (unscaled, scaled by 2**-1200) float64 parts.

    The square in grad's dtype for entries up to 2**63 (every ordinary value: the sum is the
    one of before), the float64 square up to 2**480, and (g·2**-600)² in the second part
    beyond.  ±inf and NaN land in the second part as inf and NaN, so their norm is inf / NaN.
    """
    g = grad[p]
    x = np.float64(g)  # numba's float() would keep a float32
    if abs(x) <= _NORM_SMALL:  # False for NaN
        return np.float64(g * g), 0.0
    if abs(x) <= _NORM_BIG:
        return x * x, 0.0
    x = x * _NORM_SCALE
    return 0.0, x * x


def norm_from_parts(mid, big):
    """The L2 norm from the sums of :func:`norm_sq_element`'s two parts.

    ``sqrt(mid)`` when no entry needed scaling; otherwise the scaled sum, back-scaled by the
    power of two.  A norm beyond float64's largest value (a float64 gradient of that size) is
    inf.
    """
    if big == 0.0:
        return math.sqrt(mid)
    return math.sqrt(big + (mid * _NORM_SCALE) * _NORM_SCALE) / _NORM_SCALE


def clip_coefficient(norm, max_norm):
    """Factor that scales a gradient of this norm to max_norm (clip when < 1)."""
    return max_norm / (norm + 1e-6)


def sgd_element(theta, grad, velocity, p, lr, momentum, nesterov):
    """SGD with (Nesterov) momentum on parameter p, PyTorch's form (dampening 0).

    velocity ← momentum·velocity + grad; θ ← θ - lr·velocity (or, with
    Nesterov, θ ← θ - lr·(grad + momentum·velocity)).  momentum = 0 is plain
    gradient descent and leaves velocity untouched.
    """
    g = grad[p]
    if momentum != 0.0:
        velocity[p] = momentum * velocity[p] + g
        if nesterov:
            g = g + momentum * velocity[p]
        else:
            g = velocity[p]
    theta[p] -= lr * g


def adam_corrections(beta1, beta2, step):
    """Adam's bias corrections (1 - β1^step, 1 - β2^step); ``step`` is 1-based."""
    return 1.0 - beta1**step, 1.0 - beta2**step


def adam_element(theta, grad, m, v, p, lr, beta1, beta2, eps, bc1, bc2):
    """One Adam step on parameter p (Kingma & Ba; PyTorch's bias-corrected form)."""
    g = grad[p]
    m[p] = beta1 * m[p] + (1.0 - beta1) * g
    v[p] = beta2 * v[p] + (1.0 - beta2) * g * g
    theta[p] -= lr * (m[p] / bc1) / (math.sqrt(v[p] / bc2) + eps)


FUNCTIONS = (
    "tanh_f32",
    "tanh_f64",
    "sigmoid_f32",
    "sigmoid_f64",
    "sigmoid_tanh_form_f64",
    "mse_element",
    "mae_element",
    "pinball_element",
    "softmax_xent_row",
    "softmax_row",
    "l2_element",
    "norm_sq_element",
    "norm_from_parts",
    "clip_coefficient",
    "sgd_element",
    "adam_corrections",
    "adam_element",
)


def compile_for(jit):
    """Every function of :data:`FUNCTIONS` compiled by the decorator ``jit``.

    ``jit`` is e.g. ``numba.njit(nogil=True)`` or ``numba.cuda.jit(device=True)``.
    Each function is rebuilt over one shared namespace in which the names of
    the others are their compiled versions, so calls between them compile.
    Returns a :class:`types.SimpleNamespace` of the compiled functions.
    """
    namespace = dict(globals())
    compiled = {}
    for name in FUNCTIONS:
        fn = globals()[name]
        clone = types.FunctionType(fn.__code__, namespace, name, fn.__defaults__, fn.__closure__)
        clone.__doc__, clone.__qualname__ = fn.__doc__, fn.__qualname__
        compiled[name] = namespace[name] = jit(clone)
    return types.SimpleNamespace(**compiled)
