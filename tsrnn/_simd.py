"""The CPU's vector instructions: its features, the fused multiply-add, explicit SIMD vectors.

:func:`cpu_features` and :data:`FMA` say what the CPU Numba compiles for has; :func:`fma` is
the products' arithmetic (one rounding where the CPU has fused multiply-adds).

The products' register tiles (:func:`accumulate_tiles`, called by
:func:`tsrnn._products.accumulate_rows` for the inference sweeps and the training sweeps'
per-step products): LLVM vectorises the scalar loops of ``accumulate_rows`` over the output
columns, but it keeps every partial sum in memory (loaded, updated, stored back for each group
of four inputs) and, on Intel's AVX-512 cores, takes 256-bit vectors (its tuning prefers them
there): about half of a core's multiply-add peak on the 2-core Xeon of 2026-12-02. Here a block
of four rows and a few vectors of columns is held in registers over a block of inputs, as a GEMM
micro-kernel does, in vectors of :data:`VECTOR_BYTES` (the widest the CPU has; LLVM splits a
vector wider than the registers, so the code is correct on any CPU, only slower).

Each element is computed as in the scalar loops: its partial sum, then ``fma(a_k, w_k, ·)`` for
ascending k (:func:`fma`, one rounding each, or a rounded product and an add where the CPU has
no fused multiply-add), so a vector lane gives the bits of the scalar loop and a row's result
still depends only on that row.

The lanes layout's float32 gate math (:mod:`tsrnn._infer`) runs here too, in whole vectors of
a block's rows (:func:`gate_row` and its siblings): LLVM's own vectors of those loops are
256-bit on Intel's AVX-512 cores, and the same operations in explicit vectors of the widest
registers gave the LSTM of 16 units' sweep 1.2x, of 8 units 1.15-1.2x, the GRU's 1.07x
(one thread, 256 rows x 48 steps, alternating runs on the 2-core Xeon of 2026-12-02). In the
rows layout the same was no faster, and is not used there. The float32 LSTM's whole step of a
lanes block runs here (:func:`lstm_lanes_step`): per unit and four vectors of rows, the four
gates' sums in 16 registers over all inputs and states, then their gate math and the cell
update, never stored in between.

Numba has no vector type: :class:`Vec` is one (an LLVM ``<lanes x float>`` value), made and
used only through the intrinsics below, inside compiled code.
"""

import platform

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

from . import _cache  # noqa: F401  (chooses the cache directory before any @njit(cache=True))
from . import _elementwise as E

# the kernels' options (tsrnn._kernels): no fastmath, NumPy's error model, GIL released
_jit = njit(cache=True, nogil=True, error_model="numpy")

#: 0 as an int64 value for the products' row and column arguments. Numba compiles a callee
#: once per argument type, and a literal 0 is a type of its own (``Literal[int](0)``): calls
#: with a literal 0 compiled the products' whole chain of tiles a second time (a cold first
#: LSTM fit and predict 32.1-32.5 -> 27.2 s with this and the head's weights in the same
#: layout as the layers').
ZERO = np.int64(0)


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


def _vector_shape():
    """(bytes of a vector register, vectors of a row in a register tile) for this CPU.

    The tile is four rows of ``TILE_VECTORS`` vectors of accumulators: 16 registers of the 32
    of AVX-512 and ARMv8 (NEON), 8 of the 16 of AVX2 and SSE, with room for the weights and
    the broadcast input.
    """
    features = cpu_features()
    if platform.machine().lower() in ("aarch64", "arm64"):
        return 16, 4
    if "avx512f" in features:
        return 64, 4
    if "avx" in features:
        return 32, 2
    return 16, 2


#: Bytes of one :class:`Vec` and vectors per row of a register tile (:func:`_vector_shape`).
VECTOR_BYTES, TILE_VECTORS = _vector_shape()
#: Inputs per block of :func:`accumulate_tiles`: a block of a tile's weights (64 inputs by
#: four 64-byte vectors: 16 KB) stays in L1 while every quad of rows reads it.
K_BLOCK = 64


