"""Running a sweep: a plan's chunks computed (here or on Dask), streamed into the store.

:func:`run` is the whole pipeline: scenario -> :func:`logsim.planner.make_plan` -> every
chunk through :func:`logsim.chunk.compute_chunk` (in this process, whose kernels use
every core, or on Dask workers) -> each finished chunk saved under ``OUT.parts/`` and
written into the result (:mod:`logsim.store`) -> the content hash of the finished file.
The chunks' arrays are written as they arrive and then freed, so a sweep holds a few
chunks in memory whatever its size.

A killed run (Ctrl-C, SIGTERM, ``kill -9``) keeps its finished chunks under
``OUT.parts/``; ``resume=True`` computes only the missing ones and gives a file with
the same ``content_sha256`` as an uninterrupted run.
"""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from logsim import stopping
from logsim.chunk import compute_chunk
from logsim.planner import Plan
from logsim.scenario import load_scenario
from logsim.store import Layout, MemoryWriter, NetCDFWriter, PartStore, provenance

__all__ = ["InstabilityWarning", "RunSummary", "layout", "run", "run_to_file", "set_threads"]

def set_threads(threads: int | None) -> None:
    """Use ``threads`` Numba threads in this process (1 .. NUMBA_NUM_THREADS)."""
    if threads is None:
        return
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= top:
        raise ValueError(f"threads must be an integer in [1, {top}], got {threads!r}")
    numba.set_num_threads(threads)


# --------------------------------------------------------------------------- layout


def layout(plan: Plan, attrs=None) -> Layout:
    """The :class:`logsim.store.Layout` of ``plan``'s result."""
    dims = {**plan.sizes, **plan.trailing_sizes}
    used = {d for v in plan.variables for d in v.dims} | set(plan.coordinates)
    variables = {v.name: (v.dims, v.var.dtype, dict(v.attrs), plan.storage_chunks(v))
                 for v in plan.variables}
    return Layout({d: n for d, n in dims.items() if d in used}, plan.coordinates, variables,
                  dict(attrs or {}))


# --------------------------------------------------------------------------- running


@dataclass
class RunSummary:
    """What a finished run reports: its file (if any), hash, sizes and divergences."""

    path: Path | None
    content_sha256: str
    dims: dict[str, int]
    trajectories: int
    flags: dict[str, tuple[int, list[str]]]  #: flag -> (count, the first few cells' labels)
    seconds: dict[str, float]

    def warn(self) -> None:
        """Warn about the trajectories that diverged or are unstable, naming a few."""
        from logsim.engine import warn_divergence

        count, cells = self.flags.get("diverged", (0, []))
        warn_divergence(count, cells, total=self.trajectories)
        count, cells = self.flags.get("unstable_only", (0, []))
        if count:
            from logsim.chunk import UNSTABLE_FACTOR

            more = "" if count <= len(cells) else f" and {count - len(cells)} more"
            warnings.warn(
                f"{count} of {self.trajectories} trajectories are unstable: their training "
                f"loss ended more than {UNSTABLE_FACTOR:g} times above its start (often a "
                f"step size too large for the loss): {'; '.join(cells)}{more}. They are "
                "flagged in the variable 'unstable'.", InstabilityWarning, stacklevel=3)


    def frozen_note(self) -> str | None:
        """One line on the trajectories whose weights stopped changing, or None."""
        count, cells = self.flags.get("frozen", (0, []))
        if not count:
            return None
        more = "" if count <= len(cells) else f" and {count - len(cells)} more"
        return (f"{count} of {self.trajectories} trajectories stopped moving: from some step "
                f"on their weights never changed (converged to float64 resolution, updates "
                f"that underflow at huge margins, or a flat region such as hinge past the "
                f"margin; see frozen_at): {'; '.join(cells)}{more}")


class InstabilityWarning(RuntimeWarning):
    """Some trajectories ended with a training loss far above their start."""


