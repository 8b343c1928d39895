"""The Python API `simulate`, and the article's real example (breast cancer) end to end."""

import numpy as np
import pytest
from scipy.optimize import linprog
from sklearn.linear_model import LogisticRegression

import logsim
from logsim import data, noise
from logsim.labels import flip_uniforms, noisy_labels, training_targets
from logsim.svm import max_margin


def test_simulate_returns_a_labelled_dataset():
    ds = logsim.simulate("gaussian", loss="logistic", learning_rate=0.5, steps=300,
                         checkpoints=[0, 1, 10, 300], trajectories=3, seed=5, noise_rate=0.1,
                         smoothing=0.1, dim=4, n_train=50)
    assert ds["weights"].dims == ("trajectory", "step", "feature")
    assert ds["train_loss"].dims == ("trajectory", "step")
    assert ds["diverged"].dims == ("trajectory",)
    assert ds["step"].values.tolist() == [0, 1, 10, 300]
    assert ds["seed"].values.tolist() == [5, 6, 7]
    for name in ("weights", "train_loss", "diverged"):
        assert {"long_name", "units"} <= set(ds[name].attrs)
    # trajectory r is replicate seed + r: its first step is -eta X^T (1/2 - targets) / n
    draw = data.make_data("gaussian", seed=6, dim=4, n_train=50)
    targets, _ = training_targets(draw, 6, noise_rate=0.1, smoothing=0.1)
    step1 = -0.5 * draw.x_train.T @ (0.5 - targets) / 50
    np.testing.assert_allclose(ds["weights"].values[1, 1], step1, rtol=1e-13)


def test_breast_cancer_training_split_is_separable_and_gd_only_converges_in_direction():
    """The article's example has no finite logistic minimiser: the loss falls towards 0
    while the direction of w approaches the hard-margin SVM (Soudry et al. 2018)."""
    draw = data.make_data("breast_cancer", seed=0)
    X, y = draw.x_train, draw.y_train
    assert X.shape == (398, 30)
    # LP feasibility of s_i x_i . w >= 1 (no intercept): separable through the origin
    lp = linprog(np.zeros(30), A_ub=-(2 * y - 1)[:, None] * X, b_ub=-np.ones(len(y)),
                 bounds=[(None, None)] * 30, method="highs")
    assert lp.status == 0
    w_hat = max_margin(X, y)
    ds = logsim.simulate("breast_cancer", steps=100_000, learning_rate=1.0, trajectories=1,
                         checkpoints=30)
    W, loss = ds["weights"].values[0], ds["train_loss"].values[0]
    assert np.all(np.diff(loss) < 0) and loss[-1] < 0.01
    gap = np.linalg.norm(W[1:] / np.linalg.norm(W[1:], axis=1, keepdims=True)
                         - w_hat / np.linalg.norm(w_hat), axis=1)
    steps = ds["step"].values[1:]
    assert np.all(np.diff(gap[steps >= 100]) < 0)  # monotone approach after a transient
    assert gap[-1] < 0.6 * gap[steps >= 100][0]
    assert np.linalg.norm(W[-1]) > 2 * np.linalg.norm(W[steps.searchsorted(1000)])


def test_non_separable_breast_cancer_reaches_the_sklearn_optimum():
    draw = data.make_data("breast_cancer", seed=0, features=2)
    X, y = draw.x_train, draw.y_train
    ref = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
    ref.fit(X, y)
    z = X @ ref.coef_[0]
    ref_loss = np.mean(np.logaddexp(0, z) - y * z)
    smoothness = np.linalg.eigvalsh(X.T @ X / len(y)).max() / 4  # L of the mean loss
    ds = logsim.simulate("breast_cancer", features=2, steps=5000,
                         learning_rate=1.0 / smoothness, trajectories=1)
    assert abs(ds["train_loss"].values[0, -1] - ref_loss) < 1e-6
    np.testing.assert_allclose(ds["weights"].values[0, -1], ref.coef_[0], rtol=1e-5)


def test_label_noise_makes_breast_cancer_converge_to_a_finite_point():
    """With 20% flipped labels the data are not separable: GD reaches the finite optimum."""
    draw = data.make_data("breast_cancer", seed=3, features=5)
    targets, _ = training_targets(draw, 3, noise_rate=0.2)
    X = draw.x_train
    ref = LogisticRegression(C=np.inf, fit_intercept=False, tol=1e-12, max_iter=10_000)
    ref.fit(X, targets.astype(int))
    smoothness = np.linalg.eigvalsh(X.T @ X / len(X)).max() / 4
    ds = logsim.simulate("breast_cancer", features=5, noise_rate=0.2, seed=3, steps=20_000,
                         learning_rate=1.0 / smoothness, trajectories=1,
                         checkpoints=[0, 10_000, 20_000])
    z = X @ ref.coef_[0]
    ref_loss = np.mean(np.logaddexp(0, z) - targets * z)
    loss = ds["train_loss"].values[0]
    assert 0 <= loss[-1] - ref_loss < 1e-6
    # features 0, 2, 3 (radius, perimeter, area) are nearly collinear: the weights move
    # slowly along that valley, but they approach the optimum rather than grow
    W = ds["weights"].values[0]
    assert np.linalg.norm(W[-1] - ref.coef_[0]) < 0.5 * np.linalg.norm(W[-2] - ref.coef_[0])


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(noise_rate=0.5), r"noise_rate must be a number in \[0, 0\.5\), got 0\.5"),
    (dict(noise_rate=-0.1), "noise_rate"),
    (dict(smoothing=1.0), r"smoothing must be a number in \[0, 1\), got 1\.0"),
    (dict(rho_pos=0.6, rho_neg=0.5), "singular"),
    (dict(loss="hingee"), "unknown loss 'hingee'"),
    (dict(method="newton"), "unknown method 'newton'"),
    (dict(learning_rate=0.0), "learning_rate must be a finite number > 0, got 0.0"),
    (dict(method="sgd", batch_size=500), r"batch_size must be an integer in \[1, 200\]"),
    (dict(dimm=3), "dimm"),
    (dict(trajectories=0), "trajectories must be an integer >= 1"),
])
def test_bad_input_is_a_clear_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        logsim.simulate("gaussian", steps=5, **kwargs)


def test_non_finite_data_rejected():
    x = np.ones((10, 2))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        logsim.simulate((x, np.arange(10) % 2), steps=5)


def test_anchor_points_recover_the_flip_rates():
    """Patrini et al. 2017: anchors at the 97th percentile estimate T from noisy labels."""
    draw = data.make_data("gaussian", seed=0, n_train=20_000, dim=2, separation=8.0)
    u = flip_uniforms(0, draw.n_train)
    noisy = noisy_labels(draw.y_train, u, 0.3, 0.1)
    rho_pos, rho_neg = noise.anchor_transition(draw.x_train, noisy)
    assert abs(rho_pos - 0.3) < 0.03 and abs(rho_neg - 0.1) < 0.03
