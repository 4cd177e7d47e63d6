"""The reference adapter satisfies the kit's contract and manages its threads."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from jobforge.conformance import probes, testing_hooks
from jobforge.conformance.adapter import Adapter, Capability, JobStatus
from jobforge.conformance.checks.testing import run_suite
from jobforge.conformance.reference import ReferenceAdapter
from jobforge.conformance.reference.harness import (
    FAST_TIMING,
    run_context,
    running_reference,
    wait_finished,
)

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit


def test_reference_satisfies_the_adapter_protocol() -> None:
    assert isinstance(ReferenceAdapter(), Adapter)


def test_description_uses_the_run_timing_after_setup(tmp_path: Path) -> None:
    adapter = ReferenceAdapter()
    adapter.setup(run_context(tmp_path))
    try:
        description = adapter.describe()
        assert description.jobs == probes.probe_catalogue(FAST_TIMING)
        assert description.capabilities == frozenset(Capability) - {Capability.BROKER_RESTART}
        assert description.global_concurrency is not None
        assert description.global_concurrency > description.worker_concurrency
    finally:
        adapter.teardown()


def test_calls_before_setup_say_to_call_setup() -> None:
    with pytest.raises(UsageError, match=r"call setup\(RunContext"):
        ReferenceAdapter().submit(probes.PROBE_DEFAULT, {"probe_id": "x"})
    assert ReferenceAdapter().health()["status"] == "down"


def test_submit_rejects_non_json_payloads(tmp_path: Path) -> None:
    not_json: dict[str, object] = {"probe_id": "x", "at": {1, 2}}
    with (
        running_reference(tmp_path) as (adapter, _),
        pytest.raises(UsageError, match=r"payload\['at'\] is .* not JSON"),
    ):
        adapter.submit(probes.PROBE_DEFAULT, not_json)  # type: ignore[arg-type]


def test_reset_empties_state_and_stops_schedulers_but_keeps_workers(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, _):
        adapter.start_workers(1)
        dead = adapter.submit(
            probes.PROBE_DEFAULT, probes.probe_payload("d", fail={"*": "permanent"})
        )
        wait_finished(adapter, dead)
        adapter.start_scheduler([])
        adapter.reset()
        assert list(adapter.dead_letters()) == [] and list(adapter.logs()) == []
        assert set(adapter.metrics().values()) == {0.0}
        health = adapter.health()
        assert (health["status"], health["schedulers_alive"], health["workers_alive"]) == (
            "ok",
            0,
            1,
        )
        job = adapter.submit(probes.PROBE_DEFAULT, probes.probe_payload("after-reset"))
        wait_finished(adapter, job)
        assert adapter.inspect(job).status is JobStatus.COMPLETED


def test_teardown_joins_every_thread(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with running_reference(tmp_path) as (adapter, _):
        adapter.start_workers(3)
        adapter.submit(probes.PROBE_DEFAULT, probes.probe_payload("busy", sleep_s=5.0))
        adapter.start_scheduler([])
    leftover = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert leftover == []


def test_unknown_worker_and_scheduler_ids_are_named(tmp_path: Path) -> None:
    with running_reference(tmp_path) as (adapter, _):
        (worker,) = adapter.start_workers(1)
        with pytest.raises(UsageError, match=f"'w-9' is unknown; running workers: {worker}"):
            adapter.kill_worker("w-9")
        with pytest.raises(UsageError, match="scheduler 's-9' is unknown"):
            adapter.stop_scheduler("s-9")


def test_own_test_suite_runs_and_asserts_about_every_job_type_and_failure_path() -> None:
    description = ReferenceAdapter().describe()
    run = run_suite(description.test_command, description.test_cwd, 300)
    assert run.returncode == 0, run.output_tail
    recorded = run.recording
    assert recorded.assertion_hook and recorded.tests
    assert recorded.job_types == frozenset(probes.PROBE_TYPES)
    assert recorded.failure_paths == testing_hooks.FAILURE_PATHS
    assert recorded.brokers == frozenset({("in-process", False)})
    assert all(t.counted for t in recorded.tests), [t for t in recorded.tests if not t.counted]
