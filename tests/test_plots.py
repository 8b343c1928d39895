"""`logsim plot`: every kind on small sweeps, the numbers each figure draws, and its errors.

The figures are captured as they are saved (``logsim.plots.save`` is wrapped), and the
lines, bars and texts on them are compared with medians, pooled bins and counts computed
here with NumPy from the stored variables.
"""

from pathlib import Path

import numpy as np
import pytest
from matplotlib.colors import to_rgb

from logsim import plots
from logsim.cli import main
from logsim.metrics import sigmoid
from logsim.store import open_results

# Separable data (so the gaps to the SVM exist where the labels are clean), two losses,
# two noise rates, two smoothing levels: every generic kind applies.
SWEEP = """\
name = "plots-small"
description = "every generic figure kind"
references = ["Soudry, D., et al. (2018). The Implicit Bias of Gradient Descent."]

[data]
kind = "separable"
n_train = 40
n_test = 300
dim = 3

[grid]
loss = ["logistic", "hinge"]
noise_rate = [0.0, 0.2]
smoothing = [0.0, 0.1]
seed = 3

[optimizer]
learning_rate = 0.5
steps = 300

[record]
checkpoints = 12
"""

# A learning rate the exponential loss overflows at (SGD, so the step axis says so).
DIVERGING = """\
name = "plots-diverging"

[data]
kind = "gaussian"
n_train = 50
n_test = 200
dim = 3

[grid]
loss = ["logistic", "exponential"]
learning_rate = [0.5, 50.0]
seed = 4

[optimizer]
method = "sgd"
batch_size = 5
steps = 300

[record]
checkpoints = 10
"""


def _run(folder: Path, text: str, name: str) -> Path:
    scenario = folder / f"{name}.toml"
    scenario.write_text(text)
    out = folder / f"{name}.nc"
    assert main(["run", str(scenario), "-o", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("plots"), SWEEP, "plots-small")


@pytest.fixture(scope="module")
def diverging(tmp_path_factory):
    return _run(tmp_path_factory.mktemp("plots"), DIVERGING, "plots-diverging")


@pytest.fixture
def figures(monkeypatch):
    """Every figure saved during the test, by file stem (the figure object itself)."""
    saved = {}
    original = plots.save

    def keep(fig, out, stem):
        saved[stem] = fig
        return original(fig, out, stem)

    monkeypatch.setattr(plots, "save", keep)
    return saved


def _median(values, axis):
    """Median over ``axis`` without the NaNs (NaN where every value is NaN)."""
    values = np.moveaxis(np.asarray(values, dtype=float), axis, 0)
    out = np.full(values.shape[1:], np.nan)
    for index in np.ndindex(out.shape):
        column = values[(slice(None), *index)]
        column = column[~np.isnan(column)]
        if column.size:
            out[index] = np.median(column)
    return out


def _lines(ax):
    """The data lines of an axis (not reference lines), as (x, y) arrays."""
    return [(np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float))
            for line in ax.get_lines() if line.get_linestyle() not in ("None", ":")
            and len(line.get_xdata()) > 2]


def _series(ax, n):
    """The drawn series of ``n`` points (not error-bar caps, which have no line)."""
    return [line for line in ax.get_lines()
            if len(line.get_xdata()) == n and line.get_linestyle() != "None"]


def _all_text(fig) -> str:
    parts = [t.get_text() for t in fig.texts]
    if fig._suptitle is not None:
        parts.append(fig._suptitle.get_text())
    return "\n".join(parts)


# --------------------------------------------------------------------- the kinds

def test_every_generic_kind_is_drawn_and_claim_is_skipped_with_its_reason(sweep, tmp_path,
                                                                            figures):
    ds = open_results(sweep)
    done = plots.plot_result(ds, tmp_path)
    stems = {p.stem for p in done.paths}
    assert stems == {
        "plots-small-loss-vs-step",
        "plots-small-test-accuracy-test-nll-vs-noise-rate",
        "plots-small-test-accuracy-test-nll-vs-smoothing",
        "plots-small-test-ece-test-nll-vs-noise-rate",
        "plots-small-test-ece-test-nll-vs-smoothing",
        "plots-small-reliability-diagrams",
        "plots-small-direction-and-margin-gap-vs-step",
    }
    assert all(p.stat().st_size > 0 for p in done.paths)
    assert list(done.skipped) == ["claim"]
    assert "not one of the claims' scenarios" in done.skipped["claim"]
    for stem, fig in figures.items():
        # the legend sits outside the axes, so it can hide no curve
        assert not [ax for ax in fig.axes if ax.get_legend() is not None], stem
        assert fig.legends, stem
        for ax in fig.axes:  # dimensionless quantities carry no "[1]"
            assert "[1]" not in ax.get_xlabel() + ax.get_ylabel(), stem


