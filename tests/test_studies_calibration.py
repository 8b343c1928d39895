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

STUDIES = {s.claim: s for s in studies() if s.claim in (2, 3, 6, 8)}


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Small results of claims 2, 3, 6 and 8, stored where the notebooks and the other
    study tests keep theirs (``result_for`` reuses a file of the same scenario text)."""
    out = tmp_path_factory.getbasetemp() / "notebook-claims"
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


def test_label_smoothing_check_fails_where_it_helps_only_outside_the_claim(results):
    """Smoothing made to hurt at n = 30 (where the claim says it helps) and to help in one
    cell at n = 1000: the former rule (lower median NLL in any cell) passed that."""
    from logsim.studies.label_smoothing import measurements

    ds = results[3]
    tampered = ds.copy(deep=True)
    nll = tampered["test_nll"]
    base = ds["test_nll"].sel(smoothing=0.0)
    for e in ds["smoothing"].values[1:]:
        nll.loc[{"n_train": 30, "smoothing": e}] = base.sel(n_train=30).values + 0.1
    eps = ds["smoothing"].values[1]
    nll.loc[{"n_train": 1000, "smoothing": eps}] = base.sel(n_train=1000).values - 0.01
    assert (measurements(tampered)["d_nll"][:, 1:] < 0).any()  # "helps somewhere"
    verdict = STUDIES[3].check(tampered)
    assert not verdict.holds, verdict.line()


def test_label_smoothing_check_needs_a_majority_of_seeds(results):
    """At n = 30, one eps > 0 made to help on exactly half the seeds: no majority."""
    ds = results[3]
    tampered = ds.copy(deep=True)
    seeds = ds["seed"].values
    half = seeds[: len(seeds) // 2]
    eps = ds["smoothing"].values[1]
    base = ds["test_nll"].sel(n_train=30, smoothing=0.0)
    cell = {"n_train": 30, "smoothing": eps}
    tampered["test_nll"].loc[cell] = base.values + 0.05
    tampered["test_nll"].loc[{**cell, "seed": half}] = base.sel(seed=half).values - 0.3
    verdict = STUDIES[3].check(tampered)
    assert not verdict.holds, verdict.line()
    assert verdict.values["small_helps_min"] == len(half)


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


def test_breast_cancer_check_fails_when_the_validation_part_misleads(results):
    """Validation labels flipped: least validation NLL is then at step 0 (p = 1/2 for every
    point), which the test part rejects. The step is chosen on validation, not on test."""
    from logsim.studies.breast_cancer import parts

    ds = results[8]
    val, _ = parts(ds)
    tampered = ds.copy(deep=True)
    y = tampered["y_test"].values
    y[:, val] = 1.0 - y[:, val]
    verdict = STUDIES[8].check(tampered)
    assert not verdict.holds, verdict.line()
    assert set(verdict.values["best_steps"]) == {0}


def test_breast_cancer_parts_are_a_70_30_split_and_never_trained_on(results):
    """Rebuilt from scikit-learn's data and the split stream: training rows perm[:313],
    validation perm[313:398], test perm[398:], the 30 % a 70/30 split holds out; features
    standardised with the training rows' mean and standard deviation only."""
    from sklearn.datasets import load_breast_cancer

    from logsim.rng import STREAM_SPLIT, generator
    from logsim.studies.breast_cancer import parts

    ds = results[8]
    val, test = parts(ds)
    assert (val.stop - val.start, test.stop - test.start) == (85, 171)
    raw = load_breast_cancer()
    for seed in ds["seed"].values:
        perm = generator(int(seed), STREAM_SPLIT).permutation(569)
        train = raw.data[perm[:313]]
        mean, std = train.mean(axis=0), train.std(axis=0)
        x = ds["x_test"].sel(seed=seed).values[:, :30]
        np.testing.assert_allclose(x[test], (raw.data[perm[398:]] - mean) / std, atol=1e-12)
        np.testing.assert_allclose(x[val], (raw.data[perm[313:398]] - mean) / std, atol=1e-12)
        np.testing.assert_array_equal(ds["y_test"].sel(seed=seed).values[test],
                                      1 - raw.target[perm[398:]])
    with pytest.raises(ValueError, match="validation part"):
        parts(ds.isel(test_sample=slice(0, 10)))


def test_calibration_test_has_its_size_and_power():
    """Outcomes drawn from the probabilities: p <= 0.05 in about 5 % of 300 replications
    (3 binomial standard deviations). An overconfident model (logits x 3): rejected in most."""
    from logsim.studies.breast_cancer import calibration_test

    rng = np.random.default_rng(1)
    p = rng.beta(0.5, 0.5, 171)
    size = [calibration_test(p, (rng.random(171) < p).astype(float), draws=200, seed=k)[1]
            for k in range(300)]
    assert 0.012 <= np.mean(np.array(size) <= 0.05) <= 0.088
    logit = np.log(p / (1 - p))
    overconfident = 1 / (1 + np.exp(-3 * logit))
    power = [calibration_test(overconfident, (rng.random(171) < p).astype(float), draws=200,
                              seed=k)[1] for k in range(50)]
    assert np.mean(np.array(power) <= 0.05) >= 0.8
