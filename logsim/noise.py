"""Estimating the noise transition matrix from noisy labels (anchor points)."""

from __future__ import annotations

import numpy as np


def anchor_transition(x, noisy, *, percentile: float = 97.0) -> tuple[float, float]:
    """Estimate ``(rho_pos, rho_neg)`` from features and noisy labels by anchor points.

    Patrini et al., "Making deep neural networks robust to label noise: a loss
    correction approach", CVPR 2017, Eq. 13: fit a model of the noisy posterior
    ``q(x) = P(noisy 1 | x)``; the point most surely of clean class ``i`` is an
    anchor, and the model's noisy-class probabilities there are row ``i`` of
    ``T``. As in their code, the ``percentile``-th percentile replaces the
    maximum (robust to outliers):

    * class 1 anchor: ``q`` at its 97th percentile, ``T[1, 1] = q`` so
      ``rho_pos = 1 - q``;
    * class 0 anchor: ``1 - q`` at its 97th percentile, ``T[0, 1] = q`` so
      ``rho_neg = q``.

    The noisy posterior is modelled by scikit-learn's ``LogisticRegression``
    (L2, ``C = 1``, with an intercept) on the noisy labels. The estimate is
    clipped so that ``rho_pos + rho_neg <= 0.95`` (``T`` stays invertible).
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=float)
    noisy = np.asarray(noisy)
    if len(np.unique(noisy)) < 2:
        return 0.0, 0.0  # one noisy class only: no evidence of flips either way
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, noisy.astype(int))
    q = model.predict_proba(x)[:, 1]
    q_pos = np.percentile(q, percentile, method="higher")
    q_neg = np.percentile(q, 100.0 - percentile, method="lower")
    rho_pos = float(np.clip(1.0 - q_pos, 0.0, 0.95))
    rho_neg = float(np.clip(q_neg, 0.0, 0.95))
    total = rho_pos + rho_neg
    if total > 0.95:
        rho_pos, rho_neg = rho_pos * 0.95 / total, rho_neg * 0.95 / total
    return rho_pos, rho_neg
