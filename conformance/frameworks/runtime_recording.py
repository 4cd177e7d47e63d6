"""How the kit sees what a runtime app's own test suite ran: an installed runtime observer.

The ``testing.*`` checks run the project's own tests with ``JOBFORGE_RECORD_EVENTS`` set. The
runtime hands every job event to installed observers (entry point group
``jobforge_runtime.observers``; jobforge declares :func:`observer_for` there), in every process
that builds an App's runtime: the test process, and the worker processes the tests start. While
a suite is recorded, the observer turns the runtime's events into the kit's test-recording events
(:mod:`jobforge.conformance.testing_hooks`); otherwise it stays off and costs nothing. So the
user's package needs no scoring code for the testing dimension either.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .. import testing_hooks

if TYPE_CHECKING:
    from jobforge_runtime import App, Runtime, Settings

#: Error kinds the runtime never retries: a job failing with one is discarded.
NOT_RETRIED = frozenset({"permanent", "configuration"})


def backend_label(backend: str, settings: Settings) -> str:
    """Return ``<store>+<framework>`` (``sqlite+huey``, ``redis+celery``) of an app's backend."""
    store = settings.broker_url.split(":", 1)[0] or "unknown"
    return f"{store}+{backend}"


class SuiteObserver:
    """Turns runtime job events into the kit's test-recording events."""

    def __init__(self, *, dead_letter_queue: bool) -> None:
        """Record dead letters when the app keeps a dead-letter queue."""
        self.dead_letter_queue = dead_letter_queue
        self.broker = ""  # the backend label, recorded once per process that reports events
        self._recorded_in = 0

    def record_broker(self, broker: str) -> None:
        """Record that this process uses ``broker``."""
        self.broker = broker
        self._recorded_in = os.getpid()
        testing_hooks.record_broker(broker, real=True)

    def __call__(self, event: str, fields: Mapping[str, Any]) -> None:
        """Record one runtime event (and the broker, first, from a process forked since)."""
        if self.broker and self._recorded_in != os.getpid():  # e.g. RQ's work-horse
            self.record_broker(self.broker)
        job_type = str(fields.get("job_type") or "")
        if event == "started":
            testing_hooks.record_job(job_type)
        elif event == "retrying":
            testing_hooks.record_failure_path("retry", job_type=job_type)
        elif event == "failed" and fields.get("error_kind") == "timeout":
            testing_hooks.record_failure_path("timeout", job_type=job_type)
        elif event == "dead":
            if fields.get("error_kind") in NOT_RETRIED:
                testing_hooks.record_failure_path("discard", job_type=job_type)
            if self.dead_letter_queue:
                testing_hooks.record_failure_path("dead_letter", job_type=job_type)


#: One observer per dead-letter setting, so an App built twice in a process attaches it once.
_OBSERVERS = {flag: SuiteObserver(dead_letter_queue=flag) for flag in (False, True)}


def observer_for(app: App, runtime: Runtime) -> SuiteObserver | None:
    """Entry point of ``jobforge_runtime.observers``: an observer while a suite is recorded."""
    if not testing_hooks.recording():
        return None
    settings = runtime.settings
    observer = _OBSERVERS[settings.dead_letter_queue]
    observer.record_broker(backend_label(app.backend, settings))
    return observer
