"""The reference job system's admission limits: caps, rate limits, unique jobs, priorities."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import pytest
from jobforge.conformance.adapter import JobSpec, JSONObject
from jobforge.conformance.reference.config import Behaviour
from jobforge.conformance.reference.context import JobContext
from jobforge.conformance.reference.engine import JobSystem
from jobforge.conformance.reference.harness import wait_until
from jobforge.conformance.reference.limits import Limits, TokenBucket
from jobforge.conformance.reference.worker import Worker

pytestmark = [pytest.mark.unit, pytest.mark.timing]

BASIC = JobSpec(name="basic", kind="immediate")
CAPPED = JobSpec(name="capped", kind="immediate", concurrency_limit=1)
RATED = JobSpec(name="rated", kind="immediate", rate_limit_per_s=20.0)
UNIQUE = JobSpec(name="unique", kind="immediate", unique=True)


class Gauge:
    """A job body that sleeps and tracks how many bodies run at once, per type and in all."""

    def __init__(self, sleep_s: float = 0.05) -> None:
        self.sleep_s = sleep_s
        self.lock = threading.Lock()
        self.running: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total = 0
        self.peak_total = 0
        self.order: list[JSONObject] = []
        self.starts: list[float] = []

    def __call__(self, payload: JSONObject, ctx: JobContext) -> None:
        kind = str(payload.get("type", "basic"))
        with self.lock:
            self.order.append(payload)
            self.starts.append(time.monotonic())
            self.running[kind] = self.running.get(kind, 0) + 1
            self.peak[kind] = max(self.peak.get(kind, 0), self.running[kind])
            self.total += 1
            self.peak_total = max(self.peak_total, self.total)
        time.sleep(self.sleep_s)
        with self.lock:
            self.running[kind] -= 1
            self.total -= 1


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    group: list[Worker] = []
    yield group
    for worker in group:
        worker.stop()
    for worker in group:
        assert worker.join(5.0)


def start(system: JobSystem, group: list[Worker], count: int, concurrency: int) -> None:
    for index in range(count):
        worker = Worker(f"w{index}", system, concurrency)
        worker.start()
        group.append(worker)


def drain(system: JobSystem, jobs: list[str]) -> None:
    wait_until(lambda: all(system.is_finished(j) for j in jobs), timeout_s=10, what="drain")


@pytest.mark.parametrize("enforce", [True, False], ids=["enforced", "ignored"])
def test_global_and_per_type_caps_bound_running_attempts(
    workers: list[Worker], enforce: bool
) -> None:
    gauge = Gauge()
    system = JobSystem(
        catalogue=(BASIC, CAPPED),
        handler=gauge,
        global_cap=3,
        behaviour=Behaviour(enforce_caps=enforce),
    )
    jobs = [system.submit("basic", {"i": i}) for i in range(12)]
    jobs += [system.submit("capped", {"type": "capped", "i": i}) for i in range(4)]
    start(system, workers, 3, 2)  # 6 slots, cap 3
    drain(system, jobs)
    if enforce:
        assert gauge.peak_total == 3
        assert gauge.peak["capped"] == 1
    else:
        assert gauge.peak_total > 3
        assert gauge.peak["capped"] > 1


def test_rate_limit_spaces_starts_of_a_type(workers: list[Worker]) -> None:
    gauge = Gauge(sleep_s=0.0)
    system = JobSystem(catalogue=(RATED,), handler=gauge)
    jobs = [system.submit("rated", {"i": i}) for i in range(6)]
    start(system, workers, 2, 2)
    drain(system, jobs)
    gaps = [b - a for a, b in itertools.pairwise(gauge.starts)]
    assert min(gaps) >= 1 / RATED.rate_limit_per_s * 0.9, gaps  # type: ignore[operator]


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    bucket = TokenBucket(4.0, clock=lambda: now[0])
    assert bucket.available()
    bucket.take()
    assert not bucket.available()
    assert bucket.wait_s() == pytest.approx(0.25)
    now[0] = 0.25
    assert bucket.available()


def test_limits_release_frees_a_slot() -> None:
    limits = Limits(global_cap=1)
    assert limits.try_admit(BASIC)
    assert not limits.try_admit(BASIC)
    limits.release(BASIC)
    assert limits.try_admit(BASIC)


def test_unique_job_returns_the_live_holder_until_it_finishes(workers: list[Worker]) -> None:
    gauge = Gauge(sleep_s=0.2)
    system = JobSystem(catalogue=(UNIQUE,), handler=gauge)
    first = system.submit("unique", {"unique_key": "report-7", "try": 1})
    assert system.submit("unique", {"unique_key": "report-7", "try": 2}) == first
    other = system.submit("unique", {"unique_key": "report-8"})
    assert other != first
    start(system, workers, 1, 2)
    drain(system, [first, other])
    later = system.submit("unique", {"unique_key": "report-7"})
    assert later != first


def test_higher_priority_starts_first_under_backlog(workers: list[Worker]) -> None:
    gauge = Gauge(sleep_s=0.0)
    system = JobSystem(catalogue=(BASIC,), handler=gauge)
    jobs = [system.submit("basic", {"p": p}, priority=p) for p in (0, 5, 0, 10, 5)]
    start(system, workers, 1, 1)
    drain(system, jobs)
    assert [payload["p"] for payload in gauge.order] == [10, 5, 5, 0, 0]


def test_delayed_job_does_not_start_early(workers: list[Worker]) -> None:
    gauge = Gauge(sleep_s=0.0)
    system = JobSystem(catalogue=(BASIC,), handler=gauge)
    start(system, workers, 1, 1)
    submitted = time.monotonic()
    job = system.submit("basic", {}, delay_s=0.3)
    drain(system, [job])
    assert gauge.starts[0] - submitted >= 0.3
