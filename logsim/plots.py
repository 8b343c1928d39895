"""Figures of any logsim result: the kinds ``logsim plot --kind`` draws and what each needs.

Every kind is drawn from the stored variables alone (nothing is re-simulated) and
only where the result supports it: :func:`missing` says, for a kind and a result,
why it cannot be drawn ("" if it can), and :func:`plot_result` draws the kinds asked
for, or every kind the result supports, and reports the rest with their reasons.

Conventions shared by the kinds
-------------------------------
* Statistics over seeds: the median as a line or point, the interquartile range as a
  band or an error bar (NaN-aware: a seed without a value is left out).
* Runs that overflowed (``diverged``) or, where the result stores it, were flagged
  ``unstable`` (their loss grew) are left out of every figure, so that the values
  recorded before an overflow (up to about 1e300) cannot set the axes; the figure
  says how many were left out.
* One encoding per grid axis: the loss by colour (a qualitative palette), an ordered
  axis by colour from dark to light orange (at most one axis per figure), a second
  axis by line style and marker; any further axes become panels. The legend sits
  outside the axes, one entry per value (not one per combination).
* Dimensionless quantities carry no unit in their axis label; others carry it in
  brackets (``[nat]``, ``[rad]``).
* The step axis is named after the optimiser: "gradient-descent step", "SGD step
  (one mini-batch update)", ...
"""

from __future__ import annotations

import itertools
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["KINDS", "Kind", "Plotted", "kinds_text", "missing", "plot_result", "step_label"]


def pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, out: Path, stem: str) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{stem}.png", out / f"{stem}.pdf"]
    fig.savefig(paths[0], dpi=130, bbox_inches="tight")
    fig.savefig(paths[1], bbox_inches="tight")
    pyplot().close(fig)
    return paths


def _quantiles(da):
    """Median and interquartile range over seeds (NaN-aware; an all-NaN cell gives NaN).

    Returns three arrays (25th, 50th, 75th percentile) with the dims of ``da`` other
    than ``seed``; without a ``seed`` dim, the values three times.
    """
    if "seed" in da.dims:
        with warnings.catch_warnings():  # a cell whose every seed is NaN: NaN, no warning
            warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
            q = da.quantile([0.25, 0.5, 0.75], dim="seed", skipna=True)
        return q.sel(quantile=0.25).values, q.sel(quantile=0.5).values, q.sel(
            quantile=0.75).values
    v = da.values
    return v, v, v


# --------------------------------------------------------------------- what a result has

def grid_axes(ds) -> list[str]:
    """The grid axes of a result (the dims of ``diverged``), ``seed`` included."""
    return list(ds["diverged"].dims)


def _swept(ds) -> list[str]:
    """Grid axes other than ``seed``, in order."""
    return [d for d in grid_axes(ds) if d != "seed"]


def _scenario(ds) -> dict:
    try:
        return tomllib.loads(ds.attrs.get("scenario", ""))
    except tomllib.TOMLDecodeError:
        return {}


def _fixed_option(ds, table: str, key: str, default):
    """A scenario option the grid does not sweep: the grid's value if swept, else the text's."""
    if key in ds.coords and ds[key].size == 1:
        return ds[key].values.item()
    return _scenario(ds).get(table, {}).get(key, default)


def _values(ds, key: str, table: str, default) -> list:
    """Every value an option takes in the result (swept or fixed)."""
    if key in ds.coords:
        return [v.item() if hasattr(v, "item") else v for v in np.atleast_1d(ds[key].values)]
    return [_scenario(ds).get(table, {}).get(key, default)]


_STEP_NAMES = {
    "gd": "gradient-descent step t",
    "sgd": "SGD step t (mini-batch updates",
    "normalized_gd": "normalised-gradient-descent step t",
}


def step_label(ds, *, log: bool = True) -> str:
    """The step axis named after the optimiser(s) of ``ds`` ("SGD step t" for SGD runs)."""
    methods = {str(m) for m in _values(ds, "method", "optimizer", "gd")}
    name = _STEP_NAMES.get(methods.pop()) if len(methods) == 1 else None
    name = name or "optimiser step t (updates"
    if "(" in name:
        return f"{name}; log scale)" if log else f"{name})"
    return f"{name} (log scale)" if log else name


