"""The check environment: bounded drains, shared scenarios run once, adapter errors classified."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path

import pytest
from jobforge.conformance.adapter import JobStatus, RunContext
from jobforge.conformance.env import Env, Guarded, ImplementationFault, WorkerPool, not_terminal
from jobforge.conformance.history import Ledger
from jobforge.conformance.probes import PROBE_DEFAULT
from jobforge.conformance.reference import ReferenceAdapter

pytestmark = pytest.mark.unit


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    ledger = Ledger(tmp_path / "ledger.db", run_id="envtest")
    ledger.initialize()
    adapter = ReferenceAdapter()
    adapter.setup(RunContext(ledger_path=ledger.path, workdir=tmp_path, run_id="envtest"))
    guarded = Guarded(adapter)
    yield Env(
        adapter=guarded,
        ledger=ledger,
        description=adapter.describe(),
        timing=RunContext(ledger_path=ledger.path, workdir=tmp_path).timing,
        pool=WorkerPool(guarded),
        scope="envtest",
        shared_cache={},
    )
    adapter.teardown()


def test_drain_returns_at_the_deadline_with_unfinished_jobs(env: Env) -> None:
    job = env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT))  # no worker is running
    started = time.monotonic()
    infos = env.drain([job], 0.2)
    assert 0.2 <= time.monotonic() - started < 1.5
    assert infos[job].status is JobStatus.PENDING
    assert not_terminal(infos) == [f"job {job}: still PENDING at the drain deadline (0 attempts)"]


def test_drain_finishes_early_once_jobs_are_terminal(env: Env) -> None:
    env.pool.start(1)
    job = env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT))
    started = time.monotonic()
    infos = env.drain([job], 10.0)
    assert infos[job].status is JobStatus.COMPLETED and time.monotonic() - started < 5
    (sub,) = env.history().submissions
    assert sub.job_id == job and sub.job_type == PROBE_DEFAULT


def test_shared_scenario_runs_once_under_its_own_scope(env: Env) -> None:
    calls: list[str] = []

    def scenario(sub: Env) -> str:
        calls.append(sub.scope)
        return "observed"

    assert env.shared("shared.key", scenario) == "observed"
    assert env.shared("shared.key", scenario) == "observed"
    assert calls == ["shared.key"]


def test_shared_scenario_started_in_the_background_is_awaited(env: Env) -> None:
    future: Future[object] = Future()
    future.set_result(42)
    env.shared_cache["bg"] = future
    assert env.shared("bg", lambda sub: 0) == 42


def test_guarded_adapter_turns_errors_into_implementation_faults(env: Env) -> None:
    with pytest.raises(ImplementationFault, match=r"adapter.inspect\('nope'\) raised"):
        env.adapter.inspect("nope")
    with pytest.raises(ImplementationFault, match="no method 'restart_broker'"):
        env.adapter.call("restart_broker")


def test_worker_pool_keeps_the_requested_number_of_workers(env: Env) -> None:
    env.pool.ensure(3)
    assert len(env.pool.workers) == 3
    env.pool.ensure(1)
    assert len(env.pool.workers) == 1
    with pytest.raises(ImplementationFault):
        env.pool.stop("no-such-worker")
