"""The ceiling: the arithmetic of a logistic step at peak-friendly layouts.

One logistic GD trajectory-step needs 2 n d fused multiply-adds (z = X w, g = X^T r) and
n exponentials. The micro-kernels below do exactly that work and nothing else (no
stable-sigmoid selects, no validation, no checkpoints), in five layouts; the best of
them, measured on this machine in the same run, is the ceiling a kernel is compared
with. They use :func:`logsim._exp.exp`, the vectorisable exponential the kernel uses.
The machine peaks (BLAS dgemm FLOP/s, exponentials per second) give a second bound.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import prange

from logsim._exp import exp as _exp
from logsim._rows import combine_rows
from logsim.bench.timing import timed

_FAST = {"fastmath": True, "cache": True, "nogil": True, "error_model": "numpy"}


@numba.njit(parallel=True, **_FAST)
def ceiling_rows(XT, W, steps, c):
    """Per trajectory, samples contiguous (``XT`` is ``(d, n)``): the kernel's own layout."""
    R, d = W.shape
    n = XT.shape[1]
    for r in prange(R):
        w = W[r].copy()
        z = np.empty(n)
        for _ in range(steps):
            for i in range(n):
                z[i] = 0.0
            for j in range(d):
                wj = w[j]
                for i in range(n):
                    z[i] += wj * XT[j, i]
            for i in range(n):
                z[i] = _exp(-abs(z[i]))
            for j in range(d):
                acc = 0.0
                for i in range(n):
                    acc += XT[j, i] * z[i]
                w[j] -= c * acc
        W[r] = w


@numba.njit(parallel=True, **_FAST)
def ceiling_lanes(X, WT, steps, c, lanes):
    """Trajectories in SIMD lanes (``WT`` is ``(d, R)``): no horizontal sums, for small n, d."""
    d, R = WT.shape
    n = X.shape[0]
    blocks = (R + lanes - 1) // lanes
    for blk in prange(blocks):
        lo = blk * lanes
        m = min(R, lo + lanes) - lo
        w = WT[:, lo:lo + m].copy()
        G = np.empty((d, m))
        z = np.empty(m)
        for _ in range(steps):
            for j in range(d):
                for r in range(m):
                    G[j, r] = 0.0
            for i in range(n):
                for r in range(m):
                    z[r] = 0.0
                for j in range(d):
                    xij = X[i, j]
                    for r in range(m):
                        z[r] += xij * w[j, r]
                for r in range(m):
                    z[r] = _exp(-abs(z[r]))
                for j in range(d):
                    xij = X[i, j]
                    for r in range(m):
                        G[j, r] += xij * z[r]
            for j in range(d):
                for r in range(m):
                    w[j, r] -= c * G[j, r]
        WT[:, lo:lo + m] = w


@numba.njit(parallel=True, **_FAST)
def ceiling_lanes_registers(X, XT, WT, steps, c, lanes):
    """:func:`ceiling_lanes` with both products row by row, sums held in registers
    (:func:`logsim._rows.combine_rows`, the layout of logsim's loop-path groups)."""
    d, R = WT.shape
    n = X.shape[0]
    blocks = (R + lanes - 1) // lanes
    for blk in prange(blocks):
        lo = blk * lanes
        m = min(R, lo + lanes) - lo
        w = WT[:, lo:lo + m].copy()
        Z = np.empty((n, m))
        G = np.empty((d, m))
        for _ in range(steps):
            for i in range(n):
                combine_rows(X[i], w, Z[i])
            for i in range(n):
                for r in range(m):
                    Z[i, r] = _exp(-abs(Z[i, r]))
            for j in range(d):
                combine_rows(XT[j], Z, G[j])
            for j in range(d):
                for r in range(m):
                    w[j, r] -= c * G[j, r]
        WT[:, lo:lo + m] = w


@numba.njit(**_FAST)
def _exp_rows(Z):
    for r in range(Z.shape[0]):
        for i in range(Z.shape[1]):
            Z[r, i] = _exp(-abs(Z[r, i]))


@numba.njit(**_FAST)
def ceiling_gemm(X, XT, W, steps, c):
    """All trajectories as one matrix: two BLAS products per step (Numba ``@``), then the exps."""
    for _ in range(steps):
        Z = W @ XT
        _exp_rows(Z)
        W -= c * (Z @ X)


@numba.njit(parallel=True, **_FAST)
def ceiling_gemm_blocks(X, XT, W, steps, c, blocks):
    """One block of trajectories per thread, each a BLAS product (run with BLAS on 1 thread)."""
    R = W.shape[0]
    for b in prange(blocks):
        lo = b * R // blocks
        hi = (b + 1) * R // blocks
        w = W[lo:hi].copy()
        for _ in range(steps):
            Z = w @ XT
            _exp_rows(Z)
            w -= c * (Z @ X)
        W[lo:hi] = w


