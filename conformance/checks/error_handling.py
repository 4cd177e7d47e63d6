"""Error handling: retries, backoff, permanent errors, dead letters, replay, alerts, timeouts.

Also checkpoints: a long job resumes where it failed.

``max_attempts``, ``backoff``, ``permanent_not_retried``, ``dead_letter_context`` and ``alert``
judge one shared workload (jobs failing transiently on every attempt, jobs failing permanently),
so the retries are waited for once.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from .. import faults, tolerance
from ..adapter import Capability, DeadLetter, JitterModel, JobInfo, JobStatus, JSONObject
from ..checkers import (
    RetryDelay,
    attempts_by_job,
    binomial_tail,
    growth_violations,
    jitter_facts,
    retry_delays,
    retry_gaps,
)
from ..env import Env, ImplementationFault, not_terminal
from ..history import History
from ..probes import PROBE_DEFAULT, PROBE_LONG
from .base import Check, Verdict, failed, inconclusive, judge, passed, require_job_type

#: How long an alert may follow its job's DEAD transition.
_ALERT_GRACE_S = 2.0
#: Jitter must spread delays by at least this share of ``Timing.jitter_ratio`` to be told from
#: scheduling latency (10 % of each delay at the default 25 %).
MIN_JITTER_SHARE = 0.4
#: The jitter check fails only when jitter that large would look unjittered less often than this.
JITTER_FALSE_FAIL = 1e-6
#: A retry starting this much before its declared delay started early (clock noise aside).
JITTER_EARLY_S = 0.002
#: Jobs the jitter check retries (each gives max_attempts - 1 delays), and the pause between
#: their submissions, so retries of different jobs do not wait for one another.
JITTER_JOBS = 30
JITTER_SPACING_S = 0.03
#: The effect key of the replayed probe.
_EFFECT = "replay-effect"


@dataclass(frozen=True)
class Failures:
    """What the shared failure workload observed."""

    exhausted: tuple[str, ...]  # job ids failing transiently on every attempt
    permanent: tuple[str, ...]  # job ids failing permanently
    payloads: dict[str, JSONObject]
    infos: dict[str, JobInfo]
    history: History
    dead_letters: tuple[DeadLetter, ...] | None
    dead_letters_error: str | None
    alerts: tuple[JSONObject, ...] | None
    alerts_error: str | None


def _failures(env: Env) -> Failures:
    require_job_type(env, PROBE_DEFAULT)
    payloads: dict[str, JSONObject] = {}
    exhausted, permanent = [], []
    spec = env.description.job(PROBE_DEFAULT)
    least = env.size("exhausted", 2)
    if env.declares(Capability.BACKOFF):
        facts = tolerance.facts_of(spec, env.timing)
        least = tolerance.retry_samples(spec.backoff_delays_s, facts, least=least)
    for _ in range(least):
        payload = env.probe(PROBE_DEFAULT, fail={"*": "transient"})
        job_id = env.submit(PROBE_DEFAULT, payload)
        exhausted.append(job_id)
        payloads[job_id] = payload
    for _ in range(env.size("permanent", 1)):
        payload = env.probe(PROBE_DEFAULT, fail={"*": "permanent"})
        job_id = env.submit(PROBE_DEFAULT, payload)
        permanent.append(job_id)
        payloads[job_id] = payload
    infos = env.drain(payloads, env.drain_deadline())
    dead = dead_error = alerts = alerts_error = None
    if env.declares(Capability.DEAD_LETTER):
        try:
            dead = tuple(env.adapter.dead_letters())
        except ImplementationFault as exc:
            dead_error = str(exc)
    if env.declares(Capability.ALERTS):
        # An alert may follow the DEAD transition by a moment (it is sent after the ledger
        # write): wait a little for every dead job to be named before judging.
        dead_ids = {job_id for job_id, info in infos.items() if info.status is JobStatus.DEAD}
        listed: list[tuple[JSONObject, ...]] = [()]

        def all_alerted() -> bool:
            listed[0] = tuple(env.adapter.alerts())
            return dead_ids <= {str(a.get("job_id")) for a in listed[0] if a.get("kind")}

        try:
            env.wait_until(all_alerted, _ALERT_GRACE_S)
            alerts = listed[0]
        except ImplementationFault as exc:
            alerts_error = str(exc)
    return Failures(
        exhausted=tuple(exhausted),
        permanent=tuple(permanent),
        payloads=payloads,
        infos=infos,
        history=env.history(),
        dead_letters=dead,
        dead_letters_error=dead_error,
        alerts=alerts,
        alerts_error=alerts_error,
    )


def failures(env: Env) -> Failures:
    """Return the shared failure workload of this run (run once, reused)."""
    return env.shared("error_handling.failures", _failures)


def max_attempts(env: Env) -> Verdict:
    """Check that an always-failing job is attempted exactly the declared number of times."""
    limit = env.description.job(PROBE_DEFAULT).max_attempts
    if limit < 2:
        return failed(f"{PROBE_DEFAULT} declares max_attempts={limit}: no retries to verify")
    seen = failures(env)
    groups = attempts_by_job(seen.history)
    findings = []
    for job_id in seen.exhausted:
        count = len(groups.get(job_id, ()))
        if count != limit:
            more = "more than" if count > limit else "fewer than"
            findings.append(
                f"job {job_id}: {count} attempts, declared max {limit} ({more} declared)"
            )
        status = seen.infos[job_id].status
        if status is not JobStatus.DEAD:
            findings.append(
                f"job {job_id}: status {status.value} after exhausting its attempts, expected DEAD"
            )
    return judge(
        findings, f"{len(seen.exhausted)} always-failing jobs: {limit} attempts each, then DEAD"
    )


def backoff(env: Env) -> Verdict:
    """Retries wait the declared delays, at the declared jitter and tick, growing, capped.

    Two or more declared delays must grow (a constant delay is not backoff), and the observed
    ones must grow with them. Under jitter bounded away from zero, the median wait per declared
    delay rises from step to step; under jitter reaching zero (full jitter) the gaps are judged
    together (:func:`jobforge.conformance.tolerance.judge_backoff`).
    """
    spec = env.description.job(PROBE_DEFAULT)
    if not spec.backoff_delays_s:
        return failed(f"{PROBE_DEFAULT} declares no backoff_delays_s")
    delays = ", ".join(f"{d:g}" for d in spec.backoff_delays_s)
    steps = list(itertools.pairwise(spec.backoff_delays_s))
    if steps and (any(b < a for a, b in steps) or not any(b > a for a, b in steps)):
        return failed(
            f"{PROBE_DEFAULT} declares backoff delays {delays} s: they do not grow "
            "(retries back off with growing delays up to a cap)"
        )
    facts = tolerance.facts_of(spec, env.timing)
    seen = failures(env)
    groups = attempts_by_job(seen.history)
    judged = tolerance.judge_backoff(
        {job_id: retry_gaps(groups.get(job_id, ())) for job_id in seen.exhausted},
        spec.backoff_delays_s,
        facts,
    )
    if judged.gaps == 0:
        return failed("no retry was observed, so no backoff delay could be measured")
    findings = list(judged.findings)
    if not tolerance.jitter_reaches_zero(spec.backoff_delays_s, facts):
        samples = [
            sample
            for job_id in seen.exhausted
            for sample in retry_delays(job_id, groups.get(job_id, ()), spec.backoff_delays_s)
        ]
        findings += growth_violations(samples)
    if findings:
        return failed(*findings)
    if judged.undecided:
        return inconclusive(*judged.undecided)
    return passed(
        f"{judged.gaps} retry delays matched the declared {delays} s "
        f"({tolerance.describe(facts)}), growing"
    )


def _jitter_samples(env: Env) -> list[RetryDelay]:
    """Run jobs failing every attempt, submitted apart so their retries do not queue together."""
    spec = env.description.job(PROBE_DEFAULT)
    jobs = []
    for _ in range(env.size("jitter_jobs", JITTER_JOBS)):
        jobs.append(env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT, fail={"*": "transient"})))
        time.sleep(JITTER_SPACING_S)
    env.drain(jobs, env.drain_deadline())
    groups = attempts_by_job(env.history())
    samples: list[RetryDelay] = []
    for job_id in jobs:
        samples += retry_delays(job_id, groups.get(job_id, ()), spec.backoff_delays_s)
    return samples


def backoff_jitter(env: Env) -> Verdict:
    """Check that retry delays are jittered: not all at their declared nominal values.

    Scheduling latency only delays a retry, so a retry starting clearly (more than
    :data:`JITTER_EARLY_S`) before its declared delay proves jitter: pass. Jitter
    of at least :data:`MIN_JITTER_SHARE` of the declared jitter ratio (10 % of a delay at the
    default scale) lands a delay within that band of nominal at most half the time, so when
    nearly every delay is within it and none earlier, the chance that a jittered
    implementation looked like that is below :data:`JITTER_FALSE_FAIL`: fail. Anything between
    (latency hides the jitter) is inconclusive.
    """
    spec = env.description.job(PROBE_DEFAULT)
    if not spec.backoff_delays_s:
        return failed(f"{PROBE_DEFAULT} declares no backoff_delays_s")
    declared = tolerance.facts_of(spec, env.timing)
    if declared.jitter is JitterModel.NONE or (
        declared.jitter is JitterModel.RATIO and declared.jitter_ratio == 0
    ):
        return failed(
            f"{PROBE_DEFAULT} declares timing_facts jitter {declared.jitter.value!r} (no "
            "randomness): its retry delays are exact, "
            "so retries of jobs failing together retry together"
        )
    samples = _jitter_samples(env)
    amplitude = MIN_JITTER_SHARE * env.timing.jitter_ratio
    band = amplitude / 2
    facts = jitter_facts(samples, band, JITTER_EARLY_S)
    if facts.early:
        first = min(facts.early, key=lambda s: s.excess / s.declared)
        return passed(
            f"{len(facts.early)} of {facts.samples} retries started before their declared "
            f"delay (job {first.job_id} retry {first.retry}: {first.observed:.3f} s, declared "
            f"{first.declared:g} s): delays are jittered"
        )
    needed = next(
        (
            m
            for m in range(facts.samples + 1)
            if binomial_tail(facts.samples, 0.5, m) <= JITTER_FALSE_FAIL
        ),
        None,
    )
    if needed is not None and facts.nominal >= needed:
        return failed(
            f"{facts.nominal} of {facts.samples} retries started within {band:.1%} of their "
            f"declared delay and none earlier: delays are not jittered (jitter of "
            f"{amplitude:.0%} or more would look like this with probability < "
            f"{JITTER_FALSE_FAIL:g})"
        )
    return inconclusive(
        f"no retry of {facts.samples} started before its declared delay, but only "
        f"{facts.nominal} within {band:.1%} of it (the kit needs {needed} to conclude): "
        "scheduling latency hides whether the delays are jittered"
    )


def permanent_not_retried(env: Env) -> Verdict:
    """Check that a permanent error ends the job after one attempt, as DEAD."""
    seen = failures(env)
    groups = attempts_by_job(seen.history)
    findings = []
    for job_id in seen.permanent:
        count = len(groups.get(job_id, ()))
        if count != 1:
            findings.append(
                f"job {job_id}: permanent error attempted {count} times, expected 1 (no retry)"
            )
        status = seen.infos[job_id].status
        if status is not JobStatus.DEAD:
            findings.append(
                f"job {job_id}: status {status.value} after a permanent error, expected DEAD"
            )
    return judge(findings, f"{len(seen.permanent)} permanently failing jobs: one attempt, DEAD")


def dead_letter_context(env: Env) -> Verdict:
    """Every dead job is in the dead-letter queue with its payload, attempts and error."""
    seen = failures(env)
    if seen.dead_letters is None:
        return failed(seen.dead_letters_error or "dead letters were not listed")
    groups = attempts_by_job(seen.history)
    by_id = {d.job_id: d for d in seen.dead_letters}
    findings = []
    for job_id in seen.exhausted + seen.permanent:
        entry = by_id.get(job_id)
        observed = groups.get(job_id, ())
        if entry is None:
            findings.append(f"job {job_id}: dead but not in the dead-letter queue")
            continue
        expected_kind = "permanent" if job_id in seen.permanent else "transient"
        problems = []
        if entry.payload != seen.payloads[job_id]:
            problems.append("payload differs from the submitted one")
        if entry.job_type != PROBE_DEFAULT:
            problems.append(f"job_type {entry.job_type!r}, expected {PROBE_DEFAULT!r}")
        if entry.attempts != len(observed):
            problems.append(f"attempts {entry.attempts}, observed {len(observed)}")
        if not entry.error:
            problems.append("no error message")
        if entry.error_kind != expected_kind:
            problems.append(f"error_kind {entry.error_kind!r}, expected {expected_kind!r}")
        if observed and entry.failed_at < observed[-1].started_at - 1.0:
            problems.append("failed_at is before the last attempt started")
        if problems:
            findings.append(f"dead letter of job {job_id}: " + "; ".join(problems))
    total = len(seen.exhausted) + len(seen.permanent)
    return judge(findings, f"{total} dead jobs listed with payload, attempts, error and kind")


def alert(env: Env) -> Verdict:
    """Check that a job that goes dead raises an alert naming it."""
    seen = failures(env)
    if seen.alerts is None:
        return failed(seen.alerts_error or "alerts were not listed")
    alerted = {str(a.get("job_id")) for a in seen.alerts if a.get("kind")}
    jobs = seen.exhausted + seen.permanent
    dead = [j for j in jobs if seen.infos[j].status is JobStatus.DEAD]
    findings = [
        f"job {job_id}: went DEAD but no alert names it ({len(seen.alerts)} alerts fired)"
        for job_id in dead
        if job_id not in alerted
    ]
    if not dead:
        states = ", ".join(f"job {j} {seen.infos[j].status.value}" for j in jobs)
        findings.append(
            f"no job went DEAD by the drain deadline ({states}), so no alert could be seen"
        )
    return judge(findings, f"an alert fired for each of {len(dead)} dead jobs")


def replay(env: Env) -> Verdict:
    """Check that a dead job, once its cause is fixed, replays to completion, effects kept once.

    The job makes its effect in its first attempt and fails transiently until it is DEAD. When
    its own retries did not repeat the effect (the idempotency guard works; idempotency judges
    it otherwise), the replay must not repeat it either: a replay keeps the dead job's effect
    scope.
    """
    require_job_type(env, PROBE_DEFAULT)
    payload = env.probe(PROBE_DEFAULT, fail={"*": "transient"}, healable=True, effect=_EFFECT)
    probe_id = str(payload["probe_id"])
    job_id = env.submit(PROBE_DEFAULT, payload)
    info = env.drain([job_id], env.drain_deadline())[job_id]
    if info.status is not JobStatus.DEAD:
        return failed(
            f"job {job_id}: status {info.status.value} after failing every attempt, "
            "expected DEAD before a replay"
        )
    before = env.history()
    made = len(before.effects_of(probe_id))
    tries = len(before.attempts_of(probe_id))
    faults.heal(env, probe_id)
    new_id = env.adapter.replay(job_id)
    final = env.drain([new_id], env.drain_deadline())[new_id]
    hist = env.history()
    attempts = hist.attempts_of(probe_id)
    after = [a for a in attempts if a.job_id == new_id or a.attempt > info.attempts]
    findings = []
    if final.status is not JobStatus.COMPLETED:
        findings.append(f"replayed job {new_id}: status {final.status.value}, expected COMPLETED")
    if not any(a.outcome == "ok" for a in attempts):
        findings.append(f"job {job_id}: no successful attempt after replay ({len(attempts)} seen)")
    repeated = len(hist.effects_of(probe_id)) - made
    guarded = made == 1 and tries > 1  # its own retries did not repeat the effect
    if guarded and repeated > 0:
        findings.append(
            f"job {job_id}: made its effect {_EFFECT!r} once in {tries} attempts before it went "
            f"DEAD; replayed as {new_id}, the effect was made {repeated} more time(s), expected "
            "none (a replay keeps the dead job's effect scope)"
        )
    kept = (
        "effect not repeated"
        if guarded
        else f"effect scope not judged ({made} effect(s) in {tries} attempt(s) before the replay)"
    )
    return judge(
        findings,
        f"job {job_id} went DEAD, replayed as {new_id}: {len(after)} new attempt(s), "
        f"COMPLETED, {kept}",
    )


def timeout(env: Env) -> Verdict:
    """Check that an attempt running past its timeout is cut off, and the worker keeps working."""
    spec = env.description.job(PROBE_DEFAULT)
    if spec.timeout_s is None:
        return failed(f"{PROBE_DEFAULT} declares no timeout_s")
    limit = spec.timeout_s
    hang_s = 3 * limit
    payload = env.probe(PROBE_DEFAULT, sleep_s=hang_s, sleep_attempts=[1])
    job_id = env.submit(PROBE_DEFAULT, payload)
    info = env.drain([job_id], env.drain_deadline(hang_s))[job_id]
    follow = env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT))
    after = env.drain([follow], env.drain_deadline())[follow]
    attempts = [a for a in env.history().attempts if a.job_id == job_id]
    findings = []
    allowed = tolerance.timeout_allowance(limit, tolerance.facts_of(spec, env.timing))
    if not attempts:
        findings.append(f"job {job_id}: never started")
    else:
        first = attempts[0]
        if first.outcome == "ok":
            findings.append(
                f"job {job_id}: attempt 1 ran {first.duration_s or 0:.2f} s to completion, "
                f"declared timeout {limit:g} s"
            )
        elif first.duration_s is not None and first.duration_s > allowed:
            findings.append(
                f"job {job_id}: attempt 1 was cut off after {first.duration_s:.2f} s, declared "
                f"timeout {limit:g} s (allowed up to {allowed:.2f} s)"
            )
        elif (
            first.crashed
            and len(attempts) > 1
            and (attempts[1].started_at > first.started_at + hang_s)
        ):
            findings.append(f"job {job_id}: attempt 1 was not stopped before it would have ended")
    if info.status not in (JobStatus.COMPLETED, JobStatus.DEAD):
        findings.append(f"job {job_id}: still {info.status.value} after its timeout")
    if after.status is not JobStatus.COMPLETED:
        findings.append(
            f"job {follow}: a quick job after the timeout is {after.status.value}, expected "
            "COMPLETED (did the worker survive?)"
        )
    return judge(
        findings,
        f"job {job_id}: attempt 1 cut off at its {limit:g} s timeout; the next job completed",
    )


def checkpoint_resume(env: Env) -> Verdict:
    """Check that a long job failing mid-way resumes from its last checkpoint."""
    require_job_type(env, PROBE_LONG)
    steps, fail_at = 4, 2
    payload = env.probe(
        PROBE_LONG, steps=steps, step_s=0.05, fail={1: "transient"}, fail_at_step=fail_at
    )
    job_id = env.submit(PROBE_LONG, payload)
    info = env.drain([job_id], env.drain_deadline())[job_id]
    records = [c for c in env.history().checkpoints if c.job_id == job_id]
    loads = [c for c in records if c.action == "load" and c.attempt > 1]
    redone = sorted(c.step for c in records if c.action == "save" and c.attempt > 1)
    findings = not_terminal({job_id: info})
    if info.status is not JobStatus.COMPLETED:
        findings.append(f"job {job_id}: status {info.status.value}, expected COMPLETED")
    if not loads:
        findings.append(
            f"job {job_id}: the retry did not load the checkpoint saved at step "
            f"{fail_at}; it restarted from the beginning"
        )
    elif loads[0].step != fail_at:
        findings.append(f"job {job_id}: resumed from step {loads[0].step}, expected {fail_at}")
    if redone and redone[0] <= fail_at:
        findings.append(
            f"job {job_id}: the retry redid steps {redone}, expected only "
            f"{list(range(fail_at + 1, steps + 1))}"
        )
    return judge(
        findings,
        f"job {job_id}: failed after step {fail_at}, resumed there, finished steps {redone}",
    )


CHECKS = (
    Check(
        "error_handling.max_attempts",
        "Attempts never exceed the declared maximum",
        max_attempts,
        requires=(Capability.RETRIES,),
    ),
    Check(
        "error_handling.backoff",
        "Retries back off as declared, up to the cap",
        backoff,
        requires=(Capability.RETRIES, Capability.BACKOFF),
    ),
    Check(
        "error_handling.backoff_jitter",
        "Retry delays are jittered",
        backoff_jitter,
        requires=(Capability.RETRIES, Capability.BACKOFF),
    ),
    Check(
        "error_handling.permanent_not_retried",
        "Permanent errors are not retried",
        permanent_not_retried,
        requires=(Capability.RETRIES,),
    ),
    Check(
        "error_handling.dead_letter_context",
        "Dead jobs land in the DLQ with full context",
        dead_letter_context,
        requires=(Capability.DEAD_LETTER,),
    ),
    Check(
        "error_handling.replay",
        "A dead job can be replayed",
        replay,
        requires=(Capability.DEAD_LETTER, Capability.REPLAY),
    ),
    Check(
        "error_handling.alert", "A dead job raises an alert", alert, requires=(Capability.ALERTS,)
    ),
    Check(
        "error_handling.timeout",
        "Timeouts are enforced and the worker survives",
        timeout,
        requires=(Capability.TIMEOUTS,),
    ),
    Check(
        "error_handling.checkpoint_resume",
        "Long jobs resume from a checkpoint",
        checkpoint_resume,
        requires=(Capability.CHECKPOINTS, Capability.RETRIES),
    ),
)
