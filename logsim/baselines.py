"""Benchmark workloads and the implementations logsim is compared with.

A :class:`Workload` is defined once; :func:`make_problem` draws its data once
from a fixed seed, and every implementation runs on that same
:class:`Problem`: one feature matrix ``X`` shared by all trajectories,
per-trajectory hard targets and step sizes, the same steps and checkpoints,
and for SGD exactly logsim's mini-batches (:func:`batch_indices`).

Implementations (each returns the weights and mean training loss at the
checkpoints, shapes ``(R, K, d)`` and ``(R, K)``):

* :class:`Logsim`: :func:`logsim.engine.run_batch`, validation included.
* :class:`NumpyBatched`: all trajectories as one matrix, ``Z = W @ X.T``,
  preallocated buffers and in-place ufuncs.
* :class:`JaxBatched`: ``jax.jit`` + ``lax.scan`` over steps, trajectories
  batched, float64; imported lazily (the ``bench`` extra).

The baselines compute the logistic error signal ``sigmoid(z) - y`` for a hard
target ``y`` as ``-s / (1 + exp(s z))`` with ``s = 2y - 1``: the same number
without the cancellation ``1/(1 + e^-z) - 1`` suffers for confident
predictions, so long runs agree with logsim's kernel to rounding (the
correctness gate of :mod:`logsim.bench` asks for 1e-9).
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass

import numba
import numpy as np
from numba import prange

from logsim._exp import exp as _exp
from logsim._jit import kernel
from logsim._rows import combine_rows
from logsim.engine import log_checkpoints
from logsim.rng import STREAM_BATCH, check_seed, stream_key, uniform

# --- workloads --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmark workload: what every implementation must compute.

    ``learning_rate`` spans ``[lr_low, lr_high] / L`` across trajectories, with
    ``L = lambda_max(X^T X) / (4 n)`` the smoothness constant of the mean
    logistic loss, so every trajectory is stable and no two are identical.
    ``labels = "logistic"`` draws each trajectory's hard targets independently
    from a logistic model on the shared ``X``; ``"separable"`` gives every
    trajectory the same linearly separable targets (an implicit-bias run).
    """

    name: str
    description: str
    trajectories: int
    n: int
    d: int
    steps: int
    method: str = "gd"  #: "gd" (full batch) or "sgd"
    batch_size: int | None = None
    checkpoints: int = 2  #: log-spaced count (engine.log_checkpoints); 2 = start and end
    labels: str = "logistic"
    lr_low: float = 0.2
    lr_high: float = 1.0
    seed: int = 0

    @property
    def samples_per_step(self) -> int:
        """Per-sample gradients one trajectory-step computes (n for GD, the batch for SGD)."""
        return self.batch_size if self.method == "sgd" else self.n

    @property
    def trajectory_steps(self) -> int:
        return self.trajectories * self.steps

    @property
    def sample_gradients(self) -> int:
        return self.trajectory_steps * self.samples_per_step

    def label(self) -> str:
        b = f", batch {self.batch_size}" if self.method == "sgd" else ""
        k = f", {self.checkpoints} checkpoints" if self.checkpoints > 2 else ""
        return (f"{self.trajectories} traj, n={self.n}, d={self.d}, {self.steps:g} "
                f"{self.method.upper()} steps{b}{k}")


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("W1", "many short runs", 1024, 200, 10, 500, seed=1),
        Workload("W2", "mini-batch SGD", 1024, 2000, 20, 5000, method="sgd", batch_size=32,
                 seed=2),
        Workload("W3", "one long implicit-bias run", 64, 16, 2, 1_000_000, checkpoints=60,
                 labels="separable", seed=3),
        Workload("W4", "large features", 64, 2000, 500, 200, seed=4),
    )
}

#: Reduced sizes for ``logsim bench --quick`` and the tests (same shapes of work, seconds).
QUICK: dict[str, Workload] = {
    "W1": dataclasses.replace(WORKLOADS["W1"], trajectories=64, n=50, d=5, steps=50),
    "W2": dataclasses.replace(WORKLOADS["W2"], trajectories=32, n=100, d=5, steps=100,
                              batch_size=8),
    "W3": dataclasses.replace(WORKLOADS["W3"], trajectories=8, steps=2000, checkpoints=12),
    "W4": dataclasses.replace(WORKLOADS["W4"], trajectories=8, n=200, d=50, steps=20),
}


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


# --- implementations ----------------------------------------------------------------------

