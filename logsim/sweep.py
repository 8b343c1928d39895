"""From a validated scenario to plain arrays: grid expansion, data draws, chunked kernel calls.

A sweep is a list of trajectories, one per grid cell in C order. It is cut
into chunks of consecutive cells; :func:`compute_chunk` computes one chunk from
the plan alone (regenerating the data draws it needs), so a chunk can run in
this process, in another one, or on a Dask worker, and any set of finished
chunks can be put together in any order.

Invariants
----------
* Everything random is keyed by the cell's ``seed`` (see :mod:`logsim.rng`),
  so a trajectory's numbers do not depend on which chunk it falls in.
* The chunk size is a function of the scenario only (never of the thread or
  worker count), so a resumed run cuts the sweep exactly as the first one did.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from logsim import data as datamod
from logsim.engine import run_batch, stack_training_sets
from logsim.losses import CORRECTED_LOSSES
from logsim.noise import anchor_transition
from logsim.scenario import Scenario, load_scenario

#: Parameters that change the training set (as opposed to its labels or the optimiser).
LABEL_PARAMS = ("noise_rate", "rho_pos", "rho_neg", "smoothing", "soft")
OPTIMIZER_PARAMS = ("loss", "transition", "method", "learning_rate", "steps", "batch_size",
                    "normalize")
#: Approximate multiply-adds per chunk: big enough to amortise the call, small enough
#: that a killed run loses little and a progress bar moves.
CHUNK_WORK = 2e9


def data_params(cell: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of ``cell`` that determine its data draw (seed excluded)."""
    return {k: v for k, v in cell.items()
            if k not in LABEL_PARAMS and k not in OPTIMIZER_PARAMS and k != "seed"}


def _freeze(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))


_DRAW_CACHE: dict[tuple, datamod.DataDraw] = {}


def draw_for(cell: Mapping[str, Any]) -> datamod.DataDraw:
    """The data draw of ``cell`` (cached per process: draws are deterministic)."""
    params = data_params(cell)
    key = (cell["seed"], _freeze(params))
    draw = _DRAW_CACHE.get(key)
    if draw is None:
        if len(_DRAW_CACHE) > 256:
            _DRAW_CACHE.clear()
        kind = params.pop("kind")
        intercept = params.pop("intercept", False)
        if kind == "file":
            draw = datamod.load_file(params["path"], label=params.get("label"))
            if intercept:
                draw = datamod.with_intercept(draw)
        else:
            draw = datamod.make_data(kind, seed=cell["seed"], intercept=intercept, **params)
        _DRAW_CACHE[key] = draw
    return draw


def targets_for(cell: Mapping[str, Any], draw: datamod.DataDraw) -> tuple[np.ndarray, np.ndarray]:
    """Training targets and noisy hard labels of ``cell``."""
    return datamod.training_targets(
        draw, cell["seed"], noise_rate=cell["noise_rate"], rho_pos=cell["rho_pos"],
        rho_neg=cell["rho_neg"], smoothing=cell["smoothing"], soft=cell["soft"],
    )


_ANCHOR_CACHE: dict[tuple, tuple[float, float]] = {}


def correction_rates(cell: Mapping[str, Any], draw, noisy) -> tuple[float, float]:
    """The flip rates ``(rho_pos, rho_neg)`` the cell's corrected loss assumes.

    Anchor-point estimates depend only on the training set and its noisy
    labels, so cells that share both (forward and backward, several step
    sizes) share one estimate (cached per process).
    """
    if cell["loss"] not in CORRECTED_LOSSES:
        return 0.0, 0.0
    if cell["transition"] == "anchor":
        key = (cell["seed"], _freeze(data_params(cell)),
               tuple(cell[k] for k in LABEL_PARAMS))
        if key not in _ANCHOR_CACHE:
            if len(_ANCHOR_CACHE) > 4096:
                _ANCHOR_CACHE.clear()
            _ANCHOR_CACHE[key] = anchor_transition(draw.x_train, noisy)
        return _ANCHOR_CACHE[key]
    return datamod.flip_rates(cell["noise_rate"], cell["rho_pos"], cell["rho_neg"])


