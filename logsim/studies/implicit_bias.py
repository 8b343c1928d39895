"""Claim 7: implicit bias. On separable data, gradient descent on the logistic loss from
w = 0 converges in direction to the hard-margin SVM (Soudry et al., JMLR 2018).

Measured on the asymmetric Soudry toy (16 points in 2-D, w_hat = (0.5, 0.5)):

* the direction gap of logistic (and exponential) GD closes like 1/ln t: gap x ln t
  levels off. Its limit is ln 2 here, derived from Soudry et al.'s Thm. 3: w(t) = w_hat ln t
  + w_tilde + o(1), and on this toy w_tilde has the part -(ln 2 / 2)(1, -1) orthogonal to
  w_hat (see :func:`logsim.data.soudry`), so gap ~ (ln 2 / sqrt 2) / (||w_hat|| ln t) =
  ln 2 / ln t. The approach is slow: the orthogonal part settles only like a small power of
  t, and ||w|| = ||w_hat|| ln t + c carries an offset c (about -1.65 at eta = 0.2), so
  gap x ln t is still rising at 1e7 steps, by less each decade, and passes ln 2 (it returns
  to it from above only much later). The check asks for that: bounded, levelling off;
* the mean loss falls like 1/t and ||w|| grows like ||w_hat|| ln t;
* normalised GD (step eta g / ||g||) reaches GD's final direction thousands of times sooner;
* hinge-loss GD stops (zero gradient) short of the max-margin direction;
* with label noise the data are not separable and the weights converge to a finite point.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from logsim.studies.base import Study, Verdict

LN2 = math.log(2.0)
#: gap x ln t must stay within this factor band around ln 2 at every decade from FIRST_DECADE.
RATE_BAND = (0.5, 1.5)
#: First decade used for the rate (earlier steps are the transient from w = 0).
FIRST_DECADE = 1000
#: gap x ln t levels off: its rise per decade shrinks by at least this factor per decade
#: (geometric mean over the decades). 1/ln t gives about 0.7 here; a constant gap gives 1,
#: a 1/sqrt(ln t) gap about 0.9.
RISE_RATIO = 0.8
#: log-log slope of the mean training loss over the last decade (theory: -1).
LOSS_SLOPE = (-1.1, -0.9)
#: d||w|| / d ln t over the last decade, relative to ||w_hat|| (theory: 1).
NORM_RATE_TOL = 0.05
#: normalised GD must reach GD's final direction gap within this fraction of the run.
NGD_FRACTION = 1e-3
#: hinge GD stops short: its frozen direction gap must be at least this.
HINGE_MIN_GAP = 0.01
#: non-separable data: relative change of w over the last decade at most this.
FINITE_TOL = 1e-6
#: Soudry et al.'s residual r(t) = w(t) - w_hat ln t stays bounded: over the last decade it
#: may move at most this fraction of what w_hat ln t moves (||w_hat|| ln 10).
RESIDUAL_TOL = 0.1

GD_LOSSES = ("logistic", "exponential")


def _sel(ds, **where):
    # ds.sel(method=...) would clash with sel's own ``method`` argument
    return ds.sel(where)


def _decades(ds) -> np.ndarray:
    steps = ds["step"].values
    top = math.floor(math.log10(steps[-1]))
    wanted = [10**k for k in range(int(math.log10(FIRST_DECADE)), top + 1)]
    return np.array([s for s in wanted if s in steps], dtype=np.int64)


def _at(da, step):
    return da.sel(step=step)


def residual(ds, loss="logistic", method="gd"):
    """Soudry et al.'s residual r(t) = w(t) - w_hat ln t of the clean cells, in components.

    Returns ``(steps, along, across)`` for t >= 1, arrays ``(seed, step)``: the component of
    r along w_hat/||w_hat|| and along the unit vector w_hat rotated by -90 degrees (2-D data;
    on the asymmetric Soudry toy its limit is -ln 2 / sqrt 2, derived from Thm. 3).
    """
    c = _sel(ds, noise_rate=0.0, loss=loss, method=method)
    steps = ds["step"].values
    keep = steps >= 1
    W = c["weights"].transpose("seed", "step", "feature").values[:, keep, :]
    w_hat = c["w_hat"].transpose("seed", "feature").values
    unit = w_hat / np.linalg.norm(w_hat, axis=-1, keepdims=True)
    R = W - w_hat[:, None, :] * np.log(steps[keep])[None, :, None]
    along = np.einsum("ksf,kf->ks", R, unit)
    across = np.einsum("ksf,kf->ks", R, np.stack([unit[:, 1], -unit[:, 0]], axis=-1))
    return steps[keep], along, across


def measurements(ds) -> dict:
    """Every number the verdict and the notebook use, from the stored result."""
    steps = ds["step"].values
    T = int(steps[-1])
    T10 = int(steps[np.argmin(np.abs(steps - T / 10))])
    dec = _decades(ds)
    out: dict = {"T": T, "T10": T10, "decades": dec.tolist()}
    clean = _sel(ds, noise_rate=0.0)
    out["separable_clean"] = bool(clean["separable"].all())
    w_hat_norm = float(np.median(1.0 / clean["svm_margin"].values))
    out["w_hat_norm"] = w_hat_norm

    for loss in GD_LOSSES:
        c = _sel(clean, loss=loss, method="gd")
        gap = c["direction_gap"].median("seed")
        gap_ln = np.array([float(gap.sel(step=s)) * math.log(s) for s in dec])
        rises = np.diff(gap_ln)
        if len(rises) >= 2 and rises[0] > 0:
            ratio = (abs(rises[-1]) / rises[0]) ** (1.0 / (len(rises) - 1))
        else:
            ratio = math.nan
        _, along, across = residual(ds, loss)
        i_T, i_10 = -1, int(np.flatnonzero(steps[steps >= 1] == T10)[0])
        moved = float(np.median(np.hypot(along[:, i_T] - along[:, i_10],
                                         across[:, i_T] - across[:, i_10])))
        margin = c["margin_gap"].median("seed")
        loss_med = c["train_loss"].median("seed")
        norm = c["weight_norm"].median("seed")
        out[loss] = {
            "gap": [float(gap.sel(step=s)) for s in dec],
            "gap_ln": gap_ln.tolist(),
            "rises": rises.tolist(),
            "rise_ratio": float(ratio),
            "angle_gap_T": float(c["angle_gap"].median("seed").sel(step=T)),
            "margin_gap": [float(margin.sel(step=s)) for s in dec],
            "gap_decreasing": bool(np.all(np.diff([float(gap.sel(step=s)) for s in dec]) < 0)),
            "margin_decreasing": bool(np.all(np.diff([float(margin.sel(step=s))
                                                      for s in dec]) < 0)),
            "loss_slope": float(np.log(loss_med.sel(step=T) / loss_med.sel(step=T10))
                                / math.log(T / T10)),
            "norm_rate": float((norm.sel(step=T) - norm.sel(step=T10)) / math.log(T / T10)),
            "residual_moved": moved,
            "residual_along_T": float(np.median(along[:, -1])),
            "residual_across_T": float(np.median(across[:, -1])),
        }

    # normalised GD: first checkpoint where its median gap is at most GD's final gap
    gd_final = out["logistic"]["gap"][-1]
    ngd = _sel(clean, loss="logistic", method="normalized_gd")["direction_gap"].median("seed")
    reached = steps[(ngd.values <= gd_final) & (steps > 0)]
    W = _sel(clean, loss="logistic", method="normalized_gd")["weights"].values  # seed, step, f
    moving = np.any(np.diff(W, axis=-2) != 0, axis=(0, -1))
    out["ngd"] = {
        "reach_step": int(reached[0]) if len(reached) else None,
        "gap_T": float(ngd.sel(step=T)),
        "min_gap": float(np.nanmin(ngd.values)),
        "stops_after": int(steps[np.flatnonzero(moving)[-1] + 1]) if moving.any() else 0,
        "norm_T": float(_sel(clean, loss="logistic", method="normalized_gd")["weight_norm"]
                        .median("seed").sel(step=T)),
    }

    h = _sel(clean, loss="hinge", method="gd")
    hw = h["weights"].values
    early = int(np.argmin(np.abs(steps - T / 100)))
    out["hinge"] = {
        "active_T": float(h["active_fraction"].sel(step=T).max()),
        "frozen": bool(np.all(hw[:, early:, :] == hw[:, -1:, :])),
        "gap_T": float(h["direction_gap"].sel(step=T).median()),
        "gap_T_min": float(h["direction_gap"].sel(step=T).min()),
        "margin_gap_T": float(h["margin_gap"].sel(step=T).median()),
        "logistic_gap_T": gd_final,
    }

    noisy = _sel(ds, noise_rate=float(ds["noise_rate"].values.max()))
    out["noisy"] = {"rate": float(ds["noise_rate"].values.max())}
    for loss in GD_LOSSES:
        c = _sel(noisy, loss=loss, method="gd")
        sep = c["separable"].values.astype(bool)
        W = c["weights"].values  # seed, step, feature
        i10 = int(np.flatnonzero(steps == T10)[0])
        change = np.linalg.norm(W[:, -1] - W[:, i10], axis=-1) / np.linalg.norm(W[:, -1], axis=-1)
        out["noisy"][loss] = {
            "n_seeds": int(sep.size),
            "n_nonseparable": int((~sep).sum()),
            "max_change": float(change[~sep].max()) if (~sep).any() else math.nan,
            "norm_T": float(np.median(np.linalg.norm(W[~sep, -1], axis=-1)))
            if (~sep).any() else math.nan,
        }
    return out


def _fmt_list(values, digits=3):
    return ", ".join(f"{v:.{digits}f}" for v in values)


def check(ds) -> Verdict:
    m = measurements(ds)
    T = m["T"]
    lo, hi = RATE_BAND[0] * LN2, RATE_BAND[1] * LN2
    parts, ok = [], m["separable_clean"]
    exps = ", ".join(f"1e{round(math.log10(s))}" for s in m["decades"])
    for loss in GD_LOSSES:
        r = m[loss]
        rate_ok = (all(lo <= v <= hi for v in r["gap_ln"]) and r["rise_ratio"] <= RISE_RATIO
                   and r["gap_decreasing"] and r["margin_decreasing"])
        loss_ok = LOSS_SLOPE[0] <= r["loss_slope"] <= LOSS_SLOPE[1]
        norm_ok = abs(r["norm_rate"] / m["w_hat_norm"] - 1) <= NORM_RATE_TOL
        decade = m["w_hat_norm"] * math.log(T / m["T10"])
        bounded_ok = r["residual_moved"] <= RESIDUAL_TOL * decade
        ok &= rate_ok and loss_ok and norm_ok and bounded_ok
        parts.append(
            f"{loss} GD: direction gap x ln t = {_fmt_list(r['gap_ln'])} at t = {exps} "
            f"(rises shrink x{r['rise_ratio']:.2f}/decade; ln 2 = {LN2:.3f}), gap at "
            f"t = {T:.0e} {r['gap'][-1]:.4f}, margin gap {r['margin_gap'][-1]:.4f}; "
            f"w - w_hat ln t moved {r['residual_moved']:.3f} in the last decade (w_hat ln t: "
            f"{decade:.3f}); loss ~ t^{r['loss_slope']:.3f}; "
            f"d||w||/d ln t = {r['norm_rate']:.4f} vs ||w_hat|| = {m['w_hat_norm']:.4f}"
        )
    n = m["ngd"]
    ngd_ok = n["reach_step"] is not None and n["reach_step"] <= NGD_FRACTION * T
    ok &= ngd_ok
    parts.append(
        f"normalised GD reaches GD's final gap by t = {n['reach_step']} and gets to "
        f"{n['min_gap']:.1e} (stops at t = {n['stops_after']}: ||g||^2 underflows)"
    )
    h = m["hinge"]
    hinge_ok = h["active_T"] == 0.0 and h["frozen"] and h["gap_T"] >= HINGE_MIN_GAP
    ok &= hinge_ok
    parts.append(
        f"hinge GD frozen (active fraction {h['active_T']:.0f}) at gap {h['gap_T']:.4f}, "
        f"margin gap {h['margin_gap_T']:.4f}"
    )
    for loss in GD_LOSSES:
        q = m["noisy"][loss]
        finite_ok = (2 * q["n_nonseparable"] >= q["n_seeds"]
                     and q["max_change"] <= FINITE_TOL)
        ok &= finite_ok
        parts.append(
            f"noise {m['noisy']['rate']:g}, {loss}: {q['n_nonseparable']}/{q['n_seeds']} "
            f"non-separable, w moves {q['max_change']:.1e} (relative) over the last decade, "
            f"||w|| = {q['norm_T']:.3f}"
        )
    return Verdict(
        claim=7,
        measured="; ".join(parts),
        holds=bool(ok),
        tolerance=(
            f"clean data separable; for logistic and exponential GD: w - w_hat ln t moves "
            f"<= {RESIDUAL_TOL:g} x ||w_hat|| ln 10 over the last decade (bounded, Soudry's "
            f"theorem), gap and margin gap fall every decade, gap x ln t within "
            f"[{lo:.2f}, {hi:.2f}] from t = {FIRST_DECADE} and "
            f"its rise per decade shrinking by <= {RISE_RATIO} per decade (levels off: "
            f"O(1/ln t)), loss slope in [{LOSS_SLOPE[0]}, {LOSS_SLOPE[1]}], d||w||/d ln t "
            f"within {NORM_RATE_TOL:.0%} of ||w_hat||; normalised GD reaches GD's final gap "
            f"by t <= {NGD_FRACTION:g} T; hinge frozen with gap >= {HINGE_MIN_GAP}; noisy: "
            f"at least half the seeds non-separable, w moves <= {FINITE_TOL:g} over the last "
            "decade"
        ),
    )


# --------------------------------------------------------------------------- figures

CURVES = (  # (loss, method, label, colour)
    ("logistic", "gd", "logistic, GD", "tab:blue"),
    ("exponential", "gd", "exponential, GD", "tab:orange"),
    ("logistic", "normalized_gd", "logistic, normalised GD", "tab:green"),
    ("hinge", "gd", "hinge, GD", "tab:red"),
)


def quartiles(values: np.ndarray) -> np.ndarray:
    """25th, 50th and 75th percentiles over axis 0, NaN where a column has no finite value
    (``np.nanquantile`` would warn there)."""
    values = np.asarray(values, dtype=float)
    out = np.full((3, *values.shape[1:]), np.nan)
    some = np.any(np.isfinite(values), axis=0)
    if some.any():
        out[:, some] = np.nanquantile(values[:, some], [0.25, 0.5, 0.75], axis=0)
    return out


def _band(ax, x, da, color, label, *, ls="-"):
    """Median line and interquartile band over seeds of ``da`` (dims seed, step)."""
    lo, med, hi = quartiles(np.asarray(da.transpose("seed", ...).values))
    ax.plot(x, med, color=color, lw=1.5, ls=ls, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=0.2, lw=0)


def figures(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    name = ds.attrs.get("scenario_name", "implicit_bias")
    steps = ds["step"].values
    keep = steps > 0
    t = steps[keep]
    lnt = np.log(np.where(t > 1, t, np.nan))
    clean = _sel(ds, noise_rate=0.0).isel(step=np.flatnonzero(keep))
    paths = []

    # 1. the three gaps against t
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    panels = (("direction_gap", "direction gap ‖w/‖w‖ − ŵ/‖ŵ‖‖  [1]"),
              ("angle_gap", "angle between w and ŵ  [rad]"),
              ("margin_gap", "margin gap γ_SVM − γ(w_t)  [1]"))
    for ax, (var, ylabel) in zip(axes, panels, strict=True):
        for loss, method, label, color in CURVES:
            da = _sel(clean, loss=loss, method=method)[var]
            _band(ax, t, da.where(da > 0), color, label)
        if var == "direction_gap":
            late = t >= FIRST_DECADE
            ax.plot(t[late], LN2 / lnt[late], "k--", lw=0.9,
                    label="ln 2 / ln t (asymptote derived for this toy)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("gradient-descent step t (log scale)")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=7)
    fig.suptitle("Separable data, w₀ = 0: the direction approaches the hard-margin SVM "
                 "(median over seeds, band = IQR)")
    paths += save(fig, out, f"{name}-direction-angle-margin-gap-vs-step")

    # 2. gap x ln t levels off; the residual w - w_hat ln t stays bounded
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    for loss, color in (("logistic", "tab:blue"), ("exponential", "tab:orange")):
        da = _sel(clean, loss=loss, method="gd")["direction_gap"]
        _band(left, t, da * np.where(t > 1, np.log(t), np.nan), color, f"{loss}, GD")
        rt, along, across = residual(ds, loss)
        for comp, ls, what in ((along, "-", "along ŵ"), (across, "--", "orthogonal to ŵ")):
            q = quartiles(comp)
            right.plot(rt, q[1], color=color, ls=ls, lw=1.5, label=f"{loss}: {what}")
            right.fill_between(rt, q[0], q[2], color=color, alpha=0.2, lw=0)
    left.axhline(LN2, color="k", ls="--", lw=0.9, label="ln 2 (limit derived for this toy)")
    left.axvspan(t[0], FIRST_DECADE, color="0.9", lw=0, label="transient (not checked)")
    left.set_ylabel("direction gap × ln t  [1]")
    left.set_title("The gap closes like 1/ln t: gap × ln t levels off", fontsize=10)
    right.axhline(-LN2 / np.sqrt(2), color="k", ls=":", lw=0.9,
                  label="orthogonal limit −ln 2/√2 (derived)")
    right.set_ylabel("component of w_t − ŵ ln t  [1]")
    right.set_title("Soudry et al.: w_t − ŵ ln t stays bounded", fontsize=10)
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xlabel("gradient-descent step t (log scale)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    paths += save(fig, out, f"{name}-gap-times-log-t-and-bounded-residual")

    # 3. loss ~ 1/t and ||w|| ~ ||w_hat|| ln t
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    w_hat_norm = float(np.median(1.0 / _sel(ds, noise_rate=0.0)["svm_margin"].values))
    T = steps[-1]
    for loss, color in (("logistic", "tab:blue"), ("exponential", "tab:orange")):
        c = _sel(clean, loss=loss, method="gd")
        _band(left, t, c["train_loss"], color, f"{loss}, GD")
        _band(right, t, c["weight_norm"], color, f"{loss}, GD")
    ref = _sel(clean, loss="logistic", method="gd")["train_loss"].median("seed").values[-1] * T
    left.plot(t, ref / t, "k--", lw=0.9, label="∝ 1/t")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_ylabel("mean training loss  [nat; exponential: 1]")
    left.set_title("Loss falls like 1/t", fontsize=10)
    norm_T = _sel(clean, loss="logistic", method="gd")["weight_norm"].median("seed").values[-1]
    right.plot(t, norm_T + w_hat_norm * (np.log(t) - np.log(T)), "k--", lw=0.9,
               label=f"slope ‖ŵ‖ = {w_hat_norm:.3f} per unit of ln t")
    right.set_xscale("log")
    right.set_ylabel("weight norm ‖w_t‖  [1]")
    right.set_title("‖w‖ grows like ‖ŵ‖ ln t", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("gradient-descent step t (log scale)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    paths += save(fig, out, f"{name}-loss-1-over-t-and-norm-log-t")

    # 4. label noise: not separable, w converges to a finite point
    rate = float(ds["noise_rate"].values.max())
    noisy = _sel(ds, noise_rate=rate).isel(step=np.flatnonzero(keep))
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    for loss, color in (("logistic", "tab:blue"), ("exponential", "tab:orange")):
        _band(left, t, _sel(clean, loss=loss, method="gd")["weight_norm"], color,
              f"{loss}, clean labels (separable)")
        c = _sel(noisy, loss=loss, method="gd")
        nonsep = ~c["separable"].values.astype(bool)
        c = c.isel(seed=np.flatnonzero(nonsep))
        _band(left, t, c["weight_norm"], color, f"{loss}, noise {rate:g} (not separable)",
              ls="--")
        W = c["weights"]
        dist = np.sqrt(((W - W.isel(step=-1)) ** 2).sum("feature"))
        _band(right, t, dist.where(dist > 0), color, f"{loss}, noise {rate:g}")
    left.set_xscale("log")
    left.set_ylabel("weight norm ‖w_t‖  [1]")
    left.set_title("Separable: ‖w‖ → ∞; not separable: ‖w‖ levels off", fontsize=10)
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_ylabel("distance to the final weights ‖w_t − w_T‖  [1]")
    right.set_title("Non-separable data: w converges to a finite point", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("gradient-descent step t (log scale)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3, which="both")
    paths += save(fig, out, f"{name}-nonseparable-weights-converge")
    return paths


STUDY = Study(
    claim=7,
    title="gradient descent on separable data finds the max-margin direction",
    intro=(
        "The article: *initialise the weights at zero and let gradient descent run on "
        "separable data; ‖w‖ grows without bound, but w/‖w‖ converges to the direction of "
        "the hard-margin SVM* (Soudry et al. 2018). The scenario "
        "`scenarios/implicit_bias.toml` runs the asymmetric Soudry toy (16 points in 2-D, "
        "ŵ = (0.5, 0.5)) for 10⁷ steps with the logistic, exponential and hinge losses, "
        "plain and normalised GD, and with 20 % label noise, which makes the data "
        "non-separable.\n\n"
        "The rate is stated in a form that is true on this toy: Soudry et al.'s theorem gives "
        "w(t) = ŵ ln t + w̃ + o(1), and here w̃ has a part −(ln 2/2)(1, −1) orthogonal to ŵ, "
        "so the direction gap behaves like ln 2 / ln t for large t. Because that orthogonal "
        "part settles slowly and ‖w‖ = ‖ŵ‖ ln t + c has an offset c ≈ −1.65 (at η = 0.2), "
        "gap × ln t is not constant at 10⁷ steps: it rises by less every decade and passes "
        "ln 2 near t = 3·10⁶ (it comes back to ln 2 from above only much later). The check "
        "asks for what is true: the residual w − ŵ ln t stays bounded, gap × ln t stays "
        "within a factor 1.5 of ln 2 and levels off, the loss falls like 1/t and "
        "d‖w‖/d ln t = ‖ŵ‖."
    ),
    look=(
        "First figure: all three gaps fall steadily on log axes for the logistic and "
        "exponential losses (the two curves nearly coincide); normalised GD (step η g/‖g‖) "
        "drops like 1/t to 2·10⁻³ within about 10³ steps and then stops, because ‖g‖² "
        "underflows in double precision once the loss is about 10⁻¹⁶²; the hinge loss stops "
        "after a few steps at a fixed gap (its gradient is exactly zero once every margin is "
        "≥ 1). Second: gap × ln t rises by less each decade and levels off near the dashed "
        "ln 2, and the residual w − ŵ ln t settles (its orthogonal part towards the derived "
        "−ln 2/√2). Third: "
        "the loss follows the 1/t line and ‖w‖ the slope ‖ŵ‖ in ln t. Fourth: with label noise "
        "‖w‖ levels off and w_t converges to a finite point."
    ),
    numbers=(
        "from logsim.studies.implicit_bias import measurements\n\n"
        "m = measurements(ds)\n"
        "for loss in ('logistic', 'exponential'):\n"
        "    r = m[loss]\n"
        "    print(loss)\n"
        "    rows = zip(m['decades'], r['gap'], r['gap_ln'], r['margin_gap'], strict=True)\n"
        "    for t, g, gl, mg in rows:\n"
        "        print(f'  t = {t:>9d}: direction gap {g:.4f}, gap x ln t {gl:.4f}, '\n"
        "              f'margin gap {mg:.4f}')\n"
        "    print(f\"  loss ~ t^{r['loss_slope']:.4f}, d||w||/d ln t = {r['norm_rate']:.4f} \"\n"
        "          f\"(||w_hat|| = {m['w_hat_norm']:.4f})\")\n"
        "print('normalised GD:', m['ngd'])\n"
        "print('hinge:', m['hinge'])\n"
        "print('label noise:', m['noisy'])"
    ),
    scenario_file="implicit_bias.toml",
    check=check,
    figures=figures,
    small={
        "grid": {"seed": 3},
        "optimizer": {"steps": 100000},
        "record": {"checkpoints": [
            0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 700, 1000, 1500,
            2000, 3000, 5000, 7000, 10000, 15000, 20000, 30000, 50000, 70000, 100000]},
    },
)
