"""The job life cycle on a real SQLite ledger: enqueue, claim, settle, leases, DLQ, alerts."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

import fixture_app
import pytest
from runtime_support import Clock, RecordingDispatcher

from jobforge_runtime.errors import DelayNotAllowedError, NotInDeadLetterQueueError
from jobforge_runtime.execution import execute
from jobforge_runtime.ledger.postgres import PostgresLedger
from jobforge_runtime.ledger.sqlite import SqliteLedger
from jobforge_runtime.records import ClaimLimits, ClaimOutcome, JobStatus, NewJob, Settlement
from jobforge_runtime.recovery import LeaseKeeper, reap
from jobforge_runtime.runtime import Runtime

pytestmark = pytest.mark.unit
Build = Callable[..., tuple[Runtime, RecordingDispatcher]]


def run_next(runtime: Runtime, dispatcher: RecordingDispatcher, worker: str = "w1") -> None:
    job_id, job_type, *_ = dispatcher.sent.pop(0)
    execute(runtime, job_id, job_type, worker=worker)


def test_enqueue_records_the_job_and_queues_its_message(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="a"))
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.PENDING
    assert dispatcher.sent == [(job_id, "test.work", "default", 0, 0.0)]


def test_a_repeated_idempotency_key_returns_the_first_job_and_queues_nothing(
    make_runtime: Build,
) -> None:
    runtime, dispatcher = make_runtime()
    first = runtime.enqueue(fixture_app.work, fixture_app.Work(key="same"))
    again = runtime.enqueue(fixture_app.work, fixture_app.Work(key="same", sleep_s=1))
    assert again == first
    assert len(dispatcher.sent) == 1


def test_a_job_whose_message_cannot_be_queued_is_never_lost(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    dispatcher.fail = True
    with pytest.raises(ConnectionError):
        runtime.enqueue(fixture_app.work, fixture_app.Work(key="lost"))
    if isinstance(
        runtime.ledger, (SqliteLedger, PostgresLedger)
    ):  # record and message: one transaction
        assert runtime.ledger.list_jobs() == []
        return
    # A store that cannot share the broker's transaction keeps the job; the reaper publishes it.
    (record,) = runtime.ledger.list_jobs()
    clock.now += runtime.settings.redispatch_after_s + 1
    dispatcher.fail = False
    reap(runtime)
    assert [sent[0] for sent in dispatcher.sent] == [record.job_id]


def test_enqueue_leaves_logging_alone_and_logs_nothing_at_info(
    make_runtime: Build, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime()
    logger = logging.getLogger("jobforge_runtime")
    handlers, level = list(logger.handlers), logger.level
    with caplog.at_level(logging.INFO, logger="jobforge_runtime"):
        runtime.enqueue(fixture_app.work, fixture_app.Work(key="quiet"))
    assert caplog.records == []
    assert (logger.handlers, logger.level) == (handlers, level)


def test_per_job_info_lines_appear_when_asked_for(
    make_runtime: Build, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(log_job_events=True)
    with caplog.at_level(logging.INFO, logger="jobforge_runtime"):
        runtime.enqueue(fixture_app.work, fixture_app.Work(key="loud"))
    assert [r.__dict__["event"] for r in caplog.records] == ["enqueued"]


def test_a_job_runs_once_and_completes(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="ok"))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 1)
    assert runtime.ledger.counters()[("jobs_completed_total", "test.work")] == 1


def test_a_transient_failure_is_retried_with_backoff_then_succeeds(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="flaky", fail_times=1))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.RETRYING
    (_, _, _, _, delay) = dispatcher.sent[0]
    assert 0.05 * 0.75 <= delay <= 0.05 * 1.25
    assert record.not_before == pytest.approx(clock.now + delay)
    clock.now += 1
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)


def test_a_retry_is_not_run_before_its_backoff(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="early", fail_times=1))
    run_next(runtime, dispatcher)
    run_next(runtime, dispatcher)  # same clock: the retry is not due yet
    record = runtime.status(job_id)
    assert record is not None and (record.status, record.attempts) == (JobStatus.RETRYING, 1)
    assert dispatcher.sent and dispatcher.sent[0][0] == job_id  # queued again for later


def test_without_delayed_jobs_a_delay_is_refused_and_nothing_is_queued(
    make_runtime: Build,
) -> None:
    runtime, dispatcher = make_runtime(delayed_jobs=False)
    with pytest.raises(DelayNotAllowedError, match=r"delay_s=5\.0 .*delayed_jobs=True"):
        runtime.enqueue(fixture_app.work, fixture_app.Work(key="later"), delay_s=5.0)
    assert dispatcher.sent == [] and runtime.ledger.list_jobs() == []
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="now"))
    assert dispatcher.sent == [(job_id, "test.work", "default", 0, 0.0)]


def test_transient_failures_end_dead_after_max_attempts_with_an_alert(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="down", fail_times=9))
    for _ in range(3):
        run_next(runtime, dispatcher)
        clock.now += 1
    record = runtime.status(job_id)
    assert record is not None and (record.status, record.attempts) == (JobStatus.DEAD, 3)
    assert dispatcher.sent == []
    letter = runtime.ledger.dead_letter(job_id)
    assert letter is not None and "downstream busy" in letter.error
    assert [a.kind for a in runtime.ledger.alerts()] == ["dead_letter"]


def test_a_permanent_failure_is_dead_at_once(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="bad", outcome="permanent"))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and (record.status, record.attempts) == (JobStatus.DEAD, 1)


def test_a_configuration_failure_is_dead_at_once_and_alerted_as_such(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="cfg", outcome="configuration"))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.DEAD
    kinds = [a.kind for a in runtime.ledger.alerts()]
    assert kinds == ["configuration", "dead_letter"]


def test_without_a_dead_letter_queue_a_job_fails_for_good(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime(dead_letter_queue=False)
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="x", outcome="permanent"))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.FAILED
    assert runtime.ledger.dead_letters() == []


def test_an_attempt_past_its_timeout_is_interrupted_and_retried(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.slow, fixture_app.Slow(sleep_s=5))
    started = time.monotonic()
    run_next(runtime, dispatcher)
    assert time.monotonic() - started < 4  # interrupted, not slept out
    record = runtime.status(job_id)
    assert record is not None
    assert (record.status, record.error_kind) == (JobStatus.RETRYING, "timeout")


def test_replay_runs_a_dead_job_again_without_repeating_its_effects(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    dead_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="d", outcome="permanent"))
    run_next(runtime, dispatcher)
    dead = runtime.status(dead_id)
    assert dead is not None and dead.status is JobStatus.DEAD
    # An effect the dead job made before failing:
    assert runtime.ledger.claim_effect(dead.effect_scope, "effect:d", now=clock.now)
    new_id = runtime.replay(dead_id)
    assert runtime.replay(dead_id) == new_id  # a second replay returns the same job
    replayed = runtime.status(new_id)
    assert replayed is not None and replayed.replay_of == dead_id
    assert replayed.effect_scope == dead.effect_scope
    assert not runtime.ledger.claim_effect(replayed.effect_scope, "effect:d", now=clock.now)
    assert runtime.ledger.dead_letters() == []  # replayed letters leave the default list
    assert [d.replayed_as for d in runtime.ledger.dead_letters(include_replayed=True)] == [new_id]


def test_replaying_an_id_that_is_not_dead_names_the_fix(make_runtime: Build) -> None:
    runtime, _ = make_runtime()
    with pytest.raises(NotInDeadLetterQueueError, match=r"job_id='nope'.*dlq list"):
        runtime.replay("nope")


def test_a_renewed_lease_keeps_the_claim_past_the_original_lease(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="long"))
    runtime.ledger.claim(job_id, "w1", ClaimLimits(lease_s=1), now=clock.now)
    for _ in range(5):  # five leases long, renewed every 0.5 s
        clock.now += 0.5
        assert runtime.ledger.renew([job_id], "w1", 1, now=clock.now) == {job_id}
        assert runtime.ledger.reap(now=clock.now, retry_at=clock.now) == []
    record = runtime.status(job_id)
    assert record is not None and (record.status, record.owner) == (JobStatus.RUNNING, "w1")


def test_a_lapsed_claim_is_taken_back_and_its_worker_can_no_longer_settle(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="lost"))
    dispatcher.sent.clear()
    runtime.ledger.claim(job_id, "dead-worker", ClaimLimits(lease_s=1), now=clock.now)
    clock.now += 2
    assert reap(runtime) == 1
    assert dispatcher.sent[0][0] == job_id
    assert runtime.ledger.renew([job_id], "dead-worker", 1, now=clock.now) == set()
    run_next(runtime, dispatcher, worker="w2")
    record = runtime.status(job_id)
    assert record is not None
    assert (record.status, record.attempts, record.owner) == (JobStatus.COMPLETED, 2, "w2")


def test_a_lapsed_claim_on_the_last_attempt_is_dead_and_alerted(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime(max_attempts=1)
    job_id = runtime.enqueue(fixture_app.tick_a, fixture_app.Tick(tick=1))
    runtime.ledger.claim(job_id, "dead-worker", ClaimLimits(lease_s=1), now=clock.now)
    clock.now += 2
    reap(runtime)
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.DEAD
    assert [a.kind for a in runtime.ledger.alerts()] == ["dead_letter"]


def test_the_lease_keeper_renews_held_jobs_from_its_thread(tmp_path: Path) -> None:
    ledger = SqliteLedger(tmp_path / "l.db")
    ledger.create(NewJob(job_id="j", job_type="t", payload={}), now=time.time())
    claim = ledger.claim("j", "w", ClaimLimits(lease_s=0.3), now=time.time())
    assert claim.record is not None and claim.record.lease_until is not None
    first_lease = claim.record.lease_until
    keeper = LeaseKeeper(ledger, lease_s=0.3, clock=time.time)
    keeper.hold("j", "w")
    deadline = time.monotonic() + 10
    renewed = 0
    while renewed < 3:  # three renewals, each past the lease before it
        record = ledger.get("j")
        assert record is not None and record.lease_until is not None
        if record.lease_until > first_lease:
            renewed, first_lease = renewed + 1, record.lease_until
        assert time.monotonic() < deadline, "the lease was not renewed"
        time.sleep(0.05)
    keeper.release("j")
    assert keeper.held() == []


def test_a_concurrency_limit_holds_back_a_second_running_job(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime()
    first = runtime.enqueue(fixture_app.work, fixture_app.Work(key="c1"))
    second = runtime.enqueue(fixture_app.work, fixture_app.Work(key="c2"))
    limits = ClaimLimits(lease_s=5, type_cap=1)
    assert runtime.ledger.claim(first, "w1", limits, now=clock.now).outcome is ClaimOutcome.CLAIMED
    assert runtime.ledger.claim(second, "w2", limits, now=clock.now).outcome is ClaimOutcome.BUSY


def test_a_rate_limit_allows_that_many_starts_per_second(make_runtime: Build, clock: Clock) -> None:
    runtime, _ = make_runtime()
    ids = [runtime.enqueue(fixture_app.work, fixture_app.Work(key=f"r{n}")) for n in range(3)]
    limits = ClaimLimits(lease_s=5, rate_per_s=2)
    outcomes = [runtime.ledger.claim(i, "w", limits, now=clock.now).outcome for i in ids]
    assert outcomes == [ClaimOutcome.CLAIMED, ClaimOutcome.CLAIMED, ClaimOutcome.BUSY]
    clock.now += 1.1
    assert runtime.ledger.claim(ids[2], "w", limits, now=clock.now).outcome is (
        ClaimOutcome.CLAIMED
    )


def test_a_higher_priority_is_passed_to_the_broker(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    runtime.enqueue(fixture_app.work, fixture_app.Work(key="p"), priority=9)
    assert dispatcher.sent[0][3] == 9


def test_a_retry_resumes_from_the_checkpoint_of_the_failed_attempt(
    make_runtime: Build, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "items.log"
    monkeypatch.setenv("RT_TEST_LOG", str(log))
    runtime, dispatcher = make_runtime()
    job_id = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="b", items=5, fail_at=3))
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.RETRYING
    assert (record.checkpoint, record.progress) == ({"done": 3}, 0.6)
    clock.now += 1
    run_next(runtime, dispatcher)
    record = runtime.status(job_id)
    assert record is not None and (record.status, record.progress) == (JobStatus.COMPLETED, 1.0)
    assert log.read_text().split("\n")[:-1] == [f"item b {n}" for n in range(5)]  # none twice


def test_a_unique_key_joins_submissions_to_the_active_job(make_runtime: Build) -> None:
    runtime, dispatcher = make_runtime()
    first = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="u", items=1))
    again = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="u", items=1))
    assert again == first
    run_next(runtime, dispatcher)
    later = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="u", items=1))
    assert later != first  # the first is finished: a new one may start


def test_an_ordering_key_runs_jobs_of_one_key_one_at_a_time_in_order(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime()
    limits = runtime.limits_for(fixture_app.batch)
    older = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="o", items=1))
    clock.now += 0.01
    runtime.ledger.claim(older, "w1", limits, now=clock.now)
    runtime.ledger.settle(
        older, "w1", Settlement(status=JobStatus.COMPLETED, duration_s=0), now=clock.now
    )
    first = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="o", items=2))
    clock.now += 0.01
    second = runtime.enqueue(fixture_app.batch, fixture_app.Batch(name="o", items=3))
    assert runtime.ledger.claim(second, "w2", limits, now=clock.now).outcome is ClaimOutcome.BUSY
    assert runtime.ledger.claim(first, "w1", limits, now=clock.now).outcome is ClaimOutcome.CLAIMED
    assert runtime.ledger.claim(second, "w2", limits, now=clock.now).outcome is ClaimOutcome.BUSY


def test_a_completion_is_recorded_and_counted_without_reading_the_job_back(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="done"))
    runtime.ledger.claim(job_id, "w1", ClaimLimits(lease_s=30), now=clock.now)
    runtime.ledger.set_progress(job_id, 0.5, now=clock.now)
    clock.now += 0.25
    assert runtime.ledger.complete(job_id, "w1", "test.work", 0.25, now=clock.now) is True
    record = runtime.status(job_id)
    assert record is not None
    assert (record.status, record.lease_until, record.progress, record.owner) == (
        JobStatus.COMPLETED,
        None,
        1.0,
        "w1",
    )
    assert runtime.ledger.counters()[("jobs_completed_total", "test.work")] == 1
    assert runtime.ledger.gauges()["running"] == 0
    assert runtime.ledger.complete(job_id, "w1", "test.work", 0.25, now=clock.now) is False


def test_a_completion_after_the_claim_was_taken_back_is_refused(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime()
    job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="late"))
    runtime.ledger.claim(job_id, "slow-worker", ClaimLimits(lease_s=1), now=clock.now)
    clock.now += 2
    assert reap(runtime) == 1
    assert runtime.ledger.complete(job_id, "slow-worker", "test.work", 2.0, now=clock.now) is False
    record = runtime.status(job_id)
    assert record is not None and record.status is JobStatus.RETRYING
    assert ("jobs_completed_total", "test.work") not in runtime.ledger.counters()
