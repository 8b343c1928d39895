"""JAX with optax, as a JAX researcher writes the optimisers logsim added in issue 19.

``jax.jit`` of ``jax.vmap`` over trajectories of a ``lax.scan`` over steps, float64 on
the CPU; the update is optax's (the library JAX users take these optimisers from):

* ``momentum``, ``nesterov``: ``optax.sgd(eta, momentum=mu, nesterov=...)``. optax's
  ``trace`` is ``v <- g + mu v`` and ``sgd`` steps ``w <- w - eta v`` (nesterov:
  ``w <- w - eta (g + mu v)``): logsim's (PyTorch's) convention, unchanged.
* ``adam``: ``optax.adam(eta, b1, b2, eps)``: ``m_hat = m / (1 - b1^t)``,
  ``v_hat = v / (1 - b2^t)`` with ``t = 1, 2, ...`` and
  ``w <- w - eta m_hat / (sqrt(v_hat) + eps)`` (``eps`` outside the root, ``eps_root``
  0): Kingma & Ba's Algorithm 1, as logsim's kernel. (The kernel's extra rule, that an
  entry whose ``sqrt(v_hat) + eps`` is 0 does not move, only matters with ``eps = 0``.)
* ``sign_gd``: ``optax.sign_sgd(eta)``, ``w <- w - eta sign(g)`` with ``sign(0) = 0``.
* ``coordinate_descent``: optax has none; :func:`greedy_coordinate` (an
  ``optax.stateless`` transformation) keeps only ``sign(g_j)`` at ``j = argmax |g_j|``
  (``jnp.argmax`` takes the lowest such index, as logsim does), chained with
  ``optax.scale_by_learning_rate``.

The gradient of the mean logistic loss is written out as in
:mod:`~logsim.bench.implementations.jax_batched` (error signal ``-s / (1 + exp(s z))``,
see :mod:`~logsim.bench.implementations.base`), so the runs agree with logsim's to
rounding. Full batch only. JAX and optax are imported only when used (the ``bench``
extra).
"""

from __future__ import annotations

import time

import numpy as np

from logsim.bench.implementations.base import Implementation, hard_target_signs, segments
from logsim.bench.implementations.jax_batched import import_jax
from logsim.bench.workloads import OPTIMISER_METHODS as METHODS


def greedy_coordinate(jnp, optax):
    """optax transformation: ``sign(g_j) e_j`` at ``j = argmax |g_j|`` (lowest index), else 0.

    The L1 steepest-descent direction (Gunasekar et al., ICML 2018, sec. 3), for one
    trajectory's gradient vector.
    """

    def direction(g, params=None):
        del params
        j = jnp.argmax(jnp.abs(g))
        return jnp.zeros_like(g).at[j].set(jnp.sign(g[j]))

    return optax.stateless(direction)


def optimiser(optax, jnp, workload, learning_rate):
    """The optax ``GradientTransformation`` of ``workload.method`` with step ``learning_rate``."""
    w = workload
    if w.method in ("momentum", "nesterov"):
        return optax.sgd(learning_rate, momentum=w.momentum, nesterov=w.method == "nesterov")
    if w.method == "adam":
        return optax.adam(learning_rate, b1=w.beta1, b2=w.beta2, eps=w.eps)
    if w.method == "sign_gd":
        return optax.sign_sgd(learning_rate)
    if w.method == "coordinate_descent":
        return optax.chain(greedy_coordinate(jnp, optax),
                           optax.scale_by_learning_rate(learning_rate))
    raise ValueError(f"the optax baseline runs {', '.join(METHODS)}; got {w.method!r}")


class JaxOptax(Implementation):
    """``jax.jit`` of ``vmap`` (trajectories) of ``lax.scan`` (steps) with optax's update."""

    name = "optax"

    def available(self):
        try:
            import_jax()
            import optax  # noqa: F401
        except ImportError as exc:
            return f"jax or optax is not installed ({exc}); pip install 'logsim[bench]'"
        return None

    def prepare(self, problem):
        w = problem.workload
        if w.method not in METHODS:
            raise ValueError(f"the optax baseline runs {', '.join(METHODS)}; got {w.method!r}")
        jax, jnp, lax = import_jax()
        import optax

        cpu = jax.devices("cpu")[0]
        X = np.ascontiguousarray(problem.X)
        S = hard_target_signs(problem)
        n, d = X.shape
        lengths = segments(problem.checkpoints)

        def trajectory(X, s, learning_rate):
            """One trajectory: weights (K, d) and mean loss (K,) at the checkpoints."""
            opt = optimiser(optax, jnp, w, learning_rate)

            def gradient(weights):
                z = s * (X @ weights)
                return (-s / (1.0 + jnp.exp(z))) @ X / n  # X^T (sigmoid(z) - y) / n

            def step(carry, _):
                weights, state = carry
                updates, state = opt.update(gradient(weights), state, weights)
                return (optax.apply_updates(weights, updates), state), None

            weights = jnp.zeros(d, dtype=jnp.float64)
            carry = (weights, opt.init(weights))
            Ws, Ls = [], []
            for length in lengths:
                if length:
                    carry, _ = lax.scan(step, carry, None, length=length)
                Ws.append(carry[0])
                Ls.append(jnp.mean(jnp.logaddexp(0.0, -s * (X @ carry[0]))))
            return jnp.stack(Ws), jnp.stack(Ls)

        program = jax.vmap(trajectory, in_axes=(None, 0, 0))
        args = [jax.device_put(np.asarray(a), cpu) for a in (X, S, problem.learning_rate)]
        start = time.perf_counter()
        compiled = jax.jit(program).lower(*args).compile()
        self.compile_seconds = time.perf_counter() - start

        def run():
            Wk, Lk = compiled(*args)
            return np.asarray(Wk.block_until_ready()), np.asarray(Lk)

        return run
