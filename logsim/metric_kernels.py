"""Compiled fast paths of the test-set metrics of :mod:`logsim.metrics`, for many rows at once.

A sweep measures every trajectory at every checkpoint on its test set: rows of logits
``Z = W X_test^T``, one predictor per row. :func:`score_rows` gives, for every row, the
numbers the NumPy reference functions of :mod:`logsim.metrics` give row by row (the
reference is the public API and what the tests compare against, to 1e-12): the test
loss of the row's loss, accuracy, cross-entropy, Brier score, mean top-label
confidence, mean |logit|, ECE and MCE (equal-width bins, positive class), top-label
ECE, the true calibration error where the posterior is known, and ECE before and after
Platt scaling on the second half of the samples (the scaling fitted on the first half
by :func:`platt_fit_rows`, the compiled :func:`logsim.metrics.platt_fit`).

Why compiled: in NumPy each metric is a few passes over the whole ``rows x n`` block
with a temporary per operation (about 240 ns per logit for all of them). Here each
logit is read once, its sigmoid and log-term computed once, and every sum and histogram
updated in the same pass; the rows are shared out between threads
(:func:`logsim._jit.in_threads`). The sums run over the samples in order, so the
results differ from NumPy's pairwise sums by rounding only and do not depend on the
thread count or on which rows are scored together.
"""

from __future__ import annotations

import functools
import math
import numbers

import numba
import numpy as np

from logsim import metrics
from logsim._exp import exp_nonpositive, fma
from logsim._jit import called, helper, in_threads, ordered_sums, pieces
from logsim.losses import LOGISTIC, loss_value_call

__all__ = ["SCORES", "platt_fit_rows", "score_rows", "score_weights"]

#: Columns :func:`score_rows` fills, in order.
SCORES = (
    "loss",
    "accuracy",
    "nll",
    "brier",
    "mean_confidence",
    "mean_abs_logit",
    "ece",
    "mce",
    "ece_top_label",
    "true_calibration_error",
    "ece_platt",
    "ece_unscaled",
)
# The four histograms of a row: (count, sum of confidences, sum of outcomes) per bin.
_POSITIVE, _TOP_LABEL, _UNSCALED, _PLATT = range(4)


@helper
def _bin(conf, edges, bins):
    """``np.searchsorted(edges[1:-1], conf)`` for equal-width ``edges``, ``conf`` in [0, 1].

    Bin ``m`` is ``(edges[m], edges[m + 1]]`` (bin 0 also holds 0), the rule of
    :mod:`logsim.metrics`: ``floor(conf * bins)`` is the bin, or its neighbour where
    ``conf`` sits on an edge or rounding moved the product across one; one comparison
    with each edge settles which (tested against ``searchsorted`` on every edge and its
    neighbouring floats). Branch-free: a branch here mispredicted often enough to cost
    5x (measured).
    """
    m = np.int64(conf * bins)
    m = m if m < bins - 1 else bins - 1
    m -= (m > 0) & (conf <= edges[m])
    m += (m < bins - 1) & (conf > edges[m + 1])
    return m


@helper
def _add(hist, which, conf, outcome, edges, bins):
    m = _bin(conf, edges, bins)
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


