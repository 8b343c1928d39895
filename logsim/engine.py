"""Validating wrappers around the trajectory kernel, and :func:`simulate`.

:func:`run_batch` is the one door to :func:`logsim.kernels.run_trajectories`:
it checks every argument, names what is wrong and what is allowed, broadcasts
per-trajectory parameters and calls the kernel. Sweeps (local or Dask) and
:func:`simulate` both go through it.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from logsim import kernels
from logsim.losses import CORRECTED_LOSSES, loss_code, loss_units
from logsim.rng import STREAM_BATCH, check_seed, stream_key
from logsim.schema import KEYS, METHODS, NORMALIZATIONS, RULES, SCHEDULES, Invalid


class DivergenceWarning(RuntimeWarning):
    """Some trajectories overflowed; their records from the divergence on are NaN."""


@dataclass(frozen=True)
class BatchResult:
    """Plain-array output of :func:`run_batch` (``R`` trajectories, ``K`` checkpoints)."""

    weights: np.ndarray  #: (R, K, d)
    train_loss: np.ndarray  #: (R, K)
    diverged: np.ndarray  #: (R,) bool
    checkpoints: np.ndarray  #: (K,) int64
    #: (R, K) natural log of ``train_loss``, computed without underflow (a mean loss of
    #: e^-5000 is -5000, not log 0); -inf where the mean loss is exactly 0 (hinge past the
    #: margin); NaN where a backward-corrected mean loss is <= 0, and after a divergence.
    log_train_loss: np.ndarray
    #: (R,) int64: the first step from which the weights never changed again (every entry
    #: exactly equal) until the last checkpoint; -1 where the last update still changed
    #: them or the trajectory diverged.
    frozen_at: np.ndarray


def log_checkpoints(steps: int, count: int) -> np.ndarray:
    """``count`` distinct integer steps from 0 to ``steps``, log-spaced after 0.

    Each next step is the geometric mean position between the previous one and
    ``steps`` for the points that remain, but at least one more than the
    previous; so the result always starts at 0, ends at ``steps`` and has
    exactly ``min(count, steps + 1)`` strictly increasing entries.
    """
    steps = _check_int("steps", steps, minimum=1)
    count = _check_int("checkpoints", count, minimum=2)
    count = min(count, steps + 1)
    out = [0]
    current = 0
    for remaining in range(count - 1, 0, -1):
        base = max(current, 1)
        nxt = round(base * (steps / base) ** (1.0 / remaining))
        nxt = min(max(nxt, current + 1), steps - (remaining - 1))
        out.append(nxt)
        current = nxt
    return np.asarray(out, dtype=np.int64)


def resolve_checkpoints(checkpoints, steps: int) -> np.ndarray:
    """Checkpoint steps from a count (log-spaced) or an explicit increasing list."""
    steps = _check_int("steps", steps, minimum=1)
    if isinstance(checkpoints, int | np.integer) and not isinstance(checkpoints, bool):
        return log_checkpoints(steps, int(checkpoints))
    arr = np.asarray(checkpoints)
    if arr.ndim != 1 or arr.size < 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"checkpoints must be an integer count >= 2 or a list of integer steps, "
            f"got {checkpoints!r}"
        )
    arr = arr.astype(np.int64)
    if np.any(np.diff(arr) <= 0) or arr[0] < 0 or arr[-1] > steps:
        raise ValueError(
            f"checkpoints {arr.tolist()} must be strictly increasing steps within [0, {steps}]"
        )
    return arr


def _check_int(name, value, *, minimum):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _per_trajectory(name, value, R, dtype):
    arr = np.asarray(value, dtype=object if dtype is str else dtype)
    if arr.ndim == 0:
        arr = np.full(R, arr.item(), dtype=arr.dtype)
    if arr.shape != (R,):
        raise ValueError(f"{name} must be a scalar or have one value per trajectory ({R}), "
                         f"got shape {arr.shape}")
    return arr


def _at(r: int, R: int) -> str:
    """Where a per-trajectory check failed, for messages (nothing for a single trajectory)."""
    return f"trajectory {r}" if R > 1 else ""


def _schema_check(name: str, value) -> None:
    """``value`` checked as :data:`logsim.schema.KEYS` declares key ``name``."""
    try:
        KEYS[name].check(value)
    except Invalid as bad:
        raise ValueError(f"{name} {bad.reason}, got {value!r}") from None


def run_batch(
    features,
    targets,
    *,
    data_index=0,
    loss="logistic",
    method="gd",
    learning_rate=0.5,
    steps: int,
    checkpoints=40,
    batch_size=None,
    normalize="gradient",
    rho_pos=0.0,
    rho_neg=0.0,
    batch_seed=0,
    w0=None,
    momentum=0.9,
    beta1=0.9,
    beta2=0.999,
    eps=1e-8,
    weight_decay=0.0,
    schedule="constant",
    schedule_scale=1.0,
) -> BatchResult:
    """Validate and run ``R`` trajectories, one per row of ``targets``.

    Parameters
    ----------
    features : array (D, n, d) or (n, d)
        Training sets (a single one is shared by every trajectory).
    targets : array (R, n) or (n,)
        Training targets in [0, 1] (hard, smoothed, noisy or soft).
    data_index : int or int array (R,)
        Which training set trajectory ``r`` uses.
    loss, method, normalize : str or per-trajectory arrays of str
        Loss name (:data:`logsim.losses.LOSS_CODES`), ``"gd"``, ``"sgd"`` or
        ``"normalized_gd"``, and for the latter ``"gradient"`` (step
        ``eta g/||g||``) or ``"loss"`` (step ``eta g/L``, Nacson et al. 2019).
    learning_rate : float or (R,)
        Step size ``eta > 0``.
    steps : int
        Number of updates; the last checkpoint is ``steps``.
    checkpoints : int or sequence of int
        A count of log-spaced checkpoints or explicit steps (see :func:`resolve_checkpoints`).
    batch_size : int or (R,), optional
        SGD batch size ``1 <= b <= n``; ignored for full-batch methods.
    rho_pos, rho_neg : float or (R,)
        Flip rates of the transition matrix the corrected losses use.
    batch_seed : int or (R,)
        Seed of each trajectory's mini-batch stream.
    w0 : array (d,) or (R, d), optional
        Initial weights (default 0).
    momentum, beta1, beta2, eps, weight_decay, schedule, schedule_scale : per trajectory
        The options of the optimisers ``"momentum"``, ``"nesterov"``, ``"adam"``,
        ``"sign_gd"`` and ``"coordinate_descent"``, the L2 penalty and the step-size
        schedule of every method: see :func:`optimizer_options`. With ``batch_size``
        given, the new optimisers take mini-batches as ``"sgd"`` does.
    """
    X = np.asarray(features, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[1] < 1 or X.shape[2] < 1:
        raise ValueError(f"features must have shape (n, d) or (D, n, d), got {np.shape(features)}")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"features contain {int(np.sum(~np.isfinite(X)))} non-finite values; "
                         "all features must be finite")
    D, n, d = X.shape
    Y = np.asarray(targets, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y[None]
    if Y.ndim != 2 or Y.shape[1] != n:
        raise ValueError(f"targets must have shape (R, {n}) to match features, got {Y.shape}")
    if not np.all(np.isfinite(Y)) or np.any((Y < 0) | (Y > 1)):
        raise ValueError("targets must be finite and within [0, 1]")
    R = Y.shape[0]
    steps = _check_int("steps", steps, minimum=1)
    ckpt = resolve_checkpoints(checkpoints, steps)

    index = _per_trajectory("data_index", data_index, R, np.int64)
    if np.any((index < 0) | (index >= D)):
        raise ValueError(f"data_index must lie in [0, {D - 1}] (one of {D} training sets)")

    losses = _per_trajectory("loss", loss, R, str)
    codes = np.array([loss_code(name) for name in losses], dtype=np.int64)
    methods = _per_trajectory("method", method, R, str)
    norms = _per_trajectory("normalize", normalize, R, str)
    method_codes = np.empty(R, dtype=np.int64)
    for r in range(R):
        m, norm = methods[r], norms[r]
        if m not in METHODS:
            raise ValueError(f"unknown method {m!r}; allowed: {', '.join(METHODS)}")
        if norm not in NORMALIZATIONS:
            raise ValueError(
                f"unknown normalize {norm!r}; allowed: {', '.join(NORMALIZATIONS)}"
            )
        RULES.normalize_by_positive_loss.check(_at(r, R), method=m, normalize=norm,
                                               loss=losses[r])
        method_codes[r] = {
            "gd": kernels.GD,
            "sgd": kernels.SGD,
            "normalized_gd": kernels.NGD_LOSS if norm == "loss" else kernels.NGD_GRADIENT,
        }.get(m, kernels.GD)  # the new optimisers' codes: optimizer_options below

    lr = _per_trajectory("learning_rate", learning_rate, R, np.float64)
    for value in np.unique(lr):  # a sweep has few distinct step sizes
        _schema_check("learning_rate", float(value))
    uses_sgd = method_codes == kernels.SGD
    bs = _per_trajectory("batch_size", batch_size, R, object)
    for r in np.flatnonzero(uses_sgd):
        RULES.sgd_needs_batch_size.check(_at(r, R), method="sgd", batch_size=bs[r])
        _schema_check("batch_size", bs[r])
        RULES.batch_size_at_most_n_train.check(_at(r, R), method="sgd", batch_size=bs[r],
                                               n_train=n)
    bs_given = bs
    bs = np.array([int(b) if u else n for b, u in zip(bs, uses_sgd, strict=True)], np.int64)

    rp = _per_trajectory("rho_pos", rho_pos, R, np.float64)
    rn = _per_trajectory("rho_neg", rho_neg, R, np.float64)
    for r in range(R):
        if losses[r] in CORRECTED_LOSSES:
            _schema_check("rho_pos", float(rp[r]))
            _schema_check("rho_neg", float(rn[r]))
            RULES.transition.check(_at(r, R), rho_pos=float(rp[r]), rho_neg=float(rn[r]))

    seeds = _per_trajectory("batch_seed", batch_seed, R, object)
    keys = np.array([stream_key(check_seed(s), STREAM_BATCH) for s in seeds], dtype=np.uint64)

    if w0 is None:
        W0 = np.zeros((R, d))
    else:
        W0 = np.asarray(w0, dtype=np.float64)
        if W0.ndim == 1:
            W0 = np.broadcast_to(W0, (R, W0.shape[0]))
        if W0.shape != (R, d) or not np.all(np.isfinite(W0)):
            raise ValueError(f"w0 must be finite with shape ({d},) or ({R}, {d}), got "
                             f"{np.shape(w0)}")
        W0 = np.ascontiguousarray(W0)

    options, extended = optimizer_options(
        R, methods, norms, momentum=momentum, beta1=beta1, beta2=beta2, eps=eps,
        weight_decay=weight_decay, schedule=schedule, schedule_scale=schedule_scale)
    by_loss = options[:, kernels.OPT_SCHEDULE] == SCHEDULE_CODES["inverse_loss"]
    for r in np.flatnonzero(by_loss):
        where = _at(r, R)
        RULES.inverse_loss_only_gd.check(where, method=methods[r], schedule="inverse_loss")
        RULES.inverse_loss_by_positive_loss.check(where, schedule="inverse_loss",
                                                  loss=losses[r])
        RULES.inverse_loss_without_weight_decay.check(
            where, schedule="inverse_loss",
            weight_decay=float(options[r, kernels.OPT_WEIGHT_DECAY]))
        # eta / L(w_t) on the full batch is normalized GD by the loss: its kernel path
        # (grouped, shifted at huge margins) and so its bits
        method_codes[r] = kernels.NGD_LOSS
        options[r, kernels.OPT_SCHEDULE] = SCHEDULE_CODES["constant"]
        extended[r] = False
    for r in np.flatnonzero(extended):
        # the new optimisers take mini-batches where a batch size is given; gd and
        # normalized_gd stay full batch as always (gd's mini-batch form is sgd)
        if methods[r] in _EXTENDED_CODES:
            method_codes[r] = _EXTENDED_CODES[methods[r]]
            bs[r] = 0 if bs_given[r] is None else _batch_size(bs_given[r], n)
        elif method_codes[r] != kernels.SGD:
            bs[r] = 0

    XT = np.ascontiguousarray(X.transpose(0, 2, 1))
    # the extended kernel's full-batch runs join groups like GD; its mini-batch runs, alone
    groups, solo = kernels.partition(index, method_codes, X.shape[2],
                                     alone=extended & (bs > 0))
    members = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    starts = np.cumsum([0] + [g.size for g in groups]).astype(np.int64)
    # One BLAS thread per kernel thread: the matrix products run inside prange, and
    # a single-threaded product's columns do not depend on their neighbours.
    use_blas = bool(groups) and kernels.blas_path(X.shape[2])
    with threadpool_limits(1, user_api="blas") if use_blas else nullcontext():
        weights, train_loss, log_train_loss, diverged, frozen_at = kernels.run_trajectories(
            np.ascontiguousarray(X), XT, np.ascontiguousarray(Y), index, codes, method_codes,
            lr, bs, rp, rn, keys, W0, ckpt, members, starts, solo, options, extended,
        )  # fmt: skip
    return BatchResult(weights, train_loss, diverged, ckpt, log_train_loss, frozen_at)


# --- optimiser options (issue 19) ---------------------------------------------------------

#: Kernel codes of the optimisers that only the extended kernel runs.
_EXTENDED_CODES = {"momentum": kernels.MOMENTUM, "nesterov": kernels.NESTEROV,
                   "adam": kernels.ADAM, "sign_gd": kernels.SIGN_GD,
                   "coordinate_descent": kernels.COORDINATE_DESCENT}


#: Kernel code of each step-size schedule: its position in :data:`logsim.schema.SCHEDULES`.
SCHEDULE_CODES = {name: code for code, name in enumerate(SCHEDULES)}


def _batch_size(b, n):
    _schema_check("batch_size", b)
    RULES.batch_size_at_most_n_train.check(method="sgd", batch_size=b, n_train=n)
    return int(b)


def _option(name, value, R):
    """A per-trajectory float option, each distinct value checked as the schema says."""
    try:
        arr = _per_trajectory(name, value, R, np.float64)
    except (TypeError, ValueError) as exc:
        if "one value per trajectory" in str(exc):
            raise
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    for v in np.unique(arr):
        _schema_check(name, float(v))
    return arr


def optimizer_options(R, methods, normalize, *, momentum=0.9, beta1=0.9, beta2=0.999,
                      eps=1e-8, weight_decay=0.0, schedule="constant", schedule_scale=1.0):
    """Validate the optimiser options and build the kernel's option table.

    Each option is a scalar or one value per trajectory, with the ranges of
    :data:`logsim.schema.KEYS`:

    * ``momentum`` in [0, 1): heavy ball and Nesterov, PyTorch's convention
      ``v <- mu v + g``; ``w <- w - eta_t v`` (momentum) or ``w <- w - eta_t (g + mu v)``
      (nesterov).
    * ``beta1``, ``beta2`` in [0, 1) and ``eps >= 0`` (0 allowed): Adam (Kingma & Ba 2015);
      an entry whose ``sqrt(v_hat) + eps`` is 0 does not move.
    * ``weight_decay >= 0``: an L2 penalty ``weight_decay ||w||^2 / 2`` whose gradient
      ``weight_decay w`` is added to ``g`` for every method; ``train_loss`` and
      ``log_train_loss`` do not include it. Not with normalize = "loss".
    * ``schedule`` in :data:`logsim.schema.SCHEDULES`: ``eta_t = eta`` (constant),
      ``eta / sqrt(1 + t / tau)`` (inverse_sqrt), ``eta / (1 + t / tau)`` (inverse), for
      update ``t = 0, 1, ...``, with ``tau = schedule_scale > 0``; ``eta / L(w_t)``
      (inverse_loss: the increasing step of Nacson et al., AISTATS 2019, and Ji &
      Telgarsky, ALT 2021, for method gd only; :func:`run_batch` runs it as normalized GD
      by the loss, the same update).

    Returns
    -------
    options : float64 (R, kernels.OPTION_COUNT)
    extended : bool (R,)
        Trajectories that need :func:`logsim.kernels._run_solo_extended`: a new optimiser,
        weight decay or a schedule other than constant.
    """
    table = np.zeros((R, kernels.OPTION_COUNT))
    table[:, kernels.OPT_MOMENTUM] = _option("momentum", momentum, R)
    table[:, kernels.OPT_BETA1] = _option("beta1", beta1, R)
    table[:, kernels.OPT_BETA2] = _option("beta2", beta2, R)
    table[:, kernels.OPT_EPS] = _option("eps", eps, R)
    table[:, kernels.OPT_WEIGHT_DECAY] = _option("weight_decay", weight_decay, R)
    names = _per_trajectory("schedule", schedule, R, str)
    for name in set(names.tolist()):
        _schema_check("schedule", name)
    table[:, kernels.OPT_SCHEDULE] = [SCHEDULE_CODES[name] for name in names]
    table[:, kernels.OPT_SCALE] = _option("schedule_scale", schedule_scale, R)
    for r in np.flatnonzero(table[:, kernels.OPT_WEIGHT_DECAY] > 0):
        RULES.weight_decay_not_by_loss.check(
            _at(r, R), method=methods[r], normalize=normalize[r],
            weight_decay=float(table[r, kernels.OPT_WEIGHT_DECAY]))
    extended = (np.isin(methods, list(_EXTENDED_CODES))
                | (table[:, kernels.OPT_WEIGHT_DECAY] > 0)
                | (table[:, kernels.OPT_SCHEDULE] != 0))
    return table, extended


def stack_training_sets(draws) -> tuple[np.ndarray, list[int]]:
    """The distinct training sets among ``draws`` (by identity), stacked, and each draw's index.

    Trajectories that share a draw share one copy of its features in the kernel.
    """
    index_of: dict[int, int] = {}
    distinct = []
    for draw in draws:
        if id(draw) not in index_of:
            index_of[id(draw)] = len(distinct)
            distinct.append(draw.x_train)
    return np.stack(distinct), [index_of[id(draw)] for draw in draws]


def warn_divergence(diverged, where: Sequence[str] | None = None, *,
                    total: int | None = None) -> None:
    """Warn (:class:`DivergenceWarning`) how many trajectories diverged, and which.

    ``diverged`` is a boolean array over the trajectories (``where`` labels each of
    them), or a count (``where`` then labels the first few that diverged, ``total`` is
    the number of trajectories).
    """
    if np.ndim(diverged) == 0:
        count = int(diverged)
        labels = list(where or [])[:5]
    else:
        count = int(np.sum(diverged))
        total = int(np.size(diverged))
        flat = np.flatnonzero(np.ravel(diverged))
        labels = ([f"trajectory {i}" for i in flat[:5]] if where is None
                  else [where[i] for i in flat[:5]])
    if count == 0:
        return
    more = "" if count <= len(labels) else f" and {count - len(labels)} more"
    warnings.warn(
        f"{count} of {total} trajectories diverged (overflow or NaN; often a step size too "
        f"large for the loss): {'; '.join(labels)}{more}. Their records after the "
        "divergence are NaN.",
        DivergenceWarning,
        stacklevel=3,
    )


def simulate(
    data="gaussian",
    *,
    loss: str = "logistic",
    method: str = "gd",
    learning_rate: float = 0.5,
    steps: int = 1000,
    checkpoints=40,
    batch_size: int | None = None,
    normalize: str = "gradient",
    trajectories: int = 8,
    seed: int = 0,
    noise_rate: float = 0.0,
    rho_pos: float | None = None,
    rho_neg: float | None = None,
    smoothing: float = 0.0,
    soft: bool = False,
    transition: tuple[float, float] | None = None,
    intercept: bool = False,
    w0=None,
    **data_options,
):
    """Run ``trajectories`` gradient-descent trajectories and return them as an ``xarray.Dataset``.

    Trajectory ``r`` is replicate seed ``seed + r``: its data draw (for a
    generator ``kind``), label flips and mini-batch order all come from that seed.

    Parameters
    ----------
    data : str, DataDraw or (x_train, y_train)
        A generator name of :mod:`logsim.data` (options in ``**data_options``),
        a :class:`logsim.data_draw.DataDraw`, or arrays (shared by all trajectories).
    loss, method, learning_rate, steps, checkpoints, batch_size, normalize, w0
        See :func:`run_batch`.
    noise_rate, rho_pos, rho_neg, smoothing, soft
        Label transform of the training labels (see :func:`logsim.labels.training_targets`).
    transition : (rho_pos, rho_neg), optional
        Flip rates the corrected losses ``forward``/``backward`` assume; by default
        the true rates of the label noise.

    Returns
    -------
    xarray.Dataset
        Dims ``trajectory``, ``step``, ``feature``; variables ``weights``,
        ``train_loss``, ``diverged``; coordinate ``step`` holds iteration numbers.
    """
    import xarray as xr

    from logsim import data as datamod
    from logsim.data_draw import DataDraw
    from logsim.data_files import load_arrays
    from logsim.labels import flip_rates, training_targets

    R = _check_int("trajectories", trajectories, minimum=1)
    seed = check_seed(seed)
    seeds = [seed + r for r in range(R)]
    if isinstance(data, str):
        draws = [datamod.make_data(data, seed=s, intercept=intercept, **data_options)
                 for s in seeds]
    else:
        if data_options:
            raise ValueError(f"data options {sorted(data_options)} only apply to a generator "
                             "name, not to given data")
        if isinstance(data, DataDraw):
            draw = data
        else:
            try:
                x_train, y_train = data
            except (TypeError, ValueError):
                raise ValueError("data must be a generator name, a DataDraw or a pair "
                                 "(x_train, y_train)") from None
            draw = load_arrays(x_train, y_train)
        draws = [draw] * R
    true_pos, true_neg = flip_rates(noise_rate, rho_pos, rho_neg)
    targets = np.stack([
        training_targets(draws[r], seeds[r], noise_rate=noise_rate, rho_pos=rho_pos,
                                 rho_neg=rho_neg, smoothing=smoothing, soft=soft)[0]
        for r in range(R)
    ])
    t_pos, t_neg = (true_pos, true_neg) if transition is None else transition
    features, data_index = stack_training_sets(draws)
    result = run_batch(
        features, targets, data_index=data_index, loss=loss,
        method=method, learning_rate=learning_rate, steps=steps, checkpoints=checkpoints,
        batch_size=batch_size, normalize=normalize, rho_pos=t_pos, rho_neg=t_neg,
        batch_seed=seeds, w0=w0,
    )  # fmt: skip
    warn_divergence(result.diverged)
    names = list(draws[0].feature_names)
    ds = xr.Dataset(
        {
            "weights": (("trajectory", "step", "feature"), result.weights,
                        {"long_name": "weight vector w_t", "units": "1"}),
            "train_loss": (("trajectory", "step"), result.train_loss,
                           {"long_name": f"mean training {loss} loss",
                            "units": loss_units([loss])}),
            "diverged": (("trajectory",), result.diverged,
                         {"long_name": "trajectory overflowed (records after it are NaN)",
                          "units": "1"}),
        },
        coords={
            "trajectory": ("trajectory", np.arange(R), {"long_name": "trajectory index"}),
            "seed": ("trajectory", np.asarray(seeds, dtype=np.int64),
                     {"long_name": "replicate seed"}),
            "step": ("step", result.checkpoints,
                     {"long_name": "gradient-descent iteration", "units": "1"}),
            "feature": ("feature", np.asarray(names, dtype=str), {"long_name": "feature"}),
        },
        attrs={
            "loss": loss, "method": method, "learning_rate": float(learning_rate),
            "noise_rho_pos": float(true_pos), "noise_rho_neg": float(true_neg),
            "smoothing": float(smoothing), "soft_targets": int(bool(soft)),
            "data_kind": draws[0].kind,
            "batch_size": -1 if batch_size is None else int(batch_size),
            "normalize": normalize,
            "transition_rho_pos": float(t_pos), "transition_rho_neg": float(t_neg),
        },
    )
    return ds
