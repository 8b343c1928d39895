"""Losses and their derivatives against finite differences and the naive formulas."""

import decimal

import numpy as np
import pytest
from scipy.special import expit

from logsim import losses
from tests import naive

Z_GRID = np.linspace(-30.0, 30.0, 241)
TARGETS = [0.0, 0.05, 0.3, 1.0]
TRANSITIONS = [(0.0, 0.0), (0.2, 0.1), (0.0, 0.3), (0.35, 0.0)]
SMOOTH_LOSSES = ["logistic", "exponential", "forward", "backward"]


def _cases():
    for name in losses.LOSS_CODES:
        for rho in TRANSITIONS if name in losses.CORRECTED_LOSSES else [(0.0, 0.0)]:
            yield name, rho


@pytest.mark.parametrize(("name", "rho"), list(_cases()))
@pytest.mark.parametrize("y", TARGETS)
def test_derivative_matches_central_differences(name, rho, y):
    z = Z_GRID
    if name in ("hinge", "squared_hinge") and y != 0.5:
        kink = 1.0 / (2 * y - 1)
        z = z[np.abs(z - kink) > 1e-3]  # the loss is not differentiable at its kink
    if name in ("backward_hinge", "backward_squared_hinge"):
        z = z[np.abs(np.abs(z) - 1) > 1e-3]  # kinks of the two labels' losses
    h = 1e-5 * np.maximum(1.0, np.abs(z))
    # Central differences in extended precision so that round-off stays far below 1e-6.
    f_plus = losses.value(name, z + h, y, rho_pos=rho[0], rho_neg=rho[1]).astype(np.longdouble)
    f_minus = losses.value(name, z - h, y, rho_pos=rho[0], rho_neg=rho[1]).astype(np.longdouble)
    fd = (f_plus - f_minus) / (2 * h)
    d = losses.derivative(name, z, y, rho_pos=rho[0], rho_neg=rho[1])
    # Central differences carry a round-off error of about eps |f| / h (eps = 2.2e-16), so
    # where the true slope is below 1e-9 |f| / h the error is measured against that floor
    # instead: a tolerance of 1e-15 |f| / h, about 5x the differences' own round-off.
    f = losses.value(name, z, y, rho_pos=rho[0], rho_neg=rho[1])
    scale = np.maximum(np.abs(d), 1e-9 * np.abs(f) / h)
    rel = np.abs(fd - d) / np.where(scale > 0, scale, 1.0)
    assert rel.max() < 1e-6, f"{name} y={y}: worst z={z[rel.argmax()]}, rel err {rel.max():.2e}"


