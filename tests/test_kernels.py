"""The trajectory kernel against the naive NumPy optimisers, and its reproducibility."""

import hashlib
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from logsim import engine, kernels, losses, rng
from logsim._jit import in_threads, ordered_sums, pieces
from logsim._rows import combine_rows, combine_rows_at, dot_rows_at
from logsim.engine import run_batch
from tests import naive

RHO = (0.2, 0.1)
#: Feature counts that put full-batch runs on each path: per-trajectory loops, and
#: groups of trajectories sharing a training set as BLAS matrix products.
DIMS = [3, kernels.GEMM_MIN_FEATURES]


def _problem(seed=3, n=40, d=3):
    g = np.random.default_rng(seed)
    X = g.normal(size=(n, d)) * np.sqrt(3 / d)  # ||x||^2 ~ 3 for any d: same stable step sizes
    w_true = g.normal(size=d)
    y_hard = (X @ w_true + 0.5 * g.normal(size=n) > 0).astype(float)
    y_soft = np.clip(y_hard * 0.8 + 0.1 + 0.05 * g.normal(size=n), 0, 1)
    return X, y_hard, y_soft


METHODS = [("gd", "gradient", "gd"), ("sgd", "gradient", "sgd"),
           ("normalized_gd", "gradient", "ngd_gradient"), ("normalized_gd", "loss", "ngd_loss")]


# normalize="loss" is rejected for losses that can be <= 0 (see the bad-input test).
CASES = [(*m, loss) for m in METHODS for loss in losses.LOSS_CODES
         if m[1] != "loss" or loss in losses.POSITIVE_LOSSES]


