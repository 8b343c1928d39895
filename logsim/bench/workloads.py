"""The table of benchmark workloads: what each computes, and who computes it.

One row of :data:`TABLE` per workload: the work (:class:`Workload`), the same work at
reduced sizes for ``logsim bench --quick`` and the tests, the implementations that run
it (names in :data:`logsim.bench.implementations.IMPLEMENTATIONS`; the first is the
reference every other one is gated against), and the issue's targets (minimum rate
ratios of the reference over the baselines). A new workload is one more row; a new way
to run one is one more :class:`~logsim.bench.implementations.Implementation` registered
under a name.

This module imports nothing heavy: the command-line parser reads the workload names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


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
    method: str = "gd"  #: "gd", "sgd", or a full-batch optimiser of :data:`OPTIMISER_METHODS`
    batch_size: int | None = None
    checkpoints: int = 2  #: log-spaced count (engine.log_checkpoints); 2 = start and end
    labels: str = "logistic"
    lr_low: float = 0.2
    lr_high: float = 1.0
    seed: int = 0
    #: options of the optimisers (logsim.engine.run_batch's), read by the methods using them
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

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
        o = {"momentum": f", mu={self.momentum:g}", "nesterov": f", mu={self.momentum:g}",
             "adam": f", b1={self.beta1:g}, b2={self.beta2:g}, eps={self.eps:g}"}
        return (f"{self.trajectories} traj, n={self.n}, d={self.d}, {self.steps:g} "
                f"{self.method.upper()} steps{b}{o.get(self.method, '')}{k}")


#: logsim's kernel through :func:`logsim.engine.run_batch`, then batched NumPy and JAX.
GRADIENT_DESCENT = ("logsim", "numpy", "jax")
#: The optimisers of issue 19: logsim's kernel, then JAX with optax's update.
OPTIMISERS = ("logsim", "optax")
#: Full-batch optimiser methods the optax baseline runs (its ``METHODS``; here as plain data).
OPTIMISER_METHODS = ("momentum", "nesterov", "adam", "sign_gd", "coordinate_descent")


@dataclass(frozen=True)
class Benchmark:
    """One row of :data:`TABLE`.

    Attributes
    ----------
    workload : Workload
        The work at the size the issue's targets are stated for.
    quick : Workload
        The same shapes of work at reduced sizes (seconds; not for quoting).
    implementations : tuple of str
        Who runs it, by name in :data:`logsim.bench.implementations.IMPLEMENTATIONS`, in
        the order of the table; the first is the reference (its output is the
        correctness gate, the rate ratios are its rate over each other's).
    target : mapping
        Minimum ratios the reference must reach at full size: ``vs_NAME`` (over
        implementation NAME) or ``vs_best_baseline`` (over the fastest other one).
    """

    workload: Workload
    quick: Workload
    implementations: tuple[str, ...] = GRADIENT_DESCENT
    target: Mapping[str, float] = field(default_factory=lambda: MappingProxyType({}))


def _row(workload: Workload, quick: Mapping, implementations=GRADIENT_DESCENT,
         target: Mapping[str, float] | None = None) -> Benchmark:
    return Benchmark(workload, dataclasses.replace(workload, **quick), tuple(implementations),
                     MappingProxyType(dict(target or {})))


TABLE: dict[str, Benchmark] = {
    row.workload.name: row
    for row in (
        _row(Workload("W1", "many short runs", 1024, 200, 10, 500, seed=1),
             quick={"trajectories": 64, "n": 50, "d": 5, "steps": 50},
             target={"vs_jax": 2.0, "vs_numpy": 5.0}),
        _row(Workload("W2", "mini-batch SGD", 1024, 2000, 20, 5000, method="sgd",
                      batch_size=32, seed=2),
             quick={"trajectories": 32, "n": 100, "d": 5, "steps": 100, "batch_size": 8},
             target={"vs_jax": 5.0}),
        _row(Workload("W3", "one long implicit-bias run", 64, 16, 2, 1_000_000,
                      checkpoints=60, labels="separable", seed=3),
             quick={"trajectories": 8, "steps": 2000, "checkpoints": 12},
             target={"vs_jax": 2.0, "vs_numpy": 5.0}),
        _row(Workload("W4", "large features", 64, 2000, 500, 200, seed=4),
             quick={"trajectories": 8, "n": 200, "d": 50, "steps": 20},
             target={"vs_best_baseline": 1.0}),
        # issue 19's optimisers, full batch at W1's size against JAX + optax (no target
        # stated); step sizes in units of 1/L chosen per family so every run is stable
        # and, for Adam, not oscillating enough to amplify rounding towards the gate (at
        # [0.002, 0.05] / L one run reached 9e-10 of JAX's; at [0.002, 0.02] / L, 3e-15)
        *(_row(Workload(name, description, 1024, 200, 10, 500, method=method,
                        lr_low=lr_low, lr_high=lr_high, seed=seed),
               quick={"trajectories": 64, "n": 50, "d": 5, "steps": 50},
               implementations=OPTIMISERS)
          for name, description, method, lr_low, lr_high, seed in (
              ("O1", "heavy-ball momentum", "momentum", 0.02, 0.2, 5),
              ("O2", "Adam", "adam", 0.002, 0.02, 6),
              ("O3", "sign descent", "sign_gd", 0.001, 0.01, 7),
              ("O4", "coordinate descent", "coordinate_descent", 0.002, 0.02, 8))),
    )
}

#: The full-size workloads, by name.
WORKLOADS: dict[str, Workload] = {name: row.workload for name, row in TABLE.items()}
#: Reduced sizes for ``logsim bench --quick`` and the tests (same shapes of work, seconds).
QUICK: dict[str, Workload] = {name: row.quick for name, row in TABLE.items()}
#: The issue's targets: minimum reference/baseline rate ratios, measured side by side.
TARGETS: dict[str, dict[str, float]] = {name: dict(row.target) for name, row in TABLE.items()}
