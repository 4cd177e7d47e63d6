"""RQ on Redis: RQ carries job ids as JSON; retries, delays, leases and schedules are the runtime's.

RQ's own machinery is bypassed where it would be wrong for the runtime:

* **Retries**: every job is queued with ``retry=None`` and the task never raises (the runtime
  classifies each failure, settles it in the ledger and queues the retry itself), so RQ's
  whole-second ``Retry(interval=...)`` never applies.
* **Delays**: RQ's scheduled registry counts whole seconds and is moved by one worker holding
  the scheduler lock. A delayed dispatch (retry backoff, ``delay_s``, a busy limit) goes into a
  sorted set of the runtime's (``<prefix>:rq:delayed``, score = due unix time as a float); every
  worker's mover takes due entries with one Lua script (so exactly one worker gets each) and
  queues them on RQ every 10 ms. Workers never run RQ's scheduler (``with_scheduler=False``);
  periodic jobs come from the runtime's scheduler (one firing per tick across instances).
* **Timeouts**: the runtime's per-attempt timer preempts the job inside the work-horse; RQ's
  ``job_timeout`` is set to the job's timeout rounded up plus one second, a backstop only (RQ
  kills a horse from the parent side 60 s past it).
* **Priorities**: RQ has none, so each runtime queue is ten RQ queues, ``<prefix>.<queue>`` for
  priority 0 (and below) and ``<prefix>.<queue>.p1`` ... ``.p9``; a worker listens to them
  highest first (RQ takes from the first non-empty queue it listens to).
* **Killed workers**: RQ leaves a SIGKILLed worker's job in its started registry until a cleanup
  long after the job's timeout. The runtime does not wait for it: the job's lease lapses and the
  reaper of any other worker or scheduler retries it within a lease.
* **Work-horses**: RQ forks one horse per job into its own process group, so a signal to the
  worker's group does not reach it. Each horse, and each RQ worker under the runtime's
  supervisor process, asks the kernel to SIGKILL it when its parent dies
  (``PR_SET_PDEATHSIG``), so killing the worker's main process kills its RQ workers and their
  horses; SIGTERM to the worker's main process stops every RQ worker warmly (each waits for
  its horse). The pids are logged: ``worker_ready`` names the RQ worker processes,
  ``horse_started`` each horse (its ``worker`` field is ``host:pid``).
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import uuid

import redis
from rq import Queue, Worker
from rq.serializers import JSONSerializer

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.ledger.redis import RedisLedger
from jobforge_runtime.logs import LOGGER_NAME, log_event
from jobforge_runtime.recovery import worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings
from jobforge_runtime.supervisor import die_with_parent, supervise

#: The function RQ runs (by import path, so the message is plain JSON).
TASK = "jobforge_runtime.glue.rq.run_job"
#: How often each worker moves due delayed jobs onto RQ's queues.
MOVE_EVERY_S = 0.01
#: Priorities above 0 get RQ queues of their own, up to this one.
TOP_PRIORITY = 9

_TAKE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 200)
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
"""

_WORKER_RUNTIME: dict[str, Runtime] = {}  # set by run_worker; forked into every work-horse


def _job_id_prefix(key_prefix: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "-" for c in key_prefix)


