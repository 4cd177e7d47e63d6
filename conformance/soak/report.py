"""The soak's reports: the JSON document (schema: ``soak-report.schema.json``) and the summary.

Both are built from the :class:`~.driver.SoakRun` and the checker's :class:`~.checker.Accounting`;
the timeline SVG (:mod:`.timeline`) reads the JSON document, so every report shows the same run.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from ..adapter import JSONObject
from .checker import COMPLETED, DEAD, LOST, Accounting, JobAccount
from .driver import FaultOutcome, SoakRun
from .plan import FaultKind, FaultPlan

SCHEMA_VERSION: Final = 1
#: The JSON Schema every report validates against.
SCHEMA_PATH: Final = Path(__file__).with_name("soak-report.schema.json")
EXIT_CLEAN: Final = 0
EXIT_DIRTY: Final = 1
#: How many lost jobs and duplicated effects the terminal summary lists (the JSON has all).
SHOWN: Final = 20


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _fault(outcome: FaultOutcome, start: float) -> JSONObject:
    injected = outcome.injected
    return {
        "index": injected.plan.index,
        "kind": injected.plan.kind.value,
        "planned_at_s": injected.plan.at_s,
        "at_s": round(injected.at - start, 3),
        "target": injected.target,
        "verified": outcome.verified,
        "problems": list(outcome.problems),
        "detail": injected.detail,
    }


def _by_kind(run: SoakRun) -> dict[str, tuple[int, int, int]]:
    """Per applicable kind: faults planned, injected and verified."""
    counts = {}
    for kind in run.plan.kinds:
        mine = [f for f in run.faults if f.injected.plan.kind is kind]
        planned = sum(1 for f in run.plan.faults if f.kind is kind)
        counts[kind.value] = (planned, len(mine), sum(1 for f in mine if f.verified))
    return counts


def _job(job: JobAccount) -> JSONObject:
    return {
        "job_id": job.job_id,
        "probe_id": job.probe_id,
        "job_type": job.job_type,
        "attempts": job.attempts,
        "reason": job.reason,
    }


def _reason_kind(reason: str) -> str:
    """``dead letter (permanent)`` from a full reason, for counting."""
    return reason.split(":", 1)[0]


def build(run: SoakRun, acc: Accounting) -> JSONObject:
    """Build the JSON report of one soak."""
    start = acc.started_at
    lost, dead = acc.of_state(LOST), acc.of_state(DEAD)
    dirty = not acc.clean
    desc = run.description
    return {
        "schema_version": SCHEMA_VERSION,
        "implementation": {"name": desc.name, "version": desc.version, "backend": desc.backend},
        "run": {
            "started_at": datetime.fromtimestamp(start, UTC).isoformat() if start else None,
            "duration_s": run.duration_s,
            "drain_s": run.drain_s,
            "drained": run.drained,
        },
        "plan": run.plan.to_json(),
        "faults": {
            "by_kind": {
                kind: {"planned": planned, "injected": injected, "verified": verified}
                for kind, (planned, injected, verified) in _by_kind(run).items()
            },
            "events": [_fault(f, start) for f in run.faults],
        },
        "jobs": {
            "planned": len(run.plan.jobs),
            "enqueued": len(acc.jobs),
            "completed": len(acc.of_state(COMPLETED)),
            "dead": len(dead),
            "lost": len(lost),
            "not_enqueued": list(run.not_enqueued),
            "dead_reasons": dict(Counter(_reason_kind(j.reason) for j in dead)),
            "dead_jobs": [_job(j) for j in dead],
            "lost_jobs": [_job(j) for j in lost],
        },
        "effects": {
            "applied": len(run.history.effects),
            "duplicated": [
                {
                    "key": d.key,
                    "probe_id": d.probe_id,
                    "job_ids": list(d.job_ids),
                    "idempotency_keys": list(d.idempotency_keys),
                    "count": d.count,
                }
                for d in acc.duplicated
            ],
            "unexpected": [
                {"key": u.key, "probe_id": u.probe_id, "job_id": u.job_id, "at_s": u.at - start}
                for u in acc.unexpected
            ],
        },
        "latency_s": {
            "count": acc.latency.count,
            "p50": _round(acc.latency.p50),
            "p95": _round(acc.latency.p95),
            "p99": _round(acc.latency.p99),
            "max": _round(acc.latency.max),
        },
        "throughput": {
            "bucket_s": acc.bucket_s,
            "buckets": [
                {
                    "start_s": b.start_s,
                    "submitted": b.submitted,
                    "completed": b.completed,
                    "dead": b.dead,
                    "open_jobs": b.open_jobs,
                    "peak_open_jobs": b.peak_open_jobs,
                }
                for b in acc.timeline
            ],
        },
        "verdict": {
            "clean": not dirty,
            "exit_code": EXIT_DIRTY if dirty else EXIT_CLEAN,
            "lost": len(lost),
            "duplicated": len(acc.duplicated),
            "unexpected": len(acc.unexpected),
            "unverified_faults": sum(1 for f in run.faults if not f.verified),
        },
    }


def write(document: JSONObject, path: Path) -> None:
    """Write the JSON report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", "utf-8")


