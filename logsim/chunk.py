"""One chunk of a sweep, computed whole where it runs: data, kernel, analysis.

:func:`compute_chunk` needs only the plan: it draws the data sets its cells use (once
per distinct draw), makes their training targets (once per target set), runs the
trajectories (:func:`logsim.engine.run_batch`, one call per training-set shape), and
measures every stored variable of its cells (test-set scores, Platt scaling, margins,
SVM references, entropy floors) with :mod:`logsim.analysis`'s array-level core, once
per data set and per target set. It returns only finished arrays, so the process that
stores them (this one, or a Dask client) only writes.

Invariants
----------
* A cell's numbers do not depend on the chunk it falls in: its data draw and targets
  are functions of its coordinates (:mod:`logsim.rng` streams keyed by the seed), the
  kernel's arithmetic for a trajectory does not depend on the others, and every
  per-row measurement is computed row by row in a fixed order.
* The arrays of a chunk are the rows :meth:`logsim.planner.Plan.placements` expects:
  its cells in work order, then the target sets and draws it owns.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np
from threadpoolctl import threadpool_limits

from logsim import analysis
from logsim import data as datamod
from logsim._jit import in_threads, pieces
from logsim.data_draw import DataDraw
from logsim.engine import run_batch, stack_training_sets
from logsim.labels import flip_rates, training_targets
from logsim.losses import CORRECTED_LOSSES
from logsim.noise import anchor_transition
from logsim.planner import Plan

__all__ = ["ChunkResult", "compute_chunk"]

#: The optimiser options :func:`logsim.engine.run_batch` takes per trajectory.
OPTIMIZER_OPTIONS = ("momentum", "beta1", "beta2", "eps", "weight_decay", "schedule",
                     "schedule_scale")
#: A trajectory whose training loss ends more than this many times above where it started
#: is flagged ``unstable`` (gradient descent with a sound step size never ends far above
#: its start; a step of 1e6 on the logistic loss ends at 17,000 from 0.69).
UNSTABLE_FACTOR = 10.0
#: Bytes of data draws kept between chunks of one process (a draw larger than a chunk
#: spans several consecutive chunks, which then draw it once). Chunks run in work order,
#: so only the latest draws are ever reused; the most recent draw is kept even when it
#: alone exceeds this. At 256 MiB the cache held memory and nothing else: a sweep of 64
#: seeds of 8 MB draws peaked 240 MB higher than with one chunk's draws.
DRAW_CACHE_BYTES = 32 * 2**20


@dataclass(frozen=True)
class ChunkResult:
    """The finished arrays of one chunk (see :meth:`logsim.planner.Plan.placements`)."""

    chunk: int
    arrays: dict[str, np.ndarray] = field(repr=False)
    #: seconds spent per stage in the process that computed it (for progress and profiles)
    seconds: Mapping[str, float] = field(default_factory=dict)


class _DrawCache:
    """The most recent data draws, by ``(seed, options)``, up to a byte budget."""

    def __init__(self, budget: int):
        self.budget = budget
        self.entries: OrderedDict[tuple, DataDraw] = OrderedDict()
        self.bytes = 0

    @staticmethod
    def _size(draw: DataDraw) -> int:
        return sum(a.nbytes for a in (draw.x_train, draw.x_test, draw.y_train, draw.y_test,
                                      draw.p_train, draw.p_test, draw.w_star) if a is not None)

    def get(self, seed: int, options: Mapping[str, Any]) -> DataDraw:
        key = (seed, tuple(sorted((k, tuple(v) if isinstance(v, list | tuple) else v)
                                  for k, v in options.items())))
        draw = self.entries.get(key)
        if draw is not None:
            self.entries.move_to_end(key)
            return draw
        opts = dict(options)
        kind = opts.pop("kind")
        intercept = opts.pop("intercept", False)
        draw = datamod.make_data(kind, seed=seed, intercept=intercept, **opts)
        self.entries[key] = draw
        self.bytes += self._size(draw)
        while self.bytes > self.budget and len(self.entries) > 1:
            _, old = self.entries.popitem(last=False)
            self.bytes -= self._size(old)
        return draw


_DRAWS = _DrawCache(DRAW_CACHE_BYTES)


@dataclass
class _TargetSet:
    """One training set and its targets, as the chunk's cells use them."""

    draw: DataDraw
    targets: np.ndarray
    noisy: np.ndarray
    cell: dict[str, Any]  #: one cell of the set (its data and label parameters)
    svm_cache: dict  #: SVM solutions of ``draw`` by hard labels, shared by its target sets
    anchor: tuple[float, float] | None = None
    references: dict | None = None