@helper
def log1p_unit(x):
    """``log(1 + x)`` for ``x`` in [0, 1], straight-line code that LLVM vectorises.

    libm's ``log1p`` is a scalar call (no SVML in llvmlite's wheels). Here
    ``log1p(x) = 2 atanh(s)`` with ``s = x / (2 + x)`` in [0, 1/3] (an exact identity),
    and ``atanh(s) / s = sum_k s**2k / (2k + 1)`` is summed to ``k = 16`` (truncation
    below ``(1/9)**17 / 35 < 2e-18``) by Horner's rule with fused multiply-adds. Within 3
    ulps of libm's (tested); no cancellation for small ``x`` (``s`` is computed directly).
    """
    s = x / (2.0 + x)
    w = s * s
    p = fma(1.0 / 33.0, w, 1.0 / 31.0)
    p = fma(p, w, 1.0 / 29.0)
    p = fma(p, w, 1.0 / 27.0)
    p = fma(p, w, 1.0 / 25.0)
    p = fma(p, w, 1.0 / 23.0)
    p = fma(p, w, 1.0 / 21.0)
    p = fma(p, w, 1.0 / 19.0)
    p = fma(p, w, 1.0 / 17.0)
    p = fma(p, w, 1.0 / 15.0)
    p = fma(p, w, 1.0 / 13.0)
    p = fma(p, w, 1.0 / 11.0)
    p = fma(p, w, 1.0 / 9.0)
    p = fma(p, w, 1.0 / 7.0)
    p = fma(p, w, 1.0 / 5.0)
    p = fma(p, w, 1.0 / 3.0)
    p = fma(p, w, 1.0)
    return 2.0 * s * p


@ordered_sums
def _logits(w, XT, z):
    """``z = X w`` from ``XT = X.T``, each ``z[i]`` summed over features in order, so a row's
    logits (and every score of it) do not depend on the other rows scored with it."""
    for i in range(z.shape[0]):
        z[i] = 0.0
    for j in range(XT.shape[0]):
        wj = w[j]
        for i in range(z.shape[0]):
            z[i] += wj * XT[j, i]


@helper
def _score(z, y, p_true, code, edges, calibration, half, a, b, scratch, hist, out):
    """Fill ``out`` with the :data:`SCORES` of logits ``z`` against labels ``y``.

    ``code`` is the loss the ``loss`` score is measured in (:data:`logsim.losses.LOSS_CODES`;
    the logistic loss is the cross-entropy itself). ``p_true`` is the known posterior
    (length 0: unknown, NaN out). Without ``calibration`` the binned scores are NaN.
    Samples ``half ..`` are scored before and after Platt scaling ``sigmoid(a z + b)``
    unless ``a`` is NaN or ``half = n`` (NaN out). ``scratch`` is ``(3, n)``, ``hist``
    ``(4, 3, bins)``.

    The per-sample terms are computed first, in loops LLVM vectorises; the sums then run
    over the samples in order (a sum in a loop keeps that loop scalar under strict IEEE
    semantics, so the two are kept apart).
    """
    n = z.shape[0]
    bins = edges.shape[0] - 1
    tail = scratch[0]
    prob = scratch[1]
    scaled = scratch[2]
    for i in range(n):
        e = exp_nonpositive(-abs(z[i]))
        tail[i] = log1p_unit(e)  # sp(z) = max(z, 0) + tail, sp(-z) = max(-z, 0) + tail
        prob[i] = _sigmoid(z[i], e)
    nll = 0.0
    correct = 0.0
    brier = 0.0
    confidence = 0.0
    abs_logit = 0.0
    for i in range(n):
        zi = z[i]
        t = y[i]
        p = prob[i]
        nll += t * (max(-zi, 0.0) + tail[i]) + (1.0 - t) * (max(zi, 0.0) + tail[i])
        correct += (zi > 0.0) == (t == 1.0)
        brier += (p - t) * (p - t)
        confidence += max(p, 1.0 - p)
        abs_logit += abs(zi)
    loss = nll
    if code != LOGISTIC:
        loss = 0.0
        for i in range(n):
            loss += loss_value_call(code, z[i], y[i], 0.0, 0.0)
    out[0] = loss / n
    out[1] = correct / n
    out[2] = nll / n
    out[3] = brier / n
    out[4] = confidence / n
    out[5] = abs_logit / n
    out[6] = out[7] = out[8] = out[10] = out[11] = math.nan
    hist[:] = 0.0
    if calibration:
        for i in range(n):
            p = prob[i]
            t = y[i]
            predicted = p >= 0.5  # a tie at 0.5 predicts class 1
            _add(hist, _POSITIVE, p, t, edges, bins)
            _add(hist, _TOP_LABEL, p if predicted else 1.0 - p,
                 1.0 if predicted == (t == 1.0) else 0.0, edges, bins)
        out[6], out[7] = _ece_mce(hist, _POSITIVE, n)
        out[8] = _ece_mce(hist, _TOP_LABEL, n)[0]
    tce = 0.0
    if p_true.shape[0] == n:
        for i in range(n):
            tce += abs(prob[i] - p_true[i])
    out[9] = tce / n if p_true.shape[0] == n else math.nan
    if half < n and not math.isnan(a):
        for i in range(half, n):
            f = a * z[i] + b
            scaled[i] = _sigmoid(f, exp_nonpositive(-abs(f)))
        for i in range(half, n):
            _add(hist, _UNSCALED, prob[i], y[i], edges, bins)
            _add(hist, _PLATT, scaled[i], y[i], edges, bins)
        out[10] = _ece_mce(hist, _PLATT, n - half)[0]
        out[11] = _ece_mce(hist, _UNSCALED, n - half)[0]