class RqDispatcher:
    """Queues job ids on RQ, one RQ queue per settings queue; delays in the runtime's own set."""

    def __init__(self, settings: Settings, catalogue: Catalogue) -> None:
        """Connect to the broker at ``settings.broker_url`` (nothing is sent until first use)."""
        if not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError(
                f"broker_url={settings.broker_url!r}: the RQ backend needs a redis:// URL, "
                "e.g. JOBS_BROKER_URL=redis://localhost:6379/0"
            )
        self.settings = settings
        self.catalogue = catalogue
        self.connection = redis.Redis.from_url(settings.broker_url)
        self.levels = {
            name: [
                Queue(
                    f"{settings.key_prefix}.{name}" + (f".p{level}" if level else ""),
                    connection=self.connection,
                    serializer=JSONSerializer,
                )
                for level in range(TOP_PRIORITY + 1)
            ]
            for name in settings.queues
        }
        self.queues = {name: levels[0] for name, levels in self.levels.items()}
        self.delayed_key = f"{settings.key_prefix}:rq:delayed"
        self._take_due = self.connection.register_script(_TAKE_DUE)
        self._id_prefix = _job_id_prefix(settings.key_prefix)

    def rq_timeout_s(self, job_type: str) -> int:
        """Return RQ's whole-second backstop timeout: the job's own, rounded up, plus one."""
        job = self.catalogue.get(job_type) if job_type in self.catalogue else None
        timeout = (job.timeout_s if job is not None else None) or self.settings.timeout_s
        return math.ceil(timeout) + 1

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Queue ``job_id`` on ``queue`` now, or in the delayed set for ``delay_s`` seconds."""
        if queue not in self.queues:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.queues)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        if delay_s > 0:
            member = json.dumps([job_id, job_type, queue, priority])
            self.connection.zadd(self.delayed_key, {member: time.time() + delay_s})
            return
        level = max(0, min(TOP_PRIORITY, priority))
        self.levels[queue][level].enqueue_call(
            TASK,
            args=(job_id, job_type),
            timeout=self.rq_timeout_s(job_type),
            result_ttl=0,  # the ledger keeps the outcome; RQ deletes a finished job at once
            failure_ttl=3600,  # only a killed horse fails in RQ; the ledger retries the job
            retry=None,  # the runtime's retry policy owns retries
            job_id=f"{self._id_prefix}-{uuid.uuid4().hex}",  # one RQ job per dispatch
        )

    def move_due(self, *, now: float | None = None) -> int:
        """Queue every delayed job now due (each taken by exactly one caller); return how many."""
        taken = self._take_due(keys=[self.delayed_key], args=[repr(now or time.time())])
        for member in taken:
            job_id, job_type, queue, priority = json.loads(member)
            self.dispatch(job_id, job_type, queue=queue, priority=priority, delay_s=0.0)
        return len(taken)

    def purge(self) -> int:
        """Empty this app's RQ queues and its delayed set; return how many messages went."""
        gone = int(self.connection.zcard(self.delayed_key))
        self.connection.delete(self.delayed_key)
        for levels in self.levels.values():
            for queue in levels:
                gone += queue.empty()  # type: ignore[no-untyped-call]
        return gone

    def forget(self) -> int:
        """Purge, then delete every RQ key of this app (jobs, registries, worker sets).

        For tearing down an app's queues for good, with its workers stopped: RQ keeps its
        registries and a killed horse's job outside the key prefix.
        """
        gone = self.purge()
        patterns = {f"rq:*{self.settings.key_prefix}*", f"rq:*{self._id_prefix}-*"}
        for pattern in patterns:
            batch = list(self.connection.scan_iter(match=pattern, count=1000))
            if batch:
                self.connection.delete(*batch)
        return gone

    def ping(self) -> bool:
        """Return True when the broker answers."""
        try:
            return bool(self.connection.ping())
        except redis.RedisError:
            return False


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on RQ with its ledger in the broker's Redis (or ``ledger_url``)."""
    import logging

    ledger = RedisLedger(settings.ledger_url or settings.broker_url, prefix=settings.key_prefix)
    return Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=RqDispatcher(settings, catalogue),
        alerter=alerter_for(settings, ledger, logging.getLogger(LOGGER_NAME)),
    )


def run_job(job_id: str, job_type: str) -> None:
    """Run one delivery of a job in a work-horse (the RQ task; it never raises)."""
    from jobforge_runtime.execution import execute

    runtime = _WORKER_RUNTIME.get("runtime")
    if runtime is None:
        raise SettingsError(
            "run_job: no runtime in this process; start workers with the project's "
            "`worker` command (jobforge_runtime.glue.rq.run_worker), not `rq worker`"
        )
    execute(runtime, job_id, job_type, worker=worker_name())


class RuntimeWorker(Worker):
    """RQ's forking worker whose horses die with it and say their pid."""

    def setup_work_horse_signals(self) -> None:
        """In the horse: RQ's signals (SIGINT ignored), then die with the worker."""
        super().setup_work_horse_signals()  # type: ignore[no-untyped-call]
        die_with_parent()
        runtime = _WORKER_RUNTIME.get("runtime")
        if runtime is not None:
            log_event(
                runtime.logger,
                "horse_started",
                f"work-horse pid {os.getpid()} of RQ worker pid {os.getppid()}",
                worker=worker_name(),  # host:pid of the horse
            )


def _rq_worker(runtime: Runtime, queue: str) -> None:
    """Run one RQ worker in this process until SIGTERM or SIGINT (warm: the horse finishes)."""
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, RqDispatcher)
    worker = RuntimeWorker(
        list(reversed(dispatcher.levels[queue])),  # highest priority first
        connection=redis.Redis.from_url(runtime.settings.broker_url),
        serializer=JSONSerializer,
        job_monitoring_interval=5,
        disable_default_exception_handler=True,
    )
    worker.work(with_scheduler=False, logging_level="WARNING", max_idle_time=None)


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Run ``concurrency`` RQ worker processes on ``queue`` with a reaper and a delay mover.

    This process supervises (:func:`jobforge_runtime.supervisor.supervise`): it forks the RQ
    workers, moves due delayed jobs and reaps lapsed leases until SIGTERM or SIGINT, which it
    passes on to the workers (a warm stop: each finishes its running job).
    """
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, RqDispatcher):
        raise SettingsError("run_worker: this runtime was not built by glue.rq.build_runtime")
    if queue not in dispatcher.queues:
        raise SettingsError(
            f"queue={queue!r} is not one of the settings' queues {list(dispatcher.queues)}"
        )
    _WORKER_RUNTIME["runtime"] = runtime

    def move(stopping: threading.Event) -> None:
        _move_loop(dispatcher, stopping)

    supervise(
        runtime,
        queue=queue,
        concurrency=concurrency,
        child=lambda: _rq_worker(runtime, queue),
        loops=[move],
    )


def _move_loop(dispatcher: RqDispatcher, stopping: threading.Event) -> None:
    import logging

    while not stopping.wait(MOVE_EVERY_S):
        try:
            dispatcher.move_due()
        except redis.RedisError:  # broker away: try again next round (an entry taken but not
            # queued is found again by the reaper's lost-message scan, redispatch_after_s)
            logging.getLogger(LOGGER_NAME).warning("delayed-job mover: broker unreachable")