class Vec(types.Type):
    """A vector of :data:`VECTOR_BYTES` of float32 or float64 (its ``lanes`` elements)."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.lanes = VECTOR_BYTES // (dtype.bitwidth // 8)
        super().__init__(name=f"Vec({dtype} x {self.lanes})")


@register_model(Vec)
class _VecModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        scalar = ir.FloatType() if fe_type.dtype == types.float32 else ir.DoubleType()
        super().__init__(dmm, fe_type, ir.VectorType(scalar, fe_type.lanes))


def _is_float_matrix(arr):
    return (
        isinstance(arr, types.Array)
        and arr.ndim == 2
        and arr.dtype in (types.float32, types.float64)
    )


def _element_pointer(context, builder, arrty, value, i, j, sig_i, sig_j):
    """Pointer to ``arr[i, j]`` (no bounds check, no wraparound)."""
    ii = context.cast(builder, i, sig_i, types.intp)
    jj = context.cast(builder, j, sig_j, types.intp)
    ary = context.make_array(arrty)(context, builder, value)
    shape = cgutils.unpack_tuple(builder, ary.shape, 2)
    strides = cgutils.unpack_tuple(builder, ary.strides, 2)
    return cgutils.get_item_pointer2(
        context, builder, ary.data, shape, strides, arrty.layout, [ii, jj]
    )


@intrinsic
def vload(typingctx, arr, i, j):
    """``arr[i, j : j + lanes]`` as a :class:`Vec`. The caller keeps it within the row."""
    if not (
        _is_float_matrix(arr) and isinstance(i, types.Integer) and isinstance(j, types.Integer)
    ):
        return None
    vt = Vec(arr.dtype)

    def codegen(context, builder, sig, args):
        p = _element_pointer(context, builder, arr, args[0], args[1], args[2], i, j)
        vptr = builder.bitcast(p, context.get_value_type(vt).as_pointer())
        return builder.load(vptr, align=arr.dtype.bitwidth // 8)

    return vt(arr, i, j), codegen


@intrinsic
def vstore(typingctx, arr, i, j, v):
    """``arr[i, j : j + lanes] = v``. The caller keeps it within the row."""
    if not (_is_float_matrix(arr) and isinstance(v, Vec) and v.dtype == arr.dtype):
        return None

    def codegen(context, builder, sig, args):
        p = _element_pointer(context, builder, arr, args[0], args[1], args[2], i, j)
        vptr = builder.bitcast(p, context.get_value_type(v).as_pointer())
        builder.store(args[3], vptr, align=arr.dtype.bitwidth // 8)
        return context.get_dummy_value()

    return types.none(arr, i, j, v), codegen


@intrinsic
def vsplat(typingctx, x):
    """A :class:`Vec` with ``x`` in every lane."""
    if x not in (types.float32, types.float64):
        return None
    vt = Vec(x)

    def codegen(context, builder, sig, args):
        ltype = context.get_value_type(vt)
        undef = ir.Constant(ltype, ir.Undefined)
        one = builder.insert_element(undef, args[0], ir.Constant(ir.IntType(32), 0))
        zeros = ir.Constant(ir.VectorType(ir.IntType(32), vt.lanes), [0] * vt.lanes)
        return builder.shuffle_vector(one, undef, zeros)

    return vt(x), codegen


@intrinsic
def vfma(typingctx, a, b, c):
    """``a·b + c`` lane by lane, as :func:`fma` computes it."""
    if not (isinstance(a, Vec) and a == b == c):
        return None

    def codegen(context, builder, sig, args):
        if not FMA:
            return builder.fadd(builder.fmul(args[0], args[1]), args[2])
        vt = args[0].type
        name = f"llvm.fma.v{vt.count}{'f32' if a.dtype == types.float32 else 'f64'}"
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vt, [vt] * 3), name)
        return builder.call(fn, args)

    return a(a, b, c), codegen


# --------------------------------------------------------------------------
# register tiles: four rows of A against 1, 2 or 4 vectors of Wt's columns
# --------------------------------------------------------------------------


@_jit
def _load4(acc, q, j, L):
    """Row ``q`` of ``acc`` from column ``j``: four vectors of L lanes."""
    return (
        vload(acc, q, j),
        vload(acc, q, j + L),
        vload(acc, q, j + 2 * L),
        vload(acc, q, j + 3 * L),
    )


@_jit
def _store4(acc, q, j, L, c0, c1, c2, c3):
    """:func:`_load4`'s four vectors back into row ``q`` of ``acc``."""
    vstore(acc, q, j, c0)
    vstore(acc, q, j + L, c1)
    vstore(acc, q, j + 2 * L, c2)
    vstore(acc, q, j + 3 * L, c3)