@pytest.mark.parametrize(("method", "normalize", "naive_method", "loss"), CASES)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("d", DIMS)
def test_kernel_matches_naive_optimiser(method, normalize, naive_method, loss, soft, d):
    # n > d, so that the training set is not separable: on separable data the step of
    # normalize="loss" grows as 1/L and amplifies rounding differences past 1e-10.
    X, y_hard, y_soft = _problem(n=max(40, 4 * d), d=d)
    y = y_soft if soft else y_hard
    steps, ckpt = 150, [0, 1, 2, 7, 30, 99, 150]
    if method == "normalized_gd":
        # Fixed-length steps orbit a finite minimiser once they reach it, and there the
        # step direction g/||g|| of a small g amplifies rounding (by about
        # eta ||H|| / ||g|| per step), so compare the approach phase only.
        steps, ckpt = 40, [0, 1, 2, 7, 30, 40]
    # backward_exponential is unbounded below like -rho e^{|z|}: a small step stays finite
    lr = {"exponential": 0.05, "backward_exponential": 0.01}.get(loss, 0.3)
    rho = RHO if loss in losses.CORRECTED_LOSSES else (0.0, 0.0)
    res = run_batch(X, y, loss=loss, method=method, normalize=normalize, learning_rate=lr,
                    steps=steps, checkpoints=ckpt, batch_size=7, rho_pos=rho[0],
                    rho_neg=rho[1], batch_seed=11)
    reference = dict(loss_name=loss, method=naive_method, learning_rate=lr, steps=steps,
                     checkpoints=ckpt, batch_size=7,
                     batch_key=naive.stream_key(11, rng.STREAM_BATCH),
                     rho_pos=rho[0], rho_neg=rho[1])
    W, L = naive.trajectory(X, y, **reference)
    assert not res.diverged[0]
    np.testing.assert_array_equal(res.checkpoints, ckpt)
    # The kernel sums g in another order than NumPy (on the BLAS path, in an order of
    # OpenBLAS's choosing, which differs between CPUs). Where the run amplifies rounding
    # (normalized GD once it reaches the minimiser's neighbourhood: 7e-10 relative at step
    # 40 for d = 64, soft targets, on AVX-512), the allowance is ten times the spread of
    # the reference itself under rounding-sized perturbations of its gradient sums
    # (measured: the kernel's error is 0.3 to 1.6 times that spread).
    spread = np.zeros(len(ckpt))
    if method == "normalized_gd":
        for seed in range(3):
            W_jit, _ = naive.trajectory(X, y, **reference, jitter=np.random.default_rng(seed))
            spread = np.maximum(spread, np.max(np.abs(W_jit - W), axis=1))
    allowed = 1e-10 * (1 + np.abs(W)) + 10 * spread[:, None]
    err = np.abs(res.weights[0] - W)
    worst = ckpt[np.argmax(np.max(err - allowed, axis=1))]
    assert np.all(err <= allowed), f"weights off the reference at checkpoint {worst}"
    np.testing.assert_allclose(res.train_loss[0], L, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("d", DIMS)
def test_normalized_gd_keeps_moving_where_the_squared_gradient_underflows(d):
    """Margins near 400: every |g_j| is about 1e-175, so sum g_j**2 underflows to 0, yet g
    has a direction and a normalized step must still have length eta (Nacson et al. 2019)."""
    g = np.random.default_rng(8)
    n = 30
    X = g.normal(size=(n, d))
    w_true = g.normal(size=d)
    y = (X @ w_true > 0).astype(float)
    w0 = w_true * (400.0 / np.min(np.abs(X @ w_true)))  # every margin >= 400
    grad0 = X.T @ (expit(X @ w0) - y) / n
    assert np.sum(grad0 * grad0) == 0.0 and np.all(np.isfinite(grad0)) and np.any(grad0 != 0)
    steps, lr = 6, 0.5
    res = run_batch(X, y, method="normalized_gd", normalize="gradient", learning_rate=lr,
                    steps=steps, checkpoints=list(range(steps + 1)), w0=w0)
    W, _ = naive.trajectory(X, y, loss_name="logistic", method="ngd_gradient",
                            learning_rate=lr, steps=steps, checkpoints=list(range(steps + 1)),
                            w0=w0)
    np.testing.assert_allclose(res.weights[0], W, rtol=1e-13)
    step_lengths = np.linalg.norm(np.diff(res.weights[0], axis=0), axis=1)
    np.testing.assert_allclose(step_lengths, lr, rtol=1e-9)


@pytest.mark.parametrize("normalize", ["gradient", "loss"])
def test_normalized_gd_with_a_subnormal_gradient_stays_finite(normalize):
    """Exponential loss at margins near 735: exp(-735) ~ 1e-319 is subnormal, so both the
    gradient norm and the loss are, and learning_rate / divisor overflows to inf. The step
    must still be finite and along -g (each step moves w by about eta for the gradient
    norm; by eta |g|/L for the loss), not turn w into inf or NaN."""
    X = np.array([[1.0, 0.2], [0.9, -0.3], [1.1, 0.1]])
    y = np.ones(3)
    w0 = np.array([735.0 / 0.9, 0.0])  # margins x.w in [735, 899]: l(z) = exp(-z) subnormal
    steps, lr = 4, 0.5
    res = run_batch(X, y, loss="exponential", method="normalized_gd", normalize=normalize,
                    learning_rate=lr, steps=steps, checkpoints=list(range(steps + 1)), w0=w0)
    assert not res.diverged[0]
    W = res.weights[0]
    assert np.all(np.isfinite(W))
    moves = np.diff(W, axis=0)
    assert np.all(moves[:, 0] > 0)  # along -g: every sample pulls w_0 up
    if normalize == "gradient":  # subnormal g: about 3 significant digits of direction
        np.testing.assert_allclose(np.linalg.norm(moves, axis=1), lr, rtol=1e-2)


def test_single_example_sgd_is_the_articles_update():
    """b = 1: w <- w - eta (sigmoid(w.x_i) - y_i) x_i, step by step."""
    X, y, _ = _problem(n=25)
    key = naive.stream_key(5, rng.STREAM_BATCH)
    res = run_batch(X, y, method="sgd", batch_size=1, learning_rate=0.7, steps=60,
                    checkpoints=list(range(61)), batch_seed=5)
    w = np.zeros(X.shape[1])
    for t, batch in enumerate(naive.batch_sequence(len(y), 1, key, 60)):
        i = batch[0]
        p = 1 / (1 + np.exp(-X[i] @ w))
        w = w - 0.7 * (p - y[i]) * X[i]
        np.testing.assert_allclose(res.weights[0, t + 1], w, rtol=1e-12, atol=1e-14)


def test_rng_matches_plain_python_splitmix():
    for seed, stream in [(0, 1), (7, 4), (2**40 + 3, 2)]:
        key = rng.stream_key(seed, stream)
        assert int(key) == naive.stream_key(seed, stream)
        for counter in (0, 1, 2, 10**9):
            assert rng.uniform(key, counter) == naive.uniform(int(key), counter)


def test_batches_are_uniform_without_replacement():
    n, b, steps = 10, 4, 4000
    counts = np.zeros(n)
    for batch in naive.batch_sequence(n, b, naive.stream_key(1, rng.STREAM_BATCH), steps):
        assert len(set(batch.tolist())) == b
        counts[batch] += 1
    expected = steps * b / n
    # each count is Binomial(steps, b/n): 5 standard deviations
    assert np.all(np.abs(counts - expected) < 5 * np.sqrt(steps * (b / n) * (1 - b / n)))


def _sweep_arrays(d=4):
    g = np.random.default_rng(0)
    X = g.normal(size=(3, 50, d))
    Y = (g.random((12, 50)) < 0.5).astype(float) * 0.9 + 0.05
    kwargs = dict(
        data_index=np.arange(12) % 3,
        loss=np.array(["logistic", "hinge", "exponential", "forward", "backward",
                       "squared_hinge"] * 2, dtype=object),
        method=np.array(["gd", "sgd", "normalized_gd"] * 4, dtype=object),
        learning_rate=np.linspace(0.05, 0.5, 12), batch_size=5, steps=300, checkpoints=12,
        rho_pos=0.1, rho_neg=0.2, batch_seed=np.arange(12),
    )
    return X, Y, kwargs


def _digest(res):
    h = hashlib.sha256()
    for a in (res.weights, res.train_loss, res.diverged):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _sweep_digest(d):
    X, Y, kw = _sweep_arrays(d)
    return _digest(run_batch(X, Y, **kw))


@pytest.mark.parametrize("d", [4, kernels.GEMM_MIN_FEATURES])
def test_each_trajectory_alone_is_bit_identical_to_the_batch(d):
    """A trajectory's bits do not depend on its neighbours (matrix-product groups included)."""
    X, Y, kw = _sweep_arrays(d)
    whole = run_batch(X, Y, **kw)
    per_traj = ("data_index", "loss", "method", "learning_rate", "batch_seed")
    for r in range(Y.shape[0]):
        alone = run_batch(X, Y[r:r + 1], **{k: (v[r:r + 1] if k in per_traj else v)
                                             for k, v in kw.items()})
        np.testing.assert_array_equal(alone.weights[0], whole.weights[r])
        np.testing.assert_array_equal(alone.train_loss[0], whole.train_loss[r])


def test_partition_groups_full_batch_runs_by_training_set():
    GD, SGD, NGD = kernels.GD, kernels.SGD, kernels.NGD_LOSS
    data_index = np.array([0, 1, 0, 0, 1, 2, 0, 0])
    method = np.array([GD, GD, SGD, NGD, SGD, GD, GD, GD])
    # loop path: groups of two or more full-batch runs on one training set, split between
    # the threads; lone runs (training sets 1 and 2) and SGD runs stay solo
    groups, solo = kernels.partition(data_index, method, 4, threads=2)
    assert [g.tolist() for g in groups] == [[0, 3], [6, 7]]
    assert solo.tolist() == [1, 2, 4, 5]
    groups, solo = kernels.partition(data_index, method, 4, threads=1)
    assert [g.tolist() for g in groups] == [[0, 3, 6, 7]]
    # BLAS path: every full-batch run is in a group padded to GEMM_COLUMNS columns
    C = kernels.GEMM_COLUMNS
    groups, solo = kernels.partition(data_index, method, kernels.GEMM_MIN_FEATURES, threads=1)
    assert [g.tolist() for g in groups] == [[0, 3, 6, 7] + [-1] * (C - 4),
                                            [1] + [-1] * (C - 1), [5] + [-1] * (C - 1)]
    assert solo.tolist() == [2, 4]
    big = np.zeros(100, dtype=np.int64)
    groups, _ = kernels.partition(big, np.full(100, GD), kernels.GEMM_MIN_FEATURES, threads=1)
    assert [g.size for g in groups] == [kernels.MAX_GEMM_GROUP, 48]
    assert np.concatenate(groups)[np.concatenate(groups) >= 0].tolist() == list(range(100))


def test_blas_groups_of_any_width_give_the_same_bits():
    """40 trajectories on one training set (one 48-column BLAS group) against each alone (16)."""
    g = np.random.default_rng(5)
    d = kernels.GEMM_MIN_FEATURES
    X = g.normal(size=(90, d)) / np.sqrt(d)
    Y = (g.random((40, 90)) < 0.5).astype(float)
    lr = np.linspace(0.5, 2.0, 40)
    whole = run_batch(X, Y, learning_rate=lr, steps=60, checkpoints=5)
    groups, _ = kernels.partition(np.zeros(40), np.zeros(40), d, threads=1)
    assert [grp.size for grp in groups] == [48]
    for r in (0, 17, 39):
        alone = run_batch(X, Y[r], learning_rate=lr[r], steps=60, checkpoints=5)
        np.testing.assert_array_equal(alone.weights[0], whole.weights[r])
        np.testing.assert_array_equal(alone.train_loss[0], whole.train_loss[r])


@ordered_sums
def _ordered_combination(coef, rows, out):
    """The loop :func:`logsim._rows.combine_rows` replaces: ``out[b] += coef[k] rows[k, b]``
    in order of ``k`` from 0, contracted to fused multiply-adds by LLVM."""
    for b in range(out.shape[0]):
        out[b] = 0.0
    for k in range(rows.shape[0]):
        for b in range(out.shape[0]):
            out[b] += coef[k] * rows[k, b]


@njit
def _combine(coef, rows, out):
    combine_rows(coef, rows, out)


@pytest.mark.parametrize("terms", [0, 1, 3, 17, 200])
def test_combine_rows_is_the_ordered_fused_sum(terms):
    """Every output width from 0 to 45 (all register passes and the scalar tail)."""
    g = np.random.default_rng(terms)
    for m in range(46):
        coef = g.normal(size=terms)
        rows = g.normal(size=(terms, m)) * np.exp(g.normal(size=(terms, m)) * 3)
        out = np.full(m, np.nan)
        _combine(coef, rows, out)
        reference = np.empty(m)
        _ordered_combination(coef, rows, reference)
        np.testing.assert_array_equal(out, reference)
        # and the value itself, against NumPy's product: within the rounding of K terms
        bound = 4 * max(terms, 1) * np.finfo(float).eps * (np.abs(coef) @ np.abs(rows))
        assert np.all(np.abs(out - coef @ rows) <= bound)


@njit
def _dots_at(X, index, w, out):
    dot_rows_at(X, index, w, out)


@njit
def _combine_at(coef, X, index, out):
    combine_rows_at(coef, X, index, out)


def test_gathered_row_products_of_a_mini_batch():
    """dot_rows_at and combine_rows_at against NumPy on gathered rows, for every feature
    count 0..22 and batch sizes across all passes; a row's dot product has the same bits
    wherever it falls in the batch (alone, or in a pass of 8 or 4)."""
    g = np.random.default_rng(7)
    eps = np.finfo(float).eps
    for d in range(23):
        for batch in (0, 1, 3, 4, 5, 8, 9, 13, 32, 33):
            X = g.normal(size=(50, d)) * np.exp(g.normal(size=(50, d)))
            w = g.normal(size=d)
            index = g.integers(0, 50, size=batch + 3).astype(np.int64)  # longer than used
            rows = X[index[:batch]]
            out = np.full(batch, np.nan)
            _dots_at(X, index, w, out)
            bound = 4 * max(d, 1) * eps * (np.abs(rows) @ np.abs(w))
            assert np.all(np.abs(out - rows @ w) <= bound), (d, batch)
            for k in range(batch):
                one = np.full(1, np.nan)
                _dots_at(X, index[k:k + 1], w, one)
                assert one[0] == out[k], (d, batch, k)
            coef = g.normal(size=batch)
            total = np.full(d, np.nan)
            _combine_at(coef, X, index, total)
            bound = 4 * max(batch, 1) * eps * (np.abs(coef) @ np.abs(rows))
            assert np.all(np.abs(total - coef @ rows) <= bound), (d, batch)


@pytest.mark.parametrize("threads", [1, 2])
def test_loop_groups_of_any_width_give_the_same_bits(threads):
    """37 trajectories on one training set, in loop-path groups of 32 + 5 (one thread) or
    19 + 18 (two), against each alone: every register pass of combine_rows is used."""
    import numba

    g = np.random.default_rng(6)
    X = g.normal(size=(70, 5))
    Y = (g.random((37, 70)) < 0.5).astype(float)
    lr = np.linspace(0.3, 3.0, 37)
    before = numba.get_num_threads()
    used = min(threads, numba.config.NUMBA_NUM_THREADS)
    numba.set_num_threads(used)
    try:
        widths = [grp.size for grp in kernels.partition(np.zeros(37), np.zeros(37), 5)[0]]
        whole = run_batch(X, Y, learning_rate=lr, steps=40, checkpoints=4)
    finally:
        numba.set_num_threads(before)
    assert widths == {1: [32, 5], 2: [19, 18]}[used]
    for r in range(37):
        alone = run_batch(X, Y[r], learning_rate=lr[r], steps=40, checkpoints=4)
        np.testing.assert_array_equal(alone.weights[0], whole.weights[r])
        np.testing.assert_array_equal(alone.train_loss[0], whole.train_loss[r])


@pytest.mark.parametrize("d", [4, kernels.GEMM_MIN_FEATURES])
def test_split_into_two_calls_is_bit_identical(d):
    X, Y, kw = _sweep_arrays(d)
    whole = run_batch(X, Y, **kw)
    per_traj = ("data_index", "loss", "method", "learning_rate", "batch_seed")
    parts = []
    for sl in (slice(0, 5), slice(5, 12)):
        part_kw = {k: (v[sl] if k in per_traj else v) for k, v in kw.items()}
        parts.append(run_batch(X, Y[sl], **part_kw))
    np.testing.assert_array_equal(whole.weights, np.concatenate([p.weights for p in parts]))
    np.testing.assert_array_equal(whole.train_loss,
                                  np.concatenate([p.train_loss for p in parts]))


def test_bit_identical_for_one_and_two_threads():
    dims = (4, kernels.GEMM_MIN_FEATURES)
    here = [_sweep_digest(d) for d in dims]
    script = textwrap.dedent(f"""
        import numba
        assert numba.config.NUMBA_NUM_THREADS == 1
        from tests.test_kernels import _sweep_digest
        for d in {dims}:
            print(_sweep_digest(d))
    """)
    env = dict(os.environ, NUMBA_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.dirname(__file__)))
    assert out.stdout.split() == here
    import numba

    assert numba.get_num_threads() >= 2 or os.cpu_count() == 1


