"""``logsim bench``: logsim's kernels side by side with batched NumPy and JAX.

One process run measures, for each selected workload (:data:`logsim.baselines.WORKLOADS`):

1. Set-up outside the timed region: the workload's data (drawn once), and what
   each implementation prepares (JAX compiles here, timed as its compile time;
   SGD batch indices are generated here).
2. A warm-up call of every implementation (its first-call time is reported), whose
   output is the correctness gate: final weights within ``rtol = atol = 1e-9``
   (``|w - w_logsim| <= 1e-9 + 1e-9 |w_logsim|`` elementwise) of logsim's. A
   baseline that fails is reported as failed and never timed.
3. ``repeats`` timed calls of each implementation, the order rotating every
   round (logsim, numpy, jax / numpy, jax, logsim / ...): median, min, max.
4. Thread scaling of logsim (``numba.set_num_threads``), checking the result is
   bit-identical at every thread count.
5. The ceiling: the 2 n d multiply-adds and n exponentials of a logistic step
   in micro-kernels at peak-friendly layouts (:mod:`logsim.baselines`), best of
   them = the achievable rate the kernel is measured against.

Then the cost as the work grows (time against trajectories, n, d and steps,
log-log slope), machine information, a printed table and optional JSON and plot.

This module is imported whenever the ``logsim`` parser is built, so it imports
nothing heavy at the top.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

SCHEMA = "logsim-bench/1"
#: The issue's targets: minimum logsim/baseline rate ratios, measured side by side.
TARGETS = {"W1": {"vs_jax": 2.0, "vs_numpy": 5.0}, "W2": {"vs_jax": 5.0},
           "W3": {"vs_jax": 2.0, "vs_numpy": 5.0}, "W4": {"vs_best_baseline": 1.0}}
RTOL = ATOL = 1e-9
ORDER = ("logsim", "numpy", "jax")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``logsim bench``."""
    parser.add_argument("--workload", nargs="+", metavar="W", choices=("W1", "W2", "W3", "W4"),
                        help="workloads to run (default: all of W1 W2 W3 W4)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="FILE", help="write a figure (PNG/PDF/SVG by suffix)")
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes (seconds, for smoke tests); not for quoting")
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="timed calls per implementation (default 5; 3 with --quick)")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the time-vs-size panel")
    parser.add_argument("--no-threads", action="store_true", help="skip the thread scaling")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory measurement of a sweep")
    parser.add_argument("--dask", nargs="?", const="scenarios/quickstart.toml", metavar="SCENARIO",
                        help="also time SCENARIO (default scenarios/quickstart.toml) in one "
                             "process and on a 2-worker Dask LocalCluster, and report the "
                             "overhead per chunk (needs the dask extra)")


