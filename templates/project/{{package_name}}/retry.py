"""Retry policy: how many attempts a job gets and how long it waits before each retry."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Attempts and delays of one job type.

    ``delays_s`` are the base delays: retry *i* (0-based) waits ``delays_s[min(i, len - 1)]``,
    so the last delay is the cap. With ``strategy="exponential"`` and a single delay, the delay
    doubles per retry up to ``cap_s``. Jitter moves a delay by at most ``jitter_ratio`` of itself.
    """

    max_attempts: int  # total attempts including the first run; 1 means no retry
    delays_s: tuple[float, ...] = (1.0,)
    strategy: str = "exponential"  # exponential | fixed
    cap_s: float | None = None  # largest delay; defaults to the last of delays_s
    jitter: bool = True
    jitter_ratio: float = 0.25

    def __post_init__(self) -> None:
        """Reject policies that would retry forever or wait a negative time."""
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts={self.max_attempts}: must be at least 1 (1 = no retry)")
        if any(d < 0 for d in self.delays_s):
            raise ValueError(f"delays_s={self.delays_s}: delays must not be negative")
        if self.strategy not in ("exponential", "fixed"):
            raise ValueError(f"strategy={self.strategy!r}: use 'exponential' or 'fixed'")
        if not 0 <= self.jitter_ratio < 1:
            raise ValueError(f"jitter_ratio={self.jitter_ratio}: must be in [0, 1)")

    @property
    def cap(self) -> float:
        """The largest base delay."""
        if self.cap_s is not None:
            return self.cap_s
        return self.delays_s[-1] if self.delays_s else 0.0

    def base_delay(self, retry_index: int) -> float:
        """Return the delay before retry ``retry_index`` (0 = first retry), without jitter."""
        if not self.delays_s:
            return 0.0
        if self.strategy == "exponential" and len(self.delays_s) == 1:
            return float(min(self.delays_s[0] * 2**retry_index, self.cap))
        if self.strategy == "fixed":
            return float(min(self.delays_s[0], self.cap))
        return float(min(self.delays_s[min(retry_index, len(self.delays_s) - 1)], self.cap))

    def delay(self, retry_index: int, rng: random.Random | None = None) -> float:
        """Return the delay before retry ``retry_index`` with jitter applied when enabled."""
        base = self.base_delay(retry_index)
        if not self.jitter or base == 0:
            return base
        spread = base * self.jitter_ratio
        return max(0.0, base + (rng or random.Random()).uniform(-spread, spread))

    def should_retry(self, attempts_made: int) -> bool:
        """Return True while the job has attempts left after ``attempts_made`` attempts."""
        return attempts_made < self.max_attempts
