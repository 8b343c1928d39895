"""Per-sample losses of a logit ``z`` against a target ``y`` in [0, 1], and their derivatives.

Every loss is a pair of small scalar helpers, ``loss_value(code, z, y, rho_pos, rho_neg)``
and ``loss_derivative(code, ...)``, selected by an integer code so that one
trajectory kernel serves every loss (no copy of the kernel per loss).

Conventions
-----------
* ``y`` is the training target in [0, 1]: a hard label, a smoothed label or a
  soft label. Margin losses use the signed target ``s = 2y - 1``.
* ``rho_pos = P(noisy 0 | clean 1)`` and ``rho_neg = P(noisy 1 | clean 0)`` are
  the flip rates of the noise transition matrix
  ``T = [[1 - rho_neg, rho_neg], [rho_pos, 1 - rho_pos]]`` (rows: clean class,
  columns: noisy class), used only by the corrected losses (``forward`` and the
  ``backward*`` family); ``det T = 1 - rho_pos - rho_neg`` must be positive.
* All logarithms are natural: losses are in nats.
"""

from __future__ import annotations

import math

import numpy as np

from logsim._exp import exp_called as _exp_called
from logsim._exp import exp_nonpositive as _exp_nonpositive
from logsim._jit import called, helper, kernel

#: Integer code of each loss, as understood by :func:`loss_value` and the kernels.
LOSS_CODES = {
    "logistic": 0,
    "hinge": 1,
    "squared_hinge": 2,
    "exponential": 3,
    "forward": 4,
    "backward": 5,
    "backward_hinge": 6,
    "backward_squared_hinge": 7,
    "backward_exponential": 8,
}
LOGISTIC, HINGE, SQUARED_HINGE, EXPONENTIAL, FORWARD, BACKWARD = range(6)
BACKWARD_HINGE, BACKWARD_SQUARED_HINGE, BACKWARD_EXPONENTIAL = range(6, 9)

#: Losses whose sigmoid(z) is an estimate of P(y = 1 | x).
PROBABILISTIC_LOSSES = ("logistic", "forward", "backward")
#: Losses that use the noise transition matrix.
CORRECTED_LOSSES = (
    "forward", "backward", "backward_hinge", "backward_squared_hinge", "backward_exponential",
)
#: Losses that are positive everywhere (so a step may be divided by the loss value). The
#: backward corrections are not: their mean can be zero or negative.
POSITIVE_LOSSES = ("logistic", "exponential", "forward")


def loss_code(name: str) -> int:
    """Integer code of the loss ``name``; ValueError listing the known losses otherwise."""
    try:
        return LOSS_CODES[name]
    except (KeyError, TypeError):
        allowed = ", ".join(LOSS_CODES)
        if isinstance(name, str) and name.startswith("forward_"):
            raise ValueError(
                f"unknown loss {name!r}: forward correction needs a loss on probabilities "
                "(it passes the predicted P(y = 1 | x) = sigmoid(z) through the transition "
                "matrix, then takes the cross-entropy), so only 'forward' (logistic) exists; "
                "for a corrected margin loss use backward correction, e.g. "
                f"'backward_{name[len('forward_'):]}'; allowed: {allowed}"
            ) from None
        raise ValueError(f"unknown loss {name!r}; allowed: {allowed}") from None


def loss_units(names) -> str:
    """CF units of loss values: "nat" for the cross-entropies, else "1" (margin losses)."""
    return "nat" if set(names) <= set(PROBABILISTIC_LOSSES) else "1"


def check_transition(rho_pos: float, rho_neg: float) -> None:
    """Reject flip rates outside [0, 1) or a singular transition matrix (rho_pos + rho_neg >= 1)."""
    for label, rho in (("rho_pos", rho_pos), ("rho_neg", rho_neg)):
        if not (0.0 <= rho < 1.0):
            raise ValueError(f"{label} = {rho!r} is outside the allowed range [0, 1)")
    if rho_pos + rho_neg >= 1.0:
        raise ValueError(
            f"noise transition matrix T is singular: rho_pos + rho_neg = {rho_pos + rho_neg!r}; "
            "loss correction needs rho_pos + rho_neg < 1"
        )


