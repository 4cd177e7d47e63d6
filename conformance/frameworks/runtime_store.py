"""Emptying and removing the run's own store between checks, whatever the runtime keeps in it.

A run of a jobforge-runtime app keeps everything (jobs, queue messages, dead letters, counters,
alerts, schedule ticks) in a store of the run's own: a SQLite file in the run's directory, or the
keys under the run's key prefix in the app's Redis. So the kit empties it without knowing the
runtime's layout: every table of the file, every key under the prefix (the broker's own keys are
left to the broker, whose queues are purged through it). Workers that were alive are marked alive
again at once through the ledger's public ``beat``, so health does not dip after a reset.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from jobforge_runtime import Runtime

from jobforge.errors import ConformanceError

_BATCH = 500


class RunStore(Protocol):
    """The run's own store."""

    def wipe(self) -> None:
        """Empty it: queues, jobs, dead letters, counters, alerts and schedule ticks."""

    def destroy(self) -> None:
        """Remove everything the run left in it (workers are stopped by then)."""


class SqliteRunStore:
    """A SQLite file of the run's own: every table is the run's."""

    def __init__(self, path: Path) -> None:
        """Work on the file at ``path``."""
        self.path = path

    def wipe(self) -> None:
        """Delete every row of every table in one write transaction."""
        conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            tables = [
                row[0]
                for row in conn.execute(
                    "select name from sqlite_master where type = 'table' "
                    "and name not like 'sqlite_%'"
                )
            ]
            conn.execute("begin immediate")
            for table in tables:
                conn.execute(f'delete from "{table}"')
            conn.execute("commit")
        finally:
            conn.close()

    def destroy(self) -> None:
        """Delete the file and its WAL and shared-memory files."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class RedisRunStore:
    """The keys under the run's key prefix in the app's Redis."""

    def __init__(
        self,
        url: str,
        prefix: str,
        *,
        broker_prefix: str,
        purge: Callable[[], object],
        forget: Callable[[], object] | None = None,
    ):
        """Work on ``prefix:*`` at ``url``; ``broker_prefix`` keys are the broker's own.

        ``forget``: the broker keeps keys outside the prefix (RQ's ``rq:*``); :meth:`destroy`
        has it delete them.
        """
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.broker_prefix = broker_prefix
        self.purge = purge
        self.forget = forget

    def _delete(self, *, keep_broker: bool) -> None:
        batch: list[bytes] = []
        for key in self.client.scan_iter(match=f"{self.prefix}:*", count=1000):
            if keep_broker and self.broker_prefix and key.startswith(self.broker_prefix.encode()):
                continue
            batch.append(key)
            if len(batch) >= _BATCH:
                self.client.delete(*batch)
                batch.clear()
        if batch:
            self.client.delete(*batch)

    def wipe(self) -> None:
        """Purge the broker's queues through the broker, then delete the run's other keys."""
        self.purge()
        self._delete(keep_broker=True)

    def destroy(self) -> None:
        """Delete every key under the prefix, the broker's included (and queues kept outside)."""
        if self.forget is not None:
            with contextlib.suppress(Exception):  # a broker already gone keeps nothing
                self.forget()
        self._delete(keep_broker=False)
        self.client.close()


class PostgresRunStore:
    """The tables named after the run's key prefix, and its procrastinate jobs, in PostgreSQL."""

    def __init__(self, url: str, prefix: str) -> None:
        """Work on ``<prefix>_*`` tables and ``<prefix>.*`` procrastinate queues at ``url``."""
        self.url = url
        self.prefix = prefix
        self.tables = prefix.replace(".", "_").replace(":", "_").replace("-", "_").lower() + "_"

    def _apply(self, *, drop: bool) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            names = [
                row[0]
                for row in conn.execute(
                    "select tablename from pg_tables where schemaname = current_schema()"
                    " and starts_with(tablename, %s)",
                    (self.tables,),
                )
            ]
            for name in names:
                verb = "drop table if exists" if drop else "delete from"
                conn.execute(f'{verb} "{name}"')
            if conn.execute("select to_regclass('procrastinate_jobs')").fetchone() != (None,):
                conn.execute(
                    "delete from procrastinate_jobs where starts_with(queue_name, %s)",
                    (self.prefix + ".",),
                )

    def wipe(self) -> None:
        """Delete every row of the run's tables and its procrastinate jobs, in one transaction."""
        self._apply(drop=False)

    def destroy(self) -> None:
        """Drop the run's tables and delete its procrastinate jobs."""
        self._apply(drop=True)


def store_of(runtime: Runtime) -> RunStore:
    """Return the run's store of ``runtime`` (from its ledger URL)."""
    settings = runtime.settings
    url = settings.ledger_url or settings.broker_url
    if url.startswith("sqlite:///"):
        return SqliteRunStore(settings.sqlite_path())
    if url.startswith(("redis://", "rediss://", "unix://")):
        app = getattr(runtime.dispatcher, "app", None)  # Celery's app, when the broker is Celery
        options = getattr(getattr(app, "conf", None), "broker_transport_options", None) or {}
        broker_prefix = str(options.get("global_keyprefix", ""))

        own_purge = getattr(runtime.dispatcher, "purge", None)  # a dispatcher that purges itself

        def purge() -> object:
            if callable(own_purge):
                return own_purge()
            if app is None:
                return 0
            return app.control.purge()

        return RedisRunStore(
            url,
            settings.key_prefix,
            broker_prefix=broker_prefix,
            purge=purge,
            forget=getattr(runtime.dispatcher, "forget", None),
        )
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresRunStore(url, settings.key_prefix)
    raise ConformanceError(
        f"ledger URL {url!r}: the jobforge-runtime adapter can keep a run's jobs only in SQLite, "
        "Redis or PostgreSQL; set JOBS_BROKER_URL (or JOBS_LEDGER_URL) to a sqlite:///, "
        "redis:// or postgresql:// URL"
    )


def reset(runtime: Runtime, store: RunStore) -> None:
    """Empty ``store``; workers seen alive before are marked alive again."""
    ledger = runtime.ledger
    now = runtime.clock()
    live: list[str] = []
    with contextlib.suppress(Exception):  # a store that is down: nothing to keep alive
        live = ledger.live_workers(since=now - runtime.settings.worker_alive_s)
    store.wipe()
    for worker in live:
        ledger.beat(worker, now=now)
