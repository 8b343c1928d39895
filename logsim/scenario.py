"""Scenario files: TOML text -> validated, frozen :class:`Scenario`, before any compute.

A scenario describes one sweep. It is read with the standard library's
:mod:`tomllib` and checked completely before anything is generated or compiled;
every problem raises :class:`ScenarioError` (a ``ValueError``) whose message
names the file, the key with its table (``[optimizer] learning_rate``), the bad
value and what is allowed. The command line maps it to exit code 2.

Schema
------
Top level
    ``name`` (required; letters, digits, ``-``, ``_``), ``description``
    (string, default ``""``), ``references`` (list of strings, default empty).
``[data]``
    ``kind`` (required) and ``intercept`` (bool, default false), plus the
    options of that kind, with the defaults in :data:`GENERATOR_OPTIONS`.
    ``kind = "file"`` takes ``path`` (relative to the scenario file's folder,
    or to the working directory for a mapping; an existing ``.npz`` or
    ``.csv``) and ``label`` (the label column; required for ``.csv``, not
    allowed for ``.npz``). ``data["path"]`` is the resolved absolute
    :class:`~pathlib.Path`. Only existence and suffix are checked here; the
    arrays themselves are validated when loaded.
``[labels]``
    Transform of the training labels: ``noise_rate`` in [0, 0.5) (symmetric
    flips), ``rho_pos`` / ``rho_neg`` in [0, 1) with ``rho_pos + rho_neg < 1``
    (class-conditional flips; not together with a non-zero ``noise_rate``),
    ``smoothing`` in [0, 1), ``soft`` (bool; only for kinds with a known
    posterior, :data:`SOFT_KINDS`).
``[optimizer]``
    ``loss``, ``transition``, ``method``, ``learning_rate`` (> 0, required),
    ``steps`` (>= 1, required, never swept), ``batch_size`` (required exactly
    when some cell uses ``method = "sgd"``; at most ``n_train`` where the kind
    has ``n_train``), ``normalize`` (only with ``method = "normalized_gd"``).
    Unset ``batch_size`` resolves to ``None``.
``[record]``
    ``checkpoints``: an int n >= 2 (n log-spaced steps from 0 to ``steps``;
    at most ``steps + 1``) or a strictly increasing list of ints in
    [0, steps] that contains 0 and ``steps``; the resolved steps are
    :attr:`Scenario.checkpoint_steps`. ``data``: bool, store the arrays.
``[grid]``
    Each key is a dimension, in file order. ``seed`` is an int n (replicates
    0..n-1) or a list of distinct non-negative ints; if absent it is the last
    axis with the single value 0. Every other key is a sweepable parameter
    (:data:`SWEEPABLE`) given as a non-empty list of distinct values, each
    checked like the scalar. Cross-parameter rules are checked for every cell.

Parameter names are unique across tables, so a grid key or a cell's parameter
dict uses the bare name; :meth:`Scenario.table_of` gives its table.

Scenarios given as a mapping
----------------------------
:func:`load_scenario` also takes a mapping of the same shape as the TOML
document. It is written out as canonical TOML text (top-level scalars first,
then the tables in mapping order, floats by ``repr``), and that text is parsed
and validated exactly like a file, so ``Scenario.text`` always reproduces the
scenario with ``tomllib``. Errors then name the file ``<mapping>``.
"""

from __future__ import annotations

import abc
import difflib
import hashlib
import itertools
import math
import numbers
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from logsim.data import GENERATOR_OPTIONS as _DATA_OPTIONS
from logsim.engine import METHODS, NORMALIZATIONS, log_checkpoints
from logsim.losses import LOSS_CODES, POSITIVE_LOSSES

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

#: Number of features of the bundled Wisconsin breast-cancer data (scikit-learn).
N_FEATURES_BREAST_CANCER = 30

