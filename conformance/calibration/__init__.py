"""Calibration: score small apps configured the way each framework's docs configure them.

Each directory under ``examples/calibration/`` holds one app and a ``calibration.yml`` recording
the verdict every check should reach on it, with the framework's documented behaviour behind it.
``python -m jobforge.conformance.calibration --runs 3`` scores each app with its bundled adapter
and compares; any mismatch means the kit (or the expectation) is wrong on that framework.
"""

from __future__ import annotations

from .compare import Row, compare
from .spec import CalibrationError, CalibrationSpec, Expected, discover, load_spec

__all__ = [
    "CalibrationError",
    "CalibrationSpec",
    "Expected",
    "Row",
    "compare",
    "discover",
    "load_spec",
]
