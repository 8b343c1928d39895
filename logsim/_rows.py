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


def _c_float64(t, ndim: int) -> bool:
    return (isinstance(t, types.Array) and t.ndim == ndim and t.dtype == types.float64
            and t.layout == "C")


@intrinsic
def combine_rows(typingctx, coef, rows, out):
    """``out[b] = sum_k coef[k] rows[k, b]``, fused multiply-adds in order of ``k`` from 0.

    Preconditions, not checked: ``coef`` is ``(K,)``, ``rows`` is ``(K, m)``, ``out`` is
    ``(m,)`` and overlaps neither input. Each must be typed C-contiguous float64 (a typing
    error otherwise).
    """
    if not (_c_float64(coef, 1) and _c_float64(rows, 2) and _c_float64(out, 1)):
        return None
    sig = types.void(coef, rows, out)

    def codegen(context, builder, signature, args):
        c_arr, r_arr, o_arr = [context.make_array(t)(context, builder, v)
                               for t, v in zip(signature.args, args, strict=True)]
        n_terms, m = cgutils.unpack_tuple(builder, r_arr.shape)
        f64 = ir.DoubleType()
        i64 = ir.IntType(64)
        vec = ir.VectorType(f64, _LANES)
        vfma = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(vec, [vec] * 3), f"llvm.fma.v{_LANES}f64")

        def const(v):
            return ir.Constant(i64, v)

        def vector_at(ptr, index):
            return builder.bitcast(builder.gep(ptr, [index]), vec.as_pointer())

        def splat(x):
            one = builder.insert_element(ir.Constant(vec, ir.Undefined), x,
                                         ir.Constant(ir.IntType(32), 0))
            return builder.shuffle_vector(one, ir.Constant(vec, ir.Undefined),
                                          ir.Constant(ir.VectorType(ir.IntType(32), _LANES),
                                                      [0] * _LANES))

        # Accumulators are allocas (in the entry block): LLVM's mem2reg turns them into
        # registers, as the loop-carried values of the loop over k.
        start = cgutils.alloca_once_value(builder, const(0))  # first output not yet done
        for registers in _PASSES:
            width = registers * _LANES
            count = builder.sdiv(builder.sub(m, builder.load(start)), const(width))
            with cgutils.for_range(builder, count) as block:
                b0 = builder.add(builder.load(start), builder.mul(block.index, const(width)))
                accs = [cgutils.alloca_once_value(builder, ir.Constant(vec, [0.0] * _LANES))
                        for _ in range(registers)]
                with cgutils.for_range(builder, n_terms) as term:
                    k = term.index
                    c = splat(builder.load(builder.gep(c_arr.data, [k])))
                    row = builder.add(builder.mul(k, m), b0)
                    for v, acc in enumerate(accs):
                        r = builder.load(vector_at(r_arr.data, builder.add(row, const(v * _LANES))),
                                         align=8)
                        builder.store(builder.call(vfma, [c, r, builder.load(acc)]), acc)
                for v, acc in enumerate(accs):
                    builder.store(builder.load(acc),
                                  vector_at(o_arr.data, builder.add(b0, const(v * _LANES))),
                                  align=8)
            builder.store(builder.add(builder.load(start), builder.mul(count, const(width))),
                          start)
        with cgutils.for_range(builder, builder.sub(m, builder.load(start))) as tail:
            b = builder.add(builder.load(start), tail.index)
            acc = cgutils.alloca_once_value(builder, ir.Constant(f64, 0.0))
            with cgutils.for_range(builder, n_terms) as term:
                k = term.index
                c = builder.load(builder.gep(c_arr.data, [k]))
                r = builder.load(builder.gep(r_arr.data, [builder.add(builder.mul(k, m), b)]))
                builder.store(builder.fma(c, r, builder.load(acc)), acc)
            builder.store(builder.load(acc), builder.gep(o_arr.data, [b]))
        return context.get_dummy_value()

    return sig, codegen
