"""Peak resident memory of a sweep against the size of what it makes.

Run as ``python -m logsim.bench.memory_probe SPEC`` (``SPEC``: JSON with ``workdir`` and
the TOML text of the ``warmup`` and ``sweep`` scenarios), it runs the warm-up sweep, sets
the high-water mark back to the resident set, runs the measured sweep through
``logsim run``, and prints one JSON line: the baseline and peak resident set sizes and,
measured afterwards, the bytes of the result arrays and of the data the sweep drew.
:func:`measure_memory` writes the spec, runs the probe and computes the ratio.
"""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
import time
from pathlib import Path

#: Where :func:`measure_memory` runs the probe (tests point it elsewhere).
PROBE_MODULE = "logsim.bench.memory_probe"

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


def measure_memory(*, quick: bool = False, workdir=None, log=None) -> dict:
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
            proc = subprocess.run([sys.executable, "-m", PROBE_MODULE, json.dumps(spec)],
                                  capture_output=True, text=True, timeout=900)
            if proc.returncode != 0:
                tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
                raise RuntimeError(f"the probe exited with code {proc.returncode}: {tail}")
            out = json.loads(proc.stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, RuntimeError, ValueError,
                IndexError) as exc:
            if log:
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
    if log:
        log(f"memory: peak +{out['peak_increase_bytes'] / 1e6:.0f} MB for "
            f"{(out['result_bytes'] + out['data_bytes']) / 1e6:.0f} MB of results and data "
            f"(x{out['ratio']:.2f})")
    return out


# --- the probe, in its own process -----------------------------------------------------------


def _status_bytes(field: str) -> int:
    """A ``kB`` line of ``/proc/self/status`` (``VmRSS``, ``VmHWM``), in bytes."""
    text = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB$", text, re.MULTILINE)
    if found is None:
        raise SystemExit(f"/proc/self/status has no {field} line")
    return int(found.group(1)) * 1024


def _reset_high_water_mark() -> bool:
    """Linux >= 4.0: writing 5 sets VmHWM (and ru_maxrss) back to the current RSS."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def _logsim_run(work: Path, text: str, name: str):
    from logsim import cli

    scenario = work / f"{name}.toml"
    scenario.write_text(text)
    out = work / f"{name}.nc"
    code = cli.main(["run", str(scenario), "-o", str(out), "--quiet"])
    if code != 0:
        raise SystemExit(f"logsim run {scenario} exited with code {code}")
    return scenario, out


def probe(spec: dict) -> dict:
    """Warm-up sweep, reset of the high-water mark, measured sweep, then the sizes."""
    work = Path(spec["workdir"])
    _logsim_run(work, spec["scenarios"]["warmup"], "warmup")  # imports, kernels, netCDF
    gc.collect()
    warmup_peak = _status_bytes("VmHWM")
    peak_was_reset = _reset_high_water_mark()
    baseline = _status_bytes("VmRSS")
    started = time.perf_counter()
    scenario, out = _logsim_run(work, spec["scenarios"]["sweep"], "sweep")
    seconds = time.perf_counter() - started
    peak = _status_bytes("VmHWM")

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
    return {"result_bytes": result_bytes, "weights_bytes": weights_bytes,
            "weights_shape": weights_shape, "data_bytes": data_bytes,
            "distinct_data_draws": len(draws), "baseline_rss_bytes": baseline,
            "peak_rss_bytes": peak, "warmup_peak_rss_bytes": warmup_peak,
            "peak_was_reset": peak_was_reset, "sweep_seconds": seconds}


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m logsim.bench.memory_probe SPEC_JSON")
    print(json.dumps(probe(json.loads(args[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