def _correction_rates(cell, ts: _TargetSet) -> tuple[float, float]:
    """The flip rates ``(rho_pos, rho_neg)`` the cell's corrected loss assumes."""
    if cell["loss"] not in CORRECTED_LOSSES:
        return 0.0, 0.0
    if cell["transition"] == "anchor":
        if ts.anchor is None:  # shared by every corrected cell of the target set
            ts.anchor = anchor_transition(ts.draw.x_train, ts.noisy)
        return ts.anchor
    return flip_rates(cell["noise_rate"], cell["rho_pos"], cell["rho_neg"])


def compute_chunk(plan: Plan, chunk: int, on_stage=None) -> ChunkResult:
    """Compute every stored variable of the cells of ``chunk`` (module docstring).

    ``on_stage``, if given, is called with ``"data"``, ``"kernels"`` and ``"analysis"``
    as each stage starts (a progress bar's label).
    """
    import time

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    clock = {"data": 0.0, "kernel": 0.0, "analysis": 0.0}
    stage("data")
    t0 = time.perf_counter()
    span = plan.chunk_range(chunk)
    cells = plan.cells(span)
    m = len(cells)
    sets: dict[int, _TargetSet] = {}
    svm_caches: dict[int, dict] = {}
    cell_set = np.empty(m, dtype=np.int64)
    for k, (w, cell) in enumerate(zip(span, cells, strict=True)):
        t = plan.target_of(w)
        cell_set[k] = t
        if t not in sets:
            draw = _DRAWS.get(cell["seed"], plan.draw_options(cell))
            targets, noisy = training_targets(
                draw, cell["seed"], noise_rate=cell["noise_rate"], rho_pos=cell["rho_pos"],
                rho_neg=cell["rho_neg"], smoothing=cell["smoothing"], soft=cell["soft"])
            sets[t] = _TargetSet(draw, targets, noisy, cell,
                                 svm_caches.setdefault(plan.draw_of(w), {}))
    transition = np.array([_correction_rates(c, sets[cell_set[k]]) for k, c in enumerate(cells)])
    transition = transition.reshape(m, 2)
    clock["data"] += time.perf_counter() - t0

    stage("kernels")
    t0 = time.perf_counter()
    K, d_max = len(plan.checkpoints), plan.n_features
    weights = np.full((m, K, d_max), np.nan)
    train_loss = np.full((m, K), np.nan)
    log_train_loss = np.full((m, K), np.nan)
    diverged = np.zeros(m, dtype=bool)
    frozen_at = np.full(m, np.nan)
    by_shape: dict[tuple[int, int], list[int]] = {}
    for k in range(m):
        by_shape.setdefault(sets[cell_set[k]].draw.x_train.shape, []).append(k)
    for (_, d), members in by_shape.items():
        res = _run_cells(plan, [cells[k] for k in members],
                         [sets[cell_set[k]] for k in members], transition[members])
        if len(by_shape) == 1 and d == d_max:
            weights, train_loss, diverged = res.weights, res.train_loss, res.diverged
        else:
            weights[members, :, :d] = res.weights
            train_loss[members] = res.train_loss
            diverged[members] = res.diverged
        log_train_loss[members] = res.log_train_loss
        frozen_at[members] = np.where(res.frozen_at >= 0, res.frozen_at, np.nan)
    clock["kernel"] += time.perf_counter() - t0

    stage("analysis")
    t0 = time.perf_counter()
    wanted = {v.name: v for v in plan.variables}
    # The analysis shares its work between threads itself; BLAS threads on top (NumPy's
    # small products and least squares in the SVM) only oversubscribe the cores: 15x
    # slower measured on 2 cores.
    with threadpool_limits(1, user_api="blas"):
        out = _analysis_arrays(plan, span, cells, sets, cell_set, weights, train_loss,
                               diverged, transition, wanted)
    out["log_train_loss"] = log_train_loss
    out["frozen_at"] = frozen_at
    clock["analysis"] += time.perf_counter() - t0
    return ChunkResult(chunk, out, clock)