@_jit
def _tile_4x4(A, i, Wt, acc, qa, j, L, k0, k1):
    """acc[qa : qa + 4, j : j + 4L] += A[i : i + 4, k0:k1] Wt[k0:k1, j : j + 4L] (L lanes)."""
    c00, c01, c02, c03 = _load4(acc, qa, j, L)
    c10, c11, c12, c13 = _load4(acc, qa + 1, j, L)
    c20, c21, c22, c23 = _load4(acc, qa + 2, j, L)
    c30, c31, c32, c33 = _load4(acc, qa + 3, j, L)
    for k in range(k0, k1):
        w0, w1, w2, w3 = _load4(Wt, k, j, L)
        a = vsplat(A[i, k])
        c00, c01, c02, c03 = vfma(a, w0, c00), vfma(a, w1, c01), vfma(a, w2, c02), vfma(a, w3, c03)
        a = vsplat(A[i + 1, k])
        c10, c11, c12, c13 = vfma(a, w0, c10), vfma(a, w1, c11), vfma(a, w2, c12), vfma(a, w3, c13)
        a = vsplat(A[i + 2, k])
        c20, c21, c22, c23 = vfma(a, w0, c20), vfma(a, w1, c21), vfma(a, w2, c22), vfma(a, w3, c23)
        a = vsplat(A[i + 3, k])
        c30, c31, c32, c33 = vfma(a, w0, c30), vfma(a, w1, c31), vfma(a, w2, c32), vfma(a, w3, c33)
    _store4(acc, qa, j, L, c00, c01, c02, c03)
    _store4(acc, qa + 1, j, L, c10, c11, c12, c13)
    _store4(acc, qa + 2, j, L, c20, c21, c22, c23)
    _store4(acc, qa + 3, j, L, c30, c31, c32, c33)


@_jit
def _tile_4x2(A, i, Wt, acc, qa, j, L, k0, k1):
    """acc[qa : qa + 4, j : j + 2L] += A[i : i + 4, k0:k1] Wt[k0:k1, j : j + 2L]."""
    j1 = j + L
    c00, c01 = vload(acc, qa, j), vload(acc, qa, j1)
    c10, c11 = vload(acc, qa + 1, j), vload(acc, qa + 1, j1)
    c20, c21 = vload(acc, qa + 2, j), vload(acc, qa + 2, j1)
    c30, c31 = vload(acc, qa + 3, j), vload(acc, qa + 3, j1)
    for k in range(k0, k1):
        w0, w1 = vload(Wt, k, j), vload(Wt, k, j1)
        a = vsplat(A[i, k])
        c00, c01 = vfma(a, w0, c00), vfma(a, w1, c01)
        a = vsplat(A[i + 1, k])
        c10, c11 = vfma(a, w0, c10), vfma(a, w1, c11)
        a = vsplat(A[i + 2, k])
        c20, c21 = vfma(a, w0, c20), vfma(a, w1, c21)
        a = vsplat(A[i + 3, k])
        c30, c31 = vfma(a, w0, c30), vfma(a, w1, c31)
    for q, c0, c1 in ((qa, c00, c01), (qa + 1, c10, c11), (qa + 2, c20, c21), (qa + 3, c30, c31)):
        vstore(acc, q, j, c0)
        vstore(acc, q, j1, c1)


