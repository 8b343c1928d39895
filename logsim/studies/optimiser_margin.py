"""Claim 9: the optimiser picks the margin.

On separable data with an exponentially tailed loss, an optimiser's weights grow without
bound and their direction turns towards a max-margin separator; which one depends on the
optimiser's geometry (Gunasekar, Lee, Soudry and Srebro, ICML 2018: steepest descent with
respect to a norm turns towards the max-margin direction in that norm). Four parts, each
its own scenario:

1. ``optimiser_margin.toml``: GD, heavy ball and Nesterov turn towards the L2 max-margin
   direction (Soudry et al. 2018; Wang et al. 2022), normalised GD too and much faster
   (Nacson et al. 2019; Ji and Telgarsky 2021), sign descent and Adam without its
   stability constant (with a decaying step: Zhang, Zou and Cao 2024) towards the
   L-infinity one, greedy coordinate descent towards the L1 one (AdaBoost's geometry:
   Rosset, Zhu and Hastie 2004), on 12 points in 2-D whose three directions lie 23.8 and
   12.5 degrees apart.
2. ``optimiser_margin_adam.toml``: Adam's two regimes. With ``eps = 0`` it turns to the
   L-infinity direction; with ``eps > 0`` it follows the ``eps = 0`` path until its
   gradients fall to about ``eps``, where its update becomes a GD step ``eta m / eps``,
   and then turns towards the L2 direction (Wang et al. 2021).
3. ``optimiser_margin_weight_decay.toml``: the L2-regularised solution's direction tends
   to the L2 max-margin direction as the penalty goes to 0 (Rosset, Zhu and Hastie).
4. ``optimiser_margin_large_steps.toml``: GD with a constant step too large for the loss
   to decrease monotonically still converges: a short non-monotone phase, then the loss
   falls like 1/(eta t) (Wu, Bartlett, Telgarsky and Yu, COLT 2024).

The margins are measured against :func:`logsim.svm.max_margin_lps` (HiGHS linear
programmes) and the exact L2 SVM, all stored in the result (``margin_gap``,
``margin_gap_l1``, ``margin_gap_linf`` and their references). A relative gap is the gap
over the optimum of its geometry, ``(g*_p - g_p(w)) / g*_p``.

What the papers prove and what is measured here differ in one respect, stated where it
matters: Gunasekar et al.'s theorem covers steepest descent whose step is bounded (the
update ``eta_t ||g||_* u_t`` with ``eta_t <= 1 / (B^2 L(w_t))``), which moves like GD
(1/log t); logsim's ``sign_gd`` and ``coordinate_descent`` take normalised steps of fixed
length ``eta`` (``eta sign(g)``; ``eta sign(g_j) e_j``), which a regret bound for the
margin game limits only to within O(eta) of the optimum with a constant step (as
shrinkage limits AdaBoost's margin; Telgarsky 2013) and to the optimum with a decaying
one. Both schedules are run and checked; on these data the constant step converges too,
like 1/t.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np

from logsim.studies.base import Study, Verdict
from logsim.studies.common import sci

#: The three geometries, by the suffix of their stored variables.
GEOMETRIES = ("l1", "l2", "linf")
NAMES = {"l1": "L1", "l2": "L2", "linf": "L∞"}
SUBSCRIPT = {"l1": "1", "l2": "2", "linf": "∞"}
GAP = {"l1": "margin_gap_l1", "l2": "margin_gap", "linf": "margin_gap_linf"}
BEST = {"l1": "svm_margin_l1", "l2": "svm_margin", "linf": "svm_margin_linf"}
W_HAT = {"l1": "w_hat_l1", "l2": "w_hat", "linf": "w_hat_linf"}
UNIQUE = {"l1": "w_hat_l1_unique", "linf": "w_hat_linf_unique"}
#: The geometry each optimiser's direction turns to (Adam: without eps).
OWN = {"gd": "l2", "momentum": "l2", "nesterov": "l2", "normalized_gd": "l2",
       "sign_gd": "linf", "coordinate_descent": "l1", "adam": "linf"}
#: (method, schedule) cells of part 1 that the check judges: the step each paper analyses
#: (constant for GD, momentum and normalised GD; decaying for Adam), and both for the
#: normalised steepest descents (their constant step is outside the theorem).
CHECKED = (("gd", "constant"), ("momentum", "constant"), ("nesterov", "constant"),
           ("normalized_gd", "constant"), ("sign_gd", "constant"),
           ("sign_gd", "inverse_sqrt"), ("coordinate_descent", "constant"),
           ("coordinate_descent", "inverse_sqrt"), ("adam", "inverse_sqrt"))
LABELS = {"gd": "GD", "momentum": "heavy ball", "nesterov": "Nesterov",
          "normalized_gd": "normalised GD", "sign_gd": "sign descent",
          "coordinate_descent": "coordinate descent", "adam": "Adam (ε = 0)"}
COLORS = {"gd": "tab:blue", "momentum": "tab:cyan", "nesterov": "tab:purple",
          "normalized_gd": "tab:green", "sign_gd": "tab:red",
          "coordinate_descent": "tab:orange", "adam": "tab:brown"}

#: The data must separate the three max-margin directions by at least this (degrees),
#: and each must be unique, or the test says nothing.
MIN_SEPARATION = 10.0
#: An optimiser picks its geometry's margin when, at the last step: its relative margin
#: gap in its own geometry is the smallest of the three and at most OWN_GAP_MAX, it is
#: still falling (at most FALL_RATIO of its value at T/10: 1/ln t falls by 20 % over a
#: decade near 1e5), and the angle between w and its geometry's max-margin direction is
#: at most ANGLE_FRACTION of the angle from that direction to the nearest other one's.
OWN_GAP_MAX = 0.02
FALL_RATIO = 0.95
ANGLE_FRACTION = 0.25
#: Adam with eps > 0 leaves the eps = 0 path (relative distance DEPART) where the loss of
#: the eps = 0 run is about eps: ln L there within DEPART_BAND nats of ln eps, and the slope
#: of ln L(departure) against ln eps within DEPART_SLOPE.
DEPART = 1e-2
DEPART_BAND = 6.0
DEPART_SLOPE = (0.7, 1.4)
#: Weight decay: the trajectory has converged to w_lambda when it moved at most this
#: (relative) over the last decade of steps.
CONVERGED = 1e-4
#: Large steps: the late loss falls like 1/(eta t): ln(eta T L(T)) agrees across step sizes
#: within LATE_BAND, and the log-log slope of L over the last decade lies in LATE_SLOPE.
#: A monotone loss may rise by at most MONOTONE_TOL (nats) between checkpoints (round-off).
LATE_BAND = 0.5
LATE_SLOPE = (-1.1, -0.9)
MONOTONE_TOL = 1e-12


def _sel(ds, **where):
    """``ds.sel(where)`` over the keys that are dimensions of ``ds`` (ds.sel(method=...)
    would clash with sel's own argument)."""
    return ds.sel({k: v for k, v in where.items() if k in ds.dims})


def _one(da) -> np.ndarray:
    """The value of a data or target-level variable of a scenario with one training set
    (its grid axes, ``seed`` at least, have one distinct value)."""
    trailing = [d for d in da.dims if d in ("sample", "feature")]
    values = np.asarray(da.transpose(..., *trailing).values)
    flat = values.reshape(-1, *values.shape[values.ndim - len(trailing):])
    return flat[0]


def _angle(a, b) -> float:
    """Angle between ``a`` and ``b`` in degrees."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    return math.degrees(math.acos(min(1.0, max(-1.0, cos))))


def references(ds) -> dict:
    """The three max-margin references of the stored training set: margin, direction,
    uniqueness, and the angles between the directions (degrees)."""
    out = {p: {"margin": float(_one(ds[BEST[p]])), "w_hat": _one(ds[W_HAT[p]]),
               "unique": bool(_one(ds[UNIQUE[p]])) if p in UNIQUE else True}
           for p in GEOMETRIES}
    out["separation"] = {p: {q: _angle(out[p]["w_hat"], out[q]["w_hat"])
                             for q in GEOMETRIES if q != p} for p in GEOMETRIES}
    out["direction"] = {p: math.degrees(math.atan2(out[p]["w_hat"][1], out[p]["w_hat"][0]))
                        for p in GEOMETRIES} if _one(ds[W_HAT["l2"]]).shape == (2,) else {}
    return out


def _relative_gaps(cell, refs) -> dict:
    """Relative margin gaps of one trajectory, per geometry, as arrays over steps."""
    return {p: np.asarray(cell[GAP[p]].values, dtype=float).ravel() / refs[p]["margin"]
            for p in GEOMETRIES}


def _weights(cell) -> np.ndarray:
    W = cell["weights"]
    return np.asarray(W.transpose(..., "step", "feature").values).reshape(-1, W.sizes["feature"])


def _index(ds, step) -> int:
    steps = ds["step"].values
    return int(np.argmin(np.abs(np.log(np.maximum(steps, 0.5)) - math.log(max(step, 0.5)))))


def pick(ds, refs, own, **where) -> dict:
    """Whether one trajectory picks the margin of geometry ``own`` (module constants)."""
    cell = _sel(ds, **where)
    gaps = _relative_gaps(cell, refs)
    w = _weights(cell)[-1]
    T = int(ds["step"].values[-1])
    k10 = _index(ds, T / 10)
    others = [p for p in GEOMETRIES if p != own]
    angles = {p: _angle(w, refs[p]["w_hat"]) for p in GEOMETRIES}
    separation = min(refs["separation"][own][p] for p in others)
    out = {"own": own, "gap": {p: float(gaps[p][-1]) for p in GEOMETRIES},
           "own_gap_T10": float(gaps[own][k10]), "angle": angles,
           "angle_fraction": angles[own] / separation}
    out["smallest"] = bool(out["gap"][own] < min(out["gap"][p] for p in others))
    out["falling"] = bool(out["gap"][own] <= FALL_RATIO * out["own_gap_T10"])
    out["holds"] = bool(out["smallest"] and out["falling"] and out["gap"][own] <= OWN_GAP_MAX
                        and out["angle_fraction"] <= ANGLE_FRACTION)
    return out


def _data_part(refs) -> tuple[bool, str, dict]:
    """The data set is a valid test: three unique directions, clearly apart."""
    sep = refs["separation"]
    unique = all(refs[p]["unique"] for p in GEOMETRIES)
    apart = min(sep["l1"]["l2"], sep["l2"]["linf"], sep["l1"]["linf"])
    ok = unique and apart >= MIN_SEPARATION
    where = ("" if not refs["direction"] else " (at " + ", ".join(
        f"{NAMES[p]} {refs['direction'][p]:.1f}°" for p in GEOMETRIES) + ")")
    text = (f"max-margin directions {'unique' if unique else 'NOT unique'}{where}, "
            f"L1-L2 {sep['l1']['l2']:.1f}°, L2-L∞ {sep['l2']['linf']:.1f}°, "
            f"L1-L∞ {sep['l1']['linf']:.1f}° apart; margins L1 {refs['l1']['margin']:.4f}, "
            f"L2 {refs['l2']['margin']:.4f}, L∞ {refs['linf']['margin']:.4f}")
    values = {"separation": {"l1_l2": sep["l1"]["l2"], "l2_linf": sep["l2"]["linf"],
                             "l1_linf": sep["l1"]["linf"]},
              "unique": unique, "margins": {p: refs[p]["margin"] for p in GEOMETRIES},
              "directions": refs["direction"]}
    return ok, text, values


def _pick_text(name, m) -> str:
    own = m["own"]
    others = ", ".join(f"{NAMES[p]} {m['gap'][p]:.2g}" for p in GEOMETRIES if p != own)
    return (f"{name}: {NAMES[own]} gap {m['gap'][own]:.2g} (T/10: {m['own_gap_T10']:.2g}; "
            f"others {others}), {m['angle'][own]:.2f}° from the {NAMES[own]} direction "
            f"({m['angle_fraction']:.2f} of the way to the next)")


def _pick_values(m) -> dict:
    return {"own": m["own"], "gap": m["gap"], "own_gap_T10": m["own_gap_T10"],
            "angle": m["angle"][m["own"]], "angle_fraction": m["angle_fraction"],
            "holds": m["holds"]}


_PICK_TOLERANCE = (
    f"its relative margin gap in its own geometry at the last step is the smallest of the "
    f"three, at most {OWN_GAP_MAX:g} and at most {FALL_RATIO:g} of its value at T/10, and "
    f"w is within {ANGLE_FRACTION:g} of the angle from its geometry's max-margin direction "
    f"to the nearest other one"
)


# --------------------------------------------------------------------------- part 1


def measurements(ds) -> dict:
    """Part 1: every checked optimiser's margins in the three geometries."""
    refs = references(ds)
    out = {"T": int(ds["step"].values[-1]), "refs": refs, "cells": {}}
    for method, schedule in CHECKED:
        if method in ds["method"].values and schedule in ds["schedule"].values:
            out["cells"][f"{method}/{schedule}"] = pick(ds, refs, OWN[method], method=method,
                                                        schedule=schedule)
    return out


def check(ds) -> Verdict:
    """Claim 9, part 1: each optimiser's direction turns to its own geometry's."""
    m = measurements(ds)
    ok, data_text, data_values = _data_part(m["refs"])
    parts = [data_text]
    values = {"T": m["T"], **data_values, "cells": {}}
    missing = [f"{a}/{b}" for a, b in CHECKED if f"{a}/{b}" not in m["cells"]]
    if missing:
        ok = False
        parts.append(f"cells missing from the result: {', '.join(missing)}")
    for key, cell in m["cells"].items():
        method, schedule = key.split("/")
        ok &= cell["holds"]
        parts.append(_pick_text(f"{LABELS[method]} ({schedule})", cell)
                     + ("" if cell["holds"] else " [fails]"))
        values["cells"][key] = _pick_values(cell)
    return Verdict(
        claim=9,
        measured=f"after {m['T']:.0e} steps: " + "; ".join(parts),
        holds=bool(ok),
        tolerance=(f"the three max-margin directions unique and at least {MIN_SEPARATION:g}° "
                   f"apart; for each optimiser ({', '.join(f'{a} {b}' for a, b in CHECKED)}): "
                   + _PICK_TOLERANCE),
        values=values,
        limits={"min_separation": MIN_SEPARATION, "own_gap_max": OWN_GAP_MAX,
                "fall_ratio": FALL_RATIO, "angle_fraction": ANGLE_FRACTION},
    )


def _power(t: int) -> str:
    return f"10{''.join('⁰¹²³⁴⁵⁶⁷⁸⁹'[int(c)] for c in str(round(math.log10(t))))}"


def summary(v) -> str:
    cells, sep = v["cells"], v["separation"]

    def gap(key):
        return sci(cells[key]["gap"][cells[key]["own"]], 0)

    l2 = ", ".join(gap(f"{m}/constant") for m in ("gd", "momentum", "nesterov"))
    worst = max(min(c["gap"][p] for p in GEOMETRIES if p != c["own"]) for c in cells.values())
    best_other = min(min(c["gap"][p] for p in GEOMETRIES if p != c["own"])
                     for c in cells.values())
    return (
        f"On 12 points in 2-D whose L1, L2 and L∞ max-margin directions lie "
        f"{sep['l1_l2']:.1f}° and {sep['l2_linf']:.1f}° apart, after {_power(v['T'])} steps "
        f"each optimiser's normalised margin is nearest the optimum of its own geometry "
        f"(relative gap): GD, heavy ball and Nesterov L2 ({l2}; slowly, like 1/ln t), "
        f"normalised GD L2 ({gap('normalized_gd/constant')}), sign descent L∞ "
        f"({gap('sign_gd/constant')}), coordinate descent L1 "
        f"({gap('coordinate_descent/constant')}), Adam without ε L∞ "
        f"({gap('adam/inverse_sqrt')}, with a decaying step); in the other two geometries "
        f"they stay {100 * best_other:.1f}–{100 * worst:.0f} % short."
    )


# --------------------------------------------------------------------------- part 2: Adam


def _departure(ds, eps, schedule) -> dict | None:
    """Where the run with ``eps`` leaves the ``eps = 0`` run of the same schedule: the
    first checkpoint at which they are DEPART apart (relative), and the eps = 0 run's
    ln L there."""
    base = _sel(ds, eps=0.0, schedule=schedule)
    W0, W = _weights(base), _weights(_sel(ds, eps=eps, schedule=schedule))
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.linalg.norm(W - W0, axis=1) / np.linalg.norm(W0, axis=1)
    apart = np.flatnonzero(rel > DEPART)
    if not apart.size:
        return None
    k = int(apart[0])
    log_loss = np.asarray(base["log_train_loss"].values, dtype=float).ravel()
    return {"step": int(ds["step"].values[k]), "log_loss": float(log_loss[k])}


def adam_measurements(ds) -> dict:
    """Part 2: Adam without eps against its L-infinity reference, and with each eps > 0:
    where it leaves the eps = 0 path and where it ends."""
    refs = references(ds)
    T = int(ds["step"].values[-1])
    k10 = _index(ds, T / 10)
    out = {"T": T, "refs": refs, "eps0": {}, "eps": {}}
    for schedule in ds["schedule"].values.tolist():
        out["eps0"][schedule] = pick(ds, refs, "linf", eps=0.0, schedule=schedule)
        for eps in ds["eps"].values.tolist():
            if eps == 0.0:
                continue
            gaps = _relative_gaps(_sel(ds, eps=eps, schedule=schedule), refs)
            out["eps"][f"{eps:g}/{schedule}"] = {
                "eps": eps, "schedule": schedule,
                "gap": {p: float(gaps[p][-1]) for p in GEOMETRIES},
                "gap_T10": {p: float(gaps[p][k10]) for p in GEOMETRIES},
                "departure": _departure(ds, eps, schedule),
            }
    return out


def _slope(points) -> float:
    if len(points) < 2:
        return math.nan
    x, y = np.array(points).T
    return float(np.polyfit(x, y, 1)[0])


def check_adam(ds) -> Verdict:
    """Claim 9, part 2: Adam's two regimes over eps."""
    m = adam_measurements(ds)
    ok, data_text, data_values = _data_part(m["refs"])
    parts = [data_text]
    values: dict = {"T": m["T"], **data_values, "eps0": {}, "eps": {}, "departure": {}}
    zero = m["eps0"].get("inverse_sqrt")
    if zero is None:
        ok = False
        parts.append("no eps = 0 run with the inverse_sqrt schedule")
    else:
        ok &= zero["holds"]
        parts.append(_pick_text("eps = 0, inverse_sqrt", zero))
        values["eps0"] = _pick_values(zero)
    if "constant" in m["eps0"]:
        c = m["eps0"]["constant"]
        gaps = _relative_gaps(_sel(ds, eps=0.0, schedule="constant"), m["refs"])
        parts.append(f"(eps = 0 with a constant step, not judged: L∞ gap {c['gap']['linf']:.2g},"
                     f" L2 gap {gaps['l2'][_index(ds, m['T'] / 10)]:.2g} -> "
                     f"{c['gap']['l2']:.2g})")
    turned = []
    for key, e in m["eps"].items():
        if e["schedule"] != "constant":
            continue
        g, g10 = e["gap"], e["gap_T10"]
        e_ok = g["l2"] < g["linf"] and g["l2"] <= FALL_RATIO * g10["l2"]
        ok &= e_ok
        turned.append(f"eps {e['eps']:g}: L2 gap {g10['l2']:.2g} -> {g['l2']:.2g}, L∞ gap "
                      f"{g10['linf']:.2g} -> {g['linf']:.2g}" + ("" if e_ok else " [fails]"))
        values["eps"][key] = {"gap": g, "gap_T10": g10, "holds": bool(e_ok)}
    if not turned:
        ok = False
    parts.append("eps > 0, constant step, from T/10 to T: " + "; ".join(turned))
    for schedule in ("constant", "inverse_sqrt"):
        points, texts = [], []
        for e in m["eps"].values():
            d = e["departure"]
            if e["schedule"] != schedule or d is None or d["step"] <= 1:
                continue  # eps comparable with the first gradients: apart from the start
            off = d["log_loss"] - math.log(e["eps"])
            points.append((math.log(e["eps"]), d["log_loss"]))
            texts.append(f"eps {e['eps']:g} at t = {d['step']} (ln L {d['log_loss']:.1f}, "
                         f"ln eps {math.log(e['eps']):.1f})")
            ok &= abs(off) <= DEPART_BAND
        slope = _slope(points)
        ok &= len(points) >= 2 and DEPART_SLOPE[0] <= slope <= DEPART_SLOPE[1]
        parts.append(f"{schedule}: leaves the eps = 0 path " + "; ".join(texts)
                     + f"; slope of ln L against ln eps {slope:.2f}")
        values["departure"][schedule] = {"points": points, "slope": slope}
    return Verdict(
        claim=9,
        measured=f"Adam after {m['T']:.0e} steps: " + "; ".join(parts),
        holds=bool(ok),
        tolerance=(
            "eps = 0 with the inverse_sqrt step: " + _PICK_TOLERANCE + "; every eps > 0 with "
            f"a constant step ends with its relative L2 gap below its L∞ gap and at most "
            f"{FALL_RATIO:g} of its value at T/10 (turned towards L2); "
            f"each run with eps > 0 leaves the eps = 0 path ({DEPART:g} apart) where the "
            f"eps = 0 run's ln L is within {DEPART_BAND:g} nats of ln eps, and ln L there "
            f"against ln eps has a slope in [{DEPART_SLOPE[0]}, {DEPART_SLOPE[1]}] (both "
            "schedules; runs apart from the first step are not counted)"),
        values=values,
        limits={"own_gap_max": OWN_GAP_MAX, "fall_ratio": FALL_RATIO,
                "angle_fraction": ANGLE_FRACTION, "depart": DEPART, "depart_band": DEPART_BAND,
                "depart_slope": list(DEPART_SLOPE)},
    )


def summary_adam(v) -> str:
    z = v["eps0"]
    gaps = [c["gap"] for c in v["eps"].values()]
    eps = sorted(float(k.split("/")[0]) for k in v["eps"])
    dep = v["departure"]["constant"]
    lo = min(g["l2"] for g in gaps)
    hi = max(g["l2"] for g in gaps)
    return (
        f"Adam without ε (decaying step) ends {z['angle']:.2f}° from the L∞ direction (L∞ gap "
        f"{sci(z['gap']['linf'], 0)}, L2 gap {sci(z['gap']['l2'], 0)}); with ε > 0 it follows "
        f"the same path until its loss falls to about ε (ln L against ln ε: slope "
        f"{dep['slope']:.2f}), then its update is a GD step and it turns to L2: at "
        f"{_power(v['T'])} steps every ε from {eps[0]:g} to {eps[-1]:g} ends with an L2 gap of "
        f"{sci(lo, 0)}–{sci(hi, 0)}, below its L∞ gap."
    )


# --------------------------------------------------------------------------- part 3: decay


def decay_measurements(ds) -> dict:
    """Part 3: the converged regularised solution of every weight decay."""
    refs = references(ds)
    steps = ds["step"].values
    T = int(steps[-1])
    k10 = _index(ds, T / 10)
    out = {"T": T, "refs": refs, "decay": {}}
    for lam in sorted(ds["weight_decay"].values.tolist(), reverse=True):
        cell = _sel(ds, weight_decay=lam)
        W = _weights(cell)
        gaps = _relative_gaps(cell, refs)
        out["decay"][f"{lam:g}"] = {
            "lambda": lam,
            "moved": float(np.linalg.norm(W[-1] - W[k10]) / np.linalg.norm(W[-1])),
            "gap": {p: float(gaps[p][-1]) for p in GEOMETRIES},
            "angle": {p: _angle(W[-1], refs[p]["w_hat"]) for p in GEOMETRIES},
            "norm": float(np.linalg.norm(W[-1])),
        }
    return out


def check_decay(ds) -> Verdict:
    """Claim 9, part 3: the L2-regularised direction tends to the L2 max margin."""
    m = decay_measurements(ds)
    ok, data_text, data_values = _data_part(m["refs"])
    decays = list(m["decay"].values())
    parts = [data_text]
    for d in decays:
        ok &= d["moved"] <= CONVERGED
        parts.append(f"lambda {d['lambda']:g}: moved {d['moved']:.1e} over the last decade, "
                     f"||w|| {d['norm']:.3f}, L2 gap {d['gap']['l2']:.2g}, "
                     f"{d['angle']['l2']:.3f}° from the L2 direction")
    falling = all(b["gap"]["l2"] < a["gap"]["l2"] for a, b in itertools.pairwise(decays))
    last = decays[-1]
    sep = min(m["refs"]["separation"]["l2"].values())
    close = last["angle"]["l2"] <= ANGLE_FRACTION * sep and last["angle"]["l2"] == min(
        last["angle"].values())
    ok &= len(decays) >= 2 and falling and close
    return Verdict(
        claim=9,
        measured="GD with weight decay: " + "; ".join(parts),
        holds=bool(ok),
        tolerance=(f"every trajectory converged (moved <= {CONVERGED:g} relative over the "
                   "last decade); the relative L2 margin gap of w_lambda falls at every "
                   "smaller lambda; at the smallest lambda w is nearest the L2 direction, within "
                   f"{ANGLE_FRACTION:g} of the angle to the nearest other direction"),
        values={"T": m["T"], **data_values,
                "decay": {k: {"moved": d["moved"], "gap_l2": d["gap"]["l2"],
                              "angle_l2": d["angle"]["l2"], "norm": d["norm"]}
                          for k, d in m["decay"].items()}},
        limits={"converged": CONVERGED, "angle_fraction": ANGLE_FRACTION},
    )


def summary_decay(v) -> str:
    d = v["decay"]
    keys = list(d)
    return (
        f"With weight decay λ = {', '.join(keys)} GD converges to the regularised solution, "
        f"whose L2 margin gap falls {' → '.join(sci(d[k]['gap_l2'], 1) for k in keys)} and "
        f"which ends {d[keys[-1]]['angle_l2']:.2f}° from the L2 direction as λ → 0."
    )


# --------------------------------------------------------------------------- part 4: steps


def smoothness(ds) -> float:
    """beta = lambda_max(Z^T Z / n) / 4, the smoothness of the mean logistic loss (its
    second derivative is at most 1/4); GD decreases it at every step below 2 / beta."""
    X = _one(ds["x_train"])
    X = X[np.all(np.isfinite(X), axis=1)]
    return float(np.linalg.eigvalsh(X.T @ X / len(X)).max() / 4.0)


def steps_measurements(ds) -> dict:
    """Part 4: the loss of each step size: monotone or not, the early phase, the late
    rate (from ``log_train_loss``: long runs)."""
    steps = ds["step"].values
    T = int(steps[-1])
    k10 = _index(ds, T / 10)
    beta = smoothness(ds)
    out = {"T": T, "beta": beta, "stable_below": 2.0 / beta, "steps": {}}
    for eta in ds["learning_rate"].values.tolist():
        log_loss = np.asarray(_sel(ds, learning_rate=eta)["log_train_loss"].values,
                              dtype=float).ravel()
        rises = np.flatnonzero(np.diff(log_loss) > MONOTONE_TOL)
        out["steps"][f"{eta:g}"] = {
            "eta": eta,
            "rises": int(rises.size),
            "last_rise": int(steps[rises[-1] + 1]) if rises.size else 0,
            "peak": float(log_loss.max()),
            "start": float(log_loss[0]),
            "late": float(log_loss[-1] + math.log(eta * T)),  # ln(eta T L(T))
            "slope": float((log_loss[-1] - log_loss[k10]) / math.log(T / steps[k10])),
        }
    return out


def check_steps(ds) -> Verdict:
    """Claim 9, part 4: large constant steps (Wu et al. 2024)."""
    m = steps_measurements(ds)
    ok, parts, late = True, [], []
    big = [s for s in m["steps"].values() if s["eta"] > m["stable_below"]]
    small = [s for s in m["steps"].values() if s["eta"] <= m["stable_below"]]
    ok &= bool(big) and bool(small)
    for s in m["steps"].values():
        stable = s["eta"] <= m["stable_below"]
        if stable:
            s_ok = s["rises"] == 0
        else:
            s_ok = s["rises"] > 0 and s["peak"] > s["start"] and s["last_rise"] <= s["eta"]
        s_ok &= LATE_SLOPE[0] <= s["slope"] <= LATE_SLOPE[1]
        ok &= s_ok
        late.append(s["late"])
        parts.append(
            f"eta {s['eta']:g} ({'stable' if stable else 'large'}): "
            + (f"{s['rises']} rises, the last at t = {s['last_rise']}, ln L up to "
               f"{s['peak']:.2f} from {s['start']:.3f}" if s["rises"] else "monotone")
            + f"; loss ~ t^{s['slope']:.3f} over the last decade, ln(eta T L) = "
              f"{s['late']:.3f}" + ("" if s_ok else " [fails]"))
    spread = max(late) - min(late)
    ok &= spread <= LATE_BAND
    return Verdict(
        claim=9,
        measured=(f"GD, logistic loss, 2/beta = {m['stable_below']:.2f}: " + "; ".join(parts)
                  + f"; ln(eta T L(T)) spread {spread:.3f} across eta"),
        holds=bool(ok),
        tolerance=(f"steps below 2/beta decrease the loss at every checkpoint (rises <= "
                   f"{MONOTONE_TOL:g} nats); larger steps raise it above its start, with the "
                   "last rise by t <= eta (the non-monotone phase lasts O(eta) steps); every "
                   f"step's loss falls like t^s with s in [{LATE_SLOPE[0]}, {LATE_SLOPE[1]}] over "
                   f"the last decade, and ln(eta T L(T)) agrees across step sizes within "
                   f"{LATE_BAND:g} (L = O(1/(eta t)))"),
        values={"T": m["T"], "stable_below": m["stable_below"], "late_spread": spread,
                "steps": {k: {kk: s[kk] for kk in ("rises", "last_rise", "peak", "late",
                                                    "slope")}
                          for k, s in m["steps"].items()}},
        limits={"monotone_tol": MONOTONE_TOL, "late_band": LATE_BAND,
                "late_slope": list(LATE_SLOPE)},
    )


def summary_steps(v) -> str:
    s = v["steps"]
    big = [k for k in s if float(k) > v["stable_below"]]
    lates = [s[k]["late"] for k in s]
    return (
        f"GD with constant steps {', '.join(s)} (2/β = {v['stable_below']:.1f}): the steps "
        f"above 2/β raise the loss (ln L up to {max(s[k]['peak'] for k in big):.1f}) for "
        f"{max(s[k]['last_rise'] for k in big)} steps at most, then every loss falls like "
        f"1/(ηt): η T L(T) = e^{min(lates):.2f}…e^{max(lates):.2f} at T = {_power(v['T'])}."
    )


# --------------------------------------------------------------------------- figures


def _steps_axis(ds):
    steps = ds["step"].values.astype(float)
    keep = steps > 0
    return np.flatnonzero(keep), steps[keep]


def _finish(ax, ylabel, *, logy=True, legend=True):
    ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("step t (log scale)")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    if legend:
        ax.legend(fontsize=7)


def _gap_panels(ax_by_p, ds, refs, cells, t, keep):
    for (method, schedule), label, color, ls in cells:
        cell = _sel(ds, method=method, schedule=schedule)
        gaps = _relative_gaps(cell, refs)
        for p, ax in ax_by_p.items():
            g = gaps[p][keep]
            ax.plot(t, np.where(g > 0, g, np.nan), color=color, ls=ls, lw=1.4, label=label)


def figures(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    name = ds.attrs.get("scenario_name", "optimiser_margin")
    refs = references(ds)
    keep, t = _steps_axis(ds)
    paths = []
    methods = [m for m in OWN if m in ds["method"].values]
    cells = [((m, s), f"{LABELS[m]}" + ("" if s == "constant" else ", η/√(1+t)"),
              COLORS[m], "-" if s == "constant" else "--")
             for m in methods for s in ds["schedule"].values.tolist()]

    # 1. each optimiser's relative margin gap in the three geometries
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.8), sharey=True)
    _gap_panels(dict(zip(GEOMETRIES, axes, strict=True)), ds, refs, cells, t, keep)
    for p, ax in zip(GEOMETRIES, axes, strict=True):
        q = SUBSCRIPT[p]
        ax.set_title(f"{NAMES[p]} geometry: (γ*_{q} − γ_{q}(w)) / γ*_{q}", fontsize=10)
        _finish(ax, "relative margin gap" if p == "l1" else "", legend=p == "linf")
    fig.suptitle("Each optimiser's normalised margin approaches the optimum of its own "
                 "geometry only (solid: constant step; dashed: η/√(1+t))")
    paths += save(fig, out, f"{name}-margin-gaps-in-three-geometries")

    # 2. the data and the three directions; the direction of w_t over time (2-D data)
    if refs["direction"]:
        fig, (left, right) = plt.subplots(1, 2, figsize=(15, 5.2),
                                          gridspec_kw={"width_ratios": [1, 1.4]})
        X, y = _one(ds["x_train"]), _one(ds["targets"])
        left.scatter(*X[y > 0.5].T, marker="o", color="k", label="y = 1")
        left.scatter(*X[y < 0.5].T, marker="x", color="k", label="y = 0")
        lim = 1.1 * np.abs(X).max()
        for p, color in zip(GEOMETRIES, ("tab:orange", "tab:blue", "tab:red"), strict=True):
            w = refs[p]["w_hat"]
            edge = np.array([-w[1], w[0]]) / np.linalg.norm(w) * lim
            left.plot([-edge[0], edge[0]], [-edge[1], edge[1]], color=color,
                      label=f"{NAMES[p]} max-margin separator ({refs['direction'][p]:.1f}°)")
        left.set_xlim(-lim, lim)
        left.set_ylim(-lim, lim)
        left.set_aspect("equal")
        left.legend(fontsize=7)
        left.set_title("The data and the three max-margin separators", fontsize=10)
        for (method, schedule), label, color, ls in cells:
            W = _weights(_sel(ds, method=method, schedule=schedule))[keep]
            right.plot(t, np.degrees(np.arctan2(W[:, 1], W[:, 0])), color=color, ls=ls,
                       lw=1.4, label=label)
        for p, color in zip(GEOMETRIES, ("tab:orange", "tab:blue", "tab:red"), strict=True):
            right.axhline(refs["direction"][p], color=color, ls=":", lw=1.0,
                          label=f"{NAMES[p]} direction")
        _finish(right, "direction of w_t  [degrees]", logy=False, legend=False)
        right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
        right.set_title("The direction of w_t turns to its geometry's", fontsize=10)
        paths += save(fig, out, f"{name}-directions")
    return paths