def _analysis_arrays(plan, span, cells, sets, cell_set, weights, train_loss, diverged,
                     transition, wanted):
    """Every stored array of the chunk but the kernel's own."""
    with np.errstate(invalid="ignore"):
        settled = train_loss[:, -1] <= UNSTABLE_FACTOR * np.abs(train_loss[:, 0])
    out: dict[str, np.ndarray] = {"train_loss": train_loss, "diverged": diverged,
                                  "unstable": diverged | ~settled}
    if "weights" in wanted:
        out["weights"] = weights if wanted["weights"].dims[-2] == "step" else weights[:, -1:]
    if "transition_rho_pos" in wanted:
        out["transition_rho_pos"] = transition[:, 0].copy()
        out["transition_rho_neg"] = transition[:, 1].copy()
    out.update(_measure(plan, cells, sets, cell_set, weights, train_loss, wanted))
    out.update(_owned_arrays(plan, span, sets, wanted))
    return out


def _run_cells(plan: Plan, cells, sets, transition):
    """One kernel call for ``cells``, whose training sets share a shape."""
    features, data_index = stack_training_sets([ts.draw for ts in sets])
    return run_batch(
        features,
        np.stack([ts.targets for ts in sets]),
        data_index=data_index,
        loss=np.array([c["loss"] for c in cells], dtype=object),
        method=np.array([c["method"] for c in cells], dtype=object),
        normalize=np.array([c["normalize"] for c in cells], dtype=object),
        learning_rate=[c["learning_rate"] for c in cells],
        batch_size=np.array([c["batch_size"] for c in cells], dtype=object),
        steps=int(plan.checkpoints[-1]),
        checkpoints=plan.checkpoints,
        rho_pos=transition[:, 0],
        rho_neg=transition[:, 1],
        batch_seed=[c["seed"] for c in cells],
        **{key: [c[key] for c in cells] for key in OPTIMIZER_OPTIONS},
    )


def _measure(plan: Plan, cells, sets, cell_set, weights, train_loss, wanted):
    """The per-cell analysis variables of the chunk: one compiled pass per data shape over
    every row (cell x checkpoint) of the chunk, the SVM once per training set and labels."""
    m, K, _ = weights.shape
    names = [n for n, v in wanted.items() if v.var.level == "cell" and n in analysis.VARIABLES]
    out = {name: np.full((m, K), np.nan) for name in names}
    out["weight_norm"] = analysis.weight_norms(weights)
    opts = plan.analysis
    groups = opts["groups"]
    platt_steps = (np.ones(K, dtype=bool) if opts["platt_at"] == "all"
                   else np.arange(K) == K - 1)
    losses = np.array([c["loss"] for c in cells])
    order = list(sets)  # target sets in work order
    # The SVMs of the target sets on the threads (Wolfe's loop is compiled and releases
    # the GIL); each result depends only on its own training set and labels.
    threads = numba.get_num_threads()
    in_threads([functools.partial(_all_references, [sets[t] for t in order[part]], groups,
                                  plan) for part in pieces(len(order), threads)], threads)
    refs = {t: sets[t].references for t in order}
    if "train_kl_gap" in out:
        logistic = np.isin(losses, analysis.CROSS_ENTROPY_LOSSES)
        floor = np.array([refs[t]["entropy_floor"] for t in cell_set])
        out["train_kl_gap"][logistic] = train_loss[logistic] - floor[logistic, None]
    by_shape: dict[tuple, list[int]] = {}
    for k in range(m):
        draw = sets[cell_set[k]].draw
        by_shape.setdefault((draw.n_train, draw.n_test, draw.dim), []).append(k)
    for (_, n_test, d), members in by_shape.items():
        members = np.asarray(members)
        rows = weights[members, :, :d].reshape(-1, d)
        row_losses = np.repeat(losses[members], K)
        targets = [t for t in order if t in set(cell_set[members].tolist())]
        draws = list({id(sets[t].draw): sets[t].draw for t in targets}.values())
        draw_pos = {id(dr): i for i, dr in enumerate(draws)}
        target_pos = {t: i for i, t in enumerate(targets)}
        data_index = np.repeat([draw_pos[id(sets[cell_set[k]].draw)] for k in members], K)
        target_index = np.repeat([target_pos[cell_set[k]] for k in members], K)
        found = {}
        if {"test", "calibration", "platt"} & set(groups) and n_test:
            found |= analysis.scores_on_test_set(
                rows, np.stack([dr.x_test for dr in draws]),
                np.stack([dr.y_test for dr in draws]),
                np.stack([dr.p_test for dr in draws]) if plan.has_posterior else None,
                losses=row_losses, bins=opts["bins"], groups=groups,
                platt=np.tile(platt_steps, len(members)), steps=K, data_index=data_index)
        if "geometry" in groups:
            found |= analysis.geometry_on_training_set(
                rows, np.stack([dr.x_train for dr in draws]),
                np.stack([sets[t].targets for t in targets]), losses=row_losses,
                w_hat=np.stack([refs[t]["w_hat"] for t in targets]),
                svm_margin=np.array([refs[t]["svm_margin"] for t in targets]),
                references={k: np.array([refs[t][k] for t in targets])
                            for k in analysis.LP_REFERENCES},
                groups=groups, data_index=data_index, target_index=target_index)
        for name, values in found.items():
            out[name][members] = values.reshape(len(members), K)
    return out


