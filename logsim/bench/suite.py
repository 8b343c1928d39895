"""One run of the suite: for each workload, the gate, the timed calls, threads, ceiling.

For each selected workload of :data:`~logsim.bench.workloads.TABLE`, in one process:

1. Set-up outside the timed region: the workload's data (drawn once), and what
   each implementation prepares (JAX compiles here, timed as its compile time;
   SGD batch indices are generated here).
2. A warm-up call of every implementation (its first-call time is reported), whose
   output is the correctness gate (:mod:`logsim.bench.gate`): final weights within
   ``rtol = atol = 1e-9`` of the reference's (logsim's). A baseline that fails is
   reported as failed and never timed.
3. ``repeats`` timed calls of each implementation, the order rotating every
   round (logsim, numpy, jax / numpy, jax, logsim / ...): median, min, max.
4. Thread scaling of logsim (``numba.set_num_threads``), checking the result is
   bit-identical at every thread count.
5. The ceiling (:mod:`logsim.bench.ceiling`).

Then the compile cost and the peak memory in fresh processes
(:mod:`~logsim.bench.compile_probe`, :mod:`~logsim.bench.memory_probe`), the cost as
the work grows (:mod:`~logsim.bench.scaling`) and where the numbers came from
(:mod:`~logsim.bench.machine`).
"""

from __future__ import annotations

import dataclasses
import gc
import time
from datetime import UTC, datetime

import numba
import numpy as np

from logsim.bench.ceiling import measure_ceiling, measure_peaks
from logsim.bench.compile_probe import measure_compile
from logsim.bench.gate import GATE, RTOL, gate
from logsim.bench.implementations import IMPLEMENTATIONS
from logsim.bench.machine import code_info, machine_info
from logsim.bench.memory_probe import measure_memory
from logsim.bench.problem import make_problem
from logsim.bench.report import log_to_stderr
from logsim.bench.scaling import measure_scaling
from logsim.bench.timing import cpu_busy, guard, guarded, loadavg, other_share, timed
from logsim.bench.workloads import GRADIENT_DESCENT, TABLE

#: The JSON's schema name (bumped when a key changes meaning or goes).
SCHEMA = "logsim-bench/1"


def run(names, *, quick=False, repeats=5, scaling=True, threads=True, memory=True,
        log=log_to_stderr) -> dict:
    """Run the suite on workloads ``names`` and return the JSON-ready result."""
    with guard(not quick):
        return _run(names, quick=quick, repeats=repeats, scaling=scaling, threads=threads,
                    memory=memory, log=log)


def _run(names, *, quick, repeats, scaling, threads, memory, log):
    from logsim.bench.end_to_end import END_TO_END
    from logsim.bench.end_to_end import measure as measure_end_to_end

    end_to_end = [n for n in names if n in END_TO_END]
    names = [n for n in names if n not in END_TO_END]
    started = time.perf_counter()
    result = {
        "schema": SCHEMA,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": bool(quick),
        "repeats": repeats,
        "gate": dict(GATE),
        "machine": machine_info(),
        "code": code_info(),
        "interference_guard": guarded(),
        "peaks": None,
        "workloads": {},
        "scaling": None,
        "memory": None,
        "end_to_end": None,
    }
    busy_start = cpu_busy()
    peaks = measure_peaks(quick)
    result["peaks"] = peaks
    for name in names:
        row = TABLE[name]
        w = row.quick if quick else row.workload
        log(f"{name}: {w.label()}")
        entry = measure_workload(w, repeats, log=log, implementations=row.implementations)
        target = {} if quick else dict(row.target)  # reduced sizes are not for quoting
        entry["target"] = target
        entry["target_met"] = (None if not target or any(entry[k] is None for k in target)
                               else all(entry[k] >= v for k, v in target.items()))
        if threads:
            # long workloads: one call per thread count keeps the run within minutes
            slow = entry["implementations"][row.implementations[0]]["median_s"] > 2.0
            entry["threads"] = measure_threads(w, entry.pop("_problem"), entry.pop("_ref"),
                                               repeats=1 if slow else min(repeats, 3), log=log,
                                               implementation=row.implementations[0])
        else:
            entry["threads"] = None
        entry.pop("_problem", None)
        entry.pop("_ref", None)
        entry["ceiling"] = measure_ceiling(w, peaks, quick=quick)
        rate = entry["implementations"][row.implementations[0]].get("traj_steps_per_s")
        best = entry["ceiling"]["best_traj_steps_per_s"]
        entry["ceiling_fraction"] = rate / best if rate and best else None
        bound = entry["ceiling"]["peak_bound_traj_steps_per_s"]
        entry["peak_bound_fraction"] = rate / bound if rate and bound else None
        result["workloads"][name] = entry
    if end_to_end:
        result["end_to_end"] = measure_end_to_end(end_to_end, quick=quick,
                                                  repeats=min(repeats, 3), log=log)
    result["compile"] = None if quick else measure_compile(log=log)
    if memory:
        result["memory"] = measure_memory(quick=quick, log=log)
    if scaling:
        log("scaling")
        result["scaling"] = measure_scaling(quick=quick, repeats=repeats, log=log)
    result["machine"]["load_average_end"] = loadavg()
    result["wall_seconds"] = time.perf_counter() - started
    result["machine"]["other_processes_cpu_share"] = other_share(busy_start, cpu_busy())
    return result


