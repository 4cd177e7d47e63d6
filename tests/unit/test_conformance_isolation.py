"""A fault in one check never changes the verdict of a later one.

After a check that injected a worker fault, the kit restores a known-good state (queues
emptied, workers restarted, a canary job that fails once and is retried completes). When the
restore fails, the later checks are inconclusive and name the earlier fault; they are never
failed for it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import pytest
from jobforge.conformance.adapter import RunContext, Timing
from jobforge.conformance.checks import registry
from jobforge.conformance.profiles import Profile
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.reference.records import Claim
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import Outcome

pytestmark = pytest.mark.unit

FAST = Profile(
    name="ci",
    timing=Timing(lease_s=0.5, backoff_base_s=0.05, backoff_cap_s=0.2, timeout_s=0.5),
)
KILLER = "idempotency.redelivery_after_crash"  # kills the one worker running its job
LATER = ("idempotency.duplicate_submit", "error_handling.max_attempts")
#: More later checks than the kit retries restores for: the last ones give up at once.
MANY_LATER = (*LATER, "error_handling.permanent_not_retried", "observability.health")


class LockInOneWorker(ReferenceAdapter):
    """A framework-side dispatch lock that lives in the worker that last claimed a job.

    Killing that worker leaves the lock held: no worker can claim anything until it is released
    ``release_after_s`` later (never, with None), as RQ's scheduler lock outlives a killed
    worker for a while.
    """

    def __init__(self, release_after_s: float | None) -> None:
        super().__init__()
        self.release_after_s = release_after_s
        self.holder: str | None = None
        self.lost_at: float | None = None
        self.guard = threading.Lock()

    def setup(self, ctx: RunContext) -> None:
        super().setup(ctx)
        claim = self.system.claim

        def locked_claim(worker_id: str) -> Claim | None:
            with self.guard:
                if self._held_by_the_dead():
                    return None
                found = claim(worker_id)
                if found is not None:
                    self.holder = worker_id
                return found

        self.system.claim = locked_claim  # type: ignore[method-assign]

    def _held_by_the_dead(self) -> bool:
        if self.lost_at is None:
            return False
        if (
            self.release_after_s is not None
            and time.monotonic() - self.lost_at >= self.release_after_s
        ):
            self.lost_at = None
            return False
        return True

    def kill_worker(self, worker: str) -> None:
        with self.guard:
            if worker == self.holder:
                self.lost_at = time.monotonic()
        super().kill_worker(worker)


def _run(adapter: ReferenceAdapter, check_ids: Sequence[str]) -> dict[str, tuple[Outcome, str]]:
    try:
        results = Runner(adapter, profile=FAST, checks=[registry()[c] for c in check_ids]).run()
    finally:
        adapter.teardown()
    return {
        o.check_id: (o.outcome, " | ".join(o.evidence))
        for o in results.outcomes
        if o.outcome is not Outcome.NOT_RUN
    }


def test_a_lock_lost_with_a_killed_worker_makes_later_checks_inconclusive_naming_the_kill() -> None:
    outcomes = _run(LockInOneWorker(release_after_s=None), (KILLER, *MANY_LATER))
    for check_id in MANY_LATER:
        outcome, evidence = outcomes[check_id]
        assert outcome is Outcome.INCONCLUSIVE, (check_id, evidence)
        assert "SIGKILL of worker" in evidence and KILLER in evidence, evidence
        assert "canary job failing once was" in evidence, evidence
    # Restores stop after a few tries: the last checks do not each wait out a canary.
    assert "no more tried" in outcomes[MANY_LATER[-1]][1]


def test_later_checks_are_unaffected_once_the_restore_outlasts_the_lock() -> None:
    outcomes = _run(LockInOneWorker(release_after_s=2.0), (KILLER, *LATER))
    assert all(outcomes[c][0] is Outcome.PASS for c in LATER), outcomes
