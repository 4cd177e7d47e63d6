"""The scheduler: fires recurring entries on an absolute tick grid.

Tick ``k`` of an entry is due at ``k * every_s`` (unix time), so firings never drift. Scheduler
instances that share a :class:`ScheduleBook` agree on every tick: the first to claim ``(entry,
tick)`` fires it, the others skip it. An entry whose previous run has not finished skips the tick
(overlap prevention). A scheduler that starts after ticks were missed fires once at start
(missed-run policy ``run_once``), or not at all (``skip``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from jobforge.errors import UsageError

from ..adapter import JSONObject, ScheduleEntry
from .observability import LogSink

#: How often a scheduler with a skipped tick to fire late looks whether it may (a flaw's poll).
_LATE_POLL_S = 0.02
#: Missed-run policies the scheduler understands.
MISSED_RUN_POLICIES: frozenset[str] = frozenset({"skip", "run_once"})


@dataclass
class _EntryState:
    last_tick: int | None = None  # the last tick handled (fired or skipped for overlap)
    last_job: str | None = None  # the job of the last firing


@dataclass
class ScheduleBook:
    """Shared scheduling state: claimed ticks and each entry's last tick and job."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    claimed: set[tuple[str, int]] = field(default_factory=set)
    entries: dict[str, _EntryState] = field(default_factory=dict)

    def claim_tick(self, name: str, tick: int) -> bool:
        """Return True for the one caller that claims ``(name, tick)`` first."""
        with self.lock:
            if (name, tick) in self.claimed:
                return False
            self.claimed.add((name, tick))
            return True

    def state(self, name: str) -> _EntryState:
        """Return the state of entry ``name`` (call with ``lock`` held)."""
        return self.entries.setdefault(name, _EntryState())

    def clear(self) -> None:
        """Forget every tick and entry."""
        with self.lock:
            self.claimed.clear()
            self.entries.clear()


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One entry to fire, with its policies."""

    entry: ScheduleEntry
    prevent_overlap: bool = True  # skip a tick while the entry's previous run is unfinished
    missed_run_policy: str = "run_once"  # what to do at start about ticks missed while down
    queue_skipped: bool = False  # fire a tick skipped for overlap once the last run ends (a flaw)

    def __post_init__(self) -> None:
        """Reject a policy the scheduler does not implement, or a bad interval."""
        if self.missed_run_policy not in MISSED_RUN_POLICIES:
            raise UsageError(
                f"schedule {self.entry.name!r} has missed_run_policy="
                f"{self.missed_run_policy!r}; choose one of "
                f"{', '.join(sorted(MISSED_RUN_POLICIES))}"
            )
        if self.entry.every_s <= 0:
            raise UsageError(
                f"schedule entry {self.entry.name!r} has every_s={self.entry.every_s!r}; "
                "it must be a positive number of seconds"
            )


def tick_of(now: float, every_s: float) -> int:
    """Return the index of the tick period containing ``now``."""
    return math.floor(now / every_s + 1e-9)


class Scheduler:
    """One scheduler instance: a thread firing its entries' ticks."""

    def __init__(
        self,
        scheduler_id: str,
        schedules: Sequence[Schedule],
        *,
        submit: Callable[[str, JSONObject], str],
        finished: Callable[[str], bool],
        book: ScheduleBook,
        log: LogSink,
    ) -> None:
        self.scheduler_id = scheduler_id
        self._schedules = tuple(schedules)
        self._submit = submit
        self._finished = finished
        self._book = book
        self._log = log
        self._stop = threading.Event()
        self._late: dict[str, tuple[Schedule, int]] = {}  # skipped ticks to fire late (a flaw)
        self._thread = threading.Thread(target=self._run, name=scheduler_id, daemon=True)

    def start(self) -> None:
        """Catch up on missed ticks per the policy, then fire on every tick until stopped."""
        self._thread.start()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop firing and wait (bounded) for the thread to exit."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)

    @property
    def alive(self) -> bool:
        """Whether the scheduler thread is running."""
        return self._thread.is_alive()

    def _run(self) -> None:
        now = time.time()
        due: dict[str, int] = {}
        for schedule in self._schedules:
            entry = schedule.entry
            current = tick_of(now, entry.every_s)
            with self._book.lock:
                last = self._book.state(entry.name).last_tick
            missed = last is not None and last < current
            if missed and schedule.missed_run_policy == "run_once":
                self._fire(schedule, current, catch_up=True)
            due[entry.name] = current + 1
        while not self._stop.is_set():
            soonest = min(
                (due[s.entry.name] * s.entry.every_s for s in self._schedules),
                default=time.time() + 1.0,
            )
            if self._late:
                soonest = min(soonest, time.time() + _LATE_POLL_S)
            if self._stop.wait(max(0.0, soonest - time.time())):
                return
            self._fire_late()
            now = time.time()
            for schedule in self._schedules:
                entry = schedule.entry
                tick = due[entry.name]
                if tick * entry.every_s > now:
                    continue
                # Woken late past several ticks: coalesce them into the latest one.
                latest = max(tick, tick_of(now, entry.every_s))
                self._fire(schedule, latest, catch_up=latest != tick)
                due[entry.name] = latest + 1

    def _fire(self, schedule: Schedule, tick: int, *, catch_up: bool) -> None:
        entry = schedule.entry
        if not self._book.claim_tick(entry.name, tick):
            return  # another scheduler instance fired this tick
        with self._book.lock:
            state = self._book.state(entry.name)
            previous = state.last_job
            state.last_tick = max(tick, state.last_tick if state.last_tick is not None else tick)
        if schedule.prevent_overlap and previous is not None and not self._finished(previous):
            if schedule.queue_skipped:
                self._late[entry.name] = (schedule, tick)
            self._log.emit(
                "schedule_skipped",
                job_id=previous,
                schedule=entry.name,
                tick=tick,
                scheduler=self.scheduler_id,
                reason="previous run still unfinished",
            )
            return
        self._submit_run(schedule, tick, catch_up=catch_up)

    def _fire_late(self) -> None:
        """Fire each remembered skipped tick whose blocking run has ended (the flaw)."""
        for name, (schedule, tick) in list(self._late.items()):
            with self._book.lock:
                previous = self._book.state(name).last_job
            if previous is None or self._finished(previous):
                del self._late[name]
                self._submit_run(schedule, tick, catch_up=True)

    def _submit_run(self, schedule: Schedule, tick: int, *, catch_up: bool) -> None:
        entry = schedule.entry
        job_id = self._submit(entry.job_type, dict(entry.payload))
        with self._book.lock:
            self._book.state(entry.name).last_job = job_id
        self._log.emit(
            "schedule_fired",
            job_id=job_id,
            job_type=entry.job_type,
            schedule=entry.name,
            tick=tick,
            due_at=tick * entry.every_s,
            catch_up=catch_up,
            scheduler=self.scheduler_id,
        )
