"""Each claim's check passes on its small scenario, and can fail on wrong data."""

import numpy as np
import pytest

from logsim.claims import check, result_for
from logsim.cli import main
from logsim.studies import studies, study_for

STUDIES = {s.claim: s for s in studies()}


@pytest.fixture(scope="module")
def claim_results(tmp_path_factory):
    """Small results of every study, computed once for this module."""
    out = tmp_path_factory.mktemp("claims")
    return out, {n: result_for(s, out_dir=out) for n, s in STUDIES.items()}


@pytest.mark.parametrize("claim", sorted(STUDIES))
def test_claim_holds_on_its_small_scenario(claim_results, claim):
    _, results = claim_results
    ds, path = results[claim]
    verdict = check(STUDIES[claim], ds, path)
    assert verdict.holds, verdict.line()
    assert verdict.source.startswith(path.name)


@pytest.mark.parametrize("claim", sorted(STUDIES))
def test_claim_figures_render(claim_results, claim, tmp_path):
    _, results = claim_results
    ds, _ = results[claim]
    paths = STUDIES[claim].figures(ds, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 5000 for p in paths)
    assert any(p.suffix == ".png" for p in paths) and any(p.suffix == ".pdf" for p in paths)


def test_error_signal_check_fails_when_the_updates_do_not_follow_p_minus_y(claim_results):
    _, results = claim_results
    ds, _ = results[1]
    tampered = ds.copy(deep=True)
    tampered["targets"].values[...] = 1.0 - tampered["targets"].values
    assert not STUDIES[1].check(tampered).holds


def test_claims_command_reuses_stored_results(claim_results, capsys):
    out, results = claim_results
    _, path = results[1]
    before = path.stat().st_mtime_ns
    assert main(["claims", "--only", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("claim 1: ") and "holds" in printed
    assert path.stat().st_mtime_ns == before  # same scenario text: not run again
    assert main(["claims", str(path)]) == 0
    assert main(["plot", str(path), "-o", str(out / "figs"), "--kind", "claim"]) == 0
    assert list((out / "figs").glob("*.png"))


def test_results_of_no_claim_are_refused(tmp_path, capsys):
    from logsim import run

    ds = run({"name": "other", "data": {"kind": "gaussian", "n_train": 20, "n_test": 10,
                                        "dim": 2},
              "optimizer": {"learning_rate": 0.1, "steps": 5}}, out=tmp_path / "o.nc")
    assert ds is not None
    assert main(["claims", str(tmp_path / "o.nc")]) == 2
    assert "belongs to no claim" in capsys.readouterr().err


def test_every_study_scenario_is_found_by_name():
    for study in studies():
        assert study_for(study.scenario_name) is study
        assert study_for(study.scenario_name + "-small") is study
    assert np.all(np.diff([s.claim for s in studies()]) > 0)
