"""The reference scheduler: tick grid, one firing per tick, overlap prevention, missed runs."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from jobforge.conformance.adapter import JSONObject, ScheduleEntry
from jobforge.conformance.reference.observability import LogSink
from jobforge.conformance.reference.scheduler import Schedule, ScheduleBook, Scheduler, tick_of

from jobforge.errors import UsageError

pytestmark = [pytest.mark.unit, pytest.mark.timing]

EVERY = 0.2
ENTRY = ScheduleEntry(name="report", job_type="probe.scheduled", every_s=EVERY)


class Jobs:
    """Stands in for the job system: records firings; jobs finish after ``runtime_s``."""

    def __init__(self, runtime_s: float = 0.0) -> None:
        self.runtime_s = runtime_s
        self.lock = threading.Lock()
        self.fired: list[float] = []

    def submit(self, job_type: str, payload: JSONObject) -> str:
        with self.lock:
            self.fired.append(time.time())
            return str(len(self.fired) - 1)

    def finished(self, job_id: str) -> bool:
        with self.lock:
            return time.time() >= self.fired[int(job_id)] + self.runtime_s


@pytest.fixture
def run() -> Iterator[Callable[..., Scheduler]]:
    running: list[Scheduler] = []

    def make(jobs: Jobs, book: ScheduleBook, **policy: object) -> Scheduler:
        schedule = Schedule(entry=ENTRY, **policy)  # type: ignore[arg-type]
        scheduler = Scheduler(
            f"s{len(running)}",
            [schedule],
            submit=jobs.submit,
            finished=jobs.finished,
            book=book,
            log=LogSink(),
        )
        scheduler.start()
        running.append(scheduler)
        return scheduler

    yield make
    for scheduler in running:
        scheduler.stop()


def test_fires_on_the_tick_grid_without_drift(run: Callable[..., Scheduler]) -> None:
    jobs = Jobs()
    run(jobs, ScheduleBook())
    time.sleep(EVERY * 5.5)
    assert len(jobs.fired) >= 4
    for at in jobs.fired:
        offset = at - tick_of(at, EVERY) * EVERY
        assert offset < 0.05, f"fired {offset:.3f} s after its tick"


@pytest.mark.parametrize("shared", [True, False], ids=["shared-book", "own-books"])
def test_two_schedulers_fire_each_tick_once_only_with_a_shared_book(
    run: Callable[..., Scheduler], shared: bool
) -> None:
    jobs = Jobs()
    book = ScheduleBook()
    run(jobs, book)
    run(jobs, book if shared else ScheduleBook())
    time.sleep(EVERY * 3.5)
    ticks = [tick_of(at, EVERY) for at in jobs.fired]
    if shared:
        assert len(ticks) == len(set(ticks)) >= 3
    else:
        assert len(ticks) > len(set(ticks))


@pytest.mark.parametrize("prevent", [True, False], ids=["skip", "allow"])
def test_tick_is_skipped_while_the_previous_run_is_unfinished(
    run: Callable[..., Scheduler], prevent: bool
) -> None:
    jobs = Jobs(runtime_s=EVERY * 1.5)
    run(jobs, ScheduleBook(), prevent_overlap=prevent)
    time.sleep(EVERY * 4.5)
    gaps = [b - a for a, b in itertools.pairwise(jobs.fired)]
    if prevent:
        assert all(gap >= EVERY * 1.5 for gap in gaps), gaps
    else:
        assert any(gap < EVERY * 1.5 for gap in gaps), gaps


@pytest.mark.parametrize("policy", ["run_once", "skip"])
def test_missed_ticks_are_caught_up_by_one_run_or_skipped(
    run: Callable[..., Scheduler], policy: str
) -> None:
    jobs = Jobs()
    book = ScheduleBook()
    first = run(jobs, book, missed_run_policy=policy)
    time.sleep(EVERY * 2.5)
    first.stop()
    fired_before = len(jobs.fired)
    time.sleep(EVERY * 3)  # three ticks missed while no scheduler runs
    now = time.time()
    time.sleep((tick_of(now, EVERY) + 1.5) * EVERY - now)  # restart mid-period, far from a tick
    restarted = time.time()
    run(jobs, book, missed_run_policy=policy)
    time.sleep(0.05)
    caught_up = [at for at in jobs.fired[fired_before:] if at - restarted < 0.05]
    assert len(caught_up) == (1 if policy == "run_once" else 0)


def test_unknown_missed_run_policy_is_rejected() -> None:
    with pytest.raises(UsageError, match="missed_run_policy='run_all'; choose one of"):
        Schedule(entry=ENTRY, missed_run_policy="run_all")
