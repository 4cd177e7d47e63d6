"""PostgreSQL job ledger (psycopg 3): the store of apps whose only infrastructure is PostgreSQL.

Tables are named ``<prefix>_jobs`` and so on, in the connection's search path. Each change is
one short transaction from a connection pool of ``pool_size`` connections per process (opened on
first use, again after a fork). Concurrency that SQLite gets from its single writer is explicit
here: a partial unique index makes idempotency keys race-free, a transaction-scoped advisory
lock per unique key serialises "join the active job" decisions (the runtime's queueing lock, so
procrastinate's own ``queueing_lock`` is not needed), and claims that count running jobs
(concurrency caps, ordering groups, rate limits) take one advisory lock for the count.

:meth:`PostgresLedger.joined` makes the ledger write on the application's own connection, inside
its open transaction, so a job (and, with procrastinate, its message) commits or rolls back with
the application's business rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from jobforge_runtime.errors import SettingsError
from jobforge_runtime.ledger import Then, bucket_of
from jobforge_runtime.records import (
    ACTIVE_STATES,
    Alert,
    Claim,
    ClaimLimits,
    ClaimOutcome,
    Completion,
    DeadLetter,
    JobRecord,
    JobStatus,
    JSONObject,
    NewJob,
    Settlement,
    dumps,
)

Row = dict[str, Any]

_SCHEMA = """
create table if not exists {p}jobs (
    job_id text primary key, job_type text not null, payload text not null,
    queue text not null, priority integer not null, status text not null,
    attempts integer not null default 0, max_attempts integer not null,
    idempotency_key text, created_at double precision not null,
    updated_at double precision not null, not_before double precision not null,
    lease_until double precision, owner text, error text, error_kind text,
    progress double precision, checkpoint text, group_key text, replay_of text,
    effect_scope text not null, unique_key text, dispatched_at double precision
);
create unique index if not exists {p}jobs_idempotency on {p}jobs (idempotency_key)
    where idempotency_key is not null;
create index if not exists {p}jobs_unique on {p}jobs (unique_key, status)
    where unique_key is not null;
create index if not exists {p}jobs_group on {p}jobs (group_key, status)
    where group_key is not null;
create index if not exists {p}jobs_running on {p}jobs (lease_until) where status = 'RUNNING';
create index if not exists {p}jobs_waiting on {p}jobs (dispatched_at)
    where status in ('PENDING', 'RETRYING');