@_jit
def _tile_4x1(A, i, Wt, acc, qa, j, k0, k1):
    """acc[qa : qa + 4, j : j + L] += A[i : i + 4, k0:k1] Wt[k0:k1, j : j + L]."""
    c0, c1, c2 = vload(acc, qa, j), vload(acc, qa + 1, j), vload(acc, qa + 2, j)
    c3 = vload(acc, qa + 3, j)
    for k in range(k0, k1):
        w = vload(Wt, k, j)
        c0 = vfma(vsplat(A[i, k]), w, c0)
        c1 = vfma(vsplat(A[i + 1, k]), w, c1)
        c2 = vfma(vsplat(A[i + 2, k]), w, c2)
        c3 = vfma(vsplat(A[i + 3, k]), w, c3)
    vstore(acc, qa, j, c0)
    vstore(acc, qa + 1, j, c1)
    vstore(acc, qa + 2, j, c2)
    vstore(acc, qa + 3, j, c3)


@_jit
def accumulate_tiles(A, i, rows, Wt, acc):
    """acc[q, :n] += A[i + q] Wt[:, :n] for q < ``rows`` (a multiple of 4) in register tiles.

    Returns ``n``, the widest multiple of the vector's lanes within Wt's columns: the columns
    from ``n`` on are the caller's (:func:`tsrnn._kernels.accumulate_rows`'s scalar loops,
    the same arithmetic). Column tiles outside, then blocks of :data:`K_BLOCK` inputs, the
    rows' quads inside, so a tile's block of weights is read from L1 by every quad of the
    rows; between blocks the partial sums are stored and loaded back exactly, so every
    element still takes its inputs in ascending k. A (M, K) float, Wt (K, N), acc (>= rows,
    N), rows ``i .. i + rows - 1`` of A present; Wt's and acc's rows must be contiguous (unit
    stride along the columns: the vectors are loaded and stored whole).
    """
    L = VECTOR_BYTES // A.itemsize
    K = A.shape[1]
    N = Wt.shape[1]
    j = ZERO
    if TILE_VECTORS == 4:
        while j + 4 * L <= N:
            for k0 in range(0, K, K_BLOCK):
                k1 = min(k0 + K_BLOCK, K)
                for q in range(0, rows, 4):
                    _tile_4x4(A, i + q, Wt, acc, q, j, L, k0, k1)
            j += 4 * L
    while j + 2 * L <= N:
        for k0 in range(0, K, K_BLOCK):
            k1 = min(k0 + K_BLOCK, K)
            for q in range(0, rows, 4):
                _tile_4x2(A, i + q, Wt, acc, q, j, L, k0, k1)
        j += 2 * L
    while j + L <= N:
        for k0 in range(0, K, K_BLOCK):
            k1 = min(k0 + K_BLOCK, K)
            for q in range(0, rows, 4):
                _tile_4x1(A, i + q, Wt, acc, q, j, k0, k1)
        j += L
    return j


# --------------------------------------------------------------------------
# float32 activations of whole vectors (the lanes layout's gate math)
# --------------------------------------------------------------------------


def _binary(name, op):
    def template(typingctx, a, b):
        if not (isinstance(a, Vec) and a == b):
            return None

        def codegen(context, builder, sig, args):
            return getattr(builder, op)(*args)

        return a(a, b), codegen

    template.__name__ = template.__qualname__ = name
    return intrinsic(template)


vadd = _binary("vadd", "fadd")
vmul = _binary("vmul", "fmul")
vdiv = _binary("vdiv", "fdiv")


