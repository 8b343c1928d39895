"""Each claim's check passes on its small scenario and can fail on wrong data; the claims
record holds what the checks measured, and the README's table is the one it renders."""

import json
from pathlib import Path

import numpy as np
import pytest

from logsim.claims import (
    TABLE_BEGIN,
    TABLE_END,
    check_outcomes,
    load_record,
    readme_table,
    record_problems,
    render_table,
    result_for,
    write_record,
)
from logsim.cli import main
from logsim.studies import studies, study_for

ROOT = Path(__file__).resolve().parents[1]
STUDIES = {s.key: s for s in studies()}


@pytest.fixture(scope="module")
def claim_results(tmp_path_factory):
    """Small results of every study, computed once per test session (shared with the
    notebooks and the other study tests: ``result_for`` reuses a file made from the same
    scenario text)."""
    out = tmp_path_factory.getbasetemp() / "notebook-claims"
    return out, {k: result_for(s, out_dir=out) for k, s in STUDIES.items()}


@pytest.fixture(scope="module")
def outcomes(claim_results):
    """Every study checked once on its small result (what ``logsim claims`` does)."""
    out, _ = claim_results
    return {o.study.key: o for o in check_outcomes(out_dir=out)}


@pytest.fixture(scope="module")
def small_record(outcomes, tmp_path_factory):
    path = tmp_path_factory.mktemp("record") / "claims.json"
    write_record(outcomes.values(), path)
    return path


@pytest.mark.parametrize("key", sorted(STUDIES))
def test_claim_holds_on_its_small_scenario(claim_results, outcomes, key):
    _, results = claim_results
    _, path = results[key]
    verdict = outcomes[key].verdict
    assert verdict.holds, verdict.line()
    assert verdict.source.startswith(path.name)
    assert verdict.part == STUDIES[key].part
    assert outcomes[key].path == path


@pytest.mark.parametrize("key", sorted(STUDIES))
def test_claim_figures_render(claim_results, key, tmp_path):
    _, results = claim_results
    ds, _ = results[key]
    paths = STUDIES[key].figures(ds, tmp_path)
    assert paths and all(p.exists() and p.stat().st_size > 5000 for p in paths)
    assert any(p.suffix == ".png" for p in paths) and any(p.suffix == ".pdf" for p in paths)


def test_error_signal_check_fails_when_the_updates_do_not_follow_p_minus_y(claim_results):
    _, results = claim_results
    ds, _ = results["error_signal"]
    tampered = ds.copy(deep=True)
    tampered["targets"].values[...] = 1.0 - tampered["targets"].values
    assert not STUDIES["error_signal"].check(tampered).holds


