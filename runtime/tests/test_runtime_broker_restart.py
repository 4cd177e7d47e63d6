"""A broker/store crash and restart loses nothing: private instances, never the shared ones.

A job is queued, the private Redis (RQ) or PostgreSQL cluster (procrastinate) is killed without
a clean shutdown and started again on its data, then a worker starts: the job completes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fixture_app
import pytest
from private_services import PrivatePostgres, PrivateRedis
from runtime_support import HERE, Processes, is_final, wait_for

from jobforge_runtime import App, Settings
from jobforge_runtime.records import JobStatus

pytestmark = pytest.mark.integration


@pytest.fixture(params=["rq", "procrastinate"])
def private(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, object]]:
    """Yield the backend and its private, started service."""
    service: PrivateRedis | PrivatePostgres
    service = PrivateRedis(tmp_path / "redis") if request.param == "rq" else PrivatePostgres()
    service.start()
    yield request.param, service
    service.stop()


def test_a_job_queued_before_the_service_crashes_completes_after_its_restart(
    private: tuple[str, PrivateRedis | PrivatePostgres], tmp_path: Path
) -> None:
    backend, service = private
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": backend,
            "JOBS_BROKER_URL": service.url,
            "JOBS_KEY_PREFIX": f"rt_restart_{uuid.uuid4().hex[:8]}",
            "JOBS_LEASE_S": "1.5",
            "JOBS_POLL_MAX_DELAY_S": "0.05",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    settings = Settings.from_env(fixture_app.app.base_settings, env)
    app = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False, backend=backend)
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="survivor"))
    close = getattr(app.runtime.ledger, "close", None)
    if close is not None:
        close()  # the pool's connections die with the server; a new pool is made on next use
    service.crash()
    service.start()
    workers = Processes(tmp_path, env)
    try:
        workers.start("worker", "--concurrency", "1")
        record = wait_for(lambda: app.runtime.status(job_id), is_final)
    finally:
        workers.stop_all()
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 1)
    effects = (tmp_path / "effects.log").read_text().splitlines()
    assert effects.count("effect survivor") == 1