def figures_adam(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    name = ds.attrs.get("scenario_name", "optimiser_margin_adam")
    refs = references(ds)
    keep, t = _steps_axis(ds)
    eps_values = ds["eps"].values.tolist()
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(eps_values)))
    schedules = ds["schedule"].values.tolist()
    fig, axes = plt.subplots(len(schedules), 2, figsize=(13, 4.4 * len(schedules)),
                             squeeze=False, layout="constrained")
    for row, schedule in zip(axes, schedules, strict=True):
        for eps, color in zip(eps_values, colors, strict=True):
            gaps = _relative_gaps(_sel(ds, eps=eps, schedule=schedule), refs)
            for ax, p in zip(row, ("linf", "l2"), strict=True):
                g = gaps[p][keep]
                ax.plot(t, np.where(g > 0, g, np.nan), color=color, lw=1.4, label=f"ε = {eps:g}")
        for ax, p in zip(row, ("linf", "l2"), strict=True):
            ax.set_title(f"{NAMES[p]} relative margin gap, "
                         f"{'constant step' if schedule == 'constant' else 'step η/√(1+t)'}",
                         fontsize=10)
            _finish(ax, "relative margin gap", legend=p == "l2")
    fig.suptitle("Adam's two regimes: without ε the L∞ margin; with ε > 0 the L2 margin "
                 "once the gradients fall below ε")
    paths = save(fig, out, f"{name}-two-regimes")

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    for schedule, marker in zip(schedules, ("o", "s"), strict=False):
        zero = _sel(ds, eps=0.0, schedule=schedule)
        log_loss = np.asarray(zero["log_train_loss"].values, dtype=float).ravel()[keep]
        left.plot(t, -log_loss, color="k", ls="-" if schedule == "constant" else "--",
                  label=f"ε = 0, {schedule}")
        points = []
        for eps, color in zip(eps_values, colors, strict=True):
            if eps == 0:
                continue
            d = _departure(ds, eps, schedule)
            if d is not None and d["step"] > 1:
                points.append((math.log(eps), d["log_loss"]))
                left.plot(d["step"], -d["log_loss"], marker=marker, color=color, ms=7,
                          label=f"ε = {eps:g} leaves ({schedule})")
        if points:
            x, y = np.array(points).T
            right.plot(x, y, marker=marker, ls="-", label=f"{schedule}")
    lo = min(math.log(e) for e in eps_values if e > 0)
    right.plot([lo, 0], [lo, 0], "k:", lw=0.9, label="ln L = ln ε")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("step t (log scale)")
    left.set_ylabel("−ln L of the ε = 0 run (log_train_loss; log scale)")
    left.set_title("Where each ε > 0 run leaves the ε = 0 path (markers)", fontsize=10)
    left.legend(fontsize=7)
    left.grid(alpha=0.3, which="both")
    right.set_xlabel("ln ε")
    right.set_ylabel("ln L where the run leaves the ε = 0 path")
    right.set_title("It leaves where the loss (≈ the gradients) reaches ε", fontsize=10)
    right.legend(fontsize=7)
    right.grid(alpha=0.3)
    return paths + save(fig, out, f"{name}-departure-from-eps-0")