Output = tuple[np.ndarray, np.ndarray]  # weights (R, K, d), train_loss (R, K)


class Implementation(abc.ABC):
    """Interface: :meth:`prepare` does untimed set-up and returns the function to time."""

    name = ""
    #: Seconds spent compiling in :meth:`prepare` (None when compilation happens on first call).
    compile_seconds: float | None = None

    def available(self) -> str | None:
        """None if usable here, else the reason it is not."""
        return None

    @abc.abstractmethod
    def prepare(self, problem: Problem) -> Callable[[], Output]:
        """Set up (and compile) for ``problem``; return the call to time."""


class Logsim(Implementation):
    """logsim's kernel through its validating door, :func:`logsim.engine.run_batch`."""

    name = "logsim"

    def prepare(self, problem):
        from logsim.engine import run_batch

        w = problem.workload
        kwargs = dict(method=w.method, learning_rate=problem.learning_rate, steps=w.steps,
                      checkpoints=problem.checkpoints, batch_seed=problem.batch_seed)
        if w.method == "sgd":
            kwargs["batch_size"] = w.batch_size

        def run():
            res = run_batch(problem.X, problem.targets, **kwargs)
            return res.weights, res.train_loss

        return run


def _signs(problem):
    Y = problem.targets
    if not np.all((Y == 0.0) | (Y == 1.0)):
        raise ValueError("the baselines take hard targets in {0, 1}")
    return 2.0 * Y - 1.0


def _segments(checkpoints):
    """Steps to run before each checkpoint: ``[c0, c1 - c0, ...]``."""
    return np.diff(np.concatenate([[0], checkpoints])).tolist()


def _numpy_loss(W, XT, S, Z):
    np.matmul(W, XT, out=Z)
    np.multiply(Z, S, out=Z)
    np.negative(Z, out=Z)
    np.logaddexp(0.0, Z, out=Z)
    return Z.mean(axis=1)


class NumpyBatched(Implementation):
    """All trajectories as one matrix: ``Z = W @ X.T``, in-place ufuncs, no allocation per step."""

    name = "numpy"
    compile_seconds = 0.0  # nothing to compile

    def prepare(self, problem):
        w = problem.workload
        X = np.ascontiguousarray(problem.X)
        XT = np.ascontiguousarray(X.T)
        S = _signs(problem)
        negS = -S
        R, n = S.shape
        d = X.shape[1]
        segments = _segments(problem.checkpoints)
        if w.method == "sgd":
            b = w.batch_size
            idx = problem.step_major_batches
            offsets = (np.arange(R) * n)[:, None]
            c = (problem.learning_rate / b)[:, None]
        else:
            c = (problem.learning_rate / n)[:, None]

        def run_gd():
            W = np.zeros((R, d))
            Z = np.empty((R, n))
            G = np.empty((R, d))
            Wk = np.empty((R, len(segments), d))
            Lk = np.empty((R, len(segments)))
            with np.errstate(over="ignore"):
                for k, length in enumerate(segments):
                    for _ in range(length):
                        np.matmul(W, XT, out=Z)
                        np.multiply(Z, S, out=Z)
                        np.exp(Z, out=Z)  # overflow -> inf -> error signal -0, as intended
                        np.add(Z, 1.0, out=Z)
                        np.divide(negS, Z, out=Z)  # sigmoid(z) - y = -s / (1 + exp(s z))
                        np.matmul(Z, X, out=G)
                        np.multiply(G, c, out=G)
                        np.subtract(W, G, out=W)
                    Wk[:, k] = W
                    Lk[:, k] = _numpy_loss(W, XT, S, Z)
            return Wk, Lk

        def run_sgd():
            W = np.zeros((R, d))
            Z = np.empty((R, n))
            Xb = np.empty((R, b, d))
            Sb = np.empty((R, b))
            flat = np.empty((R, b), dtype=np.intp)
            z = np.empty((R, b, 1))
            G = np.empty((R, 1, d))
            Sflat = S.ravel()
            Wk = np.empty((R, len(segments), d))
            Lk = np.empty((R, len(segments)))
            t = 0
            with np.errstate(over="ignore"):
                for k, length in enumerate(segments):
                    for _ in range(length):
                        it = idx[t]
                        np.take(X, it, axis=0, out=Xb)
                        np.add(it, offsets, out=flat)
                        np.take(Sflat, flat, out=Sb)
                        np.matmul(Xb, W[:, :, None], out=z)
                        zb = z[:, :, 0]
                        np.multiply(zb, Sb, out=zb)
                        np.exp(zb, out=zb)
                        np.add(zb, 1.0, out=zb)
                        np.divide(Sb, zb, out=zb)
                        np.matmul(z.transpose(0, 2, 1), Xb, out=G)
                        g = G[:, 0, :]
                        np.multiply(g, c, out=g)
                        np.add(W, g, out=W)  # the error signal is -Sb/(...): W += c g
                        t += 1
                    Wk[:, k] = W
                    Lk[:, k] = _numpy_loss(W, XT, S, Z)
            return Wk, Lk

        return run_sgd if w.method == "sgd" else run_gd


