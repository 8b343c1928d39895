"""The benchmark compares like with like: every baseline computes logsim's trajectories.

These tests check the correctness of the comparison (same data, same batches, same
trajectories to 1e-9), the gate, and the shape of ``logsim bench`` output; never timings.
"""

import dataclasses
import json
import subprocess
import sys
import time

import numpy as np
import pytest

from logsim import cli, rng
from logsim.bench import ceiling, memory_probe, report, suite, workloads
from logsim.bench import cli as bench_cli
from logsim.bench.gate import gate
from logsim.bench.implementations import IMPLEMENTATIONS, JaxBatched, JaxOptax, NumpyBatched
from logsim.bench.machine import machine_info
from logsim.bench.problem import batch_indices, make_problem
from tests import naive

SMALL = {
    "gd": workloads.Workload("T1", "GD logistic", 12, 40, 3, 60, checkpoints=5, seed=21),
    "sgd": workloads.Workload("T2", "SGD, identical batches", 10, 50, 4, 80, method="sgd",
                              batch_size=7, checkpoints=6, seed=22),
    "large_d": workloads.Workload("T4", "large d (d > n)", 6, 30, 80, 25, checkpoints=4,
                                  seed=24),
    "long_separable": workloads.Workload("T3", "long implicit-bias run", 4, 16, 2, 20_000,
                                         checkpoints=15, labels="separable", lr_high=1.5,
                                         seed=23),
}


def _run(name, problem):
    return IMPLEMENTATIONS[name]().prepare(problem)()


@pytest.mark.parametrize("seed", [0, 5, 123])
def test_batch_indices_are_logsims_batches(seed):
    n, b, steps = 13, 4, 30
    got = batch_indices(n, b, [seed, seed + 1], steps)
    assert got.shape == (2, steps, b)
    for r, s in enumerate([seed, seed + 1]):
        key = naive.stream_key(s, rng.STREAM_BATCH)
        want = np.array(list(naive.batch_sequence(n, b, key, steps)))
        np.testing.assert_array_equal(got[r], want)


def test_problem_is_drawn_once_from_a_fixed_seed():
    w = SMALL["gd"]
    a, b = make_problem(w), make_problem(w)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.targets, b.targets)
    # trajectories differ (targets and step sizes), so no implementation can share work
    assert len({row.tobytes() for row in a.targets}) == w.trajectories
    assert len(set(a.learning_rate)) == w.trajectories
    np.testing.assert_array_equal(a.checkpoints[[0, -1]], [0, w.steps])


