"""Catch-up runs are told apart from regular ticks on any grid; windows start at readiness."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Timing, TimingFacts
from jobforge.conformance.checks.scheduling import (
    Session,
    catch_up_runs,
    missed_run_policy,
    on_time,
)
from jobforge.conformance.env import Env, Guarded, WorkerPool
from jobforge.conformance.history import Attempt, History, Ledger
from jobforge.conformance.probes import PROBE_SCHEDULED
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.rubric.outcomes import Outcome

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


# -- windows start at observed readiness ---------------------------------------------------------


def _env(tmp_path: Path, session: Session, facts: TimingFacts | None = None) -> Env:
    adapter = Guarded(ReferenceAdapter())
    base = ReferenceAdapter().describe()
    jobs = tuple(
        replace(spec, timing_facts=facts) if spec.name == PROBE_SCHEDULED else spec
        for spec in base.jobs
    )
    return Env(
        adapter=adapter,
        ledger=Ledger(tmp_path / "ledger.db", run_id="r"),
        description=replace(base, jobs=jobs),
        timing=Timing(),
        pool=WorkerPool(adapter),
        scope="scheduling.x",
        shared_cache={"scheduling.session": session},
    )


def _firing(n: int, at: float, probe_id: str = "quick") -> Attempt:
    return Attempt(
        row=n,
        scope="scheduling.session",
        probe_id=probe_id,
        job_id=f"{probe_id}-{n}",
        job_type=PROBE_SCHEDULED,
        attempt=1,
        pid=1,
        worker="w1",
        started_at=at,
        ended_at=at + 0.01,
        outcome="ok",
    )


def _session(
    ticks: list[float],
    *,
    restarted: float = 7.7,
    ready_again: float | None = None,
    stopped: float = 6.3,
    ended: float = 9.15,
) -> Session:
    return Session(
        interval_s=1.0,
        quick="quick",
        slow="slow",
        started=0.0,
        stopped=stopped,
        restarted=restarted,
        ready_again=ready_again,
        ended=ended,
        history=History(run_id="r", attempts=tuple(_firing(n, t) for n, t in enumerate(ticks))),
    )


def test_a_slow_scheduler_start_is_not_lateness(tmp_path: Path) -> None:
    verdict = on_time(_env(tmp_path, _session([2.5, 3.5, 4.5, 5.5])))
    assert verdict.outcome is Outcome.PASS, verdict


def test_drift_after_readiness_is_still_caught_unless_a_tick_is_declared(tmp_path: Path) -> None:
    drifting = _session([2.5, 3.5, 4.9, 5.5])
    assert on_time(_env(tmp_path, drifting)).outcome is Outcome.FAIL
    huey = TimingFacts(resolution_s=1.0)
    assert on_time(_env(tmp_path, drifting, huey)).outcome is Outcome.PASS


def test_too_few_ticks_after_readiness_are_inconclusive(tmp_path: Path) -> None:
    verdict = on_time(_env(tmp_path, _session([5.0, 6.0])))
    assert verdict.outcome is Outcome.INCONCLUSIVE and "first tick 5.00 s" in verdict.evidence[0]


def test_the_catch_up_window_opens_when_the_restarted_scheduler_is_ready(tmp_path: Path) -> None:
    before = [2.2, 3.2, 4.2, 5.2]  # ticks before the outage, then a catch-up 0.9 s after restart
    late_start = _session([*before, 8.6], stopped=5.5, ready_again=8.6)
    assert missed_run_policy(_env(tmp_path, late_start)).outcome is Outcome.PASS
    unseen = _session([*before, 8.6], stopped=5.5, ready_again=None)
    assert missed_run_policy(_env(tmp_path, unseen)).outcome is Outcome.FAIL


def test_a_late_first_dispatch_is_readiness_not_drift(tmp_path: Path) -> None:
    # Issue-9 style: the first job of the schedule started 0.33 s late, every later tick on time.
    verdict = on_time(_env(tmp_path, _session([2.83, 3.5, 4.5, 5.5])))
    assert verdict.outcome is Outcome.PASS, verdict
