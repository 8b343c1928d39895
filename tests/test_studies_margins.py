"""Claims 4, 5 and 7 (noisy labels, hinge vs cross-entropy, implicit bias): the checks
agree with independent recomputations from the stored arrays, and they fail on results
where the claim is false or the data were tampered with."""

from __future__ import annotations

import numpy as np
import pytest

from logsim.analysis import analyse
from logsim.claims import result_for
from logsim.studies import studies

STUDIES = {s.key: s for s in studies()}
#: The studies of claims 4, 5 and 7, by claim number (claim 7's non-degenerate toy as "7b").
KEYS = {4: "noisy_labels", 5: "hinge_vs_ce", 7: "implicit_bias",
        "7b": "implicit_bias_nondegenerate"}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Small results of claims 4, 5 and 7 (both toys).

    Stored where tests/test_notebooks.py keeps its results: ``result_for`` reuses a file
    made from the same scenario text, so a full test run computes each small scenario once.
    """
    out = tmp_path_factory.getbasetemp() / "notebook-claims"
    return {n: result_for(STUDIES[k], out_dir=out)[0] for n, k in KEYS.items()}


def _check(n, ds):
    return STUDIES[KEYS[n]].check(ds)


def _copy_cells(ds, dim, src, dst):
    """A deep copy of ``ds`` in which every variable along ``dim`` has ``dst`` := ``src``."""
    out = ds.copy(deep=True)
    for name, var in out.data_vars.items():
        if dim in var.dims:
            out[name].loc[{dim: dst}] = out[name].sel({dim: src}).values
    return out


# --------------------------------------------------------------------------- claim 7


def test_implicit_bias_gap_recomputed_from_the_weights(results):
    """Direction gap from the stored weights and the toy's known SVM w_hat = (0.5, 0.5)."""
    from logsim.studies.implicit_bias import measurements

    ds = results[7]
    m = measurements(ds)
    W = ds["weights"].sel({"loss": "logistic", "method": "gd", "noise_rate": 0.0})
    unit = W / np.sqrt((W**2).sum("feature"))
    gap = np.sqrt(((unit - np.array([0.5, 0.5]) / np.sqrt(0.5)) ** 2).sum("feature"))
    for step, value in zip(m["decades"], m["logistic"]["gap"], strict=True):
        assert float(gap.sel(step=step).median("seed")) == pytest.approx(value, rel=1e-9)
    assert m["w_hat_norm"] == pytest.approx(np.sqrt(0.5), rel=1e-9)


def test_implicit_bias_check_fails_when_the_direction_stops_moving(results):
    """Logistic-GD weights replaced by a fixed direction (hinge's) with the same norms."""
    ds = results[7]
    sel = {"loss": "logistic", "method": "gd", "noise_rate": 0.0}
    fixed = ds["weights"].sel({**sel, "loss": "hinge"}).isel(step=-1)
    norms = ds["weights"].sel(sel).pipe(lambda w: np.sqrt((w**2).sum("feature")))
    tampered = ds.copy(deep=True)
    new = fixed / np.sqrt((fixed**2).sum("feature")) * norms
    tampered["weights"].loc[sel] = new.transpose(*tampered["weights"].sel(sel).dims).values
    tampered = analyse(tampered)
    assert _check(7, ds).holds
    verdict = _check(7, tampered)
    assert not verdict.holds, verdict.line()


def test_implicit_bias_check_fails_when_noisy_weights_keep_growing(results):
    ds = results[7]
    sel = {"loss": "logistic", "method": "gd", "noise_rate": 0.2}
    tampered = ds.copy(deep=True)
    grow = np.log(np.e + ds["step"].values)[:, None]  # ||w|| ~ log t, as if separable
    tampered["weights"].loc[sel] = ds["weights"].sel(sel).values * grow
    assert not _check(7, analyse(tampered)).holds


def test_implicit_bias_check_fails_when_noise_leaves_a_seed_separable(results):
    """"Label noise gives a finite limit" is judged on every seed: one seed still separable
    (here: marked so) leaves that seed without the claim, and the verdict says no."""
    ds = results[7]
    tampered = ds.copy(deep=True)
    tampered["separable"].loc[{"noise_rate": 0.2, "seed": ds["seed"].values[0]}] = True
    verdict = _check(7, tampered)
    assert not verdict.holds, verdict.line()
    assert verdict.values["noisy_logistic"]["nonseparable"] == ds.sizes["seed"] - 1


