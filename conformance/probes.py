"""Probe jobs: the job types every implementation registers so the kit can watch them run.

An implementation registers each job type of :func:`probe_catalogue` in its own framework (a
Celery task, an RQ function, a Huey task, ...) with the policies the catalogue gives, and makes
its body call :func:`run_probe`::

    @app.task(name="probe.default", max_retries=3, ...)
    def probe_default(payload: dict) -> dict:
        ctx = MyProbeContext(job_id=..., attempt=...)        # satisfies adapter.ProbeContext
        return run_probe(payload, ctx, transient=MyRetryableError, permanent=MyFatalError)

The kit builds every payload (:func:`probe_payload`); one body covers every check. A probe:

1. records the attempt's start in the history ledger (pid, worker, time, attempt number);
2. if ``effect`` is set, asks the implementation's idempotency guard ``ctx.claim_effect(key)``
   and records the effect only when the guard allows it (so a missing guard shows up as a
   duplicated effect);
3. if ``steps`` is set, resumes from ``ctx.load_checkpoint()`` and works step by step, after
   each step saving a checkpoint (``ctx.save_checkpoint``) and publishing progress
   (``ctx.set_progress``); ``fail_at_step`` makes a failing attempt stop after that step;
4. sleeps ``sleep_s`` in small slices (stoppable, see below);
5. raises the transient or permanent error (or an unclassified ``RuntimeError``) that ``fail``
   names for this attempt, if any; a ``healable`` probe skips it once the kit healed it;
6. records the attempt's end and outcome (``ok``, ``transient``, ``permanent``, ``timeout``,
   ``interrupted`` or ``error``). A worker killed under an attempt leaves no end: *crashed*.

Error classification. ``run_probe`` raises :class:`ProbeTransientError` (retry me) and
:class:`ProbePermanentError` (never retry me), both :class:`ProbeError`. An implementation that
classifies errors by its own classes passes them: ``run_probe(..., transient=MyTransient,
permanent=MyPermanent)``; each is constructed with one message string. Catching the probe's
errors and re-raising your own works as well; the ledger has recorded the outcome by then.

Timeouts are the implementation's job: a probe sleeping longer than its job type's timeout must
be cut off by the implementation. Two ways work: raise an exception into the body (a signal
handler raising ``TimeoutError``, Celery's ``SoftTimeLimitExceeded``: recorded as ``timeout``)
or kill the process (recorded as crashed). In-process implementations that cannot interrupt a
thread pass ``should_stop`` (a callable, or a ``should_stop()`` method on the context): the
probe polls it between sleep slices and steps and raises :class:`ProbeInterrupted`.

The probe job types (names are fixed; policies at the run's :class:`~adapter.Timing` scale):

``probe.default``
    The workhorse: ``max_attempts=timing.max_attempts``, exponential backoff from
    ``backoff_base_s`` doubling to ``backoff_cap_s``, ``timeout_s=timing.timeout_s``.
    Idempotency, retries, dead letters, replay, timeouts, lifecycle, metrics, scalability.
``probe.limited``
    As ``probe.default`` plus ``concurrency_limit=1``: at most one attempt running at a time.
``probe.rate``
    As ``probe.default`` plus ``rate_limit_per_s=RATE_LIMIT_PER_S``: at most that many starts
    per second.
``probe.unique``
    As ``probe.default`` plus ``unique=True``: the unique key is ``payload["unique_key"]``; at
    most one job with the same unique key running (or queued, if the implementation rejects
    duplicates at submit) at a time.
``probe.priority``
    As ``probe.default``; the kit submits with ``priority=`` :data:`HIGH_PRIORITY` or
    :data:`LOW_PRIORITY`. Under a backlog, higher priority starts first.
``probe.long``
    ``kind="long_running"``: ``steps`` with checkpoints and progress, retried like
    ``probe.default``, timeout ``LONG_TIMEOUT_FACTOR * timing.timeout_s``.
``probe.scheduled``
    ``kind="scheduled"``: fired by the scheduler every ``timing.schedule_interval_s``;
    ``overlap_policy="skip"`` (a tick while the previous run still runs is skipped),
    ``missed_run_policy="run_once"`` (ticks missed while no scheduler ran are caught up by one
    run), one attempt, timeout ``LONG_TIMEOUT_FACTOR * timing.timeout_s``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Final

from jobforge.errors import ConformanceError

from . import history
from .adapter import JobSpec, JSONObject, JSONValue, ProbeContext, Timing

PROBE_DEFAULT: Final = "probe.default"
PROBE_LIMITED: Final = "probe.limited"
PROBE_RATE: Final = "probe.rate"
PROBE_UNIQUE: Final = "probe.unique"
PROBE_PRIORITY: Final = "probe.priority"
PROBE_LONG: Final = "probe.long"
PROBE_SCHEDULED: Final = "probe.scheduled"
#: Every probe job type, in catalogue order.
PROBE_TYPES: Final = (
    PROBE_DEFAULT,
    PROBE_LIMITED,
    PROBE_RATE,
    PROBE_UNIQUE,
    PROBE_PRIORITY,
    PROBE_LONG,
    PROBE_SCHEDULED,
)

#: Starts per second allowed for ``probe.rate``.
RATE_LIMIT_PER_S: Final = 5.0
#: Priorities the kit submits ``probe.priority`` jobs with.
HIGH_PRIORITY: Final = 10
LOW_PRIORITY: Final = 0
#: ``probe.long`` and ``probe.scheduled`` may run this many ``timing.timeout_s``.
LONG_TIMEOUT_FACTOR: Final = 10.0
#: Environment variable a worker process may set to name itself in the ledger.
WORKER_ENV: Final = "JOBFORGE_WORKER_ID"

_SLICE_S: Final = 0.01
_FAIL_KINDS: Final = frozenset({"transient", "permanent", "error"})
#: Ledger event kind the kit writes (subject = probe id) to "fix the bug" of a healable probe.
HEAL_EVENT: Final = "probe.heal"


class ProbeError(Exception):
    """Root of the errors a probe raises on purpose; ``kind`` says how to classify it."""

    kind: str = "error"


class ProbeTransientError(ProbeError):
    """A transient failure: the implementation should retry with backoff."""

    kind = "transient"


class ProbePermanentError(ProbeError):
    """A permanent failure: the implementation must not retry; dead-letter it."""

    kind = "permanent"


class ProbeUnexpectedError(RuntimeError):
    """An unclassified failure (a bug in a job): ``fail`` kind ``"error"``."""


class ProbeInterrupted(ProbeError):
    """The implementation asked the probe to stop (``should_stop`` returned True)."""

    kind = "interrupted"


class ProbePayloadError(ConformanceError):
    """A probe payload is malformed: a defect of whoever built it (normally the kit)."""


@dataclass(frozen=True, kw_only=True)
class ProbePlan:
    """What one probe does, parsed and validated from its JSON payload."""

    probe_id: str  # the kit's id for the logical job; duplicates and replays share it
    scope: str = ""  # the check that submitted it
    job_type: str = ""  # the probe job type it was submitted as
    sleep_s: float = 0.0  # work time of every attempt, after effect and steps
    fail: Mapping[str, str] = field(default_factory=dict)  # attempt ("1", "2", "*") -> kind
    effect: str | None = None  # effect key claimed through ctx.claim_effect
    steps: int = 0  # checkpointed steps of work
    step_s: float = 0.0  # time per step
    fail_at_step: int | None = None  # a failing attempt raises after completing this step
    unique_key: str | None = None  # uniqueness key for probe.unique
    sleep_attempts: frozenset[int] | None = None  # attempts that sleep; None: every attempt
    healable: bool = False  # planned failures stop once the kit recorded HEAL_EVENT

    def sleeps_on(self, attempt: int) -> bool:
        """Return whether ``attempt`` sleeps ``sleep_s``."""
        return self.sleep_attempts is None or attempt in self.sleep_attempts

    def failure_for(self, attempt: int) -> str | None:
        """Return the failure ``fail`` names for ``attempt`` (``"*"`` matches any)."""
        return self.fail.get(str(attempt), self.fail.get("*"))


def _number(payload: Mapping[str, JSONValue], key: str, default: float) -> float:
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ProbePayloadError(
            f"probe payload field {key!r} = {value!r} must be a number >= 0; "
            "build payloads with jobforge.conformance.probes.probe_payload()"
        )
    return float(value)


def _optional_str(payload: Mapping[str, JSONValue], key: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise ProbePayloadError(f"probe payload field {key!r} = {value!r} must be a string")
    return value


def parse_payload(payload: Mapping[str, JSONValue]) -> ProbePlan:
    """Validate a probe payload; raise :class:`ProbePayloadError` naming the bad field."""
    probe_id = payload.get("probe_id")
    if not isinstance(probe_id, str) or not probe_id:
        raise ProbePayloadError(
            f"probe payload field 'probe_id' = {probe_id!r} must be a non-empty string; "
            "build payloads with jobforge.conformance.probes.probe_payload()"
        )
    fail_raw = payload.get("fail") or {}
    if not isinstance(fail_raw, dict):
        raise ProbePayloadError(f"probe payload field 'fail' = {fail_raw!r} must be an object")
    fail: dict[str, str] = {}
    for key, kind in fail_raw.items():
        if (key != "*" and not key.isdigit()) or kind not in _FAIL_KINDS:
            raise ProbePayloadError(
                f"probe payload field 'fail' has {key!r}: {kind!r}; keys are attempt numbers "
                "or '*', values 'transient' or 'permanent'"
            )
        fail[key] = str(kind)
    steps = _number(payload, "steps", 0)
    sleep_on = payload.get("sleep_attempts")
    if sleep_on is not None and (
        not isinstance(sleep_on, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) for n in sleep_on)
    ):
        raise ProbePayloadError(
            f"probe payload field 'sleep_attempts' = {sleep_on!r} must be a list of attempt numbers"
        )
    fail_at = payload.get("fail_at_step")
    if fail_at is not None and (isinstance(fail_at, bool) or not isinstance(fail_at, int)):
        raise ProbePayloadError(f"probe payload field 'fail_at_step' = {fail_at!r} must be int")
    return ProbePlan(
        probe_id=probe_id,
        scope=_optional_str(payload, "scope") or "",
        job_type=_optional_str(payload, "job_type") or "",
        sleep_s=_number(payload, "sleep_s", 0.0),
        fail=fail,
        effect=_optional_str(payload, "effect"),
        steps=int(steps),
        step_s=_number(payload, "step_s", 0.0),
        fail_at_step=fail_at,
        unique_key=_optional_str(payload, "unique_key"),
        sleep_attempts=None
        if sleep_on is None
        else frozenset(n for n in sleep_on if isinstance(n, int)),
        healable=payload.get("healable") is True,
    )


def probe_payload(
    probe_id: str,
    *,
    scope: str = "",
    job_type: str = PROBE_DEFAULT,
    sleep_s: float = 0.0,
    fail: Mapping[int | str, str] | None = None,
    effect: str | None = None,
    steps: int = 0,
    step_s: float = 0.0,
    fail_at_step: int | None = None,
    unique_key: str | None = None,
    sleep_attempts: Iterable[int] | None = None,
    healable: bool = False,
) -> JSONObject:
    """Build a probe payload (JSON); the kit uses it, and so can an implementation's own tests.

    ``fail`` maps attempt numbers (or ``"*"`` for every attempt) to ``"transient"``,
    ``"permanent"`` or ``"error"`` (an unclassified bug): ``fail={1: "transient"}`` fails the
    first attempt only. ``sleep_attempts`` limits ``sleep_s`` to those attempts. A ``healable``
    probe stops failing once the kit records :data:`HEAL_EVENT` for it (then a replay succeeds).
    """
    payload: JSONObject = {"probe_id": probe_id, "scope": scope, "job_type": job_type}
    if sleep_s:
        payload["sleep_s"] = sleep_s
    if fail:
        payload["fail"] = {str(k): v for k, v in fail.items()}
    if effect is not None:
        payload["effect"] = effect
    if steps:
        payload["steps"] = steps
        payload["step_s"] = step_s
    if fail_at_step is not None:
        payload["fail_at_step"] = fail_at_step
    if unique_key is not None:
        payload["unique_key"] = unique_key
    if sleep_attempts is not None:
        attempts: list[JSONValue] = [int(n) for n in sorted(sleep_attempts)]
        payload["sleep_attempts"] = attempts
    if healable:
        payload["healable"] = True
    parse_payload(payload)  # fail early, in the kit, on a bad payload
    return payload


StopFlag = Callable[[], bool]


def _stop_flag(ctx: ProbeContext, should_stop: StopFlag | None) -> StopFlag | None:
    if should_stop is not None:
        return should_stop
    method = getattr(ctx, "should_stop", None)
    return method if callable(method) else None


def _sleep(seconds: float, stop: StopFlag | None) -> None:
    """Sleep ``seconds`` in small slices, raising ProbeInterrupted as soon as ``stop()``."""
    deadline = time.monotonic() + seconds
    while True:
        if stop is not None and stop():
            raise ProbeInterrupted("the implementation asked the probe to stop")
        left = deadline - time.monotonic()
        if left <= 0:
            return
        time.sleep(min(_SLICE_S, left))


def _outcome_of(
    exc: BaseException, transient: type[BaseException], permanent: type[BaseException]
) -> str:
    if isinstance(exc, transient | ProbeTransientError):
        return history.OUTCOME_TRANSIENT
    if isinstance(exc, permanent | ProbePermanentError):
        return history.OUTCOME_PERMANENT
    name = type(exc).__name__
    if isinstance(exc, TimeoutError) or "Timeout" in name or "TimeLimit" in name:
        return history.OUTCOME_TIMEOUT
    if isinstance(exc, ProbeInterrupted | KeyboardInterrupt | SystemExit | GeneratorExit):
        return history.OUTCOME_INTERRUPTED
    return history.OUTCOME_ERROR


@dataclass(frozen=True)
class _Recorder:
    """The ledger writes of one attempt, bound to its identity."""

    book: history.Ledger
    scope: str
    probe_id: str
    job_id: str
    attempt: int

    def start(self, job_type: str, worker: str) -> int:
        return self.book.attempt_started(
            scope=self.scope,
            probe_id=self.probe_id,
            job_id=self.job_id,
            job_type=job_type,
            attempt=self.attempt,
            worker=worker,
        )

    def effect(self, key: str) -> None:
        self.book.record_effect(
            scope=self.scope,
            probe_id=self.probe_id,
            job_id=self.job_id,
            attempt=self.attempt,
            key=key,
        )

    def checkpoint(self, action: str, step: int) -> None:
        self.book.record_checkpoint(
            scope=self.scope,
            probe_id=self.probe_id,
            job_id=self.job_id,
            attempt=self.attempt,
            action=action,
            step=step,
        )

    def progress(self, fraction: float) -> None:
        self.book.record_progress(
            scope=self.scope,
            probe_id=self.probe_id,
            job_id=self.job_id,
            attempt=self.attempt,
            fraction=fraction,
        )


def run_probe(
    payload: Mapping[str, JSONValue],
    ctx: ProbeContext,
    *,
    ledger: history.Ledger | None = None,
    job_type: str | None = None,
    worker: str | None = None,
    transient: type[Exception] = ProbeTransientError,
    permanent: type[Exception] = ProbePermanentError,
    should_stop: StopFlag | None = None,
) -> JSONObject:
    """Run one attempt of a probe job; call it from the body of every registered probe type.

    ``ledger`` defaults to ``Ledger.from_env()`` (``JOBFORGE_LEDGER``, ``JOBFORGE_RUN_ID``).
    ``job_type`` defaults to the type the kit wrote into the payload. ``worker`` names the
    worker in the ledger (default: ``JOBFORGE_WORKER_ID``, else ``pid-<pid>``).
    ``transient`` / ``permanent`` are the exception classes raised for a failing attempt, each
    built with one message string. ``should_stop`` is polled while the probe works; when it
    returns True the probe raises :class:`ProbeInterrupted`.

    Returns ``{"probe_id", "job_id", "attempt", "effect_applied", "steps_done"}``.
    Raises :class:`ProbePayloadError` for a malformed payload and
    :class:`~jobforge.conformance.history.LedgerError` when the ledger cannot be written.
    """
    plan = parse_payload(payload)
    stop = _stop_flag(ctx, should_stop)
    rec = _Recorder(
        book=ledger if ledger is not None else history.Ledger.from_env(),
        scope=plan.scope,
        probe_id=plan.probe_id,
        job_id=str(ctx.job_id),
        attempt=int(ctx.attempt),
    )
    row = rec.start(
        job_type or plan.job_type or "unknown",
        worker or os.environ.get(WORKER_ENV) or f"pid-{os.getpid()}",
    )
    failure = plan.failure_for(rec.attempt)
    if failure is not None and plan.healable and rec.book.has_event(HEAL_EVENT, plan.probe_id):
        failure = None
    effect_applied = False
    done = 0
    try:
        if plan.effect is not None and ctx.claim_effect(plan.effect):
            rec.effect(plan.effect)
            effect_applied = True
        if plan.steps:
            done = _resume_step(ctx, plan, rec)
            while done < plan.steps:
                _sleep(plan.step_s, stop)
                done += 1
                ctx.save_checkpoint({"step": done})
                rec.checkpoint("save", done)
                ctx.set_progress(done / plan.steps)
                rec.progress(done / plan.steps)
                if failure is not None and plan.fail_at_step == done:
                    _raise(failure, plan, rec.attempt, transient, permanent)
        if plan.sleeps_on(rec.attempt):
            _sleep(plan.sleep_s, stop)
        if failure is not None:
            _raise(failure, plan, rec.attempt, transient, permanent)
    except BaseException as exc:
        rec.book.attempt_ended(
            row,
            outcome=_outcome_of(exc, transient, permanent),
            error=f"{type(exc).__name__}: {exc}",
        )
        raise
    rec.book.attempt_ended(row, outcome=history.OUTCOME_OK)
    return {
        "probe_id": plan.probe_id,
        "job_id": rec.job_id,
        "attempt": rec.attempt,
        "effect_applied": effect_applied,
        "steps_done": done,
    }


def _resume_step(ctx: ProbeContext, plan: ProbePlan, rec: _Recorder) -> int:
    """Return the step to resume from (0 without a usable checkpoint), recording a load."""
    saved = ctx.load_checkpoint()
    step = saved.get("step") if saved else None
    if isinstance(step, int) and not isinstance(step, bool) and 0 < step <= plan.steps:
        rec.checkpoint("load", step)
        return step
    return 0


def _raise(
    kind: str,
    plan: ProbePlan,
    attempt: int,
    transient: type[Exception],
    permanent: type[Exception],
) -> None:
    message = f"probe {plan.probe_id}: attempt {attempt} fails {kind} as planned"
    if kind == "transient":
        raise transient(message)
    if kind == "permanent":
        raise permanent(message)
    raise ProbeUnexpectedError(message)


def backoff_delays(timing: Timing) -> tuple[float, ...]:
    """Exponential retry delays for ``timing``: base, 2*base, ... capped at ``backoff_cap_s``."""
    return tuple(
        min(timing.backoff_base_s * 2**i, timing.backoff_cap_s)
        for i in range(max(timing.max_attempts - 1, 0))
    )


def probe_catalogue(timing: Timing) -> tuple[JobSpec, ...]:
    """Return the probe job types with the policies the kit expects at ``timing``'s scale."""
    default = JobSpec(
        name=PROBE_DEFAULT,
        kind="probe",
        max_attempts=timing.max_attempts,
        backoff_delays_s=backoff_delays(timing),
        timeout_s=timing.timeout_s,
    )
    long_timeout = LONG_TIMEOUT_FACTOR * timing.timeout_s
    return (
        default,
        replace(default, name=PROBE_LIMITED, concurrency_limit=1),
        replace(default, name=PROBE_RATE, rate_limit_per_s=RATE_LIMIT_PER_S),
        replace(default, name=PROBE_UNIQUE, unique=True),
        replace(default, name=PROBE_PRIORITY, priority=LOW_PRIORITY),
        replace(default, name=PROBE_LONG, kind="long_running", timeout_s=long_timeout),
        JobSpec(
            name=PROBE_SCHEDULED,
            kind="scheduled",
            max_attempts=1,
            timeout_s=long_timeout,
            schedule_interval_s=timing.schedule_interval_s,
            overlap_policy="skip",
            missed_run_policy="run_once",
        ),
    )