def _sigmoid_minus_target_exact(z, y):
    """sigmoid(z) - y for float64 z and y, in 60-digit decimal arithmetic."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        one = decimal.Decimal(1)
        return np.array([float(one / (one + (-decimal.Decimal(zi)).exp()) - decimal.Decimal(y))
                         for zi in z.tolist()])


@pytest.mark.parametrize("y", TARGETS)
def test_logistic_derivative_is_sigmoid_minus_target(y):
    z = np.linspace(-40, 40, 2001)
    got = losses.derivative("logistic", z, y)
    np.testing.assert_allclose(got, _sigmoid_minus_target_exact(z, y), rtol=1e-13, atol=0)
    # and against the float64 reference sigmoid wherever that reference is itself accurate
    ref = expit(z) - y
    accurate = np.abs(ref) > 1e-3
    np.testing.assert_allclose(got[accurate], ref[accurate], rtol=1e-13, atol=0)


@pytest.mark.parametrize(("name", "rho"), list(_cases()))
@pytest.mark.parametrize("y", TARGETS)
def test_values_and_derivatives_match_naive_definitions(name, rho, y):
    z = np.linspace(-12, 12, 97)
    # A backward loss is a difference of the two labels' losses: where they nearly cancel
    # (a soft target, the exponential loss at |z| = 12: terms near 1e5, a result near 1e-5)
    # both sides lose digits, so the allowance is 1e-13 of the terms' size there.
    value_scale = derivative_scale = 1.0
    if name.startswith("backward"):
        base = naive._backward_base(name)
        value_scale = naive.loss(base, z, 0.0) + naive.loss(base, z, 1.0)
        derivative_scale = (np.abs(naive.derivative(base, z, 0.0))
                            + np.abs(naive.derivative(base, z, 1.0)))
    got = losses.value(name, z, y, rho_pos=rho[0], rho_neg=rho[1])
    ref = naive.loss(name, z, y, *rho)
    assert np.all(np.abs(got - ref) <= 1e-12 * np.abs(ref) + 1e-13 * value_scale)
    got = losses.derivative(name, z, y, rho_pos=rho[0], rho_neg=rho[1])
    ref = naive.derivative(name, z, y, *rho)
    assert np.all(np.abs(got - ref) <= 1e-10 * np.abs(ref) + 1e-13 * derivative_scale)


@pytest.mark.parametrize("name", ["logistic", "hinge", "squared_hinge", "forward", "backward",
                                  "backward_hinge", "backward_squared_hinge"])
@pytest.mark.parametrize("y", TARGETS)
def test_losses_finite_and_accurate_at_extreme_logits(name, y):
    z = np.array([-1e4, 1e4])
    v = losses.value(name, z, y, rho_pos=0.1, rho_neg=0.2)
    d = losses.derivative(name, z, y, rho_pos=0.1, rho_neg=0.2)
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(d))
    if name == "logistic":
        # softplus(1e4) = 1e4 exactly in float64; softplus(-1e4) = 0
        np.testing.assert_allclose(v, [y * 1e4, (1 - y) * 1e4], rtol=1e-15)
        np.testing.assert_array_equal(d, [0.0 - y, 1.0 - y])


def test_forward_and_backward_reduce_to_logistic_without_noise():
    z = np.linspace(-20, 20, 81)
    for y in TARGETS:
        ref = losses.value("logistic", z, y)
        for name in ("forward", "backward"):
            np.testing.assert_allclose(losses.value(name, z, y), ref, rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(losses.derivative(name, z, y),
                                       losses.derivative("logistic", z, y), rtol=1e-12,
                                       atol=1e-15)


BACKWARD_OF = {"backward": "logistic", "backward_hinge": "hinge",
               "backward_squared_hinge": "squared_hinge",
               "backward_exponential": "exponential"}


@pytest.mark.parametrize(("name", "base"), BACKWARD_OF.items())
def test_backward_loss_is_unbiased_for_the_clean_loss(name, base):
    """Natarajan et al. 2013, Lemma 1: E_noisy[l_backward(z, y~)] = l(z, y) for every z,
    for the value and (by linearity) the derivative."""
    rho_pos, rho_neg = 0.3, 0.15
    z = np.linspace(-8, 8, 33)
    for clean in (0.0, 1.0):
        flip = rho_pos if clean == 1 else rho_neg
        for fn in (losses.value, losses.derivative):
            expected = (1 - flip) * fn(name, z, clean, rho_pos=rho_pos, rho_neg=rho_neg) \
                + flip * fn(name, z, 1 - clean, rho_pos=rho_pos, rho_neg=rho_neg)
            np.testing.assert_allclose(expected, fn(base, z, clean), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("name", "base"), BACKWARD_OF.items())
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_backward_without_noise_is_its_base_loss(name, base, y):
    z = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(losses.value(name, z, y), losses.value(base, z, y),
                               rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(losses.derivative(name, z, y), losses.derivative(base, z, y),
                               rtol=1e-12, atol=1e-15)


def test_forward_correction_of_another_loss_says_why_it_does_not_exist():
    with pytest.raises(ValueError, match=r"forward correction needs a loss on probabilities.*"
                                         r"'backward_hinge'"):
        losses.value("forward_hinge", 0.0, 1.0)


def test_backward_loss_is_unbounded_below():
    v = losses.value("backward", [10.0, 100.0, 1000.0], 1.0, rho_pos=0.2, rho_neg=0.2)
    assert v[0] > v[1] > v[2] and v[2] < -300


def test_forward_loss_is_cross_entropy_of_noisy_posterior():
    """Forward correction: P(noisy 1 | x) = rho_neg + (1 - rho_pos - rho_neg) sigmoid(z)."""
    rho_pos, rho_neg = 0.25, 0.1
    z = np.linspace(-5, 5, 11)
    q = rho_neg + (1 - rho_pos - rho_neg) * expit(z)
    np.testing.assert_allclose(losses.value("forward", z, 1.0, rho_pos=rho_pos, rho_neg=rho_neg),
                               -np.log(q), rtol=1e-13)


@pytest.mark.parametrize(("rho_pos", "rho_neg"), [(0.5, 0.5), (0.7, 0.4), (1.0, 0.0)])
def test_singular_transition_rejected(rho_pos, rho_neg):
    with pytest.raises(ValueError, match=r"(singular|outside)"):
        losses.value("forward", 0.0, 1.0, rho_pos=rho_pos, rho_neg=rho_neg)


def test_unknown_loss_names_allowed_values():
    with pytest.raises(ValueError, match="unknown loss 'logit'; allowed: logistic, hinge"):
        losses.value("logit", 0.0, 1.0)
