"""The context a running job gets: its identity, its job-level services and its stop signal.

:class:`JobContext` satisfies :class:`jobforge.conformance.adapter.ProbeContext`. Python cannot
kill a thread, so an attempt that is abandoned is stopped at its next call into the context
(``should_stop()``, ``claim_effect``, ``set_progress``, checkpoints):

* timed out: the call raises :class:`AttemptTimedOut` (a ``TimeoutError``), as a signal-based
  time limit would;
* its worker was killed, or the job system was reset: the call raises
  :class:`AttemptAbandoned`, and :attr:`JobContext.severed` turns true so the glue around the
  body can drop whatever the dying body still tries to record (a SIGKILLed process records
  nothing more).
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Protocol

from ..adapter import JSONObject
from .records import Claim


class AttemptAbandoned(Exception):
    """The attempt was abandoned (killed worker or reset); its body must stop now."""


class AttemptTimedOut(TimeoutError):
    """The attempt overran its time limit; its body must stop now."""


class Abandon(enum.StrEnum):
    """Why an attempt was abandoned."""

    TIMEOUT = "timeout"
    KILLED = "killed"
    RESET = "reset"


class AttemptControl:
    """The stop signal of one attempt, shared by its supervising slot and its body."""

    def __init__(self, killed: Callable[[], bool] | None = None) -> None:
        self._lock = threading.Lock()
        self._reason: Abandon | None = None
        self._killed = killed  # the worker's kill switch: a kill stops the body at its next call

    def abandon(self, reason: Abandon) -> None:
        """Abandon the attempt; the first reason sticks."""
        with self._lock:
            if self._reason is None:
                self._reason = reason

    @property
    def reason(self) -> Abandon | None:
        """Why the attempt was abandoned, or None while it is live."""
        with self._lock:
            return self._reason

    def check(self, what: str) -> None:
        """Return while the attempt is live; otherwise stop the body as the reason demands."""
        if self._killed is not None and self._killed():
            self.abandon(Abandon.KILLED)
        reason = self.reason
        if reason is None:
            return
        if reason is Abandon.TIMEOUT:
            raise AttemptTimedOut(f"{what}: the attempt exceeded its time limit")
        raise AttemptAbandoned(f"{what}: the attempt was abandoned ({reason})")


class JobServices(Protocol):
    """What the job system offers a running attempt."""

    def claim_effect(self, claim: Claim, key: str) -> bool:
        """Return True the first time ``key`` is claimed in the job's idempotency scope."""

    def set_progress(self, claim: Claim, fraction: float) -> None:
        """Publish progress of the running attempt."""

    def save_checkpoint(self, claim: Claim, state: JSONObject) -> None:
        """Persist a checkpoint for later attempts."""

    def load_checkpoint(self, claim: Claim) -> JSONObject | None:
        """Return the last checkpoint saved by any attempt of the job."""


class JobContext:
    """One attempt's view of the job system."""

    def __init__(
        self, services: JobServices, claim: Claim, control: AttemptControl, worker_id: str
    ) -> None:
        self._services = services
        self._claim = claim
        self._control = control
        self._worker_id = worker_id

    @property
    def job_id(self) -> str:
        """The running job's id."""
        return self._claim.job.job_id

    @property
    def attempt(self) -> int:
        """1 for the first run, 2 for the first retry, ..."""
        return self._claim.attempt

    @property
    def job_type(self) -> str:
        """The running job's type."""
        return self._claim.job.job_type

    @property
    def worker_id(self) -> str:
        """The worker running this attempt."""
        return self._worker_id

    @property
    def severed(self) -> bool:
        """True once the attempt's worker was killed or the system reset: it must leave no trace."""
        return self._control.reason in (Abandon.KILLED, Abandon.RESET)

    def _live(self, what: str) -> None:
        self._control.check(f"job {self.job_id} attempt {self.attempt} {what}")

    def should_stop(self) -> bool:
        """Return False while the attempt is live; raise to stop an abandoned attempt's body."""
        self._live("should_stop")
        return False

    def claim_effect(self, key: str) -> bool:
        """Return True the first time ``key`` is claimed for this job's idempotency scope."""
        self._live("claim_effect")
        return self._services.claim_effect(self._claim, key)

    def set_progress(self, fraction: float) -> None:
        """Publish progress 0.0..1.0."""
        self._live("set_progress")
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"progress is {fraction!r}; pass a fraction from 0.0 to 1.0")
        self._services.set_progress(self._claim, fraction)

    def save_checkpoint(self, state: JSONObject) -> None:
        """Persist ``state`` so a later attempt can resume."""
        self._live("save_checkpoint")
        self._services.save_checkpoint(self._claim, state)

    def load_checkpoint(self) -> JSONObject | None:
        """Return the last saved checkpoint of this job, or None."""
        self._live("load_checkpoint")
        return self._services.load_checkpoint(self._claim)
