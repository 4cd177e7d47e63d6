"""Scoring turns check outcomes into levels, a total and a band, and never over-awards."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobforge.rubric.model import load_rubric
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.scoring import MISSING_EVIDENCE, score

from jobforge.errors import RubricError

pytestmark = pytest.mark.unit

RUBRIC = load_rubric()
IDS = sorted(RUBRIC.check_ids())


def _outcomes(mapping: dict[str, Outcome]) -> list[CheckOutcome]:
    return [CheckOutcome(check_id=k, outcome=v, evidence=(f"saw {v}",)) for k, v in mapping.items()]


def _all(outcome: Outcome) -> dict[str, Outcome]:
    return dict.fromkeys(IDS, outcome)


# A random outcome for every check, with some checks left out (missing = inconclusive).
outcome_sets = st.dictionaries(st.sampled_from(IDS), st.sampled_from(list(Outcome)))
full_outcome_sets = st.fixed_dictionaries({i: st.sampled_from(list(Outcome)) for i in IDS})


def test_all_pass_scores_35_production_grade_and_complete() -> None:
    card = score(RUBRIC, _outcomes(_all(Outcome.PASS)))
    assert (card.total, card.complete, card.band.id) == (35, True, "production_grade")
    assert card.total_display == "35/35"


def test_all_fail_scores_7_and_fails_silently() -> None:
    card = score(RUBRIC, _outcomes(_all(Outcome.FAIL)))
    assert (card.total, card.max_possible_total, card.complete) == (7, 7, True)
    assert card.band.id == "fail_silently"


def test_unsupported_scores_like_fail() -> None:
    unsupported = score(RUBRIC, _outcomes(_all(Outcome.UNSUPPORTED)))
    assert unsupported.total == 7
    assert all(len(d.failing) == len(d.outcomes) - len(d.gate_ids) for d in unsupported.dimensions)


def test_level_three_checks_passing_and_others_failing_gives_three() -> None:
    outcomes = _all(Outcome.PASS)
    outcomes["idempotency.redelivery_after_crash"] = Outcome.FAIL
    card = score(RUBRIC, _outcomes(outcomes))
    dim = card.dimension("idempotency")
    assert (dim.level, dim.display) == (3, "3")
    assert [o.check_id for o in dim.failing] == ["idempotency.redelivery_after_crash"]
    assert card.total == 33 and card.complete


def test_inconclusive_level_five_check_shows_question_mark_and_counts_proven_level() -> None:
    outcomes = _all(Outcome.PASS)
    outcomes["scheduling.single_fire"] = Outcome.INCONCLUSIVE
    card = score(RUBRIC, _outcomes(outcomes))
    dim = card.dimension("scheduling")
    assert (dim.level, dim.display, dim.lower_bound, dim.upper_bound) == (None, "?", 3, 5)
    assert (card.total, card.max_possible_total, card.complete) == (33, 35, False)
    assert card.total_display == "33?/35"
    assert card.band_decided  # 33 and 35 are both production-grade


def test_inconclusive_level_three_check_counts_as_one_until_proven() -> None:
    outcomes = _all(Outcome.PASS)
    outcomes["testing.asserts_what_ran"] = Outcome.INCONCLUSIVE
    dim = score(RUBRIC, _outcomes(outcomes)).dimension("testing")
    assert (dim.level, dim.lower_bound, dim.upper_bound) == (None, 1, 5)


def test_missing_outcome_counts_as_inconclusive_with_evidence() -> None:
    outcomes = _all(Outcome.PASS)
    del outcomes["observability.health"]
    dim = score(RUBRIC, _outcomes(outcomes)).dimension("observability")
    assert dim.level is None
    (missing,) = dim.inconclusive
    assert missing.check_id == "observability.health"
    assert missing.evidence == (MISSING_EVIDENCE,)


def test_outcome_for_an_unknown_check_id_is_an_error_naming_it() -> None:
    bad = [CheckOutcome(check_id="idempotency.teleport", outcome=Outcome.PASS)]
    with pytest.raises(RubricError, match=r"'idempotency\.teleport'"):
        score(RUBRIC, bad)


def test_two_outcomes_for_one_check_are_an_error() -> None:
    dup = [CheckOutcome(check_id="testing.suite_green", outcome=o) for o in Outcome][:2]
    with pytest.raises(RubricError, match=r"two outcomes for check id 'testing\.suite_green'"):
        score(RUBRIC, dup)


@given(outcome_sets)
def test_total_stays_within_7_and_35_and_below_its_possible_maximum(
    outcomes: dict[str, Outcome],
) -> None:
    card = score(RUBRIC, _outcomes(outcomes))
    assert 7 <= card.total <= card.max_possible_total <= 35
    if card.complete:
        assert card.total == card.max_possible_total
    assert card.complete == all(d.level is not None for d in card.dimensions)


@given(outcome_sets, st.data())
def test_turning_a_fail_into_a_pass_never_lowers_the_score(
    outcomes: dict[str, Outcome], data: st.DataObject
) -> None:
    refuted = sorted(k for k, v in outcomes.items() if v is not Outcome.PASS)
    if not refuted:
        refuted = [k for k in IDS if k not in outcomes] or IDS[:1]
    flipped_id = data.draw(st.sampled_from(refuted))
    before = score(RUBRIC, _outcomes(outcomes))
    after = score(RUBRIC, _outcomes({**outcomes, flipped_id: Outcome.PASS}))
    assert after.total >= before.total
    for b, a in zip(before.dimensions, after.dimensions, strict=True):
        assert a.lower_bound >= b.lower_bound


@given(full_outcome_sets)
def test_a_dimension_reaches_five_only_when_every_level_five_check_passed(
    outcomes: dict[str, Outcome],
) -> None:
    card = score(RUBRIC, _outcomes(outcomes))
    for dim in RUBRIC.dimensions:
        got = card.dimension(dim.id)
        all_passed = all(outcomes[c] is Outcome.PASS for c in dim.level(5).requires)
        assert (got.level == 5) == all_passed
        assert (got.lower_bound == 5) == all_passed


@given(full_outcome_sets)
def test_an_inconclusive_required_check_never_awards_its_level(
    outcomes: dict[str, Outcome],
) -> None:
    card = score(RUBRIC, _outcomes(outcomes))
    for dim in RUBRIC.dimensions:
        got = card.dimension(dim.id)
        for points in (5, 3):
            required = dim.level(points).requires
            if any(outcomes[c] is not Outcome.PASS for c in required):
                assert got.lower_bound < points
            if any(outcomes[c] is Outcome.INCONCLUSIVE for c in required) and not any(
                outcomes[c].refutes for c in required
            ):
                assert got.level != points
                assert got.upper_bound >= points


@given(full_outcome_sets)
def test_inconclusive_checks_score_exactly_as_if_they_had_failed(
    outcomes: dict[str, Outcome],
) -> None:
    as_failed = {k: Outcome.FAIL if v is Outcome.INCONCLUSIVE else v for k, v in outcomes.items()}
    card = score(RUBRIC, _outcomes(outcomes))
    assert card.total == score(RUBRIC, _outcomes(as_failed)).total
    if not card.complete:
        assert card.total < card.max_possible_total


def test_partial_run_totals_only_the_dimensions_that_ran() -> None:
    outcomes = _all(Outcome.NOT_RUN)
    outcomes.update({i: Outcome.PASS for i in IDS if i.startswith("testing.")})
    card = score(RUBRIC, _outcomes(outcomes))
    assert (card.total, card.max_total, card.partial, card.complete) == (5, 5, True, True)
    assert card.total_display == "5/5"
    assert card.verdict == "partial run (1 of 7 dimensions: testing); no band"
    assert not card.has_band
    idempotency = card.dimension("idempotency")
    assert not idempotency.ran and idempotency.inconclusive == ()
    assert len(idempotency.not_run) == len(idempotency.outcomes)


def test_a_full_run_is_not_partial() -> None:
    card = score(RUBRIC, _outcomes(_all(Outcome.PASS)))
    assert not card.partial and card.verdict == "Production-grade" and card.has_band


def test_a_failed_gate_costs_no_points_and_is_reported() -> None:
    outcomes = _all(Outcome.PASS)
    outcomes["testing.suite_green"] = Outcome.FAIL
    card = score(RUBRIC, _outcomes(outcomes))
    assert card.total == 35 and card.dimension("testing").level == 5
    assert [o.check_id for o in card.gates_failed] == ["testing.suite_green"]
    assert card.dimension("testing").failing == ()
