"""Momentum, Nesterov, Adam, sign and coordinate descent, weight decay and step-size
schedules, each against its update rule written in NumPy (tests/naive.py)."""

import numpy as np
import pytest

from logsim import losses, rng
from logsim.engine import run_batch
from tests import naive

NEW_METHODS = ["momentum", "nesterov", "adam", "sign_gd", "coordinate_descent"]
RHO = (0.2, 0.1)


def _problem(seed=3, n=40, d=3):
    g = np.random.default_rng(seed)
    X = g.normal(size=(n, d)) * np.sqrt(3 / d)
    w_true = g.normal(size=d)
    y_hard = (X @ w_true + 0.5 * g.normal(size=n) > 0).astype(float)
    y_soft = np.clip(y_hard * 0.8 + 0.1 + 0.05 * g.normal(size=n), 0, 1)
    return X, y_hard, y_soft


def _rate(method, loss):
    """A step small enough for every loss: the exponential ones grow like e^|z|."""
    base = {"momentum": 0.05, "nesterov": 0.05, "adam": 0.05, "sign_gd": 0.02,
            "coordinate_descent": 0.05}.get(method, 0.3)
    return base * {"exponential": 0.2, "backward_exponential": 0.02}.get(loss, 1.0)


def _compare(X, y, *, loss, method, batch_size=None, steps=120, **options):
    ckpt = [0, 1, 2, 10, 50, steps]
    rho = RHO if loss in losses.CORRECTED_LOSSES else (0.0, 0.0)
    lr = options.pop("learning_rate", _rate(method, loss))
    res = run_batch(X, y, loss=loss, method=method, learning_rate=lr, steps=steps,
                    checkpoints=ckpt, batch_size=batch_size, rho_pos=rho[0], rho_neg=rho[1],
                    batch_seed=11, **options)
    naive_options = dict(options)
    if "schedule_scale" in naive_options:
        naive_options["tau"] = naive_options.pop("schedule_scale")
    W, L = naive.optimiser_trajectory(
        X, y, loss_name=loss, method=method, learning_rate=lr, steps=steps, checkpoints=ckpt,
        batch_size=batch_size, batch_key=naive.stream_key(11, rng.STREAM_BATCH),
        rho_pos=rho[0], rho_neg=rho[1], **naive_options)
    assert not res.diverged[0]
    np.testing.assert_allclose(res.weights[0], W, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.train_loss[0], L, rtol=1e-12, atol=1e-12)
    return res


@pytest.mark.parametrize("loss", list(losses.LOSS_CODES))
@pytest.mark.parametrize("method", NEW_METHODS)
@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("batch_size", [None, 7])
def test_new_optimisers_match_their_update_rules(loss, method, soft, batch_size):
    X, y_hard, y_soft = _problem()
    res = _compare(X, y_soft if soft else y_hard, loss=loss, method=method,
                   batch_size=batch_size)
    assert np.any(res.weights[0, -1] != 0)


@pytest.mark.parametrize("method", ["gd", "sgd", "normalized_gd", *NEW_METHODS])
@pytest.mark.parametrize(("schedule", "scale"), [("constant", 1.0), ("inverse_sqrt", 3.0),
                                                 ("inverse", 10.0)])
