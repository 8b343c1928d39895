"""The one place that decides Numba compilation options.

Every kernel in logsim is compiled through :func:`kernel` (entry points called from
Python, with or without ``prange``),
:func:`helper` (small functions inlined into their callers at the Numba level),
:func:`called` (compiled once and called, to keep compile time down),
:func:`ordered_sums` (loop nests with their own floating-point flags), so caching
and flags cannot drift between modules. :func:`in_threads` runs compiled calls on
several threads, :func:`pieces` splits their work.

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

import itertools
from concurrent.futures import ThreadPoolExecutor

import numba

#: Options shared by every compiled function. Pass them to any ``numba.extending.overload``
#: implementation too, which otherwise gets Numba's defaults: ``error_model="python"`` puts
#: a zero-division check in every division, which stops LLVM from vectorising a loop.
JIT_OPTIONS = {"cache": True, "nogil": True, "error_model": "numpy"}


def kernel(fn=None, *, parallel: bool = True):
    """Compile an entry point (``njit(parallel=parallel)`` with :data:`JIT_OPTIONS`)."""
    deco = numba.njit(parallel=parallel, **JIT_OPTIONS)
    return deco if fn is None else deco(fn)


def ordered_sums(fn):
    """Compile a small loop nest that sums in the order written, with fused multiply-adds.

    It only borrows its arrays (:data:`BORROWING`): no allocation."""
    return numba.njit(fastmath={"contract"}, **BORROWING, **JIT_OPTIONS)(fn)


def _contraction_fuses() -> bool:
    """Whether a ``contract`` loop fuses ``a * b + c`` on the target, by compiling one.

    With 1 + 2**-30 and 1 - 2**-30 the product is 1 - 2**-60: fused, adding -1 leaves
    -2**-60; rounded first, 0. Not cached (reading Numba's cache unpickles), so it costs
    a compile (about 0.7 s): :func:`require_fused_multiply_add` calls it only where the
    target's features do not settle the question.
    """
    multiply_add = numba.njit(fastmath={"contract"}, nogil=True, error_model="numpy")(
        lambda a, b, c: a * b + c)
    return multiply_add(1.0 + 2.0**-30, 1.0 - 2.0**-30, -1.0) == -(2.0**-60)


def require_fused_multiply_add() -> None:
    """Raise ImportError unless :func:`ordered_sums` loops fuse ``a * b + c`` on this target.

    The products of :mod:`logsim._rows` always emit ``llvm.fma`` (one rounding, in
    software where the CPU has no FMA instructions), while ``contract`` only lets LLVM
    fuse where the target has them. A lone trajectory (ordered loops) and the same
    trajectory in a group (``_rows`` products) get the same bits only where both fuse,
    and which trajectories run alone depends on the thread count. The target is the CPU
    Numba compiles for: the host, or ``NUMBA_CPU_NAME``/``NUMBA_CPU_FEATURES``. On
    64-bit ARM FMA is part of the base instruction set; on x86 a ``+fma`` in the
    target's features settles it; anything else is decided by compiling a multiply-add.
    """
    import platform

    from llvmlite import binding

    if platform.machine().lower() in ("aarch64", "arm64"):
        return
    features = numba.config.CPU_FEATURES
    if features is None:
        features = binding.get_host_cpu_features().flatten()
    if "+fma" in features.split(",") or _contraction_fuses():
        return
    cpu = numba.config.CPU_NAME
    target = (f"NUMBA_CPU_NAME={cpu!r}, NUMBA_CPU_FEATURES={features!r}"
              if cpu or numba.config.CPU_FEATURES is not None else "the host CPU")
    raise ImportError(
        f"logsim needs fused multiply-add (FMA) instructions on the CPU Numba compiles "
        f"for ({target}): without them a trajectory's results would differ alone and "
        "in a group, so they would depend on the thread count. Run on a CPU with FMA "
        "(x86-64 since 2013, every 64-bit ARM), and unset NUMBA_CPU_NAME or name a CPU "
        "that has it (e.g. NUMBA_CPU_NAME=haswell, not generic)."
    )


require_fused_multiply_add()


def helper(fn):
    """Compile a small scalar helper that is always inlined into its caller."""
    return numba.njit(inline="always", **JIT_OPTIONS)(fn)


def called(fn):
    """Compile a loop that kernels call rather than inline: one copy of its machine code
    however many kernels use it, which keeps their compile time down (strict IEEE)."""
    return numba.njit(**JIT_OPTIONS)(fn)


#: Options of a compiled function that only reads and writes the arrays it is given: no
#: allocation, no array returned or kept. Compiled without Numba's runtime (``_nrt``, a
#: private option of ``numba.njit``), such a function binds its array arguments without
#: reference counting, where each call otherwise made an atomic increment and decrement
#: per array argument that Numba's pruning pass could not remove inside a kernel's step
#: loop (docs/design.md, "Reference counting in the step loop"). A function that
#: allocates fails to compile with this option (a typing error at its first call).
BORROWING = {"_nrt": False}


def called_borrowing(fn):
    """:func:`called` for a loop that only borrows its arrays (:data:`BORROWING`)."""
    return numba.njit(**BORROWING, **JIT_OPTIONS)(fn)


def in_threads(calls, threads: int) -> None:
    """Make the zero-argument ``calls`` on up to ``threads`` threads, each taking the next.

    Compiled functions release the GIL (``nogil``), so Python threads run them in
    parallel without a parallel (``prange``) entry point, whose compilation re-optimises
    and re-generates all the code below it (7-9 s of a cold run, measured). The calls
    must write disjoint outputs; which thread makes a call never changes its result. The
    first exception raised by a call is raised here, after every call has finished.
    """
    if threads <= 1 or len(calls) <= 1:
        errors = []
        for call in calls:
            try:
                call()
            except Exception as exc:  # the others still run, as on several threads
                errors.append(exc)
        if errors:
            raise errors[0]
        return
    with ThreadPoolExecutor(max_workers=min(threads, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
    for future in futures:
        future.result()


#: Pieces of work per thread in :func:`pieces`: enough that a thread finishing early
#: takes another (rows or trajectories may differ in cost), few enough that the Python
#: call per piece (tens of microseconds) stays negligible.
PIECES_PER_THREAD = 4


def pieces(count: int, threads: int) -> list[slice]:
    """Split ``range(count)`` into at most ``PIECES_PER_THREAD * threads`` contiguous slices."""
    parts = min(count, max(1, threads) * PIECES_PER_THREAD)
    bounds = [count * i // parts for i in range(parts + 1)] if parts else []
    return [slice(lo, hi) for lo, hi in itertools.pairwise(bounds)]
