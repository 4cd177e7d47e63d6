"""Bundled adapter for RQ (``jobforge score --framework rq --app settings``).

``--app`` names the user's Redis the way RQ users do (:mod:`.rq_settings`): a Redis URL or the
``rq worker -c`` settings module. The kit's probe jobs run on that Redis under queues of its own
(``jobforge-<run>`` and ``jobforge-<run>-high``, JSON-serialized), so none of the user's queues,
jobs or registries is touched. Workers are ``rq worker --with-scheduler`` processes listening on
both kit queues, high first; each job runs in RQ's forked work-horse (its own process group),
which ``worker_pids`` reports with the scheduler process.

What is declared is what RQ offers, at RQ's granularity:

* retries: ``Retry(max=..., interval=[1, 2, 4])``: whole-second intervals, no jitter, promoted
  by the scheduler of one worker once a second from whole-second due times (``truncates``);
  every exception is retried (RQ has no error classes), so a dead letter's kind is
  ``transient`` (or ``timeout``);
* timeouts: ``job_timeout`` in whole seconds (the work-horse's SIGALRM);
* dead letters and replay: the failed-job registry and its ``requeue``;
* progress: ``job.meta['progress']``; delayed jobs: ``enqueue_in``; priorities: queue order;
* RQ 3: per-type limits (``RateLimit(key, concurrency)``) and unique jobs (``unique=True``
  with a job id derived from the unique key; a refused duplicate returns the first job's id);
* faults: SIGKILL leaves the job in the started registry (RQ's documented behaviour), and a
  worker started right after its scheduler holder died waits for RQ's scheduler lock to expire.

Not offered by RQ and not declared: idempotency keys, alerts, structured logs, metrics,
health, global caps, starts-per-second limits, checkpoints, its own tests. RQ's cron scheduler
is not driven by this adapter (the scheduling checks other than delayed jobs are unsupported).
"""

from __future__ import annotations

import hashlib
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from rq import Queue, Retry
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job
from rq.job import JobStatus as RqStatus
from rq.registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from rq.serializers import JSONSerializer

try:  # RQ >= 3
    from rq.exceptions import DuplicateJobError
    from rq.rate_limit import RateLimit

    _DUPLICATE: tuple[type[Exception], ...] = (DuplicateJobError,)
except ImportError:  # pragma: no cover - RQ 2
    RateLimit = None  # type: ignore[assignment,misc]
    _DUPLICATE = ()

from .. import probes
from ..adapter import (
    Capability,
    DeadLetter,
    Description,
    JitterModel,
    JobInfo,
    JobSpec,
    JobStatus,
    JSONObject,
    JSONValue,
    RunContext,
    ScheduleEntry,
    Timing,
    TimingFacts,
)
from ..history import LEDGER_ENV, RUN_ID_ENV
from ..probes import WORKER_ENV
from .rq_probe import ATTEMPTS_META, PROGRESS_META, probe_job
from .rq_settings import RqSettings, read_settings
from .settings import KitSettings
from .workers import WorkerCommand, WorkerSet

