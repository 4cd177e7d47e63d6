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
test session and summarises the events into ``PATH`` as JSON when the session ends.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

#: Environment variable naming the JSON-lines events file; unset means "do not record".
EVENTS_ENV: Final = "JOBFORGE_RECORD_EVENTS"
#: Failure paths the ``testing.failure_paths_exercised`` check looks for.
FAILURE_PATHS: Final = frozenset({"retry", "discard", "dead_letter", "timeout"})


def _append(event: Mapping[str, object]) -> None:
    path = os.environ.get(EVENTS_ENV)
    if not path:
        return
    line = (json.dumps({**event, "pid": os.getpid(), "at": time.time()}) + "\n").encode()
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
    _append({"event": "job", "job_type": job_type})


def record_failure_path(path: str, *, job_type: str = "") -> None:
    """Record that a failure was handled along ``path`` (one of :data:`FAILURE_PATHS`)."""
    if path not in FAILURE_PATHS:
        raise ValueError(f"failure path {path!r} is not one of {sorted(FAILURE_PATHS)}")
    _append({"event": "failure_path", "path": path, "job_type": job_type})


def record_broker(backend: str, *, real: bool = True) -> None:
    """Record that the job layer used broker/store ``backend`` (``real=False``: a stand-in)."""
    _append({"event": "broker", "backend": backend, "real": real})


@dataclass(frozen=True, kw_only=True)
class Recording:
    """What a recorded test session exercised."""

    job_types: frozenset[str] = frozenset()
    failure_paths: frozenset[str] = frozenset()
    brokers: frozenset[tuple[str, bool]] = frozenset()  # (backend, real)
    events: int = 0

    def to_json(self) -> dict[str, object]:
        """Return the JSON summary (sorted lists) written by the pytest plugin."""
        return {
            "job_types": sorted(self.job_types),
            "failure_paths": sorted(self.failure_paths),
            "brokers": [{"backend": b, "real": r} for b, r in sorted(self.brokers)],
            "events": self.events,
        }


def summarise(lines: Iterable[str]) -> Recording:
    """Fold JSON-lines events into a :class:`Recording`, skipping blank or torn lines."""
    job_types: set[str] = set()
    paths: set[str] = set()
    brokers: set[tuple[str, bool]] = set()
    count = 0
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(event, dict):
            continue
        count += 1
        kind = event.get("event")
        if kind == "job" and isinstance(event.get("job_type"), str):
            job_types.add(event["job_type"])
        elif kind == "failure_path" and event.get("path") in FAILURE_PATHS:
            paths.add(event["path"])
        elif kind == "broker" and isinstance(event.get("backend"), str):
            brokers.add((event["backend"], bool(event.get("real", True))))
    return Recording(
        job_types=frozenset(job_types),
        failure_paths=frozenset(paths),
        brokers=frozenset(brokers),
        events=count,
    )


def read_events(path: Path) -> Recording:
    """Summarise the events file at ``path`` (an empty recording when it does not exist)."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return Recording()
    return summarise(text.splitlines())