def _cell_label(plan: Plan, cell) -> str:
    swept = [a for a in plan.axes if len(plan.scenario.values(a)) > 1] or list(plan.axes)
    return "(" + ", ".join(f"{a}={cell[a]}" for a in swept) + ")"


def _execute(plan: Plan, writer, parts: PartStore | None, *, scheduler, threads, progress):
    """Compute the chunks ``parts`` lacks and write every chunk with ``writer``."""
    seconds = {"data": 0.0, "kernel": 0.0, "analysis": 0.0, "write": 0.0}
    flags: dict[str, tuple[int, list[str]]] = {}

    def count(name: str, chunk: int, hit: np.ndarray) -> None:
        total, cells = flags.get(name, (0, []))
        span = plan.chunk_range(chunk)
        for k in hit[:max(0, 5 - len(cells))]:
            w = span.start + int(k)
            cells.append(_cell_label(plan, plan.cells(range(w, w + 1))[0]))
        flags[name] = (total + hit.size, cells)

    def place(chunk: int, arrays) -> None:
        t0 = time.perf_counter()
        for name, slices, block in plan.placements(chunk, arrays):
            writer.write(name, slices, block)
        seconds["write"] += time.perf_counter() - t0
        count("diverged", chunk, np.flatnonzero(arrays["diverged"]))
        count("unstable_only", chunk, np.flatnonzero(arrays["unstable"] & ~arrays["diverged"]))
        count("frozen", chunk, np.flatnonzero(np.isfinite(arrays["frozen_at"])))

    done = parts.done() if parts is not None else set()
    todo = [c for c in range(plan.n_chunks) if c not in done]
    bar = _progress_bar(progress, total=plan.n_trajectories,
                        initial=plan.n_trajectories - sum(len(plan.chunk_range(c))
                                                          for c in todo))
    for c in sorted(done):
        place(c, parts.load(c))

    def label(c: int):
        if bar is None:
            return None
        return lambda stage: bar.set_postfix_str(f"chunk {c + 1}/{plan.n_chunks}: {stage}")

    if scheduler is None:
        finished = (compute_chunk(plan, c, label(c)) for c in todo)
    else:
        from logsim.distributed import dask_chunks

        finished = dask_chunks(plan, todo, scheduler, threads=threads)
    try:
        for result in finished:
            for stage, t in result.seconds.items():
                seconds[stage] = seconds.get(stage, 0.0) + t
            if bar is not None:
                bar.set_postfix_str(f"chunk {result.chunk + 1}/{plan.n_chunks}: writing")
            if parts is not None:
                t0 = time.perf_counter()
                parts.save(result.chunk, result.arrays)
                seconds["write"] += time.perf_counter() - t0
            place(result.chunk, result.arrays)
            if bar is not None:
                bar.update(len(plan.chunk_range(result.chunk)))
            del result  # written: free it before the next chunk arrives
            stopping.check()  # a stop signal swallowed while the chunk was written
    finally:
        if hasattr(finished, "close"):
            finished.close()  # shut a Dask cluster down now, not at garbage collection
        if bar is not None:
            bar.close()
    return seconds, flags


def _prepare(scenario, *, threads, out, resume, chunk_size):
    from logsim.estimate import check_resources
    from logsim.estimate import plan as estimate

    scenario = load_scenario(scenario)
    set_threads(threads)
    if resume and out is None:
        raise ValueError("resume needs an output path: the saved chunks live under OUT.parts/")
    cost = estimate(scenario, chunk_size=chunk_size, out=out, calibrate=False)
    if out is None:  # the whole result is held in memory
        cost.peak_memory_bytes += cost.result_bytes
        cost.disk_free = None
    check_resources(cost)
    plan = cost.plan
    parts = None
    if out is not None:
        parts = PartStore(Path(str(out) + ".parts"), scenario_sha256=scenario.sha256,
                          chunk_size=plan.chunk_size, n_chunks=plan.n_chunks, resume=resume,
                          data_sha256=scenario.data_sha256)
        if parts.chunk_size != plan.chunk_size:
            plan = Plan(scenario, parts.chunk_size)
    return scenario, plan, parts


