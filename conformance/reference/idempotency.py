"""Idempotency: duplicate submissions collapse to one job; effects are claimed once per scope.

The *scope* of a job's effects is its idempotency key when it has one, else the id of the first
job of its line (a retry, a redelivery and a manual replay all keep the scope). An effect key
claimed once in a scope is never granted again, so a redelivered or retried job never repeats it.
"""

from __future__ import annotations

import threading


class IdempotencyIndex:
    """Maps idempotency keys to the id of the first job submitted with that key."""

    def __init__(self, *, dedupe: bool = True) -> None:
        self._dedupe = dedupe
        self._lock = threading.Lock()
        self._first: dict[str, str] = {}

    def owner(self, key: str) -> str | None:
        """Return the id of the job that owns ``key``, or None (always None when dedupe is off)."""
        if not self._dedupe:
            return None
        with self._lock:
            return self._first.get(key)

    def remember(self, key: str, job_id: str) -> None:
        """Make ``job_id`` the owner of ``key`` unless it already has one.

        The caller checks :meth:`owner` and remembers under one lock of its own, so two
        concurrent submissions with one key can never both enqueue.
        """
        with self._lock:
            self._first.setdefault(key, job_id)

    def clear(self) -> None:
        """Forget every key."""
        with self._lock:
            self._first.clear()


class EffectGuard:
    """The set of (scope, effect key) pairs already claimed."""

    def __init__(self, *, enabled: bool = True) -> None:
        self._enabled = enabled
        self._lock = threading.Lock()
        self._claimed: set[tuple[str, str]] = set()

    def claim(self, scope: str, effect: str) -> bool:
        """Return True the first time ``effect`` is claimed in ``scope``, False after."""
        if not self._enabled:
            return True
        with self._lock:
            if (scope, effect) in self._claimed:
                return False
            self._claimed.add((scope, effect))
            return True

    def clear(self) -> None:
        """Forget every claimed effect."""
        with self._lock:
            self._claimed.clear()
