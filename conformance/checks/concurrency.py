"""Concurrency: global and per-type caps, rate limits, unique jobs, priority, failure isolation.

Caps are judged on the ledger's attempt intervals (the high-water mark of attempts running at
once), never on what the implementation says about itself.
"""

from __future__ import annotations

import math
import time

from .. import tolerance
from ..adapter import Capability, JobStatus
from ..checkers import (
    first_starts,
    high_water_mark,
    intervals,
    overlaps,
    start_order_violations,
)
from ..env import Env, not_terminal
from ..probes import (
    HIGH_PRIORITY,
    LOW_PRIORITY,
    PROBE_DEFAULT,
    PROBE_LIMITED,
    PROBE_PRIORITY,
    PROBE_RATE,
    PROBE_UNIQUE,
)
from .base import Check, Verdict, failed, inconclusive, judge, passed, require_job_type


def _global_cap(env: Env) -> int:
    cap = env.description.global_concurrency
    return cap if cap is not None else env.slots * len(env.pool.workers)


def global_cap(env: Env) -> Verdict:
    """Check that attempts running at once stay under the global cap, even with spare slots."""
    require_job_type(env, PROBE_DEFAULT)
    declared = env.description.global_concurrency
    if declared is not None:
        env.pool.ensure(math.ceil(declared / env.slots) + 1)  # more slots than the cap
    cap = _global_cap(env)
    jobs = [
        env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, sleep_s=0.3)) for _ in range(cap * 2 + 2)
    ]
    infos = env.drain(jobs, env.drain_deadline(len(jobs) * 0.3))
    spans = intervals(env.history().attempts)
    peak, when = high_water_mark(spans, now=time.time())
    findings = not_terminal(infos)
    if peak > cap:
        findings.append(
            f"{peak} attempts ran at once (at t={when:.3f}), global cap {cap} "
            f"with {len(env.pool.workers)} workers x {env.slots} slots"
        )
    return judge(
        findings,
        f"at most {peak} of {len(jobs)} jobs ran at once, global cap {cap} "
        f"({len(env.pool.workers)} workers x {env.slots} slots)",
    )


def per_type_cap(env: Env) -> Verdict:
    """Check that a job type's concurrency limit holds across all workers."""
    require_job_type(env, PROBE_LIMITED)
    limit = env.description.job(PROBE_LIMITED).concurrency_limit
    if limit is None:
        return failed(f"{PROBE_LIMITED} declares no concurrency_limit")
    jobs = [
        env.submit(PROBE_LIMITED, env.probe(PROBE_LIMITED, sleep_s=0.15))
        for _ in range(limit * 3 + 1)
    ]
    infos = env.drain(jobs, env.drain_deadline(len(jobs) * 0.15))
    peak, when = high_water_mark(intervals(env.history().attempts), now=time.time())
    findings = not_terminal(infos)
    if peak > limit:
        findings.append(
            f"{peak} {PROBE_LIMITED} attempts ran at once (at t={when:.3f}), "
            f"declared concurrency_limit {limit}"
        )
    return judge(
        findings, f"at most {peak} of {len(jobs)} {PROBE_LIMITED} jobs at once, limit {limit}"
    )


def rate_limit(env: Env) -> Verdict:
    """No one-second window holds more starts of a rate-limited type than its rate allows.

    Starts are recorded by the probes, a little after the implementation admitted each job; that
    latency varies, so starts admitted a second apart can look closer. A run passes when even the
    strict one-second window holds no more than the rate allows, fails when a window shortened by
    the latency allowance already holds more, and is measured once more in between; still in
    between, the check ends inconclusive rather than blame the implementation for the machine.
    """
    require_job_type(env, PROBE_RATE)
    rate = env.description.job(PROBE_RATE).rate_limit_per_s
    if rate is None:
        return failed(f"{PROBE_RATE} declares no rate_limit_per_s")
    count = max(env.size("rate_jobs", 8), math.ceil(rate * 1.6))
    seen: set[str] = set()
    notes: list[str] = []
    for trial in (1, 2):
        jobs = [env.submit(PROBE_RATE, env.probe(PROBE_RATE)) for _ in range(count)]
        infos = env.drain(jobs, env.drain_deadline(count / rate))
        fresh = [a for a in env.history().attempts if a.job_id not in seen]
        seen.update(a.job_id for a in fresh)
        starts = [a.started_at for a in fresh]
        seen_rate = tolerance.judge_rate(starts, rate)
        findings = not_terminal(infos)
        if seen_rate.over:
            span = max(starts) - min(starts)
            findings.append(
                f"{seen_rate.close} {PROBE_RATE} starts within {seen_rate.shortened_s:.2f} s "
                f"(all {len(starts)} within {span:.2f} s), declared rate {rate:g}/s"
            )
        if findings:
            return failed(*findings)
        if seen_rate.within:
            return passed(
                f"at most {seen_rate.peak} starts in any second of {len(starts)}, declared "
                f"{rate:g}/s" + (f" (measurement {trial}; {notes[0]})" if notes else "")
            )
        notes.append(
            f"measurement {trial}: {seen_rate.peak} starts within one second but at most "
            f"{seen_rate.close} within {seen_rate.shortened_s:.2f} s, which start-up latency of "
            f"up to {tolerance.START_LATENCY_S:g} s can explain"
        )
    return inconclusive("; ".join(notes) + "; run again on a quieter machine")