def import_jax():
    """``(jax, jax.numpy, jax.lax)`` with float64 enabled; ImportError if jax is missing."""
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    return jax, jnp, lax


class JaxBatched(Implementation):
    """``jax.jit`` of ``lax.scan`` over steps, all trajectories batched, float64, on the CPU.

    One scan per stretch between checkpoints (static lengths), all inside one
    compiled program; compiled ahead of the timed calls (:attr:`compile_seconds`).
    """

    name = "jax"

    def available(self):
        try:
            import_jax()
        except ImportError as exc:
            return f"jax is not installed ({exc}); pip install 'logsim[bench]'"
        return None

    def prepare(self, problem):
        jax, jnp, lax = import_jax()
        w = problem.workload
        cpu = jax.devices("cpu")[0]
        X = np.ascontiguousarray(problem.X)
        S = _signs(problem)
        R, n = S.shape
        d = X.shape[1]
        segments = _segments(problem.checkpoints)
        sgd = w.method == "sgd"
        b = w.batch_size if sgd else n
        c = (problem.learning_rate / b)[:, None]

        def loss(W, X, S):
            return jnp.mean(jnp.logaddexp(0.0, -S * (W @ X.T)), axis=1)

        def gd_step(X, S, c):
            XT = X.T

            def step(W, _):
                Z = S * (W @ XT)
                E = -S / (1.0 + jnp.exp(Z))  # sigmoid(z) - y
                return W - c * (E @ X), None

            return step

        def sgd_step(X, S, c, idx):
            def step(W, t):
                it = lax.dynamic_index_in_dim(idx, t, axis=0, keepdims=False)  # (R, b)
                Xb = X[it]  # (R, b, d): the gather every batched SGD pays
                Sb = jnp.take_along_axis(S, it, axis=1)
                z = Sb * jnp.einsum("rbd,rd->rb", Xb, W)
                E = -Sb / (1.0 + jnp.exp(z))
                return W - c * jnp.einsum("rb,rbd->rd", E, Xb), None

            return step

        def program(X, S, c, idx):
            step = sgd_step(X, S, c, idx) if sgd else gd_step(X, S, c)
            W = jnp.zeros((R, d), dtype=jnp.float64)
            Ws, Ls = [], []
            t = 0
            for length in segments:
                if length:
                    W, _ = lax.scan(step, W, jnp.arange(t, t + length) if sgd else None,
                                    length=length)
                    t += length
                Ws.append(W)
                Ls.append(loss(W, X, S))
            return jnp.stack(Ws, axis=1), jnp.stack(Ls, axis=1)

        idx = problem.step_major_batches if sgd else np.zeros((1, 1, 1), dtype=np.int16)
        args = [jax.device_put(np.asarray(a), cpu) for a in (X, S, c, idx)]
        start = time.perf_counter()
        compiled = jax.jit(program).lower(*args).compile()
        self.compile_seconds = time.perf_counter() - start

        def run():
            Wk, Lk = compiled(*args)
            return np.asarray(Wk.block_until_ready()), np.asarray(Lk)

        return run


IMPLEMENTATIONS: dict[str, type[Implementation]] = {
    "logsim": Logsim,
    "numpy": NumpyBatched,
    "jax": JaxBatched,
}


# --- ceiling: the arithmetic of a logistic step at peak-friendly layouts ---------------------
#
# One logistic GD trajectory-step needs 2 n d fused multiply-adds (z = X w, g = X^T r) and
# n exponentials. The loops below do exactly that work and nothing else (no stable-sigmoid
# selects, no validation, no checkpoints), in four layouts; the best of them, measured on
# this machine in the same run, is the ceiling a kernel is compared with. They use
# logsim._exp.exp, the vectorisable exponential the kernel uses.

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
