"""The history ledger: what probe jobs did, recorded where the kit can read it back.

Probe jobs run inside the implementation under test, often in other processes (Celery, RQ and
Huey workers) and threads. Each attempt writes its start, its end, its effects, checkpoints and
progress into one SQLite file in WAL mode, which many processes may write at once. The kit
writes what it submitted and the faults it injected into the same file. After a run the kit
reads everything back as a frozen :class:`History` that the pure checker functions take.

Safety across processes and threads:

* one connection per process *and* thread (re-opened after ``fork``), never shared;
* ``journal_mode=WAL`` so readers never block the writer, ``busy_timeout`` so concurrent
  writers wait instead of failing, and one short autocommit statement per record;
* JSON (never pickle) for structured values.

Tables (every row carries ``run_id`` and ``scope``: the check that submitted the probe):

* ``attempts``: one row per attempt; ``ended_at``/``outcome`` stay NULL when the attempt never
  finished (the worker was killed: a *crashed* attempt). Outcomes are listed in
  :data:`OUTCOMES`.
* ``effects``: the probe's side effect, recorded only when the implementation's idempotency
  guard (``ProbeContext.claim_effect``) allowed it.
* ``checkpoints``: every checkpoint save and every load that resumed from one.
* ``progress``: every progress value the probe published.
* ``submissions`` and ``events``: written by the kit (jobs it submitted; faults and phases).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from jobforge.errors import ConformanceError

from .adapter import JSONObject

#: Environment variable naming the ledger file; worker processes inherit it.
LEDGER_ENV: Final = "JOBFORGE_LEDGER"
#: Environment variable naming the run id stamped on every record.
RUN_ID_ENV: Final = "JOBFORGE_RUN_ID"

#: Attempt outcomes. ``None`` in the ledger means the attempt never ended (crashed).
OUTCOME_OK: Final = "ok"
OUTCOME_TRANSIENT: Final = "transient"  # the probe raised its transient error
OUTCOME_PERMANENT: Final = "permanent"  # the probe raised its permanent error
OUTCOME_TIMEOUT: Final = "timeout"  # the implementation cut the attempt off for its time limit
OUTCOME_INTERRUPTED: Final = "interrupted"  # stopped by the implementation (stop flag, shutdown)
OUTCOME_ERROR: Final = "error"  # any other exception escaped the probe body
OUTCOMES: Final = frozenset(
    {
        OUTCOME_OK,
        OUTCOME_TRANSIENT,
        OUTCOME_PERMANENT,
        OUTCOME_TIMEOUT,
        OUTCOME_INTERRUPTED,
        OUTCOME_ERROR,
    }
)

_BUSY_TIMEOUT_MS: Final = 30_000

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, probe_id TEXT NOT NULL, job_id TEXT NOT NULL,
    job_type TEXT NOT NULL, attempt INTEGER NOT NULL, pid INTEGER NOT NULL, worker TEXT NOT NULL,
    started_at REAL NOT NULL, ended_at REAL, outcome TEXT, error TEXT
);
CREATE TABLE IF NOT EXISTS effects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, probe_id TEXT NOT NULL, job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, key TEXT NOT NULL, pid INTEGER NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, probe_id TEXT NOT NULL, job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, action TEXT NOT NULL, step INTEGER NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS progress (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, probe_id TEXT NOT NULL, job_id TEXT NOT NULL,
    attempt INTEGER NOT NULL, fraction REAL NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, probe_id TEXT NOT NULL, job_id TEXT NOT NULL,
    job_type TEXT NOT NULL, idempotency_key TEXT, delay_s REAL NOT NULL, priority INTEGER,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL, scope TEXT NOT NULL, kind TEXT NOT NULL, subject TEXT NOT NULL,
    detail TEXT NOT NULL, at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS attempts_scope ON attempts (run_id, scope);
CREATE INDEX IF NOT EXISTS effects_scope ON effects (run_id, scope);
"""