def figures_decay(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    name = ds.attrs.get("scenario_name", "optimiser_margin_weight_decay")
    refs = references(ds)
    keep, t = _steps_axis(ds)
    m = decay_measurements(ds)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.6))
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(m["decay"])))
    for (key, d), color in zip(m["decay"].items(), colors, strict=True):
        cell = _sel(ds, weight_decay=d["lambda"])
        W = _weights(cell)[keep]
        left.plot(t, [_angle(w, refs["l2"]["w_hat"]) for w in W], color=color,
                  label=f"λ = {key}")
    lams = [d["lambda"] for d in m["decay"].values()]
    for p, color in zip(GEOMETRIES, ("tab:orange", "tab:blue", "tab:red"), strict=True):
        right.plot(lams, [d["angle"][p] for d in m["decay"].values()], marker="o", color=color,
                   label=f"angle to the {NAMES[p]} direction")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("step t (log scale)")
    left.set_ylabel("angle between w_t and the L2 direction  [degrees]")
    left.set_title("GD with weight decay λ converges to w_λ", fontsize=10)
    right.set_xscale("log")
    right.set_yscale("log")
    right.invert_xaxis()
    right.set_xlabel("weight decay λ (decreasing)")
    right.set_ylabel("angle of the converged w_λ  [degrees]")
    right.set_title("As λ → 0, w_λ turns to the L2 max-margin direction", fontsize=10)
    for ax in (left, right):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return save(fig, out, f"{name}-regularised-direction")


