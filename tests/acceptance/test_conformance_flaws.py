"""The kit tells the truth about the reference: 35/35 clean, and each flaw costs its dimension.

Each named flaw of the reference implementation must lower exactly the dimension it breaks and
leave every other dimension at 5. Every run is a full ci-profile conformance run; they run
three at a time in separate processes (each run mostly waits on its own timers).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import pytest
from jobforge.conformance.reference import FLAWS

# The flaws' verdicts rest on millisecond timing (jitter, delays, ticks) and 23 runs go three at
# a time: they run alone, after the parallel run.
pytestmark = [pytest.mark.acceptance, pytest.mark.timing]

#: The dimension each flaw breaks (from the issue; the reference implements the flaws).
FLAW_DIMENSION: Mapping[str, str] = {
    "no_idempotency": "idempotency",
    "unbounded_retries": "error_handling",
    "retries_permanent": "error_handling",
    "no_backoff": "error_handling",
    "no_timeout": "error_handling",
    "no_dead_letter": "error_handling",
    "no_replay": "error_handling",
    "loses_jobs_on_kill": "scalability",
    "ignores_delays": "scheduling",
    "overlapping_cron": "scheduling",
    "double_fire": "scheduling",
    "ignores_concurrency_cap": "concurrency",
    "no_progress": "observability",
    "miscounting_metrics": "observability",
    "no_tests": "testing",
    "health_always_ok": "observability",
    "no_lease_renewal": "scalability",
    "replay_repeats_effects": "error_handling",
    "constant_backoff": "error_handling",
    "no_jitter": "error_handling",
    "queues_skipped_ticks": "scheduling",
}

Score = tuple[int, dict[str, int | None], list[str]]


def score_reference(flaw: str | None) -> Score:
    """Run the kit on the reference with ``flaw`` (or none); return total, levels, non-passes."""
    from jobforge.conformance.reference import ReferenceAdapter
    from jobforge.conformance.runner import run

    results = run(ReferenceAdapter(frozenset() if flaw is None else {flaw}))
    card = results.scorecard()
    levels = {d.dimension: d.level for d in card.dimensions}
    problems = [
        f"{o.check_id} {o.outcome.value}: {' | '.join(o.evidence)}"
        for o in results.outcomes
        if o.outcome.value != "pass"
    ]
    return card.total, levels, problems


@pytest.fixture(scope="module")
def scores() -> dict[str | None, Score]:
    runs: list[str | None] = [None, *FLAWS]
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=3, mp_context=context) as pool:
        return dict(zip(runs, pool.map(score_reference, runs), strict=True))


def test_every_flaw_is_mapped_to_a_dimension() -> None:
    assert set(FLAW_DIMENSION) == set(FLAWS)


def test_clean_reference_scores_35(scores: dict[str | None, Score]) -> None:
    total, levels, problems = scores[None]
    assert problems == []
    assert total == 35, levels


@pytest.mark.parametrize("flaw", sorted(FLAW_DIMENSION))
def test_flaw_lowers_exactly_its_dimension(flaw: str, scores: dict[str | None, Score]) -> None:
    _total, levels, problems = scores[flaw]
    broken = FLAW_DIMENSION[flaw]
    assert levels[broken] is not None and levels[broken] < 5, (levels, problems)
    others = {d: lvl for d, lvl in levels.items() if d != broken}
    assert all(lvl == 5 for lvl in others.values()), (others, problems)
    assert all(p.split(".", 1)[0] == broken for p in problems), problems
    assert not any(" inconclusive:" in p for p in problems), problems
