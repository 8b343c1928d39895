"""``out = a @ b`` on BLAS from inside a kernel, without ``np.dot``'s argument checks.

Numba's ``np.dot(a, b, out)`` checks the shapes and raises errors whose messages are
formatted at run time; compiling that formatting (string, repr and join machinery) cost
5-7 s of the kernels' cold compile, for shapes the kernel itself has just made. The
product here is the same ``numba_xxgemm`` call Numba makes (its own binding to SciPy's
BLAS, with the same transpose flags and leading dimensions), so the bits are the same as
``np.dot``'s matrix-matrix path.
"""

from __future__ import annotations

from numba import types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.linalg import call_xxgemm, ensure_blas


def _contiguous_float64_matrix(t) -> bool:
    return (isinstance(t, types.Array) and t.ndim == 2 and t.dtype == types.float64
            and t.layout in ("C", "F"))


@intrinsic
def gemm(typingctx, a, b, out):
    """``out[:] = a @ b`` with one BLAS ``dgemm`` call (``alpha = 1``, ``beta = 0``).

    Preconditions, not checked: ``a`` is ``(m, k)``, ``b`` is ``(k, n)``, ``out`` is
    ``(m, n)``, all with ``m, n, k >= 1``, and ``out`` overlaps neither input. Each array
    must be typed C- or F-contiguous (a typing error otherwise: BLAS needs a leading
    dimension).
    """
    if not all(_contiguous_float64_matrix(t) for t in (a, b, out)):
        return None
    sig = types.void(a, b, out)

    def codegen(context, builder, signature, args):
        ensure_blas()
        arrays = [context.make_array(t)(context, builder, v)
                  for t, v in zip(signature.args, args, strict=True)]
        shapes = [cgutils.unpack_tuple(builder, arr.shape) for arr in arrays]
        call_xxgemm(context, builder,
                    signature.args[0], shapes[0], arrays[0].data,
                    signature.args[1], shapes[1], arrays[1].data,
                    signature.args[2], shapes[2], arrays[2].data)
        return context.get_dummy_value()

    return sig, codegen