def figures_steps(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    name = ds.attrs.get("scenario_name", "optimiser_margin_large_steps")
    steps = ds["step"].values.astype(float)
    m = steps_measurements(ds)
    etas = ds["learning_rate"].values.tolist()
    colors = plt.get_cmap("plasma")(np.linspace(0, 0.85, len(etas)))
    early = steps <= 100
    late = steps > 0
    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 4.8))
    for eta, color in zip(etas, colors, strict=True):
        log_loss = np.asarray(_sel(ds, learning_rate=eta)["log_train_loss"].values,
                              dtype=float).ravel()
        big = eta > m["stable_below"]
        left.plot(steps[early], log_loss[early], color=color, marker="." if big else None,
                  lw=1.2, label=f"η = {eta:g}" + (" (> 2/β)" if big else ""))
        right.plot(steps[late], log_loss[late], color=color, lw=1.4, label=f"η = {eta:g}")
        c = m["steps"][f"{eta:g}"]["late"]
        right.plot(steps[late], c - np.log(eta * steps[late]), color=color, ls=":", lw=0.9)
    left.axhline(math.log(math.log(2.0)), color="0.5", ls="--", lw=0.9, label="ln L(0) = ln ln 2")
    left.set_xlabel("step t")
    left.set_ylabel("ln L (log_train_loss)")
    left.set_title("The first 100 steps: large steps make the loss rise first", fontsize=10)
    right.set_xscale("log")
    right.set_xlabel("step t (log scale)")
    right.set_ylabel("ln L (log_train_loss)")
    right.set_title("Then every step size gives L ≈ C/(η t) (dotted: that law)", fontsize=10)
    for ax in (left, right):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, which="both")
    return save(fig, out, f"{name}-early-and-late-loss")


