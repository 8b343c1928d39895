"""The scenario schema: every key, its type, range, default and doc, and the rules across keys.

This module is the one place where the vocabulary of a scenario is written down.
Scenario validation (:mod:`logsim.scenario`), the option checks of the data generators
(:mod:`logsim.data`) and label transforms (:mod:`logsim.labels`),
:func:`logsim.engine.run_batch`'s messages, ``logsim schema`` and ``docs/scenarios.md``
all read it; none of them repeats a range, a list of allowed values or the text of a rule.

* :data:`KEYS` maps a key's name to its :class:`Key`. Names are unique across
  tables, so a grid key or a cell's parameter dict uses the bare name.
* :data:`TABLES` lists the tables in document order with a one-line doc each.
* :data:`DATA_KINDS` lists the ``[data] kind`` values; a data key's
  :attr:`Key.kinds` maps each kind it belongs to onto that kind's default.
* :data:`RULES` holds the rules that involve several keys (:class:`Rule`), each
  with its condition and its message, checked by validation per grid cell and by
  the engine and data layer where they apply.

Losses are read from :data:`logsim.losses.LOSS_CODES`, so a new loss appears here
(and in the documentation) without an edit. The optimiser vocabulary
(:data:`METHODS`, :data:`NORMALIZATIONS`) is declared here and imported by
:mod:`logsim.engine`, which maps the names onto kernel codes.

Regenerate the reference with ``logsim schema --markdown > docs/scenarios.md``.
"""

from __future__ import annotations

import abc
import difflib
import math
import numbers
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from logsim.losses import LOSS_CODES, POSITIVE_LOSSES

__all__ = [
    "ANALYSIS_GROUPS",
    "DATA_KINDS",
    "KEYS",
    "LOSSES",
    "METHODS",
    "NORMALIZATIONS",
    "REAL_DATA",
    "REQUIRED",
    "RULES",
    "SOFT_KINDS",
    "SWEEPABLE",
    "TABLES",
    "Check",
    "Invalid",
    "Key",
    "Rule",
    "kind_defaults",
    "kind_options",
    "reference",
    "suggest",
    "toml_str",
    "toml_value",
]

#: Optimisers by name; :func:`logsim.engine.run_batch` maps each onto a kernel code.
METHODS = ("gd", "sgd", "normalized_gd", "momentum", "nesterov", "adam", "sign_gd",
           "coordinate_descent")
#: Methods that take mini-batches where ``batch_size`` is set (``sgd`` requires it);
#: ``gd`` and ``normalized_gd`` always use every sample.
MINIBATCH_METHODS = ("sgd", "momentum", "nesterov", "adam", "sign_gd", "coordinate_descent")
#: Methods with a momentum coefficient ``mu``.
MOMENTUM_METHODS = ("momentum", "nesterov")
#: Step-size schedules, in the order of their kernel codes (:func:`logsim.kernels._step_size`);
#: ``inverse_loss`` never reaches that function: it is normalized GD by the loss
#: (:func:`logsim.engine.run_batch` maps it onto that kernel path).
SCHEDULES = ("constant", "inverse_sqrt", "inverse", "inverse_loss")
#: What ``method = "normalized_gd"`` divides the gradient step by.
NORMALIZATIONS = ("gradient", "loss")
#: Loss names, in the order of :data:`logsim.losses.LOSS_CODES`.
LOSSES = tuple(LOSS_CODES)
#: Groups of analysis variables ``[analysis] groups`` may select.
ANALYSIS_GROUPS = ("test", "calibration", "platt", "entropy", "geometry")


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


#: Default of a key that must be given.
REQUIRED = _Required()


# --------------------------------------------------------------------------- formatting


