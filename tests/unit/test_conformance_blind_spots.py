"""Checks for defects the kit used to miss: each catches its reference flaw, the clean one passes.

Health that is ok with no worker, a lease never renewed, a replay that repeats effects, backoff
that does not grow or is not jittered, a skipped tick run late: each flaw of the reference fails
exactly the check written for it, with evidence naming what happened.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
from jobforge.conformance import probes
from jobforge.conformance.adapter import Capability, Description, JobSpec, JSONValue
from jobforge.conformance.checks import registry
from jobforge.conformance.profiles import Profile
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.reference.harness import FAST_TIMING
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import CheckOutcome, Outcome

pytestmark = pytest.mark.unit

FAST = Profile(name="fast", timing=FAST_TIMING, parallel_suite=False)
CI = "ci"  # backoff needs delays large enough to tell from scheduling latency

#: check id, the flaw it must catch, a phrase of its evidence, the profile it runs at.
CASES = [
    ("observability.health", "health_always_ok", "still 'ok'", FAST),
    ("scalability.lease_kept", "no_lease_renewal", "expected once", FAST),
    ("error_handling.replay", "replay_repeats_effects", "more time(s), expected none", FAST),
    ("error_handling.backoff", "constant_backoff", "do not grow", CI),
    ("error_handling.backoff_jitter", "no_jitter", "not jittered", CI),
    ("scheduling.skipped_tick_not_run", "queues_skipped_ticks", "was run late", FAST),
]

#: Flaws told apart to within milliseconds (a fixed delay from a jittered one): these cases run
#: alone, after the parallel run (marker ``timing``).
TIMING = {"no_jitter"}


def _cases() -> list[Any]:
    return [
        pytest.param(*case, marks=pytest.mark.timing) if case[1] in TIMING else case
        for case in CASES
    ]


def outcome_of(adapter: ReferenceAdapter, check_id: str, profile: Profile | str) -> CheckOutcome:
    try:
        outcomes = Runner(adapter, checks=[registry()[check_id]], profile=profile).run().outcomes
        (only,) = [o for o in outcomes if o.check_id == check_id]
    finally:
        adapter.teardown()
    return only


@pytest.mark.parametrize(("check_id", "flaw", "phrase", "profile"), _cases())
def test_the_check_catches_its_flaw_with_evidence(
    check_id: str, flaw: str, phrase: str, profile: Profile | str
) -> None:
    got = outcome_of(ReferenceAdapter({flaw}), check_id, profile)
    assert got.outcome is Outcome.FAIL, got.evidence
    assert any(phrase in line for line in got.evidence), got.evidence


@pytest.mark.parametrize(("check_id", "profile"), [(c[0], c[3]) for c in CASES])
def test_the_clean_reference_passes_the_check(check_id: str, profile: Profile | str) -> None:
    got = outcome_of(ReferenceAdapter(), check_id, profile)
    assert got.outcome is Outcome.PASS, got.evidence


class NeverDead(ReferenceAdapter):
    """Retries transient failures (practically) for ever: exhausted jobs never go DEAD."""

    def catalogue(self) -> tuple[JobSpec, ...]:
        return tuple(
            dataclasses.replace(spec, max_attempts=1000)
            if spec.name == probes.PROBE_DEFAULT
            else spec
            for spec in super().catalogue()
        )


@pytest.fixture
def never_dead() -> Iterator[NeverDead]:
    adapter = NeverDead()
    yield adapter
    adapter.teardown()


def test_alert_evidence_speaks_only_of_jobs_that_went_dead(never_dead: NeverDead) -> None:
    got = outcome_of(never_dead, "error_handling.alert", FAST)
    # The permanently failing job went DEAD and was alerted on; the retrying ones never died.
    assert got.outcome is Outcome.PASS, got.evidence
    assert not any("went DEAD" in line for line in got.evidence), got.evidence
    assert got.evidence == ("an alert fired for each of 1 dead jobs",)


class DeclaresBrokerRestart(ReferenceAdapter):
    """Declares ``broker_restart`` without offering stop_broker / start_broker."""

    def describe(self) -> Description:
        described = super().describe()
        return dataclasses.replace(
            described, capabilities=described.capabilities | {Capability.BROKER_RESTART}
        )

    def restart_broker(self) -> None:
        """Nothing to restart in-process."""


class WithBroker(DeclaresBrokerRestart):
    """A stand-in broker: a flag the kit flips; health reads it unless told to ignore it."""

    def __init__(self, *, health_sees_broker: bool) -> None:
        super().__init__()
        self.health_sees_broker = health_sees_broker
        self.broker_down = False

    def stop_broker(self) -> None:
        self.broker_down = True

    def start_broker(self) -> None:
        self.broker_down = False

    def health(self) -> Mapping[str, JSONValue]:
        document = dict(super().health())
        if self.broker_down and self.health_sees_broker:
            document["status"] = "down"
        return document


def test_health_must_be_not_ok_while_a_restartable_broker_is_down() -> None:
    got = outcome_of(WithBroker(health_sees_broker=True), "observability.health", FAST)
    assert got.outcome is Outcome.PASS, got.evidence
    assert "not ok while the broker/store was down" in got.evidence[0]
    blind = outcome_of(WithBroker(health_sees_broker=False), "observability.health", FAST)
    assert blind.outcome is Outcome.FAIL, blind.evidence
    assert "still 'ok' while the broker/store was stopped" in blind.evidence[0]


def test_declaring_broker_restart_without_a_way_to_stop_it_fails_the_health_check() -> None:
    got = outcome_of(DeclaresBrokerRestart(), "observability.health", FAST)
    assert got.outcome is Outcome.FAIL, got.evidence
    assert "no stop_broker() and start_broker()" in got.evidence[0]
