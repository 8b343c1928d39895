"""Sweeps of any size: planned before they run, refused early, streamed, opened lazily."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import netCDF4
import numpy as np
import pytest
import xarray as xr

import logsim
from logsim import chunk as chunkmod
from logsim import estimate
from logsim.cli import main
from logsim.store import content_hash, open_results

GRID = {"loss": ["logistic", "hinge"], "noise_rate": [0.0, 0.2], "seed": 6}


def _scenario(**record):
    return {
        "name": "sized",
        "data": {"kind": "gaussian", "n_train": 60, "n_test": 400, "dim": 5},
        "optimizer": {"learning_rate": 0.5, "steps": 50},
        "record": {"checkpoints": 20, **record},
        "grid": GRID,
    }


def test_dry_run_figures_are_those_of_the_file_it_then_writes(tmp_path):
    est = logsim.plan(_scenario(), out=tmp_path / "sized.nc", calibrate=False)
    assert list(tmp_path.iterdir()) == []  # planning writes nothing
    out = tmp_path / "sized.nc"
    ds = logsim.run(_scenario(), out=out)
    size = os.path.getsize(out)
    assert abs(est.disk_bytes - size) / size < 0.05, (est.disk_bytes, size)
    assert est.result_bytes == sum(v.nbytes for v in ds.data_vars.values())
    with netCDF4.Dataset(out) as nc:
        for name, dims, shape, nbytes in est.variables:
            var = nc.variables[name]
            assert var.dimensions == dims, name
            assert var.shape == shape, name
            assert nbytes == int(np.prod(shape)) * var.dtype.itemsize, name
        assert set(nc.variables) - set(nc.dimensions) == {v[0] for v in est.variables}


def test_dry_run_on_the_command_line_prints_and_writes_nothing(tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    called = []
    monkeypatch.setattr(chunkmod, "compute_chunk", lambda *a: called.append(a))
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[data]\nkind = "gaussian"\n[optimizer]\nlearning_rate = 0.5\n'
                    'steps = 100\n[grid]\nseed = 4\n')
    assert main(["run", str(path), "--dry-run"]) == 0
    printed = capsys.readouterr().out
    for needle in ("4 trajectories", "weights", "on disk", "peak memory", "estimated time",
                   "weights = false", "data = false"):
        assert needle in printed, needle
    assert called == [] and sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_an_oversized_sweep_is_refused_before_any_work(tmp_path, capsys, monkeypatch):
    called = []
    monkeypatch.setattr(chunkmod, "compute_chunk", lambda *a: called.append(a))
    path = tmp_path / "huge.toml"
    rates = ", ".join(f"{0.001 * k:.3f}" for k in range(1, 101))
    path.write_text('name = "huge"\n[data]\nkind = "gaussian"\ndim = 500\n'
                    f'[grid]\nloss = ["logistic", "hinge"]\nlearning_rate = [{rates}]\n'
                    'seed = 500\n[optimizer]\nsteps = 10000\n[record]\ncheckpoints = 10000\n')
    out = tmp_path / "out" / "huge.nc"
    assert main(["run", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    weights = 2 * 100 * 500 * 10000 * 500 * 8  # the array of the issue that ran out of memory
    assert weights == 4.0e12
    est = logsim.plan(path, out=out, calibrate=False)
    assert weights < est.disk_bytes < 1.1 * weights
    assert f"{estimate._size(est.disk_bytes)} on disk" in err and "weights = false" in err
    assert called == []
    assert not (tmp_path / "out").exists()  # no folder, no parts, no temporary file
    # streamed, the same sweep needs little memory (chunks of at most CHUNK_BYTES) ...
    assert est.peak_memory_bytes < 2**30
    estimate.check_resources(est.__class__(**{**est.__dict__, "disk_free": None}))
    # ... and a machine without even that is refused too, naming memory
    est.disk_free = 10 * est.disk_bytes
    with pytest.raises(logsim.ResourceError, match=r"would need about .* of memory"):
        estimate.check_resources(est.__class__(**{**est.__dict__,
                                                  "memory_available": 100 * 2**20}))


def test_a_streamed_result_equals_the_in_memory_one(tmp_path):
    memory = logsim.run(_scenario(), chunk_size=3)
    streamed = logsim.run(_scenario(), chunk_size=5, out=tmp_path / "s.nc")
    assert streamed.attrs["content_sha256"] == memory.attrs["content_sha256"]
    xr.testing.assert_equal(streamed, memory)


def test_large_results_open_lazily_and_verify_block_by_block(tmp_path):
    out = tmp_path / "lazy.nc"
    eager = logsim.run(_scenario(), out=out)
    lazy = open_results(out, lazy=True)
    assert lazy["weights"].chunks is not None  # dask-backed: nothing loaded yet
    assert content_hash(lazy) == eager.attrs["content_sha256"]
    np.testing.assert_array_equal(lazy["test_ece"].median("seed").values,
                                  eager["test_ece"].median("seed").values)
    lazy.close()
    # a damaged byte is still found when the file is verified lazily
    with netCDF4.Dataset(out, "a") as nc:
        nc["test_ece"][0, 0, 0, 3] = 0.123
    with pytest.raises(logsim.ResultError, match="do not match the stored content_sha256"):
        open_results(out, lazy=True)


def test_a_failed_run_leaves_no_folder_behind(tmp_path, monkeypatch):
    def boom(plan, chunk, on_stage=None):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("logsim.sweep.compute_chunk", boom)
    out = tmp_path / "res" / "f.nc"
    with pytest.raises(RuntimeError, match="disk on fire"):
        logsim.run(_scenario(), out=out)
    assert not Path(str(out) + ".parts").exists()
    assert list(out.parent.iterdir()) == []  # the temporary file is gone too


# ----------------------------------------------------------------------------- memory

_WRITER_GROWTH = """
import re, sys
from pathlib import Path
import numpy as np
from logsim.store import Layout, NetCDFWriter

