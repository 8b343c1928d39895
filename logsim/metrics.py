"""Calibration, entropy floors, confidence and margin geometry on plain NumPy arrays.

Conventions (one place, used by every function here):

* Probabilities ``p`` are for class 1; hard labels ``y`` are in {0, 1} (booleans
  allowed). Where soft targets make sense (Brier score, cross-entropy, entropy) ``y``
  may be any value in [0, 1]. Geometry functions also accept labels in {-1, +1}.
* Reductions run over the last axis (the samples); leading axes are batch axes and
  broadcast. A 1-D input gives a Python float, a batched input an ndarray.
* Binned calibration. ``kind="positive"``: confidence ``p``, outcome ``y`` (netcal /
  torchmetrics binary convention, and scikit-learn's ``calibration_curve``).
  ``kind="top_label"``: prediction ``p >= 0.5`` (a tie at 0.5 predicts class 1),
  confidence ``max(p, 1 - p)``, outcome ``prediction == y`` (Guo et al. 2017).
* Bin edges: ``strategy="uniform"`` is ``linspace(0, 1, bins + 1)`` for both kinds,
  as in Guo et al.'s code, so top-label confidences (which lie in [0.5, 1]) only
  populate the upper half of the bins; ``strategy="quantile"`` is
  ``np.percentile(conf, linspace(0, 1, bins + 1) * 100)`` (equal-mass edges, as
  ``calibration_curve``).
* Bins are right-closed, ``(lo, hi]``, and the first bin also holds its left edge:
  ``bin = np.searchsorted(edges[1:-1], conf)`` (side "left"), exactly as
  scikit-learn's ``calibration_curve``. Empty bins get count 0 and NaN means, and
  are left out of ECE and MCE.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from logsim.rng import check_seed
from logsim.svm import signed_rows

__all__ = [
    "Reliability",
    "angle",
    "binary_entropy",
    "brier",
    "calibration_errors",
    "direction_gap",
    "ece",
    "ece_bootstrap",
    "entropy_floor",
    "hinge_active_fraction",
    "kl_gap",
    "logistic_fit",
    "mce",
    "mean_abs_logit",
    "mean_confidence",
    "nll",
    "nll_from_logits",
    "normalized_margin",
    "platt_apply",
    "platt_fit",
    "platt_targets",
    "reliability",
    "true_calibration_error",
]

_STRATEGIES = ("uniform", "quantile")
_KINDS = ("positive", "top_label")


# --------------------------------------------------------------------------- validation


def _as_float_array(x, name: str, *, min_ndim: int = 1) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype == bool:
        arr = arr.astype(np.float64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)  # no copy of a float64 input: never modified
    if arr.ndim < min_ndim or arr.size == 0:
        raise ValueError(
            f"{name} must be a non-empty array with at least {min_ndim} dimension(s), "
            f"got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN or infinite entries")
    return arr


def _unit_interval(x, name: str, *, min_ndim: int = 1) -> np.ndarray:
    arr = _as_float_array(x, name, min_ndim=min_ndim)
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{arr.min():.6g}, {arr.max():.6g}]"
        )
    return arr


def _hard_labels(y, name: str = "y") -> np.ndarray:
    arr = _as_float_array(y, name)
    bad = (arr != 0.0) & (arr != 1.0)
    if np.any(bad):
        raise ValueError(
            f"{name} must hold hard labels in {{0, 1}}, got value {float(arr[bad].flat[0]):g}"
        )
    return arr


def _same_shape_1d(p: np.ndarray, y: np.ndarray, pname: str, yname: str) -> None:
    if p.ndim != 1:
        raise ValueError(f"{pname} must be 1-D (n,), got shape {p.shape}")
    if y.shape != p.shape:
        raise ValueError(f"{yname} must have the shape of {pname} {p.shape}, got {y.shape}")


def _broadcast(a: np.ndarray, b: np.ndarray, aname: str, bname: str):
    try:
        return np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(
            f"{aname} of shape {a.shape} and {bname} of shape {b.shape} do not broadcast"
        ) from None


def _check_bins(bins) -> int:
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral) or bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins!r}")
    return int(bins)


def _check_choice(value, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value


def _out(x):
    """Python float for a 0-d result, the array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + e^-x)`` elementwise; exp of a non-positive number only, so no overflow."""
    e = np.exp(-np.abs(x))
    # 1 / (1 + e) for x >= 0, e / (1 + e) below: one division, not one per branch
    return np.where(x >= 0, 1.0, e) / (1.0 + e)


def softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + e^x) = max(x, 0) + log1p(e^{-|x|}), exact to round-off for all finite x."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


# ------------------------------------------------------------------- binned calibration


@dataclass(frozen=True)
class Reliability:
    """Per-bin statistics of a reliability diagram.

    Attributes
    ----------
    edges : ndarray, shape (bins + 1,)
        Bin edges; bin ``m`` is ``(edges[m], edges[m + 1]]`` (the first bin also
        holds ``edges[0]``).
    mean_confidence : ndarray, shape (bins,)
        Mean confidence ``conf(B_m)`` per bin; NaN for an empty bin.
    frequency : ndarray, shape (bins,)
        Observed frequency ``acc(B_m)`` (mean outcome) per bin; NaN for an empty bin.
    count : ndarray of int, shape (bins,)
        ``|B_m|``.
    """

    edges: np.ndarray
    mean_confidence: np.ndarray
    frequency: np.ndarray
    count: np.ndarray


def _confidence_outcome(p, y, kind: str):
    p = _unit_interval(p, "p")
    y = _hard_labels(y, "y")
    _same_shape_1d(p, y, "p", "y")
    _check_choice(kind, "kind", _KINDS)
    if kind == "positive":
        return p, y
    pred = p >= 0.5  # a tie at 0.5 predicts class 1
    conf = np.where(pred, p, 1.0 - p)
    return conf, (pred == (y == 1.0)).astype(np.float64)


def _edges(conf: np.ndarray, bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, bins + 1)
    # Same expression as sklearn.calibration.calibration_curve, for identical edges.
    return np.percentile(conf, np.linspace(0, 1, bins + 1) * 100)


def _bin_sums(conf: np.ndarray, outcome: np.ndarray, edges: np.ndarray):
    """Per-bin count, sum of confidences and sum of outcomes; bins are (lo, hi]."""
    bins = len(edges) - 1
    ids = np.searchsorted(edges[1:-1], conf)
    count = np.bincount(ids, minlength=bins)
    s_conf = np.bincount(ids, weights=conf, minlength=bins)
    s_out = np.bincount(ids, weights=outcome, minlength=bins)
    return count, s_conf, s_out


def _ece_from(conf: np.ndarray, outcome: np.ndarray, edges: np.ndarray) -> float:
    # sum_m |B_m|/n |acc_m - conf_m| = sum_m |sum_{B_m} outcome - sum_{B_m} conf| / n;
    # empty bins contribute 0.
    _, s_conf, s_out = _bin_sums(conf, outcome, edges)
    return float(np.abs(s_out - s_conf).sum() / len(conf))


def reliability(
    p, y, bins: int = 15, strategy: str = "uniform", kind: str = "positive"
) -> Reliability:
    """Reliability-diagram statistics: per-bin confidence, frequency and count.

    Parameters
    ----------
    p : array_like, shape (n,)
        Predicted probabilities of class 1, in [0, 1].
    y : array_like, shape (n,)
        Labels in {0, 1}.
    bins : int, default 15
        Number of bins (Guo et al. 2017 use 15).
    strategy : {"uniform", "quantile"}
        Equal-width edges on [0, 1], or equal-mass edges from the confidences.
    kind : {"positive", "top_label"}
        Binary convention (module docstring).

    Returns
    -------
    Reliability
    """
    bins = _check_bins(bins)
    _check_choice(strategy, "strategy", _STRATEGIES)
    conf, outcome = _confidence_outcome(p, y, kind)
    edges = _edges(conf, bins, strategy)
    count, s_conf, s_out = _bin_sums(conf, outcome, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.where(count > 0, s_conf / count, np.nan)
        freq = np.where(count > 0, s_out / count, np.nan)
    return Reliability(edges=edges, mean_confidence=mean_conf, frequency=freq, count=count)


def ece(p, y, bins: int = 15, strategy: str = "uniform", kind: str = "positive") -> float:
    """Expected calibration error with binning.

    ``ECE = sum_m |B_m|/n |acc(B_m) - conf(B_m)|`` over non-empty bins (Guo, Pleiss,
    Sun & Weinberger, "On Calibration of Modern Neural Networks", ICML 2017;
    equal-mass bins: Nixon et al., "Measuring Calibration in Deep Learning", 2019).
    Binned ECE is a biased estimator: it is positive even for a perfectly calibrated
    model (compare :func:`true_calibration_error`).

    Parameters are those of :func:`reliability`; bins are ``(lo, hi]``, assigned as
    in scikit-learn's ``calibration_curve``, whose count-weighted
    ``|prob_true - prob_pred|`` equals this for ``kind="positive"``.

    Returns
    -------
    float
    """
    bins = _check_bins(bins)
    _check_choice(strategy, "strategy", _STRATEGIES)
    conf, outcome = _confidence_outcome(p, y, kind)
    return _ece_from(conf, outcome, _edges(conf, bins, strategy))


def mce(p, y, bins: int = 15, strategy: str = "uniform", kind: str = "positive") -> float:
    """Maximum calibration error ``MCE = max_m |acc(B_m) - conf(B_m)|`` over non-empty bins.

    Guo et al. 2017, eq. (5); parameters as :func:`reliability`.
    """
    r = reliability(p, y, bins=bins, strategy=strategy, kind=kind)
    filled = r.count > 0
    return float(np.max(np.abs(r.frequency[filled] - r.mean_confidence[filled])))


def calibration_errors(p, y, bins: int = 15, kind: str = "positive"):
    """ECE and MCE with equal-width bins, batched over leading axes.

    The same numbers as ``ece(p[i], y[i], bins, "uniform", kind)`` and
    ``mce(...)`` row by row (same edges ``linspace(0, 1, bins + 1)``, same
    ``(lo, hi]`` assignment, same per-bin sums), computed in one pass for many
    predictors on one test set, e.g. every trajectory and checkpoint of a sweep.

    Parameters
    ----------
    p : array_like, shape (..., n)
        Predicted probabilities of class 1, in [0, 1].
    y : array_like, shape (n,) or broadcastable to ``p``
        Labels in {0, 1}.
    bins : int, default 15
    kind : {"positive", "top_label"}
        Binary convention (module docstring).

    Returns
    -------
    (ece, mce) : floats for 1-D ``p``, else ndarrays of shape ``p.shape[:-1]``
    """
    bins = _check_bins(bins)
    _check_choice(kind, "kind", _KINDS)
    p = _unit_interval(p, "p")
    y = _hard_labels(y, "y")
    p, y = _broadcast(p, y, "p", "y")
    if kind == "positive":
        conf, outcome = p, y
    else:
        pred = p >= 0.5  # a tie at 0.5 predicts class 1
        conf = np.where(pred, p, 1.0 - p)
        outcome = (pred == (y == 1.0)).astype(np.float64)
    batch, n = conf.shape[:-1], conf.shape[-1]
    rows = int(np.prod(batch, dtype=np.int64))
    conf = conf.reshape(rows, n)
    outcome = outcome.reshape(rows, n)
    edges = _edges(conf, bins, "uniform")
    # Bin m of row r is flat bin r * bins + m (the rule of _bin_sums); bincount adds in
    # order of appearance, i.e. row by row in the order of _bin_sums on that row alone.
    ids = np.searchsorted(edges[1:-1], conf)
    flat = (ids + bins * np.arange(rows)[:, None]).ravel()
    size = rows * bins
    count = np.bincount(flat, minlength=size).reshape(rows, bins)
    s_conf = np.bincount(flat, weights=conf.ravel(), minlength=size).reshape(rows, bins)
    s_out = np.bincount(flat, weights=outcome.ravel(), minlength=size).reshape(rows, bins)
    ece_ = np.abs(s_out - s_conf).sum(axis=1) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = np.abs(s_out / count - s_conf / count)
    mce_ = np.max(np.where(count > 0, gap, -np.inf), axis=1)
    return _out(ece_.reshape(batch)), _out(mce_.reshape(batch))


def ece_bootstrap(
    p,
    y,
    *,
    bins: int = 15,
    strategy: str = "uniform",
    kind: str = "positive",
    n_boot: int = 1000,
    level: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """ECE with a percentile-bootstrap confidence interval over test points.

    Replicate ``b`` resamples the ``n`` points with replacement (the ``b``-th call of
    ``rng.integers(0, n, size=n)`` with ``rng = np.random.default_rng([7, seed])``)
    and recomputes the ECE, quantile edges included. The interval is the
    ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of the replicates (Efron &
    Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).

    Notes
    -----
    Binned ECE is biased upwards, and so are its replicates; for a nearly calibrated
    model the interval can sit above the point estimate. Bins whose outcomes are all
    0 or all 1 barely vary under resampling, so intervals are too narrow there.

    Returns
    -------
    (ece, lo, hi) : tuple of float
    """
    bins = _check_bins(bins)
    _check_choice(strategy, "strategy", _STRATEGIES)
    if isinstance(n_boot, bool) or not isinstance(n_boot, numbers.Integral) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")
    seed = check_seed(seed)
    conf, outcome = _confidence_outcome(p, y, kind)
    n = len(conf)
    estimate = _ece_from(conf, outcome, _edges(conf, bins, strategy))
    rng = np.random.default_rng([7, seed])
    fixed = _edges(conf, bins, "uniform") if strategy == "uniform" else None
    reps = np.empty(int(n_boot))
    for b in range(int(n_boot)):
        idx = rng.integers(0, n, size=n)
        c, o = conf[idx], outcome[idx]
        reps[b] = _ece_from(c, o, fixed if fixed is not None else _edges(c, bins, strategy))
    lo, hi = np.quantile(reps, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return estimate, float(lo), float(hi)


def true_calibration_error(p_model, p_true):
    """Estimate-free calibration error ``mean_i |p_model_i - p_true_i|`` (last axis).

    When the data-generating posterior ``p_true(x) = P(y = 1 | x)`` is known (synthetic
    data), this is the quantity binned ECE estimates with bias: it is 0 for a perfectly
    calibrated model. It is the same for both binary conventions, since
    ``|max(p, 1-p) - P(correct)| = |p - p_true|``. (It bounds the canonical
    ``E|E[Y | p_model] - p_model|`` from above, with equality when ``p_true`` is a
    function of ``p_model``, e.g. a monotone link of the true logit.)

    Parameters
    ----------
    p_model, p_true : array_like, shape (..., n)
        Probabilities in [0, 1]; they broadcast.

    Returns
    -------
    float or ndarray, shape (...)
    """
    a, b = _broadcast(
        _unit_interval(p_model, "p_model"), _unit_interval(p_true, "p_true"), "p_model", "p_true"
    )
    return _out(np.mean(np.abs(a - b), axis=-1))


# ------------------------------------------------------------------ proper scoring rules


def brier(p, y):
    """Brier score ``mean_i (p_i - y_i)²`` over the last axis (Brier 1950).

    ``p`` in [0, 1]; ``y`` in [0, 1] (hard or soft), broadcasting against ``p``.
    Equals ``sklearn.metrics.brier_score_loss`` for hard labels.
    """
    p, y = _broadcast(_unit_interval(p, "p"), _unit_interval(y, "y"), "p", "y")
    return _out(np.mean((p - y) ** 2, axis=-1))


def nll(p, y):
    """Mean binary cross-entropy ``-mean_i [y_i ln p_i + (1 - y_i) ln(1 - p_i)]`` in nats.

    Last axis; ``y`` in [0, 1] may be soft, with ``0 ln 0 = 0``. No clipping: a
    confident wrong prediction (``p = 0`` with ``y > 0``) gives ``inf``. Prefer
    :func:`nll_from_logits` when logits are available. Equals
    ``sklearn.metrics.log_loss`` for hard labels and ``p`` away from 0 and 1.
    """
    p, y = _broadcast(_unit_interval(p, "p"), _unit_interval(y, "y"), "p", "y")
    # Terms with a zero weight are 0 even where the log is -inf (0 * -inf is masked).
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = -(
            np.where(y > 0, y * np.log(p), 0.0) + np.where(y < 1, (1.0 - y) * np.log1p(-p), 0.0)
        )
    return _out(np.mean(loss, axis=-1))


def nll_from_logits(z, y):
    """Mean binary cross-entropy from logits, ``mean_i [y_i sp(-z_i) + (1 - y_i) sp(z_i)]``.

    ``sp(t) = ln(1 + e^t) = max(t, 0) + log1p(e^{-|t|})`` is the softplus, so the
    loss is exact to round-off for any finite logit (no ``log(sigmoid)``). Equal to
    ``-[y ln sigma(z) + (1 - y) ln(1 - sigma(z))]``; ``y`` in [0, 1] may be soft,
    and its minimum over ``z`` is ``H(y)`` at ``z = logit(y)``. Last axis; ``y``
    broadcasts against ``z``.
    """
    z, y = _broadcast(_as_float_array(z, "z"), _unit_interval(y, "y"), "z", "y")
    # sp(-z) and sp(z) share log1p(e^{-|z|}): one exp and one log1p per logit, with the
    # same values as two calls of softplus.
    tail = np.log1p(np.exp(-np.abs(z)))
    loss = y * (np.maximum(-z, 0.0) + tail) + (1.0 - y) * (np.maximum(z, 0.0) + tail)
    return _out(np.mean(loss, axis=-1))


# ------------------------------------------------------------------------ Platt scaling


def platt_fit(z, y, *, max_iter: int = 100) -> tuple[float, float]:
    """Fit Platt scaling ``P(y = 1 | z) = sigmoid(a z + b)`` on held-out scores.

    Minimises the cross-entropy ``sum_i [t_i sp(-f_i) + (1 - t_i) sp(f_i)]``,
    ``f_i = a z_i + b``, against Platt's regularised targets
    ``t_i = (N+ + 1)/(N+ + 2)`` for ``y_i = 1`` and ``1/(N- + 2)`` for ``y_i = 0``
    (J. Platt, "Probabilistic outputs for support vector machines", 1999), by
    Newton's method with backtracking line search (Lin, Lin & Weng, "A note on
    Platt's probabilistic outputs for support vector machines", Mach. Learn. 2007),
    from ``a = 0, b = ln((N+ + 1)/(N- + 1))``. The targets lie strictly inside (0, 1),
    so the objective is coercive and the minimiser finite.

    Sign convention: scikit-learn's ``_sigmoid_calibration`` returns ``(A, B)`` with
    ``P = 1 / (1 + exp(A z + B))``, i.e. ``A = -a``, ``B = -b``.

    Parameters
    ----------
    z : array_like, shape (n,)
        Scores (logits, decision values), finite.
    y : array_like, shape (n,)
        Labels in {0, 1}.
    max_iter : int, default 100

    Returns
    -------
    (a, b) : tuple of float
    """
    z = _as_float_array(z, "z")
    y = _hard_labels(y, "y")
    _same_shape_1d(z, y, "z", "y")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    t, b0 = platt_targets(y)
    theta, _ = logistic_fit(np.column_stack([z, np.ones_like(z)]), t, w0=[0.0, b0],
                            max_iter=max_iter)
    return float(theta[0]), float(theta[1])


def logistic_fit(X, t, *, w0=None, average: bool = False, tol: float = 1e-26,
                 max_iter: int = 100, max_norm: float = np.inf):
    """Minimise the cross-entropy of targets ``t`` against ``sigmoid(X w)`` by Newton's method.

    The objective is ``F(w) = sum_i t_i sp(-x_i.w) + (1 - t_i) sp(x_i.w)`` (divided by ``n``
    with ``average``), ``sp`` the softplus; each step is the least-norm Newton step
    ``-pinv(H) g`` (a singular Hessian, e.g. a constant column, is allowed), followed by
    Armijo backtracking (Lin, Lin & Weng, Mach. Learn. 2007). It stops when the Newton
    decrement ``-g.step`` is at most ``tol max(F, 1)``, or when no step decreases ``F`` at
    round-off level. Used by :func:`platt_fit` (two columns, ``z`` and 1) and by the claim
    studies (the minimiser of a soft-target logistic regression); the compiled Platt fits
    (:mod:`logsim.metric_kernels`) are tested against it.

    Returns
    -------
    (w, converged) : ndarray (d,), bool
        ``converged`` is False when ``max_iter`` ran out or ``||w||`` passed ``max_norm``
        (no minimiser: the weights run off, as on separable hard labels).
    """
    X = np.asarray(X, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive integer, got {max_iter!r}")
    scale = 1.0 / len(t) if average else 1.0
    w = np.zeros(X.shape[1]) if w0 is None else np.array(w0, dtype=np.float64)

    def objective(w):
        f = X @ w
        return float(np.sum(t * softplus(-f) + (1.0 - t) * softplus(f))) * scale

    obj = objective(w)
    for _ in range(int(max_iter)):
        f = X @ w
        r = sigmoid(f) - t  # d loss / d f
        h = sigmoid(f) * sigmoid(-f)  # d² loss / d f²
        grad = (X.T @ r) * scale
        hess = ((X * h[:, None]).T @ X) * scale
        step = -np.linalg.lstsq(hess, grad, rcond=None)[0]
        decrement = -float(grad @ step)  # Newton decrement², >= 0
        if decrement <= tol * max(obj, 1.0):
            return w, True
        s = 1.0
        while True:
            cand = w + s * step
            cand_obj = objective(cand)
            # Armijo condition; stop halving once the step no longer moves w.
            if cand_obj <= obj - 1e-4 * s * decrement or s < 1e-10:
                break
            s *= 0.5
        if cand_obj > obj:
            return w, True  # no decrease at round-off level: converged
        w, obj = cand, cand_obj
        if np.linalg.norm(w) > max_norm:
            return w, False
    return w, False


def platt_targets(y: np.ndarray) -> tuple[np.ndarray, float]:
    """Platt's regularised targets of hard labels ``y`` and the starting intercept.

    ``t_i = (N+ + 1)/(N+ + 2)`` for ``y_i = 1`` and ``1/(N- + 2)`` for ``y_i = 0``
    (Platt 1999); the start is ``a = 0, b = ln((N+ + 1)/(N- + 1))``.
    """
    n_pos = float(y.sum())
    n_neg = len(y) - n_pos
    t = np.where(y == 1.0, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    return t, float(np.log((n_pos + 1.0) / (n_neg + 1.0)))


def platt_apply(z, a: float, b: float):
    """Platt-scaled probabilities ``sigmoid(a z + b)`` (elementwise, any shape)."""
    z = _as_float_array(z, "z", min_ndim=0)
    for name, v in (("a", a), ("b", b)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ValueError(f"{name} must be a finite real number, got {v!r}")
    return _out(sigmoid(a * z + b))


# ------------------------------------------------------------------- entropy floors


def binary_entropy(y):
    """Binary entropy ``H(y) = -y ln y - (1 - y) ln(1 - y)`` in nats, ``0 ln 0 = 0``.

    Elementwise for ``y`` in [0, 1]. ``H(y)`` is the minimum over ``p`` of the
    cross-entropy ``-[y ln p + (1 - y) ln(1 - p)] = H(y) + KL(y || p)``, reached at
    ``p = y`` (Cover & Thomas, *Elements of Information Theory*, 2006, sec. 2.3).
    """
    y = _unit_interval(y, "y", min_ndim=0)
    q = 1.0 - y
    # Where a weight is 0 its log is replaced by log 1 = 0: 0 ln 0 = 0, no warning.
    h = -(y * np.log(np.where(y > 0, y, 1.0)) + q * np.log(np.where(q > 0, q, 1.0)))
    return _out(h + 0.0)  # + 0.0 turns -0.0 into 0.0


def entropy_floor(targets, axis: int = -1):
    """Entropy floor ``mean_i H(y_i)`` of the mean cross-entropy against ``targets``.

    No predictor reaches a mean cross-entropy below this, since
    ``CE(y, p) = H(y) + KL(y || p) >= H(y)``. With binary label smoothing ``eps``
    (targets ``{eps/2, 1 - eps/2}``, the PyTorch/Keras convention) every target has
    ``H(eps/2)``: 0.1169 nats at ``eps = 0.05``, 0.1985 at 0.1, 0.3251 at 0.2.

    Parameters
    ----------
    targets : array_like
        Targets in [0, 1].
    axis : int, default -1
        Sample axis to average over.
    """
    t = _unit_interval(targets, "targets")
    if (
        isinstance(axis, bool)
        or not isinstance(axis, numbers.Integral)
        or not (-t.ndim <= axis < t.ndim)
    ):
        raise ValueError(f"axis must be an integer in [{-t.ndim}, {t.ndim - 1}], got {axis!r}")
    return _out(np.mean(binary_entropy(t), axis=axis))


def kl_gap(loss, targets, axis: int = -1):
    """Excess loss over the entropy floor, ``loss - mean_i H(y_i)``.

    For a mean cross-entropy ``loss`` this is the mean ``KL(y_i || p_i) >= 0``, the
    part of the loss a model can still remove. ``loss`` (any shape, e.g. one value
    per checkpoint) broadcasts against the floor.
    """
    loss = _as_float_array(loss, "loss", min_ndim=0)
    floor = entropy_floor(targets, axis=axis)
    loss, floor = _broadcast(loss, np.asarray(floor), "loss", "entropy floor of targets")
    return _out(loss - floor)


# ------------------------------------------------------------------------- confidence


def mean_confidence(p):
    """Mean top-label confidence ``mean_i max(p_i, 1 - p_i)`` over the last axis."""
    p = _unit_interval(p, "p")
    return _out(np.mean(np.maximum(p, 1.0 - p), axis=-1))


def mean_abs_logit(z):
    """Mean absolute logit ``mean_i |z_i|`` over the last axis (confidence in logit units)."""
    z = _as_float_array(z, "z")
    return _out(np.mean(np.abs(z), axis=-1))


# --------------------------------------------------------------------------- geometry


def _weights_and_reference(W, w_hat):
    W = _as_float_array(W, "W")
    w_hat = _as_float_array(w_hat, "w_hat")
    if w_hat.ndim != 1:
        raise ValueError(f"w_hat must be 1-D (d,), got shape {w_hat.shape}")
    if W.shape[-1] != w_hat.shape[0]:
        raise ValueError(
            f"W must have last dimension d = {w_hat.shape[0]} (len(w_hat)), got shape {W.shape}"
        )
    norm = np.linalg.norm(w_hat)
    if norm == 0.0:
        raise ValueError("w_hat must be non-zero, got the zero vector")
    return W, w_hat / norm


def _unit_rows(W: np.ndarray) -> np.ndarray:
    """``W / ||W||`` along the last axis; NaN rows where ``W = 0`` (no direction)."""
    norm = np.linalg.norm(W, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, W / np.where(norm > 0, norm, 1.0), np.nan)


def direction_gap(W, w_hat):
    """Direction gap ``|| W/||W|| - w_hat/||w_hat|| ||`` (Soudry et al. 2018, Theorem 3).

    Gradient descent on separable data has a gap of order ``1/log t``.

    Parameters
    ----------
    W : array_like, shape (..., d)
        Weight vectors (leading batch axes, e.g. trajectories x checkpoints).
    w_hat : array_like, shape (d,)
        Reference direction, typically :func:`logsim.svm.max_margin`; non-zero.

    Returns
    -------
    float or ndarray, shape (...)
        In [0, 2]; NaN where ``W = 0``.
    """
    W, u = _weights_and_reference(W, w_hat)
    return _out(np.linalg.norm(_unit_rows(W) - u, axis=-1))


def angle(W, w_hat):
    """Angle between ``W`` and ``w_hat`` in radians, in [0, pi]; NaN where ``W = 0``.

    Uses ``theta = 2 atan2(||u - v||, ||u + v||)`` for unit vectors ``u, v``
    (W. Kahan, "How futile are mindless assessments of roundoff...", 2006), accurate
    for tiny and near-pi angles where ``arccos(u.v)`` loses half the digits.
    Shapes as :func:`direction_gap`.
    """
    W, v = _weights_and_reference(W, w_hat)
    u = _unit_rows(W)
    return _out(2.0 * np.arctan2(np.linalg.norm(u - v, axis=-1), np.linalg.norm(u + v, axis=-1)))


def normalized_margin(W, X, y):
    """Normalised margin ``min_i s_i x_iᵀW / ||W||`` (Soudry et al. 2018).

    It converges to the max margin ``1/||w_hat||`` along gradient descent on separable
    data; it is negative while some point is misclassified.

    Parameters
    ----------
    W : array_like, shape (..., d)
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Labels in {0, 1} or {-1, +1}.

    Returns
    -------
    float or ndarray, shape (...)
        NaN where ``W = 0``.
    """
    Z = signed_rows(X, y)
    W = _as_float_array(W, "W")
    if W.shape[-1] != Z.shape[1]:
        raise ValueError(
            f"W must have last dimension d = {Z.shape[1]} (columns of X), got shape {W.shape}"
        )
    norm = np.linalg.norm(W, axis=-1)
    m = np.min(W @ Z.T, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _out(np.where(norm > 0, m / np.where(norm > 0, norm, 1.0), np.nan))


def hinge_active_fraction(Z, y):
    """Fraction of points with a non-zero hinge gradient, ``mean_i [s_i != 0, 1 - s_i z_i > 0]``.

    Plain gradient descent on the hinge loss ``max(0, 1 - s z)`` (and on the squared
    hinge ``max(0, 1 - s z)²``) stops moving once this is 0, unlike the logistic loss
    whose gradient never vanishes. Their derivatives ``-s [s z < 1]`` and
    ``-2 s max(0, 1 - s z)`` are non-zero exactly where ``s != 0`` and ``1 - s z > 0``.

    Parameters
    ----------
    Z : array_like, shape (..., n)
        Logits ``z_i = x_iᵀw``.
    y : array_like, shape (n,) or broadcastable to Z
        Labels in {-1, +1} (``s = y``), or labels in {0, 1} or soft/smoothed targets
        in [0, 1] (``s = 2 y - 1``, the signed target the margin losses of
        :mod:`logsim.losses` use; a smoothed label ``1 - eps/2`` has ``s = 1 - eps``).

    Returns
    -------
    float or ndarray, shape (...)
    """
    Z = _as_float_array(Z, "Z")
    y = _as_float_array(y, "y")
    if np.all((y == -1.0) | (y == 1.0)):
        s = y
    elif y.min() >= 0.0 and y.max() <= 1.0:
        s = 2.0 * y - 1.0
    else:
        raise ValueError(
            "y must hold labels in {0, 1} or {-1, +1}, or targets in [0, 1], got values in "
            f"[{y.min():.6g}, {y.max():.6g}]"
        )
    Z, s = _broadcast(Z, s, "Z", "y")
    return _out(np.mean((s != 0.0) & (1.0 - s * Z > 0.0), axis=-1))
