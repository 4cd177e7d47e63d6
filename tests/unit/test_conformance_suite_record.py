"""Only what a test body ran and then asserted about (an assertion that can fail) counts."""

from __future__ import annotations

import json

import pytest
from jobforge.conformance.suite_record import Recording, assertion_cannot_fail, summarise_bytes

pytestmark = pytest.mark.unit


class Log:
    """An events file built line by line, with the byte offsets the plugin would record."""

    def __init__(self) -> None:
        self.data = b""

    @property
    def size(self) -> int:
        return len(self.data)

    def add(self, **event: object) -> int:
        offset = self.size
        self.data += json.dumps(event).encode() + b"\n"
        return offset

    def job(self, job_type: str, pid: int = 1, ppid: int = 0) -> int:
        return self.add(event="job", job_type=job_type, pid=pid, ppid=ppid)

    def body(self, test: str, start: int, asserted_to: int | None, **extra: object) -> None:
        self.add(
            event="test", test=test, start=start, end=self.size, asserted_to=asserted_to, **extra
        )

    def recording(self) -> Recording:
        return summarise_bytes(self.data)


def test_a_job_run_in_a_body_and_asserted_about_afterwards_counts() -> None:
    log = Log()
    log.add(event="session", assertion_hook=True)
    start = log.size
    log.job("send_email")
    log.add(event="failure_path", path="retry", pid=1)
    log.body("t::a", start, asserted_to=log.size, assertions=1)
    recording = log.recording()
    assert recording.job_types == {"send_email"} and recording.failure_paths == {"retry"}
    assert recording.tests[0].counted and recording.assertion_hook


def test_a_job_asserted_about_only_before_it_ran_does_not_count() -> None:
    log = Log()
    start = log.size
    asserted = log.size  # the body asserted, then ran the job, then asserted nothing more
    log.job("send_email")
    log.body("t::a", start, asserted_to=asserted)
    recording = log.recording()
    assert recording.job_types == frozenset() and recording.seen_job_types == {"send_email"}
    assert not recording.tests[0].counted


def test_jobs_run_in_fixtures_do_not_count_even_when_the_body_asserts() -> None:
    log = Log()
    log.add(event="broker", backend="redis", real=True, pid=1)
    log.job("send_email")  # setup phase: before the body started
    start = log.size
    log.body("t::a", start, asserted_to=log.size)
    recording = log.recording()
    assert recording.job_types == frozenset() and recording.brokers == frozenset()
    assert recording.seen_brokers == {("redis", True)}


def test_a_body_without_assertions_or_with_empty_ones_counts_nothing() -> None:
    log = Log()
    start = log.size
    log.job("a")
    log.body("t::none", start, asserted_to=None)
    start = log.size
    log.job("b")
    log.body("t::empty", start, asserted_to=None, empty_assertions=["line 3: assert True"])
    recording = log.recording()
    assert recording.job_types == frozenset()
    assert [t.empty_assertions for t in recording.tests] == [(), ("line 3: assert True",)]


def test_a_failed_assertion_counts_like_a_passing_one() -> None:
    log = Log()
    start = log.size
    log.job("charge")
    log.body("t::caught", start, asserted_to=log.size, caught=True, outcome="failed")
    recording = log.recording()
    assert recording.job_types == {"charge"} and recording.tests[0].caught


def test_overlapping_bodies_count_an_event_only_when_every_open_body_asserted_after_it() -> None:
    log = Log()
    start = log.size
    log.job("a")
    log.body("t::asserts", start, asserted_to=log.size)
    log.body("t::silent", start, asserted_to=None)  # ran at the same time (xdist)
    assert log.recording().job_types == frozenset()


def test_a_jobs_broker_is_the_last_one_its_own_process_recorded() -> None:
    log = Log()
    log.add(event="broker", backend="redis", real=True, pid=7)  # a worker process
    log.add(event="broker", backend="memory", real=False, pid=1)  # the test process
    start = log.size
    log.job("a", pid=1)
    log.body("t::eager", start, asserted_to=log.size)
    assert log.recording().brokers == {("memory", False)}
    start = log.size
    log.job("a", pid=7)
    log.body("t::worker", start, asserted_to=log.size)
    assert log.recording().brokers == {("memory", False), ("redis", True)}


def test_a_session_without_the_assertion_hook_is_reported() -> None:
    log = Log()
    log.add(event="session", assertion_hook=False)
    recording = log.recording()
    assert recording.sessions == 1 and not recording.assertion_hook


@pytest.mark.parametrize(
    "source",
    [
        "True",
        "1",
        "'text'",
        "(x, 'message')",
        "[1]",
        "{'a': 1}",
        "x == x",
        "f(y) is f(y)",
        "x or True",
        "True and 1",
        "not None",
        "not ()",
        " a.b <= a.b ",
    ],
)
def test_assertions_that_cannot_fail_are_recognised(source: str) -> None:
    assert assertion_cannot_fail(source)


@pytest.mark.parametrize(
    "source",
    [
        "x",
        "x == 1",
        "x == y",
        "x is None",
        "len(xs) == 1",
        "x < x",
        "not x",
        "x and True",
        "()",
        "False",
        "x ==",
        "record.status is JobStatus.COMPLETED",
    ],
)
def test_assertions_that_can_fail_are_kept(source: str) -> None:
    assert not assertion_cannot_fail(source)


def test_a_job_in_a_prefork_child_runs_on_its_parents_broker() -> None:
    log = Log()
    log.add(event="broker", backend="redis+celery", real=True, pid=7)  # the worker's main process
    start = log.size
    log.job("a", pid=8, ppid=7)  # a pool child, which recorded no broker itself
    log.body("t::worker", start, asserted_to=log.size)
    assert log.recording().brokers == {("redis+celery", True)}
