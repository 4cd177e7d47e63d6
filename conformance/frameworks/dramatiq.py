"""Bundled adapter for Dramatiq (``jobforge score --framework dramatiq --app tasks``).

``--app`` is what you pass to the ``dramatiq`` CLI (:mod:`.dramatiq_app`). The kit declares its
probe actors (``jobforge.probe.*``) on the user's Redis broker under a queue of its own
(``jobforge-<run>``), so none of the user's queues or messages is touched. Workers are
``dramatiq <app> jobforge.conformance.frameworks.dramatiq_probe --queues <kit queue>`` processes
(one worker process of two threads each, plus Dramatiq's main process).

What is declared is what the app's middleware offers:

* Retries: ``max_retries``, exponential backoff from ``min_backoff`` capped at ``max_backoff``,
  each delay stretched by a random 1..2x (declared as equal jitter of the stretched top), at
  2, 4, 8 s so that each step is at least the worker's 1 s poll tick;
  exceptions listed in ``throws`` are not retried (the kit's permanent error);
* TimeLimit: ``time_limit`` checked every ``interval`` (the tick of a timeout);
* the dead-letter queue (``<queue>.XQ``): the message as it was last enqueued (no error for
  an exception in ``throws``), attempts from its ``retries`` option;
* delayed messages (``delay=``), fetched on the worker's idle poll (``dramatiq_worker_timeout``);
* messages are acked after processing; a SIGKILLed worker's messages stay unacked until
  another worker's maintenance finds its heartbeat older than ``heartbeat_timeout``.

Not offered: idempotency keys, replay, alerts (Callbacks fire per failed attempt), logs,
metrics, health, priorities on Redis, unique jobs, checkpoints, progress, its own tests.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dramatiq

from ..adapter import (
    DeadLetter,
    Description,
    JobInfo,
    JobSpec,
    JobStatus,
    JSONObject,
    JSONValue,
    RunContext,
    ScheduleEntry,
    Timing,
)
from ..history import LEDGER_ENV, RUN_ID_ENV
from ..probes import WORKER_ENV
from .dramatiq_app import DramatiqConfig, load_config
from .dramatiq_probe import declare, withdraw
from .settings import KitSettings
from .workers import WorkerCommand, WorkerSet

_READY = "Worker process is ready for action"
#: How long one view of the kit's queue serves ``inspect`` calls.
_SNAPSHOT_S = 0.05


@dataclass(frozen=True)
class _Seen:
    """Where one message is in Redis."""

    where: str  # queue | delayed | dead | running
    message: dramatiq.Message[Any]
    at: float = 0.0  # dead: when it was dead-lettered


class DramatiqAdapter:
    """The kit's view of Dramatiq on the user's Redis broker."""

    def __init__(self, config: DramatiqConfig, *, search: Path) -> None:
        """Drive Dramatiq on the broker of ``config``; the app is importable from ``search``."""
        self.config = config
        self.search = search
        self.redis = config.broker.client
        self._ctx: RunContext | None = None
        self._workers: WorkerSet | None = None
        self._queue = ""
        self._specs: dict[str, JobSpec] = {}
        self._actors: dict[str, dramatiq.Actor[Any, Any]] = {}
        self._sent: dict[str, str] = {}  # message id -> job type
        self._retries: dict[str, int] = {}  # most failed attempts seen per message id
        self._view: tuple[float, dict[str, _Seen]] = (0.0, {})

    # description ---------------------------------------------------------------------------

    def describe(self) -> Description:
        """Dramatiq as the kit sees it."""
        timing = self._ctx.timing if self._ctx else Timing()
        return Description(
            name=f"dramatiq app ({self.config.app})",
            version=dramatiq.__version__,
            backend="redis+dramatiq",
            capabilities=self.config.capabilities(),
            jobs=self.config.job_catalogue(timing),
            worker_concurrency=2,  # --processes 1 --threads 2
            real_broker=True,
        )

    # lifecycle -----------------------------------------------------------------------------

    def setup(self, ctx: RunContext) -> None:
        """Declare the kit's actors on the user's broker under the run's queue."""
        self._ctx = ctx
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        self.redis.ping()
        self._queue = f"jobforge-{ctx.run_id}"
        specs = self.config.job_catalogue(ctx.timing)
        self._specs = {spec.name: spec for spec in specs}
        self._actors = declare(self.config, self._queue, specs)
        os.environ.update({LEDGER_ENV: str(ctx.ledger_path), RUN_ID_ENV: ctx.run_id})
        kit = KitSettings(
            framework="dramatiq",
            app=self.config.app,
            search=self.search,
            prefix=self._queue,
            timing=ctx.timing,
        )
        env = {**kit.to_env(), LEDGER_ENV: str(ctx.ledger_path), RUN_ID_ENV: ctx.run_id}

        def command(worker: str) -> WorkerCommand:
            return WorkerCommand(
                argv=(
                    sys.executable,
                    "-m",
                    "dramatiq",
                    self.config.app,
                    "jobforge.conformance.frameworks.dramatiq_probe",
                    "--processes",
                    "1",
                    "--threads",
                    "2",
                    "--queues",
                    self._queue,
                    "--path",
                    str(self.search),
                ),
                env={**env, WORKER_ENV: worker},
                ready_marker=_READY,
                cwd=self.search,
            )

        self._workers = WorkerSet(logs=ctx.workdir, command_for=command)

    @property
    def workers(self) -> WorkerSet:
        """The run's ``dramatiq`` processes."""
        if self._workers is None:
            raise RuntimeError("DramatiqAdapter.setup(ctx) was not called")
        return self._workers

    @property
    def grace_s(self) -> float:
        """The run's grace period of a graceful stop."""
        return (self._ctx.timing if self._ctx else Timing()).grace_s

    def _key(self, suffix: str = "") -> str:
        return f"{self.config.namespace}:{self._queue}{suffix}"

    def _ack_keys(self) -> list[str]:
        pattern = f"{self.config.namespace}:__acks__.*.{self._queue}*"
        return [_text(key) for key in self.redis.scan_iter(pattern)]

    def reset(self) -> None:
        """Delete the kit's queue, delay queue, dead letters and unacked sets."""
        keys = [self._key(s) for s in ("", ".msgs", ".DQ", ".DQ.msgs", ".XQ", ".XQ.msgs")]
        self.redis.delete(*keys, *self._ack_keys())
        self._sent.clear()
        self._retries.clear()
        self._view = (0.0, {})

    def teardown(self) -> None:
        """Stop every worker and delete the kit's keys."""
        if self._workers is not None:
            self._workers.stop_all(grace_s=5.0)
        if self._queue:
            self.reset()
            withdraw(self.config, self._queue)

    # workers -------------------------------------------------------------------------------

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` ``dramatiq`` CLI processes on the kit's queue; return when ready."""
        return self.workers.start(count)

    def worker_pids(self, worker: str) -> list[int]:
        """Dramatiq's main process and its worker processes."""
        return list(self.workers.pids(worker))

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """SIGTERM (Dramatiq finishes in-flight messages, requeues prefetched ones) or SIGKILL."""
        self.workers.stop(worker, graceful=graceful, grace_s=self.grace_s)

    def kill_worker(self, worker: str) -> None:
        """SIGKILL the worker's whole process tree (reaps it after the kit's own kill)."""
        self.workers.stop(worker, graceful=False, grace_s=0.0)

    # jobs ----------------------------------------------------------------------------------

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """``actor.send_with_options`` (Dramatiq has no idempotency key; it is ignored)."""
        actor = self._actors.get(job_type)
        if actor is None:
            known = ", ".join(sorted(self._actors))
            raise KeyError(f"job type {job_type!r} is not carried on Dramatiq; known: {known}")
        delay = round(delay_s * 1000) if delay_s > 0 else None
        message = actor.send_with_options(args=(dict(payload),), delay=delay)
        self._sent[message.message_id] = job_type
        return str(message.message_id)

    def _decode(self, raw: Mapping[bytes, bytes]) -> list[dramatiq.Message[Any]]:
        return [dramatiq.Message.decode(data) for data in raw.values()]

    def _snapshot(self) -> dict[str, _Seen]:
        taken, view = self._view
        if time.monotonic() - taken < _SNAPSHOT_S:
            return view
        # One MULTI/EXEC: a message acked between two separate reads would look queued again.
        ack_keys = [key for key in self._ack_keys() if not key.endswith(".DQ")]
        pipe = self.redis.pipeline(transaction=True)
        pipe.hgetall(self._key(".msgs"))
        pipe.hgetall(self._key(".DQ.msgs"))
        pipe.hgetall(self._key(".XQ.msgs"))
        pipe.zrange(self._key(".XQ"), 0, -1, withscores=True)
        for key in ack_keys:
            pipe.smembers(key)
        queued, delayed, dead, dead_at, *unacked = pipe.execute()
        acked = {_text(member) for members in unacked for member in members}
        scores = {_text(k): score / 1000 for k, score in dead_at}
        seen: dict[str, _Seen] = {}
        for redis_id, data in queued.items():
            message = dramatiq.Message.decode(data)
            where = "running" if _text(redis_id) in acked else "queue"
            if seen.get(message.message_id, _Seen("queue", message)).where != "running":
                seen[message.message_id] = _Seen(where, message)
        for message in self._decode(delayed):
            if message.message_id not in seen or seen[message.message_id].where == "queue":
                seen[message.message_id] = _Seen("delayed", message)
        for redis_id, data in dead.items():
            message = dramatiq.Message.decode(data)
            at = scores.get(_text(redis_id), time.time())
            seen[message.message_id] = _Seen("dead", message, at)
        self._view = (time.monotonic(), seen)
        return seen

    def inspect(self, job_id: str) -> JobInfo:
        """Where the message is in Redis: queued, delayed, unacked (running), dead, or gone."""
        if job_id not in self._sent:
            raise KeyError(f"no Dramatiq message {job_id!r} sent by the kit since the last reset")
        found = self._snapshot().get(job_id)
        if found is None:  # acked after its successful attempt: Dramatiq deletes it
            return JobInfo(
                job_id=job_id,
                job_type=self._sent[job_id],
                status=JobStatus.COMPLETED,
                attempts=self._retries.get(job_id, 0) + 1,
            )
        retries = int(found.message.options.get("retries", 0))  # failed attempts so far
        attempts = retries + 1 if found.where in ("running", "dead") else retries
        self._retries[job_id] = max(retries, self._retries.get(job_id, 0))
        status = {
            "running": JobStatus.RUNNING,
            "dead": JobStatus.DEAD,
        }.get(found.where, JobStatus.RETRYING if retries else JobStatus.PENDING)
        return JobInfo(
            job_id=job_id,
            job_type=self._sent[job_id],
            status=status,
            attempts=attempts,
            error=self._error_of(found, status),
        )

    def _error_of(self, found: _Seen, status: JobStatus) -> str | None:
        if status is JobStatus.DEAD:
            return _last_line(found.message)
        if status is JobStatus.RUNNING:
            return (
                "fetched by a Dramatiq worker and not acked; Dramatiq requeues a dead worker's "
                f"unacked messages once its heartbeat is {self.config.heartbeat_timeout_ms} ms old"
            )
        return None

    def dead_letters(self) -> Sequence[DeadLetter]:
        """List the kit queue's dead-letter queue (``.XQ``), as Dramatiq keeps it."""
        self._view = (0.0, {})
        letters = []
        for job_id, seen in self._snapshot().items():
            if seen.where != "dead":
                continue
            retries = int(seen.message.options.get("retries", 0))
            job_type = self._sent.get(job_id, str(seen.message.actor_name))
            error = _last_line(seen.message)
            limit = self._specs[job_type].max_attempts - 1 if job_type in self._specs else 0
            letters.append(
                DeadLetter(
                    job_id=job_id,
                    job_type=job_type,
                    payload=seen.message.args[0] if seen.message.args else {},
                    attempts=retries + 1,
                    error=error,
                    error_kind=_kind(retries, limit, error),
                    failed_at=seen.at,
                )
            )
        return letters

    def replay(self, job_id: str) -> str:
        """Dramatiq has no replay of dead-lettered messages."""
        raise NotImplementedError("Dramatiq offers no replay of its dead-letter queue")

    # not offered by Dramatiq -----------------------------------------------------------------

    def metrics(self) -> Mapping[str, float]:
        """Not declared (Dramatiq's Prometheus middleware is not read by this adapter)."""
        raise NotImplementedError("this adapter does not read Dramatiq's Prometheus middleware")

    def health(self) -> Mapping[str, JSONValue]:
        """Dramatiq has no health endpoint."""
        raise NotImplementedError("Dramatiq has no health endpoint")

    def logs(self) -> Sequence[JSONObject]:
        """Dramatiq logs plain text lines."""
        raise NotImplementedError("Dramatiq writes plain-text logs, not structured records")

    def alerts(self) -> Sequence[JSONObject]:
        """Dramatiq raises no alerts for dead messages."""
        raise NotImplementedError("Dramatiq raises no alerts for dead-lettered messages")

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """Dramatiq has no scheduler of its own."""
        raise NotImplementedError("Dramatiq has no periodic scheduler (APScheduler is separate)")

    def stop_scheduler(self, scheduler: str) -> None:
        """See :meth:`start_scheduler`."""
        raise NotImplementedError("Dramatiq has no periodic scheduler")


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _last_line(message: dramatiq.Message[Any]) -> str:
    text = str(message.options.get("traceback") or "")
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _kind(retries: int, limit: int, error: str) -> str:
    """Dramatiq dead-letters a message early only for an exception in ``throws``."""
    if retries < limit:
        return "permanent"
    return "timeout" if "TimeLimitExceeded" in error else "transient"


def make_adapter(app: str, *, search: Path) -> DramatiqAdapter:
    """Build the Dramatiq adapter for ``--app`` (what you pass to the ``dramatiq`` CLI)."""
    return DramatiqAdapter(load_config(app, search), search=search)
