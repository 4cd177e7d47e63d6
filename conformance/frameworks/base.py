"""What every bundled adapter for a process-based framework shares.

A framework adapter says how to start one worker (the framework's own CLI), how to enqueue a
probe job and how to empty the kit's queue; this base does the rest the same way for every
framework: worker processes and their pid trees (:mod:`.workers`), the kit's job book
(:mod:`.jobbook`) behind ``inspect``, resets by generation, and the calls a framework without
dead letters, metrics, logs or alerts answers honestly (nothing, or not implemented).
"""

from __future__ import annotations

import abc
import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path

from ..adapter import (
    DeadLetter,
    Description,
    JobInfo,
    JobStatus,
    JSONObject,
    JSONValue,
    RunContext,
    ScheduleEntry,
    Timing,
)
from ..probes import WORKER_ENV
from .jobbook import JobBook
from .settings import KitSettings
from .workers import WorkerCommand, WorkerSet


def kit_prefix(framework: str) -> str:
    """Return a queue name / key prefix of the kit's own, unique per adapter instance."""
    return f"jobforge-{framework}-{uuid.uuid4().hex[:8]}"


class FrameworkAdapter(abc.ABC):
    """The shared half of a bundled adapter; subclasses fill in the framework's half."""

    framework: str = ""
    #: What the framework does to a job whose worker died mid-attempt (said in ``inspect``).
    lost_in_flight: str = ""

    def __init__(self, app: str, *, search: Path) -> None:
        """Keep the user's app reference; a subclass imports and reads the app."""
        self.app_ref = app
        self.search = search
        self.prefix = kit_prefix(self.framework)
        self.timing = Timing()
        self._workers: WorkerSet | None = None
        self._book: JobBook | None = None

    # -- the framework's half -------------------------------------------------------------

    @abc.abstractmethod
    def worker_command(self, worker: str, settings: KitSettings) -> WorkerCommand:
        """Return the framework's CLI command starting one worker on the kit's queue."""

    @abc.abstractmethod
    def open_book(self, settings: KitSettings) -> JobBook:
        """Return the kit's job book in the app's store, under ``settings.prefix``."""

    @abc.abstractmethod
    def prepare(self, settings: KitSettings) -> None:
        """Register the probes on the user's app in this process, at the run's timings."""

    @abc.abstractmethod
    def enqueue(self, job_type: str, job_id: str, payload: JSONObject, delay_s: float) -> None:
        """Enqueue one probe job with the framework under ``job_id``."""

    @abc.abstractmethod
    def purge(self) -> None:
        """Empty the kit's queue (and schedule) in the framework's store."""

    # -- shared ---------------------------------------------------------------------------

    @property
    def settings(self) -> KitSettings:
        """What the worker processes are told (the run's timings included)."""
        return KitSettings(
            framework=self.framework,
            app=self.app_ref,
            search=self.search.resolve(),
            prefix=self.prefix,
            timing=self.timing,
        )

    @property
    def book(self) -> JobBook:
        """The kit's job book (after ``setup``)."""
        if self._book is None:
            self._book = self.open_book(self.settings)
        return self._book

    @property
    def workers(self) -> WorkerSet:
        """The running workers (after ``setup``)."""
        if self._workers is None:
            raise RuntimeError(f"the {self.framework} adapter was used before setup()")
        return self._workers

    @abc.abstractmethod
    def describe(self) -> Description:
        """Declare what the framework offers with the user's app's configuration."""

    def setup(self, ctx: RunContext) -> None:
        """Adopt the run's timings, register the probes, and get ready to start workers."""
        self.timing = ctx.timing
        settings = self.settings
        self.prepare(settings)

        def command(worker: str) -> WorkerCommand:
            base = self.worker_command(worker, settings)
            env = {**base.env, **settings.to_env(), WORKER_ENV: worker}
            return dataclasses.replace(base, env=env)

        self._workers = WorkerSet(
            logs=ctx.workdir / f"{self.framework}-workers", command_for=command
        )
        self.book.clear()

    def reset(self) -> None:
        """Empty the kit's queue and disown every earlier job (they are skipped if they run)."""
        self.purge()
        self.book.reset()

    def teardown(self) -> None:
        """Stop every worker, empty the queue and remove the kit's keys."""
        if self._workers is not None:
            self._workers.stop_all(grace_s=self.timing.grace_s)
        self.purge()
        self.book.clear()

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` workers with the framework's CLI; return once each is ready."""
        return self.workers.start(count)

    def worker_pids(self, worker: str) -> Sequence[int]:
        """Every process of ``worker``: main process and its pool children."""
        return self.workers.pids(worker)

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """SIGTERM the worker (SIGKILL after the grace period), or SIGKILL it; reap it."""
        self.workers.stop(worker, graceful=graceful, grace_s=self.timing.grace_s)

    def kill_worker(self, worker: str) -> None:
        """SIGKILL every process of the worker; reap it."""
        self.workers.stop(worker, graceful=False, grace_s=0.0)

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Enqueue a probe job; the framework has no idempotency keys, so the key is unused."""
        job_id = str(uuid.uuid4())
        self.book.submitted(job_id, job_type)
        self.enqueue(job_type, job_id, payload, delay_s)
        return job_id

    def inspect(self, job_id: str) -> JobInfo:
        """Return the job as the framework left it (RUNNING on a dead worker says why)."""
        info = self.book.info(job_id)
        if info is None:
            return JobInfo(job_id=job_id, job_type="unknown", status=JobStatus.PENDING, attempts=0)
        if info.status is JobStatus.RUNNING:
            worker = self.book.worker_of(job_id)
            if worker and worker not in self.workers.running:
                said = info.error or self.lost_in_flight
                return dataclasses.replace(info, error=f"its worker {worker} is gone: {said}")
        return info

    def dead_letters(self) -> Sequence[DeadLetter]:
        """Answer for a framework that keeps no dead-letter queue."""
        return ()

    def replay(self, job_id: str) -> str:
        """Answer for a framework that has no dead-letter replay."""
        raise NotImplementedError(f"{self.framework} keeps no dead letters to replay")

    def metrics(self) -> Mapping[str, float]:
        """Answer for a framework that exports no metrics of its own."""
        raise NotImplementedError(f"{self.framework} exports no job metrics")

    def health(self) -> Mapping[str, JSONValue]:
        """Answer for a framework that has no health endpoint."""
        raise NotImplementedError(f"{self.framework} has no health endpoint")

    def logs(self) -> Sequence[JSONObject]:
        """Answer for a framework that writes no structured job logs the kit can read."""
        return ()

    def alerts(self) -> Sequence[JSONObject]:
        """Answer for a framework that fires no alerts."""
        return ()

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """No scheduler at the kit's scale (subclasses with one override this)."""
        raise NotImplementedError(f"{self.framework}: no scheduler at second scale")

    def stop_scheduler(self, scheduler: str) -> None:
        """No scheduler at the kit's scale."""
        raise NotImplementedError(f"{self.framework}: no scheduler at second scale")
