"""A worker's completion written with its next claim: one store call per job, nothing lost."""

from __future__ import annotations

import time
from collections.abc import Callable

import fixture_app
import pytest
from runtime_support import Clock, RecordingDispatcher

from jobforge_runtime.execution import claim_after, execute
from jobforge_runtime.records import ClaimOutcome, JobStatus
from jobforge_runtime.recovery import reap
from jobforge_runtime.runtime import Runtime

pytest.importorskip("celery")
from jobforge_runtime.glue.celery import CompletionBuffer

pytestmark = pytest.mark.unit
Build = Callable[..., tuple[Runtime, RecordingDispatcher]]


def status(runtime: Runtime, job_id: str) -> JobStatus:
    record = runtime.status(job_id)
    assert record is not None
    return record.status


def run_held(runtime: Runtime, held: CompletionBuffer, job_id: str, worker: str = "w1") -> None:
    """Claim ``job_id`` with the held completion, run it, hold its own completion."""
    taken = claim_after(runtime, held.take(), job_id, "test.work", worker=worker)
    execute(runtime, job_id, "test.work", worker=worker, claimed=taken, defer=held.put)


def test_a_held_completion_is_written_with_the_next_claim(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    first, second = (
        runtime.enqueue(fixture_app.work, fixture_app.Work(key=k)) for k in ("one", "two")
    )
    held = CompletionBuffer(runtime, idle_s=60)
    run_held(runtime, held, first)
    assert status(runtime, first) is JobStatus.RUNNING  # ran; its completion is held
    done, taken = runtime.ledger.complete_then_claim(
        held.take(), second, "w1", runtime.limits_for(fixture_app.work), now=runtime.clock()
    )
    assert done is True and taken.outcome is ClaimOutcome.CLAIMED
    assert (status(runtime, first), status(runtime, second)) == (
        JobStatus.COMPLETED,
        JobStatus.RUNNING,
    )
    assert runtime.ledger.counters()[("jobs_completed_total", "test.work")] == 1


def test_an_idle_workers_held_completion_is_written_on_its_own(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="idle"))
    held = CompletionBuffer(runtime, idle_s=0.05)
    run_held(runtime, held, job_id)
    deadline = time.monotonic() + 5
    while status(runtime, job_id) is not JobStatus.COMPLETED and time.monotonic() < deadline:
        time.sleep(0.01)
    assert status(runtime, job_id) is JobStatus.COMPLETED


def test_a_stopping_worker_writes_its_held_completion(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="stop"))
    held = CompletionBuffer(runtime, idle_s=60)
    run_held(runtime, held, job_id)
    held.flush()  # what the worker's shutdown signal does
    assert status(runtime, job_id) is JobStatus.COMPLETED


def test_a_held_completion_whose_lease_lapsed_is_refused_and_the_job_runs_again(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime(lease_s=1)
    first, second = (
        runtime.enqueue(fixture_app.work, fixture_app.Work(key=k)) for k in ("late", "next")
    )
    dispatcher.sent.clear()
    held = CompletionBuffer(runtime, idle_s=60)
    run_held(runtime, held, first, worker="stalled")
    clock.now += 2  # the held completion was not written within the lease
    assert reap(runtime) == 1 and dispatcher.sent[0][0] == first
    run_held(runtime, held, second, worker="stalled")  # writes the stale completion: refused
    assert status(runtime, first) is JobStatus.RETRYING
    run_held(runtime, held, first, worker="w2")
    held.flush()
    record = runtime.status(first)
    assert record is not None and (record.status, record.attempts) == (JobStatus.COMPLETED, 2)
