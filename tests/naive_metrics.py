"""Slow, obviously-right references for logsim.metrics' binned calibration.

Written from the definitions (Guo et al. 2017; scikit-learn's calibration_curve
binning), one point and one bin at a time, without importing logsim.
"""

from __future__ import annotations

import math


def uniform_edges(bins: int) -> list[float]:
    """m / bins, computed as m * (1 / bins) like np.linspace, and exactly 1 at the end."""
    step = 1.0 / bins
    return [m * step for m in range(bins)] + [1.0]


def quantile_edges(conf: list[float], bins: int) -> list[float]:
    """Equal-mass edges: linear interpolation between order statistics.

    The q-quantile of sorted values v_0 <= ... <= v_{n-1} is
    v_k + (h - k)(v_{k+1} - v_k) with h = (n - 1) q and k = floor(h)
    (Hyndman & Fan 1996, definition 7; NumPy's default "linear" method).
    q is formed as calibration_curve forms it (linspace * 100, then / 100 inside
    np.percentile) and the interpolation is NumPy's two-sided lerp, so a point lying
    exactly on an interpolation node falls on the same side of the edge; any other
    rounding would move such points between neighbouring bins.
    """
    v = sorted(conf)
    n = len(v)
    edges = []
    for q in uniform_edges(bins):
        h = (n - 1) * ((q * 100) / 100)
        k = math.floor(h)
        if k >= n - 1:
            edges.append(v[-1])
            continue
        t = h - k
        diff = v[k + 1] - v[k]
        edges.append(v[k] + diff * t if t < 0.5 else v[k + 1] - diff * (1 - t))
    return edges


def confidence_outcome(p: list[float], y: list[int], kind: str):
    conf, outcome = [], []
    for pi, yi in zip(p, y, strict=True):
        if kind == "positive":
            conf.append(pi)
            outcome.append(float(yi))
        else:
            predicted = 1 if pi >= 0.5 else 0  # a tie at 0.5 predicts class 1
            conf.append(pi if predicted == 1 else 1.0 - pi)
            outcome.append(1.0 if predicted == yi else 0.0)
    return conf, outcome


def binned(p, y, bins: int, strategy: str, kind: str):
    """Per-bin (count, mean confidence, frequency); bins are (lo, hi], the first [lo, hi]."""
    conf, outcome = confidence_outcome(list(p), list(y), kind)
    if strategy == "uniform":
        edges = uniform_edges(bins)
    else:
        edges = quantile_edges(conf, bins)
    stats = []
    for m in range(bins):
        members = []
        for c, o in zip(conf, outcome, strict=True):
            above_lo = m == 0 or c > edges[m]
            below_hi = m == bins - 1 or c <= edges[m + 1]
            if above_lo and below_hi:
                members.append((c, o))
        if members:
            mean_c = sum(c for c, _ in members) / len(members)
            freq = sum(o for _, o in members) / len(members)
            stats.append((len(members), mean_c, freq))
        else:
            stats.append((0, math.nan, math.nan))
    return edges, stats


def ece(p, y, bins: int, strategy: str, kind: str) -> float:
    _, stats = binned(p, y, bins, strategy, kind)
    n = len(p)
    return sum(k / n * abs(f - c) for k, c, f in stats if k > 0)


def mce(p, y, bins: int, strategy: str, kind: str) -> float:
    _, stats = binned(p, y, bins, strategy, kind)
    return max(abs(f - c) for k, c, f in stats if k > 0)
