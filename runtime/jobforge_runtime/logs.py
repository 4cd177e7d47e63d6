"""Structured JSON logs. The runtime only logs; a process entry point decides where logs go.

Importing the runtime or building a :class:`~jobforge_runtime.runtime.Runtime` touches no
logging configuration, so request code can enqueue without side effects. The worker, scheduler
and CLI entry points call :func:`configure_logging` once.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Mapping
from typing import Any

LOGGER_NAME = "jobforge_runtime"
#: Fields copied from a record's ``extra`` into the JSON line.
FIELDS = (
    "event",
    "job_id",
    "job_type",
    "attempt",
    "duration_s",
    "queue",
    "status",
    "error",
    "error_kind",
    "worker",
    "delay_s",
    "schedule",
    "tick",
)
#: Events logged at warning level; the rest are info (per-job events: debug unless asked).
WARNINGS = frozenset({"failed", "dead", "recovered", "alert", "lost_claim"})
PER_JOB = frozenset({"enqueued", "started", "completed", "duplicate", "retrying", "scheduled"})
#: Observers of every event, whatever the log level (see :mod:`jobforge_runtime.observers`).
OBSERVERS: list[Callable[[str, Mapping[str, Any]], None]] = []


class JsonFormatter(logging.Formatter):
    """Format a log record as one JSON line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as compact JSON."""
        doc: dict[str, Any] = {
            "ts": round(record.created, 6),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                doc[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, separators=(",", ":"))


def configure_logging(*, level: str = "INFO", log_file: str = "") -> logging.Logger:
    """Send the runtime's logs as JSON lines to stderr, and to ``log_file`` when given."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    return logger


def log_event(
    logger: logging.Logger,
    event: str,
    message: str = "",
    *,
    per_job_info: bool = False,
    **fields: Any,
) -> None:
    """Log one event with its fields; per-job events are debug unless ``per_job_info``.

    Observers (:mod:`jobforge_runtime.observers`) see every event first, at any level.
    """
    if OBSERVERS:
        _notify(event, fields)
    if event in WARNINGS:
        level = logging.WARNING
    elif event in PER_JOB and not per_job_info:
        level = logging.DEBUG
    else:
        level = logging.INFO
    if logger.isEnabledFor(level):
        logger.log(level, message or event, extra={"event": event, **fields})


def _notify(event: str, fields: Mapping[str, Any]) -> None:
    """Hand one event to every observer; an observer that fails never fails the job."""
    for observer in tuple(OBSERVERS):
        try:
            observer(event, fields)
        except Exception:
            logging.getLogger(LOGGER_NAME).debug("observer %r failed", observer, exc_info=True)