@pytest.mark.parametrize("weight_decay", [0.0, 0.05])
def test_schedules_and_weight_decay_for_every_method(method, schedule, scale, weight_decay):
    X, y, _ = _problem(seed=4)
    naive_method = {"normalized_gd": "ngd_gradient"}.get(method, method)
    ckpt = [0, 1, 5, 40, 80]
    lr = _rate(method, "logistic")
    res = run_batch(X, y, method=method, learning_rate=lr, steps=80, checkpoints=ckpt,
                    batch_size=7 if method == "sgd" else None, batch_seed=2,
                    schedule=schedule, schedule_scale=scale, weight_decay=weight_decay,
                    momentum=0.8, beta1=0.8, beta2=0.99, eps=1e-6)
    W, L = naive.optimiser_trajectory(
        X, y, loss_name="logistic", method=naive_method, learning_rate=lr, steps=80,
        checkpoints=ckpt, batch_size=7 if method == "sgd" else None,
        batch_key=naive.stream_key(2, rng.STREAM_BATCH), momentum=0.8, beta1=0.8,
        beta2=0.99, eps=1e-6, weight_decay=weight_decay, schedule=schedule, tau=scale)
    # normalized GD orbiting its minimiser amplifies rounding by eta ||H|| / ||g|| per step
    # (see test_kernels.py): 5e-9 by step 40 here, so its weights are compared up to
    # step 5 (which already takes five different eta_t)
    upto = 3 if method == "normalized_gd" else 5
    np.testing.assert_allclose(res.weights[0, :upto], W[:upto], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.train_loss[0, :upto], L[:upto], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("loss", losses.POSITIVE_LOSSES)
@pytest.mark.parametrize("soft", [False, True])
def test_the_increasing_step_eta_over_the_loss_matches_its_rule(loss, soft):
    """schedule = "inverse_loss": eta_t = eta / L(w_t), written in NumPy from the loss; its
    steps grow as the loss falls. It is normalized GD by the loss, to the same bits."""
    X, y_hard, y_soft = _problem(seed=6)
    y = y_soft if soft else y_hard
    lr = 0.01 if loss == "exponential" else 0.05
    res = _compare(X, y, loss=loss, method="gd", schedule="inverse_loss", learning_rate=lr)
    L = res.train_loss[0]
    assert L[-1] < 0.8 * L[0]  # so eta_t grew by more than a quarter on the way
    rho = RHO if loss in losses.CORRECTED_LOSSES else (0.0, 0.0)
    ngd = run_batch(X, y, loss=loss, method="normalized_gd", normalize="loss",
                    learning_rate=lr, steps=120, checkpoints=[0, 1, 2, 10, 50, 120],
                    rho_pos=rho[0], rho_neg=rho[1])
    np.testing.assert_array_equal(res.weights, ngd.weights)


def test_the_increasing_step_reaches_the_margin_faster_than_a_constant_one():
    """On separable data the direction gap to the max-margin SVM falls like 1/t with the
    loss-normalised step (Ji & Telgarsky 2021) and like 1/log t with a constant one
    (Soudry et al. 2018): from t = 10^3 to 10^4 the first falls more than 5-fold (7.3
    measured), the second less than 2-fold (it even rose here), and at 10^4 the first is
    more than 10 times closer (18 measured)."""
    from logsim import svm

    g = np.random.default_rng(0)
    X = g.normal(size=(30, 2))
    s = np.where(X @ np.array([1.0, 0.4]) > 0, 1.0, -1.0)
    X += 0.3 * s[:, None] * np.array([1.0, 0.4])  # a clear margin
    y = (s + 1) / 2
    w_hat = svm.max_margin_solution(X, s).w
    gaps = {}
    for schedule in ("constant", "inverse_loss"):
        res = run_batch(X, y, learning_rate=0.1, steps=10_000, checkpoints=[0, 1000, 10_000],
                        schedule=schedule)
        W = res.weights[0, 1:]
        gaps[schedule] = np.linalg.norm(W / np.linalg.norm(W, axis=1, keepdims=True)
                                        - w_hat / np.linalg.norm(w_hat), axis=1)
    assert gaps["inverse_loss"][1] < gaps["inverse_loss"][0] / 5, gaps
    assert gaps["constant"][1] > gaps["constant"][0] / 2, gaps
    assert gaps["inverse_loss"][1] < gaps["constant"][1] / 10, gaps


def test_plain_methods_without_options_keep_their_kernel():
    """gd with a constant schedule and no weight decay is not the extended kernel's: the
    same bits as before; with schedule = inverse and tau huge it is the same update
    (eta / (1 + t / 1e300) = eta), from the extended kernel, to the same bits too."""
    X, y, _ = _problem(seed=5)
    a = run_batch(X, y, learning_rate=0.3, steps=60, checkpoints=[0, 60])
    b = run_batch(X, y, learning_rate=0.3, steps=60, checkpoints=[0, 60], schedule="inverse",
                  schedule_scale=1e300)
    np.testing.assert_array_equal(a.weights, b.weights)


def test_adam_with_eps_zero_defines_zero_over_zero_as_no_move():
    """A feature that is 0 in every sample has g_j = 0 at every step: v_hat = m_hat = 0,
    and with eps = 0 the entry stays where it started (not NaN)."""
    X, y, _ = _problem(seed=6)
    X[:, 1] = 0.0
    res = run_batch(X, y, method="adam", eps=0.0, learning_rate=0.05, steps=30,
                    checkpoints=[0, 30], w0=[0.0, 0.25, 0.0])
    assert not res.diverged[0] and res.weights[0, -1, 1] == 0.25
    W, _ = naive.optimiser_trajectory(X, y, loss_name="logistic", method="adam",
                                      learning_rate=0.05, steps=30, checkpoints=[0, 30],
                                      eps=0.0, w0=[0.0, 0.25, 0.0])
    np.testing.assert_allclose(res.weights[0], W, rtol=1e-12)


def test_coordinate_descent_ties_go_to_the_lowest_index():
    """Two identical features have equal |g_j| at every step: only the first one moves."""
    X, y, _ = _problem(seed=7)
    X[:, 2] = X[:, 0]
    res = run_batch(X, y, method="coordinate_descent", learning_rate=0.05, steps=20,
                    checkpoints=[0, 20])
    assert res.weights[0, -1, 0] != 0 and res.weights[0, -1, 2] == 0


@pytest.mark.parametrize("method", NEW_METHODS)
def test_same_bits_for_any_thread_count_and_chunking(method):
    import numba

    X, y_hard, y_soft = _problem(seed=8)
    Y = np.stack([y_hard, y_soft] * 4)
    kwargs = dict(method=method, learning_rate=0.05, steps=50, checkpoints=[0, 7, 50],
                  batch_seed=np.arange(8), eps=0.0)
    full = run_batch(X, Y, **kwargs)
    previous = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = run_batch(X, Y, **kwargs)
    finally:
        numba.set_num_threads(previous)
    halves = [run_batch(X, Y[:3], **{**kwargs, "batch_seed": np.arange(3)}),
              run_batch(X, Y[3:], **{**kwargs, "batch_seed": np.arange(3, 8)})]
    np.testing.assert_array_equal(full.weights, one.weights)
    np.testing.assert_array_equal(full.weights,
                                  np.concatenate([h.weights for h in halves]))
    np.testing.assert_array_equal(full.frozen_at, np.concatenate([h.frozen_at for h in halves]))


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(method="momentum", momentum=1.0), r"momentum must be a number in \[0, 1\), got 1.0"),
    (dict(method="adam", beta1=-0.1), r"beta1 must be a number in \[0, 1\)"),
    (dict(method="adam", beta2=1.5), r"beta2 must be a number in \[0, 1\)"),
    (dict(method="adam", eps=-1e-8), r"eps must be a finite number >= 0, got -1e-08"),
    (dict(weight_decay=np.nan), r"weight_decay must be a finite number >= 0, got nan"),
    (dict(schedule="cosine"), 'schedule must be one of "constant", "inverse_sqrt", "inverse", '
                              '"inverse_loss", got \'cosine\''),
    (dict(schedule="inverse", schedule_scale=0.0), "schedule_scale must be a finite number > 0"),
    (dict(schedule="inverse_loss", method="momentum"),
     "schedule = 'inverse_loss' .* is defined for full-batch gradient descent only, method = 'gd'"),
    (dict(schedule="inverse_loss", loss="hinge"),
     "schedule = 'inverse_loss' divides the step by the loss value, .* allowed losses: "
     "logistic, exponential, forward"),
    (dict(schedule="inverse_loss", weight_decay=0.1),
     "weight_decay > 0 does not go with schedule = 'inverse_loss'"),
    (dict(method="adamw"), "unknown method 'adamw'; allowed: gd, sgd, normalized_gd, momentum"),
    (dict(method="normalized_gd", normalize="loss", weight_decay=0.1),
     "weight_decay > 0 does not go with normalize = 'loss'"),
    (dict(method="sign_gd", batch_size=0), r"batch_size must be an integer >= 1, got 0"),
    (dict(method="sign_gd", batch_size=41), r"batch_size must be an integer in \[1, 40\]"),
    (dict(momentum=[0.5, 0.5]), r"momentum must be a scalar or have one value per trajectory"),
])
def test_bad_options_are_named_with_what_is_allowed(kwargs, message):
    X, y, _ = _problem()
    with pytest.raises(ValueError, match=message):
        run_batch(X, y, steps=5, **kwargs)


