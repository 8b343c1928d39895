"""logsim.analysis on real runs, against independent references.

References are written here from the definitions with NumPy and SciPy (``rel_entr``,
``entr``, ``minimize_scalar``), and from :mod:`logsim.svm` called directly on the
stored training arrays; nothing is read back from logsim.analysis to check itself.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy.optimize import minimize_scalar
from scipy.special import entr, expit, logit, rel_entr

import logsim
from logsim import data as datamod
from logsim import metrics, svm
from logsim.analysis import TARGET_LEVEL, VARIABLES, analyse, reliability_table
from logsim.store import content_hash

PER_ROW = [name for name in VARIABLES if name not in TARGET_LEVEL]


def _run(name, data, grid, steps, checkpoints, learning_rate=0.5, labels=None, **kw):
    scen = {
        "name": name,
        "data": data,
        "optimizer": {"learning_rate": learning_rate, "steps": steps},
        "grid": grid,
        "record": {"checkpoints": checkpoints},
    }
    if labels:
        scen["labels"] = labels
    return logsim.run(scen, **kw)


def _cross_entropy(t, z):
    """Mean binary cross-entropy from its definition (SciPy), 0 ln 0 = 0."""
    p = expit(z)
    return -(
        np.where(t > 0, t * np.log(p), 0.0) + np.where(t < 1, (1 - t) * np.log1p(-p), 0.0)
    ).mean(axis=-1)


# ----------------------------------------------------------------------- entropy floors


LOGISTIC_MODEL = {"kind": "logistic_model", "n_train": 100, "n_test": 200, "dim": 3}


def test_soft_targets_reach_the_floor_and_w_star():
    """Soft targets = true posterior: the minimiser is w* itself, with KL = 0 there."""
    ds = _run(
        "soft",
        LOGISTIC_MODEL,
        {"seed": 2},
        steps=3000,
        checkpoints=10,
        learning_rate=2.0,
        labels={"soft": True},
    )
    p = ds["p_train"].values
    np.testing.assert_array_equal(ds["targets"].values, p)
    floor = (entr(p) + entr(1 - p)).mean(axis=-1)  # mean H(p), SciPy
    np.testing.assert_allclose(ds["entropy_floor"].values, floor, rtol=1e-13)
    gap = ds["train_kl_gap"].values
    assert np.all(gap[:, 0] > 0.1)  # w = 0 starts far above the floor
    # Measured: the gap reaches 2e-16 and |w - w*| 1e-15 after 3000 steps.
    assert np.all(np.abs(gap[:, -1]) < 1e-6)
    assert np.all(np.diff(gap, axis=1) <= 1e-15)
    w_err = np.abs(ds["weights"].isel(step=-1).values - ds["w_star"].values).max()
    assert w_err < 1e-9


def test_smoothed_labels_stay_above_the_floor_by_the_reported_kl():
    ds = _run(
        "smooth",
        LOGISTIC_MODEL,
        {"smoothing": [0.0, 0.05, 0.1, 0.2], "seed": 2},
        steps=3000,
        checkpoints=10,
        learning_rate=2.0,
    )
    floors = ds["entropy_floor"]
    assert floors.dims == ("smoothing", "seed")
    np.testing.assert_array_equal(floors.sel(smoothing=0.0).values, 0.0)
    for eps, ref in ((0.05, 0.1169), (0.1, 0.1985), (0.2, 0.3251)):
        np.testing.assert_allclose(floors.sel(smoothing=eps).values, ref, atol=1e-4)
        # per point, min over z of CE(eps/2, sigmoid(z)) is H(eps/2), at z = logit(eps/2)
        t = eps / 2
        opt = minimize_scalar(
            lambda z, t=t: _cross_entropy(np.array([t]), z),
            bounds=(-20, 20),
            method="bounded",
            options={"xatol": 1e-10},
        )
        assert opt.x == pytest.approx(logit(t), abs=1e-5)
        np.testing.assert_allclose(opt.fun, floors.sel(smoothing=eps).values, rtol=1e-9)
    # KL gap = mean KL(y || sigmoid(w.x)), from stored weights and targets with SciPy
    X = ds["x_train"].values  # (seed, n, d)
    T = ds["targets"].values  # (smoothing, seed, n)
    Z = np.einsum("eskd,snd->eskn", ds["weights"].values, X)
    kl = rel_entr(T[:, :, None], expit(Z)) + rel_entr(1 - T[:, :, None], 1 - expit(Z))
    np.testing.assert_allclose(ds["train_kl_gap"].values, kl.mean(axis=-1), atol=1e-12)
    # Bernoulli labels are not separable, so the loss cannot reach the floor: the gap
    # settles at a clearly positive value (about 0.2-0.5 nats here).
    final = ds["train_kl_gap"].isel(step=-1).values
    assert np.all(final > 0.1)
    settled = ds["train_kl_gap"].isel(step=-1) - ds["train_kl_gap"].isel(step=-2)
    assert np.all(np.abs(settled.values) < 1e-6)


# ----------------------------------------------------------------------- calibration


def test_true_calibration_error_close_to_binned_ece_and_binning_bias():
    ds = _run(
        "tce",
        {"kind": "gaussian", "n_train": 50, "n_test": 100_000, "dim": 1},
        {"seed": 3},
        steps=1000,
        checkpoints=[0, 1, 3, 10, 30, 100, 1000],
        learning_rate=1.0,
    )
    tce = ds["test_true_calibration_error"].isel(step=slice(1, None)).values
    ece = ds["test_ece"].isel(step=slice(1, None)).values
    # In one dimension p_true is a monotone function of p_model (w > 0), so TCE is the
    # canonical calibration error that binned ECE estimates; they agree to the binning
    # bias and within-bin averaging (measured: within 0.006 from 0.0007 to 0.2).
    assert np.all(ds["weights"].isel(step=slice(1, None)).values > 0)
    np.testing.assert_allclose(ece, tce, atol=0.01)
    assert tce.max() > 0.15 and tce.min() < 0.002  # a wide range of miscalibration

    # A perfectly calibrated predictor: w = w_star gives p = p_true (b_star = 0).
    perfect = ds.copy()
    perfect["weights"] = (
        ds["w_star"].broadcast_like(ds["weights"]).transpose(*ds["weights"].dims).copy()
    )
    perfect = analyse(perfect)
    tce0 = perfect["test_true_calibration_error"].isel(step=-1).values
    ece0 = perfect["test_ece"].isel(step=-1).values
    assert np.all(tce0 < 1e-12)
    # Binned ECE is still positive: each bin's mean outcome has sampling noise. Its
    # expectation is about sum_m sqrt(2/pi) sqrt(sum_{i in m} p_i (1 - p_i)) / n.
    p = ds["p_test"].values
    bins = np.searchsorted(np.linspace(0, 1, 16)[1:-1], p)
    var = np.stack(
        [np.bincount(b, weights=q * (1 - q), minlength=15) for b, q in zip(bins, p, strict=True)]
    )
    expected = math.sqrt(2 / math.pi) * np.sqrt(var).sum(axis=1) / p.shape[1]
    assert np.all(ece0 > 0.5 * expected) and np.all(ece0 < 2 * expected)
    assert np.all(ece0 > 100 * tce0)


def test_true_calibration_error_counts_more_than_calibration_in_several_dimensions():
    """With d > 1, p_true is not a function of p_model: TCE exceeds binned ECE."""
    ds = _run(
        "tce5",
        {"kind": "gaussian", "n_train": 1000, "n_test": 20_000, "dim": 5},
        {"seed": 3},
        steps=2000,
        checkpoints=[0, 2000],
        learning_rate=1.0,
    )
    tce = ds["test_true_calibration_error"].isel(step=-1).values
    ece = ds["test_ece"].isel(step=-1).values
    assert np.all(tce > ece + 0.005), (tce, ece)


# ----------------------------------------------------------------------- geometry


def test_direction_gap_on_the_asymmetric_soudry_toy():
    ds = _run(
        "soudry",
        {"kind": "soudry", "asymmetric": True, "n_test": 50},
        {"seed": 2},
        steps=100_000,
        checkpoints=12,
        learning_rate=1.0,
    )
    assert ds["separable"].values.all()
    X, y = ds["x_train"].values, ds["clean_labels"].values
    W = ds["weights"].values  # (seed, step, d)
    for s in range(2):
        w_hat = svm.max_margin(X[s], y[s])
        np.testing.assert_allclose(w_hat, datamod.SOUDRY_W_HAT, atol=1e-12)
        np.testing.assert_allclose(ds["w_hat"].values[s], w_hat, rtol=1e-14)
        u = W[s, 1:] / np.linalg.norm(W[s, 1:], axis=1, keepdims=True)
        gap = np.linalg.norm(u - w_hat / np.linalg.norm(w_hat), axis=1)
        np.testing.assert_allclose(ds["direction_gap"].values[s, 1:], gap, rtol=1e-12)
        sign = 2 * y[s] - 1
        margin = (sign * (W[s, 1:] @ X[s].T)).min(axis=1) / np.linalg.norm(W[s, 1:], axis=1)
        np.testing.assert_allclose(ds["normalized_margin"].values[s, 1:], margin, rtol=1e-12)
    gap = ds["direction_gap"].values
    assert np.isnan(gap[:, 0]).all()  # w = 0 has no direction
    assert np.all(np.diff(gap[:, 1:], axis=1) < 0)  # strictly decreasing along t
    assert gap[:, -1].max() < 0.06
    angle = ds["angle_gap"].values[:, 1:]
    np.testing.assert_allclose(angle, 2 * np.arcsin(gap[:, 1:] / 2), rtol=1e-12)
    np.testing.assert_allclose(ds["svm_margin"].values, math.sqrt(2), rtol=1e-14)
    mg = ds["margin_gap"].values[:, 1:]
    np.testing.assert_allclose(mg, math.sqrt(2) - ds["normalized_margin"].values[:, 1:])
    assert np.all(mg > 0) and np.all(np.diff(mg, axis=1) < 0)


def test_hinge_stops_on_separable_data_while_cross_entropy_never_does():
    ds = _run(
        "sep",
        {"kind": "separable", "n_train": 100, "n_test": 2000, "dim": 5},
        {"loss": ["logistic", "hinge"], "smoothing": [0.0, 0.1], "seed": 2},
        steps=10_000,
        checkpoints=12,
    )
    act = ds["active_fraction"]
    np.testing.assert_array_equal(act.sel(loss="logistic").values, 1.0)
    hinge = act.sel(loss="hinge").values
    np.testing.assert_array_equal(hinge[..., 0], 1.0)
    np.testing.assert_array_equal(hinge[..., -1], 0.0)  # every point done
    # direct count of points with non-zero hinge derivative, s = 2t - 1 (0.9 when smoothed)
    X = ds["x_train"].values
    T = ds["targets"].values  # (smoothing, seed, n)
    Z = np.einsum("eskd,snd->eskn", ds["weights"].sel(loss="hinge").values, X)
    s = 2 * T[:, :, None] - 1
    np.testing.assert_array_equal(hinge, (1 - s * Z > 0).mean(axis=-1))
    # smoothing does not change the hard labels, hence one SVM per seed
    assert ds["separable"].values.all()
    np.testing.assert_array_equal(
        ds["w_hat"].sel(smoothing=0.0).values, ds["w_hat"].sel(smoothing=0.1).values
    )
    gap = ds["direction_gap"].sel(loss="logistic", smoothing=0.0).values
    assert np.all(np.diff(gap[:, 1:], axis=1) < 0)
    # hinge stops moving: its direction freezes once no point is active
    frozen = ds["direction_gap"].sel(loss="hinge").values[..., -3:]
    np.testing.assert_allclose(frozen - frozen[..., :1], 0.0, atol=1e-15)
    # sigmoid(z) of hinge is under-confident (|z| ~ 1 at the margin; Platt slope ~2) and
    # so is smoothed logistic; Platt scaling fitted on the first test half fixes both
    last = ds.isel(step=-1)
    for sel in ({"loss": "hinge"}, {"loss": "logistic", "smoothing": 0.1}):
        platt = last["test_ece_platt"].sel(sel).values
        assert np.all(platt < 0.02) and np.all(platt < last["test_ece_unscaled"].sel(sel).values)
    assert np.all(last["platt_slope"].sel(loss="hinge").values > 1.5)


def test_geometry_is_nan_exactly_where_labels_are_not_separable(small):
    ds = small
    sep = ds["separable"]
    assert sep.dims == ("noise_rate", "smoothing", "seed")
    assert not sep.sel(noise_rate=0.2).values.any()  # flipped labels of overlapping classes
    assert sep.sel(noise_rate=0.0).values.any()  # some clean draws happen to be separable
    X, T = ds["x_train"].values, ds["targets"].values  # (seed, n, d), (noise, smooth, seed, n)
    for idx in np.ndindex(sep.shape):
        labels = np.sign(T[idx] - 0.5)
        try:
            w_hat = svm.max_margin(X[idx[-1]], labels)
        except svm.NotSeparableError:
            w_hat = None
        assert sep.values[idx] == (w_hat is not None)
        if w_hat is not None:
            np.testing.assert_allclose(ds["w_hat"].values[idx], w_hat, rtol=1e-13)
        else:
            assert np.isnan(ds["w_hat"].values[idx]).all()
            assert np.isnan(ds["svm_margin"].values[idx])
        for name in ("direction_gap", "angle_gap", "margin_gap"):
            rows = ds[name].values[(slice(None), *idx)][:, 1:]
            assert np.isnan(rows).all() == (w_hat is None), name
    # the normalised margin is defined everywhere (negative: some point misclassified)
    assert np.all(ds["normalized_margin"].sel(noise_rate=0.2).isel(step=-1).values < 0)


# ----------------------------------------------------------------------- datasets


SMALL = """\
name = "small"
description = "quickstart-like sweep for analysis tests"

