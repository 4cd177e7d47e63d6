"""Huey on SQLite: the embedded backend, no server; messages are JSON, never pickle.

Huey's queue lives in the ledger's own SQLite file and uses the ledger's connection, so a job's
record and its message commit in one transaction (enqueue, retry). What this adds to Huey:

* a JSON serializer for Huey's messages (Huey pickles by default);
* due delayed jobs moved every 10 ms (Huey's scheduler checks once a second, which would stretch
  short retry delays);
* SIGTERM as the graceful signal (finish the running job, then exit);
* lease recovery: Huey deletes a message when a worker takes it, so a worker killed mid-job would
  lose it; the ledger's lease and the reaper thread take such jobs back.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

from huey import SqliteHuey
from huey.api import TaskWrapper
from huey.constants import EmptyData
from huey.consumer import Consumer, Scheduler
from huey.registry import Message
from huey.serializer import Serializer
from huey.storage import SqliteStorage

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.ledger.sqlite import SqliteLedger, begin_write
from jobforge_runtime.logs import log_event
from jobforge_runtime.records import Claim, JobRecord, Settlement
from jobforge_runtime.recovery import Reaper, worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings

_TIMES = ("eta", "expires", "expires_resolved")


def _encode(message: Any) -> Any:
    if message is None:
        return None
    doc: dict[str, Any] = dict(message._asdict())
    for name in _TIMES:
        value = doc.get(name)
        if isinstance(value, dt.datetime):
            doc[name] = {"$dt": value.isoformat()}
        elif isinstance(value, dt.timedelta):
            doc[name] = value.total_seconds()
    doc["args"] = list(doc.get("args") or ())
    doc["on_complete"] = _encode(doc.get("on_complete"))
    doc["on_error"] = _encode(doc.get("on_error"))
    if doc.get("chord_config") is not None:
        raise SettingsError("chord_config: chords cannot be sent as JSON; queue jobs one by one")
    return doc


def _decode(doc: Any) -> Any:
    if doc is None:
        return None
    fields = dict(doc)
    for name in _TIMES:
        value = fields.get(name)
        if isinstance(value, dict) and "$dt" in value:
            fields[name] = dt.datetime.fromisoformat(value["$dt"])
    fields["args"] = tuple(fields.get("args") or ())
    fields["on_complete"] = _decode(fields.get("on_complete"))
    fields["on_error"] = _decode(fields.get("on_error"))
    return Message(**fields)


def _message_template(task_name: str) -> str:
    """Return Huey's message for ``task_name`` as JSON with ``{id}``, ``{type}``, ``{priority}``.

    The message :class:`JsonSerializer` writes for ``task.s(job_id, job_type)``, made once, so the
    enqueue path formats a string instead of building and encoding a dict.
    """
    message: dict[str, object] = {
        "id": "@ID@",
        "name": task_name,
        "eta": None,
        "retries": 0,
        "retry_delay": 0,
        "priority": "@PRIORITY@",
        "args": ["@ID@", "@TYPE@"],
        "kwargs": {},
        "on_complete": None,
        "on_error": None,
        "expires": None,
        "expires_resolved": None,
        "timeout": None,
        "chord_config": None,
        "retry_backoff": 0,
    }
    text = json.dumps({"message": message}, separators=(",", ":"))
    text = text.replace("{", "{{").replace("}", "}}")
    return (
        text.replace('"@ID@"', "{id}")
        .replace('"@TYPE@"', "{type}")
        .replace('"@PRIORITY@"', "{priority}")
    )


class JsonSerializer(Serializer):  # type: ignore[misc]
    """Serialize Huey messages as JSON instead of pickle."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the serializer with a one-message memory."""
        super().__init__(*args, **kwargs)
        self._last: tuple[bytes, Any] | None = None

    def deserialize(self, data: bytes) -> Any:
        """Decode ``data``; the same bytes object decoded again (claim, then run) is reused."""
        last = self._last
        if last is not None and last[0] is data:
            return last[1]
        value = super().deserialize(data)
        self._last = (data, value)
        return value

    def _serialize(self, data: Any) -> bytes:
        if isinstance(data, Message):
            return json.dumps({"message": _encode(data)}, separators=(",", ":")).encode()
        return json.dumps({"value": data}).encode()

    def _deserialize(self, data: bytes) -> Any:
        doc = json.loads(data)
        if "message" in doc:
            return _decode(doc["message"])
        return doc["value"]


class SharedSqliteStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage on the ledger's connection, joining a transaction already open.

    Huey's queue is a rowid table with an index on (queue, priority, id): two B-trees written per
    message, twice (queued, taken). Here messages live in one table keyed by (queue, rank, seq)
    instead (rank = -priority, seq ascending per queue and rank), so queueing and taking a message
    write one B-tree each, in the same order Huey takes them: highest priority first, then oldest.
    """

    def __init__(self, name: str = "huey", *, ledger: SqliteLedger, **kwargs: Any) -> None:
        """Store Huey's tables in ``ledger``'s file; move messages left in Huey's own table."""
        self._ledger = ledger
        self.on_dequeue: Callable[[bytes], None] | None = None  # runs in the dequeue transaction
        self.before_dequeue: Callable[[], None] | None = None  # also, before taking a message
        self._idle = True  # the last take found nothing: look before locking
        self._messages = ledger.table("messages")
        super().__init__(name, filename=str(ledger.path), **kwargs)
        with ledger.transaction() as db:
            db.execute(
                f"create table if not exists {self._messages} (queue text not null,"
                " rank integer not null, seq integer not null, data blob not null,"
                " primary key (queue, rank, seq)) without rowid"
            )
            left = db.execute(
                "delete from task where queue = ? returning priority, data", (self.name,)
            ).fetchall()
            for priority, data in sorted(left, key=lambda row: -row[0]):  # an older version's
                self.enqueue_now(data, int(priority))

    def dequeue(self) -> bytes | None:
        """Take the next message; run the hooks in the same transaction.

        While messages keep coming, the take goes straight to its transaction; after an empty
        take it first looks without the write lock (an idle worker polls every few ms).
        """
        if self._idle:
            waiting = self.conn.execute(
                f"select 1 from {self._messages} where queue = ? limit 1", (self.name,)
            )
            if waiting.fetchone() is None:
                if self.before_dequeue is not None:
                    self.before_dequeue()
                return None
        messages = self._messages
        with self._ledger.transaction() as db:
            if self.before_dequeue is not None:
                self.before_dequeue()
            row = db.execute(
                f"delete from {messages} where (queue, rank, seq) = (select queue, rank, seq"
                f" from {messages} where queue = ? order by rank, seq limit 1) returning data",
                (self.name,),
            ).fetchone()
            self._idle = row is None
            if row is None:
                return None
            data: bytes = row[0]
            if self.on_dequeue is not None:
                self.on_dequeue(data)
            return data

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        """Queue ``data`` in a transaction of its own, or in the caller's."""
        with self._ledger.transaction():
            self.enqueue_now(data, int(priority or 0))

    def enqueue_now(self, data: bytes, priority: int) -> None:
        """Queue ``data`` inside the caller's write transaction (the ledger's connection)."""
        self.conn.execute(
            f"insert into {self._messages} (queue, rank, seq, data) values (?1, ?2, coalesce("
            f"(select max(seq) from {self._messages} where queue = ?1 and rank = ?2), 0) + 1, ?3)",
            (self.name, -priority, data),
        )

    def queue_size(self) -> int:
        """Return how many messages are waiting."""
        (count,) = self.conn.execute(
            f"select count(*) from {self._messages} where queue = ?", (self.name,)
        ).fetchone()
        return int(count)

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        """Return the waiting messages in the order they will be taken."""
        rows = self.conn.execute(
            f"select data from {self._messages} where queue = ? order by rank, seq limit ?",
            (self.name, -1 if limit is None else limit),
        ).fetchall()
        return [bytes(r[0]) for r in rows]

    def flush_queue(self) -> None:
        """Drop every waiting message of this queue."""
        with self._ledger.transaction() as db:
            db.execute(f"delete from {self._messages} where queue = ?", (self.name,))

    @property
    def conn(self) -> sqlite3.Connection:
        """The ledger's connection of this thread."""
        return self._ledger.connection()

    @contextlib.contextmanager
    def db(self, commit: bool = False, close: bool = False) -> Iterator[sqlite3.Cursor]:
        """Yield a cursor; with ``commit``, in a transaction of its own unless one is open."""
        conn = self.conn
        cursor = conn.cursor()
        own = commit and not conn.in_transaction
        try:
            if own:
                begin_write(conn)
            yield cursor
        except BaseException:
            if own:
                conn.rollback()
            raise
        else:
            if own:
                conn.commit()
        finally:
            cursor.close()

    def close(self) -> bool:
        """Leave the shared connection open (the ledger owns it)."""
        return False

    def pop_data(self, key: str) -> Any:
        """Take a stored value; look before taking the write lock (Huey pops after every task)."""
        found = self.conn.execute(
            "select 1 from kv where queue = ? and key = ? limit 1", (self.name, key)
        ).fetchone()
        if found is None:
            return EmptyData
        return super().pop_data(key)

    def read_schedule(self, ts: dt.datetime) -> list[bytes]:
        """Take due delayed messages; look before taking the write lock (polled every 10 ms)."""
        due = self.conn.execute(
            "select 1 from schedule where queue = ? and timestamp <= ? limit 1",
            (self.name, ts.timestamp()),
        ).fetchone()
        if due is None:
            return []
        result: list[bytes] = super().read_schedule(ts)
        return result