@intrinsic
def vclamp(typingctx, x, lo, hi):
    """Lanes above ``hi`` set to ``hi``, then below ``lo`` to ``lo`` (a NaN lane stays NaN)."""
    if not (isinstance(x, Vec) and x == lo == hi):
        return None

    def codegen(context, builder, sig, args):
        v, low, high = args
        v = builder.select(builder.fcmp_ordered(">", v, high), high, v)
        return builder.select(builder.fcmp_ordered("<", v, low), low, v)

    return x(x, lo, hi), codegen


@_jit
def _vtanh32(x):
    """tsrnn._elementwise.tanh_f32 lane by lane (the same operations, the same bits)."""
    x = vclamp(x, vsplat(-E._TCLAMP), vsplat(E._TCLAMP))
    x2 = vmul(x, x)
    p = vfma(x2, vsplat(E._TA13), vsplat(E._TA11))
    p = vfma(x2, p, vsplat(E._TA9))
    p = vfma(x2, p, vsplat(E._TA7))
    p = vfma(x2, p, vsplat(E._TA5))
    p = vfma(x2, p, vsplat(E._TA3))
    p = vfma(x2, p, vsplat(E._TA1))
    q = vfma(x2, vsplat(E._TB6), vsplat(E._TB4))
    q = vfma(x2, q, vsplat(E._TB2))
    q = vfma(x2, q, vsplat(E._TB0))
    return vdiv(vmul(x, p), q)


def gate_row(acc, m, o, s, n):
    """``acc[m, l] = o + s·tanh(s·acc[m, l])`` for the whole vectors of ``l < n``; their end."""
    raise NotImplementedError  # compiled code only (the overload below)


@overload(gate_row, jit_options={"cache": True})
def _ol_gate_row(acc, m, o, s, n):
    if acc.dtype != types.float32:
        return lambda acc, m, o, s, n: 0

    def impl(acc, m, o, s, n):
        L = VECTOR_BYTES // 4
        if acc.strides[1] != 4:
            return 0
        vo, vs = vsplat(o), vsplat(s)
        l = 0
        while l + L <= n:
            vstore(acc, m, l, vadd(vo, vmul(vs, _vtanh32(vmul(vs, vload(acc, m, l))))))
            l += L
        return l

    return impl


def lstm_cell_lanes(acc, U, u, cT, hT, j, n):
    """An LSTM unit's ``c = f ⊙ c + i ⊙ g`` and ``h = o ⊙ tanh(c)`` in the lanes layout.

    Unit ``j`` (its group's ``u``-th of ``U``), the whole vectors of the rows ``l < n``;
    returns their end.
    """
    raise NotImplementedError  # compiled code only (the overload below)


@overload(lstm_cell_lanes, jit_options={"cache": True})
def _ol_lstm_cell_lanes(acc, U, u, cT, hT, j, n):
    if acc.dtype != types.float32:
        return lambda acc, U, u, cT, hT, j, n: 0

    def impl(acc, U, u, cT, hT, j, n):
        L = VECTOR_BYTES // 4
        if acc.strides[1] != 4 or cT.strides[1] != 4 or hT.strides[1] != 4:
            return 0
        l = 0
        while l + L <= n:
            fc = vmul(vload(acc, U + u, l), vload(cT, j, l))
            c = vadd(fc, vmul(vload(acc, u, l), vload(acc, 2 * U + u, l)))
            vstore(cT, j, l, c)
            vstore(hT, j, l, vmul(vload(acc, 3 * U + u, l), _vtanh32(c)))
            l += L
        return l

    return impl


def tanh_row(A, m, n):
    """``A[m, l] = tanh(A[m, l])`` for the whole vectors of ``l < n``; their end."""
    raise NotImplementedError  # compiled code only (the overload below)


@overload(tanh_row, jit_options={"cache": True})
def _ol_tanh_row(A, m, n):
    if A.dtype != types.float32:
        return lambda A, m, n: 0

    def impl(A, m, n):
        L = VECTOR_BYTES // 4
        if A.strides[1] != 4:
            return 0
        l = 0
        while l + L <= n:
            vstore(A, m, l, _vtanh32(vload(A, m, l)))
            l += L
        return l

    return impl