@called
def _score_weight_rows(W, data_index, XT, y, p_true, loss_code, edges, calibration, fit,
                       chain, half, t, b0, max_iter, slope, intercept, out):
    """Rows ``W[r]`` (finite) scored on test set ``k = data_index[r]`` (``XT[k] = X_k.T``,
    labels ``y[k]``, posterior ``p_true[k]`` unless ``p_true`` has no columns): logits,
    Platt fit where ``fit[r]`` (on samples ``0 .. half - 1`` with targets ``t[k]``, start
    ``(0, b0[k])``, into ``slope[r]``, ``intercept[r]``; NaN elsewhere), then every score
    (:func:`_score`) into ``out[r]``.

    Where ``chain[r]`` (row ``r`` is the next checkpoint of row ``r - 1``'s trajectory) and
    row ``r - 1`` was fitted, Newton starts from its fit, its slope rescaled by the ratio
    of the two rows' mean ``|z|`` on the fitting half (logits grow along a trajectory;
    the fitted ``a z`` changes much less): about half the passes of a cold start (the
    Platt share of the test-set pass 24 -> 15 ns per logit, measured). The optimum is the
    same; the bits depend on the start, hence on ``chain``, never on how rows are shared
    between threads (a chain is never split).
    """
    n = XT.shape[2]
    z = np.empty(n)
    scratch = np.empty((4, n))
    hist = np.zeros((4, 3, edges.shape[0] - 1))
    prev_a = math.nan
    prev_b = math.nan
    prev_scale = math.nan
    for r in range(W.shape[0]):
        k = data_index[r]
        _logits(W[r], XT[k], z)
        a = math.nan
        b = math.nan
        if fit[r] and half < n:
            scale = 0.0
            for i in range(half):
                scale += abs(z[i])
            a0 = 0.0
            start_b = b0[k]
            if chain[r] and not math.isnan(prev_a) and scale > 0.0:
                a0 = prev_a * (prev_scale / scale)
                start_b = prev_b
            a, b = _platt_fit_row(z[:half], t[k], a0, start_b, max_iter, scratch[:, :half])
            prev_scale = scale
        prev_a = a
        prev_b = b
        slope[r] = a
        intercept[r] = b
        pk = p_true[k] if p_true.shape[1] == n else p_true[0, :0]
        _score(z, y[k], pk, loss_code[r], edges, calibration, half, a, b, scratch, hist,
               out[r])


@called
def _score_logit_rows(Z, y, p_true, loss_code, edges, calibration, half, slope, intercept,
                      out):
    """:func:`_score` of every row of logits ``Z``, Platt parameters given."""
    scratch = np.empty((3, Z.shape[1]))
    hist = np.zeros((4, 3, edges.shape[0] - 1))
    for r in range(Z.shape[0]):
        _score(Z[r], y, p_true, loss_code[r], edges, calibration, half, slope[r], intercept[r],
               scratch, hist, out[r])


