"""Claim 9 (the optimiser picks the margin): the checks' numbers against recomputations from
the stored weights and data with logsim.svm called directly, and negative controls: each
part's check fails on a result where its claim is false."""

from __future__ import annotations

import math

import numpy as np
import pytest

from logsim import svm
from logsim.analysis import analyse
from logsim.claims import result_for
from logsim.studies import studies

STUDIES = {s.key: s for s in studies() if s.claim == 9}
KEYS = ("optimiser_margin", "optimiser_margin_adam", "optimiser_margin_weight_decay",
        "optimiser_margin_large_steps")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Small results of the four parts, stored where the other study tests keep theirs
    (``result_for`` reuses a file made from the same scenario text)."""
    out = tmp_path_factory.getbasetemp() / "notebook-claims"
    return {k: result_for(STUDIES[k], out_dir=out)[0] for k in KEYS}


def _data(ds):
    X = np.asarray(ds["x_train"].values).reshape(-1, ds.sizes["feature"])
    X = X[: ds.sizes["sample"]]
    y = np.asarray(ds["targets"].values).reshape(-1, ds.sizes["sample"])[0]
    return X, y


def _weights(ds, **sel):
    return np.asarray(ds["weights"].sel(sel).transpose(..., "step", "feature").values
                      ).reshape(ds.sizes["step"], -1)


def test_the_four_parts_are_claim_9():
    assert sorted(STUDIES) == sorted(KEYS)
    assert all(s.headline == STUDIES[KEYS[0]].headline for s in STUDIES.values())


def test_the_data_separate_the_three_directions(results):
    """L1, L2 and L-infinity max-margin directions of the stored data, from logsim.svm:
    unique, and 23.8, 12.5 and 36.3 degrees apart (what the scenario file says)."""
    ds = results["optimiser_margin"]
    X, y = _data(ds)
    w = {1: svm.max_margin_lp(X, y, 1), np.inf: svm.max_margin_lp(X, y, np.inf)}
    assert w[1].unique and w[np.inf].unique
    directions = {p: math.degrees(math.atan2(v[1], v[0]))
                  for p, v in ((1, w[1].w), (2, svm.max_margin(X, y)),
                               (np.inf, w[np.inf].w))}
    assert directions[1] == pytest.approx(-7.125, abs=1e-3)
    assert directions[2] == pytest.approx(-30.964, abs=1e-3)
    assert directions[np.inf] == pytest.approx(-43.452, abs=1e-3)


def test_relative_gaps_and_angles_recomputed_from_the_weights(results):
    """The check's numbers for sign descent and GD from the stored weights alone."""
    from logsim.studies.optimiser_margin import measurements

    ds = results["optimiser_margin"]
    X, y = _data(ds)
    m = measurements(ds)
    refs = {"l1": svm.max_margin_lp(X, y, 1), "linf": svm.max_margin_lp(X, y, np.inf)}
    l2 = svm.max_margin_solution(X, y)
    for method, own in (("sign_gd", "linf"), ("gd", "l2"), ("coordinate_descent", "l1")):
        w = _weights(ds, method=method, schedule="constant")[-1]
        got = m["cells"][f"{method}/constant"]
        expected = {
            "l1": 1 - svm.normalized_margin(X, y, w, 1) / refs["l1"].margin,
            "l2": 1 - svm.normalized_margin(X, y, w, 2) / l2.margin,
            "linf": 1 - svm.normalized_margin(X, y, w, np.inf) / refs["linf"].margin,
        }
        for p, value in expected.items():
            assert got["gap"][p] == pytest.approx(value, rel=1e-6, abs=1e-14), (method, p)
        ref = {"l1": refs["l1"].w, "l2": l2.w, "linf": refs["linf"].w}[own]
        cos = w @ ref / np.linalg.norm(w) / np.linalg.norm(ref)
        angle = math.degrees(math.acos(min(1.0, cos)))
        assert got["angle"][own] == pytest.approx(angle, abs=1e-6)


def _swap(ds, dim, src, dst, **fixed):
    """A copy of ``ds`` whose weights at ``dim = dst`` are those at ``dim = src``, then
    re-analysed (every margin variable recomputed from the weights)."""
    out = ds.copy(deep=True)
    at = {dim: dst, **fixed}
    out["weights"].loc[at] = ds["weights"].sel({dim: src, **fixed}).values
    return analyse(out)


