"""Every notebook executes top to bottom on small stored results (so none can rot)."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from logsim import open_results
from logsim.studies import studies

pytestmark = pytest.mark.notebooks

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


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
