"""Between checks the run's own store is emptied whatever the runtime keeps in it; workers stay."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Timing
from jobforge.conformance.frameworks.runtime_app import (
    ProbePayload,
    load_app,
    run_app,
    run_settings,
)
from jobforge.conformance.frameworks.runtime_store import reset, store_of
from jobforge.conformance.probes import PROBE_DEFAULT, probe_payload
from jobforge_runtime import App
from services_support import require_service

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "runtime-app"


def _run(tmp_path: Path, backend: str, **settings: str) -> App:
    user = load_app("shop_jobs.app:APP", search=EXAMPLE)
    user = App(
        settings=user.base_settings.model_copy(update=settings),
        catalogue=user.catalogue,
        backend=backend,
        read_env=False,
    )
    run_id = f"t{uuid.uuid4().hex[:8]}"
    chosen = run_settings(
        user, timing=Timing(), workdir=tmp_path, run_id=run_id, log_file=tmp_path / "log"
    )
    return run_app(user, chosen, Timing())


def _fill_and_reset(run: App) -> None:
    runtime = run.runtime
    store = store_of(runtime)
    job = runtime.catalogue.get(PROBE_DEFAULT)
    job_id = runtime.enqueue(job, ProbePayload.model_validate(probe_payload("p1")))
    runtime.ledger.beat("worker-1", now=runtime.clock())
    assert runtime.ledger.gauges()["queue_depth"] == 1
    reset(runtime, store)
    assert runtime.status(job_id) is None
    assert runtime.ledger.gauges()["queue_depth"] == 0
    assert runtime.ledger.counters() == {}
    since = runtime.clock() - runtime.settings.worker_alive_s
    assert runtime.ledger.live_workers(since=since) == ["worker-1"]  # health does not dip
    again = runtime.enqueue(job, ProbePayload.model_validate(probe_payload("p2")))
    assert runtime.status(again) is not None  # the store still works after the reset
    store.destroy()


def test_the_sqlite_file_is_emptied_and_then_removed(tmp_path: Path) -> None:
    run = _run(tmp_path, "huey")
    _fill_and_reset(run)
    assert not list(tmp_path.glob("jobs.sqlite3*"))


def test_the_redis_keys_of_the_run_are_emptied_and_then_removed(tmp_path: Path) -> None:
    import redis

    url = require_service("redis").rsplit("/", 1)[0] + "/12"
    run = _run(tmp_path, "celery", broker_url=url)
    prefix = run.resolved_settings().key_prefix
    _fill_and_reset(run)
    assert not list(redis.Redis.from_url(url).scan_iter(match=f"{prefix}:*"))


def test_the_rq_queues_and_keys_of_the_run_are_emptied_and_then_removed(tmp_path: Path) -> None:
    import redis

    url = require_service("redis").rsplit("/", 1)[0] + "/5"
    run = _run(tmp_path, "rq", broker_url=url)
    prefix = run.resolved_settings().key_prefix
    client = redis.Redis.from_url(url)
    _fill_and_reset(run)  # ends with a job queued, then destroys the store
    assert client.llen(f"rq:queue:{prefix}.default") == 0  # purged through the dispatcher
    assert not list(client.scan_iter(match=f"{prefix}:*"))
    assert not list(client.scan_iter(match=f"rq:*{prefix}*"))  # RQ's own keys too


def test_the_postgres_tables_of_the_run_are_emptied_and_then_dropped(tmp_path: Path) -> None:
    import psycopg

    shared = require_service("postgres")
    url = shared.rsplit("/", 1)[0] + "/jf_rqpg_store"  # a database of these tests' own
    with psycopg.connect(shared, autocommit=True) as conn:
        if conn.execute("select 1 from pg_database where datname = 'jf_rqpg_store'").fetchone():
            pass
        else:
            conn.execute("create database jf_rqpg_store")
    run = _run(tmp_path, "procrastinate", broker_url=url)
    tables = run.resolved_settings().key_prefix.replace("-", "_").lower() + "_"
    _fill_and_reset(run)
    run.runtime.ledger.close()  # type: ignore[attr-defined]
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "select count(*) from pg_tables where starts_with(tablename, %s)", (tables,)
        ).fetchone()
        queued = conn.execute(
            "select count(*) from procrastinate_jobs where starts_with(queue_name, %s)",
            (run.resolved_settings().key_prefix + ".",),
        ).fetchone()
    assert (left, queued) == ((0,), (0,))
