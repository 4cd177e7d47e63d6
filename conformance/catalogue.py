"""The check catalogue as the terminal shows it: ``jobforge checks``.

One entry per registered check: its id and dimension, what the implementation must declare for
it (capabilities, and the declared facts the check reads), and how to fix a failure (the
rubric's remediation). Texts come from the rubric and the check registry; only the declared
facts each check reads are listed here.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from jobforge.rubric.model import Rubric

from jobforge.errors import UsageError

from .checks import Check, all_checks

_TIMING = "timing_facts (jitter, resolution_s, truncates)"
#: Check id -> the declared facts (Description / JobSpec fields) it reads, beyond capabilities.
DECLARED_FACTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "idempotency.redelivery_after_crash": ("worker_pids or worker_alive (fault seam)",),
        "error_handling.max_attempts": ("probe.default max_attempts >= 2",),
        "error_handling.backoff": ("probe.default backoff_delays_s", _TIMING),
        "error_handling.backoff_jitter": (
            "probe.default backoff_delays_s",
            "timing_facts jitter (none fails)",
        ),
        "error_handling.timeout": ("probe.default timeout_s", "timing_facts resolution_s"),
        "concurrency.global_cap": ("global_concurrency", "worker_concurrency"),
        "concurrency.per_type_cap": ("probe.limited concurrency_limit",),
        "concurrency.rate_limit": ("probe.rate rate_limit_per_s",),
        "concurrency.unique_jobs": ("probe.unique unique",),
        "concurrency.priority_order": ("probe.priority priority",),
        "scheduling.on_time": ("probe.scheduled schedule_interval_s", _TIMING),
        "scheduling.no_overlap": ("probe.scheduled overlap_policy",),
        "scheduling.missed_run_policy": ("probe.scheduled missed_run_policy",),
        "scheduling.delayed_not_early": ("probe.default " + _TIMING,),
        "scalability.throughput_scales": ("worker_concurrency", "global_concurrency"),
        "scalability.graceful_shutdown": ("worker_pids or worker_alive (fault seam)",),
        "scalability.sigkill_recovery": ("worker_pids or worker_alive (fault seam)",),
        "testing.suite_green": ("test_command", "test_cwd"),
        "testing.real_broker_used": ("backend", "real_broker"),
    }
)


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One check as the catalogue lists it."""

    check_id: str
    dimension: str
    title: str
    level: int  # the lowest rubric level that needs the check
    verifies: str
    needs: tuple[str, ...]
    fix: str


def entries(rubric: Rubric, checks: Sequence[Check] | None = None) -> list[Entry]:
    """Join the kit's checks with the rubric's texts, in run order."""
    found = []
    for check in checks if checks is not None else all_checks():
        dim = rubric.dimension(check.dimension)
        text = rubric.check(check.check_id)
        capabilities = [f"capability {c.value}" for c in check.requires]
        found.append(
            Entry(
                check_id=check.check_id,
                dimension=dim.title,
                title=text.title,
                level=3 if check.check_id in dim.level(3).requires else 5,
                verifies=text.verifies,
                needs=(*capabilities, *DECLARED_FACTS.get(check.check_id, ())),
                fix=text.remediation,
            )
        )
    return found


def select(wanted: Sequence[str], checks: Sequence[Check] | None = None) -> tuple[Check, ...]:
    """Return the checks named by id or dimension (all when ``wanted`` is empty)."""
    pool = tuple(checks) if checks is not None else all_checks()
    if not wanted:
        return pool
    known = {c.check_id for c in pool} | {c.dimension for c in pool}
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)}: no such check id or dimension; run `jobforge checks` for "
            "the list"
        )
    return tuple(c for c in pool if c.check_id in wanted or c.dimension in wanted)


def render(found: Sequence[Entry], width: int | None = None) -> str:
    """Render entries as wrapped plain text for a terminal ``width`` columns wide."""
    cols = width or min(shutil.get_terminal_size((100, 24)).columns, 100)
    lines: list[str] = []

    def field(label: str, value: str) -> None:
        lines.extend(
            textwrap.wrap(
                value,
                width=cols,
                initial_indent=f"  {label:<10}",
                subsequent_indent=" " * 12,
                break_on_hyphens=False,
            )
        )

    for entry in found:
        lines.extend(
            textwrap.wrap(
                f"{entry.check_id}  [{entry.dimension}, level {entry.level}]",
                width=cols,
                subsequent_indent=" " * 12,
            )
        )
        field("title", entry.title)
        field("proves", entry.verifies)
        field("declare", "; ".join(entry.needs) or "nothing beyond the probe job types")
        field("fix", entry.fix)
        lines.append("")
    return "\n".join(lines)
