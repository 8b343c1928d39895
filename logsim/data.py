"""Data sets for logistic-loss experiments: synthetic generators and bundled real data.

:func:`make_data` draws a data set by kind (:data:`GENERATORS`: ``gaussian``,
``logistic_model``, ``separable``, ``soudry``; scikit-learn's ``breast_cancer``,
``iris`` and ``wine``; a user's ``file``) as a :class:`~logsim.data_draw.DataDraw`.
Everything here is plain NumPy and runs once per draw before the kernels start.
Reading user files lives in :mod:`logsim.data_files`, the label noise and smoothing of
training targets in :mod:`logsim.labels`; their public names are re-exported here, so
``logsim.data`` offers every name it did before it was split.

Conventions (besides those of :mod:`logsim.data_draw`):

* Randomness comes only from :func:`logsim.rng.generator` streams:
  ``STREAM_DATA`` for training draws, ``STREAM_TEST`` for test draws (so the
  test set does not move when ``n_train`` is swept) and ``STREAM_SPLIT`` for the
  train/test split of bundled and file data (:func:`split_indices`, so each seed
  is a replicate split).
* Option names, ranges and defaults are declared in :mod:`logsim.schema`; every
  generator checks its options with the schema's checks, and
  :func:`data_shape` gives a draw's shapes without drawing it.
* Synthetic training sets are nested in ``n_train``: features and labels come
  from two child generators spawned from the ``(seed, STREAM_DATA)`` generator
  and filled row by row, so the first ``k`` rows of a draw with ``n_train = n``
  equal the draw with ``n_train = k`` (common random numbers across a sweep).
* The same seed gives bit-identical arrays; every call returns fresh arrays.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from logsim import schema
from logsim.data_draw import DataDraw, default_feature_names, fresh_float64, schema_checked
from logsim.data_files import (
    DataFileError,
    NoTestSetWarning,
    check_data_file,
    file_header,
    file_sha256,
    load_arrays,
    load_file,
)
from logsim.labels import flip_rates, flip_uniforms, noisy_labels, training_targets
from logsim.rng import STREAM_DATA, STREAM_SPLIT, STREAM_TEST, check_seed, generator
from logsim.schema import KEYS, REAL_DATA, REQUIRED, RULES

__all__ = [
    "GENERATORS",
    "GENERATOR_OPTIONS",
    "DataShape",
    "breast_cancer",
    "data_shape",
    "gaussian",
    "iris",
    "logistic_model",
    "make_data",
    "separable",
    "soudry",
    "split_indices",
    "wine",
    "with_intercept",
]
# Re-exported: users import these from logsim.data, as they did before it was split into
# data_draw, data_files and labels; logsim's own modules import them from where they live.
__all__ += [
    "DataDraw",
    "DataFileError",
    "NoTestSetWarning",
    "check_data_file",
    "file_sha256",
    "flip_rates",
    "flip_uniforms",
    "load_arrays",
    "load_file",
    "noisy_labels",
    "training_targets",
]


# --------------------------------------------------------------------------- validation


def _option(kind: str, name: str, value):
    """A generator option of ``kind``, checked as the schema declares it for that kind."""
    return schema_checked(_where(kind), name, value, KEYS[name].check.for_kind(kind))


def _where(kind: str) -> str:
    return f"data kind {kind!r}"


# --------------------------------------------------------------------------- helpers


def _sigmoid(a: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-a))`` without overflow for large ``|a|``."""
    return np.exp(-np.logaddexp(0.0, -a))


def _streams(seed: int, stream: int) -> tuple[np.random.Generator, np.random.Generator]:
    """Feature and label generators for ``(seed, stream)``.

    Two children spawned from one ``(seed, stream)`` generator, each filled
    sequentially, keep draws nested in the sample count.
    """
    features, labels = generator(seed, stream).spawn(2)
    return features, labels


def _require_both_classes(kind: str, seed: int, y: np.ndarray) -> None:
    if y.size and (y.min() == y.max()):
        raise ValueError(
            f"{_where(kind)} with seed {seed}: all {y.size} training labels are "
            f"{int(y[0])}; both classes are needed (use a larger n_train or a "
            "more balanced setting)"
        )


# --------------------------------------------------------------------------- generators