def sigmoid_sum_row(A, B, m, n):
    """``A[m, l] = sigmoid(A[m, l] + B[m, l])`` for the whole vectors of ``l < n``; their end.

    The float32 sigmoid of :mod:`tsrnn._elementwise`: 0.5 + 0.5·tanh(0.5·x).
    """
    raise NotImplementedError  # compiled code only (the overload below)


@overload(sigmoid_sum_row, jit_options={"cache": True})
def _ol_sigmoid_sum_row(A, B, m, n):
    if A.dtype != types.float32:
        return lambda A, B, m, n: 0

    def impl(A, B, m, n):
        L = VECTOR_BYTES // 4
        if A.strides[1] != 4 or B.strides[1] != 4:
            return 0
        half = vsplat(E.HALF32)
        l = 0
        while l + L <= n:
            x = vadd(vload(A, m, l), vload(B, m, l))
            vstore(A, m, l, vadd(half, vmul(half, _vtanh32(vmul(half, x)))))
            l += L
        return l

    return impl


# --------------------------------------------------------------------------
# the lanes layout's LSTM step in registers (float32)
# --------------------------------------------------------------------------


@_jit
def _fma4(v0, v1, v2, v3, w, a0, a1, a2, a3):
    """Four vectors of lanes times one weight, each added to its accumulator (fused)."""
    return vfma(v0, w, a0), vfma(v1, w, a1), vfma(v2, w, a2), vfma(v3, w, a3)


@_jit
def _gate(a, o, s):
    """``o + s·tanh(s·a)``: the gate of :func:`gate_row`, one vector."""
    return vadd(o, vmul(s, _vtanh32(vmul(s, a))))


@_jit
def _cell(i, f, g, o, cT, hN, j, l):
    """Unit j's ``c = f ⊙ c + i ⊙ g`` and ``h = o ⊙ tanh(c)`` for one vector of lanes from l."""
    c = vadd(vmul(f, vload(cT, j, l)), vmul(i, g))
    vstore(cT, j, l, c)
    vstore(hN, j, l, vmul(o, _vtanh32(c)))


@_jit
def _sums4x4(xT, hT, W, b, r, l, L):
    """Rows r..r+3 of ``W`` against four vectors of lanes from l: 16 sums in registers.

    Each sum starts at its bias ``b[r + m]``, then one fused multiply-add per input of xT,
    then per state of hT, in ascending order (``W`` row: the inputs' weights, then the
    recurrent ones).
    """
    D, N = xT.shape[0], hT.shape[0]
    l1, l2, l3 = l + L, l + 2 * L, l + 3 * L
    a0 = a1 = a2 = a3 = vsplat(b[r])
    c0 = c1 = c2 = c3 = vsplat(b[r + 1])
    d0 = d1 = d2 = d3 = vsplat(b[r + 2])
    e0 = e1 = e2 = e3 = vsplat(b[r + 3])
    for k in range(D + N):  # the inputs, then the states: k ascending
        V, q = (xT, k) if k < D else (hT, k - D)
        v0, v1, v2, v3 = vload(V, q, l), vload(V, q, l1), vload(V, q, l2), vload(V, q, l3)
        a0, a1, a2, a3 = _fma4(v0, v1, v2, v3, vsplat(W[r, k]), a0, a1, a2, a3)
        c0, c1, c2, c3 = _fma4(v0, v1, v2, v3, vsplat(W[r + 1, k]), c0, c1, c2, c3)
        d0, d1, d2, d3 = _fma4(v0, v1, v2, v3, vsplat(W[r + 2, k]), d0, d1, d2, d3)
        e0, e1, e2, e3 = _fma4(v0, v1, v2, v3, vsplat(W[r + 3, k]), e0, e1, e2, e3)
    return a0, a1, a2, a3, c0, c1, c2, c3, d0, d1, d2, d3, e0, e1, e2, e3