class FastScheduler(Scheduler):  # type: ignore[misc]
    """Huey's scheduler, moving due delayed jobs every 10 ms instead of every second."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the scheduler, then shorten its interval."""
        super().__init__(*args, **kwargs)
        self.interval = 0.01


class RuntimeHuey(SqliteHuey):  # type: ignore[misc]
    """Huey for the runtime's one task: nothing revokes it, so no revocation read per task.

    Cancel a job through the ledger (it is then GONE when claimed), not with Huey's revoke.
    """

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        """Return False: the runtime's task is never revoked."""
        return False

    def delete(self, key: str) -> bool:
        """Delete a stored value; skip revocation flags (cleared after every task, never set)."""
        if key.startswith("r:"):
            return False
        result: bool = super().delete(key)
        return result


class HueyDispatcher:
    """One Huey instance per queue, all in the ledger's SQLite file; dispatches job ids."""

    def __init__(self, settings: Settings, ledger: SqliteLedger) -> None:
        """Create the Huey instances; :meth:`bind` registers the job-running task on each."""
        self.settings = settings
        self.hueys: dict[str, RuntimeHuey] = {}
        self.tasks: dict[str, TaskWrapper] = {}
        self._task_name = ""
        self._template = ""
        self.serializer = JsonSerializer()  # one for every queue: it remembers the last message
        for queue in settings.queues:
            self.hueys[queue] = RuntimeHuey(
                name=f"{settings.key_prefix}.{queue}",
                results=False,
                serializer=self.serializer,
                utc=True,
                storage_class=SharedSqliteStorage,
                ledger=ledger,
            )

    def bind(self, body: Callable[[str, str], None]) -> None:
        """Register ``body(job_id, job_type)`` as the task every queue runs."""
        for queue, huey in self.hueys.items():
            self.tasks[queue] = huey.task(name="run_job")(body)
        task_class = next(iter(self.tasks.values())).task_class
        self._task_name = f"{task_class.__module__}.{task_class.__name__}"
        self._template = _message_template(self._task_name)

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Queue ``job_id`` on ``queue`` (after ``delay_s`` seconds when positive)."""
        task = self.tasks.get(queue)
        if task is None:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.tasks)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        if delay_s > 0:
            task.schedule(args=(job_id, job_type), delay=delay_s, priority=priority)
            return
        # The message Huey would build for task.s(job_id, job_type), written directly: the job id
        # doubles as the task id, and no Task object is made on the enqueue path.
        data = self._template.format(
            id=json.dumps(job_id), type=json.dumps(job_type), priority=int(priority)
        ).encode()
        storage: SharedSqliteStorage = task.huey.storage
        storage.enqueue_now(data, priority)

    def ping(self) -> bool:
        """Return True when the SQLite file answers."""
        try:
            next(iter(self.hueys.values())).pending_count()
        except Exception:
            return False
        return True


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on Huey and SQLite: ledger and queue in ``settings``' SQLite file."""
    from jobforge_runtime.execution import claim, complete, execute

    ledger = SqliteLedger(settings.sqlite_path(), prefix=settings.key_prefix)
    dispatcher = HueyDispatcher(settings, ledger)
    runtime = Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=dispatcher,
        alerter=alerter_for(settings, ledger, _logger()),
    )

    claims: dict[str, Claim] = {}  # made while taking the message, used when running it
    completed: list[tuple[JobRecord, Settlement, str]] = []  # settled when taking the next one

    def defer(record: JobRecord, done: Settlement, worker: str) -> None:
        completed.append((record, done, worker))

    def settle_completed() -> None:
        while completed:
            complete(runtime, *completed.pop(0))

    def claim_while_taking(data: bytes) -> None:
        message = dispatcher.serializer.deserialize(data)
        if message.name in task_names and len(message.args) == 2:
            job_id, job_type = message.args
            claims[job_id] = claim(runtime, job_id, job_type, worker=worker_name())

    def run_job(job_id: str, job_type: str) -> None:
        claimed = claims.pop(job_id, None)
        execute(runtime, job_id, job_type, worker=worker_name(), claimed=claimed, defer=defer)

    dispatcher.bind(run_job)
    task_names = {
        f"{t.task_class.__module__}.{t.task_class.__name__}" for t in dispatcher.tasks.values()
    }
    for huey in dispatcher.hueys.values():
        huey.storage.on_dequeue = claim_while_taking
        huey.storage.before_dequeue = settle_completed
        huey.on_shutdown(name="settle_completed")(settle_completed)
    return runtime


