"""Exact homogeneous hard-margin SVM: the direction gradient descent converges to.

For separable data and an exponentially-tailed loss, gradient descent from any
start satisfies ``w(t) = w_hat log t + O(1)`` (Soudry et al., JMLR 19, 2018), where

    w_hat = argmin ||w||² / 2   subject to   s_i x_iᵀ w >= 1  for all i,

with no intercept and signs ``s_i`` in {-1, +1}. Gradient descent's own direction
gap after 1e6 steps is below 1e-3, so the reference must be far more accurate than
a QP solver at default tolerances (libsvm: 1e-3, OSQP: 1e-3). This module solves
the problem exactly up to linear solves:

1. Duality. With ``z_i = s_i x_i``, ``max_{||w||=1} min_i z_iᵀ w`` equals the norm
   of the minimum-norm point ``u*`` of the convex hull ``conv{z_i}`` (zero when the
   data are not separable through the origin), and ``w_hat = u* / ||u*||²``; the
   geometric margin is ``gamma = ||u*|| = 1 / ||w_hat||``.
2. Wolfe's minimum-norm-point algorithm (P. Wolfe, "Finding the nearest point in a
   polytope", Math. Programming 11, 1976) finds ``u*`` in finitely many steps,
   each an exact affine least-squares solve on a small affinely independent
   "corral" of points.
3. Exact KKT solve on the final corral ``S`` (its rows are linearly independent):
   ``w`` = least-norm solution of ``Z_S w = 1`` and ``alpha_S`` from
   ``w = Z_Sᵀ alpha_S``, both by SVD least squares on ``Z_S`` itself (no squared
   condition number), then verification: ``alpha >= -tol max(alpha)`` and every
   margin ``s_i x_iᵀw >= 1 - tol`` (plus a round-off allowance of order
   ``eps sqrt(d) ||x_i|| ||w||``). If verification fails (Wolfe's iterate lost
   accuracy because ``margin / max ||x_i||`` is tiny), a primal active-set method
   (Nocedal & Wright 2006, Algorithm 16.3) adds violated constraints and drops
   negative multipliers from the feasible warm start until it holds.

Accuracy: margins and direction to about ``1e-13`` on well-conditioned problems;
in general to about ``eps cond(Z_S)``. Problems with ``margin / max ||x_i||``
below about ``1e-8`` may be rejected with RuntimeError (too ill-conditioned).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from logsim._jit import called, helper

__all__ = [
    "NotSeparableError",
    "SVMSolution",
    "label_signs",
    "max_margin",
    "max_margin_solution",
    "signed_rows",
]

#: A min-norm point shorter than this fraction of max_i ||x_i|| means "not separable".
_SEPARABLE_RTOL = 1e-10
_EPS = np.finfo(np.float64).eps


class NotSeparableError(ValueError):
    """The data are not linearly separable through the origin (no hard-margin SVM exists).

    A subclass of ValueError, so callers can tell "no solution" apart from bad input
    (plain ValueError) and from numerical trouble (RuntimeError).
    """


@dataclass(frozen=True)
class SVMSolution:
    """Homogeneous hard-margin SVM solution with diagnostics.

    Attributes
    ----------
    w : ndarray, shape (d,)
        ``w_hat``, the minimiser of ``||w||²/2`` subject to ``s_i x_iᵀ w >= 1``.
    margin : float
        Geometric margin ``gamma = 1 / ||w_hat|| = min_i s_i x_iᵀ w_hat / ||w_hat||``.
    support : ndarray of int, shape (k,)
        Sorted indices of support vectors with linearly independent rows ``s_i x_i``
        carrying the dual solution (``alpha`` is zero elsewhere). With duplicated or
        degenerate support vectors other points may also sit on the margin.
    alpha : ndarray, shape (n,)
        Dual multipliers: ``w = sum_i alpha_i s_i x_i``, ``alpha >= 0`` (up to
        round-off), ``alpha_i = 0`` off ``support``.
    max_violation : float
        ``max(0, max_i (1 - s_i x_iᵀ w))``, the largest primal constraint violation.
    """

    w: np.ndarray
    margin: float
    support: np.ndarray
    alpha: np.ndarray
    max_violation: float


def signed_rows(X, y) -> np.ndarray:
    """Return ``Z`` with rows ``z_i = s_i x_i`` after validating ``X`` and ``y``.

    Labels ``y`` may be in {0, 1} (``s = 2y - 1``) or in {-1, +1} (``s = y``);
    booleans count as {0, 1}.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be a non-empty 2-D array (n, d), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("X must be finite, got NaN or infinite entries")
    y = np.asarray(y)
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got shape {y.shape}")
    return label_signs(y)[:, None] * X


