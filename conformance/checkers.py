"""Pure checker functions over a recorded :class:`~jobforge.conformance.history.History`.

Each function reads records and returns facts (numbers, intervals) or findings (one evidence line
per defect, naming the job, what was expected and what was observed). None of them talks to an
implementation, sleeps or reads a clock unless it is given one, so each is unit-tested on
hand-made histories. The checks (:mod:`jobforge.conformance.checks`) combine them into verdicts.
"""

from __future__ import annotations

import bisect
import itertools
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .history import OUTCOME_OK, Attempt, Effect, History


@dataclass(frozen=True)
class Interval:
    """A span of time a job attempt occupied, ``end`` None meaning still open (or crashed)."""

    label: str
    start: float
    end: float | None

    def end_or(self, now: float) -> float:
        """Return the end, or ``now`` for an open interval."""
        return now if self.end is None else self.end


def attempts_by_job(history: History) -> dict[str, tuple[Attempt, ...]]:
    """Group attempts by the implementation's job id, each group ordered by start time."""
    groups: dict[str, list[Attempt]] = defaultdict(list)
    for attempt in history.attempts:
        groups[attempt.job_id].append(attempt)
    return {
        job_id: tuple(sorted(group, key=lambda a: (a.started_at, a.row)))
        for job_id, group in groups.items()
    }


def attempts_over_limit(history: History, limit: int) -> list[str]:
    """Name every job that started more than ``limit`` attempts."""
    return [
        f"job {job_id} ({attempts[0].probe_id}): {len(attempts)} attempts, declared max {limit}"
        for job_id, attempts in sorted(attempts_by_job(history).items())
        if len(attempts) > limit
    ]


def duplicated_effects(effects: Iterable[Effect]) -> list[str]:
    """Name every effect key recorded more than once, with the jobs and attempts that did it."""
    by_key: dict[str, list[Effect]] = defaultdict(list)
    for effect in effects:
        by_key[effect.key].append(effect)
    findings = []
    for key, group in sorted(by_key.items()):
        if len(group) > 1:
            where = ", ".join(f"job {e.job_id} attempt {e.attempt}" for e in group)
            findings.append(f"effect {key!r}: applied {len(group)} times, expected once ({where})")
    return findings


def effect_counts(effects: Iterable[Effect]) -> Counter[str]:
    """Count applied effects per effect key."""
    return Counter(e.key for e in effects)


def lost_jobs(history: History, settled: Iterable[str] = ()) -> list[str]:
    """Name submitted jobs that never completed an attempt and are not in ``settled``.

    ``settled`` holds job ids the implementation legitimately finished without success (dead).
    """
    done = {a.job_id for a in history.attempts if a.outcome == OUTCOME_OK}
    settled_ids = set(settled)
    started = {a.job_id for a in history.attempts}
    findings = []
    seen: set[str] = set()
    for sub in history.submissions:
        if sub.job_id in seen or sub.job_id in done or sub.job_id in settled_ids:
            continue
        seen.add(sub.job_id)
        state = "started but never completed" if sub.job_id in started else "never started"
        findings.append(f"job {sub.job_id} ({sub.probe_id}): {state}")
    return findings


def retry_gaps(attempts: Sequence[Attempt]) -> list[tuple[int, float]]:
    """Return ``(retry_index, gap_s)``: from the end of each attempt to the next one's start.

    ``retry_index`` 0 is the wait before the first retry. Crashed attempts have no end and are
    skipped.
    """
    gaps = []
    for index, (before, after) in enumerate(itertools.pairwise(attempts)):
        if before.ended_at is not None:
            gaps.append((index, after.started_at - before.ended_at))
    return gaps


@dataclass(frozen=True)
class RetryDelay:
    """One observed wait before a retry, beside the delay the implementation declared for it."""

    job_id: str
    retry: int  # 1 for the wait before the first retry
    declared: float  # seconds declared for this retry
    observed: float  # seconds from the failed attempt's end to the retry's start

    @property
    def excess(self) -> float:
        """Observed minus declared: negative when the retry started before its nominal delay."""
        return self.observed - self.declared


def retry_delays(
    job_id: str, attempts: Sequence[Attempt], delays: Sequence[float]
) -> list[RetryDelay]:
    """Pair each observed retry gap of one job with its declared delay (``delays[min(i, n-1)]``)."""
    if not delays:
        return []
    return [
        RetryDelay(job_id, index + 1, delays[min(index, len(delays) - 1)], gap)
        for index, gap in retry_gaps(attempts)
    ]