#: RQ's retry intervals and job timeouts are whole seconds; its scheduler polls once a second.
RQ_FACTS = TimingFacts(jitter=JitterModel.NONE, resolution_s=1.0, truncates=True)
#: RQ 3 adds per-key concurrency limits (``RateLimit``) and unique job ids (``unique=True``).
RQ3 = RateLimit is not None
#: The probe job types RQ can carry (no starts-per-second limits or cron here).
PROBE_TYPES = (
    probes.PROBE_DEFAULT,
    probes.PROBE_PRIORITY,
    probes.PROBE_LONG,
    *((probes.PROBE_LIMITED, probes.PROBE_UNIQUE) if RQ3 else ()),
)
CAPABILITIES = frozenset(
    {
        *((Capability.PER_TYPE_LIMITS, Capability.UNIQUE_JOBS) if RQ3 else ()),
        Capability.RETRIES,
        Capability.BACKOFF,
        Capability.DEAD_LETTER,
        Capability.REPLAY,
        Capability.TIMEOUTS,
        Capability.PROGRESS,
        Capability.PRIORITIES,
        Capability.DELAYED_JOBS,
        Capability.MULTIPLE_WORKERS,
        Capability.KILL_WORKER,
        Capability.GRACEFUL_SHUTDOWN,
    }
)
_READY = "Listening on"
_SCHEDULER_LOCK = "rq:scheduler-lock:{queue}"
_SCHEDULER_HASH = "rq:scheduler:{name}"
#: RQ's set of the workers listening on a queue (killed ones stay until RQ cleans them).
_QUEUE_WORKERS = "rq:workers:{queue}"
#: RQ 3's keys of a rate-limit key (its config hash and two sorted sets) and their index.
_RATE_LIMIT = "rq:rl:{key}{part}"
_RL_PARTS = ("", ":allowed", ":rate_limited")
_RATE_LIMIT_KEYS = "rq:rl-keys"
#: Jobs and results of the kit are kept this long, well past a run.
_TTL_S = 3600


def whole_seconds(value: float) -> int:
    """RQ's unit: at least one whole second, rounded up."""
    return max(1, math.ceil(value - 1e-9))


def rq_delays(max_attempts: int) -> tuple[float, ...]:
    """RQ retry intervals: doubling whole seconds from 1 s, one per retry."""
    return tuple(float(2**i) for i in range(max(max_attempts - 1, 0)))


def job_catalogue(timing: Timing) -> tuple[JobSpec, ...]:
    """Return the kit's probe types RQ carries, at RQ's whole-second scale."""
    specs = []
    for spec in probes.probe_catalogue(timing):
        if spec.name not in PROBE_TYPES:
            continue
        specs.append(
            replace(
                spec,
                backoff_delays_s=rq_delays(spec.max_attempts),
                timeout_s=float(whole_seconds(spec.timeout_s or timing.timeout_s)),
                timing_facts=RQ_FACTS,
            )
        )
    return tuple(specs)


def _status(job: Job) -> JobStatus:
    status = job.get_status(refresh=False)
    tried = int(job.meta.get(ATTEMPTS_META, 0)) > 0
    if status == RqStatus.FINISHED:
        return JobStatus.COMPLETED
    if status in (RqStatus.FAILED, RqStatus.STOPPED, RqStatus.CANCELED):
        return JobStatus.DEAD
    if status == RqStatus.STARTED:
        return JobStatus.RUNNING
    return JobStatus.RETRYING if tried else JobStatus.PENDING


def _last_error(job: Job) -> str:
    result = job.latest_result()
    text = (result.exc_string if result is not None else None) or job.exc_info or ""
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _unique_id(queue: str, key: str) -> str:
    return "jobforge-unique-" + hashlib.sha256(f"{queue}:{key}".encode()).hexdigest()[:32]


def _text(raw: bytes | str) -> str:
    return raw.decode() if isinstance(raw, bytes) else raw


def _error_of(job: Job, status: JobStatus) -> str | None:
    if status is JobStatus.DEAD:
        return _last_error(job)
    if status is JobStatus.RUNNING:
        return f"in RQ's started registry, claimed by worker {job.worker_name or 'unknown'}"
    return None


