"""The adapter contract: how the conformance kit drives any job-queue implementation.

The kit says *what* to check; an adapter says *how* to do it on one implementation. An adapter is
a small class, written once per implementation, that satisfies :class:`Adapter`. The kit owns
isolation, timing, faults and verdicts; the adapter only translates.

Probe jobs: every implementation registers the kit's probe job types (see
:mod:`jobforge.conformance.probes`) in its own framework, with the policies it declares in
:meth:`Adapter.describe`. A probe job body calls :func:`jobforge.conformance.probes.run_probe`
with the payload it was given and a :class:`ProbeContext` the implementation provides; the probe
records every attempt, effect, checkpoint and outcome into the kit's history ledger.

Example (the shape of a real adapter; see ``jobforge.conformance.reference`` for a full one)::

    class MyAdapter:
        def describe(self) -> Description:
            return Description(name="myapp-jobs", version="1.2.0", backend="redis+celery",
                               capabilities=frozenset({"retries", "dead_letter", ...}),
                               jobs=(JobSpec(name="probe.default", kind="probe", ...), ...))
        def setup(self, ctx: RunContext) -> None:
            os.environ["JOBFORGE_LEDGER"] = str(ctx.ledger_path)  # workers inherit it
            ...
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeAlias, runtime_checkable

from jobforge.errors import UsageError

JSONValue: TypeAlias = "str | int | float | bool | list[JSONValue] | dict[str, JSONValue] | None"
JSONObject: TypeAlias = "dict[str, JSONValue]"


class Capability(enum.StrEnum):
    """Features an implementation may declare. Declaring earns nothing; passing the checks does."""

    IDEMPOTENCY_KEYS = "idempotency_keys"
    RETRIES = "retries"
    BACKOFF = "backoff"
    DEAD_LETTER = "dead_letter"
    REPLAY = "replay"
    ALERTS = "alerts"
    TIMEOUTS = "timeouts"
    CHECKPOINTS = "checkpoints"
    PROGRESS = "progress"
    STRUCTURED_LOGS = "structured_logs"
    METRICS = "metrics"
    HEALTH = "health"
    CONCURRENCY_LIMITS = "concurrency_limits"
    PER_TYPE_LIMITS = "per_type_limits"
    RATE_LIMITS = "rate_limits"
    UNIQUE_JOBS = "unique_jobs"
    PRIORITIES = "priorities"
    SCHEDULER = "scheduler"
    MULTI_SCHEDULER = "multi_scheduler"
    MISSED_RUN_POLICY = "missed_run_policy"
    DELAYED_JOBS = "delayed_jobs"
    MULTIPLE_WORKERS = "multiple_workers"
    KILL_WORKER = "kill_worker"
    GRACEFUL_SHUTDOWN = "graceful_shutdown"
    BROKER_RESTART = "broker_restart"
    OWN_TESTS = "own_tests"


class JobStatus(enum.StrEnum):
    """The job lifecycle: PENDING -> RUNNING -> COMPLETED, or FAILED -> RETRYING -> ... -> DEAD."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    RETRYING = "RETRYING"
    DEAD = "DEAD"


@dataclass(frozen=True, kw_only=True)
class Timing:
    """Scaled timings for a test run; production values are far too slow to test.

    The adapter configures its probe job types with these values in :meth:`Adapter.setup`.
    The production configuration is checked separately, statically.
    """

    backoff_base_s: float = (
        0.1  # first retry delay; retry i waits min(base * 2**i, cap), jitter allowed
    )
    backoff_cap_s: float = 0.4  # largest retry delay
    jitter_ratio: float = 0.25  # declared jitter may move a delay by at most this fraction
    max_attempts: int = 4  # total attempts (first run + retries) of probe.default
    timeout_s: float = 1.0  # per-attempt timeout of probe.default
    schedule_interval_s: float = 1.0  # interval of probe.scheduled
    lease_s: float = 2.0  # how long a crashed worker's job may stay claimed before recovery
    grace_s: float = 10.0  # a graceful stop: SIGTERM, then SIGKILL after this long (orchestrator)


class JitterModel(enum.StrEnum):
    """How an implementation randomizes a retry delay ``d`` it declares."""

    NONE = "none"  # exactly d
    RATIO = "ratio"  # d * (1 +/- jitter_ratio)
    FULL = "full"  # anywhere in [0, d] (Celery's default retry_jitter)
    EQUAL = "equal"  # d / 2 plus anywhere in [0, d / 2]


