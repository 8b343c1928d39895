"""Claim 1: the error signal. d(cross-entropy)/dz = p - y, and single-example SGD is
w <- w - eta (p - y) x: both checked on a stored result's own data and weights."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from logsim.studies.base import Study, Verdict

#: Relative tolerance for finite differences of the loss against p - y.
FD_TOL = 1e-6
#: Relative tolerance for reproducing a stored single-example update.
UPDATE_TOL = 1e-9


def _naive_loss(z, y):
    """-[y log p + (1 - y) log(1 - p)] with p = 1/(1 + e^-z), straight from the definition."""
    p = 1.0 / (1.0 + np.exp(-z))
    return -(y * np.log(p) + (1.0 - y) * np.log1p(-p))


def measurements(ds):
    """Finite-difference errors and single-step update residuals over every cell.

    Returns ``(fd_rel, update_rel, points)``: the largest relative error between a
    central difference of the naive loss and ``p - y`` (points with
    ``|p - y| > 1e-4``, |z| < 15 so the naive formula is accurate), the largest
    relative residual of a stored step ``w_{t+1} - w_t`` against the best
    ``-eta (p_i - y_i) x_i`` over training points ``i``, and the number of points used.
    """
    eta = float(_fixed(ds, "learning_rate"))
    steps = ds["step"].values
    consecutive = np.flatnonzero(np.diff(steps) == 1)
    fd_rel, upd_rel, points = 0.0, 0.0, 0
    for soft in ds["soft"].values:
        for seed in ds["seed"].values:
            cell = {"soft": soft, "seed": seed}
            W = ds["weights"].sel(cell).values
            X = ds["x_train"].sel(seed=seed).values
            y = ds["targets"].sel(cell).values
            # finite differences at the last checkpoint's logits
            z = X @ W[-1]
            keep = np.abs(z) < 15
            zk, yk = z[keep], y[keep]
            h = 1e-5
            fd = (_naive_loss(zk + h, yk) - _naive_loss(zk - h, yk)) / (2 * h)
            signal = 1.0 / (1.0 + np.exp(-zk)) - yk
            big = np.abs(signal) > 1e-4  # soft targets may be matched to within 1e-4
            if big.any():
                fd_rel = max(fd_rel, float(np.max(np.abs(fd[big] - signal[big])
                                                  / np.abs(signal[big]))))
            points += int(big.sum())
            # stored single-example updates
            for k in consecutive:
                w0, w1 = W[k], W[k + 1]
                p = 1.0 / (1.0 + np.exp(-(X @ w0)))
                candidates = w0 - eta * (p - y)[:, None] * X
                residual = np.linalg.norm(candidates - w1, axis=1).min()
                moved = np.linalg.norm(w1 - w0)
                if moved > 0:  # a soft target matched exactly gives a zero step
                    upd_rel = max(upd_rel, float(residual / moved))
    return fd_rel, upd_rel, points


def _fixed(ds, key):
    import tomllib

    doc = tomllib.loads(ds.attrs["scenario"])
    return doc["optimizer"][key]


def check(ds) -> Verdict:
    fd_rel, upd_rel, points = measurements(ds)
    steps = int(np.sum(np.diff(ds["step"].values) == 1)) * ds.sizes["seed"] * ds.sizes["soft"]
    return Verdict(
        claim=1,
        measured=(f"dL/dz vs p - y: max relative difference {fd_rel:.1e} over {points} points "
                  f"(hard and soft targets); {steps} stored single-example steps reproduced "
                  f"by w - eta (p_i - y_i) x_i to {upd_rel:.1e}"),
        holds=points > 0 and fd_rel < FD_TOL and upd_rel < UPDATE_TOL,
        tolerance=f"finite differences within {FD_TOL:g}, updates within {UPDATE_TOL:g}",
    )


def figures(ds, out: Path) -> list[Path]:
    from logsim.plots import pyplot, save

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.2))
    for soft, color in zip(ds["soft"].values, ("tab:blue", "tab:orange"), strict=True):
        cell = {"soft": soft, "seed": ds["seed"].values[0]}
        X = ds["x_train"].sel(seed=cell["seed"]).values
        y = ds["targets"].sel(cell).values
        W = ds["weights"].sel(cell).values
        z = X @ W[-1]
        p = 1.0 / (1.0 + np.exp(-z))
        h = 1e-5
        fd = (_naive_loss(z + h, y) - _naive_loss(z - h, y)) / (2 * h)
        label = "soft targets (true posterior)" if soft else "hard labels"
        left.plot(p - y, fd, ".", ms=4, color=color, label=label)
        right.plot(p, p - y, ".", ms=4, color=color, label=label)
    lim = left.get_xlim()
    left.plot(lim, lim, "k-", lw=0.8, label="y = x")
    left.set_xlabel("error signal p̂ - y  [1]")
    left.set_ylabel("finite-difference dL/dz  [nat]")
    left.set_title("Gradient w.r.t. the logit equals p̂ - y")
    left.legend(fontsize=8)
    right.set_xlabel("predicted probability p̂  [1]")
    right.set_ylabel("p̂ - y  [1]")
    right.set_title("Size of the correction grows with the error")
    right.axhline(0, color="k", lw=0.6)
    right.legend(fontsize=8)
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
        "Left: central finite differences of the loss, computed from its definition, "
        "against p̂ − y at every training point: they lie on the diagonal. Right: p̂ − y "
        "against p̂; hard labels give two lines of slope 1 (y = 0 and y = 1), soft targets "
        "sit near 0 because SGD has nearly reached the posterior. The verdict also replays "
        "every stored single-example step from the stored data."
    ),
    numbers=(
        "from logsim.studies.error_signal import measurements\n\n"
        "fd_rel, update_rel, points = measurements(ds)\n"
        'print(f"finite differences vs p - y: max relative difference {fd_rel:.2e} '
        'over {points} points")\n'
        'print(f"stored single-example steps reproduced to {update_rel:.2e} (relative)")'
    ),
    scenario_file="error_signal.toml",
    check=check,
    figures=figures,
    small={"grid": {"seed": 2}, "optimizer": {"steps": 200},
           "record": {"checkpoints": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100, 199, 200]}},
)
