"""Scheduling: ticks on time, no overlapping runs, one firing per tick, missed runs, delays.

``on_time``, ``no_overlap``, ``skipped_tick_not_run`` and ``missed_run_policy`` judge one shared
scheduler session: a quick entry and a slow entry (each run lasting 1.5 intervals, shorter than
a lease, so the session never depends on lease renewal) fire for a while; the scheduler is
stopped for at least two and a half intervals and started again halfway between two ticks.
Firings are grouped into ticks: starts closer than half an interval belong to one tick.
"""

from __future__ import annotations

import itertools
import math
import statistics
import time
from dataclasses import dataclass

from .. import tolerance
from ..adapter import Capability, JSONObject, ScheduleEntry
from ..checkers import cluster, intervals, overlaps, schedule_drift
from ..env import Env
from ..history import Attempt, History
from ..probes import PROBE_DEFAULT, PROBE_SCHEDULED
from .base import Check, Verdict, failed, inconclusive, judge, passed, require_job_type

#: How long a restarted scheduler may take to start before the kit stops waiting for a firing.
STARTUP_S = 10.0
#: A run of the session's slow entry lasts this many intervals: it ends halfway between ticks.
SLOW_RUN_INTERVALS = 1.5


@dataclass(frozen=True)
class Session:
    """What the shared scheduler session observed."""

    interval_s: float
    quick: str  # probe id of the quick entry
    slow: str  # probe id of the slow entry
    started: float
    stopped: float
    restarted: float
    ready_again: float | None  # the restarted scheduler's first firing: its observed readiness
    ended: float
    history: History


def _firings(hist: History, probe_id: str) -> list[Attempt]:
    """First attempts of each job fired for ``probe_id``, by start time."""
    firsts: dict[str, Attempt] = {}
    for attempt in hist.attempts:
        if attempt.probe_id == probe_id and attempt.job_id not in firsts:
            firsts[attempt.job_id] = attempt
    return sorted(firsts.values(), key=lambda a: a.started_at)


def _session(env: Env) -> Session:
    require_job_type(env, PROBE_SCHEDULED)
    interval = env.description.job(PROBE_SCHEDULED).schedule_interval_s or (
        env.timing.schedule_interval_s
    )
    quick_payload = env.probe(PROBE_SCHEDULED)
    slow_payload = env.probe(PROBE_SCHEDULED, sleep_s=SLOW_RUN_INTERVALS * interval)
    base = f"{env.ledger.run_id}-{env.scope}"
    entries = [
        ScheduleEntry(
            name=f"{base}-quick", job_type=PROBE_SCHEDULED, every_s=interval, payload=quick_payload
        ),
        ScheduleEntry(
            name=f"{base}-slow", job_type=PROBE_SCHEDULED, every_s=interval, payload=slow_payload
        ),
    ]
    # Enough slots for the quick entry beside every slow run that may overlap (when overlap is
    # not prevented), so a late quick tick is the scheduler's lateness, never a wait for a slot.
    needed = math.ceil(SLOW_RUN_INTERVALS) + 2
    env.pool.ensure(max(len(env.pool.workers), math.ceil(needed / env.slots)))
    started = time.time()
    first = env.pool.start_scheduler(entries)
    # Ticks are counted from readiness: a slow start-up gets its full share of ticks.
    ready = _first_firing_after(env, entries, started, interval + STARTUP_S)
    _sleep_until(max(started + 4.3 * interval, (ready or started) + 3.5 * interval))
    env.pool.stop_scheduler(first)
    stopped = time.time()
    env.note("fault.scheduler_down", first)
    time.sleep(max(0.0, _restart_time(env, quick_payload, stopped, interval) - time.time()))
    restarted = time.time()
    second = env.pool.start_scheduler(entries)
    ready_again = _first_firing_after(env, entries, restarted, 0.6 * interval + STARTUP_S)
    _sleep_until((ready_again or restarted) + 0.6 * interval)
    env.pool.stop_scheduler(second)
    ended = time.time()
    return Session(
        interval_s=interval,
        quick=str(quick_payload["probe_id"]),
        slow=str(slow_payload["probe_id"]),
        started=started,
        stopped=stopped,
        restarted=restarted,
        ready_again=ready_again,
        ended=ended,
        history=env.history(),
    )


def _sleep_until(at: float) -> None:
    time.sleep(max(0.0, at - time.time()))