def rss():
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmRSS:\\s+(\\d+) kB$", text, re.M).group(1)) * 1024

rows, width, names = 200, 1000, [f"v{k}" for k in range(20)]
layout = Layout({"row": rows, "col": width}, {},
                {n: (("row", "col"), "f8", {}, (1, width)) for n in names})
writer = NetCDFWriter(Path(sys.argv[1]), layout)
block = np.arange(width, dtype=float)[None]
writer.write(names[0], (slice(0, 1), slice(0, width)), block)  # the first write sets up
before = rss()
for r in range(1, rows):
    for n in names:
        writer.write(n, (slice(r, r + 1), slice(0, width)), block + r)
grown = rss() - before
writer.finish()
print(grown, (rows - 1) * len(names) * width * 8)
"""


def test_the_writer_holds_no_written_chunks_in_memory(tmp_path):
    # Each storage chunk is written whole, once: HDF5's chunk cache (netCDF's default is
    # 64 MiB per variable, write-back) would only keep every chunk written until the
    # file is closed. 20 variables x 200 chunks of 8 kB = 32 MB written here.
    out = tmp_path / "w.nc"
    proc = subprocess.run([sys.executable, "-c", _WRITER_GROWTH, str(out)],
                          capture_output=True, text=True, timeout=120, check=True)
    grown, written = map(int, proc.stdout.split())
    assert grown < 0.2 * written, (grown, written)
    with netCDF4.Dataset(out) as nc:  # and the values are all there
        np.testing.assert_array_equal(nc["v7"][:], np.arange(1000.0) + np.arange(200.0)[:, None])


# The child's own high-water mark, VmHWM: not ru_maxrss, which keeps the peak of the image
# the child was forked from (Linux records the old memory map's peak at exec), so a child
# of a large pytest process reported the parent's size.
_PEAK_OF_A_RUN = """
import re, sys
from pathlib import Path
from logsim.cli import main
code = main(["run", *sys.argv[1:], "--quiet"])
status = Path("/proc/self/status").read_text()
print(int(re.search(r"^VmHWM:\\s+(\\d+) kB$", status, re.M).group(1)) * 1024)
sys.exit(code)
"""


def _big_draw_scenario(n_train: int, seeds: int) -> str:
    return "\n".join([
        'name = "bigdraw"', "[data]", 'kind = "gaussian"', f"n_train = {n_train}",
        "n_test = 10", "dim = 100", "[grid]", "learning_rate = [0.1, 0.2, 0.3, 0.4]",
        f"seed = {seeds}", "[optimizer]", "steps = 5", "[record]", "checkpoints = 2",
        "[analysis]", 'groups = ["test"]', ""])


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM: Linux")
def test_the_peak_memory_estimate_bounds_a_measured_run(tmp_path):
    # A sweep whose 80 MB draws each span four chunks: the terms beyond the process's own
    # size (the chunk's three copies of its whole draw and the draw kept between chunks)
    # are about half of its peak. The estimate charged each chunk only its cells' share
    # of a draw and was 0.67 of the measured peak; a factor 2 either way fails here.
    warm = tmp_path / "warm.toml"  # the same kernel paths (chunks of one cell), so the
    warm.write_text(_big_draw_scenario(n_train=200, seeds=1))  # measured run compiles nothing
    subprocess.run([sys.executable, "-c", _PEAK_OF_A_RUN, str(warm), "-o",
                    str(tmp_path / "warm.nc"), "--chunk-size", "1"], check=True,
                   capture_output=True, timeout=600)
    path = tmp_path / "bigdraw.toml"
    path.write_text(_big_draw_scenario(n_train=100_000, seeds=2))
    out = tmp_path / "bigdraw.nc"
    est = logsim.plan(path, out=out, calibrate=False)
    assert est.plan.chunk_cells == 1 and est.plan.cells_per_draw == 4  # draws span chunks
    proc = subprocess.run([sys.executable, "-c", _PEAK_OF_A_RUN, str(path), "-o", str(out)],
                          check=True, capture_output=True, text=True, timeout=600)
    peak = int(proc.stdout.split()[-1])
    assert 0.9 * peak <= est.peak_memory_bytes <= 1.6 * peak, (est.peak_memory_bytes, peak)
