"""The kit's probe jobs as Celery tasks on the user's own Celery app.

Each probe type becomes a task named ``<prefix>.<probe type>`` on the user's app, routed to the
kit's queue ``<prefix>``, with the policies Celery offers per task at the run's scale: automatic
retry of the probe's transient error with Celery's exponential backoff (``retry_backoff=True``:
1, 2, 4 s, full jitter by default) and, on a pool that enforces them, soft and hard time limits.
App-wide settings (``task_acks_late``, ``task_reject_on_worker_lost``, prefetch, pool,
concurrency, result backend) stay the user's: the kit adds no reliability of its own.
Celery's task signals write what Celery did to each job into the kit's job book.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from typing import Any

import redis
from celery import Celery, Task, signals

from ..adapter import JobSpec, JobStatus
from ..probes import (
    WORKER_ENV,
    ProbePermanentError,
    ProbeTransientError,
    probe_catalogue,
    run_probe,
)
from .context import FrameworkProbeContext
from .jobbook import JobBook
from .settings import KitSettings

#: Celery's retry_backoff=True doubles from 1 s (its factor is a whole number of seconds).
BACKOFF_FACTOR_S = 1
#: Celery's default retry_backoff_max.
BACKOFF_MAX_S = 600
#: Pools that enforce time limits (Celery: prefork only, by signals to the pool child).
TIME_LIMIT_POOLS = frozenset({"prefork", "processes"})
#: The hard limit (SIGKILL of the pool child) follows the soft one after this long.
HARD_LIMIT_MARGIN_S = 2.0


def pool_of(app: Celery) -> str:
    """Return the pool the app's workers use (``worker_pool``; Celery's default is prefork)."""
    return str(app.conf.worker_pool or "prefork")


def concurrency_of(app: Celery) -> int:
    """Slots per worker (``worker_concurrency``; Celery's default is the number of CPUs)."""
    return int(app.conf.worker_concurrency or os.cpu_count() or 1)


def backoff_delays(spec: JobSpec) -> tuple[float, ...]:
    """Return the delays Celery's retry_backoff really uses before each retry of ``spec``."""
    return tuple(
        float(min(BACKOFF_FACTOR_S * 2**i, BACKOFF_MAX_S))
        for i in range(max(spec.max_attempts - 1, 0))
    )


def redis_url(app: Celery) -> str:
    """Return the app's Redis broker URL; the kit keeps its job book there."""
    url = str(app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")):
        from .appref import AppRefError

        raise AppRefError(
            f"the Celery app's broker_url is {url or 'unset'!r}; the bundled celery adapter "
            "needs a Redis broker (redis://host:port/db)"
        )
    return url


@functools.cache
def _book(url: str, prefix: str) -> JobBook:
    return JobBook(redis.Redis.from_url(url), prefix)


def book_of(app: Celery, settings: KitSettings) -> JobBook:
    """Return the kit's job book in the app's Redis, under the run's prefix."""
    return _book(redis_url(app), settings.prefix)


def task_options(app: Celery, spec: JobSpec) -> dict[str, Any]:
    """Celery task options giving ``spec``'s policies, as far as Celery offers them."""
    # The kit reads its job book, not results: nothing is written to the user's result backend.
    options: dict[str, Any] = {"ignore_result": True}
    if spec.max_attempts > 1:
        options.update(
            autoretry_for=(ProbeTransientError,),
            max_retries=spec.max_attempts - 1,
            retry_backoff=BACKOFF_FACTOR_S,
            retry_backoff_max=BACKOFF_MAX_S,
            retry_jitter=True,
        )
    if spec.timeout_s is not None and pool_of(app) in TIME_LIMIT_POOLS:
        options.update(
            soft_time_limit=spec.timeout_s, time_limit=spec.timeout_s + HARD_LIMIT_MARGIN_S
        )
    return options


def register_probes(app: Celery, settings: KitSettings) -> dict[str, Task]:
    """Register every probe type as a task on ``app``; return them by probe type."""
    tasks: dict[str, Task] = {}
    for spec in probe_catalogue(settings.timing):
        tasks[spec.name] = _register(app, settings, spec)
    return tasks


def _register(app: Celery, settings: KitSettings, spec: JobSpec) -> Task:
    job_type = spec.name

    def probe(task: Task, payload: Mapping[str, Any]) -> object:
        book = book_of(app, settings)
        job_id = str(task.request.id)
        if not book.current(job_id):
            return {"skipped": "submitted before the kit's last reset"}
        book.started(job_id, os.environ.get(WORKER_ENV))
        ctx = FrameworkProbeContext(job_id, int(task.request.retries) + 1, book)
        return run_probe(
            dict(payload),
            ctx,
            job_type=job_type,
            worker=os.environ.get(WORKER_ENV),
            transient=ProbeTransientError,
            permanent=ProbePermanentError,
        )

    probe.__name__ = probe.__qualname__ = f"probe_{job_type.replace('.', '_')}"
    decorate = app.task(name=f"{settings.prefix}.{job_type}", bind=True, **task_options(app, spec))
    task: Task = decorate(probe)
    return task


def connect_book(app: Celery, settings: KitSettings) -> None:
    """Record, from Celery's task signals in the worker, what Celery did to each probe job."""
    own = f"{settings.prefix}."

    def mine(sender: object) -> bool:
        return str(getattr(sender, "name", "")).startswith(own)

    def record(
        task_id: object, request: object, status: JobStatus, error: str | None = None
    ) -> None:
        # Celery publishes a retry before it reports it; with a countdown near 0 (full jitter)
        # the next attempt may end first, so each report names the attempt it is about.
        book = book_of(app, settings)
        if task_id is None or not book.current(str(task_id)):
            return
        retries = getattr(request, "retries", None)
        same = str(getattr(request, "id", None)) == str(task_id)
        attempt = retries + 1 if same and isinstance(retries, int) else None
        book.ended(str(task_id), status, error, attempt=attempt)

    def on_success(sender: object = None, result: object = None, **_: object) -> None:
        if mine(sender) and not (isinstance(result, dict) and "skipped" in result):
            request = getattr(sender, "request", None)
            record(getattr(request, "id", None), request, JobStatus.COMPLETED)

    def on_retry(
        sender: object = None, request: object = None, reason: object = None, **_: object
    ) -> None:
        if mine(sender):
            record(getattr(request, "id", None), request, JobStatus.RETRYING, f"retry: {reason}")

    def on_failure(
        sender: object = None, task_id: object = None, exception: object = None, **_: object
    ) -> None:
        if mine(sender):
            error = f"{type(exception).__name__}: {exception}"
            failure = f"Celery marked the task FAILURE ({error})"
            record(task_id, getattr(sender, "request", None), JobStatus.DEAD, failure)

    signals.task_success.connect(on_success, weak=False)
    signals.task_retry.connect(on_retry, weak=False)
    signals.task_failure.connect(on_failure, weak=False)
