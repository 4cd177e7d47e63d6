"""Real worker processes (Huey on SQLite, Celery on Redis): run, retry, die, recover, schedule."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import fixture_app
import pytest
from runtime_support import HERE, Processes, is_final, wait_for

from jobforge_runtime import App, Settings
from jobforge_runtime.health import health_document
from jobforge_runtime.records import JobStatus

pytestmark = pytest.mark.integration


def client(processes: Processes) -> App:
    """Return an app for the test process itself, on the workers' file and settings."""
    env = {k: v for k, v in processes.env.items() if k.startswith("JOBS_")}
    settings = Settings.from_env(fixture_app.app.base_settings, env)
    backend = processes.env["RT_TEST_BACKEND"]
    return App(settings=settings, catalogue=fixture_app.catalogue, read_env=False, backend=backend)


def lines(processes: Processes) -> list[str]:
    path = Path(processes.env["RT_TEST_LOG"])
    return path.read_text().splitlines() if path.exists() else []


def test_jobs_run_to_completion_in_worker_processes(processes: Processes) -> None:
    app = client(processes)
    processes.start("worker")
    ids = [app.enqueue(fixture_app.work, fixture_app.Work(key=f"k{n}")) for n in range(20)]
    for job_id in ids:
        record = wait_for(lambda j=job_id: app.runtime.status(j), is_final)
        assert record.status is JobStatus.COMPLETED
    assert sorted(line for line in lines(processes) if line.startswith("effect")) == sorted(
        f"effect k{n}" for n in range(20)
    )


def test_a_transient_failure_is_retried_in_the_worker_until_it_succeeds(
    processes: Processes,
) -> None:
    app = client(processes)
    processes.start("worker")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="flaky", fail_times=2))
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 3)
    assert lines(processes).count("effect flaky") == 1


def test_a_job_that_keeps_failing_ends_in_the_dead_letter_queue(processes: Processes) -> None:
    app = client(processes)
    processes.start("worker")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="down", fail_times=99))
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.DEAD, 3)
    assert app.runtime.ledger.dead_letter(job_id) is not None


def test_a_job_longer_than_several_leases_keeps_its_claim_and_runs_once(
    processes: Processes,
) -> None:
    app = client(processes)
    processes.start("worker")  # two worker processes and a reaper, lease 1.5 s
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="long", sleep_s=6.0))
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 1)
    assert [line for line in lines(processes) if line.startswith("attempt")] == ["attempt long 1"]


def test_a_job_of_a_killed_worker_is_recovered_by_another_worker(processes: Processes) -> None:
    app = client(processes)
    first = processes.start("worker")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="victim", sleep_first_s=60))
    wait_for(lambda: app.runtime.status(job_id), lambda r: r.status is JobStatus.RUNNING)
    processes.kill(first, signal.SIGKILL)
    processes.start("worker")
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)
    assert lines(processes).count("effect victim") == 1


def test_sigterm_lets_the_running_job_finish(processes: Processes) -> None:
    app = client(processes)
    worker = processes.start("worker")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="graceful", sleep_s=1.5))
    wait_for(lambda: app.runtime.status(job_id), lambda r: r.status is JobStatus.RUNNING)
    processes.kill(worker, signal.SIGTERM, group=False)  # as a supervisor stops it
    record = app.runtime.status(job_id)
    assert record is not None and record.status is JobStatus.COMPLETED


def test_an_attempt_past_its_timeout_is_interrupted_in_the_worker(processes: Processes) -> None:
    app = client(processes)
    processes.start("worker")
    job_id = app.enqueue(fixture_app.slow, fixture_app.Slow(sleep_s=30))
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts, record.error_kind) == (JobStatus.DEAD, 2, "timeout")


def test_health_is_ok_only_while_a_worker_is_alive(processes: Processes) -> None:
    app = client(processes)
    assert health_document(app.runtime)["status"] == "degraded"
    worker = processes.start("worker")
    deadline = time.monotonic() + 10
    while health_document(app.runtime)["status"] != "ok":
        assert time.monotonic() < deadline, health_document(app.runtime)
        time.sleep(0.1)
    processes.kill(worker, signal.SIGTERM)
    time.sleep(float(processes.env["JOBS_WORKER_ALIVE_S"]) + 0.5)
    doc = health_document(app.runtime)
    assert doc["status"] == "degraded"
    assert any("no worker" in p for p in doc["problems"])


def test_each_schedule_fires_its_own_job_once_per_tick_across_two_schedulers(
    processes: Processes,
) -> None:
    app = client(processes)
    processes.start("worker")
    processes.start("scheduler", "--poll", "0.05", name="scheduler")
    processes.start("scheduler", "--poll", "0.05", name="scheduler")
    time.sleep(4.5)
    done = app.runtime.ledger.list_jobs(status=JobStatus.COMPLETED, limit=1000)
    by_type: dict[str, list[float]] = {}
    for record in done:
        by_type.setdefault(record.job_type, []).append(record.payload["tick"])
    assert set(by_type) == {"test.tick_a", "test.tick_b"}
    for ticks in by_type.values():
        assert len(ticks) >= 2
        assert len(ticks) == len(set(ticks))  # no tick fired twice


def test_the_cli_queues_a_job_and_shows_its_status(processes: Processes) -> None:
    processes.start("worker")

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "fixture_app", *args],
            env=processes.env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=HERE,
        )

    submitted = cli("submit", "test.work", '{"key": "cli"}')
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["job_id"]
    app = client(processes)
    wait_for(lambda: app.runtime.status(job_id), is_final)
    status = cli("status", job_id)
    assert json.loads(status.stdout)["status"] == "COMPLETED"