[data]
kind = "gaussian"
n_train = 40
n_test = 300
dim = 3

[grid]
loss = ["logistic", "hinge"]
noise_rate = [0.0, 0.2]
smoothing = [0.0, 0.1]
seed = 2

[optimizer]
learning_rate = 0.5
steps = 200

[record]
checkpoints = 8
"""


@pytest.fixture(scope="module")
def small_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("analysis")
    (folder / "small.toml").write_text(SMALL)
    out = folder / "small.nc"
    logsim.run(folder / "small.toml", out=out)
    return out


@pytest.fixture(scope="module")
def small(small_file):
    return logsim.open_results(small_file)  # verifies the content hash


def test_stored_results_carry_every_variable_with_units(small):
    ds = small
    grid = ("loss", "noise_rate", "smoothing", "seed")
    for name, attrs in VARIABLES.items():
        assert name in ds, name
        assert ds[name].attrs["long_name"] == attrs["long_name"]
        assert ds[name].attrs["units"] in ("1", "nat", "rad"), name
    for name in PER_ROW:
        assert ds[name].dims == (*grid, "step"), name
    assert ds["entropy_floor"].dims == ds["targets"].dims[:-1]
    assert ds["w_hat"].dims == (*ds["targets"].dims[:-1], "feature")
    assert ds["separable"].dtype == bool
    assert np.isnan(ds["train_kl_gap"].sel(loss="hinge").values).all()
    np.testing.assert_array_equal(
        ds["train_kl_gap"].sel(loss="logistic").values,
        (ds["train_loss"] - ds["entropy_floor"])
        .sel(loss="logistic")
        .transpose(*grid[1:], "step")
        .values,
    )


def test_analyse_is_idempotent_and_keeps_the_stored_hash(small):
    again = analyse(small)
    xr.testing.assert_identical(again, small)
    assert content_hash(again) == small.attrs["content_sha256"]
    stripped = small.drop_vars(list(VARIABLES))
    xr.testing.assert_identical(analyse(stripped), small)


def test_test_set_variables_match_metrics_on_one_cell(small):
    ds = small
    cell = {"loss": "hinge", "noise_rate": 0.2, "smoothing": 0.1, "seed": 1}
    X = ds["x_test"].sel(seed=1).values
    y = ds["y_test"].sel(seed=1).values
    pt = ds["p_test"].sel(seed=1).values
    h = len(y) // 2
    for k, w in enumerate(ds["weights"].sel(cell).values):
        z = X @ w
        p = expit(z)
        got = {name: float(ds[name].sel(cell).isel(step=k)) for name in PER_ROW}
        assert got["test_ece"] == pytest.approx(metrics.ece(p, y), rel=1e-12, abs=1e-15)
        assert got["test_ece_top_label"] == pytest.approx(
            metrics.ece(p, y, kind="top_label"), rel=1e-12, abs=1e-15
        )
        assert got["test_mce"] == pytest.approx(metrics.mce(p, y), rel=1e-12)
        assert got["test_nll"] == pytest.approx(_cross_entropy(y, z), rel=1e-12)
        assert got["test_brier"] == pytest.approx(np.mean((p - y) ** 2), rel=1e-12)
        assert got["test_mean_confidence"] == pytest.approx(np.maximum(p, 1 - p).mean())
        assert got["test_mean_abs_logit"] == pytest.approx(np.abs(z).mean(), rel=1e-12)
        assert got["test_true_calibration_error"] == pytest.approx(np.abs(p - pt).mean())
        a, b = metrics.platt_fit(z[:h], y[:h])  # fitted on the first half only
        assert got["platt_slope"] == pytest.approx(a, rel=1e-8, abs=1e-12)
        assert got["platt_intercept"] == pytest.approx(b, rel=1e-8, abs=1e-12)
        assert got["test_ece_platt"] == pytest.approx(
            metrics.ece(expit(a * z[h:] + b), y[h:]), abs=1e-9
        )
        assert got["test_ece_unscaled"] == pytest.approx(metrics.ece(p[h:], y[h:]), abs=1e-15)
    table = reliability_table(ds, **cell)
    ref = metrics.reliability(expit(X @ ds["weights"].sel(cell).isel(step=-1).values), y)
    np.testing.assert_array_equal(table["count"].values, ref.count)
    np.testing.assert_allclose(table["frequency"].values, ref.frequency, equal_nan=True)
    np.testing.assert_allclose(table["mean_confidence"].values, ref.mean_confidence, equal_nan=True)
    assert int(table["count"].sum()) == len(y)
    assert table.attrs["ece"] == pytest.approx(float(ds["test_ece"].sel(cell).isel(step=-1)))


def test_diverged_rows_are_nan_and_others_unchanged(small):
    broken = small.copy(deep=True)
    w = broken["weights"].values
    w[1, 1, 0, 0, 4:] = np.nan  # hinge, noise 0.2, no smoothing, seed 0, from step 4
    out = analyse(broken)
    for name in PER_ROW:
        row = out[name].values[1, 1, 0, 0]
        assert np.isnan(row[4:]).all(), name
        np.testing.assert_array_equal(row[:4], small[name].values[1, 1, 0, 0, :4])
        np.testing.assert_array_equal(out[name].values[0], small[name].values[0])


def test_padded_data_of_a_swept_dimension():
    ds = _run(
        "pad",
        {"kind": "separable", "n_test": 60},
        {"dim": [2, 3], "n_train": [20, 30], "seed": 2},
        steps=300,
        checkpoints=5,
    )
    assert ds["x_train"].dims == ("dim", "n_train", "seed", "sample", "feature")
    cell = {"dim": 2, "n_train": 20, "seed": 1}
    X = ds["x_train"].sel(cell).values[:20, :2]
    y = ds["clean_labels"].sel(cell).values[:20]
    w_hat = svm.max_margin(X, y)
    np.testing.assert_allclose(ds["w_hat"].sel(cell).values[:2], w_hat, rtol=1e-13)
    assert np.isnan(ds["w_hat"].sel(cell).values[2])
    W = ds["weights"].sel(cell).values[1:, :2]
    u = W / np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(
        ds["direction_gap"].sel(cell).values[1:],
        np.linalg.norm(u - w_hat / np.linalg.norm(w_hat), axis=1),
        rtol=1e-12,
    )
    Xt = ds["x_test"].sel(cell).values[:, :2]
    yt = ds["y_test"].sel(cell).values
    np.testing.assert_allclose(
        ds["test_ece"].sel(cell).values[1:], [metrics.ece(expit(Xt @ w), yt) for w in W], rtol=1e-12
    )


def test_trim_padding_recovers_the_drawn_data_set():
    """A narrower, shorter draw padded with NaN to a sweep's widest shape comes back whole;
    a sample whose label alone is missing is dropped with its row."""
    from logsim.analysis import trim_padding

    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(20, 2)), np.sign(rng.normal(size=20))
    padded_X = np.full((30, 3), np.nan)
    padded_X[:20, :2] = X
    padded_y = np.full(30, np.nan)
    padded_y[:20] = y
    feat, Xt, (yt, none) = trim_padding(padded_X, padded_y, None)
    assert feat.tolist() == [True, True, False] and none is None
    np.testing.assert_array_equal(Xt, X)
    np.testing.assert_array_equal(yt, y)
    padded_y[4] = np.nan
    _, Xt, (yt,) = trim_padding(padded_X, padded_y)
    np.testing.assert_array_equal(Xt, np.delete(X, 4, axis=0))
    np.testing.assert_array_equal(yt, np.delete(y, 4))


def test_simulate_datasets_get_what_their_arrays_allow():
    ds = logsim.simulate(
        "soudry", asymmetric=True, steps=300, trajectories=2, seed=4, learning_rate=1.0
    )
    out = analyse(ds)
    assert set(out.data_vars) - set(ds.data_vars) == {"weight_norm"}
    np.testing.assert_allclose(
        out["weight_norm"].values, np.linalg.norm(ds["weights"].values, axis=-1)
    )
    # with the training arrays added under the documented names, the geometry follows
    draws = [datamod.make_data("soudry", seed=s, asymmetric=True) for s in (4, 5)]
    ds["x_train"] = (("trajectory", "sample", "feature"), np.stack([d.x_train for d in draws]))
    ds["targets"] = (("trajectory", "sample"), np.stack([d.y_train for d in draws]))
    out = analyse(ds)
    np.testing.assert_allclose(out["w_hat"].values, [datamod.SOUDRY_W_HAT] * 2, atol=1e-12)
    assert out["direction_gap"].dims == ("trajectory", "step")
    W = ds["weights"].values[:, 1:]
    u = W / np.linalg.norm(W, axis=-1, keepdims=True)
    np.testing.assert_allclose(
        out["direction_gap"].values[:, 1:],
        np.linalg.norm(u - datamod.SOUDRY_W_HAT / math.sqrt(0.5), axis=-1),
        rtol=1e-10,
    )
    np.testing.assert_array_equal(
        out["train_kl_gap"].values, ds["train_loss"].values - out["entropy_floor"].values[:, None]
    )


def test_bad_datasets_are_refused_clearly():
    with pytest.raises(ValueError, match="needs a logsim result with a 'weights' variable"):
        analyse(xr.Dataset({"train_loss": ("step", [1.0])}))
    ds = logsim.simulate("gaussian", steps=5, trajectories=1, n_train=10, n_test=5, dim=2)
    ds["targets"] = (("trajectory", "sample"), np.zeros((1, 10)))
    ds.attrs.pop("loss")
    with pytest.raises(ValueError, match="cannot tell the loss"):
        analyse(ds)
    assert "train_kl_gap" in analyse(ds, loss="logistic")
    ds["x_train"] = (("other", "sample", "feature"), np.zeros((1, 10, 2)))
    with pytest.raises(ValueError, match="must be grid axes of weights"):
        analyse(ds, loss="logistic")