def gaussian(
    seed: int,
    *,
    n_train: int = 200,
    n_test: int = 2000,
    dim: int = 10,
    separation: float = 2.0,
    class_balance: float = 0.5,
) -> DataDraw:
    r"""Two Gaussian classes with identity covariance (linear discriminant model).

    ``y ~ Bernoulli(pi)`` with ``pi = class_balance``; ``x | y ~ N(+mu, I)`` for
    ``y = 1`` and ``N(-mu, I)`` for ``y = 0``, with
    ``mu = (separation / 2) * ones(d) / sqrt(d)`` (so ``||2 mu|| = separation``).

    Bayes' rule gives the true posterior in closed form (e.g. Hastie, Tibshirani
    & Friedman, *Elements of Statistical Learning*, sec. 4.3, equal covariances):

    .. math::

        \operatorname{logit} P(y=1 \mid x)
        = \log\frac{\pi}{1-\pi} + \log\frac{N(x; \mu, I)}{N(x; -\mu, I)}
        = \log\frac{\pi}{1-\pi} + 2\mu^\top x ,

    returned as ``p_train``/``p_test``, with ``w_star = 2 mu`` and
    ``b_star = log(pi / (1 - pi))``.

    Parameters
    ----------
    seed : int
        Non-negative seed; training draws use ``(seed, STREAM_DATA)``, test draws
        ``(seed, STREAM_TEST)``.
    n_train : int, >= 2
    n_test : int, >= 0
    dim : int, >= 1
    separation : float, >= 0
        Distance ``||2 mu||`` between the class means.
    class_balance : float in (0, 1)
        ``pi = P(y = 1)``.
    """
    n_train = _option("gaussian", "n_train", n_train)
    n_test = _option("gaussian", "n_test", n_test)
    dim = _option("gaussian", "dim", dim)
    separation = _option("gaussian", "separation", separation)
    pi = _option("gaussian", "class_balance", class_balance)
    mu = (separation / 2.0) * np.ones(dim) / math.sqrt(dim)
    w_star = 2.0 * mu
    b_star = math.log(pi / (1.0 - pi))

    def draw(stream: int, n: int):
        features, labels = _streams(seed, stream)
        y = (labels.random(n) < pi).astype(np.float64)
        x = features.standard_normal((n, dim)) + np.where(y == 1.0, 1.0, -1.0)[:, None] * mu
        return np.ascontiguousarray(x), y, _sigmoid(b_star + x @ w_star)

    x_train, y_train, p_train = draw(STREAM_DATA, n_train)
    x_test, y_test, p_test = draw(STREAM_TEST, n_test)
    _require_both_classes("gaussian", seed, y_train)
    return DataDraw("gaussian", x_train, y_train, x_test, y_test, p_train, p_test, w_star,
                    default_feature_names(dim), b_star)  # fmt: skip


def logistic_model(
    seed: int,
    *,
    n_train: int = 200,
    n_test: int = 2000,
    dim: int = 10,
    w_norm: float = 2.0,
) -> DataDraw:
    """Well-specified logistic regression: the model class contains the truth.

    ``x ~ N(0, I_d)``, ``w* = w_norm * ones(d) / sqrt(d)``,
    ``y | x ~ Bernoulli(sigmoid(x . w*))`` (no intercept, ``b_star = 0``).
    The true posterior ``sigmoid(x . w*)`` is returned as ``p_train``/``p_test``.

    Parameters
    ----------
    seed : int
        Training draws use ``(seed, STREAM_DATA)``, test draws ``(seed, STREAM_TEST)``.
    n_train : int, >= 2
    n_test : int, >= 0
    dim : int, >= 1
    w_norm : float, >= 0
        ``||w*||``; 0 gives pure-noise labels with ``P(y = 1) = 1/2``.
    """
    n_train = _option("logistic_model", "n_train", n_train)
    n_test = _option("logistic_model", "n_test", n_test)
    dim = _option("logistic_model", "dim", dim)
    w_norm = _option("logistic_model", "w_norm", w_norm)
    w_star = w_norm * np.ones(dim) / math.sqrt(dim)

    def draw(stream: int, n: int):
        features, labels = _streams(seed, stream)
        x = features.standard_normal((n, dim))
        p = _sigmoid(x @ w_star)
        y = (labels.random(n) < p).astype(np.float64)
        return x, y, p

    x_train, y_train, p_train = draw(STREAM_DATA, n_train)
    x_test, y_test, p_test = draw(STREAM_TEST, n_test)
    _require_both_classes("logistic_model", seed, y_train)
    return DataDraw(
        "logistic_model",
        x_train,
        y_train,
        x_test,
        y_test,
        p_train,
        p_test,
        w_star,
        default_feature_names(dim),
        0.0,
    )


