"""Tests of logsim.data, logsim.data_files and logsim.labels against independent references
(SciPy, scikit-learn, NumPy GD)."""

from __future__ import annotations

import hashlib
import importlib
import inspect
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats
from sklearn.datasets import load_breast_cancer
from sklearn.preprocessing import StandardScaler

from logsim import data as D
from logsim import schema
from logsim.data_files import DataFileError, check_data_file, file_sha256, load_arrays, load_file
from logsim.labels import flip_rates, flip_uniforms, noisy_labels, training_targets
from logsim.rng import STREAM_SPLIT, generator
from tests.data.make_draw_hashes import digest

SYNTHETIC = ["gaussian", "logistic_model", "separable", "soudry"]
ALL_KINDS = [*SYNTHETIC, "breast_cancer"]
ARRAYS = ["x_train", "y_train", "x_test", "y_test", "p_train", "p_test", "w_star"]


# --------------------------------------------------------------------------- general


#: ``logsim.data.__all__`` before the module was split into data_draw, data_files and labels.
PUBLIC_BEFORE_THE_SPLIT = {
    "GENERATORS", "GENERATOR_OPTIONS", "DataDraw", "DataFileError", "DataShape",
    "NoTestSetWarning", "breast_cancer", "check_data_file", "data_shape", "file_sha256",
    "flip_rates", "flip_uniforms", "gaussian", "iris", "load_arrays", "load_file",
    "logistic_model", "make_data", "noisy_labels", "separable", "soudry", "split_indices",
    "training_targets", "wine", "with_intercept",
}  # fmt: skip
#: The module each name that moved out of logsim.data lives in now.
MOVED = {
    "DataDraw": "logsim.data_draw",
    **dict.fromkeys(("DataFileError", "NoTestSetWarning", "check_data_file", "file_sha256",
                     "load_arrays", "load_file"), "logsim.data_files"),
    **dict.fromkeys(("flip_rates", "flip_uniforms", "noisy_labels", "training_targets"),
                    "logsim.labels"),
}  # fmt: skip


def test_logsim_data_still_offers_every_public_name_it_had():
    """Users import from logsim.data: every name it offered stays, the moved ones re-exported
    as the very objects of their new modules (no second definition left behind)."""
    assert set(D.__all__) == PUBLIC_BEFORE_THE_SPLIT
    for name in PUBLIC_BEFORE_THE_SPLIT:
        home, offered = importlib.import_module(MOVED.get(name, "logsim.data")), getattr(D, name)
        assert offered is getattr(home, name), name
        assert getattr(offered, "__module__", home.__name__) == home.__name__, name


def test_generator_options_are_the_documented_defaults():
    real = {"train_fraction": 0.7, "test_fraction": None, "standardize": True, "features": None}
    assert D.GENERATOR_OPTIONS == {
        "gaussian": {
            "n_train": 200,
            "n_test": 2000,
            "dim": 10,
            "separation": 2.0,
            "class_balance": 0.5,
        },
        "logistic_model": {"n_train": 200, "n_test": 2000, "dim": 10, "w_norm": 2.0},
        "separable": {"n_train": 200, "n_test": 2000, "dim": 10, "margin": 0.1},
        "soudry": {"n_test": 200, "n_random": 12, "asymmetric": False, "min_margin": 1.5},
        "breast_cancer": real,
        "iris": real,
        "wine": real,
        "file": {
            "test_fraction": None,
            "standardize": False,
            "path": None,
            "label": None,
            "positive": None,
            "sha256": None,
        },
    }
    assert set(D.GENERATORS) == set(D.GENERATOR_OPTIONS) == set(schema.DATA_KINDS)


@pytest.mark.parametrize("kind", list(D.GENERATORS))
def test_generator_signatures_match_the_schema(kind):
    """The generators' keyword defaults are the schema's (train_fraction: None means 0.7)."""
    params = inspect.signature(D.GENERATORS[kind]).parameters.values()
    signature = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY}
    declared = dict(D.GENERATOR_OPTIONS[kind])
    if "train_fraction" in declared:
        assert signature["train_fraction"] is None and declared["train_fraction"] == 0.7
        signature["train_fraction"] = 0.7
    assert signature == declared


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_same_seed_is_bit_identical_and_other_seeds_differ(kind):
    a, b, c = (D.make_data(kind, seed=s) for s in (3, 3, 4))
    for name in ARRAYS:
        va, vb = getattr(a, name), getattr(b, name)
        if va is None:
            assert vb is None
            continue
        assert va.tobytes() == vb.tobytes()
        assert va is not vb  # fresh arrays every call
    assert a.feature_names == b.feature_names
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_array_layout(kind):
    draw = D.make_data(kind, seed=0)
    for name in ARRAYS:
        v = getattr(draw, name)
        if v is not None:
            assert v.dtype == np.float64 and v.flags.c_contiguous, name
    assert draw.x_train.shape == (draw.n_train, draw.dim)
    assert draw.x_test.shape == (draw.n_test, draw.dim)
    assert set(np.unique(draw.y_train)) == {0.0, 1.0}
    assert set(np.unique(draw.y_test)) <= {0.0, 1.0}
    assert len(draw.feature_names) == draw.dim


@pytest.mark.parametrize("kind", ["gaussian", "logistic_model", "separable"])
def test_training_set_nested_in_n_train_and_test_set_fixed(kind):
    small = D.make_data(kind, seed=7, n_train=50, n_test=300)
    large = D.make_data(kind, seed=7, n_train=120, n_test=300)
    np.testing.assert_array_equal(large.x_train[:50], small.x_train)
    np.testing.assert_array_equal(large.y_train[:50], small.y_train)
    np.testing.assert_array_equal(large.x_test, small.x_test)
    np.testing.assert_array_equal(large.y_test, small.y_test)


def test_soudry_random_points_nested_in_n_random():
    small = D.make_data("soudry", seed=2, n_random=5)
    large = D.make_data("soudry", seed=2, n_random=9)
    np.testing.assert_array_equal(large.x_train[:9], small.x_train)
    np.testing.assert_array_equal(large.x_test, small.x_test)