def _stats(times, w):
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


def measure_workload(w, repeats, *, log=log_to_stderr,
                     implementations=GRADIENT_DESCENT) -> dict:
    """Gate and time every implementation on workload ``w`` (see :mod:`logsim.bench`).

    ``implementations`` are names in :data:`IMPLEMENTATIONS`; the first is the
    reference: its output is the gate, and ``vs_NAME`` is its rate over NAME's.
    """
    reference = implementations[0]
    problem = make_problem(w)
    runs, out = {}, {}
    entry = {"workload": {**dataclasses.asdict(w), "label": w.label()},
             "trajectory_steps": w.trajectory_steps, "sample_gradients": w.sample_gradients,
             "implementations": out}
    for name in implementations:
        impl = IMPLEMENTATIONS[name]()
        reason = impl.available()
        if reason:
            out[name] = {"status": "unavailable", "reason": reason}
            log(f"  {name}: unavailable ({reason})")
            continue
        start = time.perf_counter()
        try:
            runs[name] = impl.prepare(problem)
        except Exception as exc:
            if name == reference:
                raise
            out[name] = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            log(f"  {name}: failed to set up ({exc})")
            continue
        out[name] = {"prepare_s": time.perf_counter() - start,
                     "compile_s": impl.compile_seconds}

    hits_before = _kernel_cache_stats()
    first, ref, _ = timed(runs[reference])
    hits_after = _kernel_cache_stats()
    ref = tuple(a.copy() for a in ref)
    out[reference]["first_call_s"] = first
    out[reference]["numba_cache"] = {"hits": _delta(hits_before[0], hits_after[0]),
                                     "misses": _delta(hits_before[1], hits_after[1])}
    passed_gate = [reference]
    for name in list(runs):
        if name == reference:
            continue
        try:
            first, result, _ = timed(runs[name])
            passed, diff, rel, loss_rel = gate(result, ref)
        except Exception as exc:  # a crashing baseline is reported, not fatal
            out[name].update(status="failed", reason=f"{type(exc).__name__}: {exc}")
            log(f"  {name}: failed ({exc})")
            continue
        out[name].update(first_call_s=first, max_abs_diff=diff, max_rel_diff=rel,
                         loss_max_rel_diff=loss_rel, gate_passed=passed)
        if passed:
            passed_gate.append(name)
        else:
            out[name].update(status="failed",
                             reason=f"final weights differ from {reference}'s by up to "
                                    f"{diff:.3g} (relative {rel:.3g}) > {RTOL:g}")
            log(f"  {name}: failed the correctness gate ({diff:.3g})")

    times = {name: [] for name in passed_gate}
    interference = {name: [] for name in passed_gate}
    gc.collect()
    for rep in range(repeats):  # the order rotates every round
        k = rep % len(passed_gate)
        for name in passed_gate[k:] + passed_gate[:k]:
            t, _, other = timed(runs[name], log=log)
            times[name].append(t)
            interference[name].append(other)
    for name in passed_gate:
        out[name].update(_stats(times[name], w))
        out[name]["other_processes_cpu_share"] = interference[name]
        if out[name].get("compile_s") is None:  # compiled on the first call, if at all
            out[name]["compile_s"] = max(0.0, out[name]["first_call_s"] - out[name]["median_s"])
        log(f"  {name:<7} median {out[name]['median_s']:.4g} s")
    rate = out[reference]["traj_steps_per_s"]
    ratios = []
    for base in implementations[1:]:
        other = out.get(base, {}).get("traj_steps_per_s")
        entry[f"vs_{base}"] = rate / other if other else None
        if entry[f"vs_{base}"] is not None:
            ratios.append(entry[f"vs_{base}"])
    entry["vs_best_baseline"] = min(ratios) if ratios else None
    entry["_problem"] = problem
    entry["_ref"] = ref
    return entry


def _delta(a, b):
    return None if a is None or b is None else b - a


def measure_threads(w, problem, ref, *, repeats=3, log=log_to_stderr,
                    implementation="logsim") -> list[dict]:
    """logsim's time at 1, 2, 4, ... and all Numba threads; results must stay bit-identical."""
    fn = IMPLEMENTATIONS[implementation]().prepare(problem)
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
                t, out, _ = timed(fn, log=log)
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