class LedgerError(ConformanceError):
    """The ledger could not be opened, written or read: the kit's infrastructure failed."""


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One attempt of one job, as its probe recorded it."""

    row: int  # ledger row id; orders attempts by the time they were recorded
    scope: str  # the check that submitted the probe
    probe_id: str  # the kit's id of the logical job (shared by duplicates and replays)
    job_id: str  # the implementation's id of the job this attempt belongs to
    job_type: str
    attempt: int  # the implementation's attempt number: 1 for the first run
    pid: int
    worker: str
    started_at: float  # unix time
    ended_at: float | None  # None: the attempt never ended (the worker died under it)
    outcome: str | None  # one of OUTCOMES, or None when crashed
    error: str | None = None

    @property
    def crashed(self) -> bool:
        """True when the attempt never recorded its end."""
        return self.ended_at is None

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end, or None for a crashed attempt."""
        return None if self.ended_at is None else self.ended_at - self.started_at


@dataclass(frozen=True, kw_only=True)
class Effect:
    """A side effect the probe performed after the idempotency guard allowed it."""

    scope: str
    probe_id: str
    job_id: str
    attempt: int
    key: str
    pid: int
    at: float


@dataclass(frozen=True, kw_only=True)
class CheckpointRecord:
    """A checkpoint saved (``action="save"``) or resumed from (``action="load"``)."""

    scope: str
    probe_id: str
    job_id: str
    attempt: int
    action: str  # save | load
    step: int  # steps completed when saved, or the step resumed from
    at: float


@dataclass(frozen=True, kw_only=True)
class ProgressRecord:
    """A progress value a probe published."""

    scope: str
    probe_id: str
    job_id: str
    attempt: int
    fraction: float
    at: float


