"""Measurements on result datasets: calibration, entropy floors, margins, the max-margin direction.

:func:`analyse` takes a logsim result dataset and returns a new one with the
variables below added (recomputed and replaced if present, so it is idempotent).
Every number comes from the stored weights and the stored data arrays; nothing is
re-simulated. The arithmetic is plain NumPy, :mod:`logsim.metrics` and
:mod:`logsim.svm` on arrays, and for the test-set variables of every row
:func:`logsim.heldout.heldout_metrics` (the same metrics in one compiled pass over the
logits); xarray is used only to take arrays apart and put the results back on the grid.

Terms
-----
*Grid axes* are the dims of ``weights`` other than ``step`` and ``feature``
(``loss, noise_rate, smoothing, seed`` for a scenario; ``trajectory`` for
:func:`logsim.simulate`). A *cell* is one point of the grid, a *row* one cell at
one checkpoint. Data arrays (``x_train``, ``targets``, ``x_test``, ``y_test``,
``p_test``) are stored once per value of the grid axes that change them (see
``results._data_variables``) and broadcast against the grid here; arrays padded
with NaN (swept ``n_train``, ``n_test``, ``dim`` or ``features``) are trimmed to
each draw's own samples and features.

Conventions
-----------
* Logit ``z = w . x`` over the stored features (an intercept column, if any, is a
  feature like the others); probability ``p = sigmoid(z)`` for every loss. For
  margin losses (hinge, squared hinge, exponential) ``sigmoid(z)`` is not meant as
  a probability; the Platt-scaled variables are the fair comparison.
* Binned calibration: :data:`BINS` = 15 equal-width bins on [0, 1], bins
  ``(lo, hi]`` (the first also holds 0), empty bins left out (Guo et al. 2017;
  :mod:`logsim.metrics`). ``test_ece`` and ``test_mce`` are positive-class
  (confidence ``p``, outcome ``y``); ``test_ece_top_label`` uses confidence
  ``max(p, 1 - p)`` and outcome "prediction ``p >= 1/2`` is correct".
* ``test_true_calibration_error`` is ``mean |p - p_true|`` against the stored
  posterior: no binning, hence no binning bias, but it is the canonical
  calibration error ``E|E[y | p] - p|`` (what binned ECE estimates) only when
  ``p_true`` is a function of ``p``, e.g. one feature. With several features it
  also counts the error of the direction of ``w`` (points with equal ``p`` but
  different ``p_true``) and lies above the binned ECE (measured: 0.019 against
  0.005 for gaussian data, d = 5, n_train = 1000).
* Platt split: the test set, in stored order (i.i.d. draws, or a random
  permutation for real data), is cut into a *fitting half* ``test_sample[:n//2]``
  and an *evaluation half* ``test_sample[n//2:]``. Platt's sigmoid ``a z + b`` is
  fitted on the fitting half (:func:`logsim.metrics.platt_fit_rows`, Platt's
  regularised targets); ``test_ece_platt`` is the ECE of ``sigmoid(a z + b)`` and
  ``test_ece_unscaled`` that of ``sigmoid(z)``, both on the evaluation half. No
  training point is used. Computed for every cell and checkpoint, every loss.
* Hard training labels for geometry: ``s = sign(targets - 1/2)``. For hard,
  noisy and smoothed targets these are exactly the (noisy) hard labels the cell
  was trained on; for soft targets (``soft = true``, smoothed or not) they are the Bayes labels of
  the posterior, and gradient descent on soft targets converges to a finite ``w``,
  not to the SVM direction. A training set with a target exactly 1/2 (no hard
  label) counts as not separable.
* Separability and the SVM are per distinct training set and labels (dims: the
  grid axes of ``x_train`` and ``targets``); ``svm.max_margin_solution`` is called
  once per distinct pair. Not separable through the origin
  (:class:`logsim.svm.NotSeparableError`) gives ``separable = False`` and NaN
  geometry; any other error of the solver (bad input, RuntimeError for a problem
  too ill-conditioned to verify) propagates, with the training set named.
* Rows whose weights are not finite (diverged trajectories) give NaN everywhere;
  a zero weight vector (step 0 from ``w = 0``) has no direction, so its
  ``direction_gap``, ``angle_gap``, ``normalized_margin`` and ``margin_gap`` are NaN.

What a dataset needs
--------------------
``weights`` (``..., step, feature``) always; then each group needs its arrays:

=========================================  ==========================================
variables                                  needs
=========================================  ==========================================
``weight_norm``                            ``weights`` only
``test_*``, ``platt_*``                    ``x_test``, ``y_test`` (and ``p_test`` for
                                           ``test_true_calibration_error``)
``entropy_floor``                          ``targets``
``train_kl_gap``                           ``targets``, ``train_loss``, the loss
``active_fraction``, ``separable``,        ``x_train``, ``targets``, the loss
``w_hat``, ``svm_*``, ``direction_gap``,
``angle_gap``, ``normalized_margin``,
``margin_gap``
=========================================  ==========================================

The loss of each cell is the ``loss`` coordinate (a swept loss), else the
``loss`` argument of :func:`analyse`, else the ``loss`` attribute
(:func:`logsim.simulate`), else ``[optimizer] loss`` of the stored scenario text
(default ``"logistic"``). Results of ``logsim.run`` carry
every array (unless ``[record] data = false``); :func:`logsim.simulate` returns
no data arrays, so only ``weight_norm`` is added there, unless arrays with these
names and dims ``(trajectory, sample[, feature])`` /
``(trajectory, test_sample[, feature])`` are added to it first.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence

import numpy as np
import xarray as xr

from logsim import heldout, metrics, svm
from logsim.losses import LOSS_CODES

__all__ = ["BINS", "MARGIN_LOSSES", "VARIABLES", "analyse", "reliability_table"]

#: Equal-width bins of every binned calibration variable (Guo et al. 2017).
BINS = 15
#: Losses with a flat region (zero gradient once ``1 - s z <= 0``).
MARGIN_LOSSES = ("hinge", "squared_hinge")
#: Losses whose mean training loss is the cross-entropy of the targets against sigmoid(z).
CROSS_ENTROPY_LOSSES = ("logistic",)
#: Largest logit block ``rows x test points`` held at once (float64 elements).
_BLOCK = 2_000_000

_SEP = "; signs s = sign(targets - 1/2)"
_SVM = "NaN where the training labels are not linearly separable through the origin"

#: Every variable :func:`analyse` adds, with its attributes.
VARIABLES: dict[str, dict[str, str]] = {
    "weight_norm": {"long_name": "Euclidean norm ||w_t|| of the weight vector", "units": "1"},
    "test_nll": {
        "long_name": "mean cross-entropy of sigmoid(w.x) on the clean test labels",
        "units": "nat",
        "description": "-mean[y ln p + (1-y) ln(1-p)], p = sigmoid(z), computed from logits",
    },
    "test_brier": {
        "long_name": "Brier score mean (p - y)^2 of p = sigmoid(w.x) on the clean test set",
        "units": "1",
    },
    "test_ece": {
        "long_name": "expected calibration error of sigmoid(w.x), positive class, "
        "15 equal-width bins",
        "units": "1",
        "description": "sum_m |B_m|/n |mean y - mean p| over non-empty bins (lo, hi] of "
        "p on [0, 1]; confidence p, outcome y (netcal/torchmetrics binary)",
    },
    "test_ece_top_label": {
        "long_name": "expected calibration error of sigmoid(w.x), top label, 15 equal-width bins",
        "units": "1",
        "description": "confidence max(p, 1-p), outcome [prediction (p >= 1/2) correct], "
        "bins (lo, hi] on [0, 1] (Guo et al. 2017)",
    },
    "test_mce": {
        "long_name": "maximum calibration error of sigmoid(w.x), positive class, "
        "15 equal-width bins",
        "units": "1",
        "description": "max over non-empty bins of |mean y - mean p|",
    },
    "test_mean_confidence": {
        "long_name": "mean top-label confidence max(p, 1-p) on the test set",
        "units": "1",
    },
    "test_mean_abs_logit": {"long_name": "mean |w.x| on the test set", "units": "1"},
    "test_true_calibration_error": {
        "long_name": "true calibration error mean |sigmoid(w.x) - P(y=1|x)| on the test set",
        "units": "1",
        "description": "uses the generator's stored posterior p_test; no binning, so no "
        "binning bias (binned ECE is positive even where this is 0); equals the canonical "
        "calibration error only where p_true is a function of p (one feature), otherwise it "
        "also counts direction error",
    },
    "platt_slope": {
        "long_name": "Platt scaling slope a of sigmoid(a z + b), fitted on the first half "
        "of the test set",
        "units": "1",
    },
    "platt_intercept": {
        "long_name": "Platt scaling intercept b of sigmoid(a z + b), fitted on the first "
        "half of the test set",
        "units": "1",
    },
    "test_ece_platt": {
        "long_name": "ECE of Platt-scaled sigmoid(a w.x + b) on the second half of the "
        "test set, positive class, 15 equal-width bins",
        "units": "1",
        "description": "a, b fitted on test_sample[:n//2] (Platt 1999 targets), evaluated on "
        "test_sample[n//2:]; no training data used",
    },
    "test_ece_unscaled": {
        "long_name": "ECE of unscaled sigmoid(w.x) on the second half of the test set, "
        "positive class, 15 equal-width bins",
        "units": "1",
        "description": "the same points as test_ece_platt (test_sample[n//2:]), for a fair "
        "comparison",
    },
    "entropy_floor": {
        "long_name": "entropy floor mean H(y) of the training targets",
        "units": "nat",
        "description": "no predictor has a lower mean cross-entropy against these targets: "
        "CE(y, p) = H(y) + KL(y || p)",
    },
    "train_kl_gap": {
        "long_name": "train_loss - entropy_floor = mean KL(y || sigmoid(w.x)) on the "
        "training targets",
        "units": "nat",
        "description": "the part of the cross-entropy the model can still remove; only for "
        "loss = logistic (NaN for losses whose train_loss is not the "
        "cross-entropy of the targets)",
    },
    "active_fraction": {
        "long_name": "fraction of training points with a non-zero loss gradient",
        "units": "1",
        "description": "hinge/squared hinge: mean[s != 0 and 1 - s z > 0], s = 2 y - 1 on "
        "the training targets; 1 for every other loss (cross-entropy and "
        "exponential never stop: their derivative has no flat region)",
    },
    "separable": {
        "long_name": "training labels linearly separable through the origin",
        "units": "1",
        "description": "hard-margin SVM (no intercept) exists" + _SEP,
    },
    "w_hat": {
        "long_name": "homogeneous hard-margin SVM weights w_hat of the training labels",
        "units": "1",
        "description": "argmin ||w|| s.t. s_i x_i.w >= 1 (logsim.svm)" + _SEP + "; " + _SVM,
    },
    "svm_margin": {
        "long_name": "geometric margin 1/||w_hat|| of the hard-margin SVM",
        "units": "1",
        "description": _SVM,
    },
    "svm_max_violation": {
        "long_name": "largest violation max(0, 1 - s_i x_i.w_hat) of the SVM constraints "
        "(solver diagnostic)",
        "units": "1",
        "description": _SVM,
    },
    "direction_gap": {
        "long_name": "direction gap || w/||w|| - w_hat/||w_hat|| ||",
        "units": "1",
        "description": "in [0, 2]; " + _SVM + " and where w = 0",
    },
    "angle_gap": {
        "long_name": "angle between w and w_hat",
        "units": "rad",
        "description": "in [0, pi], equals 2 arcsin(direction_gap / 2); " + _SVM,
    },
    "normalized_margin": {
        "long_name": "normalised margin min_i s_i x_i.w / ||w|| on the training set",
        "units": "1",
        "description": "signs s = sign(targets - 1/2); defined for every cell (negative "
        "while a training point is misclassified); NaN where w = 0",
    },
    "margin_gap": {
        "long_name": "svm_margin - normalized_margin",
        "units": "1",
        "description": ">= 0; " + _SVM,
    },
}


# --------------------------------------------------------------------------- edges


class _Grid:
    """Take arrays apart by the grid axes a data array varies over, and put results back."""

    def __init__(self, ds: xr.Dataset, dims: Sequence[str]):
        self.ds = ds
        self.dims = list(dims)
        self.sizes = {d: ds.sizes[d] for d in self.dims}

    def outer(self, names: Sequence[str], trailing: Sequence[str]) -> list[str]:
        """Grid axes (in grid order) that any of the data arrays ``names`` vary over."""
        used = set()
        for name in names:
            own = [d for d in self.ds[name].dims if d not in trailing]
            bad = [d for d in own if d not in self.sizes]
            if bad:
                raise ValueError(
                    f"{name} has dims {self.ds[name].dims}; its dims other than "
                    f"{tuple(trailing)} must be grid axes of weights {tuple(self.dims)}, "
                    f"but {bad} are not"
                )
            used.update(own)
        return [d for d in self.dims if d in used]

    def split(self, da: xr.DataArray, outer: Sequence[str], trailing: Sequence[str]):
        """``da`` (grid axes + trailing) as an array ``(n_outer, n_rest, *trailing)``."""
        rest = [d for d in self.dims if d not in outer]
        da = da.transpose(*outer, *rest, *trailing)
        n_outer = int(np.prod([self.sizes[d] for d in outer], dtype=np.int64))
        n_rest = int(np.prod([self.sizes[d] for d in rest], dtype=np.int64))
        return np.asarray(da.values).reshape(n_outer, n_rest, *da.shape[len(self.dims) :])

    def data(self, name: str, outer: Sequence[str], trailing: Sequence[str]) -> np.ndarray:
        """Data array ``name`` broadcast to ``(n_outer, *trailing)``."""
        da = self.ds[name]
        missing = {d: self.sizes[d] for d in outer if d not in da.dims}
        if missing:
            da = da.expand_dims(missing)
        da = da.transpose(*outer, *trailing)
        n_outer = int(np.prod([self.sizes[d] for d in outer], dtype=np.int64))
        return np.asarray(da.values).reshape(n_outer, *da.shape[len(outer) :])

    def merge(
        self, arr: np.ndarray, outer: Sequence[str], trailing: Sequence[str], attrs: dict
    ) -> xr.Variable:
        """Inverse of :meth:`split`: ``(n_outer, n_rest, *trailing)`` -> grid order."""
        rest = [d for d in self.dims if d not in outer]
        shape = [self.sizes[d] for d in (*outer, *rest)]
        var = xr.Variable(
            (*outer, *rest, *trailing), arr.reshape(*shape, *arr.shape[2:]), dict(attrs)
        )
        return var.transpose(*self.dims, *trailing)

    def label(self, outer: Sequence[str], index: int) -> str:
        """``axis=value, ...`` of flat index ``index`` over ``outer``."""
        if not outer:
            return "the only training set"
        idx = np.unravel_index(index, [self.sizes[d] for d in outer])
        parts = []
        for d, i in zip(outer, idx, strict=True):
            value = self.ds[d].values[i] if d in self.ds.coords else i
            parts.append(f"{d}={value}")
        return ", ".join(parts)


def _grid_dims(ds: xr.Dataset) -> list[str]:
    if "weights" not in ds:
        raise ValueError(
            "analyse needs a logsim result with a 'weights' variable (dims ..., step, feature)"
        )
    dims = ds["weights"].dims
    if dims[-2:] != ("step", "feature"):
        raise ValueError(f"weights must have dims (..., step, feature), got {dims}")
    return list(dims[:-2])


def _loss_names(ds: xr.Dataset, grid: _Grid, loss: str | None) -> np.ndarray:
    """The loss of every cell, an array of str over the grid axes."""
    shape = [grid.sizes[d] for d in grid.dims]
    if "loss" in ds.coords and set(ds["loss"].dims) <= set(grid.dims):
        da = ds["loss"]
        missing = {d: grid.sizes[d] for d in grid.dims if d not in da.dims}
        if missing:
            da = da.expand_dims(missing)
        return np.asarray(da.transpose(*grid.dims).values).astype(str)
    if loss is not None:
        name = loss
    elif "loss" in ds.attrs:
        name = ds.attrs["loss"]
    elif "scenario" in ds.attrs:
        doc = tomllib.loads(ds.attrs["scenario"])
        if "loss" in doc.get("grid", {}):
            raise ValueError(
                "the stored scenario sweeps loss, but the dataset has no loss "
                "coordinate over the grid"
            )
        name = doc.get("optimizer", {}).get("loss", "logistic")  # the scenario default
    else:
        raise ValueError(
            "cannot tell the loss of the cells: no 'loss' coordinate, 'loss' "
            "attribute or stored scenario; pass analyse(ds, loss=...)"
        )
    if name not in LOSS_CODES:
        raise ValueError(f"unknown loss {name!r}; allowed: {', '.join(LOSS_CODES)}")
    return np.full(shape, str(name))


def _trim(X: np.ndarray, *per_sample: np.ndarray | None):
    """Drop NaN padding: feature columns that are all NaN, samples that are not finite."""
    feat = ~np.all(np.isnan(X), axis=0)
    X = X[:, feat]
    keep = np.all(np.isfinite(X), axis=1)
    for a in per_sample:
        if a is not None:
            keep &= np.isfinite(a)
    return feat, X[keep], [None if a is None else a[keep] for a in per_sample]


def _row_blocks(idx: np.ndarray, n: int):
    size = max(1, _BLOCK // max(n, 1))
    for start in range(0, len(idx), size):
        yield idx[start : start + size]


def _weight_norms(values: np.ndarray) -> np.ndarray:
    """``||w||`` over the last axis ignoring NaN padding; NaN where a row is all NaN.

    Computed :data:`_BLOCK` elements at a time, so the temporaries stay small however
    large ``values`` is; each row is summed exactly as a whole-array ``nansum`` would.
    """
    norms = np.empty(values.shape[:-1])
    flat_norms = norms.reshape(-1)  # a view: norms is new and C-contiguous
    rows = values.reshape(-1, values.shape[-1])  # a view when values is C-contiguous
    step = max(1, _BLOCK // max(rows.shape[1], 1))
    for start in range(0, rows.shape[0], step):
        block = rows[start : start + step]
        with np.errstate(invalid="ignore"):
            allnan = np.all(np.isnan(block), axis=-1)
            norm = np.sqrt(np.nansum(block * block, axis=-1))
        flat_norms[start : start + step] = np.where(allnan, np.nan, norm)
    return norms


# --------------------------------------------------------------------------- test set


_TEST_NAMES = (
    "test_nll",
    "test_brier",
    "test_ece",
    "test_ece_top_label",
    "test_mce",
    "test_mean_confidence",
    "test_mean_abs_logit",
    "platt_slope",
    "platt_intercept",
    "test_ece_platt",
    "test_ece_unscaled",
)


def _test_variables(ds, grid: _Grid, W: xr.DataArray) -> dict[str, xr.Variable]:
    if "x_test" not in ds or "y_test" not in ds:
        return {}
    has_p = "p_test" in ds
    names = ["x_test", "y_test"] + (["p_test"] if has_p else [])
    outer = grid.outer(names, ("test_sample", "feature"))
    Wb = grid.split(W, outer, ("step", "feature"))  # (nO, nR, K, d)
    nO, nR, K, _ = Wb.shape
    Xb = grid.data("x_test", outer, ("test_sample", "feature"))
    Yb = grid.data("y_test", outer, ("test_sample",))
    Pb = grid.data("p_test", outer, ("test_sample",)) if has_p else None
    out = {k: np.full((nO, nR * K), np.nan) for k in _TEST_NAMES}
    if has_p:
        out["test_true_calibration_error"] = np.full((nO, nR * K), np.nan)
    for o in range(nO):
        feat, X, (y, pt) = _trim(Xb[o], Yb[o], None if Pb is None else Pb[o])
        n = len(y)
        if n == 0:
            continue
        rows = Wb[o][..., feat].reshape(nR * K, -1)
        ok = np.flatnonzero(np.all(np.isfinite(rows), axis=1))
        for blk in _row_blocks(ok, n):
            scores = heldout.heldout_metrics(rows[blk] @ X.T, y, p_true=pt, bins=BINS)
            for name in out:  # test_nll is heldout's nll, platt_slope its platt_slope, ...
                out[name][o, blk] = scores[name.removeprefix("test_")]
    return {
        k: grid.merge(v.reshape(nO, nR, K), outer, ("step",), VARIABLES[k]) for k, v in out.items()
    }


# --------------------------------------------------------------------------- training set


def _entropy_floor(ds, grid: _Grid) -> xr.Variable | None:
    if "targets" not in ds:
        return None
    outer = grid.outer(["targets"], ("sample",))
    Tb = grid.data("targets", outer, ("sample",))
    floor = np.array([metrics.entropy_floor(t[np.isfinite(t)]) for t in Tb])
    shape = [grid.sizes[d] for d in outer]
    return xr.Variable(tuple(outer), floor.reshape(shape), dict(VARIABLES["entropy_floor"]))


def _svm(X: np.ndarray, s: np.ndarray, where: str):
    """``(w_hat, margin, max_violation)`` or None where the labels are not separable."""
    if np.any(s == 0.0):
        return None  # a target of exactly 1/2 has no hard label
    try:
        sol = svm.max_margin_solution(X, s)
    except svm.NotSeparableError:
        return None
    except Exception as exc:
        exc.add_note(f"while computing the hard-margin SVM of the training set at {where}")
        raise
    return sol.w, sol.margin, sol.max_violation


def _train_variables(ds, grid: _Grid, W: xr.DataArray, losses: np.ndarray):
    if "x_train" not in ds or "targets" not in ds:
        return {}
    outer = grid.outer(["x_train", "targets"], ("sample", "feature"))
    Wb = grid.split(W, outer, ("step", "feature"))  # (nO, nR, K, d)
    nO, nR, K, d = Wb.shape
    Lb = grid.split(xr.DataArray(losses, dims=grid.dims), outer, ())  # (nO, nR)
    Xb = grid.data("x_train", outer, ("sample", "feature"))
    Tb = grid.data("targets", outer, ("sample",))

    per_row = ("active_fraction", "direction_gap", "angle_gap", "normalized_margin", "margin_gap")
    out = {k: np.full((nO, nR * K), np.nan) for k in per_row}
    separable = np.zeros(nO, dtype=bool)
    w_hat = np.full((nO, d), np.nan)
    margin = np.full(nO, np.nan)
    violation = np.full(nO, np.nan)
    solutions: dict[tuple[bytes, bytes], tuple | None] = {}
    for o in range(nO):
        feat, X, (t,) = _trim(Xb[o], Tb[o])
        if len(t) == 0:
            continue
        s = np.sign(t - 0.5)
        key = (X.tobytes(), s.tobytes())
        if key not in solutions:
            solutions[key] = _svm(X, s, grid.label(outer, o))
        sol = solutions[key]

        rows = Wb[o][..., feat].reshape(nR * K, -1)
        finite = np.all(np.isfinite(rows), axis=1)
        ok = np.flatnonzero(finite)
        loss_rows = np.repeat(Lb[o], K)
        active = out["active_fraction"][o]
        active[finite] = 1.0
        hinge = np.flatnonzero(finite & np.isin(loss_rows, MARGIN_LOSSES))
        for blk in _row_blocks(hinge, len(t)):
            active[blk] = metrics.hinge_active_fraction(rows[blk] @ X.T, t)
        if len(ok) and not np.any(s == 0.0):
            out["normalized_margin"][o, ok] = metrics.normalized_margin(rows[ok], X, s)
        if sol is None:
            continue
        separable[o] = True
        w_hat[o, feat], margin[o], violation[o] = sol
        if len(ok):
            out["direction_gap"][o, ok] = metrics.direction_gap(rows[ok], sol[0])
            out["angle_gap"][o, ok] = metrics.angle(rows[ok], sol[0])
            out["margin_gap"][o, ok] = sol[1] - out["normalized_margin"][o, ok]

    shape = [grid.sizes[d] for d in outer]
    dims = tuple(outer)
    new = {
        k: grid.merge(v.reshape(nO, nR, K), outer, ("step",), VARIABLES[k]) for k, v in out.items()
    }
    new["separable"] = xr.Variable(dims, separable.reshape(shape), dict(VARIABLES["separable"]))
    new["w_hat"] = xr.Variable(
        (*dims, "feature"), w_hat.reshape(*shape, d), dict(VARIABLES["w_hat"])
    )
    new["svm_margin"] = xr.Variable(dims, margin.reshape(shape), dict(VARIABLES["svm_margin"]))
    new["svm_max_violation"] = xr.Variable(
        dims, violation.reshape(shape), dict(VARIABLES["svm_max_violation"])
    )
    return new


# --------------------------------------------------------------------------- public


def analyse(ds: xr.Dataset, *, loss: str | None = None) -> xr.Dataset:
    """Add calibration, entropy-floor and margin-geometry variables to a result dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A logsim result (``logsim.run``, ``logsim.open_results``, the output of
        ``results.assemble``) or a :func:`logsim.simulate` dataset; see the module
        docstring for which arrays each variable needs. Not modified.
    loss : str, optional
        The loss of every cell, for a dataset without a ``loss`` coordinate that
        records it nowhere else (no ``loss`` attribute, no stored scenario), e.g.
        while a result is being assembled. Ignored where ``loss`` is a coordinate.

    Returns
    -------
    xarray.Dataset
        A new dataset with the variables of :data:`VARIABLES` whose inputs exist
        (any already present are recomputed and replaced, so
        ``analyse(analyse(ds))`` equals ``analyse(ds)``). Per-row variables have
        dims ``(*grid axes, step)``; ``entropy_floor`` has the grid axes of
        ``targets``; ``separable``, ``svm_margin``, ``svm_max_violation`` the grid
        axes of ``x_train`` and ``targets``, and ``w_hat`` those plus ``feature``.

    Notes
    -----
    Conventions (bins, Platt split, hard labels for the SVM) are in the module
    docstring and in each variable's ``long_name``/``description``.
    """
    dims = _grid_dims(ds)
    base = ds.drop_vars([name for name in VARIABLES if name in ds.variables])
    grid = _Grid(base, dims)
    W = base["weights"]
    new: dict[str, xr.Variable] = {}

    new["weight_norm"] = xr.Variable(
        W.dims[:-1], _weight_norms(W.values), dict(VARIABLES["weight_norm"])
    )

    new.update(_test_variables(base, grid, W))
    floor = _entropy_floor(base, grid)
    if floor is not None:
        new["entropy_floor"] = floor
    has_kl = floor is not None and "train_loss" in base
    has_training = "x_train" in base and "targets" in base
    if has_kl or has_training:
        losses = _loss_names(base, grid, loss)
        if has_kl:
            kl = base["train_loss"] - xr.DataArray(floor.values, dims=floor.dims)
            logistic = xr.DataArray(np.isin(losses, CROSS_ENTROPY_LOSSES), dims=grid.dims)
            kl = kl.where(logistic).transpose(*grid.dims, "step")
            new["train_kl_gap"] = xr.Variable(kl.dims, kl.values, dict(VARIABLES["train_kl_gap"]))
        new.update(_train_variables(base, grid, W, losses))
    return base.assign({name: new[name] for name in VARIABLES if name in new})


def reliability_table(
    ds: xr.Dataset, *, bins: int = BINS, kind: str = "positive", **sel
) -> xr.Dataset:
    """Reliability-diagram data of ``sigmoid(w.x)`` on the test set, for one cell and step.

    Parameters
    ----------
    ds : xarray.Dataset
        A result with ``weights``, ``x_test`` and ``y_test``.
    bins : int, default 15
        Equal-width bins on [0, 1], ``(lo, hi]`` (:func:`logsim.metrics.reliability`).
    kind : {"positive", "top_label"}
        Binary convention (:mod:`logsim.metrics`).
    **sel
        One label per grid axis (``loss="hinge", seed=3, ...``; axes of length 1
        may be left out) and optionally ``step`` (default: the last checkpoint).

    Returns
    -------
    xarray.Dataset
        Dim ``bin``: ``mean_confidence``, ``frequency`` (NaN for empty bins) and
        ``count``, with coordinates ``bin_lower`` and ``bin_upper``; attributes
        ``ece`` and ``mce`` of the same bins, ``kind``, and the selection.
    """
    dims = _grid_dims(ds)
    sel = dict(sel)
    sel.setdefault("step", ds["step"].values[-1])
    unknown = [k for k in sel if k not in dims and k != "step"]
    if unknown:
        raise ValueError(f"unknown selection {unknown}; grid axes are {dims} (and step)")
    for d in dims:
        if d not in sel:
            if ds.sizes[d] != 1:
                raise ValueError(
                    f"select one value of grid axis {d!r} (it has {ds.sizes[d]} values)"
                )
            sel[d] = ds[d].values[0] if d in ds.coords else 0
    if "x_test" not in ds or "y_test" not in ds:
        raise ValueError("reliability_table needs the stored test set (x_test, y_test)")

    def pick(name):
        da = ds[name]
        own = {k: v for k, v in sel.items() if k in da.dims}
        with_coords = {k: v for k, v in own.items() if k in ds.coords}
        positional = {k: v for k, v in own.items() if k not in ds.coords}
        return np.asarray(da.sel(with_coords).isel(positional).values)

    feat, X, (y,) = _trim(pick("x_test"), pick("y_test"))
    w = pick("weights")[feat]
    if not np.all(np.isfinite(w)):
        raise ValueError(f"the weights at {sel} are not finite (a diverged trajectory)")
    p = metrics.sigmoid(X @ w)
    r = metrics.reliability(p, y, bins=bins, strategy="uniform", kind=kind)
    attrs = {
        "kind": kind,
        "strategy": "uniform",
        "ece": metrics.ece(p, y, bins=bins, kind=kind),
        "mce": metrics.mce(p, y, bins=bins, kind=kind),
        "selection": ", ".join(f"{k}={v}" for k, v in sel.items()),
    }
    return xr.Dataset(
        {
            "mean_confidence": (
                "bin",
                r.mean_confidence,
                {"long_name": "mean confidence in the bin", "units": "1"},
            ),
            "frequency": (
                "bin",
                r.frequency,
                {"long_name": "observed frequency (mean outcome) in the bin", "units": "1"},
            ),
            "count": ("bin", r.count, {"long_name": "test points in the bin", "units": "1"}),
        },
        coords={"bin_lower": ("bin", r.edges[:-1]), "bin_upper": ("bin", r.edges[1:])},
        attrs=attrs,
    )
