"""What the kernels assume of the machine and of Numba, tested where it can change.

* Fused multiply-adds on the target (``logsim._jit.require_fused_multiply_add``).
* The BLAS path's product, ``logsim._blas.gemm`` (Numba's private ``call_xxgemm``
  binding), gives the bits of Numba's ``np.dot`` on every shape the kernel uses.
* The BLAS library in use computes a column of a product the same way wherever it sits
  in a product whose width is a multiple of ``kernels.GEMM_COLUMNS`` (what makes a
  trajectory's bits independent of its neighbours on the BLAS path).
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from numba import njit
from threadpoolctl import threadpool_limits

from logsim import kernels
from logsim._blas import gemm


def test_logsim_refuses_a_target_without_fused_multiply_add(tmp_path):
    """NUMBA_CPU_NAME=generic (no FMA): the ordered loops would round twice, the _rows
    products once, so a trajectory would get other bits alone than in a group."""
    env = {**os.environ, "NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path)}
    env.pop("NUMBA_CPU_FEATURES", None)
    proc = subprocess.run([sys.executable, "-c", "import logsim"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode != 0
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: logsim needs fused multiply-add (FMA) instructions")
    assert "NUMBA_CPU_NAME='generic'" in last


def test_the_compiled_check_sees_this_machine_fuse():
    """The fast path (``+fma`` among the target's features) and the compiled check agree
    here; the compiled check alone decides the NUMBA_CPU_NAME=generic case above."""
    from logsim import _jit

    assert _jit._contraction_fuses()


@njit
def _gemm(a, b, out):
    gemm(a, b, out)


@njit
def _numba_dot(a, b, out):
    np.dot(a, b, out)


def _kernel_shapes():
    """``(rows, d, m)`` of the two products of a sample block on the BLAS path: blocks of
    ``SAMPLE_BLOCK`` rows and a ragged last one (down to 2), d from GEMM_MIN_FEATURES to the
    benchmarks' 500, groups of 16 to MAX_GEMM_GROUP columns."""
    block = kernels.SAMPLE_BLOCK
    for rows in (block, 37, 2):
        for d in (kernels.GEMM_MIN_FEATURES, 65, 500):
            for m in range(kernels.GEMM_COLUMNS, kernels.MAX_GEMM_GROUP + 1,
                           kernels.GEMM_COLUMNS):
                yield rows, d, m


@pytest.mark.parametrize(("rows", "d", "m"), list(_kernel_shapes()))
def test_gemm_gives_the_bits_of_numbas_np_dot(rows, d, m):
    """Both products of ``_blas_pass``: ``Z_k = X_k W^T`` (C x C) and
    ``partial_k = X_k^T RZ_k`` (F x C), each one BLAS thread, as the kernel runs them."""
    g = np.random.default_rng([rows, d, m])
    X = g.normal(size=(rows, d))
    WT = g.normal(size=(d, m))
    RZ = g.normal(size=(rows, m))
    with threadpool_limits(1, user_api="blas"):
        for a, b in ((X, WT), (X.T, RZ)):
            got = np.empty((a.shape[0], b.shape[1]))
            want = np.empty_like(got)
            _gemm(a, b, got)
            _numba_dot(a, b, want)
            np.testing.assert_array_equal(got, want)
            np.testing.assert_allclose(got, a @ b, rtol=1e-12, atol=1e-12)


def test_gemm_of_one_row_is_the_ordered_sum_to_rounding():
    """A one-row block (n = 1 mod SAMPLE_BLOCK) stays a gemm where np.dot would take gemv."""
    g = np.random.default_rng(1)
    x, WT = g.normal(size=(1, 70)), g.normal(size=(70, 32))
    got = np.empty((1, 32))
    _gemm(x, WT, got)
    np.testing.assert_allclose(got[0], [sum(x[0] * WT[:, b]) for b in range(32)], rtol=1e-13)


@pytest.mark.parametrize("d", [kernels.GEMM_MIN_FEATURES, 200])
@pytest.mark.parametrize("rows", [kernels.SAMPLE_BLOCK, 37])
def test_blas_computes_a_column_alike_at_any_position_and_width(rows, d):
    """The precondition of padding BLAS groups to GEMM_COLUMNS: a trajectory's column of
    ``X W^T`` and of ``X^T RZ`` has the same bits at every position of a product of any
    width that is a multiple of GEMM_COLUMNS, up to MAX_GEMM_GROUP (single-threaded).
    It held for OpenBLAS's Haswell/Zen and SkylakeX kernels; another BLAS (MKL) or kernel
    must pass it before the BLAS path can be trusted."""
    g = np.random.default_rng([rows, d])
    C, top = kernels.GEMM_COLUMNS, kernels.MAX_GEMM_GROUP
    X = g.normal(size=(rows, d))
    column = g.normal(size=d)
    resid = g.normal(size=rows)
    alone = {}
    with threadpool_limits(1, user_api="blas"):
        for width in range(C, top + 1, C):
            for position in range(width):
                WT = g.normal(size=(d, width))
                RZ = g.normal(size=(rows, width))
                WT[:, position] = column
                RZ[:, position] = resid
                Z = np.empty((rows, width))
                G = np.empty((d, width))
                _gemm(X, WT, Z)
                _gemm(X.T, RZ, G)
                got = (Z[:, position].copy(), G[:, position].copy())
                alone.setdefault("first", got)
                np.testing.assert_array_equal(got[0], alone["first"][0], err_msg=f"{width=}")
                np.testing.assert_array_equal(got[1], alone["first"][1], err_msg=f"{width=}")