def label_signs(y) -> np.ndarray:
    """Signs ``s`` in {-1.0, +1.0} of labels ``y`` in {0, 1} (``s = 2y - 1``) or {-1, +1}.

    Booleans count as {0, 1}. Any array shape. Raises ValueError for other values.
    """
    y = np.asarray(y)
    if y.dtype == bool:
        y = y.astype(np.int8)
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise ValueError(
            f"y must hold numeric labels in {{0, 1}} or {{-1, +1}}, got dtype {y.dtype}"
        )
    positive = y == 1
    if not (np.all(positive | (y == 0)) or np.all(positive | (y == -1))):
        values = np.unique(y)
        raise ValueError(
            f"y must hold labels in {{0, 1}} or in {{-1, +1}}, got values {values.tolist()[:10]}"
        )
    # {1} alone is +1 in both conventions, so the mapping is unambiguous.
    return np.where(y > 0, 1.0, -1.0)


@called
def _jacobi_lstsq(A, b):
    """Least-norm least-squares solution of ``A x = b`` by a one-sided Jacobi SVD.

    Hestenes' method on the columns of the tall form of ``A`` (``A`` itself, or ``A^T``
    when ``A`` is wide): plane rotations until every pair of columns is orthogonal to
    ``eps``, which gives the singular values to high relative accuracy (Demmel & Veselic
    1992). Singular values below ``eps max(A.shape) sigma_max`` count as 0 (NumPy's
    ``lstsq`` cut-off). For the rare nearly rank-deficient systems of Wolfe's algorithm
    (:func:`_lstsq`); LAPACK's ``gelsd`` through ``np.linalg.lstsq`` cost 8 s of every
    cold compile.
    """
    eps = np.finfo(np.float64).eps
    m, n = A.shape
    wide = m < n
    p, q = (n, m) if wide else (m, n)
    M = np.empty((p, q))  # the tall form, p >= q
    for i in range(m):
        for j in range(n):
            if wide:
                M[j, i] = A[i, j]
            else:
                M[i, j] = A[i, j]
    V = np.zeros((q, q))
    for k in range(q):
        V[k, k] = 1.0
    for _ in range(100):
        rotated = False
        for i in range(q - 1):
            for j in range(i + 1, q):
                alpha = 0.0
                beta = 0.0
                gamma = 0.0
                for r in range(p):
                    alpha += M[r, i] * M[r, i]
                    beta += M[r, j] * M[r, j]
                    gamma += M[r, i] * M[r, j]
                if abs(gamma) <= eps * np.sqrt(alpha * beta):
                    continue
                rotated = True
                zeta = (beta - alpha) / (2.0 * gamma)
                t = (1.0 if zeta >= 0 else -1.0) / (abs(zeta) + np.sqrt(1.0 + zeta * zeta))
                c = 1.0 / np.sqrt(1.0 + t * t)
                s = c * t
                for r in range(p):
                    mi = M[r, i]
                    M[r, i] = c * mi - s * M[r, j]
                    M[r, j] = s * mi + c * M[r, j]
                for r in range(q):
                    vi = V[r, i]
                    V[r, i] = c * vi - s * V[r, j]
                    V[r, j] = s * vi + c * V[r, j]
        if not rotated:
            break
    sigma = np.empty(q)
    for k in range(q):
        total = 0.0
        for r in range(p):
            total += M[r, k] * M[r, k]
        sigma[k] = np.sqrt(total)
    top = 0.0
    for k in range(q):
        top = max(top, sigma[k])
    cut = eps * max(m, n) * top
    # tall form T = M-columns = U diag(sigma) (U = M / sigma), T = M_orig V^-T: T V = M
    if not wide:  # A = U S V^T: x = V S+ U^T b
        x = np.zeros(n)
        for k in range(q):
            if sigma[k] > cut:
                proj = 0.0
                for r in range(p):
                    proj += M[r, k] * b[r]
                coef = proj / (sigma[k] * sigma[k])
                for r in range(n):
                    x[r] += coef * V[r, k]
        return x
    # A^T = U S V^T, so A = V S U^T: x = U S+ V^T b
    x = np.zeros(n)
    for k in range(q):
        if sigma[k] > cut:
            proj = 0.0
            for r in range(q):
                proj += V[r, k] * b[r]
            coef = proj / (sigma[k] * sigma[k])
            for r in range(p):
                x[r] += coef * M[r, k]
    return x


