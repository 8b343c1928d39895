"""Write one notebook per study (run: python notebooks/build.py).

Each notebook opens the stored result of its claim's scenario (running the
small version if it is not stored yet), prints the claim's verdict, shows its
figures and the numbers behind them. The test suite executes every notebook, so
they cannot rot. Edit the texts here, not the .ipynb files.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = '''\
import os
from pathlib import Path

from IPython.display import Image, display

from logsim.claims import check, result_for
from logsim.studies import studies

STUDY = "{key}"  # claim {claim}
study = {{s.key: s for s in studies()}}[STUDY]
# LOGSIM_CLAIMS_DIR: where results are stored and reused; LOGSIM_FULL=1 for the paper-sized run
out_dir = Path(os.environ.get("LOGSIM_CLAIMS_DIR", "../results/claims"))
full = os.environ.get("LOGSIM_FULL") == "1"
ds, path = result_for(study, full=full, out_dir=out_dir)
print(f"{{path}}  content_sha256 {{ds.attrs['content_sha256'][:16]}}...")
ds'''

VERDICT = '''\
verdict = check(study, ds, path)
print(verdict.line())
assert verdict.holds, "the claim does not hold on this result"'''

FIGURES = '''\
for figure in study.figures(ds, out_dir / "figures"):
    if figure.suffix == ".png":
        display(Image(filename=str(figure)))'''

def build(study) -> Path:
    """Write the notebook of ``study`` (texts from the study itself)."""
    claim = study.claim
    nb = new_notebook(cells=[
        new_markdown_cell(f"# Claim {claim}: {study.title}\n\n{study.intro}"),
        new_code_cell(SETUP.format(claim=claim, key=study.key)),
        new_markdown_cell("## Verdict\n\nThe check `logsim claims` runs, with its tolerance."),
        new_code_cell(VERDICT),
        new_markdown_cell(f"## Figures\n\n{study.look}"),
        new_code_cell(FIGURES),
        new_markdown_cell("## The numbers"),
        new_code_cell(study.numbers),
    ])
    for k, cell in enumerate(nb.cells):
        cell.id = f"{study.key}-{k}"  # stable ids: a rebuild changes only what changed
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = HERE / study.notebook
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    from logsim.studies import studies

    for each in studies():
        print(build(each))