def _logger() -> Any:
    import logging

    from jobforge_runtime.logs import LOGGER_NAME

    return logging.getLogger(LOGGER_NAME)


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Consume ``queue`` with ``concurrency`` worker processes until SIGTERM or SIGINT."""
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, HueyDispatcher):
        raise SettingsError("run_worker: this runtime was not built by glue.huey.build_runtime")
    if queue not in dispatcher.hueys:
        raise SettingsError(
            f"queue={queue!r} is not one of the settings' queues {list(dispatcher.hueys)}"
        )

    class RuntimeConsumer(Consumer):  # type: ignore[misc]
        scheduler_class = FastScheduler
        reaper: Reaper | None = None

        def start(self) -> None:
            super().start()
            self.reaper = Reaper(runtime, worker=worker_name()).start()
            log_event(
                runtime.logger, "worker_ready", "worker ready", queue=queue, worker=worker_name()
            )

        def stop(self, graceful: bool = False) -> None:
            super().stop(graceful=graceful)
            if self.reaper is not None:
                self.reaper.stop()

    RuntimeConsumer(
        dispatcher.hueys[queue],
        workers=concurrency,
        worker_type="process",
        periodic=False,
        initial_delay=0.01,
        backoff=1.5,
        max_delay=runtime.settings.poll_max_delay_s,
        graceful_signal="TERM",
        check_worker_health=True,
        health_check_interval=1,
    ).run()
