"""One drawn data set, :class:`DataDraw`, and the helpers every data module shares.

:mod:`logsim.data` (generators, bundled real data), :mod:`logsim.data_files` (user
data files) and :mod:`logsim.labels` (training-label transforms) all make or read
draws; they import this module, and it imports none of them.

Conventions every draw keeps:

* Labels are ``float64`` in ``{0.0, 1.0}`` (1 = positive class); features are
  ``float64``, C-contiguous, shape ``(n_samples, n_features)``.
* The same seed gives bit-identical arrays; every call that makes a draw returns
  fresh arrays (:func:`fresh_float64`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from logsim.schema import KEYS, Check, Invalid

__all__ = ["DataDraw", "default_feature_names", "fresh_float64", "schema_checked"]


@dataclass(frozen=True, eq=False)
class DataDraw:
    """One data set: training and test arrays plus what the generator knows.

    Attributes
    ----------
    kind : str
        Generator name (a key of :data:`logsim.data.GENERATORS`), or ``"file"`` for user data.
    x_train, x_test : ndarray, shape (n_train, d) and (n_test, d)
        Features, ``float64``, C-contiguous. ``n_test`` may be 0.
    y_train, y_test : ndarray, shape (n_train,) and (n_test,)
        Clean labels in ``{0.0, 1.0}``.
    p_train, p_test : ndarray or None
        True posterior ``P(y = 1 | x)`` where the generator has a non-degenerate
        one (``gaussian``, ``logistic_model``); ``None`` otherwise.
    w_star : ndarray or None, shape (d,)
        The generator's true weights: Bayes weights ``2 mu`` (gaussian), ``w*``
        (logistic_model), the labelling direction ``u`` (separable), the
        hard-margin SVM ``w_hat`` (soudry); ``None`` for real and file data.
        With an intercept column the last entry is ``b_star``.
    feature_names : tuple of str
        One name per column of ``x_train``; ``"intercept"`` for the constant column.
    b_star : float or None
        The generator's true intercept (gaussian: ``log(pi / (1 - pi))``; other
        synthetic kinds: 0.0; real and file data: ``None``).

    Notes
    -----
    Equality is identity (``eq=False``): arrays make field-wise ``==`` ambiguous.
    Arrays are not write-protected (Numba types read-only arrays separately), but
    cells that share a seed share a draw, so never modify them in place.
    """

    kind: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    p_train: np.ndarray | None
    p_test: np.ndarray | None
    w_star: np.ndarray | None
    feature_names: tuple[str, ...]
    b_star: float | None = None

    def __post_init__(self):
        # Invariants every consumer relies on; a violation is a bug in this module.
        n_train, d = self.x_train.shape
        n_test, d_test = self.x_test.shape
        if d_test != d or self.y_train.shape != (n_train,) or self.y_test.shape != (n_test,):
            raise ValueError(
                f"inconsistent DataDraw shapes: x_train {self.x_train.shape}, y_train "
                f"{self.y_train.shape}, x_test {self.x_test.shape}, y_test {self.y_test.shape}"
            )
        if len(self.feature_names) != d:
            raise ValueError(f"{len(self.feature_names)} feature names for {d} features")
        if self.w_star is not None and self.w_star.shape != (d,):
            raise ValueError(f"w_star has shape {self.w_star.shape}, expected ({d},)")
        if (self.p_train is None) != (self.p_test is None):
            raise ValueError("p_train and p_test must both be set or both be None")
        if self.p_train is not None and (
            self.p_train.shape != (n_train,) or self.p_test.shape != (n_test,)
        ):
            raise ValueError("p_train/p_test shapes do not match the labels")

    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return self.x_train.shape[0]

    @property
    def n_test(self) -> int:
        """Number of test samples (may be 0)."""
        return self.x_test.shape[0]

    @property
    def dim(self) -> int:
        """Number of features, including an intercept column if present."""
        return self.x_train.shape[1]


# --------------------------------------------------------------------------- helpers


def fresh_float64(a) -> np.ndarray:
    """A fresh C-contiguous float64 copy."""
    return np.array(a, dtype=np.float64, order="C", copy=True)


def default_feature_names(d: int) -> tuple[str, ...]:
    """``("x0", ..., "x<d-1>")``: the names of ``d`` features that nobody named."""
    return tuple(f"x{j}" for j in range(d))


def schema_checked(where: str, name: str, value, check: Check | None = None):
    """``value`` checked by the schema's check of key ``name`` (or by ``check``).

    Raises ``ValueError("<where>: <name> must be ..., got <value>")``.
    """
    check = KEYS[name].check if check is None else check
    try:
        return check(value)
    except Invalid as bad:
        raise ValueError(f"{where}: {name} {bad.reason}, got {value!r}") from None