def main(args) -> int:
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if repeats < 1:
        raise ValueError(f"--repeats must be an integer >= 1, got {repeats}")
    result = run(args.workload or ["W1", "W2", "W3", "W4"], quick=args.quick, repeats=repeats,
                 scaling=not args.no_scaling, threads=not args.no_threads,
                 memory=not args.no_memory)
    if args.dask:
        result["dask"] = measure_dask(args.dask)
    print(format_table(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        plot(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


def measure_dask(scenario, n_workers: int = 2) -> dict:
    """The same sweep in one process and on a ``n_workers`` LocalCluster.

    See :func:`logsim.distributed.overhead_benchmark` for the method; the
    per-chunk overhead is worker time per chunk not spent in the kernel.
    """
    from logsim.distributed import overhead_benchmark

    out = overhead_benchmark(scenario, n_workers=n_workers)
    out["scenario"] = str(scenario)
    return out


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --- the run ------------------------------------------------------------------------------


def run(names, *, quick=False, repeats=5, scaling=True, threads=True, memory=True,
        log=_log) -> dict:
    """Run the suite on workloads ``names`` and return the JSON-ready result."""
    from logsim import baselines

    table = baselines.QUICK if quick else baselines.WORKLOADS
    _quiet.update(QUIET if not quick else {"max_wait": 0.0, "retries": 0})
    try:
        return _run(names, table, quick=quick, repeats=repeats, scaling=scaling,
                    threads=threads, memory=memory, log=log)
    finally:
        _quiet.update(max_wait=0.0, retries=0)


def _run(names, table, *, quick, repeats, scaling, threads, memory, log):
    started = time.perf_counter()
    result = {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": bool(quick),
        "repeats": repeats,
        "gate": {"compared": "final weights (R, d)", "rtol": RTOL, "atol": ATOL,
                 "rule": "|w - w_logsim| <= atol + rtol |w_logsim| elementwise"},
        "machine": machine_info(),
        "code": code_info(),
        "interference_guard": dict(_quiet),
        "peaks": None,
        "workloads": {},
        "scaling": None,
        "memory": None,
    }
    busy_start = _cpu_busy()
    peaks = measure_peaks(quick)
    result["peaks"] = peaks
    for name in names:
        w = table[name]
        log(f"{name}: {w.label()}")
        entry = measure_workload(w, repeats, log=log)
        target = {} if quick else TARGETS.get(name, {})  # reduced sizes are not for quoting
        entry["target"] = target
        entry["target_met"] = (None if not target or any(entry[k] is None for k in target)
                               else all(entry[k] >= v for k, v in target.items()))
        if threads:
            # long workloads: one call per thread count keeps the run within minutes
            slow = entry["implementations"]["logsim"]["median_s"] > 2.0
            entry["threads"] = measure_threads(w, entry.pop("_problem"), entry.pop("_ref"),
                                               repeats=1 if slow else min(repeats, 3), log=log)
        else:
            entry["threads"] = None
        entry.pop("_problem", None)
        entry.pop("_ref", None)
        entry["ceiling"] = measure_ceiling(w, peaks, quick=quick)
        rate = entry["implementations"]["logsim"].get("traj_steps_per_s")
        best = entry["ceiling"]["best_traj_steps_per_s"]
        entry["ceiling_fraction"] = rate / best if rate and best else None
        bound = entry["ceiling"]["peak_bound_traj_steps_per_s"]
        entry["peak_bound_fraction"] = rate / bound if rate and bound else None
        result["workloads"][name] = entry
    result["compile"] = None if quick else measure_compile(log=log)
    if memory:
        result["memory"] = measure_memory(quick=quick, log=log)
    if scaling:
        log("scaling")
        result["scaling"] = measure_scaling(quick=quick, repeats=repeats, log=log)
    result["machine"]["load_average_end"] = _loadavg()
    result["wall_seconds"] = time.perf_counter() - started
    result["machine"]["other_processes_cpu_share"] = _other_share(busy_start, _cpu_busy())
    return result


#: Seconds to sleep before each timed call, so that the spinning worker threads of the
#: previous implementation (OpenMP, OpenBLAS, XLA) go idle and do not steal the cores.
PAUSE = 0.05
#: Guarding against other processes on a shared machine: before a timed call wait up to
#: ``max_wait`` s for the cores to be idle; redo a call during which other processes used
#: more than ``threshold`` of the cores, at most ``retries`` times. Only a full
#: ``run(quick=False)`` turns this on. Every sample's interference is recorded.
QUIET = {"max_wait": 30.0, "retries": 3, "threshold": 0.1}
_quiet = {**QUIET, "max_wait": 0.0, "retries": 0}


def _wait_for_idle(max_wait):
    """Sleep until other processes use < threshold of the cores (or ``max_wait`` passes)."""
    deadline = time.perf_counter() + max_wait
    while True:
        a = _cpu_busy()
        time.sleep(0.1)
        share = _other_share(a, _cpu_busy())
        if share is None or share < _quiet["threshold"] or time.perf_counter() > deadline:
            return


def _call(fn, pause=PAUSE):
    """``(seconds, fn(), share of the cores other processes used meanwhile)``."""
    time.sleep(pause)
    enabled = gc.isenabled()
    gc.disable()
    try:
        a = _cpu_busy()
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        return seconds, out, _other_share(a, _cpu_busy())
    finally:
        if enabled:
            gc.enable()


def _timed(fn, pause=PAUSE, log=None):
    """``(seconds, fn(), interference)``, garbage collector off during the call.

    Waits for idle cores first and redoes a disturbed call (see :data:`QUIET`).
    """
    for attempt in range(_quiet["retries"] + 1):
        if _quiet["max_wait"] > 0:
            _wait_for_idle(_quiet["max_wait"])
        seconds, out, other = _call(fn, pause)
        if other is None or other <= _quiet["threshold"] or attempt == _quiet["retries"]:
            return seconds, out, other
        if log:
            log(f"    (other processes used {other:.0%} of the cores: timing again)")
    raise AssertionError("unreachable")  # pragma: no cover


def _check(out, ref):
    """Gate: (passed, max abs diff of final weights, max rel diff, max loss rel diff)."""
    import numpy as np

    W, L = (np.asarray(a) for a in out)
    Wr, Lr = ref
    if W.shape != Wr.shape or L.shape != Lr.shape:
        return False, math.inf, math.inf, math.inf
    final, final_ref = W[:, -1], Wr[:, -1]
    diff = np.abs(final - final_ref)
    passed = bool(np.all(np.isfinite(final)) and np.all(diff <= ATOL + RTOL * np.abs(final_ref)))
    rel = float(np.max(diff / np.maximum(np.abs(final_ref), 1e-300)))
    loss_rel = float(np.max(np.abs(L - Lr) / np.maximum(np.abs(Lr), 1e-300)))
    return passed, float(np.max(diff)), rel, loss_rel


def _stats(times, w):
    import numpy as np

    med = float(np.median(times))
    lo, hi = float(min(times)), float(max(times))
    return {
        "status": "ok",
        "times_s": [float(t) for t in times],
        "median_s": med, "min_s": lo, "max_s": hi,
        "traj_steps_per_s": w.trajectory_steps / med,
        "traj_steps_per_s_min": w.trajectory_steps / hi,
        "traj_steps_per_s_max": w.trajectory_steps / lo,
        "sample_grads_per_s": w.sample_gradients / med,
        "sample_grads_per_s_min": w.sample_gradients / hi,
        "sample_grads_per_s_max": w.sample_gradients / lo,
    }


def _kernel_cache_stats():
    from logsim import kernels

    counts = []
    for attr in ("cache_hits", "cache_misses"):
        found = [getattr(getattr(f, "stats", None), attr, None) for f in kernels.ENTRY_POINTS]
        counts.append(None if any(c is None for c in found)
                      else int(sum(sum(c.values()) for c in found)))
    return tuple(counts)


def measure_workload(w, repeats, *, log=_log, implementations=ORDER) -> dict:
    """Gate and time every implementation on workload ``w`` (see the module notes)."""
    from logsim import baselines

    problem = baselines.make_problem(w)
    runs, out = {}, {}
    entry = {"workload": {**_asdict(w), "label": w.label()},
             "trajectory_steps": w.trajectory_steps, "sample_gradients": w.sample_gradients,
             "implementations": out}
    for name in implementations:
        impl = baselines.IMPLEMENTATIONS[name]()
        reason = impl.available()
        if reason:
            out[name] = {"status": "unavailable", "reason": reason}
            log(f"  {name}: unavailable ({reason})")
            continue
        start = time.perf_counter()
        try:
            runs[name] = impl.prepare(problem)
        except Exception as exc:
            if name == "logsim":
                raise
            out[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            log(f"  {name}: failed to set up ({exc})")
            continue
        out[name] = {"prepare_s": time.perf_counter() - start,
                     "compile_s": impl.compile_seconds}

    hits_before = _kernel_cache_stats()
    first, ref, _ = _timed(runs["logsim"])
    hits_after = _kernel_cache_stats()
    ref = tuple(a.copy() for a in ref)
    out["logsim"]["first_call_s"] = first
    out["logsim"]["numba_cache"] = {"hits": _delta(hits_before[0], hits_after[0]),
                                    "misses": _delta(hits_before[1], hits_after[1])}
    timed = ["logsim"]
    for name in list(runs):
        if name == "logsim":
            continue
        try:
            first, result, _ = _timed(runs[name])
            passed, diff, rel, loss_rel = _check(result, ref)
        except Exception as exc:  # a crashing baseline is reported, not fatal
            out[name].update(status="failed", reason=f"{type(exc).__name__}: {exc}")
            log(f"  {name}: failed ({exc})")
            continue
        out[name].update(first_call_s=first, max_abs_diff=diff, max_rel_diff=rel,
                         loss_max_rel_diff=loss_rel, gate_passed=passed)
        if passed:
            timed.append(name)
        else:
            out[name].update(status="failed",
                             reason=f"final weights differ from logsim's by up to {diff:.3g} "
                                    f"(relative {rel:.3g}) > {RTOL:g}")
            log(f"  {name}: failed the correctness gate ({diff:.3g})")

    times = {name: [] for name in timed}
    interference = {name: [] for name in timed}
    gc.collect()
    for rep in range(repeats):
        k = rep % len(timed)
        for name in timed[k:] + timed[:k]:
            t, _, other = _timed(runs[name], log=log)
            times[name].append(t)
            interference[name].append(other)
    for name in timed:
        out[name].update(_stats(times[name], w))
        out[name]["other_processes_cpu_share"] = interference[name]
        if out[name].get("compile_s") is None:  # compiled on the first call, if at all
            out[name]["compile_s"] = max(0.0, out[name]["first_call_s"] - out[name]["median_s"])
        log(f"  {name:<7} median {out[name]['median_s']:.4g} s")
    rate = out["logsim"]["traj_steps_per_s"]
    for base in ("jax", "numpy"):
        other = out.get(base, {}).get("traj_steps_per_s")
        entry[f"vs_{base}"] = rate / other if other else None
    ratios = [entry[f"vs_{b}"] for b in ("jax", "numpy") if entry[f"vs_{b}"] is not None]
    entry["vs_best_baseline"] = min(ratios) if ratios else None
    entry["_problem"] = problem
    entry["_ref"] = ref
    return entry


def _delta(a, b):
    return None if a is None or b is None else b - a


def _asdict(w):
    import dataclasses

    return dataclasses.asdict(w)


def measure_threads(w, problem, ref, *, repeats=3, log=_log) -> list[dict]:
    """logsim's time at 1, 2, 4, ... and all Numba threads; results must stay bit-identical."""
    import numba
    import numpy as np

    from logsim import baselines

    fn = baselines.Logsim().prepare(problem)
    top = numba.config.NUMBA_NUM_THREADS
    counts = sorted({min(2**k, top) for k in range(top.bit_length() + 1)} | {top})
    saved = numba.get_num_threads()
    rows = []
    try:
        for k in counts:
            numba.set_num_threads(k)
            times = []
            identical = True
            for _ in range(repeats):
                t, out, _ = _timed(fn, log=log)
                times.append(t)
                identical &= bool(np.array_equal(out[0], ref[0], equal_nan=True)
                                  and np.array_equal(out[1], ref[1], equal_nan=True))
            rows.append({"threads": k, "repeats": repeats, "median_s": float(np.median(times)),
                         "traj_steps_per_s": w.trajectory_steps / float(np.median(times)),
                         "bit_identical": identical})
    finally:
        numba.set_num_threads(saved)
    for row in rows:
        row["speedup"] = rows[0]["median_s"] / row["median_s"]
        row["efficiency"] = row["speedup"] / row["threads"]
    log("  threads " + ", ".join(f"{r['threads']}: {r['median_s']:.3g} s" for r in rows))
    return rows


# --- ceiling ------------------------------------------------------------------------------


def _best_rate(fn, units, *, budget):
    """Units per second of ``fn(steps)``, best of 3, with ``steps`` sized to take ``budget`` s."""
    def seconds(steps):
        return _timed(lambda: fn(steps))[0]

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
    import numba
    import numpy as np

    from logsim import baselines

    budget = 0.05 if quick else 0.3
    size = 256 if quick else 1500
    g = np.random.default_rng(0)
    A = g.normal(size=(size, size))
    flops = _best_rate(lambda s: [A @ A for _ in range(s)], 2.0 * size**3, budget=budget)
    threads = numba.get_num_threads()
    Z = g.uniform(-20.0, 5.0, size=(threads, 512))
    O = np.empty_like(Z)
    exps = _best_rate(lambda s: baselines.exp_throughput(Z, O, s), Z.size, budget=budget)
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
    import numba
    import numpy as np
    from threadpoolctl import threadpool_limits

    from logsim import baselines

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
        "rows": lambda s: baselines.ceiling_rows(XT, W, s, c),
        "lanes": lambda s: baselines.ceiling_lanes(X, WT, s, c, lanes),
        "lanes_registers": lambda s: baselines.ceiling_lanes_registers(X, XT, WT, s, c, lanes),
        "gemm": lambda s: baselines.ceiling_gemm(X, XT, W, s, c),
    }
    rates = {}
    for name, fn in variants.items():
        rates[name] = _best_rate(fn, R, budget=budget)
    with threadpool_limits(1, user_api="blas"):
        rates["gemm_blocks"] = _best_rate(
            lambda s: baselines.ceiling_gemm_blocks(X, XT, W, s, c, blocks), R, budget=budget)
    best = max(rates, key=rates.get)
    fma = peaks["dgemm_flop_per_s"] / 2.0
    bound = 1.0 / (2.0 * m * d / fma + m / peaks["exp_per_s"])
    return {"samples_per_step": m, "fma_per_traj_step": 2 * m * d, "exp_per_traj_step": m,
            "traj_steps_per_s": rates, "best_variant": best,
            "best_traj_steps_per_s": rates[best], "peak_bound_traj_steps_per_s": bound}


#: The kernel's compiled paths, each first reached by one tiny call of :func:`run_batch`:
#: full-batch groups on the ordered loops, groups on BLAS (d >= GEMM_MIN_FEATURES), and
#: lone trajectories (SGD here). A sweep compiles only the paths it uses.
_COMPILE_PROBE = """
import json, time
t0 = time.perf_counter()
import numpy as np
from logsim.engine import run_batch
from logsim.kernels import GEMM_MIN_FEATURES
t1 = time.perf_counter()
g = np.random.default_rng(0)
y = np.array([[1.0, 0.0, 1.0, 0.0]] * 64)  # groups of two or more on up to 32 threads
calls = {
    "groups_loops": lambda: run_batch(g.normal(size=(4, 2)), y, steps=3, checkpoints=2),
    "groups_blas": lambda: run_batch(g.normal(size=(4, GEMM_MIN_FEATURES)), y, steps=3,
                                     checkpoints=2),
    "solo_sgd": lambda: run_batch(g.normal(size=(4, 2)), y[0], method="sgd", batch_size=2,
                                  steps=3, checkpoints=2),
}
paths = {}
for name, call in calls.items():
    t = time.perf_counter()
    call()
    paths[name] = time.perf_counter() - t
print(json.dumps({"import_s": t1 - t0, "first_call_s": sum(paths.values()), "paths": paths}))
"""

#: The issue's compile target is stated for this scenario: a cold ``logsim run`` of it.
QUICKSTART = Path(__file__).resolve().parents[1] / "scenarios" / "quickstart.toml"


def _cold_then_warm(command, *, timeout):
    """Yield ``("cold", run)`` then ``("warm", run)``: ``run()`` runs ``command(folder)`` in a
    fresh process whose Numba cache is ``folder``, a new temporary folder shared by both
    (empty for the first). ``run`` raises on failure and returns the completed process."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            yield label, lambda: subprocess.run(command(cache), env=env, capture_output=True,
                                                text=True, timeout=timeout, check=True)


def measure_compile(*, log=_log) -> dict | None:
    """Compile cost, each in a fresh process: empty Numba cache (``cold``), then filled (``warm``).

    * ``cold``/``warm``: :data:`_COMPILE_PROBE`, every compiled path of the kernel once;
      ``first_call_s`` is the sum of the paths' first calls (compilation, or loading the
      on-disk cache), ``import_s`` the import of :mod:`logsim.engine`.
    * ``quickstart_cold_s``/``quickstart_warm_s``: the wall time of a whole
      ``logsim run scenarios/quickstart.toml`` (import, compile, sweep, analysis, write),
      the issue's target (under 20 s cold). Absent where the scenario file is not found.
    """
    out = {}
    for label, run in _cold_then_warm(lambda cache: [sys.executable, "-c", _COMPILE_PROBE],
                                      timeout=600):
        try:
            out[label] = json.loads(run().stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            out[label] = {"error": f"{type(exc).__name__}: {exc}"}
    if QUICKSTART.is_file():
        def quickstart(cache):
            return [sys.executable, "-m", "logsim.cli", "run", str(QUICKSTART), "--quiet",
                    "-o", os.path.join(cache, "quickstart.nc")]

        for label, run in _cold_then_warm(quickstart, timeout=900):
            start = time.perf_counter()
            try:
                run()
                out[f"quickstart_{label}_s"] = time.perf_counter() - start
            except (OSError, subprocess.SubprocessError) as exc:
                out[f"quickstart_{label}_s"] = None
                out[f"quickstart_{label}_error"] = f"{type(exc).__name__}: {exc}"
    log("compile: " + ", ".join(f"{k} {v.get('first_call_s', math.nan):.2f} s"
                                for k, v in out.items() if isinstance(v, dict))
        + "".join(f", quickstart {k} {out[f'quickstart_{k}_s']:.1f} s" for k in ("cold", "warm")
                  if out.get(f"quickstart_{k}_s") is not None))
    return out


#: The issue's memory target: a sweep's peak resident memory above the warm process, at
#: most this many times the bytes of its result arrays plus the data it drew.
MEMORY_TARGET = 1.5
#: Sizes of the sweeps :func:`measure_memory` runs (gaussian data, full-batch GD,
#: ``learning_rates`` step sizes x ``seeds`` replicates). ``full`` makes 276 MB of result
#: arrays, 74 % of them the weights (trajectories x checkpoints x dim float64), the rest
#: mostly per-checkpoint metrics; few samples keep the kernel, the per-seed SVMs and the
#: per-checkpoint test metrics to seconds (about 25 s in all on 2 idle cores).
MEMORY_SWEEPS = {
    "warmup": {"learning_rates": 2, "seeds": 1, "dim": 2, "n_train": 10, "n_test": 4,
               "steps": 3, "checkpoints": 2},
    "quick": {"learning_rates": 4, "seeds": 2, "dim": 6, "n_train": 30, "n_test": 10,
              "steps": 40, "checkpoints": 41},
    "full": {"learning_rates": 25, "seeds": 16, "dim": 64, "n_train": 100, "n_test": 20,
             "steps": 1000, "checkpoints": 1000},
}


def memory_scenario(name: str, sizes: dict) -> str:
    """The scenario TOML text of a :data:`MEMORY_SWEEPS` entry.

    Parameters
    ----------
    name : str
        Scenario name (also the stem of the files the probe writes).
    sizes : dict
        ``learning_rates``, ``seeds``, ``dim``, ``n_train``, ``n_test``, ``steps``,
        ``checkpoints``; the step sizes are spread evenly over [0.05, 0.5].

    Returns
    -------
    str
        A scenario that :func:`logsim.scenario.load_scenario` accepts.
    """
    count = sizes["learning_rates"]
    rates = [round(0.05 + 0.45 * k / max(count - 1, 1), 6) for k in range(count)]
    return "\n".join([
        f'name = "{name}"',
        f'description = "peak-memory probe of logsim bench ({name})"',
        "[data]",
        'kind = "gaussian"',
        *(f"{key} = {sizes[key]}" for key in ("n_train", "n_test", "dim")),
        "[grid]",
        f"learning_rate = [{', '.join(map(repr, rates))}]",
        f"seed = {sizes['seeds']}",
        "[optimizer]",
        'method = "gd"',
        f"steps = {sizes['steps']}",
        "[record]",
        f"checkpoints = {sizes['checkpoints']}",
        "",
    ])


def _describe_sweep(sizes: dict) -> str:
    trajectories = sizes["learning_rates"] * sizes["seeds"]
    return (f"gaussian, {trajectories} trajectories ({sizes['learning_rates']} step sizes x "
            f"{sizes['seeds']} seeds) x {sizes['checkpoints']} checkpoints x d={sizes['dim']}, "
            f"n_train={sizes['n_train']}, n_test={sizes['n_test']}, {sizes['steps']} GD steps")


_MEMORY_PROBE = """
import gc, json, re, sys, time
from pathlib import Path

spec = json.loads(sys.argv[1])
work = Path(spec["workdir"])


def status_bytes(field):
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\\s+(\\d+) kB$", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"/proc/self/status has no {field} line")
    return int(found.group(1)) * 1024


def reset_high_water_mark():
    # Linux >= 4.0: writing 5 sets VmHWM (and ru_maxrss) back to the current RSS
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


from logsim import cli


def logsim_run(name):
    scenario = work / f"{name}.toml"
    scenario.write_text(spec["scenarios"][name])
    out = work / f"{name}.nc"
    code = cli.main(["run", str(scenario), "-o", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(f"logsim run {scenario} exited with code {code}")
    return scenario, out


logsim_run("warmup")  # imports, Numba cache load, xarray and netCDF4 set-up
gc.collect()
warmup_peak = status_bytes("VmHWM")
peak_was_reset = reset_high_water_mark()
baseline = status_bytes("VmRSS")
started = time.perf_counter()
scenario, out = logsim_run("sweep")
seconds = time.perf_counter() - started
peak = status_bytes("VmHWM")

# outside the measured region: the sizes of what the sweep made and drew
import xarray as xr
from logsim.sweep import draw_for, make_plan

with xr.open_dataset(out, engine="netcdf4") as written:
    result_bytes = sum(int(v.nbytes) for v in written.variables.values())
    weights_shape = list(written["weights"].shape)
    weights_bytes = int(written["weights"].nbytes)
plan = make_plan(scenario)
draws = [draw_for(cell) for cell in plan._data_cells]
data_bytes = sum(int(a.nbytes) for d in draws
                 for a in (d.x_train, d.y_train, d.x_test, d.y_test, d.p_train, d.p_test,
                           d.w_star) if a is not None)
print(json.dumps({"result_bytes": result_bytes, "weights_bytes": weights_bytes,
                  "weights_shape": weights_shape, "data_bytes": data_bytes,
                  "distinct_data_draws": len(draws), "baseline_rss_bytes": baseline,
                  "peak_rss_bytes": peak, "warmup_peak_rss_bytes": warmup_peak,
                  "peak_was_reset": peak_was_reset, "sweep_seconds": seconds}))
"""


def measure_memory(*, quick: bool = False, workdir=None, log=_log) -> dict:
    """Peak resident memory of a ``logsim run`` sweep against the size of what it makes.

    In a fresh process (the normal Numba cache): a tiny warm-up sweep (imports,
    kernel load, netCDF set-up), then the resident set size as the baseline, the
    high-water mark reset to it (``/proc/self/clear_refs``), then the measured sweep
    through ``logsim run`` (scenario file and netCDF output in ``workdir``), then the
    high-water mark. Outside the measured region the written file is opened to
    total its arrays, and the sweep's data draws are totalled.

    Parameters
    ----------
    quick : bool
        A sweep of a few kilobytes (seconds; checks the plumbing, not for quoting:
        the process's own noise dominates, so no target applies).
    workdir : path, optional
        Folder for the scenario files and results (kept); default a temporary one.
    log : callable
        Progress messages.

    Returns
    -------
    dict
        ``result_bytes`` (``nbytes`` of every variable and coordinate of the written
        dataset), ``data_bytes`` (every array of the distinct data draws: features,
        labels, posteriors, true weights), ``baseline_rss_bytes``, ``peak_rss_bytes``,
        ``peak_increase_bytes`` (peak - baseline), ``ratio`` = peak increase /
        (result + data bytes), ``target`` (:data:`MEMORY_TARGET`, None with
        ``quick``), ``met``, ``scenario`` (a description), ``sizes``, and what the
        probe saw besides (``weights_shape``, ``warmup_peak_rss_bytes``,
        ``sweep_seconds``...). ``{"error": message}`` if the probe failed.
    """
    import tempfile

    sizes = MEMORY_SWEEPS["quick" if quick else "full"]
    with tempfile.TemporaryDirectory() as scratch:
        spec = {"workdir": str(workdir or scratch),
                "scenarios": {"warmup": memory_scenario("warmup", MEMORY_SWEEPS["warmup"]),
                              "sweep": memory_scenario("sweep", sizes)}}
        try:
            proc = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, json.dumps(spec)],
                                  capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                raise RuntimeError(f"the probe exited with code {proc.returncode}: {tail}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, RuntimeError, ValueError,
                IndexError) as exc:
            log(f"memory: failed ({exc})")
            return {"error": f"{type(exc).__name__}: {exc}"}
    if not out["peak_was_reset"] and out["warmup_peak_rss_bytes"] >= out["peak_rss_bytes"]:
        return {"error": "the high-water mark could not be reset and the warm-up's peak is "
                         "not below the sweep's, so the sweep's peak is unknown"}
    out["peak_increase_bytes"] = out["peak_rss_bytes"] - out["baseline_rss_bytes"]
    out["ratio"] = out["peak_increase_bytes"] / (out["result_bytes"] + out["data_bytes"])
    out["target"] = None if quick else MEMORY_TARGET
    out["met"] = None if quick else out["ratio"] <= MEMORY_TARGET
    out["scenario"] = _describe_sweep(sizes)
    out["sizes"] = dict(sizes)
    log(f"memory: peak +{out['peak_increase_bytes'] / 1e6:.0f} MB for "
        f"{(out['result_bytes'] + out['data_bytes']) / 1e6:.0f} MB of results and data "
        f"(x{out['ratio']:.2f})")
    return out


# --- scaling ------------------------------------------------------------------------------


def _back_to_back(fn, repeats):
    """Median of ``repeats`` calls run back to back after a warm-up call: the steady cost,
    without waking idle worker threads (~10 ms for logsim's OpenMP layer here, see
    benchmarks/README.md). Disturbed calls are redone as in :func:`_timed`."""
    import numpy as np

    if _quiet["max_wait"] > 0:
        _wait_for_idle(_quiet["max_wait"])
    fn()
    times = []
    for _ in range(repeats):
        for attempt in range(_quiet["retries"] + 1):
            t, _, other = _call(fn, pause=0.0)
            if other is None or other <= _quiet["threshold"] or attempt == _quiet["retries"]:
                break
        times.append(t)
    return float(np.median(times))


def measure_scaling(*, quick=False, repeats=3, log=_log) -> dict:
    """Time against trajectories, n, d and steps (one at a time) around a small GD workload.

    Calls run back to back after a warm-up (steady-state cost); median of ``repeats``.
    """
    import dataclasses

    import numpy as np

    from logsim import baselines

    if quick:
        base = baselines.Workload("S", "scaling base", 8, 32, 4, 32, seed=9)
        factors = (0.5, 1.0, 2.0)
        impls = ("logsim", "numpy")
    else:
        base = baselines.Workload("S", "scaling base", 64, 256, 16, 512, seed=9)
        factors = (0.25, 0.5, 1.0, 2.0, 4.0)
        impls = ORDER
    available = [n for n in impls if baselines.IMPLEMENTATIONS[n]().available() is None]
    out = {"base": {**_asdict(base), "label": base.label()}, "implementations": available,
           "axes": {}}
    for axis in ("trajectories", "n", "d", "steps"):
        sizes = [max(1, round(getattr(base, axis) * f)) for f in factors]
        series = {name: [] for name in available}
        for size in sizes:
            w = dataclasses.replace(base, **{axis: size})
            problem = baselines.make_problem(w)
            ref = None
            for name in available:
                fn = baselines.IMPLEMENTATIONS[name]().prepare(problem)
                _, first, _ = _call(fn)
                if ref is None:
                    ref = first
                elif not _check(first, ref)[0]:
                    series[name].append(None)
                    continue
                series[name].append(_back_to_back(fn, repeats))
        slopes = {}
        for name, times in series.items():
            pts = [(s, t) for s, t in zip(sizes, times, strict=True) if t]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                slopes[name] = float(np.polyfit(x, y, 1)[0])
        out["axes"][axis] = {"sizes": sizes, "median_s": series, "slope": slopes}
        log(f"  {axis}: slope " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()))
    return out


# --- machine ------------------------------------------------------------------------------


def _loadavg():
    try:
        return list(os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return None


def _cpu_busy():
    """(machine busy CPU-seconds, this process's CPU-seconds, wall time), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(f) for f in fields]
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    own = os.times()
    return busy, own.user + own.system, time.perf_counter()


def _other_share(a, b):
    """Share of the machine's cores that other processes kept busy between ``a`` and ``b``."""
    if a is None or b is None:
        return None
    wall = b[2] - a[2]
    other = (b[0] - a[0]) - (b[1] - a[1])
    return max(0.0, other / (wall * (os.cpu_count() or 1)))


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in flags if f in {"avx", "avx2", "fma", "avx512f",
                                                         "avx512dq", "avx512vl"})
    except OSError:  # pragma: no cover
        pass
    return []


def machine_info() -> dict:
    """CPU, cores, library versions and BLAS; enough to know where the numbers came from."""
    import llvmlite
    import numba
    import numpy as np

    info = {
        "cpu_model": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "jax": None,
        "jaxlib": None,
        "blas": None,
        "load_average_start": _loadavg(),
    }
    try:
        import jax
        import jaxlib

        info["jax"], info["jaxlib"] = jax.__version__, jaxlib.__version__
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: lib.get(k) for k in ("internal_api", "version", "num_threads",
                                                 "architecture", "threading_layer", "prefix")}
                        for lib in threadpool_info() if lib.get("user_api") == "blas"]
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    return info


#: The files whose code the numbers measure (their hashes tie a result to a kernel version).
KERNEL_FILES = ("kernels.py", "losses.py", "_exp.py", "_jit.py", "engine.py", "rng.py",
                "baselines.py")


def code_info() -> dict:
    """logsim version, git commit (if any) and SHA-256 of the kernel source files."""
    import hashlib

    import logsim

    here = Path(__file__).parent
    info = {"logsim": logsim.__version__, "git_commit": None, "git_dirty_files": None,
            "sha256": {}}
    for name in KERNEL_FILES:
        try:
            info["sha256"][name] = hashlib.sha256((here / name).read_bytes()).hexdigest()
        except OSError:  # pragma: no cover
            info["sha256"][name] = None
    try:
        def git(*cmd):
            return subprocess.run(["git", *cmd], cwd=here, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        info["git_commit"] = git("rev-parse", "HEAD")
        info["git_dirty_files"] = [line[3:] for line in git(
            "status", "--porcelain", "--", *KERNEL_FILES).splitlines()]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


# --- output -------------------------------------------------------------------------------


def _fmt(x, spec=".3g"):
    return "-" if x is None else format(x, spec)


def format_table(result: dict) -> str:
    """The printed table: per workload, each implementation's time, rates and ratio."""
    m = result["machine"]
    lines = [
        f"logsim bench{' --quick (reduced sizes, not for quoting)' if result['quick'] else ''}"
        f": {m['cpu_model']}, {m['logical_cores']} cores, numba {m['numba']} "
        f"({m['numba_threads']} threads), numpy {m['numpy']}, jax {m['jax'] or 'not installed'}",
        f"median of {result['repeats']} (min-max); rates at the median; gate: final weights "
        f"within rtol=atol={RTOL:g} of logsim's",
    ]
    shares = [x for e in result["workloads"].values() for r in e["implementations"].values()
              for x in r.get("other_processes_cpu_share") or [] if x is not None]
    disturbed = sum(x > 0.1 for x in shares)
    if disturbed > len(shares) / 5:
        lines.append(f"WARNING: other processes used > 10% of the cores during {disturbed} of "
                     f"{len(shares)} timed calls; the timings are not reliable")
    header = (f"{'':4}{'impl':<8}{'median s':>10} {'min-max s':<19}{'Mtraj-step/s':>13}"
              f"{'Gsample-grad/s':>16}{'logsim x':>10}{'compile s':>11}{'max rel diff':>14}")
    for name, e in result["workloads"].items():
        lines += ["", f"{name}  {e['workload']['description']}: {e['workload']['label']}", header]
        ls = e["implementations"]["logsim"]
        for impl in ORDER:
            r = e["implementations"].get(impl)
            if r is None:
                continue
            if r.get("status") != "ok":
                lines.append(f"{'':4}{impl:<8}  {r.get('status')}: {r.get('reason')}")
                continue
            ratio = ls["traj_steps_per_s"] / r["traj_steps_per_s"]
            span = f"{r['min_s']:.4g}-{r['max_s']:.4g}"
            lines.append(
                f"{'':4}{impl:<8}{r['median_s']:>10.4g} {span:<19}"
                f"{r['traj_steps_per_s'] / 1e6:>13.4g}{r['sample_grads_per_s'] / 1e9:>16.4g}"
                f"{'' if impl == 'logsim' else f'{ratio:.2f}x':>10}"
                f"{_fmt(r.get('compile_s')):>11}"
                f"{'' if impl == 'logsim' else _fmt(r.get('max_rel_diff'), '.1e'):>14}")
        c = e["ceiling"]
        lines.append(
            f"{'':4}{'ceiling':<8}{'':>30}{c['best_traj_steps_per_s'] / 1e6:>13.4g}"
            f"{c['best_traj_steps_per_s'] * c['samples_per_step'] / 1e9:>16.4g}"
            f"  ({c['best_variant']}; logsim reaches {_fmt(e['ceiling_fraction'], '.0%')}, "
            f"{_fmt(e['peak_bound_fraction'], '.0%')} of the peak bound)")
        disturbed = sum(1 for r in e["implementations"].values()
                        for x in r.get("other_processes_cpu_share") or [] if x and x > 0.1)
        if disturbed:
            lines.append(f"{'':4}note: during {disturbed} timed calls other processes used "
                         "> 10% of the cores")
        met = {None: "", True: "  target met", False: "  target NOT met"}[e.get("target_met")]
        goal = ", ".join(f"{k} >= {v:g}" for k, v in (e.get("target") or {}).items())
        lines.append(f"{'':4}vs_jax {_fmt(e['vs_jax'], '.2f')}   vs_numpy "
                     f"{_fmt(e['vs_numpy'], '.2f')}   (logsim rate / baseline rate)"
                     f"{f'{met} ({goal})' if goal else ''}")
        if e.get("threads"):
            lines.append(f"{'':4}logsim threads: " + ", ".join(
                f"{t['threads']}: {t['median_s']:.3g} s (x{t['speedup']:.2f}"
                f"{'' if t['bit_identical'] else ', NOT bit-identical'})"
                for t in e["threads"]))
    if result.get("scaling"):
        s = result["scaling"]
        lines += ["", f"scaling around {s['base']['label']} (log-log slope of time):"]
        for axis, a in s["axes"].items():
            lines.append(f"{'':4}{axis:<13}" + "  ".join(
                f"{k} {v:.2f}" for k, v in a["slope"].items()))
    comp = result.get("compile")
    if comp and "first_call_s" in comp.get("cold", {}):
        paths = comp["cold"].get("paths", {})
        lines += ["", f"logsim kernel compile, every path (fresh process, empty Numba cache): "
                      f"{comp['cold']['first_call_s']:.1f} s"
                      + (" (" + ", ".join(f"{k} {v:.1f}" for k, v in paths.items()) + ")"
                         if paths else "")
                      + f"; with the cache warm: {comp['warm'].get('first_call_s', math.nan):.2f}"
                      f" s (+ {comp['warm'].get('import_s', math.nan):.2f} s import)"]
    if comp and comp.get("quickstart_cold_s") is not None:
        lines.append(f"logsim run scenarios/quickstart.toml, whole command: "
                     f"{comp['quickstart_cold_s']:.1f} s cold (empty Numba cache; target 20 s), "
                     f"{comp.get('quickstart_warm_s') or math.nan:.1f} s warm")
    lines += format_memory(result.get("memory"))
    dk = result.get("dask")
    if dk:
        lines += ["", f"dask: {dk['scenario']} in {dk['chunks']} chunks: one process "
                      f"{dk['local_seconds']:.2f} s, {dk['n_workers']}-worker LocalCluster "
                      f"{dk['dask_seconds']:.2f} s (+ {dk['startup_seconds']:.1f} s start-up); "
                      f"overhead {dk['overhead_per_chunk_seconds'] * 1e3:.1f} ms of worker "
                      f"time per chunk"]
    p = result["peaks"]
    lines += ["", f"peaks: dgemm {p['dgemm_flop_per_s'] / 1e9:.1f} GFLOP/s, logsim._exp.exp "
                  f"{p['exp_per_s'] / 1e9:.2f} G/s ({p['exp_threads']} threads); "
                  f"run took {result['wall_seconds']:.0f} s"]
    return "\n".join(lines)


def format_memory(mem: dict | None) -> list[str]:
    """The printed lines of :func:`measure_memory`'s result (none if it was skipped)."""
    if not mem:
        return []
    if "error" in mem:
        return ["", f"memory: the measurement failed ({mem['error']})"]
    verdict = ("" if mem["target"] is None else
               f" (target <= {mem['target']:g}: {'met' if mem['met'] else 'NOT met'})")
    return ["", f"memory: peak RSS of the sweep +{mem['peak_increase_bytes'] / 1e6:.0f} MB over "
                f"{mem['baseline_rss_bytes'] / 1e6:.0f} MB after a warm-up, for "
                f"{mem['result_bytes'] / 1e6:.1f} MB of result arrays + "
                f"{mem['data_bytes'] / 1e6:.1f} MB of data: x{mem['ratio']:.2f}{verdict}",
            f"{'':4}{mem['scenario']}; {mem['sweep_seconds']:.1f} s"]


def write_json(result: dict, path) -> None:
    """Write ``result`` as JSON atomically (temporary file in the same folder, then replace)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n")
    os.replace(tmp, path)


def plot(result: dict, path) -> None:
    """Bar chart of rates per workload, time-vs-size panel and thread scaling."""
    import matplotlib
    from matplotlib.figure import Figure

    del matplotlib  # the Figure API needs no backend selection
    fig = Figure(figsize=(15, 4.8), layout="constrained")
    ax_rate, ax_scale, ax_thr = fig.subplots(1, 3, width_ratios=[1.3, 1.2, 0.8])
    colors = {"logsim": "tab:blue", "numpy": "tab:orange", "jax": "tab:green",
              "ceiling": "0.6"}
    names = list(result["workloads"])
    width = 0.2
    for k, impl in enumerate((*ORDER, "ceiling")):
        xs, ys, lo, hi = [], [], [], []
        for i, name in enumerate(names):
            e = result["workloads"][name]
            if impl == "ceiling":
                c = e["ceiling"]
                rate = c["best_traj_steps_per_s"] * c["samples_per_step"]
                xs.append(i + (k - 1.5) * width)
                ys.append(rate)
                lo.append(0.0)
                hi.append(0.0)
                continue
            r = e["implementations"].get(impl, {})
            if r.get("status") != "ok":
                continue
            xs.append(i + (k - 1.5) * width)
            ys.append(r["sample_grads_per_s"])
            lo.append(r["sample_grads_per_s"] - r["sample_grads_per_s_min"])
            hi.append(r["sample_grads_per_s_max"] - r["sample_grads_per_s"])
        ax_rate.bar(xs, ys, width, yerr=[lo, hi], color=colors[impl], label=impl,
                    capsize=2)
    ax_rate.set_yscale("log")
    ax_rate.set_xticks(range(len(names)))
    ax_rate.set_xticklabels([f"{n}\n{result['workloads'][n]['workload']['description']}"
                             for n in names], fontsize=8)
    ax_rate.set_ylabel("sample-gradients / s (median, min-max)")
    ax_rate.set_title("rates per workload (higher is better)")
    ax_rate.legend(fontsize=8)

    s = result.get("scaling")
    if s:
        styles = {"logsim": "-", "numpy": "--", "jax": ":"}
        markers = {"trajectories": "o", "n": "s", "d": "^", "steps": "D"}
        for axis, a in s["axes"].items():
            base = s["base"][axis]
            for impl, times in a["median_s"].items():
                pts = [(size / base, t) for size, t in zip(a["sizes"], times, strict=True) if t]
                if not pts:
                    continue
                slope = a["slope"].get(impl)
                ax_scale.plot([p[0] for p in pts], [p[1] for p in pts], styles.get(impl, "-"),
                              marker=markers[axis], color=colors.get(impl),
                              label=f"{impl} vs {axis} (slope {_fmt(slope, '.2f')})")
        ax_scale.set_xscale("log", base=2)
        ax_scale.set_yscale("log")
        ax_scale.set_xlabel(f"size / base ({s['base']['label']})", fontsize=8)
        ax_scale.set_ylabel("median time, s")
        ax_scale.set_title("cost as the work grows")
        ax_scale.legend(fontsize=6, ncol=2)
    else:
        ax_scale.set_axis_off()

    any_threads = False
    for name in names:
        rows = result["workloads"][name].get("threads")
        if rows:
            any_threads = True
            ax_thr.plot([r["threads"] for r in rows], [r["speedup"] for r in rows], "o-",
                        label=name)
    if any_threads:
        top = result["machine"]["numba_threads"]
        ax_thr.plot([1, top], [1, top], "k:", lw=0.8, label="linear")
        ax_thr.set_xlabel("Numba threads")
        ax_thr.set_ylabel("logsim speedup over 1 thread")
        ax_thr.set_title("thread scaling")
        ax_thr.legend(fontsize=8)
    else:
        ax_thr.set_axis_off()
    m = result["machine"]
    fig.suptitle(f"logsim bench{' (quick)' if result['quick'] else ''}: {m['cpu_model']}, "
                 f"{m['logical_cores']} cores, float64, {result['created']}", fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
