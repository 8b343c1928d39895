"""``out = coef @ rows``, one output row of a product, with its sums held in registers.

The loop path of a group of trajectories (``kernels._lanes_products``) computes
``Z = X W^T`` row by row, ``Z[i] = sum_j X[i, j] W^T[j]``, and ``G^T = X^T RZ`` row by
row, ``G^T[j] = sum_i X[i, j] RZ[i]``. Written as Numba loops, each partial sum went
back to memory after every term: Numba cannot tell LLVM that ``Z`` and ``W^T`` do not
overlap, so LLVM keeps ``Z[i, b]`` in memory, and every fused multiply-add waited for a
store and a load (about half the machine's rate, measured). :func:`combine_rows` emits
the loop directly in LLVM IR: up to eight ``<4 x double>`` accumulators stay in
registers for the whole sum and are stored once.

Each output is the same chain of fused multiply-adds as the ordered loops it replaces,
``acc = fma(coef[k], rows[k, b], acc)`` for ``k = 0, 1, ..., K-1`` from ``acc = 0``, so
the bits are the same as :func:`logsim.kernels._logits_all` and ``_project`` give a lone
trajectory (tested in tests/test_kernels.py).
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

#: float64 lanes of one AVX2 register. Without AVX2, LLVM splits each vector into two
#: SSE2 registers (or scalars): the same operations, at a lower rate.
_LANES = 4
#: Registers of accumulators per pass over ``K``, widest first: 8 registers (32 outputs)
#: keep both FMA units of a core busy through each FMA's 4-cycle latency; the narrower
#: passes take what is left, then a scalar loop the last ``< 4`` outputs.
_PASSES = (8, 4, 2, 1)


def _c_array(t, ndim: int, dtype=types.float64) -> bool:
    return isinstance(t, types.Array) and t.ndim == ndim and t.dtype == dtype and t.layout == "C"


def _array_structs(context, builder, signature, args):
    """The intrinsic's array arguments as Numba array structs (``.data``, ``.shape``)."""
    return [context.make_array(t)(context, builder, v)
            for t, v in zip(signature.args, args, strict=True)]


_F64 = ir.DoubleType()
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_VEC = ir.VectorType(_F64, _LANES)


def _i64(value):
    return ir.Constant(_I64, value)


def _vector_fma(builder):
    """``llvm.fma`` on ``<4 x double>``: one vfmadd per call on AVX2."""
    return cgutils.get_or_insert_function(
        builder.module, ir.FunctionType(_VEC, [_VEC] * 3), f"llvm.fma.v{_LANES}f64")


def _vector_at(builder, ptr, index):
    """Pointer to the ``_LANES`` doubles from element ``index`` of ``ptr`` (use align 8)."""
    return builder.bitcast(builder.gep(ptr, [index]), _VEC.as_pointer())


def _shuffle(builder, a, b, mask):
    return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, _LANES), mask))


def _emit_combination(builder, coef, rows, out, n_terms, row_of):
    """Emit ``out[b] = sum_{k < n_terms} coef[k] rows[row_of(k), b]`` (arrays as structs)."""
    m = cgutils.unpack_tuple(builder, rows.shape)[1]
    vfma = _vector_fma(builder)
    undefined = ir.Constant(_VEC, ir.Undefined)

    def splat(x):
        one = builder.insert_element(undefined, x, ir.Constant(_I32, 0))
        return _shuffle(builder, one, undefined, [0] * _LANES)

    # Accumulators are allocas (in the entry block): LLVM's mem2reg turns them into
    # registers, as the loop-carried values of the loop over k.
    start = cgutils.alloca_once_value(builder, _i64(0))  # first output not yet done
    for registers in _PASSES:
        width = registers * _LANES
        count = builder.sdiv(builder.sub(m, builder.load(start)), _i64(width))
        with cgutils.for_range(builder, count) as block:
            b0 = builder.add(builder.load(start), builder.mul(block.index, _i64(width)))
            accs = [cgutils.alloca_once_value(builder, ir.Constant(_VEC, [0.0] * _LANES))
                    for _ in range(registers)]
            with cgutils.for_range(builder, n_terms) as term:
                k = term.index
                c = splat(builder.load(builder.gep(coef.data, [k])))
                row = builder.add(builder.mul(row_of(k), m), b0)
                for v, acc in enumerate(accs):
                    at = _vector_at(builder, rows.data, builder.add(row, _i64(v * _LANES)))
                    r = builder.load(at, align=8)
                    builder.store(builder.call(vfma, [c, r, builder.load(acc)]), acc)
            for v, acc in enumerate(accs):
                builder.store(builder.load(acc),
                              _vector_at(builder, out.data, builder.add(b0, _i64(v * _LANES))),
                              align=8)
        builder.store(builder.add(builder.load(start), builder.mul(count, _i64(width))),
                      start)
    with cgutils.for_range(builder, builder.sub(m, builder.load(start))) as tail:
        b = builder.add(builder.load(start), tail.index)
        acc = cgutils.alloca_once_value(builder, ir.Constant(_F64, 0.0))
        with cgutils.for_range(builder, n_terms) as term:
            k = term.index
            c = builder.load(builder.gep(coef.data, [k]))
            r = builder.load(builder.gep(rows.data, [builder.add(builder.mul(row_of(k), m), b)]))
            builder.store(builder.fma(c, r, builder.load(acc)), acc)
        builder.store(builder.load(acc), builder.gep(out.data, [b]))


