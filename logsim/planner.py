"""The plan of a sweep: cells in work order, chunks, data draws, stored variables and sizes.

A plan is a pure function of the scenario (and a chunk size): it draws no data and
compiles nothing, so it is cheap for any grid and every process (a Dask worker, a
resumed run) rebuilds exactly the same one.

Terms
-----
*Grid axes* are the scenario's ``[grid]`` keys in file order (``seed`` among them); a
*cell* is one point of the grid, one trajectory. The grid axes fall into three kinds:

* *data axes*: ``seed`` and the swept ``[data]`` parameters. Cells that share their
  values share one *data draw* (training and test set).
* *label axes*: the swept ``[labels]`` parameters. Cells that share the data axes and
  these share one *target set* (the training targets after noise and smoothing).
* *other axes*: the swept ``[optimizer]`` parameters.

Work order
----------
Cells are computed in *work order*: the grid with its axes reordered as data axes,
label axes, other axes (each kind in grid order). So every draw's cells are
consecutive, and inside a draw every target set's cells are. A *chunk* is a range of
consecutive cells in work order that never straddles a draw unless one draw alone has
more cells than a chunk (then it never straddles a target set, unless one target set
alone has more). Hence each draw, SVM and entropy floor is computed by one chunk (or,
for draws bigger than a chunk, by each of its few chunks), however many seeds a sweep
has. The result is stored in grid order: :meth:`Plan.placements` cuts a chunk's arrays
into the boxes of the grid they fill.

Invariants
----------
* The chunk boundaries are a function of the scenario and ``chunk_size`` only (never
  of threads or workers), so a resumed run cuts the sweep as the first one did.
* Every cell belongs to exactly one chunk; every draw and target set is *owned*
  (written to the result) by the one chunk that holds its first cell.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from logsim import data as datamod
from logsim.losses import CORRECTED_LOSSES, loss_units
from logsim.scenario import Scenario, load_scenario
from logsim.variables import ANALYSIS_GROUPS, VARIABLES, Variable, attributes

__all__ = ["CHUNK_WORK", "Plan", "StoredVariable", "boxes", "make_plan"]

#: Approximate multiply-adds per chunk: big enough to amortise a chunk's fixed costs,
#: small enough that a killed run loses little and a progress bar moves.
CHUNK_WORK = 2e9
#: Largest default chunk, in cells.
MAX_CHUNK_CELLS = 4096
#: Largest default chunk, in bytes of its cells' arrays (what the kernel records and the
#: analysis measures): bounds a sweep's memory whatever the size of its result.
CHUNK_BYTES = 64 * 2**20
#: Largest storage chunk of a variable in the file (bytes).
STORAGE_CHUNK_BYTES = 4 * 2**20


@dataclass(frozen=True)
class StoredVariable:
    """A variable of the result: its registry entry, dims, shape and attributes."""

    var: Variable
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    attrs: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.var.name

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * (1 if self.var.dtype == "bool" else 8)


def _prod(values) -> int:
    return math.prod(int(v) for v in values)


def boxes(start: int, stop: int, shape: tuple[int, ...]) -> Iterator[tuple[tuple, int, int]]:
    """Cut the C-order flat range ``[start, stop)`` of an array of ``shape`` into boxes.

    Yields ``(slices, lo, hi)``: a tuple of one ``slice`` per axis, whose box holds
    exactly the flat indices ``[lo, hi)`` in C order. At most ``2 * len(shape) - 1``
    boxes, in increasing order; together they cover the range once.
    """
    if start >= stop:
        return
    if not shape:
        yield (), start, stop
        return
    inner = _prod(shape[1:])
    first, r0 = divmod(start, inner)
    last, r1 = divmod(stop, inner)
    full = (slice(None),) * (len(shape) - 1)
    if first == last:
        for sub, lo, hi in boxes(r0, r1, shape[1:]):
            yield (slice(first, first + 1), *sub), first * inner + lo, first * inner + hi
        return
    if r0:
        for sub, lo, hi in boxes(r0, inner, shape[1:]):
            yield (slice(first, first + 1), *sub), first * inner + lo, first * inner + hi
        first += 1
    if last > first:
        yield (slice(first, last), *full), first * inner, last * inner
    if r1:
        for sub, lo, hi in boxes(0, r1, shape[1:]):
            yield (slice(last, last + 1), *sub), last * inner + lo, last * inner + hi


@dataclass(frozen=True)
class Plan:
    """A sweep cut into chunks of consecutive cells in work order (module docstring)."""

    scenario: Scenario
    chunk_size: int  #: cells per chunk, at most

    # ------------------------------------------------------------------ axes and order

    @cached_property
    def axes(self) -> tuple[str, ...]:
        return self.scenario.axis_names

    @cached_property
    def sizes(self) -> dict[str, int]:
        return dict(zip(self.axes, self.scenario.shape, strict=True))

    @cached_property
    def data_axes(self) -> tuple[str, ...]:
        """``seed`` and the swept ``[data]`` parameters, in grid order."""
        return tuple(a for a in self.axes
                     if a == "seed" or self.scenario.table_of(a) == "data")

    @cached_property
    def label_axes(self) -> tuple[str, ...]:
        return tuple(a for a in self.axes
                     if a != "seed" and self.scenario.table_of(a) == "labels")

    @cached_property
    def target_axes(self) -> tuple[str, ...]:
        """Data and label axes, in grid order (the dims of target-level variables)."""
        return tuple(a for a in self.axes if a in self.data_axes or a in self.label_axes)

    @cached_property
    def work_axes(self) -> tuple[str, ...]:
        """The grid axes in work order: data, label, other."""
        rest = tuple(a for a in self.axes if a not in self.target_axes)
        return (*self.data_axes, *self.label_axes, *rest)

    @cached_property
    def work_shape(self) -> tuple[int, ...]:
        return tuple(self.sizes[a] for a in self.work_axes)

    @property
    def n_trajectories(self) -> int:
        return self.scenario.size

    @cached_property
    def n_draws(self) -> int:
        return _prod(self.sizes[a] for a in self.data_axes)

    @cached_property
    def n_targets(self) -> int:
        return self.n_draws * _prod(self.sizes[a] for a in self.label_axes)

    @cached_property
    def cells_per_target(self) -> int:
        return self.n_trajectories // self.n_targets

    @cached_property
    def cells_per_draw(self) -> int:
        return self.n_trajectories // self.n_draws

    # ------------------------------------------------------------------ chunks

    @cached_property
    def _chunking(self) -> tuple[int, int, int]:
        """``(block, blocks_per_chunk, parent)``: chunks take whole blocks of ``block``
        cells (a draw, a target set, or a cell) and never straddle a block of ``parent``
        cells (a draw for target sets, a target set for cells; 0: no parent)."""
        size = self.chunk_size
        if size >= self.cells_per_draw:
            return self.cells_per_draw, size // self.cells_per_draw, 0
        if size >= self.cells_per_target:
            return self.cells_per_target, size // self.cells_per_target, self.cells_per_draw
        return 1, size, self.cells_per_target

    @cached_property
    def n_chunks(self) -> int:
        block, per, parent = self._chunking
        if parent == 0:
            return -(-(self.n_trajectories // block) // per)
        return (self.n_trajectories // parent) * -(-(parent // block) // per)

    def chunk_range(self, chunk: int) -> range:
        """Work-order indices of the cells of ``chunk``."""
        if not 0 <= chunk < self.n_chunks:
            raise ValueError(f"chunk {chunk} is not a chunk of this plan "
                             f"(0..{self.n_chunks - 1})")
        block, per, parent = self._chunking
        if parent == 0:
            start = chunk * per * block
            return range(start, min(start + per * block, self.n_trajectories))
        per_parent = -(-(parent // block) // per)
        which, piece = divmod(chunk, per_parent)
        start = which * parent + piece * per * block
        return range(start, min(start + per * block, (which + 1) * parent))

    # ------------------------------------------------------------------ cells

    def cells(self, span: range) -> list[dict[str, Any]]:
        """Every parameter of the cells ``span`` (work order), keyed by bare name."""
        fixed = self.scenario.fixed
        index = np.unravel_index(np.arange(span.start, span.stop), self.work_shape)
        values = dict(self.scenario.grid)
        columns = {a: [values[a][i] for i in idx]
                   for a, idx in zip(self.work_axes, index, strict=True)}
        return [{**fixed, **{a: columns[a][k] for a in self.work_axes}}
                for k in range(len(span))]

    def draw_of(self, work_index: int) -> int:
        return work_index // self.cells_per_draw

    def target_of(self, work_index: int) -> int:
        return work_index // self.cells_per_target

    def owned(self, span: range, block: int) -> range:
        """Blocks of ``block`` cells whose first cell lies in ``span``."""
        return range(-(-span.start // block), -(-span.stop // block))

    def draw_options(self, cell: Mapping[str, Any]) -> dict[str, Any]:
        """The ``[data]`` options of ``cell``'s draw (``kind`` and ``intercept`` included)."""
        return {k: cell[k] for k in self.scenario.data if k in cell} | {
            a: cell[a] for a in self.data_axes if a != "seed"}

    @cached_property
    def checkpoints(self) -> np.ndarray:
        return np.asarray(self.scenario.checkpoint_steps, dtype=np.int64)

    # ------------------------------------------------------------------ shapes

    @cached_property
    def draw_shapes(self) -> list[datamod.DataShape]:
        """The shape of every distinct ``[data]`` option set (seed aside)."""
        swept = [a for a in self.data_axes if a != "seed"]
        values = dict(self.scenario.grid)
        combos = np.ndindex(*(self.sizes[a] for a in swept)) if swept else [()]
        out = []
        for combo in combos:
            options = dict(self.scenario.data)
            options.update({a: values[a][i] for a, i in zip(swept, combo, strict=True)})
            out.append(draw_shape(options))
        return out

    @cached_property
    def n_train(self) -> int:
        """Widest training set over the grid (narrower draws are NaN-padded)."""
        return max(s.n_train for s in self.draw_shapes)

    @cached_property
    def n_test(self) -> int:
        return max(s.n_test for s in self.draw_shapes)

    @cached_property
    def n_features(self) -> int:
        return max(s.dim for s in self.draw_shapes)

    @cached_property
    def feature_names(self) -> tuple[str, ...]:
        return max(self.draw_shapes, key=lambda s: s.dim).feature_names

    # ------------------------------------------------------------------ what is stored

    @cached_property
    def analysis(self) -> Mapping[str, Any]:
        """The ``[analysis]`` options: ``bins``, ``groups``, ``platt_at``."""
        table = self.scenario.analysis
        return {"bins": table["bins"], "groups": tuple(table["groups"]),
                "platt_at": table["platt_at"]}

    @cached_property
    def has_posterior(self) -> bool:
        return all(s.has_posterior for s in self.draw_shapes)

    @cached_property
    def has_corrected_loss(self) -> bool:
        return bool(set(self.scenario.values("loss")) & set(CORRECTED_LOSSES))

    def _wanted(self, var: Variable) -> bool:
        record = self.scenario.record
        if var.needs == "posterior" and not self.has_posterior:
            return False
        if var.needs == "w_star" and not all(s.has_w_star for s in self.draw_shapes):
            return False
        if var.needs == "corrected" and not self.has_corrected_loss:
            return False
        if var.group == "weights":
            return record["weights"] is not False
        if var.group == "data":
            return bool(record["data"])
        if var.group in ANALYSIS_GROUPS:
            return var.group in self.analysis["groups"]
        return True

    def _dims(self, var: Variable) -> tuple[str, ...]:
        level = {"cell": self.axes, "target": self.target_axes, "draw": self.data_axes}
        return (*level[var.level], *var.trailing)

    @cached_property
    def trailing_sizes(self) -> dict[str, int]:
        weights = self.scenario.record["weights"]
        return {"step": len(self.checkpoints), "weight_step": 1 if weights == "last" else
                len(self.checkpoints), "feature": self.n_features, "sample": self.n_train,
                "test_sample": self.n_test}

    @cached_property
    def variables(self) -> tuple[StoredVariable, ...]:
        """Every variable of the result, in registry order."""
        units = loss_units(self.scenario.values("loss"))
        out = []
        for var in VARIABLES.values():
            if not self._wanted(var):
                continue
            dims = self._dims(var)
            if var.name == "weights" and self.scenario.record["weights"] == "last":
                dims = (*dims[:-2], "weight_step", "feature")
            sizes = {**self.sizes, **self.trailing_sizes}
            out.append(StoredVariable(var, dims, tuple(sizes[d] for d in dims),
                                      attributes(var, bins=self.analysis["bins"],
                                                 loss_units=units)))
        return tuple(out)

    @cached_property
    def coordinates(self) -> dict[str, tuple[np.ndarray, dict[str, str]]]:
        """Coordinate values and attributes: the grid axes, ``step`` and ``feature``."""
        coords = {name: (_axis_values(values), {"long_name": name.replace("_", " ")})
                  for name, values in self.scenario.grid}
        coords["step"] = (self.checkpoints, {"long_name": "gradient-descent iteration",
                                             "units": "1"})
        if "weight_step" in self.trailing_sizes and self.scenario.record.get(
                "weights", True) == "last":
            coords["weight_step"] = (self.checkpoints[-1:], {
                "long_name": "gradient-descent iteration of the stored weights",
                "units": "1"})
        coords["feature"] = (np.asarray(self.feature_names, dtype=str),
                             {"long_name": "feature name"})
        return coords

    @cached_property
    def draw_bytes(self) -> int:
        """Bytes of the widest data draw (training and test features, labels, posterior)."""
        return (self.n_train + self.n_test) * (self.n_features + 2) * 8

    @cached_property
    def cell_array_bytes(self) -> int:
        """Bytes of one cell's arrays: the kernel's record (weights and losses at every
        checkpoint, stored or not) and every cell-level variable."""
        sizes = {**self.sizes, **self.trailing_sizes}
        kernel = len(self.checkpoints) * (self.n_features + 2) * 8
        stored = sum(math.prod(sizes[d] for d in v.var.trailing) *
                     (1 if v.var.dtype == "bool" else 8)
                     for v in self.variables if v.var.level == "cell")
        return kernel + stored

    @cached_property
    def cell_bytes(self) -> int:
        """Bytes a chunk holds per cell at its peak: its arrays about three times (the
        kernel's record, the analysis, the blocks placed into the file) and its share of
        its data draw about three times (the draw and its stacked copies for the kernel
        and the analysis)."""
        return 3 * self.cell_array_bytes + -(-3 * self.draw_bytes // self.cells_per_draw)

    @property
    def chunk_cells(self) -> int:
        """Cells of the largest chunk."""
        return min(self.chunk_size, self.n_trajectories)

    def storage_chunks(self, stored: StoredVariable) -> tuple[int, ...]:
        """Storage chunk shape of a variable: the box one computed chunk fills, capped in size.

        A chunk of whole draws covers the same range of the data axes for every value of the
        other axes, so its box is written whole, once: no chunk of the file is written twice.
        """
        level = stored.var.level
        axes = {"cell": self.work_axes, "target": (*self.data_axes, *self.label_axes),
                "draw": self.data_axes}[level]
        block = {"cell": 1, "target": self.cells_per_target, "draw": self.cells_per_draw}[level]
        span = self.chunk_range(0)
        owned = span if level == "cell" else self.owned(span, block)
        shape = tuple(self.sizes[a] for a in axes)
        box = {a: 1 for a in axes}
        for slices, _, _ in boxes(owned.start, max(owned.stop, owned.start + 1), shape):
            box = {a: max(1, s.indices(n)[1] - s.indices(n)[0])
                   for a, s, n in zip(axes, slices, shape, strict=True)}
            break
        dims = stored.dims
        sizes = [box.get(d, n) for d, n in zip(dims, stored.shape, strict=True)]
        sizes = [max(1, s) for s in sizes]
        itemsize = 1 if stored.var.dtype == "bool" else 8
        while math.prod(sizes) * itemsize > STORAGE_CHUNK_BYTES:
            k = int(np.argmax(sizes))
            sizes[k] = -(-sizes[k] // 2)
        return tuple(sizes)

    @property
    def result_bytes(self) -> int:
        """Bytes of every stored variable, uncompressed."""
        return sum(v.nbytes for v in self.variables)

    # ------------------------------------------------------------------ placing chunks

    def placements(self, chunk: int, arrays: Mapping[str, np.ndarray]):
        """Where the arrays of ``chunk`` go: ``(name, slices in the variable's dims, block)``.

        ``arrays`` maps variable names to the chunk's rows: cells of the chunk in work
        order for cell-level variables, the owned target sets / draws for the others
        (:meth:`owned`), each followed by the variable's trailing dims.
        """
        span = self.chunk_range(chunk)
        by_name = {v.name: v for v in self.variables}
        for name, rows in arrays.items():
            stored = by_name[name]
            level = stored.var.level
            if level == "cell":
                axes, lo = self.work_axes, span.start
                ranges = span
            elif level == "target":
                axes = (*self.data_axes, *self.label_axes)
                ranges = self.owned(span, self.cells_per_target)
                lo = ranges.start
            else:
                axes = self.data_axes
                ranges = self.owned(span, self.cells_per_draw)
                lo = ranges.start
            if len(rows) != len(ranges):
                raise ValueError(f"chunk {chunk}: {name} has {len(rows)} rows, expected "
                                 f"{len(ranges)}")
            work_shape = tuple(self.sizes[a] for a in axes)
            level_dims = stored.dims[:len(axes)]
            order = [axes.index(d) for d in level_dims]
            trailing = rows.shape[1:]
            for slices, a, b in boxes(ranges.start, ranges.stop, work_shape):
                block = rows[a - lo:b - lo]
                box = tuple(s.indices(n)[1] - s.indices(n)[0]
                            for s, n in zip(slices, work_shape, strict=True))
                block = block.reshape(*box, *trailing)
                if order != sorted(order):
                    block = block.transpose(*order, *range(len(axes), block.ndim))
                target = tuple(slices[k] for k in order)
                target += tuple(slice(0, n) for n in trailing)
                yield name, target, block


def _axis_values(values) -> np.ndarray:
    vals = list(values)
    if all(isinstance(v, bool) for v in vals):
        return np.asarray(vals, dtype=bool)
    if all(isinstance(v, str) for v in vals):
        return np.asarray(vals, dtype=str)
    if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return np.asarray(vals, dtype=np.int64)
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in vals):
        return np.asarray(vals, dtype=np.float64)
    return np.asarray([str(v) for v in vals], dtype=str)  # lists (feature subsets)


def draw_shape(options: Mapping[str, Any]) -> datamod.DataShape:
    """The shapes of a draw with ``[data]`` ``options`` (``kind``, ``intercept``, ...),
    known without drawing it (:func:`logsim.data.data_shape`)."""
    opts = dict(options)
    kind = opts.pop("kind")
    return datamod.data_shape(kind, **opts)


def make_plan(scenario, chunk_size: int | None = None) -> Plan:
    """Cut ``scenario`` into chunks of about :data:`CHUNK_WORK` multiply-adds each, and at
    most :data:`CHUNK_BYTES` of cell arrays."""
    scenario = load_scenario(scenario)
    if chunk_size is None:
        probe = Plan(scenario, 1)
        opt = scenario.optimizer
        steps = int(opt["steps"])
        widest = max(probe.draw_shapes, key=lambda s: s.n_train * s.dim)
        methods = scenario.values("method")
        batch = max((b or widest.n_train) for b in scenario.values("batch_size"))
        per_step = batch if methods == ("sgd",) else widest.n_train
        per_cell = float(steps) * per_step * widest.dim
        by_work = max(CHUNK_WORK // max(per_cell, 1.0), 8)
        by_bytes = max(CHUNK_BYTES // probe.cell_bytes, 1)
        chunk_size = int(min(by_work, by_bytes, MAX_CHUNK_CELLS))
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an integer >= 1, got {chunk_size!r}")
    return Plan(scenario, chunk_size)
