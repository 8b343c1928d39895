"""Sweeps on a Dask cluster: same content hash as a local run, worker deaths, resume, errors."""

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

from logsim import distributed as ld
from logsim.chunk import compute_chunk
from logsim.cli import main
from logsim.planner import make_plan
from logsim.sweep import run

pytestmark = pytest.mark.dask

ROOT = Path(__file__).resolve().parents[1]

SMALL = """\
name = "dsmall"
[data]
kind = "gaussian"
n_train = 60
n_test = 200
dim = 4
[grid]
loss = ["logistic", "hinge", "forward"]
noise_rate = [0.0, 0.2]
seed = 2
[optimizer]
learning_rate = 0.5
steps = 400
[record]
checkpoints = 10
"""

# 8 trajectories of about 0.45 s each on one core: chunks long enough to kill a worker mid-task.
SLOW = """\
name = "dslow"
[data]
kind = "gaussian"
n_train = 200
n_test = 200
dim = 10
[grid]
loss = ["logistic", "hinge"]
seed = 4
[optimizer]
learning_rate = 0.5
steps = 300000
[record]
checkpoints = 10
"""


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios")
    paths = {}
    for name, text in (("small", SMALL), ("slow", SLOW)):
        paths[name] = folder / f"{name}.toml"
        paths[name].write_text(text)
    return paths


@pytest.fixture(scope="module")
def local_hash(scenarios):
    """content_sha256 of each scenario run in this process (also warms the Numba cache)."""
    return {name: run(path).attrs["content_sha256"] for name, path in scenarios.items()}


@pytest.fixture(scope="module")
def client(local_hash):
    with ld.connect("local:2") as c:
        c.wait_for_workers(2)
        yield c


def _pids(client):
    return client.run(os.getpid)


def test_same_hash_as_local_for_two_chunk_sizes(client, scenarios, local_hash):
    for chunk_size in (1, 5):
        ds = run(scenarios["small"], scheduler=client, chunk_size=chunk_size)
        assert ds.attrs["content_sha256"] == local_hash["small"]
    assert client.status == "running"  # a Client we were given is left open
    # 12 + 3 tasks over 2 workers, yet each worker loaded each kernel once from the
    # on-disk cache and compiled nothing.
    for worker, stats in client.run(ld.numba_stats).items():
        assert stats, worker
        for name, s in stats.items():
            assert s["cache_misses"] == 0, (worker, name, s)
            assert s["cache_hits"] == s["signatures"], (worker, name, s)


def test_tasks_use_a_share_of_the_cores(client):
    hosts = ld.processes_per_host(client)
    assert sum(hosts.values()) == 2
    threads = client.submit(ld.task_threads, hosts, pure=False).result()
    assert threads == max(1, ld.usable_cores() // 2)
    assert client.submit(ld.task_threads, hosts, 1, pure=False).result() == 1
    assert client.submit(ld.task_threads, {}, pure=False).result() == 1  # unknown host


def _chunk_transitions(client, since):
    """The scheduler's transitions of every chunk task since ``since`` (``time.time()``):
    ``{key: [(from state, to state, stimulus id), ...]}`` in order."""

    def scan(dask_scheduler):
        out = {}
        for key, start, finish, _, stimulus, stamp in dask_scheduler.transition_log:
            if stamp >= since and str(key).startswith("logsim-chunk-"):
                out.setdefault(str(key), []).append((start, finish, str(stimulus)))
        return out

    return client.run_on_scheduler(scan)


def _taken_from_a_dead_worker(transitions):
    """Index of the first transition out of ``processing`` caused by the worker's death."""
    for i, (start, finish, stimulus) in enumerate(transitions):
        if start == "processing" and finish != "memory":
            return i if stimulus.startswith("handle-worker-cleanup") else None
    return None


def test_killed_worker_chunk_is_retried_with_same_hash(client, scenarios, local_hash):
    """A worker killed while it runs a chunk: the chunk runs again elsewhere, same hash."""
    before = _pids(client)
    killed = []  # (worker address, pid, key of the chunk it was running)

    def kill_a_worker_mid_chunk():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            running = client.run(lambda dask_worker: [ts.key for ts in
                                                      dask_worker.state.executing])
            for address, keys in running.items():
                if keys and before.get(address) is not None:
                    os.kill(before[address], signal.SIGKILL)  # a 0.45 s chunk: mid-run
                    killed.append((address, before[address], str(keys[0])))
                    return
            time.sleep(0.02)

    killer = threading.Thread(target=kill_a_worker_mid_chunk)
    since = time.time()
    killer.start()
    try:
        ds = run(scenarios["slow"], scheduler=client, chunk_size=1)
    finally:
        killer.join()
    assert killed, "no worker was running a chunk: nothing was killed"
    _, pid, key = killed[0]
    assert ds.attrs["content_sha256"] == local_hash["slow"]
    # The scheduler's record of that chunk: taken back from the dead worker while it ran
    # (not after it finished), then computed again to the end.
    transitions = _chunk_transitions(client, since)
    interrupted = _taken_from_a_dead_worker(transitions[key])
    assert interrupted is not None, transitions[key]
    assert ("processing", "memory") in [t[:2] for t in transitions[key][interrupted:]]
    client.wait_for_workers(2, timeout=30)  # the nanny restarts it, under a new pid
    assert pid not in _pids(client).values()


def test_resume_after_client_is_killed(client, scenarios, local_hash, tmp_path):
    out = tmp_path / "slow.nc"
    parts = Path(str(out) + ".parts")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "logsim.cli",
            "run",
            str(scenarios["slow"]),
            "-o",
            str(out),
            "--scheduler",
            "local:2",
            "--chunk-size",
            "1",
            "--quiet",
        ],
        cwd=ROOT,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list(parts.glob("chunk-*.npz"))) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, proc.stderr.read().decode()
        group = [p for p in psutil.process_iter() if _pgid(p.pid) == proc.pid]
        assert len(group) >= 3  # the client, and its cluster's nannies and workers
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the client and its cluster: no orphan workers
        proc.wait()
        proc.stderr.close()
    _wait_gone(group)
    saved = len(list(parts.glob("chunk-*.npz")))
    assert 2 <= saved < 8 and not out.exists()

    ds = run(scenarios["slow"], out=out, resume=True, scheduler=client)
    assert ds.attrs["content_sha256"] == local_hash["slow"]
    assert out.exists() and not parts.exists()


