"""The sweep pipeline: plan (work order, chunks, boxes), chunk, store, end to end."""

from __future__ import annotations

import collections
import itertools

import numba
import numpy as np
import pytest

import logsim
from logsim import chunk as chunkmod
from logsim import data as datamod
from logsim import planner as planmod
from logsim.chunk import compute_chunk
from logsim.scenario import load_scenario
from logsim.store import MemoryWriter
from logsim.sweep import layout


def _scenario(seeds=4, **grid):
    return {
        "name": "pipeline",
        "data": {"kind": "gaussian", "n_test": 60, "dim": 3},
        "optimizer": {"learning_rate": 0.5, "steps": 30},
        "record": {"checkpoints": 5},
        "grid": {"loss": ["logistic", "hinge"], "noise_rate": [0.0, 0.2],
                 "n_train": [20, 30], "smoothing": [0.0, 0.1], "seed": seeds, **grid},
    }


# ----------------------------------------------------------------------------- the plan


@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 5), (1, 6, 1, 2)])
def test_boxes_cover_every_flat_range_exactly_once(shape):
    size = int(np.prod(shape))
    for start, stop in itertools.combinations(range(size + 1), 2):
        seen = np.zeros(shape, dtype=int)
        covered = []
        for slices, lo, hi in planmod.boxes(start, stop, shape):
            box = np.arange(size).reshape(shape)[slices].ravel()
            np.testing.assert_array_equal(box, np.arange(lo, hi))  # C order of the box
            seen[slices] += 1
            covered.append((lo, hi))
        assert seen.ravel()[start:stop].tolist() == [1] * (stop - start)
        assert seen.sum() == stop - start
        assert covered[0][0] == start and covered[-1][1] == stop
        assert all(a[1] == b[0] for a, b in itertools.pairwise(covered))
        assert len(covered) <= 2 * len(shape) - 1


def test_work_order_puts_data_then_labels_then_the_rest():
    plan = planmod.make_plan(_scenario(), chunk_size=8)
    assert plan.axes == ("loss", "noise_rate", "n_train", "smoothing", "seed")
    assert plan.data_axes == ("n_train", "seed")
    assert plan.label_axes == ("noise_rate", "smoothing")
    assert plan.work_axes == ("n_train", "seed", "noise_rate", "smoothing", "loss")
    assert (plan.n_draws, plan.n_targets, plan.cells_per_draw) == (8, 32, 8)
    cells = plan.cells(range(plan.n_trajectories))
    # every draw's cells are consecutive, and so are a target set's
    keys = [(c["n_train"], c["seed"]) for c in cells]
    assert len({k for k, _ in itertools.groupby(keys)}) == plan.n_draws
    tkeys = [(c["n_train"], c["seed"], c["noise_rate"], c["smoothing"]) for c in cells]
    assert len({k for k, _ in itertools.groupby(tkeys)}) == plan.n_targets
    assert [plan.draw_of(w) for w in range(16)] == [0] * 8 + [1] * 8


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 5, 8, 9, 17, 64, 100])
def test_chunks_partition_the_cells_and_respect_draws_and_target_sets(chunk_size):
    plan = planmod.make_plan(_scenario(seeds=3), chunk_size=chunk_size)
    spans = [plan.chunk_range(c) for c in range(plan.n_chunks)]
    assert spans[0].start == 0 and spans[-1].stop == plan.n_trajectories
    assert all(a.stop == b.start for a, b in itertools.pairwise(spans))
    assert all(0 < len(s) <= chunk_size for s in spans)
    for span in spans:
        draws = {plan.draw_of(w) for w in span}
        targets = {plan.target_of(w) for w in span}
        if chunk_size >= plan.cells_per_draw:
            assert span.start % plan.cells_per_draw == 0  # whole draws only
        elif chunk_size >= plan.cells_per_target:
            assert len(draws) == 1 and span.start % plan.cells_per_target == 0
        else:
            assert len(targets) == 1
    owners = collections.Counter(t for s in spans for t in plan.owned(s, plan.cells_per_target))
    assert sorted(owners) == list(range(plan.n_targets)) and set(owners.values()) == {1}
    with pytest.raises(ValueError, match="is not a chunk of this plan"):
        plan.chunk_range(plan.n_chunks)


def test_placements_fill_every_value_once_in_grid_order():
    scen = load_scenario(_scenario(seeds=3))
    plan = planmod.make_plan(scen, chunk_size=5)
    writer = MemoryWriter(layout(plan))
    counts = {name: np.zeros(arr.shape, dtype=int) for name, arr in writer.arrays.items()}
    for c in range(plan.n_chunks):
        result = compute_chunk(plan, c)
        for name, slices, block in plan.placements(c, result.arrays):
            counts[name][slices] += 1
            writer.write(name, slices, block)
    for name, n in counts.items():
        assert n.min() == 1 and n.max() == 1, name
    ds = writer.finish()
    # cell labels land where the grid says: loss of the hinge cells is hinge's own
    hinge = ds["test_loss"].sel(loss="hinge").isel(step=-1).values
    logistic = ds["test_nll"].sel(loss="hinge").isel(step=-1).values
    assert not np.allclose(hinge, logistic)
    seeds = ds["x_train"].sel(n_train=20).values
    for s in range(3):
        want = datamod.make_data("gaussian", seed=s, n_train=20, n_test=60, dim=3).x_train
        np.testing.assert_array_equal(seeds[s, :20], want)
        assert np.isnan(seeds[s, 20:]).all()  # padded to the widest draw