def test_claims_command_reuses_stored_results(claim_results, capsys):
    out, results = claim_results
    _, path = results["error_signal"]
    before = path.stat().st_mtime_ns
    assert main(["claims", "--only", "1", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("claim 1: ") and "holds" in printed
    assert path.stat().st_mtime_ns == before  # same scenario text: not run again
    assert main(["claims", str(path)]) == 0
    assert main(["plot", str(path), "-o", str(out / "figs"), "--kind", "claim"]) == 0
    assert list((out / "figs").glob("*.png"))


def test_results_of_no_claim_are_refused(tmp_path, capsys):
    from logsim import open_results, run

    ds = run({"name": "other", "data": {"kind": "gaussian", "n_train": 20, "n_test": 10,
                                        "dim": 2},
              "optimizer": {"learning_rate": 0.1, "steps": 5}}, out=tmp_path / "o.nc")
    # the file on disk is the result returned, with the scenario's five steps
    assert open_results(tmp_path / "o.nc").attrs["content_sha256"] == ds.attrs["content_sha256"]
    assert int(ds["step"].values[-1]) == 5
    assert main(["claims", str(tmp_path / "o.nc")]) == 2
    assert "belongs to no claim" in capsys.readouterr().err


def test_every_study_scenario_is_found_by_name():
    for study in studies():
        assert study.headline and study.summary, f"{study.key}: no README table row"
        assert study_for(study.scenario_name) is study
        assert study_for(study.scenario_name + "-small") is study
    assert np.all(np.diff([s.claim for s in studies()]) >= 0)
    assert len({s.key for s in studies()}) == len(studies())
    assert {s.claim for s in studies()} == set(range(1, max(s.claim for s in studies()) + 1))


# --------------------------------------------------------------------------- the record


def test_the_record_holds_what_the_checks_measured(claim_results, outcomes, small_record,
                                                   capsys):
    """Each entry: the verdict, its numbers, and the hashes of the file it was checked on."""
    from logsim import open_results

    _, results = claim_results
    record = load_record(small_record)
    assert [e["study"] for e in record] == [s.key for s in studies()]
    for entry in record:
        study = STUDIES[entry["study"]]
        _, path = results[entry["study"]]
        stored = open_results(entry["result"]["path"])
        assert Path(entry["result"]["path"]) == path
        assert entry["result"]["content_sha256"] == stored.attrs["content_sha256"]
        assert entry["scenario"]["sha256"] == stored.attrs["scenario_sha256"]
        assert entry["scenario"] == {"name": study.scenario_name + "-small",
                                     "file": study.scenario_file,
                                     "sha256": stored.attrs["scenario_sha256"], "full": False}
        verdict = outcomes[entry["study"]].verdict
        assert entry["holds"] is verdict.holds is True
        assert entry["measured"] == verdict.measured
        # the numbers, as JSON numbers, equal to what the check returns
        assert entry["values"] == json.loads(json.dumps(entry["values"]))
        for key, value in verdict.values.items():
            if isinstance(value, float):
                assert entry["values"][key] == value  # exactly: JSON keeps every bit
        assert entry["notebook"] == study.notebook
        assert (ROOT / "notebooks" / study.notebook).exists()
        # logsim cite works on the recorded file and prints the recorded hash
        assert main(["cite", entry["result"]["path"]]) == 0
        assert entry["result"]["content_sha256"] in capsys.readouterr().out
    assert "NaN" not in small_record.read_text()


def test_the_table_has_one_row_per_claim(small_record, capsys):
    record = load_record(small_record)
    table = render_table(record)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "---" not in line]
    claims = sorted({s.claim for s in studies()})
    assert [int(r.split(" | ")[0].strip("| ")) for r in rows[1:]] == claims
    for row in rows:  # four cells: every | inside a cell is escaped
        assert len([c for c in row.replace("\\|", "").split("|")]) == 6
    seven = next(r for r in rows if r.startswith("| 7 |"))
    assert "claim7_implicit_bias.ipynb" in seven and "claim7_implicit_bias_nondegenerate" in seven
    assert table.endswith(f"In this small record, {len(claims)} of {len(claims)} claims hold.")
    # the numbers in the text are the recorded ones
    entry = next(e for e in record if e["study"] == "error_signal")
    assert f"at {entry['values']['points']} points" in table
    assert main(["claims", "--table", str(small_record)]) == 0
    assert capsys.readouterr().out.strip() == table


def test_the_table_is_written_into_a_readme(small_record, tmp_path):
    readme = tmp_path / "README.md"
    original = (ROOT / "README.md").read_text(encoding="utf-8")
    readme.write_text(original, encoding="utf-8")
    assert main(["claims", "--table", str(small_record), "--readme", str(readme)]) == 0
    written = readme.read_text(encoding="utf-8")
    assert readme_table(written) == render_table(load_record(small_record))
    before, after = original.split(TABLE_BEGIN)[0], original.split(TABLE_END)[1]
    assert written.startswith(before) and written.endswith(after)  # nothing else changed


def test_the_table_shows_a_changed_value_and_a_failed_verdict(small_record, tmp_path):
    record = load_record(small_record)
    entry = next(e for e in record if e["study"] == "error_signal")
    entry["values"]["points"] += 1
    entry["holds"] = False
    table = render_table(record)
    assert f"at {entry['values']['points']} points" in table
    assert "**Does not hold:**" in table
    n = len({s.claim for s in studies()})
    assert table.endswith(f"{n - 1} of {n} claims hold.")


def test_readme_table_is_the_table_of_the_stored_record():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    record = load_record(ROOT / "docs" / "claims.json")
    assert readme_table(readme) == render_table(record)


def test_readme_comparison_fails_on_an_edited_number_or_a_changed_record():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    record = load_record(ROOT / "docs" / "claims.json")
    points = record[0]["values"]["points"]  # claim 1: finite differences at this many points
    quoted = f"at {points} points"
    assert quoted in readme_table(readme)
    edited = readme.replace(quoted, f"at {points + 1} points")
    assert readme_table(edited) != render_table(record)
    changed = json.loads(json.dumps(record))
    changed[0]["values"]["points"] += 1
    assert readme_table(readme) != render_table(changed)
    with pytest.raises(ValueError, match="no claims table"):
        readme_table(readme.replace(TABLE_END, ""))
    assert TABLE_BEGIN in readme


def test_the_stored_record_is_full_size_current_and_complete():
    """docs/claims.json: one entry per study, made from today's full scenario files."""
    record = load_record(ROOT / "docs" / "claims.json")
    assert record_problems(record) == []
    assert all(e["scenario"]["full"] and e["holds"] for e in record)
    stale = json.loads(json.dumps(record))
    stale[0]["scenario"]["sha256"] = "0" * 64
    del stale[-1]
    problems = record_problems(stale)
    assert any("differs from" in p for p in problems)
    assert any("no entry" in p for p in problems)


def test_table_and_record_options_are_checked(small_record, tmp_path, capsys):
    assert main(["claims", "--table", str(small_record), "--full"]) == 2
    assert "runs nothing" in capsys.readouterr().err
    assert main(["claims", "--table", str(tmp_path / "missing.json")]) == 2
    assert "no such claims record" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text('[{"claim": 1}]')
    assert main(["claims", "--table", str(tmp_path / "bad.json")]) == 2
    assert "lacks" in capsys.readouterr().err
    assert main(["claims", "--readme", str(tmp_path / "README.md")]) == 2
    assert "give --table" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["claims", "--table", str(small_record), "--record", str(tmp_path / "r.json")])
    assert exc.value.code == 2


