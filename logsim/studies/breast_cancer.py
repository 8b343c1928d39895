"""Claim 8: breast cancer, malignant or benign: noise, smoothing and calibration.

Every standardised training split of the Wisconsin data is linearly separable, so with
clean labels and no smoothing the logistic loss has no minimiser: gradient descent's
logits grow without bound and its probabilities drift from calibrated to overconfident.
Calibration is judged against what a perfectly calibrated predictor would show on the
same 171 test points (binned ECE is far from 0 on so few points even when calibrated),
per checkpoint, so the drift over training is visible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from logsim.studies.base import Study, Verdict
from logsim.studies.common import (
    band,
    calibrated_ece,
    cell_logits,
    last_decade_growth,
    sigmoid,
    step_axis,
)
from logsim.studies.entropy_floor import min_cross_entropy, training_arrays

#: Share of splits whose ECE must lie within a calibrated predictor's 95 % band.
CALIBRATED_SHARE = 0.75
#: eps > 0: largest growth of the mean test |logit| from step T/10 to T.
BOUND_GROWTH = 1.05
#: eps = 0, clean labels (separable): smallest growth from step T/10 to T.
GROW_MIN = 1.1
#: Draws of the calibrated predictor's outcomes per split and checkpoint.
NULL_DRAWS = 200


def _null_curves(ds, **cell):
    """ECE and a calibrated predictor's 95 % quantile, arrays ``[step, seed]``."""
    from logsim import metrics

    K, S = ds.sizes["step"], ds.sizes["seed"]
    ece = np.full((K, S), np.nan)
    q95 = np.full((K, S), np.nan)
    q50 = np.full((K, S), np.nan)
    for j, seed in enumerate(ds["seed"].values):
        for k in range(K):
            z, y, _ = cell_logits(ds, step=k, seed=seed, **cell)
            if not np.all(np.isfinite(z)):
                continue
            p = sigmoid(z)
            ece[k, j] = metrics.ece(p, y)
            q50[k, j], q95[k, j] = calibrated_ece(p, draws=NULL_DRAWS, seed=int(seed))
    return ece, q50, q95


def _minimiser_norms(ds, **cell):
    """Norm of the loss minimiser (Newton) per split; NaN where there is none."""
    norms = []
    for seed in ds["seed"].values:
        X, t, _ = training_arrays(ds, {**cell, "seed": seed})
        w, _ = min_cross_entropy(X, t)
        norms.append(np.nan if w is None else float(np.linalg.norm(w)))
    return np.array(norms)


def measurements(ds) -> dict:
    """Everything the verdict and the table use.

    ``growth`` (median over splits, ``[noise, eps]``): mean test |logit| at T over that
    near T/10; ``separable`` (``[noise]``): share of splits whose training labels are
    linearly separable; ``best``: checkpoint index of least median test NLL for clean
    labels and eps = 0; ``within_best``/``within_last``: share of splits whose ECE lies
    within a calibrated predictor's 95 % band there and at T; ``nll``, ``ece``,
    ``accuracy``, ``abs_logit``, ``norm`` (final medians ``[noise, eps]``);
    ``minimiser_norm`` (median Newton minimiser norm ``[noise, eps]``, NaN: none);
    ``curves``: ``{eps: (ece, q50, q95)}`` for clean labels.
    """
    last = ds.isel(step=-1)
    order = ("noise_rate", "smoothing", "seed")

    def med(da):
        return da.transpose(*order).median("seed").values

    noise, eps = ds["noise_rate"].values, ds["smoothing"].values
    out = {
        "noise": noise, "eps": eps, "T": int(ds["step"].values[-1]),
        "growth": med(last_decade_growth(ds, "test_mean_abs_logit")),
        "nll": med(last["test_nll"]), "ece": med(last["test_ece"]),
        "accuracy": med(last["test_accuracy"]), "abs_logit": med(last["test_mean_abs_logit"]),
        "confidence": med(last["test_mean_confidence"]), "norm": med(last["weight_norm"]),
        "separable": ds["separable"].sel(smoothing=eps[0]).transpose("noise_rate", "seed")
        .mean("seed").values,
    }
    clean = {"noise_rate": noise[0]}
    nll_curve = ds["test_nll"].sel({**clean, "smoothing": 0.0}).median("seed").values
    out["best"] = int(np.nanargmin(nll_curve))
    out["nll_best"] = float(nll_curve[out["best"]])
    out["step_best"] = int(ds["step"].values[out["best"]])
    out["curves"] = {float(e): _null_curves(ds, noise_rate=noise[0], smoothing=e) for e in eps}
    ece, _, q95 = out["curves"][0.0]
    out["within_best"] = float(np.mean(ece[out["best"]] <= q95[out["best"]]))
    out["within_last"] = float(np.mean(ece[-1] <= q95[-1]))
    out["ece_best"] = float(np.median(ece[out["best"]]))
    out["q95_best"] = float(np.median(q95[out["best"]]))
    out["q95_last"] = float(np.median(q95[-1]))
    out["within_eps"] = {e: float(np.mean(c[0][-1] <= c[2][-1])) for e, c in out["curves"].items()}
    out["minimiser_norm"] = np.array(
        [[np.median(_minimiser_norms(ds, noise_rate=r, smoothing=e)) for e in eps]
         for r in noise])
    return out