def test_the_geometry_check_fails_when_sign_descent_moves_like_gd(results):
    ds = results["optimiser_margin"]
    study = STUDIES["optimiser_margin"]
    assert study.check(ds).holds
    tampered = _swap(ds, "method", "gd", "sign_gd")
    verdict = study.check(tampered)
    assert not verdict.holds, verdict.line()
    assert not verdict.values["cells"]["sign_gd/constant"]["holds"]
    assert verdict.values["cells"]["gd/constant"]["holds"]


def test_the_geometry_check_fails_when_gd_stops_turning(results):
    """GD's weights frozen in direction from T/100 on (the norm still grows): its L2 gap no
    longer falls, and the check says so."""
    ds = results["optimiser_margin"]
    study = STUDIES["optimiser_margin"]
    steps = ds["step"].values
    k = int(np.argmin(np.abs(steps - steps[-1] / 100)))
    tampered = ds.copy(deep=True)
    at = {"method": "gd", "schedule": "constant"}
    W = _weights(ds, **at)
    W[k:] = W[k] * (np.linalg.norm(W[k:], axis=1) / np.linalg.norm(W[k]))[:, None]
    tampered["weights"].loc[at] = W.reshape(tampered["weights"].sel(at).shape)
    verdict = study.check(analyse(tampered))
    assert not verdict.holds, verdict.line()
    assert not verdict.values["cells"]["gd/constant"]["holds"]


def test_the_geometry_check_needs_directions_that_differ(results):
    """A data set whose L-infinity direction is not unique (marked so) is no test."""
    ds = results["optimiser_margin"]
    tampered = ds.copy(deep=True)
    tampered["w_hat_linf_unique"][...] = False
    assert not STUDIES["optimiser_margin"].check(tampered).holds


def test_adam_departs_where_the_loss_reaches_eps(results):
    """The departure from the eps = 0 run, recomputed from the weights."""
    from logsim.studies.optimiser_margin import DEPART, adam_measurements

    ds = results["optimiser_margin_adam"]
    m = adam_measurements(ds)
    steps = ds["step"].values
    for eps in (1e-6, 1e-4):
        W0 = _weights(ds, eps=0.0, schedule="constant")
        W = _weights(ds, eps=eps, schedule="constant")
        with np.errstate(invalid="ignore", divide="ignore"):
            rel = np.linalg.norm(W - W0, axis=1) / np.linalg.norm(W0, axis=1)
        k = int(np.flatnonzero(rel > DEPART)[0])
        d = m["eps"][f"{eps:g}/constant"]["departure"]
        assert d["step"] == steps[k]
        log_loss = float(ds["log_train_loss"].sel(eps=0.0, schedule="constant").values
                         .ravel()[k])
        assert d["log_loss"] == log_loss
        assert abs(log_loss - math.log(eps)) < 6


def test_the_adam_check_fails_without_a_second_regime(results):
    """Every eps > 0 run replaced by the eps = 0 run: no departure, no turn to L2."""
    ds = results["optimiser_margin_adam"]
    study = STUDIES["optimiser_margin_adam"]
    assert study.check(ds).holds
    tampered = ds.copy(deep=True)
    for eps in ds["eps"].values[1:]:
        tampered["weights"].loc[{"eps": eps}] = ds["weights"].sel(eps=0.0).values
    verdict = study.check(analyse(tampered))
    assert not verdict.holds, verdict.line()


def test_the_adam_check_fails_when_eps_0_is_gd(results):
    """Adam without eps replaced by the largest eps (GD-like): it no longer picks L-inf."""
    ds = results["optimiser_margin_adam"]
    tampered = _swap(ds, "eps", float(ds["eps"].values[-1]), 0.0)
    verdict = STUDIES["optimiser_margin_adam"].check(tampered)
    assert not verdict.holds, verdict.line()
    assert not verdict.values["eps0"]["holds"]


