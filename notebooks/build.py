"""Write one notebook per study and execute it, so it is stored with its outputs.

    python notebooks/build.py               # every notebook, built and executed
    python notebooks/build.py --no-execute  # sources only (no Jupyter kernel needed)
    python notebooks/build.py label_smoothing breast_cancer

Each notebook opens the stored result of its claim's scenario (running the small
version if it is not stored yet, under ``results/claims``), prints the claim's
verdict, shows its figures, recomputes numbers of the check with xarray operations on
the stored dataset (``analysis.py``; a disagreement stops the notebook), and prints
the table behind the verdict. The test suite executes every notebook and checks that
the stored ones are what this script writes, so they cannot rot. Edit the texts here,
in ``analysis.py`` and in the studies, not the .ipynb files. ``make notebooks`` runs
this with the Jupyter extra installed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from analysis import CELLS, preamble  # noqa: E402 (the folder is not a package)

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

ANALYSIS = (
    "## The analysis in xarray\n\n"
    "Numbers the check uses, recomputed here from the stored dataset with xarray "
    "(selections with `.sel`/`.isel`, `xr.dot` over `feature`, means over samples, "
    "medians over seeds), each printed beside the check's own value. `agrees` stops the "
    "notebook if they differ."
)


def notebook(study) -> nbformat.NotebookNode:
    """The notebook of ``study``, without outputs (texts from the study and analysis.py)."""
    claim = study.claim
    cells = [
        new_markdown_cell(f"# Claim {claim}: {study.title}\n\n{study.intro}"),
        new_code_cell(SETUP.format(claim=claim, key=study.key)),
        new_markdown_cell("## Verdict\n\nThe check `logsim claims` runs, with its tolerance."),
        new_code_cell(VERDICT),
        new_markdown_cell(f"## Figures\n\n{study.look}"),
        new_code_cell(FIGURES),
        new_markdown_cell(ANALYSIS),
        new_code_cell(preamble(CELLS[study.key])),
    ]
    for text, code in CELLS[study.key]:
        cells += [new_markdown_cell(text), new_code_cell(code)]
    cells += [new_markdown_cell("## The numbers\n\nThe table behind the verdict, as the "
                                "study prints it."),
              new_code_cell(study.numbers)]
    nb = new_notebook(cells=cells)
    for k, cell in enumerate(nb.cells):
        cell.id = f"{study.key}-{k}"  # stable ids: a rebuild changes only what changed
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def execute(nb: nbformat.NotebookNode, *, timeout: int = 1800) -> nbformat.NotebookNode:
    """Run every cell of ``nb`` in a fresh kernel from the notebooks folder (in place)."""
    from nbclient import NotebookClient

    NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(HERE)}}).execute()
    return nb


def build(study, *, run: bool = True) -> Path:
    """Write the notebook of ``study``, executed (with its outputs) unless ``run`` is False."""
    nb = notebook(study)
    if run:
        execute(nb)
    path = HERE / study.notebook
    nbformat.write(nb, path)
    return path


def main(argv=None) -> int:
    from logsim.studies import studies

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("only", nargs="*", metavar="STUDY",
                        help="study keys (scenario file names), default: every study")
    parser.add_argument("--no-execute", action="store_true",
                        help="write the sources only, without running them")
    args = parser.parse_args(argv)
    chosen = [s for s in studies() if not args.only or s.key in args.only]
    unknown = set(args.only) - {s.key for s in studies()}
    if unknown:
        parser.error(f"unknown studies {sorted(unknown)}; known: "
                     f"{', '.join(s.key for s in studies())}")
    for each in chosen:
        print(build(each, run=not args.no_execute), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
