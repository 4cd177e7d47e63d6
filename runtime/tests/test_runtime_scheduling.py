"""Schedules: cron through cronsim in a time zone, tick policies, one firing per tick."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable

import fixture_app
import pytest
from cronsim import CronSim
from runtime_support import Clock, RecordingDispatcher

from jobforge_runtime import Schedule, SettingsError
from jobforge_runtime.records import JobStatus
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.scheduling import Scheduler, due_ticks, next_cron

pytestmark = pytest.mark.unit
Build = Callable[..., tuple[Runtime, RecordingDispatcher]]
UTC = dt.UTC
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


def at(*args: int, tz: dt.tzinfo = UTC) -> float:
    return dt.datetime(*args, tzinfo=tz).timestamp()


def firings(expr: str, start: float, tz: dt.tzinfo, n: int) -> list[dt.datetime]:
    found, when = [], start
    for _ in range(n):
        when = next_cron(expr, when, tz)
        found.append(dt.datetime.fromtimestamp(when, tz))
    return found


def reference(expr: str, start: float, tz: dt.tzinfo, n: int) -> list[dt.datetime]:
    it = CronSim(expr, dt.datetime.fromtimestamp(start, tz))
    return [next(it) for _ in range(n)]


def test_day_of_month_or_day_of_week_fires_on_either_as_cron_does() -> None:
    after = at(2026, 12, 1, 0, 30)
    assert firings("0 0 1 * 1", after, UTC, 3) == [
        dt.datetime(2026, 12, 7, tzinfo=UTC),
        dt.datetime(2026, 12, 14, tzinfo=UTC),
        dt.datetime(2026, 12, 21, tzinfo=UTC),
    ]
    assert firings("0 0 1 * 1", after, UTC, 8) == reference("0 0 1 * 1", after, UTC, 8)


def test_a_macro_fires_like_the_expression_it_stands_for() -> None:
    after = at(2026, 3, 27, 12, tz=BERLIN)
    assert firings("@daily", after, BERLIN, 5) == reference("0 0 * * *", after, BERLIN, 5)


def test_weekday_names_in_a_zone_with_dst_match_the_library() -> None:
    after = at(2026, 3, 26, 12, tz=BERLIN)  # the clocks go forward on Sunday 29 March
    got = firings("0 8 * * MON-FRI", after, BERLIN, 6)
    assert got == reference("0 8 * * MON-FRI", after, BERLIN, 6)
    assert [d.hour for d in got] == [8] * 6  # 08:00 local on both sides of the change
    assert got[1].utcoffset() != got[0].utcoffset()


def test_a_time_skipped_by_dst_fires_when_the_clock_jumps() -> None:
    after = at(2026, 3, 28, 12, tz=BERLIN)
    first = firings("30 2 * * *", after, BERLIN, 1)[0]
    assert first == dt.datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)


def test_an_invalid_cron_expression_names_the_field_and_an_example() -> None:
    with pytest.raises(SettingsError, match=r"cron='61 \* \* \* \*'.*'0 8 \* \* MON-FRI'"):
        Schedule(name="bad", job=fixture_app.tick_a, cron="61 * * * *")


def test_an_unknown_time_zone_is_rejected_with_an_example() -> None:
    with pytest.raises(SettingsError, match=r"timezone='Mars/Olympus'.*Europe/Berlin"):
        Schedule(name="bad", job=fixture_app.tick_a, cron="@daily", timezone="Mars/Olympus")


def test_a_schedule_needs_exactly_one_of_cron_and_interval() -> None:
    with pytest.raises(SettingsError, match="exactly one of cron= and every_s="):
        Schedule(name="both", job=fixture_app.tick_a, cron="@daily", every_s=60)


EVERY_10 = Schedule(name="s", job=fixture_app.tick_a, every_s=10)


def test_missed_runs_skip_drops_them() -> None:
    fire, missed = due_ticks(EVERY_10, last=100, now=145, policy="skip", grace_s=2)
    assert (fire, missed) == ([], [110, 120, 130, 140])


def test_missed_runs_run_once_fires_the_latest() -> None:
    fire, missed = due_ticks(EVERY_10, last=100, now=145, policy="run_once", grace_s=2)
    assert (fire, missed) == ([140], [110, 120, 130])


def test_missed_runs_run_all_fires_each() -> None:
    fire, missed = due_ticks(EVERY_10, last=100, now=145, policy="run_all", grace_s=2)
    assert (fire, missed) == ([110, 120, 130, 140], [])


def test_two_schedulers_fire_each_tick_once_and_each_schedule_its_own_job(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime(overlap_policy="allow")
    schedules = [
        Schedule(name="a", job=fixture_app.tick_a, every_s=10),
        Schedule(name="b", job=fixture_app.tick_b, every_s=10),
    ]
    first, second = Scheduler(runtime, schedules), Scheduler(runtime, schedules)
    clock.now = 1000.0
    assert first.tick_once() + second.tick_once() == 2
    for _ in range(3):
        clock.now += 10
        assert first.tick_once() + second.tick_once() == 2
    jobs = runtime.ledger.list_jobs()
    ticks = sorted((r.job_type, r.payload["tick"]) for r in jobs)
    assert ticks == [
        (t, float(s)) for t in ("test.tick_a", "test.tick_b") for s in (1000, 1010, 1020, 1030)
    ]
    assert len(dispatcher.sent) == 8


def test_overlap_skip_does_not_fire_while_the_previous_run_is_active(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime(overlap_policy="skip")
    scheduler = Scheduler(runtime, [Schedule(name="a", job=fixture_app.tick_a, every_s=10)])
    clock.now = 1000.0
    assert scheduler.tick_once() == 1
    clock.now = 1010.0
    assert scheduler.tick_once() == 0  # the 1000 run is still pending
    assert runtime.ledger.counters()[("schedule_skipped_total", "a")] == 1


def test_overlap_allow_fires_while_the_previous_run_is_active(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime(overlap_policy="allow")
    scheduler = Scheduler(runtime, [Schedule(name="a", job=fixture_app.tick_a, every_s=10)])
    clock.now = 1000.0
    scheduler.tick_once()
    clock.now = 1010.0
    assert scheduler.tick_once() == 1
    assert [r.status for r in runtime.ledger.list_jobs()] == [JobStatus.PENDING] * 2


def test_a_restarted_scheduler_applies_the_missed_run_policy(
    make_runtime: Build, clock: Clock
) -> None:
    runtime, _ = make_runtime(missed_run_policy="run_once", overlap_policy="allow")
    schedule = Schedule(name="a", job=fixture_app.tick_a, every_s=10)
    clock.now = 1000.0
    Scheduler(runtime, [schedule]).tick_once()
    clock.now = 1055.0  # down for five ticks
    assert Scheduler(runtime, [schedule]).tick_once() == 1
    assert sorted(r.payload["tick"] for r in runtime.ledger.list_jobs()) == [1000.0, 1050.0]


def test_the_ledger_lets_one_of_two_schedulers_fire_a_tick(
    make_runtime: Build, clock: Clock
) -> None:
    from jobforge_runtime.records import NewJob

    runtime, _ = make_runtime()

    def job(job_id: str) -> NewJob:  # two schedulers build different jobs for one tick
        return NewJob(job_id=job_id, job_type="test.tick_a", payload={"tick": 5.0})

    fired = [
        runtime.ledger.fire("a", 5.0, job(job_id), skip_if_active=False, now=clock.now)
        for job_id in ("first", "second")
    ]
    assert fired == [True, False]
    assert [r.job_id for r in runtime.ledger.list_jobs()] == ["first"]


def test_a_firing_whose_message_cannot_be_queued_is_never_lost(
    make_runtime: Build, clock: Clock
) -> None:
    from jobforge_runtime.ledger.postgres import PostgresLedger
    from jobforge_runtime.ledger.sqlite import SqliteLedger
    from jobforge_runtime.recovery import reap

    runtime, dispatcher = make_runtime()
    scheduler = Scheduler(runtime, [Schedule(name="a", job=fixture_app.tick_a, every_s=10)])
    clock.now = 1000.0
    dispatcher.fail = True
    with pytest.raises(ConnectionError):
        scheduler.tick_once()
    dispatcher.fail = False
    if isinstance(
        runtime.ledger, (SqliteLedger, PostgresLedger)
    ):  # tick, job, message: one transaction
        assert runtime.ledger.list_jobs() == []
        assert scheduler.tick_once() == 1  # the tick is still due and fires now
    else:  # the job is kept and published by the reaper
        clock.now += runtime.settings.redispatch_after_s + 1
        reap(runtime)
    assert [sent[1] for sent in dispatcher.sent] == ["test.tick_a"]
