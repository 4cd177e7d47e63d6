"""The application: settings, catalogue, schedules and backend, with the runtime built on use.

A generated project declares one ``App`` in its ``app.py``; request code calls
:meth:`App.enqueue`, entry points hand the ``App`` to :func:`jobforge_runtime.cli.main`. Nothing
is opened and nothing is read from the environment until the runtime is first needed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from jobforge_runtime import glue, observers
from jobforge_runtime.catalogue import AnyJob, Catalogue, JobDef
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.scheduling import Schedule
from jobforge_runtime.settings import Settings

P = TypeVar("P", bound=BaseModel)


class App:
    """One job subsystem: what it runs, where, and when."""

    def __init__(
        self,
        *,
        settings: Settings,
        catalogue: Catalogue,
        schedules: Iterable[Schedule] = (),
        backend: str = "huey",
        read_env: bool = True,
    ) -> None:
        """Declare the subsystem; ``read_env`` lays ``JOBS_*`` variables over ``settings``."""
        self.base_settings = settings
        self.catalogue = catalogue
        self.schedules = tuple(schedules)
        self.backend = backend
        self.read_env = read_env
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()
        for schedule in self.schedules:
            catalogue.get(schedule.job.name)  # each schedule's job must be in the catalogue

    def resolved_settings(self) -> Settings:
        """Return the settings the runtime uses: ``JOBS_*`` variables over the declared ones."""
        return Settings.from_env(self.base_settings) if self.read_env else self.base_settings

    def derive(
        self,
        *,
        settings: Settings | None = None,
        extra_jobs: Iterable[AnyJob] = (),
        schedules: Iterable[Schedule] | None = None,
    ) -> App:
        """Return a new App on the same backend: this catalogue plus ``extra_jobs``.

        ``settings`` is used as given (no ``JOBS_*`` variable is read); without it the new App
        resolves its settings as this one does. ``schedules`` replaces this App's schedules. For
        tools that run an App on a store of their own (a test, the conformance kit): this App,
        its catalogue and its runtime are left as they are. A job name in ``extra_jobs`` that is
        already in the catalogue raises :class:`~jobforge_runtime.errors.SettingsError`.
        """
        return App(
            settings=self.base_settings if settings is None else settings,
            catalogue=Catalogue([*self.catalogue, *extra_jobs]),
            schedules=self.schedules if schedules is None else schedules,
            backend=self.backend,
            read_env=self.read_env if settings is None else False,
        )

    @property
    def runtime(self) -> Runtime:
        """The runtime of this process, built on first use."""
        with self._lock:
            if self._runtime is None:
                settings = self.resolved_settings()
                self._runtime = glue.load(self.backend).build_runtime(settings, self.catalogue)
                observers.attach(self, self._runtime)
            return self._runtime

    def enqueue(
        self,
        job: JobDef[P],
        payload: P,
        *,
        delay_s: float = 0.0,
        idempotency_key: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Record and queue one job; return its id. See :meth:`Runtime.enqueue`."""
        return self.runtime.enqueue(
            job, payload, delay_s=delay_s, idempotency_key=idempotency_key, priority=priority
        )

    def enqueue_named(self, job_type: str, payload: Mapping[str, Any], **options: Any) -> str:
        """Queue a job given by name and JSON payload. See :meth:`Runtime.enqueue_named`."""
        return self.runtime.enqueue_named(job_type, payload, **options)

    def run_worker(self, *, queue: str | None = None, concurrency: int | None = None) -> None:
        """Consume ``queue`` (default: the first) until SIGTERM or SIGINT."""
        runtime = self.runtime
        glue.load(self.backend).run_worker(
            runtime,
            queue=queue or runtime.settings.queues[0],
            concurrency=concurrency or runtime.settings.worker_concurrency,
        )