@dataclass(frozen=True, kw_only=True)
class TimingFacts:
    """How one job type is really timed, for implementations that cannot run at the kit's scale.

    The kit derives every timing tolerance from these facts
    (:mod:`jobforge.conformance.tolerance`): a framework is never failed for the granularity it
    declares, while missing backoff, constant delays where growing ones are declared and early
    delayed jobs are still caught. Declare the delays themselves in ``JobSpec.backoff_delays_s``
    (the delays the framework really uses, e.g. 1, 2, 4 s where it floors backoff at 1 s).
    """

    jitter: JitterModel = JitterModel.RATIO
    jitter_ratio: float | None = None  # RATIO only; None: the run's Timing.jitter_ratio
    resolution_s: float = 0.0  # clock tick of delayed work (Huey's scheduler: 1 s); 0: continuous
    truncates: bool = False  # due times truncated to the tick (RQ's whole seconds): may run early

    def __post_init__(self) -> None:
        if self.jitter_ratio is not None and not 0.0 <= self.jitter_ratio <= 1.0:
            raise UsageError(
                f"TimingFacts.jitter_ratio is {self.jitter_ratio!r}; give a fraction in 0..1 "
                "(0.25 means a delay may move by a quarter either way)"
            )
        if self.resolution_s < 0:
            raise UsageError(
                f"TimingFacts.resolution_s is {self.resolution_s!r}; give the tick in seconds "
                "(0 for a continuous clock)"
            )


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """One job type in the implementation's catalogue, with the policies it declares."""

    name: str  # the job type name submitted through the adapter, e.g. "probe.default"
    kind: str  # immediate | scheduled | long_running | event_driven | batch | probe
    queue: str = "default"  # queue it is routed to
    max_attempts: int = 1  # total attempts including the first run; 1 means no retry
    backoff_delays_s: tuple[float, ...] = ()  # delay before retry i is delays[min(i, len-1)]
    timeout_s: float | None = None  # per-attempt time limit; None declares no timeout
    concurrency_limit: int | None = None  # most attempts of this type running at once
    rate_limit_per_s: float | None = None  # most starts of this type in any one-second window
    unique: bool = False  # at most one job of this type with the same unique key at a time
    priority: int = 0  # higher runs first under backlog
    schedule_interval_s: float | None = None  # for scheduled job types at the run's scale
    overlap_policy: str | None = None  # skip | queue | allow, for scheduled job types
    missed_run_policy: str | None = None  # skip | run_once | run_all, for scheduled job types
    timing_facts: TimingFacts | None = None  # None: ratio jitter at the run's scale, exact clock


@dataclass(frozen=True, kw_only=True)
class Description:
    """What an implementation says about itself. Checks verify every claim."""

    name: str
    version: str
    backend: str  # e.g. "sqlite+huey", "redis+celery", "in-process"
    capabilities: frozenset[Capability]
    jobs: tuple[JobSpec, ...]
    worker_concurrency: int = 1  # slots per worker started by start_workers
    global_concurrency: int | None = None  # most attempts running at once across all workers
    test_command: tuple[str, ...] = ()  # the implementation's own test suite, run for `testing.*`
    test_cwd: Path | None = None  # where to run test_command
    real_broker: bool = False  # the backend is a real broker/store, not an in-memory stand-in

    def job(self, name: str) -> JobSpec:
        """Return the catalogue entry for ``name`` or raise KeyError naming the known types."""
        for spec in self.jobs:
            if spec.name == name:
                return spec
        known = ", ".join(sorted(s.name for s in self.jobs))
        raise KeyError(f"job type {name!r} is not in the catalogue; known: {known}")


@dataclass(frozen=True, kw_only=True)
class RunContext:
    """What the kit gives an adapter for one run."""

    ledger_path: Path  # the kit's history ledger (SQLite, WAL); probes write here from any process
    workdir: Path  # a private scratch directory for this run
    timing: Timing = field(default_factory=Timing)
    run_id: str = "run"  # unique per run; probes stamp it on every record


@dataclass(frozen=True, kw_only=True)
class JobInfo:
    """The implementation's view of one job, as :meth:`Adapter.inspect` reports it."""

    job_id: str
    job_type: str
    status: JobStatus
    attempts: int
    progress: float | None = None  # 0.0..1.0 while running, when the implementation tracks it
    error: str | None = None
    checkpoint: JSONObject | None = None


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A job that exhausted its attempts or failed permanently, with its full context."""

    job_id: str
    job_type: str
    payload: JSONObject
    attempts: int
    error: str  # the last error message
    error_kind: str  # transient | permanent | configuration | timeout
    failed_at: float  # unix time


@dataclass(frozen=True, kw_only=True)
class ScheduleEntry:
    """A recurring job the scheduler fires at the run's scale."""

    name: str
    job_type: str
    every_s: float
    payload: JSONObject = field(default_factory=dict)


@runtime_checkable
class ProbeContext(Protocol):
    """What an implementation gives a running probe job: its identity and its job-level services."""

    @property
    def job_id(self) -> str:
        """The implementation's id of the running job."""

    @property
    def attempt(self) -> int:
        """1 for the first run, 2 for the first retry, ..."""

    def claim_effect(self, key: str) -> bool:
        """Return True the first time ``key`` is claimed for this job's idempotency key, else False.

        This is the implementation's idempotency guard: an implementation without one returns
        True every time (and the kit will see the duplicated effect).
        """

    def set_progress(self, fraction: float) -> None:
        """Publish progress 0.0..1.0 where :meth:`Adapter.inspect` can see it."""

    def save_checkpoint(self, state: JSONObject) -> None:
        """Persist ``state`` so a later attempt of the same job can resume from it."""

    def load_checkpoint(self) -> JSONObject | None:
        """Return the last saved checkpoint of this job, or None."""

    # Optional: a context may also offer ``should_stop() -> bool``; a probe polls it while it
    # works and stops (raising ProbeInterrupted) when it returns True. In-process
    # implementations that cannot interrupt a thread use it to enforce timeouts.