def _loss_of(ds, sel: dict) -> list[str]:
    """The loss(es) of the cells ``sel`` picks."""
    if "loss" in ds.coords and "loss" in ds.dims:
        values = ds["loss"].values if "loss" not in sel else [ds["loss"].values[sel["loss"]]]
        return [str(v) for v in np.atleast_1d(values)]
    return [str(v) for v in _values(ds, "loss", "optimizer", "logistic")]


def _loss_units(losses) -> str:
    from logsim.losses import loss_units

    return loss_units(losses)


def _with_units(label: str, units: str) -> str:
    """``label [units]``, or ``label`` alone for a dimensionless quantity (units "1" or "")."""
    return label if units in ("", "1") else f"{label} [{units}]"


#: Readable names of grid axes (others: the name with spaces).
AXIS_NAMES = {
    "loss": "loss",
    "noise_rate": "label-noise rate",
    "smoothing": "label smoothing ε",
    "rho_pos": "flip rate ρ₊ = P(noisy 0 | clean 1)",
    "rho_neg": "flip rate ρ₋ = P(noisy 1 | clean 0)",
    "learning_rate": "learning rate η",
    "n_train": "training samples",
    "n_test": "test samples",
    "dim": "features d",
    "method": "optimiser",
    "batch_size": "batch size",
}
#: Short labels of the plotted variables (units come from the variable's attributes).
VARIABLE_NAMES = {
    "train_loss": "training loss",
    "test_loss": "test loss (each run's own loss)",
    "test_accuracy": "test accuracy",
    "test_nll": "test cross-entropy of sigmoid(w·x)",
    "test_ece": "test ECE",
    "direction_gap": "direction gap ‖w/‖w‖ − ŵ/‖ŵ‖‖",
    "margin_gap": "margin gap γ(ŵ) − γ(w)",
}


def axis_name(axis: str) -> str:
    return AXIS_NAMES.get(axis, axis.replace("_", " "))


def _value_text(axis: str | None, value) -> str:
    """A grid value as text, after the axis name unless ``axis`` is None or names itself."""
    if isinstance(value, float | np.floating):
        value = f"{float(value):g}"
    if axis is None or axis in ("loss", "method"):
        return str(value)
    return f"{axis.replace('_', ' ')} {value}"


def _var_label(ds, var: str, units: str | None = None) -> str:
    units = ds[var].attrs.get("units", "") if units is None else units
    return _with_units(VARIABLE_NAMES.get(var, var.replace("_", " ")), units)


def _numeric(ds, axis: str) -> bool:
    return axis in ds.coords and ds[axis].dtype.kind in "fiu"


# --------------------------------------------------------------------- runs left out

def excluded(ds):
    """Runs left out of every figure: ``diverged``, or ``unstable`` where it is stored."""
    out = ds["diverged"].astype(bool)
    if "unstable" in ds:
        out = out | ds["unstable"].astype(bool)
    return out


def _mask(ds):
    """``ds`` with every per-run float variable NaN on the runs :func:`excluded` names.

    Returns the masked dataset and the footnote the figures carry ("" if none is
    left out). Data arrays (per draw) are left alone.
    """
    bad = excluded(ds)
    n_bad, total = int(bad.sum()), int(bad.size)
    if n_bad == 0:
        return ds, ""
    grid = set(bad.dims)
    masked = ds.copy()
    for name, var in ds.data_vars.items():
        if grid <= set(var.dims) and var.dtype.kind == "f":
            masked[name] = var.where(~bad)
    n_div = int(ds["diverged"].sum())
    parts = [f"{n_div} diverged (overflow)"] if n_div else []
    if "unstable" in ds:
        n_uns = int((ds["unstable"].astype(bool) & ~ds["diverged"].astype(bool)).sum())
        if n_uns:
            parts.append(f"{n_uns} unstable (loss grew)")
    note = (f"{n_bad} of {total} runs left out: {' and '.join(parts)}; the statistics are "
            "over the remaining seeds")
    if "seed" in bad.dims and bad.ndim > 1:
        gone = bad.all("seed")
        cells = [", ".join(f"{d}={gone[d].values[i]!s}" for d, i in zip(gone.dims, idx,
                                                                          strict=True))
                 for idx in zip(*np.nonzero(gone.values), strict=True)]
        if cells:
            shown = "; ".join(cells[:4]) + (f"; and {len(cells) - 4} more" if len(cells) > 4
                                            else "")
            note += f"\nevery seed left out (nothing drawn) at: {shown}"
    return masked, note