def _adam_extended(X, y, w0, *, lr, beta1, beta2, steps):
    """Adam with eps = 0 on the unshifted logistic gradient, in extended precision
    (np.longdouble: e^-2000 is representable)."""
    from tests.test_long_runs import _extended_gradient_and_loss

    w = w0.astype(np.longdouble)
    m = np.zeros_like(w)
    v = np.zeros_like(w)
    for t in range(steps):
        g, _ = _extended_gradient_and_loss("logistic", X, y, w)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        w = w - lr * (m / (1 - beta1 ** (t + 1))) / np.sqrt(v / (1 - beta2 ** (t + 1)))
    return w


@pytest.mark.parametrize("margin", [600.0, 2000.0])
def test_adam_without_eps_from_shifted_gradients_is_exact(margin):
    """Adam with eps = 0 is invariant to one positive scale of every gradient, not to a
    different scale per step: its moments are kept in the current shift's scale and
    rescaled as the shift grows. 30 steps from smallest margins of 600 (the float64
    gradient is representable) and 2000 (it is not) match extended precision."""
    from tests.test_long_runs import _separable

    X, y, w_true = _separable(seed=3)
    w0 = margin * w_true
    steps, lr = 30, 0.5
    res = run_batch(X, y, method="adam", eps=0.0, beta1=0.9, beta2=0.99, learning_rate=lr,
                    steps=steps, checkpoints=[0, steps], w0=w0)
    expected = _adam_extended(X, y, w0, lr=lr, beta1=0.9, beta2=0.99, steps=steps)
    allowed = 2 * np.spacing(np.abs(w0)) * steps + 1e-12 * lr * steps
    assert np.all(np.abs(res.weights[0, -1] - expected.astype(float)) <= allowed)
    assert np.all(np.abs(res.weights[0, -1] - w0) > 1)  # it moved (about eta per step)