def toml_str(s: str) -> str:
    """``s`` as a TOML basic string (double quotes, escapes)."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def toml_value(v, limit: int = 8) -> str:
    """A value as it would be written in TOML (for messages and docs)."""
    if v is None:
        return "(unset)"
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, str):
        return toml_str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, list | tuple):
        items = [toml_value(x) for x in v[:limit]]
        if len(v) > limit:
            items.append(f"... ({len(v)} items)")
        return "[" + ", ".join(items) + "]"
    if isinstance(v, Mapping):
        return "{" + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + "}"
    return toml_str(str(v))


def python_value(v) -> str:
    """A value as Python would show it (for messages of Python functions)."""
    if isinstance(v, np.generic):
        v = v.item()
    return repr(v)


def type_name(v) -> str:
    """``"an integer"``, ``"a string"``... for messages that say what was given."""
    if isinstance(v, bool | np.bool_):
        return "a boolean"
    if isinstance(v, numbers.Integral):
        return "an integer"
    if isinstance(v, numbers.Real):
        return "a float"
    if isinstance(v, str):
        return "a string"
    if isinstance(v, list | tuple):
        return "an array"
    if isinstance(v, Mapping):
        return "a table"
    return f"a {type(v).__name__}"


def suggest(word: str, candidates) -> str:
    """``'did you mean "x"? '`` for a close candidate, else ``""``."""
    close = difflib.get_close_matches(str(word), [str(c) for c in candidates], n=1, cutoff=0.6)
    return f'did you mean "{close[0]}"? ' if close else ""


def _is_int(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool | np.bool_)


def _is_real(v) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool | np.bool_)


# --------------------------------------------------------------------------- checks


class Invalid(ValueError):
    """A value a :class:`Check` refuses.

    ``reason`` reads after the key's name (``"must be an integer >= 2"``);
    ``detail`` says what was given where the type was wrong (``" (got a float)"``).
    """

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason + detail)
        self.reason = reason
        self.detail = detail


class Check(abc.ABC):
    """Validates one value: returns it normalised, or raises :class:`Invalid`.

    ``allowed`` says in words what is accepted; ``type`` names the TOML type
    for the reference.
    """

    allowed = ""
    type = "value"

    @abc.abstractmethod
    def __call__(self, v):
        """The value normalised, or :class:`Invalid` naming what is allowed."""

    def for_kind(self, kind: str) -> Check:
        """The check as it applies to ``[data] kind = kind`` (most checks do not depend on it)."""
        return self

    def _wrong_type(self, v):
        raise Invalid(f"must be {self.allowed}", f" (got {type_name(v)})")

    def _out_of_range(self):
        raise Invalid(f"must be {self.allowed}")


class Int(Check):
    type = "integer"

    def __init__(self, lo: int | None = None, hi: int | None = None):
        self.lo, self.hi = lo, hi
        if hi is None:
            self.allowed = "an integer" + ("" if lo is None else f" >= {lo}")
        else:
            self.allowed = f"an integer in [{lo}, {hi}]"

    def __call__(self, v):
        if not _is_int(v):
            self._wrong_type(v)
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            self._out_of_range()
        return int(v)


class Float(Check):
    """A finite real number in an interval (integers are accepted and converted)."""

    type = "number"

    def __init__(self, lo: float, hi: float | None = None, *, lo_open=False, hi_open=False):
        self.lo, self.hi, self.lo_open, self.hi_open = lo, hi, lo_open, hi_open
        if hi is None:
            self.allowed = f"a finite number {'>' if lo_open else '>='} {lo:g}"
        else:
            left, right = "(" if lo_open else "[", ")" if hi_open else "]"
            self.allowed = f"a number in {left}{lo:g}, {hi:g}{right}"

    def __call__(self, v):
        if not _is_real(v):
            self._wrong_type(v)
        x = float(v)
        ok = math.isfinite(x) and (x > self.lo if self.lo_open else x >= self.lo)
        if ok and self.hi is not None:
            ok = x < self.hi if self.hi_open else x <= self.hi
        if not ok:
            self._out_of_range()
        return x


class Bool(Check):
    type = "boolean"
    allowed = "true or false"

    def __call__(self, v):
        if not isinstance(v, bool | np.bool_):
            self._wrong_type(v)
        return bool(v)


class Choice(Check):
    type = "string"

    def __init__(self, choices):
        self.choices = tuple(choices)
        self.allowed = "one of " + ", ".join(toml_str(c) for c in self.choices)

    def __call__(self, v):
        if not isinstance(v, str):
            self._wrong_type(v)
        if v not in self.choices:
            raise Invalid(f"must be {self.allowed}; {suggest(v, self.choices)}".rstrip("; "))
        return v


class Str(Check):
    type = "string"

    def __init__(self, allowed: str = "a string", pattern: str | None = None):
        self.pattern = None if pattern is None else re.compile(pattern)
        self.allowed = allowed

    def __call__(self, v):
        if not isinstance(v, str):
            self._wrong_type(v)
        if self.pattern is not None and not self.pattern.fullmatch(v):
            self._out_of_range()
        return v


class StrList(Check):
    type = "list of strings"
    allowed = "a list of strings"

    def __call__(self, v):
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            self._wrong_type(v)
        return tuple(v)


class Names(Check):
    """A non-empty list of distinct names from a fixed set (returned as a tuple)."""

    type = "list of strings"

    def __init__(self, names):
        self.names = tuple(names)
        self.allowed = (
            "a non-empty list of distinct names from " + ", ".join(toml_str(n) for n in names)
        )

    def __call__(self, v):
        if not isinstance(v, list | tuple) or not all(isinstance(x, str) for x in v):
            self._wrong_type(v)
        unknown = [x for x in v if x not in self.names]
        if unknown:
            hint = suggest(unknown[0], self.names)
            reason = f"must be {self.allowed}; unknown {toml_str(unknown[0])}: {hint}"
            raise Invalid(reason.rstrip(": "))
        if not v or len(set(v)) != len(v):
            self._out_of_range()
        return tuple(v)


class BoolOr(Check):
    """``true``, ``false`` or one of a few strings."""

    def __init__(self, *words: str, meaning: str = ""):
        self.words = words
        self.type = "boolean or string"
        self.allowed = "true, false or " + " or ".join(toml_str(w) for w in words) + meaning

    def __call__(self, v):
        if isinstance(v, bool | np.bool_):
            return bool(v)
        if isinstance(v, str) and v in self.words:
            return v
        if isinstance(v, str):
            self._out_of_range()
        self._wrong_type(v)


class Label(Check):
    """A label value: a string (string labels) or an integer (numeric labels)."""

    type = "string or integer"
    allowed = "a string or an integer, one of the two label values in the file"

    def __call__(self, v):
        if isinstance(v, str):
            return v
        if _is_int(v):
            return int(v)
        self._wrong_type(v)


class Features(Check):
    """``k`` (the first k features) or a non-empty list of distinct column indices."""

    type = "integer or list of integers"

    def __init__(self, n_features: int | None = None):
        self.n = n_features
        if n_features is None:
            self.allowed = (
                "an integer k >= 1 (the first k features) or a non-empty list of distinct "
                "feature indices >= 0"
            )
        else:
            self.allowed = (
                f"an integer k in [1, {n_features}] (the first k features) or a non-empty list "
                f"of distinct feature indices in [0, {n_features - 1}]"
            )

    def for_kind(self, kind: str) -> Check:
        return Features(REAL_DATA[kind].n_features) if kind in REAL_DATA else self

    def __call__(self, v):
        top = math.inf if self.n is None else self.n
        if _is_int(v):
            if not 1 <= v <= top:
                self._out_of_range()
            return int(v)
        if not isinstance(v, list | tuple | np.ndarray):
            self._wrong_type(v)
        items = list(v)
        bad = [i for i in items if not _is_int(i) or not 0 <= i < top]
        if not items or bad:
            detail = f" (invalid: {toml_value([python_value(b) for b in bad])})" if bad else ""
            raise Invalid(f"must be {self.allowed}", detail.replace('"', ""))
        if len(set(items)) != len(items):
            raise Invalid(f"must be {self.allowed}", " (repeated indices)")
        return tuple(int(i) for i in items)


class Sha256(Check):
    type = "string"
    allowed = "a SHA-256 hex digest (64 characters 0-9, a-f)"

    def __call__(self, v):
        if not isinstance(v, str):
            self._wrong_type(v)
        if not re.fullmatch(r"[0-9a-fA-F]{64}", v):
            self._out_of_range()
        return v.lower()


class Special(Check):
    """A key whose check depends on other keys; :mod:`logsim.scenario` applies it."""

    def __init__(self, type_: str, allowed: str):
        self.type = type_
        self.allowed = allowed

    def __call__(self, v):  # pragma: no cover - validated by the scenario loader
        return v


# --------------------------------------------------------------------------- data kinds


@dataclass(frozen=True)
class RealData:
    """Facts about a bundled real data set (checked against the data when it is loaded)."""

    n_samples: int
    n_features: int
    n_positive: int
    doc: str


#: Bundled real data sets (scikit-learn, no download).
REAL_DATA: Mapping[str, RealData] = {
    "breast_cancer": RealData(
        569, 30, 212,
        "Wisconsin diagnostic breast cancer (scikit-learn); 1 = malignant (212 of 569)",
    ),
    "iris": RealData(
        100, 4, 50,
        "Iris versicolor vs virginica (scikit-learn's iris without setosa); 1 = virginica "
        "(50 of 100), not linearly separable",
    ),
    "wine": RealData(
        130, 13, 59,
        "Wine cultivars 0 and 1 (scikit-learn's wine without cultivar 2); 1 = cultivar 0 "
        "(59 of 130)",
    ),
}  # fmt: skip

#: ``[data] kind`` values with a one-line doc each, in the reference's order.
DATA_KINDS: Mapping[str, str] = {
    "gaussian": "two Gaussian classes N(+-mu, I), known posterior (linear discriminant model)",
    "logistic_model": "x ~ N(0, I), y ~ Bernoulli(sigmoid(x . w*)): well-specified logistic "
    "regression, known posterior",
    "separable": "separable through the origin with a guaranteed margin along e_0",
    "soudry": "the 2-D toy of Soudry et al. (2018), Fig. 1, with a known max-margin direction",
    **{kind: facts.doc for kind, facts in REAL_DATA.items()},
    "file": "your own data: a .csv file (a header row, one sample per row) or a .npz file "
    "(arrays x_train, y_train, optionally x_test, y_test, feature_names)",
}
#: Kinds whose generator knows the true posterior P(y=1|x), needed for ``soft`` labels.
SOFT_KINDS = ("gaussian", "logistic_model")
_SYNTHETIC = ("gaussian", "logistic_model", "separable")
_REAL = tuple(REAL_DATA)


# --------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class Key:
    """One scenario key.

    ``kinds`` (data keys only) maps each ``[data] kind`` the key belongs to onto
    its default there; ``default`` is the default elsewhere (:data:`REQUIRED`
    when it must be given, ``None`` for "unset"). ``why_fixed`` says why a key
    cannot be swept under ``[grid]``.
    """

    name: str
    table: str
    check: Check
    doc: str
    default: Any = REQUIRED
    kinds: Mapping[str, Any] | None = None
    sweepable: bool = False
    why_fixed: str = ""

    def default_for(self, kind: str | None = None):
        """The default of this key (under ``kind`` for a data key)."""
        if self.kinds is not None and kind is not None:
            return self.kinds[kind]
        return self.default


def _each(kinds, default) -> dict[str, Any]:
    return dict.fromkeys(kinds, default)


_PER_TABLE_FIXED = "it sets the shape or the storage of the result, not a cell"

_KEYS = (
    # top level
    Key("name", "top", Str('a non-empty string of letters, digits, "-" and "_"', r"[A-Za-z0-9_-]+"),
        "the scenario's name; the default result file is results/NAME.nc"),
    Key("description", "top", Str(), "one line on what the scenario shows", ""),
    Key("references", "top", StrList(), "citations of the work the scenario tests", ()),
    # [data]
    Key("kind", "data", Choice(DATA_KINDS), "which data set or generator (see the kinds above)",
        why_fixed="each kind has its own options"),
    Key("intercept", "data", Bool(),
        "append a constant 1.0 feature (after any standardisation)",
        False, _each(DATA_KINDS, False), sweepable=True),
    Key("n_train", "data", Int(2), "training samples", None, _each(_SYNTHETIC, 200),
        sweepable=True),
    Key("n_test", "data", Int(0), "test samples, drawn from their own stream (0: no test set)",
        None, {**_each(_SYNTHETIC, 2000), "soudry": 200}, sweepable=True),
    Key("dim", "data", Int(1), "number of features", None, _each(_SYNTHETIC, 10),
        sweepable=True),
    Key("separation", "data", Float(0), "distance ||2 mu|| between the class means",
        None, {"gaussian": 2.0}, sweepable=True),
    Key("class_balance", "data", Float(0, 1, lo_open=True, hi_open=True), "P(y = 1)",
        None, {"gaussian": 0.5}, sweepable=True),
    Key("w_norm", "data", Float(0), "||w*|| of the true weights (0: pure-noise labels)",
        None, {"logistic_model": 2.0}, sweepable=True),
    Key("margin", "data", Float(0), "minimum distance of every point from the hyperplane",
        None, {"separable": 0.1}, sweepable=True),
    Key("n_random", "data", Int(0), "random points besides the 4 support vectors",
        None, {"soudry": 12}, sweepable=True),
    Key("asymmetric", "data", Bool(),
        "negative support vectors off the diagonal symmetry (gap x ln t tends to a constant)",
        None, {"soudry": False}, sweepable=True),
    Key("min_margin", "data", Float(1, lo_open=True),
        "smallest margin of a random point under the max-margin direction",
        None, {"soudry": 1.5}, sweepable=True),
    Key("train_fraction", "data", Float(0, 1, lo_open=True),
        "random (not stratified) split: the first round(f n) of a permutation train, the "
        "rest test; 0.7 unless test_fraction is set; not together with test_fraction",
        None, _each(_REAL, 0.7), sweepable=True),
    Key("test_fraction", "data", Float(0, 1, hi_open=True),
        "stratified held-out split of round(f n) samples drawn from the seed; unset: the "
        "file's own test set, if any; 0: no test set, samples in their original order",
        None, _each((*_REAL, "file"), None), sweepable=True),
    Key("standardize", "data", Bool(),
        "centre and scale every feature by the training part's mean and standard deviation "
        "(default true for bundled data, false for files: your features are used as given)",
        None, {**_each(_REAL, True), "file": False}, sweepable=True),
    Key("features", "data", Features(),
        "k (the first k features) or a list of column indices, in that order; default all "
        "(under [grid] only the integer form)",
        None, _each(_REAL, None), sweepable=True),
    Key("path", "data", Str("a path to an existing .npz or .csv file"),
        "the data file, relative to the scenario file's folder",
        None, {"file": REQUIRED}, why_fixed="a file is one data set"),
    Key("label", "data", Str("the name of the label column"),
        "the label column of a .csv file (required there; not for .npz)",
        None, {"file": None}, why_fixed="it names a column of one file"),
    Key("positive", "data", Label(),
        "the label value of the positive class (1) when labels are not 0/1 or -1/+1, "
        'e.g. "M"; the other value is 0',
        None, {"file": None}, why_fixed="it names a label value of one file"),
    Key("sha256", "data", Sha256(),
        "expected SHA-256 of the data file; loading fails if the file differs",
        None, {"file": None}, why_fixed="it pins one file"),
    # [labels]
    Key("noise_rate", "labels", Float(0, 0.5, hi_open=True),
        "symmetric label noise: each training label flips with this probability", 0.0,
        sweepable=True),
    Key("rho_pos", "labels", Float(0, 1, hi_open=True), "P(noisy 0 | clean 1)", 0.0,
        sweepable=True),
    Key("rho_neg", "labels", Float(0, 1, hi_open=True), "P(noisy 1 | clean 0)", 0.0,
        sweepable=True),
    Key("smoothing", "labels", Float(0, 1, hi_open=True),
        "label smoothing eps: targets y (1 - eps) + eps / 2", 0.0, sweepable=True),
    Key("soft", "labels", Bool(), "train on the true posterior P(y=1|x) instead of labels",
        False, sweepable=True),
    # [optimizer]
    Key("loss", "optimizer", Choice(LOSSES),
        "training loss; forward and backward are corrected for label noise", "logistic",
        sweepable=True),
    Key("transition", "optimizer", Choice(("true", "anchor")),
        "flip rates the corrected losses assume: the true ones, or anchor-point estimates",
        "true", sweepable=True),
    Key("method", "optimizer", Choice(METHODS),
        "gd (full batch), sgd (mini-batch), normalized_gd, momentum (heavy ball), nesterov, "
        "adam, sign_gd (w - eta sign g), coordinate_descent (greedy: the largest |g_j| "
        "moves by eta sign g_j)", "gd", sweepable=True),
    Key("learning_rate", "optimizer", Float(0, lo_open=True), "step size eta",
        sweepable=True),
    Key("steps", "optimizer", Int(1), "number of updates; the last checkpoint",
        why_fixed="it sets the step axis of the result"),
    Key("batch_size", "optimizer", Int(1),
        'mini-batch size (at most n_train): required for method = "sgd", optional for the '
        "momentum, nesterov, adam, sign_gd and coordinate_descent methods", None,
        sweepable=True),
    Key("normalize", "optimizer", Choice(NORMALIZATIONS),
        'method = "normalized_gd": divide the step by the gradient norm or by the loss',
        "gradient", sweepable=True),
    Key("momentum", "optimizer", Float(0, 1, hi_open=True),
        "momentum and nesterov: mu in v <- mu v + g (PyTorch's convention); w <- w - eta v "
        "(heavy ball) or w <- w - eta (g + mu v) (Nesterov)", 0.9, sweepable=True),
    Key("beta1", "optimizer", Float(0, 1, hi_open=True),
        "adam: decay of the first moment (Kingma and Ba 2015)", 0.9, sweepable=True),
    Key("beta2", "optimizer", Float(0, 1, hi_open=True),
        "adam: decay of the second moment", 0.999, sweepable=True),
    Key("eps", "optimizer", Float(0),
        "adam: stability constant of sqrt(v_hat) + eps; 0 allowed (scale-invariant Adam)",
        1e-8, sweepable=True),
    Key("weight_decay", "optimizer", Float(0),
        "L2 penalty lambda for every method: g + lambda w (train_loss excludes the penalty)",
        0.0, sweepable=True),
    Key("schedule", "optimizer", Choice(SCHEDULES),
        "step size eta_t: constant eta, inverse_sqrt eta / sqrt(1 + t / tau), inverse "
        "eta / (1 + t / tau), for update t = 0, 1, ...; inverse_loss eta / L(w_t), the "
        "increasing step of Nacson et al. 2019 and Ji and Telgarsky 2021 (gd only; the "
        'update of normalized_gd with normalize = "loss")', "constant", sweepable=True),
    Key("schedule_scale", "optimizer", Float(0, lo_open=True),
        "tau of the inverse_sqrt and inverse schedules", 1.0, sweepable=True),
    # [record]
    Key("checkpoints", "record",
        Special("integer or list of integers",
                "an integer n >= 2 (n log-spaced steps) or a strictly increasing list of "
                "integers in [0, steps] that contains 0 and steps"),
        "steps at which weights and losses are recorded (default 40, at most steps + 1)",
        40, why_fixed=_PER_TABLE_FIXED),
    Key("data", "record", Bool(), "store the training arrays in the result", True,
        why_fixed=_PER_TABLE_FIXED),
    Key("weights", "record",
        BoolOr("last", meaning=" (store the weights at every checkpoint, not at all, or at "
               "the last checkpoint only)"),
        "weights to store: every checkpoint (true), none (false) or the last one", True,
        why_fixed=_PER_TABLE_FIXED),
    # [analysis]
    Key("bins", "analysis", Int(1, 1000),
        "equal-width bins of every binned calibration variable", 15,
        why_fixed=_PER_TABLE_FIXED),
    Key("groups", "analysis", Names(ANALYSIS_GROUPS),
        "variables to compute: test (loss, accuracy, NLL, Brier, confidence, mean |logit|), "
        "calibration (ECE, MCE, top-label ECE, true calibration error), platt (Platt fits, "
        "ECE before and after), entropy (entropy floor, KL gap), geometry (SVM, "
        "separability, margins, direction gaps, active fraction)",
        ANALYSIS_GROUPS, why_fixed=_PER_TABLE_FIXED),
    Key("platt_at", "analysis", Choice(("all", "last")),
        "checkpoints at which Platt scaling is fitted", "all", why_fixed=_PER_TABLE_FIXED),
    # [grid]
    Key("seed", "grid",
        Special("integer or list of integers",
                "an integer n >= 1 (replicates 0..n-1) or a non-empty list of distinct "
                "integers >= 0"),
        "replicate seeds: data draws, label flips and batches come from the seed; always an "
        "axis (the last, unless placed)", 1, sweepable=True),
)  # fmt: skip

#: Every key by name (names are unique across tables).
KEYS: Mapping[str, Key] = {k.name: k for k in _KEYS}

#: Tables in document order, with a one-line doc each (``top`` is the top level).
TABLES: Mapping[str, str] = {
    "top": "the scenario's identity",
    "data": "the data set: kind and the options of that kind",
    "labels": "transforms of the training labels (test labels stay clean)",
    "optimizer": "loss and optimiser",
    "record": "what the result stores",
    "analysis": "which analysis variables are computed, and how",
    "grid": "the swept keys, each a dimension of the result in file order; any key marked "
    "sweepable, given as a list",
}
#: Keys that may be listed under ``[grid]`` (``seed`` included).
SWEEPABLE = tuple(k.name for k in _KEYS if k.sweepable)


def table_keys(table: str) -> tuple[str, ...]:
    """Names of the keys of ``table`` (``"grid"``: the ``seed`` key only)."""
    return tuple(k.name for k in _KEYS if k.table == table)


def kind_options(kind: str) -> tuple[str, ...]:
    """The ``[data]`` keys of ``kind`` besides ``kind``, in schema order."""
    return tuple(k.name for k in _KEYS if k.kinds is not None and kind in k.kinds)


def kind_defaults(kind: str) -> dict[str, Any]:
    """``{option: default}`` of the generator options of ``kind`` (``intercept`` excluded)."""
    return {
        name: KEYS[name].kinds[kind] for name in kind_options(kind) if name != "intercept"
    }


# --------------------------------------------------------------------------- rules


class _Quote:
    """``"{q[sgd]}".format(q=_Quote(fmt))``: a literal value in the caller's quoting style."""

    def __init__(self, fmt: Callable[[Any], str]):
        self.fmt = fmt

    def __getitem__(self, word: str) -> str:
        return self.fmt(word)


