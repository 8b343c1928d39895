"""Run the chunks of a sweep on a Dask cluster (``logsim run --scheduler ADDRESS``).

Each Dask task calls :func:`logsim.chunk.compute_chunk`, the same kernel path
as a local run, on one chunk, and returns its plain arrays
(:class:`~logsim.chunk.ChunkResult`), finished and analysed: the client only saves
and writes them. There is no second implementation and no home-made cluster code.

Invariants
----------
* A task is a pure function of ``(plan, chunk)``: a chunk retried on another
  worker (its worker died, or it raised) gives bit-identical arrays, so the
  result has the same ``content_sha256`` for any worker count or chunk order.
* One kernel at a time per worker process (a process-wide lock: Numba's
  ``workqueue`` threading layer is not thread-safe), with
  ``cores // (worker processes on that host)`` Numba threads, set inside the
  task (``numba.set_num_threads`` applies to the calling thread only and
  Dask's nanny does not cap it). Worker processes x Numba threads therefore
  never exceed a host's cores; a host that joined after submission (or an
  unknown one) gets 1 thread.
* The plan travels as a small, plain-picklable :class:`PlanSpec` (the
  scenario's fields, read-only mappings as dicts, and the chunk size) and is
  rebuilt once per worker process and run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterable, Iterator
from types import MappingProxyType
from typing import Any

from logsim.chunk import ChunkResult, compute_chunk
from logsim.planner import Plan
from logsim.scenario import Scenario

#: Seconds to reach a scheduler before giving up with a clear error.
CONNECT_TIMEOUT = 5.0
#: Extra attempts for a task that raised (a worker that dies is handled by the
#: scheduler's ``distributed.scheduler.allowed-failures``, 3 by default).
RETRIES = 2
_INSTALL_HINT = "install the 'dask' extra: pip install 'logsim[dask]'"


class ClusterError(ConnectionError):
    """The cluster could not run the sweep (scheduler lost, workers dying)."""


def _distributed():
    try:
        import distributed
    except ImportError as exc:
        raise ImportError(
            f"running a sweep on Dask needs dask.distributed, which is not installed "
            f"({exc.msg}); {_INSTALL_HINT}"
        ) from exc
    return distributed


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, e.g. a SLURM cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- the plan on the wire


@dataclasses.dataclass(frozen=True)
class PlanSpec:
    """A :class:`~logsim.planner.Plan` in a form the standard ``pickle`` accepts.

    :class:`~logsim.scenario.Scenario` holds ``MappingProxyType`` fields, which
    do not pickle; they travel as dicts and are wrapped again on the worker.
    Nothing is re-validated or re-read there: the rebuilt scenario equals the
    client's field for field (including resolved data file paths).
    """

    token: str  #: unique per run: the worker's cache key for the rebuilt plan
    fields: tuple[tuple[str, Any], ...]
    read_only: tuple[str, ...]
    chunk_size: int
    threads: int | None = None  #: a cap on Numba threads per task (None: the core budget)

    @classmethod
    def of(cls, plan: Plan, threads: int | None = None) -> PlanSpec:
        fields, read_only = [], []
        for f in dataclasses.fields(Scenario):
            value = getattr(plan.scenario, f.name)
            if isinstance(value, MappingProxyType):
                value = dict(value)
                read_only.append(f.name)
            fields.append((f.name, value))
        return cls(uuid.uuid4().hex, tuple(fields), tuple(read_only), plan.chunk_size, threads)

    def plan(self) -> Plan:
        """The plan, built once per process (its cells and data draws are cached)."""
        plan = _PLANS.get(self.token)
        if plan is None:
            kwargs = {k: MappingProxyType(v) if k in self.read_only else v for k, v in self.fields}
            plan = Plan(Scenario(**kwargs), self.chunk_size)
            if len(_PLANS) >= 4:
                _PLANS.clear()
            _PLANS[self.token] = plan
        return plan


_PLANS: dict[str, Plan] = {}
_KERNEL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- worker side


def task_threads(processes_per_host: dict[str, int], cap: int | None = None) -> int:
    """Numba threads for a task on this worker: ``cores // worker processes on this host``."""
    import numba
    from distributed import get_worker
    from distributed.comm.addressing import get_address_host

    n = processes_per_host.get(get_address_host(get_worker().address))
    threads = 1 if n is None else max(1, usable_cores() // n)
    threads = min(threads, numba.config.NUMBA_NUM_THREADS)
    return threads if cap is None else max(1, min(threads, cap))


def _run_chunk(chunk: int, spec: PlanSpec, processes_per_host: dict[str, int]) -> ChunkResult:
    """The Dask task: one chunk through the local kernel path."""
    import numba

    plan = spec.plan()
    threads = task_threads(processes_per_host, spec.threads)
    with _KERNEL_LOCK:
        numba.set_num_threads(threads)
        return compute_chunk(plan, chunk)


def numba_stats() -> dict[str, dict[str, int]]:
    """Compiled signatures and on-disk cache hits/misses of logsim's kernels in this process.

    Run it on every worker with ``client.run(numba_stats)``: after a sweep,
    ``cache_misses == 0`` means nothing was compiled there (every kernel was
    loaded from the on-disk cache), and ``cache_hits == signatures`` means each
    was loaded once, not once per task.
    """
    from numba.core.dispatcher import Dispatcher

    out = {}
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("logsim.") or mod is None:
            continue
        for name, obj in vars(mod).items():
            if isinstance(obj, Dispatcher) and obj.__module__ == modname and obj.overloads:
                stats = obj.stats
                out[f"{modname}.{name}"] = {
                    "signatures": len(obj.overloads),
                    "cache_hits": sum(stats.cache_hits.values()),
                    "cache_misses": sum(stats.cache_misses.values()),
                }
    return out


# --------------------------------------------------------------------------- client side


def _local_workers(scheduler: str) -> int | None:
    """``N`` for ``"local"``/``"local:N"``, else ``None``."""
    if scheduler != "local" and not scheduler.startswith("local:"):
        return None
    cores = usable_cores()
    if scheduler == "local":
        return cores
    raw = scheduler.partition(":")[2]
    allowed = f"local or local:N with N an integer in [1, {cores}] (the cores of this machine)"
    try:
        n = int(raw)
    except ValueError:
        raise ValueError(f"scheduler {scheduler!r}: must be {allowed}") from None
    if not 1 <= n <= cores:
        raise ValueError(f"scheduler {scheduler!r}: must be {allowed}")
    return n


@contextlib.contextmanager
def connect(scheduler, *, timeout: float | None = None) -> Iterator[Any]:
    """A ``distributed.Client`` for ``scheduler``, closed afterwards unless it was given.

    ``scheduler`` is a connected ``Client`` (left open), ``"local"`` or
    ``"local:N"`` (a ``LocalCluster`` of N single-threaded worker processes,
    closed on exit, error or KeyboardInterrupt), or a scheduler address such
    as ``tcp://host:8786`` (a :class:`ConnectionError` after ``timeout``
    seconds, default :data:`CONNECT_TIMEOUT`, if it cannot be reached).
    """
    distributed = _distributed()
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if not isinstance(scheduler, str):
        raise TypeError(
            f"scheduler must be an address string, 'local[:N]' or a dask.distributed.Client, "
            f"not {type(scheduler).__name__}"
        )
    n = _local_workers(scheduler)
    if n is not None:
        with (
            # A free local port for the scheduler's HTTP server (it always starts one;
            # the default 8787 clashes with any other cluster on this machine).
            # Worker logs below ERROR (e.g. tasks cancelled at Ctrl-C) would only clutter the
            # terminal; repeated worker deaths surface as a ClusterError.
            distributed.LocalCluster(
                n_workers=n,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,
            ) as cluster,
            distributed.Client(cluster, set_as_default=False) as client,
        ):
            yield client
        return
    try:
        client = distributed.Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConnectionError(
            f"cannot reach a Dask scheduler at {scheduler!r} within {timeout:g} s "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); start one "
            "with `dask scheduler` and workers with `dask worker ADDRESS`, or use "
            "--scheduler local:N"
        ) from None
    with client:
        yield client


