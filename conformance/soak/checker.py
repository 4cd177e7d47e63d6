"""The total-queue checker: a pure function from a recorded history to an accounting.

Every job the kit enqueued (each distinct job id a submission returned) ends in exactly one
state: *completed* (an attempt of it ended ``ok`` in the ledger), *dead* (the implementation
reports it DEAD; the reason comes from its dead letter, its error or its last attempt) or
*lost* (neither, after the drain). Every effect is checked against what was enqueued: the same
effect key applied more than once is *duplicated*, an effect no submission asked for is
*unexpected*. The truth is the ledger: a job the implementation calls COMPLETED without an
``ok`` attempt is lost, with that claim in its reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from ..adapter import JobStatus
from ..history import OUTCOME_OK, Attempt, Effect, Event, History, Submission
from .plan import SCOPE, effect_key

#: Ledger event (subject: job id) with the implementation's last view of a job after the drain.
FINAL_EVENT: Final = "soak.final"
#: Ledger event (subject: job id) with the job's dead letter, when the implementation has one.
DEAD_LETTER_EVENT: Final = "soak.dead_letter"
#: Ledger event marking the end of the drain (its time closes the timeline).
DRAINED_EVENT: Final = "soak.drained"

COMPLETED: Final = "completed"
DEAD: Final = "dead"
LOST: Final = "lost"


@dataclass(frozen=True, kw_only=True)
class JobAccount:
    """What became of one enqueued job."""

    job_id: str
    probe_id: str
    job_type: str
    state: str  # COMPLETED, DEAD or LOST
    reason: str  # why it is dead or lost; empty for a completed job
    submitted_at: float
    ended_at: float | None  # completion or death (last attempt's end); None when lost
    attempts: int


@dataclass(frozen=True, kw_only=True)
class DuplicatedEffect:
    """An effect key applied more than once."""

    key: str
    probe_id: str
    job_ids: tuple[str, ...]  # the job of each application, in recorded order
    idempotency_keys: tuple[str, ...]  # the keys its jobs were submitted with
    count: int


@dataclass(frozen=True, kw_only=True)
class UnexpectedEffect:
    """An effect no submission asked for."""

    key: str
    probe_id: str
    job_id: str
    at: float


@dataclass(frozen=True, kw_only=True)
class Latency:
    """Enqueue -> completion latency of the completed jobs, in seconds (nearest-rank)."""

    count: int
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None


@dataclass(frozen=True, kw_only=True)
class Bucket:
    """One interval of the timeline."""

    start_s: float  # seconds after the first submission
    submitted: int
    completed: int
    dead: int
    open_jobs: int  # enqueued and neither completed nor dead at the bucket's end
    peak_open_jobs: int  # the most open jobs at any moment of the bucket (the queue depth)


@dataclass(frozen=True, kw_only=True)
class Accounting:
    """The checker's result."""

    jobs: tuple[JobAccount, ...]
    duplicated: tuple[DuplicatedEffect, ...]
    unexpected: tuple[UnexpectedEffect, ...]
    latency: Latency
    bucket_s: float
    timeline: tuple[Bucket, ...]
    started_at: float  # unix time of the first submission (0.0 without any)

    def of_state(self, state: str) -> tuple[JobAccount, ...]:
        """Return the jobs that ended in ``state``."""
        return tuple(j for j in self.jobs if j.state == state)

    @property
    def clean(self) -> bool:
        """Nothing lost, duplicated or unexpected."""
        return not (self.of_state(LOST) or self.duplicated or self.unexpected)