@dataclass(frozen=True)
class Rule:
    """A rule across keys: ``broken(**values)`` says whether ``values`` break it.

    ``reason`` is a :meth:`str.format` template: ``{q[word]}`` is a literal
    value quoted in the caller's style (TOML ``"word"`` in scenario messages,
    Python ``'word'`` in function messages) and ``{key}`` a key's value.
    """

    name: str
    keys: tuple[str, ...]
    broken: Callable[..., bool]
    reason: str
    doc: str

    def explain(self, values: Mapping[str, Any] | None = None, fmt=toml_value) -> str:
        """The reason, with literal values and ``values`` written by ``fmt``."""
        shown = {k: fmt(v) for k, v in (values or {}).items()}
        return self.reason.format(q=_Quote(fmt), **shown)

    def check(self, where: str = "", fmt=python_value, **values) -> None:
        """Raise ``ValueError`` (reason first, then the values) if ``values`` break the rule."""
        if self.broken(**values):
            got = ", ".join(f"{k} = {fmt(v)}" for k, v in values.items())
            prefix = f"{where}: " if where else ""
            raise ValueError(f"{prefix}{self.explain(values, fmt)} (got {got})")


def _q_list(words) -> str:
    return ", ".join(f"{{q[{w}]}}" for w in words)


_RULES = (
    Rule("transition", ("rho_pos", "rho_neg"),
         lambda rho_pos, rho_neg: rho_pos + rho_neg >= 1.0,
         "the noise transition matrix T is singular or label-inverting: rho_pos + rho_neg "
         "must be < 1 (det T = 1 - rho_pos - rho_neg)",
         "rho_pos + rho_neg < 1: the noise transition matrix must be invertible (labels and "
         "the flip rates the corrected losses assume)"),
    Rule("one_noise_model", ("noise_rate", "rho_pos", "rho_neg"),
         lambda noise_rate, rho_pos, rho_neg: bool(noise_rate) and bool(rho_pos or rho_neg),
         "give either a symmetric noise_rate or class-conditional rho_pos/rho_neg, not both: "
         "they cannot both be non-zero (allowed: noise_rate = 0, or rho_pos = rho_neg = 0)",
         "noise_rate (symmetric flips) and rho_pos/rho_neg (class-conditional) are not both "
         "non-zero"),
    Rule("soft_needs_posterior", ("kind", "soft"),
         lambda kind, soft: bool(soft) and kind not in SOFT_KINDS,
         "soft labels need a known posterior P(y=1|x); allowed: soft = false, or kind "
         + " or ".join(f"{{q[{k}]}}" for k in SOFT_KINDS),
         "soft = true only for kinds with a known posterior: " + ", ".join(SOFT_KINDS)),
    Rule("soft_not_flipped", ("soft", "noise_rate", "rho_pos", "rho_neg"),
         lambda soft, noise_rate, rho_pos, rho_neg: bool(soft)
         and bool(noise_rate or rho_pos or rho_neg),
         "soft targets (the true posterior) cannot be flipped: soft labels cannot be combined "
         "with label noise; allowed: soft = false, or noise_rate = rho_pos = rho_neg = 0",
         "soft = true only without label noise"),
    Rule("sgd_needs_batch_size", ("method", "batch_size"),
         lambda method, batch_size: method == "sgd" and batch_size is None,
         "method {q[sgd]} needs a batch_size, an integer in [1, n_train]",
         'method = "sgd" needs batch_size'),
    Rule("batch_size_only_sgd", ("method", "batch_size"),
         lambda method, batch_size: method not in MINIBATCH_METHODS and batch_size is not None,
         "batch_size is only allowed with a method that takes mini-batches ("
         + ", ".join(MINIBATCH_METHODS) + "); gd and normalized_gd use every sample; remove "
         "it or use method = {q[sgd]}",
         "batch_size only with a mini-batch method: " + ", ".join(MINIBATCH_METHODS)),
    Rule("batch_size_at_most_n_train", ("method", "batch_size", "n_train"),
         lambda method, batch_size, n_train: method in MINIBATCH_METHODS
         and batch_size is not None and batch_size > n_train,
         "batch_size must be an integer in [1, {n_train}] (<= n_train for method "
         "{q[sgd]} and the other mini-batch methods)",
         "batch_size <= n_train for the mini-batch methods"),
    Rule("momentum_only_with_momentum", ("method", "momentum"),
         lambda method, momentum: method not in MOMENTUM_METHODS and momentum is not None,
         "momentum is only allowed with method = {q[momentum]} or {q[nesterov]}",
         'momentum only with method = "momentum" or "nesterov"'),
    Rule("adam_options_only_with_adam", ("method",),
         lambda method: method != "adam",
         "beta1, beta2 and eps are only allowed with method = {q[adam]}",
         'beta1, beta2, eps only with method = "adam"'),
    Rule("weight_decay_not_by_loss", ("method", "normalize", "weight_decay"),
         lambda method, normalize, weight_decay: method == "normalized_gd"
         and normalize == "loss" and weight_decay > 0,
         "weight_decay > 0 does not go with normalize = {q[loss]} (the step would divide a "
         "penalised gradient by an unpenalised loss); use normalize = {q[gradient]} or "
         "weight_decay = 0",
         'weight_decay = 0 with normalize = "loss"'),
    Rule("normalize_only_normalized_gd", ("method", "normalize"),
         lambda method, normalize: method != "normalized_gd" and normalize is not None,
         "normalize is only allowed with method = {q[normalized_gd]}",
         'normalize only with method = "normalized_gd"'),
    Rule("normalize_by_positive_loss", ("method", "normalize", "loss"),
         lambda method, normalize, loss: method == "normalized_gd" and normalize == "loss"
         and loss not in POSITIVE_LOSSES,
         "normalize = {q[loss]} divides the step by the loss value, which can be zero or "
         f"negative for this loss; allowed losses: {', '.join(POSITIVE_LOSSES)}",
         'normalize = "loss" only with a loss that is positive everywhere: '
         + ", ".join(POSITIVE_LOSSES)),
    Rule("inverse_loss_only_gd", ("method", "schedule"),
         lambda method, schedule: schedule == "inverse_loss" and method != "gd",
         "schedule = {q[inverse_loss]} (eta / L(w_t), the increasing step of Nacson et al. "
         "2019 and Ji and Telgarsky 2021) is defined for full-batch gradient descent only, "
         "method = {q[gd]} (a step that does not shrink with the gradient, as sign, "
         "coordinate or Adam steps, would grow without bound); use method = {q[gd]} or "
         "another schedule",
         'schedule = "inverse_loss" only with method = "gd"'),
    Rule("inverse_loss_by_positive_loss", ("schedule", "loss"),
         lambda schedule, loss: schedule == "inverse_loss" and loss not in POSITIVE_LOSSES,
         "schedule = {q[inverse_loss]} divides the step by the loss value, which can be zero "
         f"or negative for this loss; allowed losses: {', '.join(POSITIVE_LOSSES)}",
         'schedule = "inverse_loss" only with a loss that is positive everywhere: '
         + ", ".join(POSITIVE_LOSSES)),
    Rule("inverse_loss_without_weight_decay", ("schedule", "weight_decay"),
         lambda schedule, weight_decay: schedule == "inverse_loss" and weight_decay > 0,
         "weight_decay > 0 does not go with schedule = {q[inverse_loss]} (the step would "
         "divide a penalised gradient by an unpenalised loss); use weight_decay = 0 or "
         "another schedule",
         'weight_decay = 0 with schedule = "inverse_loss"'),
    Rule("one_split", ("train_fraction", "test_fraction"),
         lambda train_fraction, test_fraction: train_fraction is not None
         and test_fraction is not None,
         "give either train_fraction (a random split) or test_fraction (a stratified split), "
         "not both",
         "train_fraction and test_fraction are not both set"),
)  # fmt: skip