def test_loss_curves_are_the_medians_over_seeds_one_column_per_loss(sweep, tmp_path, figures):
    ds = open_results(sweep)
    plots.plot_result(ds, tmp_path, kinds=["loss"])
    fig = figures["plots-small-loss-vs-step"]
    axes = np.array(fig.axes).reshape(2, 2)  # rows: train, test loss; columns: the losses
    assert [ax.get_title() for ax in axes[0]] == ["logistic", "hinge"]
    assert axes[0, 0].get_ylabel() == "training loss [nat]"  # cross-entropy
    assert axes[0, 1].get_ylabel() == "training loss"  # hinge: dimensionless
    assert axes[1, 0].get_xlabel() == "gradient-descent step t (log scale)"
    for col, loss in enumerate(["logistic", "hinge"]):
        for row, var in enumerate(["train_loss", "test_loss"]):
            lines = _lines(axes[row, col])
            assert len(lines) == 4  # 2 noise rates x 2 smoothing levels
            k = 0
            for rate in ds["noise_rate"].values:
                for eps in ds["smoothing"].values:
                    cell = ds[var].sel(loss=loss, noise_rate=rate, smoothing=eps)
                    want = _median(cell.transpose("seed", "step").values, axis=0)
                    np.testing.assert_allclose(lines[k][1], want, rtol=1e-12)
                    k += 1


def test_final_puts_every_loss_on_one_axis_with_the_comparable_nll(sweep, tmp_path, figures):
    ds = open_results(sweep)
    plots.plot_result(ds, tmp_path, kinds=["final"])
    fig = figures["plots-small-test-accuracy-test-nll-vs-noise-rate"]
    accuracy, nll = fig.axes[:2]
    assert accuracy.get_ylabel() == "test accuracy"
    assert nll.get_ylabel() == "test cross-entropy of sigmoid(w·x) [nat]"
    lines = _series(nll, 2)
    assert len(lines) == 4  # logistic and hinge, each at two smoothing levels, one axis
    final = ds["test_nll"].isel(step=-1)
    k = 0
    xs = []
    for loss in ("logistic", "hinge"):
        for eps in ds["smoothing"].values:
            want = _median(final.sel(loss=loss, smoothing=eps).transpose("seed",
                                                                         "noise_rate"), 0)
            np.testing.assert_allclose(lines[k].get_ydata(), want, rtol=1e-12)
            xs.append(np.asarray(lines[k].get_xdata()))
            k += 1
    # the four series sit side by side around each noise rate: no error bar on another
    xs = np.array(xs)
    for j, rate in enumerate(ds["noise_rate"].values):
        assert len(set(xs[:, j])) == 4
        assert np.all(np.abs(xs[:, j] - rate) < 0.2 * 0.5)


def test_calibration_draws_ece_and_nll_against_noise_rate_and_smoothing(sweep, tmp_path,
                                                                       figures):
    ds = open_results(sweep)
    plots.plot_result(ds, tmp_path, kinds=["calibration"])
    fig = figures["plots-small-test-ece-test-nll-vs-smoothing"]
    ece = fig.axes[0]
    assert ece.get_xlabel() == "label smoothing ε"
    lines = _series(ece, 2)
    want = _median(ds["test_ece"].isel(step=-1).sel(loss="hinge", noise_rate=0.2)
                   .transpose("seed", "smoothing"), 0)
    np.testing.assert_allclose(lines[3].get_ydata(), want, rtol=1e-12)


def test_reliability_pools_seeds_like_a_naive_binning(sweep):
    ds = open_results(sweep)
    bins = 15
    conf, freq, share = plots.pooled_reliability(ds, {"loss": 1, "noise_rate": 1,
                                                      "smoothing": 0}, bins)
    # naive: every seed's test points together, bins (lo, hi] with 0 in the first
    p, y = [], []
    for seed in ds["seed"].values:
        w = ds["weights"].sel(loss="hinge", noise_rate=0.2, smoothing=0.0, seed=seed)
        X = ds["x_test"].sel(seed=seed).values
        p.append(sigmoid(X @ w.isel(step=-1).values))
        y.append(ds["y_test"].sel(seed=seed).values)
    p, y = np.concatenate(p), np.concatenate(y)
    index = np.clip(np.ceil(p * bins).astype(int) - 1, 0, bins - 1)
    for b in range(bins):
        inside = index == b
        assert share[b] == pytest.approx(inside.mean(), abs=1e-15)
        if inside.any():
            assert conf[b] == pytest.approx(p[inside].mean(), rel=1e-12)
            assert freq[b] == pytest.approx(y[inside].mean(), rel=1e-12)
        else:
            assert np.isnan(conf[b]) and np.isnan(freq[b])


