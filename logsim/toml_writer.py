"""A scenario given as a mapping, written out as canonical TOML text.

:func:`logsim.scenario.load_scenario` accepts a mapping shaped like the TOML
document. It is written here as text (top-level scalars first, then the tables
in mapping order, floats by ``repr``), and that text is parsed and validated
exactly like a file, so ``Scenario.text`` always reproduces the scenario with
:mod:`tomllib` and its SHA-256 is stable.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from pathlib import Path

from logsim.schema import toml_str

__all__ = ["MAPPING_FILE", "UnwritableValue", "to_toml"]

#: How messages name a scenario given as a mapping.
MAPPING_FILE = "<mapping>"
_ALLOWED = "strings, booleans, integers, floats, lists and tables"
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class UnwritableValue(ValueError):
    """A key or value of the mapping that TOML cannot hold; ``key``, ``value``, ``allowed``."""

    def __init__(self, message: str, *, key: str, value, allowed: str):
        super().__init__(message)
        self.key = key
        self.value = value
        self.allowed = allowed


def _key(k, where: str) -> str:
    if not isinstance(k, str):
        raise UnwritableValue(
            f"{MAPPING_FILE}: {where}: key {k!r} must be a string",
            key=where,
            value=k,
            allowed="string keys",
        )
    return k if _BARE_KEY.fullmatch(k) else toml_str(k)


def _value(v, where: str) -> str:
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
        return toml_str(str(v))
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x, where) for x in v) + "]"
    if isinstance(v, Mapping):
        items = (f"{_key(k, where)} = {_value(x, where)}" for k, x in v.items())
        return "{ " + ", ".join(items) + " }" if v else "{}"
    raise UnwritableValue(
        f"{MAPPING_FILE}: {where} = {v!r}: cannot be written as TOML; allowed: {_ALLOWED}",
        key=where,
        value=v,
        allowed=_ALLOWED,
    )


def to_toml(doc: Mapping) -> str:
    """Canonical TOML text of a scenario mapping: scalars first, then tables in order.

    Raises
    ------
    UnwritableValue
        A non-string key, or a value TOML cannot hold (``None``, an object).
    """
    lines = []
    tables = []
    for k, v in doc.items():
        key = _key(k, "(top level)")
        if isinstance(v, Mapping):
            tables.append((key, v))
        else:
            lines.append(f"{key} = {_value(v, f'(top level) {k}')}")
    for key, content in tables:
        if lines:
            lines.append("")
        lines.append(f"[{key}]")
        for k, v in content.items():
            lines.append(f"{_key(k, f'[{key}]')} = {_value(v, f'[{key}] {k}')}")
    return "\n".join(lines) + "\n"