def _first_firing_after(
    env: Env, entries: list[ScheduleEntry], since: float, timeout_s: float
) -> float | None:
    """Wait for the first firing of any entry at or after ``since``; return when it started."""
    probe_ids = [str(entry.payload["probe_id"]) for entry in entries]

    def starts(hist: History) -> list[float]:
        return [
            a.started_at
            for probe_id in probe_ids
            for a in _firings(hist, probe_id)
            if a.started_at >= since - 0.05
        ]

    found = starts(env.wait_history(lambda h: bool(starts(h)), timeout_s))
    return min(found) if found else None


def _restart_time(env: Env, quick: JSONObject, stopped: float, interval: float) -> float:
    """Pick the restart halfway between two regular ticks, at least 2.5 intervals after the stop.

    Then a catch-up run (at the restart) can never be mistaken for a regular tick, nor be
    skipped as overlapping one: regular ticks of the old phase are half an interval away,
    those of a scheduler that restarts its phase one interval away.
    """
    earliest = stopped + 2.5 * interval
    starts = [a.started_at for a in _firings(env.history(), str(quick["probe_id"]))]
    if not starts:
        return earliest + 0.4 * interval
    last = max(starts)
    ticks = math.ceil((earliest - last - 0.5 * interval) / interval)
    return last + (ticks + 0.5) * interval


def session(env: Env) -> Session:
    """Return the shared scheduler session of this run."""
    return env.shared("scheduling.session", _session)


def on_time(env: Env) -> Verdict:
    """Ticks come every interval, without cumulative drift, counted from the first one seen.

    The window starts at observed readiness (the first firing), not when the scheduler process
    was started: start-up time is not lateness.
    """
    seen = session(env)
    interval = seen.interval_s
    facts = tolerance.facts_of(env.description.job(PROBE_SCHEDULED), env.timing)
    starts = [
        a.started_at for a in _firings(seen.history, seen.quick) if a.started_at <= seen.stopped
    ]
    ticks = [group[0] for group in cluster(starts, interval / 2)]
    if not ticks:
        return failed(
            f"no tick fired in {seen.stopped - seen.started:.2f} s of a scheduler running an "
            f"entry every {interval:g} s"
        )
    tolerance_s = tolerance.tick_tolerance(interval, facts)
    ready = ticks[0]
    expected = int((seen.stopped - ready) / interval) + 1
    if expected < 3:
        return inconclusive(
            f"the scheduler fired its first tick {ready - seen.started:.2f} s after it was "
            f"started, leaving {seen.stopped - ready:.2f} s: too few ticks to judge drift"
        )
    findings = []
    if len(ticks) < expected - 1:
        findings.append(
            f"{len(ticks)} ticks in the {seen.stopped - ready:.2f} s after the first, expected "
            f"about {expected} at every {interval:g} s"
        )
    # The first firing marks readiness and carries the first dispatch's start-up costs; the
    # schedule's regularity is judged from the tick after it.
    judged = ticks[1:] if len(ticks) >= 3 else ticks
    skipped = len(ticks) - len(judged)
    drifts = schedule_drift(judged, interval)
    for k, drift in enumerate(drifts):
        if abs(drift) > tolerance_s:
            findings.append(
                f"tick {k + skipped}: {drift:+.3f} s from its place in the schedule "
                f"(every {interval:g} s, tolerance {tolerance_s:.2f} s with "
                f"{tolerance.describe(facts)})"
            )
    worst = max((abs(d) for d in drifts), default=0.0)
    return judge(
        findings,
        f"{len(ticks)} ticks every {interval:g} s, worst drift {worst:.3f} s from tick "
        f"{skipped} on",
    )


def no_overlap(env: Env) -> Verdict:
    """Check that a tick is skipped while the entry's previous run still runs."""
    policy = env.description.job(PROBE_SCHEDULED).overlap_policy
    if policy == "allow":
        return failed(f"{PROBE_SCHEDULED} declares overlap_policy 'allow': runs may overlap")
    seen = session(env)
    runs = _firings(seen.history, seen.slow)
    attempts = [a for a in seen.history.attempts if a.probe_id == seen.slow]
    pairs = overlaps(intervals(attempts), now=time.time())
    findings = [
        f"{a.label} and {b.label} of one schedule entry ran at the same time" for a, b in pairs
    ]
    if len(runs) < 2:
        findings.append(
            f"only {len(runs)} run(s) of the slow entry fired; overlap prevention was not exercised"
        )
    return judge(
        findings,
        f"{len(runs)} runs of a job lasting {SLOW_RUN_INTERVALS:g} intervals, none overlapping "
        f"(policy {policy})",
    )


