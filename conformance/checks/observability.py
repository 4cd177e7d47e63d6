"""Observability: lifecycle states, progress, structured logs, metrics against ground truth, health.

Ground truth is the ledger, never the implementation's own view. No check here depends on the
error-handling policy being right: metrics are compared with what the ledger saw happen.
"""

from __future__ import annotations

import itertools
import json
import time

from .. import faults
from ..adapter import Capability, JobInfo, JobStatus
from ..checkers import attempts_by_job
from ..env import TERMINAL, Env, ImplementationFault, not_terminal
from ..history import OUTCOME_OK
from ..probes import PROBE_DEFAULT, PROBE_LONG
from .base import Check, Verdict, failed, judge, require_job_type

_POLL_S = 0.01
#: Counters and gauges compared with the ledger (see Adapter.metrics).
COUNTERS = (
    "jobs_enqueued_total",
    "jobs_started_total",
    "jobs_completed_total",
    "jobs_failed_total",
    "jobs_retried_total",
    "jobs_dead_total",
)


def _watch(env: Env, job_ids: list[str], timeout_s: float) -> dict[str, list[JobInfo]]:
    """Poll ``inspect`` for every job until all are terminal; return every view seen."""
    seen: dict[str, list[JobInfo]] = {job_id: [] for job_id in job_ids}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = True
        for job_id in job_ids:
            info = env.adapter.inspect(job_id)
            seen[job_id].append(info)
            done = done and info.status in TERMINAL
        if done:
            break
        time.sleep(_POLL_S)
    return seen


def _states(views: list[JobInfo]) -> list[JobStatus]:
    states: list[JobStatus] = []
    for view in views:
        if not states or states[-1] is not view.status:
            states.append(view.status)
    return states


def lifecycle_states(env: Env) -> Verdict:
    """Statuses follow PENDING -> RUNNING -> COMPLETED / ... -> DEAD, consistent with the ledger."""
    require_job_type(env, PROBE_DEFAULT)
    jobs: dict[str, str] = {}
    delayed = None
    if env.declares(Capability.DELAYED_JOBS):
        delayed = env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT), delay_s=0.5)
        jobs[delayed] = "delayed"
    jobs[env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, sleep_s=0.4))] = "slow"
    jobs[env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={1: "transient"}))] = "retried"
    jobs[env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={"*": "permanent"}))] = "dead"
    views = _watch(env, list(jobs), env.drain_deadline(0.5))
    groups = attempts_by_job(env.history())
    findings: list[str] = []
    for job_id, role in jobs.items():
        states = _states(views[job_id])
        final = views[job_id][-1]
        attempts = groups.get(job_id, ())
        shown = " -> ".join(s.value for s in states)
        if final.status not in TERMINAL:
            findings.append(f"job {job_id}: still {final.status.value} at the deadline ({shown})")
            continue
        for before, after in itertools.pairwise(states):
            if before in TERMINAL:
                findings.append(
                    f"job {job_id}: left terminal state {before.value} for {after.value} ({shown})"
                )
        if final.attempts != len(attempts):
            findings.append(
                f"job {job_id}: reports {final.attempts} attempts, the ledger "
                f"recorded {len(attempts)}"
            )
        succeeded = bool(attempts) and attempts[-1].outcome == OUTCOME_OK
        expected = JobStatus.COMPLETED if succeeded else JobStatus.DEAD
        if final.status is not expected:
            findings.append(
                f"job {job_id}: final status {final.status.value}, but its last "
                f"attempt ended {attempts[-1].outcome if attempts else 'never'}"
            )
        if role == "slow" and JobStatus.RUNNING not in states:
            findings.append(f"job {job_id}: ran 0.4 s but was never seen RUNNING ({shown})")
        if role == "delayed" and states and states[0] is not JobStatus.PENDING:
            findings.append(f"job {job_id}: delayed 0.5 s but first seen {states[0].value}")
    return judge(
        findings,
        f"{len(jobs)} jobs: statuses follow the lifecycle and match the "
        "ledger's attempts and outcomes",
    )