@pytest.mark.parametrize("case", list(SMALL))
@pytest.mark.parametrize("impl", ["numpy", pytest.param("jax", marks=pytest.mark.jax)])
def test_baseline_computes_logsims_trajectories(case, impl):
    problem = make_problem(SMALL[case])
    W_ref, L_ref = _run("logsim", problem)
    W, L = _run(impl, problem)
    assert W.shape == W_ref.shape and L.shape == L_ref.shape
    assert np.all(np.linalg.norm(W_ref[:, -1], axis=1) > 0.1)  # the runs went somewhere
    np.testing.assert_allclose(W, W_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(L, L_ref, rtol=1e-9, atol=1e-12)
    assert gate((W, L), (W_ref, L_ref))[0]


#: One small full-batch run per optimiser of the optax baseline (step sizes in 1/L).
OPTIMISER_CASES = {
    method: workloads.Workload(f"T-{method}", method, 6, 40, 3, 80, method=method,
                               checkpoints=5, lr_low=lo, lr_high=hi, seed=30 + k)
    for k, (method, lo, hi) in enumerate([("momentum", 0.02, 0.2), ("nesterov", 0.02, 0.2),
                                          ("adam", 0.002, 0.02), ("sign_gd", 0.001, 0.01),
                                          ("coordinate_descent", 0.002, 0.02)])
}


@pytest.mark.jax
@pytest.mark.parametrize("method", list(OPTIMISER_CASES))
def test_optax_baseline_computes_logsims_and_the_papers_trajectories(method):
    """optax's update conventions are logsim's: same weights to 1e-10, so equal work is timed.

    Also against tests/naive.py's update rules, trajectory by trajectory, so the two
    cannot agree on a wrong update.
    """
    w = OPTIMISER_CASES[method]
    problem = make_problem(w)
    W_ref, L_ref = _run("logsim", problem)
    W, L = _run("optax", problem)
    assert W.shape == W_ref.shape and L.shape == L_ref.shape
    assert np.all(np.linalg.norm(W_ref[:, -1], axis=1) > 0.1)  # the runs went somewhere
    np.testing.assert_allclose(W, W_ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(L, L_ref, rtol=1e-10, atol=1e-12)
    assert gate((W, L), (W_ref, L_ref))[0]
    for r in range(w.trajectories):
        W_naive, L_naive = naive.optimiser_trajectory(
            problem.X, problem.targets[r], loss_name="logistic", method=method,
            learning_rate=problem.learning_rate[r], steps=w.steps,
            checkpoints=set(problem.checkpoints.tolist()), momentum=w.momentum,
            beta1=w.beta1, beta2=w.beta2, eps=w.eps)
        np.testing.assert_allclose(W[r], W_naive, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(L[r], L_naive, rtol=1e-10)


#: Each optimiser with a neighbouring convention or option: what the gate must reject.
OTHER_UPDATES = {"momentum": {"momentum": 0.8}, "nesterov": {"method": "momentum"},
                 "adam": {"beta2": 0.99}, "sign_gd": {"method": "coordinate_descent"},
                 "coordinate_descent": {"method": "sign_gd"}}


@pytest.mark.jax
@pytest.mark.parametrize("method", list(OPTIMISER_CASES))
def test_optax_baseline_with_another_update_fails_the_gate(method):
    problem = make_problem(OPTIMISER_CASES[method])
    ref = _run("logsim", problem)
    other = dataclasses.replace(problem, workload=dataclasses.replace(
        problem.workload, **OTHER_UPDATES[method]))
    assert not gate(_run("optax", other), ref)[0]


@pytest.mark.jax
def test_greedy_coordinate_moves_the_lowest_largest_entry():
    from logsim.bench.implementations.jax_batched import import_jax
    from logsim.bench.implementations.jax_optax import greedy_coordinate

    _, jnp, _ = import_jax()
    import optax

    step = greedy_coordinate(jnp, optax)
    for g, want in [([1.0, -3.0, 3.0, 0.0], [0, -1, 0, 0]), ([0.0, 0.0], [0, 0]),
                    ([0.5, -0.25, 2.0], [0, 0, 1])]:
        got, _ = step.update(jnp.asarray(g), step.init(jnp.zeros(len(g))))
        np.testing.assert_array_equal(np.asarray(got), want)


def test_optax_baseline_refuses_a_method_it_does_not_run():
    with pytest.raises(ValueError, match=r"optax baseline runs momentum, .*; got 'gd'"):
        JaxOptax().prepare(make_problem(SMALL["gd"]))


def test_sgd_baseline_uses_logsims_batches_not_others():
    """A different batch stream moves the weights far beyond the gate's tolerance."""
    problem = make_problem(SMALL["sgd"])
    ref = _run("logsim", problem)
    other = dataclasses.replace(problem, batch_seed=problem.batch_seed + 1)
    assert not gate(_run("numpy", other), ref)[0]


class _DoesLess(NumpyBatched):
    """Stops one step early: must fail the gate and never be timed."""

    def prepare(self, problem):
        w = problem.workload
        short = dataclasses.replace(problem, workload=dataclasses.replace(w, steps=w.steps - 1),
                                    checkpoints=np.minimum(problem.checkpoints, w.steps - 1))
        return super().prepare(short)


def test_gate_fails_a_baseline_that_does_less(monkeypatch):
    monkeypatch.setitem(IMPLEMENTATIONS, "numpy", _DoesLess)
    entry = suite.measure_workload(SMALL["gd"], 1, log=lambda m: None,
                                   implementations=("logsim", "numpy"))
    r = entry["implementations"]["numpy"]
    assert r["status"] == "failed" and not r["gate_passed"]
    assert "median_s" not in r and entry["vs_numpy"] is None


def test_missing_jax_is_reported_and_the_run_continues(monkeypatch):
    monkeypatch.setattr(JaxBatched, "available", lambda self: "jax is not installed")
    entry = suite.measure_workload(SMALL["gd"], 1, log=lambda m: None)
    assert entry["implementations"]["jax"] == {"status": "unavailable",
                                               "reason": "jax is not installed"}
    assert entry["vs_jax"] is None and entry["vs_numpy"] > 0
    entry.pop("_problem"), entry.pop("_ref")
    entry.update(threads=None, ceiling_fraction=None, peak_bound_fraction=None,
                 ceiling={"best_traj_steps_per_s": 1.0, "samples_per_step": 40,
                          "best_variant": "rows"})
    result = {"quick": True, "repeats": 1, "wall_seconds": 1.0, "scaling": None,
              "machine": machine_info(), "workloads": {"T1": entry},
              "peaks": {"dgemm_flop_per_s": 1e9, "exp_per_s": 1e9, "exp_threads": 1}}
    table = report.format_table(result)
    assert any(line.split()[:3] == ["jax", "unavailable:", "jax"] for line in table.splitlines())


def test_every_row_of_the_table_is_runnable_and_its_quick_size_smaller():
    for name, row in workloads.TABLE.items():
        assert row.workload.name == row.quick.name == name
        assert row.implementations[0] == "logsim"  # the reference the others are gated on
        assert set(row.implementations) <= set(IMPLEMENTATIONS)
        assert (row.quick.method, row.quick.labels) == (row.workload.method, row.workload.labels)
        assert row.quick.sample_gradients < row.workload.sample_gradients
        for ratio in row.target:  # each target names a ratio the run computes
            assert ratio == "vs_best_baseline" or ratio[3:] in row.implementations[1:]


@pytest.mark.slow
def test_compile_probe_is_a_module_run_in_a_fresh_process():
    launched = time.time()
    proc = subprocess.run([sys.executable, "-m", "logsim.bench.compile_probe", repr(launched)],
                          capture_output=True, text=True, timeout=600, check=True)
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert set(out["paths"]) == {"groups_loops", "groups_blas", "solo_sgd"}
    assert out["first_call_s"] == pytest.approx(sum(out["paths"].values()))
    assert 0 < out["import_s"] < time.time() - launched


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    code = cli.main(["bench", "--quick", "--workload", "W1", "--json", str(out / "b.json"),
                     "--plot", str(out / "b.png")])
    return code, out


@pytest.mark.slow
@pytest.mark.jax
def test_cli_bench_quick_exits_0_and_writes_files(quick_run, capsys):
    code, out = quick_run
    assert code == 0
    assert (out / "b.png").stat().st_size > 10_000
    assert json.loads((out / "b.json").read_text())["quick"] is True


@pytest.mark.slow
@pytest.mark.jax
def test_json_schema_of_a_quick_run(quick_run):
    result = json.loads((quick_run[1] / "b.json").read_text())
    assert result["schema"] == suite.SCHEMA
    assert result["gate"]["rtol"] == 1e-9 and result["repeats"] == 3
    assert len(result["code"]["sha256"]["kernels.py"]) == 64
    m = result["machine"]
    for key in ("cpu_model", "logical_cores", "numba_threads", "numpy", "numba", "jax", "blas",
                "python", "load_average_start", "load_average_end", "other_processes_cpu_share"):
        assert key in m
    assert set(result["workloads"]) == {"W1"}
    assert result["memory"]["result_bytes"] > 0 and result["memory"]["target"] is None
    e = result["workloads"]["W1"]
    assert e["workload"]["trajectories"] == workloads.QUICK["W1"].trajectories
    assert e["trajectory_steps"] == 64 * 50 and e["sample_gradients"] == 64 * 50 * 50
    rates = {}
    for name in ("logsim", "numpy", "jax"):
        r = e["implementations"][name]
        assert r["status"] == "ok"
        assert len(r["times_s"]) == 3 and r["min_s"] <= r["median_s"] <= r["max_s"]
        assert r["traj_steps_per_s"] == pytest.approx(e["trajectory_steps"] / r["median_s"])
        assert r["sample_grads_per_s"] == pytest.approx(e["sample_gradients"] / r["median_s"])
        assert r["traj_steps_per_s_min"] <= r["traj_steps_per_s"] <= r["traj_steps_per_s_max"]
        assert r["compile_s"] >= 0 and r["first_call_s"] > 0
        rates[name] = r["traj_steps_per_s"]
        if name != "logsim":
            assert r["gate_passed"] and r["max_rel_diff"] < 1e-9
    assert e["vs_jax"] == pytest.approx(rates["logsim"] / rates["jax"])
    assert e["vs_numpy"] == pytest.approx(rates["logsim"] / rates["numpy"])
    assert e["vs_best_baseline"] == min(e["vs_jax"], e["vs_numpy"])
    assert e["target"] == {} and e["target_met"] is None  # reduced sizes are not for quoting
    c = e["ceiling"]
    assert set(c["traj_steps_per_s"]) == {"rows", "lanes", "lanes_registers", "gemm", "gemm_blocks"}
    assert c["best_traj_steps_per_s"] == max(c["traj_steps_per_s"].values())
    assert e["ceiling_fraction"] == pytest.approx(rates["logsim"] / c["best_traj_steps_per_s"])
    assert e["threads"][0]["threads"] == 1
    assert all(t["bit_identical"] for t in e["threads"])
    s = result["scaling"]
    assert set(s["axes"]) == {"trajectories", "n", "d", "steps"}
    for a in s["axes"].values():
        assert set(a["slope"]) == set(s["implementations"]) >= {"logsim", "numpy"}
        assert all(len(t) == len(a["sizes"]) for t in a["median_s"].values())


@pytest.mark.dask
def test_dask_line_reports_the_overhead_per_chunk(tmp_path):
    scen = tmp_path / "d.toml"
    scen.write_text('name = "d"\n[data]\nkind = "gaussian"\nn_train = 50\nn_test = 10\ndim = 3\n'
                    "[grid]\nseed = 8\n[optimizer]\nlearning_rate = 0.5\nsteps = 200\n")
    dk = bench_cli.measure_dask(scen)
    assert dk["chunks"] >= 1 and dk["n_workers"] == 2
    assert dk["local_seconds"] > 0 and dk["dask_seconds"] > 0
    assert dk["compute_seconds"] <= dk["n_workers"] * dk["dask_seconds"] + 1e-9
    line = report.format_table({"quick": True, "repeats": 1, "wall_seconds": 1.0,
                               "machine": machine_info(), "workloads": {},
                               "dask": dk, "peaks": {"dgemm_flop_per_s": 1e9,
                                                     "exp_per_s": 1e9, "exp_threads": 1}})
    assert "dask:" in line and "ms of worker time per chunk" in line


@pytest.mark.slow
def test_memory_measurement_reports_the_sweep_it_ran(tmp_path):
    """Structure and consistency of ``measure_memory``; its target is never asserted here."""
    import xarray as xr

    mem = memory_probe.measure_memory(quick=True, workdir=tmp_path, log=lambda m: None)
    assert "error" not in mem, mem.get("error")
    sizes = memory_probe.MEMORY_SWEEPS["quick"]
    # the weights as the scenario's grid sizes give them: trajectories x checkpoints x d
    trajectories = sizes["learning_rates"] * sizes["seeds"]
    assert mem["weights_shape"] == [sizes["learning_rates"], sizes["seeds"],
                                    sizes["checkpoints"], sizes["dim"]]
    # result_bytes is the size of every array of the dataset `logsim run` wrote
    with xr.open_dataset(tmp_path / "sweep.nc", engine="netcdf4") as written:
        assert mem["result_bytes"] == sum(v.nbytes for v in written.data_vars.values())
        assert written.attrs["scenario"] == (tmp_path / "sweep.toml").read_text()
        assert written.attrs["content_sha256"] == mem["content_sha256"]
    assert mem["chunks_halved"] >= mem["chunks"]
    assert mem["same_hash"] and mem["content_sha256_halved"] == mem["content_sha256"]
    assert mem["baseline_rss_bytes"] > 0 and mem["peak_rss_bytes"] >= mem["baseline_rss_bytes"]
    assert mem["ratio"] == pytest.approx(mem["peak_rss_bytes"] / mem["result_bytes"])
    assert mem["estimated_peak_bytes"] > 0
    assert mem["target"] is None and mem["met"] is None  # reduced sizes are not for quoting
    assert f"{trajectories} trajectories" in mem["scenario"]
    lines = report.format_memory(mem)
    assert lines[1].startswith("memory: peak RSS ") and "target" not in lines[1]
    full = {**mem, "target": memory_probe.MEMORY_TARGET, "met": False}
    assert "(target: peak <= 1 GiB for results of >= 4 GB: NOT met)" in \
        report.format_memory(full)[1]


def test_memory_measurement_failure_is_reported_not_raised(monkeypatch):
    monkeypatch.setattr(memory_probe, "PROBE_MODULE", "logsim.bench.no_such_probe")
    mem = memory_probe.measure_memory(quick=True, log=lambda m: None)
    assert set(mem) == {"error"} and "No module named logsim.bench.no_such_probe" in mem["error"]
    assert report.format_memory(mem)[1].startswith("memory: the measurement failed")


def test_ceiling_layouts_do_the_same_arithmetic():
    """The ceiling micro-kernels are timed against each other: each must do the same steps."""
    g = np.random.default_rng(3)
    n, d, R, steps, c = 37, 5, 21, 7, 0.05
    X = g.normal(size=(n, d))
    XT = np.ascontiguousarray(X.T)
    W0 = g.normal(size=(R, d)) * 0.3
    results = {}
    for name in ("rows", "gemm", "lanes", "lanes_registers"):
        if name.startswith("lanes"):
            WT = np.ascontiguousarray(W0.T)
            if name == "lanes":
                ceiling.ceiling_lanes(X, WT, steps, c, 8)
            else:
                ceiling.ceiling_lanes_registers(X, XT, WT, steps, c, 8)
            results[name] = WT.T
        else:
            W = W0.copy()
            if name == "rows":
                ceiling.ceiling_rows(XT, W, steps, c)
            else:
                ceiling.ceiling_gemm(X, XT, W, steps, c)
            results[name] = W
    # the step is w <- w - c X^T exp(-|X w|), in NumPy
    W = W0.copy()
    for _ in range(steps):
        W = W - c * (np.exp(-np.abs(W @ X.T)) @ X)
    for name, got in results.items():
        np.testing.assert_allclose(got, W, rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.jax
def test_end_to_end_jax_scripts_compute_what_they_claim():
    """The JAX scripts of E1/E2 against NumPy on the same (NumPy-drawn) data."""
    from scipy.special import expit

    from logsim.bench import end_to_end as e2e
    from logsim.engine import log_checkpoints

    _, run = e2e.jax_e1(seeds=3)
    train, test, acc = run()
    rng = np.random.default_rng(0)
    X, y = e2e._gaussian(rng, 3, 200, 10)
    Xt, yt = e2e._gaussian(rng, 3, 200, 10)
    for s in range(3):
        w = np.zeros(10)
        for _ in range(500):
            w -= 0.5 * X[s].T @ (expit(X[s] @ w) - y[s]) / 200
        z, zt = X[s] @ w, Xt[s] @ w
        assert train[s] == pytest.approx(np.mean(np.logaddexp(0, z) - y[s] * z), rel=1e-9)
        assert test[s] == pytest.approx(np.mean(np.logaddexp(0, zt) - yt[s] * zt), rel=1e-9)
        assert acc[s] == pytest.approx(np.mean((zt > 0) == (yt[s] > 0.5)), rel=1e-12)
    # E2: the last checkpoint's metrics of one hinge cell with noise and smoothing
    _, run2 = e2e.jax_e2(seeds=1, checkpoints=[0, 3, 5])
    out = run2()  # (cells, checkpoints, 5): train, nll, acc, brier, ece
    assert out.shape == (16, 3, 5)
    rng = np.random.default_rng(0)
    X, y = e2e._gaussian(rng, 1, 200, 10)
    Xt, yt = e2e._gaussian(rng, 1, 2000, 10)
    u = rng.random((1, 200))
    cell = 8 + 2 * 2 + 1  # hinge, noise 0.2, smoothing 0.1 (loss x noise x smoothing order)
    t = np.where(u[0] < 0.2, 1 - y[0], y[0]) * 0.9 + 0.05
    s = 2 * t - 1
    w = np.zeros(10)
    for _ in range(5):
        r = np.where(1 - s * (X[0] @ w) > 0, -s, 0.0)
        w -= 0.5 * X[0].T @ r / 200
    p = expit(Xt[0] @ w)
    bins = np.clip(np.ceil(p * 15).astype(int) - 1, 0, 14)
    ece = np.abs(np.bincount(bins, weights=yt[0] - p, minlength=15)).sum() / 2000
    got = out[cell, -1]
    assert got[0] == pytest.approx(np.mean(np.maximum(0, 1 - s * (X[0] @ w))), rel=1e-9)
    assert got[2] == pytest.approx(np.mean((Xt[0] @ w > 0) == (yt[0] > 0.5)), rel=1e-12)
    assert got[3] == pytest.approx(np.mean((p - yt[0]) ** 2), rel=1e-9)
    assert got[4] == pytest.approx(ece, rel=1e-9)
    assert list(log_checkpoints(2000, 40))[:3] == [0, 1, 2]


@pytest.mark.jax
@pytest.mark.slow
def test_end_to_end_quick_run_reports_ratios_and_slope(tmp_path):
    out = tmp_path / "e.json"
    assert cli.main(["bench", "--workload", "E1", "E2", "--quick", "--no-memory",
                 "--no-threads", "--no-scaling", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    e2e = result["end_to_end"]
    for name in ("E1", "E2"):
        for r in e2e["workloads"][name]["runs"]:
            assert r["logsim_seconds"] > 0 and r["vs_jax"] > 0
            assert r["vs_jax"] == pytest.approx(r["jax_seconds"] / r["logsim_seconds"])
            assert set(r["logsim_stage_seconds"]) >= {"kernel", "analysis", "write"}
    sc = e2e["scaling"]
    assert len(sc["seeds"]) == len(sc["seconds"]) >= 3 and sc["target"] is None
    assert sc["slope"] == pytest.approx(
        np.polyfit(np.log(sc["seeds"]), np.log(sc["seconds"]), 1)[0])
