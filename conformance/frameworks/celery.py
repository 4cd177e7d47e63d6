"""Bundled adapter for Celery: ``jobforge score --framework celery --app proj.celery_app:app``.

The kit's probe tasks are registered on the user's own Celery app (its broker, serializer and
app-wide settings) under the kit's own queue, and workers are started with Celery's CLI
(``celery -A ... worker -Q <kit queue>``) so the app's pool and concurrency apply. ``describe``
declares only what Celery and the app's configuration offer; docs/frameworks.md lists what is
read and why.
"""

from __future__ import annotations

import sys
from pathlib import Path

import celery as celery_pkg
from celery import Celery, Task

from ..adapter import (
    Capability,
    Description,
    JitterModel,
    JobSpec,
    JSONObject,
    TimingFacts,
)
from ..probes import PROBE_SCHEDULED, probe_catalogue
from .appref import AppRef, load_app
from .base import FrameworkAdapter
from .celery_probes import (
    TIME_LIMIT_POOLS,
    backoff_delays,
    book_of,
    concurrency_of,
    pool_of,
    redis_url,
    register_probes,
)
from .jobbook import JobBook
from .settings import KitSettings
from .workers import WorkerCommand

#: The worker module Celery's CLI is pointed at.
WORKER_APP = "jobforge.conformance.frameworks.celery_worker:app"


class CeleryAdapter(FrameworkAdapter):
    """Drives a user's Celery app through the kit's probe tasks."""

    framework = "celery"

    def __init__(self, app: str, *, search: Path) -> None:
        """Import the user's app and check its broker is Redis."""
        super().__init__(app, search=search)
        self.app = load_app(
            AppRef.parse(app, framework="celery"), search=search, kind=Celery, framework="celery"
        )
        redis_url(self.app)  # fail now, in one line, on a broker the adapter cannot use
        self._tasks: dict[str, Task] = {}
        acks_late = bool(self.app.conf.task_acks_late)
        self.lost_in_flight = (
            "Celery acknowledged the message before running the task (task_acks_late=False, "
            "Celery's default), so the task died with its worker and nothing redelivers it"
            if not acks_late
            else "Celery acknowledges late (task_acks_late=True), so the unacknowledged message "
            "is redelivered only after the broker's visibility_timeout"
        )

    # -- what Celery and the app offer ----------------------------------------------------

    def describe(self) -> Description:
        """Declare what Celery offers with this app's configuration."""
        conf = self.app.conf
        timeouts = pool_of(self.app) in TIME_LIMIT_POOLS
        capabilities = {
            Capability.RETRIES,
            Capability.BACKOFF,
            Capability.DELAYED_JOBS,
            Capability.MULTIPLE_WORKERS,
            Capability.KILL_WORKER,
            Capability.GRACEFUL_SHUTDOWN,
        }
        if timeouts:
            capabilities.add(Capability.TIMEOUTS)
        jobs = []
        for spec in probe_catalogue(self.timing):
            retried = spec.max_attempts > 1
            jobs.append(
                JobSpec(
                    name=spec.name,
                    kind=spec.kind,
                    queue=self.prefix,
                    max_attempts=spec.max_attempts,
                    backoff_delays_s=backoff_delays(spec) if retried else (),
                    timeout_s=spec.timeout_s if timeouts else None,
                    timing_facts=TimingFacts(jitter=JitterModel.FULL) if retried else None,
                )
            )
        backend = str(conf.result_backend or "none").split(":", 1)[0]
        return Description(
            name=f"celery app {self.app.main or self.app_ref}",
            version=celery_pkg.__version__,
            backend=f"redis+celery (result backend: {backend})",
            capabilities=frozenset(capabilities),
            jobs=tuple(j for j in jobs if j.name != PROBE_SCHEDULED),
            worker_concurrency=concurrency_of(self.app),
            real_broker=True,
        )

    # -- the framework's half -------------------------------------------------------------

    def prepare(self, settings: KitSettings) -> None:
        """Register the probe tasks on the user's app in this process."""
        self._tasks = register_probes(self.app, settings)

    def open_book(self, settings: KitSettings) -> JobBook:
        """Return the job book in the app's Redis broker."""
        return book_of(self.app, settings)

    def worker_command(self, worker: str, settings: KitSettings) -> WorkerCommand:
        """``celery -A <kit module> worker -Q <kit queue>``: the app's pool and concurrency."""
        node = f"{settings.prefix}-{worker}@%h"
        return WorkerCommand(
            argv=(
                sys.executable,
                "-m",
                "celery",
                "-A",
                WORKER_APP,
                "worker",
                "-Q",
                settings.prefix,
                "-n",
                node,
                "--loglevel=INFO",
                # Start-up only: no waiting to sync with other workers, no cluster events.
                "--without-mingle",
                "--without-gossip",
            ),
            ready_marker=" ready.",
            cwd=settings.search,
        )

    def enqueue(self, job_type: str, job_id: str, payload: JSONObject, delay_s: float) -> None:
        """Send the probe task to the kit's queue, delayed with Celery's countdown."""
        self._tasks[job_type].apply_async(
            args=[payload], task_id=job_id, queue=self.prefix, countdown=delay_s or None
        )

    def purge(self) -> None:
        """Empty the kit's queue in the broker."""
        with self.app.connection_for_write() as conn:
            conn.default_channel.queue_purge(self.prefix)

    def teardown(self) -> None:
        """Stop the workers, then remove the kit's queue and its bindings from the broker."""
        super().teardown()
        queue = self.app.amqp.queues.new_missing(self.prefix)  # as the worker declared it
        with self.app.connection_for_write() as conn:
            bound = queue(conn.default_channel)
            bound.declare()  # the channel learns the bindings it then deletes
            bound.delete()


def make_adapter(app: str, *, search: Path) -> CeleryAdapter:
    """Build the bundled Celery adapter for ``--app``."""
    return CeleryAdapter(app, search=search)