# --------------------------------------------------------------------------- the studies


def _checkpoints(T: int, dense: int = 0) -> list[int]:
    """0, every step up to ``dense``, ten per decade, and ``T`` (the scenarios' lists)."""
    points = set(range(dense + 1)) | {int(np.rint(10**k))
                                      for k in np.arange(0, math.log10(T) + 1e-9, 0.1)} | {T}
    return sorted(p for p in points if p <= T)


def _numbers(function: str) -> str:
    return (f"from logsim.studies.optimiser_margin import {function}\n\n"
            f"m = {function}(ds)\n"
            "refs = m.pop('refs', None)\n"
            "if refs is not None:\n"
            "    print('references:', {p: (refs[p]['margin'], refs[p]['w_hat'].round(4).tolist(),\n"
            "                              refs[p]['unique']) for p in ('l1', 'l2', 'linf')})\n"
            "    print('angles between them:', refs['separation'])\n"
            "for key, value in m.items():\n"
            "    print(key, value)")


HEADLINE = "The optimiser picks the margin: L2, L1 or L∞"

STUDY = Study(
    claim=9,
    title="each optimiser turns towards the max-margin direction of its own geometry",
    part="optimisers and their geometries",
    headline=HEADLINE,
    summary=summary,
    intro=(
        "On separable data an optimiser's weights grow without bound while their direction "
        "settles; *which* direction depends on the optimiser. Steepest descent with respect "
        "to a norm turns towards the max-margin separator in that norm (Gunasekar, Lee, "
        "Soudry and Srebro 2018): GD towards the L2 (hard-margin SVM) one, as do heavy-ball "
        "and Nesterov momentum (Wang et al. 2022 prove it for heavy ball; Nesterov is "
        "measured here); sign descent and Adam without its stability constant towards the "
        "L∞ one (Zhang, Zou and Cao 2024, with a decaying step); greedy coordinate descent "
        "towards the L1 one, the geometry of AdaBoost (Rosset, Zhu and Hastie 2004).\n\n"
        "The scenario `scenarios/optimiser_margin.toml` runs seven methods with a constant "
        "step and with η/√(1+t) for 10⁷ steps on 12 points in 2-D (`optimiser_margin.csv`) "
        "whose three max-margin directions differ clearly: L1 at −7.1°, L2 at −31.0°, L∞ at "
        "−43.5° (23.8° and 12.5° apart), each unique. The references are the exact L2 SVM "
        "and two linear programmes solved by HiGHS, stored with the result; the margin "
        "gaps are relative to each geometry's optimum.\n\n"
        "One difference from the theorem: it covers steepest descent with bounded steps "
        "η‖g‖_* (which moves like GD), while logsim's sign and coordinate descent take "
        "normalised steps of length η. With a constant η these can stall within O(η) of "
        "the optimum in principle; with η/√(1+t) they cannot. Both are run and judged."
    ),
    look=(
        "First figure: in its own geometry each optimiser's gap keeps falling (GD and its "
        "momentum variants slowly, like 1/ln t; normalised GD, sign and coordinate descent "
        "about like 1/t with a constant step), while in the other two geometries the same "
        "run stays a fixed distance from the optimum. Second: the data with the three "
        "separators, and the angle of w_t settling on its own geometry's direction "
        "(dotted lines). Adam without ε with a constant step (brown, solid) is not judged: "
        "it ends between the L2 and L∞ directions, which is why its theorem asks for a "
        "decaying step."
    ),
    numbers=_numbers("measurements"),
    scenario_file="optimiser_margin.toml",
    check=check,
    figures=figures,
    small={"optimizer": {"steps": 100000}, "record": {"checkpoints": _checkpoints(100000)}},
)

