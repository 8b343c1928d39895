"""Scenario files: TOML text -> validated, frozen :class:`Scenario`, before any compute.

A scenario describes one sweep. It is read with the standard library's
:mod:`tomllib` and checked completely before anything is generated or compiled;
every problem raises :class:`ScenarioError` (a ``ValueError``) whose message
names the file, the key with its table (``[optimizer] learning_rate``), the bad
value and what is allowed. The command line maps it to exit code 2.

What each key means, its type, range and default are declared once in
:mod:`logsim.schema` (rendered as ``docs/scenarios.md`` and by ``logsim schema``);
this module applies them:

* every table's keys are checked by their :class:`~logsim.schema.Key`; a
  ``[data]`` option must belong to the chosen ``kind``;
* ``[grid]`` keys are sweepable keys given as non-empty lists of distinct values
  (``seed`` also as a count), each value checked like the scalar;
* every rule of :data:`logsim.schema.RULES` is checked in every grid cell;
* ``kind = "file"``: the path is resolved (relative to the scenario file's
  folder, or to the working directory for a mapping), its header or array
  shapes are read (:func:`logsim.data.data_shape`), and its SHA-256 is taken
  (:attr:`Scenario.data_sha256`; compared with ``[data] sha256`` when given).

Parameter names are unique across tables, so a grid key or a cell's parameter
dict uses the bare name; :meth:`Scenario.table_of` gives its table.

A mapping given to :func:`load_scenario` is written as canonical TOML first
(:mod:`logsim.toml_writer`) and validated like a file; errors then name the
file ``<mapping>``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import tomllib
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from logsim import schema
from logsim.data import data_shape
from logsim.data_files import NoTestSetWarning, file_sha256, load_file, no_test_set_message
from logsim.engine import log_checkpoints
from logsim.schema import (
    DATA_KINDS,
    KEYS,
    LOSSES,
    METHODS,
    MINIBATCH_METHODS,
    MOMENTUM_METHODS,
    REQUIRED,
    RULES,
    SOFT_KINDS,
    SWEEPABLE,
    Check,
    Invalid,
    Key,
    kind_options,
    suggest,
    table_keys,
    toml_value,
    type_name,
)
from logsim.toml_writer import MAPPING_FILE, UnwritableValue, to_toml

__all__ = [
    "DATA_KINDS",
    "GENERATOR_OPTIONS",
    "LOSSES",
    "METHODS",
    "SOFT_KINDS",
    "SWEEPABLE",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
]

#: kind -> {option: default}, the generator options of each ``[data] kind`` (from the schema).
GENERATOR_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {kind: MappingProxyType(schema.kind_defaults(kind)) for kind in DATA_KINDS}
)

_TEXT_FILE = "<scenario text>"
_TABLES = tuple(t for t in schema.TABLES if t != "top")
_TOP_KEYS = (*table_keys("top"), *_TABLES)
_CELL_TABLES = ("data", "labels", "optimizer")


# --------------------------------------------------------------------------- errors


class ScenarioError(ValueError):
    """A scenario that cannot be run; the message names file, key, value and what is allowed.

    Attributes ``file``, ``key`` (``"[table] key"`` or ``None``), ``value`` and
    ``allowed`` carry the same facts for programs.
    """

    def __init__(self, message: str, *, file=None, key=None, value=None, allowed=None):
        super().__init__(message)
        self.file = file
        self.key = key
        self.value = value
        self.allowed = allowed


def _fmt(v) -> str:
    return toml_value(str(v) if isinstance(v, Path) else v)


def _loc(table: str | None, key: str) -> str:
    return f"(top level) {key}" if table in (None, "top") else f"[{table}] {key}"


# --------------------------------------------------------------------------- Scenario


@dataclass(frozen=True)
class Scenario:
    """A validated, read-only scenario.

    Attributes
    ----------
    name, description : str
    references : tuple of str
    text : str
        The exact scenario text (file contents, or canonical TOML for a mapping).
    sha256 : str
        Hex SHA-256 of ``text`` encoded as UTF-8.
    path : Path or None
        Absolute path of the scenario file, ``None`` without a file.
    data, labels, optimizer : Mapping
        Read-only; the fixed (not swept) parameters of each table, defaults filled.
        ``data`` holds ``kind``, ``intercept`` and the options of that kind
        (``path`` resolved to an absolute :class:`~pathlib.Path`).
    record : Mapping
        ``checkpoints`` (int or tuple of int), ``data`` (bool) and ``weights``
        (``True``: every checkpoint, ``False``: none, ``"last"``: the last one).
    grid : tuple of (name, tuple of values)
        The axes in order; ``seed`` is always one of them.
    analysis : Mapping
        ``bins`` (int), ``groups`` (tuple of names from
        :data:`logsim.schema.ANALYSIS_GROUPS`), ``platt_at`` (``"all"`` or ``"last"``).
    data_sha256 : str or None
        Hex SHA-256 of the data file when ``kind = "file"``, taken when the
        scenario was loaded; ``None`` for generated and bundled data. Check a
        file against it later with :func:`logsim.data_files.check_data_file`.
    """

    name: str
    description: str
    references: tuple[str, ...]
    text: str = field(repr=False)
    sha256: str
    path: Path | None
    data: Mapping[str, Any]
    labels: Mapping[str, Any]
    optimizer: Mapping[str, Any]
    record: Mapping[str, Any]
    grid: tuple[tuple[str, tuple], ...]
    analysis: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType(
            {k: KEYS[k].default for k in table_keys("analysis")}
        )
    )
    data_sha256: str | None = None

    def __hash__(self) -> int:
        return hash((self.sha256, self.path))

    @property
    def axis_names(self) -> tuple[str, ...]:
        """Names of the grid axes, in order (``seed`` included)."""
        return tuple(name for name, _ in self.grid)

    @property
    def shape(self) -> tuple[int, ...]:
        """Length of each grid axis."""
        return tuple(len(values) for _, values in self.grid)

    @property
    def size(self) -> int:
        """Number of grid cells."""
        return math.prod(self.shape)

    @property
    def fixed(self) -> dict[str, Any]:
        """All parameters not swept, keyed by bare name (a fresh dict)."""
        return {**self.data, **self.labels, **self.optimizer}

    @property
    def checkpoint_steps(self) -> tuple[int, ...]:
        """The steps at which weights and losses are recorded, from 0 to ``steps``.

        An explicit list is returned as is; a count ``n`` gives
        :func:`logsim.engine.log_checkpoints` ``(steps, n)``: exactly ``n``
        distinct steps, 0 first, log-spaced after it.
        """
        cp = self.record["checkpoints"]
        if isinstance(cp, tuple):
            return cp
        return tuple(int(s) for s in log_checkpoints(int(self.optimizer["steps"]), int(cp)))

    def values(self, param: str) -> tuple:
        """The values ``param`` takes: its grid axis, or a 1-tuple when fixed."""
        for name, vals in self.grid:
            if name == param:
                return vals
        fixed = self.fixed
        if param not in fixed:
            raise KeyError(param)
        return (fixed[param],)

    def is_swept(self, param: str) -> bool:
        return param in self.axis_names

    def table_of(self, param: str) -> str:
        """``"data"``, ``"labels"`` or ``"optimizer"`` (``"grid"`` for ``seed``)."""
        key = KEYS.get(param)
        if key is None or key.table not in (*_CELL_TABLES, "grid"):
            raise KeyError(f"unknown parameter {param!r}")
        return key.table

    def cells(self) -> Iterator[tuple[tuple[int, ...], dict[str, Any]]]:
        """Yield ``(index, params)`` for every grid cell in C order.

        ``params`` holds every resolved parameter of the cell (fixed and
        swept, ``seed`` included) keyed by bare name.
        """
        fixed = self.fixed
        names = self.axis_names
        axes = [tuple(enumerate(vals)) for _, vals in self.grid]
        for combo in itertools.product(*axes):
            params = dict(fixed)
            params.update(zip(names, (v for _, v in combo), strict=True))
            yield tuple(i for i, _ in combo), params


# --------------------------------------------------------------------------- loading


def load_scenario(source) -> Scenario:
    """Read and validate a scenario.

    Parameters
    ----------
    source : str, Path, Mapping or Scenario
        A path to a TOML file or a bundled scenario's name (``"quickstart"``, as
        :func:`logsim.scenario_files.resolve` finds it), or a mapping shaped like the
        TOML document (written to canonical TOML text first; relative data paths are
        then resolved against the working directory). A :class:`Scenario` is returned
        unchanged.

    Raises
    ------
    ScenarioError
        On any problem: unreadable file, TOML syntax error (with its line),
        unknown key, wrong type, out-of-range value, a broken cross-key rule in
        some grid cell, or a data file that is missing, unreadable or not the
        one ``[data] sha256`` names.
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        try:
            text = to_toml(source)
        except UnwritableValue as exc:
            raise ScenarioError(
                str(exc), file=MAPPING_FILE, key=exc.key, value=exc.value, allowed=exc.allowed
            ) from None
        return parse_scenario(text, file_label=MAPPING_FILE, base_dir=Path.cwd())
    if isinstance(source, str | Path):
        from logsim.scenario_files import resolve

        given = str(source)
        try:  # a file, or a bundled scenario's name ("quickstart"), as on the command line
            path = resolve(source)
        except FileNotFoundError as exc:
            raise ScenarioError(str(exc), file=given) from None
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise ScenarioError(f"{given}: scenario file not found", file=given) from None
        except OSError as exc:
            raise ScenarioError(
                f"{given}: cannot read scenario file: {exc.strerror or exc}", file=given
            ) from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                f"{given}: not UTF-8 text (byte {exc.start}); TOML files must be UTF-8",
                file=given,
            ) from None
        return parse_scenario(text, path=path.resolve(), file_label=given)
    raise TypeError(f"scenario must be a path or a mapping, not {type(source).__name__}")


