"""The running job's context: identity, progress, checkpoints, the effect guard, follow-ups."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

from jobforge_runtime.errors import JobTimeoutError
from jobforge_runtime.records import JobRecord

if TYPE_CHECKING:
    from jobforge_runtime.catalogue import JobDef
    from jobforge_runtime.runtime import Runtime

P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class JobContext:
    """Handed to every handler with its payload."""

    runtime: Runtime
    record: JobRecord
    started_at: float  # monotonic clock reading when the attempt started
    timeout_s: float | None = None  # checked here when no signal can interrupt the job

    @property
    def job_id(self) -> str:
        """The running job's id."""
        return self.record.job_id

    @property
    def attempt(self) -> int:
        """1 for the first run, 2 for the first retry, ..."""
        return self.record.attempts

    def claim_effect(self, key: str) -> bool:
        """Return True the first time ``key`` is claimed in this job's idempotency scope.

        Guard every external side effect with it: a retried, redelivered or replayed job then
        skips the effects an earlier attempt already made.
        """
        scope = self.record.effect_scope or self.job_id
        return self.runtime.ledger.claim_effect(scope, key, now=self.runtime.clock())

    def set_progress(self, fraction: float) -> None:
        """Publish progress 0.0..1.0 (shown by ``status``)."""
        self._check_time()
        self.runtime.ledger.set_progress(self.job_id, fraction, now=self.runtime.clock())

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Persist ``state`` so a later attempt of the same job resumes from it."""
        self._check_time()
        self.runtime.ledger.save_checkpoint(self.job_id, state, now=self.runtime.clock())

    def load_checkpoint(self) -> dict[str, Any] | None:
        """Return the checkpoint saved by an earlier attempt of this job, or None."""
        return self.record.checkpoint

    def enqueue(self, job: JobDef[P], payload: P, *, idempotency_key: str | None = None) -> str:
        """Queue a follow-up job (a batch's chunks); return its id."""
        return self.runtime.enqueue(job, payload, idempotency_key=idempotency_key)

    def _check_time(self) -> None:
        if self.timeout_s is not None and time.monotonic() - self.started_at > self.timeout_s:
            raise JobTimeoutError(f"job ran past its timeout_s={self.timeout_s:g}")