@helper
def _householder(A):
    """Householder QR of a tall ``A`` (m >= n): ``(R, V)`` with ``R`` upper triangular
    (``n x n``) and unit reflectors ``V[j]`` (acting on rows ``j ..``), ``A = Q R``."""
    m, n = A.shape
    R = A.copy()
    V = np.zeros((n, m))
    for j in range(n):
        norm = 0.0
        for i in range(j, m):
            norm += R[i, j] * R[i, j]
        norm = np.sqrt(norm)
        if norm == 0.0:
            continue
        alpha = -norm if R[j, j] >= 0 else norm
        for i in range(j, m):
            V[j, i] = R[i, j]
        V[j, j] -= alpha
        vnorm = 0.0
        for i in range(j, m):
            vnorm += V[j, i] * V[j, i]
        vnorm = np.sqrt(vnorm)
        for i in range(j, m):
            V[j, i] /= vnorm
        for c in range(j, n):
            dot = 0.0
            for i in range(j, m):
                dot += V[j, i] * R[i, c]
            for i in range(j, m):
                R[i, c] -= 2.0 * dot * V[j, i]
    out = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            out[i, j] = R[i, j]
    return out, V


@helper
def _reflect(V, x, reverse):
    """Apply the reflectors ``V`` to ``x`` in place: ``Q^T x`` (forward) or ``Q x``."""
    n, m = V.shape
    for step in range(n):
        j = n - 1 - step if reverse else step
        dot = 0.0
        for i in range(j, m):
            dot += V[j, i] * x[i]
        for i in range(j, m):
            x[i] -= 2.0 * dot * V[j, i]


@called
def _lstsq(A, b):
    """Least-norm least-squares solution of ``A x = b`` for the small systems of Wolfe's
    algorithm (a few rows, ``d`` columns).

    Householder QR of ``A`` (tall: ``x = R^-1 Q^T b``) or of ``A^T`` (wide: ``x = Q R^-T b``,
    the least-norm solution), backward stable like the SVD for a matrix of full rank;
    where a diagonal entry of ``R`` is below ``eps max(A.shape)`` of the largest (rank
    deficient or nearly so) the SVD (:func:`_jacobi_lstsq`) decides instead, with NumPy's
    cut-off. LAPACK's ``gelsd`` costs about 25 us per call on these sizes, mostly fixed
    overhead, and a data set that is not separable needs dozens of calls.
    """
    m, n = A.shape
    tall = m >= n
    if tall:
        R, V = _householder(A)
    else:
        AT = np.empty((n, m))
        for i in range(m):
            for j in range(n):
                AT[j, i] = A[i, j]
        R, V = _householder(AT)
    k = R.shape[0]
    big = 0.0
    small = np.inf
    for i in range(k):
        big = max(big, abs(R[i, i]))
        small = min(small, abs(R[i, i]))
    if not small > np.finfo(np.float64).eps * max(m, n) * big:
        return _jacobi_lstsq(A, b)
    if tall:
        y = b.copy()
        _reflect(V, y, False)
        x = np.empty(n)
        for i in range(n - 1, -1, -1):
            acc = y[i]
            for c in range(i + 1, n):
                acc -= R[i, c] * x[c]
            x[i] = acc / R[i, i]
        return x
    y = np.zeros(n)  # R^T y[:m] = b, then x = Q y
    for i in range(m):
        acc = b[i]
        for c in range(i):
            acc -= R[c, i] * y[c]
        y[i] = acc / R[i, i]
    _reflect(V, y, True)
    return y


