"""Observability: counters, structured JSON log records, alerts.

Counters are bumped by the job system at the moment each event happens, so they equal the ground
truth the kit records. Log records are JSON objects (job_id, job_type, attempt, event, duration_s,
ts) kept in memory for :meth:`Adapter.logs` and also written, one JSON line each, to the standard
``logging`` logger ``jobforge.conformance.reference``.
"""

from __future__ import annotations

import json
import logging
import threading
import time

from ..adapter import JSONObject, JSONValue

#: Counter names exported by :meth:`Metrics.snapshot`, besides the gauges.
COUNTERS: tuple[str, ...] = (
    "jobs_enqueued_total",
    "jobs_started_total",
    "jobs_completed_total",
    "jobs_failed_total",
    "jobs_retried_total",
    "jobs_dead_total",
)

_LOG = logging.getLogger("jobforge.conformance.reference")


class Metrics:
    """Monotonic counters, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(COUNTERS, 0)

    def inc(self, name: str, by: int = 1) -> None:
        """Add ``by`` to counter ``name`` (one of :data:`COUNTERS`)."""
        if name not in self._counts:
            known = ", ".join(COUNTERS)
            raise KeyError(f"counter {name!r} is not exported; known: {known}")
        with self._lock:
            self._counts[name] += by

    def snapshot(self) -> dict[str, float]:
        """Every counter's current value."""
        with self._lock:
            return {name: float(value) for name, value in self._counts.items()}

    def clear(self) -> None:
        """Zero every counter."""
        with self._lock:
            self._counts = dict.fromkeys(COUNTERS, 0)


class LogSink:
    """Structured log records, newest last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[JSONObject] = []

    def emit(
        self,
        event: str,
        *,
        job_id: str | None = None,
        job_type: str | None = None,
        attempt: int | None = None,
        duration_s: float | None = None,
        level: str = "info",
        **fields: JSONValue,
    ) -> JSONObject:
        """Record one event and return the record."""
        record: JSONObject = {
            "ts": time.time(),
            "level": level,
            "event": event,
            "job_id": job_id,
            "job_type": job_type,
            "attempt": attempt,
        }
        if duration_s is not None:
            record["duration_s"] = round(duration_s, 6)
        record.update(fields)
        with self._lock:
            self._records.append(record)
        if _LOG.isEnabledFor(logging.DEBUG):
            _LOG.debug(json.dumps(record, sort_keys=True))
        return record

    def records(self) -> list[JSONObject]:
        """Return a copy of every record since the last clear."""
        with self._lock:
            return [dict(record) for record in self._records]

    def clear(self) -> None:
        """Drop every record."""
        with self._lock:
            self._records.clear()


class AlertSink:
    """Alerts raised for a human: dead letters, configuration errors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._alerts: list[JSONObject] = []

    def fire(self, kind: str, *, job_id: str, job_type: str, message: str) -> None:
        """Raise an alert of ``kind`` about one job."""
        alert: JSONObject = {
            "kind": kind,
            "job_id": job_id,
            "job_type": job_type,
            "message": message,
            "ts": time.time(),
        }
        with self._lock:
            self._alerts.append(alert)
        _LOG.info(json.dumps(alert, sort_keys=True))

    def alerts(self) -> list[JSONObject]:
        """Return a copy of every alert since the last clear."""
        with self._lock:
            return [dict(alert) for alert in self._alerts]

    def clear(self) -> None:
        """Drop every alert."""
        with self._lock:
            self._alerts.clear()