@pytest.mark.parametrize("kind", ALL_KINDS)
def test_intercept_column(kind):
    plain = D.make_data(kind, seed=5)
    draw = D.make_data(kind, seed=5, intercept=True)
    assert draw.feature_names == (*plain.feature_names, "intercept")
    np.testing.assert_array_equal(draw.x_train[:, :-1], plain.x_train)
    np.testing.assert_array_equal(draw.x_test[:, :-1], plain.x_test)
    assert np.all(draw.x_train[:, -1] == 1.0) and np.all(draw.x_test[:, -1] == 1.0)
    assert draw.x_train.flags.c_contiguous and draw.dim == plain.dim + 1
    if plain.w_star is not None:
        np.testing.assert_array_equal(draw.w_star, [*plain.w_star, plain.b_star])


def test_intercept_w_star_reproduces_the_true_logit():
    # Imbalanced gaussian: the Bayes logit needs the bias log(pi / (1 - pi)).
    draw = D.make_data("gaussian", seed=1, dim=3, class_balance=0.2, intercept=True)
    logit = draw.x_train @ draw.w_star
    np.testing.assert_allclose(1.0 / (1.0 + np.exp(-logit)), draw.p_train, rtol=1e-12)
    assert draw.w_star[-1] == pytest.approx(math.log(0.2 / 0.8))


# --------------------------------------------------------------------------- synthetic


def test_gaussian_posterior_matches_bayes_rule_with_scipy_densities():
    pi, sep, d = 0.3, 1.5, 3
    draw = D.make_data("gaussian", seed=11, dim=d, separation=sep, class_balance=pi, n_test=500)
    mu = (sep / 2) * np.ones(d) / np.sqrt(d)
    for x, p in ((draw.x_train, draw.p_train), (draw.x_test, draw.p_test)):
        f1 = stats.multivariate_normal(mean=mu, cov=np.eye(d)).pdf(x)
        f0 = stats.multivariate_normal(mean=-mu, cov=np.eye(d)).pdf(x)
        bayes = pi * f1 / (pi * f1 + (1 - pi) * f0)
        np.testing.assert_allclose(p, bayes, rtol=1e-10)
    np.testing.assert_allclose(draw.w_star, 2 * mu, rtol=1e-15)
    # Product of 1-D normal density ratios gives the same posterior (independent coordinates).
    x = draw.x_train
    ratio = np.prod(stats.norm.pdf(x, loc=mu) / stats.norm.pdf(x, loc=-mu), axis=1)
    np.testing.assert_allclose(draw.p_train, pi * ratio / (pi * ratio + 1 - pi), rtol=1e-10)


def test_gaussian_class_frequencies_and_means():
    n, pi = 100_000, 0.3
    draw = D.make_data("gaussian", seed=0, n_train=n, n_test=0, dim=4, class_balance=pi)
    y = draw.y_train
    # 5 standard errors: sqrt(pi (1 - pi) / n) = 0.00145.
    assert abs(y.mean() - pi) < 5 * math.sqrt(pi * (1 - pi) / n)
    mu = np.ones(4) / 2  # separation 2: mu = ones / sqrt(d) = 0.5 each for d = 4
    np.testing.assert_allclose(draw.x_train[y == 1].mean(axis=0), mu, atol=0.02)
    np.testing.assert_allclose(draw.x_train[y == 0].mean(axis=0), -mu, atol=0.02)


def test_logistic_model_label_frequencies_follow_sigmoid():
    draw = D.make_data("logistic_model", seed=4, n_train=200_000, n_test=10, dim=5, w_norm=3.0)
    w = 3.0 * np.ones(5) / np.sqrt(5)
    np.testing.assert_allclose(draw.w_star, w, rtol=1e-15)
    p = 1.0 / (1.0 + np.exp(-draw.x_train @ w))
    np.testing.assert_allclose(draw.p_train, p, rtol=1e-12)
    # Ten equal-count bins of p: observed frequency vs mean p within 0.01, which is
    # over 4 binomial standard errors (n_bin = 20000, se <= 0.0036).
    order = np.argsort(p)
    for idx in np.array_split(order, 10):
        assert abs(draw.y_train[idx].mean() - p[idx].mean()) < 0.01
    np.testing.assert_allclose(draw.p_test, 1.0 / (1.0 + np.exp(-draw.x_test @ w)), rtol=1e-12)


@pytest.mark.parametrize("margin", [0.0, 0.1, 0.75])
def test_separable_margin(margin):
    draw = D.make_data("separable", seed=3, n_train=5000, n_test=5000, dim=6, margin=margin)
    u = draw.w_star
    assert np.linalg.norm(u) == 1.0
    for x, y in ((draw.x_train, draw.y_train), (draw.x_test, draw.y_test)):
        s = 2 * y - 1
        assert np.min(s * (x @ u)) >= margin
        np.testing.assert_array_equal(y, (x @ u > 0).astype(float))
    assert draw.p_train is None and draw.p_test is None
    assert 0.45 < draw.y_train.mean() < 0.55


