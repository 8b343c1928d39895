"""The scenarios that ship with logsim, and what a scenario argument names.

The repository's top-level ``scenarios/`` folder is the one copy of the scenario files
the studies, the README and the benchmarks use. A wheel ships it as the package data
``logsim/scenarios/`` (``pyproject.toml`` maps ``logsim.scenarios`` to that folder); a
source checkout or an editable install reads the folder itself, next to the package.
So ``logsim run quickstart`` and ``logsim claims`` work from any folder either way.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: Where the bundled scenarios are looked for, in order: inside an installed wheel, then
#: the source checkout the package was imported from.
CANDIDATES = (_PACKAGE / "scenarios", _PACKAGE.parent / "scenarios")
SUFFIX = ".toml"


def directory() -> Path:
    """The folder of the bundled scenarios (the first of :data:`CANDIDATES` that exists).

    Where neither exists (a broken install), the wheel's location, so that the error
    raised on reading a file there names where it was looked for.
    """
    for candidate in CANDIDATES:
        if candidate.is_dir():
            return candidate
    return CANDIDATES[0]


def names() -> list[str]:
    """Names of the bundled scenarios (file stems), sorted."""
    return sorted(path.stem for path in directory().glob(f"*{SUFFIX}"))


def resolve(name_or_path) -> Path:
    """The scenario file a command-line argument names.

    Parameters
    ----------
    name_or_path : str or Path
        An existing file (returned as given), or the name of a bundled scenario, with or
        without ``.toml`` (``quickstart``, ``quickstart.toml``), when no such file exists.

    Returns
    -------
    Path

    Raises
    ------
    FileNotFoundError
        Neither a file nor a bundled scenario's name; the message lists the bundled
        scenarios.
    """
    given = Path(name_or_path)
    if given.exists():
        return given
    text = str(name_or_path)
    if given.name == text and text:  # a bare name, no folder: try the bundled scenarios
        stem = text[: -len(SUFFIX)] if text.endswith(SUFFIX) else text
        bundled = directory() / f"{stem}{SUFFIX}"
        if bundled.is_file():
            return bundled
    available = ", ".join(names()) or f"none found in {directory()}"
    raise FileNotFoundError(
        f"{text}: no such scenario file, and no bundled scenario of that name (bundled "
        f"scenarios, run by name as in `logsim run quickstart`: {available})"
    )