def schedule_lines(seed: int, faults: tuple[FaultPlan, ...], kinds: tuple[FaultKind, ...]) -> str:
    """Render the seed and the fault schedule, as printed before a soak starts."""
    names = ", ".join(k.value for k in kinds) or "none"
    lines = [f"seed {seed}: {len(faults)} faults planned ({names})"]
    row: list[str] = []
    for fault in faults:
        row.append(f"{fault.at_s:7.2f}s {fault.kind.value}")
        if len(row) == 4:
            lines.append("  " + " | ".join(row))
            row = []
    if row:
        lines.append("  " + " | ".join(row))
    return "\n".join(lines) + "\n"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f} s"


def summary(run: SoakRun, acc: Accounting) -> str:
    """Render the terminal summary of one soak."""
    desc, config = run.description, run.plan.config
    lines = [
        f"soak of {desc.name} {desc.version} ({desc.backend}): seed {config.seed}, "
        f"{config.jobs} jobs over {config.duration_s:g} s, {config.workers} workers",
        "faults (planned / injected / verified):",
    ]
    for kind, (planned, injected, verified) in _by_kind(run).items():
        lines.append(f"  {kind:<16} {planned:>4} / {injected:>4} / {verified:>4}")
    lost, dead = acc.of_state(LOST), acc.of_state(DEAD)
    refused = f" ({len(run.not_enqueued)} refused at submit)" if run.not_enqueued else ""
    reasons = Counter(_reason_kind(j.reason) for j in dead)
    lat = acc.latency
    lines += [
        f"jobs: {len(acc.jobs)} enqueued: {len(acc.of_state(COMPLETED))} completed, "
        f"{len(dead)} dead, {len(lost)} lost{refused}",
        "dead reasons: " + (", ".join(f"{k} x{n}" for k, n in reasons.items()) or "none"),
        f"effects: {len(run.history.effects)} applied, {len(acc.duplicated)} duplicated, "
        f"{len(acc.unexpected)} unexpected",
        f"latency enqueue->completion ({lat.count} jobs): p50 {_seconds(lat.p50)}, "
        f"p95 {_seconds(lat.p95)}, p99 {_seconds(lat.p99)}, max {_seconds(lat.max)}",
    ]
    lines += [f"  LOST {j.job_id} ({j.probe_id}): {j.reason}" for j in lost[:SHOWN]]
    lines += [
        f"  DUPLICATED {d.key} x{d.count} by jobs {', '.join(d.job_ids)}"
        for d in acc.duplicated[:SHOWN]
    ]
    lines += [f"  UNEXPECTED {u.key} by job {u.job_id}" for u in acc.unexpected[:SHOWN]]
    unverified = [f for f in run.faults if not f.verified]
    for outcome in unverified[:SHOWN]:
        plan = outcome.injected.plan
        lines.append(
            f"  UNVERIFIED fault #{plan.index} {plan.kind.value}: {'; '.join(outcome.problems)}"
        )
    if not run.drained:
        lines.append(f"note: the drain ran out after {run.drain_s:.1f} s with jobs unsettled")
    state = "clean" if acc.clean else "NOT clean"
    code = EXIT_CLEAN if acc.clean else EXIT_DIRTY
    lines.append(
        f"verdict: {state}: {len(lost)} lost, {len(acc.duplicated)} duplicated, "
        f"{len(acc.unexpected)} unexpected (exit {code}); run took {run.duration_s:.1f} s "
        f"(drain {run.drain_s:.1f} s)"
    )
    return "\n".join(lines) + "\n"