# --- scalar building blocks -------------------------------------------------------------


@helper
def softplus(z):
    """``log(1 + exp(z))`` without overflow: ``max(z, 0) + log1p(exp(-|z|))``."""
    return max(z, 0.0) + math.log1p(_exp_called(-abs(z)))


@helper
def sigmoid(z):
    """``1 / (1 + exp(-z))``, evaluated on the side where ``exp`` cannot overflow."""
    e = _exp_called(-abs(z))
    if z >= 0.0:
        return 1.0 / (1.0 + e)
    return e / (1.0 + e)


@helper
def _log_mixture(rho, rho_other, det, z):
    """``log(a)`` for ``a = rho + det sigmoid(z)``, accurate to a few ulps for any ``z``.

    Requires ``rho + rho_other + det = 1``, so that ``1 - a = rho_other + det sigmoid(-z)``
    is available without cancellation: for ``a > 1/2`` the log is ``log1p(-(1 - a))``.
    """
    a = rho + det * sigmoid(z)
    if a > 0.5:
        return math.log1p(-(rho_other + det * sigmoid(-z)))
    if rho == 0.0:
        return math.log(det) - softplus(-z)  # a may underflow; its log does not
    return math.log(a)


@helper
def _ratio(rho, det, z):
    """``sigmoid(z) * sigmoid(-z) / (rho + det * sigmoid(z))``, finite for any ``z``.

    With ``rho = 0`` this is ``sigmoid(-z) / det`` exactly; otherwise the numerator
    underflows to 0 before the denominator does, which is the correct limit.
    """
    p = sigmoid(z)
    pm = sigmoid(-z)
    if rho == 0.0:
        return pm / det
    return p * pm / (rho + det * p)


# --- the losses ---------------------------------------------------------------------------


@helper
def _margin_loss(base, m):
    """The base loss at label 1 as a function of the margin ``m``: ``phi(m)``.

    ``phi`` is ``softplus(-m)`` (logistic), ``max(0, 1 - m)`` (hinge), its square, or
    ``exp(-m)`` (exponential); the loss at label 0 is ``phi(-z)``.
    """
    if base == LOGISTIC:
        return softplus(-m)
    if base == HINGE:
        return max(0.0, 1.0 - m)
    if base == SQUARED_HINGE:
        h = max(0.0, 1.0 - m)
        return h * h
    return math.exp(-m)


@helper
def _margin_slope(base, m):
    """``phi'(m)`` of :func:`_margin_loss` (hinge: the subgradient 0 at the kink)."""
    if base == LOGISTIC:
        return -sigmoid(-m)
    if base == HINGE:
        return -1.0 if 1.0 - m > 0.0 else 0.0
    if base == SQUARED_HINGE:
        return -2.0 * max(0.0, 1.0 - m)
    return -math.exp(-m)