def _checked_labels(y, n, p_true):
    y = metrics._hard_labels(y, "y")
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match the samples, got {y.shape}")
    if p_true is None:
        p_true = np.empty(0)
    else:
        p_true = metrics._unit_interval(p_true, "p_true")
        if p_true.shape != (n,):
            raise ValueError(f"p_true must have shape ({n},) to match the samples, got "
                             f"{p_true.shape}")
    return y, p_true


def _checked_codes(loss_codes, rows):
    if loss_codes is None:
        return np.full(rows, LOGISTIC, dtype=np.int64)
    codes = np.ascontiguousarray(np.broadcast_to(loss_codes, (rows,)), dtype=np.int64)
    return codes


def _scores(out, slope, intercept):
    scores = {name: out[:, k] for k, name in enumerate(SCORES)}
    scores["platt_slope"] = slope
    scores["platt_intercept"] = intercept
    return scores


def _chain_pieces(chain: np.ndarray, threads: int) -> list[slice]:
    """:func:`logsim._jit.pieces` of the rows, each boundary moved to a chain's start."""
    out, start = [], 0
    for part in pieces(chain.shape[0], threads):
        stop = part.stop
        while stop < chain.shape[0] and chain[stop]:
            stop += 1
        if stop > start:
            out.append(slice(start, stop))
            start = stop
    return out


def _stacked(X, y, p_true):
    """Test sets as stacks ``(D, n, d)``, ``(D, n)``, ``(D, n or 0)``, validated."""
    X = metrics._as_float_array(X, "X")
    single = X.ndim == 2
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be (n, d) or a stack (D, n, d), got shape {X.shape}")
    labels = X.shape[:-1]  # (n,) or (D, n)
    y = metrics._hard_labels(y, "y")
    if y.shape != labels:
        raise ValueError(f"y must have shape {labels} to match X, got {y.shape}")
    if p_true is not None:
        p_true = metrics._unit_interval(p_true, "p_true")
        if p_true.shape != labels:
            raise ValueError(f"p_true must have shape {labels} to match X, got {p_true.shape}")
    if single:
        X, y = X[None], y[None]
        p_true = None if p_true is None else p_true[None]
    if p_true is None:
        p_true = np.empty((X.shape[0], 0))
    return X, np.ascontiguousarray(y), np.ascontiguousarray(p_true)