@called
def _affine_min_norm(ZS):
    """Affine weights ``mu`` (sum 1) and the min-norm point ``v`` of ``aff{rows of ZS}``.

    If ``0 ∉ aff`` the point is ``v = w / ||w||²`` with ``w`` the least-norm solution of
    ``Z_S w = 1`` (every ``z_iᵀv`` equals ``||v||²``), and ``mu = alpha / ||w||²`` with
    ``w = Z_Sᵀ alpha``. Solving for ``w`` keeps the relative error near
    ``eps cond(Z_S)``; summing ``mu_i z_i`` instead cancels terms of size
    ``max ||z_i||`` down to ``||v||`` and loses a factor ``(max ||z_i|| / ||v||)²`` in
    ``z_iᵀv / ||v||²``. If ``Z_S w = 1`` is inconsistent (``0 ∈ aff``), falls back to
    ``v = z_0 + sum_k c_k (z_k - z_0)`` with ``c`` from a least-squares solve.
    """
    k, d = ZS.shape
    if k == 1:
        return np.ones(1), ZS[0].copy()
    w = _lstsq(ZS, np.ones(k))
    ww = 0.0
    for j in range(d):
        ww += w[j] * w[j]
    consistent = ww > 0
    for i in range(k):
        row = 0.0
        for j in range(d):
            row += ZS[i, j] * w[j]
        consistent = consistent and abs(row - 1.0) <= 1e-9
    if consistent:
        ZT = np.empty((d, k))
        for i in range(k):
            for j in range(d):
                ZT[j, i] = ZS[i, j]
        alpha = _lstsq(ZT, w)
        for i in range(k):
            alpha[i] /= ww
        for j in range(d):
            w[j] /= ww
        return alpha, w
    D = np.empty((d, k - 1))  # columns z_k - z_0
    for c in range(k - 1):
        for j in range(d):
            D[j, c] = ZS[c + 1, j] - ZS[0, j]
    c = _lstsq(D, -ZS[0])
    mu = np.empty(k)
    mu[0] = 1.0
    for q in range(k - 1):
        mu[0] -= c[q]
        mu[q + 1] = c[q]
    v = np.zeros(d)
    for i in range(k):
        for j in range(d):
            v[j] += mu[i] * ZS[i, j]
    return mu, v


