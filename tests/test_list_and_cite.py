"""`logsim list` (missing folders, nested results and scenarios) and `logsim cite`."""

import hashlib
import re
from pathlib import Path

import pytest

from logsim.cli import main
from logsim.store import open_results

ROOT = Path(__file__).resolve().parents[1]

REFERENCES = [
    "Natarajan, N., Dhillon, I. S., Ravikumar, P. K., and Tewari, A. (2013). Learning with "
    "Noisy Labels. NIPS 26, 1196-1204.",
    "Müller, R., Kornblith, S., and Hinton, G. E. (2019). When Does Label Smoothing Help? "
    "NeurIPS 32 & arXiv:1906.02629",
]

SCENARIO = """\
name = "{name}"
description = "{description}"
references = [{references}]

[data]
kind = "gaussian"
n_train = 30
n_test = 50
dim = 2

[grid]
seed = 2

[optimizer]
learning_rate = 0.5
steps = 20

[record]
checkpoints = 4
"""


def _scenario(path: Path, name: str, description: str, references=()) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    refs = ", ".join(f'"{r}"' for r in references)
    path.write_text(SCENARIO.format(name=name, description=description, references=refs))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """scenarios/ with a sub-folder, a scenario beside them, results/ with a sub-folder."""
    root = tmp_path_factory.mktemp("project")
    top = _scenario(root / "scenarios" / "top.toml", "top", "at the top of scenarios/")
    nested = _scenario(root / "scenarios" / "studies" / "deep.toml", "deep",
                       "in a sub-folder of scenarios/", REFERENCES)
    _scenario(root / "beside.toml", "beside", "in the project folder itself")
    (root / "pyproject.toml").write_text('[project]\nname = "x"\n')  # not a scenario
    assert main(["run", str(top), "-o", str(root / "results" / "top.nc"), "--quiet"]) == 0
    assert main(["run", str(nested), "-o", str(root / "results" / "claims" / "deep.nc"),
                 "--quiet"]) == 0
    return root


def test_list_a_missing_folder_is_an_error(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["list", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == (f"logsim list: error: {missing} does not exist; give a "
                                    "project folder (one with scenarios/ or results/), or "
                                    "nothing for the current folder")
    (tmp_path / "file.txt").write_text("x")
    assert main(["list", str(tmp_path / "file.txt")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_list_finds_nested_results_and_scenarios(project, capsys):
    assert main(["list", str(project)]) == 0
    out = capsys.readouterr().out
    for name, desc in (("top", "at the top of scenarios/"),
                       ("studies/deep", "in a sub-folder of scenarios/"),
                       ("beside", "in the project folder itself")):
        assert re.search(rf"^  {re.escape(name)}\s+{re.escape(desc)}$", out, re.M), name
    assert "pyproject" not in out
    for rel in ("top.nc", "claims/deep.nc"):
        ds = open_results(project / "results" / rel)
        row = re.search(rf"^  {re.escape(rel)}\s+(\S+)\s+[\d.]+ MB\s+(\w+)", out, re.M)
        assert row, rel
        assert row.group(1) == ds.attrs["scenario_name"]
        assert row.group(2) == ds.attrs["content_sha256"][:12]


def test_list_shows_the_bundled_scenarios(tmp_path, capsys):
    assert main(["list", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    bundled = sorted(p.stem for p in (ROOT / "scenarios").glob("*.toml"))
    assert "quickstart" in bundled
    section = out.split("bundled with logsim")[1].split("results (")[0]
    assert [line.split()[0] for line in section.splitlines()[1:] if line] == bundled


def _cff(key: str) -> str:
    """A top-level scalar of CITATION.cff, read here on its own."""
    text = (ROOT / "CITATION.cff").read_text()
    return re.search(rf"^{key}:\s*\"?([^\"\n]+)\"?$", text, re.M).group(1).strip()


def test_cite_gives_the_references_the_software_and_both_hashes(project, capsys):
    path = project / "results" / "claims" / "deep.nc"
    ds = open_results(path)
    assert main(["cite", str(path)]) == 0
    out = capsys.readouterr().out
    entries = re.findall(r"^@misc\{([^,]+),\n(.*?)^\}$", out, re.M | re.S)
    keys = [k for k, _ in entries]
    assert keys[0].startswith("logsim_deep_") and keys[-1] == "logsim_software"
    assert keys[1:3] == ["natarajan2013", "muller2019"]  # ASCII keys
    fields = {k: dict(re.findall(r"^\s+(\w+)\s+= \{(.*)\},$", body, re.M))
              for k, body in entries}
    assert fields["natarajan2013"]["note"] == REFERENCES[0]
    assert fields["natarajan2013"]["year"] == "2013"
    assert fields["muller2019"]["note"] == REFERENCES[1].replace("&", r"\&")
    software = fields["logsim_software"]
    assert software["title"] == _cff("title")
    assert software["version"] == _cff("version")
    assert software["year"] == _cff("date-released")[:4]
    scenario_sha = hashlib.sha256(ds.attrs["scenario"].encode()).hexdigest()
    assert scenario_sha == ds.attrs["scenario_sha256"]
    result = fields[keys[0]]["note"]
    assert f"scenario SHA-256 {scenario_sha}" in result
    assert f"content SHA-256 {ds.attrs['content_sha256']}" in result
    for ref in REFERENCES:  # the plain-text lines too
        assert f"\n{ref}\n" in out
    assert f"Scenario SHA-256 {scenario_sha}" in out


def test_cite_without_references_gives_the_result_and_the_software(project, capsys):
    assert main(["cite", str(project / "results" / "top.nc")]) == 0
    keys = re.findall(r"^@misc\{([^,]+),", capsys.readouterr().out, re.M)
    assert len(keys) == 2 and keys[1] == "logsim_software"