@pytest.mark.parametrize("method", ["sign_gd", "coordinate_descent", "adam"])
def test_scale_invariant_optimisers_never_freeze(method):
    """10^5 steps on the 6-point toy: margins pass 745 (every float64 e^-margin is 0)
    yet each step still moves (frozen_at = -1), and 20-step windows of sign and
    coordinate descent are those of the NumPy update on the shifted gradient."""
    from tests.test_long_runs import TOY_X, TOY_Y

    starts = [50_000, 99_980]
    ckpt = [0, 1000, *starts, 100_000]
    res = run_batch(TOY_X, TOY_Y, method=method, eps=0.0, beta2=0.9, learning_rate=0.05,
                    steps=100_000,
                    checkpoints=ckpt)
    W = res.weights[0]
    assert res.frozen_at[0] == -1 and not res.diverged[0]
    margins = (2 * TOY_Y - 1) * (TOY_X @ W[-1])
    assert margins.min() > 745
    if method == "adam":
        return
    w = W[ckpt.index(99_980)].copy()
    for _ in range(20):
        g = naive.shifted_gradient(TOY_X, TOY_Y, w, "logistic")
        if method == "sign_gd":
            w = w - 0.05 * np.sign(g)
        else:
            j = int(np.argmax(np.abs(g)))
            w[j] -= 0.05 * np.sign(g[j])
    np.testing.assert_allclose(W[-1], w, rtol=1e-13)


def test_frozen_at_of_momentum_is_where_its_velocity_stops_moving_the_weights():
    """Hinge loss on separable data: the gradient is exactly 0 once every margin is >= 1,
    but the heavy-ball velocity keeps moving w (by mu^k v) until the steps fall below
    half an ulp of w. frozen_at is that step, as the NumPy weights show it."""
    from tests.test_long_runs import _separable

    X, y, _ = _separable(seed=5)
    steps = 1500
    res = run_batch(X, y, loss="hinge", method="momentum", momentum=0.9, learning_rate=0.5,
                    steps=steps, checkpoints=list(range(steps + 1)))
    W, _ = naive.optimiser_trajectory(X, y, loss_name="hinge", method="momentum",
                                      learning_rate=0.5, momentum=0.9, steps=steps,
                                      checkpoints=list(range(steps + 1)))
    np.testing.assert_allclose(res.weights[0], W, rtol=1e-12, atol=1e-12)
    expected = naive.first_frozen_step(W)
    assert 0 < expected < steps and res.frozen_at[0] == expected