STUDY_ADAM = Study(
    claim=9,
    title="Adam picks the L∞ margin without ε and the L2 margin with it",
    part="Adam's two regimes",
    headline=HEADLINE,
    summary=summary_adam,
    intro=(
        "Adam divides its momentum by √v̂ + ε. Without ε (ε = 0) the update is invariant to "
        "the scale of the gradient and behaves like sign descent: with a decaying step it "
        "turns towards the L∞ max-margin direction (Zhang, Zou and Cao 2024). With ε > 0, "
        "once the gradients (which fall like the loss) are well below ε the update is "
        "η m̂/ε, a GD step, and the direction turns towards the L2 one, as for GD (Wang et "
        "al. 2021; 2022). The scenario `scenarios/optimiser_margin_adam.toml` sweeps ε from "
        "0 to 1 with a constant step and with η/√(1+t), 10⁷ steps on the data of "
        "`optimiser_margin.toml`. The check also measures *where* each run with ε > 0 "
        "leaves the ε = 0 path: the loss of the ε = 0 run there should track ε."
    ),
    look=(
        "First figure: with ε = 0 the L∞ gap falls (fastest with the decaying step) and the "
        "L2 gap stays; every ε > 0 follows the same curves until its gradients reach ε, then "
        "its L∞ gap rises and its L2 gap falls: the second regime. Second: the markers show "
        "where each ε > 0 run leaves the ε = 0 run, on that run's loss curve, and the loss "
        "there against ε (a line of slope about 1)."
    ),
    numbers=_numbers("adam_measurements"),
    scenario_file="optimiser_margin_adam.toml",
    check=check_adam,
    figures=figures_adam,
    small={"optimizer": {"steps": 300000}, "record": {"checkpoints": _checkpoints(300000)}},
)

