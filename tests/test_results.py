"""`logsim run` end to end: stored files, provenance, content hash, resume, refusal of damage."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

from logsim import store as results
from logsim.cli import main
from logsim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]

SMALL = """\
name = "small"
description = "tiny sweep for tests"
references = ["Soudry et al. 2018"]

[data]
kind = "gaussian"
n_train = 40
n_test = 300
dim = 3

[grid]
loss = ["logistic", "hinge", "forward"]
noise_rate = [0.0, 0.2]
seed = 3

[optimizer]
learning_rate = 0.5
steps = {steps}

[record]
checkpoints = 12
"""


def _scenario(tmp_path, steps=300, name="small", extra=""):
    path = tmp_path / f"{name}.toml"
    path.write_text(SMALL.format(steps=steps).replace('name = "small"', f'name = "{name}"')
                    + extra)
    return path


def test_content_hash_is_sha256_of_the_documented_canonical_bytes():
    # The canonical form written out by hand (docs/design.md, "Content hash"): per
    # variable in name order, "name|dims|", the shape joined by "x" and ":", a type tag,
    # then the values in C order (little-endian float64, one NaN bit pattern).
    import hashlib
    import struct

    odd_nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0BAD))[0]
    ds = xr.Dataset({"a": (("i", "j"), np.array([[1.5, odd_nan], [-0.0, 2.0]]).T),
                     "empty": (("k", "m"), np.zeros((3, 0)))})
    h = hashlib.sha256()
    h.update(b"a|i,j|2x2:f" + struct.pack("<4d", 1.5, -0.0, odd_nan, 2.0).replace(
        struct.pack("<d", odd_nan), struct.pack("<d", np.nan)))
    h.update(b"empty|k,m|3x0:f")
    assert results.content_hash(ds) == h.hexdigest()


def test_run_writes_netcdf_readable_without_logsim(tmp_path, capsys):
    scen = _scenario(tmp_path)
    out = tmp_path / "small.nc"
    assert main(["run", str(scen), "-o", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "content_sha256" in printed
    with netCDF4.Dataset(out) as nc:
        for attr in ("title", "Conventions", "history", "source", "references", "scenario",
                     "scenario_sha256", "python_version", "numpy_version", "numba_version",
                     "xarray_version", "netcdf4_version", "platform", "date_created",
                     "content_sha256"):
            assert attr in nc.ncattrs(), attr
        assert nc.getncattr("scenario") == scen.read_text()
        assert nc.variables["weights"].dimensions == ("loss", "noise_rate", "seed", "step",
                                                      "feature")
        # uncompressed (the size is known before the run), in chunks a chunk fills whole
        assert not nc.variables["weights"].filters()["zlib"]
        assert nc.variables["weights"].chunking() != "contiguous"
    with xr.open_dataset(out) as ds:
        assert ds.sizes["loss"] == 3 and ds.sizes["seed"] == 3 and ds.sizes["step"] == 12
        assert ds["step"].values[0] == 0 and ds["step"].values[-1] == 300
        for name in ("weights", "train_loss", "test_loss", "test_accuracy", "diverged",
                     "x_train", "targets", "clean_labels", "x_test", "y_test", "p_test"):
            assert "long_name" in ds[name].attrs and "units" in ds[name].attrs, name
        # data stored once per seed, targets over the axes that change them
        assert ds["x_train"].dims == ("seed", "sample", "feature")
        assert ds["targets"].dims == ("noise_rate", "seed", "sample")
        assert ds["transition_rho_pos"].sel(loss="forward", noise_rate=0.2).values.tolist() \
            == [0.2, 0.2, 0.2]


def test_stored_result_can_be_rechecked_without_logsim(tmp_path):
    """Recompute a stored trajectory's test accuracy and GD step from the stored arrays."""
    scen = _scenario(tmp_path)
    scen.write_text(scen.read_text().replace("checkpoints = 12", "checkpoints = [0, 1, 7, 300]"))
    out = tmp_path / "r.nc"
    assert main(["run", str(scen), "-o", str(out), "--quiet"]) == 0
    ds = results.open_results(out)
    cell = dict(loss="logistic", noise_rate=0.2, seed=1)
    w = ds["weights"].sel(cell).values
    x, y = ds["x_test"].sel(seed=1).values, ds["y_test"].sel(seed=1).values
    acc = ((x @ w.T > 0) == (y[:, None] > 0.5)).mean(axis=0)
    np.testing.assert_allclose(ds["test_accuracy"].sel(cell).values, acc)
    # the first step from w = 0 is -eta * X^T (1/2 - y) / n on the stored targets
    X = ds["x_train"].sel(seed=1).values
    t = ds["targets"].sel(noise_rate=0.2, seed=1).values
    assert ds["step"].values[1] == 1
    np.testing.assert_allclose(w[1], -0.5 * X.T @ (0.5 - t) / len(t), rtol=1e-12)


