"""The compiled metrics (logsim.metric_kernels) against the NumPy reference, row by row."""

import numba
import numpy as np
import pytest
from numba import njit
from scipy.special import expit

from logsim import losses, metric_kernels, metrics


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
    got = metric_kernels.score_rows(Z, y, p_true=p_true, bins=bins)
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
        want["loss"] = want["nll"]
        want["accuracy"] = np.mean((z > 0) == (y == 1))
        want["ece_platt"] = metrics.ece(metrics.platt_apply(z[h:], a, b), y[h:], bins=bins)
        for name, value in want.items():
            assert got[name][r] == pytest.approx(value, rel=1e-12, abs=1e-15), (name, r)
    assert set(got) == set(want)


def test_without_posterior_or_platt_those_scores_are_nan():
    Z, y, _ = _problem(rows=3)
    got = metric_kernels.score_rows(Z, y, platt=False)
    for name in ("true_calibration_error", "ece_platt", "ece_unscaled", "platt_slope",
                 "platt_intercept"):
        assert np.all(np.isnan(got[name])), name
    assert got["ece"] == pytest.approx(metrics.calibration_errors(expit(Z), y)[0], rel=1e-12)
    one = metric_kernels.score_rows(Z[:, :1], y[:1])  # one sample: nothing to fit Platt on
    assert np.all(np.isnan(one["ece_platt"])) and np.all(np.isfinite(one["nll"]))


def test_same_bits_on_one_and_two_threads():
    Z, y, p_true = _problem(rows=41, n=120, seed=3)
    before = numba.get_num_threads()
    try:
        found = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            found.append(metric_kernels.score_rows(Z, y, p_true=p_true))
    finally:
        numba.set_num_threads(before)
    for name in metric_kernels.SCORES:
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
        metric_kernels.score_rows(Z, y, **args)


LOSS_ROWS = ["logistic", "hinge", "squared_hinge", "exponential"]


def test_loss_and_accuracy_per_row_in_the_rows_own_loss():
    Z, y, _ = _problem(rows=8, n=200, seed=5)
    Z = np.clip(Z, -50, 50)  # the exponential loss of -800 would be inf
    names = [LOSS_ROWS[r % 4] for r in range(8)]
    got = metric_kernels.score_rows(Z, y, loss_codes=[losses.LOSS_CODES[n] for n in names])
    for r, name in enumerate(names):
        want = losses.value(name, Z[r], y).mean()
        assert got["loss"][r] == pytest.approx(want, rel=1e-12), name
        assert got["accuracy"][r] == np.mean((Z[r] > 0) == (y == 1))
    # a mutation that scores every row in the cross-entropy is caught
    assert got["loss"][1] != pytest.approx(got["nll"][1], rel=1e-3)


def test_scores_from_weights_are_those_of_their_logits_whatever_the_rows_around():
    g = np.random.default_rng(9)
    X = g.normal(size=(300, 7))
    y = (g.random(300) < expit(X @ g.normal(size=7))).astype(float)
    W = g.normal(size=(11, 7))
    whole = metric_kernels.score_weights(W, X, y, platt=[True, False] * 5 + [True])
    via_logits = metric_kernels.score_rows(W @ X.T, y, platt=[True, False] * 5 + [True])
    alone = [metric_kernels.score_weights(W[r:r + 1], X, y, platt=r % 2 == 0) for r in (3, 4)]
    for name in whole:
        np.testing.assert_allclose(whole[name], via_logits[name], rtol=1e-12, atol=1e-14,
                                   equal_nan=True, err_msg=name)
        for k, r in enumerate((3, 4)):  # the same bits alone as among other rows
            np.testing.assert_array_equal(alone[k][name], whole[name][r:r + 1], err_msg=name)
    assert np.isnan(whole["platt_slope"][1]) and np.isnan(whole["ece_platt"][1])
    assert np.isfinite(whole["platt_slope"][0])


@njit
def _log1p_all(x, out):
    for i in range(x.shape[0]):
        out[i] = metric_kernels.log1p_unit(x[i])


def test_log1p_unit_is_within_three_ulps_of_libm():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.random(200_000), np.logspace(-320, 0, 20_000),
                        [0.0, 1.0, 5e-324, 1e-300, np.nextafter(1.0, 0.0)]])
    got = np.empty_like(x)
    _log1p_all(x, got)
    want = np.log1p(x)
    assert got[x == 0.0][0] == 0.0
    pos = want > 0
    ulps = np.abs(got[pos] - want[pos]) / np.spacing(want[pos])
    assert ulps.max() <= 3.0


