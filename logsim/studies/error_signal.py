"""Claim 1: the error signal. d(cross-entropy)/dz = p - y, and single-example SGD is
w <- w - eta (p - y) x: both checked on a stored result's own data and weights.

The derivative is a central finite difference of logsim's own loss
(:func:`logsim.losses.value`, the function the kernels minimise), compared with
``sigmoid(z) - y``. The update is replayed with the sample SGD actually drew at that
step: batch indices are a function of (seed, step) through :mod:`logsim.rng`, so
:func:`batch_indices` draws them again; no search over training points.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from logsim.metrics import sigmoid
from logsim.studies.base import Study, Verdict
from logsim.studies.common import sci

#: Relative tolerance for finite differences of the loss against p - y.
FD_TOL = 1e-6
#: Relative tolerance for reproducing a stored single-example update.
UPDATE_TOL = 1e-9
#: Step of the central finite difference.
FD_STEP = 1e-5
#: A stored step is compared relatively when it moves w by more than this many ulps of
#: ||w||; smaller steps (soft targets all but matched) must land within 8 ulps.
RESOLVED = 1000
EPS = float(np.finfo(float).eps)


def batch_indices(seed: int, n: int, batch_size: int, steps: int) -> np.ndarray:
    """The mini-batch of every SGD step ``t < steps``, drawn as the kernel draws it.

    A partial Fisher-Yates shuffle of a permutation of ``range(n)`` that persists from
    step to step: at step ``t``, for ``j < batch_size``, swap ``perm[j]`` with
    ``perm[j + floor(u (n - j))]``, ``u = uniform(key, t * batch_size + j)`` and
    ``key = stream_key(seed, STREAM_BATCH)`` (:mod:`logsim.rng`); the batch is
    ``perm[:batch_size]``. Returns an int array ``(steps, batch_size)``.
    """
    from logsim.rng import STREAM_BATCH, stream_key, uniform

    key = np.uint64(stream_key(int(seed), STREAM_BATCH))
    perm = np.arange(n)
    out = np.empty((steps, batch_size), dtype=np.int64)
    for t in range(steps):
        for j in range(batch_size):
            k = min(j + int(uniform(key, t * batch_size + j) * (n - j)), n - 1)
            perm[j], perm[k] = perm[k], perm[j]
        out[t] = perm[:batch_size]
    return out


def finite_difference(z, y, h: float = FD_STEP):
    """Central difference ``(l(z + h) - l(z - h)) / 2h`` of logsim's logistic loss."""
    from logsim import losses

    return (losses.value("logistic", z + h, y) - losses.value("logistic", z - h, y)) / (2 * h)


def measurements(ds) -> dict:
    """Finite-difference errors and replayed single-step updates over every cell.

    Returns a dict: ``fd_rel``, the largest relative error between the finite
    difference of :func:`logsim.losses.value` and ``sigmoid(z) - y`` at the last
    checkpoint's logits (points with ``|p - y| > 1e-4``: relative errors mean nothing
    at 0), over ``points`` points; ``update_rel``, the largest relative residual
    ``||w_t - eta/b sum_B (p_i - y_i) x_i - w_{t+1}|| / ||w_{t+1} - w_t||`` over the
    ``steps`` stored pairs of consecutive checkpoints, ``B`` the batch drawn at step
    ``t``; ``other_rel``, the smallest such residual any other single training point
    gives (how distinct the recorded sample's update is); ``roundoff_steps``, the
    steps that moved w by less than ``RESOLVED`` ulps of ``||w||`` (soft targets all
    but matched), where the replay must land within 8 ulps instead.
    """
    doc = tomllib.loads(ds.attrs["scenario"])
    eta = float(doc["optimizer"]["learning_rate"])
    batch = int(doc["optimizer"].get("batch_size", 1))
    stored = ds["step"].values
    pairs = np.flatnonzero(np.diff(stored) == 1)
    fd_rel, upd_rel, other_rel, points, steps, tiny = 0.0, 0.0, np.inf, 0, 0, 0
    for seed in ds["seed"].values:
        X = ds["x_train"].sel(seed=seed).values
        drawn = batch_indices(int(seed), X.shape[0], batch, int(stored[pairs[-1]]) + 1
                              if len(pairs) else 0)
        for soft in ds["soft"].values:
            cell = {"soft": soft, "seed": seed}
            W = ds["weights"].sel(cell).values
            y = ds["targets"].sel(cell).values
            z = X @ W[-1]
            fd = finite_difference(z, y)
            signal = sigmoid(z) - y
            big = np.abs(signal) > 1e-4  # soft targets may be matched to within 1e-4
            if big.any():
                fd_rel = max(fd_rel, float(np.max(np.abs(fd[big] - signal[big])
                                                  / np.abs(signal[big]))))
            points += int(big.sum())
            for k in pairs:
                t = int(stored[k])
                w0, w1 = W[k], W[k + 1]
                B = drawn[t]
                g = X[B].T @ (sigmoid(X[B] @ w0) - y[B]) / batch
                moved = np.linalg.norm(w1 - w0)
                residual = np.linalg.norm(w0 - eta * g - w1)
                steps += 1
                scale = np.linalg.norm(w0) * EPS
                if moved <= RESOLVED * scale:
                    # a step of a few ulps of w (a soft target nearly matched): no relative
                    # error means anything; the replay must still land within round-off
                    tiny += 1
                    upd_rel = max(upd_rel, 0.0 if residual <= 8 * scale else np.inf)
                    continue
                upd_rel = max(upd_rel, float(residual / moved))
                if batch == 1:
                    others = np.delete(np.arange(X.shape[0]), B)
                    p = sigmoid(X[others] @ w0)
                    cand = w0 - eta * (p - y[others])[:, None] * X[others]
                    best = np.linalg.norm(cand - w1, axis=1).min() / moved
                    other_rel = min(other_rel, float(best))
    return {"fd_rel": fd_rel, "update_rel": upd_rel, "other_rel": other_rel,
            "points": points, "steps": steps, "roundoff_steps": tiny}


