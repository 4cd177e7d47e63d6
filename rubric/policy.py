"""CI gates: a policy file and its verdict.

A policy sets a minimum total, per-dimension minimum levels and checks that must pass::

    version: 1
    minimum_total: 28
    dimension_minimums: {idempotency: 5, error_handling: 3}
    required_checks: [scalability.no_double_execution]

Exit codes: 0 policy met, 1 below policy, 2 undecided (an inconclusive check the policy depends on,
or open levels that could decide the gate) or error. A rule that is definitely broken wins over
one that is undecided: the gate fails with 1 even if other checks were inconclusive.

Every policy also holds the rubric's gate checks (``testing.suite_green``): a failed gate fails
the policy though it costs no points. A partial run is judged on what ran: rules about
dimensions or checks that did not run, and ``minimum_total`` (a full-run number), are reported
as not judged and do not decide the exit code.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jobforge.errors import RubricError

from .model import format_validation_error
from .outcomes import Outcome
from .scoring import Scorecard

EXIT_MET = 0
EXIT_BELOW = 1
EXIT_INCONCLUSIVE = 2


class Policy(BaseModel):
    """What a CI gate demands of a scorecard."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = Field(default=1, description="Policy-file format version.")
    minimum_total: int | None = Field(default=None, ge=0, description="Lowest acceptable total.")
    dimension_minimums: dict[str, Literal[1, 3, 5]] = Field(
        default_factory=dict, description="Lowest acceptable level per dimension id."
    )
    required_checks: tuple[str, ...] = Field(default=(), description="Check ids that must pass.")


class RuleState(enum.Enum):
    """How one policy rule fares against a scorecard."""

    MET = "met"
    BELOW = "below"
    UNDECIDED = "undecided"
    NOT_JUDGED = "not judged"


@dataclass(frozen=True)
class Verdict:
    """The gate's decision: the process exit code and one reason per rule."""

    exit_code: int
    reasons: tuple[str, ...]

    @property
    def met(self) -> bool:
        """True when the policy is met."""
        return self.exit_code == EXIT_MET


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy YAML file."""
    source = f"policy file {str(path)!r}"
    try:
        data = yaml.safe_load(Path(path).read_text("utf-8"))
    except OSError as exc:
        raise RubricError(f"cannot read {source}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise RubricError(f"{source} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise RubricError(
            f"{source} must be a YAML mapping with minimum_total, dimension_minimums "
            "and/or required_checks"
        )
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise RubricError(format_validation_error(source, exc)) from exc
    if (
        policy.minimum_total is None
        and not policy.dimension_minimums
        and not policy.required_checks
    ):
        raise RubricError(
            f"{source} sets no gate; set minimum_total, dimension_minimums or required_checks"
        )
    return policy


def _between(lower: int, upper: int, minimum: int) -> RuleState:
    if lower >= minimum:
        return RuleState.MET
    if upper < minimum:
        return RuleState.BELOW
    return RuleState.UNDECIDED


def _outcome_state(outcome: Outcome) -> RuleState:
    if outcome.meets:
        return RuleState.MET
    if outcome.refutes:
        return RuleState.BELOW
    return RuleState.UNDECIDED


def _rules(policy: Policy, card: Scorecard) -> list[tuple[RuleState, str]]:
    rules: list[tuple[RuleState, str]] = []
    if policy.minimum_total is not None:
        if card.partial:
            rules.append(
                (
                    RuleState.NOT_JUDGED,
                    f"minimum_total {policy.minimum_total}: a partial run "
                    f"({len(card.dimensions_run)} of {len(card.dimensions)} dimensions) has no "
                    "total to hold against it",
                )
            )
        else:
            if policy.minimum_total > card.max_total:
                raise RubricError(
                    f"policy minimum_total {policy.minimum_total} exceeds the rubric's maximum "
                    f"{card.max_total}; lower it"
                )
            state = _between(card.total, card.max_possible_total, policy.minimum_total)
            rules.append(
                (state, f"total {card.total_display} against minimum_total {policy.minimum_total}")
            )
    for dim_id, minimum in policy.dimension_minimums.items():
        dim = card.dimension(dim_id)
        if not dim.ran:
            rules.append((RuleState.NOT_JUDGED, f"{dim_id}: not run (minimum level {minimum})"))
            continue
        state = _between(dim.lower_bound, dim.upper_bound, minimum)
        rules.append((state, f"{dim_id} {dim.display}/5 against minimum level {minimum}"))
    for check_id in policy.required_checks:
        outcome = card.outcome(check_id).outcome
        if outcome is Outcome.NOT_RUN:
            rules.append((RuleState.NOT_JUDGED, f"required check {check_id}: not run"))
            continue
        rules.append((_outcome_state(outcome), f"required check {check_id} is {outcome.label}"))
    for dim in card.dimensions:
        for gate in (o for o in dim.outcomes if o.check_id in dim.gate_ids):
            if gate.outcome in (Outcome.FAIL, Outcome.INCONCLUSIVE):
                rules.append(_gate_rule(gate.check_id, gate.outcome, gate.evidence))
    return rules


def _gate_rule(check_id: str, outcome: Outcome, evidence: tuple[str, ...]) -> tuple[RuleState, str]:
    first = f": {evidence[0]}" if evidence else ""
    if outcome is Outcome.FAIL:
        return RuleState.BELOW, f"gate {check_id} failed{first}"
    return RuleState.UNDECIDED, f"gate {check_id} is {outcome.label}{first}"


def evaluate(policy: Policy, scorecard: Scorecard) -> Verdict:
    """Decide the gate: 0 met, 1 below policy, 2 undecided because of inconclusive checks.

    Raises RubricError when the policy names a dimension or check id the rubric does not know.
    """
    rules = _rules(policy, scorecard)
    states = {state for state, _ in rules}
    if states <= {RuleState.NOT_JUDGED}:
        rules.append((RuleState.MET, "no rule of the policy applies to the checks that ran"))
    reasons = tuple(f"{state.value}: {text}" for state, text in rules)
    if RuleState.BELOW in states:
        return Verdict(EXIT_BELOW, reasons)
    if RuleState.UNDECIDED in states:
        return Verdict(EXIT_INCONCLUSIVE, reasons)
    return Verdict(EXIT_MET, reasons)