def _pgid(pid):
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _wait_gone(procs, timeout=10.0):
    deadline = time.monotonic() + timeout
    alive = procs
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        time.sleep(0.05)
    assert not alive, f"processes survived the kill: {alive}"


def test_bad_address_fails_with_one_line_from_the_cli(scenarios, tmp_path, capsys):
    code = main(
        [
            "run",
            str(scenarios["small"]),
            "-o",
            str(tmp_path / "x.nc"),
            "--quiet",
            "--scheduler",
            "tcp://127.0.0.1:1",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "cannot reach a Dask scheduler at 'tcp://127.0.0.1:1'" in err
    assert f"within {ld.CONNECT_TIMEOUT:g} s" in err  # the time it gave up after, stated


def test_bad_address_from_the_api(scenarios, monkeypatch):
    monkeypatch.setattr(ld, "CONNECT_TIMEOUT", 1.0)
    plan = make_plan(scenarios["small"])
    stated = r"Dask scheduler at 'tcp://127\.0\.0\.1:1' within 1 s"  # the timeout it used
    with pytest.raises(ConnectionError, match=stated):
        list(ld.dask_chunks(plan, [0], "tcp://127.0.0.1:1"))


@pytest.mark.parametrize("bad", ["local:0", "local:x", "local:10000", "local:"])
def test_bad_local_spec(scenarios, bad):
    with pytest.raises(ValueError, match="local:N with N an integer"):
        list(ld.dask_chunks(make_plan(scenarios["small"]), [0], bad))


def test_scheduler_of_wrong_type(scenarios):
    with pytest.raises(TypeError, match="scheduler must be"):
        list(ld.dask_chunks(make_plan(scenarios["small"]), [0], 8786))


def test_local_cluster_is_closed_on_interrupt(scenarios):
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    plan = make_plan(scenarios["small"], 1)
    chunks = ld.dask_chunks(plan, range(plan.n_chunks), "local:1")
    first = next(chunks)
    assert first.chunk in range(plan.n_chunks)
    started = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    assert started
    with pytest.raises(KeyboardInterrupt):
        chunks.throw(KeyboardInterrupt)
    _wait_gone(started)


def test_missing_dask_names_the_extra(scenarios, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"logsim\[dask\]"):
        list(ld.dask_chunks(make_plan(scenarios["small"]), [0], "local:1"))


def test_plan_spec_pickles_and_rebuilds_the_same_plan(scenarios):
    plan = make_plan(scenarios["small"], 5)
    spec = pickle.loads(pickle.dumps(ld.PlanSpec.of(plan)))
    rebuilt = spec.plan()
    assert rebuilt.scenario == plan.scenario and rebuilt.chunk_size == 5
    assert spec.plan() is rebuilt  # once per process
    a, b = compute_chunk(plan, 1), compute_chunk(rebuilt, 1)
    for name, x in a.arrays.items():
        np.testing.assert_array_equal(x, b.arrays[name])


def test_overhead_benchmark_reports(client, scenarios):
    from logsim.bench.dask_overhead import overhead_benchmark

    report = overhead_benchmark(scenarios["small"], chunk_size=1, scheduler=client)
    assert report["chunks"] == 12 and report["n_workers"] == 2
    for key in ("local_seconds", "dask_seconds", "compute_seconds"):
        assert report[key] > 0
    assert {"overhead_per_chunk_seconds", "wall_overhead_per_chunk_seconds"} <= set(report)
    assert report["client_cpu_seconds"] > 0 and report["worker_cpu_seconds"] > 0
    assert report["client_cpu_share"] == pytest.approx(
        report["client_cpu_seconds"]
        / (report["client_cpu_seconds"] + report["worker_cpu_seconds"]))
