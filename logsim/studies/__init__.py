"""The article's claims as studies: a scenario, a check and figures for each.

Each module defines one :class:`~logsim.studies.base.Study` named ``STUDY``, or a
tuple ``STUDIES`` when a claim is tested on several scenarios (claim 7: a degenerate
and a non-degenerate toy; claim 9: four parts); :func:`studies` lists them in claim
order. ``logsim claims`` runs the checks, ``logsim plot`` draws a study's figures for a
result made from its scenario.
"""

from __future__ import annotations

import importlib

from logsim.studies.base import Study, Verdict

#: Module of each claim's study, in the article's order.
MODULES = (
    "error_signal",  # 1
    "entropy_floor",  # 2
    "label_smoothing",  # 3
    "noisy_labels",  # 4
    "hinge_vs_ce",  # 5
    "calibration",  # 6
    "implicit_bias",  # 7
    "breast_cancer",  # 8
    "optimiser_margin",  # 9
)


def studies() -> list[Study]:
    """The studies that exist, in claim order."""
    found = []
    for name in MODULES:
        try:
            module = importlib.import_module(f"logsim.studies.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"logsim.studies.{name}":
                raise
            continue
        found.extend(getattr(module, "STUDIES", (module.STUDY,)))
    return found


def study_for(scenario_name: str) -> Study | None:
    """The study whose scenario has ``scenario_name`` (or its ``-small`` version)."""
    base = scenario_name.removesuffix("-small")
    for study in studies():
        if study.scenario_name == base:
            return study
    return None


__all__ = ["Study", "Verdict", "studies", "study_for"]
