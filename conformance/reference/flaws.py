"""The reference implementation's switchable flaws: named, minimal, realistic defects.

Each flaw breaks exactly one rubric dimension, so the kit can prove it catches the defect and
blames the right dimension. A clean reference (no flaws) scores 35/35.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from jobforge.errors import UsageError

#: Flaw name -> what the defect does. Keys are stable: tests and the kit's cross-check use them.
FLAWS: Mapping[str, str] = MappingProxyType(
    {
        "no_idempotency": (
            "idempotency: a duplicate idempotency key enqueues a second job and "
            "claim_effect always says yes"
        ),
        "unbounded_retries": (
            "error_handling: transient failures retry past the declared max attempts "
            "(two extra attempts)"
        ),
        "retries_permanent": "error_handling: permanent errors are retried like transient ones",
        "no_backoff": "error_handling: retries are re-enqueued at once, without backoff",
        "no_timeout": "error_handling: the per-attempt timeout is not enforced",
        "no_dead_letter": (
            "error_handling: dead jobs are dropped; the dead-letter queue stays empty"
        ),
        "no_replay": "error_handling: replaying a dead job is not implemented",
        "loses_jobs_on_kill": (
            "scalability: a killed worker's in-flight job keeps its lease forever and is "
            "never redelivered"
        ),
        "overlapping_cron": (
            "scheduling: a tick fires even while the previous run of the entry is still running"
        ),
        "double_fire": (
            "scheduling: each scheduler instance keeps its own tick lock and schedule state, so "
            "two instances fire every tick twice"
        ),
        "ignores_concurrency_cap": (
            "concurrency: the global and per-type concurrency caps are not enforced"
        ),
        "no_progress": "observability: set_progress is accepted but never published",
        "miscounting_metrics": (
            "observability: a failed attempt that will be retried is counted as completed"
        ),
        "no_tests": "testing: the own test suite only checks the catalogue and runs no job",
        "health_always_ok": "observability: the health document says ok with no worker alive",
        "no_lease_renewal": (
            "scalability: a running job's lease is never renewed, so a job longer than its "
            "lease is taken back and run again while it still runs"
        ),
        "replay_repeats_effects": (
            "error_handling: a replayed dead job gets a fresh effect scope and repeats the "
            "effects the dead job already made"
        ),
        "constant_backoff": (
            "error_handling: retries wait the first backoff delay every time (declared so), "
            "never growing"
        ),
        "no_jitter": "error_handling: retry delays are exactly the declared ones, without jitter",
        "queues_skipped_ticks": (
            "scheduling: a tick skipped because the previous run was unfinished is fired late, "
            "as soon as that run ends"
        ),
    }
)


def validate_flaws(names: Iterable[str]) -> frozenset[str]:
    """Return ``names`` as a frozenset, or raise UsageError naming each unknown flaw."""
    chosen = frozenset(names)
    unknown = sorted(chosen - FLAWS.keys())
    if unknown:
        valid = ", ".join(sorted(FLAWS))
        bad = ", ".join(repr(name) for name in unknown)
        raise UsageError(
            f"unknown reference flaw(s) {bad}; choose from: {valid} (or none for a clean run)"
        )
    return chosen