def percentile(values: Sequence[float], pct: float) -> float | None:
    """Return the nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def _events(events: Iterable[Event], kind: str) -> dict[str, Event]:
    return {e.subject: e for e in events if e.kind == kind}


def _text(detail: Mapping[str, object], name: str) -> str:
    value = detail.get(name)
    return str(value) if value not in (None, "") else ""


def _dead_reason(job_id: str, mine: Sequence[Attempt], dlq: Event | None, final: Event) -> str:
    if dlq is not None:
        kind, error = _text(dlq.detail, "error_kind"), _text(dlq.detail, "error")
        return f"dead letter ({kind or 'unclassified'}): {error or 'no error text'}"
    error = _text(final.detail, "error")
    if error:
        return f"DEAD: {error}"
    ended = [a for a in mine if a.outcome is not None]
    if ended:
        last = ended[-1]
        return f"DEAD after attempt {last.attempt} ended {last.outcome}: {last.error or ''}".strip()
    return f"DEAD with no reason given and no attempt recorded for job {job_id}"


def _lost_reason(mine: Sequence[Attempt], final: Event | None) -> str:
    status = _text(final.detail, "status") if final is not None else ""
    said = f"the implementation says {status}" if status else "no final status was read"
    if not mine:
        return f"never started; {said}"
    last = mine[-1]
    how = (
        "never ended (its worker was killed)"
        if last.outcome is None
        else f"ended {last.outcome}{': ' + last.error if last.error else ''}"
    )
    claim = " without any attempt ending ok" if status == JobStatus.COMPLETED.value else ""
    return (
        f"{said}{claim}; {len(mine)} attempt(s), the last (attempt {last.attempt} on "
        f"{last.worker}) {how}"
    )


def _account_job(
    sub: Submission,
    mine: Sequence[Attempt],
    finals: Mapping[str, Event],
    dlqs: Mapping[str, Event],
) -> JobAccount:
    ok = [a.ended_at for a in mine if a.outcome == OUTCOME_OK and a.ended_at is not None]
    final = finals.get(sub.job_id)
    ends = [a.ended_at for a in mine if a.ended_at is not None]
    if ok:
        state, reason, ended_at = COMPLETED, "", min(ok)
    elif final is not None and _text(final.detail, "status") == JobStatus.DEAD.value:
        state = DEAD
        reason = _dead_reason(sub.job_id, mine, dlqs.get(sub.job_id), final)
        ended_at = max(ends) if ends else final.at
    else:
        state, reason, ended_at = LOST, _lost_reason(mine, final), None
    return JobAccount(
        job_id=sub.job_id,
        probe_id=sub.probe_id,
        job_type=sub.job_type,
        state=state,
        reason=reason,
        submitted_at=sub.at,
        ended_at=ended_at,
        attempts=len(mine),
    )


def _effects(
    effects: Sequence[Effect], submissions: Sequence[Submission]
) -> tuple[tuple[DuplicatedEffect, ...], tuple[UnexpectedEffect, ...]]:
    expected = {effect_key(s.probe_id): s.probe_id for s in submissions}
    keys_of: dict[str, set[str]] = {}
    for s in submissions:
        if s.idempotency_key is not None:
            keys_of.setdefault(s.probe_id, set()).add(s.idempotency_key)
    by_key: dict[str, list[Effect]] = {}
    unexpected = []
    for effect in effects:
        if expected.get(effect.key) != effect.probe_id:
            unexpected.append(
                UnexpectedEffect(
                    key=effect.key, probe_id=effect.probe_id, job_id=effect.job_id, at=effect.at
                )
            )
            continue
        by_key.setdefault(effect.key, []).append(effect)
    duplicated = tuple(
        DuplicatedEffect(
            key=key,
            probe_id=applied[0].probe_id,
            job_ids=tuple(e.job_id for e in applied),
            idempotency_keys=tuple(sorted(keys_of.get(applied[0].probe_id, ()))),
            count=len(applied),
        )
        for key, applied in by_key.items()
        if len(applied) > 1
    )
    return duplicated, tuple(unexpected)


def _timeline(
    jobs: Sequence[JobAccount], submissions: Sequence[Submission], end: float, bucket_s: float
) -> tuple[Bucket, ...]:
    if not submissions:
        return ()
    start = min(s.at for s in submissions)
    count = int((end - start) // bucket_s) + 1  # the last bucket holds ``end`` itself
    # +1 when a job is enqueued, -1 when it completes or dies; ends first at equal times
    steps = sorted(
        [(j.submitted_at, 1) for j in jobs]
        + [(j.ended_at, -1) for j in jobs if j.ended_at is not None]
    )
    buckets, level, cursor = [], 0, 0
    for i in range(count):
        low, high = start + i * bucket_s, start + (i + 1) * bucket_s
        peak = level
        while cursor < len(steps) and steps[cursor][0] < high:
            level += steps[cursor][1]
            peak = max(peak, level)
            cursor += 1
        ended = [j for j in jobs if j.ended_at is not None and low <= j.ended_at < high]
        buckets.append(
            Bucket(
                start_s=round(i * bucket_s, 3),
                submitted=sum(1 for j in jobs if low <= j.submitted_at < high),
                completed=sum(1 for j in ended if j.state == COMPLETED),
                dead=sum(1 for j in ended if j.state == DEAD),
                open_jobs=level,
                peak_open_jobs=peak,
            )
        )
    return tuple(buckets)


def bucket_size(span_s: float, most: int = 120) -> float:
    """Return a round bucket width giving at most ``most`` buckets over ``span_s``."""
    for width in (0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0):
        if span_s / width <= most:
            return width
    return math.ceil(span_s / most)


def account(hist: History, scope: str = SCOPE) -> Accounting:
    """Account for every job enqueued under ``scope`` and every effect in ``hist``.

    Effects of every scope are checked: an effect recorded anywhere that no submission of
    ``scope`` asked for is unexpected.
    """
    submissions = [s for s in hist.submissions if s.scope == scope]
    first: dict[str, Submission] = {}
    for sub in submissions:
        first.setdefault(sub.job_id, sub)
    attempts: dict[str, list[Attempt]] = {}
    for attempt in sorted(hist.attempts, key=lambda a: (a.started_at, a.row)):
        if attempt.scope == scope:
            attempts.setdefault(attempt.job_id, []).append(attempt)
    finals = _events(hist.events, FINAL_EVENT)
    dlqs = _events(hist.events, DEAD_LETTER_EVENT)
    jobs = tuple(
        _account_job(sub, attempts.get(job_id, []), finals, dlqs) for job_id, sub in first.items()
    )
    duplicated, unexpected = _effects(hist.effects, submissions)
    latencies = [j.ended_at - j.submitted_at for j in jobs if j.state == COMPLETED and j.ended_at]
    ends = [j.ended_at for j in jobs if j.ended_at is not None]
    drained = [e.at for e in hist.events if e.kind == DRAINED_EVENT]
    start = min((s.at for s in submissions), default=0.0)
    end = max([*ends, *drained, *(s.at for s in submissions)], default=start)
    width = bucket_size(end - start)
    return Accounting(
        jobs=jobs,
        duplicated=duplicated,
        unexpected=unexpected,
        latency=Latency(
            count=len(latencies),
            p50=percentile(latencies, 50),
            p95=percentile(latencies, 95),
            p99=percentile(latencies, 99),
            max=max(latencies, default=None),
        ),
        bucket_s=width,
        timeline=_timeline(jobs, submissions, end, width),
        started_at=start,
    )