def _all_nan(ds, var: str) -> bool:
    return bool(np.isnan(np.asarray(ds[var].values, dtype=float)).all())


# --------------------------------------------------------------------- encodings

LINESTYLES = ("-", "--", ":", "-.")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Most values an axis encoded by line style and marker may have; more become panels.
MAX_STYLES = len(MARKERS)
#: Most panel columns (facets) of one figure; axes beyond are shown at their first value.
MAX_FACETS = 6


def _colors(ds, axis: str | None) -> list:
    plt = pyplot()
    n = ds.sizes[axis] if axis else 1
    if axis is None:
        return ["tab:blue"]
    if _numeric(ds, axis):  # ordered: dark to light, every shade readable on white
        return [plt.get_cmap("plasma")(x) for x in np.linspace(0.0, 0.8, n)]
    cmap = plt.get_cmap("tab10" if n <= 10 else "tab20")
    return [cmap(k % cmap.N) for k in range(n)]


@dataclass
class _Layout:
    """How the grid axes of one figure are shown (indices into each axis)."""

    facets: list[dict]  #: one selection per panel column
    series: list[tuple[dict, dict]]  #: (selection, line style) per curve of a panel
    handles: list  #: legend entries, one per value of the colour and of the style axis
    note: str = ""  #: axes shown at one value only
    fixed: dict = field(default_factory=dict)


def _layout(ds, free: list[str], *, facet_first=("loss",)) -> _Layout:
    """Panels, curves and legend for the grid axes ``free`` (seed and x axis excluded)."""
    from matplotlib.lines import Line2D

    varying = [a for a in free if ds.sizes[a] > 1]
    single = {a: 0 for a in free if ds.sizes[a] == 1}
    facet_axes = [a for a in facet_first if a in varying]
    encode = sorted((a for a in varying if a not in facet_axes), key=lambda a: a != "loss")
    color_axis = encode[0] if encode else None
    style_axis = None
    for a in encode[1:]:
        if style_axis is None and ds.sizes[a] <= MAX_STYLES:
            style_axis = a
        else:
            facet_axes.append(a)
    shown, fixed, n = [], {}, 1
    for a in facet_axes:
        if n * ds.sizes[a] <= MAX_FACETS:
            shown.append(a)
            n *= ds.sizes[a]
        else:
            fixed[a] = 0
    note = "; ".join(f"{axis_name(a)} shown at {ds[a].values[0]!s} only (of {ds.sizes[a]} "
                     "values)" for a in fixed)
    base = {**single, **fixed}
    facets = [{**base, **dict(zip(shown, idx, strict=True))}
              for idx in itertools.product(*(range(ds.sizes[a]) for a in shown))] or [base]
    colors = _colors(ds, color_axis)
    series, handles = [], []
    c_range = range(ds.sizes[color_axis]) if color_axis else [None]
    s_range = range(ds.sizes[style_axis]) if style_axis else [None]
    for ci, si in itertools.product(c_range, s_range):
        sel = {}
        style = {"color": colors[ci or 0], "ls": "-", "marker": "o"}
        if ci is not None:
            sel[color_axis] = ci
        if si is not None:
            sel[style_axis] = si
            style["ls"] = LINESTYLES[si % len(LINESTYLES)]
            style["marker"] = MARKERS[si]
        series.append((sel, style))
    if color_axis:
        handles.append(Line2D([], [], ls="none", label=axis_name(color_axis) + ":"))
        for ci in c_range:
            handles.append(Line2D([], [], color=colors[ci], lw=2.2,
                                  label=_value_text(None, ds[color_axis].values[ci])))
    if style_axis:
        handles.append(Line2D([], [], ls="none", label=axis_name(style_axis) + ":"))
        for si in s_range:
            handles.append(Line2D([], [], color="0.25", ls=LINESTYLES[si % len(LINESTYLES)],
                                  marker=MARKERS[si], ms=4,
                                  label=_value_text(None, ds[style_axis].values[si])))
    return _Layout(facets, series, handles, note, fixed)


