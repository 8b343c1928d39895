"""The one place that decides Numba compilation options.

Every kernel in logsim is compiled through :func:`kernel` (parallel drivers) or
:func:`helper` (small scalar functions inlined into the drivers), so caching and
floating-point flags cannot drift between modules.

``fastmath`` is off on purpose: results must be bit-identical across thread
counts and chunkings, and reassociation of reductions would break that.
"""

from __future__ import annotations

import numba

#: Options shared by every compiled function.
_COMMON = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel(fn=None, *, parallel: bool = True):
    """Compile a driver kernel (``njit(parallel=True, cache=True)``)."""
    deco = numba.njit(parallel=parallel, **_COMMON)
    return deco if fn is None else deco(fn)


def helper(fn):
    """Compile a small scalar helper that is always inlined into its caller."""
    return numba.njit(inline="always", **_COMMON)(fn)
