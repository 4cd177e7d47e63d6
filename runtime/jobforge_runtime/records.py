"""Values kept in the job ledger: job records, claims, settlements, dead letters, alerts."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from typing import Any, TypeAlias

JSONObject: TypeAlias = dict[str, Any]


class JobStatus(enum.StrEnum):
    """The life cycle: PENDING -> RUNNING -> COMPLETED, or -> RETRYING -> ... -> DEAD / FAILED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"
    DEAD = "DEAD"


#: States in which a job still has work to do.
ACTIVE_STATES = frozenset({JobStatus.PENDING, JobStatus.RUNNING, JobStatus.RETRYING})


@dataclass(frozen=True, kw_only=True)
class NewJob:
    """A job about to be recorded."""

    job_id: str
    job_type: str
    payload: JSONObject
    queue: str = "default"
    priority: int = 0
    max_attempts: int = 1
    idempotency_key: str | None = None  # duplicate submissions with this key share one job
    unique_key: str | None = None  # while a job with this key is active, submissions join it
    not_before: float = 0.0  # unix time before which the job must not start
    group_key: str | None = None  # schedule name or ordering key: one running at a time, in order
    replay_of: str | None = None  # the dead job this one replays
    effect_scope: str | None = None  # effects are claimed once per scope; default: key or job id

    @property
    def scope(self) -> str:
        """The scope under which this job's effects are claimed once."""
        return self.effect_scope or self.idempotency_key or self.job_id


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """One job as the ledger knows it."""

    job_id: str
    job_type: str
    payload: JSONObject
    queue: str
    priority: int
    status: JobStatus
    attempts: int  # attempts started so far
    max_attempts: int
    idempotency_key: str | None
    created_at: float
    updated_at: float
    not_before: float
    lease_until: float | None  # while RUNNING: when the claim lapses unless renewed
    owner: str | None  # the worker holding the claim
    error: str | None = None
    error_kind: str | None = None
    progress: float | None = None
    checkpoint: JSONObject | None = None
    group_key: str | None = None
    replay_of: str | None = None
    effect_scope: str = ""
    unique_key: str | None = None


class ClaimOutcome(enum.StrEnum):
    """What happened when a worker tried to claim a job."""

    CLAIMED = "claimed"  # the worker owns the job now
    NOT_YET = "not_yet"  # the job's not_before is in the future
    BUSY = "busy"  # a concurrency or rate limit is full; try again shortly
    GONE = "gone"  # finished, dead, unknown, or held by a live claim: drop the message


@dataclass(frozen=True, kw_only=True)
class ClaimLimits:
    """Limits checked in the claim's own transaction."""

    lease_s: float
    type_cap: int | None = None  # most running jobs of this type
    global_cap: int | None = None  # most running jobs of any type
    rate_per_s: float | None = None  # most starts of this type per second
    ordered_group: bool = True  # one running job per group_key, oldest first


@dataclass(frozen=True, kw_only=True)
class Claim:
    """The result of a claim attempt."""

    outcome: ClaimOutcome
    record: JobRecord | None = None
    retry_in_s: float = 0.0  # for NOT_YET and BUSY: when to try again


@dataclass(frozen=True, kw_only=True)
class Settlement:
    """How an attempt ended, written in one transaction."""

    status: JobStatus  # COMPLETED, RETRYING (with retry_at), DEAD or FAILED
    duration_s: float
    error: str | None = None
    error_kind: str | None = None
    retry_at: float | None = None


@dataclass(frozen=True, kw_only=True)
class Completion:
    """A completed attempt waiting to be recorded with its worker's next claim."""

    job_id: str
    job_type: str
    worker: str
    duration_s: float
    attempt: int = 0  # which attempt completed (for the log line)


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A job that used up its attempts or failed permanently, with its full context."""

    job_id: str
    job_type: str
    payload: JSONObject
    attempts: int
    error: str
    error_kind: str
    failed_at: float
    replayed_as: str | None = None


@dataclass(frozen=True, kw_only=True)
class Alert:
    """An alert raised by the runtime."""

    kind: str  # dead_letter | dlq_threshold | configuration
    job_id: str | None
    message: str
    at: float
    details: JSONObject = field(default_factory=dict)


def dumps(value: object) -> str:
    """Serialize a value as compact JSON (the only format that crosses processes)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
