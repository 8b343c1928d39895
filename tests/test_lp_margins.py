"""The L1 and L-infinity max-margin references (logsim.svm.max_margin_lp) against
independent formulations written here: the dual LP (solved by HiGHS's interior-point
method, not the simplex the module uses), a brute-force search over directions in 2-D,
closed forms; the uniqueness test on cases built to be non-unique and unique; and the
stored variables of a small sweep against the same references recomputed from its
arrays."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

import logsim
from logsim import svm

NORMS = (1.0, np.inf)
DUAL = {1.0: np.inf, np.inf: 1.0}


def _separable(n, d, seed):
    rng = np.random.default_rng(seed)
    w = rng.normal(size=d)
    X = rng.normal(size=(n, d))
    X = X[np.abs(X @ w) > 0.05 * np.linalg.norm(w)]
    return X, (X @ w > 0).astype(int)


def _dual_margin(X, y, p):
    """g*_p from the dual: min over probability vectors q of ||Z^T q||_q (q-norm dual to
    p), written as an LP with |Z^T q| bounded by auxiliary variables, solved by HiGHS's
    interior-point method."""
    Z = svm.signed_rows(X, y)
    n, d = Z.shape
    if p == np.inf:  # min sum_j t_j,  -t <= Z^T q <= t
        c = np.r_[np.zeros(n), np.ones(d)]
        A = np.block([[Z.T, -np.eye(d)], [-Z.T, -np.eye(d)]])
        bounds = [(0, None)] * n + [(None, None)] * d
    else:  # min t,  -t <= (Z^T q)_j <= t
        c = np.r_[np.zeros(n), 1.0]
        A = np.block([[Z.T, -np.ones((d, 1))], [-Z.T, -np.ones((d, 1))]])
        bounds = [(0, None)] * n + [(None, None)]
    A_eq = np.r_[np.ones(n), np.zeros(len(c) - n)][None]
    res = linprog(c, A_ub=A, b_ub=np.zeros(2 * d), A_eq=A_eq, b_eq=[1.0], bounds=bounds,
                  method="highs-ipm", options={"dual_feasibility_tolerance": 1e-10,
                                               "primal_feasibility_tolerance": 1e-10})
    assert res.status == 0
    return res.fun


@pytest.mark.parametrize("n, d, seed", [(12, 2, 0), (40, 3, 1), (200, 10, 2), (600, 5, 3),
                                        (30, 30, 4)])
def test_margins_equal_the_dual_lp(n, d, seed):
    X, y = _separable(n, d, seed)
    w2 = svm.max_margin(X, y)
    both = svm.max_margin_lps(X, y, start=w2)
    for p in NORMS:
        sol = svm.max_margin_lp(X, y, p, start=w2)
        assert sol.margin == pytest.approx(_dual_margin(X, y, p), rel=1e-8)
        assert sol.margin == pytest.approx(both[p].margin, rel=1e-13)  # one call or two
        Z = svm.signed_rows(X, y)
        # w is feasible for s x.w >= 1 and its p-norm is 1/g*: the primal bound is tight
        assert np.min(Z @ sol.w) == pytest.approx(1.0, abs=1e-12)
        assert np.linalg.norm(sol.w, ord=p) == pytest.approx(1.0 / sol.margin, rel=1e-12)
        assert 0 <= sol.duality_gap <= 1e-11 * np.linalg.norm(Z, ord=DUAL[p], axis=1).max()
        # the normalised margin of w in its own norm is the optimum, and no other norm's
        # optimum beats the L2 SVM in the L2 norm
        assert svm.normalized_margin(X, y, sol.w, p) == pytest.approx(sol.margin, rel=1e-12)
        assert svm.normalized_margin(X, y, sol.w, 2) <= 1.0 / np.linalg.norm(w2) * (1 + 1e-12)


def test_constraint_generation_matches_the_full_problem():
    """n = 600 > 8 (d + 1): solved from the rows of smallest L2 margin, rows added as they
    are violated; the same margin as the LP on every row (no start)."""
    X, y = _separable(600, 5, 7)
    w2 = svm.max_margin(X, y)
    for p in NORMS:
        assert (svm.max_margin_lp(X, y, p, start=w2).margin
                == pytest.approx(svm.max_margin_lp(X, y, p).margin, rel=1e-12))
    # a poor start (the opposite direction) needs more rounds and still gets there
    assert (svm.max_margin_lp(X, y, np.inf, start=-w2).margin
            == pytest.approx(_dual_margin(X, y, np.inf), rel=1e-8))


def _brute_force_2d(Z, p, grid=200_001):
    """max over unit-p-norm directions of min_i z_i.w: a fine grid of angles, then a
    golden-section refinement around the best (the objective is concave on each arc
    between breakpoints, so the refinement converges)."""

    def value(theta):
        w = np.stack([np.cos(theta), np.sin(theta)], axis=-1)
        w = w / np.linalg.norm(w, ord=p, axis=-1, keepdims=True)
        return (w @ Z.T).min(axis=-1), w

    theta = np.linspace(-np.pi, np.pi, grid)
    k = int(np.argmax(value(theta)[0]))
    lo, hi = theta[max(k - 1, 0)], theta[min(k + 1, grid - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(200):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if value(a)[0] > value(b)[0]:
            hi = b
        else:
            lo = a
    g, w = value(np.array([(lo + hi) / 2]))
    return float(g[0]), w[0]


@pytest.mark.parametrize("seed", range(4))
def test_margins_and_directions_equal_a_brute_force_search_in_2d(seed):
    X, y = _separable(15, 2, 10 + seed)
    Z = svm.signed_rows(X, y)
    for p in NORMS:
        sol = svm.max_margin_lp(X, y, p)
        g, w = _brute_force_2d(Z, p)
        assert sol.margin == pytest.approx(g, rel=1e-9)
        assert sol.unique
        unit = sol.w / np.linalg.norm(sol.w, ord=p)
        np.testing.assert_allclose(unit, w, atol=1e-6)


def test_one_point_has_the_dual_norm_as_its_margin():
    """max over ||w||_p <= 1 of z.w is ||z||_q: w = sign(z) for L-infinity, the signed
    unit vector of the largest |z_j| for L1."""
    z = np.array([0.5, -2.0, 1.25])
    inf = svm.max_margin_lp(z[None], [1], np.inf)
    one = svm.max_margin_lp(z[None], [1], 1)
    assert inf.margin == pytest.approx(np.abs(z).sum(), rel=1e-14)
    np.testing.assert_allclose(inf.w * inf.margin, np.sign(z), atol=1e-14)
    assert one.margin == pytest.approx(2.0, rel=1e-14)
    np.testing.assert_allclose(one.w * one.margin, [0, -1, 0], atol=1e-14)
    assert inf.unique and one.unique


# --------------------------------------------------------------------------- uniqueness


NON_UNIQUE = (np.array([[1.0, 0.0], [1.0, 0.5]]), np.array([1, 1]))


def test_a_face_of_optima_is_found_not_unique():
    """z = (1, 0) and (1, 0.5): in L-infinity every w = (1, t), t in [0, 1], has margin 1
    (the face is a segment); in L1 only w = (1, 0) does."""
    X, y = NON_UNIQUE
    inf = svm.max_margin_lp(X, y, np.inf)
    assert inf.margin == pytest.approx(1.0, rel=1e-14)
    assert not inf.unique and inf.certified_by == "face"
    assert inf.spread == pytest.approx(1.0, abs=1e-9)
    lo, hi = svm.optimal_face_extent(X, y, np.inf, inf.margin)
    np.testing.assert_allclose(lo, [1.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(hi, [1.0, 1.0], atol=1e-9)
    one = svm.max_margin_lp(X, y, 1)
    assert one.unique and one.margin == pytest.approx(1.0, rel=1e-14)
    np.testing.assert_allclose(one.w, [1.0, 0.0], atol=1e-14)


def test_a_degenerate_unique_vertex_is_unique():
    """Three margin rows and both bounds active at w = (1, 1) in L-infinity (more active
    constraints than variables, so the multipliers are not unique): still one optimum."""
    X = np.array([[1.0, 0.5], [0.5, 1.0], [0.75, 0.75], [2.0, 3.0]])
    sol = svm.max_margin_lp(X, np.ones(4), np.inf)
    assert sol.unique and sol.margin == pytest.approx(1.5, rel=1e-14)
    lo, hi = svm.optimal_face_extent(X, np.ones(4), np.inf, sol.margin)
    assert np.max(hi - lo) < 1e-9


def test_the_face_measurement_decides_where_the_multipliers_do_not(monkeypatch):
    """With the certificate from the multipliers switched off, the LPs over the optimal
    face alone still tell the unique cases from the non-unique one."""
    monkeypatch.setattr(svm, "_certified_unique", lambda *args: False)
    X, y = NON_UNIQUE
    assert not svm.max_margin_lp(X, y, np.inf).unique
    one = svm.max_margin_lp(X, y, 1)
    assert one.unique and one.certified_by == "face" and one.spread < 1e-9
    for seed in range(3):
        X, y = _separable(20, 3, 30 + seed)
        for p in NORMS:
            sol = svm.max_margin_lp(X, y, p)
            assert sol.unique and sol.certified_by == "face", (seed, p)


# --------------------------------------------------------------------------- input


def test_not_separable_and_bad_input_are_refused():
    with pytest.raises(svm.NotSeparableError, match="not linearly separable"):
        svm.max_margin_lp([[1.0, 0.0], [1.0, 0.0]], [1, 0], np.inf)
    with pytest.raises(svm.NotSeparableError):
        svm.max_margin_lps(np.zeros((3, 2)), [1, 0, 1])
    for bad in (2, 0.5, True, "inf"):
        with pytest.raises(ValueError, match="p must be 1 or inf"):
            svm.max_margin_lp(*NON_UNIQUE, bad)
    X, y = _separable(200, 3, 5)
    with pytest.raises(ValueError, match="start must be"):
        svm.max_margin_lp(X, y, 1, start=[1.0, 2.0])
    with pytest.raises(ValueError, match="p must be 1, 2 or inf"):
        svm.normalized_margin(X, y, np.ones(3), 3)


def test_normalized_margin_in_each_norm():
    X, y = _separable(25, 3, 8)
    Z = svm.signed_rows(X, y)
    W = np.random.default_rng(0).normal(size=(4, 3))
    for p in (1, 2, np.inf):
        expected = [min(Z @ w) / np.linalg.norm(w, ord=p) for w in W]
        np.testing.assert_allclose(svm.normalized_margin(X, y, W, p), expected, rtol=1e-14)
    assert np.isnan(svm.normalized_margin(X, y, np.zeros(3), 1))
    sol = svm.max_margin_solution(X, y)
    assert svm.normalized_margin(X, y, sol.w, 2) == pytest.approx(sol.margin, rel=1e-13)


# --------------------------------------------------------------------------- stored


@pytest.fixture(scope="module")
def sweep():
    """Separable draws (clean) and non-separable ones (30 % of the labels flipped)."""
    return logsim.run({
        "name": "lp-margins",
        "data": {"kind": "separable", "n_train": 30, "n_test": 20, "dim": 3, "margin": 0.1},
        "grid": {"noise_rate": [0.0, 0.3], "method": ["gd", "sign_gd"], "seed": 3},
        "optimizer": {"learning_rate": 0.5, "steps": 200},
        "record": {"checkpoints": 6},
    })


def test_stored_references_and_gaps_equal_the_direct_computation(sweep):
    ds = sweep
    assert ds["svm_margin_l1"].dims == ("noise_rate", "seed")
    assert ds["w_hat_linf"].dims == ("noise_rate", "seed", "feature")
    assert ds["margin_gap_l1"].dims == ("noise_rate", "method", "seed", "step")
    assert ds["w_hat_l1_unique"].dtype == bool
    seen = set()
    for noise in ds["noise_rate"].values:
        for seed in ds["seed"].values:
            X = ds["x_train"].sel(seed=seed).values
            t = ds["targets"].sel(noise_rate=noise, seed=seed).values
            labels = np.sign(t - 0.5)
            separable = bool(ds["separable"].sel(noise_rate=noise, seed=seed))
            seen.add(separable)
            for p, name in ((1.0, "l1"), (np.inf, "linf")):
                at = {"noise_rate": noise, "seed": seed}
                margin = float(ds[f"svm_margin_{name}"].sel(at))
                gaps = ds[f"margin_gap_{name}"].sel(at).transpose("method", "step").values
                dirs = ds[f"direction_gap_{name}"].sel(at).transpose("method", "step").values
                if not separable:
                    assert np.isnan(margin) and not ds[f"w_hat_{name}_unique"].sel(at)
                    assert np.isnan(gaps).all() and np.isnan(dirs).all()
                    continue
                ref = svm.max_margin_lp(X, labels, p)
                assert margin == pytest.approx(ref.margin, rel=1e-12)
                w_hat = ds[f"w_hat_{name}"].sel(at).values
                np.testing.assert_allclose(w_hat, ref.w, rtol=1e-10, atol=1e-12)
                assert bool(ds[f"w_hat_{name}_unique"].sel(at)) == ref.unique
                W = ds["weights"].sel(at).transpose("method", "step", "feature").values
                for m in range(W.shape[0]):
                    for k in range(1, W.shape[1]):  # step 0: w = 0, no direction
                        w = W[m, k]
                        expected = ref.margin - svm.normalized_margin(X, labels, w, p)
                        assert gaps[m, k] == pytest.approx(expected, rel=1e-9, abs=1e-13)
                        unit, ref_unit = (w / np.linalg.norm(w, ord=p),
                                          ref.w / np.linalg.norm(ref.w, ord=p))
                        d = np.linalg.norm(unit - ref_unit, ord=p)
                        assert dirs[m, k] == pytest.approx(d, rel=1e-9, abs=1e-13)
                assert np.isnan(gaps[:, 0]).all()
                assert np.all(gaps[:, 1:] >= -1e-12)  # the optimum is an upper bound
    assert seen == {True, False}