def check(ds) -> Verdict:
    m = measurements(ds)
    return Verdict(
        claim=1,
        measured=(f"d(logsim.losses logistic)/dz by finite differences vs p - y: max relative "
                  f"difference {m['fd_rel']:.1e} over {m['points']} points (hard and soft "
                  f"targets); {m['steps']} stored single-example steps replayed with the "
                  f"sample SGD drew at that step: w - eta (p_i - y_i) x_i matches to "
                  f"{m['update_rel']:.1e} (any other training point: off by >= "
                  f"{m['other_rel']:.1e}; {m['roundoff_steps']} steps moved w by a few ulps, "
                  "soft targets all but matched, and land within 8 ulps)"),
        holds=m["points"] > 0 and m["steps"] > 0 and m["fd_rel"] < FD_TOL
        and m["update_rel"] < UPDATE_TOL,
        tolerance=f"finite differences within {FD_TOL:g}, updates within {UPDATE_TOL:g}",
        values=m,
        limits={"fd_rel": FD_TOL, "update_rel": UPDATE_TOL},
    )


def summary(v) -> str:
    return (f"Finite differences of logsim's loss match p̂ − y to {sci(v['fd_rel'])} at "
            f"{v['points']} points (hard and soft targets); {v['steps']} stored "
            f"single-example SGD steps, replayed with the sample drawn at each step, equal "
            f"w − η (p̂ − y) x to {sci(v['update_rel'])} (any other sample: off by ≥ "
            f"{sci(v['other_rel'])}).")


def figures(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10.5, 4.4), layout="constrained")
    styles = {False: dict(color="tab:blue", marker=".", ms=5, zorder=2),
              True: dict(color="tab:orange", marker="x", ms=4, mew=0.8, zorder=3)}
    for soft in ds["soft"].values:
        cell = {"soft": soft, "seed": ds["seed"].values[0]}
        X = ds["x_train"].sel(seed=cell["seed"]).values
        y = ds["targets"].sel(cell).values
        W = ds["weights"].sel(cell).values
        z = X @ W[-1]
        p = sigmoid(z)
        fd = finite_difference(z, y)
        label = "soft targets (true posterior)" if soft else "hard labels"
        left.plot(p - y, fd, ls="none", label=label, **styles[bool(soft)])
        right.plot(p, p - y, ls="none", label=label, **styles[bool(soft)])
    lim = left.get_xlim()
    left.plot(lim, lim, "k-", lw=0.8, zorder=1, label="y = x")
    left.set_xlabel("error signal p̂ − y")
    left.set_ylabel("finite difference of logsim's loss, dL/dz [nat]")
    left.set_title("Gradient w.r.t. the logit equals p̂ − y", fontsize=11)
    left.legend(fontsize=8)
    right.set_xlabel("predicted probability p̂")
    right.set_ylabel("error signal p̂ − y")
    right.set_title("Size of the correction grows with the error", fontsize=11)
    right.axhline(0, color="k", lw=0.6)
    right.text(0.3, 0.45, "label y = 0", ha="center", fontsize=8, color="0.3")
    right.text(0.7, -0.5, "label y = 1", ha="center", fontsize=8, color="0.3")
    right.legend(fontsize=8, loc="upper left")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    name = ds.attrs.get("scenario_name", "error_signal")
    return save(fig, out, f"{name}-gradient-equals-p-minus-y")


STUDY = Study(
    claim=1,
    title="the error signal is p̂ − y",
    intro=(
        "The article: *the gradient of the cross-entropy with respect to the logit is "
        "simply p̂ − y*, for hard and soft targets, and the single-example update is "
        "w ← w − η (p̂ − y) x. The scenario `scenarios/error_signal.toml` trains logistic "
        "regression by SGD with batch size 1 on `logistic_model` data, with hard labels and "
        "with the true posterior as soft target."
    ),
    look=(
        "Left: central finite differences of logsim's loss (`logsim.losses.value`, the "
        "function the kernels minimise) against p̂ − y at every training point: they lie "
        "on the diagonal. Right: p̂ − y against p̂; hard labels give two lines of slope 1 "
        "(y = 0 and y = 1), soft targets sit near 0 because SGD has nearly reached the "
        "posterior. The verdict also replays every stored pair of consecutive steps with "
        "the sample SGD drew at that step (drawn again from the seed through `logsim.rng`), "
        "and says how far off any other training point would be."
    ),
    numbers=(
        "from logsim.studies.error_signal import measurements\n\n"
        "m = measurements(ds)\n"
        "print('finite differences of logsim.losses vs p - y, largest relative error:',\n"
        "      f\"{m['fd_rel']:.2e} over {m['points']} points\")\n"
        "print(f\"{m['steps']} stored steps replayed with their drawn samples to \"\n"
        "      f\"{m['update_rel']:.2e} (relative)\")\n"
        "print(f\"any other training point is off by at least {m['other_rel']:.2e}\")"
    ),
    headline="The gradient w.r.t. the logit is p̂ − y",
    summary=summary,
    scenario_file="error_signal.toml",
    check=check,
    figures=figures,
    small={"grid": {"seed": 2}, "optimizer": {"steps": 200},
           "record": {"checkpoints": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 199, 200]}},
)