def _facet_title(ds, sel: dict, layout: _Layout) -> str:
    """The values a panel shows (its loss first), not those every panel shares."""
    shown = [a for a in sel if ds.sizes[a] > 1 and a not in layout.fixed]
    shown.sort(key=lambda a: a != "loss")
    return ", ".join(_value_text(a, ds[a].values[sel[a]]) for a in shown)


def _finish(fig, layout: _Layout, notes: list[str], title: str) -> None:
    """Legend outside the axes (it never hides a curve), title, and the footnotes."""
    import textwrap

    if layout.handles:
        fig.legend(handles=layout.handles, loc="outside right center", fontsize=8,
                   frameon=False, handlelength=2.6)
    width = max(60, int(fig.get_figwidth() * 11))
    fig.suptitle(textwrap.fill(title, width), fontsize=11)
    text = "\n".join(n for n in [*notes, layout.note] if n)
    if text:
        fig.text(0.0, 0.0, text, fontsize=8, color="0.3", ha="left", va="top",
                 transform=fig.transFigure)


def _name(ds) -> str:
    return ds.attrs.get("scenario_name", "result")


def _isel(da, sel: dict):
    return da.isel({k: v for k, v in sel.items() if k in da.dims})


# --------------------------------------------------------------------- the kinds

def loss_curves(ds, out: Path, note: str = "") -> list[Path]:
    """Training loss (and test loss where stored) against the step, one column per loss."""
    plt = pyplot()
    free = _swept(ds)
    rows = ["train_loss"] + (["test_loss"] if "test_loss" in ds and not _all_nan(
        ds, "test_loss") else [])
    layout = _layout(ds, free)
    fig, grid = plt.subplots(len(rows), len(layout.facets), squeeze=False, sharex=True,
                             figsize=(3.9 * len(layout.facets) + 1.8, 3.1 * len(rows) + 0.6),
                             layout="constrained")
    x = _step_x(ds)
    for col, facet in enumerate(layout.facets):
        units = _loss_units(_loss_of(ds, facet))
        for row, var in enumerate(rows):
            ax = grid[row, col]
            sub = _isel(ds[var], facet)
            for sel, style in layout.series:
                lo, med, hi = _quantiles(_isel(sub, sel).transpose(..., "step"))
                ax.plot(x, med, color=style["color"], ls=style["ls"], lw=1.5)
                ax.fill_between(x, lo, hi, color=style["color"], alpha=0.15, lw=0)
            ax.set_xscale("log")
            ax.grid(alpha=0.3)
            ax.set_ylabel(_var_label(ds, var, units))
            if row == 0:
                ax.set_title(_facet_title(ds, facet, layout), fontsize=10)
            if row == len(rows) - 1:
                ax.set_xlabel(step_label(ds))
    _finish(fig, layout, [note], f"{_name(ds)}: loss against the step "
            "(median over seeds, band = interquartile range)")
    return save(fig, out, f"{_name(ds)}-loss-vs-step")


def _step_x(ds) -> np.ndarray:
    step = ds["step"].values.astype(float)
    return np.where(step == 0, np.nan, step)  # step 0 cannot sit on a log axis


def _dodged(x: np.ndarray, k: int, n: int, log: bool) -> np.ndarray:
    """``x`` shifted for the ``k``-th of ``n`` series so their error bars do not overlap."""
    if n <= 1 or x.size == 0:
        return x
    frac = (k - (n - 1) / 2) / n  # in (-1/2, 1/2)
    if log:  # the series span a quarter of the smallest gap, at most 0.1 decade
        gaps = np.diff(np.log10(np.unique(x)))
        return x * 10 ** (frac * min(0.25 * (gaps.min() if gaps.size else 1.0), 0.1))
    gaps = np.diff(np.unique(x))
    return x + frac * 0.25 * (gaps.min() if gaps.size else 1.0)


