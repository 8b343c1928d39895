"""What a sweep will cost before it runs: result size, disk, peak memory and time.

:func:`plan` (``logsim.plan(scenario)``, ``logsim run SCENARIO --dry-run``) reads the
scenario and its :class:`~logsim.planner.Plan` only: it draws no data, compiles nothing
and writes nothing, and takes well under a second plus a short timing calibration.
:func:`check_resources` refuses, before any work, a sweep whose peak memory exceeds the
memory available or whose file exceeds the free disk at the output path.

How the figures are made
------------------------
* Result size: every stored variable's shape times its item size (exact).
* Disk: the same plus the storage chunks' padding and netCDF4/HDF5 metadata (the file is
  written uncompressed, so this is known in advance; within a few per cent, tested).
* Peak memory (of ``logsim run``, the whole process; :func:`_peak_memory` states each
  term and where it was measured): the process once logsim and its compiled kernels are
  loaded, scikit-learn where the scenario needs it, the data draws kept between chunks,
  netCDF/HDF5's state of the open file, and the larger of what the largest chunk holds at
  once and the hash's read-back blocks (the file is hashed after the last chunk is
  freed). Nothing in it grows with the result: a sweep holds a few chunks at a time.
* Time: the work of each stage (steps, samples and multiply-adds of the trajectories,
  logits scored and Platt-fitted, SVMs, bytes written) times its cost per unit measured on the
  development machine, scaled by the ratio of a short NumPy timing on this machine to
  the same timing there, and divided by the threads for the parallel stages. A first
  run of a cold Numba cache adds its compile time (tens of seconds), which is not
  estimated. It is a rough figure: on a machine shared with other work, whole runs took
  1.5-2.5 times their estimate in CPU time (claims 4, 7 and 9's scenarios), since the
  threads then share the cores.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from logsim.planner import Plan, make_plan
from logsim.scenario import load_scenario

__all__ = ["Estimate", "ResourceError", "check_resources", "plan"]

#: Resident size of ``logsim run`` having run a tiny sweep: Python, NumPy, SciPy, Numba with
#: the kernels loaded, netCDF4/HDF5. Measured 236-267 MB: the peak RSS of ``logsim run`` on
#: each bundled scenario cut to one seed and ten steps (2 threads, warm Numba cache); 10 MB
#: above the largest, for the 1-5 MB runs and thread counts vary by.
BASE_BYTES = 264 * 2**20
#: scikit-learn, imported for the bundled real data sets and for anchor-point transitions:
#: +39 MB (breast_cancer) and +45 MB (noisy_labels) measured against the same tiny runs
#: without it.
SKLEARN_BYTES = 48 * 2**20
#: netCDF/HDF5's state of the file while it is open, per storage chunk of the file (its
#: entries in the chunk index held by HDF5's metadata cache, the selections of the
#: read-back, the heap they fragment), and its ceiling: HDF5's metadata cache grows to at
#: most 32 MiB by default. Measured above the process's size between chunks: 10 MB while
#: writing 17,900 storage chunks (d = 500, 4.2 GB), 17 MB writing and 46 MB at the end of
#: the read-back of 174,000 (a 0.3 GB result cut into chunks of 2 cells).
FILE_CHUNK_BYTES = 2048
FILE_STATE_BYTES = 48 * 2**20
#: Each Numba/BLAS thread beyond the two :data:`BASE_BYTES` was measured with (its stack
#: and BLAS buffers): one thread to two added 1-5.5 MB (quickstart, hinge_vs_ce, d = 500);
#: more threads could not be measured on the two-core development machine.
THREAD_BYTES = 8 * 2**20
#: Blocks of :data:`logsim.store.HASH_BLOCK` float64 alive at once while the file is
#: hashed: the block read, its canonical copy, its NaN mask and netCDF's scratch.
HASH_COPIES = 4
#: Bytes of netCDF4/HDF5 metadata per file, per variable (header, attributes, chunk
#: index), per dimension of a variable (its dimension-scale references, which grow with
#: the grid's axes) and per storage chunk beyond the first; fitted to files of 150 kB to
#: 250 MB with 3 to 8 dims (within 2 % there).
FILE_OVERHEAD = 4000
VARIABLE_OVERHEAD = 2300
VARIABLE_DIM_OVERHEAD = 656
CHUNK_OVERHEAD = 200

#: Stage costs on the development machine (one thread, warm cache): seconds per
#: trajectory and step (the update and its bookkeeping), per sample of a step (the
#: loss derivative, an exponential), per multiply-add of a step's two products, per
#: test logit scored, per logit Platt-fitted, per SVM of an n x d training set (per
#: n d), and per byte written and hashed. The three kernel costs are a least-squares
#: fit (relative errors) of GD steps timed alone and in groups for n = 16, 200, 1000
#: and d = 2, 10, 40: the fit is within 10 % of every timing but one (15 %), where
#: multiply-adds alone were off by 4x at d = 2 and 2x at d = 40.
REFERENCE_COSTS = {"kernel_step": 13e-9, "kernel_sample": 3.7e-9, "kernel_mac": 0.11e-9,
                   "score_logit": 25e-9, "platt_logit": 35e-9, "svm_nd": 50e-9,
                   "write_byte": 3.2e-9}
#: The stage of the run each cost of :data:`REFERENCE_COSTS` belongs to.
STAGE_OF_COST = {"kernel_step": "kernels", "kernel_sample": "kernels",
                 "kernel_mac": "kernels", "score_logit": "analysis",
                 "platt_logit": "analysis", "svm_nd": "analysis", "write_byte": "writing"}
#: A step of the other optimisers (normalised GD, momentum, Nesterov, Adam, sign and
#: coordinate descent) against a GD step of the same shape: 1.1x (momentum) to 1.9x
#: (normalised GD) measured at n = 16, d = 2; whole runs of these methods (claim 9's
#: scenario) took more, so the top of the range is used.
OTHER_METHOD_FACTOR = 2.0
#: A sample's loss derivative for the losses other than logistic and hinge (one compiled
#: call per sample rather than a vectorised loop) against logistic's: 2.1x (squared
#: hinge) to 2.9x (exponential) measured at n = 16, d = 2 and n = 200, d = 10.
OTHER_LOSS_SAMPLE_FACTOR = 2.5
#: Seconds of writing and hashing a file whatever its size (its metadata, the read-back).
WRITE_SECONDS = 0.02
#: Seconds of :func:`_calibration` on the development machine (measured with these costs,
#: one thread, the quickstart and a 256-seed E1 sweep).
REFERENCE_CALIBRATION = 0.0042


class ResourceError(ValueError):
    """A sweep that would not fit: its message names the numbers and what to change."""


def _calibration() -> float:
    """Best of five timings of a fixed single-threaded NumPy workload (exponentials,
    divisions and matrix-vector products on 2,000 x 10 elements, 200 times)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 10))
    w = rng.normal(size=10)
    best = math.inf
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            z = X @ w
            r = 1.0 / (1.0 + np.exp(-z))
            w -= 1e-3 * (r @ X)
        best = min(best, time.perf_counter() - start)
    return best