@helper
def loss_value(code, z, y, rho_pos, rho_neg):
    """Per-sample loss ``l(z, y)`` of the loss with integer ``code``.

    * logistic (binary cross-entropy): ``y softplus(-z) + (1 - y) softplus(z)``
      ``= -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))]``.
    * hinge: ``max(0, 1 - s z)``; squared_hinge: ``max(0, 1 - s z)^2``;
      exponential: ``exp(-s z)``; with ``s = 2y - 1``.
    * forward (Patrini et al., CVPR 2017): cross-entropy of ``y`` against the
      noisy-class probability ``q = rho_neg + det sigmoid(z)``, using
      ``1 - q = rho_pos + det sigmoid(-z)``.
    * backward (Patrini et al. 2017; Natarajan et al., NeurIPS 2013, Lemma 1):
      ``[(y - rho_neg) phi(z) + (1 - y - rho_pos) phi(-z)] / det``, i.e. ``T^-1``
      applied to the loss vector ``(phi(-z), phi(z))`` of the two labels, with the
      base loss ``phi`` of :func:`_margin_loss`: logistic (``backward``), hinge
      (``backward_hinge``), squared hinge (``backward_squared_hinge``) or exponential
      (``backward_exponential``). For a hard label it is Natarajan et al.'s unbiased
      estimator ``[(1 - rho_{-y}) l(z, y) - rho_y l(z, -y)] / det`` (``rho_{+1} =
      rho_pos``, ``rho_{-1} = rho_neg``); a soft target ``y`` weighs the two labels'
      estimators by ``y`` and ``1 - y``. Unbounded below (or, for the hinge losses,
      negative) when a coefficient is negative.
    """
    if code == 0:
        return y * softplus(-z) + (1.0 - y) * softplus(z)
    if code == 1:
        return max(0.0, 1.0 - (2.0 * y - 1.0) * z)
    if code == 2:
        m = max(0.0, 1.0 - (2.0 * y - 1.0) * z)
        return m * m
    if code == 3:
        return math.exp(-(2.0 * y - 1.0) * z)
    det = 1.0 - rho_pos - rho_neg
    if code == 4:
        log_q = _log_mixture(rho_neg, rho_pos, det, z)
        log_1mq = _log_mixture(rho_pos, rho_neg, det, -z)
        return -(y * log_q + (1.0 - y) * log_1mq)
    if code <= BACKWARD_EXPONENTIAL:
        base = code - BACKWARD
        return ((y - rho_neg) * _margin_loss(base, z)
                + (1.0 - y - rho_pos) * _margin_loss(base, -z)) / det
    return math.nan


@helper
def logistic_derivative(z, y):
    """``sigmoid(z) - y``, the article's error signal ``p̂ - y``.

    Written as ``(1 - y) p - y (1 - p)`` with ``p`` and ``1 - p`` from one
    ``exp(-|z|)``: equal in exact arithmetic, and free of the cancellation
    ``1/(1 + e^-z) - 1`` suffers for confident hard labels (about 1e-3 relative
    error at z = 30, y = 1). Branch-free (selects only), so loops over it vectorise.
    """
    e = _exp_nonpositive(-abs(z))
    inv = 1.0 / (1.0 + e)
    p = inv if z >= 0.0 else e * inv
    pm = e * inv if z >= 0.0 else inv
    return (1.0 - y) * p - y * pm


@helper
def hinge_derivative(z, y):
    """``-s`` where ``1 - s z > 0``, else 0 (``s = 2y - 1``): the hinge branch of
    :func:`loss_derivative`, on its own so that the kernels' hinge loop inlines only it."""
    s = 2.0 * y - 1.0
    return -s if 1.0 - s * z > 0.0 else 0.0


@helper
def loss_derivative(code, z, y, rho_pos, rho_neg):
    """Derivative ``dl/dz`` of :func:`loss_value`.

    * logistic: ``sigmoid(z) - y``, the article's error signal ``p̂ - y``, accurate
      to a few ulps even where ``p̂`` is within 1e-13 of a hard label.
    * hinge: ``-s`` where ``1 - s z > 0``, else 0 (the subgradient 0 at the kink);
      squared_hinge: ``-2 s max(0, 1 - s z)``; exponential: ``-s exp(-s z)``.
    * forward: ``det [(1 - y) p(1-p)/(1-q) - y p(1-p)/q]`` with ``p = sigmoid(z)``.
    * backward family: ``[(y - rho_neg) phi'(z) - (1 - y - rho_pos) phi'(-z)] / det``
      (:func:`_margin_slope`); for the logistic ``backward``,
      ``[(1 - y - rho_pos) sigmoid(z) - (y - rho_neg) sigmoid(-z)] / det``.
    """
    if code == 0:
        return logistic_derivative(z, y)
    if code == 1:
        return hinge_derivative(z, y)
    if code == 2:
        s = 2.0 * y - 1.0
        return -2.0 * s * max(0.0, 1.0 - s * z)
    if code == 3:
        s = 2.0 * y - 1.0
        return -s * math.exp(-s * z)
    det = 1.0 - rho_pos - rho_neg
    if code == 4:
        # p(1-p)/q and p(1-p)/(1-q), each finite for any z (see _ratio).
        over_q = _ratio(rho_neg, det, z)
        over_1mq = _ratio(rho_pos, det, -z)
        return det * ((1.0 - y) * over_1mq - y * over_q)
    if code <= BACKWARD_EXPONENTIAL:
        base = code - BACKWARD
        return ((y - rho_neg) * _margin_slope(base, z)
                - (1.0 - y - rho_pos) * _margin_slope(base, -z)) / det
    return math.nan


