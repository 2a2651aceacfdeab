"""The per-step recurrent products of the training sweeps, and the fused multiply-add.

:func:`fma` is the inference products' arithmetic (:func:`tsrnn._kernels.accumulate_rows`).

A training chunk's recurrent product has few rows (a thread's chunk of the batch, 16 or
32) against the layer's whole recurrent weight matrix, 48 times a sweep; which way round it
is handed to BLAS matters more than anything else in the wide layers' training time. The
forms here compute the same products; the one used depends only on the dtype, the layer's
width and the chunk's rows, never on the thread count, so results stay deterministic.
"""

import platform

import numpy as np
from numba import njit, types
from numba.extending import intrinsic

from . import _cache  # noqa: F401  (chooses the cache directory before any @njit(cache=True))

# the kernels' options (tsrnn._kernels): no fastmath, NumPy's error model, GIL released
_jit = njit(cache=True, nogil=True, error_model="numpy")


def cpu_features():
    """The features Numba compiles for: ``NUMBA_CPU_FEATURES``, else the host's.

    Empty for a named target without a feature list (``NUMBA_CPU_NAME=generic``, say) and
    for a host that gives none.
    """
    from numba.core import config

    if config.CPU_FEATURES is not None:  # NUMBA_CPU_FEATURES: what the code is compiled for
        return {f[1:] for f in config.CPU_FEATURES.split(",") if f.startswith("+")}
    if config.CPU_NAME not in (None, "host"):  # NUMBA_CPU_NAME=generic, say: assume none
        return set()
    import llvmlite.binding as llvm

    try:
        return {name for name, on in llvm.get_host_cpu_features().items() if on}
    except RuntimeError:  # no feature list for this host
        return set()


def _fma_in_hardware():
    """Whether the CPU Numba compiles for has fused multiply-add instructions."""
    from numba.core import config

    host = config.CPU_FEATURES is None and config.CPU_NAME in (None, "host")
    if host and platform.machine().lower() in ("aarch64", "arm64"):
        return True  # ARMv8's floating point always has them
    return "fma" in cpu_features()


#: Fused multiply-adds where the CPU has them (x86-64 since 2013, every ARMv8); elsewhere a
#: rounded product and an add (a software FMA would be many times slower). Numba's kernel
#: cache is kept per CPU, so compiled code never moves between the two.
FMA = _fma_in_hardware()


@intrinsic
def fma(typingctx, a, b, c):
    """a·b + c rounded once (LLVM's ``llvm.fma``): the same bits in every loop it is in.

    Exact by definition, not a fast-math contraction that the compiler may or may not make:
    a vector loop and its scalar tail compute the same value. On a CPU without FMA
    instructions (:data:`FMA` false): a·b rounded, then + c, the same in every loop too.
    """
    if not (a == b == c and isinstance(a, types.Float)):
        return None
    sig = a(a, b, c)

    def codegen(context, builder, signature, args):
        if FMA:
            return builder.fma(*args)
        return builder.fadd(builder.fmul(args[0], args[1]), args[2])

    return sig, codegen


#: Float32 recurrent products: the forward's computed transposed from 64 units and the
#: backward's from 128 (measured gains start there), except the forward's of at most
#: SMALL_PRODUCT multiply-adds, computed directly against a contiguous copy of W_hhᵀ.
SWAPPED_MIN_HIDDEN = 64
SWAPPED_MIN_HIDDEN_BACKWARD = 128
SMALL_PRODUCT = 64**3


@_jit
def transposed_weights(W_hh):
    """A contiguous copy of W_hhᵀ for the float32 recurrent products (float64: empty).

    Made once per sweep; :func:`recurrent_product` and :func:`recurrent_gradient` take it.
    """
    if W_hh.itemsize == 4:
        return np.ascontiguousarray(W_hh.T)
    return np.empty((0, 0), dtype=W_hh.dtype)


@_jit
def _swapped_product(L, A, out, outT):
    """The product out = A Lᵀ as (L Aᵀ)ᵀ: L (M, K) contiguous, A (B, K); outT (M, B) scratch.

    The weight matrix as the tall left operand, which OpenBLAS packs once per call however
    few rows A has, then transposed back into out.
    """
    np.dot(L, A.T, outT)
    B, M = out.shape
    for s in range(B):
        for j in range(M):
            out[s, j] = outT[j, s]


@_jit
def recurrent_product(h, W_hh, W_hhT, out, outT):
    """The forward's recurrent term out = h W_hhᵀ, h (B, N), out (B, GN); outT (GN, B) scratch.

    ``W_hhT`` is :func:`transposed_weights` of ``W_hh``. The training kernels' per-step
    product has few rows (a thread's chunk of the batch, 16 or 32) against a weight matrix
    that OpenBLAS repacks on every call. For float32 layers of at least SWAPPED_MIN_HIDDEN
    units it is computed as (W_hh hᵀ)ᵀ and transposed back (:func:`_swapped_product`):
    measured 1.25-1.9x faster for the products (M = 16 or 32, N = 128 or 256, one thread,
    2-core EPYC), 1.2-1.5x with the transpose; the LSTM and GRU forward sweeps 1.1-1.4x
    faster from 64 units. Float32 products of at most SMALL_PRODUCT multiply-adds (the
    forecaster's LSTM of 32 units on 16-row chunks) are h (W_hhᵀ) against the contiguous
    copy instead of a transposed view: OpenBLAS then takes its small-matrix kernels where it
    has them (2-core Xeon: 1.2 against 3.0 us for 16 rows of 32 units; 5.1 against 11.0 us
    for 16 rows of 64). Float64 keeps h W_hhᵀ. Which form is used depends only on the dtype,
    the layer's width and the chunk's rows, never on the thread count, so results stay
    deterministic.
    """
    B, N = h.shape
    if h.itemsize == 4:
        if N >= SWAPPED_MIN_HIDDEN and B * W_hh.shape[0] * N > SMALL_PRODUCT:
            _swapped_product(W_hh, h, out, outT)
        else:
            np.dot(h, W_hhT, out)
    else:
        np.dot(h, W_hh.T, out)


@_jit
def recurrent_gradient(dA, W_hh, W_hhT, out, outT):
    """The backward's recurrent term out = dA W_hh, dA (B, GN), out (B, N); outT (N, B) scratch.

    Transposed like :func:`recurrent_product` for float32 layers of at least
    SWAPPED_MIN_HIDDEN_BACKWARD units, as (W_hhᵀ dAᵀ)ᵀ with the contiguous copy ``W_hhT``
    (2-core Xeon, 32 rows: 179 against 258 us at 256 units, 49 against 61 at 128; through a
    transposed view 247 and 64; at 32-64 units 0.86-1.14x on the EPYC, so those keep dA W_hh).
    """
    if dA.itemsize == 4 and W_hh.shape[1] >= SWAPPED_MIN_HIDDEN_BACKWARD:
        _swapped_product(W_hhT, dA, out, outT)
    else:
        np.dot(dA, W_hh, out)
