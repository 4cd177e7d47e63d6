"""Bundled adapter for Huey: ``jobforge score --framework huey --app proj.tasks:huey``.

The kit's probe tasks live on a Huey of the kit's own, built from the user's Huey (same class,
Redis storage settings and serializer, another name), so the user's queue is untouched. Workers
are started with Huey's CLI, ``huey_consumer <module>.huey``, with the consumer's defaults as
Huey's docs start it (one thread worker, SIGTERM an immediate shutdown). ``describe`` declares
only what Huey offers; docs/frameworks.md lists what is read and why.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import huey as huey_pkg
from huey import Huey

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
from .huey_probes import (
    SCHEDULER_TICK_S,
    TIMEOUT_WORKER_TYPES,
    WORKER_TYPE,
    WORKERS,
    backoff_delays,
    book_of,
    kit_huey,
    register_probes,
)
from .jobbook import JobBook
from .settings import KitSettings
from .workers import WorkerCommand

#: The module huey_consumer is pointed at.
WORKER_HUEY = "jobforge.conformance.frameworks.huey_worker.huey"


class HueyAdapter(FrameworkAdapter):
    """Drives a user's Huey through the kit's probe tasks."""

    framework = "huey"
    lost_in_flight = (
        "Huey removed the task from its queue when the consumer took it and keeps no copy, "
        "so the task died with its consumer and nothing runs it again"
    )

    def __init__(self, app: str, *, search: Path) -> None:
        """Import the user's Huey and check its storage is Redis."""
        super().__init__(app, search=search)
        self.user_huey = load_app(
            AppRef.parse(app, framework="huey"), search=search, kind=Huey, framework="huey"
        )
        self.huey = kit_huey(self.user_huey, self.settings)
        self._tasks: dict[str, Any] = {}

    def describe(self) -> Description:
        """Declare what Huey offers with this app's storage and the consumer's defaults."""
        timeouts = WORKER_TYPE in TIMEOUT_WORKER_TYPES
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
        tick = TimingFacts(jitter=JitterModel.NONE, resolution_s=SCHEDULER_TICK_S)
        jobs = tuple(
            JobSpec(
                name=spec.name,
                kind=spec.kind,
                queue=self.prefix,
                max_attempts=spec.max_attempts,
                backoff_delays_s=backoff_delays(spec),
                timeout_s=spec.timeout_s if timeouts else None,
                timing_facts=tick,
            )
            for spec in probe_catalogue(self.timing)
            if spec.name != PROBE_SCHEDULED
        )
        return Description(
            name=f"huey {self.user_huey.name}",
            version=huey_pkg.__version__,
            backend=f"redis+huey ({type(self.user_huey).__name__})",
            capabilities=frozenset(capabilities),
            jobs=jobs,
            worker_concurrency=WORKERS,
            real_broker=True,
        )

    def prepare(self, settings: KitSettings) -> None:
        """Register the probe tasks on the kit's Huey in this process."""
        self._tasks = register_probes(self.huey, settings)

    def open_book(self, settings: KitSettings) -> JobBook:
        """Return the job book in the Huey's Redis."""
        return book_of(self.huey, settings)

    def worker_command(self, worker: str, settings: KitSettings) -> WorkerCommand:
        """``huey_consumer <kit module>.huey -k thread -w 1``: Huey's consumer defaults."""
        return WorkerCommand(
            argv=(
                sys.executable,
                "-m",
                "huey.bin.huey_consumer",
                WORKER_HUEY,
                "-k",
                WORKER_TYPE,
                "-w",
                str(WORKERS),
            ),
            ready_marker="Huey consumer started",
            cwd=settings.search,
        )

    def enqueue(self, job_type: str, job_id: str, payload: JSONObject, delay_s: float) -> None:
        """Enqueue the probe task on the kit's Huey, delayed through Huey's schedule."""
        task = self._tasks[job_type].s(payload, id=job_id, delay=delay_s or None)
        self.huey.enqueue(task)

    def purge(self) -> None:
        """Empty the kit's Huey: queue, schedule and results (the user's Huey is untouched)."""
        self.huey.flush()


def make_adapter(app: str, *, search: Path) -> HueyAdapter:
    """Build the bundled Huey adapter for ``--app``."""
    return HueyAdapter(app, search=search)
