"""Test-run recording: tell a test harness which job types and failure paths really ran.

When ``JOBFORGE_RECORD_EVENTS`` names a file (set by ``jobforge score`` while it runs this
project's own tests), the job layer appends one JSON line per event: a job body about to run, a
failure handled (``retry``, ``discard``, ``dead_letter``, ``timeout``) and the broker used. In
production the variable is unset and every function returns at once.
"""

from __future__ import annotations

import json
import os
import time

EVENTS_ENV = "JOBFORGE_RECORD_EVENTS"


def _append(event: dict[str, object]) -> None:
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    stamp = {"pid": os.getpid(), "ppid": os.getppid(), "at": time.time()}
    line = (json.dumps({**event, **stamp}) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def job_ran(job_type: str) -> None:
    """Record that a job body of ``job_type`` is about to run."""
    _append({"event": "job", "job_type": job_type})


def failure_handled(path: str, *, job_type: str) -> None:
    """Record a handled failure: ``retry``, ``discard``, ``dead_letter`` or ``timeout``."""
    _append({"event": "failure_path", "path": path, "job_type": job_type})


def broker_used(backend: str) -> None:
    """Record that this process uses the real broker ``backend``."""
    _append({"event": "broker", "backend": backend, "real": True})
