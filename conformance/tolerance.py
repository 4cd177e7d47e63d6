"""Timing tolerances, derived from what an implementation declares about its own timing.

Every timing check takes its windows from here, so a framework is judged at its own declared
scale: its jitter model, the tick its delayed work runs on and the delays it really uses
(:class:`~jobforge.conformance.adapter.TimingFacts`, ``JobSpec.backoff_delays_s``). Documented
granularity never fails a check; what it cannot hide is still caught:

* each retry gap must fall in the window of its declared delay: jitter bounds, widened by one
  tick late (a scheduler polling once per tick) and one tick early when due times are truncated
  to the tick, plus scheduling noise (small early, larger late: a loaded machine only delays);
* where jitter may legitimately shrink a delay to zero (full jitter), single gaps prove
  nothing, so the gaps are judged together: retries that all came at once, or later retries
  never longer than the first where growing delays are declared, fail when the declared model
  makes that pattern less likely than :data:`SIGNIFICANCE`, and are inconclusive when too few
  retries were seen to tell;
* a delayed job may start at most one tick early when due times are truncated, never earlier.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .adapter import JitterModel, JobSpec, Timing, TimingFacts

#: A delay may end this much earlier than its window (clock noise between processes).
EARLY_SLACK_S = 0.03
#: ... and this much later (a loaded machine only delays).
LATE_SLACK_S = 0.5
#: A delayed job may start this much later than its delay plus one tick.
DELAYED_LATE_S = 1.0
#: A scheduled tick may be this fraction of the interval away from its place in the schedule.
TICK_FRACTION = 0.3
#: A job's start may be recorded this much after the implementation admitted it (dispatch and
#: probe start-up on a loaded machine), so starts admitted a second apart can look closer.
START_LATENCY_S = 0.25
#: Below this probability under the declared jitter model a pattern is a defect, not luck.
SIGNIFICANCE = 1e-3
#: The most always-failing jobs the kit runs to measure backoff under unbounded jitter.
MAX_RETRY_SAMPLES = 24


@dataclass(frozen=True, kw_only=True)
class Window:
    """Where one measured delay may fall, in seconds."""

    low: float
    high: float

    def holds(self, value: float) -> bool:
        """Whether ``value`` lies in the window."""
        return self.low <= value <= self.high

    def text(self) -> str:
        """``0.070..0.650 s``."""
        return f"{max(self.low, 0.0):.3f}..{self.high:.3f} s"


def facts_of(spec: JobSpec, timing: Timing) -> TimingFacts:
    """Return ``spec``'s declared timing facts, the run's defaults filled in."""
    facts = spec.timing_facts or TimingFacts()
    if facts.jitter is JitterModel.RATIO and facts.jitter_ratio is None:
        return TimingFacts(
            jitter=JitterModel.RATIO,
            jitter_ratio=timing.jitter_ratio,
            resolution_s=facts.resolution_s,
            truncates=facts.truncates,
        )
    return facts


def describe(facts: TimingFacts) -> str:
    """``full jitter, 1 s tick`` for evidence."""
    jitter = {
        JitterModel.NONE: "no jitter",
        JitterModel.RATIO: f"jitter +/-{(facts.jitter_ratio or 0.0):.0%}",
        JitterModel.FULL: "full jitter",
        JitterModel.EQUAL: "equal jitter",
    }[facts.jitter]
    if facts.resolution_s:
        truncated = ", truncated" if facts.truncates else ""
        return f"{jitter}, {facts.resolution_s:g} s tick{truncated}"
    return jitter


def jitter_bounds(delay_s: float, facts: TimingFacts) -> tuple[float, float]:
    """Return the least and most a declared delay becomes under the declared jitter model."""
    if facts.jitter is JitterModel.FULL:
        return 0.0, delay_s
    if facts.jitter is JitterModel.EQUAL:
        return delay_s / 2, delay_s
    if facts.jitter is JitterModel.RATIO:
        ratio = facts.jitter_ratio or 0.0
        return delay_s * (1 - ratio), delay_s * (1 + ratio)
    return delay_s, delay_s


def _early_tick(facts: TimingFacts) -> float:
    return facts.resolution_s if facts.truncates else 0.0


def retry_window(delay_s: float, facts: TimingFacts) -> Window:
    """Where the gap before a retry declared at ``delay_s`` may fall."""
    low, high = jitter_bounds(delay_s, facts)
    return Window(
        low=low - _early_tick(facts) - EARLY_SLACK_S,
        high=high + facts.resolution_s + LATE_SLACK_S,
    )


def delayed_window(delay_s: float, facts: TimingFacts) -> Window:
    """Where the start of a job submitted with ``delay_s`` may fall, after its submission."""
    return Window(
        low=delay_s - _early_tick(facts) - 0.005,
        high=delay_s + facts.resolution_s + DELAYED_LATE_S,
    )


def delayed_probe_delays(facts: TimingFacts) -> tuple[float, ...]:
    """Delays the kit submits delayed jobs with: whole ticks, long enough to see one early."""
    if not facts.resolution_s:
        return (0.3, 0.6, 0.9)
    unit = facts.resolution_s * max(2, math.ceil(0.3 / facts.resolution_s))
    return (unit, 2 * unit, 3 * unit)


def drain_deadline(spec: JobSpec | None, timing: Timing, work_s: float = 0.0) -> float:
    """How long the kit waits for jobs of ``spec`` to settle: every retry at its longest.

    Each of the run's ``max_attempts`` attempts may run to its timeout and wait the longest
    declared delay (jitter's top plus one tick); then a lease, the planned work and 5 s.
    Without a spec, the run's timing stands in for the declarations.
    """
    if spec is None:
        attempts, longest, timeout = timing.max_attempts, timing.backoff_cap_s, timing.timeout_s
    else:
        facts = facts_of(spec, timing)
        attempts = timing.max_attempts  # the run's attempts: a spec may declare near-endless
        delays = spec.backoff_delays_s or (timing.backoff_cap_s,)
        longest = max(jitter_bounds(d, facts)[1] for d in delays) + facts.resolution_s
        timeout = max(spec.timeout_s or 0.0, timing.timeout_s)
    return attempts * (max(longest, timing.backoff_cap_s) + timeout) + timing.lease_s + work_s + 5.0


def timeout_allowance(timeout_s: float, facts: TimingFacts) -> float:
    """How long an attempt may run before a declared ``timeout_s`` counts as not enforced.

    Half the limit again plus 0.5 s for the machine, plus one tick: time limits armed in whole
    seconds (RQ's job timeouts, SIGALRM) fire on the tick.
    """
    return timeout_s * 1.5 + 0.5 + facts.resolution_s


def tick_tolerance(interval_s: float, facts: TimingFacts) -> float:
    """How far a scheduled tick may be from its place in the schedule."""
    return TICK_FRACTION * interval_s + facts.resolution_s


def declared_delay(delays: Sequence[float], index: int) -> float:
    """Return the delay declared before retry ``index`` (0 = first); the last one repeats."""
    return delays[min(index, len(delays) - 1)]


def _at_most(value: float, delay_s: float, facts: TimingFacts) -> float:
    """Upper bound of P(gap <= value) for a gap declared at ``delay_s``.

    Noise, polling and queueing only lengthen a gap; only truncation and clock noise shorten
    it. For NONE and RATIO, which promise only bounds, the bound is 1 inside the support. FULL
    and EQUAL are uniform, over whole ticks when a tick is declared (Celery draws whole seconds).
    """
    reach = value + _early_tick(facts) + EARLY_SLACK_S
    low, high = jitter_bounds(delay_s, facts)
    if reach < low:
        return 0.0
    if facts.jitter in (JitterModel.NONE, JitterModel.RATIO) or reach >= high or high <= low:
        return 1.0
    tick = facts.resolution_s
    if tick > 0:
        steps = math.floor((high - low) / tick + 1e-9) + 1
        return min(1.0, (math.floor((reach - low) / tick + 1e-9) + 1) / steps)
    return (reach - low) / (high - low)


@dataclass(frozen=True, kw_only=True)
class BackoffJudgement:
    """What the retry gaps of several jobs say about the declared backoff."""

    findings: tuple[str, ...]  # defects: the check fails
    undecided: tuple[str, ...]  # too few retries to tell: the check is inconclusive
    gaps: int  # retry gaps measured


def judge_backoff(
    gaps_by_job: Mapping[str, Sequence[tuple[int, float]]],
    delays: Sequence[float],
    facts: TimingFacts,
) -> BackoffJudgement:
    """Judge measured retry gaps ``job -> [(retry index, gap s)]`` against declared ``delays``."""
    findings: list[str] = []
    by_index: dict[int, list[float]] = {}
    for job_id, gaps in sorted(gaps_by_job.items()):
        for index, gap in gaps:
            by_index.setdefault(index, []).append(gap)
            declared = declared_delay(delays, index)
            window = retry_window(declared, facts)
            if not window.holds(gap):
                findings.append(
                    f"job {job_id}: retry {index + 1} started {gap:.3f} s after the failed "
                    f"attempt, declared {declared:.3f} s with {describe(facts)} "
                    f"(allowed {window.text()})"
                )
    undecided: list[str] = []
    all_gaps = [(i, g) for i, gs in by_index.items() for g in gs]
    if all_gaps and not findings:
        findings += _immediate(all_gaps, delays, facts)
    if all_gaps and not findings:
        findings += _constant(by_index, delays, facts, undecided)
    return BackoffJudgement(
        findings=tuple(findings), undecided=tuple(undecided), gaps=len(all_gaps)
    )


def _immediate(
    gaps: Sequence[tuple[int, float]], delays: Sequence[float], facts: TimingFacts
) -> list[str]:
    """Fail retries that all came about at once, when the declared model makes that rare."""
    longest = max(g for _, g in gaps)
    chance = math.prod(_at_most(longest, declared_delay(delays, i), facts) for i, _ in gaps)
    if chance < SIGNIFICANCE:
        return [
            f"all {len(gaps)} retries started within {longest:.3f} s of the failed attempt: "
            f"under the declared delays ({_delays(delays)}) with {describe(facts)} that has "
            f"probability {chance:.1e}; retries are not backed off"
        ]
    return []


def jitter_reaches_zero(delays: Sequence[float], facts: TimingFacts) -> bool:
    """Whether jitter may shrink a declared delay to nothing (full jitter): gaps prove little."""
    return bool(delays) and jitter_bounds(declared_delay(delays, 0), facts)[0] <= 0.0


def _constant(
    by_index: Mapping[int, Sequence[float]],
    delays: Sequence[float],
    facts: TimingFacts,
    undecided: list[str],
) -> list[str]:
    """Where delays are declared to grow, later retries must sometimes wait longer.

    Bounded jitter (none, ratio, equal) shows constant delays in single gaps (their windows);
    only jitter reaching down to zero needs the gaps judged together.
    """
    if not jitter_reaches_zero(delays, facts):
        return []
    first = declared_delay(delays, 0)
    ceiling = _first_ceiling(delays, facts)
    later = [
        (i, g)
        for i, gs in sorted(by_index.items())
        for g in gs
        if declared_delay(delays, i) > first
    ]
    if not later or any(g > ceiling for _, g in later):
        return []
    chance = math.prod(_at_most(ceiling, declared_delay(delays, i), facts) for i, _ in later)
    if chance < SIGNIFICANCE:
        return [
            f"{len(later)} later retries all waited at most {ceiling:.3f} s, no longer than a "
            f"first retry may: the declared growing delays ({_delays(delays)}) with "
            f"{describe(facts)} make that probability {chance:.1e}; delays are constant"
        ]
    if chance >= 1.0:
        undecided.append(
            f"with {describe(facts)}, delays of {_delays(delays)} are too short to tell growing "
            f"from constant ones: a first retry may wait up to {ceiling:.3f} s (late noise "
            "included), as long as any later one"
        )
    else:
        undecided.append(
            f"{len(later)} later retries never waited longer than a first retry may; with "
            f"{describe(facts)} that happens by chance with probability {chance:.2f}, too "
            "often to tell growing delays from constant ones: run more retries (--profile "
            "stress)"
        )
    return []


def _first_ceiling(delays: Sequence[float], facts: TimingFacts) -> float:
    """Return the longest a first retry may wait: jitter's top, a tick and late noise."""
    return jitter_bounds(declared_delay(delays, 0), facts)[1] + facts.resolution_s + LATE_SLACK_S


def retry_samples(delays: Sequence[float], facts: TimingFacts, *, least: int = 2) -> int:
    """How many always-failing jobs make constant delays tell from the declared growing ones.

    Enough that an honest implementation's later retries all staying under a first retry's
    longest wait is rarer than :data:`SIGNIFICANCE` (bounded by :data:`MAX_RETRY_SAMPLES`).
    Bounded jitter (none, ratio, equal) separates them per gap: ``least`` is enough there.
    """
    if not jitter_reaches_zero(delays, facts):
        return least
    first, ceiling = declared_delay(delays, 0), _first_ceiling(delays, facts)
    per_job = math.prod(_at_most(ceiling, d, facts) for d in delays[1:] if d > first)
    if not 0.0 < per_job < 1.0:
        return least
    needed = math.ceil(math.log(SIGNIFICANCE) / math.log(per_job))
    return max(least, min(needed, MAX_RETRY_SAMPLES))


def _delays(delays: Sequence[float]) -> str:
    return ", ".join(f"{d:g}" for d in delays) + " s"


@dataclass(frozen=True, kw_only=True)
class RateJudgement:
    """What recorded starts say of a declared rate: within it, over it, or not telling."""

    within: bool  # even the strict one-second window holds no more than allowed
    over: bool  # a window shortened by the latency allowance already holds more
    peak: int  # most starts in any one-second window
    close: int  # most starts in any shortened window
    allowed: int  # most starts a window may hold
    shortened_s: float  # the shortened window's length


def judge_rate(starts: Sequence[float], rate_per_s: float) -> RateJudgement:
    """Judge starts against ``rate_per_s`` starts in any one-second window (one of slack)."""
    allowed = math.floor(rate_per_s) + 1  # one start of slack for a window edge
    shortened = 1.0 - START_LATENCY_S
    peak = _most_within(starts, 1.0)
    close = _most_within(starts, shortened)
    return RateJudgement(
        within=peak <= allowed,
        over=close > allowed,
        peak=peak,
        close=close,
        allowed=allowed,
        shortened_s=shortened,
    )


def _most_within(times: Sequence[float], window_s: float) -> int:
    ordered = sorted(times)
    return max(
        (bisect.bisect_left(ordered, t + window_s) - i for i, t in enumerate(ordered)), default=0
    )