def check(ds) -> Verdict:
    if 0.0 not in ds["noise_rate"].values or 0.0 not in ds["smoothing"].values:
        raise ValueError("claim 8 needs the clean cell: noise_rate 0 and smoothing 0")
    m = measurements(ds)
    eps, noise = m["eps"], m["noise"]
    pos = eps > 0
    calibrated = m["within_best"] >= CALIBRATED_SHARE
    bounded = bool(np.all(m["growth"][:, pos] <= BOUND_GROWTH))
    no_minimiser = bool(m["separable"][0] == 1.0 and m["growth"][0, 0] >= GROW_MIN
                        and np.isnan(m["minimiser_norm"][0, 0]))
    noise_txt = ", ".join(f"{r:g}: {m['ece'][i, 0]:.3f}" for i, r in enumerate(noise))
    smooth_txt = ", ".join(f"{e:g}: {m['ece'][0, j]:.3f}/{m['nll'][0, j]:.3f}"
                           for j, e in enumerate(eps))
    within_txt = ", ".join(f"{e:g}: {w:.0%}" for e, w in m["within_eps"].items())
    measured = (
        f"clean labels, eps=0: {m['separable'][0]:.0%} of splits linearly separable, so no "
        f"minimiser: mean test |logit| {m['abs_logit'][0, 0]:.1f} at t={m['T']} and "
        f"growing {m['growth'][0, 0]:.2f}x over the last decade; test NLL {m['nll_best']:.3f} "
        f"at t={m['step_best']} (least) -> {m['nll'][0, 0]:.3f} at t={m['T']}; ECE "
        f"{m['ece_best']:.3f} within a calibrated predictor's 95% band "
        f"({m['q95_best']:.3f}) in {m['within_best']:.0%} of splits at t={m['step_best']}, "
        f"but in {m['within_last']:.0%} at t={m['T']} (band {m['q95_last']:.3f}: "
        f"overconfident); eps>0: |logit| <= {m['abs_logit'][:, pos].max():.1f}, growth <= "
        f"{m['growth'][:, pos].max():.3f}x, though ||w|| still drifts along near-null "
        f"directions of X; final ECE/NLL by eps (clean): {smooth_txt}; final ECE by noise "
        f"rate (eps=0): {noise_txt}; clean ECE within the calibrated band at t={m['T']} by eps: "
        f"{within_txt}; accuracy {m['accuracy'][0, 0]:.3f} (clean, eps=0)"
    )
    return Verdict(
        claim=8,
        measured=measured,
        holds=bool(calibrated and bounded and no_minimiser),
        tolerance=(
            f"holds if, with clean labels and eps=0, the test ECE lies within the 95% band of "
            f"a perfectly calibrated predictor on the same points in >= "
            f"{CALIBRATED_SHARE:.0%} of splits at the checkpoint of least median test NLL "
            f"(chosen on the test set: the best case), every eps > 0 keeps the mean test "
            f"|logit| growing <= {BOUND_GROWTH}x over the last decade of steps, and the "
            f"separable clean splits show no minimiser (|logit| growth >= {GROW_MIN}x); "
            "the loss of calibration at the last step is reported, not required"
        ),
    )


