"""logsim.svm against closed forms, scikit-learn's SVC and the KKT conditions."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.svm import SVC

from logsim import svm


def _separable(n: int, d: int, rng: np.random.Generator, gap: float = 0.0):
    """Gaussian points labelled by a random homogeneous hyperplane, |margin| > gap."""
    w_star = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    X = X[np.abs(X @ w_star) / np.linalg.norm(w_star) > gap]
    return X, (X @ w_star > 0).astype(int)


def _kkt_residuals(X, y, sol):
    """(min margin - 1, min alpha / max alpha, complementary slackness, stationarity)."""
    Z = np.where(np.asarray(y) > 0, 1.0, -1.0)[:, None] * X
    m = Z @ sol.w
    scale = sol.alpha.max()
    return (
        m.min() - 1.0,
        sol.alpha.min() / scale,
        np.max(np.abs(sol.alpha * (m - 1.0))) / scale,
        np.max(np.abs(Z.T @ sol.alpha - sol.w)) / np.max(np.abs(sol.w)),
    )


# -------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("seed", range(5))
def test_two_support_vectors_closed_form(seed):
    rng = np.random.default_rng(seed)
    d = 2 + seed
    # z1 = 0.6 z0 + ||z0|| u with u ⊥ z0 makes both multipliers positive:
    # alpha = (Z_S Z_Sᵀ)^-1 1 > 0 iff z0.z1 < min(||z0||², ||z1||²).
    z0 = rng.normal(size=d)
    u = rng.normal(size=d)
    u -= (u @ z0) / (z0 @ z0) * z0
    ZS = np.stack([z0, 0.6 * z0 + np.linalg.norm(z0) * u / np.linalg.norm(u)])
    gram = ZS @ ZS.T
    alpha = np.linalg.solve(gram, np.ones(2))
    w = ZS.T @ alpha  # w_hat = Z_S (Z_Sᵀ Z_S)^-1 1 with the z_i as columns of Z_S
    assert (alpha > 0).all()
    # Other points strictly outside the margin: z = (1 + delta) w / ||w||² + v, v ⊥ w.
    k = 30
    v = rng.normal(size=(k, d))
    v -= np.outer(v @ w, w) / (w @ w)
    Z_far = (1.0 + rng.uniform(0.05, 2.0, k))[:, None] * w / (w @ w) + v
    Z = np.vstack([ZS, Z_far])
    s = rng.choice([-1, 1], size=len(Z))
    s[0] = 1  # both signs present
    s[1] = -1
    X = s[:, None] * Z
    y = (s > 0).astype(int)
    sol = svm.max_margin_solution(X, y)
    np.testing.assert_allclose(sol.w, w, rtol=0, atol=1e-12 * np.abs(w).max())
    np.testing.assert_array_equal(sol.support, [0, 1])
    np.testing.assert_allclose(sol.alpha[:2], alpha, rtol=1e-10)
    assert sol.margin == pytest.approx(1.0 / np.linalg.norm(w), rel=1e-13)


def test_soudry_toy_problem():
    # Soudry et al. (2018), Fig. 1: support vectors (0.5, 1.5), (1.5, 0.5) labelled +1,
    # their negatives -1, plus points far off the margin (x1 + x2 >= 3 for class +1).
    rng = np.random.default_rng(0)
    far = rng.uniform(0.5, 4.0, size=(12, 2))
    far = far[far.sum(axis=1) >= 3.0]
    sv = np.array([[0.5, 1.5], [1.5, 0.5]])
    X = np.vstack([sv, -sv, far, -far])
    y = np.r_[1, 1, 0, 0, np.ones(len(far)), np.zeros(len(far))].astype(int)
    sol = svm.max_margin_solution(X, y)
    np.testing.assert_allclose(sol.w, [0.5, 0.5], rtol=0, atol=1e-12)
    assert sol.margin == pytest.approx(np.sqrt(2.0), rel=1e-12)
    # the same problem with labels in {-1, +1}
    np.testing.assert_allclose(svm.max_margin(X, 2 * y - 1), [0.5, 0.5], rtol=0, atol=1e-12)


def test_single_point_and_duplicates():
    np.testing.assert_allclose(svm.max_margin([[3.0, 4.0]], [0]), [-0.12, -0.16], atol=1e-15)
    X = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, -1.0], [2.0, -1.0], [-3.0, 0.5]])
    y = np.array([1, 1, 1, 1, 0])
    sol = svm.max_margin_solution(X, y)
    a = _kkt_residuals(X, y, sol)
    assert a[0] > -1e-12 and a[1] > -1e-12 and a[2] < 1e-12 and a[3] < 1e-12


def test_degenerate_grid_with_many_points_on_the_margin():
    g = np.array([(i, j) for i in range(-5, 6) for j in range(-5, 6)], dtype=float)
    keep = g[:, 0] + 2 * g[:, 1] != 0
    X, y = g[keep], (g[keep] @ [1.0, 2.0] > 0).astype(int)
    sol = svm.max_margin_solution(X, y)
    # min over the grid of |i + 2j| is 1, reached along a whole line: w_hat = (1, 2) / 1
    np.testing.assert_allclose(sol.w, [1.0, 2.0], rtol=0, atol=1e-12)


# ------------------------------------------------------------- scikit-learn SVC


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_sklearn_svc_on_symmetrised_data(seed):
    # Including every (x, y) and (-x, 1 - y) makes the optimal intercept 0, so SVC's
    # affine hard-margin SVM (C large) solves the homogeneous problem. libsvm caches
    # kernel values in single precision, so agreement is limited to about 1e-6.
    rng = np.random.default_rng(seed)
    X, y = _separable(60, 2 + seed % 4, rng, gap=0.1)
    Xs, ys = np.vstack([X, -X]), np.concatenate([y, 1 - y])
    svc = SVC(kernel="linear", C=1e10, tol=1e-10).fit(Xs, ys)
    w_svc = svc.coef_[0]
    w = svm.max_margin(X, y)
    assert abs(svc.intercept_[0]) < 1e-8
    gap = np.linalg.norm(w_svc / np.linalg.norm(w_svc) - w / np.linalg.norm(w))
    assert gap < 2e-6
    assert np.linalg.norm(w_svc) == pytest.approx(np.linalg.norm(w), rel=1e-5)
    # the symmetrised problem has the same homogeneous solution
    np.testing.assert_allclose(svm.max_margin(Xs, ys), w, rtol=1e-10)


# --------------------------------------------------------------- KKT conditions


def test_kkt_conditions_on_random_problems():
    rng = np.random.default_rng(2024)
    worst = np.zeros(4)
    for k in range(100):
        n = int(rng.integers(5, 201))
        d = int(rng.integers(2, 21))
        X, y = _separable(n, d, rng, gap=0.0 if k % 2 else 0.05)
        labels = y if k % 3 else 2 * y - 1
        sol = svm.max_margin_solution(X, labels)
        r = _kkt_residuals(X, y, sol)
        worst = np.maximum(worst, [-r[0], -r[1], r[2], r[3]])
        assert sol.max_violation == pytest.approx(max(0.0, -r[0]), abs=1e-15)
        assert (sol.alpha[np.setdiff1d(np.arange(len(y)), sol.support)] == 0).all()
    # margins >= 1 - 1e-10, alpha >= 0, alpha_i (margin_i - 1) = 0, w = sum alpha_i z_i
    assert worst[0] < 1e-10 and worst[1] < 1e-12 and worst[2] < 1e-10 and worst[3] < 1e-10


def test_solution_is_optimal_not_just_feasible():
    # Any feasible w is at least as long as w_hat: compare with feasible rescalings of
    # random directions and of the generating direction.
    rng = np.random.default_rng(7)
    X, y = _separable(150, 5, rng)
    Z = np.where(y > 0, 1.0, -1.0)[:, None] * X
    w = svm.max_margin(X, y)
    for v in [*rng.normal(size=(200, 5)), *(w + 1e-3 * rng.normal(size=(50, 5)))]:
        m = (Z @ v).min()
        if m > 0:
            assert np.linalg.norm(v / m) >= np.linalg.norm(w) * (1 - 1e-13)


def test_ill_conditioned_features():
    # Feature scales from 1e-3 to 1e3: the margin is about 1e-5 of max ||x_i||.
    rng = np.random.default_rng(0)
    scales = np.logspace(-3, 3, 8)
    X = rng.normal(size=(400, 8)) * scales
    y = (X @ (rng.normal(size=8) / scales) > 0).astype(int)
    sol = svm.max_margin_solution(X, y)
    r = _kkt_residuals(X, y, sol)
    assert r[0] > -1e-7 and r[1] > -1e-12 and r[2] < 1e-7 and r[3] < 1e-7


def test_two_thousand_points():
    # KKT conditions to 1e-10 at the size of the larger studies (its speed is not a test:
    # timings belong to the benchmarks)
    rng = np.random.default_rng(1)
    X, y = _separable(2000, 20, rng)
    sol = svm.max_margin_solution(X, y)
    r = _kkt_residuals(X, y, sol)
    assert r[0] > -1e-10 and r[1] > -1e-12 and r[2] < 1e-10 and r[3] < 1e-10


# --------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("X", "y"),
    [
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), [1, 1]),  # z and -z: 0 in the hull
        (np.array([[1.0, 2.0], [1.0, 2.0]]), [0, 1]),  # one point, both labels
        (np.array([[0.0, 0.0], [1.0, 0.0]]), [1, 1]),  # a zero point has margin 0
        (np.zeros((3, 2)), [0, 1, 1]),
        (np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]]), [1, 1, 0, 0]),  # XOR
    ],
)
def test_non_separable_rejected(X, y):
    with pytest.raises(svm.NotSeparableError, match="not linearly separable through the origin"):
        svm.max_margin(X, y)
    assert issubclass(svm.NotSeparableError, ValueError)


def test_random_non_separable_rejected():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(200, 3))
    with pytest.raises(ValueError, match="not linearly separable through the origin"):
        svm.max_margin(X, rng.integers(0, 2, 200))


@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        ([[1.0], [2.0]], [0, 2], r"y must hold labels in \{0, 1\} or in \{-1, \+1\}, got .*2"),
        ([[1.0], [2.0]], [-1, 0], r"y must hold labels in \{0, 1\} or in \{-1, \+1\}, got .*-1, 0"),
        ([[1.0], [2.0]], [0.5, 1.0], r"y must hold labels .*0\.5"),
        ([[1.0], [2.0]], ["a", "b"], r"y must hold numeric labels"),
        ([[1.0], [2.0]], [1, 0, 1], r"y must have shape \(2,\) to match X, got shape \(3,\)"),
        ([1.0, 2.0], [1, 0], r"X must be a non-empty 2-D array \(n, d\), got shape \(2,\)"),
        (np.zeros((0, 2)), [], r"X must be a non-empty 2-D array"),
        ([[np.nan], [1.0]], [1, 0], r"X must be finite"),
    ],
)
def test_bad_input_rejected(X, y, match):
    with pytest.raises(ValueError, match=match) as info:
        svm.max_margin(X, y)
    assert not isinstance(info.value, svm.NotSeparableError)  # bad input is not "no solution"


@pytest.mark.parametrize("tol", [0, -1e-3, 1.0, True, "1e-9", float("nan")])
def test_bad_tol_rejected(tol):
    with pytest.raises(ValueError, match=r"tol must be a number in \(0, 1\)"):
        svm.max_margin([[1.0]], [1], tol=tol)


def test_boolean_labels_and_solution_is_frozen():
    sol = svm.max_margin_solution([[2.0, 0.0], [-1.0, 1.0]], np.array([True, False]))
    assert sol.support.dtype.kind == "i"
    with pytest.raises(AttributeError):
        sol.margin = 1.0  # type: ignore[misc]
