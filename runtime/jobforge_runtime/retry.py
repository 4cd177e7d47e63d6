"""Retry policy: how many attempts a job gets and how long it waits before each retry."""

from __future__ import annotations

import random
from dataclasses import dataclass

from jobforge_runtime.errors import SettingsError


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Attempts and exponential backoff with jitter.

    Retry *n* (1 = the first retry) waits ``base_delay_s * 2 ** (n - 1)``, capped at
    ``max_delay_s``, then moved by up to ``jitter`` of itself in either direction, so jobs that
    failed together do not retry in lockstep.
    """

    max_attempts: int  # total attempts including the first run; 1 means no retry
    base_delay_s: float = 1.0
    max_delay_s: float = 300.0
    jitter: float = 0.25  # 0 disables jitter

    def __post_init__(self) -> None:
        """Reject policies that would retry forever or wait a negative time."""
        if self.max_attempts < 1:
            raise SettingsError(
                f"max_attempts={self.max_attempts}: must be at least 1 (1 = no retry)"
            )
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise SettingsError(
                f"base_delay_s={self.base_delay_s}, max_delay_s={self.max_delay_s}: "
                "delays must not be negative"
            )
        if not 0 <= self.jitter < 1:
            raise SettingsError(f"jitter={self.jitter}: use a fraction in [0, 1), e.g. 0.25")

    def base_delay(self, retry: int) -> float:
        """Return the delay before retry ``retry`` (1 = first retry), without jitter."""
        exponent = max(0, retry - 1)
        if exponent > 60:  # 2**60 s is past any cap; avoid float overflow
            return self.max_delay_s
        return float(min(self.base_delay_s * 2.0**exponent, self.max_delay_s))

    def delay(self, retry: int, rng: random.Random | None = None) -> float:
        """Return the delay before retry ``retry`` with jitter applied."""
        base = self.base_delay(retry)
        if not self.jitter or base == 0:
            return base
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))

    def should_retry(self, attempts_made: int) -> bool:
        """Return True while the job has attempts left after ``attempts_made`` attempts."""
        return attempts_made < self.max_attempts