# ----------------------------------------------------------------------------- whole runs


def test_same_hash_for_every_chunk_size_and_thread_count():
    scen = load_scenario(_scenario(seeds=3))
    reference = logsim.run(scen, chunk_size=plan_cells(scen))
    before = numba.get_num_threads()
    try:
        for chunk_size, threads in [(1, 1), (7, 2), (13, 1), (48, 2)]:
            numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
            ds = logsim.run(scen, chunk_size=chunk_size)
            assert ds.attrs["content_sha256"] == reference.attrs["content_sha256"], chunk_size
    finally:
        numba.set_num_threads(before)


def plan_cells(scen) -> int:
    return planmod.make_plan(scen).n_trajectories


def test_a_sweep_of_many_seeds_draws_each_data_set_once(monkeypatch):
    calls = collections.Counter()
    real = datamod.make_data

    def counting(kind, *, seed, **kw):
        calls[seed] += 1
        return real(kind, seed=seed, **kw)

    monkeypatch.setattr(datamod, "make_data", counting)
    chunkmod._DRAWS.entries.clear()
    chunkmod._DRAWS.bytes = 0
    scen = {
        "name": "many-seeds",
        "data": {"kind": "gaussian", "n_train": 20, "n_test": 20, "dim": 2},
        "optimizer": {"learning_rate": 0.5, "steps": 5},
        "record": {"checkpoints": 2},
        "grid": {"loss": ["logistic", "hinge"], "noise_rate": [0.0, 0.1], "seed": 320},
    }
    ds = logsim.run(scen, chunk_size=64)
    assert ds.sizes["seed"] == 320
    assert set(calls.values()) == {1} and len(calls) == 320  # the plan draws nothing


# ----------------------------------------------------------------------------- options


def _small(**tables):
    scen = {
        "name": "options",
        "data": {"kind": "gaussian", "n_train": 40, "n_test": 200, "dim": 3},
        "optimizer": {"learning_rate": 0.5, "steps": 40},
        "record": {"checkpoints": 6},
        "grid": {"loss": ["logistic", "hinge"], "seed": 3},
    }
    for table, values in tables.items():
        scen.setdefault(table, {}).update(values)
    return scen


def test_analysis_options_change_what_is_stored():
    full = logsim.run(_small())
    chosen = logsim.run(_small(analysis={"groups": ["test", "entropy"], "bins": 10,
                                         "platt_at": "last"}))
    for name in ("test_nll", "test_accuracy", "entropy_floor", "train_kl_gap"):
        np.testing.assert_array_equal(chosen[name].values, full[name].values, err_msg=name)
    for name in ("test_ece", "platt_slope", "w_hat", "direction_gap", "separable"):
        assert name not in chosen, name
    tens = logsim.run(_small(analysis={"bins": 10}))
    assert "10 equal-width bins" in tens["test_ece"].attrs["long_name"]
    assert not np.allclose(tens["test_ece"].values, full["test_ece"].values)
    # the NumPy reference of the same cell with 10 bins
    from logsim import metrics

    cell = {"loss": "hinge", "seed": 1}
    X, y = tens["x_test"].sel(seed=1).values, tens["y_test"].sel(seed=1).values
    w = tens["weights"].sel(cell).isel(step=-1).values
    want = metrics.ece(metrics.sigmoid(X @ w), y, bins=10)
    assert float(tens["test_ece"].sel(cell).isel(step=-1)) == pytest.approx(want, rel=1e-12)
    last = logsim.run(_small(analysis={"platt_at": "last"}))
    assert np.isnan(last["platt_slope"].isel(step=slice(0, -1)).values).all()
    np.testing.assert_allclose(last["platt_slope"].isel(step=-1).values,
                               full["platt_slope"].isel(step=-1).values, rtol=1e-9)


def test_record_weights_options():
    full = logsim.run(_small())
    none = logsim.run(_small(record={"weights": False}))
    assert "weights" not in none
    np.testing.assert_array_equal(none["direction_gap"].values, full["direction_gap"].values)
    last = logsim.run(_small(record={"weights": "last"}))
    assert last["weights"].dims[-2:] == ("weight_step", "feature")
    assert last["weight_step"].values.tolist() == [40]
    np.testing.assert_array_equal(last["weights"].isel(weight_step=0).values,
                                  full["weights"].isel(step=-1).values)


@pytest.mark.parametrize(("table", "bad", "needle"), [
    ("analysis", {"bins": 0}, "[analysis] bins"),
    ("analysis", {"groups": ["calibration", "colour"]}, "[analysis] groups"),
    ("analysis", {"platt_at": "first"}, "[analysis] platt_at"),
    ("analysis", {"bin": 10}, "unknown key in [analysis]"),
    ("record", {"weights": "some"}, "[record] weights"),
])
def test_bad_options_are_refused_with_their_key(table, bad, needle):
    with pytest.raises(logsim.ScenarioError) as err:
        logsim.run(_small(**{table: bad}))
    assert needle in str(err.value)


