"""A broker that cannot be reached makes a run inconclusive, never a string of fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from jobforge.conformance.checks import all_checks
from jobforge.conformance.reachability import unreachable
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner
from jobforge.rubric.outcomes import Outcome

pytestmark = pytest.mark.unit


class OperationalError(Exception):
    """Stands in for kombu's / psycopg's generic error type, found by name."""


class ClientConnectionError(Exception):
    """Stands in for a client library's own base class."""


def _wrapped(inner: BaseException, outer: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as caught:
        return caught


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError("timed out"),
        _wrapped(ConnectionRefusedError(111, "refused"), RuntimeError("lost it")),
        OperationalError("Error 111 connecting to 127.0.0.1:1. Connection refused."),
        type("ConnectionError", (Exception,), {})("redis-py names its error so"),
    ],
    ids=["refused", "timeout", "wrapped", "operational", "by-name"],
)
def test_connection_failures_are_recognized(exc: BaseException) -> None:
    assert unreachable(exc) is not None


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("bad payload"),
        OperationalError("no such table: jobs"),
        KeyError("job 17"),
        ClientConnectionError("a name that only looks similar"),
    ],
    ids=["value", "sql", "key", "similar-name"],
)
def test_other_failures_are_the_implementations(exc: BaseException) -> None:
    assert unreachable(exc) is None


class BrokerDown(ReferenceAdapter):
    """The reference implementation whose broker refuses connections."""

    def reset(self) -> None:
        raise ConnectionRefusedError(111, "Connection refused")


class Broken(ReferenceAdapter):
    """The reference implementation failing for a reason of its own."""

    def reset(self) -> None:
        raise ValueError("the implementation's own bug")


@pytest.fixture
def down() -> Iterator[BrokerDown]:
    ref = BrokerDown()
    yield ref
    ref.teardown()


def test_a_run_whose_broker_is_down_is_inconclusive_with_the_cause(down: BrokerDown) -> None:
    results = Runner(down).run()
    assert {o.outcome for o in results.outcomes} == {Outcome.INCONCLUSIVE}
    assert any("cannot be reached" in note for note in results.notes), results.notes
    assert not results.scorecard().complete


def test_the_implementations_own_failure_in_reset_is_not_excused() -> None:
    ref = Broken()
    try:
        check = all_checks()[0]
        outcomes = Runner(ref, checks=[check]).run().outcomes
        (outcome,) = [o for o in outcomes if o.check_id == check.check_id]
    finally:
        ref.teardown()
    assert outcome.outcome is Outcome.FAIL
