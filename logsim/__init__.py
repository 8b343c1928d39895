"""logsim: Numba-powered simulations of gradient descent on the logistic loss."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("logsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

from logsim.engine import DivergenceWarning, simulate

__all__ = ["DivergenceWarning", "__version__", "simulate"]