def test_same_hash_for_one_and_two_threads(tmp_path):
    scen = _scenario(tmp_path)
    a = results.open_results(_run(scen, tmp_path / "a.nc", "--threads", "1"))
    b = results.open_results(_run(scen, tmp_path / "b.nc", "--threads", "2",
                                  "--chunk-size", "5"))
    assert a.attrs["content_sha256"] == b.attrs["content_sha256"]
    assert a.attrs["date_created"] <= b.attrs["date_created"]


def _run(scen, out, *extra):
    assert main(["run", str(scen), "-o", str(out), "--quiet", *extra]) == 0
    return out


def test_killed_run_resumes_to_the_identical_result(tmp_path):
    scen = _scenario(tmp_path, steps=30000, name="killme",
                     extra="")
    reference = results.open_results(_run(scen, tmp_path / "ref.nc"))  # any chunking: same bits
    out = tmp_path / "killed.nc"
    parts = Path(str(out) + ".parts")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logsim.cli", "run", str(scen), "-o", str(out), "--quiet",
         "--chunk-size", "1", "--threads", "1"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if parts.exists() and len(list(parts.glob("chunk-*.npz"))) >= 3:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    saved = len(list(parts.glob("chunk-*.npz")))
    assert not out.exists(), "the run finished before it could be killed: make it longer"
    assert 3 <= saved < 18
    # without --resume the saved chunks are not silently thrown away
    assert main(["run", str(scen), "-o", str(out), "--quiet"]) == 2
    resumed = results.open_results(_run(scen, out, "--resume"))
    assert resumed.attrs["content_sha256"] == reference.attrs["content_sha256"]
    assert not parts.exists()
    # the killed writer's temporary file is gone too (its process no longer runs)
    assert not list(tmp_path.glob(".killed.nc.tmp-*"))


@pytest.mark.parametrize("signum, code, said", [
    (signal.SIGTERM, 143, "terminated (SIGTERM); finished chunks are kept, continue with "
                          "--resume"),
    (signal.SIGINT, 130, "interrupted; finished chunks are kept, continue with --resume")])