#: kind -> {option: default}, the generator options of each ``[data] kind``.
#: Taken from :data:`logsim.data.GENERATOR_OPTIONS` (read off the generators' signatures), so
#: the defaults cannot drift from the generators. ``None`` means "all
#: features" for ``features`` and "no label column" for ``label``; ``path``
#: has no default (required).
GENERATOR_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {kind: MappingProxyType(dict(options)) for kind, options in _DATA_OPTIONS.items()}
)
DATA_KINDS = tuple(GENERATOR_OPTIONS)
#: Kinds whose generator knows the true posterior P(y=1|x), needed for ``soft`` labels.
SOFT_KINDS = ("gaussian", "logistic_model")
#: Loss names (:data:`logsim.losses.LOSS_CODES`); methods come from :mod:`logsim.engine`.
LOSSES = tuple(LOSS_CODES)

_REQUIRED = object()  # default of a parameter that must be given
_MAPPING_FILE = "<mapping>"
_TEXT_FILE = "<scenario text>"


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


class _Bad(Exception):
    """Raised by a checker; the caller adds the file and the key."""


def _type_name(v) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int):
        return "an integer"
    if isinstance(v, float):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list | tuple):
        return "an array"
    if isinstance(v, Mapping):
        return "a table"
    return f"a {type(v).__name__}"


def _toml_str(s: str) -> str:
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _fmt(v, limit: int = 8) -> str:
    """A value as it would be written in TOML (for messages)."""
    if v is None:
        return "(unset)"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str | Path):
        return _toml_str(str(v))
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list | tuple):
        items = [_fmt(x) for x in v[:limit]]
        if len(v) > limit:
            items.append(f"... ({len(v)} items)")
        return "[" + ", ".join(items) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def _loc(table: str | None, key: str) -> str:
    return f"(top level) {key}" if table is None else f"[{table}] {key}"


