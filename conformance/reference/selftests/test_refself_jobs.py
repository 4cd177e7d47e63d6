"""Every probe job type runs to completion on the reference, exactly once in effect."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobforge.conformance import history, probes
from jobforge.conformance.adapter import JobStatus, ScheduleEntry
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.reference.harness import (
    FAST_TIMING,
    running_reference,
    wait_finished,
    wait_until,
)

Running = tuple[ReferenceAdapter, history.Ledger]


@pytest.fixture
def ref(tmp_path: Path) -> Iterator[Running]:
    with running_reference(tmp_path) as running:
        running[0].start_workers(2)
        yield running


IMMEDIATE_TYPES = [t for t in probes.PROBE_TYPES if t != probes.PROBE_SCHEDULED]


@pytest.mark.parametrize("job_type", IMMEDIATE_TYPES)
def test_each_job_type_completes_with_one_effect(ref: Running, job_type: str) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload(
        f"run-{job_type}",
        scope="types",
        job_type=job_type,
        effect="email-sent",
        steps=3 if job_type == probes.PROBE_LONG else 0,
        step_s=0.01,
        unique_key="u1" if job_type == probes.PROBE_UNIQUE else None,
    )
    job = adapter.submit(job_type, payload)
    wait_finished(adapter, job)
    assert adapter.inspect(job).status is JobStatus.COMPLETED
    seen = ledger.read("types")
    attempts = seen.attempts_of(f"run-{job_type}")
    assert [(a.job_type, a.outcome) for a in attempts] == [(job_type, "ok")]
    assert len(seen.effects_of(f"run-{job_type}")) == 1


def test_long_job_publishes_progress_and_checkpoints(ref: Running) -> None:
    adapter, _ = ref
    payload = probes.probe_payload(
        "long", job_type=probes.PROBE_LONG, steps=4, step_s=0.05, sleep_s=0.2
    )
    job = adapter.submit(probes.PROBE_LONG, payload)
    wait_until(lambda: (adapter.inspect(job).progress or 0) >= 0.5, what="progress")
    wait_finished(adapter, job)
    info = adapter.inspect(job)
    assert info.progress == 1.0
    assert info.checkpoint == {"step": 4}


def test_scheduled_job_fires_from_the_scheduler(ref: Running) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload("tick", scope="cron", job_type=probes.PROBE_SCHEDULED)
    entry = ScheduleEntry(
        name="tick",
        job_type=probes.PROBE_SCHEDULED,
        every_s=FAST_TIMING.schedule_interval_s,
        payload=payload,
    )
    scheduler = adapter.start_scheduler([entry])
    wait_until(lambda: len(ledger.read("cron").attempts_of("tick")) >= 2, what="two firings")
    adapter.stop_scheduler(scheduler)
    assert all(
        a.job_type == probes.PROBE_SCHEDULED for a in ledger.read("cron").attempts_of("tick")
    )


def test_duplicate_submission_runs_one_job(ref: Running) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload("dup", scope="dup", effect="charge")
    first = adapter.submit(probes.PROBE_DEFAULT, payload, idempotency_key="order-1")
    again = adapter.submit(probes.PROBE_DEFAULT, payload, idempotency_key="order-1")
    assert again == first
    wait_finished(adapter, first)
    assert len(ledger.read("dup").effects_of("dup")) == 1


def test_killed_worker_job_is_recovered_with_one_effect(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, ledger):
        (worker,) = adapter.start_workers(1)
        payload = probes.probe_payload(
            "crash", scope="kill", effect="charge", sleep_s=0.3, sleep_attempts=[1]
        )
        job = adapter.submit(probes.PROBE_DEFAULT, payload)
        wait_until(lambda: bool(ledger.read("kill").attempts_of("crash")), what="first start")
        adapter.kill_worker(worker)
        adapter.start_workers(1)
        wait_finished(adapter, job)
        attempts = ledger.read("kill").attempts_of("crash")
        assert [a.outcome for a in attempts] == [None, "ok"]  # crashed, then redelivered
        assert len(ledger.read("kill").effects_of("crash")) == 1


def test_graceful_stop_finishes_the_running_job(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, ledger):
        (worker,) = adapter.start_workers(1)
        job = adapter.submit(
            probes.PROBE_DEFAULT, probes.probe_payload("term", scope="term", sleep_s=0.2)
        )
        wait_until(lambda: bool(ledger.read("term").attempts_of("term")), what="start")
        adapter.stop_worker(worker)
        time.sleep(0.3)
        assert adapter.inspect(job).status is JobStatus.COMPLETED