def growth_violations(
    samples: Sequence[RetryDelay], judged: Callable[[float, float], bool] | None = None
) -> list[str]:
    """Name each step where the declared delay grows but the observed delays do not.

    Delays are compared by their median per declared value, so a tolerance wide enough to
    accept each delay on its own (a coarse scheduler) cannot hide a constant delay. Only the
    steps ``judged(low, high)`` accepts are compared (all by default): a step much smaller than
    the implementation's tick is lost in the noise of a few medians.
    """
    by_declared: dict[float, list[float]] = defaultdict(list)
    for sample in samples:
        by_declared[sample.declared].append(sample.observed)
    levels = sorted(by_declared)
    findings = []
    for low, high in itertools.pairwise(levels):
        if judged is not None and not judged(low, high):
            continue
        low_median = statistics.median(by_declared[low])
        high_median = statistics.median(by_declared[high])
        if high_median <= low_median:
            findings.append(
                f"retries declared {high:g} s waited {high_median:.3f} s (median of "
                f"{len(by_declared[high])}), no longer than those declared {low:g} s "
                f"({low_median:.3f} s): the delay does not grow as declared"
            )
    return findings


@dataclass(frozen=True)
class JitterFacts:
    """How retry delays sit around their declared values (see :func:`jitter_facts`)."""

    samples: int  # retry delays observed
    early: tuple[RetryDelay, ...]  # started clearly before the declared delay
    nominal: int  # started within the band around the declared delay


def jitter_facts(samples: Sequence[RetryDelay], band: float, early_s: float) -> JitterFacts:
    """Count delays more than ``early_s`` short of declared, and those within ``band`` x declared.

    Scheduling latency only ever delays a retry (the implementation schedules it after the
    failed attempt recorded its end), so a start clearly before the declared delay shows
    jitter; a delay within the band is indistinguishable from the nominal one.
    """
    early = tuple(s for s in samples if s.excess < -early_s)
    nominal = sum(1 for s in samples if abs(s.excess) <= band * s.declared)
    return JitterFacts(samples=len(samples), early=early, nominal=nominal)


def binomial_tail(n: int, p: float, m: int) -> float:
    """Return P(X >= m) for X ~ Binomial(n, p)."""
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(max(m, 0), n + 1))


def intervals(attempts: Iterable[Attempt]) -> list[Interval]:
    """Turn attempts into time intervals labelled ``job <id> attempt <n>``."""
    return [
        Interval(f"job {a.job_id} attempt {a.attempt}", a.started_at, a.ended_at) for a in attempts
    ]


def overlaps(spans: Sequence[Interval], now: float) -> list[tuple[Interval, Interval]]:
    """Return every pair of intervals that overlap in time (open intervals end at ``now``)."""
    ordered = sorted(spans, key=lambda s: s.start)
    found = []
    for i, first in enumerate(ordered):
        for second in ordered[i + 1 :]:
            if second.start >= first.end_or(now):
                break
            found.append((first, second))
    return found


def high_water_mark(spans: Sequence[Interval], now: float) -> tuple[int, float | None]:
    """Return the most intervals open at once and when that was first reached.

    An interval ending exactly when another starts does not count as overlapping.
    """
    events: list[tuple[float, int]] = []
    for span in spans:
        events.append((span.start, 1))
        events.append((span.end_or(now), -1))
    events.sort(key=lambda e: (e[0], e[1]))  # ends (-1) before starts at the same instant
    level = peak = 0
    when: float | None = None
    for at, step in events:
        level += step
        if level > peak:
            peak, when = level, at
    return peak, when


def max_in_window(times: Sequence[float], window_s: float) -> tuple[int, float | None]:
    """Return the most ``times`` inside any half-open window ``[t, t + window_s)`` and its ``t``."""
    ordered = sorted(times)
    best, where = 0, None
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + window_s) - i
        if count > best:
            best, where = count, start
    return best, where


def cluster(times: Sequence[float], gap_s: float) -> list[list[float]]:
    """Group sorted ``times`` into clusters: a new cluster starts after a gap of ``gap_s``."""
    clusters: list[list[float]] = []
    for at in sorted(times):
        if clusters and at - clusters[-1][-1] < gap_s:
            clusters[-1].append(at)
        else:
            clusters.append([at])
    return clusters


def schedule_drift(ticks: Sequence[float], interval_s: float) -> list[float]:
    """Deviation of tick k from ``ticks[0] + k * interval_s``; tick k is the k-th cluster."""
    if not ticks:
        return []
    first = ticks[0]
    return [at - (first + k * interval_s) for k, at in enumerate(ticks)]


def first_starts(history: History) -> dict[str, float]:
    """Return each job's first attempt start time, keyed by job id."""
    return {job_id: group[0].started_at for job_id, group in attempts_by_job(history).items()}


def start_order_violations(
    first: Mapping[str, float], before: Iterable[str], after: Iterable[str]
) -> list[str]:
    """Name each job of ``after`` that started before some job of ``before`` started."""
    early = [(first[j], j) for j in before if j in first]
    if not early:
        return []
    last_before, last_id = max(early)
    return [
        f"job {job_id} started {last_before - first[job_id]:.3f} s before job {last_id}, "
        "which should have run first"
        for job_id in sorted(j for j in after if j in first and first[j] < last_before)
    ]
