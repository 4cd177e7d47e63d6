"""The soak's total-queue checker accounts for every job and effect of hand-made histories."""

from __future__ import annotations

import pytest
from jobforge.conformance.history import Attempt, Effect, Event, History, Submission
from jobforge.conformance.soak.checker import (
    COMPLETED,
    DEAD,
    DEAD_LETTER_EVENT,
    FINAL_EVENT,
    LOST,
    account,
    bucket_size,
    percentile,
)
from jobforge.conformance.soak.plan import SCOPE, effect_key

pytestmark = pytest.mark.unit

T0 = 1_000.0


def sub(job: str, probe: str, at: float = 0.0, key: str | None = None) -> Submission:
    return Submission(
        scope=SCOPE,
        probe_id=probe,
        job_id=job,
        job_type="probe.default",
        idempotency_key=key,
        delay_s=0.0,
        priority=None,
        at=T0 + at,
    )


def att(
    job: str, probe: str, n: int, start: float, end: float | None, outcome: str | None = "ok"
) -> Attempt:
    return Attempt(
        row=int(start * 1000) + n,
        scope=SCOPE,
        probe_id=probe,
        job_id=job,
        job_type="probe.default",
        attempt=n,
        pid=1,
        worker="worker-1",
        started_at=T0 + start,
        ended_at=None if end is None else T0 + end,
        outcome=outcome,
        error=None if outcome in (None, "ok") else f"{outcome} as planned",
    )


def eff(job: str, probe: str, key: str | None = None, at: float = 0.5) -> Effect:
    return Effect(
        scope=SCOPE,
        probe_id=probe,
        job_id=job,
        attempt=1,
        key=key or effect_key(probe),
        pid=1,
        at=T0 + at,
    )


def final(job: str, status: str, error: str | None = None) -> Event:
    return Event(
        scope=SCOPE,
        kind=FINAL_EVENT,
        subject=job,
        detail={"status": status, "attempts": 1, "error": error},
        at=T0 + 9,
    )


def completed_job(job: str, probe: str, at: float = 0.0) -> History:
    return History(
        run_id="r",
        submissions=(sub(job, probe, at),),
        attempts=(att(job, probe, 1, at + 0.1, at + 1.0),),
        effects=(eff(job, probe, at=at + 0.5),),
        events=(final(job, "COMPLETED"),),
    )


def test_all_completed_once_is_clean_with_latency_and_throughput() -> None:
    a, b = completed_job("j1", "p1"), completed_job("j2", "p2", at=1.0)
    hist = History(
        run_id="r",
        submissions=a.submissions + b.submissions,
        attempts=a.attempts + b.attempts,
        effects=a.effects + b.effects,
        events=a.events + b.events,
    )
    acc = account(hist)
    assert acc.clean
    assert [j.state for j in acc.jobs] == [COMPLETED, COMPLETED]
    assert acc.latency.count == 2
    assert acc.latency.p50 == pytest.approx(1.0)
    assert acc.latency.max == pytest.approx(1.0)
    assert sum(b.completed for b in acc.timeline) == 2
    assert sum(b.submitted for b in acc.timeline) == 2
    assert acc.timeline[-1].open_jobs == 0
    # j1 open over 0..1 s, j2 over 1..2 s: never two at once, one at a time at most
    assert max(b.peak_open_jobs for b in acc.timeline) == 1


def test_a_job_whose_attempt_never_ended_is_lost_with_its_id_and_why() -> None:
    hist = History(
        run_id="r",
        submissions=(sub("j7", "p7"),),
        attempts=(att("j7", "p7", 1, 0.1, None, outcome=None),),
        events=(final("j7", "RUNNING"),),
    )
    acc = account(hist)
    (lost,) = acc.of_state(LOST)
    assert lost.job_id == "j7"
    assert "says RUNNING" in lost.reason
    assert "never ended" in lost.reason
    assert not acc.clean
    assert acc.timeline[-1].open_jobs == 1


def test_a_job_never_started_is_lost() -> None:
    hist = History(run_id="r", submissions=(sub("j1", "p1"),), events=(final("j1", "PENDING"),))
    (lost,) = account(hist).of_state(LOST)
    assert lost.reason.startswith("never started; the implementation says PENDING")


