"""Numba trajectory engines: many gradient-descent runs in one call, on all threads.

The kernels know nothing of files, TOML or xarray. They take a stack of
training sets sharing one shape, one row of parameters per trajectory, and
the checkpoint steps, and return the weights and training loss recorded at
each checkpoint.

Invariants
----------
* The threads share out trajectories, or groups of trajectories sharing a training
  set (:func:`partition`): Python threads running GIL-free kernels
  (:func:`run_trajectories`), and ``prange`` over blocks of samples inside a group
  on the BLAS path. Trajectory ``r`` writes only ``weights[r]``,
  ``train_loss[r]`` and ``diverged[r]``. Each trajectory is computed by one
  thread, in a fixed order of operations that does not depend on the other
  trajectories of the call, so the result is bit-identical for any thread count
  or chunking of trajectories.
* The only randomness (SGD batches) comes from :func:`logsim.rng.uniform`
  keyed by the trajectory's ``batch_key`` and the step: never ``np.random``.
* Checkpoint ``k`` stores ``w_t`` for ``t = checkpoints[k]``, the weights after
  ``t`` updates (``t = 0`` is the initial point), and the mean training loss at
  ``w_t`` over the full training set; after the run, its natural log computed without
  underflow from the recorded weights (:func:`log_train_losses`).
* ``frozen_at[r]`` is the first step from which trajectory ``r``'s weights never changed
  again (every entry exactly equal) until the end of the run; -1 where the last update
  still changed them (or the trajectory diverged).
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import prange

from logsim._blas import gemm
from logsim._jit import called_borrowing, helper, in_threads, kernel, ordered_sums, pieces
from logsim._rows import combine_rows, combine_rows_at, dot_rows_at
from logsim.losses import (
    HINGE,
    LOGISTIC,
    decay,
    hinge_derivative,
    log_loss_value_call,
    logistic_derivative,
    loss_derivative_call,
    loss_value_call,
    shifted_derivative,
    shifted_value,
)
from logsim.rng import uniform

#: Optimiser codes understood by :func:`run_trajectories`.
GD, SGD, NGD_GRADIENT, NGD_LOSS = 0, 1, 2, 3

#: What an update did (:func:`_update`): the trajectory diverged, the weights stayed
#: exactly as they were, or they moved.
_DIVERGED, _STILL, _MOVED = 0, 1, 2


@ordered_sums
def _logits_all(XT, w, z):
    """``z = X w`` for every sample, with ``XT = X.T`` (contiguous over samples).

    Each ``z[i]`` is summed over features in order, ``j = 0 .. d-1``, as
    :func:`_lanes_logits` sums it: both paths give the same bits. The sums stay in
    registers (:func:`logsim._rows.combine_rows`, ``z = w @ X^T``) rather than going back
    to memory after every term.
    """
    combine_rows(w, XT, z)


@called_borrowing
def _mean_loss(code, z, y, rho_pos, rho_neg):
    """Mean of :func:`logsim.losses.loss_value` over the samples, summed in order.

    Off the hot path (checkpoints, and normalized GD by the loss), so the loss is a call
    per sample: the libm ``log1p`` in every loss costs more than the call.
    """
    total = 0.0
    for i in range(z.shape[0]):
        total += loss_value_call(code, z[i], y[i], rho_pos, rho_neg)
    return total / z.shape[0]


#: A mean loss at least this large is a normal number computed to a few ulps: its log is
#: taken directly (:func:`_log_mean_loss`).
_LOG_DIRECTLY = 1e-290


@called_borrowing
def _log_mean_loss(code, z, y, rho_pos, rho_neg, mean):
    """``log`` of the mean loss over the samples, without underflow.

    ``log((1/n) sum_i l_i) = M + log(sum_i e^{log l_i - M}) - log n`` with ``M = max_i log
    l_i`` (log-sum-exp) and each ``log l_i`` from :func:`logsim.losses.log_loss_value`
    (called, not inlined: inlined twice it took 11 s of a cold compile), so a mean loss of
    ``e^{-5000}`` gives -5000. -inf where every loss is exactly 0 (hinge past the margin).
    Where a backward loss has a negative coefficient (its per-sample values may be
    negative) it is ``log(mean)`` of the plain mean ``mean``: NaN where that is ``<= 0``.
    The logs are computed twice rather than stored.

    Where the plain mean is at least ``_LOG_DIRECTLY`` it is accurate to a few ulps (its
    terms are, and samples whose loss underflowed change it by under ``n 1e-308``), and
    its log is taken as it is. Not in the trajectory kernels: in them the per-sample logs
    cost 15 % of a W2 trajectory at its two checkpoints (n = 2000), and their code 20-30 s
    of a cold compile (measured); :func:`log_train_losses` runs it after them, only where
    the mean loss underflowed.
    """
    if _LOG_DIRECTLY <= mean < math.inf:
        return math.log(mean)
    n = z.shape[0]
    top = -math.inf
    for i in range(n):
        v = log_loss_value_call(code, z[i], y[i], rho_pos, rho_neg)
        if math.isnan(v):
            return math.log(mean) if mean > 0.0 else math.nan
        top = max(top, v)
    if top == -math.inf or top == math.inf:
        return top
    total = 0.0
    for i in range(n):
        total += math.exp(log_loss_value_call(code, z[i], y[i], rho_pos, rho_neg) - top)
    return top + math.log(total) - math.log(n)


@kernel(parallel=False)
def _log_losses_at(XT, targets, data_index, loss_code, rho_pos, rho_neg, weights, train_loss,
                   rows, columns, out):
    """``out[i] = log`` of the mean loss of trajectory ``rows[i]`` at its checkpoint
    ``columns[i]`` (:func:`_log_mean_loss`), from the recorded weights: the logits are
    :func:`_logits_all`'s, the kernels' own."""
    n = XT.shape[2]
    z = np.empty(n)
    for i in range(rows.shape[0]):
        r = rows[i]
        _logits_all(XT[data_index[r]], weights[r, columns[i]], z)
        out[i] = _log_mean_loss(loss_code[r], z, targets[r], rho_pos[r], rho_neg[r],
                                train_loss[r, columns[i]])


def log_train_losses(XT, targets, data_index, loss_code, rho_pos, rho_neg, weights,
                     train_loss):
    """``log`` of every recorded mean training loss, without underflow: ``(R, K)``.

    ``log(train_loss)`` where the loss is at least ``_LOG_DIRECTLY`` (accurate there: see
    :func:`_log_mean_loss`); elsewhere (a mean loss that underflowed, an exact 0, a backward
    mean <= 0) :func:`_log_mean_loss` at the recorded weights, by a compiled pass that a run
    whose losses never get there does not compile. NaN where ``train_loss`` is NaN.
    """
    out = np.full(train_loss.shape, np.nan)
    direct = np.isfinite(train_loss) & (train_loss >= _LOG_DIRECTLY)
    out[direct] = np.log(train_loss[direct])
    rows, columns = np.nonzero(np.isfinite(train_loss) & ~direct)
    if rows.size:
        values = np.empty(rows.size)
        _log_losses_at(XT, targets, data_index, loss_code, rho_pos, rho_neg, weights,
                       train_loss, rows.astype(np.int64), columns.astype(np.int64), values)
        out[rows, columns] = values
    return out


#: A scale-invariant update (normalized GD) computes its gradient from derivatives shifted
#: by the smallest margin ``c`` once ``c`` reaches this (:func:`_shifted_gradient`). Below
#: it every derivative that matters is a normal number above ``e^-500 = 7e-218`` and the
#: unshifted computation is as exact as the shifted one, so runs that never get there keep
#: the bits they always had.
SHIFT_FROM = 500.0


@called_borrowing
def _gradient_shift(code, of_loss, z, y, rho_pos, rho_neg, start=SHIFT_FROM):
    """The shift ``c`` of :func:`_shifted_gradient` for logits ``z``: the smallest of the
    samples' decay rates if it is ``>= start`` and ``> 0``, else 0 (no shift).

    ``c = min_i a_i`` over the decay rates (:func:`logsim.losses.decay`, which states for
    which losses and targets the shift is exact); a sample that does not decay has
    ``a_i = 0``, so a single one keeps the run unshifted (nothing underflows there). The
    scan stops at the first sample below ``start``: the minimum only falls, and on data
    that are not separated that sample comes early (most of a sign or coordinate descent
    step went into this scan before). ``z`` may be a column of the group's logits.
    """
    c = math.inf
    for i in range(z.shape[0]):
        c = min(c, decay(code, z[i], y[i], rho_pos, rho_neg, of_loss))
        if not (c >= start and c > 0.0):
            return 0.0
    return 0.0 if c == math.inf else c


@called_borrowing
def _shifted_gradient(code, X, z, y, rho_pos, rho_neg, c, resid, g):
    """``g = e^c X^T l'(z, y) / n`` for the shift ``c > 0`` of :func:`_gradient_shift`.

    For an update invariant to a positive rescaling of the gradient (``g / ||g||``; with
    the loss, ``g / L`` whose loss is rescaled alike by :func:`_shifted_mean_loss`), the
    shifted gradient gives the same step as the unshifted one, and it never underflows:
    log-sum-exp style, the sample at the smallest margin contributes ``e^0`` times a bounded
    factor. Normalized GD shifts from ``SHIFT_FROM``; the new optimisers of
    :func:`_update_extended` from any positive margin, as Adam squares ``g``, which
    underflows from margins of 372.
    """
    for i in range(z.shape[0]):
        resid[i] = shifted_derivative(code, z[i], y[i], rho_pos, rho_neg, c)
    _project(X, resid, g)


@called_borrowing
def _shifted_mean_loss(code, z, y, rho_pos, rho_neg, c):
    """``e^c L``: the mean loss shifted as :func:`_shifted_gradient` shifted the gradient."""
    total = 0.0
    for i in range(z.shape[0]):
        total += shifted_value(code, z[i], y[i], rho_pos, rho_neg, c)
    return total / z.shape[0]


@helper
def _column_shifted_gradient(code, of_loss, X, Z, b, y, rho_pos, rho_neg, start, z, resid, g,
                             loss):
    """Column ``b`` of a group's logits ``Z``: its shift (:func:`_gradient_shift`) and, where
    it is positive, ``g`` from :func:`_shifted_gradient` and (``of_loss``) the loss shifted
    alike; ``g`` and ``loss`` are left as given where there is no shift. The logits are
    copied to ``z`` only then. Returns ``(shift, loss)``."""
    shift = _gradient_shift(code, of_loss, Z[:, b], y, rho_pos, rho_neg, start)
    if shift > 0.0:
        _copy(Z[:, b], z)
        _shifted_gradient(code, X, z, y, rho_pos, rho_neg, shift, resid, g)
        if of_loss:
            loss = _shifted_mean_loss(code, z, y, rho_pos, rho_neg, shift)
    return shift, loss


@ordered_sums
def _project(X, resid, g):
    """``g = X^T resid / n``, each ``g[j]`` summed over samples in order.

    The order is :func:`_lanes_project`'s, so both paths give the same bits. The partial
    sums stay in registers (:func:`logsim._rows.combine_rows`, ``g = resid @ X``): as a
    loop, each ``g[j]`` went back to memory after every sample, a store-to-load chain of
    ``n`` links per step (measured: the lone path's step 1.9 -> x faster).
    """
    n = X.shape[0]
    combine_rows(resid, X, g)
    for j in range(g.shape[0]):
        g[j] /= n


@ordered_sums
def _lanes_logits(X, WT, Z):
    """``Z = X W^T`` for a group in lanes (``WT`` is ``d x m``, ``Z`` ``n x m``).

    Row by row, ``Z[i] = sum_j X[i, j] W^T[j]`` with the sums in registers
    (:func:`logsim._rows.combine_rows`); each ``Z[i, b]`` is summed over ``j = 0 .. d-1``
    in order, as :func:`_logits_all` sums it.
    """
    for i in range(X.shape[0]):
        combine_rows(X[i], WT, Z[i])


@ordered_sums
def _lanes_project(XT, RZ, GT):
    """``G^T = X^T RZ / n`` for a group in lanes (``RZ`` is ``n x m``, ``GT`` ``d x m``).

    Row by row from ``XT = X.T``, ``G^T[j] = sum_i X[i, j] RZ[i]``
    (:func:`logsim._rows.combine_rows`), summed over samples in order as :func:`_project`
    sums ``g[j]``.
    """
    d, n = XT.shape
    m = RZ.shape[1]
    for j in range(d):
        combine_rows(XT[j], RZ, GT[j])
        for b in range(m):
            GT[j, b] /= n


@helper
def _logistic_residuals(z, y, resid):
    """``resid = sigmoid(z) - y``: the hot path, a branch-free loop LLVM vectorises."""
    for i in range(z.shape[0]):
        resid[i] = logistic_derivative(z[i], y[i])


@called_borrowing
def _residuals(code, z, y, rho_pos, rho_neg, resid):
    """``resid = l'(z, y)``, the derivative of the loss at every logit."""
    if code == LOGISTIC:
        _logistic_residuals(z, y, resid)
    elif code == HINGE:  # a select per sample: vectorised too, and small to compile
        for i in range(z.shape[0]):
            resid[i] = hinge_derivative(z[i], y[i])
    else:  # one call per sample keeps the compiled code (and compile time) small
        for i in range(z.shape[0]):
            resid[i] = loss_derivative_call(code, z[i], y[i], rho_pos, rho_neg)


@called_borrowing
def _full_gradient(code, X, z, y, rho_pos, rho_neg, resid, g):
    """``g = X^T l'(z, y) / n``: the full-batch gradient of the mean loss.

    Called, not inlined, and compiled without Numba's runtime: an inlined helper's array
    arguments cost atomic reference counts at every step of the loops that call it."""
    _residuals(code, z, y, rho_pos, rho_neg, resid)
    _project(X, resid, g)


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


@ordered_sums
def _batch_logits(X, w, perm, batch_size, zb):
    """``zb[b] = x_{perm[b]} . w`` for the batch ``perm[:batch_size]``.

    Eight rows at a time, each a dot product in the fixed order of
    :func:`logsim._rows.dot_rows_at` (vectorised over features, rows gathered as read).
    """
    dot_rows_at(X, perm, w, zb[:batch_size])


@ordered_sums
def _batch_project(X, perm, batch_size, rb, g):
    """``g = sum_b rb[b] x_{perm[b]} / batch_size``, summed over the batch in order.

    The rows are gathered as they are read (:func:`logsim._rows.combine_rows_at`), with
    the partial sums of ``g`` in registers.
    """
    combine_rows_at(rb[:batch_size], X, perm, g)
    for j in range(g.shape[0]):
        g[j] /= batch_size


@helper
def _batch_gradient(code, X, w, y, rho_pos, rho_neg, perm, batch_size, zb, yb, rb, g):
    """``g = sum_b l'(x_b.w, y_b) x_b / batch_size`` over the batch ``perm[:batch_size]``."""
    _batch_logits(X, w, perm, batch_size, zb)
    for b in range(batch_size):  # gather once, so the residual loop vectorises
        yb[b] = y[perm[b]]
    if code == LOGISTIC:  # inlined: for a batch of 32 the call to _residuals cost 7-14 %
        _logistic_residuals(zb, yb, rb)  # of an SGD step (interleaved A/B, W2 shape)
    else:
        _residuals(code, zb, yb, rho_pos, rho_neg, rb)
    _batch_project(X, perm, batch_size, rb, g)


@helper
def _all_finite(v):
    """Whether every entry of ``v`` is finite: an OR over all of them, which vectorises
    (an early return per entry made the two checks of an SGD step's update 36 ns, d=20)."""
    bad = False
    for j in range(v.shape[0]):
        bad |= not math.isfinite(v[j])
    return not bad


@helper
def _record(loss, w, weights_out, loss_out, k):
    """Store checkpoint ``k`` (weights and mean loss); False if the loss is not finite."""
    if not math.isfinite(loss):
        return False
    for j in range(w.shape[0]):
        weights_out[k, j] = w[j]
    loss_out[k] = loss
    return True


#: A sum of squares at least this large is accurate: squares that underflowed (each below
#: 2**-1022) change it by under d * 2**-1022, far below one ulp. Below it, :func:`_norm`
#: rescales.
_TINY_SUM_OF_SQUARES = 2.0 ** -900


#: Largest step factor ``learning_rate / divisor`` applied as is; beyond it (a gradient
#: norm or loss near the subnormal range) :func:`_update` divides ``g`` first.
_MAX_SCALE = 1e300


@helper
def _norm(g):
    """``||g||_2``, without underflow or overflow for any finite ``g``.

    The plain ``sqrt(sum g_j**2)`` is used where it is accurate (so bits stay what they
    always were); where the sum of squares underflows (every ``|g_j| < 1.5e-162``, which
    happens to a normalized-GD run on separable data once its margins pass about 370:
    the step would stop although ``g`` has a direction) or overflows, the entries are
    first divided by ``max |g_j|``, as in LAPACK's ``dnrm2``.
    """
    sum_sq = 0.0
    for j in range(g.shape[0]):
        sum_sq += g[j] * g[j]
    if _TINY_SUM_OF_SQUARES <= sum_sq <= 1e300:
        return math.sqrt(sum_sq)
    big = 0.0
    for j in range(g.shape[0]):
        big = max(big, abs(g[j]))
    if big == 0.0:
        return 0.0
    sum_sq = 0.0
    for j in range(g.shape[0]):
        q = g[j] / big
        sum_sq += q * q
    return big * math.sqrt(sum_sq)


@helper
def _update(method, learning_rate, loss, g, w):
    """``w <- w - scale g`` with the method's step (see :func:`run_trajectories`).

    ``loss`` is the mean loss at ``w`` (needed by ``NGD_LOSS`` only). Returns
    ``_DIVERGED`` if the gradient or the new weights are not finite, ``_STILL`` if every
    weight kept its exact value, else ``_MOVED``.
    """
    if not _all_finite(g):
        return _DIVERGED
    divisor = 1.0  # the step is learning_rate * g / divisor
    if method == NGD_GRADIENT:
        divisor = _norm(g)
    elif method == NGD_LOSS:
        divisor = loss
    if divisor <= 0.0:  # no direction (g = 0), or a loss that has underflowed: stay
        return _STILL
    scale = learning_rate / divisor
    moved = False
    if scale <= _MAX_SCALE:
        for j in range(w.shape[0]):
            new = w[j] - scale * g[j]
            moved |= new != w[j]
            w[j] = new
    else:  # divisor so small (subnormal) that 1/divisor overflows: divide g first
        for j in range(w.shape[0]):
            new = w[j] - learning_rate * (g[j] / divisor)
            moved |= new != w[j]
            w[j] = new
    if not _all_finite(w):
        return _DIVERGED
    return _MOVED if moved else _STILL


@helper
def _trajectory(
    X, XT, y, code, method, learning_rate, batch_size, rho_pos, rho_neg, key, w0,
    checkpoints, weights_out, loss_out,
):  # fmt: skip
    """Run one trajectory, writing its checkpoints; return whether it diverged, and its
    ``frozen_at`` (-1 if it diverged)."""
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
    frozen = 0  # one past the last update that moved the weights
    # Each step records checkpoint k if t is one, then makes update t (none after the
    # last record). The step is written out here rather than in a helper of its own:
    # an inlined helper's array arguments are fresh references, and Numba could not
    # prune their reference counting inside this loop (about 30 atomic increments and
    # decrements per step, half of a small lone run's time, measured with perf).
    for t in range(last + 1):
        at_checkpoint = t == checkpoints[k]
        if method != SGD or at_checkpoint:
            _logits_all(XT, w, z)
        loss = math.nan
        if at_checkpoint or method == NGD_LOSS:
            loss = _mean_loss(code, z, y, rho_pos, rho_neg)
        if at_checkpoint:
            if not _record(loss, w, weights_out, loss_out, k):
                return True, -1
            k += 1
        if t == last:
            break
        if method == SGD:
            _draw_batch(perm, batch_size, key, t)
            _batch_gradient(code, X, w, y, rho_pos, rho_neg, perm, batch_size, zb, yb, rb, g)
        else:
            _full_gradient(code, X, z, y, rho_pos, rho_neg, resid, g)
        status = _update(method, learning_rate, loss, g, w)
        if status == _DIVERGED:
            return True, -1
        if status == _MOVED:
            frozen = t + 1
    return False, (frozen if frozen < last else -1)


#: Smallest feature count for which a group's two products are BLAS calls
#: (:func:`logsim._blas.gemm`) rather than the ordered loops :func:`_lanes_logits` and
#: :func:`_lanes_project`.
GEMM_MIN_FEATURES = 64


def blas_path(d: int) -> bool:
    """Whether groups of trajectories with ``d`` features take the BLAS path."""
    return d >= GEMM_MIN_FEATURES

#: Trajectories per group on the BLAS path are padded to a multiple of this (empty
#: columns are zero). Single-threaded OpenBLAS computes a column of ``A @ B`` by the same
#: operations wherever it sits, as long as it falls in a full micro-kernel tile (2 to 8
#: columns on the kernels we know of), for any multiple of 16 columns up to 64 (measured,
#: and tested in tests/test_kernels.py); a ragged last tile takes another code path.
GEMM_COLUMNS = 16
#: Largest group: BLAS products of up to 64 columns, and 32 lanes on the loop path.
MAX_GEMM_GROUP = 64
MAX_LANES_GROUP = 32


def partition(data_index, method, d, threads=None, alone=None):
    """Split trajectories into groups that share a training set, and the rest.

    Full-batch trajectories on the same training set run together, one group per
    thread, in lanes (:func:`_group_kernel`). On the loop path a trajectory gets
    the same bits in a group of any size as alone (the sums run in the same order), so
    a group is formed only where it helps (two or more members). On the BLAS path
    (``d >= GEMM_MIN_FEATURES``) every full-batch trajectory is in a group, padded to
    a multiple of ``GEMM_COLUMNS``, so that its bits never depend on its neighbours.
    Loop-path groups are sized to keep ``threads`` threads busy; BLAS-path groups take
    up to ``MAX_GEMM_GROUP`` columns and share the threads by blocks of samples.

    ``alone`` (bool, one per trajectory) marks trajectories that never join a group (the
    mini-batch runs of the other optimisers, which :func:`_run_solo_extended` runs; their
    full-batch runs join groups like GD's).

    Returns
    -------
    groups : list of int64 arrays
        Trajectory indices of each group, ``-1`` in padding columns.
    solo : int64 (S,)
        The remaining trajectories, in order (SGD runs and lone full-batch runs).
    """
    data_index = np.asarray(data_index, dtype=np.int64)
    method = np.asarray(method, dtype=np.int64)
    threads = numba.get_num_threads() if threads is None else threads
    blas = blas_path(d)
    full_batch = method != SGD
    if alone is not None:  # trajectories of the extended kernel (:func:`_run_solo_extended`)
        full_batch = full_batch & ~np.asarray(alone, dtype=bool)
    in_group = np.zeros(data_index.size, dtype=bool)
    groups = []
    for data in np.unique(data_index[full_batch]):
        members = np.flatnonzero(full_batch & (data_index == data))
        if members.size < 2 and not blas:
            continue
        if blas:  # one group at a time, its products split between the threads
            count = MAX_GEMM_GROUP
        else:  # a group per thread
            count = max(1, min(-(-members.size // threads), MAX_LANES_GROUP))
        for start in range(0, members.size, count):
            chunk = members[start:start + count]
            if chunk.size < 2 and not blas:
                continue  # a lone leftover runs faster on its own, with the same bits
            width = -(-chunk.size // GEMM_COLUMNS) * GEMM_COLUMNS if blas else chunk.size
            group = np.full(width, -1, dtype=np.int64)
            group[:chunk.size] = chunk
            groups.append(group)
            in_group[chunk] = True
    return groups, np.flatnonzero(~in_group).astype(np.int64)


@helper
def _copy(src, dst):
    """``dst[:] = src`` for 1-D arrays of equal length, as a loop.

    Numba compiles an array-to-array slice assignment with a shape check whose error
    message is formatted at run time; that string machinery cost about 6 s of the cold
    compile of a group kernel (:func:`_group_kernel`). The lengths here are the kernel's own.
    """
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@helper
def _group_residuals(
    Z, YT, RZ, lo, hi, members, alive, all_logistic, loss_code, targets, rho_pos, rho_neg,
    z, resid,
):  # fmt: skip
    """``RZ = l'(Z, Y)`` on rows ``lo .. hi - 1`` of a group; 0 in columns not alive.

    ``z`` and ``resid`` are scratch rows of at least ``hi - lo`` entries (used only when
    some column's loss is not logistic). Each entry is the number :func:`_residuals`
    gives a lone trajectory.
    """
    m = Z.shape[1]
    if all_logistic:  # the hot path: one long branch-free loop LLVM vectorises
        for i in range(lo, hi):
            for b in range(m):
                RZ[i, b] = logistic_derivative(Z[i, b], YT[i, b])
    else:
        rows = hi - lo
        for b in range(m):
            if alive[b]:
                r = members[b]
                _copy(Z[lo:hi, b], z[:rows])
                _residuals(loss_code[r], z[:rows], targets[r, lo:hi], rho_pos[r], rho_neg[r],
                           resid[:rows])
                _copy(resid[:rows], RZ[lo:hi, b])
    for b in range(m):
        if not alive[b]:
            RZ[lo:hi, b] = 0.0


@helper
def _retire(b, alive, rate, WT):
    """Stop column ``b`` of a group: it diverged (or is empty); its weights stay 0."""
    alive[b] = False
    rate[b] = 0.0
    WT[:, b] = 0.0


#: Samples per block of a group's residuals, and on the BLAS path of its products: the
#: threads split a BLAS group's products by blocks of samples, so every thread packs only
#: its own rows of ``X``. The blocks are fixed (not derived from the thread count) and
#: their partial gradients are summed in block order, so the bits do not depend on the
#: number of threads.
SAMPLE_BLOCK = 256


@kernel
def _blas_pass(
    X, WT, YT, Z, RZ, partial, members, alive, all_logistic, loss_code, targets, rho_pos,
    rho_neg, advance, zs, rs,
):  # fmt: skip
    """``Z = X W^T``; if ``advance``, also ``RZ = l'(Z)`` and ``partial[k] = X_k^T RZ_k``.

    Block ``k`` holds samples ``k SAMPLE_BLOCK ..``; blocks run in parallel, each
    product a single-threaded BLAS call, ``zs[k]`` and ``rs[k]`` its scratch rows.
    Columns that are not alive get ``RZ = 0``.
    """
    n = X.shape[0]
    for blk in prange(partial.shape[0]):
        lo = blk * SAMPLE_BLOCK
        hi = min(n, lo + SAMPLE_BLOCK)
        Xb = X[lo:hi]
        gemm(Xb, WT, Z[lo:hi])
        if advance:
            _group_residuals(Z, YT, RZ, lo, hi, members, alive, all_logistic, loss_code,
                             targets, rho_pos, rho_neg, zs[blk], rs[blk])
            gemm(Xb.T, RZ[lo:hi], partial[blk])


@called_borrowing
def _blas_products(
    X, WT, YT, Z, RZ, GT, partial, zs, rs, members, alive, all_logistic, loss_code, targets,
    rho_pos, rho_neg, advance,
):  # fmt: skip
    """A group's products on BLAS: ``Z = X W^T``; if ``advance``, ``G^T = X^T l'(Z) / n``.

    :func:`_blas_pass` (the residuals ``RZ = l'(Z)`` and per-block partial gradients),
    then the blocks' partial gradients summed in block order.
    """
    _blas_pass(X, WT, YT, Z, RZ, partial, members, alive, all_logistic, loss_code, targets,
               rho_pos, rho_neg, advance, zs, rs)
    if not advance:
        return
    n, d = X.shape
    m = WT.shape[1]
    for j in range(d):
        _copy(partial[0, j], GT[j])
    for blk in range(1, partial.shape[0]):
        for j in range(d):
            for b in range(m):
                GT[j, b] += partial[blk, j, b]
    for j in range(d):
        for b in range(m):
            GT[j, b] /= n


@called_borrowing
def _lanes_products(
    X, XT, WT, YT, Z, RZ, GT, zs, rs, members, alive, all_logistic, loss_code, targets,
    rho_pos, rho_neg, advance,
):  # fmt: skip
    """A group's products by the ordered loops: the bits :func:`_trajectory` gives.

    The results of :func:`_blas_products`, from ``XT = X.T`` instead of partial sums; the
    residuals run by blocks of ``SAMPLE_BLOCK`` samples with scratch rows ``zs[k]``, ``rs[k]``.
    """
    n = X.shape[0]
    _lanes_logits(X, WT, Z)
    if not advance:
        return
    for blk in range(zs.shape[0]):
        lo = blk * SAMPLE_BLOCK
        hi = min(n, lo + SAMPLE_BLOCK)
        _group_residuals(Z, YT, RZ, lo, hi, members, alive, all_logistic, loss_code, targets,
                         rho_pos, rho_neg, zs[blk], rs[blk])
    _lanes_project(XT, RZ, GT)


def _group_kernel(blas: bool, normalized: bool, extended: bool = False):
    """Compile the run of a group of trajectories on one training set, on one path.

    ``normalized`` (a constant too) compiles the shifted gradients of normalized GD
    (:func:`_shifted_gradient`) for groups that have such a column; groups of plain GD
    compile without them. ``extended`` (a constant) compiles the updates of
    :func:`_trajectory_extended` instead (every optimiser, weight decay and schedule,
    with the per-column state of momentum and Adam): a group with such a column takes
    it, and its columns get the bits :func:`_trajectory_extended` gives them alone.

    ``blas`` is a constant of the closure, so Numba prunes the other path's branch before
    typing: each path compiles without the other's code, and the kernel is the entry
    point itself (every level of compiled calls re-optimises and re-generates the code
    below it, 1.5-2.5 s per level here). An argument would not do: Numba prunes no
    branch on a (literal) argument.
    """

    @kernel(parallel=False)
    def run_group(
        X, XT, targets, members, loss_code, method, learning_rate, rho_pos, rho_neg, w0,
        checkpoints, weights, train_loss, diverged, frozen_at, options,
    ):  # fmt: skip
        """Run full-batch trajectories ``members`` (-1: an empty column) on one training set.

        Trajectory ``b`` of the group is column ``b`` of ``W^T`` (``d x m``), of the logits
        ``Z = X W^T`` (``n x m``) and of their loss derivatives ``RZ``; the gradients are
        ``G^T = X^T RZ / n``. On the BLAS path :func:`_blas_products` computes them (BLAS
        calls in parallel over blocks of samples, so the group must run alone, not inside
        another parallel region, and ``d >= GEMM_MIN_FEATURES``); on the loop path
        :func:`_lanes_products` (the ordered loops, which give each trajectory the bits
        :func:`_trajectory` gives it). Recording and updates are :func:`_record` and
        :func:`_update`, column by column (a normalized-GD column at margins past
        ``SHIFT_FROM`` recomputes its gradient by :func:`_shifted_gradient`). A column that
        diverges is zeroed and left alone.
        """
        m = members.shape[0]
        n, d = X.shape
        WT = np.zeros((d, m))
        YT = np.zeros((n, m))
        Z = np.empty((n, m))
        RZ = np.zeros((n, m))
        GT = np.empty((d, m))
        blocks = -(-n // SAMPLE_BLOCK)
        partial = np.empty((blocks if blas else 0, d, m))  # BLAS path only
        zs = np.empty((blocks, SAMPLE_BLOCK))  # per-block scratch rows of _group_residuals
        rs = np.empty((blocks, SAMPLE_BLOCK))
        z = np.empty(n)
        resid = np.empty(n)
        w = np.empty(d)
        g = np.empty(d)
        loss = np.full(m, math.nan)
        # extended groups: each column's momentum / Adam moments (rows, contiguous) and the
        # scale of its stored moments (see _adam)
        M = np.zeros((m if extended else 0, d))
        V = np.zeros((m if extended else 0, d))
        moment_shift = np.zeros(m)
        moved = np.zeros(m)  # all-GD steps: nonzero where a column's weights changed
        frozen = np.zeros(m, dtype=np.int64)  # one past the last update that moved a column
        rate = np.zeros(m)  # step size per column; 0 in empty columns
        finite = np.empty(m)
        alive = members >= 0
        # Counts rather than running booleans: a flag that starts as the constant True is
        # typed Literal[bool] at one call of the products, which compiled them a second time.
        n_alive = 0
        n_logistic = 0
        n_gd = 0
        n_ngd_loss = 0
        for b in range(m):
            if alive[b]:
                r = members[b]
                _copy(w0[r], WT[:, b])
                _copy(targets[r], YT[:, b])
                rate[b] = learning_rate[r]
                n_alive += 1
                n_logistic += loss_code[r] == LOGISTIC
                n_gd += method[r] == GD
                n_ngd_loss += method[r] == NGD_LOSS
        all_logistic = n_logistic == n_alive
        all_gd = n_gd == n_alive and not extended  # GD with options takes the column loop
        any_ngd_loss = n_ngd_loss > 0
        last = checkpoints[checkpoints.shape[0] - 1]
        k = 0
        for t in range(last + 1):
            at_checkpoint = t == checkpoints[k]
            # The gradient is computed before the checkpoint's record, which reads only Z and
            # W^T; a column retired there has its weights zeroed and its step size set to 0.
            if blas:  # a constant: Numba compiles only the branch taken
                _blas_products(X, WT, YT, Z, RZ, GT, partial, zs, rs, members, alive,
                               all_logistic, loss_code, targets, rho_pos, rho_neg, t < last)
            else:
                _lanes_products(X, XT, WT, YT, Z, RZ, GT, zs, rs, members, alive,
                                all_logistic, loss_code, targets, rho_pos, rho_neg, t < last)
            for b in range(m if at_checkpoint or any_ngd_loss else 0):
                if not alive[b]:
                    continue
                r = members[b]
                if at_checkpoint or method[r] == NGD_LOSS:
                    _copy(Z[:, b], z)
                    loss[b] = _mean_loss(loss_code[r], z, targets[r], rho_pos[r], rho_neg[r])
                if at_checkpoint:
                    _copy(WT[:, b], w)
                    if not _record(loss[b], w, weights[r], train_loss[r], k):
                        _retire(b, alive, rate, WT)
            if at_checkpoint:
                k += 1
            if t == last:
                break
            if all_gd:
                # _update's GD step, w <- w - eta g, for every column at once; x * 0 is 0 for
                # finite x and NaN otherwise, so finite[b] != 0 flags exactly the columns
                # whose gradient or new weights _update would have rejected. Empty and dead
                # columns have rate 0 (and g = 0 unless they died at this step's checkpoint).
                # moved[b] != 0 where some weight of column b changed (|new - old| > 0).
                for b in range(m):
                    finite[b] = 0.0
                    moved[b] = 0.0
                for j in range(d):
                    for b in range(m):
                        old = WT[j, b]
                        WT[j, b] = old - rate[b] * GT[j, b]
                        finite[b] += GT[j, b] * 0.0 + WT[j, b] * 0.0
                        moved[b] += abs(WT[j, b] - old)
                for b in range(m):
                    # a column that died at this step's checkpoint moved: zero it again
                    if not alive[b] or finite[b] != 0.0:
                        _retire(b, alive, rate, WT)
                    elif moved[b] != 0.0:
                        frozen[b] = t + 1
                continue
            for b in range(m):
                if not alive[b]:
                    continue
                r = members[b]
                _copy(WT[:, b], w)
                _copy(GT[:, b], g)
                divisor_loss = loss[b]
                if extended:  # a constant: the update of _trajectory_extended, column b
                    opts = options[r]
                    shift = 0.0
                    if _scale_invariant(method[r], opts):
                        shift, divisor_loss = _column_shifted_gradient(
                            loss_code[r], method[r] == NGD_LOSS, X, Z, b, targets[r],
                            rho_pos[r], rho_neg[r],
                            SHIFT_FROM if method[r] <= NGD_LOSS else 0.0, z, resid, g,
                            divisor_loss)
                    decay_rate = opts[OPT_WEIGHT_DECAY]
                    if decay_rate != 0.0:
                        for j in range(d):
                            g[j] += decay_rate * w[j]
                    eta = _step_size(int(opts[OPT_SCHEDULE]), learning_rate[r],
                                     opts[OPT_SCALE], t)
                    status, moment_shift[b] = _update_extended(
                        method[r], eta, divisor_loss, opts, t, shift, moment_shift[b], g, w,
                        M[b], V[b])
                    if status == _DIVERGED:
                        _retire(b, alive, rate, WT)
                    else:
                        _copy(w, WT[:, b])
                        if status == _MOVED:
                            frozen[b] = t + 1
                    continue
                if normalized:  # a constant: pruned before typing in plain-GD groups
                    if method[r] == NGD_GRADIENT or method[r] == NGD_LOSS:
                        _, divisor_loss = _column_shifted_gradient(
                            loss_code[r], method[r] == NGD_LOSS, X, Z, b, targets[r],
                            rho_pos[r], rho_neg[r], SHIFT_FROM, z, resid, g, divisor_loss)
                status = _update(method[r], learning_rate[r], divisor_loss, g, w)
                if status == _DIVERGED:
                    _retire(b, alive, rate, WT)
                else:
                    _copy(w, WT[:, b])
                    if status == _MOVED:
                        frozen[b] = t + 1
        for b in range(m):
            if members[b] >= 0:
                diverged[members[b]] = not alive[b]
                still = alive[b] and frozen[b] < last
                frozen_at[members[b]] = frozen[b] if still else -1

    return run_group


#: One group on the loop path (32 lanes at most), on the calling thread.
_run_lane_group = _group_kernel(False, False)
#: One group on the BLAS path; its products run in parallel over blocks of samples.
_run_blas_group = _group_kernel(True, False)
#: The same for groups with a normalized-GD column.
_run_lane_group_normalized = _group_kernel(False, True)
_run_blas_group_normalized = _group_kernel(True, True)
#: The same for groups with a column of the other optimisers or options.
_run_lane_group_extended = _group_kernel(False, True, True)
_run_blas_group_extended = _group_kernel(True, True, True)


@kernel(parallel=False)
def _run_solo(
    X, XT, targets, data_index, loss_code, method, learning_rate, batch_size, rho_pos,
    rho_neg, batch_key, w0, checkpoints, solo, weights, train_loss, diverged, frozen_at,
):  # fmt: skip
    """Trajectories ``solo`` one after another, on the calling thread (:func:`_trajectory`)."""
    for i in range(solo.shape[0]):
        r = solo[i]
        m = data_index[r]
        diverged[r], frozen_at[r] = _trajectory(
            X[m], XT[m], targets[r], loss_code[r], method[r], learning_rate[r],
            batch_size[r], rho_pos[r], rho_neg[r], batch_key[r], w0[r], checkpoints,
            weights[r], train_loss[r],
        )  # fmt: skip


# --- more optimisers, weight decay and step-size schedules (issue 19) --------------------
#
# A separate entry point (:func:`_run_solo_extended`), compiled only by a call that uses
# one of them: sweeps of GD, SGD and normalized GD without these options compile and run
# the kernels above exactly as before.

#: Optimiser codes of :func:`_run_solo_extended`, after ``GD .. NGD_LOSS``.
MOMENTUM, NESTEROV, ADAM, SIGN_GD, COORDINATE_DESCENT = 4, 5, 6, 7, 8
#: Step-size schedule codes (:func:`_step_size`).
CONSTANT, INVERSE_SQRT, INVERSE = 0, 1, 2
#: Columns of the per-trajectory option table ``options`` (R, OPTION_COUNT).
OPT_MOMENTUM, OPT_BETA1, OPT_BETA2, OPT_EPS, OPT_WEIGHT_DECAY, OPT_SCHEDULE, OPT_SCALE = range(7)
OPTION_COUNT = 7
#: Largest second-moment entry Adam keeps when it rescales its moments (:func:`_adam`).
_MAX_MOMENT = 1e300


@helper
def _step_size(schedule, learning_rate, tau, t):
    """``eta_t`` of update ``t``: ``eta`` (constant), ``eta / sqrt(1 + t / tau)``
    (inverse_sqrt) or ``eta / (1 + t / tau)`` (inverse)."""
    if schedule == INVERSE_SQRT:
        return learning_rate / math.sqrt(1.0 + t / tau)
    if schedule == INVERSE:
        return learning_rate / (1.0 + t / tau)
    return learning_rate


@helper
def _adam(eta, beta1, beta2, eps, t, shift, moment_shift, g, w, m, v):
    """One Adam update (Kingma & Ba, ICLR 2015, Algorithm 1) on ``g = e^shift grad``.

    ``m <- beta1 m + (1 - beta1) g``, ``v <- beta2 v + (1 - beta2) g^2``, then
    ``w <- w - eta m_hat / (sqrt(v_hat) + eps)`` with ``m_hat = m / (1 - beta1^(t+1))``,
    ``v_hat = v / (1 - beta2^(t+1))``; where ``sqrt(v_hat) + eps = 0`` (``eps = 0`` and
    every gradient so far 0 in that entry, so ``m_hat = 0`` too) the entry does not move.

    The moments are stored scaled: ``m = e^S m_true``, ``v = e^{2S} v_true`` with
    ``S = moment_shift``. Only with ``eps = 0`` may the gradient be shifted (``shift > 0``):
    then the step is invariant to the common scale and ``S`` follows ``shift``, the stored
    moments rescaled by ``e^{shift - S}`` and its square, but never so far that an entry of
    ``v`` would pass ``_MAX_MOMENT`` (nor by more than ``e^700`` at once); the new
    gradient then enters scaled by ``e^{S_new - shift} <= 1``, and ``S`` catches up over
    the next steps. Returns the status and the new ``S``.
    """
    d = w.shape[0]
    target = moment_shift
    if eps == 0.0 and shift != moment_shift:
        target = shift
        top = 0.0  # the largest moment entry (v is nonnegative)
        for j in range(d):
            top = max(top, v[j], abs(m[j]))
        if top == 0.0:  # empty moments take any scale
            moment_shift = target
        elif target > moment_shift:  # growing: keep v below _MAX_MOMENT, the factor finite
            room = 0.5 * math.log(_MAX_MOMENT / top)
            target = min(target, moment_shift + min(room, 700.0))
        factor = math.exp(target - moment_shift)
        for j in range(d):
            m[j] *= factor
            v[j] = v[j] * factor * factor  # in two products: factor**2 may overflow
    into = math.exp(target - shift) if target != shift else 1.0
    bias1 = 1.0 - beta1 ** (t + 1)
    bias2 = 1.0 - beta2 ** (t + 1)
    moved = False
    for j in range(d):
        gj = g[j] * into
        m[j] = beta1 * m[j] + (1.0 - beta1) * gj
        v[j] = beta2 * v[j] + (1.0 - beta2) * gj * gj
        denominator = math.sqrt(v[j] / bias2) + eps
        if denominator > 0.0:
            new = w[j] - eta * (m[j] / bias1) / denominator
            moved |= new != w[j]
            w[j] = new
    if not _all_finite(w):
        return _DIVERGED, target
    return (_MOVED if moved else _STILL), target


@called_borrowing
def _update_extended(method, eta, loss, opts, t, shift, moment_shift, g, w, m, v):
    """One update of any optimiser with step ``eta`` (the schedule's ``eta_t``).

    ``g`` is the gradient (plus ``weight_decay w``), possibly shifted (``e^shift g``) for
    the updates invariant to its positive rescaling. ``m`` is the momentum buffer (Adam's
    first moment), ``v`` Adam's second moment. Returns the status (:func:`_update`) and
    Adam's moment shift.

    * GD, SGD, normalized GD: :func:`_update`.
    * momentum (heavy ball, Polyak 1964; PyTorch's convention): ``m <- mu m + g``,
      ``w <- w - eta m``; nesterov (Sutskever et al., ICML 2013; PyTorch's convention):
      ``m <- mu m + g``, ``w <- w - eta (g + mu m)``.
    * adam: :func:`_adam`.
    * sign_gd: ``w <- w - eta sign(g)`` (sign 0 = 0), the L-infinity steepest descent;
      coordinate_descent: only ``j = argmax |g_j|`` (the lowest such index) moves, by
      ``eta sign(g_j)``, the L1 steepest descent (Gunasekar et al., ICML 2018, sec. 3).
    """
    if not _all_finite(g):
        return _DIVERGED, moment_shift
    if method <= NGD_LOSS:
        return _update(method, eta, loss, g, w), moment_shift
    if method == ADAM:
        return _adam(eta, opts[OPT_BETA1], opts[OPT_BETA2], opts[OPT_EPS], t, shift,
                     moment_shift, g, w, m, v)
    d = w.shape[0]
    moved = False
    if method == MOMENTUM or method == NESTEROV:
        mu = opts[OPT_MOMENTUM]
        for j in range(d):
            m[j] = mu * m[j] + g[j]
            step = m[j] if method == MOMENTUM else g[j] + mu * m[j]
            new = w[j] - eta * step
            moved |= new != w[j]
            w[j] = new
    elif method == SIGN_GD:
        for j in range(d):
            if g[j] != 0.0:
                new = w[j] - (eta if g[j] > 0.0 else -eta)
                moved |= new != w[j]
                w[j] = new
    else:  # COORDINATE_DESCENT
        best = 0
        for j in range(1, d):
            if abs(g[j]) > abs(g[best]):
                best = j
        if g[best] != 0.0:
            new = w[best] - (eta if g[best] > 0.0 else -eta)
            moved = new != w[best]
            w[best] = new
    if not _all_finite(w):
        return _DIVERGED, moment_shift
    return (_MOVED if moved else _STILL), moment_shift


@helper
def _scale_invariant(method, opts):
    """Whether ``method``'s update is invariant to a positive rescaling of the gradient
    (so :func:`_shifted_gradient` may compute it): normalized GD, sign descent,
    coordinate descent and Adam with ``eps = 0``, all without weight decay (``g + lambda
    w`` is not rescaled with ``g``)."""
    if opts[OPT_WEIGHT_DECAY] != 0.0:
        return False
    return (method == NGD_GRADIENT or method == NGD_LOSS or method == SIGN_GD
            or method == COORDINATE_DESCENT or (method == ADAM and opts[OPT_EPS] == 0.0))


@helper
def _trajectory_extended(
    X, XT, y, code, method, learning_rate, batch_size, rho_pos, rho_neg, key, opts, w0,
    checkpoints, weights_out, loss_out,
):  # fmt: skip
    """:func:`_trajectory` for every optimiser, weight decay and schedule.

    Mini-batches of :func:`_draw_batch` for SGD, and for the new optimisers where
    ``batch_size > 0``; full batch otherwise (GD and normalized GD always). The gradient
    of update ``t`` is that of the mean loss plus ``weight_decay w`` (an L2 penalty
    ``weight_decay ||w||^2 / 2``, which the recorded loss does not include). Full-batch
    scale-invariant updates (:func:`_scale_invariant`) take their gradient from
    :func:`_shifted_gradient`. Lone normalized-GD runs without options come here too:
    their operations are :func:`_trajectory`'s, so their bits are too. Returns
    (diverged, frozen_at).
    """
    n, d = X.shape
    w = w0.copy()
    z = np.empty(n)
    resid = np.empty(n)
    g = np.empty(d)
    m = np.zeros(d)
    v = np.zeros(d)
    mini = method == SGD or (method > NGD_LOSS and batch_size > 0)  # gd, ngd: full batch
    nb = batch_size if mini else 0
    perm = np.arange(n if mini else 0)
    zb = np.empty(nb)
    yb = np.empty(nb)
    rb = np.empty(nb)
    decay_rate = opts[OPT_WEIGHT_DECAY]
    schedule = int(opts[OPT_SCHEDULE])
    shifting = not mini and _scale_invariant(method, opts)
    moment_shift = 0.0
    last = checkpoints[checkpoints.shape[0] - 1]
    k = 0
    frozen = 0
    for t in range(last + 1):
        at_checkpoint = t == checkpoints[k]
        if not mini or at_checkpoint:
            _logits_all(XT, w, z)
        loss = math.nan
        if at_checkpoint or method == NGD_LOSS:
            loss = _mean_loss(code, z, y, rho_pos, rho_neg)
        if at_checkpoint:
            if not _record(loss, w, weights_out, loss_out, k):
                return True, -1
            k += 1
        if t == last:
            break
        shift = 0.0
        if shifting:
            shift = _gradient_shift(code, method == NGD_LOSS, z, y, rho_pos, rho_neg,
                                    SHIFT_FROM if method <= NGD_LOSS else 0.0)
            if shift > 0.0:
                _shifted_gradient(code, X, z, y, rho_pos, rho_neg, shift, resid, g)
                if method == NGD_LOSS:
                    loss = _shifted_mean_loss(code, z, y, rho_pos, rho_neg, shift)
        if mini:
            _draw_batch(perm, batch_size, key, t)
            _batch_gradient(code, X, w, y, rho_pos, rho_neg, perm, batch_size, zb, yb, rb, g)
        elif shift == 0.0:
            _full_gradient(code, X, z, y, rho_pos, rho_neg, resid, g)
        if decay_rate != 0.0:
            for j in range(d):
                g[j] += decay_rate * w[j]
        eta = _step_size(schedule, learning_rate, opts[OPT_SCALE], t)
        status, moment_shift = _update_extended(method, eta, loss, opts, t, shift,
                                                moment_shift, g, w, m, v)
        if status == _DIVERGED:
            return True, -1
        if status == _MOVED:
            frozen = t + 1
    return False, (frozen if frozen < last else -1)


@kernel(parallel=False)
def _run_solo_extended(
    X, XT, targets, data_index, loss_code, method, learning_rate, batch_size, rho_pos,
    rho_neg, batch_key, options, w0, checkpoints, solo, weights, train_loss, diverged,
    frozen_at,
):  # fmt: skip
    """Trajectories ``solo`` one after another (:func:`_trajectory_extended`)."""
    for i in range(solo.shape[0]):
        r = solo[i]
        m = data_index[r]
        diverged[r], frozen_at[r] = _trajectory_extended(
            X[m], XT[m], targets[r], loss_code[r], method[r], learning_rate[r],
            batch_size[r], rho_pos[r], rho_neg[r], batch_key[r], options[r], w0[r],
            checkpoints, weights[r], train_loss[r],
        )  # fmt: skip


#: The compiled entry points :func:`run_trajectories` dispatches to (for cache statistics).
ENTRY_POINTS = (_run_blas_group, _run_lane_group, _run_blas_group_normalized,
                _run_lane_group_normalized, _run_blas_group_extended,
                _run_lane_group_extended, _run_solo, _run_solo_extended)


def run_trajectories(
    X, XT, targets, data_index, loss_code, method, learning_rate, batch_size,
    rho_pos, rho_neg, batch_key, w0, checkpoints, group_members, group_start, solo,
    options=None, extended=None,
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
    group_members, group_start : int64
        Groups of full-batch trajectories on one training set, run together
        (:func:`_group_kernel`): group ``q`` is
        ``group_members[group_start[q]:group_start[q + 1]]``, -1 for padding.
    solo : int64 (S,)
        The other trajectories. Groups and ``solo`` list every trajectory once:
        :func:`partition` makes them.
    options : float64 (R, OPTION_COUNT), optional
        Per trajectory: momentum, beta1, beta2, eps, weight_decay, schedule code and
        schedule scale (columns ``OPT_*``), read by the extended kernel only.
    extended : bool (R,), optional
        Trajectories with a new optimiser, weight decay or a schedule: alone (in
        ``solo``) :func:`_run_solo_extended` runs them, and a group with one of them takes
        the extended group kernel (``_group_kernel(..., extended=True)``), which gives
        each column the same bits. For them ``batch_size`` 0 means full batch; mini-batch
        runs must be in ``solo`` (``partition(..., alone=extended & (batch_size > 0))``).

    Returns
    -------
    weights : float64 (R, K, d)
    train_loss : float64 (R, K)
    log_train_loss : float64 (R, K)
        ``log`` of ``train_loss``, computed without underflow (:func:`log_train_losses`).
    diverged : bool (R,)
        True where the loss, gradient or weights stopped being finite; the
        records from there on are NaN.
    frozen_at : int64 (R,)
        The first step from which the weights never changed again (exactly) until the
        last checkpoint; -1 where the last update still moved them, or the trajectory
        diverged. For a full-batch method whose state is its weights (GD, normalized GD)
        this is its first update that changed nothing.

    Notes
    -----
    Updates (``g`` is the gradient of the mean loss over the full set or the batch):
    ``GD``/``SGD``: ``w <- w - eta g``; ``NGD_GRADIENT``: ``w <- w - eta g / ||g||``;
    ``NGD_LOSS``: ``w <- w - eta g / L(w)`` (Nacson et al., AISTATS 2019). The two
    normalized updates take ``g`` (and ``L``) from derivatives shifted by the smallest
    margin once it passes ``SHIFT_FROM`` (:func:`_shifted_gradient`), so they keep moving
    where every ``e^{-margin}`` underflows.

    This driver is plain Python: it calls only the compiled entry points the call needs
    (loop-path groups, BLAS-path groups, lone trajectories), so a sweep compiles only its
    own paths on a cold cache, and shares the calls out between
    ``numba.get_num_threads()`` threads (:func:`logsim._jit.in_threads`). Neither path's arithmetic
    for a trajectory depends on the other trajectories of the call, so any split gives the
    same bits.
    """
    R = targets.shape[0]
    K = checkpoints.shape[0]
    d = X.shape[2]
    weights = np.full((R, K, d), np.nan)
    train_loss = np.full((R, K), np.nan)
    diverged = np.zeros(R, dtype=np.bool_)
    frozen_at = np.full(R, -1, dtype=np.int64)
    shared = (loss_code, method, learning_rate, rho_pos, rho_neg, w0, checkpoints)
    outputs = (weights, train_loss, diverged, frozen_at)
    if options is None:
        options = np.zeros((R, OPTION_COUNT))
        options[:, OPT_SCALE] = 1.0
    groups = [group_members[group_start[q]:group_start[q + 1]]
              for q in range(group_start.shape[0] - 1)]
    blas = blas_path(d)
    calls = []
    for members in groups:
        data = data_index[members[0]]
        args = (X[data], XT[data], targets, members, *shared, *outputs, options)
        codes = method[members[members >= 0]]
        normalized = bool(np.any((codes == NGD_GRADIENT) | (codes == NGD_LOSS)))
        grouped_extended = extended is not None and bool(np.any(extended[members[members >= 0]]))
        path = 2 if grouped_extended else int(normalized)  # plain, normalized, extended
        if blas:
            # one group at a time, on this thread: its products split between the
            # threads by sample blocks (a parallel region, which must not be nested)
            (_run_blas_group, _run_blas_group_normalized, _run_blas_group_extended)[path](
                *args)
        else:
            calls.append(functools.partial(
                (_run_lane_group, _run_lane_group_normalized, _run_lane_group_extended)[path],
                *args))
    threads = numba.get_num_threads()
    # Lone normalized-GD runs go to the extended kernel too (same operations, same bits:
    # see _trajectory_extended), so that the plain one compiles without shifted gradients.
    alone = (method[solo] == NGD_GRADIENT) | (method[solo] == NGD_LOSS)
    if extended is not None:
        alone |= extended[solo]
    plain = solo
    if np.any(alone):
        plain = solo[~alone]
        rest = solo[alone]
        for piece in pieces(rest.shape[0], threads):
            calls.append(functools.partial(
                _run_solo_extended, X, XT, targets, data_index, loss_code, method,
                learning_rate, batch_size, rho_pos, rho_neg, batch_key, options, w0,
                checkpoints, rest[piece], *outputs))
    for piece in pieces(plain.shape[0], threads):
        calls.append(functools.partial(
            _run_solo, X, XT, targets, data_index, loss_code, method, learning_rate,
            batch_size, rho_pos, rho_neg, batch_key, w0, checkpoints, plain[piece], *outputs))
    in_threads(calls, threads)
    log_train_loss = log_train_losses(XT, targets, data_index, loss_code, rho_pos, rho_neg,
                                      weights, train_loss)
    return weights, train_loss, log_train_loss, diverged, frozen_at
