"""End-to-end workloads: a whole ``logsim.run`` against the JAX script a researcher would write.

The kernel workloads (W1-W4) time the trajectories alone. These time what a user waits
for: from scenario to stored, analysed result, against a JAX script doing the same
sweep, in the same process run.

* **E1**, a seed sweep: Gaussian data per seed, n = 200, d = 10, n_test = 200, 500 GD
  steps on the logistic loss; final train loss, test loss and accuracy. logsim computes
  every default variable (test metrics, calibration, Platt, SVM and margins, entropy
  floor) at its two checkpoints and writes the netCDF4 file; the JAX script draws the
  data with NumPy, vectorised over seeds, then ``jit(vmap(...))`` over seeds with
  ``lax.scan`` over steps, in float64.
* **E2**, the quickstart's sweep (2 losses x 4 noise rates x 2 smoothing levels x seeds,
  n = 200, d = 10, n_test = 2000, 2000 GD steps, 40 checkpoints): the JAX script
  computes at the same checkpoints train loss, test NLL, accuracy, Brier score and
  15-bin ECE for every trajectory; logsim everything it stores by default.
* **Seed scaling**: E1 at 128 ... 16384 seeds, time per run and its log-log slope.

Compile time (Numba's on-disk cache warm; JAX's ``jit`` lowered and compiled first) is
excluded from the ratios and reported separately.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

__all__ = ["e1_scenario", "e2_scenario", "jax_e1", "jax_e2", "measure_end_to_end"]


def e1_scenario(seeds: int = 1024) -> dict:
    return {
        "name": f"e1-{seeds}",
        "description": "E1: seed sweep, logistic loss, GD",
        "data": {"kind": "gaussian", "n_train": 200, "n_test": 200, "dim": 10},
        "optimizer": {"learning_rate": 0.5, "steps": 500},
        "record": {"checkpoints": 2, "data": False},
        "grid": {"seed": seeds},
    }


def e2_scenario(seeds: int = 16) -> dict:
    return {
        "name": f"e2-{seeds}",
        "description": "E2: the quickstart sweep",
        "data": {"kind": "gaussian", "n_train": 200, "n_test": 2000, "dim": 10},
        "grid": {"loss": ["logistic", "hinge"], "noise_rate": [0.0, 0.1, 0.2, 0.3],
                 "smoothing": [0.0, 0.1], "seed": seeds},
        "optimizer": {"method": "gd", "learning_rate": 0.5, "steps": 2000},
        "record": {"checkpoints": 40},
    }


def _import_jax():
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from jax import lax

    return jax, jnp, lax


def _gaussian(rng, seeds: int, n: int, d: int, separation: float = 2.0):
    """Two Gaussian classes (means +-mu, ||2 mu|| = separation), all seeds in one draw."""
    mu = separation / 2.0 * np.ones(d) / np.sqrt(d)
    y = (rng.random((seeds, n)) < 0.5).astype(np.float64)
    X = rng.standard_normal((seeds, n, d)) + np.where(y == 1.0, 1.0, -1.0)[..., None] * mu
    return X, y


def jax_e1(seeds: int = 1024):
    """The researcher's E1 script: returns ``(compile_seconds, run)``; ``run()`` draws the
    data and returns final train loss, test loss and accuracy per seed."""
    jax, jnp, lax = _import_jax()
    n, n_test, d, steps, lr = 200, 200, 10, 500, 0.5

    def one(X, y, Xt, yt):
        def step(w, _):
            g = X.T @ (jax.nn.sigmoid(X @ w) - y) / n
            return w - lr * g, None

        w, _ = lax.scan(step, jnp.zeros(d), None, length=steps)

        def loss(X, y):
            z = X @ w
            return jnp.mean(jnp.logaddexp(0.0, z) - y * z)

        return loss(X, y), loss(Xt, yt), jnp.mean((Xt @ w > 0) == (yt > 0.5))

    program = jax.jit(jax.vmap(one))
    shapes = [jax.ShapeDtypeStruct(s, jnp.float64)
              for s in ((seeds, n, d), (seeds, n), (seeds, n_test, d), (seeds, n_test))]
    start = time.perf_counter()
    compiled = program.lower(*shapes).compile()
    compile_seconds = time.perf_counter() - start

    def run():
        rng = np.random.default_rng(0)
        X, y = _gaussian(rng, seeds, n, d)
        Xt, yt = _gaussian(rng, seeds, n_test, d)
        return [np.asarray(a) for a in compiled(X, y, Xt, yt)]

    return compile_seconds, run


def jax_e2(seeds: int = 16, checkpoints=None):
    """The researcher's E2 script: both losses, all noise rates and smoothing levels,
    metrics at every checkpoint. Returns ``(compile_seconds, run)``."""
    jax, jnp, lax = _import_jax()
    from logsim.engine import log_checkpoints

    n, n_test, d, steps, lr, bins = 200, 2000, 10, 2000, 0.5, 15
    noise = np.array([0.0, 0.1, 0.2, 0.3])
    smooth = np.array([0.0, 0.1])
    ckpt = log_checkpoints(steps, 40) if checkpoints is None else np.asarray(checkpoints)
    segments = np.diff(ckpt, prepend=0)

    def metrics(w, X, t, Xt, yt, hinge):
        z = X @ w
        s = 2.0 * t - 1.0
        train = jnp.where(hinge, jnp.mean(jnp.maximum(0.0, 1.0 - s * z)),
                          jnp.mean(jnp.logaddexp(0.0, z) - t * z))
        zt = Xt @ w
        p = jax.nn.sigmoid(zt)
        nll = jnp.mean(jnp.logaddexp(0.0, zt) - yt * zt)
        acc = jnp.mean((zt > 0) == (yt > 0.5))
        brier = jnp.mean((p - yt) ** 2)
        b = jnp.clip(jnp.ceil(p * bins).astype(jnp.int32) - 1, 0, bins - 1)
        gap = jnp.zeros(bins).at[b].add(yt - p)
        ece = jnp.sum(jnp.abs(gap)) / n_test
        return jnp.stack([train, nll, acc, brier, ece])

    def one(X, t, Xt, yt, hinge):
        s = 2.0 * t - 1.0

        def step(w, _):
            z = X @ w
            r = jnp.where(hinge, jnp.where(1.0 - s * z > 0.0, -s, 0.0), jax.nn.sigmoid(z) - t)
            return w - lr * (X.T @ r) / n, None

        w = jnp.zeros(d)
        out = []
        for length in segments:
            if length:
                w, _ = lax.scan(step, w, None, length=int(length))
            out.append(metrics(w, X, t, Xt, yt, hinge))
        return jnp.stack(out)

    # cells: loss x noise x smoothing x seed, flattened; data indexed per seed
    program = jax.jit(jax.vmap(one))
    cells = 2 * len(noise) * len(smooth) * seeds
    shapes = [jax.ShapeDtypeStruct((cells, n, d), jnp.float64),
              jax.ShapeDtypeStruct((cells, n), jnp.float64),
              jax.ShapeDtypeStruct((cells, n_test, d), jnp.float64),
              jax.ShapeDtypeStruct((cells, n_test), jnp.float64),
              jax.ShapeDtypeStruct((cells,), jnp.bool_)]
    start = time.perf_counter()
    compiled = program.lower(*shapes).compile()
    compile_seconds = time.perf_counter() - start

    def run():
        rng = np.random.default_rng(0)
        X, y = _gaussian(rng, seeds, n, d)
        Xt, yt = _gaussian(rng, seeds, n_test, d)
        u = rng.random((seeds, n))  # common random numbers: 0.2 flips a superset of 0.1
        flipped = np.where(u[None] < noise[:, None, None], 1.0 - y[None], y[None])
        targets = flipped[:, None] * (1.0 - smooth[None, :, None, None]) + \
            smooth[None, :, None, None] / 2.0  # (noise, smoothing, seed, n)
        T = np.broadcast_to(targets, (2, *targets.shape)).reshape(cells, n)
        idx = np.tile(np.arange(seeds), cells // seeds)
        hinge = np.repeat([False, True], cells // 2)
        return np.asarray(compiled(X[idx], T, Xt[idx], yt[idx], hinge))

    return compile_seconds, run


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def measure_end_to_end(name: str, seeds: int, *, repeats: int = 3, jax: bool = True) -> dict:
    """Time a whole ``logsim.run`` (to a file) and the JAX script of workload ``name``."""
    import logsim

    scenario = (e1_scenario if name == "E1" else e2_scenario)(seeds)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.nc"
        start = time.perf_counter()
        logsim.run(scenario, out=out)  # compiles (or loads the cache) and warms
        first = time.perf_counter() - start

        def run():
            out.unlink(missing_ok=True)
            logsim.run(scenario, out=out)

        logsim_seconds = _best(run, repeats)
    result = {"workload": name, "seeds": seeds, "trajectories": logsim.planner.make_plan(
        scenario).n_trajectories, "logsim_seconds": logsim_seconds,
        "logsim_first_seconds": first}
    if jax:
        compile_seconds, run_jax = (jax_e1 if name == "E1" else jax_e2)(seeds)
        run_jax()
        result["jax_seconds"] = _best(run_jax, repeats)
        result["jax_compile_seconds"] = compile_seconds
        result["vs_jax"] = result["jax_seconds"] / logsim_seconds
    return result
