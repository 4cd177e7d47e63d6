"""Run a soak plan against an adapter: submit on time, inject on time, drain, read the history.

The driver owns time and the workers; it records every submission and fault in the ledger,
then asks the implementation for its last view of each job (``soak.final`` events) and its
dead letters, so the pure checker has everything in the history.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from jobforge.errors import ConformanceError

from .. import faults
from ..adapter import Adapter, Description, RunContext, ScheduleEntry, Timing
from ..env import TERMINAL, Env, Guarded, ImplementationFault, WorkerPool
from ..history import LEDGER_ENV, RUN_ID_ENV, History, Ledger
from ..probes import PROBE_DEFAULT, PROBE_SCHEDULED, probe_payload
from ..tolerance import drain_deadline
from .checker import DEAD_LETTER_EVENT, DRAINED_EVENT, FINAL_EVENT
from .injectors import Injected, SchedulerSlot, inject
from .plan import SCHEDULER_SCOPE, SCOPE, FaultKind, JobPlan, SoakPlan

#: A submission the implementation refuses (e.g. during a broker outage) is retried this long.
SUBMIT_RETRY_S: Final = 10.0
_POLL_S: Final = 0.1


@dataclass(frozen=True, kw_only=True)
class FaultOutcome:
    """One fault as injected, with its verification against the final history."""

    injected: Injected
    verified: bool
    problems: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class SoakRun:
    """What a finished soak recorded."""

    description: Description
    plan: SoakPlan
    history: History
    faults: tuple[FaultOutcome, ...]
    not_enqueued: tuple[str, ...]  # probe ids the implementation refused for SUBMIT_RETRY_S
    duration_s: float
    drain_s: float  # how long the drain waited
    drained: bool  # every job reached COMPLETED or DEAD before the drain deadline


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def describe(adapter: Guarded) -> Description:
    """Return the description, or raise ConformanceError: nothing runs without it."""
    try:
        description = adapter.call("describe")
    except ImplementationFault as exc:
        raise ConformanceError(f"the adapter cannot describe itself: {exc}") from exc
    if not isinstance(description, Description):
        raise ConformanceError(
            f"adapter.describe() returned {type(description).__name__}, expected a Description"
        )
    return description


class _Progress:
    """One stderr line per tenth of the submissions."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet, self.shown = total, quiet, 0

    def step(self, done: int, faults_done: int) -> None:
        tenth = done * 10 // self.total
        if not self.quiet and tenth > self.shown:
            self.shown = tenth
            print(
                f"soak: {done}/{self.total} jobs submitted, {faults_done} faults", file=sys.stderr
            )


