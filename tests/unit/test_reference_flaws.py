"""Each named flaw of the reference changes exactly the behaviour it names."""

from __future__ import annotations

import itertools
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobforge.conformance import checkers, history, probes, testing_hooks
from jobforge.conformance.adapter import JobStatus, ScheduleEntry
from jobforge.conformance.reference import FLAWS, ReferenceAdapter
from jobforge.conformance.reference.config import FLAW_SWITCHES, Behaviour, behaviour_for
from jobforge.conformance.reference.harness import (
    FAST_TIMING,
    running_reference,
    wait_finished,
    wait_until,
)

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

Running = tuple[ReferenceAdapter, history.Ledger]
DEFAULT = probes.PROBE_DEFAULT


@pytest.fixture
def flawed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Running]:
    with running_reference(tmp_path, flaws=frozenset({request.param})) as running:
        yield running


def flaw(name: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("flawed", [name], indirect=True)


def test_every_flaw_is_described_and_turns_at_least_one_switch() -> None:
    assert set(FLAWS) == set(FLAW_SWITCHES)
    for name in FLAWS:
        assert behaviour_for({name}) != Behaviour(), name


def test_unknown_flaw_is_rejected_with_the_valid_names() -> None:
    with pytest.raises(UsageError) as error:
        ReferenceAdapter(frozenset({"no_backof", "no_timeout"}))
    message = str(error.value)
    assert "'no_backof'" in message and "'no_timeout'" not in message
    assert "no_backoff" in message


@flaw("no_idempotency")
def test_no_idempotency_enqueues_duplicates_and_repeats_the_effect(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(1)
    payload = probes.probe_payload("dup", scope="s", effect="charge")
    first = adapter.submit(DEFAULT, payload, idempotency_key="k")
    second = adapter.submit(DEFAULT, payload, idempotency_key="k")
    assert first != second
    wait_finished(adapter, first, second)
    assert len(ledger.read("s").effects_of("dup")) == 2


@flaw("unbounded_retries")
def test_unbounded_retries_runs_past_the_declared_max(flawed: Running) -> None:
    adapter, _ = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", fail={"*": "transient"}))
    wait_finished(adapter, job)
    assert adapter.inspect(job).attempts == FAST_TIMING.max_attempts + 2


@flaw("retries_permanent")
def test_retries_permanent_retries_a_permanent_error(flawed: Running) -> None:
    adapter, _ = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", fail={"*": "permanent"}))
    wait_finished(adapter, job)
    assert adapter.inspect(job).attempts == FAST_TIMING.max_attempts


@flaw("no_backoff")
def test_no_backoff_retries_at_once(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", scope="s", fail={"*": "transient"}))
    wait_finished(adapter, job)
    gaps = [gap for _, gap in checkers.retry_gaps(ledger.read("s").attempts_of("p"))]
    assert len(gaps) == FAST_TIMING.max_attempts - 1
    assert max(gaps) < FAST_TIMING.backoff_base_s * (1 - FAST_TIMING.jitter_ratio)


@flaw("no_timeout")
def test_no_timeout_lets_an_attempt_overrun(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(1)
    sleep = FAST_TIMING.timeout_s * 2
    job = adapter.submit(DEFAULT, probes.probe_payload("p", scope="s", sleep_s=sleep))
    wait_finished(adapter, job)
    (attempt,) = ledger.read("s").attempts_of("p")
    assert attempt.outcome == "ok"
    assert (attempt.duration_s or 0) >= sleep


@flaw("no_dead_letter")
def test_no_dead_letter_drops_dead_jobs(flawed: Running) -> None:
    adapter, _ = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", fail={"*": "permanent"}))
    wait_finished(adapter, job)
    assert adapter.inspect(job).status is JobStatus.DEAD
    assert list(adapter.dead_letters()) == []
    assert adapter.metrics()["dlq_size"] == 0


@flaw("no_replay")
def test_no_replay_cannot_replay(flawed: Running) -> None:
    adapter, _ = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", fail={"*": "permanent"}))
    wait_finished(adapter, job)
    with pytest.raises(NotImplementedError):
        adapter.replay(job)


@flaw("loses_jobs_on_kill")
def test_loses_jobs_on_kill_never_redelivers(flawed: Running) -> None:
    adapter, ledger = flawed
    (worker,) = adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", scope="s", sleep_s=0.3))
    wait_until(lambda: bool(ledger.read("s").attempts_of("p")), what="start")
    adapter.kill_worker(worker)
    adapter.start_workers(1)
    time.sleep(FAST_TIMING.lease_s * 3)
    assert adapter.inspect(job).status is JobStatus.RUNNING
    assert len(ledger.read("s").attempts_of("p")) == 1


def _scheduled(name: str, sleep_s: float) -> ScheduleEntry:
    return ScheduleEntry(
        name=name,
        job_type=probes.PROBE_SCHEDULED,
        every_s=FAST_TIMING.schedule_interval_s,
        payload=probes.probe_payload(
            name, scope="cron", job_type=probes.PROBE_SCHEDULED, sleep_s=sleep_s
        ),
    )


@flaw("overlapping_cron")
def test_overlapping_cron_starts_a_run_while_the_last_one_runs(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(2)
    scheduler = adapter.start_scheduler([_scheduled("slow", FAST_TIMING.schedule_interval_s * 2)])
    wait_until(lambda: len(ledger.read("cron").attempts_of("slow")) >= 2, what="two runs")
    adapter.stop_scheduler(scheduler)
    spans = checkers.intervals(ledger.read("cron").attempts_of("slow"))
    assert checkers.overlaps(spans, time.time())


@flaw("double_fire")
def test_double_fire_fires_a_tick_once_per_scheduler(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(2)
    one = adapter.start_scheduler([_scheduled("tick", 0.0)])
    two = adapter.start_scheduler([_scheduled("tick", 0.0)])
    wait_until(lambda: len(ledger.read("cron").attempts_of("tick")) >= 4, what="firings")
    adapter.stop_scheduler(one)
    adapter.stop_scheduler(two)
    starts = [a.started_at for a in ledger.read("cron").attempts_of("tick")]
    ticks = [int(at // FAST_TIMING.schedule_interval_s) for at in starts]
    assert len(ticks) > len(set(ticks))


@flaw("ignores_concurrency_cap")
def test_ignores_concurrency_cap_runs_a_capped_type_in_parallel(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(2)
    jobs = [
        adapter.submit(
            probes.PROBE_LIMITED,
            probes.probe_payload(f"p{i}", scope="s", job_type=probes.PROBE_LIMITED, sleep_s=0.1),
        )
        for i in range(4)
    ]
    wait_finished(adapter, *jobs)
    seen = ledger.read("s")
    spans = checkers.intervals(
        itertools.chain.from_iterable(seen.attempts_of(p) for p in seen.probe_ids())
    )
    peak, _ = checkers.high_water_mark(spans, time.time())
    assert peak > 1


@flaw("no_progress")
def test_no_progress_never_publishes_progress(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(1)
    payload = probes.probe_payload("p", scope="s", job_type=probes.PROBE_LONG, steps=3, step_s=0.05)
    job = adapter.submit(probes.PROBE_LONG, payload)
    wait_until(lambda: bool(ledger.read("s").attempts_of("p")), what="start")
    time.sleep(0.1)
    assert adapter.inspect(job).progress is None
    wait_finished(adapter, job)
    assert adapter.inspect(job).progress is None


@flaw("miscounting_metrics")
def test_miscounting_metrics_counts_a_retried_attempt_as_completed(flawed: Running) -> None:
    adapter, _ = flawed
    adapter.start_workers(1)
    job = adapter.submit(DEFAULT, probes.probe_payload("p", fail={1: "transient"}))
    wait_finished(adapter, job)
    metrics = adapter.metrics()
    assert (metrics["jobs_completed_total"], metrics["jobs_failed_total"]) == (2, 0)


def test_no_tests_suite_passes_but_runs_no_job(tmp_path: Path) -> None:
    description = ReferenceAdapter(frozenset({"no_tests"})).describe()
    events = tmp_path / "events.jsonl"
    result = subprocess.run(
        description.test_command,
        cwd=description.test_cwd,
        env={**os.environ, testing_hooks.EVENTS_ENV: str(events)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    recorded = testing_hooks.read_events(events)
    assert recorded.job_types == frozenset() and recorded.failure_paths == frozenset()


@flaw("health_always_ok")
def test_health_always_ok_says_ok_with_no_worker(flawed: Running) -> None:
    adapter, _ = flawed
    assert adapter.workers_alive() == 0
    assert adapter.health()["status"] == "ok"


def test_clean_health_is_not_ok_with_no_worker_and_ok_with_one(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, _):
        assert adapter.health()["status"] != "ok"
        (worker,) = adapter.start_workers(1)
        assert adapter.health()["status"] == "ok"
        adapter.stop_worker(worker)
        wait_until(lambda: adapter.health()["status"] != "ok", what="health to notice")


@flaw("no_lease_renewal")
def test_no_lease_renewal_runs_a_long_job_again_while_it_runs(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(2)
    long_s = FAST_TIMING.lease_s * 3
    job = adapter.submit(
        probes.PROBE_LONG,
        probes.probe_payload("p", scope="s", job_type=probes.PROBE_LONG, sleep_s=long_s),
    )
    wait_until(lambda: len(ledger.read("s").attempts_of("p")) >= 2, what="a second run")
    first, second = ledger.read("s").attempts_of("p")[:2]
    assert second.started_at < first.started_at + long_s  # the first was still running
    wait_finished(adapter, job, timeout_s=20)


@flaw("replay_repeats_effects")
def test_replay_repeats_effects_makes_the_dead_jobs_effect_again(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(1)
    payload = probes.probe_payload("p", scope="s", effect="e", fail={"1": "permanent"})
    job = adapter.submit(DEFAULT, payload)
    wait_finished(adapter, job)
    wait_finished(adapter, adapter.replay(job))
    assert len(ledger.read("s").effects_of("p")) == 2


@flaw("constant_backoff")
def test_constant_backoff_declares_and_waits_the_first_delay_every_time(flawed: Running) -> None:
    adapter, _ = flawed
    spec = adapter.describe().job(DEFAULT)
    assert set(spec.backoff_delays_s) == {FAST_TIMING.backoff_base_s}


def _retry_delays(adapter: ReferenceAdapter) -> list[float]:
    adapter.start_workers(1)
    jobs = [
        adapter.submit(DEFAULT, probes.probe_payload(f"p{i}", fail={"*": "transient"}))
        for i in range(3)
    ]
    wait_finished(adapter, *jobs)
    return [float(str(r["delay_s"])) for r in adapter.logs() if r["event"] == "retrying"]


@flaw("no_jitter")
def test_no_jitter_schedules_every_retry_at_its_declared_delay(flawed: Running) -> None:
    adapter, _ = flawed
    declared = set(adapter.describe().job(DEFAULT).backoff_delays_s)
    delays = _retry_delays(adapter)
    assert delays and set(delays) <= declared


def test_clean_retry_delays_are_jittered(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, _):
        declared = set(adapter.describe().job(DEFAULT).backoff_delays_s)
        assert not set(_retry_delays(adapter)) <= declared


@flaw("queues_skipped_ticks")
def test_queues_skipped_ticks_fires_a_skipped_tick_when_the_run_ends(flawed: Running) -> None:
    adapter, ledger = flawed
    adapter.start_workers(2)
    slow = FAST_TIMING.schedule_interval_s * 1.5
    scheduler = adapter.start_scheduler([_scheduled("slow", slow)])
    wait_until(lambda: len(ledger.read("cron").attempts_of("slow")) >= 2, what="two runs")
    adapter.stop_scheduler(scheduler)
    first, second = ledger.read("cron").attempts_of("slow")[:2]
    assert first.ended_at is not None
    assert second.started_at - first.ended_at < FAST_TIMING.schedule_interval_s / 4
