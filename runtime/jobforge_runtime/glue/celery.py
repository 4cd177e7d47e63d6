"""Celery on Redis: messages are JSON, acknowledged late, one prefetched job per worker process.

What this adds to Celery: the job ledger in the same Redis (``RedisLedger``), so retries,
leases, the dead-letter queue and schedules live in the runtime, not in Celery's own retry; a
worker process that dies mid-job gets its message redelivered (late ack, reject on worker lost)
and its lease taken back by the reaper, whichever comes first; the claim keeps a job from running
twice. The broker's visibility timeout is set above the longest job's timeout.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from celery import Celery
from celery.signals import worker_process_shutdown, worker_ready, worker_shutdown

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.execution import completion_of, record_completion
from jobforge_runtime.glue.celery_message import MessageLayout, message_layout
from jobforge_runtime.ledger.redis import RedisLedger
from jobforge_runtime.logs import log_event
from jobforge_runtime.records import Completion, JobRecord, NewJob, Settlement
from jobforge_runtime.recovery import Reaper, worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings


def visibility_timeout_s(settings: Settings, catalogue: Catalogue) -> float:
    """Return a visibility timeout above the longest job's timeout (and the longest delay)."""
    longest = max([settings.timeout_s, *(j.timeout_s or 0.0 for j in catalogue)])
    return max(3600.0, 2 * longest, 2 * settings.backoff_max_s)


def celery_priority(priority: int) -> int:
    """Map a job priority (higher runs first) onto Celery's Redis steps (0 runs first)."""
    return 9 - max(0, min(9, priority))


def celery_app(settings: Settings, catalogue: Catalogue) -> Celery:
    """Return the Celery app: JSON only, late acks, prefetch 1, keys under the key prefix."""
    if not settings.broker_url.startswith(("redis://", "rediss://")):
        raise SettingsError(
            f"broker_url={settings.broker_url!r}: the Celery backend needs a redis:// URL, "
            "e.g. JOBS_BROKER_URL=redis://localhost:6379/0"
        )
    app = Celery(settings.key_prefix, broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_default_queue=f"{settings.key_prefix}.{settings.queues[0]}",
        broker_transport_options={
            "visibility_timeout": visibility_timeout_s(settings, catalogue),
            "global_keyprefix": f"{settings.key_prefix}:celery:",
            "priority_steps": list(range(10)),  # one Redis list per step; 0 is served first
            "queue_order_strategy": "priority",
        },
    )
    return app