def table(ds) -> str:
    """The numbers behind the verdict, one line per noise rate and eps (medians over splits)."""
    m = measurements(ds)
    lines = [f"after {m['T']} steps (medians over {ds.sizes['seed']} splits)",
             "noise  eps   separable  |logit|  growth  ||w||    minimiser ||w||  confidence  "
             "NLL     ECE     accuracy"]
    for i, r in enumerate(m["noise"]):
        for j, e in enumerate(m["eps"]):
            mn = m["minimiser_norm"][i, j]
            lines.append(
                f"{r:5.2f}  {e:4.2f}  {m['separable'][i]:9.0%}  {m['abs_logit'][i, j]:7.2f}  "
                f"{m['growth'][i, j]:6.3f}  {m['norm'][i, j]:7.2f}  "
                f"{'none' if np.isnan(mn) else f'{mn:.1f}':>15s}  {m['confidence'][i, j]:10.3f}  "
                f"{m['nll'][i, j]:.4f}  {m['ece'][i, j]:.4f}  {m['accuracy'][i, j]:.3f}")
    lines.append(
        f"clean, eps=0: least median test NLL {m['nll_best']:.4f} at step {m['step_best']}; "
        f"ECE within a calibrated predictor's 95% band in {m['within_best']:.0%} of splits "
        f"there, {m['within_last']:.0%} at the last step")
    within = ", ".join(f"eps={e:g}: {w:.0%}" for e, w in m["within_eps"].items())
    lines.append(f"clean labels, last step: ECE within the calibrated band in {within} of splits")
    return "\n".join(lines)


def _colors(values, cmap="plasma"):
    from logsim.plots import pyplot

    c = pyplot().get_cmap(cmap)
    return {float(v): c(0.85 * i / max(len(values) - 1, 1)) for i, v in enumerate(values)}


def _over_steps(ds, out: Path, name: str, m) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    x = step_axis(ds)
    eps = ds["smoothing"].values
    colors = _colors(eps)
    clean = ds.sel(noise_rate=m["noise"][0])
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 8.2), sharex=True, layout="constrained")
    (a_logit, a_nll), (a_ece, a_norm) = axes
    for j, e in enumerate(eps):
        c = colors[float(e)]
        label = f"eps = {e:g}"
        cell = clean.sel(smoothing=e)
        band(a_logit, x, cell["test_mean_abs_logit"].transpose("step", "seed"), color=c,
             label=label)
        band(a_nll, x, cell["test_nll"].transpose("step", "seed"), color=c, label=label)
        band(a_norm, x, cell["weight_norm"].transpose("step", "seed"), color=c, label=label)
        if np.isfinite(m["minimiser_norm"][0, j]):
            a_norm.axhline(m["minimiser_norm"][0, j], color=c, ls=":", lw=1)
        ece, _, q95 = m["curves"][float(e)]
        with np.errstate(all="ignore"):
            lo, med, hi = np.nanpercentile(ece, [25, 50, 75], axis=1)
        a_ece.plot(x, med, color=c, lw=1.5, label=label)
        a_ece.fill_between(x, lo, hi, color=c, alpha=0.18, lw=0)
        a_ece.plot(x, np.nanmedian(q95, axis=1), color=c, lw=1, ls="--")
    a_nll.axvline(m["step_best"], color="k", lw=0.7, ls=":")
    a_nll.annotate(f"least NLL, t = {m['step_best']}", (m["step_best"], m["nll_best"]),
                   textcoords="offset points", xytext=(5, 25), fontsize=8)
    a_logit.set_ylabel("mean |w.x| on the test set [logit]")
    a_logit.set_title("Logits: eps = 0 keeps growing (separable: no minimiser)",
                      fontsize=10)
    a_nll.set_ylabel("test NLL on clean labels [nat]")
    a_nll.set_title("Test NLL: eps = 0 falls, then rises as it grows overconfident",
                    fontsize=10)
    a_ece.set_ylabel("test ECE, 15 bins [probability]")
    a_ece.set_title("ECE (solid) vs a calibrated predictor's 95% band (dashed)", fontsize=10)
    a_norm.set_ylabel("weight norm ||w|| [1]")
    a_norm.set_yscale("log")
    a_norm.set_title("||w||; dotted: the minimiser's norm (Newton), where one exists",
                     fontsize=10)
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.grid(alpha=0.3, which="both")
    for ax in axes[1]:
        ax.set_xlabel("gradient-descent step t (log scale)")
    a_logit.legend(fontsize=8)
    fig.suptitle("Breast cancer, clean training labels: what the missing minimiser does over "
                 "training (median over splits, band = interquartile range)", fontsize=11)
    return save(fig, out, f"{name}-clean-labels-logit-nll-ece-weight-norm-vs-step")


