"""What a run shows: the printed table, the JSON file and the figure."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

from logsim.bench.gate import RTOL


def log_to_stderr(msg: str) -> None:
    """Progress messages of a run (the table goes to stdout)."""
    print(msg, file=sys.stderr, flush=True)


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
        reference = next(iter(e["implementations"]))
        ls = e["implementations"][reference]
        for impl, r in e["implementations"].items():
            if r.get("status") != "ok":
                lines.append(f"{'':4}{impl:<8}  {r.get('status')}: {r.get('reason')}")
                continue
            ratio = ls["traj_steps_per_s"] / r["traj_steps_per_s"]
            span = f"{r['min_s']:.4g}-{r['max_s']:.4g}"
            lines.append(
                f"{'':4}{impl:<8}{r['median_s']:>10.4g} {span:<19}"
                f"{r['traj_steps_per_s'] / 1e6:>13.4g}{r['sample_grads_per_s'] / 1e9:>16.4g}"
                f"{'' if impl == reference else f'{ratio:.2f}x':>10}"
                f"{_fmt(r.get('compile_s')):>11}"
                f"{'' if impl == reference else _fmt(r.get('max_rel_diff'), '.1e'):>14}")
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
        ratios = "   ".join(f"vs_{b} {_fmt(e.get(f'vs_{b}'), '.2f')}"
                             for b in sorted(e["implementations"]) if b != reference)
        lines.append(f"{'':4}{ratios}   ({reference} rate / baseline rate)"
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
    from logsim.bench.end_to_end import format_end_to_end

    lines += format_end_to_end(result.get("end_to_end"))
    lines += format_memory(result.get("memory"))
    dk = result.get("dask")
    if dk:
        lines += ["", f"dask: {dk['scenario']} in {dk['chunks']} chunks: one process "
                      f"{dk['local_seconds']:.2f} s, {dk['n_workers']}-worker LocalCluster "
                      f"{dk['dask_seconds']:.2f} s (+ {dk['startup_seconds']:.1f} s start-up); "
                      f"overhead {dk['overhead_per_chunk_seconds'] * 1e3:.1f} ms of worker "
                      f"time per chunk"]
        if "client_cpu_share" in dk:
            met = "met" if dk["client_cpu_share"] <= 0.10 else "NOT met"
            lines.append(f"{'':4}logsim run --scheduler: the client used "
                         f"{dk['client_cpu_seconds']:.2f} s of CPU, the workers "
                         f"{dk['worker_cpu_seconds']:.2f} s: {dk['client_cpu_share']:.1%} "
                         f"(target <= 10%: {met})")
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
    target = mem["target"]
    verdict = ("" if target is None else
               f" (target: peak <= {target['peak_bytes'] / 2**30:g} GiB for results of >= "
               f"{target['result_bytes'] / 1e9:g} GB: {'met' if mem['met'] else 'NOT met'})")
    return ["", f"memory: peak RSS {mem['peak_rss_bytes'] / 1e6:.0f} MB (whole process; "
                f"estimated {mem['estimated_peak_bytes'] / 1e6:.0f} MB) for "
                f"{mem['result_bytes'] / 1e9:.2f} GB of results streamed in {mem['chunks']} "
                f"chunks: x{mem['ratio']:.3f}{verdict}",
            f"{'':4}same content_sha256 with {mem['chunks_halved']} chunks: {mem['same_hash']};"
            f" {mem['scenario']}; {mem['sweep_seconds']:.1f} s"]


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
    colors = {"logsim": "tab:blue", "numpy": "tab:orange", "jax": "tab:green", "optax": "tab:red",
              "ceiling": "0.6"}
    names = list(result["workloads"])
    width = 0.2
    impls = list(dict.fromkeys(i for e in result["workloads"].values()
                               for i in e["implementations"]))
    for k, impl in enumerate((*impls, "ceiling")):
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
        ax_rate.bar(xs, ys, width, yerr=[lo, hi], color=colors.get(impl), label=impl,
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
