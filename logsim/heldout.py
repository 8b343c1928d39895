"""Test-set metrics of many linear predictors in one compiled pass over their logits.

:func:`heldout_metrics` gives, for every row of a logit matrix ``Z`` (one predictor per
row: every trajectory and checkpoint of a sweep) on one labelled test set, the numbers
the NumPy functions of :mod:`logsim.metrics` give row by row: cross-entropy from
logits, Brier score, ECE and MCE (equal-width bins, positive class), top-label ECE,
mean top-label confidence, mean absolute logit, the true calibration error where the
posterior is known, and the ECE before and after Platt scaling on the second half of
the samples (the scaling fitted on the first half). Definitions, conventions and
sources are those of :mod:`logsim.metrics`; tests check the two agree to round-off.

Why a second implementation: in NumPy each metric is a few passes over the whole
``rows x n`` block with a temporary per operation (about 240 ns per logit for all of
them, 5-6 s of a quickstart run). Here each logit is read once, its sigmoid and
log-term computed once, and every sum and histogram updated in the same pass; the rows
are shared out between threads (:func:`logsim._jit.in_threads`). The sums run over the
samples in order, so the results differ from NumPy's pairwise sums by rounding only,
and do not depend on the thread count.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np

from logsim import metrics
from logsim._jit import called, helper, in_threads, pieces

#: Columns of the array :func:`_score_rows` fills, in order.
SCORES = (
    "nll",
    "brier",
    "ece",
    "mce",
    "ece_top_label",
    "mean_confidence",
    "mean_abs_logit",
    "true_calibration_error",
    "ece_platt",
    "ece_unscaled",
)
# The four histograms of a row: (count, sum of confidences, sum of outcomes) per bin.
_POSITIVE, _TOP_LABEL, _UNSCALED, _PLATT = range(4)


@helper
def _bin(conf, edges):
    """``np.searchsorted(edges[1:-1], conf)`` for equal-width ``edges``, ``conf`` in [0, 1].

    The scalar form of :func:`logsim.metrics._uniform_bin_ids`: ``round(conf * bins)``
    is the bin or its neighbour; one comparison with each edge of it settles which.
    """
    bins = edges.shape[0] - 1
    m = min(max(round(conf * bins), 0), bins - 1)
    if m > 0 and conf <= edges[m]:
        return m - 1
    if m < bins - 1 and conf > edges[m + 1]:
        return m + 1
    return m


@helper
def _add(hist, which, conf, outcome, edges):
    m = _bin(conf, edges)
    hist[which, 0, m] += 1.0
    hist[which, 1, m] += conf
    hist[which, 2, m] += outcome


@helper
def _ece_mce(hist, which, n):
    """ECE ``sum_m |S_out - S_conf| / n`` and MCE ``max_m |S_out/N - S_conf/N|`` (N > 0)."""
    ece = 0.0
    mce = -math.inf
    for m in range(hist.shape[2]):
        count = hist[which, 0, m]
        s_conf = hist[which, 1, m]
        s_out = hist[which, 2, m]
        ece += abs(s_out - s_conf)
        if count > 0:
            mce = max(mce, abs(s_out / count - s_conf / count))
    return ece / n, mce


@helper
def _sigmoid(x, e):
    """As :func:`logsim.metrics.sigmoid`: ``where(x >= 0, 1, e) / (1 + e)``, ``e = e^-|x|``."""
    return (1.0 if x >= 0 else e) / (1.0 + e)


@called
def _score_rows(Z, y, p_true, edges, half, slope, intercept, out):
    """Fill ``out[r]`` with the :data:`SCORES` of logits ``Z[r]`` against labels ``y``.

    ``p_true`` is the known posterior (length 0: unknown, NaN out); samples ``half ..``
    are scored before and after Platt scaling ``sigmoid(slope[r] z + intercept[r])``
    (``half = n``: not at all, NaN out).
    """
    n = Z.shape[1]
    hist = np.zeros((4, 3, edges.shape[0] - 1))
    has_p = p_true.shape[0] == n
    for r in range(Z.shape[0]):
        hist[:] = 0.0
        nll = 0.0
        brier = 0.0
        confidence = 0.0
        abs_logit = 0.0
        tce = 0.0
        for i in range(n):
            z = Z[r, i]
            t = y[i]
            e = math.exp(-abs(z))
            p = _sigmoid(z, e)
            tail = math.log1p(e)  # sp(z) = max(z, 0) + tail, sp(-z) = max(-z, 0) + tail
            nll += t * (max(-z, 0.0) + tail) + (1.0 - t) * (max(z, 0.0) + tail)
            brier += (p - t) * (p - t)
            predicted = p >= 0.5  # a tie at 0.5 predicts class 1
            top = p if predicted else 1.0 - p
            confidence += max(p, 1.0 - p)
            abs_logit += abs(z)
            _add(hist, _POSITIVE, p, t, edges)
            _add(hist, _TOP_LABEL, top, 1.0 if predicted == (t == 1.0) else 0.0, edges)
            if has_p:
                tce += abs(p - p_true[i])
            if i >= half:
                _add(hist, _UNSCALED, p, t, edges)
                f = slope[r] * z + intercept[r]
                _add(hist, _PLATT, _sigmoid(f, math.exp(-abs(f))), t, edges)
        out[r, 0] = nll / n
        out[r, 1] = brier / n
        out[r, 2], out[r, 3] = _ece_mce(hist, _POSITIVE, n)
        out[r, 4] = _ece_mce(hist, _TOP_LABEL, n)[0]
        out[r, 5] = confidence / n
        out[r, 6] = abs_logit / n
        out[r, 7] = tce / n if has_p else math.nan
        if half < n:
            out[r, 8] = _ece_mce(hist, _PLATT, n - half)[0]
            out[r, 9] = _ece_mce(hist, _UNSCALED, n - half)[0]
        else:
            out[r, 8] = math.nan
            out[r, 9] = math.nan


def heldout_metrics(Z, y, *, p_true=None, bins: int = 15, platt: bool = True) -> dict:
    """Test-set metrics of every row of logits ``Z`` against hard labels ``y``.

    Parameters
    ----------
    Z : array_like, shape (rows, n)
        Logits ``X_test w`` of one predictor per row; finite.
    y : array_like, shape (n,)
        Test labels in {0, 1}.
    p_true : array_like, shape (n,), optional
        Known posterior ``P(y = 1 | x)`` of each test sample, in [0, 1].
    bins : int, default 15
        Equal-width bins on [0, 1] for every ECE and MCE.
    platt : bool, default True
        Fit Platt scaling (:func:`logsim.metrics.platt_fit_rows`) on samples
        ``0 .. n//2 - 1`` and score samples ``n//2 ..`` with and without it.

    Returns
    -------
    dict of name -> float64 (rows,)
        The :data:`SCORES`: ``nll`` (:func:`~logsim.metrics.nll_from_logits`),
        ``brier``, ``ece``/``mce`` (``kind="positive"``), ``ece_top_label``,
        ``mean_confidence``, ``mean_abs_logit``, ``true_calibration_error`` (NaN
        without ``p_true``), ``ece_platt`` and ``ece_unscaled`` (NaN without Platt or
        with ``n < 2``), plus ``platt_slope`` and ``platt_intercept`` (NaN likewise).
    """
    Z = np.ascontiguousarray(metrics._as_float_array(Z, "Z"))
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (rows, n), got shape {Z.shape}")
    rows, n = Z.shape
    y = metrics._hard_labels(y, "y")
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match Z, got {y.shape}")
    if p_true is None:
        p_true = np.empty(0)
    else:
        p_true = metrics._unit_interval(p_true, "p_true")
        if p_true.shape != (n,):
            raise ValueError(f"p_true must have shape ({n},) to match Z, got {p_true.shape}")
    edges = np.linspace(0.0, 1.0, metrics._check_bins(bins) + 1)
    half = n // 2 if platt and n >= 2 else n
    slope = np.full(rows, np.nan)
    intercept = np.full(rows, np.nan)
    if half < n:
        slope, intercept = metrics.platt_fit_rows(Z[:, :half], y[:half])
        slope, intercept = np.atleast_1d(slope), np.atleast_1d(intercept)
    out = np.empty((rows, len(SCORES)))
    threads = numba.get_num_threads()
    in_threads([functools.partial(_score_rows, Z[part], y, p_true, edges, half, slope[part],
                                  intercept[part], out[part])
                for part in pieces(rows, threads)], threads)
    scores = {name: out[:, k] for k, name in enumerate(SCORES)}
    scores["platt_slope"] = slope
    scores["platt_intercept"] = intercept
    return scores