def _final(ds, out: Path, name: str, m) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    eps = ds["smoothing"].values
    colors = _colors(ds["noise_rate"].values, "viridis")
    last = ds.isel(step=-1)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained")
    specs = (("test_ece", "test ECE on clean labels, 15 bins [probability]"),
             ("test_nll", "test NLL on clean labels [nat]"),
             ("test_accuracy", "test accuracy on clean labels [fraction]"))
    for ax, (var, label) in zip(axes, specs, strict=True):
        for r in ds["noise_rate"].values:
            band(ax, eps, last[var].sel(noise_rate=r).transpose("smoothing", "seed"),
                 color=colors[float(r)], marker="o", label=f"label noise {r:g}")
        ax.set_xlabel("label smoothing eps [1] (targets eps/2, 1 − eps/2)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    fig.suptitle(f"Breast cancer after {m['T']} steps, by label noise and smoothing "
                 "(median over splits, band = interquartile range)", fontsize=11)
    return save(fig, out, f"{name}-final-ece-nll-accuracy-vs-smoothing-per-noise-rate")


def _pooled(ds, step, **cell):
    """Reliability curve of ``cell`` at checkpoint ``step``, test points of every split pooled."""
    from logsim import metrics

    p, y = [], []
    for seed in ds["seed"].values:
        z, yy, _ = cell_logits(ds, step=step, seed=seed, **cell)
        p.append(sigmoid(z))
        y.append(yy)
    return metrics.reliability(np.concatenate(p), np.concatenate(y), bins=10)