@called
def _wolfe(Z, tol, max_iter):
    """Wolfe's minimum-norm-point algorithm on ``conv{rows of Z}`` (compiled).

    Returns ``(S, lam, x)``: corral indices, convex weights (``lam > 0``, sum 1) and
    ``x = sum_k lam_k z_{S_k}``. Invariant after every major cycle: ``x`` is the min-norm
    point of ``aff(Z[S])`` and lies in the relative interior of ``conv(Z[S])``, and
    ``||x||`` strictly decreases. Compiled because a data set that is not separable takes
    dozens of small least-squares solves, whose NumPy call overhead (about 1.4 ms for
    n = 200, d = 10) was most of a sweep's per-data-set cost; written in plain loops
    (fixed-capacity arrays for the corral) so that it compiles in seconds.
    """
    eps = np.finfo(np.float64).eps
    n, d = Z.shape
    cap = n + 1  # corral size: at most d + 1 in exact arithmetic, never above n + 1
    R2 = 0.0
    j0 = 0
    best = np.inf
    for i in range(n):
        total = 0.0
        for j in range(d):
            total += Z[i, j] * Z[i, j]
        R2 = max(R2, total)
        if total < best:
            best = total
            j0 = i
    R = np.sqrt(R2)
    S = np.empty(cap, dtype=np.int64)
    lam = np.empty(cap)
    S[0] = j0
    lam[0] = 1.0
    size = 1
    x = Z[j0].copy()
    xx = best
    S_new = np.empty(cap, dtype=np.int64)
    lam_new = np.empty(cap)
    for _ in range(max_iter):
        j = 0
        low = np.inf
        for i in range(n):
            g = 0.0
            for c in range(d):
                g += Z[i, c] * x[c]
            if g < low:
                low = g
                j = i
        # Stop when every z_i has z_iᵀx >= ||x||² up to the relative tolerance and the
        # round-off of the products (about eps * ||z|| ||x|| per entry).
        slack = tol * xx + 16 * eps * R * np.sqrt(xx) * np.sqrt(d)
        in_corral = False
        for q in range(size):
            in_corral = in_corral or S[q] == j
        if low >= xx - slack or in_corral:
            break
        for q in range(size):
            S_new[q] = S[q]
            lam_new[q] = lam[q]
        S_new[size] = j
        lam_new[size] = 0.0
        k = size + 1
        found = False
        x_new = np.empty(d)
        for _minor in range(k + 1):
            ZS = np.empty((k, d))
            for q in range(k):
                for c in range(d):
                    ZS[q, c] = Z[S_new[q], c]
            mu, v = _affine_min_norm(ZS)
            positive = True
            for q in range(k):
                positive = positive and mu[q] > 0
            if positive:
                for q in range(k):
                    lam_new[q] = mu[q]
                x_new = v
                found = True
                break
            # Move from lam towards mu until the first weight hits zero (theta in [0, 1]
            # because lam >= 0 >= mu there); that point leaves the corral.
            leave = -1
            theta = np.inf
            for q in range(k):
                if mu[q] <= 0 and lam_new[q] > mu[q]:
                    ratio = lam_new[q] / (lam_new[q] - mu[q])
                    if ratio < theta:
                        theta = ratio
                        leave = q
            for q in range(k):
                lam_new[q] = mu[q] if leave < 0 else theta * mu[q] + (1.0 - theta) * lam_new[q]
            if leave >= 0:
                lam_new[leave] = 0.0
            kept = 0
            total = 0.0
            for q in range(k):
                if lam_new[q] > 0:
                    S_new[kept] = S_new[q]
                    lam_new[kept] = lam_new[q]
                    total += lam_new[q]
                    kept += 1
            k = kept
            for q in range(k):
                lam_new[q] /= total
        if not found:
            for c in range(d):
                x_new[c] = 0.0
            for q in range(k):
                for c in range(d):
                    x_new[c] += lam_new[q] * Z[S_new[q], c]
        xx_new = 0.0
        for c in range(d):
            xx_new += x_new[c] * x_new[c]
        if not xx_new < xx:
            break  # round-off stall: keep the previous (better) corral
        for q in range(k):
            S[q] = S_new[q]
            lam[q] = lam_new[q]
        size = k
        x = x_new
        xx = xx_new
    return S[:size].copy(), lam[:size].copy(), x


