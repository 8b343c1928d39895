"""Claims 4, 5 and 7 (noisy labels, hinge vs cross-entropy, implicit bias): the checks
agree with independent recomputations from the stored arrays, and they fail on results
where the claim is false or the data were tampered with."""

from __future__ import annotations

import numpy as np
import pytest

from logsim.analysis import analyse
from logsim.claims import result_for
from logsim.studies import studies

STUDIES = {s.claim: s for s in studies()}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Small results of claims 4, 5 and 7.

    Stored where tests/test_notebooks.py keeps its results: ``result_for`` reuses a file
    made from the same scenario text, so a full test run computes each small scenario once.
    """
    out = tmp_path_factory.getbasetemp() / "notebook-claims"
    return {n: result_for(STUDIES[n], out_dir=out)[0] for n in (4, 5, 7)}


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
    assert STUDIES[7].check(ds).holds
    verdict = STUDIES[7].check(tampered)
    assert not verdict.holds, verdict.line()


def test_implicit_bias_check_fails_when_noisy_weights_keep_growing(results):
    ds = results[7]
    sel = {"loss": "logistic", "method": "gd", "noise_rate": 0.2}
    tampered = ds.copy(deep=True)
    grow = np.log(np.e + ds["step"].values)[:, None]  # ||w|| ~ log t, as if separable
    tampered["weights"].loc[sel] = ds["weights"].sel(sel).values * grow
    assert not STUDIES[7].check(analyse(tampered)).holds


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
    verdict = STUDIES[5].check(tampered)
    assert not verdict.holds, verdict.line()


def test_hinge_check_fails_when_cross_entropy_gradients_vanish(results):
    """Weights scaled up until sigmoid(-margin) underflows: cross-entropy would be 'done'."""
    ds = results[5]
    tampered = ds.copy(deep=True)
    tampered["weights"].loc[{"loss": "logistic"}] = (
        ds["weights"].sel(loss="logistic").values * 1e4)
    assert not STUDIES[5].check(tampered).holds


def test_hinge_check_fails_when_hinge_is_calibrated_like_logistic(results):
    """Hinge scores replaced by logistic scores: sigmoid(z) would not need Platt scaling."""
    ds = results[5]
    tampered = ds.copy(deep=True)
    for name in ("weights", "platt_slope", "platt_intercept", "test_ece_unscaled",
                 "test_ece_platt"):
        tampered[name].loc[{"loss": "hinge"}] = ds[name].sel(loss="logistic").values
    assert not STUDIES[5].check(tampered).holds


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
    verdict = STUDIES[4].check(tampered)
    assert not verdict.holds, verdict.line()


def test_noisy_labels_check_fails_when_backward_is_bounded(results):
    """Backward results replaced by forward ones: no negative loss, no run-off."""
    ds = results[4]
    tampered = _copy_cells(ds, "loss", "forward", "backward")
    assert not STUDIES[4].check(tampered).holds


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
