"""procrastinate on PostgreSQL: the job's ledger row and its procrastinate message in one database.

What this adds to procrastinate:

* **One transaction**: the ledger (:class:`PostgresLedger`) and procrastinate share the database,
  and the message is deferred on the ledger's connection inside the ledger's transaction, so a
  job and its message commit together. :func:`in_transaction` extends that to the application's
  own transaction: the job exists if and only if the business rows commit.
* **Retries, delays and timeouts are the runtime's**: the task never raises and has no retry
  strategy; a delay is procrastinate's ``schedule_in`` (exact timestamps; due jobs are found by
  polling every ``poll_max_delay_s``, immediate ones at once by LISTEN/NOTIFY). Each worker
  process runs one job at a time on its event loop's (main) thread, so the runtime's timer can
  interrupt a job past its timeout.
* **Stalled jobs**: a worker killed mid-job leaves its procrastinate row in ``doing``;
  procrastinate only retries such rows when someone calls its stalled-job retry. The runtime
  does not need it: the job's lease lapses and the reaper queues a new procrastinate job for it
  within a lease; the stalled row is then deleted by the same reaper pass (:func:`prune_stalled`).
* **Unique jobs**: the ledger decides (an advisory lock per unique key), so procrastinate's
  ``queueing_lock`` is not used.
* **Pools**: the ledger and procrastinate each keep at most ``db_pool_size`` connections per
  process; a worker process also holds one listening connection.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import procrastinate
import psycopg
from procrastinate.schema import SchemaManager

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.ledger.postgres import PostgresLedger
from jobforge_runtime.logs import LOGGER_NAME
from jobforge_runtime.recovery import worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings
from jobforge_runtime.supervisor import supervise

#: How often a worker's main process deletes procrastinate rows stalled by a killed worker.
PRUNE_EVERY_S = 5.0


def _queue_name(settings: Settings, queue: str) -> str:
    return f"{settings.key_prefix}.{queue}"


class ProcrastinateDispatcher:
    """Defers job ids as procrastinate jobs, on the ledger's connection and transaction."""

    def __init__(self, settings: Settings, ledger: PostgresLedger) -> None:
        """Prepare the procrastinate app (its own pool is opened only by a worker)."""
        self.settings = settings
        self.ledger = ledger
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(
                conninfo=ledger.url, min_size=1, max_size=settings.db_pool_size
            )
        )
        # Deferring goes through a synchronous connector on the ledger's connection: the
        # worker's async connector cannot be driven from a job running on its own event loop.
        self.defer_app = procrastinate.App(
            connector=procrastinate.SyncPsycopgConnector(conninfo=ledger.url)
        )
        self.task: Any = None
        self._schema_ready = False

    def bind(self, name: str, run: Any) -> None:
        """Register ``run`` as task ``name`` on the worker's app; defer it through the other."""
        self.app.task(name=name)(run)

        def deferred_only(job_id: str, job_type: str) -> None:
            raise SettingsError(f"task {name!r} runs in a procrastinate worker of the runtime")

        self.task = self.defer_app.task(name=name)(deferred_only)

    def ensure_schema(self) -> None:
        """Create procrastinate's tables and functions once, if the database has none."""
        if self._schema_ready:
            return
        with self.ledger.transaction() as conn:
            conn.execute("select pg_advisory_xact_lock(hashtext('jobforge-procrastinate-schema'))")
            found = conn.execute("select to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                conn.execute(SchemaManager.get_schema())
        self._schema_ready = True

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Defer ``job_id`` on the ledger's open transaction (or one of its own)."""
        if queue not in self.settings.queues:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.settings.queues)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        self.ensure_schema()
        options: dict[str, Any] = {"queue": _queue_name(self.settings, queue), "priority": priority}
        if delay_s > 0:
            options["schedule_in"] = {"seconds": delay_s}
        with self.ledger.transaction() as conn:
            self.task.configure(connection=conn, **options).defer(job_id=job_id, job_type=job_type)

    def ping(self) -> bool:
        """Return True when the database answers."""
        return self.ledger.ping()


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on procrastinate with its ledger in the same PostgreSQL database."""
    from jobforge_runtime.execution import execute

    url = settings.ledger_url or settings.broker_url
    ledger = PostgresLedger(url, prefix=settings.key_prefix, pool_size=settings.db_pool_size)
    dispatcher = ProcrastinateDispatcher(settings, ledger)
    runtime = Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=dispatcher,
        alerter=alerter_for(settings, ledger, logging.getLogger(LOGGER_NAME)),
    )

    async def run_job(job_id: str, job_type: str) -> None:
        # Runs on the event loop's thread, the process's main thread, one job per process: the
        # runtime's timer can interrupt it, and nothing else waits on this loop meanwhile.
        execute(runtime, job_id, job_type, worker=worker_name())

    dispatcher.bind(f"{settings.key_prefix}.run_job", run_job)
    return runtime


@contextlib.contextmanager
def in_transaction(runtime: Runtime, conn: psycopg.Connection[Any]) -> Iterator[None]:
    """Enqueue inside the application's transaction on ``conn`` (see the module docstring).

    Example::

        with psycopg.connect(url) as conn, conn.transaction():
            conn.execute("insert into orders (id) values (%s)", (order_id,))
            with in_transaction(app.runtime, conn):
                app.enqueue(send_receipt, Receipt(order_id=order_id))
        # committed: the order, the job and its message; rolled back: none of them
    """
    ledger = runtime.ledger
    if not isinstance(ledger, PostgresLedger):
        raise SettingsError(
            "in_transaction: the app's ledger is not PostgreSQL; use backend='procrastinate' "
            "with a postgresql:// JOBS_BROKER_URL"
        )
    dispatcher = runtime.dispatcher
    if isinstance(dispatcher, ProcrastinateDispatcher):
        dispatcher.ensure_schema()
    with ledger.joined(conn):
        yield


def prune_stalled(runtime: Runtime) -> int:
    """Delete procrastinate rows left in ``doing`` whose ledger job is no longer running there.

    A killed worker's row stays ``doing``; its ledger job was already taken back by the lease
    reaper and queued again, so the row is only clutter. Returns how many rows went.
    """
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, ProcrastinateDispatcher)
    ledger = dispatcher.ledger
    jobs = f"{ledger.prefix.replace('.', '_').replace(':', '_').replace('-', '_').lower()}_jobs"
    queues = [_queue_name(runtime.settings, q) for q in runtime.settings.queues]
    with ledger.transaction() as conn:
        cur = conn.execute(
            "delete from procrastinate_jobs p where p.status = 'doing' and p.queue_name = any(%s)"
            f" and not exists (select 1 from {jobs} j where j.job_id = p.args->>'job_id'"
            " and j.status = 'RUNNING')",
            (queues,),
        )
        return cur.rowcount


def _worker_process(runtime: Runtime, queue: str) -> None:
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, ProcrastinateDispatcher)
    settings = runtime.settings
    dispatcher.app.run_worker(
        queues=[_queue_name(settings, queue)],
        concurrency=1,
        wait=True,
        listen_notify=True,  # immediate jobs start at once
        fetch_job_polling_interval=settings.poll_max_delay_s,  # delayed ones are polled for
        delete_jobs="always",  # the ledger keeps the outcome
        install_signal_handlers=True,  # SIGTERM: finish the running job, then stop
    )


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Run ``concurrency`` procrastinate worker processes on ``queue`` until SIGTERM or SIGINT."""
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, ProcrastinateDispatcher):
        raise SettingsError(
            "run_worker: this runtime was not built by glue.procrastinate.build_runtime"
        )
    if queue not in runtime.settings.queues:
        raise SettingsError(
            f"queue={queue!r} is not one of the settings' queues {list(runtime.settings.queues)}"
        )
    dispatcher.ensure_schema()
    runtime.ledger.close()  # type: ignore[attr-defined]  # no pool crosses the fork

    def prune(stopping: threading.Event) -> None:
        while not stopping.wait(PRUNE_EVERY_S):
            try:
                prune_stalled(runtime)
            except psycopg.Error:
                logging.getLogger(LOGGER_NAME).warning("stalled-row prune: database unreachable")

    supervise(
        runtime,
        queue=queue,
        concurrency=concurrency,
        child=lambda: _worker_process(runtime, queue),
        loops=[prune],
    )