def unique_jobs(env: Env) -> Verdict:
    """Jobs with the same unique key never run at the same time."""
    require_job_type(env, PROBE_UNIQUE)
    if not env.description.job(PROBE_UNIQUE).unique:
        return failed(f"{PROBE_UNIQUE} is not declared unique")
    key = f"{env.ledger.run_id}:unique"
    jobs = []
    for _ in range(3):
        jobs.append(env.submit(PROBE_UNIQUE, env.probe(PROBE_UNIQUE, sleep_s=0.3, unique_key=key)))
    infos = env.drain(jobs, env.drain_deadline(1.0))
    hist = env.history()
    pairs = overlaps(intervals(hist.attempts), now=time.time())
    findings = not_terminal(infos)
    findings += [
        f"{a.label} and {b.label} ran at the same time with unique key {key!r}" for a, b in pairs
    ]
    if not hist.attempts:
        findings.append("no job with the unique key ran at all")
    return judge(
        findings,
        f"{len(hist.attempts)} attempts for one unique key, none overlapping "
        f"({len(set(jobs))} distinct jobs accepted of 3 submissions)",
    )


def priority_order(env: Env) -> Verdict:
    """Under a backlog, higher-priority jobs start before lower-priority ones."""
    require_job_type(env, PROBE_PRIORITY)
    require_job_type(env, PROBE_DEFAULT)
    slots = env.slots
    if env.description.global_concurrency is not None:
        slots = min(slots, env.description.global_concurrency)
    blockers = [
        env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, sleep_s=0.6)) for _ in range(slots)
    ]
    env.wait_history(lambda h: len({a.job_id for a in h.attempts}) >= slots, 5.0)
    low = [
        env.submit(PROBE_PRIORITY, env.probe(PROBE_PRIORITY, sleep_s=0.2), priority=LOW_PRIORITY)
        for _ in range(slots)
    ]
    high = [
        env.submit(PROBE_PRIORITY, env.probe(PROBE_PRIORITY, sleep_s=0.2), priority=HIGH_PRIORITY)
        for _ in range(slots)
    ]
    submitted = time.time()
    infos = env.drain(blockers + low + high, env.drain_deadline(2.0))
    hist = env.history()
    blocker_ends = [a.ended_at for a in hist.attempts if a.job_id in blockers]
    first = first_starts(hist)
    early = [j for j in low + high if j in first and first[j] < submitted]
    if early or any(end is not None and end < submitted for end in blocker_ends):
        return inconclusive(
            "the backlog was not in place before the priority jobs were "
            "submitted (machine too slow?); order not judged"
        )
    findings = not_terminal(infos)
    findings += start_order_violations(first, before=high, after=low)
    return judge(
        findings,
        f"{len(high)} high-priority jobs started before {len(low)} "
        f"low-priority ones queued ahead of them ({len(env.pool.workers)} worker)",
    )


def failure_isolation(env: Env) -> Verdict:
    """Failing and crashing jobs do not stop healthy jobs from completing."""
    require_job_type(env, PROBE_DEFAULT)
    poison = []
    for kind in ("error", "permanent", "transient"):
        for _ in range(env.slots):
            poison.append(env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={"*": kind})))
    healthy = [
        env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, sleep_s=0.05))
        for _ in range(env.slots * 2)
    ]
    infos = env.drain(healthy, env.drain_deadline())
    late = env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT))
    infos |= env.drain([late], env.drain_deadline())
    env.drain(poison, env.drain_deadline())
    findings = [
        f"job {job_id}: a healthy job ended {info.status.value} beside failing jobs, "
        "expected COMPLETED"
        for job_id, info in sorted(infos.items())
        if info.status is not JobStatus.COMPLETED
    ]
    return judge(
        findings,
        f"{len(healthy) + 1} healthy jobs completed beside {len(poison)} "
        "failing ones (unclassified errors, permanent and transient failures)",
    )


CHECKS = (
    Check(
        "concurrency.global_cap",
        "The global concurrency cap is never exceeded",
        global_cap,
        requires=(Capability.CONCURRENCY_LIMITS,),
    ),
    Check(
        "concurrency.per_type_cap",
        "Per-type concurrency caps hold",
        per_type_cap,
        requires=(Capability.PER_TYPE_LIMITS,),
    ),
    Check(
        "concurrency.rate_limit", "Rate limits hold", rate_limit, requires=(Capability.RATE_LIMITS,)
    ),
    Check(
        "concurrency.unique_jobs",
        "Unique jobs never run twice at once",
        unique_jobs,
        requires=(Capability.UNIQUE_JOBS,),
    ),
    Check(
        "concurrency.priority_order",
        "Higher priority runs first under a backlog",
        priority_order,
        requires=(Capability.PRIORITIES,),
        workers=1,
    ),
    Check(
        "concurrency.failure_isolation",
        "One job's failure does not starve others",
        failure_isolation,
    ),
)