def parse_scenario(
    text: str,
    *,
    path: str | Path | None = None,
    file_label: str | None = None,
    base_dir: str | Path | None = None,
) -> Scenario:
    """Validate scenario ``text`` (for example the text stored in a result file).

    ``path`` is recorded as :attr:`Scenario.path` and its folder resolves
    relative data paths (else ``base_dir``, else the working directory);
    ``file_label`` names the source in messages (default: ``path``).
    """
    path = None if path is None else Path(path)
    if file_label is None:
        file_label = str(path) if path is not None else _TEXT_FILE
    if base_dir is None:
        base_dir = path.resolve().parent if path is not None else Path.cwd()
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{file_label}: TOML syntax error: {exc}", file=file_label) from None
    v = _Validator(doc, file_label, Path(base_dir))
    return v.build(text, None if path is None else path.resolve())


# --------------------------------------------------------------------------- validation


class _Validator:
    def __init__(self, doc: dict, file: str, base_dir: Path):
        self.doc = doc
        self.file = file
        self.base_dir = base_dir
        self.fixed: dict[str, Any] = {}  # name -> value, set in a table or defaulted
        self.explicit: set[str] = set()  # names set in their table
        self.swept: dict[str, tuple] = {}  # grid axes in order (seed included)

    # -- error helpers
    def error(self, table, key, value, reason, allowed=None) -> ScenarioError:
        loc = _loc(table, key)
        shown = " " if value is REQUIRED else f" = {_fmt(value)}: "
        return ScenarioError(
            f"{self.file}: {loc}{shown}{reason}",
            file=self.file,
            key=loc,
            value=None if value is REQUIRED else value,
            allowed=allowed,
        )

    def check(self, table, key, value, checker: Check):
        try:
            return checker(value)
        except Invalid as bad:
            raise self.error(table, key, value, str(bad), checker.allowed) from None

    def unknown(self, table, key, value, allowed: tuple[str, ...]) -> ScenarioError:
        home = KEYS.get(key)
        if key == "seed" and table != "grid":
            hint = "it belongs in [grid] (seed = n replicates); "
        elif home is not None and home.table not in (table, "top", "grid"):
            hint = f"it belongs in [{home.table}]; "
        else:
            hint = suggest(key, allowed)
        where = "top-level key" if table is None else f"key in [{table}]"
        return self.error(
            table,
            key,
            value,
            f"unknown {where}; {hint}allowed keys: {', '.join(allowed)}",
            allowed,
        )

    # -- main
    def build(self, text: str, path: Path | None) -> Scenario:
        doc = self.doc
        for key, value in doc.items():
            if key not in _TOP_KEYS:
                raise self.unknown(None, key, value, _TOP_KEYS)
        for t in _TABLES:
            if t in doc and not isinstance(doc[t], dict):
                raise self.error(None, t, doc[t], f"must be a table ([{t}])", "a table")
        top = {}
        for name in table_keys("top"):
            key = KEYS[name]
            if name not in doc:
                if key.default is REQUIRED:
                    raise self.error(
                        None, name, REQUIRED, f"is missing: required, {key.check.allowed}"
                    )
                top[name] = key.default
            else:
                top[name] = self.check(None, name, doc[name], key.check)

        kind = self.data_table(doc.get("data", {}))
        self.plain_table("labels", doc.get("labels", {}))
        self.plain_table("optimizer", doc.get("optimizer", {}))
        self.grid_table(doc.get("grid", {}), kind)
        self.fill_defaults(kind)
        self.cross_checks(kind)
        record = self.record_table(doc.get("record", {}))
        analysis = self.analysis_table(doc.get("analysis", {}))
        data_sha256 = self.file_checks(kind)

        def fixed_of(keys):
            return MappingProxyType({k: self.fixed[k] for k in keys if k not in self.swept})

        return Scenario(
            name=top["name"],
            description=top["description"],
            references=top["references"],
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            path=path,
            data=fixed_of(("kind", *kind_options(kind))),
            labels=fixed_of(table_keys("labels")),
            optimizer=fixed_of(table_keys("optimizer")),
            record=MappingProxyType(record),
            grid=tuple(self.swept.items()),
            analysis=MappingProxyType(analysis),
            data_sha256=data_sha256,
        )

    def data_table(self, table: dict) -> str:
        kind_key = KEYS["kind"]
        if "kind" not in table:
            raise self.error(
                "data", "kind", REQUIRED, f"is missing: required, {kind_key.check.allowed}"
            )
        kind = self.check("data", "kind", table["kind"], kind_key.check)
        self.fixed["kind"] = kind
        self.explicit.add("kind")
        allowed = kind_options(kind)
        for key, value in table.items():
            if key == "kind":
                continue
            if key not in allowed:
                raise self.not_for_kind("data", key, value, kind)
            self.fixed[key] = self.check("data", key, value, KEYS[key].check.for_kind(kind))
            self.explicit.add(key)
        return kind

    def not_for_kind(self, table, key, value, kind) -> ScenarioError:
        allowed = kind_options(kind)
        k = KEYS.get(key)
        if k is not None and k.kinds is not None:
            others = [toml_value(other) for other in k.kinds]
            return self.error(
                table,
                key,
                value,
                f'not an option of [data] kind = "{kind}" (it is one of kind '
                f"{', '.join(others)}); "
                f'options of kind "{kind}": {", ".join(allowed)}',
                allowed,
            )
        return self.unknown(table, key, value, ("kind", *allowed) if table == "data" else allowed)

    def plain_table(self, table: str, content: dict) -> None:
        allowed = table_keys(table)
        for key, value in content.items():
            if key not in allowed:
                raise self.unknown(table, key, value, allowed)
            self.fixed[key] = self.check(table, key, value, KEYS[key].check)
            self.explicit.add(key)

    def grid_table(self, grid: dict, kind: str) -> None:
        for key, value in grid.items():
            if key == "seed":
                self.swept["seed"] = self.seed_axis(value)
                continue
            k = KEYS.get(key)
            if k is None:
                if key in _TOP_KEYS:
                    raise self.error(
                        "grid",
                        key,
                        value,
                        f"cannot be swept; sweepable: {', '.join(SWEEPABLE)}",
                        SWEEPABLE,
                    )
                raise self.unknown("grid", key, value, SWEEPABLE)
            if not k.sweepable:
                if k.table == "top":
                    where = f"{key} cannot be swept: it is a top-level key"
                elif k.table in ("record", "analysis"):
                    where = f"[{k.table}] options cannot be swept; set it once in [{k.table}]"
                else:
                    where = f"{key} cannot be swept ({k.why_fixed}); set it once in [{k.table}]"
                raise self.error(
                    "grid", key, value, f"{where}; sweepable: {', '.join(SWEEPABLE)}", SWEEPABLE
                )
            if k.kinds is not None and key not in kind_options(kind):
                raise self.not_for_kind("grid", key, value, kind)
            if key in self.explicit:
                raise self.error(
                    "grid",
                    key,
                    value,
                    f"also set in [{k.table}] ({key} = {_fmt(self.fixed[key])}); "
                    f"set it either in [{k.table}] or in [grid], not both",
                    f"{key} in [{k.table}] or in [grid]",
                )
            self.swept[key] = self.axis(key, value, k, kind)
        if "seed" not in self.swept:
            self.swept["seed"] = (0,)

    def axis(self, key: str, value, k: Key, kind: str) -> tuple:
        checker = k.check.for_kind(kind)
        allowed = f"a non-empty list of distinct values, each {checker.allowed}"
        if not isinstance(value, list):
            raise self.error(
                "grid",
                key,
                value,
                f"must be {allowed} (got {type_name(value)}); to fix {key} "
                f"to one value, set it in [{k.table}]",
                allowed,
            )
        if not value:
            raise self.error("grid", key, value, f"empty grid axis: must be {allowed}", allowed)
        out = []
        for i, item in enumerate(value):
            if key == "features" and not (isinstance(item, int) and not isinstance(item, bool)):
                raise self.error(
                    "grid",
                    key,
                    item,
                    f"(item {i + 1} of the list) a swept features value must be an integer "
                    "k (the first k features); to pick a list of feature indices, set "
                    "features in [data]",
                    checker.allowed,
                )
            try:
                out.append(checker(item))
            except Invalid as bad:
                raise self.error(
                    "grid", key, item, f"(item {i + 1} of the list) {bad}", checker.allowed
                ) from None
        self.distinct(key, value, out, allowed)
        return tuple(out)

    def distinct(self, key, raw, values, allowed) -> None:
        seen = set()
        for v in values:
            if v in seen:
                raise self.error(
                    "grid", key, raw, f"duplicate value {_fmt(v)}: must be {allowed}", allowed
                )
            seen.add(v)

    def seed_axis(self, value) -> tuple[int, ...]:
        allowed = KEYS["seed"].check.allowed
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise self.error("grid", "seed", value, f"must be {allowed}", allowed)
            return tuple(range(value))
        if not isinstance(value, list):
            raise self.error(
                "grid", "seed", value, f"must be {allowed} (got {type_name(value)})", allowed
            )
        if not value:
            raise self.error("grid", "seed", value, f"empty grid axis: must be {allowed}", allowed)
        for i, s in enumerate(value):
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
                raise self.error(
                    "grid",
                    "seed",
                    s,
                    f"(item {i + 1} of the list) must be an integer in [0, 2**63 - 1]",
                    allowed,
                )
        self.distinct("seed", value, value, allowed)
        return tuple(value)

    def given(self, name: str) -> bool:
        """Set in its table or swept (not defaulted)."""
        return name in self.explicit or name in self.swept

    def fill_defaults(self, kind: str) -> None:
        if self.given("test_fraction") and not self.given("train_fraction"):
            self.fixed["train_fraction"] = None  # the stratified split replaces the default
        names = ("kind", *kind_options(kind), *table_keys("labels"), *table_keys("optimizer"))
        for name in names:
            if name in self.fixed or name in self.swept:
                continue
            key = KEYS[name]
            default = key.default_for(kind)
            if default is REQUIRED:
                how = " (or sweep it under [grid])" if key.sweepable else ""
                raise self.error(
                    key.table,
                    name,
                    REQUIRED,
                    f"is missing: required, {key.check.allowed}{how}",
                    key.check.allowed,
                )
            self.fixed[name] = default

    # -- cross-key rules
    def values_of(self, name: str) -> tuple:
        return self.swept[name] if name in self.swept else (self.fixed[name],)

    def shown(self, name: str):
        """The value as written: the grid list when swept, else the scalar."""
        return list(self.swept[name]) if name in self.swept else self.fixed[name]

    def where(self, name: str) -> str:
        return "[grid]" if name in self.swept else f"[{KEYS[name].table}]"

    def combos(self, names: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        axes = [self.values_of(n) for n in names]
        for combo in itertools.product(*axes):
            yield dict(zip(names, combo, strict=True))

    def rule(self, name: str, when: Callable[[dict], bool] | None = None) -> None:
        """Check rule ``name`` in every combination of its keys' values (every grid cell)."""
        r = RULES[name]
        for cell in self.combos(r.keys):
            if (when is None or when(cell)) and r.broken(**cell):
                locs = ", ".join(f"{self.where(n)} {n} = {_fmt(cell[n])}" for n in r.keys)
                in_cell = " (in one grid cell)" if any(n in self.swept for n in r.keys) else ""
                reason = r.explain(cell)
                raise ScenarioError(
                    f"{self.file}: {locs}{in_cell}: {reason}",
                    file=self.file,
                    key=", ".join(f"{self.where(n)} {n}" for n in r.keys),
                    value=cell,
                    allowed=reason,
                )

    def only_with(self, key: str, allowed: tuple[str, ...], methods, method_loc: str,
                  rule) -> None:
        """``key`` may be set only where some cell uses one of the ``allowed`` methods."""
        if self.given(key) and not set(methods) & set(allowed):
            value = self.shown(key)
            raise ScenarioError(
                f"{self.file}: {self.where(key)} {key} = {_fmt(value)}: {rule.explain()} "
                f"({method_loc})",
                file=self.file,
                key=f"{self.where(key)} {key}",
                value=value,
                allowed="method = " + " or ".join(f'"{m}"' for m in allowed),
            )

    def cross_checks(self, kind: str) -> None:
        self.rule("transition")
        self.rule("one_noise_model")
        self.rule("soft_needs_posterior")
        self.rule("soft_not_flipped")
        methods = self.values_of("method")
        batch_set = "batch_size" in self.swept or self.fixed["batch_size"] is not None
        shown = list(methods) if "method" in self.swept else methods[0]
        method_loc = f"{self.where('method')} method = {_fmt(shown)}"
        batch_allowed = KEYS["batch_size"].check.allowed
        if "sgd" in methods and not batch_set:
            reason = RULES.sgd_needs_batch_size.explain()
            raise ScenarioError(
                f"{self.file}: [optimizer] batch_size is missing: required when method = "
                f'"sgd" ({method_loc}): {reason}; allowed: {batch_allowed}',
                file=self.file,
                key="[optimizer] batch_size",
                allowed=batch_allowed,
            )
        if batch_set and not set(methods) & set(MINIBATCH_METHODS):
            value = self.shown("batch_size")
            raise ScenarioError(
                f"{self.file}: {self.where('batch_size')} batch_size = {_fmt(value)}: "
                f"{RULES.batch_size_only_sgd.explain()} ({method_loc})",
                file=self.file,
                key=f"{self.where('batch_size')} batch_size",
                value=value,
                allowed="method = " + " or ".join(f'"{m}"' for m in MINIBATCH_METHODS),
            )
        self.only_with("momentum", MOMENTUM_METHODS, methods, method_loc,
                       RULES.momentum_only_with_momentum)
        for key in ("beta1", "beta2", "eps"):
            self.only_with(key, ("adam",), methods, method_loc,
                           RULES.adam_options_only_with_adam)
        self.rule("weight_decay_not_by_loss")
        if self.given("normalize") and "normalized_gd" not in methods:
            value = self.shown("normalize")
            raise ScenarioError(
                f"{self.file}: {self.where('normalize')} normalize = {_fmt(value)}: "
                f"{RULES.normalize_only_normalized_gd.explain()} ({method_loc})",
                file=self.file,
                key=f"{self.where('normalize')} normalize",
                value=value,
                allowed='method = "normalized_gd"',
            )
        self.rule("normalize_by_positive_loss")
        self.rule("inverse_loss_only_gd")
        self.rule("inverse_loss_by_positive_loss")
        self.rule("inverse_loss_without_weight_decay")
        if batch_set and "n_train" in kind_options(kind):
            self.rule("batch_size_at_most_n_train")
        if "test_fraction" in kind_options(kind) and "train_fraction" in kind_options(kind):
            if self.given("train_fraction") and self.given("test_fraction"):
                self.rule("one_split")

    def record_table(self, table: dict) -> dict[str, Any]:
        steps = self.fixed["steps"]
        allowed_keys = table_keys("record")
        for key, value in table.items():
            if key not in allowed_keys:
                raise self.unknown("record", key, value, allowed_keys)
        allowed = KEYS["checkpoints"].check.allowed
        # The default count is capped at steps + 1; an explicit count is not.
        cp = table.get("checkpoints", min(KEYS["checkpoints"].default, steps + 1))
        if isinstance(cp, int) and not isinstance(cp, bool):
            if not 2 <= cp <= steps + 1:
                raise self.error(
                    "record",
                    "checkpoints",
                    cp,
                    f"must be {allowed}; as a count, in [2, steps + 1] = [2, {steps + 1}]",
                    allowed,
                )
        elif isinstance(cp, list):
            ok = (
                all(isinstance(s, int) and not isinstance(s, bool) for s in cp)
                and all(a < b for a, b in itertools.pairwise(cp))
                and len(cp) >= 2
                and cp[0] == 0
                and cp[-1] == steps
            )
            if not ok:
                raise self.error(
                    "record", "checkpoints", cp, f"must be {allowed} (steps = {steps})", allowed
                )
            cp = tuple(cp)
        else:
            raise self.error(
                "record",
                "checkpoints",
                cp,
                f"must be {allowed} (got {type_name(cp)})",
                allowed,
            )
        out = {"checkpoints": cp}
        for name in allowed_keys:
            if name != "checkpoints":
                key = KEYS[name]
                out[name] = self.check("record", name, table.get(name, key.default), key.check)
        return out

    def analysis_table(self, table: dict) -> dict[str, Any]:
        allowed_keys = table_keys("analysis")
        for key, value in table.items():
            if key not in allowed_keys:
                raise self.unknown("analysis", key, value, allowed_keys)
        out = {}
        for name in allowed_keys:
            key = KEYS[name]
            out[name] = self.check("analysis", name, table.get(name, key.default), key.check)
        return out

    def file_checks(self, kind: str) -> str | None:
        if kind != "file":
            return None
        raw = self.fixed["path"]
        path = (self.base_dir / Path(raw).expanduser()).resolve()
        allowed = "an existing .npz or .csv file, relative to the scenario file's folder"
        suffix = path.suffix.lower()
        if suffix not in (".npz", ".csv"):
            raise self.error(
                "data", "path", raw, f"must be {allowed} (got suffix {_fmt(path.suffix)})", allowed
            )
        if not path.is_file():
            raise self.error(
                "data",
                "path",
                raw,
                f"file not found (resolved to {path}); must be {allowed}",
                allowed,
            )
        label = self.fixed["label"]
        if suffix == ".csv" and label is None:
            raise self.error(
                "data",
                "label",
                REQUIRED,
                f"is missing: required for a .csv file ({_fmt(raw)}), the name of the label column",
                "the name of the label column",
            )
        if suffix == ".npz" and label is not None:
            raise self.error(
                "data",
                "label",
                label,
                "only allowed for .csv files; a .npz names its arrays x_train, "
                "y_train, x_test, y_test",
                "no label for .npz",
            )
        self.fixed["path"] = path
        options = {k: self.fixed[k] for k in ("path", "label", "test_fraction")}
        shapes = []
        try:
            # The whole file is parsed once here (and cached for the draws), so bad values
            # and labels are reported before anything is compiled.
            load_file(path, label=label, positive=self.fixed["positive"])
            for fraction in self.values_of("test_fraction"):
                shape = data_shape("file", **{**options, "test_fraction": fraction})
                shapes.append((fraction, shape))
        except ValueError as exc:
            raise self.error("data", "path", raw, f"unusable data file: {exc}") from None
        for fraction, shape in shapes:
            if fraction is None and shape.n_test == 0:
                warnings.warn(f"{self.file}: {no_test_set_message(raw)}", NoTestSetWarning,
                              stacklevel=4)
        digest = file_sha256(path)
        pinned = self.fixed.get("sha256")
        if pinned is not None and pinned != digest:
            raise self.error(
                "data",
                "sha256",
                pinned,
                f"the data file {path} has SHA-256 {digest}: it is not the file this "
                "scenario pins (changed or replaced); restore it, or update sha256",
                KEYS["sha256"].check.allowed,
            )
        return digest
