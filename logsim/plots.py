"""Matplotlib figures from result datasets: medians and interquartile bands over seeds."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _swept(ds):
    """Grid axes other than ``seed``, in order."""
    return [d for d in ds["diverged"].dims if d != "seed"]


def _label(ds, combo):
    return ", ".join(f"{k}={v}" for k, v in combo.items()) or "all cells"


def _combos(ds, axes):
    values = [ds[a].values.tolist() for a in axes]
    for vals in itertools.product(*values):
        yield dict(zip(axes, vals, strict=True))


def _quantiles(da):
    """Median and interquartile range over seeds (NaN-aware)."""
    if "seed" in da.dims:
        q = da.quantile([0.25, 0.5, 0.75], dim="seed", skipna=True)
        return q.sel(quantile=0.25).values, q.sel(quantile=0.5).values, q.sel(
            quantile=0.75).values
    v = da.values
    return v, v, v


def save(fig, out: Path, stem: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=130, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    pyplot().close(fig)
    return paths


def loss_curves(ds, out: Path) -> list[Path]:
    """Training and test loss against the step (log axis), one panel per first-axis value."""
    plt = pyplot()
    axes = _swept(ds)
    panel_axis = axes[0] if axes else None
    panels = ds[panel_axis].values.tolist() if panel_axis else [None]
    others = axes[1:]
    fig, grid = plt.subplots(2, len(panels), figsize=(4.2 * len(panels), 6.4), squeeze=False,
                             sharex=True)
    step = ds["step"].values
    x = np.where(step == 0, np.nan, step)  # step 0 cannot sit on a log axis
    cmap = plt.get_cmap("viridis")
    combos = list(_combos(ds, others))
    for col, pv in enumerate(panels):
        sub = ds if panel_axis is None else ds.sel({panel_axis: pv})
        for row, var in enumerate(("train_loss", "test_loss")):
            ax = grid[row, col]
            for k, combo in enumerate(combos):
                lo, med, hi = _quantiles(sub[var].sel(combo))
                color = cmap(k / max(len(combos) - 1, 1))
                ax.plot(x, med, color=color, lw=1.4, label=_label(ds, combo))
                ax.fill_between(x, lo, hi, color=color, alpha=0.18, lw=0)
            ax.set_xscale("log")
            units = ds[var].attrs.get("units", "")
            ax.set_ylabel(f"{var.replace('_', ' ')} [{units}]")
            if row == 0:
                ax.set_title(f"{panel_axis} = {pv}" if panel_axis else ds.attrs.get(
                    "scenario_name", ""))
            if row == 1:
                ax.set_xlabel("gradient-descent step t (log scale)")
    if combos and len(combos) <= 12:
        grid[0, -1].legend(fontsize=7, loc="best")
    fig.suptitle("Loss against step: median over seeds, band = interquartile range")
    return save(fig, out, f"{ds.attrs.get('scenario_name', 'result')}-loss-vs-step")


def final_metric(ds, out: Path, var: str = "test_accuracy") -> list[Path]:
    """A metric at the last checkpoint against the first numeric grid axis."""
    plt = pyplot()
    axes = _swept(ds)
    numeric = [a for a in axes if ds[a].dtype.kind in "fi" and ds.sizes[a] > 1]
    if not numeric:
        return []
    xaxis = numeric[0]
    others = [a for a in axes if a != xaxis]
    final = ds[var].isel(step=-1)
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    combos = list(_combos(ds, others))
    cmap = plt.get_cmap("tab10" if len(combos) <= 10 else "viridis")
    xv = ds[xaxis].values
    for k, combo in enumerate(combos):
        lo, med, hi = _quantiles(final.sel(combo))
        color = cmap(k % 10) if len(combos) <= 10 else cmap(k / max(len(combos) - 1, 1))
        ax.errorbar(xv, med, yerr=[med - lo, hi - med], color=color, marker="o", ms=4,
                    capsize=3, label=_label(ds, combo))
    ax.set_xlabel(xaxis.replace("_", " "))
    ax.set_ylabel(f"{ds[var].attrs.get('long_name', var)} [{ds[var].attrs.get('units', '')}]")
    ax.set_title(f"{var.replace('_', ' ')} after {int(ds['step'].values[-1])} steps "
                 "(median, IQR over seeds)", fontsize=10)
    if len(combos) <= 12:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    name = ds.attrs.get("scenario_name", "result")
    return save(fig, out, f"{name}-{var.replace('_', '-')}-vs-{xaxis.replace('_', '-')}")


#: Figure kinds of ``logsim plot --kind``.
KINDS = ("claim", "loss", "final")


def plot_result(ds, out, kinds=None) -> list[Path]:
    """Figures of ``ds`` (default: every kind that applies); returns the files written.

    ``claim``: the figures of the claim whose scenario made ``ds``; ``loss``:
    training and test loss against the step; ``final``: test accuracy and loss
    after the last step against the first numeric grid axis.
    """
    from logsim.studies import study_for

    out = Path(out)
    kinds = KINDS if kinds is None else tuple(kinds)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise ValueError(f"unknown figure kind(s) {unknown}; allowed: {', '.join(KINDS)}")
    study = study_for(str(ds.attrs.get("scenario_name", "")))
    paths = []
    if "claim" in kinds and study is not None:
        paths += study.figures(ds, out)
    if "loss" in kinds:
        paths += loss_curves(ds, out)
    if "final" in kinds:
        paths += final_metric(ds, out, "test_accuracy")
        paths += final_metric(ds, out, "test_loss")
    return paths