def _hard_margin_svm(x, y):
    """min ||w||^2 s.t. s_i x_i . w >= 1, by SciPy's SLSQP (independent of logsim)."""
    z = x * (2 * y - 1)[:, None]
    res = optimize.minimize(
        lambda w: w @ w,
        np.ones(x.shape[1]),
        jac=lambda w: 2 * w,
        constraints=[{"type": "ineq", "fun": lambda w: z @ w - 1, "jac": lambda w: z}],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    assert res.success
    return res.x


@pytest.mark.parametrize("asymmetric", [False, True])
def test_soudry_svm_facts(asymmetric):
    draw = D.make_data("soudry", seed=0, asymmetric=asymmetric, n_random=30)
    w_hat = draw.w_star
    np.testing.assert_array_equal(w_hat, [0.5, 0.5])
    margins = (2 * draw.y_train - 1) * (draw.x_train @ w_hat)
    np.testing.assert_array_equal(margins[:4], 1.0)  # the 4 support vectors, exactly
    assert np.all(margins[4:] >= 1.5 - 1e-12)  # all others strictly off the margin
    assert draw.y_train[:4].tolist() == [1.0, 1.0, 0.0, 0.0]
    if asymmetric:
        np.testing.assert_array_equal(draw.x_train[3], [-1.0, -1.0])
    else:
        np.testing.assert_array_equal(draw.x_train[2:4], -draw.x_train[:2])
    np.testing.assert_allclose(_hard_margin_svm(draw.x_train, draw.y_train), w_hat, atol=1e-6)
    test_margins = (2 * draw.y_test - 1) * (draw.x_test @ w_hat)
    assert draw.n_test == 200 and np.all(test_margins >= 1.5 - 1e-12)


def _gd_direction_gaps(x, y, steps, checkpoints, lr=1.0):
    """Plain GD on the mean logistic loss from w = 0; direction gap at checkpoints."""
    z = x * (2 * y - 1)[:, None]
    target = np.array([1.0, 1.0]) / math.sqrt(2.0)
    w = np.zeros(2)
    gaps = {}
    for t in range(1, steps + 1):
        m = z @ w
        # d/dw mean log(1 + exp(-z.w)) = -mean sigmoid(-z.w) z
        w += lr * (z * (0.5 * (1.0 - np.tanh(0.5 * m)))[:, None]).mean(axis=0)
        if t in checkpoints:
            gaps[t] = np.linalg.norm(w / np.linalg.norm(w) - target)
    return gaps


def test_soudry_direction_gap_rates():
    t1, t2 = 2_000, 20_000
    scaled = {}
    for asymmetric in (False, True):
        draw = D.make_data("soudry", seed=0, asymmetric=asymmetric)
        x, y = draw.x_train, draw.y_train
        # Soudry et al.'s step condition for lr = 1: beta sigma_max(X)^2 / n < 2, beta = 1/4.
        assert 0.25 * np.linalg.norm(x, 2) ** 2 / len(x) < 2.0
        gaps = _gd_direction_gaps(x, y, t2, {t1, t2})
        assert gaps[t2] < gaps[t1]
        assert gaps[t2] < 0.1  # w / ||w|| -> (1, 1) / sqrt 2
        scaled[asymmetric] = (gaps[t2] * math.log(t2)) / (gaps[t1] * math.log(t1))
    # Asymmetric support vectors: gap ~ c / ln t, so gap * ln t is steady.
    assert 0.5 < scaled[True] < 2.0
    # Symmetric: the 1/ln t term vanishes, gap * ln t keeps falling.
    assert scaled[False] < 0.75


# --------------------------------------------------------------------------- breast cancer


def test_breast_cancer_split_standardisation_and_labels():
    seed = 9
    draw = D.make_data("breast_cancer", seed=seed)
    assert (draw.n_train, draw.n_test, draw.dim) == (398, 171, 30)
    assert draw.y_train.sum() + draw.y_test.sum() == 212  # malignant
    assert draw.p_train is None and draw.w_star is None
    np.testing.assert_allclose(draw.x_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(draw.x_train.std(axis=0), 1.0, rtol=1e-12)
    assert np.max(np.abs(draw.x_test.mean(axis=0))) > 1e-3  # test split not re-centred
    assert not np.allclose(draw.x_test.std(axis=0), 1.0, rtol=1e-6)

    # Independent reference: sklearn's data and StandardScaler fitted on the documented split.
    raw = load_breast_cancer()
    perm = generator(seed, STREAM_SPLIT).permutation(569)
    train, test = perm[:398], perm[398:]
    scaler = StandardScaler().fit(raw.data[train])
    np.testing.assert_allclose(draw.x_train, scaler.transform(raw.data[train]), atol=1e-12)
    np.testing.assert_allclose(draw.x_test, scaler.transform(raw.data[test]), atol=1e-12)
    malignant = list(raw.target_names).index("malignant")
    np.testing.assert_array_equal(draw.y_train, raw.target[train] == malignant)
    np.testing.assert_array_equal(draw.y_test, raw.target[test] == malignant)
    assert draw.feature_names == tuple(raw.feature_names)


def test_breast_cancer_split_depends_on_seed_only():
    a, b = D.make_data("breast_cancer", seed=1), D.make_data("breast_cancer", seed=1)
    c = D.make_data("breast_cancer", seed=2)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.array_equal(a.y_train, c.y_train)


def test_breast_cancer_features_option():
    full = D.make_data("breast_cancer", seed=0)
    first = D.make_data("breast_cancer", seed=0, features=5)
    assert first.feature_names == full.feature_names[:5]
    np.testing.assert_allclose(first.x_train, full.x_train[:, :5], rtol=1e-14)
    picked = D.make_data("breast_cancer", seed=0, features=[7, 0, 21])
    assert picked.feature_names == tuple(full.feature_names[j] for j in (7, 0, 21))
    np.testing.assert_allclose(picked.x_test, full.x_test[:, [7, 0, 21]], rtol=1e-14)
    half = D.make_data("breast_cancer", seed=0, train_fraction=0.5)
    assert (half.n_train, half.n_test) == (285, 284)
    everything = D.make_data("breast_cancer", seed=0, train_fraction=1.0)
    assert (everything.n_train, everything.x_test.shape) == (569, (0, 30))


# --------------------------------------------------------------------------- user data


def test_load_arrays_accepts_bool_int_float_labels():
    x = np.arange(8.0).reshape(4, 2)
    for y in ([False, True, True, False], [0, 1, 1, 0], np.array([0.0, 1.0, 1.0, 0.0])):
        draw = load_arrays(x, y)
        np.testing.assert_array_equal(draw.y_train, [0.0, 1.0, 1.0, 0.0])
        assert draw.kind == "file" and draw.y_train.dtype == np.float64
        assert draw.x_test.shape == (0, 2) and draw.y_test.shape == (0,)
    draw = load_arrays(x.astype(int), [0, 1, 1, 0], x[:1], [1], feature_names=["a", "b"])
    assert draw.feature_names == ("a", "b") and draw.x_train.dtype == np.float64
    assert draw.x_train is not x and draw.n_test == 1


def test_load_file_npz_and_csv(tmp_path):
    rng = np.random.default_rng(0)
    x, xt = rng.standard_normal((6, 3)), rng.standard_normal((2, 3))
    y, yt = np.array([0, 1, 0, 1, 1, 0]), np.array([1, 0])
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x, y_train=y, x_test=xt, y_test=yt, feature_names=["a", "b", "c"])
    draw = load_file(path)
    np.testing.assert_array_equal(draw.x_train, x)
    np.testing.assert_array_equal(draw.y_test, yt)
    assert draw.feature_names == ("a", "b", "c")
    np.savez(tmp_path / "e.npz", x_train=x, y_train=y)
    assert load_file(tmp_path / "e.npz").x_test.shape == (0, 3)

    csv = tmp_path / "d.csv"
    csv.write_text("f1,target,f2\n1.5,1,2\n-1,0,0.25\n3,1,-4\n")
    draw = load_file(csv, label="target")
    np.testing.assert_array_equal(draw.x_train, [[1.5, 2], [-1, 0.25], [3, -4]])
    np.testing.assert_array_equal(draw.y_train, [1, 0, 1])
    assert draw.feature_names == ("f1", "f2") and draw.x_test.shape == (0, 2)
    via = D.make_data("file", seed=0, path=str(csv), label="target", intercept=True)
    assert via.feature_names == ("f1", "f2", "intercept")


# --------------------------------------------------------------------------- label transforms


def test_flip_rates():
    assert flip_rates() == (0.0, 0.0)
    assert flip_rates(0.2) == (0.2, 0.2)
    assert flip_rates(rho_pos=0.3) == (0.3, 0.0)
    assert flip_rates(rho_pos=0.3, rho_neg=0.6) == (0.3, 0.6)


def test_noisy_labels_rule():
    y = np.array([1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    u = np.array([0.05, 0.1, 0.5, 0.05, 0.2, 0.5])
    # clean 1 -> 0 iff u < rho_pos = 0.1; clean 0 -> 1 iff u < rho_neg = 0.2
    np.testing.assert_array_equal(noisy_labels(y, u, 0.1, 0.2), [0, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(noisy_labels(y, u, 0.0, 0.0), y)


def test_flip_frequencies_match_rates():
    n = 400_000
    y = (np.arange(n) % 2).astype(float)
    u = flip_uniforms(0, n)
    noisy = noisy_labels(y, u, 0.3, 0.1)
    pos, neg = y == 1, y == 0
    # 5 standard errors of a binomial rate over n/2 = 200000 draws.
    for rate, got in ((0.3, np.mean(noisy[pos] == 0)), (0.1, np.mean(noisy[neg] == 1))):
        assert abs(got - rate) < 5 * math.sqrt(rate * (1 - rate) / (n / 2))


def test_larger_rates_flip_a_superset():
    draw = D.make_data("logistic_model", seed=1, n_train=5000)
    flipped = {}
    for rate in (0.05, 0.1, 0.2, 0.4):
        _, noisy = training_targets(draw, seed=1, noise_rate=rate)
        flipped[rate] = noisy != draw.y_train
    rates = sorted(flipped)
    for lo, hi in itertools.pairwise(rates):
        assert np.all(flipped[hi][flipped[lo]]) and flipped[hi].sum() > flipped[lo].sum()
    _, a = training_targets(draw, seed=1, rho_pos=0.1, rho_neg=0.05)
    _, b = training_targets(draw, seed=1, rho_pos=0.3, rho_neg=0.05)
    fa, fb = a != draw.y_train, b != draw.y_train
    assert np.all(fb[fa])
    np.testing.assert_array_equal(fa[draw.y_train == 0], fb[draw.y_train == 0])
    # Test labels are never touched, uniforms are nested in n.
    np.testing.assert_array_equal(flip_uniforms(1, 10), flip_uniforms(1, 20)[:10])


def test_smoothing_targets_exact():
    draw = D.make_data("gaussian", seed=2)
    targets, noisy = training_targets(draw, seed=2, smoothing=0.1)
    np.testing.assert_array_equal(noisy, draw.y_train)
    np.testing.assert_array_equal(targets, np.where(draw.y_train == 1, 0.95, 0.05))
    np.testing.assert_allclose(targets, draw.y_train * 0.9 + 0.05, rtol=1e-15)
    plain, _ = training_targets(draw, seed=2)
    np.testing.assert_array_equal(plain, draw.y_train)
    assert plain is not draw.y_train
    t_noisy, n_noisy = training_targets(draw, seed=2, noise_rate=0.2, smoothing=0.2)
    np.testing.assert_array_equal(t_noisy, np.where(n_noisy == 1, 0.9, 0.1))


@pytest.mark.parametrize("kind", ["gaussian", "logistic_model"])
def test_soft_targets_are_the_posterior(kind):
    draw = D.make_data(kind, seed=6)
    targets, noisy = training_targets(draw, seed=6, soft=True)
    np.testing.assert_array_equal(targets, draw.p_train)
    np.testing.assert_array_equal(noisy, draw.y_train)
    assert targets is not draw.p_train


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kind", "options", "match"),
    [
        (
            "gausian",
            {},
            r"unknown data kind 'gausian'; did you mean \"gaussian\"\? allowed: gaussian, logis",
        ),
        (
            "gaussian",
            {"dimm": 3},
            r"unknown option 'dimm' for data kind 'gaussian'; allowed: n_train, n_test, dim",
        ),
        ("gaussian", {"n_train": 1}, r"n_train must be an integer >= 2, got 1"),
        ("gaussian", {"n_train": 20.0}, r"n_train must be an integer >= 2, got 20.0"),
        ("gaussian", {"n_train": True}, r"n_train must be an integer"),
        ("gaussian", {"n_test": -1}, r"n_test must be an integer >= 0, got -1"),
        ("gaussian", {"dim": 0}, r"dim must be an integer >= 1, got 0"),
        ("gaussian", {"separation": -1.0}, r"separation must be a finite number >= 0, got -1"),
        ("gaussian", {"separation": float("nan")}, r"separation must be a finite number >= 0"),
        ("gaussian", {"class_balance": 1.0}, r"class_balance must be a number in \(0, 1\)"),
        ("gaussian", {"class_balance": "0.5"}, r"class_balance must be a number in \(0, 1\)"),
        (
            "gaussian",
            {"class_balance": 1e-9, "n_train": 3},
            r"'gaussian' with seed 0: all 3 training labels are 0; both classes",
        ),
        ("logistic_model", {"w_norm": -0.5}, r"'logistic_model': w_norm must be a finite num"),
        ("logistic_model", {"w_norm": float("inf")}, r"w_norm must be a finite number >= 0"),
        ("separable", {"margin": -0.1}, r"'separable': margin must be a finite number >= 0"),
        ("soudry", {"min_margin": 1.0}, r"min_margin must be a finite number > 1, got 1.0"),
        ("soudry", {"asymmetric": "yes"}, r"asymmetric must be true or false, got 'yes'"),
        ("soudry", {"n_random": -2}, r"n_random must be an integer >= 0"),
        ("breast_cancer", {"train_fraction": 0.0}, r"train_fraction must be a number in \(0, 1\]"),
        ("breast_cancer", {"train_fraction": 1.5}, r"train_fraction must be a number in \(0, 1\]"),
        ("breast_cancer", {"train_fraction": 0.001}, r"leaves 1 training samples of 569"),
        ("breast_cancer", {"features": 0}, r"features must be an integer k in \[1, 30\] .*got 0"),
        ("breast_cancer", {"features": 31}, r"features must be an integer k in \[1, 30\]"),
        ("breast_cancer", {"features": [0, 30]}, r"indices in \[0, 29\], got \[0, 30\]"),
        ("breast_cancer", {"features": []}, r"a non-empty list of distinct feature indices"),
        ("breast_cancer", {"features": [2, 2]}, r"list of distinct feature indices.*\[2, 2\]"),
        ("breast_cancer", {"features": "mean radius"}, r"features must be an integer k .*'mean"),
        ("iris", {"features": 5}, r"'iris': features must be an integer k in \[1, 4\]"),
        ("wine", {"test_fraction": 1.0}, r"'wine': test_fraction must be a number in \[0, 1\)"),
        (
            "breast_cancer",
            {"train_fraction": 0.5, "test_fraction": 0.2},
            r"either train_fraction .* or test_fraction .*, not both",
        ),
        ("breast_cancer", {"standardize": 1}, r"standardize must be true or false, got 1"),
        ("file", {"path": "x.csv", "positive": 1.5}, r"positive must be a string or an integer"),
        ("file", {}, r"data kind 'file': option path is required"),
    ],
)
def test_make_data_errors(kind, options, match):
    with pytest.raises(ValueError, match=match):
        D.make_data(kind, seed=0, **options)


def test_make_data_seed_and_intercept_errors():
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer, got -1"):
        D.make_data("gaussian", seed=-1)
    with pytest.raises(ValueError, match=r"intercept must be true or false, got 1"):
        D.make_data("gaussian", seed=0, intercept=1)


X4 = np.arange(8.0).reshape(4, 2)
Y4 = np.array([0, 1, 1, 0])


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((X4[:, 0], Y4), {}, r"src: x_train must be a 2-D array .* got shape \(4,\)"),
        ((X4.astype(str), Y4), {}, r"src: x_train must be a real numeric array, got dtype <U"),
        ((X4 + 0j, Y4), {}, r"x_train must be a real numeric array, got dtype complex128"),
        ((X4, Y4[:, None]), {}, r"src: y_train must be a 1-D array"),
        ((X4, ["a", "b", "a", "b"]), {}, r"y_train holds text labels \(a, b\); set positive"),
        ((X4, [0, 1, 2, -1]), {}, r"src: y_train must hold labels in \{0, 1\} or \{-1, \+1\}; f"),
        ((X4, [0, 1, 2, 1]), {"positive": 1}, r"src: y_train has 3 distinct labels \(0, 1, 2\)"),
        ((X4, ["a", "b", "a", "b"]), {"positive": "c"}, r"positive = 'c' is not a label of y_t"),
        ((X4, [0, 1, 0.5, 1]), {}, r"found 1 other values: 0.5"),
        ((X4, [0, 1, np.nan, 1]), {}, r"src: y_train has 1 non-finite values"),
        ((np.where(X4 > 5, np.inf, X4), Y4), {}, r"src: x_train has 2 non-finite values"),
        ((X4, Y4[:3]), {}, r"src: x_train has 4 rows but y_train has 3 labels"),
        ((X4[:1], [1]), {}, r"src: x_train needs at least 2 samples, got 1"),
        ((X4, [1, 1, 1, 1]), {}, r"src: y_train must contain both classes 0 and 1, got only 1"),
        ((X4, Y4, X4), {}, r"src: give both x_test and y_test, or neither"),
        ((X4, Y4, X4[:, :1], [0, 1, 0, 1]), {}, r"src: x_test has 1 features but x_train has 2"),
        ((X4, Y4, X4, [0, 1]), {}, r"src: x_test has 4 rows but y_test has 2 labels"),
        ((X4, Y4, X4, [0, 1, 3, 1]), {}, r"src: y_test must hold labels in \{0, 1\}"),
        ((X4, Y4, np.full((1, 2), np.nan), [0]), {}, r"src: x_test has 2 non-finite values"),
        ((X4, Y4), {"feature_names": ["a"]}, r"src: 1 feature names for 2 features"),
    ],
)
def test_load_arrays_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_arrays(*args, source="src", **kwargs)


def test_load_file_errors(tmp_path):
    with pytest.raises(ValueError, match=r"nope\.npz: data file not found"):
        load_file(tmp_path / "nope.npz")
    txt = tmp_path / "d.txt"
    txt.write_text("1,2\n")
    with pytest.raises(ValueError, match=r"d\.txt: unsupported data file extension '\.txt'"):
        load_file(txt)
    npz = tmp_path / "d.npz"
    np.savez(npz, x_train=X4, labels=Y4)
    with pytest.raises(ValueError, match=r"d\.npz: missing array\(s\) y_train; .* found x_train"):
        load_file(npz)
    with pytest.raises(ValueError, match=r"label='y' applies to \.csv files only"):
        load_file(npz, label="y")
    pickled = tmp_path / "p.npz"
    np.savez(pickled, x_train=np.array([{"a": 1}], dtype=object), y_train=Y4)
    with pytest.raises(ValueError, match=r"p\.npz: cannot read as \.npz without pickle"):
        load_file(pickled)
    broken = tmp_path / "b.npz"
    broken.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"b\.npz: cannot read as \.npz"):
        load_file(broken)
    bad_labels = tmp_path / "l.npz"
    np.savez(bad_labels, x_train=X4, y_train=[0, 1, 2, 1])
    with pytest.raises(ValueError, match=r"l\.npz: y_train must hold labels in \{0, 1\}"):
        load_file(bad_labels)

    csv = tmp_path / "d.csv"
    csv.write_text("a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError, match=r"d\.csv: a \.csv data file needs label="):
        load_file(csv)
    with pytest.raises(ValueError, match=r"d\.csv: no label column 'target'; columns are a, b, y"):
        load_file(csv, label="target")
    csv.write_text("a,b,y\n1,x,0\n3,4,1\n")
    with pytest.raises(ValueError, match=r"d\.csv: line 2, column 'b': 'x' is not a number"):
        load_file(csv, label="y")
    csv.write_text("a,b,y\n1,2,0\n3,1\n")
    with pytest.raises(ValueError, match=r"d\.csv: line 3 has 2 fields, the header has 3"):
        load_file(csv, label="y")
    csv.write_text("")
    with pytest.raises(ValueError, match=r"d\.csv: empty file"):
        load_file(csv, label="y")
    csv.write_text("y\n0\n1\n")
    with pytest.raises(ValueError, match=r"d\.csv: no feature columns besides the label 'y'"):
        load_file(csv, label="y")
    csv.write_text("a,y\n1,0\n2,0\n")
    with pytest.raises(ValueError, match=r"d\.csv: y_train must contain both classes"):
        load_file(csv, label="y")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise_rate": 0.5}, r"noise_rate must be a number in \[0, 0\.5\), got 0\.5"),
        ({"noise_rate": -0.1}, r"noise_rate must be a number in \[0, 0\.5\), got -0\.1"),
        ({"rho_pos": 1.0}, r"rho_pos must be a number in \[0, 1\), got 1\.0"),
        ({"rho_neg": -0.2}, r"rho_neg must be a number in \[0, 1\), got -0\.2"),
        ({"rho_pos": 0.6, "rho_neg": 0.4}, r"noise transition matrix T is singular"),
        ({"rho_pos": 0.7, "rho_neg": 0.5}, r"noise transition matrix T is singular"),
        ({"noise_rate": 0.1, "rho_pos": 0.2}, r"either a symmetric noise_rate .* not both"),
    ],
)
def test_flip_rate_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        flip_rates(**kwargs)
    draw = D.make_data("gaussian", seed=0, n_train=10, n_test=0)
    with pytest.raises(ValueError, match=match):
        training_targets(draw, seed=0, **kwargs)


