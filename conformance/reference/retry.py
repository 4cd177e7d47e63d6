"""Retry policy: classify an error, then retry with backoff or send the job to the dead letters.

Transient errors and timeouts are retried until the declared max attempts is reached; permanent
and configuration errors are not retried. Retry *i* (0 for the first retry) waits
``delays[min(i, len - 1)]`` moved by a bounded jitter.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..adapter import JobSpec
from .records import ErrorKind


class PermanentJobError(Exception):
    """Raise from a job to say retrying cannot help (bad input, missing record, ...)."""


class ConfigurationJobError(Exception):
    """Raise from a job when the set-up is wrong (missing credential, bad URL): alert a human."""


class Classifier(Protocol):
    """Decides the kind of an error raised by a job."""

    def __call__(self, error: BaseException) -> ErrorKind:
        """Return the kind of ``error``."""


@dataclass(frozen=True)
class ByType:
    """Classifies by exception type; anything not listed is transient (retry is the default)."""

    permanent: tuple[type[BaseException], ...] = (PermanentJobError,)
    configuration: tuple[type[BaseException], ...] = (ConfigurationJobError,)

    def __call__(self, error: BaseException) -> ErrorKind:
        """Return PERMANENT, CONFIGURATION or TRANSIENT for ``error``."""
        if isinstance(error, self.configuration):
            return ErrorKind.CONFIGURATION
        if isinstance(error, self.permanent):
            return ErrorKind.PERMANENT
        return ErrorKind.TRANSIENT


@dataclass(frozen=True, kw_only=True)
class Decision:
    """What happens after a failed attempt: retry after ``delay_s``, or dead."""

    retry: bool
    delay_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Turns (job spec, attempts so far, error kind) into a :class:`Decision`."""

    jitter_ratio: float = 0.1  # a delay moves by at most this fraction either way
    extra_attempts: int = 0  # attempts allowed past the declared max (a flaw when > 0)
    retry_permanent: bool = False  # retry permanent errors too (a flaw)
    apply_backoff: bool = True  # wait the declared delay (False is a flaw)
    rand: Callable[[], float] = random.random  # uniform [0, 1), injectable for tests

    def retryable(self, kind: ErrorKind) -> bool:
        """Whether an error of ``kind`` may be retried at all."""
        if kind in (ErrorKind.TRANSIENT, ErrorKind.TIMEOUT, ErrorKind.LOST):
            return True
        return self.retry_permanent and kind is ErrorKind.PERMANENT

    def delay_s(self, spec: JobSpec, retry_index: int) -> float:
        """Delay before retry ``retry_index`` (0 = first retry), jitter included."""
        if not self.apply_backoff or not spec.backoff_delays_s:
            return 0.0
        delays = spec.backoff_delays_s
        base = delays[min(retry_index, len(delays) - 1)]
        spread = (2.0 * self.rand() - 1.0) * self.jitter_ratio
        return max(0.0, base * (1.0 + spread))

    def decide(self, spec: JobSpec, attempts: int, kind: ErrorKind) -> Decision:
        """Decide after attempt number ``attempts`` failed with an error of ``kind``."""
        if not self.retryable(kind):
            return Decision(retry=False)
        if attempts >= spec.max_attempts + self.extra_attempts:
            return Decision(retry=False)
        return Decision(retry=True, delay_s=self.delay_s(spec, attempts - 1))
