"""Run profiles: the timing scale and workload sizes of a conformance run.

``ci`` is small and deterministic (fixed workloads, no randomness) so the same implementation
gets the same score run after run; ``stress`` multiplies the workloads for a fault campaign.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from jobforge.errors import UsageError

from .adapter import Timing


@dataclass(frozen=True, kw_only=True)
class Profile:
    """How big and how fast one run is."""

    name: str
    timing: Timing = field(default_factory=Timing)
    sizes: Mapping[str, int] = field(default_factory=dict)  # workload sizes by name (see checks)
    parallel_suite: bool = True  # run the own test suite beside the other checks
    campaign_examples: int = 0  # random fault campaign (state machine) after the checks; 0: none


PROFILES: Mapping[str, Profile] = MappingProxyType(
    {
        "ci": Profile(name="ci"),
        "stress": Profile(
            name="stress",
            sizes=MappingProxyType(
                {
                    "duplicates": 12,
                    "partial": 8,
                    "exhausted": 6,
                    "permanent": 4,
                    "rate_jobs": 20,
                    "distributed_jobs": 60,
                }
            ),
            parallel_suite=False,
            campaign_examples=40,
        ),
    }
)


def get_profile(name: str) -> Profile:
    """Return the profile called ``name`` or raise UsageError listing the known ones."""
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(PROFILES)
        raise UsageError(f"--profile {name!r} is not a profile; choose one of: {known}") from None
