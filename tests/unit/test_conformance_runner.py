"""The runner classifies outcomes truthfully and never passes what it did not see.

Implementation faults fail, kit failures are inconclusive, undeclared capabilities are
unsupported, and hangs fail at the check's budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Capability, RunContext
from jobforge.conformance.checks import Check, registry
from jobforge.conformance.checks.base import passed
from jobforge.conformance.env import Env, ImplementationFault, Unsupported
from jobforge.conformance.history import LedgerError
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner, inconclusive_results
from jobforge.rubric.outcomes import CheckOutcome, Outcome
from jobforge.rubric.results import RunResults

pytestmark = pytest.mark.unit


@pytest.fixture
def adapter() -> Iterator[ReferenceAdapter]:
    ref = ReferenceAdapter()
    yield ref
    ref.teardown()


def _check(check_id: str, body: object, **kw: object) -> Check:
    return Check(check_id, check_id, body, **kw)  # type: ignore[arg-type]


def _ran(results: RunResults) -> list[CheckOutcome]:
    """Return the outcomes of the checks the run selected (the others are ``not_run``)."""
    return [o for o in results.outcomes if o.outcome is not Outcome.NOT_RUN]


def _outcome(adapter: ReferenceAdapter, check: Check) -> tuple[Outcome, tuple[str, ...]]:
    results = Runner(adapter, checks=[check]).run()
    (only,) = _ran(results)
    return only.outcome, only.evidence


def test_implementation_fault_is_a_fail_with_its_evidence(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        raise ImplementationFault("job 17: 6 attempts, declared max 5")

    outcome, evidence = _outcome(adapter, _check("error_handling.max_attempts", body))
    assert outcome is Outcome.FAIL and evidence == ("job 17: 6 attempts, declared max 5",)


def test_adapter_exception_becomes_a_fail_naming_the_call(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        env.adapter.inspect("no-such-job")
        return passed("unreachable")

    outcome, evidence = _outcome(adapter, _check("observability.lifecycle_states", body))
    assert outcome is Outcome.FAIL
    assert "adapter.inspect('no-such-job') raised" in evidence[0]


def test_ledger_failure_is_inconclusive_never_a_pass(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        raise LedgerError("disk full")

    outcome, evidence = _outcome(adapter, _check("idempotency.duplicate_submit", body))
    assert outcome is Outcome.INCONCLUSIVE and "infrastructure" in evidence[0]


def test_kit_bug_is_inconclusive(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        return 1 / 0

    outcome, evidence = _outcome(adapter, _check("idempotency.duplicate_submit", body))
    assert outcome is Outcome.INCONCLUSIVE and "ZeroDivisionError" in evidence[0]


def test_undeclared_capability_is_unsupported_without_running(adapter: ReferenceAdapter) -> None:
    ran = []

    def body(env: Env) -> object:
        ran.append(True)
        return passed("never")

    check = _check("observability.health", body, requires=(Capability.BROKER_RESTART,))
    outcome, evidence = _outcome(adapter, check)
    assert outcome is Outcome.UNSUPPORTED and "broker_restart" in evidence[0] and not ran


def test_unsupported_raised_inside_a_check_is_unsupported(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        raise Unsupported("no test command")

    assert _outcome(adapter, _check("testing.suite_green", body))[0] is Outcome.UNSUPPORTED


def test_check_that_hangs_fails_at_its_budget(adapter: ReferenceAdapter) -> None:
    def body(env: Env) -> object:
        time.sleep(5)
        return passed("too late")

    started = time.monotonic()
    outcome, evidence = _outcome(adapter, _check("observability.health", body, budget_s=0.3))
    assert outcome is Outcome.FAIL and "did not finish within 0.3 s" in evidence[0]
    assert time.monotonic() - started < 4


def test_unwritable_ledger_makes_the_whole_run_inconclusive(
    adapter: ReferenceAdapter, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    results = Runner(adapter, checks=[registry()["observability.health"]], workdir=blocker).run()
    assert [o.outcome for o in _ran(results)] == [Outcome.INCONCLUSIVE]
    assert results.notes and results.notes[0].startswith("inconclusive:")
    assert "ledger" in results.notes[0]


def test_failing_setup_makes_the_run_inconclusive(tmp_path: Path) -> None:
    class Broken(ReferenceAdapter):
        def setup(self, ctx: RunContext) -> None:
            raise RuntimeError("cannot reach the broker")

    results = Runner(Broken(), checks=[registry()["observability.health"]]).run()
    assert results.outcomes[0].outcome is Outcome.INCONCLUSIVE
    assert "cannot reach the broker" in results.notes[0]


def test_run_results_carry_description_profile_and_dimension_times(
    adapter: ReferenceAdapter,
) -> None:
    results = Runner(adapter, checks=[registry()["observability.health"]]).run()
    assert results.implementation.name == "jobforge-reference"
    assert results.profile == "ci"
    assert set(results.dimension_durations_s) == {"observability"}
    assert results.outcomes[0].outcome is Outcome.PASS


def test_checks_a_run_did_not_select_are_not_run_never_inconclusive(
    adapter: ReferenceAdapter,
) -> None:
    results = Runner(adapter, checks=[registry()["observability.health"]]).run()
    assert {o.check_id: o.outcome for o in results.outcomes}.keys() == registry().keys()
    others = [o for o in results.outcomes if o.check_id != "observability.health"]
    assert {o.outcome for o in others} == {Outcome.NOT_RUN}
    assert all("did not select" in o.evidence[0] for o in others)
    card = results.scorecard()
    assert card.partial and (card.total, card.max_total) == (1, 5)


def test_inconclusive_results_cover_every_check() -> None:
    results = inconclusive_results("adapter missing", "ci")
    assert len(results.outcomes) == len(registry())
    assert all(o.outcome is Outcome.INCONCLUSIVE for o in results.outcomes)


def test_registry_covers_exactly_the_rubric_check_ids() -> None:
    from jobforge.rubric.model import load_rubric

    assert set(registry()) == set(load_rubric().check_ids())
    assert all(check.dimension == check_id.split(".")[0] for check_id, check in registry().items())


def test_probes_that_cannot_write_the_ledger_make_the_run_inconclusive(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")

    class Miswired(ReferenceAdapter):
        def setup(self, ctx: RunContext) -> None:
            super().setup(
                RunContext(
                    ledger_path=blocker / "ledger.db",
                    workdir=ctx.workdir,
                    timing=ctx.timing,
                    run_id=ctx.run_id,
                )
            )

    adapter = Miswired()
    try:
        results = Runner(adapter, checks=[registry()["observability.health"]]).run()
    finally:
        adapter.teardown()
    assert results.outcomes[0].outcome is Outcome.INCONCLUSIVE
    assert "left no record in the history ledger" in results.notes[0]


def test_a_background_suite_reports_its_own_duration(adapter: ReferenceAdapter) -> None:
    testing = [c for c in registry().values() if c.dimension == "testing"]
    results = Runner(adapter, checks=testing).run()
    assert {o.outcome for o in _ran(results)} == {Outcome.PASS}, results.outcomes
    (note,) = [n for n in results.notes if n.startswith("own test suite:")]
    seconds = float(note.split()[3])
    assert seconds > 0