def progress(env: Env) -> Verdict:
    """Check that a long job's progress is visible, between 0 and 1, while it runs."""
    require_job_type(env, PROBE_LONG)
    steps = 5
    job_id = env.submit(PROBE_LONG, env.probe(PROBE_LONG, steps=steps, step_s=0.15))
    views = _watch(env, [job_id], env.drain_deadline(steps * 0.15))[job_id]
    running = [v.progress for v in views if v.status is JobStatus.RUNNING]
    partial = [p for p in running if p is not None and 0.0 < p < 1.0]
    findings = not_terminal({job_id: views[-1]})
    if not partial:
        values = sorted({str(p) for p in running}) or ["(never seen running)"]
        findings.append(
            f"job {job_id}: no progress between 0 and 1 while RUNNING over {steps} "
            f"steps (values seen: {', '.join(values)})"
        )
    numbers = [p for p in running if p is not None]
    if any(b < a for a, b in itertools.pairwise(numbers)):
        findings.append(f"job {job_id}: progress went backwards within one attempt")
    return judge(
        findings, f"job {job_id}: {len(set(partial))} distinct progress values seen while running"
    )


def structured_logs(env: Env) -> Verdict:
    """Every attempt is logged as a JSON object with job id, type, attempt and event."""
    require_job_type(env, PROBE_DEFAULT)
    jobs = [
        env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT)),
        env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={1: "transient"})),
    ]
    infos = env.drain(jobs, env.drain_deadline())
    records = env.adapter.logs()
    findings = not_terminal(infos)
    for record in records:
        try:
            json.dumps(record)
        except (TypeError, ValueError):
            findings.append(f"log record is not JSON: {record!r:.80}")
            break
    keyed = {
        (str(r.get("job_id")), r.get("attempt"))
        for r in records
        if r.get("event") and r.get("job_type")
    }
    for attempt in env.history().attempts:
        if (attempt.job_id, attempt.attempt) not in keyed:
            findings.append(
                f"job {attempt.job_id} attempt {attempt.attempt}: no log record with "
                "job_id, job_type, attempt and event"
            )
    return judge(findings, f"{len(records)} structured records cover every attempt")


def _delta(before: dict[str, float], after: dict[str, float], name: str) -> float | None:
    if name not in after:
        return None
    return after[name] - before.get(name, 0.0)


def metrics_match(env: Env) -> Verdict:
    """Counters equal what the ledger saw; queue depth is 0 after the drain."""
    require_job_type(env, PROBE_DEFAULT)
    before = env.adapter.metrics()
    jobs = [env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT)) for _ in range(3)]
    jobs.append(env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={1: "transient"})))
    jobs.append(env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={"*": "permanent"})))
    infos = env.drain(jobs, env.drain_deadline())
    findings = not_terminal(infos)
    hist = env.history()
    groups = attempts_by_job(hist)
    truth = {
        "jobs_enqueued_total": len(set(jobs)),
        "jobs_started_total": len(hist.attempts),
        "jobs_completed_total": sum(1 for a in hist.attempts if a.outcome == OUTCOME_OK),
        "jobs_failed_total": sum(1 for a in hist.attempts if a.outcome not in (OUTCOME_OK, None)),
        "jobs_retried_total": sum(max(len(g) - 1, 0) for g in groups.values()),
        "jobs_dead_total": sum(1 for i in infos.values() if i.status is JobStatus.DEAD),
    }
    after: dict[str, float] = {}

    def settled() -> bool:
        after.clear()
        after.update(env.adapter.metrics())
        return all(_delta(before, after, k) == v for k, v in truth.items())

    env.wait_until(settled, 1.0)  # counters may lag the job status by a moment
    for name, expected in truth.items():
        got = _delta(before, after, name)
        if got is None:
            findings.append(f"metric {name}: not exported")
        elif got != expected:
            findings.append(f"metric {name}: increased by {got:g}, the ledger saw {expected}")
    depth = after.get("queue_depth")
    if depth is None:
        findings.append("metric queue_depth: not exported")
    elif depth != 0:
        findings.append(f"metric queue_depth: {depth:g} after every job finished, expected 0")
    if env.declares(Capability.DEAD_LETTER) and "dlq_size" in after:
        listed = len(env.adapter.dead_letters())
        if after["dlq_size"] != listed:
            findings.append(
                f"metric dlq_size: {after['dlq_size']:g}, but {listed} dead letters are listed"
            )
    return judge(
        findings,
        "counters match the ledger: "
        + ", ".join(
            f"{k.removeprefix('jobs_').removesuffix('_total')}={v}" for k, v in truth.items()
        ),
    )


