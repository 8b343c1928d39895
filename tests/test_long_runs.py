"""Long runs: losses measured below the smallest float64, normalised GD that never
freezes (shifted exponentials), and the step at which a run truly stopped moving."""

import numpy as np
import pytest
from scipy.special import logsumexp

from logsim import kernels
from logsim.engine import run_batch
from logsim.svm import max_margin
from tests import naive


def _separable(seed=0, n=30, d=3):
    g = np.random.default_rng(seed)
    X = g.normal(size=(n, d))
    w_true = g.normal(size=d)
    y = (X @ w_true > 0).astype(float)
    return X, y, w_true / np.min(np.abs(X @ w_true))  # w_true scaled to smallest margin 1


#: Six points, separable through the origin, whose L2 max-margin direction is not the
#: direction of their mean (so the direction has somewhere to converge to).
TOY_X = np.array([[1.0, 0.2], [0.9, -0.3], [1.4, 1.1], [-1.0, -0.4], [-0.8, 0.5],
                  [-1.5, -1.2]])
TOY_Y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])


# A soft target's exponential or forward loss grows like e^{margin}: at large scales it
# overflows (a divergence, not a long run), so those cases stop at scale 30.
LOG_LOSS_CASES = [(loss, scale, soft)
                  for loss in ("logistic", "exponential", "hinge", "squared_hinge", "forward")
                  for scale in (0.5, 30.0, 800.0, 5000.0) for soft in (False, True)
                  if not (soft and loss in ("exponential", "forward") and scale > 30)]


@pytest.mark.parametrize(("loss", "scale", "soft"), LOG_LOSS_CASES)
def test_log_train_loss_is_the_logsumexp_of_the_per_sample_log_losses(loss, scale, soft):
    """Margins from 0.5 to 5000 times those of w_true: a mean loss from O(1) down to
    about e^-5000, measured as its log (not 0), against extended-precision logs of each
    sample's loss combined by scipy's logsumexp."""
    X, y, w_true = _separable(seed=1)
    targets = np.where(y == 1, 0.9, 0.1) if soft else y
    rho = (0.2, 0.1) if loss == "forward" else (0.0, 0.0)
    # d = 3: trajectories alone and in a lanes group; d = 64 would be the BLAS path
    res = run_batch(X, np.stack([targets, targets]), loss=loss, learning_rate=1e-300,
                    steps=1, checkpoints=[0, 1], w0=scale * w_true, rho_pos=rho[0],
                    rho_neg=rho[1])
    logs = naive.log_losses(loss, X @ (scale * w_true), targets, *rho)
    expected = float(logsumexp(logs.astype(float)) - np.log(len(y)))
    got = res.log_train_loss[:, 0]
    if np.isinf(expected):
        assert np.all(got == expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-13)
    normal = res.train_loss[:, 0] > 1e-290
    np.testing.assert_allclose(got[normal], np.log(res.train_loss[normal, 0]), rtol=1e-13)
    if scale >= 800 and not soft and loss != "forward":  # the float64 mean underflowed
        assert np.all(res.train_loss[:, 0] == 0) and np.all(got < -700)


def test_log_train_loss_of_a_backward_loss_is_nan_where_its_mean_is_not_positive():
    X, y, w_true = _separable(seed=2)
    res = run_batch(X, np.stack([y, y]), loss=["backward", "backward_hinge"],
                    learning_rate=1e-300, steps=1, checkpoints=[0, 1],
                    w0=np.stack([50 * w_true, 0.05 * w_true]), rho_pos=0.2, rho_neg=0.1)
    assert res.train_loss[0, 0] < 0 and np.isnan(res.log_train_loss[0, 0])
    assert res.train_loss[1, 0] > 0
    np.testing.assert_allclose(res.log_train_loss[1, 0], np.log(res.train_loss[1, 0]),
                               rtol=1e-13)
    # without noise the backward loss is its base loss, down to e^-5000
    res = run_batch(X, y, loss="backward", learning_rate=1e-300, steps=1,
                    checkpoints=[0, 1], w0=5000 * w_true)
    expected = logsumexp(naive.log_losses("logistic", X @ (5000 * w_true), y).astype(float))
    np.testing.assert_allclose(res.log_train_loss[0, 0], expected - np.log(len(y)),
                               rtol=1e-12)


