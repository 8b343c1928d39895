"""The one place that decides Numba compilation options.

Every kernel in logsim is compiled through :func:`kernel` (parallel drivers),
:func:`helper` (small functions inlined into their callers at the Numba level),
:func:`called` (compiled once and called, to keep compile time down),
:func:`ordered_sums` (loop nests with their own floating-point flags), so caching
and flags cannot drift between modules.

Floating-point flags: the loss helpers and drivers are compiled with strict IEEE
semantics (their accuracy is tested to a few ulps). The linear-algebra loops
(``X w`` and ``X^T r``) allow FMA contraction: :func:`ordered_sums` keeps every sum
in the order written (so two loop nests that sum the same terms in the same order
give the same bits, however each is vectorised). The products whose order is fixed by
hand in LLVM IR (:mod:`logsim._rows`) are called from such functions too. Results are
bit-identical across thread counts and chunkings, while the sum order differs from a
naive left-to-right loop by rounding only. They are separate functions (not inlined at
the Numba level), so their flags never leak into the loss helpers.
"""

from __future__ import annotations

import numba

#: Options shared by every compiled function (also passed to ``numba.extending.overload``
#: implementations, which otherwise get Numba's defaults: ``error_model="python"`` puts a
#: zero-division check in every division, which stops LLVM from vectorising a loop).
JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel(fn=None, *, parallel: bool = True):
    """Compile a driver kernel (``njit(parallel=True, cache=True)``)."""
    deco = numba.njit(parallel=parallel, **JIT_OPTIONS)
    return deco if fn is None else deco(fn)


def ordered_sums(fn):
    """Compile a small loop nest that sums in the order written, with fused multiply-adds."""
    return numba.njit(fastmath={"contract"}, **JIT_OPTIONS)(fn)


def helper(fn):
    """Compile a small scalar helper that is always inlined into its caller."""
    return numba.njit(inline="always", **JIT_OPTIONS)(fn)


def called(fn):
    """Compile a loop that kernels call rather than inline: one copy of its machine code
    however many kernels use it, which keeps their compile time down (strict IEEE)."""
    return numba.njit(**JIT_OPTIONS)(fn)