@_jit
def _lstm_unit4(xT, hT, W, b, off, scale, cT, hN, j, l, L):
    """Unit j's step for four vectors of lanes from l: 16 accumulators held in registers.

    ``W`` row ``4j + a`` holds gate a's weights of unit j, its inputs' then its recurrent
    ones; ``b[4j + a]`` its bias; ``off[a]``, ``scale[a]`` its gate form.
    """
    l1, l2, l3 = l + L, l + 2 * L, l + 3 * L
    i0, i1, i2, i3, f0, f1, f2, f3, g0, g1, g2, g3, o0, o1, o2, o3 = _sums4x4(
        xT, hT, W, b, 4 * j, l, L
    )
    oi, si = vsplat(off[0]), vsplat(scale[0])
    of, sf = vsplat(off[1]), vsplat(scale[1])
    og, sg = vsplat(off[2]), vsplat(scale[2])
    oo, so = vsplat(off[3]), vsplat(scale[3])
    _cell(_gate(i0, oi, si), _gate(f0, of, sf), _gate(g0, og, sg), _gate(o0, oo, so), cT, hN, j, l)
    _cell(_gate(i1, oi, si), _gate(f1, of, sf), _gate(g1, og, sg), _gate(o1, oo, so), cT, hN, j, l1)
    _cell(_gate(i2, oi, si), _gate(f2, of, sf), _gate(g2, og, sg), _gate(o2, oo, so), cT, hN, j, l2)
    _cell(_gate(i3, oi, si), _gate(f3, of, sf), _gate(g3, og, sg), _gate(o3, oo, so), cT, hN, j, l3)


@_jit
def _lstm_unit1(xT, hT, W, b, off, scale, cT, hN, j, l):
    """:func:`_lstm_unit4` for one vector of lanes from l."""
    D, N = xT.shape[0], hT.shape[0]
    r = 4 * j
    ai, af, ag, ao = vsplat(b[r]), vsplat(b[r + 1]), vsplat(b[r + 2]), vsplat(b[r + 3])
    for k in range(D + N):  # the inputs, then the states: k ascending
        v = vload(xT, k, l) if k < D else vload(hT, k - D, l)
        ai = vfma(v, vsplat(W[r, k]), ai)
        af = vfma(v, vsplat(W[r + 1, k]), af)
        ag = vfma(v, vsplat(W[r + 2, k]), ag)
        ao = vfma(v, vsplat(W[r + 3, k]), ao)
    i = _gate(ai, vsplat(off[0]), vsplat(scale[0]))
    f = _gate(af, vsplat(off[1]), vsplat(scale[1]))
    g = _gate(ag, vsplat(off[2]), vsplat(scale[2]))
    o = _gate(ao, vsplat(off[3]), vsplat(scale[3]))
    _cell(i, f, g, o, cT, hN, j, l)


def lstm_lanes_step(xT, hT, W, b, off, scale, cT, hN):
    """One LSTM step of a lanes block, every unit, in registers; whether it ran.

    xT (D, L) inputs and hT (N, L) states of the block's rows (lanes), cT (N, L) the cell
    states (updated), hN (N, L) receives the new states; W (4N, D + N), b (4N,), off and
    scale (4,) as :func:`_lstm_unit4` takes them. Float32 with L whole vectors of unit
    stride only (False otherwise: the caller's loops run). Per four vectors of lanes and
    unit, the four gates' sums stay in registers over all inputs and states, each weight
    broadcast once for the four vectors, then the gate math and the cell update follow on
    them: nothing goes through memory between the products and the state.
    """
    raise NotImplementedError  # compiled code only (the overload below)