@runtime_checkable
class WorkerProcesses(Protocol):
    """Optional adapter extension: the processes of each worker, so the kit sends faults itself.

    With it, the kit signals every process of a worker (and their descendants) itself: SIGKILL
    for a crash; SIGTERM, then SIGKILL after ``Timing.grace_s``, for a graceful stop. It then
    verifies the processes are gone, and only afterwards calls ``kill_worker`` or
    ``stop_worker`` so the adapter can reap them and forget the worker (both must accept a
    worker whose processes are already dead). In-process implementations have no processes and
    skip this: their ``kill_worker`` / ``stop_worker`` inject the fault, and the kit verifies
    it on the ledger alone.
    """

    def worker_pids(self, worker: str) -> Sequence[int]:
        """Every process id of ``worker``: main process, pool children, work-horses."""


@runtime_checkable
class WorkerLiveness(Protocol):
    """Optional adapter extension for in-process workers (threads): the in-process fault seam.

    Their ``kill_worker`` / ``stop_worker`` inject the fault; the kit then asks this method
    until the worker is gone (a graceful stop gets ``Timing.grace_s``, then ``kill_worker``) and
    checks the ledger: no attempt of the worker may record anything after it was gone.
    """

    def worker_alive(self, worker: str) -> bool:
        """Whether any thread of ``worker`` still runs."""


@runtime_checkable
class Adapter(Protocol):
    """Everything the kit needs from an implementation.

    Raise nothing for a supported call; raise ``NotImplementedError`` for a capability the
    implementation does not declare.
    """

    def describe(self) -> Description:
        """Name, version, backend, capabilities and the job catalogue with declared policies."""

    def setup(self, ctx: RunContext) -> None:
        """Prepare for a run: point probes at ``ctx.ledger_path``, apply ``ctx.timing``."""

    def reset(self) -> None:
        """Empty queues, job records, dead letters, metrics, logs and alerts between checks."""

    def teardown(self) -> None:
        """Stop every worker and scheduler still running and release resources."""

    def start_workers(self, count: int) -> list[str]:
        """Start ``count`` workers (processes where the framework uses them); return their ids.

        Probes should record these ids as their worker (``run_probe(worker=...)`` or the
        ``JOBFORGE_WORKER_ID`` environment variable of the worker process) so the kit can kill
        the very worker that runs a given job.
        """

    def stop_worker(self, worker: str, *, graceful: bool = True) -> None:
        """Stop one worker: gracefully (SIGTERM, finish the current job) or at once."""

    def kill_worker(self, worker: str) -> None:
        """Kill one worker with SIGKILL (or the in-process equivalent) in the middle of its work."""

    def submit(
        self,
        job_type: str,
        payload: JSONObject,
        *,
        idempotency_key: str | None = None,
        delay_s: float = 0.0,
        priority: int | None = None,
    ) -> str:
        """Enqueue a job; return its id. A duplicate idempotency key may return the first id."""

    def inspect(self, job_id: str) -> JobInfo:
        """Return the implementation's current view of one job."""

    def dead_letters(self) -> Sequence[DeadLetter]:
        """List the dead-letter queue."""

    def replay(self, job_id: str) -> str:
        """Re-enqueue a dead job by id (manual retry); return the id of the new run."""

    def metrics(self) -> Mapping[str, float]:
        """Return counters and gauges as the implementation exports them.

        Names: jobs_enqueued_total, jobs_started_total, jobs_completed_total, jobs_failed_total,
        jobs_retried_total, jobs_dead_total, queue_depth, dlq_size.

        The kit compares them with its ledger: enqueued counts accepted jobs, started counts
        attempts, completed counts successful attempts, failed counts failed attempts (any
        error or timeout), retried counts retries scheduled, dead counts jobs that went DEAD;
        queue_depth is jobs waiting to run and dlq_size the dead-letter queue's length.
        """

    def health(self) -> Mapping[str, JSONValue]:
        """Return the health endpoint's document; ``"status": "ok"`` when healthy."""

    def logs(self) -> Sequence[JSONObject]:
        """Return structured log records since the last reset (job_id, job_type, attempt, event)."""

    def alerts(self) -> Sequence[JSONObject]:
        """Alerts fired since the last reset (each with at least ``kind`` and ``job_id``)."""

    def start_scheduler(self, entries: Sequence[ScheduleEntry]) -> str:
        """Start one scheduler instance firing ``entries``; return its id. Several may run."""

    def stop_scheduler(self, scheduler: str) -> None:
        """Stop one scheduler instance."""
