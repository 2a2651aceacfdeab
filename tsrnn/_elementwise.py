"""Per-element math, written once and compiled for both targets.

Every function here is plain Python on scalars or on one element (one row) of
arrays: no decorator, no allocation, nothing a target lacks.  The CPU kernels
of :mod:`tsrnn._kernels` compile them with ``numba.njit`` (inlined into the
kernels' loops: by LLVM, or in Numba's IR for the large float64 activations,
see :func:`compile_for`), the CUDA kernels of :mod:`tsrnn.cuda` with
``numba.cuda.jit(device=True)``.  So the activations, losses and optimiser
steps of the two devices are the same source, and float32 outputs of the CPU
and of the GPU (or its simulator) agree to the rounding of their sums.

The activation policy (``docs/math.md``, section 7): llvmlite ships no vector
math library, so a libm call (``math.tanh``, ``math.exp``) in a loop costs
~15-30 ns and blocks vectorisation.  So both dtypes compute their activations
from ``+``, ``*``, ``/`` and compares only, which LLVM vectorises:

- float32: tanh is Eigen's rational approximation (~1 ns per element),
  accurate to 4e-7 absolute (a few float32 ulps), its polynomials' steps fused
  multiply-adds (:func:`fma_f32`, each target's own, rounded once); the sigmoid
  is ``0.5 + 0.5·tanh(x/2)`` with that tanh.
- float64: exp is Cody-Waite reduction (n = round(y / ln 2), r = y - n ln 2 in
  two parts), a degree-13 Taylor polynomial on |r| <= ln2 / 2 (by Estrin's
  scheme, its steps fused multiply-adds, :func:`fma_f64`) and the scaling
  by 2**n as a chain of exact power-of-two products (no integer bit tricks,
  so the same source runs on the GPU and its simulator; the CPU multiplies
  once by 2**n built from its bits, the same value); tanh is Cephes'
  rational x + x³P(x²)/Q(x²) below |x| = 0.625 and 1 - 2/(e^{2|x|} + 1) above
  (both computed, one chosen by :func:`select`);
  the sigmoid 1/(1 + e^-x) with |x| clamped at 80.  Within 2 ulps of libm
  for tanh (mean 0.2 ulp), 1 ulp for exp and 4 ulps for the sigmoid
  (``tests/test_activations.py``); 2-3x cheaper than libm's calls per element
  in a vectorised loop, so float64 results still agree with PyTorch to
  round-off (1e-10).

NaN propagates and ±inf saturate in both dtypes.

Functions that touch one element take the arrays and the element's index, so a
CPU loop and a CUDA grid-stride loop call them identically.  A target compiles
them all at once with :func:`compile_for`, so that a function calling another
(the float32 sigmoid calls the float32 tanh) calls its compiled twin.
"""

import math
import types

import numpy as np

_F = np.float32
_MATH_FMA = getattr(math, "fma", None)
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

# float64 exp (exp_f64): Cody-Waite's ln 2 in two parts (fdlibm's: n·_LN2_HI is exact for
# |n| < 2**20), the rounding constant 1.5·2**52 and the Taylor coefficients 1/k!.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e00
_ROUND = 6755399441055744.0
_EXP_C3, _EXP_C4, _EXP_C5, _EXP_C6 = 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0
_EXP_C7, _EXP_C8, _EXP_C9 = 1.0 / 5040.0, 1.0 / 40320.0, 1.0 / 362880.0
_EXP_C10, _EXP_C11 = 1.0 / 3628800.0, 1.0 / 39916800.0
_EXP_C12, _EXP_C13 = 1.0 / 479001600.0, 1.0 / 6227020800.0
_P64, _P32, _P16 = 2.0**64, 2.0**32, 2.0**16
# float64 tanh below |x| = 0.625 (Cephes tanh.c): x + x³·P(x²)/Q(x²), Q monic.
_TP0, _TP1, _TP2 = -9.64399179425052238628e-1, -9.92877231001918586564e1, -1.61468768441708447952e3
_TQ0, _TQ1, _TQ2 = 1.12811678491632931402e2, 2.23548839060100448583e3, 4.84406305325125486048e3


# --------------------------------------------------------------------------
# activations
# --------------------------------------------------------------------------


