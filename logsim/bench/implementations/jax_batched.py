"""Batched JAX on the CPU: ``jax.jit`` of ``lax.scan`` over steps, float64.

JAX is imported only when used (the ``bench`` extra); without it the implementation
says it is unavailable and the run goes on.
"""

from __future__ import annotations

import time

import numpy as np

from logsim.bench.implementations.base import Implementation, hard_target_signs, segments


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
        S = hard_target_signs(problem)
        R, n = S.shape
        d = X.shape[1]
        lengths = segments(problem.checkpoints)
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
            for length in lengths:
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