class CeleryDispatcher:
    """Publishes job ids as Celery tasks, one Celery queue per settings queue.

    With ``ledger`` in the broker's own Redis, a job due now is recorded and its Celery message
    pushed in the ledger's one create script (:mod:`glue.celery_message`), so a job never exists
    without its message; otherwise (a delay, a ledger elsewhere, a kombu layout not known) the
    ledger records it and Celery publishes it after.
    """

    def __init__(self, settings: Settings, app: Celery, ledger: RedisLedger | None = None) -> None:
        """Dispatch through ``app``; :meth:`bind` registers the job-running task."""
        self.settings = settings
        self.app = app
        self.task: Any = None
        self._ledger = ledger
        self._layout: MessageLayout | None = None
        self._layout_pid = 0  # the process that captured the layout (a fork captures again)

    def layout(self) -> MessageLayout | None:
        """Return Celery's captured message layout for this process, or None when not known."""
        if self._layout_pid != os.getpid():
            queues = [f"{self.settings.key_prefix}.{q}" for q in self.settings.queues]
            self._layout = message_layout(self.task, queues, range(10))
            self._layout_pid = os.getpid()
        return self._layout

    def create_and_dispatch(
        self, new: NewJob, *, now: float, delay_s: float
    ) -> tuple[JobRecord, bool] | None:
        """Record ``new`` and push its Celery message in one script; None when it cannot."""
        if self._ledger is None or delay_s > 0 or new.queue not in self.settings.queues:
            return None
        layout = self.layout()
        if layout is None:
            return None
        push = layout.render(
            new.job_id,
            new.job_type,
            queue=f"{self.settings.key_prefix}.{new.queue}",
            priority=celery_priority(new.priority),
        )
        return self._ledger.create(new, now=now, push=push)

    def bind(self, task: Any) -> None:
        """Use ``task`` (registered on the app) to carry job ids."""
        self.task = task

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Publish ``job_id`` on ``queue`` (after ``delay_s`` seconds when positive)."""
        if queue not in self.settings.queues:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.settings.queues)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        self.task.apply_async(
            args=(job_id, job_type),
            queue=f"{self.settings.key_prefix}.{queue}",
            priority=celery_priority(priority),
            countdown=delay_s if delay_s > 0 else None,
        )

    def ping(self) -> bool:
        """Return True when the broker answers."""
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=2)
        except Exception:
            return False
        return True


class CompletionBuffer:
    """The completion a worker process has not written yet: it goes with the process's next claim.

    One script then records the previous job's completion and claims the next job (one round
    trip per job instead of two). A process that takes no next job within ``idle_s`` writes it
    from a thread; a stopping process writes it before it exits. A process killed before that
    loses only this write: the job's lease lapses and the reaper runs it again (at least once;
    ``ctx.claim_effect`` keeps effects once), as for a process killed while running the job.
    """

    def __init__(self, runtime: Runtime, *, idle_s: float = 0.02) -> None:
        """Hold completions of ``runtime``'s jobs, at most ``idle_s`` seconds when idle."""
        self._runtime = runtime
        self._idle_s = idle_s
        self._held: Completion | None = None
        self._since = 0.0  # when the held completion was put
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid = 0

    def put(self, record: JobRecord, done: Settlement, worker: str) -> None:
        """Hold the completion of ``record``'s attempt (the ``defer`` of ``execute``)."""
        with self._lock:
            self._held = completion_of(record, done, worker)
            self._since = time.monotonic()
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._loop, name="completions", daemon=True).start()
        if not self._wake.is_set():
            self._wake.set()

    def take(self) -> Completion | None:
        """Return the held completion, if any, and hold nothing."""
        with self._lock:
            held, self._held = self._held, None
        return held

    def flush(self) -> None:
        """Write the held completion now."""
        held = self.take()
        if held is not None:
            record_completion(self._runtime, held)

    def _loop(self) -> None:
        # Wakes once when a completion is held, then every idle_s while the worker is busy (its
        # next claim takes each completion), and writes one that was held idle_s.
        while True:
            self._wake.wait()
            time.sleep(self._idle_s)
            with self._lock:
                held = self._held
                if held is None:
                    self._wake.clear()
                    continue
                if time.monotonic() - self._since < self._idle_s:
                    continue
                self._held = None
            try:
                record_completion(self._runtime, held)
            except Exception:  # lost with the write: the lease lapses, the reaper retries
                self._runtime.logger.exception("writing a held completion failed")


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on Celery with its ledger in the broker's Redis (or ``ledger_url``)."""
    import logging

    from jobforge_runtime.execution import claim_after, execute
    from jobforge_runtime.logs import LOGGER_NAME

    ledger = RedisLedger(settings.ledger_url or settings.broker_url, prefix=settings.key_prefix)
    app = celery_app(settings, catalogue)
    same_redis = settings.ledger_url in ("", settings.broker_url)
    dispatcher = CeleryDispatcher(settings, app, ledger if same_redis else None)
    runtime = Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=dispatcher,
        alerter=alerter_for(settings, ledger, logging.getLogger(LOGGER_NAME)),
    )

    completions = CompletionBuffer(runtime)

    @app.task(name=f"{settings.key_prefix}.run_job")  # type: ignore[untyped-decorator]
    def run_job(job_id: str, job_type: str) -> None:
        worker = worker_name()
        taken = claim_after(runtime, completions.take(), job_id, job_type, worker=worker)
        execute(runtime, job_id, job_type, worker=worker, claimed=taken, defer=completions.put)

    def flush(**_: Any) -> None:
        completions.flush()

    worker_process_shutdown.connect(flush, weak=False)  # a prefork child stopping
    worker_shutdown.connect(flush, weak=False)  # the worker itself (solo or threads pool)
    dispatcher.bind(run_job)
    return runtime


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Consume ``queue`` with ``concurrency`` worker processes; SIGTERM finishes running jobs."""
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, CeleryDispatcher):
        raise SettingsError("run_worker: this runtime was not built by glue.celery.build_runtime")
    settings = runtime.settings
    if queue not in settings.queues:
        raise SettingsError(f"queue={queue!r} is not one of the settings' queues {settings.queues}")
    reaper = Reaper(runtime, worker=worker_name())

    def ready(**_: Any) -> None:
        reaper.start()
        log_event(runtime.logger, "worker_ready", "worker ready", queue=queue, worker=worker_name())

    worker_ready.connect(ready, weak=False)
    worker = dispatcher.app.Worker(
        queues=[f"{settings.key_prefix}.{queue}"],
        concurrency=concurrency,
        pool="prefork",
        loglevel="WARNING",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    try:
        worker.start()
    finally:
        reaper.stop()
