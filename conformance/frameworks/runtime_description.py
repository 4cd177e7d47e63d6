"""What a runtime app declares to the kit, read from its App and settings."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from jobforge_runtime import Schedule, Settings
from jobforge_runtime.catalogue import AnyJob

from .. import adapter as kit

#: Resolution of delayed work per backend: Huey's due jobs are moved by the runtime's glue every
#: 10 ms; Celery holds a countdown in the worker's timer (continuous); RQ's are moved from the
#: runtime's delayed set every 10 ms (``jobforge_runtime.glue.rq.MOVE_EVERY_S``).
#: Celery on RabbitMQ and SQS carry a delay's whole seconds through the broker and the worker
#: waits out the fraction (continuous).
DELAY_RESOLUTION_S = {"huey": 0.01, "celery": 0.0, "rq": 0.01, "celery_amqp": 0.0, "sqs": 0.0}
#: procrastinate finds due delayed jobs by polling every ``poll_max_delay_s`` (immediate ones by
#: LISTEN/NOTIFY): that interval is its resolution.

#: The least time from a job being due to its body running, per backend, measured on a loaded
#: two-core machine: RQ forks a work-horse process for every job (~90 ms from due to start).
#: The others start a due job in a few milliseconds and are left out (0).
START_LATENCY_S = {"rq": 0.1}
#: The run's probe retry delays are made long enough that the declared jitter moves the first
#: one by this many start latencies, so a jittered retry can visibly start early.
JITTER_OVER_LATENCY = 1.5


def probe_timing(timing: kit.Timing, backend: str, jitter: float) -> kit.Timing:
    """Return ``timing`` with the probe retry delays at the backend's own scale.

    A retry started early proves jitter only when the jitter (``jitter`` x the first delay) is
    larger than the time the backend needs to start a due job. Where it is not (RQ's fork per
    job against the kit's 0.1 s base), base and cap grow by one factor until the declared jitter
    reaches :data:`JITTER_OVER_LATENCY` start latencies: the delays keep their shape, the run
    declares them as they are, and the kit judges them at that scale. Without jitter, or for a
    backend that starts jobs at once, the kit's timing is kept.
    """
    latency = START_LATENCY_S.get(backend, 0.0)
    if latency <= 0 or jitter <= 0:
        return timing
    factor = JITTER_OVER_LATENCY * latency / (jitter * timing.backoff_base_s)
    if factor <= 1:
        return timing
    return replace(
        timing,
        backoff_base_s=round(timing.backoff_base_s * factor, 3),
        backoff_cap_s=round(timing.backoff_cap_s * factor, 3),
    )


def job_spec(job: AnyJob, settings: Settings, schedules: Sequence[Schedule]) -> kit.JobSpec:
    """Describe one of the app's own job types with the policies the runtime applies to it."""
    policy = job.retry_policy(settings)
    fired_by = [s for s in schedules if s.job.name == job.name]
    return kit.JobSpec(
        name=job.name,
        kind="scheduled" if fired_by else "immediate",
        queue=job.queue or settings.queues[0],
        max_attempts=policy.max_attempts,
        backoff_delays_s=tuple(policy.base_delay(n) for n in range(1, policy.max_attempts)),
        timeout_s=job.timeout_s or settings.timeout_s,
        concurrency_limit=job.concurrency,
        rate_limit_per_s=job.rate_per_s,
        unique=job.unique_key is not None,
        priority=job.priority,
        overlap_policy=(fired_by[0].overlap or settings.overlap_policy) if fired_by else None,
        missed_run_policy=(
            (fired_by[0].missed_runs or settings.missed_run_policy) if fired_by else None
        ),
    )


def timing_facts(settings: Settings, backend: str) -> kit.TimingFacts:
    """How the runtime times retries and delayed jobs: ratio jitter of the settings' fraction."""
    resolution = DELAY_RESOLUTION_S.get(backend, 0.0)
    if backend == "procrastinate":
        resolution = settings.poll_max_delay_s
    if settings.backoff_jitter <= 0:
        return kit.TimingFacts(jitter=kit.JitterModel.NONE, resolution_s=resolution)
    return kit.TimingFacts(
        jitter=kit.JitterModel.RATIO,
        jitter_ratio=settings.backoff_jitter,
        resolution_s=resolution,
    )


#: Backends whose broker carries no message priority: quorum queues before RabbitMQ 4.0, SQS.
NO_PRIORITIES = frozenset({"celery_amqp", "sqs"})


def capabilities(
    settings: Settings, *, own_tests: bool, private_broker: bool = False, backend: str = ""
) -> frozenset[kit.Capability]:
    """Return what a runtime app offers with ``settings``.

    The runtime has every engine feature; the settings switch off the dead-letter queue
    (``dead_letter_queue``) and manual replay (``manual_retry``). ``broker_restart`` is declared
    only with a private broker of the run's: the app's own broker is never restarted.
    """
    caps = set(kit.Capability) - {kit.Capability.BROKER_RESTART, kit.Capability.OWN_TESTS}
    if private_broker:
        caps.add(kit.Capability.BROKER_RESTART)
    if not settings.dead_letter_queue:
        caps -= {kit.Capability.DEAD_LETTER, kit.Capability.REPLAY}
    if not settings.manual_retry:
        caps.discard(kit.Capability.REPLAY)
    if own_tests:
        caps.add(kit.Capability.OWN_TESTS)
    if backend in NO_PRIORITIES:
        caps.discard(kit.Capability.PRIORITIES)
    return frozenset(caps)


def own_test_command(project: Path) -> tuple[str, ...]:
    """Return the project's own suite command (``pytest tests``) when it has a tests folder."""
    if not (project / "tests").is_dir():
        return ()
    return (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests")
