"""Fixtures of the runtime's tests: a runtime on a real SQLite ledger, worker processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import fixture_app
import pytest
from runtime_support import (
    HERE,
    Clock,
    Processes,
    RecordingDispatcher,
    drop_postgres_tables,
    postgres_url,
    redis_url,
)

from jobforge_runtime.alerts import Alerter, LedgerSink
from jobforge_runtime.ledger import Ledger
from jobforge_runtime.ledger.sqlite import SqliteLedger
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings


@pytest.fixture
def clock() -> Clock:
    """Return a clock the test moves by hand."""
    return Clock()


@pytest.fixture(params=["sqlite", "redis", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Ledger]:
    """Yield a real ledger of each store: SQLite in ``tmp_path``, Redis or PostgreSQL by prefix."""
    if request.param == "sqlite":
        yield SqliteLedger(tmp_path / "jobs.db")
        return
    if request.param == "postgres":
        from jobforge_runtime.ledger.postgres import PostgresLedger

        url, prefix = postgres_url(), f"rt_test_{uuid.uuid4().hex[:12]}"
        store = PostgresLedger(url, prefix=prefix, pool_size=2)
        yield store
        store.close()
        drop_postgres_tables(url, prefix)
        return
    from jobforge_runtime.ledger.redis import RedisLedger

    store = RedisLedger(redis_url(), prefix=f"rt-test-{uuid.uuid4().hex[:12]}")
    yield store
    keys = list(store.client.scan_iter(match=f"{store.prefix}:*", count=1000))
    if keys:
        store.client.delete(*keys)


@pytest.fixture
def make_runtime(
    tmp_path: Path, clock: Clock, ledger: Ledger
) -> Callable[..., tuple[Runtime, RecordingDispatcher]]:
    """Build a runtime on each real ledger store and a recording dispatcher."""

    def build(**settings: object) -> tuple[Runtime, RecordingDispatcher]:
        values = {"broker_url": f"sqlite:///{tmp_path / 'jobs.db'}", **settings}
        chosen = Settings.parse(values)
        dispatcher = RecordingDispatcher()
        runtime = Runtime(
            settings=chosen,
            ledger=ledger,
            catalogue=fixture_app.catalogue,
            dispatcher=dispatcher,
            alerter=Alerter([LedgerSink(ledger)]),
            clock=clock,
        )
        return runtime, dispatcher

    return build


@pytest.fixture(params=["huey", "celery", "rq", "procrastinate"])
def processes(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Processes]:
    """Start real worker processes: Huey on SQLite in ``tmp_path``, or Celery or RQ on Redis."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    prefix = f"rt-test-{uuid.uuid4().hex[:12]}"
    if request.param == "huey":
        broker = f"sqlite:///{tmp_path / 'jobs.db'}"
    elif request.param == "procrastinate":
        broker = postgres_url()
        prefix = prefix.replace("-", "_")
    else:
        broker = redis_url()
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": request.param,
            "JOBS_BROKER_URL": broker,
            "JOBS_KEY_PREFIX": prefix,
            "JOBS_LEASE_S": "1.5",  # renewed every 0.5 s: slack for a loaded machine
            "JOBS_WORKER_ALIVE_S": "4",
            "JOBS_POLL_MAX_DELAY_S": "0.05",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    group = Processes(tmp_path, env)
    yield group
    group.stop_all()
    if request.param == "procrastinate":
        drop_postgres_tables(broker, prefix)
    elif request.param != "huey":
        import redis

        client = redis.Redis.from_url(broker)
        keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