def tanh_f32(x):
    """float32 tanh: Eigen's rational approximation (vectorisable, 4e-7 absolute).

    Its polynomials in Horner's form, each step a fused multiply-add (:func:`fma_f32`):
    half the operations of a product and a sum rounded apart, the gate math's main cost.
    """
    # written with comparisons (not min/max) so that NaN stays NaN
    if x > _TCLAMP:
        x = _TCLAMP
    if x < -_TCLAMP:
        x = -_TCLAMP
    x2 = x * x
    p = fma_f32(x2, _TA13, _TA11)
    p = fma_f32(x2, p, _TA9)
    p = fma_f32(x2, p, _TA7)
    p = fma_f32(x2, p, _TA5)
    p = fma_f32(x2, p, _TA3)
    p = fma_f32(x2, p, _TA1)
    q = fma_f32(x2, _TB6, _TB4)
    q = fma_f32(x2, q, _TB2)
    q = fma_f32(x2, q, _TB0)
    return x * p / q


def fma_f32(a, b, c):
    """a·b + c, a step of :func:`tanh_f32`'s polynomials: one fused multiply-add per target.

    Each target compiles its own fused multiply-add in its place (rounded once, the same
    bits on both): the CPU's :func:`tsrnn._kernels.fma_once`, the GPU's ``cuda.fma``
    (:func:`tsrnn.cuda._config.device_math`). Plain Python (a product and a sum) only
    outside compiled code.
    """
    return a * b + c


def fma_f64(a, b, c):
    """a·b + c in float64, a step of the float64 activations' polynomials: one fused multiply-add.

    As :func:`fma_f32`: each target compiles its own in its place, rounded once (the same
    bits on all): the CPU's :func:`tsrnn._kernels.fma_once`, the GPU's ``cuda.fma``, the CUDA
    simulator's and the interpreter's :func:`fma_exact`. This plain form (a product and a
    sum) is never what runs.
    """
    return a * b + c


def fma_exact(a, b, c):
    """The fused multiply-add a·b + c, rounded once, in plain Python.

    ``math.fma`` from Python 3.13; before, exactly in integers (each float is a whole number
    over a power of two), whose true division rounds correctly. Not compiled:
    :func:`fma_f64` where no hardware instruction runs (the CUDA simulator, tests).
    """
    if _MATH_FMA is not None:
        return _MATH_FMA(a, b, c)
    if not (math.isfinite(a) and math.isfinite(b) and math.isfinite(c)):
        return a * b + c  # NaN and infinities: as the instruction
    na, da = float(a).as_integer_ratio()
    nb, db = float(b).as_integer_ratio()
    nc, dc = float(c).as_integer_ratio()
    num = na * nb * dc + nc * da * db
    if num == 0:
        return a * b + c  # the sign of a zero sum (a·b is exact then)
    try:
        return num / (da * db * dc)
    except OverflowError:
        return math.inf if num > 0 else -math.inf


def select(cond, a, b):
    """Value a where cond, else b (both already computed): the float64 tanh's formula.

    The CPU compiles :func:`tsrnn._kernels.select` in its place, one instruction (a blend
    in a vector loop): a branch in the float64 activations, which the CPU inlines into the
    kernels in Numba's IR, would make Numba's SSA check warn.
    """
    return a if cond else b


