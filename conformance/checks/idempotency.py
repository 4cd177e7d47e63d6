"""Idempotency: delivery may repeat, effects must not.

These checks judge duplicated *effects* only. A job that never runs is a loss, judged by the
scalability checks; here it is evidence, never a reason to fail.
"""

from __future__ import annotations

from .. import faults
from ..adapter import Capability
from ..checkers import duplicated_effects, effect_counts
from ..env import Env, not_terminal
from ..probes import PROBE_DEFAULT, PROBE_LONG, PROBE_TYPES, PROBE_UNIQUE
from .base import Check, Verdict, failed, judge, require_job_type


def _key(env: Env, probe_id: str) -> str:
    return f"{env.ledger.run_id}:{probe_id}"


def _missing_effects(env: Env, expected: list[str]) -> list[str]:
    counts = effect_counts(env.history().effects)
    return [
        f"effect {key!r}: never applied; the job did not run to its effect (expected once)"
        for key in expected
        if counts[key] == 0
    ]


def duplicate_submit(env: Env) -> Verdict:
    """Submit each job twice at once and once more after it finished: one effect each."""
    require_job_type(env, PROBE_DEFAULT)
    job_ids: list[str] = []
    effects: list[str] = []
    payloads = []
    for _ in range(env.size("duplicates", 3)):
        payload = env.probe(PROBE_DEFAULT)
        effect = f"{payload['probe_id']}:effect"
        payload["effect"] = effect
        key = _key(env, str(payload["probe_id"]))
        payloads.append((payload, key))
        effects.append(effect)
        job_ids += [env.submit(PROBE_DEFAULT, payload, idempotency_key=key) for _ in range(2)]
    infos = env.drain(job_ids, env.drain_deadline())
    late = [env.submit(PROBE_DEFAULT, p, idempotency_key=k) for p, k in payloads]
    infos |= env.drain(late, env.drain_deadline())
    findings = duplicated_effects(env.history().effects)
    findings += _missing_effects(env, effects) + not_terminal(infos)
    return judge(
        findings,
        f"{len(effects)} jobs submitted 3 times each (twice at once, once after finishing) "
        f"with the same idempotency key: each effect applied exactly once",
    )


def redelivery_after_crash(env: Env) -> Verdict:
    """Kill the worker after the effect but before the job finished: no second effect."""
    require_job_type(env, PROBE_LONG)
    hold_s = 1.5
    payload = env.probe(PROBE_LONG)
    effect = f"{payload['probe_id']}:effect"
    payload |= {"effect": effect, "sleep_s": hold_s, "sleep_attempts": [1]}
    job = env.submit(PROBE_LONG, payload, idempotency_key=_key(env, str(payload["probe_id"])))
    seen = env.wait_history(lambda h: bool(h.effects), env.drain_deadline())
    if not seen.effects:
        return failed(f"job {job}: never ran to its effect within the deadline")
    faults.kill_running(env, seen)
    env.pool.ensure(2)
    infos = env.drain([job], env.timing.lease_s * 3 + hold_s + 5.0)
    hist = env.history()
    findings = duplicated_effects(hist.effects)
    redelivered = len(hist.attempts) > 1
    note = (
        f"job {job}: redelivered after its worker was killed ({len(hist.attempts)} attempts), "
        "effect applied once"
        if redelivered
        else f"job {job}: not redelivered after the kill (status {infos[job].status.value}); "
        "one effect; losing the job is judged by scalability.sigkill_recovery"
    )
    return judge(findings, note)


def retry_after_partial_effect(env: Env) -> Verdict:
    """Fail the first attempt after its effect; the retry must not apply it again."""
    env.require(Capability.RETRIES)
    require_job_type(env, PROBE_DEFAULT)
    job_ids, effects = [], []
    for _ in range(env.size("partial", 2)):
        payload = env.probe(PROBE_DEFAULT, fail={1: "transient"})
        effect = f"{payload['probe_id']}:effect"
        payload["effect"] = effect
        effects.append(effect)
        key = _key(env, str(payload["probe_id"]))
        job_ids.append(env.submit(PROBE_DEFAULT, payload, idempotency_key=key))
    infos = env.drain(job_ids, env.drain_deadline())
    hist = env.history()
    findings = duplicated_effects(hist.effects) + _missing_effects(env, effects)
    for job_id in job_ids:
        attempts = [a for a in hist.attempts if a.job_id == job_id]
        if len(attempts) < 2:
            findings.append(
                f"job {job_id}: {len(attempts)} attempt(s); the transient failure after the "
                "effect was never retried, so the retry's effect guard was not exercised"
            )
    findings += not_terminal(infos)
    return judge(
        findings,
        f"{len(job_ids)} jobs failed after their effect and were retried: each effect applied once",
    )


def rerun_each_job_type(env: Env) -> Verdict:
    """Run every catalogued probe type twice with the same key: the effect happens once."""
    catalogued = [s.name for s in env.description.jobs]
    probe_types = [name for name in PROBE_TYPES if name in catalogued]
    if PROBE_DEFAULT not in probe_types:
        require_job_type(env, PROBE_DEFAULT)
    firsts, seconds, effects = [], [], {}
    plan = []
    for job_type in probe_types:
        payload = env.probe(job_type)
        effect = f"{payload['probe_id']}:effect"
        payload["effect"] = effect
        if job_type == PROBE_UNIQUE:
            payload["unique_key"] = str(payload["probe_id"])
        effects[job_type] = effect
        plan.append((job_type, payload, _key(env, str(payload["probe_id"]))))
    for job_type, payload, key in plan:
        firsts.append(env.submit(job_type, payload, idempotency_key=key))
    infos = env.drain(firsts, env.drain_deadline())
    for job_type, payload, key in plan:
        seconds.append(env.submit(job_type, payload, idempotency_key=key))
    infos |= env.drain(seconds, env.drain_deadline())
    findings = duplicated_effects(env.history().effects)
    findings += _missing_effects(env, list(effects.values())) + not_terminal(infos)
    others = sorted(set(catalogued) - set(PROBE_TYPES))
    observed = [f"job types run twice with one key, one effect each: {', '.join(probe_types)}"]
    if others:
        observed.append(
            f"not observable by the kit (no probe body): {', '.join(others)}; cover them in "
            "the implementation's own tests"
        )
    return judge(findings, *observed)


CHECKS = (
    Check(
        "idempotency.duplicate_submit",
        "Duplicate submissions apply the effect once",
        duplicate_submit,
        requires=(Capability.IDEMPOTENCY_KEYS,),
    ),
    Check(
        "idempotency.redelivery_after_crash",
        "A job redelivered after a worker crash applies its effect once",
        redelivery_after_crash,
        requires=(Capability.IDEMPOTENCY_KEYS, Capability.KILL_WORKER),
    ),
    Check(
        "idempotency.retry_after_partial_effect",
        "A retry after a partial effect does not repeat it",
        retry_after_partial_effect,
        requires=(Capability.IDEMPOTENCY_KEYS, Capability.RETRIES),
    ),
    Check(
        "idempotency.rerun_each_job_type",
        "Every job type run twice gives the same effects",
        rerun_each_job_type,
        requires=(Capability.IDEMPOTENCY_KEYS,),
    ),
)