# --- scale-invariant updates: derivatives shifted by the smallest margin ----------------


@helper
def _hard(y):
    return y == 0.0 or y == 1.0


@helper
def decay(code, z, y, rho_pos, rho_neg, of_loss):
    """The rate ``a`` at which the derivative (and, if ``of_loss``, the loss) of one sample
    vanishes like ``e^{-a}``: the margin ``m = s z`` where it does, else 0.

    A decaying sample's derivative is ``e^{-m}`` times a bounded factor, so for a shift
    ``c <= a`` the product ``e^c l'(z, y)`` (:func:`shifted_derivative`) is representable
    however large ``m`` is. Exact cases (``a = m``), per loss and target:

    * logistic, forward: hard labels (a soft or smoothed target's residual tends to
      ``1 - y`` or ``-y``, not 0: ``a = 0``). The forward loss *value* decays only where
      the sample's own flip rate (``rho_pos`` for ``y = 1``, ``rho_neg`` for ``y = 0``) is 0;
      otherwise it tends to ``-log(1 - rho)``.
    * exponential: every target (``l' = -s e^{-s z}``; ``s = 0`` gives ``a = 0``).
    * backward, backward_exponential: hard labels whose growing term has coefficient 0
      (``rho_pos = 0`` for ``y = 1``, ``rho_neg = 0`` for ``y = 0``); otherwise that term's
      derivative tends to a nonzero constant and nothing underflows: ``a = 0``.
    * hinge, squared hinge and their backward corrections have no exponential: their
      derivatives are exactly 0 past the margin 1 (a genuine stop): ``a = 0``.
    """
    s = 2.0 * y - 1.0
    m = s * z
    if code == EXPONENTIAL:
        return m
    if not _hard(y):
        return 0.0
    if code == LOGISTIC:
        return m
    if code == FORWARD:
        if of_loss and (rho_pos if y == 1.0 else rho_neg) != 0.0:
            return 0.0
        return m
    if code == BACKWARD or code == BACKWARD_EXPONENTIAL:
        return m if (rho_pos if y == 1.0 else rho_neg) == 0.0 else 0.0
    return 0.0


@helper
def _shifted_sigmoid_neg(m, c):
    """``e^c sigmoid(-m)`` for ``m >= c >= 0``: ``e^{c - m} / (1 + e^{-m})``."""
    return math.exp(c - m) / (1.0 + math.exp(-m))


@helper
def shifted_derivative(code, z, y, rho_pos, rho_neg, c):
    """``e^c l'(z, y)`` for a sample with :func:`decay` ``>= c >= 0`` (not checked).

    Each case is :func:`loss_derivative` with its decaying factor ``e^{-m}`` written as
    ``e^{c - m}``: logistic ``-s e^c sigmoid(-m)``; exponential ``-s e^{c - m}``;
    forward ``-s det p e^c sigmoid(-m) / (rho_o + det p)`` with ``p = sigmoid(m)`` and
    ``rho_o`` the other class's flip rate (``-s e^c sigmoid(-m)`` where ``rho_o = 0``);
    backward(_exponential) ``s (1 - rho_o) e^c phi'(m) / det``.
    """
    s = 2.0 * y - 1.0
    m = s * z
    if code == EXPONENTIAL:
        return -s * math.exp(c - m)
    if code == LOGISTIC:
        return -s * _shifted_sigmoid_neg(m, c)
    rho_o = rho_neg if y == 1.0 else rho_pos
    det = 1.0 - rho_pos - rho_neg
    if code == FORWARD:
        if rho_o == 0.0:
            return -s * _shifted_sigmoid_neg(m, c)
        p = sigmoid(m)
        return -s * det * p * _shifted_sigmoid_neg(m, c) / (rho_o + det * p)
    if code == BACKWARD:
        return -s * (1.0 - rho_o) * _shifted_sigmoid_neg(m, c) / det
    return -s * (1.0 - rho_o) * math.exp(c - m) / det  # BACKWARD_EXPONENTIAL


