"""Pure checker functions find lost jobs, duplicated effects, bad backoff, overlaps and drift."""

from __future__ import annotations

import pytest
from jobforge.conformance import checkers
from jobforge.conformance.history import Attempt, Effect, History, Submission

pytestmark = pytest.mark.unit


def att(
    job: str, n: int, start: float, end: float | None, outcome: str | None = "ok", probe: str = "p"
) -> Attempt:
    return Attempt(
        row=int(start * 1000) + n,
        scope="s",
        probe_id=probe,
        job_id=job,
        job_type="probe.default",
        attempt=n,
        pid=1,
        worker="w",
        started_at=start,
        ended_at=end,
        outcome=outcome,
    )


def eff(key: str, job: str, attempt: int = 1) -> Effect:
    return Effect(scope="s", probe_id="p", job_id=job, attempt=attempt, key=key, pid=1, at=0.0)


def sub(job: str, probe: str = "p") -> Submission:
    return Submission(
        scope="s",
        probe_id=probe,
        job_id=job,
        job_type="probe.default",
        idempotency_key=None,
        delay_s=0.0,
        priority=None,
        at=0.0,
    )


def test_attempts_over_limit_names_job_count_and_declared_max() -> None:
    h = History(run_id="r", attempts=tuple(att("17", i, i, i + 0.1, "transient") for i in range(6)))
    assert checkers.attempts_over_limit(h, 5) == ["job 17 (p): 6 attempts, declared max 5"]
    assert checkers.attempts_over_limit(h, 6) == []


def test_attempts_over_limit_on_empty_history_finds_nothing() -> None:
    assert checkers.attempts_over_limit(History(run_id="r"), 1) == []


def test_duplicated_effects_lists_each_application() -> None:
    found = checkers.duplicated_effects([eff("k", "1"), eff("k", "2", 2), eff("other", "3")])
    assert found == [
        "effect 'k': applied 2 times, expected once (job 1 attempt 1, job 2 attempt 2)"
    ]
    assert checkers.duplicated_effects([]) == []


def test_lost_jobs_distinguishes_never_started_from_unfinished_and_ignores_settled() -> None:
    h = History(
        run_id="r",
        submissions=(sub("a"), sub("b"), sub("c"), sub("d"), sub("a")),
        attempts=(att("a", 1, 0, 1), att("b", 1, 0, None, None), att("d", 1, 0, 1, "permanent")),
    )
    assert checkers.lost_jobs(h, settled={"d"}) == [
        "job b (p): started but never completed",
        "job c (p): never started",
    ]


def test_retry_gaps_skip_crashed_attempts() -> None:
    attempts = [
        att("j", 1, 0.0, 1.0, "transient"),
        att("j", 2, 1.5, None, None),
        att("j", 3, 4.0, 4.1),
    ]
    assert checkers.retry_gaps(attempts) == [(0, 0.5)]


def test_overlaps_and_high_water_mark_treat_touching_intervals_as_disjoint() -> None:
    spans = [
        checkers.Interval("a", 0, 1),
        checkers.Interval("b", 1, 2),
        checkers.Interval("c", 1.5, None),
    ]
    pairs = checkers.overlaps(spans, now=3)
    assert [(x.label, y.label) for x, y in pairs] == [("b", "c")]
    assert checkers.high_water_mark(spans, now=3) == (2, 1.5)
    assert checkers.high_water_mark([], now=0) == (0, None)


def test_open_interval_overlaps_everything_after_it() -> None:
    spans = [checkers.Interval("crashed", 0, None), checkers.Interval("later", 5, 6)]
    assert len(checkers.overlaps(spans, now=10)) == 1


def test_max_in_window_counts_starts_in_any_one_second() -> None:
    assert checkers.max_in_window([0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2], 1.0) == (5, 0)
    assert checkers.max_in_window([], 1.0) == (0, None)


def test_cluster_and_drift_measure_ticks_from_the_first() -> None:
    ticks = checkers.cluster([0.0, 0.01, 1.0, 2.05, 2.06, 3.2], gap_s=0.5)
    assert [len(c) for c in ticks] == [2, 1, 2, 1]
    drift = checkers.schedule_drift([c[0] for c in ticks], 1.0)
    assert drift == pytest.approx([0.0, 0.0, 0.05, 0.2])
    assert checkers.schedule_drift([], 1.0) == []


def test_start_order_violations_name_jobs_that_jumped_the_queue() -> None:
    first = {"h1": 1.0, "h2": 1.1, "l1": 1.05, "l2": 2.0}
    found = checkers.start_order_violations(first, before=["h1", "h2"], after=["l1", "l2"])
    assert len(found) == 1 and found[0].startswith("job l1 started 0.050 s before job h2")
    assert checkers.start_order_violations(first, before=[], after=["l1"]) == []


def delays(*pairs: tuple[float, float]) -> list[checkers.RetryDelay]:
    return [checkers.RetryDelay("j", i + 1, d, o) for i, (d, o) in enumerate(pairs)]


def test_retry_delays_pair_each_gap_with_its_declared_delay_capped() -> None:
    attempts = [att("j", 1, 0.0, 1.0), att("j", 2, 1.1, 1.2), att("j", 3, 1.45, 1.5)]
    got = checkers.retry_delays("j", attempts, (0.1,))
    assert [(d.retry, d.declared) for d in got] == [(1, 0.1), (2, 0.1)]
    assert [round(d.observed, 3) for d in got] == [0.1, 0.25]


def test_growth_violations_name_a_constant_delay_where_growth_is_declared() -> None:
    flat = delays((0.1, 0.5), (0.2, 0.5), (0.4, 0.5))
    assert len(checkers.growth_violations(flat)) == 2
    assert "does not grow" in checkers.growth_violations(flat)[0]
    growing = delays((0.1, 0.5), (0.2, 0.6), (0.4, 0.9))
    assert checkers.growth_violations(growing) == []


def test_jitter_facts_count_early_and_nominal_delays_relative_to_the_declared_one() -> None:
    samples = delays((0.1, 0.09), (0.2, 0.199), (0.4, 0.45), (0.4, 0.397))
    facts = checkers.jitter_facts(samples, band=0.05, early_s=0.002)
    assert facts.samples == 4
    assert [d.retry for d in facts.early] == [1, 4]
    assert facts.nominal == 2


def test_binomial_tail_matches_exact_values() -> None:
    assert checkers.binomial_tail(2, 0.5, 1) == pytest.approx(0.75)
    assert checkers.binomial_tail(30, 0.5, 28) == pytest.approx(466 / 2**30)
    assert checkers.binomial_tail(5, 0.5, 0) == pytest.approx(1.0)