STUDY_DECAY = Study(
    claim=9,
    title="weight decay going to 0 gives the L2 max-margin direction",
    part="weight decay going to 0",
    headline=HEADLINE,
    summary=summary_decay,
    intro=(
        "With an L2 penalty λ‖w‖²/2 the minimiser w_λ is finite, and as λ → 0 its direction "
        "tends to the L2 max-margin one (Rosset, Zhu and Hastie 2004). The scenario "
        "`scenarios/optimiser_margin_weight_decay.toml` runs GD with weight decay λ = 10⁻³, "
        "10⁻⁴, 10⁻⁵ for 10⁷ steps (long enough to converge: ηλt ≥ 100) on the data of "
        "`optimiser_margin.toml`, and compares each w_λ with the three max-margin "
        "directions."
    ),
    look=(
        "Left: each trajectory settles (the angle stops changing) at w_λ. Right: the "
        "converged w_λ's angle to the L2 direction shrinks as λ decreases, while its angles "
        "to the L1 and L∞ directions stay near the angles between those directions."
    ),
    numbers=_numbers("decay_measurements"),
    scenario_file="optimiser_margin_weight_decay.toml",
    check=check_decay,
    figures=figures_decay,
    small={"grid": {"weight_decay": [1e-3, 1e-4]}, "optimizer": {"steps": 1000000},
           "record": {"checkpoints": _checkpoints(1000000)}},
)