@dataclass(frozen=True)
class Plan:
    """A sweep cut into chunks of consecutive grid cells."""

    scenario: Scenario
    chunk_size: int

    @cached_property
    def cells(self) -> list[dict[str, Any]]:
        return [params for _, params in self.scenario.cells()]

    @property
    def n_trajectories(self) -> int:
        return self.scenario.size

    @property
    def n_chunks(self) -> int:
        return math.ceil(self.n_trajectories / self.chunk_size)

    def chunk_range(self, chunk: int) -> range:
        start = chunk * self.chunk_size
        return range(start, min(start + self.chunk_size, self.n_trajectories))

    @cached_property
    def checkpoints(self) -> np.ndarray:
        return np.asarray(self.scenario.checkpoint_steps, dtype=np.int64)

    @cached_property
    def n_features(self) -> int:
        """Widest feature dimension over the grid (narrower draws are NaN-padded)."""
        return max(draw_for(cell).x_train.shape[1] for cell in self._data_cells)

    @cached_property
    def _data_cells(self) -> list[dict[str, Any]]:
        seen: dict[tuple, dict[str, Any]] = {}
        for cell in self.cells:
            seen.setdefault((cell["seed"], _freeze(data_params(cell))), cell)
        return list(seen.values())

    def work(self, chunk: int) -> float:
        """Multiply-adds of a chunk, roughly: steps x n x d per trajectory."""
        return sum(self._cell_work(self.cells[i]) for i in self.chunk_range(chunk))

    def _cell_work(self, cell) -> float:
        draw = draw_for(cell)
        n, d = draw.x_train.shape
        per_step = (cell["batch_size"] or n) if cell["method"] == "sgd" else n
        return float(cell["steps"]) * per_step * d


