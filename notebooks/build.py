"""Write one notebook per claim (run: python notebooks/build.py).

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

CLAIM = {claim}
study = {{s.claim: s for s in studies()}}[CLAIM]
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

#: claim -> (title, introduction, what to look at, code for the numbers)
CLAIMS = {
    1: (
        "Claim 1: the error signal is p̂ − y",
        "The article: *the gradient of the cross-entropy with respect to the logit is "
        "simply p̂ − y*, for hard and soft targets, and the single-example update is "
        "w ← w − η (p̂ − y) x. The scenario `scenarios/error_signal.toml` trains logistic "
        "regression by SGD with batch size 1 on `logistic_model` data, with hard labels and "
        "with the true posterior as soft target.",
        "Left: central finite differences of the loss, computed from its definition, "
        "against p̂ − y at every training point: they lie on the diagonal. Right: p̂ − y "
        "against p̂; hard labels give two lines of slope 1 (y = 0 and y = 1), soft targets "
        "sit near 0 because SGD has nearly reached the posterior. The verdict also replays "
        "every stored single-example step from the stored data.",
        '''\
from logsim.studies.error_signal import measurements

fd_rel, update_rel, points = measurements(ds)
print(f"finite differences vs p - y: max relative difference {fd_rel:.2e} over {points} points")
print(f"stored single-example steps reproduced to {update_rel:.2e} (relative)")''',
    ),
}


def build(claim: int) -> Path:
    title, intro, look, numbers = CLAIMS[claim]
    nb = new_notebook(cells=[
        new_markdown_cell(f"# {title}\n\n{intro}"),
        new_code_cell(SETUP.format(claim=claim)),
        new_markdown_cell("## Verdict\n\nThe check `logsim claims` runs, with its tolerance."),
        new_code_cell(VERDICT),
        new_markdown_cell(f"## Figures\n\n{look}"),
        new_code_cell(FIGURES),
        new_markdown_cell("## The numbers"),
        new_code_cell(numbers),
    ])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    from logsim.studies import studies

    study = {s.claim: s for s in studies()}[claim]
    path = HERE / f"claim{claim}_{study.scenario_file.removesuffix('.toml')}.ipynb"
    nbformat.write(nb, path)
    return path


if __name__ == "__main__":
    for number in sorted(CLAIMS):
        print(build(number))