def _all_references(target_sets, groups, plan: Plan) -> None:
    for ts in target_sets:
        _references(ts, groups, plan)


def _references(ts: _TargetSet, groups, plan: Plan) -> dict:
    """Entropy floor and SVM of a target set (once per set and chunk; the SVM once per
    training set and hard labels, see :func:`logsim.analysis.references_of_training_set`)."""
    if ts.references is None:
        where = ", ".join(f"{a}={ts.cell[a]}" for a in plan.target_axes)
        ts.references = analysis.references_of_training_set(
            ts.draw.x_train, ts.targets, groups=groups, where=where or "the only training set",
            svm_cache=ts.svm_cache)
    return ts.references


def _pad(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    out = np.full(shape, np.nan)
    out[tuple(slice(0, n) for n in values.shape)] = values
    return out


def _owned_arrays(plan: Plan, span: range, sets: dict[int, _TargetSet], wanted) -> dict:
    """Rows of the target-level and draw-level variables of the sets the chunk owns."""
    out: dict[str, np.ndarray] = {}
    owned_targets = plan.owned(span, plan.cells_per_target)
    owned_draws = plan.owned(span, plan.cells_per_draw)
    n, n_test, d = plan.n_train, plan.n_test, plan.n_features
    target_names = [n for n, v in wanted.items() if v.var.level == "target"]
    if target_names:
        rows = {name: [] for name in target_names}
        for t in owned_targets:
            ts = sets[t]
            refs = _references(ts, plan.analysis["groups"], plan)
            for name in target_names:
                if name == "targets":
                    rows[name].append(_pad(ts.targets, (n,)))
                elif wanted[name].var.trailing == ("feature",):  # w_hat, w_hat_l1, ...
                    rows[name].append(_pad(refs[name], (d,)))
                else:
                    rows[name].append(refs[name])
        for name in target_names:
            dtype = bool if wanted[name].var.dtype == "bool" else np.float64
            shape = (len(owned_targets), *wanted[name].shape[len(plan.target_axes):])
            out[name] = np.asarray(rows[name], dtype=dtype).reshape(shape)
    draw_names = [n for n, v in wanted.items() if v.var.level == "draw"]
    if draw_names:
        first = {plan.draw_of(t * plan.cells_per_target): ts for t, ts in sets.items()}
        shapes = {"x_train": (n, d), "clean_labels": (n,), "x_test": (n_test, d),
                  "y_test": (n_test,), "p_train": (n,), "p_test": (n_test,), "w_star": (d,)}
        sources = {"x_train": "x_train", "clean_labels": "y_train", "x_test": "x_test",
                   "y_test": "y_test", "p_train": "p_train", "p_test": "p_test",
                   "w_star": "w_star"}
        for name in draw_names:
            out[name] = np.stack([_pad(getattr(first[i].draw, sources[name]), shapes[name])
                                  for i in owned_draws]) if len(owned_draws) else \
                np.empty((0, *shapes[name]))
    return out