def _mem_available() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.3g} {unit}"
        n /= 1000
    return f"{n:.3g} PB"  # pragma: no cover


def _seconds(s: float) -> str:
    if s < 60:
        return f"{s:.2g} s" if s < 10 else f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


@dataclass
class Estimate:
    """Everything ``--dry-run`` prints (see the module docstring for how)."""

    plan: Plan
    variables: list[tuple[str, tuple[str, ...], tuple[int, ...], int]]
    result_bytes: int
    disk_bytes: int
    peak_memory_bytes: int
    seconds: dict[str, float]
    scale: float  #: this machine's calibration time over the development machine's
    threads: int
    savings: dict[str, int] = field(default_factory=dict)
    memory_available: int | None = None
    disk_free: int | None = None
    out: Path | None = None

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())

    def __str__(self) -> str:
        p = self.plan
        s = p.scenario
        grid = " x ".join(f"{a} ({n})" for a, n in p.sizes.items())
        lines = [
            f"scenario {s.name}" + (f" ({s.path})" if s.path else ""),
            f"grid: {grid} = {p.n_trajectories} trajectories of "
            f"{s.optimizer['steps']} steps, {len(p.checkpoints)} checkpoints",
            f"chunks: {p.n_chunks} of up to {p.chunk_size} cells; {p.n_draws} data draws, "
            f"{p.n_targets} target sets",
            "stored variables:",
        ]
        width = max(len(v[0]) for v in self.variables)
        for name, dims, shape, nbytes in self.variables:
            lines.append(f"  {name:<{width}}  {_size(nbytes):>9}  "
                         f"({', '.join(dims)}) = {' x '.join(map(str, shape)) or 'scalar'}")
        lines.append(f"result: {_size(self.result_bytes)} of arrays; "
                     f"{_size(self.disk_bytes)} on disk (netCDF4, uncompressed)")
        lines.append(f"peak memory: about {_size(self.peak_memory_bytes)}")
        parts = ", ".join(f"{k} {_seconds(v)}" for k, v in self.seconds.items() if v >= 0.005)
        lines.append(f"estimated time: about {_seconds(self.total_seconds)} on {self.threads} "
                     f"threads ({parts}), plus compilation on a cold Numba cache; from the "
                     f"stage costs measured on the development machine scaled by a NumPy "
                     f"timing here (x{self.scale:.2f})")
        if self.savings:
            lines.append("what [record] options save:")
            for option, saved in self.savings.items():
                share = saved / max(self.result_bytes, 1)
                lines.append(f"  {option:<24} {_size(saved)} ({share:.0%})")
        free = []
        if self.memory_available is not None:
            free.append(f"{_size(self.memory_available)} of memory available")
        if self.disk_free is not None:
            free.append(f"{_size(self.disk_free)} free at {self.out.parent}")
        if free:
            lines.append("this machine: " + "; ".join(free))
        return "\n".join(lines)


