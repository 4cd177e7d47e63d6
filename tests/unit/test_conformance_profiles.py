"""Profiles and fault helpers: the ci profile is the default scale, stress adds a campaign."""

from __future__ import annotations

import pytest
from jobforge.conformance.adapter import Timing
from jobforge.conformance.profiles import PROFILES, get_profile

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit


def test_ci_profile_uses_the_default_timing_and_no_campaign() -> None:
    ci = get_profile("ci")
    assert ci.timing == Timing() and ci.campaign_examples == 0 and ci.parallel_suite


def test_stress_profile_grows_workloads_and_runs_a_campaign() -> None:
    stress = get_profile("stress")
    assert stress.campaign_examples > 0
    assert all(size > 2 for size in stress.sizes.values())


def test_unknown_profile_names_the_known_ones() -> None:
    with pytest.raises(UsageError, match="ci, stress"):
        get_profile("fast")
    assert set(PROFILES) == {"ci", "stress"}
