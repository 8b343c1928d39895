"""logsim: Numba-powered simulations of gradient descent on the logistic loss.

Entry points: :func:`simulate` (a batch of trajectories as an ``xarray.Dataset``),
:func:`run` (a scenario sweep), :func:`plan` (what a sweep will cost, before it runs),
:func:`open_results` (a stored, verified result),
:func:`analyse` (calibration, entropy floors and SVM geometry from stored weights).
"""

from logsim.analysis import analyse
from logsim.engine import DivergenceWarning, simulate
from logsim.estimate import ResourceError, plan
from logsim.scenario import ScenarioError, load_scenario
from logsim.store import ResultError, open_results
from logsim.sweep import InstabilityWarning, run
from logsim.version import __version__

__all__ = [
    "DivergenceWarning",
    "InstabilityWarning",
    "ResourceError",
    "ResultError",
    "ScenarioError",
    "__version__",
    "analyse",
    "load_scenario",
    "open_results",
    "plan",
    "run",
    "simulate",
]