def _extended_gradient_and_loss(loss, X, y, w, rho_pos=0.0, rho_neg=0.0):
    """The unshifted gradient and mean loss in extended precision (``np.longdouble``,
    exponents to 1e-4932: representable at margins where float64 underflows)."""
    X = X.astype(np.longdouble)
    z = X @ w.astype(np.longdouble)
    s = 2 * y.astype(np.longdouble) - 1
    with np.errstate(over="ignore"):
        p, pm = 1 / (1 + np.exp(-z)), 1 / (1 + np.exp(z))
        if loss == "logistic":
            slope, value = -s * 1 / (1 + np.exp(s * z)), np.log1p(np.exp(-s * z))
        elif loss == "exponential":
            slope, value = -s * np.exp(-s * z), np.exp(-s * z)
        elif loss == "forward":
            det = 1 - rho_pos - rho_neg
            q, one_minus_q = rho_neg + det * p, rho_pos + det * pm
            slope = (q - y) / (q * one_minus_q) * det * p * pm
            value = -(y * np.log(q) + (1 - y) * np.log(one_minus_q))
    return X.T @ slope / len(y), np.mean(value)


SHIFT_CASES = [("logistic", "gradient", (0.0, 0.0)), ("exponential", "gradient", (0.0, 0.0)),
               ("forward", "gradient", (0.2, 0.1)), ("logistic", "loss", (0.0, 0.0)),
               ("exponential", "loss", (0.0, 0.0))]


@pytest.mark.parametrize(("loss", "normalize", "rho"), SHIFT_CASES)
@pytest.mark.parametrize("margin", [100.0, 600.0, 2000.0])
@pytest.mark.parametrize("d", [3, kernels.GEMM_MIN_FEATURES])
def test_normalized_step_from_shifted_exponentials_is_the_exact_step(loss, normalize, rho,
                                                                     margin, d):
    """At smallest margins of 100 (unshifted), 600 (shifted; the unshifted float64 step is
    representable) and 2000 (every float64 e^-margin is 0): the step equals the unshifted
    one computed in extended precision, to 1e-12 (Nacson et al. 2019's normalised GD)."""
    X, y, w_true = _separable(seed=3, n=max(30, 2 * d), d=d)
    w0 = margin * w_true
    lr = 0.5
    res = run_batch(X, np.stack([y, y, y]), loss=loss, method="normalized_gd",
                    normalize=normalize, learning_rate=lr, steps=1, checkpoints=[0, 1],
                    w0=w0, rho_pos=rho[0], rho_neg=rho[1])
    g, value = _extended_gradient_and_loss(loss, X, y, w0, *rho)
    step = g / np.sqrt(np.sum(g * g)) if normalize == "gradient" else g / value
    expected = (w0 - lr * step).astype(float)  # rounded once, from extended precision
    # the kernel rounds w0 - eta step once too: within an ulp of w0 plus 1e-12 of the step
    allowed = 2 * np.spacing(np.abs(w0)) + 1e-12 * lr * np.abs(step.astype(float)).max()
    assert np.all(res.weights[:, 1] != w0)
    assert np.all(np.abs(res.weights[:, 1] - expected) <= allowed)


def test_normalized_gd_keeps_converging_for_a_million_steps():
    """The 6-point toy: margins pass 745 (where every float64 e^-margin is 0) by t of about
    4,000 and reach 1.8e5, yet the step keeps its direction: the gap to the L2 max-margin
    direction falls like 1/t to 10^6 (measured: t gap = 3.569 from t = 10^3 on), and every
    window of 20 steps is the NumPy shifted reference's, restarted from the checkpoint."""
    starts = [400, 5000, 100_000, 999_980]
    ckpt = sorted({0, *[10 ** k for k in range(1, 7)], *starts, *[t + 20 for t in starts]})
    lr = 0.2
    res = run_batch(TOY_X, TOY_Y, method="normalized_gd", learning_rate=lr, steps=10**6,
                    checkpoints=ckpt)
    W = res.weights[0]
    assert res.frozen_at[0] == -1 and not res.diverged[0]
    margins = (2 * TOY_Y - 1) * (W @ TOY_X.T)
    assert margins[-1].min() > 1e5
    # the mean loss is far below 1e-308, measured as its log: -(smallest margin) + O(1)
    assert res.train_loss[0, -1] == 0
    np.testing.assert_allclose(res.log_train_loss[0, -1], -margins[-1].min(), atol=2)
    w_hat = max_margin(TOY_X, TOY_Y)
    u = w_hat / np.linalg.norm(w_hat)
    decades = [ckpt.index(10 ** k) for k in range(3, 7)]
    gap = np.linalg.norm(W[decades] / np.linalg.norm(W[decades], axis=1, keepdims=True) - u,
                         axis=1)
    slope = np.polyfit(np.log(10.0 ** np.arange(3, 7)), np.log(gap), 1)[0]
    assert abs(slope + 1) < 0.01 and gap[-1] < 4e-6
    for t in starts:
        ref = naive.shifted_normalized_gd(TOY_X, TOY_Y, W[ckpt.index(t)], loss_name="logistic",
                                          learning_rate=lr, steps=20)
        np.testing.assert_allclose(W[ckpt.index(t + 20)], ref[-1], rtol=1e-12)


