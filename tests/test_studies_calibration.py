"""The checks of claims 2, 3, 6 and 8 fail on results where the claim is false.

``tests/test_claims.py`` shows each check passing on its small scenario; here each
one is shown a result that was cut short, relabelled or tampered with so that the
claim no longer holds on it, and must say so.
"""

import numpy as np
import pytest

from logsim.analysis import analyse
from logsim.claims import result_for
from logsim.studies import studies
from logsim.studies.entropy_floor import mean_kl, min_cross_entropy

STUDIES = {s.claim: s for s in studies()}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("calibration-claims")
    return {n: result_for(STUDIES[n], out_dir=out)[0] for n in (2, 3, 6, 8)}


def _copy_weights(ds, axis, source, targets):
    """A copy of ``ds`` whose cells ``axis=t`` for ``t`` in targets got the weights of
    ``axis=source``, with every derived variable recomputed."""
    tampered = ds.copy(deep=True)
    for t in targets:
        tampered["weights"].loc[{axis: t}] = ds["weights"].sel({axis: source}).values
    return analyse(tampered)


# ---------------------------------------------------------------- claim 2


def test_entropy_floor_check_fails_before_the_soft_targets_reach_the_floor(results):
    ds = results[2]
    assert STUDIES[2].check(ds).holds
    early = ds.isel(step=slice(0, 6))  # a run stopped after a few steps
    verdict = STUDIES[2].check(early)
    assert not verdict.holds, verdict.line()


def test_entropy_floor_check_fails_when_a_loss_lies_below_the_floor(results):
    tampered = results[2].copy(deep=True)
    cell = {"soft": False, "smoothing": 0.1}
    tampered["train_loss"].loc[cell] = tampered["entropy_floor"].sel(cell) - 1e-3
    assert not STUDIES[2].check(tampered).holds


def test_min_cross_entropy_reaches_the_posterior_and_refuses_separable_labels():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    w_star = np.array([1.0, -2.0, 0.5])
    p = 1.0 / (1.0 + np.exp(-X @ w_star))
    w, kl = min_cross_entropy(X, p)
    assert np.allclose(w, w_star, atol=1e-8) and abs(kl) < 1e-14
    assert mean_kl(X @ w_star, p) == pytest.approx(0.0, abs=1e-15)
    separable = (X @ w_star > 0).astype(float)
    assert min_cross_entropy(X, separable) == (None, pytest.approx(np.nan, nan_ok=True))


# ---------------------------------------------------------------- claim 3


def test_label_smoothing_check_fails_when_smoothed_logits_keep_growing(results):
    ds = results[3]
    eps = [e for e in ds["smoothing"].values if e > 0]
    verdict = STUDIES[3].check(_copy_weights(ds, "smoothing", 0.0, eps))
    assert not verdict.holds, verdict.line()


def test_label_smoothing_check_fails_where_smoothing_never_helps(results):
    # Only the large, non-separable training sets: eps = 0 is bounded and already
    # calibrated, smoothing raises the test NLL everywhere.
    ds = results[3]
    large = ds.sel(n_train=[ds["n_train"].values.max()])
    verdict = STUDIES[3].check(large)
    assert not verdict.holds, verdict.line()


# ---------------------------------------------------------------- claim 6


def test_calibration_check_fails_when_logistic_is_as_miscalibrated_as_exponential(results):
    ds = results[6]
    verdict = STUDIES[6].check(_copy_weights(ds, "loss", "exponential", ["logistic"]))
    assert not verdict.holds, verdict.line()


# ---------------------------------------------------------------- claim 8


def test_breast_cancer_check_fails_when_smoothing_does_not_bound_the_logits(results):
    ds = results[8]
    eps = [e for e in ds["smoothing"].values if e > 0]
    verdict = STUDIES[8].check(_copy_weights(ds, "smoothing", 0.0, eps))
    assert not verdict.holds, verdict.line()


def test_breast_cancer_check_fails_on_noisy_training_labels_passed_off_as_clean(results):
    # Relabel the noise axis so the cell called "clean" holds the noisiest training
    # labels: not separable, and underconfident against the clean test labels.
    ds = results[8]
    noise = ds["noise_rate"].values
    swapped = ds.assign_coords(noise_rate=noise[::-1])
    verdict = STUDIES[8].check(swapped.sortby("noise_rate"))
    assert not verdict.holds, verdict.line()
