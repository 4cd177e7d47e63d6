"""Test recording hooks: how an implementation's job layer tells the kit what its tests exercised.

The ``testing.*`` checks run the implementation's own test command (``Description.test_command``)
with the environment variable ``JOBFORGE_RECORD_EVENTS`` naming a JSON-lines file. The job layer
calls these functions at the moments they describe; each appends one JSON line to that file
(``O_APPEND`` writes of one short line, safe from many processes and threads). When the variable
is unset, as in production, every function returns at once and writes nothing.

Call them from the job layer, not from the tests, so they prove what ran:

* :func:`record_job` when a job body is about to run (``job_type`` as catalogued);
* :func:`record_failure_path` when an attempt's failure is handled: ``"retry"`` (re-enqueued with
  backoff), ``"discard"`` (a permanent error, not retried), ``"dead_letter"`` (moved to the
  dead-letter queue), ``"timeout"`` (an attempt cut off at its time limit);
* :func:`record_broker` when the job layer connects to its broker/store: ``backend`` as in
  ``Description.backend`` (e.g. ``"redis+celery"``), ``real=False`` for an in-memory stand-in.

Example (the reference implementation does exactly this)::

    from jobforge.conformance import testing_hooks

    testing_hooks.record_job(spec.name)
    ...
    except TransientError:
        testing_hooks.record_failure_path("retry", job_type=spec.name)

``pytest --jobforge-record PATH`` (see :mod:`jobforge.conformance.plugin`) sets the variable for a
test session, adds a line per test body, and summarises the events into ``PATH`` as JSON when the
session ends; :mod:`jobforge.conformance.suite_record` says which events count for the suite.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Final

from .suite_record import FAILURE_PATHS

__all__ = [
    "EVENTS_ENV",
    "FAILURE_PATHS",
    "PYCACHE_ENV",
    "append_event",
    "record_broker",
    "record_failure_path",
    "record_job",
    "recording",
]

#: Environment variable naming the JSON-lines events file; unset means "do not record".
EVENTS_ENV: Final = "JOBFORGE_RECORD_EVENTS"
#: Environment variable naming a private byte-code cache for a recorded pytest process.
PYCACHE_ENV: Final = "JOBFORGE_RECORD_PYCACHE"


def append_event(event: Mapping[str, object]) -> None:
    """Append ``event`` (with this process's and its parent's ids and the time), when recording."""
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


def recording() -> bool:
    """Return True when a test session is recording (``JOBFORGE_RECORD_EVENTS`` is set)."""
    return bool(os.environ.get(EVENTS_ENV))


def record_job(job_type: str) -> None:
    """Record that a job of ``job_type`` is about to run its body."""
    append_event({"event": "job", "job_type": job_type})


def record_failure_path(path: str, *, job_type: str = "") -> None:
    """Record that a failure was handled along ``path`` (one of :data:`FAILURE_PATHS`)."""
    if path not in FAILURE_PATHS:
        raise ValueError(f"failure path {path!r} is not one of {sorted(FAILURE_PATHS)}")
    append_event({"event": "failure_path", "path": path, "job_type": job_type})


def record_broker(backend: str, *, real: bool = True) -> None:
    """Record that the job layer used broker/store ``backend`` (``real=False``: a stand-in)."""
    append_event({"event": "broker", "backend": backend, "real": real})
