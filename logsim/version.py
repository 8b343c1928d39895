"""logsim's version, from the installed package's metadata (one place for every module)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("logsim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"
