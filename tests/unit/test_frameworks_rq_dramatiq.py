"""What the RQ and Dramatiq adapters read and declare, checked against the frameworks' own code."""

from __future__ import annotations

import dataclasses
import random
import sys
from pathlib import Path

import pytest
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import compute_backoff
from jobforge.conformance.adapter import (
    Adapter,
    Capability,
    JitterModel,
    JobSpec,
    Timing,
    TimingFacts,
    WorkerProcesses,
)
from jobforge.conformance.checkers import RetryDelay, growth_violations
from jobforge.conformance.checks import registry
from jobforge.conformance.frameworks import FRAMEWORKS, known
from jobforge.conformance.frameworks.dramatiq import make_adapter as make_dramatiq_adapter
from jobforge.conformance.frameworks.dramatiq_app import DramatiqConfig, read_config
from jobforge.conformance.frameworks.dramatiq_probe import actor_options, declare, withdraw
from jobforge.conformance.frameworks.rq import RQ_FACTS, job_catalogue, whole_seconds
from jobforge.conformance.frameworks.rq import make_adapter as make_rq_adapter
from jobforge.conformance.frameworks.rq_settings import read_settings
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.runner import Runner
from jobforge.conformance.tolerance import jitter_bounds
from jobforge.rubric.outcomes import Outcome
from rq import Retry

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit


def test_rq_and_dramatiq_are_registered() -> None:
    assert {"rq", "dramatiq"} <= set(known())
    assert FRAMEWORKS["rq"] == "rq" and FRAMEWORKS["dramatiq"] == "dramatiq"


def _module(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / f"{name}.py").write_text(text)
    sys.modules.pop(name, None)


def test_rq_app_is_a_url_or_an_rq_worker_module(tmp_path: Path) -> None:
    assert read_settings("redis://h:1/3", tmp_path).redis_url == "redis://h:1/3"
    _module(tmp_path, "rqs_url", "REDIS_URL = 'redis://x:2/4'\nQUEUES = ['a', 'b']\n")
    by_url = read_settings("rqs_url", tmp_path)
    assert (by_url.redis_url, by_url.queues) == ("redis://x:2/4", ("a", "b"))
    _module(tmp_path, "rqs_host", "REDIS_HOST = 'y'\nREDIS_PORT = 7\nREDIS_DB = 5\n")
    assert read_settings("rqs_host", tmp_path).redis_url == "redis://y:7/5"


@pytest.mark.parametrize(
    ("text", "names"),
    [("QUEUES = 'default'\nREDIS_URL = 'redis://h/0'\n", "QUEUES"), ("X = 1\n", "REDIS_URL")],
)
def test_rq_settings_errors_name_the_field_and_the_fix(
    tmp_path: Path, text: str, names: str
) -> None:
    _module(tmp_path, f"rqs_bad_{names.lower()}", text)
    with pytest.raises(UsageError, match=names):
        read_settings(f"rqs_bad_{names.lower()}", tmp_path)


def test_rq_declares_whole_seconds_its_retry_accepts() -> None:
    for spec in job_catalogue(Timing()):
        assert spec.timing_facts == RQ_FACTS and RQ_FACTS.jitter is JitterModel.NONE
        assert spec.timeout_s == whole_seconds(spec.timeout_s or 0)
        delays = [int(d) for d in spec.backoff_delays_s]
        assert delays == sorted(delays) and delays[0] >= 1 and len(set(delays)) > 1
        retry = Retry(max=spec.max_attempts - 1, interval=delays)
        assert [Retry.get_interval(i, retry.intervals) for i in range(retry.max)] == delays


def test_dramatiq_declared_delays_bound_what_its_backoff_really_draws() -> None:
    config = DramatiqConfig(
        app="x",
        broker=None,  # type: ignore[arg-type]  # only the middleware facts are read here
        retries=True,
        time_limit_check_s=1.0,
        age_limit=True,
        callbacks=True,
        heartbeat_timeout_ms=60_000,
        worker_timeout_ms=1000,
    )
    rng = random.Random(7)
    for spec in config.job_catalogue(Timing()):
        options = actor_options(spec, config)
        facts = spec.timing_facts
        assert facts is not None and facts.jitter is JitterModel.EQUAL
        assert facts.resolution_s == 1.0
        assert options["max_retries"] == spec.max_attempts - 1
        for retry, declared in enumerate(spec.backoff_delays_s):
            low, high = jitter_bounds(declared, facts)
            for _ in range(200):
                random.seed(rng.random())
                _, drawn_ms = compute_backoff(
                    retry, factor=options["min_backoff"], max_backoff=options["max_backoff"]
                )
                assert low - 0.001 <= drawn_ms / 1000 <= high + 0.001, (retry, drawn_ms)


