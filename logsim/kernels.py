"""Numba trajectory engines: many gradient-descent runs in one ``njit(parallel=True)`` call.

The kernels know nothing of files, TOML or xarray. They take a stack of
training sets sharing one shape, one row of parameters per trajectory, and
the checkpoint steps, and return the weights and training loss recorded at
each checkpoint.

Invariants
----------
* ``prange`` runs over trajectories; trajectory ``r`` writes only
  ``weights[r]``, ``train_loss[r]`` and ``diverged[r]``. Each trajectory is
  computed serially by one thread, in a fixed order of operations, so the
  result is bit-identical for any thread count or chunking of trajectories.
* The only randomness (SGD batches) comes from :func:`logsim.rng.uniform`
  keyed by the trajectory's ``batch_key`` and the step: never ``np.random``.
* Checkpoint ``k`` stores ``w_t`` for ``t = checkpoints[k]``, the weights after
  ``t`` updates (``t = 0`` is the initial point), and the mean training loss at
  ``w_t`` over the full training set.
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from logsim._jit import helper, kernel, linear_algebra
from logsim.losses import LOGISTIC, logistic_derivative, loss_derivative, loss_value
from logsim.rng import uniform

#: Optimiser codes understood by :func:`run_trajectories`.
GD, SGD, NGD_GRADIENT, NGD_LOSS = 0, 1, 2, 3


@linear_algebra
def _logits_all(XT, w, z):
    """``z = X w`` for every sample, with ``XT = X.T`` (contiguous over samples)."""
    n = z.shape[0]
    for i in range(n):
        z[i] = 0.0
    for j in range(XT.shape[0]):
        wj = w[j]
        for i in range(n):
            z[i] += wj * XT[j, i]


@helper
def _mean_loss(code, z, y, rho_pos, rho_neg):
    total = 0.0
    for i in range(z.shape[0]):
        total += loss_value(code, z[i], y[i], rho_pos, rho_neg)
    return total / z.shape[0]


@linear_algebra
def _project(XT, resid, g):
    """``g = X^T resid / n``."""
    n = resid.shape[0]
    for j in range(XT.shape[0]):
        acc = 0.0
        for i in range(n):
            acc += XT[j, i] * resid[i]
        g[j] = acc / n


@helper
def _full_gradient(code, XT, z, y, rho_pos, rho_neg, resid, g):
    """``g = X^T l'(z, y) / n``: the full-batch gradient of the mean loss."""
    n = z.shape[0]
    if code == LOGISTIC:  # the hot path: a branch-free loop LLVM vectorises
        for i in range(n):
            resid[i] = logistic_derivative(z[i], y[i])
    else:
        for i in range(n):
            resid[i] = loss_derivative(code, z[i], y[i], rho_pos, rho_neg)
    _project(XT, resid, g)


@helper
def _draw_batch(perm, batch_size, key, step):
    """Put a uniformly random ``batch_size``-subset of ``perm`` in ``perm[:batch_size]``.

    Partial Fisher-Yates shuffle with uniforms ``uniform(key, step * batch_size + j)``:
    sampling without replacement within a batch, independently across steps.
    """
    n = perm.shape[0]
    base = step * batch_size
    for j in range(batch_size):
        u = uniform(key, base + j)
        k = j + int(u * (n - j))
        if k >= n:  # u < 1 guarantees k < n; guard against rounding at the top end
            k = n - 1
        tmp = perm[j]
        perm[j] = perm[k]
        perm[k] = tmp


@linear_algebra
def _batch_logits(X, w, perm, batch_size, zb):
    """``zb[b] = x_{perm[b]} . w`` for the batch ``perm[:batch_size]``."""
    for b in range(batch_size):
        i = perm[b]
        acc = 0.0
        for j in range(w.shape[0]):
            acc += X[i, j] * w[j]
        zb[b] = acc


@linear_algebra
def _batch_project(X, perm, batch_size, rb, g):
    """``g = sum_b rb[b] x_{perm[b]} / batch_size``."""
    d = g.shape[0]
    for j in range(d):
        g[j] = 0.0
    for b in range(batch_size):
        i = perm[b]
        rbb = rb[b]
        for j in range(d):
            g[j] += rbb * X[i, j]
    for j in range(d):
        g[j] /= batch_size


@helper
def _batch_gradient(code, X, w, y, rho_pos, rho_neg, perm, batch_size, zb, yb, rb, g):
    """``g = sum_b l'(x_b.w, y_b) x_b / batch_size`` over the batch ``perm[:batch_size]``."""
    _batch_logits(X, w, perm, batch_size, zb)
    for b in range(batch_size):  # gather once, so the residual loop below vectorises
        yb[b] = y[perm[b]]
    if code == LOGISTIC:
        for b in range(batch_size):
            rb[b] = logistic_derivative(zb[b], yb[b])
    else:
        for b in range(batch_size):
            rb[b] = loss_derivative(code, zb[b], yb[b], rho_pos, rho_neg)
    _batch_project(X, perm, batch_size, rb, g)


