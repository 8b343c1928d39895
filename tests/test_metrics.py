"""logsim.metrics against scikit-learn, SciPy, slow loop references and hand values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import expit, logit
from sklearn.calibration import CalibratedClassifierCV, _sigmoid_calibration, calibration_curve
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, log_loss

from logsim import losses, metrics
from tests import naive_metrics as naive


def _gappy_sample(n: int, seed: int):
    """Miscalibrated probabilities with a hole in (0.3, 0.6), so some bins are empty."""
    rng = np.random.default_rng(seed)
    p = rng.beta(0.6, 0.6, n)
    p = np.where((p > 0.3) & (p < 0.6), p * 0.5, p)
    y = (rng.random(n) < p**1.3).astype(int)
    return p, y


# ----------------------------------------------------------------- binned calibration


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("bins", [1, 3, 10, 15, 40])
def test_positive_ece_matches_sklearn_calibration_curve(strategy, bins):
    p, y = _gappy_sample(700, seed=bins)
    prob_true, prob_pred = calibration_curve(y, p, n_bins=bins, strategy=strategy)
    rel = metrics.reliability(p, y, bins=bins, strategy=strategy, kind="positive")
    filled = rel.count > 0
    np.testing.assert_allclose(rel.frequency[filled], prob_true, rtol=0, atol=1e-12)
    np.testing.assert_allclose(rel.mean_confidence[filled], prob_pred, rtol=0, atol=1e-12)
    # calibration_curve returns no counts: take them from the loop reference.
    _, stats = naive.binned(p, y, bins, strategy, "positive")
    counts = np.array([k for k, _, _ in stats])
    np.testing.assert_array_equal(rel.count, counts)
    expected = np.sum(counts[counts > 0] / len(p) * np.abs(prob_true - prob_pred))
    assert metrics.ece(p, y, bins=bins, strategy=strategy) == pytest.approx(expected, abs=1e-12)


def test_uniform_bins_have_empty_bins_and_nan_means():
    p, y = _gappy_sample(700, seed=0)
    rel = metrics.reliability(p, y, bins=40)
    empty = rel.count == 0
    assert empty.any()
    assert np.isnan(rel.mean_confidence[empty]).all() and np.isnan(rel.frequency[empty]).all()
    assert rel.count.sum() == len(p)
    np.testing.assert_array_equal(rel.edges, np.linspace(0, 1, 41))


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
@pytest.mark.parametrize("bins", [1, 4, 15, 30])
def test_top_label_ece_and_mce_match_loop_reference(strategy, bins):
    p, y = _gappy_sample(400, seed=100 + bins)
    kw = {"bins": bins, "strategy": strategy, "kind": "top_label"}
    assert metrics.ece(p, y, **kw) == pytest.approx(
        naive.ece(p, y, bins, strategy, "top_label"), abs=1e-12
    )
    assert metrics.mce(p, y, **kw) == pytest.approx(
        naive.mce(p, y, bins, strategy, "top_label"), abs=1e-12
    )
    edges, stats = naive.binned(p, y, bins, strategy, "top_label")
    rel = metrics.reliability(p, y, **kw)
    np.testing.assert_allclose(rel.edges, edges, rtol=0, atol=1e-15)
    np.testing.assert_array_equal(rel.count, [k for k, _, _ in stats])


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_positive_mce_matches_loop_reference(strategy):
    p, y = _gappy_sample(300, seed=5)
    got = metrics.mce(p, y, bins=12, strategy=strategy)
    assert got == pytest.approx(naive.mce(p, y, 12, strategy, "positive"), abs=1e-12)


def test_bins_are_closed_on_the_right_like_sklearn():
    p = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 0.1])
    y = np.array([0, 1, 1, 0, 1, 0])
    rel = metrics.reliability(p, y, bins=4)
    # (lo, hi]: 0.25 joins [0, 0.25], 0.5 joins (0.25, 0.5]; the first bin holds 0.
    np.testing.assert_array_equal(rel.count, [3, 1, 1, 1])
    prob_true, prob_pred = calibration_curve(y, p, n_bins=4)
    np.testing.assert_allclose(rel.frequency, prob_true, atol=1e-15)
    np.testing.assert_allclose(rel.mean_confidence, prob_pred, atol=1e-15)


@pytest.mark.parametrize("kind", ["positive", "top_label"])
@pytest.mark.parametrize("bins", [1, 5, 15])
def test_calibration_errors_batch_equals_ece_and_mce_per_row(kind, bins):
    rng = np.random.default_rng(bins)
    p0, y = _gappy_sample(700, seed=bins)
    P = np.clip(p0 ** rng.uniform(0.5, 2.0, (4, 3, 1)), 0.0, 1.0)
    P[0, 0, :5] = [0.0, 1.0, 0.5, 1 / 3, 2 / 3]  # edges and a tie
    e, m = metrics.calibration_errors(P, y, bins=bins, kind=kind)
    assert e.shape == m.shape == (4, 3)
    for i, j in np.ndindex(4, 3):
        assert e[i, j] == metrics.ece(P[i, j], y, bins=bins, kind=kind)
        assert m[i, j] == metrics.mce(P[i, j], y, bins=bins, kind=kind)
    assert metrics.calibration_errors(p0, y, bins=bins, kind=kind) == (
        metrics.ece(p0, y, bins=bins, kind=kind),
        metrics.mce(p0, y, bins=bins, kind=kind),
    )


def test_top_label_tie_at_half_predicts_class_one():
    p = np.array([0.5, 0.5])
    rel = metrics.reliability(p, [1, 0], bins=2, kind="top_label")
    # both have confidence 0.5 (first bin, [0, 0.5]); only the y = 1 point is correct
    np.testing.assert_array_equal(rel.count, [2, 0])
    assert rel.frequency[0] == 0.5 and rel.mean_confidence[0] == 0.5
    assert metrics.ece([0.5], [1], kind="top_label") == 0.5
    assert np.nanmax(metrics.reliability([0.5], [0], kind="top_label").frequency) == 0.0


def test_top_label_uniform_edges_span_the_unit_interval():
    p, y = _gappy_sample(500, seed=1)
    rel = metrics.reliability(p, y, bins=10, kind="top_label")
    np.testing.assert_array_equal(rel.edges, np.linspace(0, 1, 11))
    assert (rel.count[:5] == 0).all() and rel.count[5:].sum() == len(p)


def test_top_label_equals_positive_ece_after_folding():
    # Top-label ECE is positive-class ECE of (max(p, 1-p), correct) pairs.
    p, y = _gappy_sample(500, seed=2)
    conf = np.maximum(p, 1 - p)
    correct = ((p >= 0.5) == (y == 1)).astype(int)
    for strategy in ("uniform", "quantile"):
        assert metrics.ece(p, y, strategy=strategy, kind="top_label") == metrics.ece(
            conf, correct, strategy=strategy
        )


def test_ece_of_a_perfect_hard_classifier_is_zero():
    y = np.array([0, 1, 1, 0])
    assert metrics.ece(y.astype(float), y) == 0.0
    assert metrics.mce(y.astype(float), y, kind="top_label") == 0.0


# --------------------------------------------------------- true calibration error


def test_binned_ece_is_biased_where_true_calibration_error_is_zero():
    rng = np.random.default_rng(11)
    p_true = rng.random(2000)
    y = (rng.random(2000) < p_true).astype(int)  # perfectly calibrated by construction
    assert metrics.true_calibration_error(p_true, p_true) == 0.0
    assert metrics.ece(p_true, y) > 0.01  # binning bias alone
    assert metrics.ece(p_true, y, kind="top_label") > 0.01


def test_binned_ece_approaches_true_calibration_error_on_large_n():
    # Tolerance 0.005: the binning bias is about 0.0025 at n = 2e5 with 15 bins, and
    # an over-confident link p_model = sigmoid(2 logit p_true) has a constant sign of
    # miscalibration within most bins, so binning loses little.
    rng = np.random.default_rng(12)
    n = 200_000
    p_true = rng.random(n)
    y = (rng.random(n) < p_true).astype(int)
    assert metrics.ece(p_true, y) < 0.005
    p_model = expit(2.0 * logit(p_true))
    tce = metrics.true_calibration_error(p_model, p_true)
    assert tce == pytest.approx(np.mean(np.abs(p_model - p_true)))
    for strategy in ("uniform", "quantile"):
        for kind in ("positive", "top_label"):
            got = metrics.ece(p_model, y, strategy=strategy, kind=kind)
            assert abs(got - tce) < 0.005


def test_true_calibration_error_batches_over_leading_axes():
    pm = np.array([[0.1, 0.9], [0.5, 0.5]])
    pt = np.array([0.2, 0.6])
    np.testing.assert_allclose(metrics.true_calibration_error(pm, pt), [0.2, 0.2])


# ------------------------------------------------------------------- bootstrap


def _miscalibrated(n: int, seed: int):
    rng = np.random.default_rng(seed)
    p_true = rng.random(n)
    y = (rng.random(n) < p_true).astype(int)
    return expit(2.0 * logit(p_true)), y


@pytest.mark.parametrize("strategy", ["uniform", "quantile"])
def test_bootstrap_interval_contains_estimate_and_is_reproducible(strategy):
    p, y = _miscalibrated(1500, seed=3)
    est, lo, hi = metrics.ece_bootstrap(p, y, strategy=strategy, n_boot=300, seed=4)
    assert est == metrics.ece(p, y, strategy=strategy)
    assert lo < est < hi
    assert metrics.ece_bootstrap(p, y, strategy=strategy, n_boot=300, seed=4) == (est, lo, hi)
    other = metrics.ece_bootstrap(p, y, strategy=strategy, n_boot=300, seed=5)
    assert other[0] == est and other[1:] != (lo, hi)


def test_bootstrap_seed_stream_is_documented():
    p, y = _miscalibrated(50, seed=6)
    rng = np.random.default_rng([7, 9])
    reps = []
    for _ in range(20):
        idx = rng.integers(0, 50, size=50)
        reps.append(metrics.ece(p[idx], y[idx]))
    lo, hi = np.quantile(reps, [0.05, 0.95])
    _, got_lo, got_hi = metrics.ece_bootstrap(p, y, n_boot=20, level=0.9, seed=9)
    assert got_lo == pytest.approx(lo, rel=1e-12) and got_hi == pytest.approx(hi, rel=1e-12)


def test_bootstrap_interval_shrinks_with_n():
    widths = []
    for n in (250, 4000):
        p, y = _miscalibrated(n, seed=7)
        _, lo, hi = metrics.ece_bootstrap(p, y, n_boot=300, seed=0)
        widths.append(hi - lo)
    assert widths[1] < 0.5 * widths[0]


# --------------------------------------------------------------- scoring rules


def test_brier_matches_sklearn_and_batches():
    p, y = _gappy_sample(300, seed=8)
    assert metrics.brier(p, y) == pytest.approx(brier_score_loss(y, p), rel=1e-14)
    P = np.stack([p, 1 - p, np.full_like(p, 0.5)])
    np.testing.assert_allclose(metrics.brier(P, y), [brier_score_loss(y, q) for q in P], rtol=1e-14)
    assert metrics.brier([0.3, 0.8], [0.2, 0.9]) == pytest.approx((0.01 + 0.01) / 2)


def test_nll_matches_sklearn_log_loss():
    p, y = _gappy_sample(300, seed=9)
    p = np.clip(p, 1e-6, 1 - 1e-6)
    assert metrics.nll(p, y) == pytest.approx(log_loss(y, p), rel=1e-13)


def test_nll_edge_values():
    assert metrics.nll([1.0, 0.0], [1, 0]) == 0.0  # 0 ln 0 = 0
    assert metrics.nll([0.0], [1]) == math.inf  # no clipping
    assert metrics.nll([0.3], [0.3]) == pytest.approx(metrics.binary_entropy(0.3), rel=1e-15)


def test_nll_from_logits_matches_probability_form_and_is_stable():
    rng = np.random.default_rng(10)
    z = rng.normal(0, 3, 200)
    y = rng.random(200)  # soft targets
    assert metrics.nll_from_logits(z, y) == pytest.approx(metrics.nll(expit(z), y), rel=1e-12)
    # exact far in the tails, where log(sigmoid) would give log(0)
    assert metrics.nll_from_logits([800.0], [1]) == 0.0
    assert metrics.nll_from_logits([-800.0], [1]) == 800.0
    assert metrics.nll_from_logits([50.0], [1]) == pytest.approx(math.exp(-50), rel=1e-12)
    Z = np.stack([z, -z])
    np.testing.assert_allclose(
        metrics.nll_from_logits(Z, y), [metrics.nll_from_logits(r, y) for r in Z], rtol=1e-15
    )


# ----------------------------------------------------------------- Platt scaling


def _scores(n: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n) * scale
    y = (rng.random(n) < expit(0.7 * z / scale - 0.4)).astype(int)
    return z, y


@pytest.mark.parametrize(("n", "scale"), [(400, 1.0), (60, 1.0), (500, 100.0), (300, 0.01)])
def test_platt_matches_sklearn_sigmoid_calibration(n, scale):
    z, y = _scores(n, seed=n, scale=scale)
    A, B = _sigmoid_calibration(z, y)  # sklearn: P = 1 / (1 + exp(A z + B))
    a, b = metrics.platt_fit(z, y)
    assert a == pytest.approx(-A, rel=1e-6)
    assert b == pytest.approx(-B, abs=1e-6)


def test_platt_matches_calibrated_classifier_cv():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(600, 3))
    y = (rng.random(600) < expit(X @ [2.0, -1.0, 0.5])).astype(int)
    clf = LogisticRegression().fit(X[:200], y[:200])
    cal = CalibratedClassifierCV(FrozenEstimator(clf), method="sigmoid").fit(X[200:], y[200:])
    a, b = metrics.platt_fit(clf.decision_function(X[200:]), y[200:])
    got = metrics.platt_apply(clf.decision_function(X), a, b)
    np.testing.assert_allclose(got, cal.predict_proba(X)[:, 1], atol=1e-6)


def test_platt_fit_is_a_stationary_point_with_platt_targets():
    z, y = _scores(300, seed=14)
    a, b = metrics.platt_fit(z, y)
    n_pos, n_neg = y.sum(), (1 - y).sum()
    t = np.where(y == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    r = expit(a * z + b) - t
    assert abs(r @ z) < 1e-9 and abs(r.sum()) < 1e-9


def test_platt_apply_is_a_stable_sigmoid():
    np.testing.assert_allclose(metrics.platt_apply([-1e4, 0.0, 1e4], 2.0, 0.0), [0.0, 0.5, 1.0])
    assert metrics.platt_apply(0.0, 1.0, math.log(3.0)) == pytest.approx(0.75)


# ------------------------------------------------------------------ entropy floors


@pytest.mark.parametrize(("eps", "floor"), [(0.05, 0.1169), (0.1, 0.1985), (0.2, 0.3251)])
def test_label_smoothing_entropy_floors(eps, floor):
    targets = np.array([eps / 2, 1 - eps / 2, 1 - eps / 2, eps / 2, 1 - eps / 2])
    assert metrics.entropy_floor(targets) == pytest.approx(floor, abs=1e-4)


@pytest.mark.parametrize("y", [0.025, 0.05, 0.1, 0.3, 0.5, 0.9])
def test_cross_entropy_minimum_is_entropy_at_logit(y):
    res = minimize_scalar(
        lambda z: metrics.nll_from_logits([z], [y]), bracket=(-1.0, 1.0), tol=1e-10
    )
    assert res.fun == pytest.approx(metrics.binary_entropy(y), abs=1e-12)
    assert res.x == pytest.approx(logit(y), abs=1e-4)
    assert metrics.nll_from_logits([logit(y)], [y]) == pytest.approx(
        metrics.binary_entropy(y), rel=1e-14
    )


def test_binary_entropy_values():
    np.testing.assert_array_equal(metrics.binary_entropy([0.0, 1.0]), [0.0, 0.0])
    assert metrics.binary_entropy(0.5) == pytest.approx(math.log(2), rel=1e-15)
    assert metrics.binary_entropy(0.2) == pytest.approx(-0.2 * math.log(0.2) - 0.8 * math.log(0.8))


def test_entropy_floor_axis_and_kl_gap():
    T = np.array([[0.0, 1.0], [0.5, 0.5]])
    np.testing.assert_allclose(metrics.entropy_floor(T), [0.0, math.log(2)])
    np.testing.assert_allclose(metrics.entropy_floor(T, axis=0), [math.log(2) / 2] * 2)
    targets = np.array([0.05, 0.95, 0.95])
    z = np.array([[0.0, 0.0, 0.0], [-2.0, 3.0, 2.5]])
    losses = metrics.nll_from_logits(z, targets)
    gap = metrics.kl_gap(losses, targets)
    np.testing.assert_allclose(gap, losses - metrics.entropy_floor(targets), rtol=1e-15)
    assert (gap > 0).all()
    optimum = metrics.nll_from_logits(logit(targets), targets)
    assert metrics.kl_gap(optimum, targets) == pytest.approx(0.0, abs=1e-15)


# -------------------------------------------------------------------- confidence


def test_confidence_summaries():
    assert metrics.mean_confidence([0.1, 0.5, 0.8]) == pytest.approx((0.9 + 0.5 + 0.8) / 3)
    assert metrics.mean_abs_logit([-2.0, 1.0, 0.0]) == 1.0
    np.testing.assert_allclose(metrics.mean_abs_logit([[1.0, -3.0], [0.0, 0.0]]), [2.0, 0.0])
    np.testing.assert_allclose(metrics.mean_confidence([[0.0, 1.0], [0.4, 0.4]]), [1.0, 0.6])


# ---------------------------------------------------------------------- geometry


def test_direction_gap_and_angle_hand_values():
    w_hat = np.array([6.0, 8.0])
    W = np.array([[3.0, 4.0], [-3.0, -4.0], [4.0, -3.0], [0.0, 0.0]])
    np.testing.assert_allclose(
        metrics.direction_gap(W[:3], w_hat), [0.0, 2.0, math.sqrt(2)], atol=1e-15
    )
    np.testing.assert_allclose(metrics.angle(W[:3], w_hat), [0.0, math.pi, math.pi / 2], atol=1e-15)
    assert np.isnan(metrics.direction_gap(W, w_hat)[3]) and np.isnan(metrics.angle(W, w_hat)[3])
    assert isinstance(metrics.angle(W[0], w_hat), float)


def test_angle_is_accurate_for_tiny_angles():
    for theta in (1e-5, 1e-9, 1e-13):
        W = np.array([math.cos(theta), math.sin(theta)])
        assert metrics.angle(W, [1.0, 0.0]) == pytest.approx(theta, rel=1e-9)
        # the chord 2 sin(theta / 2) is the direction gap
        assert metrics.direction_gap(W, [2.0, 0.0]) == pytest.approx(theta, rel=1e-9)


def test_geometry_batches_over_leading_axes():
    rng = np.random.default_rng(15)
    W = rng.normal(size=(4, 3, 5))
    w_hat = rng.normal(size=5)
    gap = metrics.direction_gap(W, w_hat)
    assert gap.shape == (4, 3)
    u = W[2, 1] / np.linalg.norm(W[2, 1]) - w_hat / np.linalg.norm(w_hat)
    assert gap[2, 1] == pytest.approx(np.linalg.norm(u), rel=1e-14)
    # the chord and the angle are related by gap = 2 sin(angle / 2)
    np.testing.assert_allclose(gap, 2 * np.sin(metrics.angle(W, w_hat) / 2), rtol=1e-12)


def test_normalized_margin_hand_values():
    X = np.array([[1.0, 0.0], [0.0, 1.0], [2.0, 2.0]])
    y = np.array([1, 0, 1])
    W = np.array([[1.0, -1.0], [0.0, 1.0], [0.0, 0.0]])
    got = metrics.normalized_margin(W, X, y)
    # z = (1, 0), (0, -1), (2, 2): W0 -> min(1, 1, 0) / sqrt 2; W1 -> min(0, -1, 2) / 1
    np.testing.assert_allclose(got[:2], [0.0, -1.0], atol=1e-15)
    assert np.isnan(got[2])
    assert metrics.normalized_margin([2.0, -1.0], X[:2], [1, -1]) == pytest.approx(1 / math.sqrt(5))


def test_hinge_active_fraction():
    y = np.array([1, 0, 1, 0])
    Z = np.array([[2.0, -2.0, 0.5, 1.0], [1.0, -1.0, 1.0, -1.0]])
    # margins s z: row 0 -> 2, 2, 0.5, -1 (active: 0.5, -1); row 1 -> all exactly 1
    np.testing.assert_allclose(metrics.hinge_active_fraction(Z, y), [0.5, 0.0])
    assert metrics.hinge_active_fraction([0.0], [-1]) == 1.0


def test_hinge_active_fraction_with_smoothed_and_soft_targets():
    # the margin losses use s = 2t - 1: a smoothed label 0.95 has s = 0.9
    t = np.array([0.95, 0.05, 0.95, 0.5])
    z = np.array([1.1, -1.2, 1.0 / 0.9 + 1e-9, 5.0])
    # s z: 0.99 (active), 1.08, just above 1, and s = 0 (zero gradient for both losses)
    assert metrics.hinge_active_fraction(z, t) == 0.25
    for code in ("hinge", "squared_hinge"):
        active = losses.derivative(code, z, t) != 0
        assert metrics.hinge_active_fraction(z, t) == active.mean()


# ------------------------------------------------------------------- bad input


P = [0.2, 0.7, 0.9]
Y = [0, 1, 1]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: metrics.ece(P, Y, bins=0), r"bins must be a positive integer, got 0"),
        (lambda: metrics.ece(P, Y, bins=2.5), r"bins must be a positive integer, got 2.5"),
        (lambda: metrics.ece(P, Y, bins=True), r"bins must be a positive integer, got True"),
        (lambda: metrics.ece(P, Y, strategy="equal"), r"strategy must be one of .*'equal'"),
        (lambda: metrics.ece(P, Y, kind="max"), r"kind must be one of .*'max'"),
        (lambda: metrics.ece([0.2, 1.2, 0.5], Y), r"p must lie in \[0, 1\].*1\.2"),
        (lambda: metrics.ece([0.2, np.nan, 0.5], Y), r"p must be finite"),
        (lambda: metrics.ece(P, [0, 2, 1]), r"y must hold hard labels in \{0, 1\}, got value 2"),
        (
            lambda: metrics.ece(P, [0, 0.5, 1]),
            r"y must hold hard labels in \{0, 1\}, got value 0.5",
        ),
        (lambda: metrics.ece(P, [0, 1]), r"y must have the shape of p \(3,\), got \(2,\)"),
        (lambda: metrics.ece([[0.2]], [[1]]), r"p must be 1-D \(n,\), got shape \(1, 1\)"),
        (lambda: metrics.ece([], []), r"p must be a non-empty array"),
        (lambda: metrics.ece(["a"], [1]), r"p must be a real numeric array"),
        (lambda: metrics.mce(P, Y, bins=-1), r"bins must be a positive integer"),
        (lambda: metrics.reliability(P, Y, strategy=None), r"strategy must be one of"),
        (
            lambda: metrics.ece_bootstrap(P, Y, n_boot=0),
            r"n_boot must be a positive integer, got 0",
        ),
        (
            lambda: metrics.ece_bootstrap(P, Y, level=1.0),
            r"level must be a number in \(0, 1\), got 1.0",
        ),
        (
            lambda: metrics.ece_bootstrap(P, Y, seed=-1),
            r"seed must be a non-negative integer, got -1",
        ),
        (
            lambda: metrics.true_calibration_error(P, [0.1, 0.2]),
            r"p_model of shape \(3,\) and p_true",
        ),
        (
            lambda: metrics.true_calibration_error(P, [0.1, 0.2, -0.1]),
            r"p_true must lie in \[0, 1\]",
        ),
        (lambda: metrics.brier(P, [0, 1, 2]), r"y must lie in \[0, 1\]"),
        (lambda: metrics.nll([0.5, 1.5], [0, 1]), r"p must lie in \[0, 1\]"),
        (lambda: metrics.nll_from_logits([np.inf], [1]), r"z must be finite"),
        (
            lambda: metrics.nll_from_logits([0.0, 1.0], [1, 0, 1]),
            r"z of shape \(2,\) and y of shape",
        ),
        (lambda: metrics.platt_fit([0.1, 0.2], [0, 3]), r"y must hold hard labels"),
        (lambda: metrics.platt_fit([0.1, 0.2], [0]), r"y must have the shape of z"),
        (lambda: metrics.platt_fit([0.1, 0.2], [0, 1], max_iter=0), r"max_iter must be a positive"),
        (
            lambda: metrics.platt_apply([0.0], np.nan, 0.0),
            r"a must be a finite real number, got nan",
        ),
        (lambda: metrics.platt_apply([0.0], 1.0, "x"), r"b must be a finite real number, got 'x'"),
        (lambda: metrics.binary_entropy([0.5, 1.01]), r"y must lie in \[0, 1\]"),
        (lambda: metrics.entropy_floor([0.5, -0.1]), r"targets must lie in \[0, 1\]"),
        (
            lambda: metrics.entropy_floor([0.5], axis=1),
            r"axis must be an integer in \[-1, 0\], got 1",
        ),
        (
            lambda: metrics.kl_gap([0.1, 0.2, 0.3], [[0.5, 0.5], [0.1, 0.1]]),
            r"loss of shape \(3,\)",
        ),
        (lambda: metrics.kl_gap([np.nan], [0.5]), r"loss must be finite"),
        (lambda: metrics.mean_confidence([1.5]), r"p must lie in \[0, 1\]"),
        (lambda: metrics.mean_abs_logit([]), r"z must be a non-empty array"),
        (
            lambda: metrics.direction_gap([[1.0, 0.0]], [1.0, 0.0, 0.0]),
            r"W must have last dimension d = 3",
        ),
        (lambda: metrics.direction_gap([1.0, 0.0], [0.0, 0.0]), r"w_hat must be non-zero"),
        (
            lambda: metrics.angle([1.0, 0.0], [[1.0, 0.0]]),
            r"w_hat must be 1-D \(d,\), got shape \(1, 2\)",
        ),
        (lambda: metrics.angle([np.nan, 0.0], [1.0, 0.0]), r"W must be finite"),
        (
            lambda: metrics.normalized_margin([1.0], [[1.0, 0.0]], [1]),
            r"W must have last dimension d = 2",
        ),
        (
            lambda: metrics.normalized_margin([1.0, 0.0], [[1.0, 0.0]], [2]),
            r"y must hold labels in \{0, 1\} or",
        ),
        (
            lambda: metrics.normalized_margin([1.0, 0.0], [[1.0, 0.0]], [1, 0]),
            r"y must have shape \(1,\)",
        ),
        (
            lambda: metrics.hinge_active_fraction([0.5, 1.0], [0, -1]),
            r"y must hold labels in \{0, 1\} or",
        ),
        (
            lambda: metrics.hinge_active_fraction([0.5, 1.0], [0, 1, 1]),
            r"Z of shape \(2,\) and y of shape",
        ),
    ],
)
def test_bad_input_raises_value_error_naming_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()
