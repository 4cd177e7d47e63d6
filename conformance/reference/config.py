"""The reference job system's behaviour switches and sizing, one frozen value.

A clean system uses the defaults. Each flaw (see :mod:`.flaws`) turns exactly one switch, so the
components read plain booleans and never look at flaw names.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Behaviour:
    """Switches of the job system. The defaults are the correct behaviour."""

    dedupe_idempotency_keys: bool = True  # a duplicate key returns the first job id
    guard_effects: bool = True  # claim_effect remembers claimed (scope, effect) pairs
    extra_attempts: int = 0  # attempts allowed past the declared max (0 = honour it)
    retry_permanent: bool = False  # treat permanent errors as transient
    apply_backoff: bool = True  # wait the declared delay before a retry
    enforce_timeouts: bool = True  # abandon an attempt that overruns its time limit
    keep_dead_letters: bool = True  # dead jobs are listed in the dead-letter queue
    allow_replay: bool = True  # dead jobs may be re-enqueued by hand
    recover_expired_leases: bool = True  # redeliver a job whose worker stopped renewing its lease
    prevent_overlap: bool = True  # skip a tick while the entry's previous run is unfinished
    shared_tick_lock: bool = True  # scheduler instances share one lock per tick
    enforce_caps: bool = True  # global and per-type concurrency caps
    publish_progress: bool = True  # set_progress is visible through inspect
    count_retries_as_completed: bool = False  # metrics bug: a retried attempt counts as completed
    run_job_tests: bool = True  # the own test suite executes jobs
    health_reflects_workers: bool = True  # health is not ok while no worker is alive
    renew_leases: bool = True  # a running attempt keeps extending its job's lease
    replay_keeps_scope: bool = True  # a replayed job claims effects in the dead job's scope
    growing_backoff: bool = True  # retry delays grow as the probe catalogue gives them
    jitter_backoff: bool = True  # each retry delay is moved by a random jitter
    queue_skipped_ticks: bool = False  # a tick skipped for overlap runs once the last run ends


#: What each flaw changes. Keys match :data:`.flaws.FLAWS`.
FLAW_SWITCHES: dict[str, dict[str, object]] = {
    "no_idempotency": {"dedupe_idempotency_keys": False, "guard_effects": False},
    "unbounded_retries": {"extra_attempts": 2},
    "retries_permanent": {"retry_permanent": True},
    "no_backoff": {"apply_backoff": False},
    "no_timeout": {"enforce_timeouts": False},
    "no_dead_letter": {"keep_dead_letters": False},
    "no_replay": {"allow_replay": False},
    "loses_jobs_on_kill": {"recover_expired_leases": False},
    "overlapping_cron": {"prevent_overlap": False},
    "double_fire": {"shared_tick_lock": False},
    "ignores_concurrency_cap": {"enforce_caps": False},
    "no_progress": {"publish_progress": False},
    "miscounting_metrics": {"count_retries_as_completed": True},
    "no_tests": {"run_job_tests": False},
    "health_always_ok": {"health_reflects_workers": False},
    "no_lease_renewal": {"renew_leases": False},
    "replay_repeats_effects": {"replay_keeps_scope": False},
    "constant_backoff": {"growing_backoff": False},
    "no_jitter": {"jitter_backoff": False},
    "queues_skipped_ticks": {"queue_skipped_ticks": True},
}


def behaviour_for(flaws: Iterable[str]) -> Behaviour:
    """Return the behaviour with every named flaw's switches turned (names validated)."""
    changes: dict[str, object] = {}
    for name in sorted(flaws):
        changes.update(FLAW_SWITCHES[name])
    return dataclasses.replace(Behaviour(), **changes)  # type: ignore[arg-type]
