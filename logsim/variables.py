"""Every variable a sweep can store: its level, trailing dims, type, group and attributes.

One registry that the plan (which variables a scenario gets, their shapes and sizes),
the chunk (which arrays it must fill), the store (how each is written) and
:func:`logsim.analysis.analyse` (which variables it adds) all read, so names,
dims and attributes cannot drift between them.

Levels
------
``cell``
    One value per grid cell (trajectory): dims are the grid axes, then ``trailing``.
``target``
    One value per distinct training set and targets: dims are the grid axes that
    change the data draw or the training labels (``seed``, swept ``[data]`` and
    ``[labels]`` parameters), then ``trailing``.
``draw``
    One value per distinct data draw: dims are ``seed`` and the swept ``[data]``
    parameters, then ``trailing``.

Groups
------
``core`` variables are always stored; ``data`` ones when ``[record] data = true``;
the others are the ``[analysis] groups`` (``test``, ``calibration``, ``platt``,
``entropy``, ``geometry``) and are computed only when their group is chosen.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from logsim.schema import ANALYSIS_GROUPS

__all__ = ["ANALYSIS_GROUPS", "VARIABLES", "Variable", "attributes"]

_SEP = "; signs s = sign(targets - 1/2)"
_SVM = "NaN where the training labels are not linearly separable through the origin"


@dataclass(frozen=True)
class Variable:
    """How one stored variable is laid out.

    Attributes
    ----------
    name : str
    level : {"cell", "target", "draw"}
        Which grid axes it varies over (see the module docstring).
    trailing : tuple of str
        Dims after the grid axes: ``step``, ``feature``, ``sample``, ``test_sample``.
    dtype : str
        ``"f8"``, ``"i8"`` or ``"bool"``. Floats are NaN where a value does not exist
        (a diverged trajectory, padding of a narrower draw).
    group : str
        ``core``, ``data``, ``weights`` or an analysis group.
    needs : str
        ``""``, or what the scenario must have for the variable to exist: ``"posterior"``
        (a data kind with a known ``P(y=1|x)``), ``"w_star"`` (a generator with true
        weights), ``"corrected"`` (some cell uses a corrected loss).
    long_name, units, description : str
        CF attributes; ``{bins}`` and ``{loss_units}`` are filled in per scenario.
    """

    name: str
    level: str
    trailing: tuple[str, ...]
    dtype: str
    group: str
    long_name: str
    units: str
    description: str = ""
    needs: str = ""


def _v(name, level, trailing, dtype, group, long_name, units, description="", needs=""):
    return Variable(name, level, tuple(trailing), dtype, group, long_name, units, description,
                    needs)


_ECE = (
    "sum_m |B_m|/n |mean y - mean p| over non-empty bins (lo, hi] of p on [0, 1]; "
    "confidence p, outcome y (netcal/torchmetrics binary)"
)

_ALL = [
    # --- what the kernel records
    _v("weights", "cell", ("step", "feature"), "f8", "weights",
       "weight vector w_t at the checkpoint", "1"),
    _v("train_loss", "cell", ("step",), "f8", "core",
       "mean training loss (the loss being minimised)", "{loss_units}"),
    _v("log_train_loss", "cell", ("step",), "f8", "core",
       "natural log of the mean training loss, computed without underflow", "1",
       "log-sum-exp over the per-sample log losses where the mean is below 1e-290 (a loss of "
       "e^-5000 is -5000, not log 0); -inf where the mean loss is exactly 0 (hinge past the "
       "margin); NaN where a backward-corrected mean is <= 0, and after a divergence"),
    _v("frozen_at", "cell", (), "f8", "core",
       "first step from which the weights never changed again (update exactly zero)", "1",
       "NaN where the last update still changed them (or the trajectory diverged); a "
       "frozen trajectory is one whose update underflowed (exponentials of huge margins) "
       "or reached a flat region (hinge past the margin)"),
    _v("diverged", "cell", (), "bool", "core",
       "trajectory overflowed (records after it are NaN)", "1"),
    _v("unstable", "cell", (), "bool", "core",
       "trajectory unstable: its training loss ended more than UNSTABLE_FACTOR times above "
       "its start, or stopped being finite", "1",
       "train_loss[last] > 10 * train_loss[0] (the factor is logsim.chunk.UNSTABLE_FACTOR), "
       "or diverged; often a step size too large for the loss"),
    _v("transition_rho_pos", "cell", (), "f8", "core",
       "rho_pos = P(noisy 0 | clean 1) assumed by the loss correction", "1", needs="corrected"),
    _v("transition_rho_neg", "cell", (), "f8", "core",
       "rho_neg = P(noisy 1 | clean 0) assumed by the loss correction", "1", needs="corrected"),
    # --- the data (``[record] data = true``)
    _v("x_train", "draw", ("sample", "feature"), "f8", "data", "training features", "1"),
    _v("clean_labels", "draw", ("sample",), "f8", "data",
       "clean training labels (1 = positive class)", "1"),
    _v("x_test", "draw", ("test_sample", "feature"), "f8", "data", "test features", "1"),
    _v("y_test", "draw", ("test_sample",), "f8", "data", "clean test labels", "1"),
    _v("p_train", "draw", ("sample",), "f8", "data",
       "true posterior P(y=1|x), training set", "1", needs="posterior"),
    _v("p_test", "draw", ("test_sample",), "f8", "data",
       "true posterior P(y=1|x), test set", "1", needs="posterior"),
    _v("w_star", "draw", ("feature",), "f8", "data", "generator's true weights", "1",
       needs="w_star"),
    _v("targets", "target", ("sample",), "f8", "data",
       "training targets after label noise and smoothing", "1"),
    # --- always measured
    _v("weight_norm", "cell", ("step",), "f8", "core",
       "Euclidean norm ||w_t|| of the weight vector", "1"),
    # --- [analysis] group "test"
    _v("test_loss", "cell", ("step",), "f8", "test",
       "mean loss on the clean test labels (cross-entropy for the corrected losses)",
       "{loss_units}"),
    _v("test_accuracy", "cell", ("step",), "f8", "test",
       "accuracy of sign(w.x) on the clean test set", "1"),
    _v("test_nll", "cell", ("step",), "f8", "test",
       "mean cross-entropy of sigmoid(w.x) on the clean test labels", "nat",
       "-mean[y ln p + (1-y) ln(1-p)], p = sigmoid(z), computed from logits"),
    _v("test_brier", "cell", ("step",), "f8", "test",
       "Brier score mean (p - y)^2 of p = sigmoid(w.x) on the clean test set", "1"),
    _v("test_mean_confidence", "cell", ("step",), "f8", "test",
       "mean top-label confidence max(p, 1-p) on the test set", "1"),
    _v("test_mean_abs_logit", "cell", ("step",), "f8", "test",
       "mean |w.x| on the test set", "1"),
    # --- [analysis] group "calibration"
    _v("test_ece", "cell", ("step",), "f8", "calibration",
       "expected calibration error of sigmoid(w.x), positive class, {bins} equal-width bins",
       "1", _ECE),
    _v("test_ece_top_label", "cell", ("step",), "f8", "calibration",
       "expected calibration error of sigmoid(w.x), top label, {bins} equal-width bins", "1",
       "confidence max(p, 1-p), outcome [prediction (p >= 1/2) correct], "
       "bins (lo, hi] on [0, 1] (Guo et al. 2017)"),
    _v("test_mce", "cell", ("step",), "f8", "calibration",
       "maximum calibration error of sigmoid(w.x), positive class, {bins} equal-width bins",
       "1", "max over non-empty bins of |mean y - mean p|"),
    _v("test_true_calibration_error", "cell", ("step",), "f8", "calibration",
       "true calibration error mean |sigmoid(w.x) - P(y=1|x)| on the test set", "1",
       "uses the generator's stored posterior p_test; no binning, so no binning bias "
       "(binned ECE is positive even where this is 0); equals the canonical calibration "
       "error only where p_true is a function of p (one feature), otherwise it also counts "
       "direction error", needs="posterior"),
    # --- [analysis] group "platt"
    _v("platt_slope", "cell", ("step",), "f8", "platt",
       "Platt scaling slope a of sigmoid(a z + b), fitted on the first half of the test set",
       "1"),
    _v("platt_intercept", "cell", ("step",), "f8", "platt",
       "Platt scaling intercept b of sigmoid(a z + b), fitted on the first half of the "
       "test set", "1"),
    _v("test_ece_platt", "cell", ("step",), "f8", "platt",
       "ECE of Platt-scaled sigmoid(a w.x + b) on the second half of the test set, "
       "positive class, {bins} equal-width bins", "1",
       "a, b fitted on test_sample[:n//2] (Platt 1999 targets), evaluated on "
       "test_sample[n//2:]; no training data used"),
    _v("test_ece_unscaled", "cell", ("step",), "f8", "platt",
       "ECE of unscaled sigmoid(w.x) on the second half of the test set, positive class, "
       "{bins} equal-width bins", "1",
       "the same points as test_ece_platt (test_sample[n//2:]), for a fair comparison"),
    # --- [analysis] group "entropy"
    _v("entropy_floor", "target", (), "f8", "entropy",
       "entropy floor mean H(y) of the training targets", "nat",
       "no predictor has a lower mean cross-entropy against these targets: "
       "CE(y, p) = H(y) + KL(y || p)"),
    _v("train_kl_gap", "cell", ("step",), "f8", "entropy",
       "train_loss - entropy_floor = mean KL(y || sigmoid(w.x)) on the training targets",
       "nat",
       "the part of the cross-entropy the model can still remove; only for loss = logistic "
       "(NaN for losses whose train_loss is not the cross-entropy of the targets)"),
    # --- [analysis] group "geometry"
    _v("active_fraction", "cell", ("step",), "f8", "geometry",
       "fraction of training points with a non-zero loss gradient", "1",
       "hinge/squared hinge: mean[s != 0 and 1 - s z > 0], s = 2 y - 1 on the training "
       "targets; 1 for every other loss (cross-entropy and exponential never stop: their "
       "derivative has no flat region)"),
    _v("separable", "target", (), "bool", "geometry",
       "training labels linearly separable through the origin", "1",
       "hard-margin SVM (no intercept) exists" + _SEP),
    _v("w_hat", "target", ("feature",), "f8", "geometry",
       "homogeneous hard-margin SVM weights w_hat of the training labels", "1",
       "argmin ||w|| s.t. s_i x_i.w >= 1 (logsim.svm)" + _SEP + "; " + _SVM),
    _v("svm_margin", "target", (), "f8", "geometry",
       "geometric margin 1/||w_hat|| of the hard-margin SVM", "1", _SVM),
    _v("svm_max_violation", "target", (), "f8", "geometry",
       "largest violation max(0, 1 - s_i x_i.w_hat) of the SVM constraints "
       "(solver diagnostic)", "1", _SVM),
    _v("direction_gap", "cell", ("step",), "f8", "geometry",
       "direction gap || w/||w|| - w_hat/||w_hat|| ||", "1",
       "in [0, 2]; " + _SVM + " and where w = 0"),
    _v("angle_gap", "cell", ("step",), "f8", "geometry",
       "angle between w and w_hat", "rad",
       "in [0, pi], equals 2 arcsin(direction_gap / 2); " + _SVM),
    _v("normalized_margin", "cell", ("step",), "f8", "geometry",
       "normalised margin min_i s_i x_i.w / ||w|| on the training set", "1",
       "signs s = sign(targets - 1/2); defined for every cell (negative while a training "
       "point is misclassified); NaN where w = 0"),
    _v("margin_gap", "cell", ("step",), "f8", "geometry",
       "svm_margin - normalized_margin", "1", ">= 0; " + _SVM),
    # --- the max-margin references in L1 and L-infinity (linear programmes, logsim.svm)
    *(v for p, name in (("l1", "L1"), ("linf", "L-infinity")) for v in (
        _v(f"svm_margin_{p}", "target", (), "f8", "geometry",
           f"max margin in the {name} norm: max over ||w||_{p[1:]} <= 1 of min_i s_i x_i.w", "1",
           "a linear programme solved by HiGHS (logsim.svm.max_margin_lp), certified by its "
           "duality gap" + _SEP + "; " + _SVM),
        _v(f"w_hat_{p}", "target", ("feature",), "f8", "geometry",
           f"one {name} max-margin separator: argmin ||w||_{p[1:]} s.t. s_i x_i.w >= 1", "1",
           f"||w_hat_{p}||_{p[1:]} = 1 / svm_margin_{p}; one vertex of the optimal set, which "
           f"need not be a single point (w_hat_{p}_unique)" + _SEP + "; " + _SVM),
        _v(f"w_hat_{p}_unique", "target", (), "bool", "geometry",
           f"the {name} max-margin direction is unique", "1",
           "certified by the LP's multipliers, or the optimal face measured by LPs that "
           "maximise and minimise each coordinate (extent <= 1e-7 of the unit-norm "
           "direction); false where the labels are not separable"),
        _v(f"margin_gap_{p}", "cell", ("step",), "f8", "geometry",
           f"svm_margin_{p} - min_i s_i x_i.w / ||w||_{p[1:]}", "1",
           f">= 0: the {name} normalised margin's distance to its optimum; " + _SVM
           + " and where w = 0"),
        _v(f"direction_gap_{p}", "cell", ("step",), "f8", "geometry",
           f"direction gap || w/||w||_{p[1:]} - w_hat_{p}/||w_hat_{p}||_{p[1:]} ||_{p[1:]}", "1",
           f"in [0, 2], in the {name} norm; NaN where the direction is not unique "
           f"(w_hat_{p}_unique false), " + _SVM + " and where w = 0"),
    )),
]

#: Every variable by name, in the order a result lists them.
VARIABLES: MappingProxyType[str, Variable] = MappingProxyType({v.name: v for v in _ALL})


def attributes(var: Variable, *, bins: int = 15, loss_units: str = "nat") -> dict[str, str]:
    """CF attributes of ``var`` for a scenario with ``bins`` calibration bins."""
    attrs = {"long_name": var.long_name.format(bins=bins),
             "units": var.units.format(loss_units=loss_units)}
    if var.description:
        attrs["description"] = var.description
    return attrs


def numpy_dtype(var: Variable) -> np.dtype:
    """The in-memory dtype of ``var``."""
    return np.dtype(bool) if var.dtype == "bool" else np.dtype(var.dtype)