def exp_f64(y):
    """float64 e**y for 0 <= y <= 80 from arithmetic only (vectorisable), within 1 ulp of libm.

    y is clamped to [0, 80] (the activations below need no more); n = round(y / ln 2)
    by the 1.5·2**52 rounding trick, r = y - n·ln 2 with ln 2 split in two so
    that n·_LN2_HI is exact, e**r = 1 + (r + r²·q(r)) with q the degree-11 Taylor
    polynomial 1/2! + r/3! + ... + r¹¹/13! (|r| <= 0.347: truncation below 2e-16
    relative), then times 2**n (n <= 116, :func:`pow2_scale`). NaN gives NaN.

    q is evaluated by Estrin's scheme (pairs of terms, then pairs of pairs by r², r⁴,
    r⁸), its steps fused multiply-adds (:func:`fma_f64`): a chain of 5 dependent
    steps instead of Horner's 13, which is what bounds a vectorised loop of tanh on
    cores that split 256-bit vectors in two: with :func:`tanh_f64`'s one division,
    tanh 13.2 -> 7.0 ns an element (one thread, 2-core EPYC Zen 1, 2026-12-03), as
    accurate (``tests/test_activations.py``; over 900,000 points max / mean ulps of
    libm: tanh 2.0 / 0.209, exp 1.0 / 0.091, before 2.0 / 0.209 and 1.0 / 0.098).

    Like the float64 functions below it has no branch, not even a conditional
    expression: Numba inlines them into the kernels' IR (:func:`compile_for`),
    where a branch would make its SSA check warn, and LLVM vectorises the loop.
    """
    y1 = max(min(y, 80.0), 0.0)  # min/max keep a NaN first argument
    n0 = (y1 * _INV_LN2 + _ROUND) - _ROUND
    r = fma_f64(-n0, _LN2_LO, fma_f64(-n0, _LN2_HI, y1))
    r2 = r * r
    r4 = r2 * r2
    q0 = fma_f64(r2, fma_f64(_EXP_C5, r, _EXP_C4), fma_f64(_EXP_C3, r, 0.5))
    q1 = fma_f64(r2, fma_f64(_EXP_C9, r, _EXP_C8), fma_f64(_EXP_C7, r, _EXP_C6))
    q2 = fma_f64(r2, fma_f64(_EXP_C13, r, _EXP_C12), fma_f64(_EXP_C11, r, _EXP_C10))
    q = fma_f64(r4 * r4, q2, fma_f64(r4, q1, q0))
    return pow2_scale(1.0 + fma_f64(r2, q, r), n0)


def pow2_scale(p, n):
    """p·2**n for a whole number n in [0, 116] and |p| < 2 (:func:`exp_f64`'s scaling).

    As exact products by 2**64, 2**32, ..., 2**1 (:func:`pow2_bit`), each taken where what
    is left of n still holds it: no integer bit tricks, so the same source runs on the GPU
    and its simulator. Every product is exact (|p| < 2, no overflow or underflow), so the
    CPU's one product with 2**n built from its bits (:func:`tsrnn._kernels.pow2_scale`,
    given to :func:`compile_for` as a replacement) is the same value, bit for bit.
    """
    b0 = pow2_bit(n, 64.0)
    n1 = n - 64.0 * b0
    b1 = pow2_bit(n1, 32.0)
    n2 = n1 - 32.0 * b1
    b2 = pow2_bit(n2, 16.0)
    n3 = n2 - 16.0 * b2
    b3 = pow2_bit(n3, 8.0)
    n4 = n3 - 8.0 * b3
    b4 = pow2_bit(n4, 4.0)
    n5 = n4 - 4.0 * b4
    b5 = pow2_bit(n5, 2.0)
    b6 = n5 - 2.0 * b5  # 0 or 1
    s0 = (1.0 + b0 * (_P64 - 1.0)) * (1.0 + b1 * (_P32 - 1.0))
    s1 = (1.0 + b2 * (_P16 - 1.0)) * (1.0 + b3 * 255.0)
    s2 = (1.0 + b4 * 15.0) * (1.0 + b5 * 3.0) * (1.0 + b6)
    return ((p * s0) * s1) * s2


def pow2_bit(n, e):
    """1.0 where the whole number n >= e, else 0.0 (branch-free: clamped n - e + 1).

    The factor ``1 + bit·(2**e - 1)`` is then 2**e or 1 exactly (for e = 64,
    2**64 - 1 rounds to 2**64 and 1 + 2**64 back to it).
    """
    return min(max(n - e + 1.0, 0.0), 1.0)


