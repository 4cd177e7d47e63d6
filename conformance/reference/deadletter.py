"""The dead-letter queue: jobs that exhausted their attempts or failed permanently."""

from __future__ import annotations

import threading

from ..adapter import DeadLetter


class DeadLetterQueue:
    """Dead letters by job id, oldest first. With ``keep=False`` nothing is kept (a flaw)."""

    def __init__(self, *, keep: bool = True) -> None:
        self._keep = keep
        self._lock = threading.Lock()
        self._letters: dict[str, DeadLetter] = {}

    def add(self, letter: DeadLetter) -> None:
        """File a dead job with its full context."""
        if not self._keep:
            return
        with self._lock:
            self._letters[letter.job_id] = letter

    def take(self, job_id: str) -> DeadLetter | None:
        """Remove and return the dead letter of ``job_id`` (for replay), or None."""
        with self._lock:
            return self._letters.pop(job_id, None)

    def put_back(self, letter: DeadLetter) -> None:
        """Return a letter taken for a replay that could not be enqueued."""
        with self._lock:
            self._letters.setdefault(letter.job_id, letter)

    def list(self) -> list[DeadLetter]:
        """Every dead letter, oldest first."""
        with self._lock:
            return sorted(self._letters.values(), key=lambda letter: letter.failed_at)

    def __len__(self) -> int:
        with self._lock:
            return len(self._letters)

    def clear(self) -> None:
        """Drop every dead letter."""
        with self._lock:
            self._letters.clear()
