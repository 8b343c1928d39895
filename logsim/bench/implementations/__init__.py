"""The implementations a workload can be run by, by name (the table names them).

* ``logsim``: :class:`~logsim.bench.implementations.logsim_batch.Logsim`,
  :func:`logsim.engine.run_batch`, validation included.
* ``numpy``: :class:`~logsim.bench.implementations.numpy_batched.NumpyBatched`, all
  trajectories as one matrix, preallocated buffers and in-place ufuncs.
* ``jax``: :class:`~logsim.bench.implementations.jax_batched.JaxBatched`, ``jax.jit`` +
  ``lax.scan`` over steps, trajectories batched, float64; imported lazily.
* ``optax``: :class:`~logsim.bench.implementations.jax_optax.JaxOptax`, ``jax.jit`` of
  ``vmap`` over trajectories of ``lax.scan`` over steps with optax's momentum, Adam and
  sign-descent updates, float64; imported lazily.
"""

from __future__ import annotations

from logsim.bench.implementations.base import Implementation, Output
from logsim.bench.implementations.jax_batched import JaxBatched
from logsim.bench.implementations.jax_optax import JaxOptax
from logsim.bench.implementations.logsim_batch import Logsim
from logsim.bench.implementations.numpy_batched import NumpyBatched

IMPLEMENTATIONS: dict[str, type[Implementation]] = {
    "logsim": Logsim,
    "numpy": NumpyBatched,
    "jax": JaxBatched,
    "optax": JaxOptax,
}

__all__ = ["IMPLEMENTATIONS", "Implementation", "JaxBatched", "JaxOptax", "Logsim",
           "NumpyBatched", "Output"]
