"""jobforge: scaffold production-grade background jobs and prove them on a 35-point rubric."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jobforge")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0"

__all__ = ["__version__"]
