"""Scenario files: loading, the resolved grid, and one test per class of validation error.

Every error test checks that the message names the file, the key with its
table, the bad value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import tomllib
from pathlib import Path

import numpy as np
import pytest

from logsim.data_files import NoTestSetWarning
from logsim.scenario import SWEEPABLE, Scenario, ScenarioError, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "scenarios" / "quickstart.toml"


def toml(
    *,
    top: str = "",
    data: str = 'kind = "gaussian"',
    labels: str = "",
    optimizer: str = "learning_rate = 0.5\nsteps = 100",
    grid: str = "",
    record: str = "",
) -> str:
    """A small valid scenario, with the body of each table replaceable."""
    parts = ['name = "t"', top]
    for table, body in (
        ("data", data),
        ("labels", labels),
        ("optimizer", optimizer),
        ("grid", grid),
        ("record", record),
    ):
        if body:
            parts.append(f"[{table}]\n{body}")
    return "\n".join(parts) + "\n"


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error(tmp_path: Path, text: str) -> tuple[str, str]:
    """Load ``text`` from a file; return (message, file name as given)."""
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value), str(path)


def assert_names(msg: str, *parts: str) -> None:
    for part in parts:
        assert part in msg, f"{part!r} not in message:\n{msg}"


# --------------------------------------------------------------------------- valid scenarios


def test_quickstart_axes_and_provenance():
    s = load_scenario(QUICKSTART)
    assert s.name == "quickstart"
    assert s.description == "Logistic vs hinge loss under label noise and smoothing"
    assert s.axis_names == ("loss", "noise_rate", "smoothing", "seed")
    assert s.shape == (2, 4, 2, 16)
    assert s.size == 256
    assert s.grid[0] == ("loss", ("logistic", "hinge"))
    assert s.grid[1] == ("noise_rate", (0.0, 0.1, 0.2, 0.3))
    assert s.grid[3] == ("seed", tuple(range(16)))
    text = QUICKSTART.read_text(encoding="utf-8")
    assert s.text == text
    assert s.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert s.path == QUICKSTART and s.path.is_absolute()
    assert [r.split(",")[0] for r in s.references] == ["Guo", "Müller", "Natarajan"]
    assert dict(s.data) == {
        "kind": "gaussian",
        "intercept": False,
        "n_train": 200,
        "n_test": 2000,
        "dim": 10,
        "separation": 2.0,
        "class_balance": 0.5,
    }
    assert s.optimizer["method"] == "gd" and s.optimizer["steps"] == 2000
    assert "loss" not in s.optimizer and "noise_rate" not in s.labels  # swept, not fixed
    assert dict(s.record) == {"checkpoints": 40, "data": True, "weights": True}
    assert dict(s.analysis) == {
        "bins": 15,
        "groups": ("test", "calibration", "platt", "entropy", "geometry"),
        "platt_at": "all",
    }
    assert s.data_sha256 is None
    steps = s.checkpoint_steps
    assert len(steps) == 40 and steps[0] == 0 and steps[-1] == 2000
    assert all(a < b for a, b in itertools.pairwise(steps))


def test_cells_resolve_every_parameter():
    s = load_scenario(QUICKSTART)
    cells = list(s.cells())
    assert len(cells) == s.size
    assert cells[0][0] == (0, 0, 0, 0)
    index, params = cells[-1]
    assert index == (1, 3, 1, 15)
    keys = set(params)
    assert all(set(p) == keys for _, p in cells)
    by_index = dict(cells)
    p = by_index[(1, 2, 1, 5)]
    assert (p["loss"], p["noise_rate"], p["smoothing"], p["seed"]) == ("hinge", 0.2, 0.1, 5)
    assert p["learning_rate"] == 0.5 and p["steps"] == 2000 and p["method"] == "gd"
    assert p["kind"] == "gaussian" and p["n_train"] == 200 and p["separation"] == 2.0
    assert p["rho_pos"] == 0.0 and p["soft"] is False and p["batch_size"] is None
    assert p["transition"] == "true" and p["normalize"] == "gradient"
    assert s.table_of("noise_rate") == "labels"
    assert s.table_of("dim") == "data"
    assert s.table_of("loss") == "optimizer"
    assert s.values("loss") == ("logistic", "hinge") and s.values("dim") == (10,)
    with pytest.raises(KeyError):
        s.table_of("nope")


def test_scenario_is_frozen_and_read_only():
    s = load_scenario(QUICKSTART)
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.name = "other"
    with pytest.raises(TypeError):
        s.data["kind"] = "separable"
    with pytest.raises(TypeError):
        s.record["data"] = False
    assert hash(s) == hash(load_scenario(QUICKSTART))
    assert s == load_scenario(QUICKSTART)


def test_mapping_input_matches_file():
    with QUICKSTART.open("rb") as f:
        doc = tomllib.load(f)
    doc["grid"]["seed"] = np.int64(16)  # NumPy scalars from a notebook are accepted
    s = load_scenario(doc)
    q = load_scenario(QUICKSTART)
    assert s.path is None
    assert (s.grid, s.data, s.labels, s.optimizer, s.record) == (
        q.grid,
        q.data,
        q.labels,
        q.optimizer,
        q.record,
    )
    assert s.references == q.references
    # the canonical text is TOML that reproduces the mapping, and is stable
    assert tomllib.loads(s.text)["grid"]["seed"] == 16
    assert list(tomllib.loads(s.text)["grid"]) == ["loss", "noise_rate", "smoothing", "seed"]
    assert load_scenario(doc).sha256 == s.sha256 == hashlib.sha256(s.text.encode()).hexdigest()
    assert parse_scenario(s.text).grid == s.grid


def test_mapping_errors_name_the_mapping():
    doc = {"name": "m", "data": {"kind": "gaussian"}, "optimizer": {"learning_rate": 0}}
    with pytest.raises(ScenarioError) as info:
        load_scenario(doc)
    assert_names(
        str(info.value), "<mapping>", "[optimizer] learning_rate = 0", "a finite number > 0"
    )
    with pytest.raises(ScenarioError, match=r"<mapping>: \[data\] dim = None: cannot be"):
        load_scenario({"name": "m", "data": {"kind": "gaussian", "dim": None}})


def test_defaults_and_minimal_scenario(tmp_path):
    s = load_scenario(write(tmp_path, toml(optimizer="learning_rate = 1\nsteps = 10"), "ok.toml"))
    assert s.grid == (("seed", (0,)),)
    assert s.record["checkpoints"] == 11  # default 40, capped at steps + 1
    assert s.checkpoint_steps == tuple(range(11))
    assert dict(s.labels) == {
        "noise_rate": 0.0,
        "rho_pos": 0.0,
        "rho_neg": 0.0,
        "smoothing": 0.0,
        "soft": False,
    }
    assert s.optimizer["loss"] == "logistic" and s.description == "" and s.references == ()


def test_sweeps_of_other_tables(tmp_path):
    text = toml(
        data='kind = "separable"',
        optimizer='method = "sgd"\nsteps = 50',
        grid="seed = [3, 1]\nlearning_rate = [1, 0.1]\nbatch_size = [10, 20]\nn_train = [20, 40]\n"
        "intercept = [false, true]",
        record="checkpoints = [0, 5, 50]\ndata = false",
    )
    s = load_scenario(write(tmp_path, text, "ok.toml"))
    assert s.axis_names == ("seed", "learning_rate", "batch_size", "n_train", "intercept")
    assert s.values("learning_rate") == (1.0, 0.1)
    assert isinstance(s.values("learning_rate")[0], float)  # ints accepted for floats
    assert s.checkpoint_steps == (0, 5, 50) and s.record["data"] is False
    assert s.data == {"kind": "separable", "n_test": 2000, "dim": 10, "margin": 0.1}


def test_file_kind_resolves_relative_to_scenario(tmp_path):
    (tmp_path / "d").mkdir()
    np.savez(tmp_path / "d" / "xy.npz", x_train=np.zeros((4, 2)), y_train=np.array([0, 1, 0, 1]))
    (tmp_path / "d" / "t.csv").write_text("a,y\n1,0\n2,1\n")
    with pytest.warns(NoTestSetWarning, match=r"d/xy\.npz has no test set .* will be NaN"):
        s = load_scenario(write(tmp_path, toml(data='kind = "file"\npath = "d/xy.npz"'), "ok.toml"))
    assert s.data["path"] == (tmp_path / "d" / "xy.npz").resolve()
    assert s.data["label"] is None
    assert s.data_sha256 == hashlib.sha256((tmp_path / "d" / "xy.npz").read_bytes()).hexdigest()
    csv = toml(data='kind = "file"\npath = "d/t.csv"\nlabel = "y"\ntest_fraction = 0')
    assert load_scenario(write(tmp_path, csv, "ok2.toml")).data["label"] == "y"  # no warning
    msg, f = error(tmp_path, toml(data='kind = "file"\npath = "d/t.csv"'))
    assert_names(msg, f, "[data] label", "is missing", "label column")


# --------------------------------------------------------------------------- error classes


def test_missing_scenario_file(tmp_path):
    message = (r"nothere\.toml: no such scenario file, and no bundled scenario of that name "
               r"\(bundled .*quickstart")
    with pytest.raises(ScenarioError, match=message):
        load_scenario(tmp_path / "nothere.toml")


def test_a_bundled_scenario_loads_by_name_in_python_as_on_the_command_line():
    by_name = load_scenario("quickstart")
    by_path = load_scenario(ROOT / "scenarios" / "quickstart.toml")
    assert by_name.sha256 == by_path.sha256 and by_name.name == "quickstart"
    with pytest.raises(ScenarioError, match="quickstrat: no such scenario file"):
        load_scenario("quickstrat")


def test_toml_syntax_error_gives_line(tmp_path):
    text = 'name = "t"\n[data]\nkind = "gaussian"\n[optimizer]\nlearning_rate = = 0.5\n'
    msg, f = error(tmp_path, text)
    assert_names(msg, f, "TOML syntax error", "line 5")


def test_unknown_top_level_key_suggests(tmp_path):
    msg, f = error(tmp_path, toml(top='descripton = "x"'))
    assert_names(
        msg, f, '(top level) descripton = "x"', 'did you mean "description"?', "allowed keys: name"
    )
    msg, f = error(tmp_path, toml(top="learning_rate = 0.5"))
    assert_names(msg, f, "(top level) learning_rate = 0.5", "belongs in [optimizer]")


def test_unknown_table_key_suggests(tmp_path):
    msg, f = error(tmp_path, toml(optimizer="learning_rat = 0.5\nsteps = 10"))
    assert_names(
        msg,
        f,
        "[optimizer] learning_rat = 0.5",
        'did you mean "learning_rate"?',
        "loss, transition",
    )
    msg, f = error(tmp_path, toml(labels="smoothng = 0.1"))
    assert_names(msg, f, "[labels] smoothng = 0.1", 'did you mean "smoothing"?', "noise_rate")
    msg, f = error(tmp_path, toml(grid="noise_rte = [0.1]"))
    assert_names(msg, f, "[grid] noise_rte = [0.1]", 'did you mean "noise_rate"?', "seed")


def test_wrong_type(tmp_path):
    msg, f = error(tmp_path, toml(data='kind = "gaussian"\nn_train = 1.5'))
    assert_names(msg, f, "[data] n_train = 1.5", "must be an integer >= 2", "got a float")
    msg, f = error(tmp_path, toml(data='kind = "gaussian"\nintercept = 1'))
    assert_names(msg, f, "[data] intercept = 1", "true or false", "got an integer")
    msg, f = error(tmp_path, toml(optimizer="learning_rate = true\nsteps = 10"))
    assert_names(msg, f, "[optimizer] learning_rate = true", "a finite number > 0", "got a boolean")
    msg, f = error(tmp_path, toml(grid="dim = [2, 2.5]"))
    assert_names(msg, f, "[grid] dim = 2.5", "item 2", "an integer >= 1")
    msg, f = error(tmp_path, toml(grid="smoothing = 0.1"))
    assert_names(msg, f, "[grid] smoothing = 0.1", "non-empty list", "set it in [labels]")


def test_out_of_range(tmp_path):
    msg, f = error(tmp_path, toml(labels="noise_rate = 0.5"))
    assert_names(msg, f, "[labels] noise_rate = 0.5", "a number in [0, 0.5)")
    msg, f = error(tmp_path, toml(optimizer='loss = "hinj"\nlearning_rate = 1\nsteps = 10'))
    assert_names(msg, f, '[optimizer] loss = "hinj"', 'one of "logistic", "hinge"', '"hinge"?')
    msg, f = error(tmp_path, toml(optimizer="learning_rate = inf\nsteps = 10"))
    assert_names(msg, f, "[optimizer] learning_rate = inf", "a finite number > 0")
    msg, f = error(tmp_path, toml(record="checkpoints = [0, 10]"))
    assert_names(msg, f, "[record] checkpoints = [0, 10]", "contains 0 and steps", "steps = 100")
    msg, f = error(tmp_path, toml(grid="seed = 0"))
    assert_names(msg, f, "[grid] seed = 0", "an integer n >= 1")


def test_bad_name(tmp_path):
    msg, f = error(tmp_path, 'name = "a b"\n[data]\nkind = "gaussian"\n')
    assert_names(msg, f, '(top level) name = "a b"', 'letters, digits, "-" and "_"')


def test_empty_grid_axis(tmp_path):
    msg, f = error(tmp_path, toml(grid="loss = []"))
    assert_names(msg, f, "[grid] loss = []", "empty grid axis", "non-empty list", '"hinge"')


def test_duplicate_grid_values(tmp_path):
    msg, f = error(tmp_path, toml(grid="noise_rate = [0.1, 0.2, 0.1]"))
    assert_names(msg, f, "[grid] noise_rate = [0.1, 0.2, 0.1]", "duplicate value 0.1", "distinct")
    msg, f = error(tmp_path, toml(grid="seed = [1, 1]"))
    assert_names(msg, f, "[grid] seed = [1, 1]", "duplicate value 1", "distinct")


def test_parameter_in_table_and_grid(tmp_path):
    msg, f = error(tmp_path, toml(labels="smoothing = 0.1", grid="smoothing = [0.0, 0.2]"))
    assert_names(
        msg,
        f,
        "[grid] smoothing = [0.0, 0.2]",
        "also set in [labels] (smoothing = 0.1)",
        "not both",
    )


def test_steps_cannot_be_swept(tmp_path):
    msg, f = error(tmp_path, toml(optimizer="learning_rate = 1", grid="steps = [10, 100]"))
    assert_names(msg, f, "[grid] steps = [10, 100]", "cannot be swept", "step axis", "sweepable:")
    msg, f = error(tmp_path, toml(grid='kind = ["gaussian"]'))
    assert_names(msg, f, '[grid] kind = ["gaussian"]', "cannot be swept")


def test_option_not_valid_for_kind(tmp_path):
    msg, f = error(tmp_path, toml(data='kind = "gaussian"\nmargin = 0.1'))
    assert_names(
        msg,
        f,
        "[data] margin = 0.1",
        'not an option of [data] kind = "gaussian"',
        "separation, class_balance",
    )
    msg, f = error(tmp_path, toml(data='kind = "soudry"', grid="n_train = [10, 20]"))
    assert_names(msg, f, "[grid] n_train = [10, 20]", 'kind = "soudry"', "n_random, asymmetric")


def test_cross_parameter_error_in_one_grid_cell(tmp_path):
    msg, f = error(tmp_path, toml(grid="rho_pos = [0.2, 0.6]\nrho_neg = [0.3, 0.5]"))
    assert_names(
        msg,
        f,
        "[grid] rho_pos = 0.6, [grid] rho_neg = 0.5",
        "in one grid cell",
        "rho_pos + rho_neg must be < 1",
    )
    msg, f = error(tmp_path, toml(labels="noise_rate = 0.1", grid="rho_neg = [0.0, 0.2]"))
    assert_names(msg, f, "[labels] noise_rate = 0.1", "[grid] rho_neg = 0.2", "cannot both")
    msg, f = error(
        tmp_path,
        toml(
            optimizer='method = "sgd"\nlearning_rate = 1\nsteps = 10',
            grid="n_train = [50, 10]\nbatch_size = [20]",
        ),
    )
    assert_names(msg, f, "[grid] n_train = 10", "[grid] batch_size = 20", "<= n_train")
    msg, f = error(tmp_path, toml(data='kind = "separable"', grid="soft = [false, true]"))
    assert_names(msg, f, '[data] kind = "separable"', "[grid] soft = true", '"gaussian"')
    msg, f = error(tmp_path, toml(data='kind = "gaussian"',
                                  grid="soft = [false, true]\nnoise_rate = [0.0, 0.1]"))
    assert_names(msg, f, "[grid] soft = true", "[grid] noise_rate = 0.1", "cannot be flipped")
    msg, f = error(
        tmp_path,
        toml(
            optimizer='method = "normalized_gd"\nnormalize = "loss"\nlearning_rate = 1\nsteps = 9',
            grid='loss = ["logistic", "hinge"]',
        ),
    )
    assert_names(msg, f, '[grid] loss = "hinge"', '[optimizer] normalize = "loss"', "logistic")
    msg, f = error(tmp_path, toml(optimizer="learning_rate = 1\nsteps = 9",
                                  grid='schedule = ["constant", "inverse_loss"]\n'
                                       'method = ["gd", "momentum"]'))
    assert_names(msg, f, '[grid] method = "momentum"', '[grid] schedule = "inverse_loss"',
                 'defined for full-batch gradient descent only, method = "gd"')
    msg, f = error(tmp_path, toml(optimizer='schedule = "inverse_loss"\nlearning_rate = 1\n'
                                            "steps = 9", grid='loss = ["logistic", "hinge"]'))
    assert_names(msg, f, '[grid] loss = "hinge"', '[optimizer] schedule = "inverse_loss"',
                 "allowed losses: logistic, exponential, forward")


def test_file_kind_missing_file(tmp_path):
    msg, f = error(tmp_path, toml(data='kind = "file"\npath = "missing.npz"'))
    assert_names(
        msg,
        f,
        '[data] path = "missing.npz"',
        "file not found",
        str(tmp_path / "missing.npz"),
        ".npz or .csv",
    )
    msg, f = error(tmp_path, toml(data='kind = "file"\npath = "x.parquet"'))
    assert_names(msg, f, '[data] path = "x.parquet"', ".npz or .csv")
    msg, f = error(tmp_path, toml(data='kind = "file"'))
    assert_names(msg, f, "[data] path", "is missing", ".npz or .csv")


def test_sgd_without_batch_size(tmp_path):
    msg, f = error(tmp_path, toml(optimizer='method = "sgd"\nlearning_rate = 1\nsteps = 10'))
    assert_names(msg, f, "[optimizer] batch_size is missing", 'method = "sgd"', "integer >= 1")
    msg, f = error(tmp_path, toml(grid='method = ["gd", "sgd"]'))
    assert_names(msg, f, "[optimizer] batch_size is missing", '[grid] method = ["gd", "sgd"]')
    msg, f = error(tmp_path, toml(optimizer="batch_size = 8\nlearning_rate = 1\nsteps = 10"))
    assert_names(msg, f, "[optimizer] batch_size = 8",
                 "only allowed with a method that takes mini-batches", 'use method = "sgd"')


def test_missing_required(tmp_path):
    msg, f = error(tmp_path, toml(optimizer="steps = 10"))
    assert_names(msg, f, "[optimizer] learning_rate is missing", "a finite number > 0", "[grid]")
    msg, f = error(tmp_path, toml(data="dim = 3"))
    assert_names(msg, f, "[data] kind is missing", '"gaussian"', '"breast_cancer"')


def test_sweepable_names_are_unique_and_known():
    assert "steps" not in SWEEPABLE and "kind" not in SWEEPABLE and "path" not in SWEEPABLE
    assert {"noise_rate", "loss", "dim", "learning_rate", "batch_size"} <= set(SWEEPABLE)
    assert isinstance(load_scenario(QUICKSTART), Scenario)


# --------------------------------------------------------------------------- new tables and keys


def test_analysis_and_record_weights(tmp_path):
    text = toml(record='weights = "last"', top="")
    text += '[analysis]\nbins = 10\ngroups = ["geometry", "test"]\nplatt_at = "last"\n'
    s = load_scenario(write(tmp_path, text, "ok.toml"))
    assert s.record["weights"] == "last"
    assert dict(s.analysis) == {"bins": 10, "groups": ("geometry", "test"), "platt_at": "last"}
    with pytest.raises(TypeError):
        s.analysis["bins"] = 3
    assert load_scenario(write(tmp_path, toml(record="weights = false"), "w.toml")).record[
        "weights"
    ] is False


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("[analysis]\nbins = 0", ["[analysis] bins = 0", "an integer in [1, 1000]"]),
        ("[analysis]\nbins = 2.5", ["[analysis] bins = 2.5", "(got a float)"]),
        ('[analysis]\ngroups = ["test", "calibraton"]',
         ['unknown "calibraton"', 'did you mean "calibration"?', '"platt", "entropy"']),
        ('[analysis]\ngroups = ["test", "test"]', ["a non-empty list of distinct names"]),
        ("[analysis]\ngroups = []", ["[analysis] groups = []", "non-empty list"]),
        ('[analysis]\nplatt_at = "first"', ['platt_at = "first"', 'one of "all", "last"']),
        ("[analysis]\nbin = 3", ["unknown key in [analysis]", 'did you mean "bins"?']),
        ('[record]\nweights = "first"', ['[record] weights = "first"', 'true, false or "last"']),
        ("[record]\nweights = 1", ["[record] weights = 1", "(got an integer)"]),
        ("[grid]\nbins = [10, 20]", ["[grid] bins", "[analysis] options cannot be swept"]),
        ("[grid]\nweights = [true, false]", ["[record] options cannot be swept"]),
        ("[optimizer]\nweights = true\nlearning_rate = 1\nsteps = 3", ["belongs in [record]"]),
    ],
)  # fmt: skip
def test_new_table_errors(tmp_path, body, parts):
    text = 'name = "t"\n[data]\nkind = "gaussian"\n'
    if not body.startswith("[optimizer]"):
        text += "[optimizer]\nlearning_rate = 1\nsteps = 10\n"
    msg, f = error(tmp_path, text + body + "\n")
    assert_names(msg, f, *parts)


def test_defaults_are_not_written_into_the_text():
    """The text (and so the SHA-256) of a scenario is what was written, defaults left out."""
    s = load_scenario({"name": "m", "data": {"kind": "gaussian"},
                       "optimizer": {"learning_rate": 1, "steps": 5}})  # fmt: skip
    assert s.text == 'name = "m"\n\n[data]\nkind = "gaussian"\n\n[optimizer]\nlearning_rate = 1\n' \
        "steps = 5\n"
    assert s.sha256 == hashlib.sha256(s.text.encode()).hexdigest()
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        assert load_scenario(path).sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_bundled_kinds_and_their_split_options(tmp_path):
    s = load_scenario(write(tmp_path, toml(data='kind = "iris"\ntest_fraction = 0.3'), "a.toml"))
    assert dict(s.data) == {"kind": "iris", "intercept": False, "train_fraction": None,
                            "test_fraction": 0.3, "standardize": True, "features": None}
    s = load_scenario(write(tmp_path, toml(data='kind = "breast_cancer"'), "b.toml"))
    assert s.data["train_fraction"] == 0.7 and s.data["test_fraction"] is None
    msg, f = error(tmp_path, toml(data='kind = "wine"\ntrain_fraction = 0.6\ntest_fraction = 0.2'))
    assert_names(msg, f, "[data] train_fraction = 0.6, [data] test_fraction = 0.2",
                 "either train_fraction", "not both")  # fmt: skip
    msg, f = error(tmp_path, toml(data='kind = "iris"\nfeatures = 5'))
    assert_names(msg, f, "[data] features = 5", "an integer k in [1, 4]")
    msg, f = error(tmp_path, toml(data='kind = "wine"', grid="features = [2, 14]"))
    assert_names(msg, f, "[grid] features = 14", "item 2", "[1, 13]")
    msg, f = error(tmp_path, toml(data='kind = "gaussian"\nstandardize = true'))
    assert_names(msg, f, 'not an option of [data] kind = "gaussian"', '"breast_cancer"')


def test_file_options(tmp_path):
    (tmp_path / "m.csv").write_text("a,b,diagnosis\n1,2,M\n3,4,B\n5,6,M\n7,8,B\n9,1,B\n")
    base = 'kind = "file"\npath = "m.csv"\nlabel = "diagnosis"\npositive = "M"\n'
    s = load_scenario(write(tmp_path, toml(data=base + "test_fraction = 0.4"), "ok.toml"))
    digest = hashlib.sha256((tmp_path / "m.csv").read_bytes()).hexdigest()
    assert s.data_sha256 == digest and s.data["positive"] == "M" and s.data["standardize"] is False
    pinned = toml(data=base + f'test_fraction = 0.4\nsha256 = "{digest.upper()}"')
    assert load_scenario(write(tmp_path, pinned, "pin.toml")).data["sha256"] == digest
    msg, f = error(tmp_path, toml(data=base + f'test_fraction = 0.4\nsha256 = "{"0" * 64}"'))
    assert_names(msg, f, "[data] sha256", f"SHA-256 {digest}", "not the file this scenario pins")
    msg, f = error(tmp_path, toml(data=base.replace('"diagnosis"\n', '"diag"\n')))
    assert_names(msg, f, '[data] path = "m.csv"', "unusable data file", "no label column 'diag'")
    msg, f = error(tmp_path, toml(data=base + "test_fraction = 0.9"))
    assert_names(msg, f, "test_fraction=0.9 leaves 0 training samples of 5")
    msg, f = error(tmp_path, toml(data=base + 'sha256 = "abc"'))
    assert_names(msg, f, '[data] sha256 = "abc"', "a SHA-256 hex digest")
    msg, f = error(tmp_path, toml(data=base, grid='positive = ["M", "B"]'))
    assert_names(msg, f, "[grid] positive", "cannot be swept", "label value of one file")


def test_file_values_are_checked_before_any_compute(tmp_path):
    (tmp_path / "t.csv").write_text("a,y\n1,B\n2,M\n3,B\n")
    msg, f = error(tmp_path, toml(data='kind = "file"\npath = "t.csv"\nlabel = "y"'))
    assert_names(msg, f, '[data] path = "t.csv"', "unusable data file", "text labels (B, M)",
                 "set positive")  # fmt: skip
    np.savez(tmp_path / "b.npz", x_train=np.ones((5, 2)), y_train=[0, 1, 2, 0, 1])
    msg, f = error(tmp_path, toml(data='kind = "file"\npath = "b.npz"'))
    assert_names(msg, f, '[data] path = "b.npz"', "y_train must hold labels in {0, 1}")