def test_smoothing_a_soft_target():
    draw = D.make_data("logistic_model", seed=2, n_train=50, n_test=0)
    targets, _ = training_targets(draw, seed=2, soft=True, smoothing=0.2)
    np.testing.assert_allclose(targets, draw.p_train * 0.8 + 0.1, rtol=1e-15)


def test_training_target_and_flip_errors():
    gauss = D.make_data("gaussian", seed=0, n_train=10, n_test=0)
    cancer = D.make_data("breast_cancer", seed=0)
    cases = [
        (gauss, {"smoothing": 1.0}, r"smoothing must be a number in \[0, 1\), got 1\.0"),
        (gauss, {"smoothing": -0.1}, r"smoothing must be a number in \[0, 1\), got -0\.1"),
        (gauss, {"soft": 1}, r"soft must be true or false, got 1"),
        (cancer, {"soft": True}, r"need a known posterior.*got kind = 'breast_cancer'"),
        (gauss, {"soft": True, "noise_rate": 0.1}, r"cannot be combined with label noise"),
        (gauss, {"soft": True, "rho_neg": 0.1}, r"cannot be combined with label noise"),
    ]
    for draw, kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            training_targets(draw, seed=0, **kwargs)
    with pytest.raises(ValueError, match=r"flip_uniforms: n must be an integer >= 0, got -1"):
        flip_uniforms(0, -1)
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer"):
        flip_uniforms(-3, 5)
    with pytest.raises(ValueError, match=r"noisy_labels: y_clean and u must be 1-D of equal"):
        noisy_labels(np.zeros(3), np.zeros(4), 0.1, 0.1)


