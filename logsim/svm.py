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

The max-margin separators in the L1 and L-infinity norms, the limits of coordinate
descent and sign descent (Gunasekar et al., ICML 2018), are linear programmes solved by
SciPy's HiGHS: :func:`max_margin_lp` (one norm), :func:`max_margin_lps` (both, in one
call), each certified by its duality gap and tested for a unique direction
(:func:`optimal_face_extent`); :func:`normalized_margin` measures ``min_i s_i x_iᵀ w /
||w||_p`` in any of the three norms.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

import numpy as np

from logsim._jit import called, helper

__all__ = [
    "LPMarginSolution",
    "NotSeparableError",
    "SVMSolution",
    "label_signs",
    "max_margin",
    "max_margin_lp",
    "max_margin_lps",
    "max_margin_solution",
    "normalized_margin",
    "optimal_face_extent",
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


# --------------------------------------------------------------------------- L1, L-infinity

#: The norms of :func:`max_margin_lp`: ``p = 1`` and ``p = inf``.
LP_NORMS = (1.0, np.inf)
#: Relative tolerance of the LP certificate: the duality gap (upper bound from the LP's
#: multipliers minus the normalised margin of its ``w``) must be below this fraction of
#: ``max_i ||z_i||_q`` (``q`` the dual norm), or the solution is refused (RuntimeError).
_LP_GAP_RTOL = 1e-11
#: A multiplier counts as strictly positive above this (multipliers of the margin rows
#: sum to 1; the features are scaled to ``max |z_ij| = 1``).
_LP_DUAL_TOL = 1e-9
#: Optimal face: points with margin at least ``g* - _LP_FACE_SLACK`` (scaled units).
_LP_FACE_SLACK = 1e-11
#: The direction is unique when the optimal face spans at most this in every coordinate
#: of the unit-norm ``w`` (a face narrower than this counts as one point).
LP_UNIQUE_SPREAD = 1e-7
#: Rows above this count (``8 (d + 1)``, and at least 64) are solved by constraint
#: generation: the LP on the rows of smallest margin, rows it violates added.
_LP_FULL_ROWS = 64


@dataclass(frozen=True)
class LPMarginSolution:
    """Max-margin separator in the L1 or L-infinity norm, with its certificates.

    Attributes
    ----------
    p : float
        ``1.0`` or ``inf``.
    margin : float
        ``g*_p = max_{||w||_p <= 1} min_i s_i x_iᵀ w``.
    w : ndarray, shape (d,)
        One optimal separator scaled to margin 1: ``w = u / g*_p`` with ``u`` an optimal
        unit-norm direction, i.e. a solution of ``min ||w||_p  s.t.  s_i x_iᵀ w >= 1``
        (``||w||_p = 1 / g*_p``), the analogue of the L2 SVM's ``w_hat``.
    unique : bool
        Whether that direction is the only optimal one (see :func:`max_margin_lp`).
    spread : float
        Largest extent, over coordinates, of the set of optimal unit-norm directions
        (0 where the LP's multipliers certify uniqueness without measuring it).
    duality_gap : float
        ``||Z^T q||_q - min_i z_iᵀ u`` with ``q`` the LP's multipliers normalised to the
        simplex: an upper bound minus a lower bound on ``g*_p``, both in data units.
    certified_by : str
        ``"multipliers"`` (active constraints with positive multipliers span the
        variables: the vertex is the unique optimum) or ``"face"`` (the optimal face's
        extent measured by LPs).
    """

    p: float
    margin: float
    w: np.ndarray
    unique: bool
    spread: float
    duality_gap: float
    certified_by: str


def _lp_norm(p) -> float:
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or float(p) not in LP_NORMS:
        raise ValueError(f"p must be 1 or inf (numpy.inf), got {p!r}")
    return float(p)


def _dual_order(p: float) -> float:
    """The order of the norm dual to ``||.||_p`` (1 <-> inf)."""
    return 1.0 if p == np.inf else np.inf


def _lp_problem(Z: np.ndarray, p: float, floor: float | None = None):
    """``linprog`` arrays for ``max g  s.t.  Z w >= g, ||w||_p <= 1`` (``floor`` None), or
    the optimal face ``Z w >= floor, ||w||_p <= 1`` in the variables of ``w`` alone.

    L-infinity: variables ``(w, g)``, ``-1 <= w_j <= 1``. L1: ``w = u - v`` with
    ``u, v >= 0`` and ``sum(u + v) <= 1``, variables ``(u, v, g)``. Returns
    ``(c, A_ub, b_ub, bounds)``; the margin rows come first (one per row of ``Z``), the
    norm row of L1 last.
    """
    n, d = Z.shape
    if p == np.inf:
        W, bounds_w, norm_row = -Z, [(-1.0, 1.0)] * d, None
    else:
        W, bounds_w = np.hstack([-Z, Z]), [(0.0, None)] * (2 * d)
        norm_row = np.ones(2 * d)
    if floor is None:
        A = np.hstack([W, np.ones((n, 1))])
        b = np.zeros(n)
        bounds = [*bounds_w, (None, None)]
        c = np.zeros(W.shape[1] + 1)
        c[-1] = -1.0
        if norm_row is not None:
            A = np.vstack([A, np.r_[norm_row, 0.0]])
            b = np.r_[b, 1.0]
    else:
        A, b, bounds = W, np.full(n, -floor), bounds_w
        c = np.zeros(W.shape[1])
        if norm_row is not None:
            A = np.vstack([A, norm_row])
            b = np.r_[b, 1.0]
    return c, A, b, bounds


def _linprog(c, A, b, bounds):
    from scipy.optimize import linprog

    # No presolve: these LPs are small and dense, and presolving them cost a quarter of the
    # time of a call (measured); the certificates check every answer anyway.
    res = linprog(c, A_ub=A, b_ub=b, bounds=bounds, method="highs",
                  options={"presolve": False})
    if res.status != 0:
        raise RuntimeError(f"max_margin_lp: HiGHS stopped without an optimum: {res.message}")
    return res


def _lp_w(x: np.ndarray, p: float, d: int) -> np.ndarray:
    return x[:d].copy() if p == np.inf else x[:d] - x[d : 2 * d]


def _certified_unique(Z: np.ndarray, p: float, lam, lower, upper) -> bool:
    """Whether the multipliers of one max-margin LP prove its vertex the only optimum.

    ``lam``: multipliers of the rows (margin rows, then L1's norm row), ``lower`` and
    ``upper``: of the variables' bounds, as HiGHS reports them for a minimisation.
    Sufficient condition: the active constraints whose multipliers are strictly positive
    have normals spanning the space of the LP's variables. Then any direction that keeps
    the objective and stays feasible is orthogonal to all of them, hence zero.
    """
    n, d = Z.shape
    lam = -np.asarray(lam)
    if p == np.inf:
        normals = np.hstack([Z, -np.ones((n, 1))])
        bound = (np.abs(upper[:d]) > _LP_DUAL_TOL) | (np.abs(lower[:d]) > _LP_DUAL_TOL)
        rows = [normals[lam[:n] > _LP_DUAL_TOL]]
    else:
        normals = np.hstack([Z, -Z, -np.ones((n, 1))])
        bound = np.abs(lower[: 2 * d]) > _LP_DUAL_TOL
        rows = [normals[lam[:n] > _LP_DUAL_TOL]]
        if lam[n] > _LP_DUAL_TOL:
            rows.append(np.r_[np.ones(2 * d), 0.0][None])
    # The active bounds are unit rows e_j: they span their own coordinates, so the
    # constraints span the whole space exactly when the other active rows, restricted to
    # the coordinates no bound fixes (and the margin variable), have full column rank.
    # The same test as the rank of every row stacked, on a matrix of at most n + 1 rows
    # rather than 2 d + 1 (an SVD of 1001 x 1001 took 0.14 s at d = 500).
    free = np.r_[~bound, True]
    G = np.vstack(rows)[:, free]
    return G.shape[0] >= G.shape[1] and int(np.linalg.matrix_rank(G)) == G.shape[1]


def optimal_face_extent(X, y, p, margin) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest ``w_j`` over the unit-norm directions with margin ``margin``.

    For each coordinate ``j``, two LPs (HiGHS) minimise and maximise ``w_j`` subject to
    ``s_i x_iᵀ w >= margin - slack`` and ``||w||_p <= 1`` (``slack`` 1e-11 of
    ``max |x_ij|``, so that round-off in ``margin`` cannot make the set empty). With
    ``margin = g*_p`` that set is the optimal face (thickened by ``slack``): its extent
    ``hi - lo`` is zero in every coordinate exactly when the optimal direction is unique.

    Returns
    -------
    lo, hi : ndarray, shape (d,)
    """
    p = _lp_norm(p)
    Z = signed_rows(X, y)
    scale = float(np.abs(Z).max())
    c, A, b, bounds = _lp_problem(Z / scale, p, floor=float(margin) / scale - _LP_FACE_SLACK)
    d = Z.shape[1]
    lo, hi = np.empty(d), np.empty(d)
    for j in range(d):
        c = np.zeros(len(bounds))
        c[j] = 1.0
        if p == 1.0:
            c[d + j] = -1.0
        lo[j] = _lp_w(_linprog(c, A, b, bounds).x, p, d)[j]
        hi[j] = _lp_w(_linprog(-c, A, b, bounds).x, p, d)[j]
    return lo, hi


def _solve_lps(Z: np.ndarray, norms, start) -> dict[float, LPMarginSolution]:
    """The max-margin LPs of ``Z`` in the ``norms``, as one HiGHS call (the blocks side by
    side: independent, so the sum of their objectives is optimal exactly when each is),
    with constraint generation and the certificates of :func:`max_margin_lp`."""
    from scipy.linalg import block_diag

    n, d = Z.shape
    scale = float(np.abs(Z).max())
    if scale == 0.0:
        raise NotSeparableError("data are not linearly separable through the origin: every "
                                "x_i is 0")
    Zs = Z / scale
    dual = {p: float(np.linalg.norm(Zs, ord=_dual_order(p), axis=1).max()) for p in norms}
    first = np.arange(n)
    if n > max(_LP_FULL_ROWS, 8 * (d + 1)) and start is not None:
        start = np.asarray(start, dtype=np.float64)
        if start.shape != (d,) or not np.all(np.isfinite(start)):
            raise ValueError(f"start must be a finite vector of shape ({d},)")
        first = np.sort(np.argsort(Zs @ start, kind="stable")[: 2 * (d + 1)])
    rows = {p: first for p in norms}
    while True:
        blocks = [_lp_problem(Zs[rows[p]], p) for p in norms]
        res = _linprog(np.concatenate([c for c, _, _, _ in blocks]),
                       block_diag(*(A for _, A, _, _ in blocks)),
                       np.concatenate([b for _, _, b, _ in blocks]),
                       [bound for _, _, _, bounds in blocks for bound in bounds])
        found, grown, var, row = {}, False, 0, 0
        for p, (c, A, _, _) in zip(norms, blocks, strict=True):
            nv, nr = len(c), A.shape[0]
            x = res.x[var : var + nv]
            u = _lp_w(x, p, d)
            margins = Zs @ u
            g = float(x[-1])
            missing = np.setdiff1d(np.flatnonzero(margins < g - 64 * _EPS * dual[p]), rows[p])
            if missing.size:
                worst = missing[np.argsort(margins[missing], kind="stable")[: d + 1]]
                rows[p] = np.union1d(rows[p], worst)
                grown = True
            found[p] = (u, margins, g, res.ineqlin.marginals[row : row + nr],
                        res.lower.marginals[var : var + nv], res.upper.marginals[var : var + nv])
            var, row = var + nv, row + nr
        if not grown:
            break
    out = {}
    for p, (u, margins, g, lam, lower_m, upper_m) in found.items():
        norm = float(np.linalg.norm(u, ord=p))
        lower = float(margins.min() / norm) if norm > 0 else 0.0
        if not (g > _SEPARABLE_RTOL * dual[p] and lower > 0):
            raise NotSeparableError(
                f"data are not linearly separable through the origin: the max margin in the "
                f"{'L1' if p == 1 else 'L-infinity'} norm is {g * scale:.3g} <= "
                f"{_SEPARABLE_RTOL:g} * max ||z_i||_q = {_SEPARABLE_RTOL * dual[p] * scale:.3g}")
        q = np.zeros(n)
        q[rows[p]] = -lam[: rows[p].size]
        upper = float(np.linalg.norm(Zs.T @ (q / q.sum()), ord=_dual_order(p)))
        gap = upper - lower
        if not gap <= _LP_GAP_RTOL * dual[p]:
            raise RuntimeError(
                f"max_margin_lp: HiGHS's solution is not certified optimal (duality gap "
                f"{gap * scale:.3g} > {_LP_GAP_RTOL:g} * max ||z_i||_q); please report")
        if _certified_unique(Zs[rows[p]], p, lam, lower_m, upper_m):
            unique, spread, how = True, 0.0, "multipliers"
        else:
            lo, hi = optimal_face_extent(Zs, np.ones(n), p, lower)
            spread = float(np.max(hi - lo))
            unique, how = spread <= LP_UNIQUE_SPREAD, "face"
        out[p] = LPMarginSolution(p=p, margin=lower * scale, w=u / norm / (lower * scale),
                                  unique=bool(unique), spread=spread,
                                  duality_gap=gap * scale, certified_by=how)
    return out


def max_margin_lp(X, y, p, *, start=None) -> LPMarginSolution:
    """Max-margin separator in the L1 or L-infinity norm: a linear programme (HiGHS).

    ``g*_p = max_{||w||_p <= 1} min_i s_i x_iᵀ w`` (no intercept), the limit margin of
    steepest descent with respect to ``||.||_p`` on separable data with an exponentially
    tailed loss (Gunasekar, Lee, Soudry and Srebro, ICML 2018): sign descent for
    ``p = inf``, greedy coordinate descent (AdaBoost's geometry; Rosset, Zhu and Hastie,
    JMLR 2004) for ``p = 1``. Solved by SciPy's HiGHS
    (``scipy.optimize.linprog(method="highs")``):

    * ``p = inf``: maximise ``g`` over ``(w, g)`` subject to ``s_i x_iᵀ w >= g`` and
      ``-1 <= w_j <= 1``;
    * ``p = 1``: ``w = u - v``, ``u, v >= 0``, ``sum(u + v) <= 1``, maximise ``g`` subject
      to ``s_i x_iᵀ (u - v) >= g``.

    The features are scaled to ``max |x_ij| = 1`` first. With more than ``8 (d + 1)``
    rows (and at least 64) and a ``start``, the LP is solved on the ``2 (d + 1)`` rows of
    smallest margin under ``start`` (the L2 SVM's ``w_hat`` is a good one), adding the
    rows its solution violates until none is violated: then that solution is optimal for
    every row (it is feasible for all and optimal for fewer constraints).

    Certificates. The margin: the LP's multipliers of the margin rows, normalised to a
    probability vector ``q``, give the upper bound ``g*_p <= ||Zᵀ q||_q`` (the dual norm,
    by minimax duality), and the solution's normalised margin a lower bound; the gap
    must be below ``1e-11 max_i ||z_i||_q`` or a RuntimeError says so. Uniqueness of the
    direction: first from the same multipliers (when the active constraints with
    positive multipliers span the LP's variables, the vertex is the only optimum: no
    extra LP); where they do not settle it, :func:`optimal_face_extent` measures the
    optimal face with ``2 d`` more LPs that maximise and minimise each coordinate at the
    optimal margin, and the direction is unique when the face spans at most
    :data:`LP_UNIQUE_SPREAD` in every coordinate. That measures the face itself;
    re-solving with a perturbed objective finds another optimal vertex only when the
    perturbation happens to point along the face, so it can miss one.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
        Labels in {0, 1} or {-1, +1}.
    p : 1 or inf
    start : array_like, shape (d,), optional
        A direction whose smallest margins pick the first rows of a large problem.

    Returns
    -------
    LPMarginSolution

    Raises
    ------
    NotSeparableError
        ``g*_p <= 1e-10 max_i ||z_i||_q``: not separable through the origin.
    ValueError
        Bad input.
    RuntimeError
        HiGHS found no optimum, or the duality gap is too large to trust the margin.

    Examples
    --------
    Two points: ``z = (1, 0.5)`` and ``(0.5, 1)``. The L-infinity optimum is the corner
    ``w = (1, 1)`` with margin 1.5; in L1, ``w = (1/2, 1/2)`` with margin 0.75.

    >>> X = [[1.0, 0.5], [0.5, 1.0]]
    >>> sol = max_margin_lp(X, [1, 1], np.inf)
    >>> round(sol.margin, 12), (sol.w * sol.margin).round(12).tolist(), sol.unique
    (1.5, [1.0, 1.0], True)
    >>> round(max_margin_lp(X, [1, 1], 1).margin, 12)
    0.75
    """
    p = _lp_norm(p)
    return _solve_lps(signed_rows(X, y), (p,), start)[p]


def max_margin_lps(X, y, *, start=None) -> dict[float, LPMarginSolution]:
    """:func:`max_margin_lp` for ``p = 1`` and ``p = inf`` at once, in one HiGHS call.

    The two LPs side by side in one problem (their variables and rows apart, the
    objective the sum of theirs): half the fixed cost of a ``linprog`` call per training
    set, which dominates for small problems. Returns ``{1.0: ..., inf: ...}``.
    """
    return _solve_lps(signed_rows(X, y), LP_NORMS, start)


def normalized_margin(X, y, w, p=2.0) -> np.ndarray:
    """Normalised margin ``min_i s_i x_iᵀ w / ||w||_p`` of each row of ``w``.

    At most ``g*_p`` (:func:`max_margin_lp`; the L2 SVM's ``margin`` for ``p = 2``), with
    equality exactly at the max-margin directions. NaN where ``w = 0``.

    Parameters
    ----------
    X, y : as :func:`max_margin_lp`
    w : array_like, shape (d,) or (k, d)
    p : 1, 2 or inf
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or float(p) not in (1.0, 2.0,
                                                                                   np.inf):
        raise ValueError(f"p must be 1, 2 or inf, got {p!r}")
    Z = signed_rows(X, y)
    w = np.asarray(w, dtype=np.float64)
    if w.shape[-1] != Z.shape[1]:
        raise ValueError(f"w must have {Z.shape[1]} entries per row, got shape {w.shape}")
    norm = np.linalg.norm(w, ord=float(p), axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, (w @ Z.T).min(axis=-1) / np.where(norm > 0, norm, 1.0),
                        np.nan)
