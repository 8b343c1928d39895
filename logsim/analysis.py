"""Measurements on result datasets: calibration, entropy floors, margins, the max-margin direction.

:func:`analyse` takes a logsim result dataset and returns a new one with the
variables below added (recomputed and replaced if present, so it is idempotent).
Every number comes from the stored weights and the stored data arrays; nothing is
re-simulated.

Two layers, as in the rest of logsim. The array-level core (:func:`scores_on_test_set`,
:func:`geometry_on_training_set`, :func:`references_of_training_set`) measures one data set: the
weight rows of the cells trained on it, against its arrays. A sweep's chunk calls it
where the chunk is computed (:mod:`logsim.chunk`), and :func:`analyse` calls the same
functions on the arrays of a stored dataset, so both give the same bits. The per-row
arithmetic is :mod:`logsim.metric_kernels` (compiled, one pass per row, tested against
the NumPy reference :mod:`logsim.metrics`) and :mod:`logsim.svm`; xarray is used only to
take arrays apart and put the results back on the grid.

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
* Binned calibration: :data:`BINS` = 15 equal-width bins on [0, 1] unless the scenario's
  ``[analysis] bins`` says otherwise, bins
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
  fitted on the fitting half (:func:`logsim.metric_kernels.platt_fit_rows`, Platt's
  regularised targets); ``test_ece_platt`` is the ECE of ``sigmoid(a z + b)`` and
  ``test_ece_unscaled`` that of ``sigmoid(z)``, both on the evaluation half. No
  training point is used. Computed for every cell and checkpoint, every loss (or only
  at the last checkpoint with ``[analysis] platt_at = "last"``).
* ``test_loss`` is the cell's own loss on the clean test labels (the cross-entropy for
  the corrected losses, whose clean-label counterpart it is), ``test_accuracy`` that of
  ``z > 0``.
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
* The L1 and L-infinity references (``svm_margin_l1``, ``w_hat_l1``,
  ``w_hat_l1_unique``, the same for ``linf``) are linear programmes
  (:func:`logsim.svm.max_margin_lps`, both in one HiGHS call), solved once per
  distinct training set and labels and only where the L2 SVM found them separable.
  Their directions are often not unique (a face of the polytope), so the margin gaps
  are the primary measure; ``direction_gap_l1`` and ``direction_gap_linf`` are NaN
  where the direction is not unique.
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
``test_*``, ``platt_*``                    ``x_test``, ``y_test``, the loss (and ``p_test`` for
                                           ``test_true_calibration_error``)
``entropy_floor``                          ``targets``
``train_kl_gap``                           ``targets``, ``train_loss``, the loss
``active_fraction``, ``separable``,        ``x_train``, ``targets``, the loss
``w_hat*``, ``svm_*``, ``direction_gap*``,
``angle_gap``, ``normalized_margin``,
``margin_gap*``
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
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # xarray is imported where a function needs it: a sweep never does
    import xarray as xr

from logsim import metric_kernels, metrics, svm
from logsim.losses import CORRECTED_LOSSES, LOSS_CODES, loss_units
from logsim.variables import ANALYSIS_GROUPS, attributes
from logsim.variables import VARIABLES as _ALL_VARIABLES

__all__ = [
    "BINS",
    "MARGIN_LOSSES",
    "VARIABLES",
    "analyse",
    "geometry_on_training_set",
    "references_of_training_set",
    "reliability_table",
    "scores_on_test_set",
]

#: Equal-width bins of every binned calibration variable by default (Guo et al. 2017).
BINS = 15
#: Losses with a flat region (zero gradient once ``1 - s z <= 0``).
MARGIN_LOSSES = ("hinge", "squared_hinge")
#: Losses whose mean training loss is the cross-entropy of the targets against sigmoid(z).
CROSS_ENTROPY_LOSSES = ("logistic",)
#: Elements of weights per block of :func:`weight_norms` and of the margin geometry
#: (:func:`geometry_on_training_set`, about ten temporaries of a block at once).
_BLOCK = 2**17

#: Every variable :func:`analyse` adds, with its attributes (for :data:`BINS` bins).
VARIABLES: dict[str, dict[str, str]] = {
    name: attributes(var)
    for name, var in _ALL_VARIABLES.items()
    if var.group in ANALYSIS_GROUPS or name == "weight_norm"
}
#: Variables per training set and targets (the others are per cell and checkpoint).
TARGET_LEVEL = tuple(n for n, v in _ALL_VARIABLES.items()
                     if n in VARIABLES and v.level == "target")
#: Test-set variable -> its column of :func:`logsim.metric_kernels.score_rows`.
_TEST_SCORE = {
    "test_loss": "loss",
    "test_accuracy": "accuracy",
    "test_nll": "nll",
    "test_brier": "brier",
    "test_mean_confidence": "mean_confidence",
    "test_mean_abs_logit": "mean_abs_logit",
    "test_ece": "ece",
    "test_mce": "mce",
    "test_ece_top_label": "ece_top_label",
    "test_true_calibration_error": "true_calibration_error",
    "platt_slope": "platt_slope",
    "platt_intercept": "platt_intercept",
    "test_ece_platt": "ece_platt",
    "test_ece_unscaled": "ece_unscaled",
}


def clean_loss_name(loss: str) -> str:
    """The loss ``test_loss`` measures a cell of ``loss`` in, on the clean test labels.

    A corrected loss is an estimate of its base loss on clean labels, so it is measured
    in that (``forward``/``backward``: the cross-entropy); every other loss in itself.
    """
    if loss in ("forward", "backward"):
        return "logistic"
    if loss in CORRECTED_LOSSES:
        return loss.split("_", 1)[1]
    return loss


def _names_in(groups: Iterable[str], *, posterior: bool) -> list[str]:
    chosen = set(groups)
    return [n for n in VARIABLES if _ALL_VARIABLES[n].group in chosen
            and (posterior or _ALL_VARIABLES[n].needs != "posterior")]


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
        import xarray as xr

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


def trim_padding(X: np.ndarray, *per_sample: np.ndarray | None):
    """Drop the NaN padding of one stored data set.

    Data sets narrower or shorter than the widest of a sweep are stored padded with NaN
    (feature columns that are all NaN, samples whose row is not finite). Returns
    ``(feat, X[keep][:, feat], [a[keep] for a in per_sample])``: the mask of real
    features, then the real samples, ``keep`` being the samples whose features and every
    given per-sample array are finite (``None`` entries pass through as ``None``).
    """
    feat = ~np.all(np.isnan(X), axis=0)
    X = X[:, feat]
    keep = np.all(np.isfinite(X), axis=1)
    for a in per_sample:
        if a is not None:
            keep &= np.isfinite(a)
    return feat, X[keep], [None if a is None else a[keep] for a in per_sample]


def weight_norms(values: np.ndarray) -> np.ndarray:
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


# --------------------------------------------------------------------------- the core


def scores_on_test_set(
    W, X, y, p_true=None, *, losses, bins: int = BINS, groups=ANALYSIS_GROUPS, platt=True,
    steps: int = 1, data_index=None,
) -> dict[str, np.ndarray]:
    """Test-set variables of weight rows ``W`` on their test sets.

    Parameters
    ----------
    W : float64 (rows, d)
        One weight vector per row (trajectories x checkpoints); rows that are not finite
        (diverged trajectories) get NaN.
    X, y, p_true : arrays (n, d), (n,), (n,) or None
        The test set and its known posterior; or stacks ``(D, n, d)``, ``(D, n)`` of
        ``D`` test sets of one shape, with ``data_index`` (rows,) naming each row's.
    losses : str array (rows,)
        Each row's training loss (its ``test_loss`` is measured in
        :func:`clean_loss_name` of it).
    bins : int
    groups : iterable of str
        Which of the ``test``, ``calibration`` and ``platt`` groups to compute.
    platt : bool or bool array (rows,)
        Rows to fit Platt scaling on (``platt_*`` NaN elsewhere).
    steps : int
        Rows per trajectory: rows ``k steps .. (k + 1) steps - 1`` are one trajectory's
        checkpoints in order, and each Platt fit starts from the fit of its trajectory's
        previous finite row (:func:`logsim.metric_kernels.score_weights`).

    Returns
    -------
    dict of variable name -> float64 (rows,)
    """
    W = np.asarray(W, dtype=np.float64)
    rows = W.shape[0]
    names = [n for n in _names_in(groups, posterior=p_true is not None) if n in _TEST_SCORE]
    out = {name: np.full(rows, np.nan) for name in names}
    if not names or X.shape[-2] == 0:
        return out
    ok = np.flatnonzero(np.all(np.isfinite(W), axis=1))
    if ok.size == 0:
        return out
    codes = _clean_loss_codes(np.asarray(losses)[ok])
    fit = np.broadcast_to(np.asarray(platt, dtype=bool), (rows,))[ok] & ("platt" in groups)
    trajectory = ok // steps
    chain = np.zeros(ok.size, dtype=bool)
    chain[1:] = trajectory[1:] == trajectory[:-1]
    scores = metric_kernels.score_weights(
        W[ok], X, y, loss_codes=codes, p_true=p_true,
        data_index=None if data_index is None else np.asarray(data_index)[ok], bins=bins,
        calibration="calibration" in groups, platt=fit, chain=chain)
    for name in names:
        out[name][ok] = scores[_TEST_SCORE[name]]
    return out


def _clean_loss_codes(losses: np.ndarray) -> np.ndarray:
    names, inverse = np.unique(losses, return_inverse=True)
    codes = np.array([LOSS_CODES[clean_loss_name(str(n))] for n in names], dtype=np.int64)
    return codes[inverse]


def references_of_training_set(X, targets, *, groups=ANALYSIS_GROUPS, where: str = "",
                               svm_cache: dict | None = None) -> dict:
    """Per training set and targets: entropy floor, separability and the max-margin
    references.

    ``X`` is ``(n, d)``, ``targets`` ``(n,)``. Returns a dict of the chosen groups'
    target-level variables (``entropy_floor``; ``separable``, ``w_hat``, ``svm_margin``,
    ``svm_max_violation``; ``svm_margin_l1``, ``w_hat_l1``, ``w_hat_l1_unique`` and the
    same for ``linf``), scalars or ``(d,)`` arrays. The L1 and L-infinity references are
    linear programmes (:func:`logsim.svm.max_margin_lp`), solved only where the L2 SVM
    found the labels separable (elsewhere NaN, and not unique). Every reference depends
    only on the hard labels ``sign(targets - 1/2)``, so target sets that differ only by
    smoothing share them: ``svm_cache`` (a dict, keyed by the labels' bytes) keeps the
    solutions of one ``X``. ``where`` names the training set in an error of a solver.
    """
    out: dict = {}
    if "entropy" in groups:
        out["entropy_floor"] = float(metrics.entropy_floor(targets))
    if "geometry" in groups:
        sign = np.sign(targets - 0.5)
        key = sign.tobytes()
        if svm_cache is None or key not in (svm_cache or {}):
            sol = _svm(X, sign, where)
            if sol is None:
                found = {"separable": False, "w_hat": np.full(X.shape[1], np.nan),
                         "svm_margin": np.nan, "svm_max_violation": np.nan}
            else:
                found = {"separable": True, "w_hat": sol[0], "svm_margin": sol[1],
                         "svm_max_violation": sol[2]}
            found.update(_lp_references(X, sign, None if sol is None else sol[0], where))
            if svm_cache is None:
                svm_cache = {}
            svm_cache[key] = found
        out.update(svm_cache[key])
    return out


def geometry_on_training_set(
    W, X, targets, *, losses, w_hat=None, svm_margin=np.nan, references=None,
    groups=ANALYSIS_GROUPS, data_index=None, target_index=None,
) -> dict[str, np.ndarray]:
    """Margin geometry of weight rows ``W`` on their training sets and targets.

    ``X`` is a training set ``(n, d)`` and ``targets`` ``(n,)``, with ``w_hat`` ``(d,)``
    and ``svm_margin`` the hard-margin SVM of their hard labels (None where they are not
    separable); or stacks ``(D, n, d)`` and ``(T, n)`` with ``w_hat`` ``(T, d)`` and
    ``svm_margin`` ``(T,)`` (NaN rows where not separable), and ``data_index`` /
    ``target_index`` (rows,) naming each row's. ``references`` holds the L1 and
    L-infinity references of :func:`references_of_training_set` (``svm_margin_l1``,
    ``w_hat_l1``, ``w_hat_l1_unique``, the same for ``linf``), one entry per target set in
    the same layout as ``w_hat`` and ``svm_margin`` (None: those gaps are NaN).
    ``losses`` gives each row's loss (the active fraction is below 1 only for
    :data:`MARGIN_LOSSES`). Rows that are not finite get NaN. Returns
    ``active_fraction``, ``normalized_margin`` and, where the SVM exists,
    ``direction_gap``, ``angle_gap``, ``margin_gap``, ``margin_gap_l1``,
    ``margin_gap_linf`` and, where moreover the L1 or L-infinity direction is unique,
    ``direction_gap_l1``, ``direction_gap_linf`` (NaN otherwise).

    The p-norm normalised margin is the L2 one rescaled, ``min_i s_i x_i.w / ||w||_p =
    normalized_margin ||w||_2 / ||w||_p``, so the margins are computed once per row; the
    p-norm direction gap is ``|| w/||w||_p - w_hat_p/||w_hat_p||_p ||_p``.
    """
    W = np.asarray(W, dtype=np.float64)
    rows = W.shape[0]
    if "geometry" not in groups:
        return {}
    names = ("active_fraction", "direction_gap", "angle_gap", "normalized_margin", "margin_gap",
             *(f"{k}_{p}" for p in _LP_NORMS for k in ("margin_gap", "direction_gap")))
    out = {k: np.full(rows, np.nan) for k in names}
    ok = np.flatnonzero(np.all(np.isfinite(W), axis=1))
    if X.shape[-2] == 0 or ok.size == 0:
        return out
    targets = np.atleast_2d(targets)
    tindex = np.zeros(rows, np.int64) if target_index is None else np.asarray(target_index)
    dindex = np.zeros(rows, np.int64) if data_index is None else np.asarray(data_index)
    sign = np.sign(targets - 0.5)
    hinge = np.isin(np.asarray(losses)[ok], MARGIN_LOSSES)
    margin, active = metric_kernels.margin_rows(
        W[ok], X, sign, 2.0 * targets - 1.0, hinge, data_index=dindex[ok],
        target_index=tindex[ok])
    out["active_fraction"][ok] = active
    out["normalized_margin"][ok] = margin  # NaN where a target is 1/2 (no hard label)
    if w_hat is None:
        return out
    refs = np.atleast_2d(w_hat)[tindex[ok]]
    has = np.all(np.isfinite(refs), axis=1)
    if not has.any():
        return out
    rows_ok, refs = ok[has], refs[has]
    # By blocks of about _BLOCK elements: every quantity is per row, and the
    # temporaries (unit rows, their differences, the LP gaps' rescaled rows) stay small
    # however many rows a chunk has (they were about ten times the chunk's weights).
    step = max(1, _BLOCK // max(W.shape[1], 1))
    for lo in range(0, rows_ok.size, step):
        block = rows_ok[lo:lo + step]
        unit = _unit(W[block])
        ref = _unit(refs[lo:lo + step])
        gap = np.linalg.norm(unit - ref, axis=-1)
        out["direction_gap"][block] = gap
        out["angle_gap"][block] = 2.0 * np.arctan2(gap, np.linalg.norm(unit + ref, axis=-1))
        if references is not None:
            _lp_gaps(out, W[block], block, tindex[block], references, len(sign))
    out["margin_gap"][rows_ok] = (np.broadcast_to(svm_margin, (len(sign),))[tindex[rows_ok]]
                                  - out["normalized_margin"][rows_ok])
    return out


#: The p-norms of the LP references, by variable suffix.
_LP_NORMS = {"l1": 1.0, "linf": np.inf}
#: The target-level variables of the LP references (:func:`geometry_on_training_set`'s
#: ``references``).
LP_REFERENCES = tuple(name for p in _LP_NORMS
                      for name in (f"svm_margin_{p}", f"w_hat_{p}", f"w_hat_{p}_unique"))


def _lp_gaps(out, W, rows, tindex, references, n_targets) -> None:
    """Fill ``margin_gap_{l1,linf}`` and ``direction_gap_{l1,linf}`` of ``rows``."""
    norm2 = np.linalg.norm(W, axis=-1)
    for p, order in _LP_NORMS.items():
        best = np.broadcast_to(np.asarray(references[f"svm_margin_{p}"], dtype=np.float64),
                               (n_targets,))[tindex]
        ref = np.atleast_2d(references[f"w_hat_{p}"])[tindex]
        unique = np.broadcast_to(np.asarray(references[f"w_hat_{p}_unique"], dtype=bool),
                                 (n_targets,))[tindex]
        norm = np.linalg.norm(W, ord=order, axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = out["normalized_margin"][rows] * norm2 / norm
            unit = W / norm[:, None]
            ref_unit = ref / np.linalg.norm(ref, ord=order, axis=-1, keepdims=True)
        out[f"margin_gap_{p}"][rows] = best - margin
        gap = np.linalg.norm(unit - ref_unit, ord=order, axis=-1)
        out[f"direction_gap_{p}"][rows] = np.where(unique, gap, np.nan)


def _unit(W: np.ndarray) -> np.ndarray:
    """Rows of ``W`` over their norms (:func:`logsim.metrics.direction_gap`'s rule): NaN
    rows where ``W = 0``."""
    norm = np.linalg.norm(W, axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norm > 0, W / np.where(norm > 0, norm, 1.0), np.nan)


def _lp_references(X: np.ndarray, s: np.ndarray, w_hat, where: str) -> dict:
    """The L1 and L-infinity references of hard labels ``s`` (NaN, not unique, where the
    L2 SVM ``w_hat`` is None: not separable), both LPs in one HiGHS call."""
    found: dict = {}
    sols = {}
    if w_hat is not None:
        try:
            sols = svm.max_margin_lps(X, s, start=w_hat)
        except svm.NotSeparableError:
            sols = {}  # separable to the L2 solver's tolerance, not to the LP's
        except Exception as exc:
            exc.add_note("while computing the L1 and L-infinity max-margin separators of "
                         f"the training set at {where}")
            raise
    for p, order in _LP_NORMS.items():
        sol = sols.get(order)
        found[f"svm_margin_{p}"] = np.nan if sol is None else sol.margin
        found[f"w_hat_{p}"] = np.full(X.shape[1], np.nan) if sol is None else sol.w
        found[f"w_hat_{p}_unique"] = False if sol is None else sol.unique
    return found


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


# --------------------------------------------------------------------------- public


def _stored_analysis(ds: xr.Dataset) -> dict:
    """The ``[analysis]`` table of the stored scenario text (empty without one)."""
    text = ds.attrs.get("scenario")
    if not text:
        return {}
    try:
        return dict(tomllib.loads(text).get("analysis", {}))
    except tomllib.TOMLDecodeError:
        return {}


def _test_variables(ds, grid: _Grid, W, losses, *, bins, groups, platt_at):
    import xarray as xr

    if "x_test" not in ds or "y_test" not in ds:
        return {}
    has_p = "p_test" in ds
    names = ["x_test", "y_test"] + (["p_test"] if has_p else [])
    outer = grid.outer(names, ("test_sample", "feature"))
    Wb = grid.split(W, outer, ("step", "feature"))  # (nO, nR, K, d)
    Lb = grid.split(xr.DataArray(losses, dims=grid.dims), outer, ())  # (nO, nR)
    nO, nR, K, _ = Wb.shape
    Xb = grid.data("x_test", outer, ("test_sample", "feature"))
    Yb = grid.data("y_test", outer, ("test_sample",))
    Pb = grid.data("p_test", outer, ("test_sample",)) if has_p else None
    platt = np.ones(K, dtype=bool) if platt_at == "all" else np.arange(K) == K - 1
    out: dict[str, np.ndarray] = {}
    for o in range(nO):
        feat, X, (y, pt) = trim_padding(Xb[o], Yb[o], None if Pb is None else Pb[o])
        rows = Wb[o][..., feat].reshape(nR * K, -1)
        got = scores_on_test_set(rows, X, y, pt, losses=np.repeat(Lb[o], K), bins=bins,
                                 groups=groups, platt=np.tile(platt, nR), steps=K)
        for name, values in got.items():
            out.setdefault(name, np.full((nO, nR * K), np.nan))[o] = values
    units = loss_units(set(np.unique(losses).tolist()))
    return {k: grid.merge(v.reshape(nO, nR, K), outer, ("step",), _attrs(k, bins, units))
            for k, v in out.items()}


def _entropy_floor(ds, grid: _Grid) -> xr.Variable:
    import xarray as xr

    outer = grid.outer(["targets"], ("sample",))
    Tb = grid.data("targets", outer, ("sample",))
    floor = np.array([metrics.entropy_floor(t[np.isfinite(t)]) for t in Tb])
    shape = [grid.sizes[d] for d in outer]
    return xr.Variable(tuple(outer), floor.reshape(shape), _attrs("entropy_floor"))


def _geometry_variables(ds, grid: _Grid, W, losses):
    import xarray as xr

    if "x_train" not in ds or "targets" not in ds:
        return {}
    groups = ("geometry",)
    outer = grid.outer(["x_train", "targets"], ("sample", "feature"))
    Wb = grid.split(W, outer, ("step", "feature"))  # (nO, nR, K, d)
    nO, nR, K, d = Wb.shape
    Lb = grid.split(xr.DataArray(losses, dims=grid.dims), outer, ())  # (nO, nR)
    Xb = grid.data("x_train", outer, ("sample", "feature"))
    Tb = grid.data("targets", outer, ("sample",))
    per_row: dict[str, np.ndarray] = {}
    per_set: dict[str, np.ndarray] = {}
    caches: dict[bytes, dict] = {}
    for o in range(nO):
        feat, X, (t,) = trim_padding(Xb[o], Tb[o])
        if len(t) == 0:
            continue
        stats = references_of_training_set(X, t, groups=groups, where=grid.label(outer, o),
                                           svm_cache=caches.setdefault(X.tobytes(), {}))
        for name, value in stats.items():
            if _ALL_VARIABLES[name].trailing == ("feature",):
                per_set.setdefault(name, np.full((nO, d), np.nan))[o, feat] = value
            else:
                boolean = _ALL_VARIABLES[name].dtype == "bool"
                per_set.setdefault(name, np.full(nO, False if boolean else np.nan,
                                                 dtype=bool if boolean else np.float64))[o] = value
        rows = Wb[o][..., feat].reshape(nR * K, -1)
        sep = stats.get("separable", False)
        got = geometry_on_training_set(rows, X, t, losses=np.repeat(Lb[o], K),
                                       w_hat=stats["w_hat"] if sep else None,
                                       svm_margin=stats.get("svm_margin", np.nan),
                                       references=stats, groups=groups)
        for name, values in got.items():
            per_row.setdefault(name, np.full((nO, nR * K), np.nan))[o] = values
    shape = [grid.sizes[d] for d in outer]
    new = {k: grid.merge(v.reshape(nO, nR, K), outer, ("step",), _attrs(k))
           for k, v in per_row.items()}
    for name, values in per_set.items():
        dims = (*outer, *_ALL_VARIABLES[name].trailing)
        new[name] = xr.Variable(dims, values.reshape(*shape, *values.shape[1:]), _attrs(name))
    return new


def _attrs(name: str, bins: int = BINS, units: str = "nat") -> dict[str, str]:
    return attributes(_ALL_VARIABLES[name], bins=bins, loss_units=units)


def analyse(
    ds: xr.Dataset, *, loss: str | None = None, bins: int | None = None, groups=None,
    platt_at: str | None = None,
) -> xr.Dataset:
    """Add calibration, entropy-floor and margin-geometry variables to a result dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        A logsim result (``logsim.run``, ``logsim.open_results``) or a
        :func:`logsim.simulate` dataset; see the module docstring for which arrays each
        variable needs. Not modified.
    loss : str, optional
        The loss of every cell, for a dataset without a ``loss`` coordinate that
        records it nowhere else (no ``loss`` attribute, no stored scenario). Ignored
        where ``loss`` is a coordinate.
    bins, groups, platt_at : optional
        As the scenario's ``[analysis]`` table (calibration bins; which of
        :data:`logsim.variables.ANALYSIS_GROUPS` to compute; Platt scaling at ``"all"``
        checkpoints or the ``"last"``). By default those of the stored scenario, else
        15 bins, every group, every checkpoint: so a stored result is reproduced.

    Returns
    -------
    xarray.Dataset
        A new dataset with the variables of :data:`VARIABLES` whose inputs exist
        (any already present are recomputed and replaced, so
        ``analyse(analyse(ds))`` equals ``analyse(ds)``). Per-row variables have
        dims ``(*grid axes, step)``; ``entropy_floor`` and the SVM variables have the
        grid axes of ``x_train`` and ``targets`` (``w_hat`` also ``feature``).
    """
    import xarray as xr

    stored = _stored_analysis(ds)
    bins = metrics._check_bins(stored.get("bins", BINS) if bins is None else bins)
    groups = tuple(stored.get("groups", ANALYSIS_GROUPS) if groups is None else groups)
    unknown = sorted(set(groups) - set(ANALYSIS_GROUPS))
    if unknown:
        raise ValueError(f"unknown analysis groups {unknown}; allowed: "
                         f"{', '.join(ANALYSIS_GROUPS)}")
    platt_at = stored.get("platt_at", "all") if platt_at is None else platt_at
    if platt_at not in ("all", "last"):
        raise ValueError(f"platt_at must be 'all' or 'last', got {platt_at!r}")
    dims = _grid_dims(ds)
    base = ds.drop_vars([name for name in VARIABLES if name in ds.variables])
    grid = _Grid(base, dims)
    W = base["weights"]
    new: dict[str, xr.Variable] = {
        "weight_norm": xr.Variable(W.dims[:-1], weight_norms(W.values), _attrs("weight_norm"))
    }
    if "targets" in base and "entropy" in groups:
        new["entropy_floor"] = _entropy_floor(base, grid)
    has_test = "x_test" in base and "y_test" in base
    has_training = "x_train" in base and "targets" in base
    if has_test or has_training or "entropy_floor" in new:
        losses = _loss_names(base, grid, loss)
        new.update(_test_variables(base, grid, W, losses, bins=bins, groups=groups,
                                   platt_at=platt_at))
        if "geometry" in groups:
            new.update(_geometry_variables(base, grid, W, losses))
        if "entropy_floor" in new and "train_loss" in base:
            floor = new["entropy_floor"]
            kl = base["train_loss"] - xr.DataArray(floor.values, dims=floor.dims)
            logistic = xr.DataArray(np.isin(losses, CROSS_ENTROPY_LOSSES), dims=grid.dims)
            kl = kl.where(logistic).transpose(*grid.dims, "step")
            new["train_kl_gap"] = xr.Variable(kl.dims, kl.values, _attrs("train_kl_gap"))
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
    import xarray as xr

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

    feat, X, (y,) = trim_padding(pick("x_test"), pick("y_test"))
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
