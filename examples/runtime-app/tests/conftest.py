"""One store and one real worker process for the whole session.

The store is a SQLite file in a temporary folder (Huey), or the Redis of ``JOBS_BROKER_URL``
under a key prefix of the session's own (``SHOP_JOBS_BACKEND=celery``); the worker is
``python -m shop_jobs worker``, as in production.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Point the App at a store of the session's own, with short retry delays and leases."""
    folder = tmp_path_factory.mktemp("shop")
    backend = os.environ.get("SHOP_JOBS_BACKEND", "huey")
    env = {
        "SHOP_OUTBOX": str(folder / "outbox"),
        "JOBS_KEY_PREFIX": f"shop-tests-{uuid.uuid4().hex[:8]}",
        "JOBS_BACKOFF_BASE_S": "0.1",
        "JOBS_LEASE_S": "2",
        "JOBS_WORKER_CONCURRENCY": "2",
        "JOBS_POLL_MAX_DELAY_S": "0.05",
    }
    if backend == "huey":
        env["JOBS_BROKER_URL"] = f"sqlite:///{folder / 'jobs.sqlite3'}"
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    yield folder
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    if backend == "procrastinate":  # the session's tables and procrastinate jobs
        import psycopg

        tables = env["JOBS_KEY_PREFIX"].replace("-", "_") + "_"
        with psycopg.connect(os.environ["JOBS_BROKER_URL"], autocommit=True) as conn:
            for (name,) in conn.execute(
                "select tablename from pg_tables where starts_with(tablename, %s)", (tables,)
            ).fetchall():
                conn.execute(f'drop table "{name}"')
            conn.execute(
                "delete from procrastinate_jobs where starts_with(queue_name, %s)",
                (env["JOBS_KEY_PREFIX"] + ".",),
            )
    elif backend != "huey":  # celery or rq: the session's keys in the shared Redis
        import redis

        client = redis.Redis.from_url(os.environ["JOBS_BROKER_URL"])
        keys = list(client.scan_iter(match=f"{env['JOBS_KEY_PREFIX']}:*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(scope="session")
def worker(store: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Run one worker process for the session; wait until it takes work."""
    log = store / "worker.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "shop_jobs", "worker"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while b"worker ready" not in log.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.05)
    yield process
    process.terminate()
    process.wait(timeout=30)