@numba.njit(parallel=True, **_FAST)
def exp_throughput(Z, out, reps):
    """``reps`` passes of :func:`logsim._exp.exp` over cache-resident rows, one row per thread."""
    for r in prange(Z.shape[0]):
        for _ in range(reps):
            for i in range(Z.shape[1]):
                out[r, i] = _exp(Z[r, i])


# --- measurement ----------------------------------------------------------------------------


def _best_rate(fn, units, *, budget):
    """Units per second of ``fn(steps)``, best of 3, with ``steps`` sized to take ``budget`` s."""
    def seconds(steps):
        return timed(lambda: fn(steps))[0]

    fn(1)  # compile / warm
    steps = 1
    t = seconds(steps)
    while t < budget / 4 and steps < 1 << 30:
        steps *= max(2, min(64, int(budget / 4 / max(t, 1e-7))))
        t = seconds(steps)
    steps = max(1, int(steps * budget / max(t, 1e-9)))
    best = min(seconds(steps) for _ in range(3))
    return units * steps / best


def measure_peaks(quick=False) -> dict:
    """Machine peaks in the same run: BLAS dgemm FLOP/s and :func:`logsim._exp.exp` per second."""
    budget = 0.05 if quick else 0.3
    size = 256 if quick else 1500
    g = np.random.default_rng(0)
    A = g.normal(size=(size, size))
    flops = _best_rate(lambda s: [A @ A for _ in range(s)], 2.0 * size**3, budget=budget)
    threads = numba.get_num_threads()
    Z = g.uniform(-20.0, 5.0, size=(threads, 512))
    O = np.empty_like(Z)
    exps = _best_rate(lambda s: exp_throughput(Z, O, s), Z.size, budget=budget)
    return {"dgemm_flop_per_s": flops, "dgemm_size": size, "exp_per_s": exps,
            "exp_threads": threads}


def measure_ceiling(w, peaks, *, quick=False) -> dict:
    """Best rate of the fused multiply-add + exp micro-kernels at workload ``w``'s shape.

    The work per trajectory-step is ``2 m d`` multiply-adds and ``m`` exponentials
    with ``m`` the samples per step (n, or the batch size for SGD), all data in
    contiguous, cache-friendly arrays (no gather). Layouts: per trajectory with
    samples contiguous (``rows``), trajectories in SIMD lanes (``lanes``, and with the
    products' sums in registers, ``lanes_registers``), all trajectories as one BLAS
    product (``gemm``), one block per thread with
    single-threaded BLAS (``gemm_blocks``). Also the bound from the machine peaks:
    ``1 / (2 m d / FMA_rate + m / exp_rate)``.
    """
    from threadpoolctl import threadpool_limits

    m, d, R = w.samples_per_step, w.d, w.trajectories
    threads = numba.get_num_threads()
    budget = 0.03 if quick else 0.25
    g = np.random.default_rng(7)
    X = g.normal(size=(m, d)) / math.sqrt(d)
    XT = np.ascontiguousarray(X.T)
    c = 1e-3
    lanes = int(max(8, min(64, R // threads)))
    blocks = max(1, min(threads, R))
    W = np.zeros((R, d))
    WT = np.zeros((d, R))
    variants = {
        "rows": lambda s: ceiling_rows(XT, W, s, c),
        "lanes": lambda s: ceiling_lanes(X, WT, s, c, lanes),
        "lanes_registers": lambda s: ceiling_lanes_registers(X, XT, WT, s, c, lanes),
        "gemm": lambda s: ceiling_gemm(X, XT, W, s, c),
    }
    rates = {}
    for name, fn in variants.items():
        rates[name] = _best_rate(fn, R, budget=budget)
    with threadpool_limits(1, user_api="blas"):
        rates["gemm_blocks"] = _best_rate(
            lambda s: ceiling_gemm_blocks(X, XT, W, s, c, blocks), R, budget=budget)
    best = max(rates, key=rates.get)
    fma = peaks["dgemm_flop_per_s"] / 2.0
    bound = 1.0 / (2.0 * m * d / fma + m / peaks["exp_per_s"])
    return {"samples_per_step": m, "fma_per_traj_step": 2 * m * d, "exp_per_traj_step": m,
            "traj_steps_per_s": rates, "best_variant": best,
            "best_traj_steps_per_s": rates[best], "peak_bound_traj_steps_per_s": bound}