class Driver:
    """Runs one plan; build one per soak."""

    def __init__(self, adapter: Adapter, plan: SoakPlan, *, quiet: bool = False) -> None:
        """Prepare to run ``plan`` against ``adapter``."""
        self.adapter = Guarded(adapter)
        self.plan = plan
        self.quiet = quiet
        self.timing = Timing()
        self.run_id = f"soak-{uuid.uuid4().hex[:12]}"
        self.not_enqueued: list[str] = []
        self.injected: list[Injected] = []
        self.broken: list[ConformanceError] = []  # the kit's own failure in the fault thread

    def run(self, description: Description, workdir: Path, drain_s: float | None) -> SoakRun:
        """Set up, run the plan, drain and read the history; ConformanceError if it cannot."""
        ledger = Ledger(workdir / "ledger.db", run_id=self.run_id)
        ledger.initialize()
        context = RunContext(
            ledger_path=ledger.path, workdir=workdir, timing=self.timing, run_id=self.run_id
        )
        pool = WorkerPool(self.adapter)
        env = Env(
            adapter=self.adapter,
            ledger=ledger,
            description=description,
            timing=self.timing,
            pool=pool,
            scope=SCOPE,
            shared_cache={},
        )
        clock = time.monotonic()
        with _environment({LEDGER_ENV: str(ledger.path), RUN_ID_ENV: self.run_id}):
            try:
                self.adapter.call("setup", context)
                self.adapter.call("reset")
                pool.ensure(self.plan.config.workers)
            except ImplementationFault as exc:
                raise ConformanceError(f"the soak could not start: {exc}") from exc
            try:
                slot = self._scheduler(env)
                self._campaign(env, slot)
                self._last_tick(env)
                # the scheduler keeps running through the drain: an implementation may recover
                # jobs there (the runtime redispatches messages a broker restart lost)
                waited, drained = self._drain(env, description, drain_s)
                pool.stop_schedulers()
                self._record_finals(env)
                env.note(DRAINED_EVENT)
            except ImplementationFault as exc:
                raise ConformanceError(
                    f"the soak stopped: the implementation failed a call the kit needs to go "
                    f"on: {exc}"
                ) from exc
            finally:
                try:
                    pool.stop_schedulers()
                    self.adapter.call("teardown")
                except ImplementationFault as exc:
                    print(f"soak: teardown failed: {exc}", file=sys.stderr)
        hist = ledger.read()
        return SoakRun(
            description=description,
            plan=self.plan,
            history=hist,
            faults=tuple(_verify(i, hist) for i in self.injected),
            not_enqueued=tuple(self.not_enqueued),
            duration_s=round(time.monotonic() - clock, 3),
            drain_s=round(waited, 3),
            drained=drained,
        )

    def _scheduler(self, env: Env) -> SchedulerSlot | None:
        if FaultKind.SCHEDULER_KILL not in self.plan.kinds:
            return None
        entry = ScheduleEntry(
            name="soak-tick",
            job_type=PROBE_SCHEDULED,
            every_s=self.timing.schedule_interval_s,
            payload=probe_payload("soak-tick", scope=SCHEDULER_SCOPE, job_type=PROBE_SCHEDULED),
        )
        slot = SchedulerSlot(env=env, entries=(entry,))
        slot.start()
        return slot

    def _campaign(self, env: Env, slot: SchedulerSlot | None) -> None:
        started = time.monotonic()
        fault_thread = threading.Thread(
            target=self._faults, args=(env, slot, started), name="soak-faults", daemon=True
        )
        fault_thread.start()
        progress = _Progress(len(self.plan.jobs), self.quiet)
        for done, job in enumerate(self.plan.jobs, start=1):
            _sleep_until(started + job.at_s)
            self._submit(env, job)
            progress.step(done, len(self.injected))
        fault_thread.join()
        if self.broken:
            raise ConformanceError(f"the fault schedule stopped: {self.broken[0]}")

    def _last_tick(self, env: Env) -> None:
        """Keep the scheduler until it ticked after its last restart (bounded), then stop it."""
        restarts = [i.at for i in self.injected if i.plan.kind is FaultKind.SCHEDULER_KILL]
        if not restarts:
            return
        last = max(restarts)

        def ticked() -> bool:
            attempts = env.ledger.read(SCHEDULER_SCOPE).attempts
            return any(a.started_at > last for a in attempts)

        env.wait_until(ticked, 3 * self.timing.schedule_interval_s + 1.0)

    def _faults(self, env: Env, slot: SchedulerSlot | None, started: float) -> None:
        try:
            for planned in self.plan.faults:
                _sleep_until(started + planned.at_s)
                self.injected.append(inject(env, planned, self.plan.config, slot))
        except ConformanceError as exc:  # the ledger failed: nothing more can be judged
            self.broken.append(exc)
        finally:
            env.ledger.close()  # this thread's connection

    def _submit(self, env: Env, job: JobPlan) -> None:
        deadline = time.monotonic() + SUBMIT_RETRY_S
        while True:
            try:
                env.submit(
                    job.job_type,
                    job.payload(),
                    idempotency_key=job.idempotency_key,
                    priority=job.priority,
                )
                return
            except ImplementationFault as exc:
                if time.monotonic() >= deadline:
                    env.note("soak.not_enqueued", job.probe_id, error=str(exc))
                    self.not_enqueued.append(job.probe_id)
                    return
                time.sleep(_POLL_S)

    def _drain(
        self, env: Env, description: Description, drain_s: float | None
    ) -> tuple[float, bool]:
        known = {spec.name: spec for spec in description.jobs}
        limit = (
            drain_s
            if drain_s is not None
            else drain_deadline(known.get(PROBE_DEFAULT), self.timing) + 2 * self.timing.lease_s
        )
        pending = {s.job_id for s in env.ledger.read(SCOPE).submissions}
        started = time.monotonic()
        idle_since = [started]

        def settled() -> bool:
            for job_id in list(pending):
                try:
                    status = env.adapter.inspect(job_id).status
                except ImplementationFault:
                    continue
                if status in TERMINAL:
                    pending.discard(job_id)
                    idle_since[0] = time.monotonic()
            return not pending

        # the limit counts from the last job that settled: a backlog still draining is not lost
        while not env.wait_until(settled, idle_since[0] + limit - time.monotonic()):
            if time.monotonic() >= idle_since[0] + limit:
                return time.monotonic() - started, False
        return time.monotonic() - started, True

    def _record_finals(self, env: Env) -> None:
        mine = {s.job_id for s in env.ledger.read(SCOPE).submissions}
        for job_id in sorted(mine):
            try:
                info = env.adapter.inspect(job_id)
            except ImplementationFault as exc:
                env.note(FINAL_EVENT, job_id, status="UNKNOWN", error=str(exc))
                continue
            env.note(
                FINAL_EVENT,
                job_id,
                status=info.status.value,
                attempts=info.attempts,
                error=info.error,
            )
        try:
            letters = env.adapter.dead_letters()
        except ImplementationFault as exc:
            env.note("soak.dead_letters_unreadable", "", error=str(exc))
            return
        for letter in letters:
            if letter.job_id in mine:
                env.note(
                    DEAD_LETTER_EVENT,
                    letter.job_id,
                    error=letter.error,
                    error_kind=letter.error_kind,
                    attempts=letter.attempts,
                )


def _sleep_until(moment: float) -> None:
    left = moment - time.monotonic()
    if left > 0:
        time.sleep(left)


def _verify(injected: Injected, hist: History) -> FaultOutcome:
    problems = list(injected.problems)
    if injected.worker_fault is not None:
        problems += faults.unverified(injected.worker_fault, hist.scoped(SCOPE))
    if injected.plan.kind is FaultKind.SCHEDULER_KILL and not problems:
        later = [
            a for a in hist.attempts if a.scope == SCHEDULER_SCOPE and a.started_at > injected.at
        ]
        if not later:
            problems.append("no scheduled tick ran after the new scheduler instance started")
    return FaultOutcome(injected=injected, verified=not problems, problems=tuple(problems))