@helper
def _log1p_ratio(u):
    """``log1p(u) / u``, 1 at ``u = 0`` (its limit)."""
    return math.log1p(u) / u if u != 0.0 else 1.0


@helper
def shifted_value(code, z, y, rho_pos, rho_neg, c):
    """``e^c l(z, y)`` for a positive loss (logistic, exponential, forward) and a sample
    with ``decay(..., of_loss=True) >= c >= 0`` (not checked).

    logistic: ``e^{c - m} log1p(u) / u`` with ``u = e^{-m}``; exponential: ``e^{c - m}``;
    forward (own flip rate 0): ``-log1p(-v) e^c`` with ``v = det sigmoid(-m)``, as
    ``det e^c sigmoid(-m) log1p(-v) / (-v)``.
    """
    s = 2.0 * y - 1.0
    m = s * z
    if code == EXPONENTIAL:
        return math.exp(c - m)
    if code == LOGISTIC:
        return math.exp(c - m) * _log1p_ratio(math.exp(-m))
    det = 1.0 - rho_pos - rho_neg
    v = det * sigmoid(-m)
    return det * _shifted_sigmoid_neg(m, c) * _log1p_ratio(-v)


# --- the log of a loss, for losses far below the smallest float64 -------------------------


#: Below this a loss is computed through its logarithm: ``l`` itself is accurate to a few
#: ulps only while it is a normal number well above 2.2e-308.
_SMALLEST_DIRECT = 1e-290


@helper
def _log_softplus(x):
    """``log(softplus(x))`` for any ``x``: ``x`` itself below -37, where
    ``log1p(e^x) = e^x`` in float64."""
    if x < -37.0:
        return x
    return math.log(softplus(x))


@helper
def _log_margin_loss(base, m):
    """``log phi(m)`` of :func:`_margin_loss`, without underflow (-inf where phi = 0)."""
    if base == LOGISTIC:
        return _log_softplus(-m)
    if base == EXPONENTIAL:
        return -m
    h = max(0.0, 1.0 - m)
    if h == 0.0:
        return -math.inf
    return math.log(h) if base == HINGE else 2.0 * math.log(h)


@helper
def _log_weighted_sum(a, log_u, b, log_v):
    """``log(a e^{log_u} + b e^{log_v})`` for ``a, b >= 0``; -inf if both terms are 0."""
    p = math.log(a) + log_u if a > 0.0 else -math.inf
    q = math.log(b) + log_v if b > 0.0 else -math.inf
    top = max(p, q)
    if top == -math.inf:
        return -math.inf
    return top + math.log1p(math.exp(min(p, q) - top))