@overload(lstm_lanes_step, jit_options={"cache": True})
def _ol_lstm_lanes_step(xT, hT, W, b, off, scale, cT, hN):
    if xT.dtype != types.float32:
        return lambda xT, hT, W, b, off, scale, cT, hN: False

    def impl(xT, hT, W, b, off, scale, cT, hN):
        L = VECTOR_BYTES // 4
        n = hT.shape[1]
        if n % L or xT.shape[1] != n or cT.shape[1] != n or hN.shape[1] != n:
            return False
        if xT.strides[1] != 4 or hT.strides[1] != 4 or cT.strides[1] != 4 or hN.strides[1] != 4:
            return False
        l = 0
        while l + 4 * L <= n:
            for j in range(hT.shape[0]):
                _lstm_unit4(xT, hT, W, b, off, scale, cT, hN, j, l, L)
            l += 4 * L
        while l < n:
            for j in range(hT.shape[0]):
                _lstm_unit1(xT, hT, W, b, off, scale, cT, hN, j, l)
            l += L
        return True

    return impl


# --------------------------------------------------------------------------
# the lanes layout's Elman step in registers (float32)
# --------------------------------------------------------------------------


@_jit
def _rnn_units4(xT, hT, W, b, hN, j, l, L):
    """Units j..j+3's step for four vectors of lanes from l: 16 accumulators in registers.

    ``W`` row j holds unit j's inputs' weights, then its recurrent ones; ``b[j]`` its bias.
    """
    a0, a1, a2, a3, c0, c1, c2, c3, d0, d1, d2, d3, e0, e1, e2, e3 = _sums4x4(xT, hT, W, b, j, l, L)
    _store4(hN, j, l, L, _vtanh32(a0), _vtanh32(a1), _vtanh32(a2), _vtanh32(a3))
    _store4(hN, j + 1, l, L, _vtanh32(c0), _vtanh32(c1), _vtanh32(c2), _vtanh32(c3))
    _store4(hN, j + 2, l, L, _vtanh32(d0), _vtanh32(d1), _vtanh32(d2), _vtanh32(d3))
    _store4(hN, j + 3, l, L, _vtanh32(e0), _vtanh32(e1), _vtanh32(e2), _vtanh32(e3))


@_jit
def _rnn_unit1(xT, hT, W, b, hN, j, l):
    """Unit j's step for one vector of lanes from l."""
    D, N = xT.shape[0], hT.shape[0]
    a = vsplat(b[j])
    for k in range(D + N):  # the inputs, then the states: k ascending
        v = vload(xT, k, l) if k < D else vload(hT, k - D, l)
        a = vfma(v, vsplat(W[j, k]), a)
    vstore(hN, j, l, _vtanh32(a))


def rnn_lanes_step(xT, hT, W, b, hN):
    """One Elman step of a lanes block, every unit, in registers; whether it ran.

    As :func:`lstm_lanes_step` (its arrays and conditions), for four units at a time
    (``W`` (N, D + N), ``b`` (N,)): their sums over four vectors of lanes in 16 registers,
    then their tanh; the units beyond a multiple of four one vector of lanes at a time.
    """
    raise NotImplementedError  # compiled code only (the overload below)


@overload(rnn_lanes_step, jit_options={"cache": True})
def _ol_rnn_lanes_step(xT, hT, W, b, hN):
    if xT.dtype != types.float32:
        return lambda xT, hT, W, b, hN: False

    def impl(xT, hT, W, b, hN):
        L = VECTOR_BYTES // 4
        n, N = hT.shape[1], hT.shape[0]
        if n % L or xT.shape[1] != n or hN.shape[1] != n:
            return False
        if xT.strides[1] != 4 or hT.strides[1] != 4 or hN.strides[1] != 4:
            return False
        quads = N - N % 4
        l = 0
        while l + 4 * L <= n:
            for j in range(0, quads, 4):
                _rnn_units4(xT, hT, W, b, hN, j, l, L)
            for j in range(quads, N):
                for q in range(4):
                    _rnn_unit1(xT, hT, W, b, hN, j, l + q * L)
            l += 4 * L
        while l < n:
            for j in range(N):
                _rnn_unit1(xT, hT, W, b, hN, j, l)
            l += L
        return True

    return impl
