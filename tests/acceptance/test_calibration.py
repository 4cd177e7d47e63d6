"""Every calibration app, scored once with its bundled adapter, gets the verdicts it records.

The apps under examples/calibration/ are configured the way each framework's docs configure them;
their calibration.yml says which verdict each check must reach and why. A mismatch means a check
is not true on that framework's own terms (or the expectation is wrong). The stability command
(README) repeats this three times.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from jobforge.conformance.calibration import discover, load_spec
from jobforge.conformance.calibration.__main__ import render, score
from services_support import require_service

ROOT = Path(__file__).resolve().parents[2] / "examples" / "calibration"
DIRS = discover(ROOT)


def test_calibration_apps_exist() -> None:
    assert DIRS, f"no calibration.yml under {ROOT}"


@pytest.mark.parametrize("directory", DIRS, ids=[d.name for d in DIRS])
def test_calibration_app_gets_every_expected_verdict(directory: Path) -> None:
    require_service("redis")
    spec = load_spec(directory)
    rows, duration_s = score(spec)
    wrong = [row for row in rows if not row.matches]
    assert not wrong, render(spec, rows, 1, duration_s)