create index if not exists {p}jobs_created on {p}jobs (created_at);
create table if not exists {p}starts (job_type text not null, at double precision not null);
create index if not exists {p}starts_type_at on {p}starts (job_type, at);
create table if not exists {p}effects (
    scope text not null, key text not null, at double precision not null,
    primary key (scope, key)
);
create table if not exists {p}dead_letters (
    job_id text primary key, job_type text not null, payload text not null,
    attempts integer not null, error text not null, error_kind text not null,
    failed_at double precision not null, replayed_as text
);
create table if not exists {p}schedule_ticks (
    schedule text not null, tick double precision not null, fired integer not null,
    primary key (schedule, tick)
);
create table if not exists {p}counters (
    name text not null, label text not null, value double precision not null,
    primary key (name, label)
);
create table if not exists {p}attempts (
    job_type text not null, outcome text not null, bucket double precision not null,
    n bigint not null, total double precision not null, primary key (job_type, outcome, bucket)
);
create table if not exists {p}alerts (
    id bigserial primary key, kind text not null, job_id text,
    message text not null, at double precision not null, details text not null
);
create table if not exists {p}workers (worker text primary key, at double precision not null);
"""


def _closed_by_server(conn: psycopg.Connection[Any]) -> None:
    """Raise when the server closed this idle pooled connection; the pool then replaces it.

    An idle connection of the ledger (autocommit, no LISTEN) has nothing to read unless the
    server ended it (end of file, or its FATAL notice on shutdown): one poll of the socket, no
    round trip, unlike ``ConnectionPool.check_connection``'s query on every checkout.
    """
    if conn.closed:
        raise psycopg.OperationalError("the pooled connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        conn.close()  # closed, the pool discards it instead of taking it back
        raise psycopg.OperationalError("the server closed the pooled connection")


#: The longest a health ping waits for a connection before it says the store is down.
PING_TIMEOUT_S = 2.0

_COUNTER_OF = {
    JobStatus.COMPLETED: "jobs_completed_total",
    JobStatus.RETRYING: "jobs_retried_total",
    JobStatus.DEAD: "jobs_dead_total",
    JobStatus.FAILED: "jobs_failed_total",
}


def _record(row: Row) -> JobRecord:
    return JobRecord(
        job_id=row["job_id"],
        job_type=row["job_type"],
        payload=json.loads(row["payload"]),
        queue=row["queue"],
        priority=row["priority"],
        status=JobStatus(row["status"]),
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        idempotency_key=row["idempotency_key"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        not_before=row["not_before"],
        lease_until=row["lease_until"],
        owner=row["owner"],
        error=row["error"],
        error_kind=row["error_kind"],
        progress=row["progress"],
        checkpoint=json.loads(row["checkpoint"]) if row["checkpoint"] else None,
        group_key=row["group_key"],
        replay_of=row["replay_of"],
        effect_scope=row["effect_scope"],
        unique_key=row["unique_key"],
    )


def _letter(row: Row) -> DeadLetter:
    return DeadLetter(
        job_id=row["job_id"],
        job_type=row["job_type"],
        payload=json.loads(row["payload"]),
        attempts=row["attempts"],
        error=row["error"],
        error_kind=row["error_kind"],
        failed_at=row["failed_at"],
        replayed_as=row["replayed_as"],
    )


def postgres_conninfo(url: str) -> str:
    """Return the libpq URL of a ``postgresql://`` (or ``postgres://``) settings URL."""
    if not url.startswith(("postgresql://", "postgres://")):
        raise SettingsError(
            f"ledger_url={url!r}: the PostgreSQL ledger needs a postgresql:// URL, "
            "e.g. JOBS_BROKER_URL=postgresql://app@localhost:5432/app"
        )
    return url