def test_exponential_loss_normalized_by_the_loss_keeps_moving():
    """g / L with both shifted alike: 10^5 steps, margins to 1.6e4, direction gap 4e-5."""
    ckpt = [0, 1000, 10_000, 99_980, 100_000]
    res = run_batch(TOY_X, TOY_Y, loss="exponential", method="normalized_gd", normalize="loss",
                    learning_rate=0.2, steps=100_000, checkpoints=ckpt)
    W = res.weights[0]
    assert res.frozen_at[0] == -1
    assert ((2 * TOY_Y - 1) * (TOY_X @ W[-1])).min() > 1e4
    np.testing.assert_array_equal(res.train_loss[0, 2:], 0.0)
    w_hat = max_margin(TOY_X, TOY_Y)
    u = w_hat / np.linalg.norm(w_hat)
    assert np.linalg.norm(W[-1] / np.linalg.norm(W[-1]) - u) < 5e-5
    # 20 steps of the reference g / L from the checkpoint at 99,980 (both shifted by c)
    w = W[3].copy()
    s = 2 * TOY_Y - 1
    for _ in range(20):
        m = s * (TOY_X @ w)
        c = m.min()
        g = TOY_X.T @ (-s * np.exp(c - m)) / len(s)
        w = w - 0.2 * g / np.mean(np.exp(c - m))
    np.testing.assert_allclose(W[-1], w, rtol=1e-12)


@pytest.mark.parametrize("d", [3, kernels.GEMM_MIN_FEATURES])
def test_frozen_at_is_where_plain_gd_underflows(d):
    """Plain GD on separable data with a huge step: the margins jump past 745 and the
    logistic derivatives underflow to exactly 0, so the weights stop for good. frozen_at
    is the first step of that stop, as the NumPy reference's weights show it."""
    X, y, _ = _separable(seed=4, n=max(30, 2 * d), d=d)
    steps = 40
    lrs = np.array([1e4, 1e5, 1e6, 0.5])  # the last one never freezes
    res = run_batch(X, np.broadcast_to(y, (4, len(y))), learning_rate=lrs, steps=steps,
                    checkpoints=list(range(steps + 1)))
    assert not np.any(res.diverged)
    for r, lr in enumerate(lrs):
        W, _ = naive.trajectory(X, y, loss_name="logistic", method="gd", learning_rate=lr,
                                steps=steps, checkpoints=list(range(steps + 1)))
        expected = naive.first_frozen_step(W)
        assert res.frozen_at[r] == expected
        assert (expected > 0) == (r < 3)  # the three large steps freeze, after moving
        if expected > 0:
            assert np.all(res.weights[r, expected:] == res.weights[r, -1])
            assert np.any(res.weights[r, expected - 1] != res.weights[r, expected])


@pytest.mark.parametrize("d", [3, kernels.GEMM_MIN_FEATURES])
def test_frozen_at_is_where_hinge_gd_reaches_the_margin(d):
    """Hinge loss: once every margin is >= 1 the subgradient is exactly 0. The same run
    with normalized GD (lone and grouped, method mixed with GD) freezes at the same step."""
    X, y, _ = _separable(seed=5, n=max(30, 2 * d), d=d)
    steps = 300
    res = run_batch(X, np.broadcast_to(y, (3, len(y))), loss="hinge",
                    method=["gd", "gd", "normalized_gd"], learning_rate=[5.0, 0.05, 0.5],
                    steps=steps, checkpoints=list(range(steps + 1)))
    for r, (method, lr) in enumerate([("gd", 5.0), ("gd", 0.05), ("ngd_gradient", 0.5)]):
        W, _ = naive.trajectory(X, y, loss_name="hinge", method=method, learning_rate=lr,
                                steps=steps, checkpoints=list(range(steps + 1)))
        np.testing.assert_allclose(res.weights[r], W, rtol=1e-10, atol=1e-12)
        assert res.frozen_at[r] == naive.first_frozen_step(W)
    assert 0 < res.frozen_at[0] < steps  # the runs do freeze, and the step is found
    assert res.frozen_at[1] == -1  # still moving at the end
    assert np.all(res.log_train_loss[0, res.frozen_at[0]:] == -np.inf)


def test_frozen_at_of_sgd_and_of_a_diverged_run():
    X, y, _ = _separable(seed=6)
    res = run_batch(X, np.stack([y, y]), method=["sgd", "gd"], batch_size=5,
                    learning_rate=[2e4, 1e300], loss=["logistic", "exponential"], steps=30,
                    checkpoints=list(range(31)))
    W, _ = naive.trajectory(X, y, loss_name="logistic", method="sgd", learning_rate=2e4,
                            steps=30, checkpoints=list(range(31)), batch_size=5,
                            batch_key=naive.stream_key(0, 4))
    np.testing.assert_allclose(res.weights[0], W, rtol=1e-12)
    assert res.frozen_at[0] == naive.first_frozen_step(W) > 0
    assert res.diverged[1] and res.frozen_at[1] == -1