def _disk_bytes(p: Plan) -> int:
    total = FILE_OVERHEAD + len(p.scenario.text.encode())
    for v in p.variables:
        chunks = p.storage_chunks(v)
        count = math.prod(-(-n // c) for n, c in zip(v.shape, chunks, strict=True))
        item = 1 if v.var.dtype == "bool" else 8
        total += (VARIABLE_OVERHEAD + len(v.dims) * VARIABLE_DIM_OVERHEAD
                  + count * math.prod(chunks) * item + (count - 1) * CHUNK_OVERHEAD)
    for values, _ in p.coordinates.values():  # their headers count in the dimension scales
        total += np.asarray(values).size * 16
    return total


def _storage_chunk_count(p: Plan) -> int:
    """Storage chunks of the file, every variable's."""
    return sum(math.prod(-(-n // c) for n, c in zip(v.shape, p.storage_chunks(v), strict=True))
               for v in p.variables)


def _needs_sklearn(p: Plan) -> bool:
    """Whether the run imports scikit-learn (bundled real data; anchor-point transitions)."""
    from logsim.schema import REAL_DATA

    s = p.scenario
    return s.data.get("kind") in REAL_DATA or "anchor" in s.values("transition")


def _peak_memory(p: Plan, threads: int) -> int:
    """Peak resident memory of ``logsim run`` on ``p`` with ``threads`` threads, whole
    process, in bytes.

    ``BASE + THREADS + SKLEARN + draws + file + max(chunk, hash)``, each term an upper
    bound of what was measured (the constants above say where):

    * ``BASE`` (:data:`BASE_BYTES`): the process, its imports and compiled kernels, on
      two threads; ``THREADS``: :data:`THREAD_BYTES` for each thread beyond two;
    * ``SKLEARN`` (:data:`SKLEARN_BYTES`): scikit-learn, where the scenario uses it;
    * ``draws``: the data draws :mod:`logsim.chunk` keeps between chunks,
      ``min(n_draws * Plan.draw_bytes, max(chunk.DRAW_CACHE_BYTES, Plan.draw_bytes))``
      (the latest draw is kept even when it alone exceeds the budget);
    * ``file``: netCDF/HDF5's state of the open file,
      ``min(storage chunks * FILE_CHUNK_BYTES, FILE_STATE_BYTES)``;
    * ``chunk``: the largest chunk's arrays and data at once: three times its cells'
      arrays (``Plan.cell_array_bytes``: the kernel's record, the analysis, the blocks
      placed into the file) and three times each draw it uses, whole (generated, stacked
      for the kernel and for the analysis), even where the draw spans several chunks:
      measured 253 MB for a chunk of 2 cells of an 82 MB draw (estimated 246 + the
      draws term 82), 38 MB for 2 cells of 8.25 MB at d = 500 (estimated 50);
    * ``hash``: the read-back's blocks, ``HASH_COPIES * 8 * store.HASH_BLOCK``; the file
      is hashed once every chunk is written and freed, so only the larger of the two
      counts.

    No term grows with the result: past ``FILE_STATE_BYTES`` HDF5 evicts metadata, and
    the chunks' size is capped (:data:`logsim.planner.CHUNK_BYTES`). A cold Numba cache
    adds the compiler's memory (not estimated), and ``logsim.run(..., out=...)``, which
    returns the dataset, also loads a result smaller than
    :data:`logsim.store.LAZY_BYTES` into memory.
    """
    from logsim.chunk import DRAW_CACHE_BYTES
    from logsim.store import HASH_BLOCK

    m = p.chunk_cells
    draws = min(p.n_draws * p.draw_bytes, max(DRAW_CACHE_BYTES, p.draw_bytes))
    file_state = min(_storage_chunk_count(p) * FILE_CHUNK_BYTES, FILE_STATE_BYTES)
    draws_used = min(p.n_draws, -(-m // p.cells_per_draw))
    chunk = 3 * (m * p.cell_array_bytes + draws_used * p.draw_bytes)
    hashing = HASH_COPIES * 8 * HASH_BLOCK
    sklearn = SKLEARN_BYTES if _needs_sklearn(p) else 0
    extra_threads = max(threads - 2, 0) * THREAD_BYTES
    return int(BASE_BYTES + extra_threads + sklearn + draws + file_state
               + max(chunk, hashing))


def _weighted(values, ordinary, factor: float) -> float:
    """Mean cost factor over a grid axis's ``values``: 1 for the ``ordinary`` ones,
    ``factor`` for the others (every value of an axis has the same number of cells)."""
    return 1.0 + (factor - 1.0) * sum(v not in ordinary for v in values) / len(values)


def _work(p: Plan) -> dict[str, float]:
    s = p.scenario
    steps = int(s.optimizer["steps"])
    shapes = p.draw_shapes
    n = max(sh.n_train for sh in shapes)
    d = max(sh.dim for sh in shapes)
    batch = max((b or n) for b in s.values("batch_size"))
    per_step = batch if s.values("method") == ("sgd",) else n
    K = len(p.checkpoints)
    groups = p.analysis["groups"]
    logits = p.n_trajectories * K * p.n_test if {"test", "calibration", "platt"} & set(
        groups) else 0
    platt_rows = K if p.analysis["platt_at"] == "all" else 1
    platt = p.n_trajectories * platt_rows * p.n_test / 2 if "platt" in groups else 0
    svm = p.n_targets * n * d if "geometry" in groups else 0
    trajectory_steps = _weighted(s.values("method"), ("gd", "sgd"),
                                 OTHER_METHOD_FACTOR) * p.n_trajectories * steps
    sample_factor = _weighted(s.values("loss"), ("logistic", "hinge"),
                              OTHER_LOSS_SAMPLE_FACTOR)
    return {"kernel_step": trajectory_steps,
            "kernel_sample": sample_factor * trajectory_steps * per_step,
            "kernel_mac": 2.0 * trajectory_steps * per_step * d,
            "score_logit": logits, "platt_logit": platt, "svm_nd": svm,
            "write_byte": 2.0 * p.result_bytes}


def plan(scenario, *, chunk_size: int | None = None, out=None, threads: int | None = None,
         calibrate: bool = True) -> Estimate:
    """What ``scenario``'s sweep will cost, without drawing data, compiling or writing.

    Parameters
    ----------
    scenario : path, mapping or Scenario
    chunk_size : int, optional
        As :func:`logsim.run`.
    out : path, optional
        The output file (default ``results/<name>.nc``): where free disk is measured.
    threads : int, optional
        Numba threads the run will use (default: all).
    calibrate : bool
        Time a short NumPy workload here to scale the development machine's stage
        costs (about 0.2 s); without it the costs are used as they are.

    Returns
    -------
    Estimate
        Printable (``print(logsim.plan("scenarios/quickstart.toml"))``).
    """
    import numba

    scenario = load_scenario(scenario)
    p = make_plan(scenario, chunk_size)
    threads = threads or numba.config.NUMBA_NUM_THREADS
    scale = _calibration() / REFERENCE_CALIBRATION if calibrate else 1.0
    work = _work(p)
    seconds: dict[str, float] = {}
    for key, units in work.items():
        cost = units * REFERENCE_COSTS[key] * scale
        stage = STAGE_OF_COST[key]
        if stage != "writing":  # every stage but writing runs on all the threads
            cost /= threads
        seconds[stage] = seconds.get(stage, 0.0) + cost
    seconds["writing"] += WRITE_SECONDS * scale
    out = Path(out) if out is not None else Path("results") / f"{scenario.name}.nc"
    probe = out.parent
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        disk_free = shutil.disk_usage(probe).free
    except OSError:
        disk_free = None
    variables = [(v.name, v.dims, v.shape, v.nbytes) for v in p.variables]
    return Estimate(p, variables, p.result_bytes, _disk_bytes(p), _peak_memory(p, threads),
                    seconds, scale, threads, _savings(p), _mem_available(), disk_free, out)


def _savings(p: Plan) -> dict[str, int]:
    """Bytes the ``[record]`` options would save on this sweep."""
    by = {v.name: v.nbytes for v in p.variables}
    out = {}
    if "weights" in by:
        weights = by["weights"]
        out["weights = false"] = weights
        K = len(p.checkpoints)
        if K > 1 and p.scenario.record["weights"] is True:
            out['weights = "last"'] = weights - weights // K
    data = sum(by.get(n, 0) for n in ("x_train", "clean_labels", "x_test", "y_test",
                                      "p_train", "p_test", "w_star", "targets"))
    if data:
        out["data = false"] = data
    return out


def check_resources(estimate: Estimate) -> None:
    """Refuse a sweep that cannot fit, before any work (:class:`ResourceError`)."""
    advice = ("fewer checkpoints ([record] checkpoints), [record] weights = false or \"last\", "
              "[record] data = false, or a smaller grid")
    if estimate.disk_free is not None and estimate.disk_bytes > estimate.disk_free:
        raise ResourceError(
            f"the result would take {_size(estimate.disk_bytes)} on disk but only "
            f"{_size(estimate.disk_free)} is free at {estimate.out.parent}; use {advice}, "
            "or another output path (-o)")
    if (estimate.memory_available is not None
            and estimate.peak_memory_bytes > estimate.memory_available):
        raise ResourceError(
            f"the sweep would need about {_size(estimate.peak_memory_bytes)} of memory but "
            f"only {_size(estimate.memory_available)} is available; use a smaller "
            f"--chunk-size (now {estimate.plan.chunk_cells} cells of about "
            f"{_size(estimate.plan.cell_bytes)} each), {advice}")

