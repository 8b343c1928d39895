"""Every notebook executes top to bottom on small stored results (so none can rot)."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from logsim import open_results
from logsim.studies import studies

pytestmark = pytest.mark.notebooks

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))


def _build():
    sys.path.insert(0, str(FOLDER))
    try:
        import build
    finally:
        sys.path.remove(str(FOLDER))
    return build


def test_there_is_a_notebook_per_claim():
    for study in studies():
        assert any(nb.name.startswith(f"claim{study.claim}_") for nb in NOTEBOOKS), study.claim


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path_factory, monkeypatch):
    claims_dir = tmp_path_factory.getbasetemp() / "notebook-claims"
    monkeypatch.setenv("LOGSIM_CLAIMS_DIR", str(claims_dir))
    monkeypatch.setenv("LOGSIM_FULL", "0")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "holds" in text and "content_sha256" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)
    # the notebook stored its result where LOGSIM_CLAIMS_DIR says, and showed that file's hash
    study = next(s for s in studies() if s.notebook == path.name)  # one per part of a claim
    stored = claims_dir / f"{study.scenario_name}-small.nc"
    assert stored.is_file(), f"{path.name} did not store its result in LOGSIM_CLAIMS_DIR"
    with open_results(stored) as ds:
        digest = ds.attrs["content_sha256"]
    assert f"{stored}  content_sha256 {digest[:16]}" in text
    # the xarray analysis ran and every number it recomputed agreed with the check's
    compared = [line for line in text.splitlines() if ": xarray " in line and " | check " in line]
    assert len(compared) >= 2 and not [line for line in compared if "DIFFERENT" in line]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_notebook_is_what_build_writes_with_its_outputs(path):
    """The committed notebook has build.py's cells (edit analysis.py or the studies, then
    `make notebooks`), and was executed: every code cell has run, the figures are in it."""
    build = _build()
    study = next(s for s in studies() if s.notebook == path.name)
    stored, fresh = nbformat.read(path, as_version=4), build.notebook(study)
    assert [(c.cell_type, c.source) for c in stored.cells] == \
        [(c.cell_type, c.source) for c in fresh.cells], "stale: run `make notebooks`"
    code = [c for c in stored.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), "not executed: `make notebooks`"
    assert sum("image/png" in o.get("data", {}) for c in code for o in c.outputs) >= 1
    analysis = [c.source for c in code if "agrees(" in c.source and "def agrees" not in c.source]
    xarray_ops = (".sel(", ".isel(", "xr.dot(", ".median(", ".mean(", ".max(", ".min(")
    assert analysis and all(any(op in a for op in xarray_ops) for a in analysis)


def test_the_xarray_analysis_stops_the_notebook_when_it_disagrees(tmp_path_factory,
                                                                   monkeypatch):
    """Negative control: nudge the stored training loss after the check ran; the xarray
    recomputation then differs from the check's numbers and the notebook fails."""
    claims_dir = tmp_path_factory.getbasetemp() / "notebook-claims"
    monkeypatch.setenv("LOGSIM_CLAIMS_DIR", str(claims_dir))
    monkeypatch.setenv("LOGSIM_FULL", "0")
    path = FOLDER / "claim2_entropy_floor.ipynb"
    nb = nbformat.read(path, as_version=4)
    after_verdict = next(i for i, c in enumerate(nb.cells) if "verdict = check(" in c.source)
    nb.cells.insert(after_verdict + 1, nbformat.v4.new_code_cell(
        'ds = ds.assign(train_loss=ds["train_loss"] + 1e-6)'))
    client = NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(FOLDER)}})
    with pytest.raises(CellExecutionError, match="AssertionError"):
        client.execute()
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream")
    assert "<- DIFFERENT" in text
