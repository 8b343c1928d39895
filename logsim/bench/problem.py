"""The data of a workload, drawn once and shared by every implementation.

:func:`make_problem` draws a :class:`~logsim.bench.workloads.Workload`'s data from a
fixed seed, and every implementation runs on that same :class:`Problem`: one feature
matrix ``X`` shared by all trajectories, per-trajectory hard targets and step sizes,
the same steps and checkpoints, and for SGD exactly logsim's mini-batches
(:func:`batch_indices`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from numba import prange

from logsim._jit import kernel
from logsim.bench.workloads import Workload
from logsim.engine import log_checkpoints
from logsim.rng import STREAM_BATCH, check_seed, stream_key, uniform


@dataclass(frozen=True)
class Problem:
    """The data of one workload, shared by every implementation."""

    workload: Workload
    X: np.ndarray  #: (n, d) float64, shared by all trajectories
    targets: np.ndarray  #: (R, n) float64 hard targets in {0, 1}
    learning_rate: np.ndarray  #: (R,)
    checkpoints: np.ndarray  #: (K,) int64
    batch_seed: np.ndarray  #: (R,) int64, seeds of logsim's mini-batch streams

    @functools.cached_property
    def step_major_batches(self) -> np.ndarray:
        """SGD batches as ``(steps, R, batch_size)``: :func:`batch_indices`, made once, untimed."""
        w = self.workload
        idx = batch_indices(w.n, w.batch_size, self.batch_seed, w.steps)
        return np.ascontiguousarray(idx.transpose(1, 0, 2))


def make_problem(w: Workload) -> Problem:
    """Draw the data of workload ``w`` from its fixed seed (same call, same arrays)."""
    g = np.random.default_rng([w.seed, w.n, w.d, w.trajectories])
    X = g.normal(size=(w.n, w.d))
    if w.labels == "separable":
        w_star = g.normal(size=w.d)
        y = (X @ w_star > 0).astype(np.float64)
        targets = np.broadcast_to(y, (w.trajectories, w.n)).copy()
    elif w.labels == "logistic":
        w_star = g.normal(size=w.d) * (2.0 / np.sqrt(w.d))
        p = 1.0 / (1.0 + np.exp(-(X @ w_star)))
        targets = (g.random((w.trajectories, w.n)) < p).astype(np.float64)
    else:
        raise ValueError(f"unknown labels {w.labels!r}; allowed: logistic, separable")
    smooth = np.linalg.eigvalsh(X.T @ X)[-1] / (4.0 * w.n)
    lr = np.linspace(w.lr_low, w.lr_high, w.trajectories) / smooth
    ckpt = log_checkpoints(w.steps, w.checkpoints)
    seeds = np.arange(w.trajectories, dtype=np.int64) + 1000 * w.seed
    return Problem(w, X, targets, lr, ckpt, seeds)


# --- SGD mini-batches, exactly logsim's ---------------------------------------------------


@kernel
def _batch_indices(n, batch_size, keys, steps, out):
    """``out[r, t]`` = batch of step ``t`` of trajectory ``r`` (logsim.kernels._draw_batch)."""
    for r in prange(keys.shape[0]):
        perm = np.arange(n).astype(np.int32)
        key = keys[r]
        for t in range(steps):
            base = t * batch_size
            for j in range(batch_size):
                u = uniform(key, base + j)
                k = j + int(u * (n - j))
                if k >= n:
                    k = n - 1
                tmp = perm[j]
                perm[j] = perm[k]
                perm[k] = tmp
            for j in range(batch_size):
                out[r, t, j] = perm[j]


def batch_indices(n: int, batch_size: int, seeds, steps: int) -> np.ndarray:
    """Mini-batch indices ``(R, steps, batch_size)`` of logsim's SGD for batch seeds ``seeds``.

    The same partial Fisher-Yates shuffle on a persistent permutation, driven by
    the same counter-based uniforms (:func:`logsim.rng.uniform`, key
    ``stream_key(seed, STREAM_BATCH)``, counter ``t * batch_size + j``), as the
    kernel; ``tests/naive.py:batch_sequence`` re-implements it in plain Python.
    Stored as int32 (int16 when ``n`` allows) to keep the array small.
    """
    keys = np.array([stream_key(check_seed(int(s)), STREAM_BATCH) for s in seeds],
                    dtype=np.uint64)
    dtype = np.int16 if n <= np.iinfo(np.int16).max else np.int32
    out = np.empty((keys.shape[0], steps, batch_size), dtype=dtype)
    _batch_indices(n, batch_size, keys, steps, out)
    return out