def _finish_or_clean(writer, parts, body):
    """Run ``body()`` then finish ``writer``; on any failure abort it, and remove a parts
    folder that holds no finished chunk (so nothing blocks the next run)."""
    try:
        result = body()
        return result, writer.finish()
    except BaseException:
        writer.abort()
        if parts is not None and not parts.found_existing and not parts.done():
            parts.remove()
        raise


def run_to_file(scenario, out, *, threads=None, progress=False, resume=False,
                chunk_size=None, scheduler=None) -> RunSummary:
    """Run a sweep into the netCDF4 file ``out`` without building a dataset in memory.

    Arguments as :func:`run`. Returns a :class:`RunSummary`; warns nothing (the caller
    reports the divergences).
    """
    out = Path(out)
    scenario, plan, parts = _prepare(scenario, threads=threads, out=out, resume=resume,
                                     chunk_size=chunk_size)
    lay = layout(plan, provenance(scenario))
    writer = NetCDFWriter(out, lay)
    (seconds, flags), digest = _finish_or_clean(
        writer, parts, lambda: _execute(plan, writer, parts, scheduler=scheduler,
                                        threads=threads, progress=progress))
    parts.remove()
    return RunSummary(out, digest, dict(lay.dims), plan.n_trajectories, flags, seconds)


def run(
    scenario,
    *,
    threads: int | None = None,
    progress: bool = False,
    out=None,
    resume: bool = False,
    chunk_size: int | None = None,
    scheduler=None,
):
    """Run a scenario sweep and return its labelled ``xarray.Dataset``.

    Parameters
    ----------
    scenario : path, mapping or Scenario
        Validated completely before any compute (:func:`logsim.scenario.load_scenario`).
    threads : int, optional
        Numba threads for the kernels (default: all).
    progress : bool
        Show a progress bar on stderr (trajectories stored, rate, ETA).
    out : path, optional
        Write the result there (netCDF4, streamed chunk by chunk, atomic); finished
        chunks are kept under ``OUT.parts/`` until the file is complete, so
        ``resume=True`` continues a run that was killed. The returned dataset is then
        the stored file, opened (lazily when it is large: :func:`logsim.store.open_results`).
    resume : bool
        Reuse the chunks saved under ``OUT.parts/`` by an earlier, killed run.
    chunk_size : int, optional
        Grid cells per chunk (default: about :data:`logsim.planner.CHUNK_WORK`
        multiply-adds).
    scheduler : str or dask.distributed.Client, optional
        Run the chunks on Dask workers instead of this process: a scheduler address
        (``tcp://host:8786``), ``"local[:N]"`` for a ``LocalCluster`` of ``N`` worker
        processes, or a connected ``Client`` (:func:`logsim.distributed.dask_chunks`).
        The result is bit-identical.
    """
    from logsim.store import open_results

    if out is not None:
        summary = run_to_file(scenario, out, threads=threads, progress=progress,
                              resume=resume, chunk_size=chunk_size, scheduler=scheduler)
        ds = open_results(out, verify=False)
    else:
        scenario, plan, _ = _prepare(scenario, threads=threads, out=None, resume=False,
                                     chunk_size=chunk_size)
        writer = MemoryWriter(layout(plan, provenance(scenario)))
        (seconds, flags), ds = _finish_or_clean(
            writer, None, lambda: _execute(plan, writer, None, scheduler=scheduler,
                                           threads=threads, progress=progress))
        summary = RunSummary(None, ds.attrs["content_sha256"], dict(ds.sizes),
                             plan.n_trajectories, flags, seconds)
    # Warn only once the result is safely stored: a warning turned into an error must
    # not lose the computed chunks.
    summary.warn()
    return ds


def _progress_bar(enabled: bool, *, total: int, initial: int):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="traj", unit_scale=True,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
