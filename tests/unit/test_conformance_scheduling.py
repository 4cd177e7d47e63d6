"""Catch-up runs after a scheduler outage are told apart from regular ticks on any tick grid."""

from __future__ import annotations

import pytest
from jobforge.conformance.checks.scheduling import catch_up_runs

pytestmark = pytest.mark.unit

RESTART = 100.0


@pytest.mark.parametrize("phase", [0.01, 0.2, 0.3, 0.45, 0.6, 0.8, 0.99])
def test_one_catch_up_is_counted_wherever_the_grid_falls(phase: float) -> None:
    grid = [RESTART + phase + k for k in range(3)]
    firings = [RESTART + 0.002, *(g + 0.003 for g in grid)]  # catch-up, then regular ticks
    assert len(catch_up_runs(firings, grid, 1.0, RESTART - 0.05, RESTART + 0.5)) == 1


@pytest.mark.parametrize("phase", [0.01, 0.3, 0.8])
def test_regular_ticks_alone_are_no_catch_up(phase: float) -> None:
    grid = [RESTART + phase + k for k in range(3)]
    firings = [g + 0.003 for g in grid]
    assert catch_up_runs(firings, grid, 1.0, RESTART - 0.05, RESTART + 0.5) == []


def test_every_extra_firing_counts() -> None:
    grid = [RESTART + 0.7]
    firings = [RESTART, RESTART + 0.01, RESTART + 0.02, RESTART + 0.7]
    assert len(catch_up_runs(firings, grid, 1.0, RESTART - 0.05, RESTART + 0.5)) == 3


def test_firings_outside_the_window_are_ignored() -> None:
    assert catch_up_runs([RESTART - 1, RESTART + 2], [], 1.0, RESTART, RESTART + 0.5) == []