@dataclass(frozen=True, kw_only=True)
class Submission:
    """A job the kit submitted through the adapter."""

    scope: str
    probe_id: str
    job_id: str  # the id the adapter returned
    job_type: str
    idempotency_key: str | None
    delay_s: float
    priority: int | None
    at: float  # when submit() returned


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something the kit did or saw during a run: a fault, a phase, a note."""

    scope: str
    kind: str  # e.g. "fault.kill_worker", "phase.drain"
    subject: str  # e.g. the worker id
    detail: JSONObject
    at: float


@dataclass(frozen=True, kw_only=True)
class History:
    """Everything recorded for one run (optionally narrowed to one scope), in recorded order."""

    run_id: str
    attempts: tuple[Attempt, ...] = ()
    effects: tuple[Effect, ...] = ()
    checkpoints: tuple[CheckpointRecord, ...] = ()
    progress: tuple[ProgressRecord, ...] = ()
    submissions: tuple[Submission, ...] = ()
    events: tuple[Event, ...] = field(default=())

    def scoped(self, scope: str) -> History:
        """Return the part of the history recorded under ``scope``."""
        return History(
            run_id=self.run_id,
            attempts=tuple(a for a in self.attempts if a.scope == scope),
            effects=tuple(e for e in self.effects if e.scope == scope),
            checkpoints=tuple(c for c in self.checkpoints if c.scope == scope),
            progress=tuple(p for p in self.progress if p.scope == scope),
            submissions=tuple(s for s in self.submissions if s.scope == scope),
            events=tuple(e for e in self.events if e.scope == scope),
        )

    def probe_ids(self) -> tuple[str, ...]:
        """Every probe id submitted or seen running, in first-seen order."""
        seen: dict[str, None] = {}
        for s in self.submissions:
            seen.setdefault(s.probe_id, None)
        for a in self.attempts:
            seen.setdefault(a.probe_id, None)
        return tuple(seen)

    def attempts_of(self, probe_id: str) -> tuple[Attempt, ...]:
        """Return the attempts recorded for one probe, ordered by start time."""
        return tuple(
            sorted(
                (a for a in self.attempts if a.probe_id == probe_id),
                key=lambda a: (a.started_at, a.row),
            )
        )

    def effects_of(self, probe_id: str) -> tuple[Effect, ...]:
        """Return the effects recorded for one probe."""
        return tuple(e for e in self.effects if e.probe_id == probe_id)


class Ledger:
    """Writer and reader of one ledger file, safe to share across processes and threads.

    Construct it anywhere (the kit, a worker process, a worker thread); each thread of each
    process opens its own connection on first use. ``run_id`` is stamped on every record.
    """

    def __init__(self, path: Path | str, *, run_id: str = "run") -> None:
        """Open (lazily) the ledger at ``path``; records are stamped with ``run_id``."""
        self.path = Path(path)
        self.run_id = run_id
        self._local = threading.local()

    @classmethod
    def from_env(cls) -> Ledger:
        """Open the ledger named by ``JOBFORGE_LEDGER`` with run id ``JOBFORGE_RUN_ID``."""
        path = os.environ.get(LEDGER_ENV)
        if not path:
            raise LedgerError(
                f"environment variable {LEDGER_ENV} is not set; the conformance kit sets it "
                "for a run: start workers after Adapter.setup() has exported it, or pass "
                "ledger=Ledger(path) to run_probe"
            )
        return cls(path, run_id=os.environ.get(RUN_ID_ENV, "run"))

    def __repr__(self) -> str:
        """Show the path and run id."""
        return f"Ledger({str(self.path)!r}, run_id={self.run_id!r})"

    # -- connections -----------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is not None and getattr(local, "pid", None) == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"cannot open the history ledger {str(self.path)!r}: {exc}; check the "
                "directory exists and is writable by the workers"
            ) from exc
        local.conn = conn
        local.pid = os.getpid()
        return conn

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"history ledger {str(self.path)!r}: cannot {action}: {exc}; the ledger file "
                "must stay writable for the whole run"
            ) from exc

    def _write(self, action: str, sql: str, params: tuple[object, ...]) -> int:
        with self._errors(action):
            cursor = self._connection().execute(sql, params)
            return int(cursor.lastrowid or 0)

    def initialize(self) -> None:
        """Create the file and tables (idempotent); the kit calls this before a run."""
        with self._errors("create the tables"):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._connection().executescript(_SCHEMA)

    def close(self) -> None:
        """Close this thread's connection, if open."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None

    # -- writers used by probes --------------------------------------------------------------

    def attempt_started(
        self,
        *,
        scope: str,
        probe_id: str,
        job_id: str,
        job_type: str,
        attempt: int,
        worker: str,
        at: float | None = None,
    ) -> int:
        """Record an attempt's start; return the row id to pass to :meth:`attempt_ended`."""
        return self._write(
            "record an attempt start",
            "INSERT INTO attempts (run_id, scope, probe_id, job_id, job_type, attempt, pid,"
            " worker, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                scope,
                probe_id,
                job_id,
                job_type,
                attempt,
                os.getpid(),
                worker,
                time.time() if at is None else at,
            ),
        )

    def attempt_ended(
        self, row: int, *, outcome: str, error: str | None = None, at: float | None = None
    ) -> None:
        """Record the end of the attempt started as ``row`` with one of :data:`OUTCOMES`."""
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome={outcome!r} is not one of {sorted(OUTCOMES)}")
        self._write(
            "record an attempt end",
            "UPDATE attempts SET ended_at = ?, outcome = ?, error = ? WHERE id = ?",
            (time.time() if at is None else at, outcome, error, row),
        )

    def record_effect(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, key: str
    ) -> None:
        """Record one side effect the idempotency guard allowed."""
        self._write(
            "record an effect",
            "INSERT INTO effects (run_id, scope, probe_id, job_id, attempt, key, pid, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, scope, probe_id, job_id, attempt, key, os.getpid(), time.time()),
        )

    def record_checkpoint(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, action: str, step: int
    ) -> None:
        """Record a checkpoint ``save`` (steps done) or ``load`` (step resumed from)."""
        if action not in {"save", "load"}:
            raise ValueError(f"checkpoint action={action!r} must be 'save' or 'load'")
        self._write(
            "record a checkpoint",
            "INSERT INTO checkpoints (run_id, scope, probe_id, job_id, attempt, action, step, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, scope, probe_id, job_id, attempt, action, step, time.time()),
        )

    def record_progress(
        self, *, scope: str, probe_id: str, job_id: str, attempt: int, fraction: float
    ) -> None:
        """Record a progress value a probe published."""
        self._write(
            "record progress",
            "INSERT INTO progress (run_id, scope, probe_id, job_id, attempt, fraction, at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (self.run_id, scope, probe_id, job_id, attempt, fraction, time.time()),
        )

    # -- writers used by the kit -------------------------------------------------------------

    def record_submission(
        self,
        *,
        scope: str,
        probe_id: str,
        job_id: str,
        job_type: str,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
        at: float | None = None,
    ) -> None:
        """Record a job the kit submitted and the id the adapter returned."""
        self._write(
            "record a submission",
            "INSERT INTO submissions (run_id, scope, probe_id, job_id, job_type,"
            " idempotency_key, delay_s, priority, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.run_id,
                scope,
                probe_id,
                job_id,
                job_type,
                idempotency_key,
                delay_s,
                priority,
                time.time() if at is None else at,
            ),
        )

    def record_event(
        self, *, scope: str, kind: str, subject: str = "", detail: JSONObject | None = None
    ) -> None:
        """Record something the kit did (a fault, a phase) with JSON detail."""
        self._write(
            "record an event",
            "INSERT INTO events (run_id, scope, kind, subject, detail, at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (self.run_id, scope, kind, subject, json.dumps(detail or {}), time.time()),
        )

    def has_event(self, kind: str, subject: str) -> bool:
        """Return whether this run recorded an event of ``kind`` about ``subject`` (any scope)."""
        with self._errors("read an event"):
            row = (
                self._connection()
                .execute(
                    "SELECT 1 FROM events WHERE run_id = ? AND kind = ? AND subject = ? LIMIT 1",
                    (self.run_id, kind, subject),
                )
                .fetchone()
            )
        return row is not None

    # -- reader ------------------------------------------------------------------------------

    def read(self, scope: str | None = None) -> History:
        """Read this run's records (all scopes, or one) as a frozen :class:`History`."""
        where = "run_id = ?" + ("" if scope is None else " AND scope = ?")
        params: tuple[str, ...] = (self.run_id,) if scope is None else (self.run_id, scope)
        with self._errors("read the history"):
            conn = self._connection()

            def rows(table: str) -> list[sqlite3.Row]:
                cursor = conn.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)
                cursor.row_factory = sqlite3.Row
                return list(cursor.fetchall())

            attempts = tuple(
                Attempt(
                    row=r["id"],
                    scope=r["scope"],
                    probe_id=r["probe_id"],
                    job_id=r["job_id"],
                    job_type=r["job_type"],
                    attempt=r["attempt"],
                    pid=r["pid"],
                    worker=r["worker"],
                    started_at=r["started_at"],
                    ended_at=r["ended_at"],
                    outcome=r["outcome"],
                    error=r["error"],
                )
                for r in rows("attempts")
            )
            effects = tuple(
                Effect(
                    scope=r["scope"],
                    probe_id=r["probe_id"],
                    job_id=r["job_id"],
                    attempt=r["attempt"],
                    key=r["key"],
                    pid=r["pid"],
                    at=r["at"],
                )
                for r in rows("effects")
            )
            checkpoints = tuple(
                CheckpointRecord(
                    scope=r["scope"],
                    probe_id=r["probe_id"],
                    job_id=r["job_id"],
                    attempt=r["attempt"],
                    action=r["action"],
                    step=r["step"],
                    at=r["at"],
                )
                for r in rows("checkpoints")
            )
            progress = tuple(
                ProgressRecord(
                    scope=r["scope"],
                    probe_id=r["probe_id"],
                    job_id=r["job_id"],
                    attempt=r["attempt"],
                    fraction=r["fraction"],
                    at=r["at"],
                )
                for r in rows("progress")
            )
            submissions = tuple(
                Submission(
                    scope=r["scope"],
                    probe_id=r["probe_id"],
                    job_id=r["job_id"],
                    job_type=r["job_type"],
                    idempotency_key=r["idempotency_key"],
                    delay_s=r["delay_s"],
                    priority=r["priority"],
                    at=r["at"],
                )
                for r in rows("submissions")
            )
            events = tuple(
                Event(
                    scope=r["scope"],
                    kind=r["kind"],
                    subject=r["subject"],
                    detail=json.loads(r["detail"]),
                    at=r["at"],
                )
                for r in rows("events")
            )
        return History(
            run_id=self.run_id,
            attempts=attempts,
            effects=effects,
            checkpoints=checkpoints,
            progress=progress,
            submissions=submissions,
            events=events,
        )
