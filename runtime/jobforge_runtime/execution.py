"""Executing one delivery of a job: claim, run, settle. The framework only carries the id.

Two ledger writes per attempt: the claim (with its limits and lease) and the settlement
(completed, retrying with backoff, or dead, with the retry's message queued in the same
transaction where the store allows). A glue module may hand a completion to ``defer`` and write it
with the worker's next claim (:func:`claim_after`), so a busy worker writes once per job. A
duplicate or stale delivery is harmless: its claim fails.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from typing import Any

from jobforge_runtime.catalogue import AnyJob
from jobforge_runtime.context import JobContext
from jobforge_runtime.errors import (
    ErrorKind,
    JobTimeoutError,
    PayloadError,
    PermanentError,
    UnknownJobTypeError,
    classify,
    is_retryable,
)
from jobforge_runtime.logs import log_event
from jobforge_runtime.records import (
    Alert,
    Claim,
    ClaimOutcome,
    Completion,
    JobRecord,
    JobStatus,
    Settlement,
)
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.timeouts import can_preempt, deadline


def claim(runtime: Runtime, job_id: str, job_type: str, *, worker: str) -> Claim:
    """Claim ``job_id`` for ``worker`` under its job type's limits (one ledger transaction)."""
    job = runtime.catalogue.get(job_type) if job_type in runtime.catalogue else None
    return runtime.ledger.claim(job_id, worker, runtime.limits_for(job), now=runtime.clock())


def claim_after(
    runtime: Runtime, done: Completion | None, job_id: str, job_type: str, *, worker: str
) -> Claim:
    """Record ``worker``'s previous completion ``done``, then claim ``job_id``: one store call."""
    job = runtime.catalogue.get(job_type) if job_type in runtime.catalogue else None
    limits = runtime.limits_for(job)
    held, taken = runtime.ledger.complete_then_claim(
        done, job_id, worker, limits, now=runtime.clock()
    )
    if done is not None:
        _log_completion(runtime, done, bool(held))
    return taken


def record_completion(runtime: Runtime, done: Completion) -> bool:
    """Record a completion held back for a next claim that did not come; log it."""
    held = runtime.ledger.complete(
        done.job_id, done.worker, done.job_type, done.duration_s, now=runtime.clock()
    )
    _log_completion(runtime, done, held)
    return held


#: Takes a completed attempt whose settlement a glue module writes in its next transaction.
Defer = Callable[[JobRecord, Settlement, str], None]


def execute(
    runtime: Runtime,
    job_id: str,
    job_type: str,
    *,
    worker: str,
    claimed: Claim | None = None,
    defer: Defer | None = None,
) -> JobStatus | None:
    """Run one delivery of ``job_id``; return the status its attempt left it in.

    None: not run (a duplicate or stale delivery, not due yet, a limit full) or its claim was lost
    meanwhile, or its completion was handed to ``defer``.

    ``claimed`` is the claim a glue module already made in the broker's own transaction (Huey on
    SQLite claims while it takes the message); without it the job is claimed here. ``defer``
    takes a completed attempt instead of settling it now, so the glue can write it together with
    taking the next message (one transaction per job on the worker side).
    """
    job = runtime.catalogue.get(job_type) if job_type in runtime.catalogue else None
    taken = claimed or claim(runtime, job_id, job_type, worker=worker)
    if taken.outcome in (ClaimOutcome.NOT_YET, ClaimOutcome.BUSY):
        queue = job.queue if job is not None and job.queue else runtime.settings.queues[0]
        runtime.dispatcher.dispatch(
            job_id,
            job_type,
            queue=queue,
            priority=0 if job is None else job.priority,
            delay_s=taken.retry_in_s,
        )
        return None
    if taken.outcome is not ClaimOutcome.CLAIMED or taken.record is None:
        return None
    return _run(runtime, taken.record, job, worker, defer)


def _run(
    runtime: Runtime, record: JobRecord, job: AnyJob | None, worker: str, defer: Defer | None
) -> JobStatus | None:
    per_job = runtime.settings.log_job_events
    log_event(
        runtime.logger,
        "started",
        per_job_info=per_job,
        job_id=record.job_id,
        job_type=record.job_type,
        attempt=record.attempts,
        worker=worker,
    )
    started = time.monotonic()
    runtime.leases.hold(record.job_id, worker)
    try:
        if job is None:
            raise UnknownJobTypeError(record.job_type, runtime.catalogue.names())
        timeout = job.timeout_s or runtime.settings.timeout_s
        try:
            payload = job.validate(record.payload)
        except PayloadError as exc:
            raise PermanentError(str(exc)) from exc
        preempt = can_preempt()
        context = JobContext(runtime, record, started, None if preempt else timeout)
        with deadline(timeout):
            job.handler(context, payload)
        if not preempt and time.monotonic() - started > timeout:
            raise JobTimeoutError(f"job ran past its timeout_s={timeout:g}")
    except Exception as exc:  # every failure is classified; none escapes into the framework
        after = _failed(runtime, record, job, exc, time.monotonic() - started, worker)
        return None if after is None else after.status
    finally:
        runtime.leases.release(record.job_id)
    done = Settlement(status=JobStatus.COMPLETED, duration_s=time.monotonic() - started)
    if defer is not None:
        defer(record, done, worker)
        return None
    return JobStatus.COMPLETED if complete(runtime, record, done, worker) else None


