"""Policy gates decide 0 met, 1 below policy, 2 undecided, from the function and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobforge.rubric.model import load_rubric
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.policy import (
    EXIT_BELOW,
    EXIT_INCONCLUSIVE,
    EXIT_MET,
    Policy,
    evaluate,
    load_policy,
)
from jobforge.rubric.results import RunResults, dump_results, load_results
from jobforge.rubric.scoring import Scorecard

from jobforge.cli import main
from jobforge.errors import RubricError

pytestmark = pytest.mark.unit

SAMPLE = Path(__file__).parents[2] / "rubric" / "sample_results.json"  # 29/35, complete


def _sample(**changes: Outcome) -> RunResults:
    results = load_results(SAMPLE)
    outcomes = tuple(
        CheckOutcome(check_id=o.check_id, outcome=changes[o.check_id], evidence=("changed",))
        if o.check_id in changes
        else o
        for o in results.outcomes
    )
    return results.model_copy(update={"outcomes": outcomes})


def _card(**changes: Outcome) -> Scorecard:
    return _sample(**changes).scorecard()


def test_minimum_total_met_exits_0_with_a_reason() -> None:
    verdict = evaluate(Policy(minimum_total=28), _card())
    assert (verdict.exit_code, verdict.met) == (EXIT_MET, True)
    assert verdict.reasons == ("met: total 29/35 against minimum_total 28",)


def test_minimum_total_missed_exits_1() -> None:
    verdict = evaluate(Policy(minimum_total=30), _card())
    assert verdict.exit_code == EXIT_BELOW
    assert verdict.reasons == ("below: total 29/35 against minimum_total 30",)


def test_incomplete_total_that_could_decide_the_gate_exits_2() -> None:
    card = _card(**{"scheduling.single_fire": Outcome.INCONCLUSIVE})  # 27?/35, could reach 29
    assert evaluate(Policy(minimum_total=28), card).exit_code == EXIT_INCONCLUSIVE


def test_incomplete_total_that_cannot_change_the_verdict_is_decided() -> None:
    card = _card(**{"scheduling.single_fire": Outcome.INCONCLUSIVE})
    assert evaluate(Policy(minimum_total=27), card).exit_code == EXIT_MET
    assert evaluate(Policy(minimum_total=30), card).exit_code == EXIT_BELOW


def test_dimension_minimums_use_proven_and_possible_levels() -> None:
    card = _card(**{"scheduling.single_fire": Outcome.INCONCLUSIVE})
    assert evaluate(Policy(dimension_minimums={"scheduling": 3}), card).exit_code == EXIT_MET
    assert evaluate(Policy(dimension_minimums={"scheduling": 5}), card).exit_code == 2
    assert evaluate(Policy(dimension_minimums={"testing": 5}), card).exit_code == EXIT_BELOW


def test_required_check_outcomes_map_to_exit_codes() -> None:
    policy = Policy(required_checks=("scalability.sigkill_recovery",))
    assert evaluate(policy, _card()).exit_code == EXIT_MET
    for outcome, code in (
        (Outcome.FAIL, EXIT_BELOW),
        (Outcome.UNSUPPORTED, EXIT_BELOW),
        (Outcome.INCONCLUSIVE, EXIT_INCONCLUSIVE),
    ):
        card = _card(**{"scalability.sigkill_recovery": outcome})
        assert evaluate(policy, card).exit_code == code, outcome


def test_a_broken_rule_wins_over_an_undecided_one() -> None:
    card = _card(**{"scalability.sigkill_recovery": Outcome.INCONCLUSIVE})
    policy = Policy(required_checks=("scalability.sigkill_recovery", "error_handling.alert"))
    verdict = evaluate(policy, card)
    assert verdict.exit_code == EXIT_BELOW
    assert "undecided: required check scalability.sigkill_recovery is inconclusive" in (
        verdict.reasons
    )


def test_policy_naming_an_unknown_dimension_or_check_is_an_error() -> None:
    with pytest.raises(RubricError, match="unknown dimension 'speed'"):
        evaluate(Policy(dimension_minimums={"speed": 3}), _card())
    with pytest.raises(RubricError, match=r"'testing\.vibes'"):
        evaluate(Policy(required_checks=("testing.vibes",)), _card())


def test_minimum_total_above_the_maximum_is_an_error() -> None:
    with pytest.raises(RubricError, match="exceeds the rubric's maximum 35"):
        evaluate(Policy(minimum_total=36), _card())


def test_load_policy_reads_yaml_and_refuses_bad_files(tmp_path: Path) -> None:
    good = tmp_path / "policy.yaml"
    good.write_text(
        "version: 1\nminimum_total: 28\ndimension_minimums: {idempotency: 5}\n"
        "required_checks: [testing.suite_green]\n",
        "utf-8",
    )
    policy = load_policy(good)
    assert (policy.minimum_total, policy.dimension_minimums) == (28, {"idempotency": 5})
    bad_level = tmp_path / "bad.yaml"
    bad_level.write_text("dimension_minimums: {idempotency: 4}\n", "utf-8")
    with pytest.raises(RubricError, match=r"dimension_minimums\.idempotency"):
        load_policy(bad_level)
    typo = tmp_path / "typo.yaml"
    typo.write_text("minimum_totl: 28\n", "utf-8")
    with pytest.raises(RubricError, match="minimum_totl"):
        load_policy(typo)
    empty = tmp_path / "empty.yaml"
    empty.write_text("version: 1\n", "utf-8")
    with pytest.raises(RubricError, match="sets no gate"):
        load_policy(empty)


def _cli(tmp_path: Path, results: RunResults, policy: str) -> int:
    res = tmp_path / "results.json"
    dump_results(results, res)
    pol = tmp_path / "policy.yaml"
    pol.write_text(policy, "utf-8")
    out = tmp_path / "report.md"
    return main(["report", str(res), "--format", "md", "-o", str(out), "--policy", str(pol)])


def test_cli_gate_exits_0_when_met(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path, _sample(), "minimum_total: 28\n") == 0
    assert "policy: met" in capsys.readouterr().err


def test_cli_gate_exits_1_when_below(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(tmp_path, _sample(), "minimum_total: 28\ndimension_minimums: {testing: 5}\n") == 1
    err = capsys.readouterr().err
    assert "below: testing 3/5 against minimum level 5" in err
    assert "policy: below policy" in err


def test_cli_gate_exits_2_when_inconclusive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = _sample(**{"idempotency.duplicate_submit": Outcome.INCONCLUSIVE})
    assert _cli(tmp_path, results, "minimum_total: 28\n") == 2
    assert "undecided" in capsys.readouterr().err


def test_cli_gate_exits_2_on_a_malformed_policy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli(tmp_path, _sample(), "minimum_total: [28\n") == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_rubric_fixture_is_the_bundled_one() -> None:
    assert load_results(SAMPLE).rubric_version == load_rubric().version


def test_shipped_example_policy_loads_and_passes_the_sample() -> None:
    policy = load_policy(SAMPLE.with_name("policy_example.yaml"))
    assert policy.minimum_total == 28
    assert evaluate(policy, _card()).exit_code == EXIT_MET


def test_a_failed_gate_fails_a_policy_the_total_meets() -> None:
    card = _card(**{"testing.suite_green": Outcome.FAIL})
    assert card.total == 29  # a red suite costs no points
    verdict = evaluate(Policy(minimum_total=28), card)
    assert verdict.exit_code == EXIT_BELOW
    assert "below: gate testing.suite_green failed: changed" in verdict.reasons


def test_an_inconclusive_gate_leaves_a_met_policy_undecided() -> None:
    card = _card(**{"testing.suite_green": Outcome.INCONCLUSIVE})
    assert evaluate(Policy(minimum_total=28), card).exit_code == EXIT_INCONCLUSIVE


def _partial(ran: str) -> Scorecard:
    results = load_results(SAMPLE)
    outcomes = tuple(
        o
        if o.dimension == ran
        else CheckOutcome(check_id=o.check_id, outcome=Outcome.NOT_RUN, evidence=("not run",))
        for o in results.outcomes
    )
    return results.model_copy(update={"outcomes": outcomes}).scorecard()


def test_partial_run_is_judged_only_on_the_rules_about_what_ran() -> None:
    card = _partial("testing")  # testing 3/5: real_broker_used failed
    below = evaluate(Policy(minimum_total=28, dimension_minimums={"testing": 5}), card)
    assert below.exit_code == EXIT_BELOW
    met = evaluate(
        Policy(minimum_total=35, dimension_minimums={"testing": 3, "idempotency": 5}), card
    )
    assert met.exit_code == EXIT_MET, met.reasons
    assert "met: testing 3/5 against minimum level 3" in met.reasons
    assert "not judged: idempotency: not run (minimum level 5)" in met.reasons
    assert any(r.startswith("not judged: minimum_total 35") for r in met.reasons)


def test_partial_run_with_no_rule_about_what_ran_meets_the_policy_and_says_so() -> None:
    verdict = evaluate(
        Policy(required_checks=("idempotency.duplicate_submit",)), _partial("testing")
    )
    assert verdict.exit_code == EXIT_MET
    assert verdict.reasons[-1] == "met: no rule of the policy applies to the checks that ran"
