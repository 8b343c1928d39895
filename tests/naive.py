"""Slow, obviously-right NumPy references for logsim's kernels.

Nothing here imports logsim's compiled code: the references are written from
the formulas in the papers, so a test comparing the two is a real check.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import expit

MASK = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


# --- random streams: SplitMix64 written again in plain Python integers -------------------


def mix64(z: int) -> int:
    z &= MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def stream_key(seed: int, stream: int) -> int:
    return mix64((mix64((seed * GOLDEN + stream) & MASK) + GOLDEN) & MASK)


def uniform(key: int, counter: int) -> float:
    return (mix64((key + (counter + 1) * GOLDEN) & MASK) >> 11) * 2.0**-53


def batch_sequence(n: int, batch_size: int, key: int, steps: int):
    """Mini-batches of a partial Fisher-Yates shuffle on a persistent permutation."""
    perm = list(range(n))
    for t in range(steps):
        for j in range(batch_size):
            k = j + int(uniform(key, t * batch_size + j) * (n - j))
            perm[j], perm[k] = perm[k], perm[j]
        yield np.array(perm[:batch_size])


# --- losses, straight from their definitions --------------------------------------------


def transition(rho_pos: float, rho_neg: float) -> np.ndarray:
    """T[i, j] = P(noisy j | clean i), classes ordered (0, 1)."""
    return np.array([[1 - rho_neg, rho_neg], [rho_pos, 1 - rho_pos]])


def loss(name, z, y, rho_pos=0.0, rho_neg=0.0):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    s = 2 * y - 1
    if name == "logistic":
        # -[y log p + (1-y) log(1-p)], with log p = -log(1 + e^-z) via logaddexp
        return y * np.logaddexp(0, -z) + (1 - y) * np.logaddexp(0, z)
    if name == "hinge":
        return np.maximum(0, 1 - s * z)
    if name == "squared_hinge":
        return np.maximum(0, 1 - s * z) ** 2
    if name == "exponential":
        return np.exp(-s * z)
    T = transition(rho_pos, rho_neg)
    p = expit(z)
    if name == "forward":
        q = T.T @ np.stack([1 - p, p])  # noisy-class probabilities
        return -(y * np.log(q[1]) + (1 - y) * np.log(q[0]))
    if name.startswith("backward"):
        # Natarajan et al. 2013: the vector of losses at the two labels times T^-1; a soft
        # target weighs the two corrected losses by its probabilities.
        base = _backward_base(name)
        per_label = np.stack([loss(base, z, 0.0), loss(base, z, 1.0)])  # l(z, 0), l(z, 1)
        corrected = np.linalg.inv(T) @ per_label
        return (1 - y) * corrected[0] + y * corrected[1]
    raise ValueError(name)


def _backward_base(name):
    """The loss a backward correction corrects: ``backward`` is the logistic one."""
    return "logistic" if name == "backward" else name[len("backward_"):]


def derivative(name, z, y, rho_pos=0.0, rho_neg=0.0):
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    s = 2 * y - 1
    p = expit(z)
    if name == "logistic":
        # p - y, written so that 1 - p is not rounded away at large margins (p - 1 is
        # exactly 0 in float64 from z = 37 on, where the true residual is -e^-z)
        return (1 - y) * p - y * expit(-z)
    if name == "hinge":
        return np.where(1 - s * z > 0, -s, 0.0)
    if name == "squared_hinge":
        return -2 * s * np.maximum(0, 1 - s * z)
    if name == "exponential":
        return -s * np.exp(-s * z)
    det = 1 - rho_pos - rho_neg
    if name == "forward":
        q = rho_neg + det * p
        return (q - y) / (q * (1 - q)) * det * p * (1 - p)
    if name.startswith("backward"):
        Tinv = np.linalg.inv(transition(rho_pos, rho_neg))
        base = _backward_base(name)
        d_per_label = np.stack([derivative(base, z, 0.0), derivative(base, z, 1.0)])
        corrected = Tinv @ d_per_label
        return (1 - y) * corrected[0] + y * corrected[1]
    raise ValueError(name)


# --- optimisers ---------------------------------------------------------------------------


def trajectory(X, y, *, loss_name, method, learning_rate, steps, checkpoints,
               batch_size=None, batch_key=0, rho_pos=0.0, rho_neg=0.0, w0=None, jitter=None):
    """One trajectory, recorded at ``checkpoints``: weights (K, d) and mean train loss (K,).

    ``jitter`` (a NumPy Generator), if given, perturbs every gradient entry by a
    rounding-sized amount, ``eps sum_i |x_ij l'_i| / n`` times a random sign
    (``eps = 2**-52``): the size of the difference between two summation orders of
    ``g_j``. Runs with different jitters show how far the trajectory itself amplifies
    rounding, which bounds how closely any other summation order can follow it.
    """
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=float)
    batches = batch_sequence(n, batch_size, batch_key, steps) if method == "sgd" else None
    W, L = [], []
    for t in range(steps + 1):
        z = X @ w
        L_t = loss(loss_name, z, y, rho_pos, rho_neg).mean()
        if t in checkpoints:
            W.append(w.copy())
            L.append(L_t)
        if t == steps:
            break
        if method == "sgd":
            b = next(batches)
            g = X[b].T @ derivative(loss_name, X[b] @ w, y[b], rho_pos, rho_neg) / len(b)
        else:
            g = X.T @ derivative(loss_name, z, y, rho_pos, rho_neg) / n
        if jitter is not None:
            rows = X[b] if method == "sgd" else X
            r = derivative(loss_name, rows @ w, y[b] if method == "sgd" else y, rho_pos, rho_neg)
            sign = jitter.choice([-1.0, 1.0], size=d)
            g = g + np.finfo(float).eps * (np.abs(rows).T @ np.abs(r) / len(r)) * sign
        if method == "gd" or method == "sgd":
            w = w - learning_rate * g
        elif method == "ngd_gradient":
            norm = math.hypot(*g)  # scaled internally: no underflow of sum g_j**2
            if norm > 0:  # at a zero gradient (a hinge loss at 0) there is no direction: stay
                w = w - learning_rate * g / norm
        elif method == "ngd_loss":
            w = w - learning_rate * g / L_t
        else:
            raise ValueError(method)
    return np.array(W), np.array(L)


# --- long runs: losses below the smallest float64, and scale-invariant steps -------------


def log_losses(name, z, y, rho_pos=0.0, rho_neg=0.0):
    """Per-sample natural logs of the loss, accurate where the loss underflows; -inf where
    it is 0. The logistic loss's ``log softplus(x)`` is ``log(logaddexp(0, x))`` while that
    is above 1e-300, and below (``x < -690``) the series ``log log1p(e^x) = x + log1p(-e^x/2
    + ...)``, which is ``x`` to within 1e-300."""
    z = np.asarray(z, dtype=float)
    y = np.asarray(y, dtype=float)
    s = 2 * y - 1

    def log_softplus(x):
        with np.errstate(divide="ignore"):
            direct = np.log(np.logaddexp(0, x))
        return np.where(x > -690, direct, x)

    with np.errstate(divide="ignore"):
        if name == "logistic":
            terms = np.stack([np.log(y) + log_softplus(-z), np.log1p(-y) + log_softplus(z)])
            return np.logaddexp(terms[0], terms[1])
        if name == "exponential":
            return -s * z
        if name == "hinge":
            return np.log(np.maximum(0, 1 - s * z))
        if name == "squared_hinge":
            return 2 * np.log(np.maximum(0, 1 - s * z))
        if name == "forward":  # with rho_pos, rho_neg > 0 the loss stays above -log(1 - rho)
            det = 1 - rho_pos - rho_neg
            q, one_minus_q = rho_neg + det * expit(z), rho_pos + det * expit(-z)
            return np.log(-(y * np.log1p(-one_minus_q) + (1 - y) * np.log1p(-q)))
    raise ValueError(name)


def shifted_gradient(X, y, w, loss_name):
    """``e^c g`` for the logistic or exponential loss with hard labels, ``c`` the smallest
    margin (0 if it is negative): every ``e^{-margin}`` written as ``e^{c - margin}``."""
    s = 2 * y - 1
    m = s * (X @ w)
    c = max(0.0, m.min())
    scaled = np.exp(c - m)
    if loss_name == "logistic":  # sigmoid(-m) = e^{-m} / (1 + e^{-m})
        scaled = scaled / (1 + np.exp(-m))
    elif loss_name != "exponential":
        raise ValueError(loss_name)
    return X.T @ (-s * scaled) / len(y)


def shifted_normalized_gd(X, y, w, *, loss_name, learning_rate, steps):
    """Normalised GD by the gradient norm from :func:`shifted_gradient`: the weights after
    each of ``steps`` updates from ``w``, shape (steps + 1, d)."""
    W = [np.array(w, dtype=float)]
    for _ in range(steps):
        g = shifted_gradient(X, y, W[-1], loss_name)
        W.append(W[-1] - learning_rate * g / math.hypot(*g))
    return np.array(W)


def first_frozen_step(W):
    """The first step from which the rows of ``W`` (one per step) never change again; -1
    where the last two differ."""
    same = np.all(W[1:] == W[:-1], axis=1)
    if not same[-1]:
        return -1
    moved = np.flatnonzero(~same)
    return 0 if moved.size == 0 else int(moved[-1]) + 1


# --- more optimisers, weight decay and schedules -----------------------------------------


def step_size(schedule, learning_rate, tau, t):
    if schedule == "constant":
        return learning_rate
    if schedule == "inverse_sqrt":
        return learning_rate / math.sqrt(1 + t / tau)
    if schedule == "inverse":
        return learning_rate / (1 + t / tau)
    raise ValueError(schedule)


def optimiser_trajectory(X, y, *, loss_name, method, learning_rate, steps, checkpoints,
                         batch_size=None, batch_key=0, rho_pos=0.0, rho_neg=0.0, w0=None,
                         momentum=0.9, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                         schedule="constant", tau=1.0):
    """Any optimiser of the kernel, from its paper's update rule, recorded at
    ``checkpoints``: weights (K, d) and mean train loss (K,). Mini-batches where
    ``batch_size`` is given (as ``sgd`` draws them)."""
    n, d = X.shape
    w = np.zeros(d) if w0 is None else np.array(w0, dtype=float)
    batches = batch_sequence(n, batch_size, batch_key, steps) if batch_size else None
    v = np.zeros(d)  # heavy-ball / Nesterov buffer, Adam's first moment
    s = np.zeros(d)  # Adam's second moment
    W, L = [], []
    for t in range(steps + 1):
        z = X @ w
        if t in checkpoints:
            W.append(w.copy())
            L.append(loss(loss_name, z, y, rho_pos, rho_neg).mean())
        if t == steps:
            break
        if batches is not None:
            b = next(batches)
            g = X[b].T @ derivative(loss_name, X[b] @ w, y[b], rho_pos, rho_neg) / len(b)
        else:
            g = X.T @ derivative(loss_name, z, y, rho_pos, rho_neg) / n
        g = g + weight_decay * w  # the gradient of weight_decay ||w||^2 / 2
        if schedule == "inverse_loss":  # eta / L(w_t) (Nacson et al. 2019; Ji & Telgarsky 2021)
            eta = learning_rate / loss(loss_name, z, y, rho_pos, rho_neg).mean()
        else:
            eta = step_size(schedule, learning_rate, tau, t)
        if method in ("gd", "sgd"):
            w = w - eta * g
        elif method == "ngd_gradient":
            norm = math.hypot(*g)
            if norm > 0:
                w = w - eta * g / norm
        elif method == "momentum":  # PyTorch's heavy ball: v <- mu v + g, w <- w - eta v
            v = momentum * v + g
            w = w - eta * v
        elif method == "nesterov":  # PyTorch's Nesterov: w <- w - eta (g + mu v)
            v = momentum * v + g
            w = w - eta * (g + momentum * v)
        elif method == "adam":  # Kingma & Ba 2015, Algorithm 1
            v = beta1 * v + (1 - beta1) * g
            s = beta2 * s + (1 - beta2) * g * g
            m_hat = v / (1 - beta1 ** (t + 1))
            denominator = np.sqrt(s / (1 - beta2 ** (t + 1))) + eps
            with np.errstate(invalid="ignore", divide="ignore"):
                w = np.where(denominator > 0, w - eta * m_hat / denominator, w)
        elif method == "sign_gd":
            w = w - eta * np.sign(g)
        elif method == "coordinate_descent":  # greedy: the largest |g_j|, lowest index
            j = int(np.argmax(np.abs(g)))
            w = w.copy()
            w[j] -= eta * np.sign(g[j])
        else:
            raise ValueError(method)
    return np.array(W), np.array(L)
