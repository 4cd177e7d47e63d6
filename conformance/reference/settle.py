"""Settling an attempt: the job's next state, and everything that reports it.

An attempt ends ok (COMPLETED), or failed: retried after a backoff (RETRYING) or dead (DEAD, a
dead letter and an alert). Each outcome moves the counters, writes the structured log and tells
the test-recording hooks which failure path was taken. A settlement applies only while the job
is still held by the attempt's worker, so a late or duplicate settlement changes nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ..adapter import DeadLetter, JobStatus
from .config import Behaviour
from .deadletter import DeadLetterQueue
from .hooks import JobHooks
from .limits import UniqueIndex
from .observability import AlertSink, LogSink, Metrics
from .queue import JobStore
from .records import AttemptResult, Claim, ErrorKind, JobRecord
from .retry import RetryPolicy


@dataclass(frozen=True, kw_only=True)
class Settler:
    """Applies attempt outcomes to the store and reports them."""

    store: JobStore
    policy: RetryPolicy
    behaviour: Behaviour
    metrics: Metrics
    log: LogSink
    alerts: AlertSink
    dead: DeadLetterQueue
    unique: UniqueIndex
    hooks: JobHooks

    def settle(
        self, claim: Claim, worker_id: str, result: AttemptResult, *, expired_only: bool = False
    ) -> bool:
        """Record how an attempt ended; False when the job is no longer this attempt's.

        ``expired_only`` settles only if the lease really ran out (lease recovery).
        """
        job = claim.job
        held = self.store.held_by(worker_id, claim.attempt)
        now = time.monotonic()

        def guard(record: JobRecord) -> bool:
            if not held(record):
                return False
            return not expired_only or (record.lease_until is not None and record.lease_until < now)

        if result.ok:
            done = self.store.update(
                job.job_id,
                guard,
                status=JobStatus.COMPLETED,
                finished_at=time.time(),
                lease_until=None,
                worker_id=None,
                error=None,
                error_kind=None,
            )
            if done is None:
                return False
            self.metrics.inc("jobs_completed_total")
            self.log.emit(
                "completed",
                job_id=job.job_id,
                job_type=job.job_type,
                attempt=claim.attempt,
                duration_s=result.duration_s,
                worker=worker_id,
            )
            self._finished(done)
            return True
        kind = result.kind or ErrorKind.TRANSIENT
        decision = self.policy.decide(job.spec, claim.attempt, kind)
        if decision.retry:
            done = self.store.update(
                job.job_id,
                guard,
                status=JobStatus.RETRYING,
                ready_at=time.monotonic() + decision.delay_s,
                lease_until=None,
                worker_id=None,
                error=result.error,
                error_kind=kind,
            )
        else:
            done = self.store.update(
                job.job_id,
                guard,
                status=JobStatus.DEAD,
                finished_at=time.time(),
                lease_until=None,
                worker_id=None,
                error=result.error,
                error_kind=kind,
            )
        if done is None:
            return False
        failure_counter = (
            "jobs_completed_total"
            if decision.retry and self.behaviour.count_retries_as_completed
            else "jobs_failed_total"
        )
        self.metrics.inc(failure_counter)
        self.log.emit(
            "timeout" if kind is ErrorKind.TIMEOUT else "failed",
            job_id=job.job_id,
            job_type=job.job_type,
            attempt=claim.attempt,
            duration_s=result.duration_s,
            level="warning",
            error=result.error,
            error_kind=str(kind),
            worker=worker_id,
        )
        if kind is ErrorKind.TIMEOUT:
            self.hooks.failure_handled("timeout", job_type=job.job_type)
        if decision.retry:
            self.hooks.failure_handled("retry", job_type=job.job_type)
            self.metrics.inc("jobs_retried_total")
            self.log.emit(
                "retrying",
                job_id=job.job_id,
                job_type=job.job_type,
                attempt=claim.attempt,
                delay_s=round(decision.delay_s, 6),
            )
        else:
            if not self.policy.retryable(kind):
                self.hooks.failure_handled("discard", job_type=job.job_type)
            self._dead(done, kind)
        return True

    def _dead(self, job: JobRecord, kind: ErrorKind) -> None:
        self.metrics.inc("jobs_dead_total")
        if self.behaviour.keep_dead_letters:
            self.hooks.failure_handled("dead_letter", job_type=job.job_type)
        error = job.error or "unknown error"
        self.dead.add(
            DeadLetter(
                job_id=job.job_id,
                job_type=job.job_type,
                payload=dict(job.payload),
                attempts=job.attempts,
                error=error,
                error_kind=str(kind),
                failed_at=job.finished_at or time.time(),
            )
        )
        self.log.emit(
            "dead",
            job_id=job.job_id,
            job_type=job.job_type,
            attempt=job.attempts,
            level="error",
            error=error,
            error_kind=str(kind),
        )
        self.alerts.fire(
            "dead_letter",
            job_id=job.job_id,
            job_type=job.job_type,
            message=f"job {job.job_id} ({job.job_type}) is dead after {job.attempts} "
            f"attempt(s): {error}",
        )
        if kind is ErrorKind.CONFIGURATION:
            self.alerts.fire(
                "configuration",
                job_id=job.job_id,
                job_type=job.job_type,
                message=f"job {job.job_id} hit a configuration error: {error}",
            )
        self._finished(job)

    def _finished(self, job: JobRecord) -> None:
        if job.unique_key is not None:
            self.unique.release(job.job_type, job.unique_key, job.job_id)