def score_weights(W, X, y, *, loss_codes=None, p_true=None, data_index=None, bins: int = 15,
                  calibration: bool = True, platt=True, chain=None,
                  max_iter: int = 100) -> dict:
    """:func:`score_rows` of the logits ``X w`` of every weight vector ``w`` in ``W``.

    The logits are computed row by row in a fixed order (features in order), so each
    row's scores are the same bits whichever rows are scored with it; no ``rows x n``
    matrix of logits is held. ``W`` is ``(rows, d)`` and finite. ``X``, ``y`` and
    ``p_true`` are one test set ``(n, d)``, ``(n,)``, ``(n,)``, or a stack of ``D`` test
    sets of one shape with ``data_index`` (rows,) saying which each row is scored on, so
    a whole chunk is one compiled call. ``chain`` (bool, rows) marks rows that are the
    next checkpoint of the row before: their Platt fit starts from that row's
    (:func:`_score_weight_rows`), so a row's Platt bits depend on its chain, not on the
    rows around it otherwise. The other arguments and the result are those of
    :func:`score_rows`.
    """
    W = np.ascontiguousarray(metrics._as_float_array(W, "W"))
    X, y, p_true = _stacked(X, y, p_true)
    D, n, d = X.shape
    if W.ndim != 2 or W.shape[1] != d:
        raise ValueError(f"W must be (rows, {d}) to match X, got shape {W.shape}")
    rows = W.shape[0]
    index = (np.zeros(rows, dtype=np.int64) if data_index is None
             else np.ascontiguousarray(data_index, dtype=np.int64))
    if index.shape != (rows,) or (rows and (index.min() < 0 or index.max() >= D)):
        raise ValueError(f"data_index must give each of the {rows} rows a test set in "
                         f"[0, {D - 1}]")
    codes = _checked_codes(loss_codes, rows)
    edges = np.linspace(0.0, 1.0, metrics._check_bins(bins) + 1)
    fit = np.ascontiguousarray(np.broadcast_to(np.asarray(platt, dtype=bool), (rows,)))
    chain = (np.zeros(rows, dtype=bool) if chain is None
             else np.ascontiguousarray(np.broadcast_to(np.asarray(chain, dtype=bool), (rows,))))
    half = n // 2 if n >= 2 and fit.any() else n
    t = np.empty((D, half))
    b0 = np.empty(D)
    for k in range(D):
        t[k], b0[k] = metrics.platt_targets(y[k, :half])
    XT = np.ascontiguousarray(X.transpose(0, 2, 1))
    slope = np.empty(rows)
    intercept = np.empty(rows)
    out = np.empty((rows, len(SCORES)))
    threads = numba.get_num_threads()
    in_threads([functools.partial(_score_weight_rows, W[part], index[part], XT, y, p_true,
                                  codes[part], edges, bool(calibration), fit[part],
                                  chain[part], half, t, b0, int(max_iter), slope[part],
                                  intercept[part], out[part])
                for part in _chain_pieces(chain, threads)], threads)
    return _scores(out, slope, intercept)


def score_rows(Z, y, *, loss_codes=None, p_true=None, bins: int = 15,
               calibration: bool = True, platt=True) -> dict:
    """Test-set scores of every row of logits ``Z`` against hard labels ``y``.

    Parameters
    ----------
    Z : array_like, shape (rows, n)
        Logits ``X_test w`` of one predictor per row; finite.
    y : array_like, shape (n,)
        Test labels in {0, 1}.
    loss_codes : int array (rows,), optional
        Loss of each row's ``loss`` score (:data:`logsim.losses.LOSS_CODES`, a loss
        without a transition matrix); default logistic.
    p_true : array_like, shape (n,), optional
        Known posterior ``P(y = 1 | x)`` of each test sample, in [0, 1].
    bins : int, default 15
        Equal-width bins on [0, 1] for every ECE and MCE.
    calibration : bool, default True
        Compute the binned scores (``ece``, ``mce``, ``ece_top_label``); NaN otherwise.
    platt : bool or bool array (rows,), default True
        Rows to fit Platt scaling for (:func:`platt_fit_rows`) on samples ``0 .. n//2 - 1``
        and score on samples ``n//2 ..`` with and without it; NaN for the other rows.

    Returns
    -------
    dict of name -> float64 (rows,)
        The :data:`SCORES`: ``loss`` (the row's loss on the clean labels), ``accuracy``
        (of ``z > 0``), ``nll`` (:func:`~logsim.metrics.nll_from_logits`), ``brier``,
        ``mean_confidence``, ``mean_abs_logit``, ``ece``/``mce`` (``kind="positive"``),
        ``ece_top_label``, ``true_calibration_error`` (NaN without ``p_true``),
        ``ece_platt`` and ``ece_unscaled`` (NaN without Platt or with ``n < 2``), plus
        ``platt_slope`` and ``platt_intercept`` (NaN likewise).
    """
    Z = np.ascontiguousarray(metrics._as_float_array(Z, "Z"))
    if Z.ndim != 2:
        raise ValueError(f"Z must be 2-D (rows, n), got shape {Z.shape}")
    rows, n = Z.shape
    y, p_true = _checked_labels(y, n, p_true)
    codes = _checked_codes(loss_codes, rows)
    edges = np.linspace(0.0, 1.0, metrics._check_bins(bins) + 1)
    fit = np.broadcast_to(np.asarray(platt, dtype=bool), (rows,))
    half = n // 2 if n >= 2 and fit.any() else n
    slope = np.full(rows, np.nan)
    intercept = np.full(rows, np.nan)
    if half < n:
        which = np.flatnonzero(fit)
        slope[which], intercept[which] = platt_fit_rows(Z[which, :half], y[:half])
    out = np.empty((rows, len(SCORES)))
    threads = numba.get_num_threads()
    in_threads([functools.partial(_score_logit_rows, Z[part], y, p_true, codes[part], edges,
                                  bool(calibration), half, slope[part], intercept[part],
                                  out[part])
                for part in pieces(rows, threads)], threads)
    return _scores(out, slope, intercept)


