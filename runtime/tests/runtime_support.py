"""Helpers of the runtime's tests: an in-memory dispatcher, a hand-moved clock, processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobforge_runtime.records import JobRecord, JobStatus

HERE = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
REDIS_URL = os.environ.get("RUNTIME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
#: A database of the runtime's tests' own (created when missing); never the server's others.
POSTGRES_URL = os.environ.get(
    "RUNTIME_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/jobforge_runtime_tests"
)


def _missing(reason: str) -> None:
    """Skip the test (locally) or fail it (under CI) because a service is missing."""
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


def redis_url() -> str:
    """Return the shared Redis's URL, or skip (locally) / fail (under CI) when it is down."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        _missing(f"Redis at {REDIS_URL} is not reachable ({exc}); start it (README 'Services')")
    return REDIS_URL


def postgres_url() -> str:
    """Return the PostgreSQL URL of the tests, or skip (locally) / fail (under CI) when down."""
    import psycopg

    base, _, name = POSTGRES_URL.rpartition("/")
    try:
        with psycopg.connect(f"{base}/postgres", connect_timeout=2, autocommit=True) as conn:
            if conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone():
                return POSTGRES_URL
            conn.execute(f'create database "{name}"')  # type: ignore[arg-type]
    except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
        pass  # created by a test running at the same time (a race shows as either)
    except psycopg.Error as exc:
        _missing(f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc}); start it")
    return POSTGRES_URL


def drop_postgres_tables(url: str, prefix: str) -> None:
    """Drop the tables a test made under ``prefix`` (and nothing else)."""
    import psycopg

    table_prefix = prefix.replace(".", "_").replace(":", "_").replace("-", "_").lower() + "_"
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select tablename from pg_tables where schemaname = current_schema()"
            " and starts_with(tablename, %s)",
            (table_prefix,),
        ).fetchall()
        for (name,) in rows:
            conn.execute(f'drop table if exists "{name}" cascade')  # type: ignore[arg-type]


@dataclass
class RecordingDispatcher:
    """An in-memory dispatcher: remembers what was queued (the seam's unit-test implementation)."""

    sent: list[tuple[str, str, str, int, float]] = field(default_factory=list)
    fail: bool = False

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Remember the message, or fail like a broker that is down."""
        if self.fail:
            raise ConnectionError("broker down")
        self.sent.append((job_id, job_type, queue, priority, delay_s))

    def ping(self) -> bool:
        """Answer unless told to fail."""
        return not self.fail


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        """Return the current time."""
        return self.now


@dataclass
class Processes:
    """Worker and scheduler processes of one test, on one SQLite file; all stopped at the end."""

    tmp: Path
    env: dict[str, str]
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, *args: str, name: str = "worker") -> subprocess.Popen[bytes]:
        """Start ``python -m fixture_app ARGS`` and wait until it says it is ready."""
        log = self.tmp / f"{name}-{len(self.procs)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "fixture_app", *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while b"ready" not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"{name} did not start: {log.read_text()}")
            time.sleep(0.05)
        return proc

    def kill(
        self, proc: subprocess.Popen[bytes], sig: int = signal.SIGKILL, *, group: bool = True
    ) -> None:
        """Send ``sig`` to the process (and with ``group`` its worker processes); wait for it."""
        try:
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        """Stop every process still running."""
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)


def wait_for(
    check: Callable[[], JobRecord | None],
    until: Callable[[JobRecord], bool],
    *,
    timeout_s: float = 30.0,
) -> JobRecord:
    """Poll ``check`` until its record satisfies ``until``; fail with the last record seen."""
    deadline = time.monotonic() + timeout_s
    record = check()
    while record is None or not until(record):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout_s} s; last record: {record}")
        time.sleep(0.05)
        record = check()
    return record


def is_final(record: JobRecord) -> bool:
    """Return True once the job completed, died or failed for good."""
    return record.status in (JobStatus.COMPLETED, JobStatus.DEAD, JobStatus.FAILED)