# --------------------------------------------------------------------------- claim 1


def test_batches_are_the_ones_the_kernel_draws():
    """The replay's batch indices against tests/naive.py's independent SplitMix64."""
    from logsim.studies.error_signal import batch_indices
    from tests import naive

    for seed, n, b in ((0, 200, 1), (7, 50, 4), (123456, 13, 13)):
        expected = np.array(list(naive.batch_sequence(n, b, naive.stream_key(seed, 4), 300)))
        np.testing.assert_array_equal(batch_indices(seed, n, b, 300), expected)


def test_error_signal_check_fails_when_the_replay_draws_other_samples(claim_results):
    """Seeds relabelled: the data stay, the batches drawn for the replay are another seed's."""
    _, results = claim_results
    ds, _ = results["error_signal"]
    relabelled = ds.assign_coords(seed=ds["seed"].values + 1000)
    verdict = STUDIES["error_signal"].check(relabelled)
    assert not verdict.holds, verdict.line()
    assert verdict.values["update_rel"] > 1e-3


def test_error_signal_check_differentiates_logsims_loss(claim_results, monkeypatch):
    """The finite differences are of logsim.losses.value: a different loss there fails."""
    from logsim import losses

    _, results = claim_results
    ds, _ = results["error_signal"]
    value = losses.value
    monkeypatch.setattr(losses, "value", lambda name, z, y, **kw: value("exponential", z, y))
    verdict = STUDIES["error_signal"].check(ds)
    assert not verdict.holds and verdict.values["fd_rel"] > 1e-2, verdict.line()
