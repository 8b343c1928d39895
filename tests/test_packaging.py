"""What a wheel ships: every subpackage, and the scenarios the studies and README name.

The installed wheel itself is checked end to end by ``.ci/wheel-check`` (minutes: it
builds the wheel, installs it in a fresh virtual environment and runs the commands from
an empty folder); CI runs it, and so does ``make wheel-check``.
"""

import fnmatch
import tomllib
from pathlib import Path

import pytest

from logsim import cli, scenario_files
from logsim.studies import studies

ROOT = Path(__file__).resolve().parents[1]


def _setuptools():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_the_package_list_is_every_package_of_the_tree():
    """pyproject.toml lists the packages by hand (for the scenarios' mapping); none missed."""
    listed = set(_setuptools()["packages"])
    on_disk = {".".join(p.parent.relative_to(ROOT).parts)
               for p in (ROOT / "logsim").rglob("__init__.py")}
    assert listed == on_disk | {"logsim.scenarios"}


def test_the_wheel_maps_the_top_level_scenarios_folder():
    setup = _setuptools()
    assert setup["package-dir"] == {"logsim.scenarios": "scenarios"}
    # every file of the folder ships: the scenarios and the data files they read (a CSV
    # left out made an installed logsim's `logsim claims` fail)
    patterns = setup["package-data"]["logsim.scenarios"]
    files = [p.name for p in (ROOT / "scenarios").iterdir() if p.is_file()]
    assert any(name.endswith(".csv") for name in files)
    missed = [n for n in files if not any(fnmatch.fnmatch(n, pat) for pat in patterns)]
    assert missed == [], f"scenarios/ files the wheel would leave out: {missed}"


def test_bundled_scenarios_are_the_top_level_folder_in_a_checkout():
    assert scenario_files.directory() == ROOT / "scenarios"
    assert scenario_files.names() == sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    for study in studies():  # every claim's scenario ships
        assert study.scenario_file.removesuffix(".toml") in scenario_files.names()
    assert "quickstart" in scenario_files.names()


def test_resolve_takes_an_existing_file_before_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    bundled = ROOT / "scenarios" / "quickstart.toml"
    assert scenario_files.resolve("quickstart") == bundled
    assert scenario_files.resolve("quickstart.toml") == bundled
    (tmp_path / "quickstart").write_text("a local file of that name")
    assert scenario_files.resolve("quickstart") == Path("quickstart")
    mine = tmp_path / "mine.toml"
    mine.write_text("")
    assert scenario_files.resolve(mine) == mine


@pytest.mark.parametrize("arg", ["nosuch", "nosuch.toml", "elsewhere/quickstart.toml"])
def test_resolve_names_the_bundled_scenarios_when_nothing_matches(arg, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a path with a folder is a path, never a bundled name
    with pytest.raises(FileNotFoundError, match=rf"{arg}: no such scenario file") as err:
        scenario_files.resolve(arg)
    assert "quickstart" in str(err.value) and "noisy_labels" in str(err.value)


def test_run_a_missing_scenario_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["run", "nosuch", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "logsim run quickstart" in err


def test_the_readme_layout_names_every_module_and_folder():
    """The README's layout block lists every module and subpackage of logsim and every
    top-level folder, and nothing that is not there."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    named = set(block.replace("(", " ").replace(")", " ").replace(",", " ").split())
    modules = {p.name for p in (ROOT / "logsim").glob("*.py") if p.name != "__init__.py"}
    packages = {f"{p.parent.name}/" for p in (ROOT / "logsim").glob("*/__init__.py")}
    made = {"logsim", "results", "build", "dist", "__pycache__"}  # logsim/: the block's own
    folders = {f"{p.name}/" for p in ROOT.iterdir()
               if p.is_dir() and not p.name.startswith(".") and p.name not in made
               and not p.name.endswith(".egg-info")}
    missing = (modules | packages | folders | {".ci/"}) - named
    assert not missing, f"README layout does not name {sorted(missing)}"
    listed = {w for w in named if w.endswith(".py")}
    assert listed <= modules, f"README layout names absent modules {sorted(listed - modules)}"