def skipped_tick_not_run(env: Env) -> Verdict:
    """Check that a tick skipped under the ``skip`` overlap policy is not run later.

    The slow entry's runs end halfway between two ticks. With ``skip`` the next run waits for
    the next tick; a run that starts as soon as the previous one ended, off the tick grid (the
    quick entry's ticks), is a skipped tick queued and run late (the ``queue`` policy). A run
    delayed by a loaded machine starts later, never sooner, so it is not mistaken for one.
    """
    policy = env.description.job(PROBE_SCHEDULED).overlap_policy
    if policy != "skip":
        return failed(
            f"{PROBE_SCHEDULED} declares overlap_policy {policy!r}; the probe catalogue asks "
            "for 'skip'"
        )
    seen = session(env)
    interval = seen.interval_s
    quick = [
        a.started_at for a in _firings(seen.history, seen.quick) if a.started_at <= seen.stopped
    ]
    ticks = [group[0] for group in cluster(quick, interval / 2)]
    if len(ticks) < 2:
        return failed(
            f"only {len(ticks)} tick(s) of the quick entry fired before the outage; the tick "
            "grid the slow entry's runs are judged against is unknown"
        )
    phase = ticks[0] + statistics.median(_offset(t - ticks[0], interval) for t in ticks)
    facts = tolerance.facts_of(env.description.job(PROBE_SCHEDULED), env.timing)
    tick_tol = tolerance.tick_tolerance(interval, facts)
    runs = [a for a in _firings(seen.history, seen.slow) if a.started_at <= seen.stopped]
    findings = []
    for before, run in itertools.pairwise(runs):
        off = _offset(run.started_at - phase, interval)
        after_end = None if before.ended_at is None else run.started_at - before.ended_at
        if abs(off) > tick_tol and after_end is not None and after_end < interval / 4:
            findings.append(
                f"job {run.job_id}: a run of the slow entry started {after_end:.2f} s after the "
                f"previous run ended, {off:+.2f} s from the nearest tick (every {interval:g} s, "
                f"tolerance {tick_tol:.2f} s): a tick skipped while the previous run was "
                "unfinished was run late"
            )
    if len(runs) < 2:
        findings.append(
            f"only {len(runs)} run(s) of the slow entry fired; no tick was skipped to judge"
        )
    return judge(
        findings,
        f"{len(runs)} runs of the slow entry, each at a tick; skipped ticks were not run later",
    )


def _offset(delta: float, interval: float) -> float:
    """Return ``delta`` folded onto the tick grid: the distance to the nearest tick, signed."""
    return (delta + interval / 2) % interval - interval / 2


def catch_up_runs(
    firings: list[float], grid: list[float], interval_s: float, start: float, end: float
) -> list[float]:
    """Return the firings in ``[start, end]`` that are not regular ticks of ``grid``.

    A firing within a quarter interval of a grid point is that point's regular tick (the first
    one only: a second firing at the same point is extra). ``grid`` holds the implementation's
    regular tick times, extended from the ticks it fired before the outage.
    """
    tolerance = interval_s / 4
    taken: set[int] = set()
    extra = []
    for at in sorted(f for f in firings if start <= f <= end):
        nearest = min(range(len(grid)), key=lambda i: abs(grid[i] - at), default=None)
        if nearest is not None and abs(grid[nearest] - at) <= tolerance and nearest not in taken:
            taken.add(nearest)
        else:
            extra.append(at)
    return extra


def missed_run_policy(env: Env) -> Verdict:
    """Check that ticks missed while no scheduler ran are handled as the policy says."""
    policy = env.description.job(PROBE_SCHEDULED).missed_run_policy
    if policy not in ("skip", "run_once", "run_all"):
        return failed(f"{PROBE_SCHEDULED} declares missed_run_policy {policy!r}")
    seen = session(env)
    interval = seen.interval_s
    starts = [a.started_at for a in _firings(seen.history, seen.quick)]
    before = [group[0] for group in cluster([t for t in starts if t <= seen.stopped], interval / 2)]
    if not before:
        return failed("the scheduler fired nothing before the outage; nothing to catch up")
    last = before[-1]
    steps = int((seen.ended - last) / interval) + 2
    # Regular ticks can only come from a running scheduler: grid points after the restart.
    grid = [at for at in (last + k * interval for k in range(1, steps)) if at >= seen.restarted]
    # The window opens at the restarted scheduler's observed readiness, not at its spawn.
    anchor = seen.ready_again or seen.restarted
    extra = catch_up_runs(starts, grid, interval, anchor - 0.05, anchor + 0.5 * interval)
    missed = int((seen.restarted - seen.stopped) / interval)
    expected = {"skip": (0, 0), "run_once": (1, 1), "run_all": (missed - 1, missed + 1)}[policy]
    count = len(extra)
    outage = seen.restarted - seen.stopped
    if not expected[0] <= count <= expected[1]:
        return failed(
            f"{count} catch-up run(s) right after a {outage:.2f} s outage (~{missed} ticks "
            f"missed, regular ticks excluded); policy {policy!r} expects "
            f"{expected[0]}..{expected[1]}"
        )
    return passed(
        f"{count} catch-up run(s) after a {outage:.2f} s outage (~{missed} ticks "
        f"missed): policy {policy!r}"
    )