def test_weight_decay_check_recomputed_and_fails_out_of_order(results):
    from logsim.studies.optimiser_margin import decay_measurements

    ds = results["optimiser_margin_weight_decay"]
    study = STUDIES["optimiser_margin_weight_decay"]
    assert study.check(ds).holds
    X, y = _data(ds)
    w2 = svm.max_margin(X, y)
    m = decay_measurements(ds)
    for lam in ds["weight_decay"].values:
        w = _weights(ds, weight_decay=lam)[-1]
        cos = w @ w2 / np.linalg.norm(w) / np.linalg.norm(w2)
        assert m["decay"][f"{lam:g}"]["angle"]["l2"] == pytest.approx(
            math.degrees(math.acos(min(1.0, cos))), abs=1e-6)
    lams = ds["weight_decay"].values
    swapped = ds.copy(deep=True)  # the smallest lambda's solution given to the largest
    swapped["weights"].loc[{"weight_decay": lams[0]}] = ds["weights"].sel(
        weight_decay=lams[-1]).values
    swapped["weights"].loc[{"weight_decay": lams[-1]}] = ds["weights"].sel(
        weight_decay=lams[0]).values
    verdict = study.check(analyse(swapped))
    assert not verdict.holds, verdict.line()


def test_weight_decay_check_fails_when_not_converged(results):
    ds = results["optimiser_margin_weight_decay"]
    tampered = ds.copy(deep=True)
    grow = 1.0 + 1e-3 * np.log1p(ds["step"].values)[:, None]  # still growing at the end
    at = {"weight_decay": ds["weight_decay"].values[-1]}
    tampered["weights"].loc[at] = ds["weights"].sel(at).values * grow
    verdict = STUDIES["optimiser_margin_weight_decay"].check(analyse(tampered))
    assert not verdict.holds, verdict.line()


def test_large_steps_measured_from_the_stored_loss(results):
    """Rises of the loss and the late product eta T L(T), from log_train_loss directly;
    2/beta from the stored data."""
    from logsim.studies.optimiser_margin import steps_measurements

    ds = results["optimiser_margin_large_steps"]
    m = steps_measurements(ds)
    X, _ = _data(ds)
    assert m["stable_below"] == pytest.approx(8 / np.linalg.eigvalsh(X.T @ X / len(X)).max(),
                                              rel=1e-12)
    T = int(ds["step"].values[-1])
    for eta in ds["learning_rate"].values:
        log_loss = ds["log_train_loss"].sel(learning_rate=eta).values.ravel()
        got = m["steps"][f"{eta:g}"]
        assert got["rises"] == int(np.sum(np.diff(log_loss) > 1e-12))
        assert got["late"] == pytest.approx(log_loss[-1] + math.log(eta * T), abs=1e-12)
    # and against the loss recomputed from the weights at the last step (logistic)
    for eta in ds["learning_rate"].values:
        w = _weights(ds, learning_rate=eta)[-1]
        X, y = _data(ds)
        z = (2 * y - 1) * (X @ w)
        assert ds["log_train_loss"].sel(learning_rate=eta).values.ravel()[-1] == pytest.approx(
            math.log(np.mean(np.logaddexp(0.0, -z))), rel=1e-10)


def test_large_steps_check_fails_on_a_non_monotone_small_step(results):
    ds = results["optimiser_margin_large_steps"]
    study = STUDIES["optimiser_margin_large_steps"]
    assert study.check(ds).holds
    tampered = ds.copy(deep=True)
    at = {"learning_rate": ds["learning_rate"].values[0]}
    bumped = ds["log_train_loss"].sel(at).values.copy()
    bumped[..., 5] += 0.1  # a rise where a small step decreases the loss at every step
    tampered["log_train_loss"].loc[at] = bumped
    assert not study.check(tampered).holds


def test_large_steps_check_fails_off_the_1_over_eta_t_law(results):
    """The largest step's loss as if it fell like 1/t but not 1/eta: ln(eta T L) off."""
    ds = results["optimiser_margin_large_steps"]
    tampered = ds.copy(deep=True)
    at = {"learning_rate": ds["learning_rate"].values[-1]}
    tampered["log_train_loss"].loc[at] = ds["log_train_loss"].sel(at).values + 2.0
    verdict = STUDIES["optimiser_margin_large_steps"].check(tampered)
    assert not verdict.holds and verdict.values["late_spread"] > 1.5