def _health_status(env: Env) -> tuple[str | None, str]:
    """Return the health document's ``status`` and the document shortened for evidence."""
    document = env.adapter.health()
    try:
        shown = json.dumps(document, sort_keys=True)
    except (TypeError, ValueError):
        raise ImplementationFault(f"health document is not JSON: {document!r:.80}") from None
    status = document.get("status")
    return (status if isinstance(status, str) else None), shown[:120]


def health_notice_s(env: Env) -> float:
    """How long health may take to notice a change: heartbeats lapse within a lease."""
    return 3 * env.timing.lease_s + 5.0


def _await_health(env: Env, healthy: bool) -> tuple[bool, str | None, str]:
    """Poll health until it is (``healthy``) ok or not; return whether it was, and the last."""
    last: list[tuple[str | None, str]] = [(None, "")]

    def reached() -> bool:
        last[0] = _health_status(env)
        return (last[0][0] == "ok") is healthy

    held = env.wait_until(reached, health_notice_s(env))
    return held, last[0][0], last[0][1]


def health(env: Env) -> Verdict:
    """Health says ``ok`` while workers run, not ok with none alive, and ok again once back.

    Where the implementation declares ``broker_restart``, health must also say not ok while
    its broker or store is down (the kit stops it through the adapter's ``stop_broker`` and
    starts it again with ``start_broker``). A change may take a few leases to show (worker
    heartbeats lapse), never longer than :func:`health_notice_s`.
    """
    workers = len(env.pool.workers)
    status, shown = _health_status(env)
    if status != "ok":
        return failed(f"health status {status!r} with {workers} workers running, expected 'ok'")
    findings: list[str] = []
    for worker in list(env.pool.workers):
        faults.terminate_worker(env, worker)
    noticed, status, down_doc = _await_health(env, healthy=False)
    if not noticed:
        findings.append(
            f"health status still 'ok' {health_notice_s(env):g} s after every worker was "
            f"stopped (0 workers alive), expected not ok: {down_doc}"
        )
    env.pool.ensure(workers)
    back, status, _ = _await_health(env, healthy=True)
    if not back:
        findings.append(
            f"health status {status!r} {health_notice_s(env):g} s after {workers} workers were "
            "started again, expected 'ok'"
        )
    store = ""
    if env.declares(Capability.BROKER_RESTART) and not findings:
        with faults.broker_down(env):
            noticed, status, down_doc = _await_health(env, healthy=False)
        if not noticed:
            findings.append(
                f"health status still 'ok' while the broker/store was stopped, expected not "
                f"ok: {down_doc}"
            )
        back, status, _ = _await_health(env, healthy=True)
        if not back:
            findings.append(f"health status {status!r} after the broker/store came back")
        store = "; not ok while the broker/store was down"
    return judge(
        findings,
        f"health 'ok' with {workers} workers ({shown}); not ok with none alive; ok again once "
        f"they were back{store}",
    )


CHECKS = (
    Check("observability.lifecycle_states", "Job statuses follow the lifecycle", lifecycle_states),
    Check(
        "observability.progress",
        "Progress is visible while a job runs",
        progress,
        requires=(Capability.PROGRESS,),
    ),
    Check(
        "observability.structured_logs",
        "Every attempt is logged as structured JSON",
        structured_logs,
        requires=(Capability.STRUCTURED_LOGS,),
    ),
    Check(
        "observability.metrics_match",
        "Metrics equal the ground truth",
        metrics_match,
        requires=(Capability.METRICS,),
    ),
    Check(
        "observability.health",
        "Health reports ok only while workers are alive",
        health,
        requires=(Capability.HEALTH,),
    ),
)