# ------------------------------------------------------------------------ Platt scaling


@helper
def _platt_terms(z, t, a, b, scratch):
    """Objective, gradient and Hessian of Platt's fit at ``f = a z + b``.

    Objective ``sum_i t_i sp(-f_i) + (1 - t_i) sp(f_i) = sum_i sp(f_i) - t_i f_i`` with
    ``sp(f) = max(f, 0) + log1p(e^-|f|)``; gradient ``sum_i (sigmoid(f_i) - t_i) (z_i, 1)``;
    Hessian ``sum_i sigmoid(f_i) sigmoid(-f_i) (z_i, 1)(z_i, 1)^T``. One vectorised pass
    for the per-sample terms (``scratch`` is ``(3, n)``), then the sums in sample order.
    """
    n = z.shape[0]
    tail = scratch[0]
    prob = scratch[1]
    weight = scratch[2]
    for i in range(n):
        f = a * z[i] + b
        e = exp_nonpositive(-abs(f))
        inv = 1.0 / (1.0 + e)
        prob[i] = inv if f >= 0 else e * inv
        weight[i] = e * inv * inv
        tail[i] = log1p_unit(e)
    obj = 0.0
    g0 = 0.0
    g1 = 0.0
    h00 = 0.0
    h01 = 0.0
    h11 = 0.0
    for i in range(n):
        zi = z[i]
        f = a * zi + b
        obj += max(f, 0.0) + tail[i] - t[i] * f
        res = prob[i] - t[i]
        w = weight[i]
        g0 += res * zi
        g1 += res
        h00 += w * zi * zi
        h01 += w * zi
        h11 += w
    return obj, g0, g1, h00, h01, h11


