"""The one-pass test-set metrics against the NumPy metrics, row by row."""

import numba
import numpy as np
import pytest
from scipy.special import expit

from logsim import heldout, metrics


def _problem(rows=7, n=301, seed=0):
    g = np.random.default_rng(seed)
    x = g.normal(size=n)
    p_true = expit(1.5 * x)
    y = (g.random(n) < p_true).astype(float)
    Z = x * g.uniform(-4.0, 6.0, (rows, 1)) + g.normal(0.0, 0.5, (rows, 1))
    Z[0, :3] = [0.0, 40.0, -800.0]  # a tie at p = 1/2, and saturated sigmoids
    Z[1, 3] = -0.0
    return Z, y, p_true


@pytest.mark.parametrize("bins", [1, 10, 15])
def test_every_score_is_the_numpy_metric_of_its_row(bins):
    Z, y, p_true = _problem()
    got = heldout.heldout_metrics(Z, y, p_true=p_true, bins=bins)
    h = len(y) // 2
    for r, z in enumerate(Z):
        p = metrics.sigmoid(z)
        want = {
            "nll": metrics.nll_from_logits(z, y),
            "brier": metrics.brier(p, y),
            "ece": metrics.ece(p, y, bins=bins),
            "mce": metrics.mce(p, y, bins=bins),
            "ece_top_label": metrics.ece(p, y, bins=bins, kind="top_label"),
            "mean_confidence": metrics.mean_confidence(p),
            "mean_abs_logit": metrics.mean_abs_logit(z),
            "true_calibration_error": metrics.true_calibration_error(p, p_true),
            "ece_unscaled": metrics.ece(p[h:], y[h:], bins=bins),
        }
        a, b = metrics.platt_fit(z[:h], y[:h])
        want["platt_slope"], want["platt_intercept"] = a, b
        want["ece_platt"] = metrics.ece(metrics.platt_apply(z[h:], a, b), y[h:], bins=bins)
        for name, value in want.items():
            assert got[name][r] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, r)
    assert set(got) == set(want)


def test_without_posterior_or_platt_those_scores_are_nan():
    Z, y, _ = _problem(rows=3)
    got = heldout.heldout_metrics(Z, y, platt=False)
    for name in ("true_calibration_error", "ece_platt", "ece_unscaled", "platt_slope",
                 "platt_intercept"):
        assert np.all(np.isnan(got[name])), name
    assert got["ece"] == pytest.approx(metrics.calibration_errors(expit(Z), y)[0], rel=1e-12)
    one = heldout.heldout_metrics(Z[:, :1], y[:1])  # one sample: nothing to fit Platt on
    assert np.all(np.isnan(one["ece_platt"])) and np.all(np.isfinite(one["nll"]))


def test_same_bits_on_one_and_two_threads():
    Z, y, p_true = _problem(rows=41, n=120, seed=3)
    before = numba.get_num_threads()
    try:
        found = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            found.append(heldout.heldout_metrics(Z, y, p_true=p_true))
    finally:
        numba.set_num_threads(before)
    for name in heldout.SCORES:
        np.testing.assert_array_equal(found[0][name], found[1][name])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"Z": np.zeros(5)}, "Z must be 2-D"),
        ({"Z": np.full((2, 5), np.nan)}, "Z must be finite"),
        ({"y": np.array([0.0, 1.0, 0.5, 1.0, 0.0])}, "hard labels"),
        ({"y": np.zeros(4)}, r"y must have shape \(5,\)"),
        ({"p_true": np.full(5, 1.5)}, r"p_true must lie in \[0, 1\]"),
        ({"p_true": np.full(3, 0.5)}, r"p_true must have shape \(5,\)"),
        ({"bins": 0}, "bins must be a positive integer"),
    ],
)
def test_bad_input_is_named(kwargs, message):
    args = {"Z": np.zeros((2, 5)), "y": np.array([0.0, 1.0, 1.0, 0.0, 1.0])} | kwargs
    Z, y = args.pop("Z"), args.pop("y")
    with pytest.raises(ValueError, match=message):
        heldout.heldout_metrics(Z, y, **args)
