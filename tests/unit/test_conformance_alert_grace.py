"""``error_handling.alert`` waits briefly for an alert that follows its job's DEAD transition."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator, Sequence

import pytest
from jobforge.conformance.adapter import JobInfo, JobStatus, JSONObject
from jobforge.conformance.checks import registry
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import Outcome

pytestmark = pytest.mark.unit


class LateAlerts(ReferenceAdapter):
    """Alerts become visible only ``delay_s`` after the kit first asks (``None``: never)."""

    def __init__(self, delay_s: float | None) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.first_asked: float | None = None

    def alerts(self) -> Sequence[JSONObject]:
        now = time.monotonic()
        if self.first_asked is None:
            self.first_asked = now
        if self.delay_s is None or now - self.first_asked < self.delay_s:
            return []
        return super().alerts()


def _alert_outcome(adapter: ReferenceAdapter) -> tuple[Outcome, tuple[str, ...]]:
    check = registry()["error_handling.alert"]
    outcomes = Runner(adapter, checks=[check]).run().outcomes
    (only,) = [o for o in outcomes if o.check_id == check.check_id]
    return only.outcome, only.evidence


@pytest.fixture(params=[0.5, None], ids=["late", "never"])
def adapter(request: pytest.FixtureRequest) -> Iterator[LateAlerts]:
    ref = LateAlerts(request.param)
    yield ref
    ref.teardown()


def test_a_late_alert_counts_and_a_missing_one_fails(adapter: LateAlerts) -> None:
    outcome, evidence = _alert_outcome(adapter)
    if adapter.delay_s is not None:
        assert outcome is Outcome.PASS, evidence
    else:
        assert outcome is Outcome.FAIL, evidence
        assert "went DEAD but no alert names it" in evidence[0]


class NeverDead(ReferenceAdapter):
    """Reports exhausted jobs as still RETRYING and fires no alert (retries without end)."""

    def inspect(self, job_id: str) -> JobInfo:
        info = super().inspect(job_id)
        if info.status is JobStatus.DEAD:
            return dataclasses.replace(info, status=JobStatus.RETRYING)
        return info

    def alerts(self) -> Sequence[JSONObject]:
        return []


def test_evidence_never_says_a_job_went_dead_when_it_did_not() -> None:
    adapter = NeverDead()
    try:
        outcome, evidence = _alert_outcome(adapter)
    finally:
        adapter.teardown()
    assert outcome is Outcome.FAIL
    assert evidence and not any("no alert names it" in line for line in evidence), evidence
    assert len(evidence) == 1, evidence
    assert "no job went DEAD by the drain deadline" in evidence[0], evidence
    assert "RETRYING" in evidence[0], evidence