@helper
def _platt_fit_row(z, t, a0, b0, max_iter, scratch):
    """Newton's method of :func:`logsim.metrics.platt_fit` on one score vector ``z``.

    The same targets ``t``, start ``(a0, b0)``, least-norm Newton step and Armijo
    backtracking as the reference, with one addition: once the Newton decrement is below
    ``1e-10`` of the objective, the objective's round-off (about ``n eps obj``) can no
    longer confirm a decrease, so up to three full Newton steps are taken without the
    line search (they bring the gradient to round-off level; the reference stops there
    instead, a few ulps of ``(a, b)`` away). Each trial point costs one pass over the
    samples (:func:`_platt_terms`): an accepted step's gradient and Hessian come with
    its objective. ``scratch`` is ``(3, n)``. Returns ``(a, b)``.
    """
    eps = np.finfo(np.float64).eps
    a, b = a0, b0
    polish = 0
    obj, g0, g1, h00, h01, h11 = _platt_terms(z, t, a, b, scratch)
    for _ in range(max_iter):
        # Least-norm Newton step -pinv(H) g with singular values below
        # 2 eps * sigma_max treated as 0 (numpy.linalg.lstsq's default rcond).
        half = 0.5 * (h00 - h11)
        lam1 = 0.5 * (h00 + h11) + math.sqrt(half * half + h01 * h01)
        det = h00 * h11 - h01 * h01
        lam2 = det / lam1 if lam1 > 0 else 0.0
        cut = 2.0 * eps * lam1
        if lam1 <= 0:
            s0 = 0.0
            s1 = 0.0
        elif lam2 > cut:
            s0 = -(h11 * g0 - h01 * g1) / det
            s1 = -(h00 * g1 - h01 * g0) / det
        else:  # rank one: H = lam1 v vᵀ
            v0, v1 = h01, lam1 - h00
            u0, u1 = lam1 - h11, h01
            if u0 * u0 + u1 * u1 > v0 * v0 + v1 * v1:
                v0, v1 = u0, u1
            norm = math.sqrt(v0 * v0 + v1 * v1)
            if norm == 0.0:  # diagonal H: the eigenvectors are the axes
                v0, v1 = (1.0, 0.0) if h00 >= h11 else (0.0, 1.0)
            else:
                v0, v1 = v0 / norm, v1 / norm
            c = (v0 * g0 + v1 * g1) / lam1
            s0 = -c * v0
            s1 = -c * v1
        decrement = -(g0 * s0 + g1 * s1)
        if decrement <= 1e-26 * max(obj, 1.0):
            break
        if decrement <= 1e-10 * max(obj, 1.0):
            a += s0  # polishing steps (see the docstring)
            b += s1
            polish += 1
            if polish >= 3:
                break
            obj, g0, g1, h00, h01, h11 = _platt_terms(z, t, a, b, scratch)
            continue
        step = 1.0
        armijo = True
        while True:
            ca = a + step * s0
            cb = b + step * s1
            cobj, c0, c1, c00, c01, c11 = _platt_terms(z, t, ca, cb, scratch)
            if cobj <= obj - 1e-4 * step * decrement:
                break
            if step < 1e-10:
                armijo = False
                break
            step *= 0.5
        if not cobj < obj:
            break
        a, b = ca, cb
        obj, g0, g1, h00, h01, h11 = cobj, c0, c1, c00, c01, c11
        if not armijo:
            break  # the decrease is at round-off level: converged
    return a, b


@called
def _platt_rows(Z, t, a0, b0, max_iter, out):
    """:func:`_platt_fit_row` of every row of ``Z``, into ``out[r] = (a, b)``."""
    scratch = np.empty((3, Z.shape[1]))
    for r in range(Z.shape[0]):
        out[r, 0], out[r, 1] = _platt_fit_row(Z[r], t, a0, b0, max_iter, scratch)


def platt_fit_rows(Z, y, *, max_iter: int = 100):
    """:func:`logsim.metrics.platt_fit` for many score vectors on one set of labels, compiled.

    Row ``r`` of the result is ``platt_fit(Z[r], y)`` to round-off of the converged
    optimum (see :func:`_platt_rows` for the one difference, the polishing steps),
    computed on ``numba.get_num_threads()`` threads; no shared state, so the result does
    not depend on the thread count.

    Parameters
    ----------
    Z : array_like, shape (..., n)
        Scores, finite.
    y : array_like, shape (n,)
        Labels in {0, 1}, shared by every row.
    max_iter : int, default 100

    Returns
    -------
    (a, b) : ndarrays of shape ``Z.shape[:-1]`` (floats for 1-D ``Z``)
        Platt parameters, ``P(y = 1 | z) = sigmoid(a z + b)``.
    """
    Z = metrics._as_float_array(Z, "Z")
    y = metrics._hard_labels(y, "y")
    if y.ndim != 1 or y.shape[0] != Z.shape[-1]:
        raise ValueError(f"y must have shape ({Z.shape[-1]},) to match Z, got {y.shape}")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    t, b0 = metrics.platt_targets(y)
    batch = Z.shape[:-1]
    rows = np.ascontiguousarray(Z.reshape(-1, Z.shape[-1]))
    out = np.empty((rows.shape[0], 2))
    threads = numba.get_num_threads()
    calls = [functools.partial(_platt_rows, rows[part], t, 0.0, b0, int(max_iter), out[part])
             for part in pieces(rows.shape[0], threads)]
    in_threads(calls, threads)
    return metrics._out(out[:, 0].reshape(batch)), metrics._out(out[:, 1].reshape(batch))