def _reliability(ds, out: Path, name: str, m) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    noise, eps = m["noise"], m["eps"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), sharey=True, layout="constrained")
    panels = (
        ("clean labels, eps = 0, over training",
         [(f"t = {m['step_best']} (least NLL)", m["best"], {"noise_rate": noise[0],
                                                             "smoothing": 0.0}),
          (f"t = {m['T']}", -1, {"noise_rate": noise[0], "smoothing": 0.0})]),
        (f"clean labels, by smoothing, t = {m['T']}",
         [(f"eps = {e:g}", -1, {"noise_rate": noise[0], "smoothing": e}) for e in eps]),
        (f"eps = 0, by training-label noise, t = {m['T']}",
         [(f"noise {r:g}", -1, {"noise_rate": r, "smoothing": 0.0}) for r in noise]),
    )
    for ax, (title, curves) in zip(axes, panels, strict=True):
        cmap = plt.get_cmap("plasma")
        ax.plot([0, 1], [0, 1], color="k", lw=0.8, label="perfect calibration")
        for i, (label, step, cell) in enumerate(curves):
            r = _pooled(ds, step, **cell)
            keep = r.count > 0
            color = cmap(0.85 * i / max(len(curves) - 1, 1))
            ax.plot(r.mean_confidence[keep], r.frequency[keep], lw=1.2, color=color,
                    label=label)
            ax.scatter(r.mean_confidence[keep], r.frequency[keep], color=color, zorder=3,
                       s=6 + 300 * r.count[keep] / r.count.sum())
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("predicted probability of malignant [bin mean]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    axes[0].set_ylabel("observed frequency of malignant [fraction]")
    fig.suptitle("Reliability on the clean test labels, 10 equal-width bins, test points of "
                 f"all {ds.sizes['seed']} splits pooled (marker area ∝ points in the bin)",
                 fontsize=11)
    return save(fig, out, f"{name}-reliability-diagrams-by-step-smoothing-and-noise")


def figures(ds, out: Path) -> list[Path]:
    name = ds.attrs.get("scenario_name", "breast_cancer")
    m = measurements(ds)
    return _over_steps(ds, out, name, m) + _final(ds, out, name, m) + _reliability(
        ds, out, name, m)


STUDY = Study(
    claim=8,
    title="breast cancer, malignant or benign: noise, smoothing and calibration",
    intro=(
        "The article opens with *is this tumor malignant or benign?* and promises that a "
        "model trained with logistic loss gives probabilities you can trust, that label "
        "smoothing prevents overconfidence, and that noisy labels can be handled. The "
        "scenario `scenarios/breast_cancer.toml` trains logistic regression (with an "
        "intercept) by gradient descent on the Wisconsin diagnostic data (30 standardised "
        "features, 1 = malignant), over ten random 70/30 splits, with symmetric training-"
        "label noise 0, 0.1, 0.2 and label smoothing 0 to 0.3 (claim 3's levels on real "
        "data). Everything is measured on the clean test labels (171 points per split).\n\n"
        "A fact the article does not mention: every standardised training split is "
        "linearly separable. With clean labels and no smoothing the logistic loss then has "
        "no minimiser — its infimum 0 is approached only as ‖w‖ → ∞ — so 'train to "
        "convergence' does not exist, and what the model's probabilities mean depends on "
        "when training stops. Label noise (here) or smoothing makes the minimiser finite.\n\n"
        "On 171 test points a binned ECE is far from 0 even for a perfectly calibrated "
        "model, so each ECE is compared with the ECE a calibrated predictor with the same "
        "probabilities would show (outcomes drawn from those probabilities, 200 draws): "
        "below its 95% quantile, the model is indistinguishable from calibrated."
    ),
    look=(
        "First figure (clean labels): with eps = 0 (darkest) the mean |logit| grows without "
        "end (the asymptotic log t rate, 1/margin per unit of ln t, is steep: the margins "
        "are 0.01 to 0.07, so the curve still bends upwards on the log step axis). The "
        "test NLL is least after a few hundred steps and then rises "
        "as the probabilities run to 0 and 1; the ECE changes little, but the calibrated "
        "predictor's band (dashed) falls below it — early on the model is as calibrated as "
        "the test set can tell, after long training it is detectably overconfident. With "
        "eps > 0 the logits level off. Their ‖w‖ (bottom right) still creeps up: X has "
        "directions with eigenvalue ~1e-4 that barely move the logits and that gradient "
        "descent is too slow to settle; the dotted lines are the minimisers' norms found by "
        "Newton's method.\n\n"
        "Second figure: the final ECE, NLL and accuracy against eps per noise rate. "
        "Smoothing lowers the NLL of the over-trained eps = 0 model but raises the ECE "
        "(the model becomes underconfident); training-label noise makes the probabilities "
        "underconfident against clean labels (ECE rises with the noise rate) — plain "
        "logistic loss does not undo noise by itself (claim 4 corrects for it). Third "
        "figure: reliability diagrams, pooled over splits, at the least-NLL step and the "
        "last step, by smoothing and by noise."
    ),
    numbers=(
        "from logsim.studies.breast_cancer import table\n\n"
        "print(table(ds))"
    ),
    scenario_file="breast_cancer.toml",
    check=check,
    figures=figures,
    small={"grid": {"noise_rate": [0.0, 0.2], "smoothing": [0.0, 0.1], "seed": 4},
           "optimizer": {"steps": 10000},
           "record": {"checkpoints": 20}},
)
