"""The procrastinate glue on real PostgreSQL: one transaction with the application's rows.

A job enqueued inside the application's transaction exists (in the ledger and as a
procrastinate message) if and only if that transaction commits.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fixture_app
import psycopg
import pytest
from runtime_support import HERE, Processes, drop_postgres_tables, is_final, postgres_url, wait_for

from jobforge_runtime import App, Settings
from jobforge_runtime.glue.procrastinate import in_transaction
from jobforge_runtime.records import JobStatus

pytestmark = pytest.mark.integration


class Declined(Exception):
    """The business operation failed after the job was enqueued."""


@pytest.fixture
def app() -> Iterator[App]:
    url, prefix = postgres_url(), f"rt_test_{uuid.uuid4().hex[:12]}"
    settings = Settings(broker_url=url, key_prefix=prefix, db_pool_size=2)
    built = App(
        settings=settings, catalogue=fixture_app.catalogue, read_env=False, backend="procrastinate"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"create table {prefix}_orders (id text primary key)")
    yield built
    built.runtime.ledger.close()  # type: ignore[attr-defined]
    drop_postgres_tables(url, prefix)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "delete from procrastinate_jobs where starts_with(queue_name, %s)", (prefix + ".",)
        )


def _messages(url: str, job_id: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "select count(*) from procrastinate_jobs where args->>'job_id' = %s", (job_id,)
        ).fetchone()
    return 0 if row is None else int(row[0])


def _place_order(app: App, conn: psycopg.Connection[object], order: str) -> str:
    """Insert an order and enqueue its job in the caller's transaction (the app's code)."""
    conn.execute(f"insert into {app.base_settings.key_prefix}_orders (id) values (%s)", (order,))
    with in_transaction(app.runtime, conn):
        return app.enqueue(fixture_app.work, fixture_app.Work(key=order))


def test_a_job_enqueued_in_a_committed_transaction_exists_with_its_message(app: App) -> None:
    url = app.base_settings.broker_url
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        job_id = _place_order(app, conn, "o-1")
        assert app.runtime.status(job_id) is None  # nobody else sees it before the commit
        assert _messages(url, job_id) == 0
    record = app.runtime.status(job_id)
    assert record is not None and record.status is JobStatus.PENDING
    assert _messages(url, job_id) == 1


def test_a_job_enqueued_in_a_rolled_back_transaction_leaves_nothing(app: App) -> None:
    url = app.base_settings.broker_url
    job_id = ""
    with psycopg.connect(url, autocommit=True) as conn:
        with pytest.raises(Declined), conn.transaction():
            job_id = _place_order(app, conn, "o-2")
            raise Declined("payment declined")
        orders = conn.execute(
            f"select count(*) from {app.base_settings.key_prefix}_orders"
        ).fetchone()
    assert orders == (0,)
    assert job_id and app.runtime.status(job_id) is None
    assert _messages(url, job_id) == 0


def test_outside_a_transaction_enqueue_commits_the_job_and_its_message_together(app: App) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="plain"), delay_s=30)
    record = app.runtime.status(job_id)
    assert record is not None and record.status is JobStatus.PENDING
    assert _messages(app.base_settings.broker_url, job_id) == 1


def test_a_worker_queues_its_own_retry_without_waiting_for_lease_recovery(
    app: App, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": "procrastinate",
            "JOBS_BROKER_URL": app.base_settings.broker_url,
            "JOBS_KEY_PREFIX": app.base_settings.key_prefix,
            "JOBS_LEASE_S": "30",  # a retry that waited for lease recovery would miss the deadline
            "JOBS_POLL_MAX_DELAY_S": "0.05",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    workers = Processes(tmp_path, env)
    try:
        workers.start("worker", "--concurrency", "1")
        job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="again", fail_times=2))
        record = wait_for(lambda: app.runtime.status(job_id), is_final, timeout_s=15)
    finally:
        workers.stop_all()
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 3)
    assert not any(name == "jobs_recovered_total" for name, _ in app.runtime.ledger.counters())
