"""An ``exp`` that LLVM can vectorise.

Current llvmlite wheels ship no SVML, so ``math.exp`` inside a Numba loop is a
scalar libm call that blocks vectorisation and dominates the logistic step
(measured: 8.7 ns against 1.1 ns per element on the first machine; docs/design.md,
"The low-level tricks"). :func:`exp`
is Cody-Waite range reduction (fused multiply-adds), a degree-13 Taylor polynomial
(Estrin's scheme for the high terms, Horner for the low ones) and the scale ``2**k``
written directly into the exponent bits, all straight-line code.
:func:`exp_nonpositive` is the same without the checks above 709, for ``e**-|z|``.

Accuracy: within 1.01 ulp of libm's ``exp`` on [-708, 709] (tested). Below
-708 it returns 0 (libm returns a subnormal under 3.3e-308), above 709 ``inf``.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from logsim._jit import called, helper

_LOG2E = 1.4426950408889634
_LN2_HI = 0.6931471803691238  # ln 2 rounded to 32 significant bits: k * _LN2_HI is exact
_LN2_LO = 1.9082149292705877e-10  # ln 2 - _LN2_HI
# 1.5 * 2**52: for |v| < 2**51, v + _SHIFT rounds v to the nearest integer k and holds
# k in the low bits of its mantissa, so bits(v + _SHIFT) - bits(_SHIFT) == k exactly.
_SHIFT = 6755399441055744.0
_SHIFT_BITS = 0x4338000000000000


@intrinsic
def _bits_to_float(typingctx, bits):
    """Reinterpret the 64 bits of an int64 as a float64 (no conversion)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


@intrinsic
def _float_to_bits(typingctx, value):
    """Reinterpret the 64 bits of a float64 as an int64 (no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return sig, codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` with one rounding (``llvm.fma.f64``: one vfmadd where vectorised)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        return builder.fma(*args)

    return sig, codegen


@helper
def _exp_reduced(x):
    """``e**x`` for ``x`` in [-708, 709]: the range reduction, polynomial and scale.

    ``k = round(x / ln 2)`` by the shifter trick and ``2**k`` by integer adds and a
    shift on the bits, so that no float-to-int64 conversion is needed: AVX2 has no
    vector instruction for one (it exists only from AVX-512DQ), and LLVM would
    otherwise unpack every vector into scalars there. The reduction is three fused
    multiply-adds: ``k * _LN2_HI`` is exact, so ``x - k * _LN2_HI`` rounds once either
    way, and the fused forms shorten the chain of dependent operations, which is what
    limits a vectorised loop of these (about 90 cycles from ``x`` to a residual).
    """
    shifted = fma(x, _LOG2E, _SHIFT)
    k = shifted - _SHIFT  # round(x log2 e), an integer-valued float64
    r = fma(k, -_LN2_HI, x)
    r = fma(k, -_LN2_LO, r)  # |r| <= ln(2)/2 (plus rounding)
    # Taylor series of e**r to degree 13: truncation error < 4e-18 relative on |r| <= 0.35.
    # The terms from r**4 up, H(r) = sum_{k=4}^{13} r**(k-4) / k!, by Estrin's scheme
    # (independent fused multiply-adds, a short dependency chain); the four leading
    # terms, which decide the rounding, by Horner: 1 + r (1 + r (1/2 + r (1/6 + r H))).
    r2 = r * r
    r4 = r2 * r2
    a0 = fma(1.0 / 120.0, r, 1.0 / 24.0)
    a1 = fma(1.0 / 5040.0, r, 1.0 / 720.0)
    a2 = fma(1.0 / 362880.0, r, 1.0 / 40320.0)
    a3 = fma(1.0 / 39916800.0, r, 1.0 / 3628800.0)
    a4 = fma(1.0 / 6227020800.0, r, 1.0 / 479001600.0)
    high = fma(fma(a4, r4, fma(a3, r2, a2)), r4, fma(a1, r2, a0))
    p = fma(high, r, 1.0 / 6.0)
    p = fma(p, r, 0.5)
    p = fma(p, r, 1.0)
    p = fma(p, r, 1.0)
    k_int = _float_to_bits(shifted) - _SHIFT_BITS
    return p * _bits_to_float((k_int + 1023) << 52)


@helper
def exp(x):
    """``e**x`` within about 1 ulp on [-708, 709]; 0 below, ``inf`` above (NaN stays NaN)."""
    value = _exp_reduced(min(max(x, -708.0), 709.0))
    if x < -708.0:
        return 0.0
    if x > 709.0:
        return np.inf
    if x != x:
        return x
    return value


@helper
def exp_nonpositive(x):
    """:func:`exp` for ``x <= 0`` (NaN stays NaN), without the checks above 709.

    The logistic loss needs ``e**-|z|`` only; dropping the upper clamp and its select
    saves about 8 % of a vectorised residual loop (measured). Same bits as :func:`exp`.
    """
    value = _exp_reduced(max(x, -708.0))
    if x < -708.0:
        return 0.0
    if x != x:
        return x
    return value


#: :func:`exp` compiled once and called rather than inlined, for scalar code off the hot
#: path (the losses' ``softplus`` and ``sigmoid``). Numba inlines a helper by copying its
#: IR, at a cost that grows with the caller's size; ten inlined copies of this polynomial
#: made ``loss_value`` alone take 6-18 s to compile. Same instructions, same bits.
exp_called = called(exp.py_func)