def test_sigterm_and_ctrl_c_stop_and_resume_to_the_same_hash(tmp_path, signum, code, said):
    # 0.2 s a chunk, 18 chunks: the signal comes after the first, with ~3 s of work left,
    # so a loaded machine delaying the poll below by a second does not let the run finish
    scen = _scenario(tmp_path, steps=60000, name="termme")
    scen.write_text(scen.read_text().replace("n_train = 40", "n_train = 1500"))
    reference = results.open_results(_run(scen, tmp_path / "ref.nc"))  # any chunking: same bits
    out = tmp_path / "term.nc"
    parts = Path(str(out) + ".parts")
    proc = subprocess.Popen(
        [sys.executable, "-m", "logsim.cli", "run", str(scen), "-o", str(out), "--quiet",
         "--chunk-size", "1", "--threads", "1"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if parts.exists() and list(parts.glob("chunk-*.npz")):
            break
        time.sleep(0.005)
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert not out.exists(), f"the run finished though stopped (exit {proc.returncode}): {err}"
    assert proc.returncode == code, err
    assert err.strip().splitlines() == [f"logsim run: {said}"]
    assert not out.exists() and parts.exists()
    assert not list(tmp_path.glob(".term.nc.tmp-*"))  # the writer cleaned up after itself
    resumed = results.open_results(_run(scen, out, "--resume"))
    assert resumed.attrs["content_sha256"] == reference.attrs["content_sha256"]


def test_a_stop_swallowed_while_a_chunk_is_written_still_stops_at_the_chunk_end(
        tmp_path, monkeypatch):
    # A signal landing inside netCDF4's slice indexing is swallowed by its bare `except:`;
    # the handler's request makes the run stop after that chunk all the same.
    from logsim import stopping, sweep

    scen = _scenario(tmp_path, steps=50)
    reference = results.open_results(_run(scen, tmp_path / "ref.nc"))
    write = results.NetCDFWriter.write

    def write_and_swallow_a_signal(self, name, slices, block):
        if not hasattr(self, "_signalled"):
            self._signalled = True
            stopping.request(stopping.Terminated)  # what the handler does before raising
        write(self, name, slices, block)

    monkeypatch.setattr(results.NetCDFWriter, "write", write_and_swallow_a_signal)
    out = tmp_path / "stopped.nc"
    parts = Path(str(out) + ".parts")
    with pytest.raises(stopping.Terminated):
        sweep.run_to_file(load_scenario(scen), out, chunk_size=1, threads=1)
    assert not out.exists()
    assert len(list(parts.glob("chunk-*.npz"))) == 1
    monkeypatch.undo()
    resumed = results.open_results(_run(scen, out, "--resume"))
    assert resumed.attrs["content_sha256"] == reference.attrs["content_sha256"]


def test_resume_with_nothing_to_resume_says_so(tmp_path, capsys):
    scen = _scenario(tmp_path, steps=20)
    out = tmp_path / "fresh.nc"
    assert main(["run", str(scen), "-o", str(out), "--quiet", "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"nothing to resume under {out}.parts/: starting afresh" in err
    assert out.exists()


def test_resume_with_a_different_scenario_is_refused(tmp_path, capsys):
    scen = _scenario(tmp_path)
    out = tmp_path / "x.nc"
    parts = Path(str(out) + ".parts")
    parts.mkdir()
    (parts / "manifest.json").write_text('{"scenario_sha256": "abc", "chunk_size": 1}')
    assert main(["run", str(scen), "-o", str(out), "--quiet", "--resume"]) == 2
    assert "different scenario text" in capsys.readouterr().err


def test_flipped_value_is_refused(tmp_path):
    out = _run(_scenario(tmp_path), tmp_path / "f.nc")
    with netCDF4.Dataset(out, "a") as nc:
        v = nc.variables["train_loss"]
        v[0, 0, 0, 5] = v[0, 0, 0, 5] + 1e-9
    with pytest.raises(results.ResultError, match="do not match the stored content_sha256"):
        results.open_results(out)
    assert main(["show", str(out)]) == 2


def test_truncated_and_foreign_files_are_refused(tmp_path):
    out = _run(_scenario(tmp_path), tmp_path / "t.nc")
    cut = tmp_path / "cut.nc"
    cut.write_bytes(out.read_bytes()[: out.stat().st_size // 2])
    with pytest.raises(results.ResultError, match="truncated or not a netCDF file"):
        results.open_results(cut)
    foreign = tmp_path / "foreign.nc"
    xr.Dataset({"a": ("x", np.arange(3.0))}).to_netcdf(foreign)
    with pytest.raises(results.ResultError, match="not a logsim result"):
        results.open_results(foreign)
    with pytest.raises(results.ResultError, match="no such file"):
        results.open_results(tmp_path / "missing.nc")


def test_reading_never_unpickles(tmp_path):
    """A result opens with pickle disabled: nothing in the file can run code."""
    out = _run(_scenario(tmp_path), tmp_path / "p.nc")
    script = textwrap.dedent(f"""
        import pickle
        def refuse(*a, **k):
            raise AssertionError("pickle used while reading a result")
        pickle.loads = pickle.load = refuse
        from logsim.store import open_results
        ds = open_results({str(out)!r})
        print(ds.attrs["content_sha256"])
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr


def test_show_list_and_cite(tmp_path, capsys, monkeypatch):
    (tmp_path / "scenarios").mkdir()
    scen = _scenario(tmp_path / "scenarios")
    out = _run(scen, tmp_path / "results" / "small.nc")
    capsys.readouterr()
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "noise_rate" in shown and "[0.0, 0.2]" in shown and "diverged: 0 of 18" in shown
    assert main(["list", str(tmp_path)]) == 0
    listed = capsys.readouterr().out
    assert "small" in listed and "tiny sweep for tests" in listed
    ds = results.open_results(out)
    assert ds.attrs["content_sha256"][:12] in listed
    assert main(["cite", str(out)]) == 0
    cited = capsys.readouterr().out
    assert cited.startswith("@misc{logsim_small_") and ds.attrs["content_sha256"] in cited
    assert "logsim " + ds.attrs["logsim_version"] in cited


@pytest.mark.parametrize(("edit", "needles"), [
    (lambda s: s.replace("dim = 3", "dimm = 3"), ["[data] dimm", "did you mean", "dim"]),
    (lambda s: s.replace("steps = 300", 'steps = "many"'),
     ["[optimizer] steps", '"many"', "integer"]),
    (lambda s: s.replace("learning_rate = 0.5", "learning_rate = -1.0"),
     ["[optimizer] learning_rate", "-1.0", "> 0"]),
    (lambda s: s.replace("noise_rate = [0.0, 0.2]", "noise_rate = []"),
     ["[grid] noise_rate", "empty", "non-empty"]),
    (lambda s: s.replace("[grid]", "[grid"), ["line"]),
    (lambda s: s.replace('"hinge"', '"hinj"'), ["[grid] loss", "hinj", "logistic"]),
])
def test_bad_scenarios_exit_2_with_a_clear_message(tmp_path, capsys, edit, needles):
    path = tmp_path / "bad.toml"
    path.write_text(edit(SMALL.format(steps=300)))
    assert main(["run", str(path), "-o", str(tmp_path / "bad.nc"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    for needle in needles:
        assert needle in err, (needle, err)
    assert "Traceback" not in err
    assert not (tmp_path / "bad.nc").exists()


def test_cli_subprocess_exit_code_and_no_traceback(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.format(steps=300).replace("[grid]", "[grid"))
    done = subprocess.run([sys.executable, "-m", "logsim.cli", "run", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "Traceback" not in done.stderr and "line" in done.stderr


def test_help_explains_every_verb():
    for verb in ("run", "list", "show", "cite", "plot"):
        done = subprocess.run([sys.executable, "-m", "logsim.cli", verb, "--help"],
                              capture_output=True, text=True, cwd=ROOT)
        assert done.returncode == 0 and "example" in done.stdout, verb


def test_run_api_accepts_a_mapping():
    from logsim import run

    scen = load_scenario({
        "name": "m", "data": {"kind": "gaussian", "n_train": 20, "n_test": 50, "dim": 2},
        "grid": {"seed": 2}, "optimizer": {"learning_rate": 0.1, "steps": 50},
    })
    ds = run(scen)
    assert ds["weights"].dims == ("seed", "step", "feature")
    assert ds.attrs["content_sha256"] == results.content_hash(ds)


def test_run_from_a_clean_working_directory(tmp_path):
    env = dict(os.environ)
    scen = _scenario(tmp_path)
    done = subprocess.run([sys.executable, "-m", "logsim.cli", "run", str(scen), "--quiet"],
                          capture_output=True, text=True, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results" / "small.nc").exists()


def test_user_data_from_npz_and_csv_is_stored_like_generated_data(tmp_path):
    g = np.random.default_rng(1)
    x = g.normal(size=(30, 2))
    y = (x[:, 0] > 0).astype(int)
    np.savez(tmp_path / "mine.npz", x_train=x, y_train=y, x_test=x[:10], y_test=y[:10])
    header = "a,b,label\n"
    rows = "\n".join(f"{float(a)!r},{float(b)!r},{c}" for (a, b), c in zip(x, y, strict=True))
    (tmp_path / "mine.csv").write_text(header + rows + "\n")
    for data_table in ('kind = "file"\npath = "mine.npz"',
                       'kind = "file"\npath = "mine.csv"\nlabel = "label"\ntest_fraction = 0'):
        scen = tmp_path / "user.toml"
        scen.write_text(f'name = "user"\n[data]\n{data_table}\n[grid]\n'
                        'noise_rate = [0.0, 0.2]\nseed = 2\n'
                        "[optimizer]\nlearning_rate = 0.5\nsteps = 20\n")
        out = _run(scen, tmp_path / "user.nc")
        ds = results.open_results(out)
        np.testing.assert_array_equal(ds["x_train"].sel(seed=0).values, x)
        np.testing.assert_array_equal(ds["clean_labels"].sel(seed=1).values, y)
        flipped = ds["targets"].sel(noise_rate=0.2) != ds["clean_labels"]
        assert 0 < int(flipped.sum()) < 30


def test_bad_user_data_is_reported_with_its_path(tmp_path, capsys):
    np.savez(tmp_path / "bad.npz", x_train=np.ones((5, 2)), y_train=np.array([0, 1, 2, 0, 1]))
    scen = tmp_path / "u.toml"
    scen.write_text('name = "u"\n[data]\nkind = "file"\npath = "bad.npz"\n'
                    "[optimizer]\nlearning_rate = 0.5\nsteps = 20\n")
    assert main(["run", str(scen), "-o", str(tmp_path / "u.nc"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.npz" in err and "y_train" in err


def test_forward_correction_with_anchor_estimated_transition(tmp_path):
    scen = _scenario(tmp_path)
    scen.write_text(scen.read_text().replace("[optimizer]", '[optimizer]\ntransition = "anchor"')
                    .replace("n_train = 40", "n_train = 20000\nseparation = 6.0"))
    ds = results.open_results(_run(scen, tmp_path / "anchor.nc"))
    for name in ("transition_rho_pos", "transition_rho_neg"):
        est = ds[name].sel(loss="forward", noise_rate=0.2).values
        assert np.all(np.abs(est - 0.2) < 0.05), est
    assert np.all(ds["transition_rho_pos"].sel(loss="logistic").values == 0.0)


def test_chunks_in_any_order_give_the_run_and_the_file_hashes_as_memory(tmp_path):
    from logsim import sweep
    from logsim.chunk import compute_chunk
    from logsim.planner import make_plan

    scen = load_scenario(_scenario(tmp_path, steps=50))
    reference = sweep.run(scen, chunk_size=18)  # one chunk
    plan = make_plan(scen, chunk_size=5)
    assert plan.n_chunks == 6  # whole draws: 2 of the 3 seeds fit no chunk of 5 cells
    chunks = [compute_chunk(plan, c) for c in range(plan.n_chunks)]
    layout = sweep.layout(plan, {"scenario": scen.text})
    writer = results.MemoryWriter(layout)
    for chunk in reversed(chunks):
        for name, slices, block in plan.placements(chunk.chunk, chunk.arrays):
            writer.write(name, slices, block)
    ds = writer.finish()
    assert ds.attrs["content_sha256"] == reference.attrs["content_sha256"]
    # the same placements streamed into a file hash alike, and xarray reads it back alike
    nc = results.NetCDFWriter(tmp_path / "streamed.nc", layout)
    for chunk in chunks:
        for name, slices, block in plan.placements(chunk.chunk, chunk.arrays):
            nc.write(name, slices, block)
    assert nc.finish() == reference.attrs["content_sha256"]
    back = xr.open_dataset(tmp_path / "streamed.nc").load()
    assert results.content_hash(back) == reference.attrs["content_sha256"]
    xr.testing.assert_equal(back, ds)
    # a chunk whose arrays do not fit its cells is refused by name
    bad = {k: v[:1] for k, v in chunks[0].arrays.items()}
    with pytest.raises(ValueError, match=r"chunk 0: .* has 1 rows, expected"):
        list(plan.placements(0, bad))
