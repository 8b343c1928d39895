"""Peak resident memory of a sweep whose result is larger than memory should hold.

Run as ``python -m logsim.bench.memory_probe SPEC`` (``SPEC``: JSON with ``workdir`` and
the TOML text of the ``warmup`` and ``sweep`` scenarios), it runs the warm-up sweep, sets
the high-water mark back to the resident set, runs the measured sweep through
``logsim run`` (streamed into its file chunk by chunk), reads the peak, then runs the same
sweep cut into twice as many chunks into a second file, and prints one JSON line: the
resident set sizes, the bytes of the result, both files' ``content_sha256``, and
:func:`logsim.plan`'s estimate of the peak. :func:`measure_memory` writes the spec, runs
the probe and compares with the target.
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

#: The memory target: a sweep whose result arrays take at least ``result_bytes`` runs
#: with a peak resident set of at most ``peak_bytes`` (the whole process, measured).
MEMORY_TARGET = {"result_bytes": 4e9, "peak_bytes": 2**30}
#: Sizes of the sweeps :func:`measure_memory` runs (gaussian data, full-batch GD,
#: ``learning_rates`` step sizes x ``seeds`` replicates). ``full`` makes 4.2 GB of result
#: arrays, 95 % of them the weights (1000 trajectories x 1000 checkpoints x 500 features);
#: few samples keep the kernel and the analysis to seconds, so the time goes to writing
#: the file twice and hashing it (about 2 min in all on 2 idle cores, 8.4 GB of disk).
MEMORY_SWEEPS = {
    "warmup": {"learning_rates": 2, "seeds": 1, "dim": 2, "n_train": 10, "n_test": 4,
               "steps": 3, "checkpoints": 2},
    "quick": {"learning_rates": 4, "seeds": 2, "dim": 6, "n_train": 30, "n_test": 10,
              "steps": 40, "checkpoints": 41},
    "full": {"learning_rates": 10, "seeds": 100, "dim": 500, "n_train": 20, "n_test": 10,
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
    """Peak resident memory of a streamed ``logsim run`` against the size of its result.

    In a fresh process (the normal Numba cache): a tiny warm-up sweep (imports, kernel
    load, netCDF set-up), then the resident set size as the baseline, the high-water mark
    reset to it (``/proc/self/clear_refs``), then the measured sweep through
    ``logsim run`` (scenario file and netCDF output in ``workdir``), then the high-water
    mark: the peak of the whole process. Then the same sweep with half the chunk size,
    whose file must have the same ``content_sha256``.

    Parameters
    ----------
    quick : bool
        A sweep of a few kilobytes (seconds; checks the plumbing, no target applies).
    workdir : path, optional
        Folder for the scenario files and results (kept); default a temporary one.
    log : callable
        Progress messages.

    Returns
    -------
    dict
        ``result_bytes`` (``nbytes`` of every data variable of the written dataset),
        ``baseline_rss_bytes``, ``peak_rss_bytes``, ``estimated_peak_bytes``
        (:func:`logsim.plan`), ``ratio`` = peak / result bytes, ``chunks`` and
        ``chunks_halved``, ``content_sha256`` and ``content_sha256_halved``,
        ``same_hash``, ``target`` (:data:`MEMORY_TARGET`, None with ``quick``), ``met``,
        ``scenario`` (a description), ``sizes`` and ``sweep_seconds``.
        ``{"error": message}`` if the probe failed.
    """
    import tempfile

    sizes = MEMORY_SWEEPS["quick" if quick else "full"]
    with tempfile.TemporaryDirectory() as scratch:
        spec = {"workdir": str(workdir or scratch),
                "scenarios": {"warmup": memory_scenario("warmup", MEMORY_SWEEPS["warmup"]),
                              "sweep": memory_scenario("sweep", sizes)}}
        try:
            proc = subprocess.run([sys.executable, "-m", PROBE_MODULE, json.dumps(spec)],
                                  capture_output=True, text=True, timeout=3600)
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
    out["ratio"] = out["peak_rss_bytes"] / out["result_bytes"]
    out["same_hash"] = out["content_sha256"] == out["content_sha256_halved"]
    out["target"] = None if quick else dict(MEMORY_TARGET)
    out["met"] = None if quick else (
        out["result_bytes"] >= MEMORY_TARGET["result_bytes"]
        and out["peak_rss_bytes"] <= MEMORY_TARGET["peak_bytes"] and out["same_hash"])
    out["scenario"] = _describe_sweep(sizes)
    out["sizes"] = dict(sizes)
    if log:
        log(f"memory: peak RSS {out['peak_rss_bytes'] / 1e6:.0f} MB (estimated "
            f"{out['estimated_peak_bytes'] / 1e6:.0f} MB) for {out['result_bytes'] / 1e9:.2f} "
            f"GB of results; same hash with twice the chunks: {out['same_hash']}")
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


def _logsim_run(work: Path, text: str, name: str, *extra: str):
    from logsim import cli

    scenario = work / f"{name}.toml"
    scenario.write_text(text)
    out = work / f"{name}{'-'.join(('', *extra))}.nc"
    code = cli.main(["run", str(scenario), "-o", str(out), "--quiet", *extra])
    if code != 0:
        raise SystemExit(f"logsim run {scenario} exited with code {code}")
    return scenario, out


def probe(spec: dict) -> dict:
    """Warm-up sweep, reset of the high-water mark, measured sweep, then the sizes and the
    same sweep cut into twice as many chunks."""
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

    # outside the measured region: the sizes of what the sweep made, and the same sweep
    # cut into twice as many chunks
    import netCDF4

    import logsim

    estimate = logsim.plan(scenario, out=out, calibrate=False)
    result_bytes = estimate.result_bytes  # every stored data variable, uncompressed
    with netCDF4.Dataset(out) as nc:
        weights_shape = list(nc["weights"].shape)
        digest = nc.getncattr("content_sha256")
    plan = estimate.plan
    halved = max(1, plan.chunk_cells // 2)
    _, out2 = _logsim_run(work, spec["scenarios"]["sweep"], "sweep", "--chunk-size",
                          str(halved))
    with netCDF4.Dataset(out2) as nc:
        digest2 = nc.getncattr("content_sha256")
    return {"result_bytes": result_bytes, "weights_shape": weights_shape,
            "baseline_rss_bytes": baseline, "peak_rss_bytes": peak,
            "estimated_peak_bytes": estimate.peak_memory_bytes,
            "warmup_peak_rss_bytes": warmup_peak, "peak_was_reset": peak_was_reset,
            "sweep_seconds": seconds, "chunks": plan.n_chunks,
            "chunks_halved": logsim.planner.make_plan(scenario, halved).n_chunks,
            "content_sha256": digest, "content_sha256_halved": digest2}


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m logsim.bench.memory_probe SPEC_JSON")
    print(json.dumps(probe(json.loads(args[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