# --------------------------------------------------------------------------- bit identity


HASHES = json.loads((Path(__file__).parent / "data" / "draw_hashes.json").read_text())


@pytest.mark.parametrize("record", HASHES, ids=lambda r: f"{r['kind']}-{r['seed']}")
def test_draws_are_bit_identical_to_before_the_schema(record):
    """Arrays hashed before the data layer was rebuilt (tests/data/make_draw_hashes.py)."""
    kind, opts = record["kind"], record["options"]
    got = digest(D.make_data(kind, seed=record["seed"], intercept=record["intercept"], **opts))
    assert got == record["digest"]
    # As a scenario passes them: every option of the kind, defaults filled.
    full = {**D.GENERATOR_OPTIONS[kind], **opts}
    if kind in schema.REAL_DATA and full.get("test_fraction") is not None:
        full["train_fraction"] = None
    draw = D.make_data(kind, seed=record["seed"], intercept=record["intercept"], **full)
    assert digest(draw) == record["digest"]


def test_file_draws_are_the_file_values(tmp_path):
    """Default file options (no split, no standardisation) give the file's numbers unchanged."""
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((9, 3)), np.array([0, 1] * 4 + [1])
    np.savez(tmp_path / "d.npz", x_train=x, y_train=y)
    draw = D.make_data("file", seed=5, path=str(tmp_path / "d.npz"))
    assert draw.x_train.tobytes() == x.tobytes() and draw.x_test.shape == (0, 3)
    np.testing.assert_array_equal(draw.y_train, y)


