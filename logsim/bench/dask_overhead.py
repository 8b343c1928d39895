"""The cost of running a sweep on Dask instead of in one process (``logsim bench --dask``).

Uses :mod:`logsim.distributed`'s own pieces (the plan on the wire, the task, the
submission and the collection of results), so what is measured is what ``logsim run
--scheduler`` does.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from logsim.chunk import ChunkResult, compute_chunk
from logsim.distributed import (
    PlanSpec,
    _results,
    _run_chunk,
    _submit,
    connect,
    processes_per_host,
)
from logsim.planner import make_plan

__all__ = ["overhead_benchmark"]


def _timed_chunk(chunk, spec, processes_per_host) -> tuple[ChunkResult, float]:
    """The Dask task, also timing its own :func:`~logsim.chunk.compute_chunk` call."""
    t0 = time.perf_counter()
    result = _run_chunk(chunk, spec, processes_per_host)
    return result, time.perf_counter() - t0



def overhead_benchmark(
    scenario, n_workers: int = 2, *, chunk_size: int | None = None, scheduler=None
) -> dict:
    """Time one sweep in this process and on ``n_workers`` Dask worker processes.

    Method: both sides are warmed first (kernels loaded from the on-disk
    cache, data drawn; one chunk per worker), then the same chunks are timed
    in this process (Numba threads = all cores) and on the cluster (started
    and closed outside the timing, reported as ``startup_seconds``). Each
    task also times its own :func:`~logsim.chunk.compute_chunk` call.

    Parameters
    ----------
    scenario : path, mapping or Scenario
    n_workers : int
        Worker processes of the ``LocalCluster`` started for the measurement.
    chunk_size : int, optional
        Grid cells per chunk (default: as ``logsim run``).
    scheduler : str or Client, optional
        Measure on this cluster instead (its worker count is used).

    Returns
    -------
    dict
        ``chunks``, ``n_workers``, ``local_seconds``, ``dask_seconds``,
        ``startup_seconds``, ``compute_seconds`` (sum over tasks of the time
        inside ``compute_chunk``), ``overhead_per_chunk_seconds`` =
        ``(n_workers * dask_seconds - compute_seconds) / chunks`` (worker time
        per chunk not spent computing: scheduling, shipping the plan and the
        result, idle tail) and ``wall_overhead_per_chunk_seconds`` =
        ``(dask_seconds - local_seconds) / chunks`` (what a chunk costs on the
        cluster beyond a local run on the same cores); and for the whole ``logsim run
        --scheduler`` path, ``client_cpu_seconds``, ``worker_cpu_seconds`` and
        ``client_cpu_share`` (the client's share of the run's CPU: it only saves and
        writes; the target is at most 10 %).
    """
    plan = make_plan(scenario, chunk_size)
    chunks = list(range(plan.n_chunks))
    compute_chunk(plan, 0)  # warm: kernels from the cache, data draws
    t0 = time.perf_counter()
    for c in chunks:
        compute_chunk(plan, c)
    local = time.perf_counter() - t0

    t_start = time.perf_counter()
    with connect(f"local:{n_workers}" if scheduler is None else scheduler) as client:
        if scheduler is None:
            client.wait_for_workers(n_workers)
        startup = time.perf_counter() - t_start
        workers = list(client.scheduler_info(n_workers=-1)["workers"])
        spec = PlanSpec.of(plan)
        hosts = processes_per_host(client)
        client.gather(
            [client.submit(_run_chunk, 0, spec, hosts, workers=[w], pure=False) for w in workers]
        )
        t0 = time.perf_counter()
        compute = sum(
            seconds for _, seconds in _results(client, _submit(client, spec, chunks, _timed_chunk))
        )
        on_dask = time.perf_counter() - t0
        client_share = _client_cpu_share(client, scenario, chunk_size=plan.chunk_size)
        t_close = time.perf_counter()
    startup += time.perf_counter() - t_close
    n, w = len(chunks), len(workers)
    return {
        "chunks": n,
        "n_workers": w,
        "local_seconds": local,
        "dask_seconds": on_dask,
        "startup_seconds": startup,
        "compute_seconds": compute,
        "overhead_per_chunk_seconds": (w * on_dask - compute) / n,
        "wall_overhead_per_chunk_seconds": (on_dask - local) / n,
        **client_share,
    }


def _worker_cpu_seconds(client) -> float:
    return sum(client.run(time.process_time).values())


def _client_cpu_share(client, scenario, *, chunk_size: int) -> dict:
    """The whole ``logsim run --scheduler`` path (workers compute and analyse, this process
    saves the parts and writes the file): CPU seconds of this client against the workers'."""
    from logsim.sweep import run_to_file

    with tempfile.TemporaryDirectory() as tmp:
        # once to warm this process's writing path (first imports, netCDF set-up)
        run_to_file(scenario, Path(tmp) / "warm.nc", chunk_size=chunk_size, scheduler=client)
        workers_before = _worker_cpu_seconds(client)
        mine = time.process_time()
        run_to_file(scenario, Path(tmp) / "dask.nc", chunk_size=chunk_size, scheduler=client)
        client_seconds = time.process_time() - mine
        worker_seconds = _worker_cpu_seconds(client) - workers_before
    return {"client_cpu_seconds": client_seconds, "worker_cpu_seconds": worker_seconds,
            "client_cpu_share": client_seconds / (client_seconds + worker_seconds)}
