"""Recurring jobs: cron (through cronsim, in a time zone) or interval, each firing its own job.

Ticks are absolute times (cron times in the schedule's zone, or multiples of the interval since
the epoch), so every scheduler instance computes the same ticks and the ledger's ``fire`` lets one
of them fire each tick. Overlap: ``skip`` does not fire while the previous run is active,
``queue`` fires and the run waits for the previous one, ``allow`` runs them side by side. Missed
runs (no scheduler was running): ``skip`` drops them, ``run_once`` fires the latest, ``run_all``
fires each. Cron follows Debian cron: with both day fields restricted a day matches either; a
time skipped by a DST change runs when the clock jumps, a repeated one runs once.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cronsim import CronSim, CronSimError

from jobforge_runtime.catalogue import AnyJob
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.logs import log_event
from jobforge_runtime.records import NewJob
from jobforge_runtime.settings import MissedRunPolicy, OverlapPolicy

if TYPE_CHECKING:
    from jobforge_runtime.runtime import Runtime

#: Debian cron's macros, as the five-field expressions they stand for.
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


def cron_expression(expr: str) -> str:
    """Return ``expr`` with a macro expanded; raise :class:`SettingsError` when it is invalid."""
    text = MACROS.get(expr.strip().lower(), expr.strip())
    try:
        CronSim(text, dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    except CronSimError as exc:
        raise SettingsError(
            f"cron={expr!r}: {exc}; use five fields (minute hour day month weekday), "
            "e.g. '0 8 * * MON-FRI', or a macro such as @daily"
        ) from None
    return text


def zone(name: str) -> zoneinfo.ZoneInfo:
    """Return the time zone ``name``; raise :class:`SettingsError` naming the fix."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"timezone={name!r} is not a known IANA time zone; use e.g. 'UTC' or 'Europe/Berlin'"
        ) from None


def next_cron(expr: str, after: float, tz: dt.tzinfo) -> float:
    """Return the first firing of cron ``expr`` strictly after unix time ``after``, in ``tz``."""
    start = dt.datetime.fromtimestamp(after, tz)
    for when in CronSim(cron_expression(expr), start):
        if when.timestamp() > after:
            return when.timestamp()
    raise SettingsError(f"cron={expr!r} never fires; fix the expression")  # pragma: no cover


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """One recurring job: ``Schedule(name="nightly", job=purge_uploads, cron="30 2 * * *")``."""

    name: str
    job: AnyJob  # the job type this schedule fires
    cron: str | None = None  # five fields or a macro, in ``timezone``
    every_s: float | None = None
    timezone: str = "UTC"
    payload: dict[str, Any] = field(default_factory=dict)  # plus ``tick`` if the model has it
    overlap: OverlapPolicy | None = None  # None: the settings' policy
    missed_runs: MissedRunPolicy | None = None  # None: the settings' policy

    def __post_init__(self) -> None:
        """Require exactly one of ``cron`` and ``every_s``, both valid."""
        where = f"schedule {self.name!r}"
        if (self.every_s is None) == (self.cron is None):
            raise SettingsError(f"{where}: give exactly one of cron= and every_s=")
        if self.every_s is not None and self.every_s <= 0:
            raise SettingsError(f"{where}: every_s={self.every_s}; use a number of seconds > 0")
        if self.cron is not None:
            cron_expression(self.cron)
        zone(self.timezone)

    def next_tick(self, after: float) -> float:
        """Return the first tick strictly after ``after``."""
        if self.every_s is not None:
            return (math.floor(after / self.every_s) + 1) * self.every_s
        assert self.cron is not None
        return next_cron(self.cron, after, zone(self.timezone))

    def ticks_between(self, start: float, end: float, *, limit: int = 1000) -> list[float]:
        """Return the ticks in (start, end], at most the latest ``limit``."""
        ticks: list[float] = []
        tick = self.next_tick(start)
        while tick <= end:
            ticks.append(tick)
            if len(ticks) > limit:
                ticks.pop(0)
            tick = self.next_tick(tick)
        return ticks