@intrinsic
def combine_rows(typingctx, coef, rows, out):
    """``out[b] = sum_k coef[k] rows[k, b]``, fused multiply-adds in order of ``k`` from 0.

    Preconditions, not checked: ``coef`` is ``(K,)``, ``rows`` is ``(K, m)``, ``out`` is
    ``(m,)`` and overlaps neither input. Each must be typed C-contiguous float64 (a typing
    error otherwise).
    """
    if not (_c_array(coef, 1) and _c_array(rows, 2) and _c_array(out, 1)):
        return None
    sig = types.void(coef, rows, out)

    def codegen(context, builder, signature, args):
        c_arr, r_arr, o_arr = _array_structs(context, builder, signature, args)
        n_terms = cgutils.unpack_tuple(builder, r_arr.shape)[0]
        _emit_combination(builder, c_arr, r_arr, o_arr, n_terms, lambda k: k)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def combine_rows_at(typingctx, coef, rows, index, out):
    """``out[b] = sum_k coef[k] rows[index[k], b]`` for ``k < len(coef)``, in order of ``k``.

    :func:`combine_rows` on the rows ``index[:len(coef)]`` of ``rows``, gathered as they
    are read (a mini-batch's rows of ``X``). Preconditions, not checked: every
    ``index[k]`` for ``k < len(coef)`` is a row of ``rows``; ``index`` is C-contiguous
    int64; the rest as :func:`combine_rows`.
    """
    if not (_c_array(coef, 1) and _c_array(rows, 2) and _c_array(index, 1, types.int64)
            and _c_array(out, 1)):
        return None
    sig = types.void(coef, rows, index, out)

    def codegen(context, builder, signature, args):
        c_arr, r_arr, i_arr, o_arr = _array_structs(context, builder, signature, args)
        n_terms = cgutils.unpack_tuple(builder, c_arr.shape)[0]

        def row_of(k):
            return builder.load(builder.gep(i_arr.data, [k]))

        _emit_combination(builder, c_arr, r_arr, o_arr, n_terms, row_of)
        return context.get_dummy_value()

    return sig, codegen


#: Rows per pass of :func:`dot_rows_at`, widest first: eight accumulators in flight keep
#: both FMA units busy; rows left over go four, then one at a time.
_DOT_PASSES = (8, 4, 1)


