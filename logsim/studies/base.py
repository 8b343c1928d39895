"""What a study is: a scenario (full and small), a check over its result, and figures."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from logsim import scenario_files

#: The bundled scenarios folder (studies name their scenario file in it).
SCENARIO_DIR = scenario_files.directory()


@dataclass(frozen=True)
class Verdict:
    """The outcome of checking one claim on one result.

    ``values`` and ``limits`` are the numbers behind ``measured`` and ``tolerance``
    (plain ints, floats, bools, strings and lists of them, so they go into a JSON
    record as they are): the claims record stores them and the README's claims table
    is rendered from them (:func:`logsim.claims.render_table`).
    """

    claim: int
    measured: str  #: the figure measured, in words and numbers
    holds: bool
    tolerance: str  #: what "holds" means, stated up front
    source: str = ""  #: result file and short content hash
    values: Mapping[str, Any] = field(default_factory=dict)  #: the measured numbers
    limits: Mapping[str, Any] = field(default_factory=dict)  #: the tolerances, as numbers
    part: str = ""  #: which part of the claim, for a claim checked on several scenarios

    def line(self) -> str:
        status = "holds" if self.holds else "DOES NOT HOLD"
        where = f"  [{self.source}]" if self.source else ""
        which = f" ({self.part})" if self.part else ""
        return f"claim {self.claim}{which}: {self.measured} ({self.tolerance}): {status}{where}"


@dataclass(frozen=True)
class Study:
    """One claim of the article, put to the test.

    Attributes
    ----------
    claim : int
        Claim number (README and ``logsim claims`` use it).
    title : str
    scenario_file : str
        File under ``scenarios/`` holding the full (paper-sized) scenario.
    small : mapping
        Overrides applied to the scenario document for the default, quick run
        (deep-merged table by table; the name gains ``-small``).
    check : callable(Dataset) -> Verdict
    figures : callable(Dataset, Path) -> list of Path
    headline : str
        The claim in a few words (the README table's "claim" column).
    summary : callable(values) -> str
        The README table's "what logsim shows" text, written from a verdict's
        ``values`` alone (so the table can be rendered from a stored claims record).
    part : str
        Which part of the claim this study tests, for a claim tested on more than one
        scenario (claim 7: a degenerate and a non-degenerate toy); "" otherwise.
    intro, look : str
        Notebook text (Markdown): what the claim says and how the scenario tests
        it; what to look at in the figures.
    numbers : str
        Notebook code cell printing the numbers behind the verdict (``ds`` is
        the result, ``study`` this study).
    """

    claim: int
    title: str
    scenario_file: str
    check: Callable[[xr.Dataset], Verdict]
    figures: Callable[[xr.Dataset, Path], list[Path]]
    small: Mapping[str, Any] = field(default_factory=dict)
    intro: str = ""
    look: str = ""
    numbers: str = ""
    headline: str = ""
    summary: Callable[[Mapping[str, Any]], str] | None = None
    part: str = ""

    @property
    def scenario_path(self) -> Path:
        return SCENARIO_DIR / self.scenario_file

    @property
    def key(self) -> str:
        """The study's name: its scenario file without ``.toml`` (unique among studies)."""
        return self.scenario_file.removesuffix(".toml")

    @property
    def notebook(self) -> str:
        """File name of the study's notebook under ``notebooks/``."""
        return f"claim{self.claim}_{self.key}.ipynb"

    @property
    def scenario_name(self) -> str:
        return tomllib.loads(self.scenario_path.read_text())["name"]

    def scenario(self, *, full: bool = False):
        """The full scenario (a path), or the small one (a mapping with the overrides)."""
        if not self.scenario_path.exists():
            raise ValueError(
                f"claim {self.claim}: scenario file {self.scenario_path} not found; it ships "
                "with logsim (reinstall it, or run from a source checkout)"
            )
        if full:
            return self.scenario_path
        doc = tomllib.loads(self.scenario_path.read_text())
        merged = _deep_merge(doc, self.small)
        merged["name"] = f"{doc['name']}-small"
        data = merged.get("data", {})
        if "path" in data:  # keep a user data file relative to the scenario's folder
            data["path"] = str((self.scenario_path.parent / data["path"]).resolve())
        return merged


def _deep_merge(base: Mapping, overrides: Mapping) -> dict:
    out = copy.deepcopy(dict(base))
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
