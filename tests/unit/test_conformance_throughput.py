"""scalability.throughput_scales: two measured pairs decide only when they agree."""

from __future__ import annotations

import pytest
from jobforge.conformance.checks.scalability import judge_speedups
from jobforge.rubric.outcomes import Outcome

pytestmark = pytest.mark.unit


def test_two_pairs_both_fast_pass() -> None:
    verdict = judge_speedups([(2.4, 1.2), (2.5, 1.4)], 16, 0.3)
    assert verdict.outcome is Outcome.PASS
    assert "2.00x" in verdict.evidence[0]


def test_two_pairs_both_slow_fail_naming_every_measurement() -> None:
    verdict = judge_speedups([(2.4, 2.3), (2.4, 2.0)], 16, 0.3)
    assert verdict.outcome is Outcome.FAIL
    assert "1.04x" in verdict.evidence[0] and "1.20x" in verdict.evidence[0]


def test_pairs_on_both_sides_of_the_threshold_are_inconclusive_saying_noise_dominates() -> None:
    verdict = judge_speedups([(2.4, 1.3), (2.4, 1.9)], 16, 0.3)
    assert verdict.outcome is Outcome.INCONCLUSIVE
    assert "noise dominates" in verdict.evidence[0]