class _Rules(dict):
    """``RULES.name`` or ``RULES["name"]``."""

    def __getattr__(self, name: str) -> Rule:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


#: The rules across keys by name, in checking order.
RULES: Mapping[str, Rule] = _Rules({r.name: r for r in _RULES})


# --------------------------------------------------------------------------- reference


def _default_text(key: Key, kind: str | None = None) -> str:
    d = key.default_for(kind)
    if d is REQUIRED:
        return "required"
    if key.name == "seed":
        return "1 (seed 0 only)"
    if key.name == "checkpoints":
        return "40 (at most steps + 1)"
    if d is None:
        return {
            "features": "all",
            "test_fraction": "unset",
            "label": "unset",
            "batch_size": "unset",
        }.get(key.name, "unset")
    if key.name == "train_fraction":
        return "0.7 (unless test_fraction is set)"
    return toml_value(list(d) if isinstance(d, tuple) else d)


def _kinds_text(key: Key) -> str:
    if key.kinds is None:
        return ""
    if set(key.kinds) == set(DATA_KINDS):
        return "all kinds"
    defaults = {kind: _default_text(key, kind) for kind in key.kinds}
    if len(set(defaults.values())) == 1:
        return ", ".join(key.kinds)
    return ", ".join(f"{kind} ({d})" for kind, d in defaults.items())