# --------------------------------------------------------------------------- shapes


def _csv(path: Path, n: int, d: int, seed: int = 0, labels=("B", "M")) -> Path:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = np.array([labels[i % 2] for i in range(n)])
    header = ",".join([*(f"f{j}" for j in range(d)), "diagnosis"])
    rows = [",".join([*(repr(float(v)) for v in x[i]), y[i]]) for i in range(n)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


SHAPE_CASES = [
    ("gaussian", {}), ("gaussian", {"n_train": 6, "n_test": 0, "dim": 7}),
    ("logistic_model", {"n_train": 11, "dim": 1}), ("separable", {"n_test": 5}),
    ("soudry", {}), ("soudry", {"n_random": 0, "n_test": 0}),
    ("breast_cancer", {}), ("breast_cancer", {"train_fraction": 1.0, "features": 4}),
    ("breast_cancer", {"test_fraction": 0.25, "features": [3, 1]}),
    ("breast_cancer", {"test_fraction": 0.0, "standardize": False}),
    ("iris", {}), ("iris", {"test_fraction": 0.5, "features": 2}),
    ("wine", {"train_fraction": 0.33}), ("wine", {"test_fraction": 0.1}),
]  # fmt: skip


@pytest.mark.parametrize("intercept", [False, True])
@pytest.mark.parametrize(("kind", "options"), SHAPE_CASES)
def test_data_shape_is_the_drawn_shape(kind, options, intercept):
    shape = D.data_shape(kind, intercept=intercept, **options)
    for seed in (0, 7):
        draw = D.make_data(kind, seed=seed, intercept=intercept, **options)
        assert (shape.n_train, shape.n_test, shape.dim) == (draw.n_train, draw.n_test, draw.dim)
        assert shape.feature_names == draw.feature_names
        assert shape.has_posterior == (draw.p_train is not None)
        assert shape.has_w_star == (draw.w_star is not None)


@pytest.mark.parametrize("intercept", [False, True])
def test_data_shape_of_files(tmp_path, intercept):
    csv = _csv(tmp_path / "c.csv", 23, 4)
    rng = np.random.default_rng(2)
    y = np.array([0, 1] * 10)
    np.savez(tmp_path / "a.npz", x_train=rng.standard_normal((20, 3)), y_train=y)
    np.savez(tmp_path / "b.npz", x_train=rng.standard_normal((20, 3)), y_train=y,
             x_test=rng.standard_normal((6, 3)), y_test=y[:6], feature_names=["u", "v", "w"])
    cases = [
        {"path": str(csv), "label": "diagnosis", "positive": "M"},
        {"path": str(csv), "label": "diagnosis", "positive": "M", "test_fraction": 0.3},
        {"path": str(csv), "label": "diagnosis", "positive": "B", "test_fraction": 0.5,
         "standardize": True},
        {"path": str(tmp_path / "a.npz")},
        {"path": str(tmp_path / "a.npz"), "test_fraction": 0.2},
        {"path": str(tmp_path / "b.npz"), "standardize": True},
    ]  # fmt: skip
    for options in cases:
        shape = D.data_shape("file", intercept=intercept, **options)
        draw = D.make_data("file", seed=3, intercept=intercept, **options)
        assert (shape.n_train, shape.n_test, shape.dim) == (draw.n_train, draw.n_test, draw.dim)
        assert shape.feature_names == draw.feature_names
        assert not shape.has_posterior and not shape.has_w_star


def test_data_shape_reads_only_the_header_and_follows_the_file(tmp_path):
    csv = tmp_path / "c.csv"
    csv.write_text("a,b,y\n1,x,0\n3,4,1\n5,6,0\n")  # "x" is no number: loading fails
    assert D.data_shape("file", path=str(csv), label="y").n_train == 3
    with pytest.raises(ValueError, match=r"line 2, column 'b': 'x' is not a number"):
        D.make_data("file", seed=0, path=str(csv), label="y")
    csv.write_text("a,b,y\n1,2,0\n3,4,1\n")  # changed (size and time): not the cached header
    assert D.data_shape("file", path=str(csv), label="y").n_train == 2
    with pytest.raises(ValueError, match=r"no label column 'z'; columns are a, b, y"):
        D.data_shape("file", path=str(csv), label="z")
    np.savez(tmp_path / "t.npz", x_train=np.zeros((4, 2)), y_train=[0, 1, 0, 1],
             x_test=np.zeros((2, 2)), y_test=[0, 1])  # fmt: skip
    with pytest.raises(ValueError, match=r"has its own test set .* remove test_fraction"):
        D.data_shape("file", path=str(tmp_path / "t.npz"), test_fraction=0.5)
    with pytest.raises(ValueError, match=r"has its own test set"):
        D.make_data("file", seed=0, path=str(tmp_path / "t.npz"), test_fraction=0.5)


# --------------------------------------------------------------------------- splits and labels


def _expected_test_counts(y, fraction):
    """Largest-remainder allocation of round(f n) test samples (independent of logsim)."""
    n = len(y)
    n_test = math.floor(fraction * n + 0.5)
    classes, counts = np.unique(y, return_counts=True)
    exact = [n_test * c / n for c in counts]
    base = [math.floor(q) for q in exact]
    rest = n_test - sum(base)
    by_remainder = sorted(range(len(classes)), key=lambda i: (base[i] - exact[i], i))
    for i in by_remainder[:rest]:
        base[i] += 1
    return dict(zip(classes.tolist(), base, strict=True))


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5, 0.77])
def test_stratified_split(fraction):
    y = (np.arange(101) % 3 == 0).astype(float)  # 34 positives of 101
    train, test = D.split_indices(4, y, test_fraction=fraction)
    assert sorted([*train, *test]) == list(range(101))
    got = {c: int(np.sum(y[test] == c)) for c in (0.0, 1.0)}
    assert got == _expected_test_counts(y, fraction)
    # Each class's test samples are its first ones in the seed's permutation.
    perm = generator(4, STREAM_SPLIT).permutation(101)
    for c, k in got.items():
        np.testing.assert_array_equal(np.sort(test[y[test] == c]), np.sort(perm[y[perm] == c][:k]))
    np.testing.assert_array_equal(train, perm[np.isin(perm, train)])  # in permutation order
    again, other = D.split_indices(4, y, test_fraction=fraction), D.split_indices(5, y,
                                                                               test_fraction=fraction)
    np.testing.assert_array_equal(again[1], test)
    assert not np.array_equal(np.sort(other[1]), np.sort(test))  # a replicate per seed


