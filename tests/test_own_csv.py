"""Bring your own CSV, end to end: string labels, a stratified split, standardisation.

The README's worked example ("Bring your own CSV") in test form: a CSV file, a
scenario, its data draws, ``logsim run`` and ``logsim plot``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from logsim import cli
from logsim.data import data_shape, make_data, split_indices
from logsim.engine import run_batch
from logsim.scenario import load_scenario

SCENARIO = """\
name = "tumours"
description = "Logistic vs hinge on my own CSV"

[data]
kind = "file"
path = "tumours.csv"
label = "diagnosis"
positive = "M"
test_fraction = 0.3
standardize = true

[optimizer]
learning_rate = 0.5
steps = 200

[grid]
loss = ["logistic", "hinge"]
seed = 3
"""


@pytest.fixture
def project(tmp_path):
    rng = np.random.default_rng(0)
    n = 90
    y = rng.random(n) < 0.4
    x = rng.standard_normal((n, 3)) + np.where(y, 1.0, -1.0)[:, None] * 0.8
    lines = ["radius,texture,area,diagnosis"]
    lines += [",".join(f"{v:.4f}" for v in x[i]) + ("," + ("M" if y[i] else "B")) for i in range(n)]
    (tmp_path / "tumours.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "tumours.toml").write_text(SCENARIO)
    return tmp_path, np.round(x, 4), y.astype(float)


def test_csv_scenario_draws_a_split_per_seed(project):
    folder, x, y = project
    s = load_scenario(folder / "tumours.toml")
    assert s.data_sha256 == hashlib.sha256((folder / "tumours.csv").read_bytes()).hexdigest()
    tests = []
    for _, cell in s.cells():
        params = {k: cell[k] for k in s.data if k != "kind"}
        draw = make_data("file", seed=cell["seed"], **params)
        train, test = split_indices(cell["seed"], y, test_fraction=0.3)
        scaler = StandardScaler().fit(x[train])
        np.testing.assert_allclose(draw.x_train, scaler.transform(x[train]), atol=1e-12)
        np.testing.assert_allclose(draw.x_test, scaler.transform(x[test]), atol=1e-12)
        np.testing.assert_array_equal(draw.y_test, y[test])  # "M" is 1
        shape = data_shape("file", **params)
        assert (shape.n_train, shape.n_test, shape.dim) == (63, 27, 3) == (
            draw.n_train, draw.n_test, draw.dim)  # fmt: skip
        tests.append(tuple(test))
        result = run_batch(draw.x_train, draw.y_train, loss=cell["loss"], steps=20)
        assert np.isfinite(result.train_loss).all()
    assert len(set(tests)) == 3  # one held-out split per seed, shared by both losses


def test_csv_run_and_plot(project, monkeypatch, capsys):
    folder, _, _ = project
    monkeypatch.chdir(folder)
    assert cli.main(["run", "tumours.toml", "--quiet", "-o", "results/tumours.nc"]) == 0
    assert cli.main(["plot", "results/tumours.nc", "-o", "figures"]) == 0
    assert (folder / "figures" / "tumours-loss-vs-step.png").stat().st_size > 10_000
    import xarray as xr

    with xr.open_dataset(folder / "results" / "tumours.nc") as ds:
        assert ds.sizes["test_sample"] == 27
        assert np.isfinite(ds["test_loss"].values).all()


def test_show_names_a_moved_data_file_without_reading_it(tmp_path, monkeypatch, capsys):
    """`logsim show` reports the stored data file and hash; a moved file is said, not fatal."""
    import netCDF4

    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.toml").write_text(
        'name = "s"\n[data]\nkind = "gaussian"\nn_train = 20\nn_test = 10\ndim = 2\n'
        "[optimizer]\nlearning_rate = 0.5\nsteps = 5\n"
    )
    assert cli.main(["run", "s.toml", "--quiet", "-o", "s.nc"]) == 0
    data = tmp_path / "d.csv"
    data.write_text("a,y\n1,0\n2,1\n")
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    with netCDF4.Dataset(tmp_path / "s.nc", "a") as nc:  # as the pipeline stores them
        nc.setncattr("data_path", str(data))
        nc.setncattr("data_sha256", digest)
    capsys.readouterr()
    assert cli.main(["show", "s.nc"]) == 0
    out = capsys.readouterr().out
    assert f"data_file        {data}\n" in out and f"data_sha256      {digest}" in out
    data.rename(tmp_path / "elsewhere.csv")
    assert cli.main(["show", "s.nc"]) == 0
    out = capsys.readouterr().out
    assert f"data_file        {data} (not found there: moved or deleted)" in out
    assert f"data_sha256      {digest}" in out