def against_axis(ds, out: Path, variables: list[str], xaxis: str, *, what: str,
                 note: str = "") -> list[Path]:
    """``variables`` after the last step against the grid axis ``xaxis``, every loss on one
    axis (one panel per variable; more grid axes: more rows)."""
    plt = pyplot()
    free = [a for a in _swept(ds) if a != xaxis]
    layout = _layout(ds, free, facet_first=())
    rows = len(layout.facets)
    fig, grid = plt.subplots(rows, len(variables), squeeze=False,
                             figsize=(4.6 * len(variables) + 1.8, 3.4 * rows + 0.6),
                             layout="constrained")
    xv = ds[xaxis].values.astype(float)
    log = bool(np.all(xv > 0) and xv.max() / xv.min() >= 50)
    for row, facet in enumerate(layout.facets):
        for col, var in enumerate(variables):
            ax = grid[row, col]
            final = _isel(ds[var].isel(step=-1), facet)
            for k, (sel, style) in enumerate(layout.series):
                lo, med, hi = _quantiles(_isel(final, sel).transpose(..., xaxis))
                xs = _dodged(xv, k, len(layout.series), log)
                ax.errorbar(xs, med, yerr=[med - lo, hi - med], color=style["color"],
                            ls=style["ls"], marker=style["marker"], ms=4, lw=1.3, capsize=2.5,
                            elinewidth=1.0)
            if log:
                ax.set_xscale("log")
            if xv.size <= 8:  # ticks at the grid values
                ax.set_xticks(xv, [f"{v:g}" for v in xv])
                ax.minorticks_off()
            ax.margins(x=0.08)
            if row == rows - 1:
                ax.set_xlabel(axis_name(xaxis))
            ax.set_ylabel(_var_label(ds, var))
            ax.grid(alpha=0.3)
            title = _facet_title(ds, facet, layout) if rows > 1 else ""
            ax.set_title(title, fontsize=9)
    steps = int(ds["step"].values[-1])
    _finish(fig, layout, [note, "median over seeds, bar = interquartile range; the series "
                          "are shifted sideways around each grid value so no bar hides another"],
            f"{_name(ds)}: {what} after {steps} steps against {axis_name(xaxis)}")
    return save(fig, out, f"{_name(ds)}-{'-'.join(v.replace('_', '-') for v in variables)}"
                          f"-vs-{xaxis.replace('_', '-')}")


def _numeric_axes(ds) -> list[str]:
    return [a for a in _swept(ds) if _numeric(ds, a) and ds[a].dtype.kind != "b"
            and ds.sizes[a] > 1]


def final_metrics(ds, out: Path, note: str = "") -> list[Path]:
    """Test accuracy and test cross-entropy after the last step against each numeric axis."""
    variables = [v for v in ("test_accuracy", "test_nll") if v in ds]
    paths = []
    for xaxis in _numeric_axes(ds):
        paths += against_axis(ds, out, variables, xaxis, what="test accuracy and test "
                              "cross-entropy (comparable across losses)", note=note)
    return paths


#: Grid axes against which ``calibration`` draws ECE and NLL.
NOISE_AXES = ("noise_rate", "smoothing", "rho_pos", "rho_neg")


def calibration_metrics(ds, out: Path, note: str = "") -> list[Path]:
    """Test ECE and test NLL after the last step against noise rate and smoothing."""
    paths = []
    for xaxis in (a for a in NOISE_AXES if a in _numeric_axes(ds)):
        paths += against_axis(ds, out, ["test_ece", "test_nll"], xaxis,
                              what="calibration (ECE) and test cross-entropy", note=note)
    return paths


#: Most seeds pooled into one reliability curve (the first ones).
RELIABILITY_SEEDS = 32


