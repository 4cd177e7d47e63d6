"""``error_handling.alert`` waits briefly for an alert that follows its job's DEAD transition."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import pytest
from jobforge.conformance.adapter import JSONObject
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
    (only,) = Runner(adapter, checks=[check]).run().outcomes
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