def due_ticks(
    schedule: Schedule,
    *,
    last: float | None,
    now: float,
    policy: str,
    grace_s: float,
    first_window_s: float = 0.1,
) -> tuple[list[float], list[float]]:
    """Return (ticks to fire, missed ticks to mark handled without firing).

    A tick is on time while ``now - tick <= grace_s``; older unhandled ticks were missed. A
    schedule that never fired starts with a tick inside ``first_window_s`` of now, if any.
    """
    if last is None:
        return schedule.ticks_between(now - first_window_s, now)[-1:], []
    ticks = schedule.ticks_between(last, now)
    on_time = [t for t in ticks if now - t <= grace_s]
    missed = [t for t in ticks if now - t > grace_s]
    if not missed or policy == "run_all":
        return ticks, []
    if policy == "run_once":
        return [missed[-1], *on_time], missed[:-1]
    return on_time, missed


class Scheduler:
    """Fire due ticks of ``schedules`` until stopped; several instances may run at once."""

    def __init__(
        self,
        runtime: Runtime,
        schedules: Sequence[Schedule],
        *,
        poll_s: float = 0.5,
        grace_s: float | None = None,
    ) -> None:
        """Prepare a scheduler polling every ``poll_s`` seconds."""
        self.runtime = runtime
        self.schedules = tuple(schedules)
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.stopping = threading.Event()
        self._resumed: set[str] = set()  # schedules past their first pass in this process

    def _grace(self, schedule: Schedule) -> float:
        if self.grace_s is not None:
            return self.grace_s
        interval = schedule.every_s or 60.0
        return max(self.poll_s * 4, min(interval / 2, 30.0))

    def tick_once(self) -> int:
        """Fire every due tick once; return how many jobs were fired."""
        fired = 0
        settings = self.runtime.settings
        for schedule in self.schedules:
            now = self.runtime.clock()
            last = self.runtime.ledger.last_tick(schedule.name)
            policy = schedule.missed_runs or settings.missed_run_policy
            # On this process's first pass, every tick since the last firing passed while no
            # scheduler ran: all of them are missed runs, handled by the policy.
            grace = self._grace(schedule) if schedule.name in self._resumed else 0.0
            self._resumed.add(schedule.name)
            fire, missed = due_ticks(
                schedule,
                last=last,
                now=now,
                policy=policy,
                grace_s=grace,
                first_window_s=max(0.1, 2 * self.poll_s),
            )
            for tick in missed:
                self.runtime.ledger.fire(schedule.name, tick, None, skip_if_active=False, now=now)
                log_event(self.runtime.logger, "missed", schedule=schedule.name, tick=tick)
            for tick in fire:
                fired += self._fire(schedule, tick, now)
        return fired

    def _fire(self, schedule: Schedule, tick: float, now: float) -> int:
        runtime = self.runtime
        overlap = schedule.overlap or runtime.settings.overlap_policy
        job = schedule.job
        payload = dict(schedule.payload)
        if "tick" in job.payload.model_fields:
            payload["tick"] = tick
        model = job.validate(payload)
        new = NewJob(
            job_id=_new_id(),
            job_type=job.name,
            payload=model.model_dump(mode="json"),
            queue=job.queue or runtime.settings.queues[0],
            priority=job.priority,
            max_attempts=job.max_attempts or runtime.settings.max_attempts,
            idempotency_key=f"schedule:{schedule.name}:{tick!r}",
            not_before=now,
            group_key=f"schedule:{schedule.name}" if overlap != "allow" else None,
        )

        def dispatch() -> None:
            runtime.dispatcher.dispatch(
                new.job_id, new.job_type, queue=new.queue, priority=new.priority, delay_s=0.0
            )

        skip = overlap == "skip"
        fired = runtime.ledger.fire(
            schedule.name, tick, new, skip_if_active=skip, now=now, then=dispatch
        )
        if not fired:
            return 0
        log_event(
            runtime.logger,
            "scheduled",
            per_job_info=True,
            job_id=new.job_id,
            job_type=new.job_type,
            schedule=schedule.name,
            tick=tick,
        )
        return 1

    def run(self) -> None:
        """Fire ticks until :meth:`stop` is called."""
        while not self.stopping.is_set():
            try:
                self.tick_once()
            except Exception:  # a store hiccup must not end the scheduler
                self.runtime.logger.exception("scheduler pass failed")
            self.stopping.wait(self.poll_s)

    def stop(self) -> None:
        """Ask :meth:`run` to return after the current pass."""
        self.stopping.set()


def _new_id() -> str:
    from jobforge_runtime.runtime import new_job_id

    return new_job_id()
