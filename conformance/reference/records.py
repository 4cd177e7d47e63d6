"""Value types of the reference job system: job records, error kinds, attempt results."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..adapter import JobInfo, JobSpec, JobStatus, JSONObject

#: Statuses a job never leaves on its own.
TERMINAL: frozenset[JobStatus] = frozenset({JobStatus.COMPLETED, JobStatus.DEAD})
#: Statuses of a job waiting in the queue for a worker.
WAITING: frozenset[JobStatus] = frozenset({JobStatus.PENDING, JobStatus.RETRYING})


class ErrorKind(enum.StrEnum):
    """Why an attempt failed; decides retry or dead letter."""

    TRANSIENT = "transient"  # retry with backoff up to max attempts
    PERMANENT = "permanent"  # no retry: dead at once
    CONFIGURATION = "configuration"  # no retry, and an alert: a human must fix the set-up
    TIMEOUT = "timeout"  # the attempt overran its time limit; retried like a transient error
    LOST = "lost"  # the worker died holding the job; its lease expired


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """The job system's record of one job. Replaced, never mutated, under the store's lock."""

    job_id: str  # unique id handed back by submit
    spec: JobSpec  # the catalogue entry of its type, with the policies in force
    payload: JSONObject  # validated JSON, a private copy
    priority: int  # higher is claimed first
    seq: int  # submission order, the tie-breaker after priority
    scope: str  # idempotency scope of its effects: the idempotency key, or the first job's id
    unique_key: str | None = None  # set for unique job types: at most one live job per key
    status: JobStatus = JobStatus.PENDING
    attempts: int = 0  # attempts started so far
    ready_at: float = 0.0  # monotonic time from which a worker may claim it
    lease_until: float | None = None  # monotonic lease deadline while RUNNING
    worker_id: str | None = None  # the worker holding the lease
    progress: float | None = None  # last published progress of the running attempt
    checkpoint: JSONObject | None = None  # last saved checkpoint, kept across attempts
    error: str | None = None  # last error message
    error_kind: ErrorKind | None = None  # last error kind
    created_at: float = 0.0  # unix time of submission
    finished_at: float | None = None  # unix time it reached COMPLETED or DEAD
    replay_of: str | None = None  # the dead job this one replays

    @property
    def job_type(self) -> str:
        """The job type name."""
        return self.spec.name

    def info(self) -> JobInfo:
        """Return the adapter-facing view of this record."""
        return JobInfo(
            job_id=self.job_id,
            job_type=self.job_type,
            status=self.status,
            attempts=self.attempts,
            progress=self.progress,
            error=self.error,
            checkpoint=self.checkpoint,
        )


@dataclass(frozen=True, kw_only=True)
class Claim:
    """A job handed to a worker slot: the record as claimed and its attempt number."""

    job: JobRecord
    attempt: int  # 1 for the first run


@dataclass(frozen=True, kw_only=True)
class AttemptResult:
    """How one attempt ended, as the worker slot saw it."""

    ok: bool
    error: str | None = None
    kind: ErrorKind | None = None
    duration_s: float = 0.0
