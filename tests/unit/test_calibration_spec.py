"""calibration.yml: every check has an expectation, and a run is compared check by check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from jobforge.conformance.calibration import CalibrationError, compare, load_spec
from jobforge.conformance.checks import registry
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.results import SCHEMA_VERSION, Implementation, RunResults


def _write(tmp_path: Path, expected: dict[str, object]) -> Path:
    (tmp_path / "calibration.yml").write_text(
        yaml.safe_dump(
            {
                "framework": "celery",
                "app": "m:app",
                "start": "celery -A m worker",
                "expected": expected,
            }
        )
    )
    return tmp_path


def _all(outcome: str) -> dict[str, object]:
    return {cid: {"outcome": outcome, "reason": "r", "documented": "d"} for cid in registry()}


def test_a_missing_expectation_is_named(tmp_path: Path) -> None:
    expected = _all("pass")
    expected.pop("scalability.sigkill_recovery")
    with pytest.raises(CalibrationError, match=r"no expectation for scalability\.sigkill_recovery"):
        load_spec(_write(tmp_path, expected))


def test_an_unknown_check_id_is_named(tmp_path: Path) -> None:
    expected = _all("pass") | {"nope.check": {"outcome": "pass", "reason": "r", "documented": "d"}}
    with pytest.raises(CalibrationError, match=r"unknown check ids nope\.check"):
        load_spec(_write(tmp_path, expected))


def test_not_run_is_no_expectation(tmp_path: Path) -> None:
    with pytest.raises(CalibrationError, match="outcome 'not_run'"):
        load_spec(_write(tmp_path, _all("not_run")))


def test_compare_marks_the_checks_that_differ(tmp_path: Path) -> None:
    spec = load_spec(_write(tmp_path, _all("unsupported")))
    outcomes = tuple(
        CheckOutcome(
            check_id=cid,
            outcome=Outcome.FAIL if cid == "scalability.sigkill_recovery" else Outcome.UNSUPPORTED,
            evidence=("lost",),
        )
        for cid in registry()
    )
    results = RunResults(
        schema_version=SCHEMA_VERSION,
        rubric_version="1",
        implementation=Implementation(name="x", version="1", backend="b"),
        profile="ci",
        started_at=datetime.now(UTC),
        duration_s=1.0,
        outcomes=outcomes,
    )
    wrong = [row for row in compare(spec, results) if not row.matches]
    assert [(r.check_id, r.expected, r.got, r.evidence) for r in wrong] == [
        ("scalability.sigkill_recovery", Outcome.UNSUPPORTED, Outcome.FAIL, ("lost",))
    ]
