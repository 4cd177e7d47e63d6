"""The probe context a bundled adapter gives the kit's probe jobs: only what the framework has.

Celery, RQ, Huey and Dramatiq offer no idempotency guard and no checkpoint store, so this context
offers none either: every effect is claimed (a duplicate run shows as a duplicated effect) and no
checkpoint survives an attempt. Progress is kept in the kit's job book, where ``inspect`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..adapter import JSONObject
from .jobbook import JobBook


@dataclass(frozen=True)
class FrameworkProbeContext:
    """One attempt of a probe job run by a framework's worker."""

    job_id: str
    attempt: int
    book: JobBook

    def claim_effect(self, key: str) -> bool:
        """No framework guard: every claim succeeds."""
        return True

    def set_progress(self, fraction: float) -> None:
        """Publish progress where ``inspect`` reads it."""
        self.book.progress(self.job_id, fraction)

    def save_checkpoint(self, state: JSONObject) -> None:
        """No framework checkpoint store: the state is not kept."""

    def load_checkpoint(self) -> JSONObject | None:
        """No framework checkpoint store: nothing to resume from."""
        return None
