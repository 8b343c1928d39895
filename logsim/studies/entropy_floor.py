"""Claim 2: with uncertain targets the cross-entropy cannot fall below H(y).

CE(t, p) = H(t) + KL(t || p) >= H(t). Soft targets equal to the true posterior of a
well-specified logistic model can be represented by sigmoid(w.x), so gradient descent
drives the gap KL to 0. Smoothed hard labels (and smoothed soft targets) cannot, so a
positive gap remains: the smallest mean KL any weight vector reaches, computed here by
Newton's method on the stored data and compared with where gradient descent ends.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from logsim import metrics
from logsim.analysis import trim_padding
from logsim.metrics import softplus
from logsim.studies.base import Study, Verdict
from logsim.studies.common import band, sci, step_axis

#: No stored training loss may lie below the entropy floor by more than round-off.
FLOOR_TOL = 1e-9
#: Representable targets: the largest final gap over seeds, in nats.
ZERO_GAP = 1e-6
#: Non-representable targets: the smallest remaining KL (median over seeds), in nats.
POSITIVE_GAP = 1e-3
#: Non-representable targets: |final gap - min_w KL| / min_w KL, largest over seeds.
PLATEAU_TOL = 0.01
#: The gap train_loss - H(y) against mean KL(t || sigmoid(w.x)) computed from the weights.
IDENTITY_TOL = 1e-9


def mean_kl(Z, t):
    """Mean ``KL(t || sigmoid(z))`` over the last axis, from its definition.

    ``t ln(t / p) + (1 - t) ln((1 - t) / (1 - p))`` with ``ln p = -softplus(-z)``,
    ``ln(1 - p) = -softplus(z)`` and ``0 ln 0 = 0``: no cross-entropy and no entropy
    are formed, so this is an independent check of ``train_loss - H(t)``.
    """
    t = np.asarray(t, dtype=float)
    q = 1.0 - t
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(t > 0, t * (np.log(np.where(t > 0, t, 1.0)) + softplus(-Z)), 0.0)
        b = np.where(q > 0, q * (np.log(np.where(q > 0, q, 1.0)) + softplus(Z)), 0.0)
    return np.mean(a + b, axis=-1)


def min_cross_entropy(X, t, *, max_iter: int = 200, tol: float = 1e-13):
    """``argmin_w`` mean cross-entropy of targets ``t`` against ``sigmoid(X w)``, by Newton.

    Returns ``(w, mean_kl)``, or ``(None, nan)`` if there is no minimiser (hard
    labels that are linearly separable, checked with :mod:`logsim.svm`; the weights
    would run off) or Newton does not converge. The
    objective is convex; with targets strictly inside (0, 1) and full-rank ``X`` it is
    strictly convex and coercive, so the minimiser exists and is unique.
    """
    from logsim import svm

    X = np.asarray(X, dtype=float)
    t = np.asarray(t, dtype=float)
    if np.all((t == 0.0) | (t == 1.0)):
        # Hard labels: no minimiser exactly when they are linearly separable (the loss
        # then tends to 0 along the max-margin direction); Newton cannot tell that.
        try:
            svm.max_margin_solution(X, 2.0 * t - 1.0)
        except svm.NotSeparableError:
            pass
        else:
            return None, float("nan")
    w, converged = metrics.logistic_fit(X, t, average=True, tol=tol, max_iter=max_iter,
                                        max_norm=1e6)
    if not converged:
        return None, float("nan")
    return w, float(mean_kl(X @ w, t))


def training_arrays(ds, cell):
    X = ds["x_train"].sel({k: v for k, v in cell.items() if k in ds["x_train"].dims}).values
    t = ds["targets"].sel({k: v for k, v in cell.items() if k in ds["targets"].dims}).values
    feat, X, (t,) = trim_padding(X, t)
    return X, t, feat


def measurements(ds) -> dict:
    """Per (soft, smoothing) cell, over seeds: the floor, the final gap, the best KL.

    Returns ``{"cells": {(soft, eps): {...}}, "below_floor": float, "identity": float}``
    where each cell holds arrays over seeds: ``floor`` (mean H(t)), ``gap`` (final
    ``train_loss - floor``), ``min_kl`` (Newton's ``min_w`` mean KL on the same
    training set; NaN without a minimiser); ``below_floor`` is the smallest
    ``train_loss - floor`` over every cell and step (negative would break the floor)
    and ``identity`` the largest ``|train_loss - floor - mean KL(t || sigmoid(Xw))|``.
    """
    cells = {}
    below = np.inf
    identity = 0.0
    for soft in ds["soft"].values:
        for eps in ds["smoothing"].values:
            rows = {"floor": [], "gap": [], "min_kl": []}
            for seed in ds["seed"].values:
                cell = {"soft": soft, "smoothing": eps, "seed": seed}
                X, t, feat = training_arrays(ds, cell)
                floor = float(ds["entropy_floor"].sel(cell))
                loss = ds["train_loss"].sel(cell).values
                W = ds["weights"].sel(cell).values[:, feat]
                below = min(below, float(np.min(loss - floor)))
                direct = mean_kl(W @ X.T, t)
                identity = max(identity, float(np.max(np.abs(loss - floor - direct))))
                _, best = min_cross_entropy(X, t)
                rows["floor"].append(floor)
                rows["gap"].append(float(loss[-1] - floor))
                rows["min_kl"].append(best)
            cells[(bool(soft), float(eps))] = {k: np.array(v) for k, v in rows.items()}
    return {"cells": cells, "below_floor": below, "identity": identity}


def check(ds) -> Verdict:
    m = measurements(ds)
    T = int(ds["step"].values[-1])
    ok = m["below_floor"] >= -FLOOR_TOL and m["identity"] <= IDENTITY_TOL
    rep, other = [], []
    values: dict = {"T": T, "below_floor": m["below_floor"], "identity": m["identity"],
                    "plateau_rel": 0.0, "soft_smoothed_gap": [], "hard_gap": []}
    for (soft, eps), c in m["cells"].items():
        gap = np.median(c["gap"])
        if soft and eps == 0.0:
            ok &= bool(np.max(c["gap"]) <= ZERO_GAP)
            rep.append(f"soft p: gap {gap:.1e} (max {np.max(c['gap']):.1e})")
            values.update(soft_gap=float(gap), soft_gap_max=float(np.max(c["gap"])))
            continue
        rel = np.abs(c["gap"] - c["min_kl"]) / c["min_kl"]
        values["plateau_rel"] = max(values["plateau_rel"], float(np.nanmax(rel)))
        values["soft_smoothed_gap" if soft else "hard_gap"].append(float(gap))
        ok &= bool(np.all(np.isfinite(rel)) and np.max(rel) <= PLATEAU_TOL
                   and np.median(c["min_kl"]) >= POSITIVE_GAP)
        what = f"soft p, eps={eps:g}" if soft else f"hard, eps={eps:g}"
        other.append(f"{what}: gap {gap:.4f} = min_w KL {np.median(c['min_kl']):.4f} "
                     f"(rel. diff. <= {np.nanmax(rel):.0e})")
    measured = (
        f"after {T} steps, gap train loss - H(y): representable {'; '.join(rep)}; "
        f"not representable: {'; '.join(other)}; lowest train loss - H(y) over all steps "
        f"{m['below_floor']:.1e} nats; gap = mean KL(t || sigmoid(w.x)) to "
        f"{m['identity']:.0e}"
    )
    return Verdict(
        claim=2,
        measured=measured,
        holds=bool(ok),
        tolerance=(
            f"holds if no training loss is below H(y) by more than {FLOOR_TOL:g} nats, the "
            f"gap equals the KL divergence computed from the weights to {IDENTITY_TOL:g}, "
            f"soft targets p (the true posterior) end with gap <= {ZERO_GAP:g} nats in every "
            f"seed, and every other cell ends within {PLATEAU_TOL:.0%} of the smallest KL "
            f"any w reaches (Newton), which is >= {POSITIVE_GAP:g} nats"
        ),
        values=values,
        limits={"floor_tol": FLOOR_TOL, "zero_gap": ZERO_GAP, "positive_gap": POSITIVE_GAP,
                "plateau_tol": PLATEAU_TOL, "identity_tol": IDENTITY_TOL},
    )


def summary(v) -> str:
    soft = v["soft_smoothed_gap"]
    return (
        f"With the true posterior as target the gap to H(y) falls to {sci(v['soft_gap'])} "
        f"nats; with hard or smoothed labels it stops at the KL part, equal to the smallest "
        f"KL any w reaches (Newton) to {sci(v['plateau_rel'])}, and no loss is ever below "
        f"H(y) by more than round-off ({sci(max(0.0, -v['below_floor']))} nats). Smoothed "
        f"*soft* targets also keep a small gap ({min(soft):.3f}–{max(soft):.3f} nats): the "
        f"model cannot represent them."
    )


def table(ds) -> str:
    """The numbers behind the verdict, one line per kind of target (medians over seeds)."""
    m = measurements(ds)
    lines = ["targets                 H(y) [nat]  final gap [nat]  min_w KL [nat]"]
    for (soft, eps), c in m["cells"].items():
        lines.append(f"{_label(soft, eps):22s}  {np.median(c['floor']):.4f}      "
                     f"{np.median(c['gap']):.3e}        {np.median(c['min_kl']):.3e}")
    lines.append(f"lowest train loss - H(y) over all cells and steps: {m['below_floor']:.2e}")
    lines.append(f"largest |gap - mean KL from the weights|: {m['identity']:.1e}")
    return "\n".join(lines)


def _label(soft, eps):
    return (f"soft p, eps={eps:g}" if soft else f"hard labels, eps={eps:g}")


def _colors(ds):
    from logsim.plots import pyplot

    plt = pyplot()
    eps = ds["smoothing"].values
    soft_c = plt.get_cmap("Blues")(np.linspace(0.5, 0.95, len(eps)))
    hard_c = plt.get_cmap("Oranges")(np.linspace(0.5, 0.95, len(eps)))
    return {(bool(s), float(e)): (soft_c if s else hard_c)[i]
            for s in ds["soft"].values for i, e in enumerate(eps)}


def _loss_and_gap(ds, out: Path, name: str, m) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    x = step_axis(ds)
    colors = _colors(ds)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8), layout="constrained")
    for (soft, eps), c in m["cells"].items():
        cell = {"soft": soft, "smoothing": eps}
        color = colors[(soft, eps)]
        ls = "-" if soft else "--"
        band(left, x, ds["train_loss"].sel(cell).transpose("step", "seed"), color=color,
             ls=ls, label=_label(soft, eps))
        left.axhline(np.median(c["floor"]), color=color, lw=0.9, ls=":")
        gap = ds["train_kl_gap"].sel(cell).transpose("step", "seed").clip(min=1e-16)
        band(right, x, gap, color=color, ls=ls, label=_label(soft, eps))
        if np.all(np.isfinite(c["min_kl"])) and not (soft and eps == 0.0):
            right.axhline(np.median(c["min_kl"]), color=color, lw=0.9, ls=":")
    left.set_xscale("log")
    left.set_xlabel("gradient-descent step t (log scale)")
    left.set_ylabel("mean training cross-entropy [nat]")
    left.set_title("Training loss; dotted: its floor H(y) (median over seeds)", fontsize=10)
    fig.legend(*left.get_legend_handles_labels(), loc="outside lower center", ncol=6,
               fontsize=8, frameon=False)  # below the panels: no floor line hidden
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_ylim(1e-16, 2.0)
    right.set_xlabel("gradient-descent step t (log scale)")
    right.set_ylabel("train loss − H(y) = mean KL(y ‖ p̂) [nat]")
    right.set_title("Gap to the floor (drawn at 1e-16 where smaller); dotted: smallest KL "
                    "any w reaches (Newton)", fontsize=10)
    right.grid(alpha=0.3, which="major")
    fig.suptitle("Cross-entropy = H(y) + KL(y ‖ p̂): soft targets p reach the floor, "
                 "smoothed ones stop a KL above it (median, IQR over seeds)", fontsize=11)
    return save(fig, out, f"{name}-training-loss-and-kl-gap-to-entropy-floor-vs-step")


def _decomposition(ds, out: Path, name: str, m) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    colors = _colors(ds)
    keys = list(m["cells"])
    fig, ax = plt.subplots(figsize=(1.1 * len(keys) + 3, 4.4), layout="constrained")
    xs = np.arange(len(keys))
    for i, key in enumerate(keys):
        c = m["cells"][key]
        floor, gap = np.median(c["floor"]), np.median(c["gap"])
        q = np.percentile(c["floor"] + c["gap"], [25, 75])
        ax.bar(i, floor, color="0.75", edgecolor="k", lw=0.5,
               label="entropy floor H(y)" if i == 0 else None)
        ax.bar(i, gap, bottom=floor, color=colors[key], edgecolor="k", lw=0.5,
               label="KL(y ‖ p̂) left after training" if i == 0 else None)
        ax.errorbar(i, floor + gap, yerr=[[floor + gap - q[0]], [q[1] - floor - gap]],
                    color="k", capsize=3, lw=0.8)
        ax.text(i, max(q[1], floor + gap) + 0.005, f"{gap:.3g}", ha="center", va="bottom",
                fontsize=7)
    ax.set_xticks(xs, [_label(*k).replace(", ", "\n") for k in keys], fontsize=8)
    ax.set_ylabel("final mean training cross-entropy [nat]")
    ax.set_title(f"Final training loss = H(y) + KL after {int(ds['step'].values[-1])} steps "
                 "(median over seeds; bar: IQR of the total; number: the KL)", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save(fig, out, f"{name}-final-loss-split-into-entropy-floor-and-kl")


def figures(ds, out: Path) -> list[Path]:
    name = ds.attrs.get("scenario_name", "entropy_floor")
    m = measurements(ds)
    return _loss_and_gap(ds, out, name, m) + _decomposition(ds, out, name, m)


STUDY = Study(
    claim=2,
    title="the cross-entropy cannot fall below the entropy H(y) of the targets",
    intro=(
        "The article: *the minimum possible cross-entropy loss a perfect model can achieve "
        "is the Shannon entropy of the target label itself, H(y)*; with soft or smoothed "
        "targets the loss can never be zero. The identity behind it is CE(y, p̂) = H(y) + "
        "KL(y ‖ p̂) ≥ H(y), with equality only where p̂ = y.\n\n"
        "The scenario `scenarios/entropy_floor.toml` draws data from a well-specified "
        "logistic model (d = 5, ‖w*‖ = 3) and trains logistic regression by full-batch "
        "gradient descent on four kinds of target: the true posterior p = sigmoid(x·w*) "
        "(*soft*, which the model can represent exactly: w = w*), hard labels drawn from "
        "it, and both smoothed with eps = 0.1 and 0.2 (targets t(1 − eps) + eps/2, the "
        "PyTorch/Keras convention: a hard label becomes {eps/2, 1 − eps/2}). Neither "
        "smoothed kind can be represented: smoothed soft targets lie in [eps/2, 1 − eps/2], "
        "which no sigmoid of a linear function of Gaussian x stays in; hard labels differ "
        "from any smooth function of x. For those cells the check computes, by Newton's "
        "method on the stored training set, the smallest mean KL any weight vector reaches "
        "and compares it with where gradient descent ends."
    ),
    look=(
        "Left: the training loss of each kind of target (blue: soft, orange: hard; darker "
        "= more smoothing) and, dotted in the same colour, its floor H(y). Every curve stays "
        "above its floor. Right: the gap to the floor, which is exactly the mean KL "
        "divergence KL(y ‖ p̂), on log–log axes. For soft targets p (lightest blue) it "
        "falls to round-off (1e-16): the floor is reached. Every other curve levels off on "
        "its dotted line, the smallest KL any linear model reaches — that remaining gap is "
        "the KL divergence between targets the model cannot represent and its best "
        "approximation. For smoothed soft targets it is small (about 0.01 nats) but not 0; "
        "for hard labels it is large, because the labels are noisy draws. The bar chart "
        "splits each final loss into the floor (grey) and the KL left (colour)."
    ),
    numbers=(
        "from logsim.studies.entropy_floor import table\n\n"
        "print(table(ds))"
    ),
    headline="Soft targets: the loss cannot fall below H(y)",
    summary=summary,
    scenario_file="entropy_floor.toml",
    check=check,
    figures=figures,
    small={"data": {"n_train": 200, "n_test": 500},
           "grid": {"seed": 3},
           "optimizer": {"steps": 600},
           "record": {"checkpoints": 20}},
)
