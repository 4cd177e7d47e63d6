"""The job system: submission, claiming, settling attempts, dead letters and replay.

:class:`JobSystem` ties the store, limits, retry policy, idempotency and observability together.
Workers (:mod:`.worker`) and schedulers (:mod:`.scheduler`) drive it; the adapter translates the
kit's calls into it. Everything hangs off one instance: there is no module-level state.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence

from jobforge.errors import UsageError

from ..adapter import (
    DeadLetter,
    JobInfo,
    JobSpec,
    JSONObject,
)
from .config import Behaviour
from .context import Abandon, AttemptControl, JobContext
from .deadletter import DeadLetterQueue
from .hooks import JobHooks, NoHooks
from .idempotency import EffectGuard, IdempotencyIndex
from .limits import Limits, UniqueIndex
from .observability import AlertSink, LogSink, Metrics
from .payloads import canonical, validate_payload
from .queue import JobStore
from .records import TERMINAL, AttemptResult, Claim, ErrorKind, JobRecord
from .retry import ByType, Classifier, RetryPolicy
from .settle import Settler
from .timeouts import Supervision, run_attempt

#: A job body: takes the payload and the attempt's context; raises to fail the attempt.
Handler = Callable[[JSONObject, JobContext], object]


class JobSystem:
    """An in-process job system with leases, retries, dead letters and idempotency."""

    def __init__(
        self,
        *,
        catalogue: Sequence[JobSpec],
        handler: Handler,
        behaviour: Behaviour | None = None,
        lease_s: float = 2.0,
        jitter_ratio: float = 0.1,
        global_cap: int | None = None,
        classify: Classifier | None = None,
        hooks: JobHooks | None = None,
    ) -> None:
        self.behaviour = behaviour or Behaviour()
        self.hooks: JobHooks = hooks or NoHooks()
        self._catalogue: dict[str, JobSpec] = {spec.name: spec for spec in catalogue}
        self._handler = handler
        self.lease_s = lease_s
        self._classify: Classifier = classify or ByType()
        self._policy = RetryPolicy(
            jitter_ratio=jitter_ratio,
            extra_attempts=self.behaviour.extra_attempts,
            retry_permanent=self.behaviour.retry_permanent,
            apply_backoff=self.behaviour.apply_backoff,
        )
        self.limits = Limits(global_cap=global_cap, enforce_caps=self.behaviour.enforce_caps)
        self.store = JobStore(self.limits)
        self.dead = DeadLetterQueue(keep=self.behaviour.keep_dead_letters)
        self.keys = IdempotencyIndex(dedupe=self.behaviour.dedupe_idempotency_keys)
        self.effects = EffectGuard(enabled=self.behaviour.guard_effects)
        self.unique = UniqueIndex()
        self.metrics = Metrics()
        self.log = LogSink()
        self.alerts = AlertSink()
        self._settler = Settler(
            store=self.store,
            policy=self._policy,
            behaviour=self.behaviour,
            metrics=self.metrics,
            log=self.log,
            alerts=self.alerts,
            dead=self.dead,
            unique=self.unique,
            hooks=self.hooks,
        )
        self._prefix = uuid.uuid4().hex[:6]
        self._ids = itertools.count(1)
        self._seq = itertools.count(1)
        self._id_lock = threading.Lock()
        self._live_lock = threading.Lock()
        self._live: set[AttemptControl] = set()  # controls of attempts in flight
        # Held by claim, settle and clear, so a reset never interleaves with a state change:
        # nothing from before a reset leaks into the counters or records after it.
        self._state_lock = threading.RLock()
        self.started_at = time.time()
        self.hooks.store_opened("in-process", real=False)

    # -- catalogue -----------------------------------------------------------------------------

    @property
    def catalogue(self) -> Mapping[str, JobSpec]:
        """Job type name -> spec."""
        return dict(self._catalogue)

    def spec(self, job_type: str) -> JobSpec:
        """Return the spec of ``job_type``; raise UsageError naming the known types."""
        try:
            return self._catalogue[job_type]
        except KeyError:
            known = ", ".join(sorted(self._catalogue))
            raise UsageError(
                f"job type {job_type!r} is not in the catalogue; submit one of: {known}"
            ) from None

    def _new_id(self) -> str:
        with self._id_lock:
            return f"{self._prefix}-{next(self._ids)}"

    # -- submission ----------------------------------------------------------------------------

    def submit(
        self,
        job_type: str,
        payload: object,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
        scope: str | None = None,
        replay_of: str | None = None,
    ) -> str:
        """Enqueue a job and return its id; a duplicate key or live unique job returns the first.

        ``scope`` (used by replay) keeps the idempotency scope of an earlier job.
        """
        spec = self.spec(job_type)
        body = validate_payload(payload)
        if delay_s < 0:
            raise UsageError(f"delay_s is {delay_s!r}; pass 0 or a positive number of seconds")
        with self._state_lock:
            return self._enqueue(
                spec,
                body,
                idempotency_key=idempotency_key,
                delay_s=delay_s,
                priority=priority,
                scope=scope,
                replay_of=replay_of,
            )

    def _enqueue(
        self,
        spec: JobSpec,
        body: JSONObject,
        *,
        idempotency_key: str | None,
        delay_s: float,
        priority: int | None,
        scope: str | None,
        replay_of: str | None,
    ) -> str:
        job_type = spec.name
        job_id = self._new_id()
        if idempotency_key is not None:
            owner = self.keys.owner(idempotency_key)
            if owner is not None:
                self.log.emit(
                    "duplicate", job_id=owner, job_type=job_type, idempotency_key=idempotency_key
                )
                return owner
        unique_key: str | None = None
        if spec.unique:
            unique_key = _unique_key(body)
            holder = self.unique.reserve(job_type, unique_key, job_id)
            if holder != job_id:
                if idempotency_key is not None:
                    self.keys.remember(idempotency_key, holder)
                self.log.emit("duplicate", job_id=holder, job_type=job_type, unique_key=unique_key)
                return holder
        if idempotency_key is not None:
            self.keys.remember(idempotency_key, job_id)
        record = JobRecord(
            job_id=job_id,
            spec=spec,
            payload=body,
            priority=spec.priority if priority is None else priority,
            seq=next(self._seq),
            scope=scope or idempotency_key or job_id,
            unique_key=unique_key,
            ready_at=time.monotonic() + (delay_s if self.behaviour.honour_delays else 0.0),
            created_at=time.time(),
            replay_of=replay_of,
        )
        self.store.add(record)
        self.metrics.inc("jobs_enqueued_total")
        self.log.emit(
            "enqueued",
            job_id=job_id,
            job_type=job_type,
            attempt=0,
            delay_s=delay_s,
            priority=record.priority,
        )
        return job_id

    # -- claiming and running ------------------------------------------------------------------

    def claim(self, worker_id: str) -> Claim | None:
        """Recover expired leases, then lease the best claimable job to ``worker_id``."""
        if self.behaviour.recover_expired_leases:
            self.recover_expired_leases()
        with self._state_lock:
            claim = self.store.claim(worker_id, self.lease_s)
            if claim is not None:
                self.metrics.inc("jobs_started_total")
                self.log.emit(
                    "started",
                    job_id=claim.job.job_id,
                    job_type=claim.job.job_type,
                    attempt=claim.attempt,
                    worker=worker_id,
                )
            return claim

    def report_error(self, worker_id: str, error: BaseException) -> None:
        """Log an error a worker hit outside any job body (it keeps working)."""
        self.log.emit(
            "worker_error",
            level="error",
            worker=worker_id,
            error=f"{type(error).__name__}: {error}",
        )

    def idle(self) -> None:
        """Sleep until work may be claimable (bounded)."""
        self.store.wait_for_work()

    def recover_expired_leases(self) -> int:
        """Treat every job whose lease ran out as a lost attempt; return how many."""
        recovered = 0
        for job in self.store.expired_leases():
            claim = Claim(job=job, attempt=job.attempts)
            lost = AttemptResult(
                ok=False,
                kind=ErrorKind.LOST,
                error=f"worker {job.worker_id} stopped renewing its lease (presumed dead)",
            )
            if self._settle(claim, job.worker_id or "", lost, expired_only=True):
                self.limits.release(job.spec)
                self.store.notify()
                recovered += 1
        return recovered

    def execute(self, claim: Claim, worker_id: str, killed: Callable[[], bool]) -> None:
        """Run one claimed attempt to its end and settle it (unless the worker was killed)."""
        with self._live_lock:
            control = AttemptControl(killed)
            self._live.add(control)
        try:
            self._execute(claim, worker_id, killed, control)
        finally:
            with self._live_lock:
                self._live.discard(control)

    def _execute(
        self,
        claim: Claim,
        worker_id: str,
        killed: Callable[[], bool],
        control: AttemptControl,
    ) -> None:
        context = JobContext(self, claim, control, worker_id)
        handler = self._handler
        payload = claim.job.payload
        self.hooks.job_running(claim.job.job_type)
        supervision = Supervision(
            timeout_s=claim.job.spec.timeout_s if self.behaviour.enforce_timeouts else None,
            lease_s=self.lease_s,
            # Without renewal the attempt runs on, unaware that its lease lapsed.
            renew=lambda: (
                self.store.renew(claim.job.job_id, worker_id, claim.attempt, self.lease_s)
                if self.behaviour.renew_leases
                else True
            ),
            killed=killed,
        )
        result = run_attempt(
            lambda: handler(payload, context),
            control=control,
            supervision=supervision,
            classify=self._classify,
            thread_name=f"job-{claim.job.job_id}-attempt-{claim.attempt}",
        )
        if result is None:
            return  # killed: no ack, no more code for this job; the lease will expire
        with self._state_lock:
            if control.reason is Abandon.RESET:
                return  # the system was reset under this attempt: it no longer exists
            if self._settle(claim, worker_id, result):
                self.limits.release(claim.job.spec)
        self.store.notify()

    def _settle(
        self, claim: Claim, worker_id: str, result: AttemptResult, *, expired_only: bool = False
    ) -> bool:
        """Record how an attempt ended; False when the job is no longer this attempt's."""
        with self._state_lock:
            return self._settler.settle(claim, worker_id, result, expired_only=expired_only)

    # -- services for running attempts (JobServices) ------------------------------------------

    def claim_effect(self, claim: Claim, key: str) -> bool:
        """Return True the first time ``key`` is claimed in the job's idempotency scope."""
        granted = self.effects.claim(claim.job.scope, key)
        if not granted:
            self.log.emit(
                "effect_skipped",
                job_id=claim.job.job_id,
                job_type=claim.job.job_type,
                attempt=claim.attempt,
                effect=key,
            )
        return granted

    def set_progress(self, claim: Claim, fraction: float) -> None:
        """Publish progress where inspect() sees it (unless progress publishing is off)."""
        if not self.behaviour.publish_progress:
            return
        held = self.store.held_by(claim.job.worker_id or "", claim.attempt)
        self.store.update(claim.job.job_id, held, progress=fraction)

    def save_checkpoint(self, claim: Claim, state: JSONObject) -> None:
        """Persist a checkpoint (validated JSON) for later attempts of the job."""
        held = self.store.held_by(claim.job.worker_id or "", claim.attempt)
        self.store.update(claim.job.job_id, held, checkpoint=validate_payload(state))

    def load_checkpoint(self, claim: Claim) -> JSONObject | None:
        """Return the last checkpoint of the job, or None."""
        checkpoint = self.store.get(claim.job.job_id).checkpoint
        return None if checkpoint is None else dict(checkpoint)

    # -- queries and operations ----------------------------------------------------------------

    def inspect(self, job_id: str) -> JobInfo:
        """Return the current view of one job (never half-way through settling an attempt)."""
        with self._state_lock:  # a DEAD job's dead letter and alert are written in the same step
            return self.store.get(job_id).info()

    def dead_letters(self) -> list[DeadLetter]:
        """Return the dead-letter queue, oldest first."""
        with self._state_lock:
            return self.dead.list()

    def replay(self, job_id: str) -> str:
        """Re-enqueue a dead job as a new job keeping its idempotency scope; return the new id."""
        if not self.behaviour.allow_replay:
            raise NotImplementedError("this job system cannot replay dead jobs")
        letter = self.dead.take(job_id)
        if letter is None:
            raise UsageError(
                f"job {job_id!r} is not in the dead-letter queue; list it with dead_letters() "
                "(a job can be replayed once, after it is DEAD)"
            )
        old = self.store.get(job_id)
        try:
            new_id = self.submit(
                old.job_type,
                old.payload,
                scope=old.scope if self.behaviour.replay_keeps_scope else None,
                replay_of=job_id,
                priority=old.priority,
            )
        except Exception:
            self.dead.put_back(letter)
            raise
        self.log.emit("replayed", job_id=new_id, job_type=old.job_type, attempt=0, replay_of=job_id)
        return new_id

    def snapshot_metrics(self) -> dict[str, float]:
        """Counters plus the queue_depth and dlq_size gauges."""
        values = self.metrics.snapshot()
        values["queue_depth"] = float(self.store.depth())
        values["dlq_size"] = float(len(self.dead))
        values["jobs_running"] = float(self.limits.running())
        return values

    def is_finished(self, job_id: str) -> bool:
        """Whether ``job_id`` is COMPLETED or DEAD."""
        return self.store.get(job_id).status in TERMINAL

    def abandon_all(self) -> None:
        """Abandon every attempt in flight (reset, teardown)."""
        with self._live_lock:
            for control in self._live:
                control.abandon(Abandon.RESET)

    def clear(self) -> None:
        """Abandon attempts in flight; forget every job, key, effect, dead letter, count, log."""
        with self._state_lock:
            self._clear_locked()

    def _clear_locked(self) -> None:
        self.abandon_all()
        self.store.clear()
        self.limits.clear()
        self.dead.clear()
        self.keys.clear()
        self.effects.clear()
        self.unique.clear()
        self.metrics.clear()
        self.log.clear()
        self.alerts.clear()


def _unique_key(payload: JSONObject) -> str:
    """Return the unique key of a payload: its ``unique_key`` field, else all of it."""
    explicit = payload.get("unique_key")
    return explicit if isinstance(explicit, str) else canonical(payload)
