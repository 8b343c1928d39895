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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["END_TO_END", "SCALING_SEEDS", "e1_scenario", "e2_scenario", "jax_e1", "jax_e2",
           "measure_end_to_end", "measure_seed_scaling"]


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

        return loss(X, y), loss(Xt, yt), jnp.mean(((Xt @ w > 0) == (yt > 0.5)).astype(float))

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
        acc = jnp.mean(((zt > 0) == (yt > 0.5)).astype(float))
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


@dataclass(frozen=True)
class EndToEnd:
    """One end-to-end workload: its scenario, the JAX script, the sizes it is run at."""

    description: str
    scenario: Callable[[int], dict]
    jax: Callable[[int], tuple]
    seeds: tuple[int, ...]
    quick_seeds: tuple[int, ...]
    target_vs_jax: float = 2.0


#: The end-to-end workloads, by name (``logsim bench --workload E1 E2``).
END_TO_END = {
    "E1": EndToEnd("seed sweep: Gaussian data per seed, n=200, d=10, n_test=200, 500 GD "
                   "steps, logistic loss; whole logsim.run to a file vs a JAX script",
                   e1_scenario, jax_e1, (1024,), (64,)),
    "E2": EndToEnd("the quickstart sweep (2 losses x 4 noise rates x 2 smoothing levels x "
                   "seeds, 2000 GD steps, 40 checkpoints, n_test=2000); whole logsim.run vs "
                   "a JAX script computing train loss, test NLL, accuracy, Brier, 15-bin ECE",
                   e2_scenario, jax_e2, (16, 64), (2,)),
}
#: E1's seed counts for the scaling of time per run (target: log-log slope in
#: ``SCALING_TARGET``); reduced with ``--quick``.
SCALING_SEEDS = (128, 256, 512, 1024, 2048, 4096, 8192, 16384)
QUICK_SCALING_SEEDS = (16, 32, 64)
SCALING_TARGET = (0.95, 1.05)


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def _timed_logsim(scenario: dict, repeats: int) -> dict:
    """Whole ``logsim.run`` to a file, warm (the first call loads or compiles the kernels,
    reported apart), best of ``repeats``; and the stages of one more run."""
    import logsim
    from logsim.sweep import run_to_file

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.nc"
        start = time.perf_counter()
        logsim.run(scenario, out=out)
        first = time.perf_counter() - start

        def run():
            out.unlink(missing_ok=True)
            logsim.run(scenario, out=out)

        seconds = _best(run, repeats)
        out.unlink(missing_ok=True)
        stages = run_to_file(scenario, out).seconds
    return {"logsim_seconds": seconds, "logsim_first_seconds": first,
            "logsim_stage_seconds": {k: round(v, 4) for k, v in stages.items()}}


def measure_end_to_end(name: str, seeds: int, *, repeats: int = 3, jax: bool = True) -> dict:
    """Time a whole ``logsim.run`` (to a file) and the JAX script of workload ``name``."""
    from logsim.planner import make_plan

    row = END_TO_END[name]
    scenario = row.scenario(seeds)
    result = {"workload": name, "seeds": seeds,
              "trajectories": make_plan(scenario).n_trajectories,
              **_timed_logsim(scenario, repeats), "jax_seconds": None,
              "jax_compile_seconds": None, "vs_jax": None}
    if jax:
        try:
            compile_seconds, run_jax = row.jax(seeds)
        except ImportError as exc:
            result["jax_error"] = f"jax is not installed ({exc}); pip install 'logsim[bench]'"
            return result
        run_jax()
        result["jax_seconds"] = _best(run_jax, repeats)
        result["jax_compile_seconds"] = compile_seconds
        result["vs_jax"] = result["jax_seconds"] / result["logsim_seconds"]
    return result


def measure_seed_scaling(*, quick: bool = False, repeats: int = 3) -> dict:
    """E1's whole-run time at growing seed counts: time per run and the log-log slope of
    the total time (1 means the time per run is flat)."""
    seeds = QUICK_SCALING_SEEDS if quick else SCALING_SEEDS
    seconds = [_timed_logsim(e1_scenario(s), repeats)["logsim_seconds"] for s in seeds]
    slope = float(np.polyfit(np.log(seeds), np.log(seconds), 1)[0])
    lo, hi = SCALING_TARGET
    return {"seeds": list(seeds), "seconds": seconds,
            "seconds_per_run": [t / s for t, s in zip(seconds, seeds, strict=True)],
            "slope": slope, "target": None if quick else [lo, hi],
            "met": None if quick else bool(lo <= slope <= hi)}


def measure(names, *, quick: bool = False, repeats: int = 3, log=None) -> dict:
    """Every selected end-to-end workload at its sizes, and the seed scaling."""
    out: dict = {"workloads": {}, "scaling": None}
    for name in names:
        row = END_TO_END[name]
        runs = []
        for seeds in (row.quick_seeds if quick else row.seeds):
            if log:
                log(f"{name}: {seeds} seeds")
            r = measure_end_to_end(name, seeds, repeats=repeats)
            r["target_vs_jax"] = None if quick else row.target_vs_jax
            r["met"] = (None if quick or r["vs_jax"] is None
                        else r["vs_jax"] >= row.target_vs_jax)
            runs.append(r)
        out["workloads"][name] = {"description": row.description, "runs": runs}
    if "E1" in names:
        if log:
            log("E1 seed scaling")
        out["scaling"] = measure_seed_scaling(quick=quick, repeats=min(repeats, 3))
    return out


def format_end_to_end(e2e: dict | None) -> list[str]:
    """Printed lines of :func:`measure`."""
    if not e2e or not e2e["workloads"]:
        return []
    lines = ["", "end to end (whole logsim.run to a stored, analysed file, warm cache; "
                 "vs the JAX script, compile excluded):"]
    for name, entry in e2e["workloads"].items():
        lines.append(f"{name}  {entry['description']}")
        for r in entry["runs"]:
            stages = ", ".join(f"{k} {v:.3g}" for k, v in r["logsim_stage_seconds"].items())
            if r["vs_jax"] is None:
                versus = r.get("jax_error", "JAX not run")
            else:
                verdict = ("" if r["target_vs_jax"] is None else
                           f" (target {r['target_vs_jax']:g}x: "
                           f"{'met' if r['met'] else 'NOT met'})")
                versus = (f"JAX {r['jax_seconds']:.3g} s (compile {r['jax_compile_seconds']:.3g}"
                          f" s): {r['vs_jax']:.2f}x{verdict}")
            lines.append(f"{'':4}{r['seeds']:>6} seeds, {r['trajectories']} runs: logsim "
                         f"{r['logsim_seconds']:.3g} s [{stages}]; {versus}")
    sc = e2e.get("scaling")
    if sc:
        per = ", ".join(f"{s}: {1e3 * t:.3g}" for s, t in
                        zip(sc["seeds"], sc["seconds_per_run"], strict=True))
        verdict = ("" if sc["target"] is None else
                   f" (target {sc['target'][0]:g}-{sc['target'][1]:g}: "
                   f"{'met' if sc['met'] else 'NOT met'})")
        lines.append(f"E1 time per run (ms) by seeds: {per}; log-log slope "
                     f"{sc['slope']:.3f}{verdict}")
    return lines

