"""The schema: one declaration that validation, data, engine and the reference all follow."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from logsim import cli, engine, schema
from logsim.data import GENERATOR_OPTIONS, make_data
from logsim.losses import LOSS_CODES
from logsim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "scenarios.md"


def test_reference_document_is_generated_from_the_schema():
    """docs/scenarios.md is exactly what the schema renders (regenerate, never hand-edit)."""
    assert DOC.read_text(encoding="utf-8") == schema.reference(markdown=True), (
        "docs/scenarios.md is out of date: run `logsim schema --markdown > docs/scenarios.md`"
    )


def test_reference_has_one_row_per_key_kind_and_rule():
    doc = DOC.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", doc, flags=re.M)
    key_rows = [name for name, second in rows if name in schema.KEYS]
    assert sorted(key_rows) == sorted(schema.KEYS)
    assert {name for name, _ in rows} - set(schema.KEYS) == set(schema.DATA_KINDS) - set(
        schema.KEYS
    )
    for table in schema.TABLES:
        assert f"## {'Top level' if table == 'top' else f'[{table}]'}\n" in doc
    plain = doc.replace("\\", "")  # Markdown escapes of |, *, ~ and <
    for rule in schema.RULES.values():
        assert f"- {rule.doc}." in plain
    for kind, options in GENERATOR_OPTIONS.items():  # each option row names its kinds
        for option in options:
            row = next(line for line in doc.splitlines() if line.startswith(f"| `{option}` |"))
            assert kind in row or "all kinds" in row, (kind, option)


def test_vocabulary_is_derived_not_copied():
    assert schema.LOSSES == tuple(LOSS_CODES)
    assert schema.KEYS["loss"].check.choices == tuple(LOSS_CODES)
    assert engine.METHODS is schema.METHODS and engine.NORMALIZATIONS is schema.NORMALIZATIONS
    assert set(schema.DATA_KINDS) == set(GENERATOR_OPTIONS)


def test_schema_imports_only_losses():
    """data, engine and scenario import the schema; it must not import them back."""
    tree = ast.parse((ROOT / "logsim" / "schema.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("logsim"):
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names if a.name.startswith("logsim")}
    assert imported == {"logsim.losses"}


def test_every_default_passes_its_own_check():
    for key in schema.KEYS.values():
        defaults = dict(key.kinds) if key.kinds is not None else {None: key.default}
        for kind, default in defaults.items():
            if default is schema.REQUIRED or default is None:
                continue
            if isinstance(key.check, schema.Special):
                continue
            value = list(default) if isinstance(default, tuple) else default
            check = key.check if kind is None else key.check.for_kind(kind)
            assert check(value) == default, (key.name, kind)


def test_sweepable_keys_say_why_not():
    for key in schema.KEYS.values():
        if key.sweepable:
            assert not key.why_fixed, key.name
        elif key.table != "top":
            assert key.why_fixed, key.name
    assert "steps" not in schema.SWEEPABLE and "seed" in schema.SWEEPABLE
    for rule in schema.RULES.values():
        assert set(rule.keys) <= set(schema.KEYS), rule.name


@pytest.mark.parametrize(
    ("check", "good", "bad", "reason"),
    [
        (schema.Int(2), [2, np.int64(7)], [1, 2.0, True, "3"], "an integer >= 2"),
        (schema.Int(1, 1000), [1, 1000], [0, 1001], "an integer in [1, 1000]"),
        (schema.Float(0, lo_open=True), [1e-9, 3], [0, -1, float("inf"), float("nan"), True],
         "a finite number > 0"),
        (schema.Float(0, 0.5, hi_open=True), [0, 0.49], [0.5, -0.1], "a number in [0, 0.5)"),
        (schema.Bool(), [True, np.bool_(False)], [1, "true"], "true or false"),
        (schema.BoolOr("last"), [True, False, "last"], ["first", 1], 'true, false or "last"'),
        (schema.Names(("a", "b")), [["a"], ["b", "a"]], [[], ["a", "a"], ["c"], "a"],
         'a non-empty list of distinct names from "a", "b"'),
        (schema.Features(4), [1, 4, [3, 0]], [0, 5, [4], [], [1, 1], "x"],
         "an integer k in [1, 4]"),
        (schema.Sha256(), ["A" * 64], ["a" * 63, "g" * 64, 5], "a SHA-256 hex digest"),
        (schema.Label(), ["M", 2], [1.5, None], "a string or an integer"),
    ],
)  # fmt: skip
def test_checks_accept_and_refuse(check, good, bad, reason):
    for value in good:
        check(value)
    for value in bad:
        with pytest.raises(schema.Invalid) as info:
            check(value)
        assert reason in str(info.value), (value, str(info.value))


def test_one_rule_text_in_scenario_and_engine(tmp_path):
    """The normalise-by-loss rule reads the same from a scenario and from run_batch."""
    rule = schema.RULES.normalize_by_positive_loss
    with pytest.raises(ScenarioError) as scen:
        load_scenario({
            "name": "t", "data": {"kind": "gaussian"},
            "optimizer": {"method": "normalized_gd", "normalize": "loss", "loss": "hinge",
                          "learning_rate": 1, "steps": 5},
        })  # fmt: skip
    assert rule.explain() in str(scen.value)
    assert '[optimizer] normalize = "loss"' in str(scen.value)
    x = np.random.default_rng(0).standard_normal((20, 2))
    y = (x[:, 0] > 0).astype(float)
    with pytest.raises(ValueError) as eng:
        engine.run_batch(x, y, method="normalized_gd", normalize="loss", loss="hinge", steps=5)
    assert rule.explain(fmt=schema.python_value) in str(eng.value)
    assert "normalize = 'loss'" in str(eng.value) and "loss = 'hinge'" in str(eng.value)

    transition = schema.RULES.transition
    with pytest.raises(ValueError) as eng:
        engine.run_batch(x, y, loss="forward", rho_pos=0.6, rho_neg=0.4, steps=5)
    assert transition.explain(fmt=schema.python_value) in str(eng.value)
    with pytest.raises(ValueError) as flips:
        make_data("gaussian", seed=0, n_test=0)  # valid; the rates below are not
        from logsim.labels import flip_rates

        flip_rates(rho_pos=0.6, rho_neg=0.4)
    assert transition.explain(fmt=schema.python_value) in str(flips.value)
    with pytest.raises(ScenarioError) as scen:
        load_scenario({"name": "t", "data": {"kind": "gaussian"},
                       "labels": {"rho_pos": 0.6, "rho_neg": 0.4},
                       "optimizer": {"learning_rate": 1, "steps": 5}})  # fmt: skip
    assert transition.explain() in str(scen.value)


def test_batch_size_rule_in_engine_names_the_values():
    x = np.random.default_rng(0).standard_normal((12, 2))
    y = (x[:, 0] > 0).astype(float)
    with pytest.raises(ValueError, match=r"trajectory 1: batch_size must be an integer in "
                                         r"\[1, 12\] .*got method = 'sgd', batch_size = 13"):
        engine.run_batch(x, np.stack([y, y]), method="sgd", batch_size=[4, 13], steps=5)


def test_cli_schema_verb(capsys):
    assert cli.main(["schema"]) == 0
    out = capsys.readouterr().out
    for name in schema.KEYS:
        assert f"  {name} (" in out
    assert cli.main(["schema", "optimizer"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[optimizer]:")
    assert "  learning_rate (number; default required; sweepable)" in out
    assert "  n_train (" not in out and "[data]" not in out
    assert cli.main(["schema", "[record]", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out == schema.reference("record", markdown=True)
    assert "| `weights` | boolean or string | true |" in out
    assert cli.main(["schema", "optimiser"]) == 2
    err = capsys.readouterr().err
    assert "unknown table 'optimiser'" in err and 'did you mean "optimizer"' in err