def test_a_loss_that_grew_is_flagged_unstable_and_named_readably():
    from logsim.chunk import UNSTABLE_FACTOR

    scen = {
        "name": "too-big-a-step",
        "data": {"kind": "gaussian", "n_train": 50, "n_test": 50, "dim": 3},
        "optimizer": {"steps": 30},
        "record": {"checkpoints": 4},
        "grid": {"loss": ["logistic", "hinge"], "learning_rate": [0.1, 1e6], "seed": 2},
    }
    with pytest.warns(logsim.InstabilityWarning) as caught:
        ds = logsim.run(scen)
    loss = ds["train_loss"]
    grew = (loss.isel(step=-1) > UNSTABLE_FACTOR * loss.isel(step=0)) | ds["diverged"]
    np.testing.assert_array_equal(ds["unstable"].values, grew.values)
    assert ds["unstable"].sel(learning_rate=1e6).all()  # 17,000 from 0.69 before the change
    assert not ds["unstable"].sel(learning_rate=0.1).any()
    message = str(caught[0].message)
    assert "4 of 8 trajectories are unstable" in message
    assert "(loss=logistic, learning_rate=1000000.0, seed=0); " in message


def test_optimisers_long_run_records_and_freezing_are_stored(tmp_path, capsys):
    from logsim.cli import main

    scen = {
        "name": "optimisers",
        "data": {"kind": "separable", "n_train": 30, "n_test": 50, "dim": 3, "margin": 0.5},
        "optimizer": {"learning_rate": 0.5, "steps": 400, "beta2": 0.99, "eps": 0.0},
        "record": {"checkpoints": 8},
        "grid": {"loss": ["logistic", "hinge"], "method": ["gd", "momentum", "adam"],
                 "seed": 2},
    }
    ds = logsim.run(scen)
    direct = logsim.engine.run_batch(
        ds["x_train"].sel(seed=1).values, ds["targets"].sel(seed=1).values, loss="hinge",
        method="adam", learning_rate=0.5, steps=400, checkpoints=ds["step"].values,
        beta2=0.99, eps=0.0, batch_seed=1)
    cell = {"loss": "hinge", "method": "adam", "seed": 1}
    np.testing.assert_array_equal(ds["weights"].sel(cell).values, direct.weights[0])
    np.testing.assert_array_equal(ds["log_train_loss"].sel(cell).values,
                                  direct.log_train_loss[0])
    want = np.nan if direct.frozen_at[0] < 0 else direct.frozen_at[0]
    np.testing.assert_array_equal(ds["frozen_at"].sel(cell).values, want)
    # where the mean loss is a normal number, log_train_loss is its log
    loss = ds["train_loss"].values
    normal = loss > 1e-290
    np.testing.assert_allclose(ds["log_train_loss"].values[normal], np.log(loss[normal]),
                               rtol=1e-12)
    # hinge GD on separable data stops: its stored weights no longer change after frozen_at
    gd = ds.sel({"loss": "hinge", "method": "gd"})  # method= is a keyword of sel
    for s in range(2):
        t = float(gd["frozen_at"].sel(seed=s))
        assert np.isfinite(t)
        after = gd["weights"].sel(seed=s).sel(step=slice(t, None)).values
        assert (after == after[-1]).all()
    assert np.isnan(ds["frozen_at"].sel({"loss": "logistic", "method": "gd"}).values).all()
    out = tmp_path / "o.nc"
    assert main(["run", _write(tmp_path, scen), "-o", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "trajectories stopped moving: from some step on their weights never changed" in err
    assert main(["show", str(out)]) == 0
    frozen = int(np.isfinite(ds["frozen_at"].values).sum())
    assert f"frozen: {frozen} of 12 trajectories stopped moving" in capsys.readouterr().out


def _write(tmp_path, scen) -> str:
    from logsim.toml_writer import to_toml

    path = tmp_path / f"{scen['name']}.toml"
    path.write_text(to_toml(scen))
    return str(path)


@pytest.mark.parametrize(("optimizer", "needle"), [
    ({"method": "gd", "momentum": 0.5}, 'momentum is only allowed with method = "momentum"'),
    ({"method": "momentum", "beta1": 0.5}, 'only allowed with method = "adam"'),
    ({"method": "gd", "batch_size": 5}, "batch_size is only allowed with a method that takes"),
    ({"method": "normalized_gd", "normalize": "loss", "weight_decay": 0.1},
     'weight_decay > 0 does not go with normalize = "loss"'),
    ({"method": "adam", "schedule": "cosine"}, "[optimizer] schedule"),
])
def test_optimiser_options_are_checked_in_the_scenario(optimizer, needle):
    scen = _small()
    scen["optimizer"].update(optimizer)
    with pytest.raises(logsim.ScenarioError) as err:
        logsim.run(scen)
    assert needle in str(err.value)