def test_reliability_figure_draws_the_pooled_curves(sweep, tmp_path, figures):
    ds = open_results(sweep)
    plots.plot_result(ds, tmp_path, kinds=["reliability"])
    fig = figures["plots-small-reliability-diagrams"]
    top_hinge = fig.axes[1]  # columns: logistic, hinge; rows: diagram, shares
    assert top_hinge.get_title() == "hinge"
    curves = _series(top_hinge, 15)
    conf, freq, _ = plots.pooled_reliability(ds, {"loss": 1, "noise_rate": 1,
                                                  "smoothing": 0}, 15)
    np.testing.assert_array_equal(curves[2].get_xdata(), conf)
    np.testing.assert_array_equal(curves[2].get_ydata(), freq)
    assert "not meant as a probability" in _all_text(fig)  # hinge's sigmoid(z)


def test_margins_draw_the_gaps_to_the_svm_against_log_t(sweep, tmp_path, figures):
    ds = open_results(sweep)
    plots.plot_result(ds, tmp_path, kinds=["margins"])
    fig = figures["plots-small-direction-and-margin-gap-vs-step"]
    axes = np.array(fig.axes).reshape(2, 2)
    assert axes[0, 0].get_xscale() == "log" and axes[0, 0].get_yscale() == "log"
    clean = ds["direction_gap"].sel(loss="logistic", noise_rate=0.0, smoothing=0.0)
    want = _median(clean.transpose("seed", "step").values, 0)
    drawn = _lines(axes[0, 0])[0][1]
    ok = np.isfinite(want)
    assert ok.sum() > 5
    np.testing.assert_allclose(drawn[ok], np.maximum(want[ok], 1e-12), rtol=1e-12)
    # the gap closes along the run (Soudry et al.): last below first
    assert want[ok][-1] < want[ok][0]


def test_colours_of_one_axis_are_far_apart():
    """Neighbouring values of an ordered axis must be told apart at a glance."""
    import xarray as xr

    for n in (2, 4, 6):
        ds = xr.Dataset(coords={"noise_rate": np.linspace(0, 0.4, n)})
        rgb = np.array([to_rgb(c) for c in plots._colors(ds, "noise_rate")])
        gaps = np.linalg.norm(np.diff(rgb, axis=0), axis=1)
        assert gaps.min() > 0.2, (n, gaps)
    # the old encoding, one viridis shade per combination of 8, fails this check
    viridis = plots.pyplot().get_cmap("viridis")
    old = np.array([to_rgb(viridis(k / 7)) for k in range(8)])
    assert np.linalg.norm(np.diff(old, axis=0), axis=1).min() < 0.2


# --------------------------------------------------------------------- runs left out

def test_diverged_runs_are_masked_and_counted_in_the_figure(diverging, tmp_path, figures):
    ds = open_results(diverging)
    diverged = ds["diverged"].values.astype(bool)
    unstable = ds["unstable"].values.astype(bool) & ~diverged
    n_diverged, n_unstable = int(diverged.sum()), int(unstable.sum())
    assert n_diverged > 0 and np.nanmax(np.abs(ds["train_loss"].values)) > 1e100
    plots.plot_result(ds, tmp_path, kinds=["loss"])
    fig = figures["plots-diverging-loss-vs-step"]
    n_out = n_diverged + n_unstable
    assert f"{n_out} of {diverged.size} runs left out: {n_diverged} diverged" in _all_text(fig)
    if n_unstable:
        assert f"{n_unstable} unstable (loss grew)" in _all_text(fig)
    assert "every seed left out (nothing drawn) at: loss=exponential, learning_rate=50.0" \
        in _all_text(fig)
    for ax in fig.axes:
        assert max(abs(v) for v in ax.get_ylim()) < 1e3
    # negative control: the same figure of the unmasked result is scaled by the overflow
    figures.clear()
    plots.loss_curves(ds, tmp_path / "unmasked")
    fig = figures["plots-diverging-loss-vs-step"]
    assert max(abs(v) for ax in fig.axes for v in ax.get_ylim()) > 1e100


def test_masking_touches_exactly_the_diverged_and_unstable_runs(diverging):
    ds = open_results(diverging)
    masked, note = plots._mask(ds)
    bad = ds["diverged"].values.astype(bool) | ds["unstable"].values.astype(bool)
    assert ds["unstable"].values.any()  # the fixture exercises both kinds
    loss = masked["train_loss"].values
    assert np.isnan(loss[bad]).all()
    np.testing.assert_array_equal(loss[~bad], ds["train_loss"].values[~bad])
    np.testing.assert_array_equal(masked["x_test"].values, ds["x_test"].values)  # data kept
    assert note.startswith(f"{int(bad.sum())} of {bad.size} runs left out")


