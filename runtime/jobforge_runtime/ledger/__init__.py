"""The job ledger: one record per job in the backend's own store, behind small protocols.

The hot path is :class:`JobStore` (create, claim, renew, settle, get): one transaction each.
``create`` and ``settle`` take a ``then`` callable run inside the store's transaction, so a store
that shares the broker's database (SQLite with Huey) records the job and queues its message
atomically; other stores call it after committing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from jobforge_runtime.records import (
    Alert,
    Claim,
    ClaimLimits,
    Completion,
    DeadLetter,
    JobRecord,
    JobStatus,
    JSONObject,
    NewJob,
    Settlement,
)

#: Work to do inside a store's transaction (or right after it, where the store cannot share it).
Then = Callable[[], None]


class JobStore(Protocol):
    """Create, claim, renew and settle jobs."""

    def create(
        self, job: NewJob, *, now: float, then: Then | None = None
    ) -> tuple[JobRecord, bool]:
        """Record ``job`` and run ``then``; a known idempotency key returns the first job, False."""

    def claim(self, job_id: str, worker: str, limits: ClaimLimits, *, now: float) -> Claim:
        """Take a job for ``worker`` if it is due and the limits allow."""

    def renew(self, job_ids: Sequence[str], worker: str, lease_s: float, *, now: float) -> set[str]:
        """Extend the claims ``worker`` holds on ``job_ids``; return the ids still held."""

    def settle(
        self, job_id: str, worker: str, result: Settlement, *, now: float, then: Then | None = None
    ) -> JobRecord | None:
        """Record how an attempt ended and run ``then``; None when the claim was lost."""

    def complete(
        self, job_id: str, worker: str, job_type: str, duration_s: float, *, now: float
    ) -> bool:
        """Record that ``worker``'s attempt completed, as ``settle`` would, reading nothing back.

        The hot path of every job: False when the claim was lost meanwhile.
        """

    def complete_then_claim(
        self, done: Completion | None, job_id: str, worker: str, limits: ClaimLimits, *, now: float
    ) -> tuple[bool | None, Claim]:
        """Record ``done`` as :meth:`complete` would (None: nothing), then claim ``job_id``.

        One transaction or script: a worker writes its previous job's completion with its next
        claim. The first value is ``complete``'s answer, None when ``done`` is None.
        """

    def get(self, job_id: str) -> JobRecord | None:
        """Return one job or None."""


class JobStateStore(Protocol):
    """What a running job reads and writes about itself."""

    def set_progress(self, job_id: str, fraction: float, *, now: float) -> None:
        """Publish progress 0.0..1.0."""

    def save_checkpoint(self, job_id: str, state: JSONObject, *, now: float) -> None:
        """Persist a checkpoint for later attempts of the same job."""

    def claim_effect(self, scope: str, key: str, *, now: float) -> bool:
        """Return True the first time ``key`` is claimed within ``scope``."""


class RecoveryStore(Protocol):
    """Lapsed claims, lost messages and worker liveness."""

    def reap(self, *, now: float, retry_at: float) -> list[JobRecord]:
        """Take back jobs whose claim lapsed; return them, now RETRYING or DEAD."""

    def stale(self, *, now: float, stale_s: float) -> list[JobRecord]:
        """Return due jobs not dispatched for ``stale_s`` (their message was lost), re-marked."""

    def beat(self, worker: str, *, now: float) -> None:
        """Record that ``worker`` is alive."""

    def live_workers(self, *, since: float) -> list[str]:
        """Return the workers seen alive at or after ``since``."""


class DeadLetterStore(Protocol):
    """The dead-letter queue."""

    def dead_letters(self, *, limit: int = 100, include_replayed: bool = False) -> list[DeadLetter]:
        """List dead letters, newest first."""

    def dead_letter(self, job_id: str) -> DeadLetter | None:
        """Return one dead letter or None."""

    def mark_replayed(self, job_id: str, new_job_id: str) -> None:
        """Record that a dead letter was replayed as ``new_job_id``."""

    def purge(self, *, before: float | None = None) -> int:
        """Delete dead letters (older than ``before`` when given); return how many."""


class ScheduleStore(Protocol):
    """Schedule firings shared by every scheduler instance."""

    def last_tick(self, schedule: str) -> float | None:
        """Return the latest tick handled for ``schedule``."""

    def fire(
        self,
        schedule: str,
        tick: float,
        job: NewJob | None,
        *,
        skip_if_active: bool,
        now: float,
        then: Then | None = None,
    ) -> bool:
        """Claim ``tick`` once across schedulers, record ``job`` and run ``then``; False if not.

        ``job=None`` marks the tick handled without firing (a skipped missed run).
        """


class StatsStore(Protocol):
    """Counters, durations, gauges, alerts and listings for monitoring and the CLI."""

    def counters(self) -> Mapping[tuple[str, str], float]:
        """Return every counter keyed by (name, job_type)."""

    def durations(self) -> Mapping[str, Mapping[float, tuple[int, float]]]:
        """Return per job type: bucket upper bound -> (attempts in that bucket, their sum)."""

    def gauges(self) -> Mapping[str, float]:
        """Return queue_depth, running and dlq_size as of now."""

    def add_alert(self, alert: Alert) -> None:
        """Record an alert."""

    def alerts(self) -> Sequence[Alert]:
        """Return recorded alerts, oldest first."""

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 100) -> list[JobRecord]:
        """List jobs, newest first."""

    def ping(self) -> bool:
        """Return True when the store answers."""


class Ledger(
    JobStore, JobStateStore, RecoveryStore, DeadLetterStore, ScheduleStore, StatsStore, Protocol
):
    """Every ledger protocol at once; each store implements it in one module."""


#: Upper bounds of the attempt-duration histogram buckets, in seconds.
DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    float("inf"),
)


def new_record(job: NewJob, now: float) -> JobRecord:
    """Return the record a store keeps for ``job`` just created at ``now`` (none is read back)."""
    return JobRecord(
        job_id=job.job_id,
        job_type=job.job_type,
        payload=job.payload,
        queue=job.queue,
        priority=job.priority,
        status=JobStatus.PENDING,
        attempts=0,
        max_attempts=job.max_attempts,
        idempotency_key=job.idempotency_key,
        created_at=now,
        updated_at=now,
        not_before=job.not_before,
        lease_until=None,
        owner=None,
        group_key=job.group_key,
        replay_of=job.replay_of,
        effect_scope=job.scope,
        unique_key=job.unique_key,
    )


def bucket_of(seconds: float) -> float:
    """Return the upper bound of the histogram bucket ``seconds`` falls in."""
    for bound in DURATION_BUCKETS:
        if seconds <= bound:
            return bound
    return float("inf")


__all__ = [
    "DURATION_BUCKETS",
    "DeadLetterStore",
    "JobStateStore",
    "JobStore",
    "Ledger",
    "RecoveryStore",
    "ScheduleStore",
    "StatsStore",
    "Then",
    "bucket_of",
]
