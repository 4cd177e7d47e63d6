"""Error classification: every failure of a job is transient, permanent or a configuration error.

* transient  -> retried with backoff until the attempts run out, then dead-lettered;
* permanent  -> never retried: dead-lettered at once;
* configuration -> never retried, dead-lettered, and an alert goes to the on-call channel.

Job code raises the subclasses below, or lets ordinary exceptions escape; :func:`classify` maps
those onto an :class:`ErrorKind` using the retry_on / discard_on lists from the answers.
"""

from __future__ import annotations

import enum
import json
import socket
from collections.abc import Iterable


class ErrorKind(enum.StrEnum):
    """How a failure is handled."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    CONFIGURATION = "configuration"
    TIMEOUT = "timeout"


class JobError(Exception):
    """Root of the errors a job raises on purpose; ``kind`` says how it is handled."""

    kind: ErrorKind = ErrorKind.TRANSIENT
    reason: str = "server_error"  # one of the answer's error kinds (network, auth, ...)


class TransientError(JobError):
    """A failure that may pass: network blip, rate limit, lock conflict. Retried."""

    kind = ErrorKind.TRANSIENT


class RateLimitedError(TransientError):
    """A downstream service asked us to slow down. Retried."""

    reason = "rate_limit"


class PermanentError(JobError):
    """A failure that will not pass by retrying: invalid data, missing record. Discarded."""

    kind = ErrorKind.PERMANENT
    reason = "validation"


class NotFoundError(PermanentError):
    """The record the job works on no longer exists. Discarded."""

    reason = "not_found"


class ConfigurationError(JobError):
    """Missing credentials or settings: retrying cannot help, a person must act. Alerted."""

    kind = ErrorKind.CONFIGURATION
    reason = "auth"


class JobTimeoutError(TransientError):
    """The job ran past its timeout and was interrupted."""

    kind = ErrorKind.TIMEOUT
    reason = "timeout"


class UnknownJobTypeError(PermanentError):
    """A message names a job type that this worker's catalogue does not have."""

    def __init__(self, job_type: str, known: Iterable[str]) -> None:
        """Name the unknown type and the known ones."""
        names = ", ".join(sorted(known))
        super().__init__(
            f"job type {job_type!r} is not in the catalogue; known: {names}; "
            "register it in the catalogue or fix the caller"
        )


def reason_of(exc: BaseException) -> str:
    """Return the error-kind name (network, timeout, validation, ...) of an exception."""
    if isinstance(exc, JobError):
        return exc.reason
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, ConnectionError | OSError):
        return "network"
    if isinstance(exc, ValueError | TypeError | json.JSONDecodeError):
        return "validation"
    if isinstance(exc, KeyError | LookupError):
        return "not_found"
    if isinstance(exc, PermissionError):
        return "auth"
    return "server_error"


def classify(
    exc: BaseException, *, retry_on: Iterable[str], discard_on: Iterable[str]
) -> ErrorKind:
    """Return how ``exc`` is handled.

    Errors raised as :class:`JobError` keep their declared kind. Any other exception is mapped to
    a reason (:func:`reason_of`): reasons in ``discard_on`` are permanent, reasons in ``retry_on``
    transient, and anything else is permanent, so an unforeseen bug is not retried forever.
    """
    if isinstance(exc, JobError):
        return exc.kind
    reason = reason_of(exc)
    if reason in set(discard_on):
        return ErrorKind.PERMANENT
    if reason in set(retry_on):
        return ErrorKind.TIMEOUT if reason == "timeout" else ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def is_retryable(kind: ErrorKind) -> bool:
    """Return True for the kinds that are retried (transient and timeout)."""
    return kind in (ErrorKind.TRANSIENT, ErrorKind.TIMEOUT)
