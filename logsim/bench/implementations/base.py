"""What an implementation of a workload is, and the pieces the baselines share.

Each implementation returns the weights and mean training loss at the checkpoints,
shapes ``(R, K, d)`` and ``(R, K)``, for a :class:`~logsim.bench.problem.Problem`.

The baselines compute the logistic error signal ``sigmoid(z) - y`` for a hard
target ``y`` as ``-s / (1 + exp(s z))`` with ``s = 2y - 1``: the same number
without the cancellation ``1/(1 + e^-z) - 1`` suffers for confident
predictions, so long runs agree with logsim's kernel to rounding (the
correctness gate of :mod:`logsim.bench.suite` asks for 1e-9).
"""

from __future__ import annotations

import abc
from collections.abc import Callable

import numpy as np

from logsim.bench.problem import Problem

Output = tuple[np.ndarray, np.ndarray]  # weights (R, K, d), train_loss (R, K)


class Implementation(abc.ABC):
    """Interface: :meth:`prepare` does untimed set-up and returns the function to time."""

    name = ""
    #: Seconds spent compiling in :meth:`prepare` (None when compilation happens on first call).
    compile_seconds: float | None = None

    def available(self) -> str | None:
        """None if usable here, else the reason it is not."""
        return None

    @abc.abstractmethod
    def prepare(self, problem: Problem) -> Callable[[], Output]:
        """Set up (and compile) for ``problem``; return the call to time."""


def hard_target_signs(problem: Problem) -> np.ndarray:
    """``s = 2 y - 1`` of the problem's targets; ValueError unless every target is 0 or 1."""
    Y = problem.targets
    if not np.all((Y == 0.0) | (Y == 1.0)):
        raise ValueError("the baselines take hard targets in {0, 1}")
    return 2.0 * Y - 1.0


def segments(checkpoints) -> list[int]:
    """Steps to run before each checkpoint: ``[c0, c1 - c0, ...]``."""
    return np.diff(np.concatenate([[0], checkpoints])).tolist()
