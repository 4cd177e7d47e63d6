"""The reference adapter: the in-process job system behind the kit's Adapter contract.

``ReferenceAdapter()`` is a complete, small job system (threads, no services) that scores
35/35. ``ReferenceAdapter(flaws=frozenset({"no_backoff"}))`` turns on named defects (see
:data:`jobforge.conformance.reference.FLAWS`), each of which costs exactly one rubric dimension;
the kit uses them to prove its own verdicts.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from jobforge import __version__
from jobforge.errors import UsageError

from .. import history, probes
from ..adapter import (
    Capability,
    DeadLetter,
    Description,
    JobInfo,
    JobSpec,
    JSONObject,
    JSONValue,
    RunContext,
    ScheduleEntry,
    Timing,
)
from .config import Behaviour, behaviour_for
from .engine import JobSystem
from .flaws import validate_flaws
from .hooks import KitRecordingHooks
from .probe_jobs import PROBE_CLASSIFIER, probe_handler
from .scheduler import Schedule, ScheduleBook, Scheduler
from .worker import Worker

#: The reference's own test suite, shipped inside the package.
SELFTESTS_DIR = Path(__file__).resolve().parent / "selftests"
#: The only selftest the ``no_tests`` flaw keeps: it checks the catalogue and runs no job.
CATALOGUE_ONLY = "catalogue"

#: Everything the reference declares, except broker_restart: an in-process store has no broker
#: to restart (the kit's own tests use it as the example of an undeclared capability).
CAPABILITIES: frozenset[Capability] = frozenset(Capability) - {Capability.BROKER_RESTART}

#: Bounded waits at stop and teardown.
STOP_TIMEOUT_S = 5.0


class ReferenceAdapter:
    """The in-process reference implementation of :class:`~jobforge.conformance.adapter.Adapter`.

    Parameters are keyword-only except ``flaws``. ``worker_concurrency`` is the number of slots
    per started worker; ``global_concurrency`` caps attempts running at once across workers.
    """

    def __init__(
        self,
        flaws: Iterable[str] = frozenset(),
        *,
        worker_concurrency: int = 2,
        global_concurrency: int = 6,
    ) -> None:
        self.flaws = validate_flaws(flaws)
        self.behaviour: Behaviour = behaviour_for(self.flaws)
        if worker_concurrency < 1:
            raise UsageError(f"worker_concurrency is {worker_concurrency!r}; it must be >= 1")
        if global_concurrency < 1:
            raise UsageError(f"global_concurrency is {global_concurrency!r}; it must be >= 1")
        self._worker_concurrency = worker_concurrency
        self._global_concurrency = global_concurrency
        self._timing = Timing()
        self._context: RunContext | None = None
        self._system: JobSystem | None = None
        self._lock = threading.Lock()
        self._workers: dict[str, Worker] = {}
        self._schedulers: dict[str, Scheduler] = {}
        self._book = ScheduleBook()
        self._worker_ids = itertools.count(1)
        self._scheduler_ids = itertools.count(1)

    # -- description ---------------------------------------------------------------------------

    def catalogue(self) -> tuple[JobSpec, ...]:
        """Return the probe job types with the policies in force for the current timing."""
        specs = probes.probe_catalogue(self._timing)
        if self.behaviour.growing_backoff:
            return specs
        return tuple(
            dataclasses.replace(spec, backoff_delays_s=(spec.backoff_delays_s[0],) * n)
            if (n := len(spec.backoff_delays_s))
            else spec
            for spec in specs
        )

    def test_command(self) -> tuple[str, ...]:
        """The own test suite, run with the current interpreter."""
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--import-mode=importlib",
            # The suite must judge the same installed or in a checkout: inside this repository
            # pytest would also apply its warnings-as-errors policy, under which an exception a
            # finalizer raises while worker threads wind down (timing-dependent) fails the run.
            "-W",
            "ignore::pytest.PytestUnraisableExceptionWarning",
            str(SELFTESTS_DIR),
        ]
        if not self.behaviour.run_job_tests:
            command[-1:-1] = ["-k", CATALOGUE_ONLY]
        return tuple(command)

    def describe(self) -> Description:
        """Name, capabilities, the probe catalogue as job policies and the own test command."""
        flawed = f"+flaws:{','.join(sorted(self.flaws))}" if self.flaws else ""
        return Description(
            name="jobforge-reference",
            version=f"{__version__}{flawed}",
            backend="in-process",
            capabilities=CAPABILITIES,
            jobs=self.catalogue(),
            worker_concurrency=self._worker_concurrency,
            global_concurrency=self._global_concurrency,
            test_command=self.test_command(),
            test_cwd=SELFTESTS_DIR,
            real_broker=False,
        )

    # -- run lifecycle -------------------------------------------------------------------------

    def setup(self, ctx: RunContext) -> None:
        """Build a fresh job system for the run at ``ctx.timing``, writing to its ledger."""
        self.teardown()
        self._context = ctx
        self._timing = ctx.timing
        ledger = history.Ledger(ctx.ledger_path, run_id=ctx.run_id)
        self._system = JobSystem(
            catalogue=self.catalogue(),
            handler=probe_handler(ledger),
            behaviour=self.behaviour,
            lease_s=ctx.timing.lease_s,
            # Stay well inside the declared jitter: scheduling latency adds to every delay.
            jitter_ratio=ctx.timing.jitter_ratio / 2 if self.behaviour.jitter_backoff else 0.0,
            global_cap=self._global_concurrency,
            classify=PROBE_CLASSIFIER,
            hooks=KitRecordingHooks(),
        )

    @property
    def system(self) -> JobSystem:
        """The job system of the current run; UsageError before :meth:`setup`."""
        if self._system is None:
            raise UsageError("the reference adapter has no run: call setup(RunContext(...)) first")
        return self._system

    def reset(self) -> None:
        """Stop schedulers, abandon attempts in flight and empty every store (workers stay)."""
        self._stop_schedulers()
        self._book.clear()
        if self._system is not None:
            self._system.clear()
        with self._lock:
            dead = [wid for wid, worker in self._workers.items() if not worker.alive]
            for wid in dead:
                del self._workers[wid]

    def teardown(self) -> None:
        """Stop every scheduler and worker, joining each thread with a bounded wait."""
        self._stop_schedulers()
        with self._lock:
            workers = list(self._workers.values())
            self._workers.clear()
        if self._system is not None:
            self._system.abandon_all()  # job bodies stop at their next call into the context
        for worker in workers:
            worker.kill()  # the run is over: nothing in flight is worth finishing
        for worker in workers:
            worker.join(STOP_TIMEOUT_S)
        if self._system is not None:
            self._system.clear()
        self._book.clear()

    # -- workers -------------------------------------------------------------------------------

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` worker threads groups; return their ids."""
        if count < 1:
            raise UsageError(f"count is {count!r}; start at least one worker")
        system = self.system
        started: list[str] = []
        for _ in range(count):
            worker_id = f"worker-{next(self._worker_ids)}"
            worker = Worker(worker_id, system, self._worker_concurrency)
            with self._lock:
                self._workers[worker_id] = worker
            worker.start()
            started.append(worker_id)
        return started

    def _worker(self, worker: str) -> Worker:
        with self._lock:
            found = self._workers.get(worker)
            known = ", ".join(sorted(self._workers)) or "none"
        if found is None:
            raise UsageError(f"worker {worker!r} is unknown; running workers: {known}")
        return found

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """SIGTERM (finish the current jobs, then exit) or, with ``graceful=False``, SIGKILL."""
        if not graceful:
            self.kill_worker(worker)
            return
        self._worker(worker).stop()

    def kill_worker(self, worker: str) -> None:
        """SIGKILL: the worker stops at once; its in-flight jobs wait for their leases to expire."""
        self._worker(worker).kill()

    def worker_alive(self, worker: str) -> bool:
        """Whether a slot thread of ``worker`` still runs (the kit's in-process fault seam)."""
        with self._lock:
            found = self._workers.get(worker)
        return found is not None and found.alive

    def workers_alive(self) -> int:
        """Workers still running."""
        with self._lock:
            return sum(1 for worker in self._workers.values() if worker.alive)

    # -- jobs ----------------------------------------------------------------------------------

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Enqueue a job (JSON payload only); a duplicate idempotency key returns the first id."""
        return self.system.submit(
            job_type,
            payload,
            idempotency_key=idempotency_key,
            delay_s=delay_s,
            priority=priority,
        )

    def inspect(self, job_id: str) -> JobInfo:
        """Return the job system's view of one job."""
        return self.system.inspect(job_id)

    def dead_letters(self) -> Sequence[DeadLetter]:
        """Return the dead-letter queue, oldest first."""
        return self.system.dead_letters()

    def replay(self, job_id: str) -> str:
        """Re-enqueue a dead job; return the new job's id."""
        return self.system.replay(job_id)

    # -- observability -------------------------------------------------------------------------

    def metrics(self) -> Mapping[str, float]:
        """Counters and gauges (jobs_*_total, queue_depth, dlq_size)."""
        return self.system.snapshot_metrics()

    def health(self) -> Mapping[str, JSONValue]:
        """Return the health document: ``ok`` while a run is set up and a worker is alive."""
        if self._system is None:
            return {"status": "down", "reason": "no run: setup() was not called"}
        values = self._system.snapshot_metrics()
        with self._lock:
            schedulers = sum(1 for s in self._schedulers.values() if s.alive)
        alive = self.workers_alive()
        healthy = alive > 0 or not self.behaviour.health_reflects_workers
        return {
            "status": "ok" if healthy else "down",
            "backend": "in-process",
            "workers_alive": alive,
            "schedulers_alive": schedulers,
            "queue_depth": int(values["queue_depth"]),
            "dlq_size": int(values["dlq_size"]),
            "jobs_running": int(values["jobs_running"]),
            "uptime_s": round(time.time() - self._system.started_at, 3),
        }

    def logs(self) -> Sequence[JSONObject]:
        """Structured log records since the last reset."""
        return self.system.log.records()

    def alerts(self) -> Sequence[JSONObject]:
        """Alerts since the last reset."""
        return self.system.alerts.alerts()

    # -- scheduling ----------------------------------------------------------------------------

    def _schedule(self, entry: ScheduleEntry) -> Schedule:
        spec = self.system.spec(entry.job_type)
        overlap = (spec.overlap_policy or "skip") == "skip"
        return Schedule(
            entry=entry,
            prevent_overlap=overlap and self.behaviour.prevent_overlap,
            missed_run_policy=spec.missed_run_policy or "run_once",
            queue_skipped=self.behaviour.queue_skipped_ticks,
        )

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """Start one scheduler instance; instances share one tick lock and schedule state."""
        system = self.system
        schedules = [self._schedule(entry) for entry in entries]
        book = self._book if self.behaviour.shared_tick_lock else ScheduleBook()
        scheduler_id = f"scheduler-{next(self._scheduler_ids)}"
        scheduler = Scheduler(
            scheduler_id,
            schedules,
            submit=lambda job_type, payload: system.submit(job_type, payload),
            finished=system.is_finished,
            book=book,
            log=system.log,
        )
        with self._lock:
            self._schedulers[scheduler_id] = scheduler
        scheduler.start()
        return scheduler_id

    def stop_scheduler(self, scheduler: str) -> None:
        """Stop one scheduler instance."""
        with self._lock:
            found = self._schedulers.pop(scheduler, None)
            known = ", ".join(sorted(self._schedulers)) or "none"
        if found is None:
            raise UsageError(f"scheduler {scheduler!r} is unknown; running schedulers: {known}")
        found.stop(STOP_TIMEOUT_S)

    def _stop_schedulers(self) -> None:
        with self._lock:
            schedulers = list(self._schedulers.values())
            self._schedulers.clear()
        for scheduler in schedulers:
            scheduler.stop(STOP_TIMEOUT_S)