@helper
def log_loss_value(code, z, y, rho_pos, rho_neg):
    """``log l(z, y)``, accurate where ``l`` underflows (a loss of ``e^{-5000}`` gives
    -5000); -inf where the loss is exactly 0; NaN where a backward loss has a negative
    coefficient (its value may be <= 0; the kernels then take the log of the plain mean).

    The loss is taken as it is while it is above 1e-290, and otherwise through the log of
    each term: ``log softplus(x) = x`` below -37 (logistic), ``-s z`` (exponential),
    ``log(1 - q)`` for the forward loss's ``-log q`` (``-log q = (1 - q)(1 + O(1 - q))``).
    """
    if code >= BACKWARD:
        a = y - rho_neg
        b = 1.0 - y - rho_pos
        if a < 0.0 or b < 0.0:
            return math.nan
        base = code - BACKWARD
        return _log_weighted_sum(a, _log_margin_loss(base, z), b,
                                 _log_margin_loss(base, -z)) - math.log(1.0 - rho_pos - rho_neg)
    value = loss_value_call(code, z, y, rho_pos, rho_neg)  # a call: small to compile
    if value >= _SMALLEST_DIRECT:
        return math.log(value)
    if code == EXPONENTIAL:
        return -(2.0 * y - 1.0) * z
    if code == LOGISTIC:
        return _log_weighted_sum(y, _log_softplus(-z), 1.0 - y, _log_softplus(z))
    if code == FORWARD:
        det = 1.0 - rho_pos - rho_neg
        log_q = _log_mixture(rho_neg, rho_pos, det, z)
        log_1mq = _log_mixture(rho_pos, rho_neg, det, -z)
        # -log q = (1 - q) (1 + O(1 - q)): its log is log(1 - q) where -log q < 1e-290
        log_a = math.log(-log_q) if -log_q >= _SMALLEST_DIRECT else log_1mq
        log_b = math.log(-log_1mq) if -log_1mq >= _SMALLEST_DIRECT else log_q
        return _log_weighted_sum(y, log_a, 1.0 - y, log_b)
    return _log_margin_loss(code, (2.0 * y - 1.0) * z)  # hinge, squared hinge: -inf at 0


@called
def loss_value_call(code, z, y, rho_pos, rho_neg):
    """:func:`loss_value`, compiled once and called rather than inlined.

    For loops off the hot path (the mean loss at checkpoints, the derivatives of the
    less common losses): an inlined ``loss_value`` in a loop over samples is unswitched
    by loss code and vectorised six times over, which made it the largest single item of
    the kernels' cold compile (17 s of about 80 s here). Same arithmetic, same bits.
    """
    return loss_value(code, z, y, rho_pos, rho_neg)


@called
def log_loss_value_call(code, z, y, rho_pos, rho_neg):
    """:func:`log_loss_value`, compiled once and called (see :func:`loss_value_call`)."""
    return log_loss_value(code, z, y, rho_pos, rho_neg)


@called
def loss_derivative_call(code, z, y, rho_pos, rho_neg):
    """:func:`loss_derivative`, compiled once and called rather than inlined (see
    :func:`loss_value_call`)."""
    return loss_derivative(code, z, y, rho_pos, rho_neg)


# --- NumPy-facing wrappers ----------------------------------------------------------------


@kernel(parallel=False)
def _map_loss(code, z, y, rho_pos, rho_neg, derivative):
    """The loss (or its derivative) at every element, through the called copies: inlined,
    the six losses unswitched and vectorised in this loop took 3.5 s of a cold compile."""
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        if derivative:
            out[i] = loss_derivative_call(code, z[i], y[i], rho_pos, rho_neg)
        else:
            out[i] = loss_value_call(code, z[i], y[i], rho_pos, rho_neg)
    return out


def _apply(name, z, y, rho_pos, rho_neg, derivative):
    code = loss_code(name)
    if code >= FORWARD:
        check_transition(rho_pos, rho_neg)
    z, y = np.broadcast_arrays(np.asarray(z, dtype=np.float64), np.asarray(y, dtype=np.float64))
    flat = _map_loss(
        code,
        np.ascontiguousarray(z).ravel(),
        np.ascontiguousarray(y).ravel(),
        float(rho_pos),
        float(rho_neg),
        derivative,
    )
    return flat.reshape(z.shape)


def value(name: str, z, y, *, rho_pos: float = 0.0, rho_neg: float = 0.0) -> np.ndarray:
    """Per-sample loss ``name`` at logits ``z`` and targets ``y`` (broadcast), in nats.

    See :func:`loss_value` for the formulas. ``rho_pos``/``rho_neg`` are the flip
    rates used by the corrected losses (:data:`CORRECTED_LOSSES`).
    """
    return _apply(name, z, y, rho_pos, rho_neg, derivative=False)


def derivative(name: str, z, y, *, rho_pos: float = 0.0, rho_neg: float = 0.0) -> np.ndarray:
    """Derivative of the per-sample loss ``name`` with respect to the logit ``z``."""
    return _apply(name, z, y, rho_pos, rho_neg, derivative=True)