def _suggest(key: str, candidates) -> str:
    close = difflib.get_close_matches(key, list(candidates), n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"? ' if close else ""


# --------------------------------------------------------------------------- checkers


class _Check(abc.ABC):
    """Validates one scalar; returns the normalized value or raises :class:`_Bad`."""

    allowed = ""

    @abc.abstractmethod
    def __call__(self, v):
        """The normalized value of ``v``, or raise :class:`_Bad`."""

    def _fail(self, v, detail: str = ""):
        got = "" if detail else f" (got {_type_name(v)})"
        raise _Bad(f"must be {self.allowed}{got}{detail}")


class _Int(_Check):
    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi
        if hi is None:
            self.allowed = "an integer" + ("" if lo is None else f" >= {lo}")
        else:
            self.allowed = f"an integer in [{lo}, {hi}]"

    def __call__(self, v):
        if isinstance(v, bool) or not isinstance(v, int):
            self._fail(v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise _Bad(f"must be {self.allowed}")
        return int(v)


class _Float(_Check):
    def __init__(self, lo=None, hi=None, *, lo_open=False, hi_open=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        if hi is None:
            self.allowed = f"a number {'>' if lo_open else '>='} {lo:g}"
        else:
            left = "(" if lo_open else "["
            right = ")" if hi_open else "]"
            self.allowed = f"a number in {left}{lo:g}, {hi:g}{right}"

    def __call__(self, v):
        if isinstance(v, bool) or not isinstance(v, int | float):
            self._fail(v)
        x = float(v)
        ok = math.isfinite(x)
        if ok and self.lo is not None:
            ok = x > self.lo if self.lo_open else x >= self.lo
        if ok and self.hi is not None:
            ok = x < self.hi if self.hi_open else x <= self.hi
        if not ok:
            raise _Bad(f"must be {self.allowed}")
        return x


class _Bool(_Check):
    allowed = "true or false"

    def __call__(self, v):
        if not isinstance(v, bool):
            self._fail(v)
        return v


class _Choice(_Check):
    def __init__(self, choices):
        self.choices = tuple(choices)
        self.allowed = "one of " + ", ".join(_toml_str(c) for c in self.choices)

    def __call__(self, v):
        if not isinstance(v, str):
            self._fail(v)
        if v not in self.choices:
            raise _Bad(f"must be {self.allowed}; {_suggest(v, self.choices)}".rstrip("; "))
        return v


class _Str(_Check):
    def __init__(self, pattern: str | None = None, allowed: str = "a string"):
        self.pattern = None if pattern is None else re.compile(pattern)
        self.allowed = allowed

    def __call__(self, v):
        if not isinstance(v, str):
            self._fail(v)
        if self.pattern is not None and not self.pattern.fullmatch(v):
            raise _Bad(f"must be {self.allowed}")
        return v


class _StrList(_Check):
    allowed = "a list of strings"

    def __call__(self, v):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self._fail(v)
        return tuple(v)


class _Features(_Check):
    allowed = (
        f"an integer k in [1, {N_FEATURES_BREAST_CANCER}] (the first k features) or a "
        f"non-empty list of distinct feature indices in [0, {N_FEATURES_BREAST_CANCER - 1}]"
    )

    def __call__(self, v):
        if isinstance(v, int) and not isinstance(v, bool):
            if not 1 <= v <= N_FEATURES_BREAST_CANCER:
                raise _Bad(f"must be {self.allowed}")
            return int(v)
        if not isinstance(v, list):
            self._fail(v)
        ok = (
            len(v) > 0
            and all(
                isinstance(i, int) and not isinstance(i, bool) and 0 <= i < N_FEATURES_BREAST_CANCER
                for i in v
            )
            and len(set(v)) == len(v)
        )
        if not ok:
            raise _Bad(f"must be {self.allowed}")
        return tuple(v)


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class _Param:
    name: str
    table: str
    check: _Check
    default: Any = _REQUIRED
    sweepable: bool = True
    why_fixed: str = ""


def _params() -> dict[str, _Param]:
    ps = [
        # [data]: defaults come per kind from GENERATOR_OPTIONS
        _Param(
            "kind",
            "data",
            _Choice(DATA_KINDS),
            sweepable=False,
            why_fixed="each kind has its own options",
        ),
        _Param("intercept", "data", _Bool(), False),
        _Param("n_train", "data", _Int(2)),
        _Param("n_test", "data", _Int(0)),
        _Param("dim", "data", _Int(1)),
        _Param("separation", "data", _Float(0)),
        _Param("class_balance", "data", _Float(0, 1, lo_open=True, hi_open=True)),
        _Param("w_norm", "data", _Float(0)),
        _Param("margin", "data", _Float(0, lo_open=True)),
        _Param("n_random", "data", _Int(0)),
        _Param("asymmetric", "data", _Bool()),
        _Param("min_margin", "data", _Float(1, lo_open=True)),
        _Param("train_fraction", "data", _Float(0, 1, lo_open=True, hi_open=True)),
        _Param("features", "data", _Features()),
        _Param(
            "path",
            "data",
            _Str(allowed="a path to an existing .npz or .csv file"),
            sweepable=False,
            why_fixed="a file is one data set",
        ),
        _Param(
            "label",
            "data",
            _Str(allowed="the name of the label column"),
            sweepable=False,
            why_fixed="it names a column of one file",
        ),
        # [labels]
        _Param("noise_rate", "labels", _Float(0, 0.5, hi_open=True), 0.0),
        _Param("rho_pos", "labels", _Float(0, 1, hi_open=True), 0.0),
        _Param("rho_neg", "labels", _Float(0, 1, hi_open=True), 0.0),
        _Param("smoothing", "labels", _Float(0, 1, hi_open=True), 0.0),
        _Param("soft", "labels", _Bool(), False),
        # [optimizer]
        _Param("loss", "optimizer", _Choice(LOSSES), "logistic"),
        _Param("transition", "optimizer", _Choice(("true", "anchor")), "true"),
        _Param("method", "optimizer", _Choice(METHODS), "gd"),
        _Param("learning_rate", "optimizer", _Float(0, lo_open=True)),
        _Param(
            "steps",
            "optimizer",
            _Int(1),
            sweepable=False,
            why_fixed="it sets the step axis of the result",
        ),
        _Param("batch_size", "optimizer", _Int(1), None),
        _Param("normalize", "optimizer", _Choice(NORMALIZATIONS), "gradient"),
    ]
    return {p.name: p for p in ps}


_PARAMS = _params()
_TABLE_KEYS = {
    t: tuple(n for n, p in _PARAMS.items() if p.table == t) for t in ("data", "labels", "optimizer")
}
_TABLE_KEYS["record"] = ("checkpoints", "data")
_TOP_KEYS = ("name", "description", "references", "data", "labels", "optimizer", "record", "grid")
_TABLES = ("data", "labels", "optimizer", "record", "grid")
#: Kinds with an ``n_train`` option (``batch_size <= n_train`` is checked for these).
_KINDS_WITH_N_TRAIN = tuple(k for k, opts in GENERATOR_OPTIONS.items() if "n_train" in opts)
#: Parameters that may be keys of ``[grid]`` (besides ``seed``).
SWEEPABLE = tuple(n for n, p in _PARAMS.items() if p.sweepable)

_DEFAULT_CHECKPOINTS = 40
_CHECKPOINTS_ALLOWED = (
    "an integer n >= 2 (n log-spaced steps) or a strictly increasing list of integers "
    "in [0, steps] that contains 0 and steps"
)
_SEED_ALLOWED = (
    "an integer n >= 1 (replicates 0..n-1) or a non-empty list of distinct integers >= 0"
)


def _kind_options(kind: str) -> tuple[str, ...]:
    return ("intercept", *GENERATOR_OPTIONS[kind])


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
        ``data`` holds ``kind``, ``intercept`` and the options of that kind.
    record : Mapping
        ``checkpoints`` (int or tuple of int) and ``data`` (bool).
    grid : tuple of (name, tuple of values)
        The axes in order; ``seed`` is always one of them.
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
        if param == "seed":
            return "grid"
        if param not in _PARAMS:
            raise KeyError(f"unknown parameter {param!r}")
        return _PARAMS[param].table

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
        A path to a TOML file, or a mapping shaped like the TOML document
        (written to canonical TOML text first; relative data paths are then
        resolved against the working directory). A :class:`Scenario` is
        returned unchanged.

    Raises
    ------
    ScenarioError
        On any problem: unreadable file, TOML syntax error (with its line),
        unknown key, wrong type, out-of-range value, or a broken
        cross-parameter rule in some grid cell.
    """
    if isinstance(source, Scenario):
        return source
    if isinstance(source, Mapping):
        text = _to_toml(source)
        return parse_scenario(text, file_label=_MAPPING_FILE, base_dir=Path.cwd())
    if isinstance(source, str | Path):
        given = str(source)
        path = Path(source)
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
        shown = " " if value is _REQUIRED else f" = {_fmt(value)}: "
        return ScenarioError(
            f"{self.file}: {loc}{shown}{reason}",
            file=self.file,
            key=loc,
            value=None if value is _REQUIRED else value,
            allowed=allowed,
        )

    def check(self, table, key, value, checker: _Check):
        try:
            return checker(value)
        except _Bad as bad:
            raise self.error(table, key, value, str(bad), checker.allowed) from None

    def unknown(self, table, key, value, allowed: tuple[str, ...]) -> ScenarioError:
        home = _PARAMS.get(key)
        if key == "seed" and table != "grid":
            hint = "it belongs in [grid] (seed = n replicates); "
        elif home is not None and home.table != table:
            hint = f"it belongs in [{home.table}]; "
        elif key in _TABLE_KEYS["record"] and table != "record":
            hint = "it belongs in [record]; "
        else:
            hint = _suggest(key, allowed)
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
        if "name" not in doc:
            raise self.error(
                None,
                "name",
                _REQUIRED,
                'is missing: required, a scenario name of letters, digits, "-" and "_"',
            )
        name = self.check(
            None,
            "name",
            doc["name"],
            _Str(r"[A-Za-z0-9_-]+", 'a non-empty string of letters, digits, "-" and "_"'),
        )
        description = self.check(None, "description", doc.get("description", ""), _Str())
        references = self.check(None, "references", doc.get("references", []), _StrList())

        kind = self.data_table(doc.get("data", {}))
        self.plain_table("labels", doc.get("labels", {}))
        self.plain_table("optimizer", doc.get("optimizer", {}))
        self.grid_table(doc.get("grid", {}), kind)
        self.fill_defaults(kind)
        self.cross_checks(kind)
        record = self.record_table(doc.get("record", {}))
        self.file_checks(kind)

        def fixed_of(keys):
            return MappingProxyType({k: self.fixed[k] for k in keys if k not in self.swept})

        data_keys = ("kind", *_kind_options(kind))
        return Scenario(
            name=name,
            description=description,
            references=references,
            text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            path=path,
            data=fixed_of(data_keys),
            labels=fixed_of(_TABLE_KEYS["labels"]),
            optimizer=fixed_of(_TABLE_KEYS["optimizer"]),
            record=MappingProxyType(record),
            grid=tuple(self.swept.items()),
        )

    def data_table(self, table: dict) -> str:
        if "kind" not in table:
            raise self.error(
                "data", "kind", _REQUIRED, f"is missing: required, {_PARAMS['kind'].check.allowed}"
            )
        kind = self.check("data", "kind", table["kind"], _PARAMS["kind"].check)
        self.fixed["kind"] = kind
        self.explicit.add("kind")
        allowed = _kind_options(kind)
        for key, value in table.items():
            if key == "kind":
                continue
            if key not in allowed:
                raise self.not_for_kind("data", key, value, kind)
            self.fixed[key] = self.check("data", key, value, _PARAMS[key].check)
            self.explicit.add(key)
        return kind

    def not_for_kind(self, table, key, value, kind) -> ScenarioError:
        allowed = _kind_options(kind)
        p = _PARAMS.get(key)
        if p is not None and p.table == "data":
            others = [k for k, opts in GENERATOR_OPTIONS.items() if key in opts]
            return self.error(
                table,
                key,
                value,
                f'not an option of [data] kind = "{kind}" (it is one of kind '
                f"{', '.join(_toml_str(k) for k in others)}); "
                f'options of kind "{kind}": {", ".join(allowed)}',
                allowed,
            )
        return self.unknown(table, key, value, ("kind", *allowed) if table == "data" else allowed)

    def plain_table(self, table: str, content: dict) -> None:
        allowed = _TABLE_KEYS[table]
        for key, value in content.items():
            if key not in allowed:
                raise self.unknown(table, key, value, allowed)
            self.fixed[key] = self.check(table, key, value, _PARAMS[key].check)
            self.explicit.add(key)

    def grid_table(self, grid: dict, kind: str) -> None:
        sweepable = ("seed", *SWEEPABLE)
        for key, value in grid.items():
            if key == "seed":
                self.swept["seed"] = self.seed_axis(value)
                continue
            p = _PARAMS.get(key)
            if p is None:
                if key in _TABLE_KEYS["record"]:
                    raise self.error(
                        "grid",
                        key,
                        value,
                        "[record] options cannot be swept; set it once in [record]; "
                        f"sweepable: {', '.join(sweepable)}",
                        sweepable,
                    )
                if key in _TOP_KEYS:
                    raise self.error(
                        "grid",
                        key,
                        value,
                        f"cannot be swept; sweepable: {', '.join(sweepable)}",
                        sweepable,
                    )
                raise self.unknown("grid", key, value, sweepable)
            if not p.sweepable:
                raise self.error(
                    "grid",
                    key,
                    value,
                    f"{key} cannot be swept ({p.why_fixed}); set it once in "
                    f"[{p.table}]; sweepable: {', '.join(sweepable)}",
                    sweepable,
                )
            if p.table == "data" and key not in _kind_options(kind):
                raise self.not_for_kind("grid", key, value, kind)
            if key in self.explicit:
                raise self.error(
                    "grid",
                    key,
                    value,
                    f"also set in [{p.table}] ({key} = {_fmt(self.fixed[key])}); "
                    f"set it either in [{p.table}] or in [grid], not both",
                    f"{key} in [{p.table}] or in [grid]",
                )
            self.swept[key] = self.axis(key, value, p)
        if "seed" not in self.swept:
            self.swept["seed"] = (0,)

    def axis(self, key: str, value, p: _Param) -> tuple:
        checker = p.check
        allowed = f"a non-empty list of distinct values, each {checker.allowed}"
        if not isinstance(value, list):
            raise self.error(
                "grid",
                key,
                value,
                f"must be {allowed} (got {_type_name(value)}); to fix {key} "
                f"to one value, set it in [{p.table}]",
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
                    f"k in [1, {N_FEATURES_BREAST_CANCER}] (the first k features); to pick "
                    "a list of feature indices, set features in [data]",
                    checker.allowed,
                )
            try:
                out.append(checker(item))
            except _Bad as bad:
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
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 1:
                raise self.error("grid", "seed", value, f"must be {_SEED_ALLOWED}", _SEED_ALLOWED)
            return tuple(range(value))
        if not isinstance(value, list):
            raise self.error(
                "grid",
                "seed",
                value,
                f"must be {_SEED_ALLOWED} (got {_type_name(value)})",
                _SEED_ALLOWED,
            )
        if not value:
            raise self.error(
                "grid", "seed", value, f"empty grid axis: must be {_SEED_ALLOWED}", _SEED_ALLOWED
            )
        for i, s in enumerate(value):
            if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < 2**63:
                raise self.error(
                    "grid",
                    "seed",
                    s,
                    f"(item {i + 1} of the list) must be an integer in [0, 2**63 - 1]",
                    _SEED_ALLOWED,
                )
        self.distinct("seed", value, value, _SEED_ALLOWED)
        return tuple(value)

    def fill_defaults(self, kind: str) -> None:
        defaults = {"intercept": False, **GENERATOR_OPTIONS[kind]}
        for key in ("kind", *defaults, *_TABLE_KEYS["labels"], *_TABLE_KEYS["optimizer"]):
            if key in self.fixed or key in self.swept:
                continue
            p = _PARAMS[key]
            default = defaults.get(key, p.default) if p.table == "data" else p.default
            if default is _REQUIRED or (key == "path" and default is None):
                how = "" if not p.sweepable else " (or sweep it under [grid])"
                raise self.error(
                    p.table,
                    key,
                    _REQUIRED,
                    f"is missing: required, {p.check.allowed}{how}",
                    p.check.allowed,
                )
            self.fixed[key] = default

    # -- cross-parameter rules
    def values_of(self, name: str) -> tuple:
        return self.swept[name] if name in self.swept else (self.fixed[name],)

    def shown(self, name: str):
        """The value as written: the grid list when swept, else the scalar."""
        return list(self.swept[name]) if name in self.swept else self.fixed[name]

    def where(self, name: str) -> str:
        return "[grid]" if name in self.swept else f"[{_PARAMS[name].table}]"

    def combos(self, names: tuple[str, ...]) -> Iterator[dict[str, Any]]:
        axes = [self.swept[n] if n in self.swept else (self.fixed[n],) for n in names]
        for combo in itertools.product(*axes):
            yield dict(zip(names, combo, strict=True))

    def rule(self, names: tuple[str, ...], bad: Callable[[dict], bool], reason: str) -> None:
        for cell in self.combos(names):
            if bad(cell):
                locs = ", ".join(f"{self.where(n)} {n} = {_fmt(cell[n])}" for n in names)
                in_cell = " (in one grid cell)" if any(n in self.swept for n in names) else ""
                raise ScenarioError(
                    f"{self.file}: {locs}{in_cell}: {reason}",
                    file=self.file,
                    key=", ".join(f"{self.where(n)} {n}" for n in names),
                    value=cell,
                    allowed=reason,
                )

    def cross_checks(self, kind: str) -> None:
        self.rule(
            ("rho_pos", "rho_neg"),
            lambda c: c["rho_pos"] + c["rho_neg"] >= 1,
            "must satisfy rho_pos + rho_neg < 1 (the noise transition matrix is "
            "singular otherwise)",
        )
        self.rule(
            ("noise_rate", "rho_pos", "rho_neg"),
            lambda c: c["noise_rate"] != 0 and (c["rho_pos"] != 0 or c["rho_neg"] != 0),
            "noise_rate (symmetric flips) and rho_pos/rho_neg (class-conditional flips) "
            "cannot both be non-zero; allowed: noise_rate = 0 or rho_pos = rho_neg = 0",
        )
        self.rule(
            ("kind", "soft"),
            lambda c: c["soft"] and c["kind"] not in SOFT_KINDS,
            "soft labels need a known posterior; allowed: soft = false, or kind "
            f"{' or '.join(_toml_str(k) for k in SOFT_KINDS)}",
        )
        self.rule(
            ("soft", "noise_rate", "rho_pos", "rho_neg"),
            lambda c: c["soft"] and (c["noise_rate"] or c["rho_pos"] or c["rho_neg"]),
            "soft targets (the true posterior) cannot be flipped; allowed: soft = false, or "
            "noise_rate = rho_pos = rho_neg = 0",
        )
        methods = self.values_of("method")
        batch_set = "batch_size" in self.swept or self.fixed["batch_size"] is not None
        shown = list(methods) if "method" in self.swept else methods[0]
        method_loc = f"{self.where('method')} method = {_fmt(shown)}"
        if "sgd" in methods and not batch_set:
            raise ScenarioError(
                f"{self.file}: [optimizer] batch_size is missing: required when method = "
                f'"sgd" ({method_loc}); allowed: {_PARAMS["batch_size"].check.allowed}',
                file=self.file,
                key="[optimizer] batch_size",
                allowed=_PARAMS["batch_size"].check.allowed,
            )
        if batch_set and "sgd" not in methods:
            value = self.shown("batch_size")
            raise ScenarioError(
                f"{self.file}: {self.where('batch_size')} batch_size = {_fmt(value)}: only "
                f'allowed with method = "sgd" ({method_loc}); remove it or use method = "sgd"',
                file=self.file,
                key=f"{self.where('batch_size')} batch_size",
                value=value,
                allowed='method = "sgd"',
            )
        if ("normalize" in self.explicit or "normalize" in self.swept) and (
            "normalized_gd" not in methods
        ):
            value = self.shown("normalize")
            raise ScenarioError(
                f"{self.file}: {self.where('normalize')} normalize = {_fmt(value)}: only "
                f'allowed with method = "normalized_gd" ({method_loc})',
                file=self.file,
                key=f"{self.where('normalize')} normalize",
                value=value,
                allowed='method = "normalized_gd"',
            )
        self.rule(
            ("method", "normalize", "loss"),
            lambda c: (
                c["method"] == "normalized_gd"
                and c["normalize"] == "loss"
                and c["loss"] not in POSITIVE_LOSSES
            ),
            'normalize = "loss" divides the step by the loss value, which can be zero for '
            f"this loss; allowed losses: {', '.join(POSITIVE_LOSSES)}",
        )
        if "sgd" in methods and kind in _KINDS_WITH_N_TRAIN:
            self.rule(
                ("method", "batch_size", "n_train"),
                lambda c: c["method"] == "sgd" and c["batch_size"] > c["n_train"],
                'batch_size must be <= n_train for method = "sgd"',
            )

    def record_table(self, table: dict) -> dict[str, Any]:
        steps = self.fixed["steps"]
        for key, value in table.items():
            if key not in _TABLE_KEYS["record"]:
                raise self.unknown("record", key, value, _TABLE_KEYS["record"])
        # The default count is capped at steps + 1; an explicit count is not.
        cp = table.get("checkpoints", min(_DEFAULT_CHECKPOINTS, steps + 1))
        if isinstance(cp, int) and not isinstance(cp, bool):
            if not 2 <= cp <= steps + 1:
                raise self.error(
                    "record",
                    "checkpoints",
                    cp,
                    f"must be {_CHECKPOINTS_ALLOWED}; as a count, in "
                    f"[2, steps + 1] = [2, {steps + 1}]",
                    _CHECKPOINTS_ALLOWED,
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
                    "record",
                    "checkpoints",
                    cp,
                    f"must be {_CHECKPOINTS_ALLOWED} (steps = {steps})",
                    _CHECKPOINTS_ALLOWED,
                )
            cp = tuple(cp)
        else:
            raise self.error(
                "record",
                "checkpoints",
                cp,
                f"must be {_CHECKPOINTS_ALLOWED} (got {_type_name(cp)})",
                _CHECKPOINTS_ALLOWED,
            )
        data = self.check("record", "data", table.get("data", True), _Bool())
        return {"checkpoints": cp, "data": data}

    def file_checks(self, kind: str) -> None:
        if kind != "file":
            return
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
                _REQUIRED,
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


# --------------------------------------------------------------------------- mapping -> TOML

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(k, where: str) -> str:
    if not isinstance(k, str):
        raise ScenarioError(
            f"{_MAPPING_FILE}: {where}: key {k!r} must be a string",
            file=_MAPPING_FILE,
            key=where,
            value=k,
            allowed="string keys",
        )
    return k if _BARE_KEY.fullmatch(k) else _toml_str(k)


def _toml_value(v, where: str) -> str:
    if isinstance(v, bool) or (getattr(v, "dtype", None) is not None and v.dtype.kind == "b"):
        return "true" if bool(v) else "false"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        x = float(v)
        if math.isnan(x):
            return "nan"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(v, str | Path):
        return _toml_str(str(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x, where) for x in v) + "]"
    if isinstance(v, Mapping):
        items = (f"{_toml_key(k, where)} = {_toml_value(x, where)}" for k, x in v.items())
        return "{ " + ", ".join(items) + " }" if v else "{}"
    raise ScenarioError(
        f"{_MAPPING_FILE}: {where} = {v!r}: cannot be written as TOML; allowed: strings, "
        "booleans, integers, floats, lists and tables",
        file=_MAPPING_FILE,
        key=where,
        value=v,
        allowed="strings, booleans, integers, floats, lists and tables",
    )


def _to_toml(doc: Mapping) -> str:
    """Canonical TOML text of a scenario mapping: scalars first, then tables in order."""
    lines = []
    tables = []
    for k, v in doc.items():
        key = _toml_key(k, "(top level)")
        if isinstance(v, Mapping):
            tables.append((key, v))
        else:
            lines.append(f"{key} = {_toml_value(v, _loc(None, str(k)))}")
    for key, content in tables:
        if lines:
            lines.append("")
        lines.append(f"[{key}]")
        for k, v in content.items():
            lines.append(f"{_toml_key(k, f'[{key}]')} = {_toml_value(v, f'[{key}] {k}')}")
    return "\n".join(lines) + "\n"
