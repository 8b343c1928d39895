"""Measuring and plotting helpers the studies share.

Medians and interquartile bands over seeds, growth over the last decade of
steps, test logits and reliability curves of a cell, the ECE a perfectly
calibrated predictor would show on the same test points (the sigmoid is metrics.sigmoid).
"""

from __future__ import annotations

import tomllib

import numpy as np

from logsim.analysis import trim_padding
from logsim.metrics import sigmoid


def scenario_doc(ds) -> dict:
    """The scenario the result was made from, as a TOML document."""
    return tomllib.loads(ds.attrs["scenario"])


def step_axis(ds) -> np.ndarray:
    """Checkpoint steps as floats, step 0 as NaN (it cannot sit on a log axis)."""
    step = ds["step"].values.astype(float)
    return np.where(step == 0, np.nan, step)


def quartiles(da):
    """25th, 50th and 75th percentile over ``seed`` (NaN-aware), as arrays."""
    from logsim.plots import _quantiles

    return _quantiles(da)


def band(ax, x, da, *, color, label=None, ls="-", marker=None, alpha=0.18):
    """Median over seeds as a line, interquartile range as a shaded band."""
    lo, med, hi = quartiles(da)
    ax.plot(x, med, ls=ls, color=color, lw=1.5, marker=marker, ms=4, label=label)
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0)
    return med


def near_step(ds, step: float) -> int:
    """Index of the checkpoint nearest to ``step`` (on a log scale)."""
    steps = ds["step"].values.astype(float)
    return int(np.argmin(np.abs(np.log(np.maximum(steps, 0.5)) - np.log(max(step, 0.5)))))


def last_decade_growth(ds, var: str):
    """``var`` at the last checkpoint over ``var`` at the checkpoint nearest ``T / 10``.

    Per cell and seed; 1 for a quantity that has stopped moving, about
    ``log T / log(T/10)`` for one growing like ``log t``.
    """
    T = int(ds["step"].values[-1])
    k = near_step(ds, T / 10)
    return ds[var].isel(step=-1) / ds[var].isel(step=k)


def cell_logits(ds, step=-1, **sel) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Test logits, test labels and true posterior (or None) of one cell at one checkpoint."""

    def pick(name):
        da = ds[name]
        return np.asarray(da.sel({k: v for k, v in sel.items() if k in da.dims}).values)

    X, y = pick("x_test"), pick("y_test")
    w = pick("weights")[step]
    p_true = pick("p_test") if "p_test" in ds else None
    feat, X, (y, p_true) = trim_padding(X, y, p_true)
    return X @ w[feat], y, p_true


def reliability_over_seeds(ds, step=-1, bins: int = 15, **sel):
    """Per-bin mean confidence and observed frequency, one row per seed (NaN: empty bin)."""
    from logsim import metrics

    conf, freq = [], []
    for seed in ds["seed"].values:
        z, y, _ = cell_logits(ds, step=step, seed=seed, **sel)
        r = metrics.reliability(sigmoid(z), y, bins=bins)
        conf.append(r.mean_confidence)
        freq.append(r.frequency)
    return np.array(conf), np.array(freq)


def calibrated_ece(p, *, draws: int = 400, quantile: float = 0.95, seed: int = 0,
                   bins: int = 15) -> tuple[float, float]:
    """Median and ``quantile`` of the binned ECE of a perfectly calibrated predictor.

    Outcomes are drawn as ``y ~ Bernoulli(p)`` for the given probabilities, so the
    predictor ``p`` is calibrated by construction; its binned ECE on ``len(p)``
    points is then pure sampling and binning noise. An observed ECE below the upper
    quantile is indistinguishable from calibrated on a test set of this size.
    """
    from logsim import metrics

    rng = np.random.default_rng(seed)
    p = np.asarray(p, dtype=float)
    y = (rng.random((draws, p.size)) < p).astype(float)
    e, _ = metrics.calibration_errors(np.broadcast_to(p, y.shape), y, bins=bins)
    return float(np.median(e)), float(np.quantile(e, quantile))


def fmt_cells(values: dict, fmt: str = "{:.3f}") -> str:
    return ", ".join(f"{k} {fmt.format(v)}" for k, v in values.items())


def sci(x: float, digits: int = 0) -> str:
    """``x`` in short scientific notation for prose: ``8e-8``, ``1.2e5`` (``0`` for zero)."""
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa}e{int(exponent)}"