STUDY_STEPS = Study(
    claim=9,
    title="GD with a large constant step converges after a non-monotone phase",
    part="large constant steps",
    headline=HEADLINE,
    summary=summary_steps,
    intro=(
        "Classical step-size rules keep GD's loss decreasing at every step (η < 2/β for a "
        "β-smooth loss). On separable logistic regression any constant step converges: "
        "with a large one the loss first oscillates, GD leaves that phase in O(η) steps, "
        "and then the loss falls like 1/(ηt) (Wu, Bartlett, Telgarsky and Yu 2024). The "
        "scenario `scenarios/optimiser_margin_large_steps.toml` runs GD with η = 0.5, 5, "
        "50 and 500 for 10⁶ steps on 8 points (`optimiser_margin_large_steps.csv`) with a "
        "small margin and an imbalance that a large first step overshoots; 2/β = 7.9. "
        "The loss is read from `log_train_loss`, which stays exact where the loss itself "
        "would underflow."
    ),
    look=(
        "Left: the first 100 steps. Below 2/β the loss falls at every step; at η = 50 and "
        "500 it first rises above its starting value ln 2 and oscillates for a few steps. "
        "Right: afterwards every curve follows its own C/(ηt) line (dotted), so the larger "
        "step ends with the smaller loss."
    ),
    numbers=_numbers("steps_measurements"),
    scenario_file="optimiser_margin_large_steps.toml",
    check=check_steps,
    figures=figures_steps,
    small={"optimizer": {"steps": 100000},
           "record": {"checkpoints": _checkpoints(100000, 100)}},
)

STUDIES = (STUDY, STUDY_ADAM, STUDY_DECAY, STUDY_STEPS)

__all__ = ["STUDIES", "adam_measurements", "decay_measurements", "measurements", "pick",
           "references", "steps_measurements"]