class RqAdapter:
    """The kit's view of RQ on the user's Redis."""

    def __init__(self, settings: RqSettings, *, search: Path) -> None:
        """Drive RQ on ``settings.redis_url``; the user's code is importable from ``search``."""
        self.settings = settings
        self.search = search
        self.redis = redis.Redis.from_url(settings.redis_url)
        self._ctx: RunContext | None = None
        self._workers: WorkerSet | None = None
        self._queues: tuple[Queue, Queue] | None = None
        self._specs: dict[str, JobSpec] = {}
        self._jobs: set[str] = set()

    # description ---------------------------------------------------------------------------

    def describe(self) -> Description:
        """RQ as the kit sees it: what RQ offers, at its whole-second granularity."""
        import rq

        timing = self._ctx.timing if self._ctx else Timing()
        return Description(
            name=f"rq app ({self.settings.source})",
            version=rq.__version__,
            backend="redis+rq",
            capabilities=CAPABILITIES,
            jobs=job_catalogue(timing),
            worker_concurrency=1,  # one work-horse at a time per `rq worker`
            real_broker=True,
        )

    # lifecycle -----------------------------------------------------------------------------

    def setup(self, ctx: RunContext) -> None:
        """Name the kit's queues for this run and prepare the worker environment."""
        self._ctx = ctx
        ctx.workdir.mkdir(parents=True, exist_ok=True)
        self.redis.ping()
        base = f"jobforge-{ctx.run_id}"
        self._queues = (
            Queue(f"{base}-high", connection=self.redis, serializer=JSONSerializer),
            Queue(base, connection=self.redis, serializer=JSONSerializer),
        )
        self._specs = {spec.name: spec for spec in job_catalogue(ctx.timing)}
        os.environ.update({LEDGER_ENV: str(ctx.ledger_path), RUN_ID_ENV: ctx.run_id})
        kit = KitSettings(
            framework="rq",
            app=self.settings.source,
            search=self.search,
            prefix=base,
            timing=ctx.timing,
        )
        env = {**kit.to_env(), LEDGER_ENV: str(ctx.ledger_path), RUN_ID_ENV: ctx.run_id}

        def command(worker: str) -> WorkerCommand:
            return WorkerCommand(
                argv=(
                    sys.executable,
                    "-m",
                    "rq.cli",
                    "worker",
                    "--url",
                    self.settings.redis_url,
                    "--name",
                    f"{base}-{worker}",
                    "--with-scheduler",
                    "--serializer",
                    "rq.serializers.JSONSerializer",
                    *(q.name for q in self.queues),
                ),
                env={**env, WORKER_ENV: worker},
                ready_marker=_READY,
                cwd=self.search,
            )

        self._workers = WorkerSet(logs=ctx.workdir, command_for=command)

    @property
    def queues(self) -> tuple[Queue, Queue]:
        """The kit's queues: high priority first."""
        if self._queues is None:
            raise RuntimeError("RqAdapter.setup(ctx) was not called")
        return self._queues

    @property
    def workers(self) -> WorkerSet:
        """The run's ``rq worker`` processes."""
        if self._workers is None:
            raise RuntimeError("RqAdapter.setup(ctx) was not called")
        return self._workers

    @property
    def grace_s(self) -> float:
        """The run's grace period of a graceful stop."""
        return (self._ctx.timing if self._ctx else Timing()).grace_s

    def reset(self) -> None:
        """Delete every job of the kit's queues and registries; nothing of the user's."""
        for queue in self.queues:
            queue.empty()  # type: ignore[no-untyped-call]
            registries: list[Any] = [
                StartedJobRegistry(queue=queue),
                FinishedJobRegistry(queue=queue),
                FailedJobRegistry(queue=queue),
                ScheduledJobRegistry(queue=queue),  # type: ignore[no-untyped-call]
                DeferredJobRegistry(queue=queue),
                CanceledJobRegistry(queue=queue),
            ]
            for registry in registries:
                self._jobs.update(str(j) for j in registry.get_job_ids(cleanup=False))
                self.redis.delete(registry.key)
        for job_id in self._jobs:
            try:
                Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer).delete()
            except NoSuchJobError:
                continue
        self._jobs.clear()

    def teardown(self) -> None:
        """Stop every worker and delete the kit's keys."""
        if self._workers is not None:
            self._workers.stop_all(grace_s=5.0)
        if self._queues is not None:
            self.reset()
            for queue in self._queues:
                queue.delete(delete_jobs=True)
                lock, listeners = (
                    k.format(queue=queue.name) for k in (_SCHEDULER_LOCK, _QUEUE_WORKERS)
                )
                self.redis.delete(lock, listeners)
                limited = f"{queue.name}:{probes.PROBE_LIMITED}"
                self.redis.delete(*(_RATE_LIMIT.format(key=limited, part=p) for p in _RL_PARTS))
                self.redis.srem(_RATE_LIMIT_KEYS, limited)

    # workers -------------------------------------------------------------------------------

    def _worker_of_scheduler(self, holder: bytes | str) -> str | None:
        """Return the live worker whose process tree runs the scheduler named ``holder``."""
        pid = self.redis.hget(_SCHEDULER_HASH.format(name=_text(holder)), "pid")
        if pid is None:
            return None
        for worker in self.workers.running:
            if int(pid) in self.workers.pids(worker):
                return worker
        return None

    def scheduler_worker(self) -> str | None:
        """Return the worker whose scheduler holds RQ's lock of the kit's queue, if any."""
        holder = self.redis.get(_SCHEDULER_LOCK.format(queue=self.queues[1].name))
        return None if holder is None else self._worker_of_scheduler(holder)

    def _await_scheduler_lock(self) -> None:
        """Wait (bounded by its TTL) for a scheduler lock left by a worker that died.

        A new RQ worker takes the scheduler role only when it starts; started while a dead
        worker's lock is still alive, no worker would promote retries or delayed jobs.
        """
        for queue in self.queues:
            key = _SCHEDULER_LOCK.format(queue=queue.name)
            holder = self.redis.get(key)
            if holder is None or self._worker_of_scheduler(holder) is not None:
                continue
            deadline = time.monotonic() + max(self.redis.pttl(key), 0) / 1000 + 2.0
            while self.redis.exists(key) and time.monotonic() < deadline:
                time.sleep(0.2)

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` ``rq worker --with-scheduler`` processes; return once they listen."""
        if not self.workers.running:
            self._await_scheduler_lock()
        return self.workers.start(count)

    def worker_pids(self, worker: str) -> list[int]:
        """Return the ``rq worker`` process, its work-horse (own group) and its scheduler."""
        return list(self.workers.pids(worker))

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """SIGTERM (RQ's warm shutdown: the current job finishes), or SIGKILL at once."""
        self.workers.stop(worker, graceful=graceful, grace_s=self.grace_s)

    def kill_worker(self, worker: str) -> None:
        """SIGKILL the worker's whole process tree (reaps it after the kit's own kill)."""
        self.workers.stop(worker, graceful=False, grace_s=0.0)

    # jobs ----------------------------------------------------------------------------------

    def _spec(self, job_type: str) -> JobSpec:
        try:
            return self._specs[job_type]
        except KeyError:
            known = ", ".join(sorted(self._specs))
            raise KeyError(f"job type {job_type!r} is not carried on RQ; known: {known}") from None

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Enqueue the probe with RQ's own options (RQ has no idempotency key; it is ignored)."""
        spec = self._spec(job_type)
        queue = self.queues[0] if priority is not None and priority > 0 else self.queues[1]
        retry = (
            Retry(max=spec.max_attempts - 1, interval=[int(d) for d in spec.backoff_delays_s])
            if spec.max_attempts > 1
            else None
        )
        options: dict[str, Any] = {
            "job_timeout": whole_seconds(spec.timeout_s or 1.0),
            "retry": retry,
            "result_ttl": _TTL_S,
            "failure_ttl": _TTL_S,
            "meta": {"job_type": job_type},
        }
        if spec.concurrency_limit is not None and RateLimit is not None:
            options["rate_limit"] = RateLimit(
                key=f"{self.queues[1].name}:{job_type}", concurrency=spec.concurrency_limit
            )
        if spec.unique:
            # RQ's unique jobs: one job id per unique key; a second enqueue is refused while
            # the first job exists, and the kit is given the first job's id.
            key = str(payload.get("unique_key") or payload.get("probe_id"))
            options |= {"job_id": _unique_id(queue.name, key), "unique": True}
        try:
            if delay_s > 0:
                delay = timedelta(seconds=delay_s)
                job = queue.enqueue_in(delay, probe_job, dict(payload), **options)
            else:
                job = queue.enqueue(probe_job, dict(payload), **options)
        except _DUPLICATE:
            return str(options["job_id"])
        self._jobs.add(str(job.id))
        return str(job.id)

    def _fetch(self, job_id: str) -> Job:
        try:
            return Job.fetch(job_id, connection=self.redis, serializer=JSONSerializer)
        except NoSuchJobError:
            raise KeyError(f"no RQ job {job_id!r} (expired or never enqueued)") from None

    def inspect(self, job_id: str) -> JobInfo:
        """RQ's job status, with the attempts and progress the probe keeps in ``job.meta``."""
        job = self._fetch(job_id)
        status = _status(job)
        progress = job.meta.get(PROGRESS_META)
        return JobInfo(
            job_id=job_id,
            job_type=str(job.meta.get("job_type", "")),
            status=status,
            attempts=int(job.meta.get(ATTEMPTS_META, 0)),
            progress=float(progress) if isinstance(progress, int | float) else None,
            error=_error_of(job, status),
        )

    def dead_letters(self) -> Sequence[DeadLetter]:
        """List the failed-job registries of the kit's queues."""
        letters = []
        for queue in self.queues:
            for job_id in FailedJobRegistry(queue=queue).get_job_ids(cleanup=False):
                try:
                    job = self._fetch(str(job_id))
                except KeyError:
                    continue
                error = _last_error(job)
                payload = job.args[0] if job.args else {}
                ended = job.ended_at.timestamp() if job.ended_at else time.time()
                letters.append(
                    DeadLetter(
                        job_id=str(job.id),
                        job_type=str(job.meta.get("job_type", "")),
                        payload=payload if isinstance(payload, dict) else {},
                        attempts=int(job.meta.get(ATTEMPTS_META, 0)),
                        error=error,
                        # RQ retries every exception alike: it classifies none as permanent.
                        error_kind="timeout" if "JobTimeoutException" in error else "transient",
                        failed_at=ended,
                    )
                )
        return letters

    def replay(self, job_id: str) -> str:
        """``FailedJobRegistry.requeue``: the same job id runs again."""
        job = self._fetch(job_id)
        queue = Queue(job.origin, connection=self.redis, serializer=JSONSerializer)
        try:
            FailedJobRegistry(queue=queue).requeue(job_id)
        except InvalidJobOperation:
            raise KeyError(f"RQ job {job_id!r} is not in the failed-job registry") from None
        return job_id

    # not offered by RQ -----------------------------------------------------------------------

    def metrics(self) -> Mapping[str, float]:
        """RQ exports no metrics."""
        raise NotImplementedError("RQ exports no metrics (rq-exporter is a separate project)")

    def health(self) -> Mapping[str, JSONValue]:
        """RQ has no health endpoint."""
        raise NotImplementedError("RQ has no health endpoint")

    def logs(self) -> Sequence[JSONObject]:
        """RQ logs plain text lines."""
        raise NotImplementedError("RQ writes plain-text logs, not structured records")

    def alerts(self) -> Sequence[JSONObject]:
        """RQ raises no alerts."""
        raise NotImplementedError("RQ raises no alerts for failed jobs")

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """Recurring jobs (rq cron) are not driven by this adapter."""
        raise NotImplementedError("this adapter does not drive RQ's cron scheduler")

    def stop_scheduler(self, scheduler: str) -> None:
        """See :meth:`start_scheduler`."""
        raise NotImplementedError("this adapter does not drive RQ's cron scheduler")


def make_adapter(app: str, *, search: Path) -> RqAdapter:
    """Build the RQ adapter for ``--app`` (a Redis URL or an ``rq worker -c`` settings module)."""
    return RqAdapter(read_settings(app, search), search=search)