def test_no_held_out_part_keeps_the_file_order(tmp_path):
    y = np.array([0.0, 1.0] * 5)
    train, test = D.split_indices(3, y, test_fraction=0.0)
    np.testing.assert_array_equal(train, np.arange(10))
    assert test.size == 0
    x = np.random.default_rng(0).standard_normal((10, 2))
    np.savez(tmp_path / "a.npz", x_train=x, y_train=y, x_test=x[:2], y_test=y[:2])
    draw = D.make_data("file", seed=4, path=str(tmp_path / "a.npz"), test_fraction=0)
    assert draw.x_train.tobytes() == x.tobytes() and draw.n_test == 2  # its own test set


def test_breast_cancer_stratified_split_and_raw_features():
    raw = load_breast_cancer()
    draw = D.make_data("breast_cancer", seed=2, test_fraction=0.3, standardize=False)
    assert (draw.n_train, draw.n_test) == (398, 171)
    counts = _expected_test_counts((raw.target == 0).astype(float), 0.3)
    assert draw.y_test.sum() == counts[1.0] == 64
    train, test = D.split_indices(2, (raw.target == 0).astype(float), test_fraction=0.3)
    np.testing.assert_array_equal(draw.x_train, raw.data[train])  # not standardised
    np.testing.assert_array_equal(draw.x_test, raw.data[test])