def tanh_f64(x):
    """float64 tanh from arithmetic only (vectorisable), within 2 ulps of libm.

    Cephes' rational x + x³P(x²)/Q(x²) for |x| < 0.625, 1 - 2/(e^{2|x|} + 1)
    with :func:`exp_f64` above (no cancellation there: the result is > 0.55);
    |x| beyond 20, where tanh is ±1 in float64, is clamped there. Both are one
    form, p + q·(r / s): (x, x³, P, Q) below 0.625, (±1, ∓2, 1, e^{2|x|} + 1)
    above, chosen (:func:`select`) before the one division and its fused
    multiply-add, which has the sign of x already except for x = -0 (then +0):
    that sign is copied onto it, as libm's tanh(-0) = -0. NaN stays NaN.
    """
    a = min(abs(x), 20.0)  # NaN stays NaN
    xs = math.copysign(a, x)
    z = a * a
    num = fma_f64(fma_f64(_TP0, z, _TP1), z, _TP2)
    den = fma_f64(fma_f64(z + _TQ0, z, _TQ1), z, _TQ2)
    e = exp_f64(2.0 * a)
    small = a < 0.625
    p = select(small, xs, math.copysign(1.0, x))
    q = select(small, xs * z, -math.copysign(2.0, x))
    r = select(small, num, 1.0)
    s = select(small, den, e + 1.0)
    return math.copysign(fma_f64(q, r / s, p), x)


def sigmoid_f32(x):
    """float32 logistic sigmoid, 0.5 + 0.5·tanh(x/2) with :func:`tanh_f32`."""
    return HALF32 + HALF32 * tanh_f32(HALF32 * x)


def sigmoid_f64(x):
    """float64 logistic sigmoid 1 / (1 + e^-x), as t / (1 + t) or 1 / (1 + t), t = e^|x|.

    With :func:`exp_f64` (|x| clamped at 80): within 4 ulps of libm's formula
    for |x| <= 80; beyond, 1 for x > 80 (as in float64) and e^-80 ≈ 1.8e-35 for
    x < -80 (the true value is smaller still: an absolute error below 2e-35).
    """
    t = exp_f64(abs(x))
    return select(x >= 0.0, t, 1.0) / (1.0 + t)


def sigmoid_tanh_form_f64(x):
    """float64 sigmoid as 0.5 + 0.5·tanh(x/2): the form of the LSTM's gate loop.

    The LSTM forms every gate as ``off + scale·tanh(scale·x)`` (sigmoid gates
    off = scale = 0.5, the tanh gate 0 and 1), one branch-free vectorised loop
    on the CPU; the GPU computes its sigmoid gates with this function so that
    both use the same formula.
    """
    return 0.5 + 0.5 * tanh_f64(0.5 * x)


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
    "fma_f32",
    "fma_f64",
    "select",
    "tanh_f32",
    "pow2_bit",
    "pow2_scale",
    "exp_f64",
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


#: Helpers inlined into their callers in Numba's IR on the CPU (see :func:`compile_for`).
INLINED = ("pow2_bit", "pow2_scale", "exp_f64", "tanh_f64", "sigmoid_f64")


def compile_for(jit, inline_jit=None, replace=None):
    """Every function of :data:`FUNCTIONS` compiled by the decorator ``jit``.

    ``jit`` is e.g. ``numba.njit(nogil=True)`` or ``numba.cuda.jit(device=True)``.
    Each function is rebuilt over one shared namespace in which the names of
    the others are their compiled versions, so calls between them compile.
    The functions of :data:`INLINED` are compiled with ``inline_jit`` where it
    is given (the CPU's ``njit(inline="always")``: inlined into their callers in
    Numba's IR, so that float64 tanh is one function LLVM inlines into the
    kernels' loops and vectorises).  ``replace`` maps names of :data:`FUNCTIONS` to
    functions compiled in their place (same arguments, same results bit for bit,
    e.g. the CPU's :func:`pow2_scale`).  Returns a :class:`types.SimpleNamespace`
    of the compiled functions.
    """
    namespace = dict(globals())
    compiled = {}
    for name in FUNCTIONS:
        if replace and name in replace:
            clone = replace[name]  # its own module's names (e.g. a CPU intrinsic)
        else:
            fn = globals()[name]
            code, defaults, closure = fn.__code__, fn.__defaults__, fn.__closure__
            clone = types.FunctionType(code, namespace, name, defaults, closure)
            clone.__doc__, clone.__qualname__ = fn.__doc__, fn.__qualname__
        decorator = inline_jit if (inline_jit is not None and name in INLINED) else jit
        compiled[name] = namespace[name] = decorator(clone)
        compiled[name + "_py"] = clone
    return types.SimpleNamespace(**compiled)