def separable(
    seed: int,
    *,
    n_train: int = 200,
    n_test: int = 2000,
    dim: int = 10,
    margin: float = 0.1,
) -> DataDraw:
    """Linearly separable data through the origin with a guaranteed margin.

    ``z ~ N(0, I_d)``; the labelling direction is the fixed unit vector
    ``u = e_0`` (first coordinate axis), ``y = [u . z > 0]``, ``s = 2 y - 1``.
    Every point is then pushed along ``u`` away from the hyperplane:
    ``x = z + s * margin * u``, so ``s * u . x = |u . z| + margin >= margin``.
    The push keeps the orthogonal components and shifts the class-conditional
    distribution of ``u . x`` to a half-normal starting at ``margin``.
    With ``u = e_0`` the push only changes the first feature, and
    ``|z_0| + margin`` rounds to at least ``margin``, so the margin holds exactly
    in floating point. (The data are isotropic, so the choice of axis loses no
    generality for rotation-equivariant methods such as gradient descent.)

    ``w_star = u`` (unit norm), ``b_star = 0``. The posterior is the 0/1 step
    ``[u . x > 0]``, so ``p_train``/``p_test`` are ``None``. The sample's hard-margin
    SVM direction is generally *not* ``u``; compute it from the training set.

    Parameters
    ----------
    seed : int
        Training draws use ``(seed, STREAM_DATA)``, test draws ``(seed, STREAM_TEST)``.
    n_train : int, >= 2
    n_test : int, >= 0
    dim : int, >= 1
    margin : float, >= 0
        Minimum distance of every point from the hyperplane ``u . x = 0``.
    """
    n_train = _option("separable", "n_train", n_train)
    n_test = _option("separable", "n_test", n_test)
    dim = _option("separable", "dim", dim)
    margin = _option("separable", "margin", margin)
    u = np.zeros(dim)
    u[0] = 1.0

    def draw(stream: int, n: int):
        features, _ = _streams(seed, stream)
        x = features.standard_normal((n, dim))
        y = (x[:, 0] > 0.0).astype(np.float64)
        x[:, 0] += np.where(y == 1.0, margin, -margin)
        return x, y

    x_train, y_train = draw(STREAM_DATA, n_train)
    x_test, y_test = draw(STREAM_TEST, n_test)
    _require_both_classes("separable", seed, y_train)
    return DataDraw("separable", x_train, y_train, x_test, y_test, None, None, u,
                    default_feature_names(dim), 0.0)  # fmt: skip


#: Soudry et al. (2018), Fig. 1: support vectors of the positive class.
SOUDRY_SUPPORT_POS = np.array([[0.5, 1.5], [1.5, 0.5]])
#: Negative support vectors, symmetric about the diagonal (the paper's toy).
SOUDRY_SUPPORT_NEG_SYMMETRIC = -SOUDRY_SUPPORT_POS
#: Negative support vectors that break the diagonal symmetry (still on the margin).
SOUDRY_SUPPORT_NEG_ASYMMETRIC = np.array([[-0.5, -1.5], [-1.0, -1.0]])
#: Hard-margin SVM of both toys.
SOUDRY_W_HAT = np.array([0.5, 0.5])
for _a in (
    SOUDRY_SUPPORT_POS,
    SOUDRY_SUPPORT_NEG_SYMMETRIC,
    SOUDRY_SUPPORT_NEG_ASYMMETRIC,
    SOUDRY_W_HAT,
):
    _a.flags.writeable = False  # shared constants; generators copy them
del _a