@pytest.mark.parametrize(("kind", "loader", "keep", "positive"), [
    ("iris", "load_iris", (1, 2), 2),
    ("wine", "load_wine", (0, 1), 0),
])
def test_bundled_binary_problems_match_scikit_learn(kind, loader, keep, positive):
    import sklearn.datasets

    raw = getattr(sklearn.datasets, loader)()
    rows = np.isin(raw.target, keep)
    x, y = raw.data[rows], (raw.target[rows] == positive).astype(float)
    facts = schema.REAL_DATA[kind]
    assert (x.shape, int(y.sum())) == ((facts.n_samples, facts.n_features), facts.n_positive)
    draw = D.make_data(kind, seed=1)
    train, test = D.split_indices(1, y, train_fraction=0.7)
    scaler = StandardScaler().fit(x[train])
    np.testing.assert_allclose(draw.x_train, scaler.transform(x[train]), atol=1e-12)
    np.testing.assert_allclose(draw.x_test, scaler.transform(x[test]), atol=1e-12)
    np.testing.assert_array_equal(draw.y_train, y[train])
    assert draw.feature_names == tuple(raw.feature_names)


def test_file_split_standardisation_and_labels(tmp_path):
    csv = _csv(tmp_path / "c.csv", 40, 3, labels=("B", "M"))
    text = csv.read_text().splitlines()
    x = np.array([[float(v) for v in line.split(",")[:3]] for line in text[1:]])
    y = np.array([line.split(",")[3] == "M" for line in text[1:]], dtype=float)
    draw = D.make_data("file", seed=6, path=str(csv), label="diagnosis", positive="M",
                       test_fraction=0.25, standardize=True)  # fmt: skip
    train, test = D.split_indices(6, y, test_fraction=0.25)
    scaler = StandardScaler().fit(x[train])
    np.testing.assert_allclose(draw.x_train, scaler.transform(x[train]), atol=1e-12)
    np.testing.assert_allclose(draw.x_test, scaler.transform(x[test]), atol=1e-12)
    np.testing.assert_array_equal(draw.y_train, y[train])
    np.testing.assert_array_equal(draw.y_test, y[test])
    assert draw.feature_names == ("f0", "f1", "f2") and draw.n_test == 10
    flipped = D.make_data("file", seed=6, path=str(csv), label="diagnosis", positive="B")
    np.testing.assert_array_equal(flipped.y_train, 1 - y)


def test_signed_and_named_numeric_labels(tmp_path):
    x = np.arange(8.0).reshape(4, 2)
    np.testing.assert_array_equal(load_arrays(x, [-1, 1, 1, -1]).y_train, [0, 1, 1, 0])
    np.testing.assert_array_equal(load_arrays(x, [3, 7, 7, 3], positive=3).y_train,
                                  [1, 0, 0, 1])  # fmt: skip
    csv = tmp_path / "s.csv"
    csv.write_text("a,y\n1,-1\n2,1\n3,1\n")
    np.testing.assert_array_equal(load_file(csv, label="y").y_train, [0, 1, 1])
    with pytest.raises(ValueError, match=r"holds text labels \(B, M\); set positive"):
        load_file(_csv(tmp_path / "t.csv", 6, 2), label="diagnosis")


# --------------------------------------------------------------------------- data file hashes


def test_file_sha256_and_check_data_file(tmp_path):
    csv = _csv(tmp_path / "c.csv", 10, 2)
    digest_before = hashlib.sha256(csv.read_bytes()).hexdigest()
    assert file_sha256(csv) == digest_before
    check_data_file(csv, digest_before)
    csv.write_text(csv.read_text().replace("B", "M", 1))
    assert file_sha256(csv) != digest_before  # a change is seen (not the cached digest)
    with pytest.raises(DataFileError, match=r"c\.csv: data file changed: its SHA-256 is now"):
        check_data_file(csv, digest_before)
    moved = csv.rename(tmp_path / "moved.csv")
    with pytest.raises(DataFileError, match=r"c\.csv: data file not found \(moved or deleted"):
        check_data_file(csv, digest_before)
    with pytest.raises(DataFileError, match="data file changed"):
        D.make_data("file", seed=0, path=str(moved), label="diagnosis", positive="M",
                    sha256=digest_before)  # fmt: skip