@helper
def _all_finite(v):
    for j in range(v.shape[0]):
        if not math.isfinite(v[j]):
            return False
    return True


@kernel(parallel=False)
def _trajectory(
    X, XT, y, code, method, learning_rate, batch_size, rho_pos, rho_neg, key, w0,
    checkpoints, weights_out, loss_out,
):  # fmt: skip
    """Run one trajectory, writing its checkpoints; return True if it diverged."""
    n, d = X.shape
    w = w0.copy()
    z = np.empty(n)
    resid = np.empty(n)
    g = np.empty(d)
    # Mini-batch buffers exist only for SGD (full-batch methods never touch them).
    nb = batch_size if method == SGD else 0
    perm = np.arange(n if method == SGD else 0)
    zb = np.empty(nb)
    yb = np.empty(nb)
    rb = np.empty(nb)
    last = checkpoints[checkpoints.shape[0] - 1]
    k = 0
    for t in range(last + 1):
        at_checkpoint = t == checkpoints[k]
        if method != SGD or at_checkpoint:
            _logits_all(XT, w, z)
        loss = math.nan
        if at_checkpoint or method == NGD_LOSS:
            loss = _mean_loss(code, z, y, rho_pos, rho_neg)
        if at_checkpoint:
            if not math.isfinite(loss):
                return True
            for j in range(d):
                weights_out[k, j] = w[j]
            loss_out[k] = loss
            k += 1
        if t == last:
            break
        if method == SGD:
            _draw_batch(perm, batch_size, key, t)
            _batch_gradient(code, X, w, y, rho_pos, rho_neg, perm, batch_size, zb, yb, rb, g)
        else:
            _full_gradient(code, XT, z, y, rho_pos, rho_neg, resid, g)
        if not _all_finite(g):
            return True
        scale = learning_rate
        if method == NGD_GRADIENT:
            norm = 0.0
            for j in range(d):
                norm += g[j] * g[j]
            norm = math.sqrt(norm)
            scale = learning_rate / norm if norm > 0.0 else 0.0
        elif method == NGD_LOSS:
            scale = learning_rate / loss if loss > 0.0 else 0.0
        for j in range(d):
            w[j] -= scale * g[j]
        if not _all_finite(w):
            return True
    return False


@kernel
def run_trajectories(
    X, XT, targets, data_index, loss_code, method, learning_rate, batch_size,
    rho_pos, rho_neg, batch_key, w0, checkpoints,
):  # fmt: skip
    """Run ``R`` gradient-descent trajectories in parallel.

    Parameters
    ----------
    X : float64 (D, n, d)
        Stack of ``D`` training sets with a common shape.
    XT : float64 (D, d, n)
        The same stack transposed and C-contiguous (samples innermost).
    targets : float64 (R, n)
        Training targets of each trajectory, in [0, 1].
    data_index : int64 (R,)
        Which training set each trajectory uses.
    loss_code, method, batch_size : int64 (R,)
        Loss (:data:`logsim.losses.LOSS_CODES`), optimiser (``GD``, ``SGD``,
        ``NGD_GRADIENT``, ``NGD_LOSS``) and SGD batch size per trajectory.
    learning_rate, rho_pos, rho_neg : float64 (R,)
        Step size and the flip rates the corrected losses use.
    batch_key : uint64 (R,)
        Key of each trajectory's mini-batch stream (:func:`logsim.rng.stream_key`).
    w0 : float64 (R, d)
        Initial weights.
    checkpoints : int64 (K,)
        Strictly increasing steps at which to record.

    Returns
    -------
    weights : float64 (R, K, d)
    train_loss : float64 (R, K)
    diverged : bool (R,)
        True where the loss, gradient or weights stopped being finite; the
        records from there on are NaN.

    Notes
    -----
    Updates (``g`` is the gradient of the mean loss over the full set or the batch):
    ``GD``/``SGD``: ``w <- w - eta g``; ``NGD_GRADIENT``: ``w <- w - eta g / ||g||``;
    ``NGD_LOSS``: ``w <- w - eta g / L(w)`` (Nacson et al., AISTATS 2019).
    """
    R = targets.shape[0]
    K = checkpoints.shape[0]
    d = X.shape[2]
    weights = np.full((R, K, d), np.nan)
    train_loss = np.full((R, K), np.nan)
    diverged = np.zeros(R, dtype=np.bool_)
    for r in prange(R):
        m = data_index[r]
        diverged[r] = _trajectory(
            X[m], XT[m], targets[r], loss_code[r], method[r], learning_rate[r],
            batch_size[r], rho_pos[r], rho_neg[r], batch_key[r], w0[r], checkpoints,
            weights[r], train_loss[r],
        )  # fmt: skip
    return weights, train_loss, diverged
