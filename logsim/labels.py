"""Training targets from a draw's clean labels: label noise and smoothing (``[labels]``).

:func:`training_targets` gives one cell's targets: the clean training labels flipped
by class-conditional noise (:func:`flip_rates`, :func:`noisy_labels`) and then
smoothed, or the generator's posterior (``soft``). Test labels are never touched.

The flips are driven by uniforms from ``(seed, STREAM_FLIP)`` (:func:`flip_uniforms`),
one per training sample and nested in ``n_train``: cells that share a seed share their
flips, and a larger rate flips a superset of the labels a smaller one flips (common
random numbers). Option names, ranges and cross-key rules are declared in
:mod:`logsim.schema`.
"""

from __future__ import annotations

import numpy as np

from logsim.data_draw import DataDraw, fresh_float64, schema_checked
from logsim.rng import STREAM_FLIP, generator
from logsim.schema import RULES, Int

__all__ = ["flip_rates", "flip_uniforms", "noisy_labels", "training_targets"]


def flip_rates(
    noise_rate: float = 0.0, rho_pos: float | None = None, rho_neg: float | None = None
) -> tuple[float, float]:
    r"""Validated class-conditional flip rates ``(rho_pos, rho_neg)``.

    ``rho_pos = P(noisy 0 | clean 1)``, ``rho_neg = P(noisy 1 | clean 0)``; the
    noise transition matrix (rows clean, columns noisy, classes ordered 0, 1) is

    .. math::

        T = \begin{pmatrix} 1-\rho_- & \rho_- \\ \rho_+ & 1-\rho_+ \end{pmatrix},
        \qquad \det T = 1 - \rho_+ - \rho_- ,

    (Natarajan et al., NeurIPS 2013; Patrini et al., CVPR 2017), which must be
    positive for the clean posterior to be identifiable.

    Parameters
    ----------
    noise_rate : float in [0, 0.5)
        Symmetric noise: shorthand for ``rho_pos = rho_neg = noise_rate``.
    rho_pos, rho_neg : float in [0, 1) or None
        Class-conditional rates (an omitted one is 0); need ``rho_pos + rho_neg < 1``.
        Non-zero rates cannot be combined with a non-zero ``noise_rate``.
    """
    where = "flip_rates"
    noise_rate = schema_checked(where, "noise_rate", noise_rate)
    rp = 0.0 if rho_pos is None else schema_checked(where, "rho_pos", rho_pos)
    rn = 0.0 if rho_neg is None else schema_checked(where, "rho_neg", rho_neg)
    RULES.one_noise_model.check(where, noise_rate=noise_rate, rho_pos=rp, rho_neg=rn)
    if not rp and not rn:  # no class-conditional noise asked for
        return noise_rate, noise_rate
    RULES.transition.check(where, rho_pos=rp, rho_neg=rn)
    return rp, rn


def flip_uniforms(seed: int, n: int) -> np.ndarray:
    """``n`` uniforms in [0, 1) from ``(seed, STREAM_FLIP)``; nested in ``n``.

    Sample ``i`` always gets the same uniform, whatever the noise rate, so cells
    sharing a seed share the flips (common random numbers).
    """
    n = schema_checked("flip_uniforms", "n", n, Int(0))
    return generator(seed, STREAM_FLIP).random(n)


def noisy_labels(y_clean: np.ndarray, u: np.ndarray, rho_pos: float, rho_neg: float) -> np.ndarray:
    """Class-conditional label flips driven by given uniforms.

    ``noisy_i = 0`` if ``y_i = 1`` and ``u_i < rho_pos``; ``noisy_i = 1`` if
    ``y_i = 0`` and ``u_i < rho_neg``; otherwise ``noisy_i = y_i``. Hence
    ``P(noisy 0 | clean 1) = rho_pos`` and ``P(noisy 1 | clean 0) = rho_neg`` for
    ``u ~ U[0, 1)``, and, with the same ``u``, larger rates flip a superset.

    Rates are used as given; validate them with :func:`flip_rates`.
    """
    y = np.asarray(y_clean, dtype=np.float64)
    u = np.asarray(u, dtype=np.float64)
    if y.shape != u.shape or y.ndim != 1:
        raise ValueError(
            f"noisy_labels: y_clean and u must be 1-D of equal length, got {y.shape} and {u.shape}"
        )
    flip = np.where(y == 1.0, u < rho_pos, u < rho_neg)
    return np.where(flip, 1.0 - y, y)


def training_targets(
    draw: DataDraw,
    seed: int,
    *,
    noise_rate: float = 0.0,
    rho_pos: float | None = None,
    rho_neg: float | None = None,
    smoothing: float = 0.0,
    soft: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Training targets after label noise and smoothing (test labels stay clean).

    1. Noise: flip rates from :func:`flip_rates`, uniforms from
       ``flip_uniforms(seed, n_train)``, flips by :func:`noisy_labels`.
    2. Smoothing ``eps``: ``target = y (1 - eps) + eps / 2``, i.e. labels become
       ``{eps/2, 1 - eps/2}`` (PyTorch ``CrossEntropyLoss(label_smoothing=eps)``
       and Keras convention with ``K = 2`` classes; Müller et al., NeurIPS 2019).
       The two values are computed as ``eps / 2`` and ``1 - eps / 2`` exactly.
    3. ``soft=True``: the target is the true posterior ``p_train`` (no noise;
       smoothing ``eps`` gives ``p (1 - eps) + eps / 2``); the cross-entropy
       floor is then the mean of ``H(target)``.

    Parameters
    ----------
    draw : DataDraw
    seed : int
        Seed of the flip uniforms (usually the cell's data seed).
    noise_rate, rho_pos, rho_neg : see :func:`flip_rates`
    smoothing : float in [0, 1)
    soft : bool

    Returns
    -------
    targets : ndarray, shape (n_train,)
        Targets in [0, 1] for the loss.
    noisy : ndarray, shape (n_train,)
        The hard labels after noise, before smoothing (clean labels if no noise
        or ``soft``).
    """
    where = "training_targets"
    smoothing = schema_checked(where, "smoothing", smoothing)
    soft = schema_checked(where, "soft", soft)
    rp, rn = flip_rates(noise_rate, rho_pos, rho_neg)
    if soft:
        if draw.p_train is None:  # the kinds of schema.SOFT_KINDS, or a draw with p_train
            RULES.soft_needs_posterior.check(where, kind=draw.kind, soft=True)
        RULES.soft_not_flipped.check(where, soft=True, noise_rate=0.0, rho_pos=rp, rho_neg=rn)
        p = fresh_float64(draw.p_train)
        soft_targets = p * (1.0 - smoothing) + smoothing / 2.0 if smoothing else p
        return soft_targets, fresh_float64(draw.y_train)
    if rp or rn:
        noisy = noisy_labels(draw.y_train, flip_uniforms(seed, draw.n_train), rp, rn)
    else:
        noisy = fresh_float64(draw.y_train)
    if smoothing:
        targets = np.where(noisy == 1.0, 1.0 - smoothing / 2.0, smoothing / 2.0)
    else:
        targets = fresh_float64(noisy)
    return targets, noisy