class DeclaresNoJitter(ReferenceAdapter):
    """The reference declaring exact delays (jitter none), as RQ's Retry intervals are."""

    def catalogue(self) -> tuple[JobSpec, ...]:
        return tuple(
            dataclasses.replace(spec, timing_facts=TimingFacts(jitter=JitterModel.NONE))
            for spec in super().catalogue()
        )


def test_backoff_jitter_fails_a_declared_absence_of_jitter_saying_so() -> None:
    adapter = DeclaresNoJitter()
    try:
        outcomes = Runner(
            adapter, checks=[registry()["error_handling.backoff_jitter"]], profile="ci"
        ).run()
    finally:
        adapter.teardown()
    (got,) = [o for o in outcomes.outcomes if o.check_id == "error_handling.backoff_jitter"]
    assert got.outcome is Outcome.FAIL, got.evidence
    assert "jitter 'none'" in got.evidence[0]


def test_dramatiq_probe_actors_are_declared_again_in_a_later_run_and_withdrawn() -> None:
    broker = RedisBroker(url="redis://127.0.0.1:6379/11")  # never connected: declarations only
    config = read_config("app", broker)
    specs = config.job_catalogue(Timing())
    for run in ("first", "second"):  # several scores in one process (calibration --runs 3)
        actors = declare(config, f"jobforge-{run}", specs)
        assert set(actors) == {spec.name for spec in specs}
        assert f"jobforge-{run}" in broker.get_declared_queues()
        withdraw(config, f"jobforge-{run}")
        assert not [name for name in broker.actors if name.startswith("jobforge.")]
        assert f"jobforge-{run}" not in broker.get_declared_queues()


def test_rq_adapter_is_a_full_adapter_reporting_worker_pids(tmp_path: Path) -> None:
    adapter = make_rq_adapter("redis://127.0.0.1:6379/10", search=tmp_path)  # not connected
    assert isinstance(adapter, Adapter) and isinstance(adapter, WorkerProcesses)
    described = adapter.describe()
    assert described.backend == "redis+rq" and described.worker_concurrency == 1
    assert Capability.IDEMPOTENCY_KEYS not in described.capabilities
    assert {Capability.RETRIES, Capability.DEAD_LETTER, Capability.KILL_WORKER} <= (
        described.capabilities
    )


def test_dramatiq_without_a_redis_broker_is_refused_naming_the_fix(tmp_path: Path) -> None:
    _module(
        tmp_path,
        "dq_stub_app",
        "from dramatiq.brokers.stub import StubBroker\nbroker = StubBroker()\n",
    )
    with pytest.raises(UsageError, match="RedisBroker"):
        make_dramatiq_adapter("dq_stub_app:broker", search=tmp_path)


def test_dramatiq_app_without_time_limit_middleware_declares_no_timeouts(tmp_path: Path) -> None:
    _module(
        tmp_path,
        "dq_no_limit_app",
        "from dramatiq.brokers.redis import RedisBroker\n"
        "from dramatiq.middleware import TimeLimit, default_middleware\n"
        "broker = RedisBroker(url='redis://127.0.0.1:6379/11', middleware=[\n"
        "    m() for m in default_middleware if m is not TimeLimit])\n",
    )
    adapter = make_dramatiq_adapter("dq_no_limit_app:broker", search=tmp_path)
    described = adapter.describe()
    assert isinstance(adapter, WorkerProcesses)
    assert Capability.TIMEOUTS not in described.capabilities
    assert Capability.RETRIES in described.capabilities
    assert all(spec.timeout_s is None for spec in described.jobs)


def test_growth_steps_under_the_tick_are_left_to_the_windows() -> None:
    # Dramatiq at the kit's scale: 0.1 -> 0.2 s under a 1 s poll; the gaps are poll noise.
    noisy = [
        RetryDelay("a", 1, 0.1, 0.255),
        RetryDelay("b", 1, 0.1, 0.250),
        RetryDelay("a", 2, 0.2, 0.223),
        RetryDelay("b", 2, 0.2, 0.222),
    ]
    assert growth_violations(noisy)  # compared by medians, the noise looks like no growth
    assert not growth_violations(noisy, lambda low, high: high - low >= 1.0)
    flat = [RetryDelay("a", 1, 1.0, 1.1), RetryDelay("a", 2, 2.0, 1.05)]
    assert growth_violations(flat, lambda low, high: high - low >= 1.0)  # a tick apart: judged