def soudry(
    seed: int,
    *,
    n_random: int = 12,
    asymmetric: bool = False,
    n_test: int = 200,
    min_margin: float = 1.5,
) -> DataDraw:
    r"""The 2-D toy of Soudry et al. (2018), Fig. 1, with a known max-margin solution.

    Soudry, Hoffer, Nacson, Gunasekar & Srebro, "The Implicit Bias of Gradient
    Descent on Separable Data", JMLR 19 (2018), Fig. 1. Rows 0-3 of ``x_train``
    are the support vectors: ``(0.5, 1.5)`` and ``(1.5, 0.5)`` labelled 1, then
    ``-(0.5, 1.5)`` and ``-(1.5, 0.5)`` labelled 0 (``asymmetric=False``), or
    ``-(0.5, 1.5)`` and ``-(1, 1)`` (``asymmetric=True``). Each has margin
    ``s x . w_hat = 1`` for ``w_hat = (0.5, 0.5)``, ``s = 2 y - 1``.

    The ``n_random`` further points have margin ``m >= min_margin > 1``:
    ``x = s m (1, 1) + v (1, -1) / sqrt 2`` with ``s = +-1`` equally likely,
    ``m ~ U[min_margin, min_margin + 1)`` and ``v ~ U[-1.5, 1.5)``, so
    ``s x . w_hat = m``. Then ``w_hat`` is the homogeneous hard-margin SVM
    (``min ||w||`` s.t. ``s_i x_i . w >= 1``): KKT holds with
    ``w_hat = (z_1 + z_2) / 4`` (symmetric) or ``w_hat = z_4 / 2`` (asymmetric),
    ``z = s x``. It is returned as ``w_star`` (``b_star = 0``).

    Gradient descent on the logistic loss gives ``w(t) = w_hat ln t + rho(t)``
    with ``rho(t) -> w_tilde``, where ``sum_SV exp(-z . w_tilde) z ∝ w_hat``
    (Soudry et al., Thm. 3). By symmetry ``w_tilde`` is parallel to ``w_hat`` for
    the symmetric toy, so the ``1/ln t`` term of the direction gap vanishes; for
    the asymmetric toy ``w_tilde`` has a component ``-(ln 2 / 2)(1, -1)`` off
    ``w_hat`` (derived here), so ``gap * ln t`` tends to a constant.

    With the defaults, ``beta sigma_max(X)^2 / n`` (``beta = 1/4``, mean loss) is
    about 1.5-1.8, so a step of 1 satisfies Soudry's ``eta < 2 / (beta
    sigma_max^2)`` for typical seeds; check it for others.

    Parameters
    ----------
    seed : int
        Random points use ``(seed, STREAM_DATA)``; test points (drawn like the
        random points) use ``(seed, STREAM_TEST)``.
    n_random : int, >= 0
    asymmetric : bool
    n_test : int, >= 0
    min_margin : float, > 1
        Smallest margin of a random point under ``w_hat``. Random points decay out
        of the gradient like ``t^-(min_margin - 1)``, so values near 1 blur the
        ``1/ln t`` behaviour of short runs.
    """
    n_random = _option("soudry", "n_random", n_random)
    asymmetric = _option("soudry", "asymmetric", asymmetric)
    n_test = _option("soudry", "n_test", n_test)
    min_margin = _option("soudry", "min_margin", min_margin)

    def draw(stream: int, n: int):
        features, _ = _streams(seed, stream)
        r = features.random((n, 3))  # row i: (sign, margin, offset) of point i
        sign = np.where(r[:, 0] < 0.5, 1.0, -1.0)
        m = min_margin + r[:, 1]
        v = 3.0 * r[:, 2] - 1.5
        x = (sign * m)[:, None] * np.array([1.0, 1.0]) + (v / math.sqrt(2.0))[:, None] * np.array(
            [1.0, -1.0]
        )
        return x, (sign > 0).astype(np.float64)

    neg = SOUDRY_SUPPORT_NEG_ASYMMETRIC if asymmetric else SOUDRY_SUPPORT_NEG_SYMMETRIC
    x_rand, y_rand = draw(STREAM_DATA, n_random)
    x_train = np.ascontiguousarray(np.vstack([SOUDRY_SUPPORT_POS, neg, x_rand]))
    y_train = np.concatenate([[1.0, 1.0, 0.0, 0.0], y_rand])
    x_test, y_test = draw(STREAM_TEST, n_test)
    return DataDraw("soudry", x_train, y_train, x_test, y_test, None, None, SOUDRY_W_HAT.copy(),
                    default_feature_names(2), 0.0)  # fmt: skip


# --------------------------------------------------------------------------- bundled real data