def single_fire(env: Env) -> Verdict:
    """Two scheduler instances fire each tick once between them."""
    require_job_type(env, PROBE_SCHEDULED)
    interval = env.description.job(PROBE_SCHEDULED).schedule_interval_s or (
        env.timing.schedule_interval_s
    )
    payload = env.probe(PROBE_SCHEDULED)
    entry = ScheduleEntry(
        name=f"{env.ledger.run_id}-{env.scope}",
        job_type=PROBE_SCHEDULED,
        every_s=interval,
        payload=payload,
    )
    since = time.time()
    a = env.pool.start_scheduler([entry])
    b = env.pool.start_scheduler([entry])
    ready = _first_firing_after(env, [entry], since, interval + STARTUP_S)
    _sleep_until(max(since + 3.3 * interval, (ready or since) + 2.3 * interval))
    env.pool.stop_scheduler(a)
    env.pool.stop_scheduler(b)
    starts = [x.started_at for x in _firings(env.history(), str(payload["probe_id"]))]
    ticks = cluster(starts, interval / 2)
    findings = [
        f"tick at +{group[0] - starts[0]:.2f} s fired {len(group)} times with two "
        "schedulers, expected once"
        for group in ticks
        if len(group) > 1
    ]
    if len(ticks) < 2:
        findings.append(f"only {len(ticks)} tick(s) fired in {time.time() - since:.1f} s")
    return judge(findings, f"{len(ticks)} ticks, each fired once by two scheduler instances")


def delayed_not_early(env: Env) -> Verdict:
    """Check that a delayed job never starts before its delay, and starts soon after it."""
    require_job_type(env, PROBE_DEFAULT)
    facts = tolerance.facts_of(env.description.job(PROBE_DEFAULT), env.timing)
    delays = tolerance.delayed_probe_delays(facts)
    jobs = {env.submit(PROBE_DEFAULT, env.probe(PROBE_DEFAULT), delay_s=d): d for d in delays}
    infos = env.drain(jobs, env.drain_deadline(max(delays) + facts.resolution_s))
    hist = env.history()
    submitted = {s.job_id: s.at for s in hist.submissions}
    findings = []
    for job_id, delay in jobs.items():
        runs = [a for a in hist.attempts if a.job_id == job_id]
        if not runs:
            findings.append(
                f"job {job_id}: delayed {delay:g} s, never started ({infos[job_id].status.value})"
            )
            continue
        waited = runs[0].started_at - submitted[job_id]
        window = tolerance.delayed_window(delay, facts)
        if waited < window.low:
            findings.append(
                f"job {job_id}: started {waited:.3f} s after submission, delay {delay:g} s "
                f"(early; allowed {window.text()} with {tolerance.describe(facts)})"
            )
        elif waited > window.high:
            findings.append(
                f"job {job_id}: started {waited:.3f} s after submission, delay {delay:g} s "
                f"(late; allowed {window.text()} with {tolerance.describe(facts)})"
            )
    return judge(
        findings,
        f"{len(jobs)} delayed jobs started after their delays "
        f"({', '.join(f'{d:g}' for d in delays)} s), none early",
    )


CHECKS = (
    Check(
        "scheduling.on_time",
        "Ticks fire on time without drift",
        on_time,
        requires=(Capability.SCHEDULER,),
    ),
    Check(
        "scheduling.no_overlap",
        "A scheduled job never overlaps its previous run",
        no_overlap,
        requires=(Capability.SCHEDULER,),
    ),
    Check(
        "scheduling.skipped_tick_not_run",
        "A skipped tick is never run late",
        skipped_tick_not_run,
        requires=(Capability.SCHEDULER,),
    ),
    Check(
        "scheduling.single_fire",
        "One firing per tick with two schedulers",
        single_fire,
        requires=(Capability.SCHEDULER, Capability.MULTI_SCHEDULER),
    ),
    Check(
        "scheduling.missed_run_policy",
        "Missed runs follow the declared policy",
        missed_run_policy,
        requires=(Capability.SCHEDULER, Capability.MISSED_RUN_POLICY),
    ),
    Check(
        "scheduling.delayed_not_early",
        "Delayed jobs never start early",
        delayed_not_early,
        requires=(Capability.DELAYED_JOBS,),
    ),
)