def test_implicit_bias_check_measures_normalised_gds_rate(results):
    """The slope of normalised GD's gap over the last three decades, recomputed from the
    stored weights and the toy's w_hat = (0.5, 0.5): about -1 (the gap falls like 1/t)."""
    from logsim.studies.implicit_bias import NGD_DECADES, measurements

    ds = results[7]
    T = int(ds["step"].values[-1])
    W = ds["weights"].sel({"loss": "logistic", "method": "normalized_gd", "noise_rate": 0.0})
    unit = W / np.sqrt((W**2).sum("feature"))
    gap = np.sqrt(((unit - np.array([0.5, 0.5]) / np.sqrt(0.5)) ** 2).sum("feature"))
    gap = gap.median("seed")
    slope = np.log10(float(gap.sel(step=T)) / float(gap.sel(step=T // 10**NGD_DECADES)))
    m = measurements(ds)["ngd"]
    assert m["slope"]["logistic"] == pytest.approx(slope / NGD_DECADES, rel=1e-9)
    assert -1.1 <= m["slope"]["logistic"] <= -0.9 and m["frozen"] == 0
    assert m["neg_log_loss_T"] > 708  # the loss itself is below the smallest float64


def test_implicit_bias_check_fails_when_normalised_gd_freezes(results):
    """Normalised GD's weights held at their value at t = 3000 from then on, as when its
    update underflowed to zero before the shifted exponentials: the check says no."""
    ds = results[7]
    steps = ds["step"].values
    k = int(np.flatnonzero(steps == 3000)[0])
    sel = {"method": "normalized_gd"}
    tampered = ds.copy(deep=True)
    W = ds["weights"].sel(sel).values.copy()  # (..., step, feature) in the stored order
    axis = ds["weights"].sel(sel).dims.index("step")
    frozen = np.take(W, [k], axis=axis)
    index = [slice(None)] * W.ndim
    index[axis] = slice(k, None)
    W[tuple(index)] = frozen
    tampered["weights"].loc[sel] = W
    tampered = analyse(tampered)
    assert _check(7, ds).holds
    verdict = _check(7, tampered)
    assert not verdict.holds, verdict.line()
    # the gap stops falling at t = 3000: over the last three decades it falls by less
    # than the measured 1/t (on the small run, 1e2 to 1e5: a slope of about -0.5)
    assert verdict.values["ngd_slope"] > -0.9


def test_support_structure_of_the_two_toys(results):
    """The asymmetric toy is degenerate; the non-degenerate one has the duals 1/12, 5/12
    (solved by hand: w_hat = a (-1, 3) + b (1.4, 0.6) = (0.5, 0.5)), and w_tilde solves
    Soudry's equations eta/n exp(-z_n . w_tilde) = alpha_n on both support vectors."""
    from logsim.studies.implicit_bias import predicted_offset, support_structure
    from logsim.svm import signed_rows

    deg = results[7].sel({"noise_rate": 0.0, "loss": "logistic", "method": "gd"}).isel(seed=0)
    st = support_structure(deg["x_train"].values, deg["targets"].values)
    assert st["degenerate"] and st["repeated"] == 1 and st["on_margin"] == 4
    assert not st["unique_dual"]
    assert predicted_offset(deg["x_train"].values, deg["targets"].values, 0.2) is None

    nd = results["7b"].sel(noise_rate=0.0, loss="logistic").isel(seed=0)
    X, y = nd["x_train"].values, nd["targets"].values
    st = support_structure(X, y)
    assert not st["degenerate"] and st["on_margin"] == 2
    np.testing.assert_allclose(st["alpha"], [1 / 12, 5 / 12], rtol=1e-12)
    w_tilde = predicted_offset(X, y, 0.2)
    Z = signed_rows(X, y)[st["support"]]
    np.testing.assert_allclose(0.2 / len(y) * np.exp(-Z @ w_tilde), [1 / 12, 5 / 12],
                               rtol=1e-12)


def test_nondegenerate_check_fails_off_the_closed_form(results):
    """The clean trajectories shifted by a constant: the residual no longer approaches
    Soudry's w_tilde, and the check says so."""
    ds = results["7b"]
    assert _check("7b", ds).holds
    tampered = ds.copy(deep=True)
    sel = {"noise_rate": 0.0}
    tampered["weights"].loc[sel] = ds["weights"].sel(sel).values + np.array([0.3, -0.3])
    verdict = _check("7b", analyse(tampered))
    assert not verdict.holds, verdict.line()


def test_nondegenerate_check_refuses_the_degenerate_toy(results):
    verdict = STUDIES["implicit_bias_nondegenerate"].check(results[7])
    assert not verdict.holds, verdict.line()
    assert "degenerate" in verdict.measured


# --------------------------------------------------------------------------- claim 5


def test_hinge_fraction_matches_the_analysis_active_fraction(results):
    """The study's own per-point count agrees with logsim.analysis for the hinge loss."""
    from logsim.studies.hinge_vs_ce import measurements

    ds = results[5]
    m = measurements(ds)
    for sep, row in m["separations"].items():
        active = ds["active_fraction"].sel(separation=sep, loss="hinge")
        np.testing.assert_allclose(row["hinge"]["fraction"],
                                   active.transpose("seed", "step").values, atol=1e-12)
        assert row["logistic"]["fraction"].min() == 1.0


def test_hinge_check_fails_when_hinge_behaves_like_cross_entropy(results):
    ds = results[5]
    tampered = _copy_cells(ds, "loss", "logistic", "hinge")
    verdict = _check(5, tampered)
    assert not verdict.holds, verdict.line()


def test_hinge_check_fails_when_cross_entropy_gradients_vanish(results):
    """Weights scaled up until sigmoid(-margin) underflows: cross-entropy would be 'done'."""
    ds = results[5]
    tampered = ds.copy(deep=True)
    tampered["weights"].loc[{"loss": "logistic"}] = (
        ds["weights"].sel(loss="logistic").values * 1e4)
    assert not _check(5, tampered).holds


def test_hinge_check_fails_when_hinge_is_calibrated_like_logistic(results):
    """Hinge scores replaced by logistic scores: sigmoid(z) would not need Platt scaling."""
    ds = results[5]
    tampered = ds.copy(deep=True)
    for name in ("weights", "platt_slope", "platt_intercept", "test_ece_unscaled",
                 "test_ece_platt"):
        tampered[name].loc[{"loss": "hinge"}] = ds[name].sel(loss="logistic").values
    assert not _check(5, tampered).holds


def test_hinge_check_fails_when_hinge_weights_keep_moving_after_separation(results):
    """Separable data: hinge weights nudged after its margins reach 1 (margins stay >= 1),
    as if its update were not zero there."""
    ds = results[5]
    tampered = ds.copy(deep=True)
    cell = {"separation": 8.0, "loss": "hinge"}
    K = ds.sizes["step"]
    grow = 1.0 + 1e-6 * np.arange(K)[:, None]  # steps along the last axes (step, feature)
    tampered["weights"].loc[cell] = ds["weights"].sel(cell).values * grow
    verdict = _check(5, tampered)
    assert not verdict.holds, verdict.line()


def test_hinge_check_fails_off_the_hinge_minimiser(results):
    """Overlapping data: hinge weights shrunk by 0.8 learn from 0.45 of the points, not 0.39.
    The former bound (active fraction <= 0.6) would have passed that; the minimiser's
    fraction (LP) does not."""
    from logsim.studies.hinge_vs_ce import measurements

    ds = results[5]
    tampered = ds.copy(deep=True)
    cell = {"separation": 2.0, "loss": "hinge"}
    tampered["weights"].loc[cell] = ds["weights"].sel(cell).values * 0.8
    tampered = analyse(tampered)
    m = measurements(tampered)
    assert 0.42 < m["separations"][2.0]["hinge"]["fraction_T"] <= 0.6
    assert not _check(5, tampered).holds


def test_cross_entropy_gradient_stays_exact_at_large_margins(results):
    """|p - y| = sigmoid(-margin) is e^-margin at margins 38 to 700, where 0.5 (1 + tanh(z/2))
    returns 0: logistic weights scaled so that the largest margin is 700."""
    from logsim.studies.hinge_vs_ce import point_gradients

    ds = results[5]
    seed = ds["seed"].values[0]
    grad, margin = point_gradients(ds, 8.0, "logistic", seed)
    scaled = ds.copy(deep=True)
    scaled["weights"].loc[{"separation": 8.0, "loss": "logistic"}] = (
        ds["weights"].sel(separation=8.0, loss="logistic").values * 700 / margin.max())
    grad, margin = point_gradients(scaled, 8.0, "logistic", seed)
    far = margin > 38
    assert far.sum() > 10 and grad.min() > 0
    np.testing.assert_allclose(grad[far], np.exp(-margin[far]), rtol=1e-12)


def test_hinge_minimiser_of_a_two_point_problem():
    """Two points z = +1 and z = -1 (the same x, both labels): mean hinge loss
    (max(0, 1 - w) + max(0, 1 + w)) / 2 is 1 for every w in [-1, 1]; a vertex has one point
    on the margin and the other inside it."""
    from logsim.studies.hinge_vs_ce import hinge_minimiser

    ref = hinge_minimiser(np.array([[1.0], [1.0]]), np.array([1.0, -1.0]))
    assert ref["loss"] == pytest.approx(1.0, abs=1e-12)
    assert ref["inside"] == 0.5 and ref["on"] == 0.5
    separable = hinge_minimiser(np.array([[1.0], [-2.0]]), np.array([1.0, -1.0]))
    assert separable["loss"] == pytest.approx(0.0, abs=1e-12) and separable["inside"] == 0.0


# --------------------------------------------------------------------------- claim 4


def test_anchor_estimates_recomputed_from_the_stored_noisy_labels(results):
    from logsim.noise import anchor_transition

    ds = results[4]
    cell = {"separation": 2.0, "rho_pos": 0.4, "rho_neg": 0.2}
    for seed in ds["seed"].values:
        x = ds["x_train"].sel(separation=2.0, seed=seed).values
        noisy = ds["targets"].sel({**cell, "seed": seed}).values
        expected = anchor_transition(x, noisy)
        got = ds.sel({**cell, "seed": seed, "loss": "forward", "transition": "anchor"})
        assert float(got["transition_rho_pos"]) == pytest.approx(expected[0], abs=1e-12)
        assert float(got["transition_rho_neg"]) == pytest.approx(expected[1], abs=1e-12)


def test_noisy_labels_check_fails_when_the_correction_does_nothing(results):
    ds = results[4]
    tampered = _copy_cells(ds, "loss", "logistic", "forward")
    verdict = _check(4, tampered)
    assert not verdict.holds, verdict.line()


def test_noisy_labels_check_fails_when_backward_is_bounded(results):
    """Backward results replaced by forward ones: no negative loss, no run-off."""
    ds = results[4]
    tampered = _copy_cells(ds, "loss", "forward", "backward")
    assert not _check(4, tampered).holds


def test_backward_runs_off_where_its_loss_is_unbounded_below(results):
    """The LP on the recession function predicts which backward runs run off."""
    from logsim.studies.noisy_labels import backward_recession, measurements

    ds = results[4]
    m = measurements(ds)
    assert m["separable_separations"] == [8.0]
    sep8, sep2 = m["runoff"][8.0], m["runoff"][2.0]
    assert sep8["unbounded"] > sep2["unbounded"]
    assert sep8["bounded_ran_off"] == sep2["bounded_ran_off"] == 0
    for loss in ("logistic", "forward"):
        assert sep8[loss]["negative_loss"] == 0.0
    # the recession slope is the limit of L(c u) / c: check one unbounded direction
    cell = {"separation": 8.0, "rho_pos": 0.4, "rho_neg": 0.4, "seed": 0}
    X = ds["x_train"].sel(separation=8.0, seed=0).values
    y = ds["targets"].sel(cell).values
    S = backward_recession(X, y, 0.4, 0.4)
    w = ds["weights"].sel({**cell, "loss": "backward", "transition": "true"}).isel(step=-1)
    u = w.values / np.abs(w.values).max()
    from logsim.losses import value

    c = 1e4
    slope = value("backward", c * (X @ u), y, rho_pos=0.4, rho_neg=0.4).mean() / c
    assert S <= slope + 1e-6  # the LP minimum is below the slope along GD's direction
    assert slope < 0  # GD found a direction along which the loss falls without bound


def test_a_negative_backward_loss_alone_is_no_run_off(results):
    """Bounded backward data sets given a negative training loss: still not run off (their
    weights converge), so the verdict stands; the former rule counted them."""
    from logsim.studies.noisy_labels import measurements

    ds = results[4]
    tampered = ds.copy(deep=True)
    cell = {"separation": 2.0, "loss": "backward", "transition": "true"}
    tampered["train_loss"].loc[cell] = -1.0
    m = measurements(tampered)
    assert m["runoff"][2.0]["bounded_negative_loss"] > 0
    assert m["runoff"][2.0]["bounded_ran_off"] == 0
    assert _check(4, tampered).holds


def test_noisy_labels_check_fails_when_bounded_weights_grow(results):
    """Backward weights at separation 2 (bounded in most data sets) made to grow like t."""
    ds = results[4]
    tampered = ds.copy(deep=True)
    cell = {"separation": 2.0, "loss": "backward"}
    t = ds["step"].values.astype(float)
    grow = (1.0 + t)[:, None]
    tampered["weights"].loc[cell] = ds["weights"].sel(cell).values * grow
    verdict = _check(4, analyse(tampered))
    assert not verdict.holds, verdict.line()
    assert verdict.values["bounded_ran_off"] > 0


def test_noisy_labels_check_fails_when_weights_run_off_uphill(results):
    """Backward weights reversed at separation 8: ||w|| grows as before, but along a
    direction where the loss rises (its recession function is convex and positively
    homogeneous, so r(-u) >= -r(u) > 0)."""
    ds = results[4]
    tampered = ds.copy(deep=True)
    cell = {"separation": 8.0, "loss": "backward"}
    tampered["weights"].loc[cell] = -ds["weights"].sel(cell).values
    verdict = _check(4, analyse(tampered))
    assert not verdict.holds, verdict.line()
    assert verdict.values["ran_off_falling"] < verdict.values["unbounded_ran_off"]