def processes_per_host(client) -> dict[str, int]:
    """Worker processes connected to ``client``'s scheduler, per host."""
    from distributed.comm.addressing import get_address_host

    counts: dict[str, int] = {}
    for address in client.scheduler_info(n_workers=-1)["workers"]:
        host = get_address_host(address)
        counts[host] = counts.get(host, 0) + 1
    return counts


def _submit(client, spec: PlanSpec, chunks: list[int], func=_run_chunk) -> list:
    """One graph for all chunks (the plan is sent once), run in chunk order."""
    return client.map(
        func,
        chunks,
        spec=spec,
        processes_per_host=processes_per_host(client),
        key=[f"logsim-chunk-{c:06d}-{spec.token[:8]}" for c in chunks],
        pure=False,
        retries=RETRIES,
    )


def _results(client, futures) -> Iterator[Any]:
    """Results in completion order; remaining futures cancelled if the consumer stops."""
    distributed = _distributed()
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except distributed.client.FutureCancelledError as exc:
                raise ClusterError(
                    f"lost the Dask scheduler while computing {future.key} ({exc}); finished "
                    "chunks are saved, continue with --resume"
                ) from None
            except distributed.KilledWorker as exc:
                raise ClusterError(
                    f"{future.key}: the workers running it died repeatedly ({exc}); "
                    "often out of memory. Finished chunks are saved, continue with --resume"
                ) from None
            future.release()  # the result is here now: free the worker's copy
            yield result
    finally:
        pending = [f for f in futures if not f.done()]
        if pending and client.status == "running":
            client.cancel(pending)


def dask_chunks(
    plan: Plan, chunks: Iterable[int], scheduler, *, threads: int | None = None
) -> Iterator[ChunkResult]:
    """Compute ``chunks`` of ``plan`` on Dask workers, yielding each as it completes.

    Parameters
    ----------
    plan : Plan
        The sweep (:func:`logsim.planner.make_plan`).
    chunks : iterable of int
        Chunk indices to compute (for example the ones a resumed run lacks).
    scheduler : str or dask.distributed.Client
        ``"tcp://host:port"`` (an existing scheduler), ``"local"`` or ``"local:N"``
        (a ``LocalCluster`` of N single-threaded worker processes for the
        duration, closed afterwards even on error or KeyboardInterrupt), or a
        connected ``Client`` (left open).
    threads : int, optional
        Upper bound on Numba threads per task; by default each task uses
        ``cores // worker processes`` of its host.

    Yields
    ------
    ChunkResult
        In completion order, bit-identical to :func:`logsim.chunk.compute_chunk`
        in this process.

    Raises
    ------
    ImportError
        dask.distributed is not installed (names the ``dask`` extra).
    ConnectionError
        The scheduler cannot be reached within :data:`CONNECT_TIMEOUT` seconds,
        or (:class:`ClusterError`) it was lost or workers kept dying mid-sweep.
    """
    chunks = list(chunks)
    _distributed()
    if not chunks:
        return
    with connect(scheduler) as client:
        futures = _submit(client, PlanSpec.of(plan, threads), chunks)
        yield from _results(client, futures)