@intrinsic
def dot_rows_at(typingctx, rows, index, w, out):
    """``out[k] = rows[index[k]] . w`` for every ``k < len(out)`` (a mini-batch's logits).

    Each dot product has a fixed order, whatever the pass its row falls in: four partial
    sums ``s_l = sum_{j = l mod 4} x_j w_j`` over the first ``4 floor(d / 4)`` features
    (fused multiply-adds in order of ``j``), then ``(s_0 + s_1) + (s_2 + s_3)``, then the
    last ``d mod 4`` features one fused multiply-add each. Preconditions, not checked:
    ``rows`` is ``(n, d)``, ``w`` is ``(d,)``, and every ``index[k]`` for ``k < len(out)``
    is a row of ``rows``; ``index`` C-contiguous int64, the others C-contiguous float64.
    """
    if not (_c_array(rows, 2) and _c_array(index, 1, types.int64) and _c_array(w, 1)
            and _c_array(out, 1)):
        return None
    sig = types.void(rows, index, w, out)

    def codegen(context, builder, signature, args):
        r_arr, i_arr, w_arr, o_arr = _array_structs(context, builder, signature, args)
        d = cgutils.unpack_tuple(builder, r_arr.shape)[1]
        count = cgutils.unpack_tuple(builder, o_arr.shape)[0]
        vfma = _vector_fma(builder)

        def shuffle(a, b, mask):
            return _shuffle(builder, a, b, mask)

        def row_start(k):
            return builder.mul(builder.load(builder.gep(i_arr.data, [k])), d)

        def load_vector(ptr, index):
            return builder.load(_vector_at(builder, ptr, index), align=8)

        def four_sums(a, b, c, e):
            # [(a0+a1)+(a2+a3), (b0+b1)+(b2+b3), (c0+c1)+(c2+c3), (e0+e1)+(e2+e3)]
            ab = builder.fadd(shuffle(a, b, [0, 4, 2, 6]), shuffle(a, b, [1, 5, 3, 7]))
            ce = builder.fadd(shuffle(c, e, [0, 4, 2, 6]), shuffle(c, e, [1, 5, 3, 7]))
            return builder.fadd(shuffle(ab, ce, [0, 1, 4, 5]), shuffle(ab, ce, [2, 3, 6, 7]))

        full = builder.mul(builder.sdiv(d, _i64(_LANES)), _i64(_LANES))  # features in vectors
        done = cgutils.alloca_once_value(builder, _i64(0))  # rows finished
        for width in _DOT_PASSES:
            passes = builder.sdiv(builder.sub(count, builder.load(done)), _i64(width))
            with cgutils.for_range(builder, passes) as block:
                k0 = builder.add(builder.load(done), builder.mul(block.index, _i64(width)))
                starts = [row_start(builder.add(k0, _i64(r))) for r in range(width)]
                accs = [cgutils.alloca_once_value(builder, ir.Constant(_VEC, [0.0] * _LANES))
                        for _ in range(width)]
                with cgutils.for_range(builder, builder.sdiv(d, _i64(_LANES))) as feature:
                    j = builder.mul(feature.index, _i64(_LANES))
                    wv = load_vector(w_arr.data, j)
                    for start, acc in zip(starts, accs, strict=True):
                        x = load_vector(r_arr.data, builder.add(start, j))
                        builder.store(builder.call(vfma, [x, wv, builder.load(acc)]), acc)
                sums = [builder.load(acc) for acc in accs]
                if width == 1:  # the same order as four_sums' lanes
                    s = sums[0]
                    lane = [builder.extract_element(s, ir.Constant(_I32, i)) for i in range(4)]
                    totals = [builder.fadd(builder.fadd(lane[0], lane[1]),
                                           builder.fadd(lane[2], lane[3]))]
                else:
                    totals = []
                    for q in range(0, width, 4):
                        v = four_sums(*sums[q:q + 4])
                        totals += [builder.extract_element(v, ir.Constant(_I32, i))
                                   for i in range(4)]
                for r, (start, total) in enumerate(zip(starts, totals, strict=True)):
                    acc = cgutils.alloca_once_value(builder, total)
                    with cgutils.for_range(builder, builder.sub(d, full)) as rest:
                        j = builder.add(full, rest.index)
                        x = builder.load(builder.gep(r_arr.data, [builder.add(start, j)]))
                        wj = builder.load(builder.gep(w_arr.data, [j]))
                        builder.store(builder.fma(x, wj, builder.load(acc)), acc)
                    builder.store(builder.load(acc),
                                  builder.gep(o_arr.data, [builder.add(k0, _i64(r))]))
            builder.store(builder.add(builder.load(done), builder.mul(passes, _i64(width))),
                          done)
        return context.get_dummy_value()

    return sig, codegen