@pytest.mark.parametrize("d", DIMS)
def test_divergence_is_marked_not_raised(d):
    X, y, _ = _problem(d=d)
    res = run_batch(X, np.stack([y, y]), loss=["exponential", "logistic"],
                    learning_rate=[1e4, 0.1], steps=200, checkpoints=20)
    assert res.diverged.tolist() == [True, False]
    bad = np.isnan(res.train_loss[0])
    assert bad.any() and not bad[0]
    first = np.argmax(bad)
    assert np.all(bad[first:]) and np.all(np.isnan(res.weights[0, first:]))
    assert np.all(np.isfinite(res.weights[1]))


def test_simulate_warns_about_divergence():
    X, y, _ = _problem()
    with pytest.warns(engine.DivergenceWarning, match="2 of 2 trajectories diverged"):
        ds = engine.simulate((X, y), loss="exponential", learning_rate=1e4, steps=50,
                             trajectories=2)
    assert ds["diverged"].values.tolist() == [True, True]
    assert np.isnan(ds["train_loss"].values[:, -1]).all()


def test_log_checkpoints():
    ck = engine.log_checkpoints(10**6, 60)
    assert ck[0] == 0 and ck[-1] == 10**6 and len(ck) == 60 and np.all(np.diff(ck) > 0)
    ratios = ck[20:] / ck[19:-1]
    assert ratios.max() / ratios.min() < 1.2  # geometric spacing away from the start
    assert engine.log_checkpoints(5, 40).tolist() == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(learning_rate=-0.1), r"learning_rate must be a finite number > 0, got -0\.1"),
    (dict(learning_rate=float("nan")), "learning_rate must be a finite number > 0"),
    (dict(method="sgd", batch_size=41), r"batch_size must be an integer in \[1, 40\].*41"),
    (dict(method="sgd"), "method 'sgd' needs a batch_size"),
    (dict(method="adamw"), "unknown method 'adamw'; allowed: gd, sgd, normalized_gd, momentum"),
    (dict(loss="logit"), "unknown loss 'logit'; allowed: logistic"),
    (dict(loss="forward", rho_pos=0.6, rho_neg=0.5), "singular"),
    (dict(method="normalized_gd", normalize="loss", loss="hinge"), "normalize = 'loss'"),
    (dict(steps=0), "steps must be an integer >= 1, got 0"),
    (dict(checkpoints=[0, 5, 3]), "strictly increasing"),
])
def test_bad_input_names_parameter_value_and_allowed(kwargs, message):
    X, y, _ = _problem()
    kw = dict(steps=10) | kwargs
    with pytest.raises(ValueError, match=message):
        run_batch(X, y, **kw)


def test_non_finite_features_rejected():
    X, y, _ = _problem()
    X[3, 1] = np.inf
    with pytest.raises(ValueError, match="features contain 1 non-finite"):
        run_batch(X, y, steps=10)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_pieces_cover_every_index_once_in_order(threads):
    for count in range(0, 40):
        parts = pieces(count, threads)
        covered = [i for part in parts for i in range(count)[part]]
        assert covered == list(range(count))
        assert len(parts) <= 4 * threads and all(p.stop > p.start for p in parts)
        sizes = [p.stop - p.start for p in parts]
        assert not sizes or max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("threads", [1, 2])
def test_in_threads_makes_every_call_and_raises_the_first_error(threads):
    done = []
    in_threads([lambda i=i: done.append(i) for i in range(9)], threads)
    assert sorted(done) == list(range(9))

    def fail(message):
        raise ValueError(message)

    done.clear()
    calls = [lambda: done.append(0), lambda: fail("first"), lambda: fail("second"),
             lambda: done.append(3)]
    with pytest.raises(ValueError, match="first"):
        in_threads(calls, threads)
    assert sorted(done) == [0, 3]  # the calls after a failure are still made