# ------------------------------------------------------------------- training-set margins


@called
def _margin_rows(W, data_index, target_index, XT, sign, s_target, hinge, out):
    """``out[r] = (normalized margin, active fraction)`` of weight row ``W[r]`` (finite) on
    training set ``XT[data_index[r]]`` with the labels of target set ``t = target_index[r]``.

    Normalised margin ``min_i sign[t, i] z_i / ||w||`` (NaN where ``w = 0`` or a sign is
    0); active fraction ``mean_i [s_i != 0, 1 - s_i z_i > 0]`` with
    ``s = s_target[t]`` where ``hinge[r]`` (the margin losses' flat region), 1 otherwise.
    """
    n = XT.shape[2]
    z = np.empty(n)
    for r in range(W.shape[0]):
        w = W[r]
        t = target_index[r]
        _logits(w, XT[data_index[r]], z)
        lowest = math.inf
        for i in range(n):
            lowest = min(lowest, sign[t, i] * z[i])
        sum_sq = 0.0
        for j in range(w.shape[0]):
            sum_sq += w[j] * w[j]
        norm = math.sqrt(sum_sq)
        out[r, 0] = lowest / norm if norm > 0.0 else math.nan
        if hinge[r]:
            active = 0
            for i in range(n):
                active += s_target[t, i] != 0.0 and 1.0 - s_target[t, i] * z[i] > 0.0
            out[r, 1] = active / n
        else:
            out[r, 1] = 1.0


def margin_rows(W, X, sign, s_target, hinge, *, data_index=None, target_index=None
                ) -> tuple[np.ndarray, np.ndarray]:
    """Normalised margins and hinge active fractions of weight rows on training sets.

    The compiled form of :func:`logsim.metrics.normalized_margin` (labels ``sign`` in
    {-1, 0, +1}; a 0 makes the margin NaN) and :func:`logsim.metrics.hinge_active_fraction`
    (signed targets ``s_target = 2 y - 1``, for the rows where ``hinge`` is true; 1
    elsewhere), with the logits of each row computed in a fixed order. ``X`` is one
    training set ``(n, d)`` or a stack ``(D, n, d)`` indexed by ``data_index``;
    ``sign`` and ``s_target`` are ``(n,)`` or ``(T, n)`` indexed by ``target_index``.

    Returns
    -------
    (normalized_margin, active_fraction) : float64 arrays (rows,)
    """
    W = np.ascontiguousarray(metrics._as_float_array(W, "W"))
    X = metrics._as_float_array(X, "X")
    X = X[None] if X.ndim == 2 else X
    rows = W.shape[0]
    sign = np.ascontiguousarray(np.atleast_2d(sign), dtype=np.float64)
    s_target = np.ascontiguousarray(np.atleast_2d(s_target), dtype=np.float64)
    hinge = np.ascontiguousarray(np.broadcast_to(hinge, (rows,)), dtype=bool)
    zeros = np.zeros(rows, dtype=np.int64)
    data_index = zeros if data_index is None else np.ascontiguousarray(data_index, np.int64)
    target_index = (zeros if target_index is None
                    else np.ascontiguousarray(target_index, np.int64))
    n = X.shape[1]
    if sign.shape[1] != n or s_target.shape != sign.shape:
        raise ValueError(f"sign and s_target must have {n} columns and the same shape")
    out = np.empty((rows, 2))
    XT = np.ascontiguousarray(X.transpose(0, 2, 1))
    threads = numba.get_num_threads()
    in_threads([functools.partial(_margin_rows, W[part], data_index[part], target_index[part],
                                  XT, sign, s_target, hinge[part], out[part])
                for part in pieces(rows, threads)], threads)
    out[:, 0][np.any(sign == 0.0, axis=1)[target_index]] = np.nan
    return out[:, 0], out[:, 1]