def _roundoff(Z: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per-point round-off scale of ``z_iᵀw``: ``8 sqrt(d) eps ||z_i|| ||w||``."""
    d = Z.shape[1]
    return 8.0 * np.sqrt(d) * _EPS * np.sqrt(np.einsum("ij,ij->i", Z, Z)) * np.linalg.norm(w)


def _kkt_solve(Z: np.ndarray, W) -> tuple[np.ndarray, np.ndarray]:
    """Least-norm ``w`` with ``Z_W w = 1`` and ``alpha_W`` with ``w = Z_Wᵀ alpha_W``.

    Both by SVD least squares on ``Z_W`` itself (not the Gram matrix ``Z_W Z_Wᵀ``, whose
    condition number is squared).
    """
    ZW = Z[W]
    w = np.linalg.lstsq(ZW, np.ones(len(ZW)), rcond=None)[0]
    alpha = np.linalg.lstsq(ZW.T, w, rcond=None)[0]
    return w, alpha


def _kkt_ok(Z: np.ndarray, w: np.ndarray, alpha: np.ndarray, tol: float) -> bool:
    """Check ``alpha >= -tol max(alpha)`` and ``z_iᵀw >= 1 - tol`` (plus round-off)."""
    if alpha.min() < -tol * max(float(alpha.max()), 0.0):
        return False
    return bool(np.all(1.0 - Z @ w <= tol + _roundoff(Z, w)))


def _active_set(Z: np.ndarray, w0: np.ndarray, tol: float, max_iter: int):
    """Primal active-set method for ``min ||w||²/2  s.t.  Z w >= 1`` from a feasible ``w0``.

    Nocedal & Wright, *Numerical Optimization* (2006), Algorithm 16.3. Invariants:
    ``w`` is feasible (``Z w >= 1`` up to round-off); the working set ``W`` holds
    constraints tight at ``w`` whose rows are linearly independent (a blocking
    constraint ``i`` has ``z_iᵀp < 0`` while ``Z_W p = 0``); ``||w||`` never
    increases. Each equality subproblem ``Z_W w = 1`` is solved for its least-norm
    solution by an SVD least-squares solve, so the final ``w`` is exact to about
    ``eps cond(Z_W)`` whatever the accuracy of ``w0``.

    Returns ``(W, alpha_W, w)`` with ``w = Z_Wᵀ alpha_W``.
    """
    W = [int(np.argmin(Z @ w0))]
    w = w0
    for _ in range(max_iter):
        w_eq, alpha = _kkt_solve(Z, W)
        p = w_eq - w
        t, k_block = 1.0, -1
        # A step at round-off level means w already solves the equality subproblem.
        if np.linalg.norm(p) > 64 * _EPS * np.linalg.norm(w):
            slack = Z @ w - 1.0
            zp = Z @ p
            # Only a clearly negative z_iᵀp blocks; round-off noise in p must not.
            blocking = zp < -_roundoff(Z, np.abs(w) + np.abs(w_eq))
            blocking[W] = False
            # Rows in the span of Z_W have z_iᵀp = 0 exactly (Z_W p = 0), so a negative
            # value there is round-off; adding them would break linear independence.
            Q = np.linalg.qr(Z[W].T)[0]
            perp = Z - (Z @ Q) @ Q.T
            independent = np.einsum("ij,ij->i", perp, perp) > 1e-18 * np.einsum("ij,ij->i", Z, Z)
            blocking &= independent
            if np.any(blocking):
                idx = np.flatnonzero(blocking)
                ratios = np.maximum(slack[idx], 0.0) / -zp[idx]
                k = int(np.argmin(ratios))
                if ratios[k] < 1.0:
                    t, k_block = float(ratios[k]), int(idx[k])
        if k_block >= 0:
            w = w + t * p
            W.append(k_block)
            continue
        w = w_eq
        k_neg = int(np.argmin(alpha))
        if alpha[k_neg] >= -tol * max(float(alpha.max()), 0.0):
            return np.array(W, dtype=np.intp), alpha, w
        W.pop(k_neg)
    raise RuntimeError(f"max_margin: active-set method did not converge in {max_iter} iterations")


def max_margin_solution(X, y, *, tol: float = 1e-12) -> SVMSolution:
    """Exact homogeneous hard-margin SVM with diagnostics.

    Solves ``min ||w||²/2  s.t.  s_i x_iᵀ w >= 1`` (no intercept) by Wolfe's
    minimum-norm-point algorithm on ``conv{s_i x_i}`` followed by an exact KKT
    solve on the support set (module docstring; Wolfe 1976; Soudry et al. 2018).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Features, finite.
    y : array_like, shape (n,)
        Labels in {0, 1} (``s = 2y - 1``) or in {-1, +1} (``s = y``).
    tol : float, default 1e-12
        Relative tolerance: the result has every margin ``>= 1 - tol`` and
        ``alpha >= -tol max(alpha)``.

    Returns
    -------
    SVMSolution

    Raises
    ------
    NotSeparableError
        A ValueError: the data are not linearly separable through the origin (the
        minimum-norm point of the hull is shorter than 1e-10 max_i ||x_i||).
    ValueError
        On bad input.
    RuntimeError
        If the problem is too ill-conditioned to verify the KKT conditions (margin
        below about 1e-8 max_i ||x_i||).

    Examples
    --------
    Soudry et al.'s toy: support vectors (0.5, 1.5), (1.5, 0.5) labelled +1 and
    their negatives labelled -1.

    >>> X = [[0.5, 1.5], [1.5, 0.5], [-0.5, -1.5], [-1.5, -0.5], [3.0, 2.0]]
    >>> sol = max_margin_solution(X, [1, 1, 0, 0, 1])
    >>> sol.w.round(12).tolist(), sol.support.tolist()
    ([0.5, 0.5], [0, 1])
    """
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not 0 < tol < 1:
        raise ValueError(f"tol must be a number in (0, 1), got {tol!r}")
    Z = signed_rows(X, y)
    n, d = Z.shape
    R = float(np.sqrt(np.einsum("ij,ij->i", Z, Z).max()))
    if R == 0.0:
        raise NotSeparableError(
            "data are not linearly separable through the origin: every x_i is 0"
        )
    S, _, x = _wolfe(np.ascontiguousarray(Z), float(tol), 50 * (n + d) + 1000)
    gamma = float(np.sqrt(x @ x))
    if gamma <= _SEPARABLE_RTOL * R:
        raise NotSeparableError(
            "data are not linearly separable through the origin (no w with "
            f"s_i x_i.w > 0 for all i): the minimum-norm point of conv{{s_i x_i}} has "
            f"norm {gamma:.3g} <= {_SEPARABLE_RTOL:g} * max ||x_i|| = {_SEPARABLE_RTOL * R:.3g}"
        )
    g_min = float(np.min(Z @ x))
    if not g_min > 0:
        raise RuntimeError(
            "max_margin: Wolfe's iterate does not separate the data; the problem is too "
            f"ill-conditioned (margin / max ||x_i|| = {gamma / R:.3g})"
        )
    # The corral is affinely independent and 0 is not in its affine hull, so Z_S has
    # full row rank and the KKT system on it has a unique solution, alpha ∝ Wolfe's weights.
    W = np.asarray(S, dtype=np.intp)
    w, a = _kkt_solve(Z, W)
    if not _kkt_ok(Z, w, a, tol):
        # Wolfe lost accuracy (margin / max ||x_i|| tiny): exact active-set phase from the
        # feasible warm start x / min_i z_iᵀx.
        W, a, w = _active_set(Z, x / g_min, tol, max_iter=4 * (n + d) + 100)
        if not _kkt_ok(Z, w, a, tol):
            raise RuntimeError(
                "max_margin: KKT verification failed (max margin violation "
                f"{np.max(1.0 - Z @ w):.3g}, min alpha {a.min():.3g}); please report"
            )
    viol = 1.0 - Z @ w
    order = np.argsort(W)
    alpha = np.zeros(n)
    alpha[W] = a
    max_violation = float(max(0.0, viol.max()))
    return SVMSolution(
        w=w,
        margin=float(1.0 / np.linalg.norm(w)),
        support=W[order],
        alpha=alpha,
        max_violation=max_violation,
    )


def max_margin(X, y, *, tol: float = 1e-12) -> np.ndarray:
    """Homogeneous hard-margin SVM weight vector ``w_hat``.

    ``w_hat = argmin ||w||²/2  s.t.  s_i x_iᵀ w >= 1`` (no intercept), the limit
    direction of gradient descent on the logistic loss for separable data
    (Soudry et al., "The Implicit Bias of Gradient Descent on Separable Data",
    JMLR 19, 2018). Computed as ``u*/||u*||²`` with ``u*`` the minimum-norm point of
    ``conv{s_i x_i}`` (Wolfe 1976), then polished by an exact KKT solve; see
    :func:`max_margin_solution` for parameters and diagnostics.

    Returns
    -------
    ndarray, shape (d,)
    """
    return max_margin_solution(X, y, tol=tol).w