def _bins(ds) -> int:
    from logsim.analysis import BINS

    return int(_scenario(ds).get("analysis", {}).get("bins", BINS))


def pooled_reliability(ds, sel: dict, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reliability curve of the cell ``sel`` (indices) with its seeds pooled.

    Per bin: mean confidence and observed frequency over the test points of every seed
    (each seed's :func:`logsim.analysis.reliability_table` weighted by its count), and
    the fraction of all those points in the bin. Runs :func:`excluded` names and runs
    whose weights are not finite are left out.
    """
    from logsim.analysis import reliability_table

    bad = excluded(ds)
    labels = {a: ds[a].values[i] for a, i in sel.items()}
    seeds = range(min(ds.sizes["seed"], RELIABILITY_SEEDS)) if "seed" in ds.dims else [None]
    conf, freq, count = np.zeros(bins), np.zeros(bins), np.zeros(bins)
    for s in seeds:
        cell = dict(labels) if s is None else {**labels, "seed": ds["seed"].values[s]}
        if bool(bad.sel({k: v for k, v in cell.items() if k in bad.dims})):
            continue
        try:
            table = reliability_table(ds, bins=bins, **cell)
        except ValueError:  # weights not finite
            continue
        n = table["count"].values.astype(float)
        conf += np.nan_to_num(table["mean_confidence"].values) * n
        freq += np.nan_to_num(table["frequency"].values) * n
        count += n
    with np.errstate(invalid="ignore", divide="ignore"):
        return conf / count, freq / count, count / count.sum()


def reliability_diagrams(ds, out: Path, note: str = "") -> list[Path]:
    """Reliability diagrams of sigmoid(w·x) at the last step, one column per loss."""
    plt = pyplot()
    free = _swept(ds)
    layout = _layout(ds, free)
    bins = _bins(ds)
    cols = len(layout.facets)
    fig, grid = plt.subplots(2, cols, squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [3, 1]},
                             figsize=(3.7 * cols + 1.8, 5.2), layout="constrained")
    centres = (np.arange(bins) + 0.5) / bins
    for col, facet in enumerate(layout.facets):
        top, bottom = grid[0, col], grid[1, col]
        top.plot([0, 1], [0, 1], color="k", lw=0.8)
        for sel, style in layout.series:
            conf, freq, share = pooled_reliability(ds, {**facet, **sel}, bins)
            top.plot(conf, freq, color=style["color"], ls=style["ls"], marker=style["marker"],
                     ms=3.5, lw=1.3)
            bottom.step(centres, share, where="mid", color=style["color"], ls=style["ls"],
                        lw=1.1)
        top.set_xlim(0, 1)
        top.set_ylim(-0.02, 1.02)
        top.grid(alpha=0.3)
        top.set_title(_facet_title(ds, facet, layout), fontsize=10)
        bottom.grid(alpha=0.3)
        bottom.set_ylim(bottom=0)
        bottom.set_xlabel("predicted probability sigmoid(w·x)")
        if col == 0:
            top.set_ylabel("observed frequency of y = 1")
            bottom.set_ylabel("share of test points")
    n_seeds = ds.sizes.get("seed", 1)
    pooled = (f"seeds 0–{RELIABILITY_SEEDS - 1} of {n_seeds} pooled"
              if n_seeds > RELIABILITY_SEEDS else f"{n_seeds} seeds pooled")
    from logsim.analysis import MARGIN_LOSSES

    margin = [loss for loss in _loss_of(ds, {}) if loss in MARGIN_LOSSES]
    caveat = (f"for {', '.join(margin)}, sigmoid(w·x) is not meant as a probability (the "
              "Platt-scaled variables are the fair comparison)" if margin else "")
    _finish(fig, layout, [note, caveat], f"{_name(ds)}: reliability after "
            f"{int(ds['step'].values[-1])} steps ({bins} equal-width bins, {pooled}; top: "
            "observed frequency against mean predicted probability per bin, black: perfect "
            "calibration; bottom: share of the test points per bin)")
    return save(fig, out, f"{_name(ds)}-reliability-diagrams")


def margin_gaps(ds, out: Path, note: str = "") -> list[Path]:
    """Direction and margin gaps to the max-margin SVM against log t, one column per loss."""
    plt = pyplot()
    free = _swept(ds)
    layout = _layout(ds, free)
    rows = ("direction_gap", "margin_gap")
    cols = len(layout.facets)
    fig, grid = plt.subplots(2, cols, squeeze=False, sharex=True,
                             figsize=(3.9 * cols + 1.8, 6.4), layout="constrained")
    x = _step_x(ds)
    floor = 1e-12
    for col, facet in enumerate(layout.facets):
        for row, var in enumerate(rows):
            ax = grid[row, col]
            sub = _isel(ds[var], facet)
            last = []
            for sel, style in layout.series:
                lo, med, hi = _quantiles(_isel(sub, sel).transpose(..., "step"))
                ax.plot(x, np.maximum(med, floor), color=style["color"], ls=style["ls"], lw=1.5)
                ax.fill_between(x, np.maximum(lo, floor), np.maximum(hi, floor),
                                color=style["color"], alpha=0.15, lw=0)
                ok = np.isfinite(med) & np.isfinite(x) & (med > 0)
                if ok.any():
                    last.append((x[ok][-1], med[ok][-1]))
            if last:  # a 1/ln t reference through the highest last median, last 2 decades
                t_end, g_end = max(last, key=lambda p: p[1])
                t = np.geomspace(max(t_end / 100, 2.0), t_end, 30) if t_end > 2 else x[:0]
                if t.size:
                    ax.plot(t, g_end * np.log(t_end) / np.log(t), "k:", lw=1.0)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(alpha=0.3, which="both")
            ax.set_ylabel(_var_label(ds, var))
            if row == 0:
                ax.set_title(_facet_title(ds, facet, layout), fontsize=10)
            if row == 1:
                ax.set_xlabel(step_label(ds))
    _finish(fig, layout, [note, "NaN (not separable, w = 0) is not drawn; values below "
                          f"{floor:g} are drawn at {floor:g}"],
            f"{_name(ds)}: gaps to the hard-margin SVM direction ŵ (median over seeds, band = "
            "IQR; dotted: ∝ 1/ln t)")
    return save(fig, out, f"{_name(ds)}-direction-and-margin-gap-vs-step")


def claim_figures(ds, out: Path, note: str = "") -> list[Path]:
    """The figures of the claim whose scenario made ``ds`` (its study's own)."""
    from logsim.studies import study_for

    return study_for(_name(ds)).figures(ds, out)


# --------------------------------------------------------------------- what each needs

def _needs_variables(ds, names) -> str:
    absent = [v for v in names if v not in ds]
    if absent:
        return f"the result has no {', '.join(absent)}"
    empty = [v for v in names if _all_nan(ds, v)]
    if empty:
        return (f"{' and '.join(empty)} {'is' if len(empty) == 1 else 'are'} NaN everywhere "
                "(no test set, or every run left out)")
    return ""


def _missing_claim(ds) -> str:
    from logsim.studies import study_for

    if study_for(_name(ds)) is None:
        return (f"scenario {_name(ds)!r} is not one of the claims' scenarios (logsim claims "
                "runs those)")
    return ""


def _missing_loss(ds) -> str:
    return _needs_variables(ds, ["train_loss"])


def _missing_final(ds) -> str:
    absent = _needs_variables(ds, ["test_accuracy", "test_nll"])
    if absent:
        return absent
    if not _numeric_axes(ds):
        return f"no numeric grid axis with more than one value (swept: {_swept_text(ds)})"
    return ""


def _swept_text(ds) -> str:
    return ", ".join(f"{a} ({ds.sizes[a]})" for a in _swept(ds)) or "nothing"


def _missing_calibration(ds) -> str:
    absent = _needs_variables(ds, ["test_ece", "test_nll"])
    if absent:
        return absent
    if not any(a in _numeric_axes(ds) for a in NOISE_AXES):
        return (f"none of {', '.join(NOISE_AXES)} is swept with more than one value "
                f"(swept: {_swept_text(ds)})")
    return ""


def _missing_reliability(ds) -> str:
    if "x_test" not in ds or "y_test" not in ds:
        return "the test set is not stored ([record] data = false)"
    if ds.sizes.get("test_sample", 0) == 0 or _all_nan(ds, "y_test"):
        return "the result has no test set"
    return ""


def _missing_margins(ds) -> str:
    absent = _needs_variables(ds, ["direction_gap", "margin_gap"])
    if absent and not all(v in ds for v in ("direction_gap", "margin_gap")):
        return absent + " ([analysis] groups without \"geometry\")"
    if absent:
        return ("the training labels are not linearly separable through the origin in any "
                "cell (the gaps are NaN everywhere)")
    return ""


@dataclass(frozen=True)
class Kind:
    """One figure kind of ``logsim plot``."""

    name: str
    summary: str  #: one line for ``logsim plot --kind``
    missing: Callable  #: (masked result) -> why it cannot be drawn, "" if it can
    draw: Callable  #: (masked result, folder, footnote) -> files written


#: The figure kinds, in the order ``logsim plot`` draws them.
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("claim", "the figures of the claim whose scenario made the result (logsim claims)",
         _missing_claim, claim_figures),
    Kind("loss", "training and test loss against the step, one column per loss",
         _missing_loss, loss_curves),
    Kind("final", "test accuracy and test cross-entropy after the last step against each "
         "numeric grid axis, all losses on one axis", _missing_final, final_metrics),
    Kind("calibration", "test ECE and test cross-entropy after the last step against noise "
         "rate and smoothing, per loss", _missing_calibration, calibration_metrics),
    Kind("reliability", "reliability diagrams of sigmoid(w·x) at the last step, one column "
         "per loss, seeds pooled", _missing_reliability, reliability_diagrams),
    Kind("margins", "direction and margin gaps to the max-margin SVM against log t, one "
         "column per loss", _missing_margins, margin_gaps),
)}


def kinds_text() -> str:
    """One line per kind: its name and what it draws."""
    width = max(map(len, KINDS))
    return "\n".join(f"{k.name:<{width}}  {k.summary}" for k in KINDS.values())


def missing(ds, kind: str) -> str:
    """Why ``kind`` cannot be drawn for ``ds`` ("" if it can)."""
    masked, _ = _mask(ds)
    return KINDS[kind].missing(masked)


@dataclass(frozen=True)
class Plotted:
    """What :func:`plot_result` did: the files written, and each kind skipped with why."""

    paths: list[Path]
    skipped: dict[str, str]


def plot_result(ds, out, kinds=None) -> Plotted:
    """Draw the figures of ``ds`` into the folder ``out``.

    Parameters
    ----------
    ds : xarray.Dataset
        A logsim result.
    out : path
        Folder for the PNG and PDF files (created).
    kinds : sequence of str, optional
        Kinds of :data:`KINDS` to draw. Default: every kind ``ds`` supports; the others
        are returned in ``Plotted.skipped`` with the reason.

    Raises
    ------
    ValueError
        An unknown kind (the message names the allowed ones), or a kind asked for by
        name that ``ds`` cannot support (the message says why and which kinds it does).
    """
    asked = kinds is not None
    kinds = tuple(KINDS) if kinds is None else tuple(dict.fromkeys(kinds))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown figure kind(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(KINDS)}")
    masked, note = _mask(ds)
    reasons = {k: KINDS[k].missing(masked) for k in kinds}
    if asked:
        bad = {k: r for k, r in reasons.items() if r}
        if bad:
            possible = [k for k in KINDS if not KINDS[k].missing(masked)]
            raise ValueError(
                "; ".join(f"cannot draw --kind {k}: {r}" for k, r in bad.items())
                + f". Kinds this result supports: {', '.join(possible) or 'none'} "
                f"(all kinds: {', '.join(KINDS)})")
    paths = []
    for k in kinds:
        if not reasons[k]:
            paths += KINDS[k].draw(ds if k == "claim" else masked, Path(out), note)
    return Plotted(paths, {k: r for k, r in reasons.items() if r})