def test_a_call_without_the_new_options_compiles_none_of_their_code():
    """In a fresh process, GD (in a group) and SGD leave the extended kernel, the
    normalized-GD group kernels and the log-loss pass uncompiled (no signature); momentum
    then compiles the extended kernel."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import numpy as np
        from logsim import kernels
        from logsim.engine import run_batch
        g = np.random.default_rng(0)
        X = g.normal(size=(40, 3))
        y = (X[:, 0] > 0).astype(float)
        Y = np.stack([y] * 6)
        run_batch(X, Y, method=["gd"] * 4 + ["sgd"] * 2, batch_size=5, steps=5)
        unused = (kernels._run_solo_extended, kernels._run_lane_group_normalized,
                  kernels._run_blas_group_normalized, kernels._log_losses_at,
                  kernels._run_lane_group_extended, kernels._run_blas_group_extended)
        assert all(len(f.signatures) == 0 for f in unused), [f.signatures for f in unused]
        assert len(kernels._run_lane_group.signatures) == 1
        run_batch(X, y, method="momentum", steps=5)
        assert len(kernels._run_solo_extended.signatures) == 1
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=600)


@pytest.mark.parametrize("d", [3, 64])  # the loop path's lanes and the BLAS path
def test_new_optimisers_in_a_group_keep_the_bits_they_get_alone(d, monkeypatch):
    """Full-batch runs of every optimiser, with weight decay and schedules, sharing one
    training set run as one group (kernels._run_*_group_extended); each gets exactly the
    weights, losses, divergence and frozen_at it gets in a call of its own (the lone
    extended kernel). Mixed in: plain GD and normalized GD columns, Adam without eps and
    sign descent past the shift, a column that diverges, one that freezes."""
    from logsim import kernels

    g = np.random.default_rng(5)
    n = 40
    X = g.normal(size=(n, d)) * np.sqrt(3 / d)
    u = g.normal(size=d)
    u /= np.linalg.norm(u)
    y = (X @ u > 0).astype(float)
    X += np.outer(2 * y - 1, u)  # separable with margin 1 along u: margins grow, shifts happen
    runs = [  # (method, loss, learning_rate, options)
        ("momentum", "logistic", 0.5, {}),
        ("nesterov", "exponential", 0.05, {"weight_decay": 0.01}),
        ("adam", "logistic", 0.05, {"eps": 0.0}),
        ("adam", "hinge", 0.05, {"schedule": "inverse_sqrt", "schedule_scale": 5.0}),
        ("sign_gd", "logistic", 2.0, {}),
        ("coordinate_descent", "squared_hinge", 0.1, {"schedule": "inverse"}),
        ("gd", "logistic", 0.5, {"weight_decay": 0.001}),
        ("gd", "logistic", 0.5, {}),
        ("normalized_gd", "exponential", 0.5, {}),
        ("momentum", "exponential", 1e3, {}),  # on random labels: diverges
        ("gd", "hinge", 0.5, {}),  # separates, then freezes
    ]
    keys = ("momentum", "beta1", "beta2", "eps", "weight_decay", "schedule",
            "schedule_scale")
    defaults = {"momentum": 0.9, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
                "weight_decay": 0.0, "schedule": "constant", "schedule_scale": 1.0}
    per = {k: [opts.get(k, defaults[k]) for *_, opts in runs] for k in keys}
    common = dict(steps=3000, checkpoints=[0, 1, 10, 100, 1000, 3000])
    targets = np.stack([y] * len(runs))
    targets[9] = g.integers(0, 2, size=n)  # not separable
    with monkeypatch.context() as patch:  # every run of the call in the group kernel
        def no_lone_runs(*args):
            raise AssertionError("a full-batch run went to the lone extended kernel")

        patch.setattr(kernels, "_run_solo_extended", no_lone_runs)
        patch.setattr(kernels, "_run_solo", no_lone_runs)
        together = run_batch(X, targets, loss=[r[1] for r in runs],
                             method=[r[0] for r in runs], learning_rate=[r[2] for r in runs],
                             **per, **common)
    assert together.diverged.tolist() == [False] * 9 + [True, False]
    assert together.frozen_at[-1] > 0  # the hinge run stopped moving
    for r, (method, loss, lr, _) in enumerate(runs):
        alone = run_batch(X, targets[r], loss=loss, method=method, learning_rate=lr,
                          **{k: per[k][r] for k in keys}, **common)
        np.testing.assert_array_equal(together.weights[r], alone.weights[0], err_msg=method)
        np.testing.assert_array_equal(together.train_loss[r], alone.train_loss[0])
        np.testing.assert_array_equal(together.log_train_loss[r], alone.log_train_loss[0])
        assert together.diverged[r] == alone.diverged[0]
        assert together.frozen_at[r] == alone.frozen_at[0], method
