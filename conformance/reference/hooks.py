"""Job-layer hooks: moments the job system reports to whoever listens.

The kit's test recording (``testing.*`` checks) listens through :class:`KitRecordingHooks`: while
a test session records, every job body that runs and every failure path taken is written to the
kit's events file, so the kit can see what the reference's own tests exercised. Production code
uses the same calls; with recording off they return at once.
"""

from __future__ import annotations

from typing import Protocol

from .. import testing_hooks


class JobHooks(Protocol):
    """What the job system reports as it works."""

    def store_opened(self, backend: str, *, real: bool) -> None:
        """Report the store opened (``real=False``: an in-memory stand-in)."""

    def job_running(self, job_type: str) -> None:
        """Report a job body of ``job_type`` about to run."""

    def failure_handled(self, path: str, *, job_type: str) -> None:
        """Report a failed attempt handled along ``path``: retry, discard, dead_letter, timeout."""


class NoHooks:
    """Hooks that ignore everything."""

    def store_opened(self, backend: str, *, real: bool) -> None:
        """Ignore the store."""

    def job_running(self, job_type: str) -> None:
        """Ignore the job."""

    def failure_handled(self, path: str, *, job_type: str) -> None:
        """Ignore the failure path."""


class KitRecordingHooks:
    """Report to the kit's test recording (:mod:`jobforge.conformance.testing_hooks`).

    Each call is a no-op unless a test session records (``JOBFORGE_RECORD_EVENTS`` is set).
    """

    def store_opened(self, backend: str, *, real: bool) -> None:
        """Record the store the job system uses."""
        testing_hooks.record_broker(backend, real=real)

    def job_running(self, job_type: str) -> None:
        """Record a job body about to run."""
        testing_hooks.record_job(job_type)

    def failure_handled(self, path: str, *, job_type: str) -> None:
        """Record a failure path taken."""
        testing_hooks.record_failure_path(path, job_type=job_type)