def make_plan(scenario, chunk_size: int | None = None) -> Plan:
    """Cut ``scenario`` into chunks of about :data:`CHUNK_WORK` multiply-adds each."""
    scenario = load_scenario(scenario)
    if chunk_size is None:
        probe = Plan(scenario, 1)
        per_cell = probe._cell_work(probe.cells[0])
        chunk_size = int(min(max(CHUNK_WORK // max(per_cell, 1.0), 8), 4096))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    return Plan(scenario, chunk_size)


@dataclass(frozen=True)
class ChunkResult:
    """Arrays of one chunk: trajectories ``plan.chunk_range(chunk)`` in order."""

    chunk: int
    weights: np.ndarray  #: (m, K, d_max), NaN beyond a cell's own dimension
    train_loss: np.ndarray  #: (m, K)
    diverged: np.ndarray  #: (m,)
    transition: np.ndarray  #: (m, 2) flip rates assumed by the corrected losses

    def arrays(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights, "train_loss": self.train_loss,
                "diverged": self.diverged, "transition": self.transition}


def compute_chunk(plan: Plan, chunk: int) -> ChunkResult:
    """Run the trajectories of one chunk, one kernel call per training-set shape."""
    idx = list(plan.chunk_range(chunk))
    K = plan.checkpoints.shape[0]
    m, d_max = len(idx), plan.n_features
    transition = np.zeros((m, 2))
    groups: dict[tuple[int, int], list[int]] = {}
    rows = []
    for local, i in enumerate(idx):
        cell = plan.cells[i]
        draw = draw_for(cell)
        targets, noisy = targets_for(cell, draw)
        transition[local] = correction_rates(cell, draw, noisy)
        rows.append((cell, draw, targets))
        groups.setdefault(draw.x_train.shape, []).append(local)
    if len(groups) == 1 and next(iter(groups))[1] == d_max:
        # One training-set shape at the widest dimension (the usual case): the kernel's
        # arrays, NaN after a divergence like the padded ones below, are the chunk's
        # arrays as they are; copying them into padded arrays would hold the chunk twice.
        res = _run_cells(plan, rows, range(m), transition)
        return ChunkResult(chunk, res.weights, res.train_loss, res.diverged, transition)
    weights = np.full((m, K, d_max), np.nan)
    train_loss = np.full((m, K), np.nan)
    diverged = np.zeros(m, dtype=bool)
    for (_, d), members in groups.items():
        res = _run_cells(plan, rows, members, transition)
        weights[members, :, :d] = res.weights
        train_loss[members] = res.train_loss
        diverged[members] = res.diverged
    return ChunkResult(chunk, weights, train_loss, diverged, transition)


def _run_cells(plan: Plan, rows, members, transition: np.ndarray):
    """One kernel call for the chunk rows ``members``, which share a training-set shape.

    ``rows[j]`` is ``(cell, draw, targets)`` of chunk row ``j``; ``transition`` the
    chunk's flip rates. Returns the :class:`logsim.engine.BatchResult`.
    """
    members = list(members)
    features, data_index = stack_training_sets([rows[j][1] for j in members])
    cells = [rows[j][0] for j in members]
    return run_batch(
        features,
        np.stack([rows[j][2] for j in members]),
        data_index=data_index,
        loss=np.array([c["loss"] for c in cells], dtype=object),
        method=np.array([c["method"] for c in cells], dtype=object),
        normalize=np.array([c["normalize"] for c in cells], dtype=object),
        learning_rate=[c["learning_rate"] for c in cells],
        batch_size=np.array([c["batch_size"] or 1 for c in cells], dtype=object),
        steps=int(plan.checkpoints[-1]),
        checkpoints=plan.checkpoints,
        rho_pos=transition[members, 0],
        rho_neg=transition[members, 1],
        batch_seed=[c["seed"] for c in cells],
    )


class SweepArrays:
    """The per-trajectory arrays of a whole sweep, filled in one finished chunk at a time.

    Holding these rather than a list of chunks lets each chunk be freed once it is
    copied in, so a sweep holds its arrays once (plus the chunk in flight), not a list
    of chunks and their concatenation. A sweep of a single chunk adopts that chunk's
    arrays instead of copying them.

    Invariant: the arrays are allocated uninitialised; every trajectory belongs to
    exactly one chunk, each chunk can be added once, and :meth:`check_complete` refuses
    the arrays until every chunk is in, so no uninitialised row is ever read.
    """

    def __init__(self, plan: Plan):
        R, K, d = plan.n_trajectories, plan.checkpoints.shape[0], plan.n_features
        self.plan = plan
        self.weights = np.empty((R, K, d))  #: (R, K, d_max) float64
        self.train_loss = np.empty((R, K))  #: (R, K) float64
        self.diverged = np.empty(R, dtype=bool)  #: (R,) bool
        self.transition = np.empty((R, 2))  #: (R, 2) float64
        self._added: set[int] = set()

    def add(self, result: ChunkResult) -> None:
        """Copy the arrays of one chunk into their rows (adopt them if it is the only one)."""
        c = result.chunk
        if not 0 <= c < self.plan.n_chunks:
            raise ValueError(f"chunk {c} is not a chunk of this plan (0..{self.plan.n_chunks - 1})")
        if c in self._added:
            raise ValueError(f"chunk {c} was added twice")
        span = self.plan.chunk_range(c)
        whole = self.plan.n_chunks == 1
        for name, values in result.arrays().items():
            target = getattr(self, name)[span.start:span.stop]
            if np.shape(values) != target.shape:
                raise ValueError(f"chunk {c}: {name} has shape {np.shape(values)}, expected "
                                 f"{target.shape} for trajectories {span.start}..{span.stop - 1}")
            if whole:  # the chunk is the sweep: adopt its array rather than copy it
                setattr(self, name, np.asarray(values, dtype=target.dtype))
            else:
                target[...] = values
        self._added.add(c)

    def check_complete(self) -> None:
        """Raise ``ValueError`` unless every chunk of the plan has been added."""
        missing = sorted(set(range(self.plan.n_chunks)) - self._added)
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
            raise ValueError(f"cannot assemble a result: some chunks are missing "
                             f"({len(missing)} of {self.plan.n_chunks}: {shown})")


# --- local execution with crash-safe parts -------------------------------------------------


class PartStore:
    """Finished chunks of one run, saved under ``OUT.parts/`` with atomic renames.

    ``manifest.json`` records the scenario hash and the chunk size: resuming
    with another scenario text is refused, and a resumed run cuts the sweep
    exactly as the first one did.
    """

    def __init__(self, directory, plan: Plan, *, resume: bool):
        import json

        self.directory = Path(directory)
        self.plan = plan
        manifest = self.directory / "manifest.json"
        expected = {"scenario_sha256": plan.scenario.sha256, "chunk_size": plan.chunk_size,
                    "n_chunks": plan.n_chunks}
        if manifest.exists():
            found = json.loads(manifest.read_text())
            if not resume:
                raise ValueError(
                    f"{self.directory} holds the saved chunks of an unfinished run; continue it "
                    "with --resume, or delete that folder to start afresh"
                )
            if found.get("scenario_sha256") != expected["scenario_sha256"]:
                raise ValueError(
                    f"cannot resume: {self.directory} was made by a different scenario text "
                    f"(sha256 {str(found.get('scenario_sha256'))[:12]}…, this scenario "
                    f"{expected['scenario_sha256'][:12]}…); delete it to start afresh"
                )
            self.plan = Plan(plan.scenario, int(found["chunk_size"]))
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            _atomic_write_bytes(manifest, json.dumps(expected, indent=1).encode())

    def _file(self, chunk: int) -> Path:
        return self.directory / f"chunk-{chunk:06d}.npz"

    def done(self) -> set[int]:
        return {c for c in range(self.plan.n_chunks) if self._file(c).exists()}

    def save(self, result: ChunkResult) -> None:
        # streamed into the file: no in-memory copy of the chunk's arrays
        with _atomic_file(self._file(result.chunk)) as f:
            np.savez(f, **result.arrays())

    def load(self, chunk: int) -> ChunkResult:
        with np.load(self._file(chunk), allow_pickle=False) as f:
            return ChunkResult(chunk, f["weights"], f["train_loss"], f["diverged"],
                               f["transition"])

    def remove(self) -> None:
        import shutil

        shutil.rmtree(self.directory, ignore_errors=True)


@contextmanager
def _atomic_file(path: Path):
    """A binary file that appears at ``path`` complete (fsync, rename) or not at all."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_write_bytes(path: Path, payload: bytes) -> None:
    with _atomic_file(path) as f:
        f.write(payload)


def set_threads(threads: int | None) -> None:
    """Use ``threads`` Numba threads in this process (1 .. NUMBA_NUM_THREADS)."""
    if threads is None:
        return
    import numba

    top = numba.config.NUMBA_NUM_THREADS
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= top:
        raise ValueError(f"threads must be an integer in [1, {top}], got {threads!r}")
    numba.set_num_threads(threads)


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
        Show a progress bar on stderr (trajectory-steps done, rate, ETA).
    out : path, optional
        Also write the result there (netCDF4, atomic); finished chunks are kept
        under ``OUT.parts/`` until the file is written, so ``resume=True``
        continues a run that was killed.
    resume : bool
        Reuse the chunks saved under ``OUT.parts/`` by an earlier, killed run.
    chunk_size : int, optional
        Grid cells per chunk (default: about :data:`CHUNK_WORK` multiply-adds).
    scheduler : str or dask.distributed.Client, optional
        Run the chunks on Dask workers instead of this process: a scheduler
        address (``tcp://host:8786``), ``"local[:N]"`` for a ``LocalCluster`` of
        ``N`` worker processes, or a connected ``Client``
        (:func:`logsim.distributed.dask_chunks`). The result is bit-identical.
    """
    from logsim import results
    from logsim.engine import warn_divergence

    scenario = load_scenario(scenario)
    set_threads(threads)
    plan = make_plan(scenario, chunk_size)
    if resume and out is None:
        raise ValueError("resume needs an output path: the saved chunks live under OUT.parts/")
    store = None
    if out is not None:
        store = PartStore(Path(str(out) + ".parts"), plan, resume=resume)
        plan = store.plan
    done = store.done() if store else set()
    arrays = SweepArrays(plan)
    for c in sorted(done):
        arrays.add(store.load(c))
    todo = [c for c in range(plan.n_chunks) if c not in done]
    steps = int(plan.checkpoints[-1])
    bar = _progress_bar(progress, total=plan.n_trajectories * steps,
                        initial=(plan.n_trajectories - sum(len(plan.chunk_range(c))
                                                           for c in todo)) * steps)
    if scheduler is None:
        finished = (compute_chunk(plan, c) for c in todo)
    else:
        from logsim.distributed import dask_chunks

        finished = dask_chunks(plan, todo, scheduler, threads=threads)
    try:
        for result in finished:
            c = result.chunk
            if store:
                store.save(result)
            arrays.add(result)
            del result  # copied into arrays: free it before the next chunk is computed
            if bar is not None:
                bar.update(len(plan.chunk_range(c)) * steps)
    except BaseException:
        if store is not None and not store.done():
            store.remove()  # nothing saved yet: leave no folder that blocks the next run
        raise
    finally:
        if hasattr(finished, "close"):
            finished.close()  # shut a Dask cluster down now, not at garbage collection
        if bar is not None:
            bar.close()
    ds = results.assemble(plan, arrays)
    del arrays  # the dataset holds the arrays it needs
    if out is not None:
        results.write(ds, out)
        store.remove()
    # Warn only once the result is safely stored: a warning turned into an error must
    # not lose the computed chunks.
    labels = [", ".join(f"{k}={v}" for k, v in cell.items() if scenario.is_swept(k))
              for cell in plan.cells]
    warn_divergence(ds["diverged"].values, labels)
    return ds


def _progress_bar(enabled: bool, *, total: int, initial: int):
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="traj-step", unit_scale=True,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1)
