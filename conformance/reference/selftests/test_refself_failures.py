"""Failure paths of the reference: retry, discard, dead letter, timeout, replay, alerts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from jobforge.conformance import history, probes
from jobforge.conformance.adapter import JobStatus
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.reference.harness import (
    FAST_TIMING,
    running_reference,
    wait_finished,
    wait_until,
)

Running = tuple[ReferenceAdapter, history.Ledger]


def wait_dead_lettered(adapter: ReferenceAdapter, job: str) -> None:
    """Wait for ``job`` in the dead-letter queue and its alert: both follow its DEAD status."""
    wait_until(
        lambda: (
            job in {letter.job_id for letter in adapter.dead_letters()}
            and job in {a.get("job_id") for a in adapter.alerts()}
        ),
        what=f"job {job} dead-lettered and alerted",
    )


@pytest.fixture
def ref(tmp_path: Path) -> Iterator[Running]:
    with running_reference(tmp_path) as running:
        running[0].start_workers(1)
        yield running


def test_transient_failure_is_retried_and_then_succeeds(ref: Running) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload("flaky", scope="retry", fail={1: "transient"}, effect="x")
    job = adapter.submit(probes.PROBE_DEFAULT, payload)
    wait_finished(adapter, job)
    attempts = ledger.read("retry").attempts_of("flaky")
    assert [a.outcome for a in attempts] == ["transient", "ok"]
    assert len(ledger.read("retry").effects_of("flaky")) == 1
    assert adapter.metrics()["jobs_retried_total"] == 1


def test_permanent_failure_is_discarded_into_the_dead_letters(ref: Running) -> None:
    adapter, _ = ref
    payload = probes.probe_payload("bad", fail={"*": "permanent"})
    job = adapter.submit(probes.PROBE_DEFAULT, payload)
    wait_finished(adapter, job)
    wait_dead_lettered(adapter, job)
    info = adapter.inspect(job)
    assert (info.status, info.attempts) == (JobStatus.DEAD, 1)
    (letter,) = adapter.dead_letters()
    assert (letter.job_id, letter.error_kind, letter.payload) == (job, "permanent", payload)


def test_exhausted_retries_dead_letter_and_alert(ref: Running) -> None:
    adapter, _ = ref
    job = adapter.submit(
        probes.PROBE_DEFAULT, probes.probe_payload("down", fail={"*": "transient"})
    )
    wait_finished(adapter, job)
    wait_dead_lettered(adapter, job)
    assert adapter.inspect(job).attempts == FAST_TIMING.max_attempts
    assert [letter.job_id for letter in adapter.dead_letters()] == [job]
    assert [(a["kind"], a["job_id"]) for a in adapter.alerts()] == [("dead_letter", job)]


def test_timeout_cuts_the_attempt_off_and_retries(ref: Running) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload(
        "slow", scope="timeout", sleep_s=FAST_TIMING.timeout_s * 3, sleep_attempts=[1]
    )
    job = adapter.submit(probes.PROBE_DEFAULT, payload)
    wait_finished(adapter, job)
    attempts = ledger.read("timeout").attempts_of("slow")
    assert [a.outcome for a in attempts] == ["timeout", "ok"]
    first = attempts[0].duration_s
    assert first is not None and first < FAST_TIMING.timeout_s * 2


def test_replay_of_a_dead_job_runs_it_again(ref: Running) -> None:
    adapter, ledger = ref
    payload = probes.probe_payload("fixme", scope="replay", fail={"*": "permanent"}, healable=True)
    job = adapter.submit(probes.PROBE_DEFAULT, payload)
    wait_finished(adapter, job)
    wait_dead_lettered(adapter, job)
    ledger.record_event(scope="replay", kind=probes.HEAL_EVENT, subject="fixme")
    again = adapter.replay(job)
    wait_finished(adapter, again)
    assert adapter.inspect(again).status is JobStatus.COMPLETED
    assert adapter.dead_letters() == []