@njit
def _bins_of(conf, edges, out):
    for i in range(conf.shape[0]):
        out[i] = metric_kernels._bin(conf[i], edges, edges.shape[0] - 1)


@pytest.mark.parametrize("bins", [1, 2, 3, 7, 10, 15, 100, 1000])
def test_bins_are_the_binary_search(bins):
    """The arithmetic bins against np.searchsorted (the rule of logsim.metrics), on every
    edge, its neighbouring floats, the interval's ends and random confidences."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    near = np.concatenate([edges, np.nextafter(edges, -1.0), np.nextafter(edges, 2.0),
                           np.arange(bins + 1) / bins])
    rng = np.random.default_rng(bins)
    conf = np.clip(np.concatenate([near, rng.random(20_000), rng.random(500) ** 30]), 0, 1)
    got = np.empty(conf.shape, dtype=np.int64)
    _bins_of(conf, edges, got)
    np.testing.assert_array_equal(got, np.searchsorted(edges[1:-1], conf))


def test_margin_rows_are_the_numpy_margins():
    g = np.random.default_rng(2)
    X = g.normal(size=(150, 4))
    t = np.where(X @ [1.0, -0.5, 0.2, 0.0] > 0, 0.95, 0.05)  # smoothed labels
    W = g.normal(size=(9, 4))
    W[0] = 0.0  # no direction
    hinge = np.arange(9) % 2 == 1
    sign = np.sign(t - 0.5)
    margin, active = metric_kernels.margin_rows(W, X, sign, 2 * t - 1, hinge)
    assert np.isnan(margin[0])
    np.testing.assert_allclose(margin[1:], metrics.normalized_margin(W[1:], X, sign),
                               rtol=1e-12)
    want = metrics.hinge_active_fraction(W @ X.T, t)
    np.testing.assert_array_equal(active[hinge], want[hinge])
    assert np.all(active[~hinge] == 1.0)


def _scores(n: int, seed: int, scale: float = 1.0):
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, n) * scale
    y = (rng.random(n) < expit(0.7 * z / scale - 0.4)).astype(int)
    return z, y


@pytest.mark.parametrize("scale", [1.0, 0.01, 30.0])
def test_platt_fit_rows_matches_platt_fit_row_by_row(scale):
    rng = np.random.default_rng(21)
    z, y = _scores(400, seed=21, scale=scale)
    Z = z * rng.uniform(0.2, 3.0, (3, 5, 1)) + rng.normal(0, 0.5, (3, 5, 1))
    a, b = metric_kernels.platt_fit_rows(Z, y)
    assert a.shape == b.shape == (3, 5)
    for i, j in np.ndindex(3, 5):
        ra, rb = metrics.platt_fit(Z[i, j], y)
        assert a[i, j] == pytest.approx(ra, rel=1e-9, abs=1e-12)
        assert b[i, j] == pytest.approx(rb, rel=1e-9, abs=1e-12)
    assert metric_kernels.platt_fit_rows(z, y) == pytest.approx(metrics.platt_fit(z, y), rel=1e-9)


def test_platt_fit_rows_gives_the_same_bits_on_one_and_two_threads():
    import numba

    z, y = _scores(300, seed=4)
    Z = z * np.linspace(0.1, 4.0, 37)[:, None] + np.linspace(-1.0, 1.0, 37)[:, None]
    before = numba.get_num_threads()
    try:
        found = []
        for threads in (1, min(2, numba.config.NUMBA_NUM_THREADS)):
            numba.set_num_threads(threads)
            found.append(metric_kernels.platt_fit_rows(Z, y))
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(found[0], found[1])
    ra, rb = metrics.platt_fit(Z[17], y)
    assert found[0][0][17] == pytest.approx(ra, rel=1e-9)
    assert found[0][1][17] == pytest.approx(rb, rel=1e-9)


def test_platt_fit_rows_on_constant_scores_gives_the_same_predictions():
    """Constant scores make the Hessian singular: both take least-norm Newton steps."""
    _, y = _scores(200, seed=22)
    for c in (0.0, 3.0):
        z = np.full(200, c)
        a, b = metric_kernels.platt_fit_rows(z[None], y)
        ra, rb = metrics.platt_fit(z, y)
        assert a[0] * c + b[0] == pytest.approx(ra * c + rb, rel=1e-9, abs=1e-12)
    a, b = metric_kernels.platt_fit_rows(np.zeros((1, 200)), y)
    n_pos, n_neg = y.sum(), (1 - y).sum()
    t_mean = (n_pos * (n_pos + 1) / (n_pos + 2) + n_neg / (n_neg + 2)) / 200
    assert a[0] == 0.0 and expit(b[0]) == pytest.approx(t_mean, rel=1e-12)


