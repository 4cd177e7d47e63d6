"""One exception root for the runtime, and the failures a job raises to say how it is handled.

* transient -> retried with exponential backoff and jitter until the attempts run out, then dead;
* permanent -> never retried: dead at once;
* configuration -> never retried, dead, and an alert goes to the on-call channel;
* timeout -> a transient failure raised when an attempt runs past its limit.
"""

from __future__ import annotations

import enum
import json
import socket
from collections.abc import Iterable


class JobforgeRuntimeError(Exception):
    """Root of every error the runtime raises or classifies."""


class SettingsError(JobforgeRuntimeError):
    """A setting has a value the runtime cannot use; the message names field, value and fix."""


class UnknownJobTypeError(JobforgeRuntimeError):
    """A job type name is not in the catalogue."""

    def __init__(self, job_type: str, known: Iterable[str]) -> None:
        """Name the unknown type and the known ones."""
        names = ", ".join(sorted(known)) or "(none)"
        super().__init__(
            f"job_type={job_type!r} is not in the catalogue; known: {names}; "
            "register it with @job or fix the name"
        )
        self.job_type = job_type


class PayloadError(JobforgeRuntimeError):
    """A payload does not validate against its job type's model."""

    def __init__(self, job_type: str, problems: list[str]) -> None:
        """List the problems field by field."""
        super().__init__(
            f"payload of {job_type!r} is invalid: " + "; ".join(problems) + "; fix these fields"
        )
        self.problems = problems


class DelayNotAllowedError(JobforgeRuntimeError):
    """A job was enqueued with a delay while the settings say the app has no delayed jobs."""

    def __init__(self, job_type: str, delay_s: float) -> None:
        """Name the job type, the delay and the two fixes."""
        super().__init__(
            f"delay_s={delay_s!r} for {job_type!r} is refused: Settings.delayed_jobs is false; "
            "enqueue without a delay, or set delayed_jobs=True (JOBS_DELAYED_JOBS=true)"
        )
        self.job_type = job_type
        self.delay_s = delay_s


class NotInDeadLetterQueueError(JobforgeRuntimeError):
    """A job id given to a dead-letter command is not a dead letter."""


class ErrorKind(enum.StrEnum):
    """How a failure is handled."""

    TRANSIENT = "transient"
    PERMANENT = "permanent"
    CONFIGURATION = "configuration"
    TIMEOUT = "timeout"


class JobError(JobforgeRuntimeError):
    """A failure a job raises on purpose; ``kind`` says how it is handled."""

    kind: ErrorKind = ErrorKind.TRANSIENT
    reason: str = "server_error"


class TransientError(JobError):
    """A failure that may pass: network blip, rate limit, lock conflict. Retried."""


class RateLimitedError(TransientError):
    """A downstream service asked us to slow down. Retried."""

    reason = "rate_limit"


class PermanentError(JobError):
    """A failure retrying cannot fix: invalid data, a missing record. Dead at once."""

    kind = ErrorKind.PERMANENT
    reason = "validation"


class ConfigurationError(JobError):
    """Missing credentials or settings: a person must act. Dead at once, and alerted."""

    kind = ErrorKind.CONFIGURATION
    reason = "auth"


class JobTimeoutError(TransientError):
    """The attempt ran past its timeout and was interrupted."""

    kind = ErrorKind.TIMEOUT
    reason = "timeout"


def reason_of(exc: BaseException) -> str:
    """Return the reason name (network, timeout, validation, ...) of an exception."""
    if isinstance(exc, JobError):
        return exc.reason
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timeout"
    if isinstance(exc, PermissionError):
        return "auth"
    if isinstance(exc, ConnectionError | OSError):
        return "network"
    if isinstance(exc, ValueError | TypeError | json.JSONDecodeError):
        return "validation"
    if isinstance(exc, LookupError):
        return "not_found"
    return "server_error"


def classify(
    exc: BaseException,
    *,
    retry_on: Iterable[str],
    discard_on: Iterable[str],
    transient_types: tuple[type[BaseException], ...] = (),
) -> ErrorKind:
    """Return how ``exc`` is handled.

    A :class:`JobError` keeps its declared kind; an exception of one of the job's
    ``transient_types`` is transient. Anything else maps to a reason (:func:`reason_of`): reasons
    in ``discard_on`` are permanent, reasons in ``retry_on`` transient, and the rest permanent, so
    an unforeseen bug is not retried forever.
    """
    if isinstance(exc, JobError):
        return exc.kind
    if transient_types and isinstance(exc, transient_types):
        return ErrorKind.TRANSIENT
    reason = reason_of(exc)
    if reason in set(discard_on):
        return ErrorKind.PERMANENT
    if reason in set(retry_on):
        return ErrorKind.TIMEOUT if reason == "timeout" else ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def is_retryable(kind: ErrorKind) -> bool:
    """Return True for the kinds that are retried (transient and timeout)."""
    return kind in (ErrorKind.TRANSIENT, ErrorKind.TIMEOUT)
