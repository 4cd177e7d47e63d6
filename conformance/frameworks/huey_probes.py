"""The kit's probe jobs as Huey tasks, on a Huey of the kit's own beside the user's.

The kit builds a second Huey of the user's class, storage settings and serializer, under a name
of its own (its Redis keys differ, so the user's queue, schedule and results are untouched), and
registers each probe type on it with the retry policy Huey offers per task at the run's scale:
``retries``, ``retry_delay`` of one scheduler tick (1 s) and ``retry_backoff=2`` (1, 2, 4 s),
no jitter. A planned permanent failure raises Huey's ``CancelExecution(retry=False)``, Huey's
way to fail without retrying. Time limits are given only when the consumer's worker type
enforces them (process or greenlet workers; threads cannot be interrupted). Huey's signals write
what Huey did to each job into the kit's job book.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import redis
from huey import Huey, signals
from huey.exceptions import CancelExecution
from huey.storage import RedisStorage

from ..adapter import JobSpec, JobStatus
from ..probes import WORKER_ENV, ProbeTransientError, probe_catalogue, run_probe
from .appref import AppRefError
from .context import FrameworkProbeContext
from .jobbook import JobBook
from .settings import KitSettings

#: Huey's consumer moves scheduled tasks once per scheduler tick (``-s``, default 1 s).
SCHEDULER_TICK_S = 1.0
#: retry_backoff multiplies retry_delay after each retry.
BACKOFF_FACTOR = 2.0
#: The consumer's worker type (``-k``) and workers (``-w``): Huey's defaults, as its docs start it.
WORKER_TYPE = "thread"
WORKERS = 1
#: Worker types whose tasks Huey can interrupt at a timeout.
TIMEOUT_WORKER_TYPES = frozenset({"process", "greenlet"})


class ProbeCancelled(CancelExecution):  # type: ignore[misc]
    """A probe's planned permanent failure, as Huey's do-not-retry cancellation."""

    def __init__(self, message: str) -> None:
        """Cancel without retry, keeping the probe's message."""
        super().__init__(message, retry=False)


def kit_huey(app: Huey, settings: KitSettings) -> Huey:
    """Return a Huey of the user's class and storage settings under the kit's own name."""
    if not isinstance(app.storage, RedisStorage):
        raise AppRefError(
            f"the Huey app uses {type(app.storage).__name__}; the bundled huey adapter needs "
            "Redis storage (RedisHuey, PriorityRedisHuey)"
        )
    kit: Huey = type(app)(
        name=settings.prefix,
        results=app.results,
        store_none=app.store_none,
        utc=app.utc,
        serializer=app.serializer,
        **app.storage_kwargs,
    )
    return kit


def backoff_delays(spec: JobSpec) -> tuple[float, ...]:
    """Return the delays Huey waits before each retry of ``spec`` (before the scheduler's tick)."""
    return tuple(SCHEDULER_TICK_S * BACKOFF_FACTOR**i for i in range(max(spec.max_attempts - 1, 0)))


@functools.cache
def _book(huey: Huey, prefix: str) -> JobBook:
    storage: RedisStorage = huey.storage
    return JobBook(redis.Redis(connection_pool=storage.conn.connection_pool), prefix)


def book_of(huey: Huey, settings: KitSettings) -> JobBook:
    """Return the kit's job book in the Huey's Redis, under the run's prefix."""
    return _book(huey, settings.prefix)


def register_probes(huey: Huey, settings: KitSettings) -> dict[str, Any]:
    """Register every probe type as a task of the kit's Huey; return them by probe type."""
    return {spec.name: _register(huey, settings, spec) for spec in probe_catalogue(settings.timing)}


def _register(huey: Huey, settings: KitSettings, spec: JobSpec) -> Any:
    job_type = spec.name
    options: dict[str, Any] = {}
    if spec.max_attempts > 1:
        options.update(
            retries=spec.max_attempts - 1,
            retry_delay=SCHEDULER_TICK_S,
            retry_backoff=BACKOFF_FACTOR,
        )
    if spec.timeout_s is not None and WORKER_TYPE in TIMEOUT_WORKER_TYPES:
        options.update(timeout=spec.timeout_s)

    def probe(payload: dict[str, Any], task: Any = None) -> object:
        book = book_of(huey, settings)
        job_id = str(task.id)
        if not book.current(job_id):
            return {"skipped": "submitted before the kit's last reset"}
        book.started(job_id, os.environ.get(WORKER_ENV))
        attempt = spec.max_attempts - int(task.retries)
        return run_probe(
            payload,
            FrameworkProbeContext(job_id, attempt, book),
            job_type=job_type,
            worker=os.environ.get(WORKER_ENV),
            transient=ProbeTransientError,
            permanent=ProbeCancelled,
        )

    probe.__name__ = probe.__qualname__ = f"probe_{job_type.replace('.', '_')}"
    return huey.task(context=True, name=job_type, **options)(probe)


def connect_book(huey: Huey, settings: KitSettings) -> None:
    """Record, from Huey's signals in the consumer, what Huey did to each probe job."""
    outcomes = {
        signals.SIGNAL_COMPLETE: (JobStatus.COMPLETED, None),
        signals.SIGNAL_RETRYING: (JobStatus.RETRYING, "Huey will retry the task"),
        signals.SIGNAL_ERROR: (JobStatus.DEAD, "Huey: the task failed with no retries left"),
        signals.SIGNAL_CANCELED: (JobStatus.DEAD, "Huey: the task was cancelled, not retried"),
        signals.SIGNAL_TIMEOUT: (JobStatus.DEAD, "Huey: the task timed out"),
        signals.SIGNAL_INTERRUPTED: (
            JobStatus.RUNNING,
            "Huey interrupted the task at an immediate shutdown (SIGTERM) and dropped it",
        ),
    }

    def on_signal(signal: str, task: Any, exc: object = None) -> None:
        status, note = outcomes[signal]
        book = book_of(huey, settings)
        job_id = str(task.id)
        if not book.current(job_id):
            return
        if signal in (signals.SIGNAL_ERROR, signals.SIGNAL_TIMEOUT) and task.retries:
            return  # Huey sends SIGNAL_RETRYING next
        error = f"{note}: {type(exc).__name__}: {exc}" if exc is not None else note
        book.ended(job_id, status, error)

    huey.signal(*outcomes)(on_signal)