def _default_column(key: Key) -> str:
    if key.kinds is None:
        return _default_text(key)
    texts = {_default_text(key, kind) for kind in key.kinds}
    return texts.pop() if len(texts) == 1 else "per kind"


def _sweep_text(key: Key) -> str:
    return "yes" if key.sweepable else f"no: {key.why_fixed}" if key.why_fixed else "no"


def _escape(text: str) -> str:
    """Text for a Markdown table cell: ``|``, ``*``, ``~``, ``<`` taken literally."""
    for ch in "|*~<":
        text = text.replace(ch, "\\" + ch)
    return text


def _table_heading(table: str) -> str:
    return "Top level" if table == "top" else f"[{table}]"


def reference(table: str | None = None, *, markdown: bool = True) -> str:
    """The scenario reference, generated from :data:`KEYS`, :data:`DATA_KINDS` and :data:`RULES`.

    ``markdown=True`` gives ``docs/scenarios.md`` (whole) or one table's section;
    ``markdown=False`` a plain-text listing for the terminal.
    """
    tables = list(TABLES) if table is None else [table]
    if table is not None and table not in TABLES:
        raise ValueError(
            f"unknown table {table!r}; {suggest(table, TABLES)}allowed: {', '.join(TABLES)}"
        )
    out: list[str] = []
    if markdown and table is None:
        out += [
            "# Scenario reference",
            "",
            "<!-- Generated from logsim/schema.py by `logsim schema --markdown > "
            "docs/scenarios.md`; do not edit by hand (a test compares the two). -->",
            "",
            "A scenario is a TOML file that describes one sweep: the data, the label "
            "transforms, the optimiser, what to record and analyse, and the grid of values "
            "to sweep. `logsim run FILE` validates all of it before anything is computed; a "
            "bad key or value gets one message naming the file, the `[table] key`, the value "
            "and what is allowed. `logsim schema [TABLE]` prints this reference in the "
            "terminal.",
            "",
            "Every key below belongs to exactly one table. A key marked sweepable may instead "
            "be listed under `[grid]` with a list of values; each becomes a dimension of the "
            "result, in file order, and every cross-key rule is checked in every grid cell. "
            "Keys left out take their default; defaults are not written into the scenario "
            "text, so its SHA-256 is that of the file as written.",
            "",
        ]
    for name in tables:
        keys = [k for k in _KEYS if k.table == name]
        if markdown:
            out += [f"## {_table_heading(name)}", "", TABLES[name][0].upper() + TABLES[name][1:]
                    + ".", ""]
            if name == "data":
                out += ["| kind | what it is |", "|---|---|"]
                out += [f"| `{k}` | {_escape(doc)} |" for k, doc in DATA_KINDS.items()]
                out += [""]
            out += ["| key | type | default | allowed | kinds | sweepable | what it does |",
                    "|---|---|---|---|---|---|---|"]
            for k in keys:
                out.append(
                    f"| `{k.name}` | {k.check.type} | {_escape(_default_column(k))} | "
                    f"{_escape(k.check.allowed)} | {_escape(_kinds_text(k))} | "
                    f"{_escape(_sweep_text(k))} | {_escape(k.doc)} |"
                )
            out.append("")
        else:
            out += [f"{_table_heading(name)}: {TABLES[name]}"]
            if name == "data":
                out += [f"  kind = {toml_str(k):<18} {doc}" for k, doc in DATA_KINDS.items()]
            for k in keys:
                out.append(f"  {k.name} ({k.check.type}; default {_default_column(k)}; "
                           f"{'sweepable' if k.sweepable else 'not sweepable'})")
                out.append(f"      {k.doc}")
                out.append(f"      allowed: {k.check.allowed}")
                if k.kinds is not None:
                    out.append(f"      kinds: {_kinds_text(k)}")
            out.append("")
    if table is None:
        if markdown:
            out += ["## Rules across keys", "",
                    "Checked in every grid cell (and by the functions that take the same "
                    "arguments):", ""]
            out += [f"- {_escape(r.doc)}." for r in _RULES]
            out += [""]
        else:
            out += ["Rules across keys (checked in every grid cell):"]
            out += [f"  - {r.doc}" for r in _RULES]
            out += [""]
    return "\n".join(out).rstrip("\n") + "\n"
