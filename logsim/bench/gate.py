"""The correctness gate: a baseline is timed only if it computed the reference's trajectories."""

from __future__ import annotations

import math

import numpy as np

#: Final weights must agree with the reference's elementwise to
#: ``|w - w_ref| <= ATOL + RTOL |w_ref|``.
RTOL = ATOL = 1e-9
#: The rule, as the JSON states it.
GATE = {"compared": "final weights (R, d)", "rtol": RTOL, "atol": ATOL,
        "rule": "|w - w_logsim| <= atol + rtol |w_logsim| elementwise"}


def gate(out, ref):
    """``(passed, max abs diff of final weights, max rel diff, max loss rel diff)``.

    ``out`` and ``ref`` are ``(weights (R, K, d), train_loss (R, K))``; the gate passes
    when the shapes match and every final weight is finite and within the tolerance.
    """
    W, L = (np.asarray(a) for a in out)
    Wr, Lr = ref
    if W.shape != Wr.shape or L.shape != Lr.shape:
        return False, math.inf, math.inf, math.inf
    final, final_ref = W[:, -1], Wr[:, -1]
    diff = np.abs(final - final_ref)
    passed = bool(np.all(np.isfinite(final)) and np.all(diff <= ATOL + RTOL * np.abs(final_ref)))
    rel = float(np.max(diff / np.maximum(np.abs(final_ref), 1e-300)))
    loss_rel = float(np.max(np.abs(L - Lr) / np.maximum(np.abs(Lr), 1e-300)))
    return passed, float(np.max(diff)), rel, loss_rel
