"""Admission limits: global and per-type concurrency caps, per-type rate limits.

The queue asks :meth:`Limits.try_admit` while it holds its own lock, so the decision and the
claim are one step; a worker slot calls :meth:`Limits.release` when its attempt ends.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from ..adapter import JobSpec


class TokenBucket:
    """A token bucket: ``rate`` tokens a second, at most ``burst`` stored."""

    def __init__(
        self, rate: float, burst: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate_limit_per_s is {rate!r}; it must be > 0 (or None for no limit)")
        self._rate = rate
        self._burst = max(1.0, burst)
        self._clock = clock
        self._tokens = 1.0
        self._stamp = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def available(self) -> bool:
        """Whether a token can be taken now."""
        self._refill()
        return self._tokens >= 1.0

    def take(self) -> None:
        """Take one token; call only after :meth:`available` said yes."""
        self._tokens -= 1.0

    def wait_s(self) -> float:
        """Seconds until the next token is available (0 when one is)."""
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self._rate)


#: Rate limits run this much under the declared rate, so timing noise never pushes a window over.
RATE_HEADROOM = 0.9


class Limits:
    """Counts running attempts and decides whether one more of a type may start."""

    def __init__(
        self,
        *,
        global_cap: int | None,
        enforce_caps: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._global_cap = global_cap
        self._enforce = enforce_caps
        self._clock = clock
        self._lock = threading.Lock()
        self._running_total = 0
        self._running: dict[str, int] = {}
        self._buckets: dict[str, TokenBucket] = {}

    def _bucket(self, spec: JobSpec) -> TokenBucket | None:
        if spec.rate_limit_per_s is None:
            return None
        bucket = self._buckets.get(spec.name)
        if bucket is None:
            bucket = TokenBucket(spec.rate_limit_per_s * RATE_HEADROOM, clock=self._clock)
            self._buckets[spec.name] = bucket
        return bucket

    def global_full(self) -> bool:
        """Whether the global cap leaves no room for any attempt."""
        with self._lock:
            return self._global_full()

    def _global_full(self) -> bool:
        return (
            self._enforce
            and self._global_cap is not None
            and self._running_total >= self._global_cap
        )

    def try_admit(self, spec: JobSpec) -> bool:
        """Count one more running attempt of ``spec`` if every limit allows it."""
        with self._lock:
            if self._global_full():
                return False
            running = self._running.get(spec.name, 0)
            if (
                self._enforce
                and spec.concurrency_limit is not None
                and running >= spec.concurrency_limit
            ):
                return False
            bucket = self._bucket(spec)
            if bucket is not None:
                if not bucket.available():
                    return False
                bucket.take()
            self._running_total += 1
            self._running[spec.name] = running + 1
            return True

    def next_token_s(self, spec: JobSpec) -> float:
        """Seconds until a rate-limited type may start again (0 when it may now)."""
        with self._lock:
            bucket = self._bucket(spec)
            return 0.0 if bucket is None else bucket.wait_s()

    def release(self, spec: JobSpec) -> None:
        """Free the slot of an attempt of ``spec`` that ended (or was abandoned)."""
        with self._lock:
            self._running_total = max(0, self._running_total - 1)
            self._running[spec.name] = max(0, self._running.get(spec.name, 0) - 1)

    def running(self) -> int:
        """Return how many attempts are counted as running now."""
        with self._lock:
            return self._running_total

    def clear(self) -> None:
        """Forget running counts and rate buckets."""
        with self._lock:
            self._running_total = 0
            self._running.clear()
            self._buckets.clear()


class UniqueIndex:
    """Unique jobs: at most one unfinished job per (job type, unique key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[tuple[str, str], str] = {}

    def reserve(self, job_type: str, key: str, job_id: str) -> str:
        """Reserve the key for ``job_id`` unless a live job holds it; return the holder's id."""
        with self._lock:
            return self._live.setdefault((job_type, key), job_id)

    def release(self, job_type: str, key: str, job_id: str) -> None:
        """Free the key: the job holding it finished."""
        with self._lock:
            if self._live.get((job_type, key)) == job_id:
                del self._live[(job_type, key)]

    def clear(self) -> None:
        """Free every key."""
        with self._lock:
            self._live.clear()