def complete(runtime: Runtime, record: JobRecord, done: Settlement, worker: str) -> bool:
    """Settle a completed attempt and log it; False when the claim was lost meanwhile."""
    return record_completion(runtime, completion_of(record, done, worker))


def completion_of(record: JobRecord, done: Settlement, worker: str) -> Completion:
    """Return the completion of ``record``'s attempt by ``worker``."""
    return Completion(
        job_id=record.job_id,
        job_type=record.job_type,
        worker=worker,
        duration_s=done.duration_s,
        attempt=record.attempts,
    )


def _log_completion(runtime: Runtime, done: Completion, held: bool) -> None:
    if not held:
        log_event(
            runtime.logger,
            "lost_claim",
            "finished after its claim lapsed",
            job_id=done.job_id,
            job_type=done.job_type,
            worker=done.worker,
        )
        return
    log_event(
        runtime.logger,
        "completed",
        per_job_info=runtime.settings.log_job_events,
        job_id=done.job_id,
        job_type=done.job_type,
        attempt=done.attempt,
        duration_s=round(done.duration_s, 6),
    )


def _failed(
    runtime: Runtime,
    record: JobRecord,
    job: AnyJob | None,
    exc: Exception,
    duration: float,
    worker: str,
) -> JobRecord | None:
    settings = runtime.settings
    kind = classify(
        exc,
        retry_on=settings.retry_on,
        discard_on=settings.discard_on,
        transient_types=job.retry_for if job is not None else (),
    )
    error = f"{type(exc).__name__}: {exc}"
    policy = job.retry_policy(settings) if job is not None else None
    now = runtime.clock()
    if policy is not None and is_retryable(kind) and policy.should_retry(record.attempts):
        delay = policy.delay(record.attempts)
        result = Settlement(
            status=JobStatus.RETRYING,
            duration_s=duration,
            error=error,
            error_kind=kind.value,
            retry_at=now + delay,
        )

        def again() -> None:
            runtime.dispatcher.dispatch(
                record.job_id,
                record.job_type,
                queue=record.queue,
                priority=record.priority,
                delay_s=delay,
            )

        after = runtime.ledger.settle(record.job_id, worker, result, now=now, then=again)
    else:
        delay = 0.0
        final = JobStatus.DEAD if settings.dead_letter_queue else JobStatus.FAILED
        result = Settlement(status=final, duration_s=duration, error=error, error_kind=kind.value)
        after = runtime.ledger.settle(record.job_id, worker, result, now=now)
    fields: dict[str, Any] = {
        "job_id": record.job_id,
        "job_type": record.job_type,
        "attempt": record.attempts,
    }
    if after is None:
        log_event(runtime.logger, "lost_claim", "failed after its claim lapsed", **fields)
        return None
    log_event(
        runtime.logger,
        "failed",
        error,
        error=error,
        error_kind=kind.value,
        duration_s=round(duration, 6),
        worker=worker,
        **fields,
    )
    if after.status is JobStatus.RETRYING:
        log_event(
            runtime.logger,
            "retrying",
            per_job_info=settings.log_job_events,
            delay_s=round(delay, 3),
            **fields,
        )
        return after
    log_event(runtime.logger, "dead", error, error=error, error_kind=kind.value, **fields)
    if kind is ErrorKind.CONFIGURATION:
        alert_configuration(runtime, after, error, traceback.format_exception(exc))
    alert_dead(runtime, after, error, kind.value)
    return after


def alert_dead(runtime: Runtime, record: JobRecord, error: str, error_kind: str) -> None:
    """Alert on a dead job, and again when the dead-letter queue reaches its threshold."""
    now = runtime.clock()
    runtime.alerter.send(
        Alert(
            kind="dead_letter",
            job_id=record.job_id,
            at=now,
            message=f"job {record.job_id} ({record.job_type}) is dead after {record.attempts} "
            f"attempt(s): {error}",
            details={
                "job_type": record.job_type,
                "attempts": record.attempts,
                "error_kind": error_kind,
            },
        )
    )
    size = runtime.ledger.gauges()["dlq_size"]
    threshold = runtime.settings.dlq_alert_threshold
    if size >= threshold:
        runtime.alerter.send(
            Alert(
                kind="dlq_threshold",
                job_id=record.job_id,
                at=now,
                message=f"dead-letter queue holds {size:.0f} jobs (threshold {threshold})",
                details={"dlq_size": size},
            )
        )


def alert_configuration(runtime: Runtime, record: JobRecord, error: str, trace: list[str]) -> None:
    """Alert that a job failed for a configuration reason a person must fix."""
    runtime.alerter.send(
        Alert(
            kind="configuration",
            job_id=record.job_id,
            at=runtime.clock(),
            message=f"job {record.job_id} ({record.job_type}) cannot run: {error}",
            details={"job_type": record.job_type, "traceback": "".join(trace)[-2000:]},
        )
    )