def test_the_step_axis_of_sgd_runs_says_sgd(diverging, sweep, tmp_path, figures):
    plots.plot_result(open_results(diverging), tmp_path, kinds=["loss"])
    fig = figures["plots-diverging-loss-vs-step"]
    assert fig.axes[-1].get_xlabel() == "SGD step t (mini-batch updates; log scale)"
    assert plots.step_label(open_results(sweep)) == "gradient-descent step t (log scale)"


# --------------------------------------------------------------------- the command line

def test_kind_alone_or_list_prints_one_line_per_kind(capsys):
    for argv in (["plot", "--kind"], ["plot", "some.nc", "--kind"], ["plot", "--kind", "list"]):
        assert main(argv) == 0
        lines = capsys.readouterr().out.splitlines()
        assert [line.split()[0] for line in lines] == list(plots.KINDS)
        assert all(len(line.split()) > 3 for line in lines)


def test_unknown_kind_is_an_error_naming_the_allowed_ones(sweep, capsys):
    assert main(["plot", str(sweep), "--kind", "histogram"]) == 2
    err = capsys.readouterr().err
    assert "unknown figure kind(s) histogram" in err
    assert "claim, loss, final, calibration, reliability, margins" in err


def test_claim_kind_on_a_result_that_is_no_claim_is_an_error(sweep, tmp_path, capsys):
    assert main(["plot", str(sweep), "--kind", "claim", "-o", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "cannot draw --kind claim: scenario 'plots-small' is not one of the claims' " \
        "scenarios" in captured.err
    assert "Kinds this result supports: loss, final, calibration, reliability, margins" \
        in captured.err
    assert not list(tmp_path.iterdir())


def test_kinds_the_result_cannot_support_are_skipped_on_one_stderr_line(diverging, tmp_path,
                                                                        capsys):
    assert main(["plot", str(diverging), "-o", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("logsim plot: skipped claim (")
    assert "calibration (none of noise_rate, smoothing, rho_pos, rho_neg is swept" in lines[0]
    assert "margins (" in lines[0]
    assert "wrote" in captured.out and "reliability" in captured.out
    # asked for by name, the same kind is an error
    assert main(["plot", str(diverging), "--kind", "calibration", "-o", str(tmp_path)]) == 2
    assert "cannot draw --kind calibration" in capsys.readouterr().err


def test_claim_kind_draws_the_studys_figures(tmp_path, figures):
    from logsim.claims import result_for
    from logsim.studies import study_for

    study = study_for("error_signal")
    _, path = result_for(study, full=False, out_dir=tmp_path)
    assert main(["plot", str(path), "--kind", "claim", "-o", str(tmp_path / "f")]) == 0
    assert sorted(figures) == ["error_signal-small-gradient-equals-p-minus-y"]
    assert (tmp_path / "f" / "error_signal-small-gradient-equals-p-minus-y.png").is_file()


def test_runs_flagged_unstable_are_left_out_too(diverging, tmp_path, figures):
    """Where a result stores `unstable` (loss ended far above its start), those runs are
    masked like diverged ones and counted apart."""
    ds = open_results(diverging)
    diverged = ds["diverged"].values
    unstable = diverged.copy()
    grew = (0, 1, 2)  # loss=logistic, learning_rate=50, seed=2: finite, but flagged here
    assert not diverged[grew]
    unstable[grew] = True
    flagged = ds.assign(unstable=(ds["diverged"].dims, unstable))
    masked, note = plots._mask(flagged)
    assert np.isnan(masked["train_loss"].values[grew]).all()
    assert np.isfinite(ds["train_loss"].values[grew]).all()
    n = int(diverged.sum())
    assert note.startswith(f"{n + 1} of {diverged.size} runs left out: {n} diverged (overflow) "
                           "and 1 unstable (loss grew)")
    plots.plot_result(flagged, tmp_path, kinds=["loss"])
    axes = figures["plots-diverging-loss-vs-step"].axes
    median = _lines(axes[0])[1][1]  # logistic, learning rate 50: seeds 0, 1, 3 remain
    cell = ds["train_loss"].sel(loss="logistic", learning_rate=50.0)
    want = _median(cell.isel(seed=[0, 1, 3]).transpose("seed", "step").values, 0)
    np.testing.assert_allclose(median, want, rtol=1e-12)