def test_completed_claimed_without_an_ok_attempt_is_lost() -> None:
    hist = History(
        run_id="r",
        submissions=(sub("j1", "p1"),),
        attempts=(att("j1", "p1", 1, 0.1, 0.2, outcome="transient"),),
        events=(final("j1", "COMPLETED"),),
    )
    (lost,) = account(hist).of_state(LOST)
    assert "without any attempt ending ok" in lost.reason


def test_dead_job_is_accounted_with_its_dead_letter_reason() -> None:
    letter = Event(
        scope=SCOPE,
        kind=DEAD_LETTER_EVENT,
        subject="j3",
        detail={"error": "boom", "error_kind": "permanent"},
        at=T0 + 9,
    )
    hist = History(
        run_id="r",
        submissions=(sub("j3", "p3"),),
        attempts=(att("j3", "p3", 1, 0.1, 0.3, outcome="permanent"),),
        effects=(eff("j3", "p3"),),
        events=(final("j3", "DEAD"), letter),
    )
    acc = account(hist)
    (dead,) = acc.of_state(DEAD)
    assert dead.reason == "dead letter (permanent): boom"
    assert dead.ended_at == pytest.approx(T0 + 0.3)
    assert acc.clean  # dead with a reason is accounted for, not lost


def test_dead_without_a_dead_letter_takes_the_last_attempt_as_reason() -> None:
    hist = History(
        run_id="r",
        submissions=(sub("j3", "p3"),),
        attempts=(att("j3", "p3", 1, 0.1, 0.3, outcome="transient"),),
        events=(final("j3", "DEAD"),),
    )
    (dead,) = account(hist).of_state(DEAD)
    assert dead.reason.startswith("DEAD after attempt 1 ended transient")


def test_an_effect_applied_twice_for_one_key_is_duplicated_with_both_jobs() -> None:
    hist = History(
        run_id="r",
        submissions=(sub("j1", "storm", key="k"), sub("j2", "storm", key="k")),
        attempts=(att("j1", "storm", 1, 0.1, 0.6), att("j2", "storm", 1, 0.1, 0.7)),
        effects=(eff("j1", "storm"), eff("j2", "storm")),
        events=(final("j1", "COMPLETED"), final("j2", "COMPLETED")),
    )
    acc = account(hist)
    (dup,) = acc.duplicated
    assert dup.key == effect_key("storm")
    assert dup.job_ids == ("j1", "j2")
    assert dup.idempotency_keys == ("k",)
    assert dup.count == 2
    assert not acc.clean
    assert len(acc.of_state(COMPLETED)) == 2


def test_an_effect_nobody_enqueued_is_unexpected() -> None:
    base = completed_job("j1", "p1")
    stray = eff("j9", "ghost")
    wrong_key = eff("j1", "p1", key="effect:someone-else")
    hist = History(
        run_id="r",
        submissions=base.submissions,
        attempts=base.attempts,
        effects=(*base.effects, stray, wrong_key),
        events=base.events,
    )
    acc = account(hist)
    assert [(u.job_id, u.key) for u in acc.unexpected] == [
        ("j9", effect_key("ghost")),
        ("j1", "effect:someone-else"),
    ]
    assert not acc.clean
    assert not acc.duplicated


def test_records_of_other_scopes_are_not_soak_jobs() -> None:
    hist = completed_job("j1", "p1")
    other = Submission(
        scope="preflight",
        probe_id="x",
        job_id="jx",
        job_type="probe.default",
        idempotency_key=None,
        delay_s=0.0,
        priority=None,
        at=T0,
    )
    acc = account(
        History(
            run_id="r",
            submissions=(*hist.submissions, other),
            attempts=hist.attempts,
            effects=hist.effects,
            events=hist.events,
        )
    )
    assert [j.job_id for j in acc.jobs] == ["j1"]


def test_an_empty_history_accounts_for_nothing() -> None:
    acc = account(History(run_id="r"))
    assert acc.jobs == () and acc.timeline == () and acc.clean
    assert acc.latency.p50 is None


def test_nearest_rank_percentiles_and_bucket_widths() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 95) == 95.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 99) == 3.0
    assert percentile([], 50) is None
    assert bucket_size(10.0) == 0.5
    assert bucket_size(300.0) == 5.0