class PostgresLedger:
    """The ledger in PostgreSQL; every table name starts with ``<prefix>_``."""

    def __init__(self, url: str, *, prefix: str = "jobs", pool_size: int = 4) -> None:
        """Use the database at ``url`` with at most ``pool_size`` connections per process."""
        self.url = postgres_conninfo(url)
        self.prefix = prefix
        self.pool_size = pool_size
        self._p = prefix.replace(".", "_").replace(":", "_").replace("-", "_").lower() + "_"
        self._local = threading.local()
        self._pool_of: tuple[int, ConnectionPool] | None = None
        self._pool_lock = threading.Lock()
        self._schema_ready = False

    # connections ---------------------------------------------------------------------------

    def pool(self) -> ConnectionPool:
        """Return this process's pool (a new one after a fork; the parent's is left alone)."""
        with self._pool_lock:
            if self._pool_of is None or self._pool_of[0] != os.getpid():
                pool = ConnectionPool(
                    self.url,
                    min_size=1,
                    max_size=self.pool_size,
                    kwargs={"autocommit": True},
                    open=True,
                    timeout=10.0,  # waiting for a free connection (or a database that is down)
                    # A connection that died with a restarted server is replaced when taken,
                    # not handed out to fail the caller's first query after the restart.
                    check=_closed_by_server,
                    name=f"jobforge-{self.prefix}",
                )
                self._pool_of = (os.getpid(), pool)
            pool = self._pool_of[1]
        if not self._schema_ready:
            self._create_schema(pool)
        return pool

    def _create_schema(self, pool: ConnectionPool) -> None:
        with pool.connection() as conn, conn.transaction():
            conn.execute("select pg_advisory_xact_lock(hashtext('jobforge-runtime-schema'))")
            conn.execute(_SCHEMA.format(p=self._p))
        self._schema_ready = True

    def close(self) -> None:
        """Close this process's pool."""
        with self._pool_lock:
            if self._pool_of is not None and self._pool_of[0] == os.getpid():
                self._pool_of[1].close()
            self._pool_of = None

    @contextlib.contextmanager
    def joined(self, conn: psycopg.Connection[Any]) -> Iterator[None]:
        """Write on the application's connection ``conn`` (in its transaction) inside the block.

        A job recorded in the block (and its procrastinate message) commits or rolls back with
        ``conn``'s transaction: it exists if and only if the application's rows commit.
        """
        self.pool()  # the tables exist before the application's transaction uses them
        before = getattr(self._local, "joined", None)
        self._local.joined = conn
        try:
            yield
        finally:
            self._local.joined = before

    def current_connection(self) -> psycopg.Connection[Any] | None:
        """Return the connection of the transaction open in this thread, if any."""
        return getattr(self._local, "current", None) or getattr(self._local, "joined", None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        """Run the block in one transaction (a savepoint inside a joined or open one)."""
        current = self.current_connection()
        if current is not None:
            with current.transaction():
                yield current
            return
        with self.pool().connection() as conn, conn.transaction():
            self._local.current = conn
            try:
                yield conn
            finally:
                self._local.current = None

    @contextlib.contextmanager
    def _reading(self) -> Iterator[psycopg.Connection[Any]]:
        current = self.current_connection()
        if current is not None:
            yield current
            return
        with self.pool().connection() as conn:
            yield conn

    def _t(self, name: str) -> str:
        return self._p + name

    @staticmethod
    def _one(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> Row | None:
        cur = conn.cursor(row_factory=dict_row)
        row: Row | None = cur.execute(sql, params).fetchone()
        return row

    @staticmethod
    def _all(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = conn.cursor(row_factory=dict_row)
        rows: list[Row] = cur.execute(sql, params).fetchall()
        return rows

    @staticmethod
    def _run(conn: psycopg.Connection[Any], sql: str, params: Sequence[Any] = ()) -> int:
        return conn.execute(sql, params).rowcount

    def _incr(
        self, db: psycopg.Connection[Any], name: str, label: str, amount: float = 1.0
    ) -> None:
        c = self._t("counters")
        self._run(
            db,
            f"insert into {c} (name, label, value) values (%s, %s, %s) on conflict (name, label)"
            f" do update set value = {c}.value + excluded.value",
            (name, label, amount),
        )

    # JobStore ------------------------------------------------------------------------------

    def create(
        self, job: NewJob, *, now: float, then: Then | None = None
    ) -> tuple[JobRecord, bool]:
        """Record ``job`` and run ``then``; a known idempotency key returns the first job, False."""
        jobs = self._t("jobs")
        with self.transaction() as db:
            if job.unique_key is not None:  # one decision at a time per unique key
                self._run(
                    db,
                    "select pg_advisory_xact_lock(hashtext(%s))",
                    (f"{self._p}uniq:{job.unique_key}",),
                )
                row = self._one(
                    db,
                    f"select * from {jobs} where unique_key = %s and status in"
                    " ('PENDING', 'RUNNING', 'RETRYING') order by created_at limit 1",
                    (job.unique_key,),
                )
                if row is not None:
                    return _record(row), False
            inserted = self._insert(db, job, now)
            if not inserted:
                row = self._one(
                    db, f"select * from {jobs} where idempotency_key = %s", (job.idempotency_key,)
                )
                if row is not None:
                    return _record(row), False
            if then is not None:
                then()
        return self._new_record(job, now), True

    def _insert(self, db: psycopg.Connection[Any], job: NewJob, now: float) -> bool:
        return (
            self._run(
                db,
                f"insert into {self._t('jobs')} (job_id, job_type, payload, queue, priority,"
                " status, max_attempts, idempotency_key, created_at, updated_at, not_before,"
                " group_key, replay_of, effect_scope, unique_key, dispatched_at)"
                " values (%s, %s, %s, %s, %s, 'PENDING', %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " on conflict (idempotency_key) where idempotency_key is not null do nothing",
                (
                    job.job_id,
                    job.job_type,
                    dumps(job.payload),
                    job.queue,
                    job.priority,
                    job.max_attempts,
                    job.idempotency_key,
                    now,
                    now,
                    job.not_before,
                    job.group_key,
                    job.replay_of,
                    job.scope,
                    job.unique_key,
                    now,
                ),
            )
            == 1
        )

    @staticmethod
    def _new_record(job: NewJob, now: float) -> JobRecord:
        return JobRecord(
            job_id=job.job_id,
            job_type=job.job_type,
            payload=job.payload,
            queue=job.queue,
            priority=job.priority,
            status=JobStatus.PENDING,
            attempts=0,
            max_attempts=job.max_attempts,
            idempotency_key=job.idempotency_key,
            created_at=now,
            updated_at=now,
            not_before=job.not_before,
            lease_until=None,
            owner=None,
            group_key=job.group_key,
            replay_of=job.replay_of,
            effect_scope=job.scope,
            unique_key=job.unique_key,
        )

    def claim(self, job_id: str, worker: str, limits: ClaimLimits, *, now: float) -> Claim:
        """Take a job for ``worker`` if it is due and the limits allow (one transaction)."""
        jobs = self._t("jobs")
        with self.transaction() as db:
            if limits.global_cap is None and limits.type_cap is None and limits.rate_per_s is None:
                row = self._one(
                    db,
                    f"update {jobs} set status = 'RUNNING', attempts = attempts + 1,"
                    " lease_until = %s, owner = %s, updated_at = %s where job_id = %s and"
                    " not_before <= %s and group_key is null and (status in ('PENDING',"
                    " 'RETRYING') or (status = 'RUNNING' and lease_until <= %s)) returning *",
                    (now + limits.lease_s, worker, now, job_id, now, now),
                )
                if row is not None:
                    return Claim(outcome=ClaimOutcome.CLAIMED, record=_record(row))
            # Counting running jobs, ordering groups and start rates: one claim at a time.
            self._run(db, "select pg_advisory_xact_lock(hashtext(%s))", (f"{self._p}claim",))
            row = self._one(db, f"select * from {jobs} where job_id = %s for update", (job_id,))
            if row is None:
                return Claim(outcome=ClaimOutcome.GONE)
            blocked = self._blocked(db, row, limits, now)
            if blocked is not None:
                return blocked
            claimed = self._one(
                db,
                f"update {jobs} set status = 'RUNNING', attempts = attempts + 1,"
                " lease_until = %s, owner = %s, updated_at = %s where job_id = %s returning *",
                (now + limits.lease_s, worker, now, job_id),
            )
            assert claimed is not None  # locked above
            return Claim(outcome=ClaimOutcome.CLAIMED, record=_record(claimed))

    def _blocked(
        self, db: psycopg.Connection[Any], row: Row, limits: ClaimLimits, now: float
    ) -> Claim | None:
        jobs = self._t("jobs")
        status = JobStatus(row["status"])
        if status not in ACTIVE_STATES or (
            status is JobStatus.RUNNING and (row["lease_until"] or 0) > now
        ):
            return Claim(outcome=ClaimOutcome.GONE, record=_record(row))
        if row["not_before"] > now:
            return Claim(outcome=ClaimOutcome.NOT_YET, retry_in_s=row["not_before"] - now)
        job_type = row["job_type"]
        if limits.global_cap is not None:
            found = self._one(
                db,
                f"select count(*) as n from {jobs} where status = 'RUNNING' and lease_until > %s",
                (now,),
            )
            if found is not None and found["n"] >= limits.global_cap:
                return Claim(outcome=ClaimOutcome.BUSY, retry_in_s=0.05)
        if limits.type_cap is not None:
            found = self._one(
                db,
                f"select count(*) as n from {jobs} where status = 'RUNNING' and lease_until > %s"
                " and job_type = %s",
                (now, job_type),
            )
            if found is not None and found["n"] >= limits.type_cap:
                return Claim(outcome=ClaimOutcome.BUSY, retry_in_s=0.05)
        if limits.ordered_group and row["group_key"]:
            ahead = self._one(
                db,
                f"select 1 from {jobs} where group_key = %s and job_id != %s and ("
                "(status = 'RUNNING' and lease_until > %s) or"
                " (status in ('PENDING', 'RETRYING') and created_at < %s)) limit 1",
                (row["group_key"], row["job_id"], now, row["created_at"]),
            )
            if ahead is not None:
                return Claim(outcome=ClaimOutcome.BUSY, retry_in_s=0.1)
        if limits.rate_per_s is not None:
            starts = self._t("starts")
            found = self._one(
                db,
                f"select count(*) as n, min(at) as first from {starts}"
                " where job_type = %s and at > %s",
                (job_type, now - 1.0),
            )
            if found is not None and found["n"] >= limits.rate_per_s:
                wait = max(0.01, found["first"] + 1.0 - now)
                return Claim(outcome=ClaimOutcome.BUSY, retry_in_s=wait)
            self._run(
                db, f"delete from {starts} where job_type = %s and at <= %s", (job_type, now - 5)
            )
            self._run(db, f"insert into {starts} (job_type, at) values (%s, %s)", (job_type, now))
        return None

    def renew(self, job_ids: Sequence[str], worker: str, lease_s: float, *, now: float) -> set[str]:
        """Extend the claims ``worker`` holds on ``job_ids``; return the ids still held."""
        if not job_ids:
            return set()
        with self.transaction() as db:
            rows = self._all(
                db,
                f"update {self._t('jobs')} set lease_until = %s where job_id = any(%s)"
                " and status = 'RUNNING' and owner = %s returning job_id",
                (now + lease_s, list(job_ids), worker),
            )
        return {r["job_id"] for r in rows}

    def settle(
        self, job_id: str, worker: str, result: Settlement, *, now: float, then: Then | None = None
    ) -> JobRecord | None:
        """Record how an attempt ended and run ``then``; None when the claim was lost."""
        with self.transaction() as db:
            record = self._settle_row(db, job_id, worker, result, now)
            if record is None:
                return None
            if then is not None:
                then()
        return record

    def complete(
        self, job_id: str, worker: str, job_type: str, duration_s: float, *, now: float
    ) -> bool:
        """Record a completed attempt as :meth:`settle` would; False when the claim was lost."""
        done = Settlement(status=JobStatus.COMPLETED, duration_s=duration_s)
        with self.transaction() as db:
            return self._settle_row(db, job_id, worker, done, now) is not None

    def complete_then_claim(
        self, done: Completion | None, job_id: str, worker: str, limits: ClaimLimits, *, now: float
    ) -> tuple[bool | None, Claim]:
        """Record ``done`` (as :meth:`complete`), then claim ``job_id``, in one transaction."""
        with self.transaction():
            held = None
            if done is not None:
                held = self.complete(
                    done.job_id, done.worker, done.job_type, done.duration_s, now=now
                )
            return held, self.claim(job_id, worker, limits, now=now)

    def _settle_row(
        self,
        db: psycopg.Connection[Any],
        job_id: str,
        worker: str,
        result: Settlement,
        now: float,
    ) -> JobRecord | None:
        status = result.status.value
        row = self._one(
            db,
            f"update {self._t('jobs')} set status = %s, lease_until = null, updated_at = %s,"
            " error = %s, error_kind = %s, not_before = coalesce(%s, not_before),"
            " dispatched_at = %s, owner = case when %s = 'RETRYING' then null else owner end,"
            " progress = case when %s = 'COMPLETED' and progress is not null then 1.0"
            " else progress end where job_id = %s and status = 'RUNNING' and owner = %s"
            " returning *",
            (
                status,
                now,
                result.error,
                result.error_kind,
                result.retry_at,
                now,
                status,
                status,
                job_id,
                worker,
            ),
        )
        if row is None:
            return None
        job_type = row["job_type"]
        a = self._t("attempts")
        self._run(
            db,
            f"insert into {a} (job_type, outcome, bucket, n, total) values (%s, %s, %s, 1, %s)"
            f" on conflict (job_type, outcome, bucket) do update set n = {a}.n + 1,"
            f" total = {a}.total + excluded.total",
            (job_type, status, min(bucket_of(result.duration_s), 1e308), result.duration_s),
        )
        if result.status is JobStatus.DEAD:
            self._run(
                db,
                f"insert into {self._t('dead_letters')} (job_id, job_type, payload, attempts,"
                " error, error_kind, failed_at) values (%s, %s, %s, %s, %s, %s, %s)"
                " on conflict (job_id) do update set attempts = excluded.attempts,"
                " error = excluded.error, error_kind = excluded.error_kind,"
                " failed_at = excluded.failed_at, replayed_as = null",
                (
                    job_id,
                    job_type,
                    row["payload"],
                    row["attempts"],
                    result.error or "",
                    result.error_kind or "",
                    now,
                ),
            )
        return _record(row)

    def get(self, job_id: str) -> JobRecord | None:
        """Return one job or None."""
        with self._reading() as db:
            row = self._one(db, f"select * from {self._t('jobs')} where job_id = %s", (job_id,))
        return None if row is None else _record(row)

    # JobStateStore -------------------------------------------------------------------------

    def set_progress(self, job_id: str, fraction: float, *, now: float) -> None:
        """Publish progress 0.0..1.0."""
        with self.transaction() as db:
            self._run(
                db,
                f"update {self._t('jobs')} set progress = %s, updated_at = %s where job_id = %s",
                (min(1.0, max(0.0, fraction)), now, job_id),
            )

    def save_checkpoint(self, job_id: str, state: JSONObject, *, now: float) -> None:
        """Persist a checkpoint for later attempts of the same job."""
        with self.transaction() as db:
            self._run(
                db,
                f"update {self._t('jobs')} set checkpoint = %s, updated_at = %s where job_id = %s",
                (dumps(state), now, job_id),
            )

    def claim_effect(self, scope: str, key: str, *, now: float) -> bool:
        """Return True the first time ``key`` is claimed within ``scope``."""
        with self.transaction() as db:
            return (
                self._run(
                    db,
                    f"insert into {self._t('effects')} (scope, key, at) values (%s, %s, %s)"
                    " on conflict do nothing",
                    (scope, key, now),
                )
                == 1
            )

    # RecoveryStore -------------------------------------------------------------------------

    def reap(self, *, now: float, retry_at: float) -> list[JobRecord]:
        """Take back jobs whose claim lapsed; return them, now RETRYING or DEAD."""
        taken: list[JobRecord] = []
        with self.transaction() as db:
            rows = self._all(
                db,
                f"select * from {self._t('jobs')} where status = 'RUNNING' and lease_until <= %s"
                " for update skip locked",
                (now,),
            )
            for row in rows:
                retry = row["attempts"] < row["max_attempts"]
                result = Settlement(
                    status=JobStatus.RETRYING if retry else JobStatus.DEAD,
                    duration_s=max(0.0, now - row["updated_at"]),
                    error=f"worker {row['owner']} lost the job (its claim lapsed)",
                    error_kind="transient",
                    retry_at=retry_at if retry else None,
                )
                record = self._settle_row(db, row["job_id"], row["owner"], result, now)
                if record is not None:
                    taken.append(record)
                    self._incr(db, "jobs_recovered_total", row["job_type"])
        return taken

    def stale(self, *, now: float, stale_s: float) -> list[JobRecord]:
        """Return due jobs not dispatched for ``stale_s`` (their message was lost), re-marked."""
        jobs = self._t("jobs")
        with self.transaction() as db:
            rows = self._all(
                db,
                f"update {jobs} set dispatched_at = %s where job_id in (select job_id from {jobs}"
                " where status in ('PENDING', 'RETRYING') and not_before <= %s and"
                " coalesce(dispatched_at, 0) <= %s limit 200 for update skip locked) returning *",
                (now, now - stale_s, now - stale_s),
            )
        return [_record(r) for r in rows]

    def beat(self, worker: str, *, now: float) -> None:
        """Record that ``worker`` is alive."""
        with self.transaction() as db:
            self._run(
                db,
                f"insert into {self._t('workers')} (worker, at) values (%s, %s)"
                " on conflict (worker) do update set at = excluded.at",
                (worker, now),
            )

    def live_workers(self, *, since: float) -> list[str]:
        """Return the workers seen alive at or after ``since``."""
        with self._reading() as db:
            rows = self._all(
                db,
                f"select worker from {self._t('workers')} where at >= %s order by worker",
                (since,),
            )
        return [r["worker"] for r in rows]

    # DeadLetterStore -----------------------------------------------------------------------

    def dead_letters(self, *, limit: int = 100, include_replayed: bool = False) -> list[DeadLetter]:
        """List dead letters, newest first."""
        where = "" if include_replayed else "where replayed_as is null"
        with self._reading() as db:
            rows = self._all(
                db,
                f"select * from {self._t('dead_letters')} {where} order by failed_at desc limit %s",
                (limit,),
            )
        return [_letter(r) for r in rows]

    def dead_letter(self, job_id: str) -> DeadLetter | None:
        """Return one dead letter or None."""
        with self._reading() as db:
            row = self._one(
                db, f"select * from {self._t('dead_letters')} where job_id = %s", (job_id,)
            )
        return None if row is None else _letter(row)

    def mark_replayed(self, job_id: str, new_job_id: str) -> None:
        """Record that a dead letter was replayed as ``new_job_id``."""
        with self.transaction() as db:
            self._run(
                db,
                f"update {self._t('dead_letters')} set replayed_as = %s where job_id = %s",
                (new_job_id, job_id),
            )

    def purge(self, *, before: float | None = None) -> int:
        """Delete dead letters (older than ``before`` when given); return how many."""
        with self.transaction() as db:
            if before is None:
                return self._run(db, f"delete from {self._t('dead_letters')}")
            return self._run(
                db, f"delete from {self._t('dead_letters')} where failed_at < %s", (before,)
            )

    # ScheduleStore -------------------------------------------------------------------------

    def last_tick(self, schedule: str) -> float | None:
        """Return the latest tick handled for ``schedule``."""
        with self._reading() as db:
            row = self._one(
                db,
                f"select max(tick) as tick from {self._t('schedule_ticks')} where schedule = %s",
                (schedule,),
            )
        return None if row is None or row["tick"] is None else float(row["tick"])

    def fire(
        self,
        schedule: str,
        tick: float,
        job: NewJob | None,
        *,
        skip_if_active: bool,
        now: float,
        then: Then | None = None,
    ) -> bool:
        """Claim ``tick`` once across schedulers, record ``job`` and run ``then``, atomically."""
        ticks = self._t("schedule_ticks")
        with self.transaction() as db:
            taken = self._run(
                db,
                f"insert into {ticks} (schedule, tick, fired) values (%s, %s, 0)"
                " on conflict do nothing",
                (schedule, tick),
            )
            if taken != 1 or job is None:
                return False
            if skip_if_active and job.group_key is not None:
                active = self._one(
                    db,
                    f"select 1 from {self._t('jobs')} where group_key = %s and status in"
                    " ('PENDING', 'RUNNING', 'RETRYING') limit 1",
                    (job.group_key,),
                )
                if active is not None:
                    self._incr(db, "schedule_skipped_total", schedule)
                    return False
            self._insert(db, job, now)
            self._run(
                db,
                f"update {ticks} set fired = 1 where schedule = %s and tick = %s",
                (schedule, tick),
            )
            if then is not None:
                then()
            return True

    # StatsStore ----------------------------------------------------------------------------

    def counters(self) -> Mapping[tuple[str, str], float]:
        """Return every counter keyed by (name, job_type), settlement counters derived."""
        jobs = self._t("jobs")
        with self._reading() as db:
            found: dict[tuple[str, str], float] = {
                (r["name"], r["label"]): float(r["value"])
                for r in self._all(db, f"select name, label, value from {self._t('counters')}")
            }
            outcomes = self._all(
                db,
                f"select job_type, outcome, sum(n) as n from {self._t('attempts')} group by 1, 2",
            )
            running = self._all(
                db,
                f"select job_type, count(*) as n from {jobs} where status = 'RUNNING' group by 1",
            )
            enqueued = self._all(db, f"select job_type, count(*) as n from {jobs} group by 1")
        for r in running:
            found[("jobs_started_total", r["job_type"])] = float(r["n"])
        for r in enqueued:  # job rows are kept, so they count the enqueued jobs
            found[("jobs_enqueued_total", r["job_type"])] = float(r["n"])
        for r in outcomes:
            job_type, n = r["job_type"], float(r["n"])
            name = _COUNTER_OF[JobStatus(r["outcome"])]
            found[(name, job_type)] = found.get((name, job_type), 0.0) + n
            started = ("jobs_started_total", job_type)
            found[started] = found.get(started, 0.0) + n
            if r["outcome"] != JobStatus.COMPLETED.value:
                failed = ("jobs_attempts_failed_total", job_type)
                found[failed] = found.get(failed, 0.0) + n
        return found

    def durations(self) -> Mapping[str, Mapping[float, tuple[int, float]]]:
        """Return per job type: bucket upper bound -> (attempts in that bucket, their sum)."""
        found: dict[str, dict[float, tuple[int, float]]] = {}
        with self._reading() as db:
            rows = self._all(
                db,
                f"select job_type, bucket, sum(n) as n, sum(total) as total"
                f" from {self._t('attempts')} group by 1, 2",
            )
        for r in rows:
            bound = float("inf") if r["bucket"] >= 1e308 else float(r["bucket"])
            found.setdefault(r["job_type"], {})[bound] = (int(r["n"]), float(r["total"]))
        return found

    def gauges(self) -> Mapping[str, float]:
        """Return queue_depth, running and dlq_size as of now."""
        with self._reading() as db:
            counts = {
                r["status"]: r["n"]
                for r in self._all(
                    db,
                    f"select status, count(*) as n from {self._t('jobs')} where status in"
                    " ('PENDING', 'RETRYING', 'RUNNING') group by status",
                )
            }
            dlq = self._one(
                db,
                f"select count(*) as n from {self._t('dead_letters')} where replayed_as is null",
            )
        return {
            "queue_depth": float(counts.get("PENDING", 0) + counts.get("RETRYING", 0)),
            "running": float(counts.get("RUNNING", 0)),
            "dlq_size": float(dlq["n"] if dlq is not None else 0),
        }

    def add_alert(self, alert: Alert) -> None:
        """Record an alert."""
        with self.transaction() as db:
            self._run(
                db,
                f"insert into {self._t('alerts')} (kind, job_id, message, at, details)"
                " values (%s, %s, %s, %s, %s)",
                (alert.kind, alert.job_id, alert.message, alert.at, dumps(alert.details)),
            )

    def alerts(self) -> Sequence[Alert]:
        """Return recorded alerts, oldest first."""
        with self._reading() as db:
            rows = self._all(db, f"select * from {self._t('alerts')} order by id")
        return [
            Alert(
                kind=r["kind"],
                job_id=r["job_id"],
                message=r["message"],
                at=r["at"],
                details=json.loads(r["details"]),
            )
            for r in rows
        ]

    def list_jobs(self, *, status: JobStatus | None = None, limit: int = 100) -> list[JobRecord]:
        """List jobs, newest first."""
        jobs = self._t("jobs")
        with self._reading() as db:
            if status is None:
                rows = self._all(
                    db, f"select * from {jobs} order by created_at desc limit %s", (limit,)
                )
            else:
                rows = self._all(
                    db,
                    f"select * from {jobs} where status = %s order by created_at desc limit %s",
                    (status.value, limit),
                )
        return [_record(r) for r in rows]

    def ping(self) -> bool:
        """Return True when the store answers within :data:`PING_TIMEOUT_S`.

        A health probe must answer while the database is down, so the wait for a pooled
        connection is bounded here, not the pool's general timeout.
        """
        try:
            with self.pool().connection(timeout=PING_TIMEOUT_S) as db:
                self._run(db, f"select 1 from {self._t('jobs')} limit 1")
        except (psycopg.Error, PoolTimeout, OSError):
            return False
        return True