def _bundled_raw(kind: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features, 0/1 labels and feature names of a bundled data set (read-only, cached)."""
    return _BUNDLED_LOADERS[kind]()


def _frozen(x, y, names, kind: str):
    facts = REAL_DATA[kind]
    # The schema states these facts (for data_shape and the reference); hold it to them.
    if x.shape != (facts.n_samples, facts.n_features) or int(y.sum()) != facts.n_positive:
        raise RuntimeError(
            f"scikit-learn's {kind} data has shape {x.shape} with {int(y.sum())} positives; "
            f"logsim.schema.REAL_DATA expects {facts}"
        )
    x = np.asarray(x, dtype=np.float64)
    x.flags.writeable = False  # cached: callers must index (copy), never modify
    y.flags.writeable = False
    return x, y, tuple(str(name) for name in names)


@functools.cache
def _breast_cancer_raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    # sklearn codes malignant as 0 and benign as 1; logsim's positive class is malignant.
    y = (bunch.target == 0).astype(np.float64)
    return _frozen(bunch.data, y, bunch.feature_names, "breast_cancer")


@functools.cache
def _iris_raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_iris

    bunch = load_iris()
    keep = bunch.target != 0  # drop setosa (linearly separable from the others)
    y = (bunch.target[keep] == 2).astype(np.float64)  # 1 = virginica, 0 = versicolor
    return _frozen(bunch.data[keep], y, bunch.feature_names, "iris")


@functools.cache
def _wine_raw() -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    from sklearn.datasets import load_wine

    bunch = load_wine()
    keep = bunch.target != 2  # cultivars 0 and 1
    y = (bunch.target[keep] == 0).astype(np.float64)  # 1 = cultivar 0
    return _frozen(bunch.data[keep], y, bunch.feature_names, "wine")


_BUNDLED_LOADERS = {"breast_cancer": _breast_cancer_raw, "iris": _iris_raw, "wine": _wine_raw}


def _split_sizes(
    where: str, n: int, train_fraction: float | None, test_fraction: float | None
) -> tuple[int, int]:
    """``(n_train, n_test)`` of a split of ``n`` samples (see :func:`split_indices`)."""
    RULES.one_split.check(where, train_fraction=train_fraction, test_fraction=test_fraction)
    if test_fraction is None:
        n_train = math.floor((0.7 if train_fraction is None else train_fraction) * n + 0.5)
        what = f"train_fraction={train_fraction!r}"
    else:
        n_train = n - math.floor(test_fraction * n + 0.5)
        what = f"test_fraction={test_fraction!r}"
    if n_train < 2:
        raise ValueError(
            f"{where}: {what} leaves {n_train} training samples of {n}; at least 2 are needed"
        )
    return n_train, n - n_train


def split_indices(
    seed: int,
    y: np.ndarray,
    *,
    train_fraction: float | None = None,
    test_fraction: float | None = None,
    where: str = "split",
) -> tuple[np.ndarray, np.ndarray]:
    """Training and test indices of a split of ``y``'s samples, drawn from ``(seed, STREAM_SPLIT)``.

    ``perm = generator(seed, STREAM_SPLIT).permutation(n)``, then:

    * ``test_fraction = None`` (random split, ``train_fraction`` default 0.7): the
      first ``n_train = floor(train_fraction n + 1/2)`` entries of ``perm`` train,
      the rest test.
    * ``test_fraction = f`` (stratified): ``n_test = floor(f n + 1/2)`` shared among
      the classes in proportion to their sizes ``n_c`` by largest remainders
      (quota ``n_test n_c / n``, rounded down, the remaining samples to the
      largest fractional parts, class 0 first on ties); class ``c``'s test
      samples are its first ones in ``perm`` order.

    Both index arrays are in ``perm`` order, except for ``test_fraction = 0`` (no
    held-out part): every sample trains, in its original order. Give at most one
    fraction.
    """
    n = y.shape[0]
    n_train, n_test = _split_sizes(where, n, train_fraction, test_fraction)
    if test_fraction == 0.0:
        return np.arange(n), np.arange(0)
    perm = generator(seed, STREAM_SPLIT).permutation(n)
    if test_fraction is None:
        return perm[:n_train], perm[n_train:]
    classes, counts = np.unique(y, return_counts=True)
    quota = n_test * counts / n
    take = np.floor(quota).astype(np.int64)
    order = sorted(range(classes.size), key=lambda c: (-(quota[c] - take[c]), c))
    for c in order[: n_test - int(take.sum())]:
        take[c] += 1
    in_test = np.zeros(n, dtype=bool)
    labels = y[perm]
    for c, k in zip(classes, take, strict=True):
        in_test[perm[np.flatnonzero(labels == c)[:k]]] = True
    return perm[~in_test[perm]], perm[in_test[perm]]


def _standardized(where: str, x_train, x_test, names) -> tuple[np.ndarray, np.ndarray]:
    """Both parts scaled by the training part's mean and standard deviation (``ddof=0``)."""
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    if np.any(std == 0.0):
        constant = [names[j] for j in np.flatnonzero(std == 0.0)]
        raise ValueError(
            f"{where}: feature(s) {', '.join(map(repr, constant[:5]))} constant on the training "
            "part; standardize = true cannot scale them (drop them or set standardize = false)"
        )
    return fresh_float64((x_train - mean) / std), fresh_float64((x_test - mean) / std)


def _bundled(
    kind: str,
    seed: int,
    *,
    train_fraction: float | None,
    test_fraction: float | None,
    standardize: bool,
    features,
) -> DataDraw:
    where = _where(kind)
    if train_fraction is not None:
        train_fraction = _option(kind, "train_fraction", train_fraction)
    if test_fraction is not None:
        test_fraction = _option(kind, "test_fraction", test_fraction)
    standardize = _option(kind, "standardize", standardize)
    x_all, y_all, names = _bundled_raw(kind)
    cols = list(range(x_all.shape[1])) if features is None else _option(kind, "features", features)
    cols = list(range(cols)) if isinstance(cols, int) else list(cols)
    train, test = split_indices(
        seed, y_all, train_fraction=train_fraction, test_fraction=test_fraction, where=where
    )
    x_train = x_all[np.ix_(train, cols)]
    x_test = x_all[np.ix_(test, cols)]
    picked = tuple(names[j] for j in cols)
    if standardize:
        x_train, x_test = _standardized(where, x_train, x_test, picked)
    else:
        x_train, x_test = fresh_float64(x_train), fresh_float64(x_test)
    y_train = fresh_float64(y_all[train])
    _require_both_classes(kind, seed, y_train)
    return DataDraw(
        kind, x_train, y_train, x_test, fresh_float64(y_all[test]), None, None, None, picked, None
    )


def breast_cancer(
    seed: int,
    *,
    train_fraction: float | None = None,
    test_fraction: float | None = None,
    standardize: bool = True,
    features: int | Sequence[int] | None = None,
) -> DataDraw:
    """Wisconsin diagnostic breast-cancer data (569 samples, 30 features).

    Loaded with ``sklearn.datasets.load_breast_cancer()`` (bundled, no download).
    Label 1 = malignant (212 samples), 0 = benign (357): scikit-learn's target
    codes malignant as 0, so it is inverted here.

    Split by :func:`split_indices` from ``(seed, STREAM_SPLIT)``: by default the
    first ``n_train = floor(0.7 * 569 + 0.5) = 398`` entries of a permutation
    train, the rest test; ``test_fraction`` gives a stratified split instead.
    With ``standardize`` (default) features are standardised with the training
    part's mean and standard deviation (``ddof=0``) only,
    ``x' = (x - mean_train) / std_train``, applied to both parts, so no test
    information leaks into training.

    No posterior is known: ``p_*``, ``w_star`` and ``b_star`` are ``None``.

    Parameters
    ----------
    seed : int
    train_fraction : float in (0, 1], optional
        Random split; 1 leaves an empty test set. Default 0.7 when
        ``test_fraction`` is not given; not together with it.
    test_fraction : float in [0, 1), optional
        Stratified held-out fraction.
    standardize : bool
    features : None, int or sequence of int
        ``None``: all 30; ``k``: the first ``k`` (1 <= k <= 30); a sequence:
        those column indices (distinct, in ``[0, 30)``), in the given order.
    """
    return _bundled(
        "breast_cancer", seed, train_fraction=train_fraction, test_fraction=test_fraction,
        standardize=standardize, features=features,
    )  # fmt: skip


def iris(
    seed: int,
    *,
    train_fraction: float | None = None,
    test_fraction: float | None = None,
    standardize: bool = True,
    features: int | Sequence[int] | None = None,
) -> DataDraw:
    """Fisher's iris, versicolor (0) against virginica (1): 100 samples, 4 features.

    ``sklearn.datasets.load_iris()`` without setosa, the one species that is
    linearly separable from the others, so this pair overlaps (a finite logistic
    minimiser exists). Options, split and standardisation as :func:`breast_cancer`.
    """
    return _bundled(
        "iris", seed, train_fraction=train_fraction, test_fraction=test_fraction,
        standardize=standardize, features=features,
    )  # fmt: skip


def wine(
    seed: int,
    *,
    train_fraction: float | None = None,
    test_fraction: float | None = None,
    standardize: bool = True,
    features: int | Sequence[int] | None = None,
) -> DataDraw:
    """Wine recognition, cultivar 0 (1) against cultivar 1 (0): 130 samples, 13 features.

    ``sklearn.datasets.load_wine()`` without cultivar 2. Options, split and
    standardisation as :func:`breast_cancer`.
    """
    return _bundled(
        "wine", seed, train_fraction=train_fraction, test_fraction=test_fraction,
        standardize=standardize, features=features,
    )  # fmt: skip


def _file_kind(
    seed: int,
    *,
    path: str | Path | None = None,
    label: str | None = None,
    test_fraction: float | None = None,
    standardize: bool = False,
    positive: str | int | None = None,
    sha256: str | None = None,
) -> DataDraw:
    """``make_data("file", ...)``: :func:`load_file`, then an optional split and standardisation.

    ``test_fraction`` splits a file without a test set (stratified, from
    ``(seed, STREAM_SPLIT)``, see :func:`split_indices`); ``standardize`` scales
    both parts by the training part's mean and standard deviation; ``sha256``
    refuses a file whose SHA-256 differs. Without ``test_fraction`` (or with 0)
    the draw does not depend on ``seed``.
    """
    if path is None:
        raise ValueError("data kind 'file': option path is required (a .npz or .csv file)")
    if not isinstance(path, str | Path):
        raise ValueError(f"data kind 'file': path must be a string, got {path!r}")
    if test_fraction is not None:
        test_fraction = _option("file", "test_fraction", test_fraction)
    standardize = _option("file", "standardize", standardize)
    if positive is not None:
        positive = _option("file", "positive", positive)
    if label is not None:
        label = _option("file", "label", label)
    if sha256 is not None:
        check_data_file(path, _option("file", "sha256", sha256))
    draw = load_file(path, label=label, positive=positive)
    source = str(path)
    if test_fraction:  # 0: no held-out part, the file as it is
        if draw.n_test:
            raise ValueError(_OWN_TEST_SET.format(source=source))
        train, test = split_indices(seed, draw.y_train, test_fraction=test_fraction, where=source)
        x, y = draw.x_train, draw.y_train
        draw = replace(draw, x_train=fresh_float64(x[train]), y_train=fresh_float64(y[train]),
                       x_test=fresh_float64(x[test]), y_test=fresh_float64(y[test]))  # fmt: skip
        _require_both_classes("file", seed, draw.y_train)
    if standardize:
        x_train, x_test = _standardized(source, draw.x_train, draw.x_test, draw.feature_names)
        draw = replace(draw, x_train=x_train, x_test=x_test)
    return draw


_OWN_TEST_SET = (
    "{source}: the file has its own test set (x_test, y_test); test_fraction splits a file "
    "without one: remove test_fraction, or the test arrays from the file"
)

#: Data kind -> generator ``f(seed, **options) -> DataDraw``.
GENERATORS: dict[str, Callable[..., DataDraw]] = {
    "gaussian": gaussian,
    "logistic_model": logistic_model,
    "separable": separable,
    "soudry": soudry,
    "breast_cancer": breast_cancer,
    "iris": iris,
    "wine": wine,
    "file": _file_kind,
}

#: Data kind -> {option: default}, as the schema declares them (``None`` for ``file``'s
#: ``path`` means "required"; ``train_fraction`` 0.7 applies without ``test_fraction``).
GENERATOR_OPTIONS: dict[str, dict[str, object]] = {
    kind: {
        name: (None if value is REQUIRED else value)
        for name, value in schema.kind_defaults(kind).items()
    }
    for kind in schema.DATA_KINDS
}


def with_intercept(draw: DataDraw) -> DataDraw:
    """Append a constant 1.0 feature named ``"intercept"`` to both splits.

    ``w_star`` (if known) gets ``b_star`` as its last entry, so
    ``x . w_star`` is still the generator's true logit.
    """
    w_star = draw.w_star
    if w_star is not None:
        w_star = np.append(w_star, draw.b_star if draw.b_star is not None else 0.0)
    return replace(
        draw,
        x_train=np.hstack([draw.x_train, np.ones((draw.n_train, 1))]),
        x_test=np.hstack([draw.x_test, np.ones((draw.n_test, 1))]),
        w_star=w_star,
        feature_names=(*draw.feature_names, "intercept"),
    )


def _check_kind_and_options(kind: str, options) -> None:
    if kind not in GENERATORS:
        raise ValueError(
            f"unknown data kind {kind!r}; {schema.suggest(kind, GENERATORS)}allowed: "
            f"{', '.join(GENERATORS)}"
        )
    allowed = GENERATOR_OPTIONS[kind]
    for name in options:
        if name not in allowed:
            raise ValueError(
                f"unknown option {name!r} for data kind {kind!r}; "
                f"allowed: {', '.join(allowed) or '(none)'}"
            )


def make_data(kind: str, *, seed: int, intercept: bool = False, **options) -> DataDraw:
    """Draw a data set by name, validating the kind and every option.

    Parameters
    ----------
    kind : str
        A key of :data:`GENERATORS`.
    seed : int
        Non-negative seed; the same ``(kind, seed, options)`` gives bit-identical arrays.
    intercept : bool
        Append a constant 1.0 column named ``"intercept"`` (after any
        standardisation); see :func:`with_intercept`.
    **options
        Generator options; allowed names and defaults are in :data:`GENERATOR_OPTIONS`
        (declared in :mod:`logsim.schema`).

    Raises
    ------
    ValueError
        Unknown kind or option, or an option value out of range.
    """
    _check_kind_and_options(kind, options)
    seed = check_seed(seed)
    intercept = _option(kind, "intercept", intercept)
    draw = GENERATORS[kind](seed, **options)
    return with_intercept(draw) if intercept else draw


# --------------------------------------------------------------------------- shapes


@dataclass(frozen=True)
class DataShape:
    """The shapes of a data draw, known without drawing it (:func:`data_shape`).

    ``dim`` and ``feature_names`` count an intercept column; ``has_posterior``:
    ``p_train``/``p_test`` are set; ``has_w_star``: ``w_star`` is set.
    """

    n_train: int
    n_test: int
    dim: int
    feature_names: tuple[str, ...]
    has_posterior: bool
    has_w_star: bool


def data_shape(kind: str, *, intercept: bool = False, **options) -> DataShape:
    """The shapes ``make_data(kind, seed=s, intercept=..., **options)`` gives, for every seed.

    Nothing is drawn: synthetic kinds from their options, bundled data from
    :data:`logsim.schema.REAL_DATA`, file data from the CSV header and row count
    or the ``.npz`` array headers (cached per file, its size and modification
    time). Options are validated as by :func:`make_data`; label values and
    feature values of a file are not read, so a file can still fail to load.

    Examples
    --------
    >>> shape = data_shape("gaussian", n_train=50, dim=3, intercept=True)
    >>> shape.n_train, shape.n_test, shape.dim, shape.feature_names
    (50, 2000, 4, ('x0', 'x1', 'x2', 'intercept'))
    """
    _check_kind_and_options(kind, options)
    intercept = _option(kind, "intercept", intercept)
    opts = {**GENERATOR_OPTIONS[kind], **options}
    where = _where(kind)
    if kind in ("gaussian", "logistic_model", "separable"):
        n_train, n_test, dim = (_option(kind, k, opts[k]) for k in ("n_train", "n_test", "dim"))
        names = default_feature_names(dim)
    elif kind == "soudry":
        n_random, n_test = _option(kind, "n_random", opts["n_random"]), _option(
            kind, "n_test", opts["n_test"])  # fmt: skip
        n_train, names = len(SOUDRY_SUPPORT_POS) * 2 + n_random, default_feature_names(2)
    elif kind in REAL_DATA:
        facts = REAL_DATA[kind]
        fractions = {
            k: None if options.get(k) is None else _option(kind, k, options[k])
            for k in ("train_fraction", "test_fraction")
        }
        n_train, n_test = _split_sizes(where, facts.n_samples, **fractions)
        features = opts["features"]
        cols = facts.n_features if features is None else _option(kind, "features", features)
        cols = range(cols) if isinstance(cols, int) else cols
        all_names = _bundled_raw(kind)[2]  # scikit-learn's bundled file, read once
        names = tuple(all_names[j] for j in cols)
    else:
        path = opts["path"]
        if path is None:
            raise ValueError("data kind 'file': option path is required (a .npz or .csv file)")
        n, n_file_test, names = file_header(path, opts["label"])
        fraction = opts["test_fraction"]
        if not fraction:
            n_train, n_test = n, n_file_test
        else:
            if n_file_test:
                raise ValueError(_OWN_TEST_SET.format(source=str(path)))
            n_train, n_test = _split_sizes(
                str(path), n, None, _option(kind, "test_fraction", fraction)
            )
    return DataShape(
        n_train=n_train,
        n_test=n_test,
        dim=len(names) + int(intercept),
        feature_names=(*names, "intercept") if intercept else tuple(names),
        has_posterior=kind in schema.SOFT_KINDS,
        has_w_star=kind in ("gaussian", "logistic_model", "separable", "soudry"),
    )
