"""Faults the kit injects and verifies, each recorded in the ledger as a ``fault.*`` event.

Planned job failures (transient / permanent / unclassified errors at chosen attempts, jobs
slower than their timeout, partial effects) are written into probe payloads
(:func:`jobforge.conformance.probes.probe_payload`). Duplicate submissions are plain repeated
``submit`` calls. The faults here act on the running system: SIGKILL a worker in the middle of
a job, stop one gracefully, restart the broker where the adapter can, and "fix the bug" of a
healable probe before a replay.

Worker faults belong to the kit. When the adapter reports a worker's processes
(:class:`~jobforge.conformance.adapter.WorkerProcesses`) the kit signals them itself
(:mod:`jobforge.conformance.processes`); otherwise the adapter's ``kill_worker`` /
``stop_worker`` inject it (in-process workers). Either way the kit verifies the fault took
effect: the processes are gone (or :class:`~jobforge.conformance.adapter.WorkerLiveness` says
so), and no attempt of the worker records anything after that (:func:`unverified`). A check
whose fault did not take effect is inconclusive, never a pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from . import processes
from .adapter import WorkerLiveness, WorkerProcesses
from .env import Env, ImplementationFault
from .history import Attempt, CheckpointRecord, Effect, History, ProgressRecord
from .probes import HEAL_EVENT

KILL: str = "fault.kill_worker"
SIGTERM: str = "fault.sigterm"
BROKER: str = "fault.broker_restart"
#: A record this long after the worker was gone counts against the fault (in-process workers
#: may be between a check of their kill switch and a ledger write when the kill lands).
IN_PROCESS_MARGIN_S = 0.25
#: The same for processes: a dead process writes nothing, so only clock granularity is left.
PROCESS_MARGIN_S = 0.02
#: How long an in-process worker may take to report itself gone after a kill.
LIVENESS_WAIT_S = 5.0


@runtime_checkable
class BrokerControl(Protocol):
    """Optional adapter extension for implementations that declare ``broker_restart``."""

    def restart_broker(self) -> None:
        """Restart the broker/store the implementation uses (a private instance), then return."""


@dataclass(frozen=True, kw_only=True)
class InjectedFault:
    """One worker fault the kit injected, and what it saw of its effect at the time."""

    kind: str  # KILL, SIGTERM or BROKER (an outage: no worker, nothing to verify on the ledger)
    scope: str  # the check that injected it
    worker: str
    pids: tuple[int, ...]  # processes signalled; empty for an in-process worker
    sent_at: float  # unix time the fault was sent
    gone_at: float  # unix time from which the worker can record nothing more
    starts_until: float  # unix time after which the worker may start no attempt
    margin_s: float
    problems: tuple[str, ...] = ()  # why it did not take effect, seen at injection
    escalated: bool = False  # a graceful stop ended with SIGKILL after the grace period

    def label(self) -> str:
        """``SIGKILL of worker worker-3 (pids 101, 102) in idempotency.redelivery_after_crash``."""
        if self.kind == BROKER:
            return f"broker outage in {self.scope}"
        what = "SIGKILL" if self.kind == KILL else "graceful stop (SIGTERM)"
        pids = f" (pids {', '.join(str(p) for p in self.pids)})" if self.pids else ""
        return f"{what} of worker {self.worker}{pids} in {self.scope}"


@runtime_checkable
class BrokerOutage(Protocol):
    """Optional adapter extension: take the broker/store down, then bring it back."""

    def stop_broker(self) -> None:
        """Stop (crash) the broker/store the implementation uses; return once it is down."""

    def start_broker(self) -> None:
        """Start the stopped broker/store again; return once it answers."""


def worker_of(env: Env, hist: History) -> str | None:
    """Return the kit's id of the worker running a recorded attempt, or None when unknown.

    It is unknown when probes do not record the ids ``start_workers`` returned.
    """
    running = [a for a in hist.attempts if a.ended_at is None] or list(hist.attempts)
    for attempt in running:
        if attempt.worker in env.pool.workers:
            return attempt.worker
    return None


def kill_running(env: Env, hist: History) -> list[str]:
    """SIGKILL the worker running a recorded attempt (every worker when it is unknown)."""
    known = worker_of(env, hist)
    victims = [known] if known is not None else list(env.pool.workers)
    for worker in victims:
        kill_worker(env, worker)
    return victims


def _reported_pids(env: Env, worker: str) -> tuple[int, ...]:
    raw = env.adapter.raw
    if not isinstance(raw, WorkerProcesses):
        return ()
    pids = env.adapter.call("worker_pids", worker)
    try:
        return tuple(int(p) for p in pids)
    except (TypeError, ValueError) as exc:
        raise ImplementationFault(
            f"adapter.worker_pids({worker!r}) returned {pids!r}; return a list of process ids"
        ) from exc


def _wait_not_alive(env: Env, worker: str, timeout_s: float) -> bool:
    """Ask the in-process liveness seam until the worker is gone; True when it is."""
    return env.wait_until(lambda: not bool(env.adapter.call("worker_alive", worker)), timeout_s)


def kill_worker(env: Env, worker: str) -> InjectedFault:
    """SIGKILL ``worker`` (its whole process tree) in the middle of its work."""
    return _inject(env, worker, graceful=False)


def terminate_worker(env: Env, worker: str) -> InjectedFault:
    """Stop ``worker`` as an orchestrator does: SIGTERM, then SIGKILL after the grace period."""
    return _inject(env, worker, graceful=True)


@dataclass(frozen=True)
class _Seen:
    """What the kit saw while one fault was sent."""

    pids: tuple[int, ...]
    gone_at: float
    starts_until: float
    margin_s: float
    problems: tuple[str, ...]
    escalated: bool


def _signal_processes(env: Env, worker: str, pids: tuple[int, ...], graceful: bool) -> _Seen:
    """Signal the reported process tree, confirm it is gone, then let the adapter reap it."""
    report = (
        processes.terminate_tree(pids, grace_s=env.timing.grace_s)
        if graceful
        else processes.kill_tree(pids)
    )
    problems = [
        f"{survivor} of worker {worker} still alive after SIGKILL" for survivor in report.survivors
    ]
    if not report.pids:
        problems.append(
            f"adapter.worker_pids({worker!r}) reported {list(pids)}: no running process the "
            "kit may signal (the kit never signals itself or its parents)"
        )
    gone = time.time()
    refused = env.pool.forget(worker, graceful=graceful)
    if refused:
        env.note("fault.reap_failed", worker, error=refused)
    return _Seen(report.pids, gone, gone, PROCESS_MARGIN_S, tuple(problems), report.escalated)


def _in_process(env: Env, worker: str, graceful: bool) -> _Seen:
    """Let the adapter inject the fault; watch the liveness seam when it has one."""
    if graceful:
        env.pool.stop(worker, graceful=True)
    else:
        env.pool.kill(worker)
    returned = time.time()
    if not isinstance(env.adapter.raw, WorkerLiveness):
        # Without a liveness seam only the ledger tells; a graceful stop may finish its jobs
        # until the orchestrator's SIGKILL would land.
        gone = returned + env.timing.grace_s if graceful else returned
        return _Seen((), gone, returned, IN_PROCESS_MARGIN_S, (), False)
    escalated = graceful and not _wait_not_alive(env, worker, env.timing.grace_s)
    if escalated:
        env.adapter.call("kill_worker", worker)
    problems: tuple[str, ...] = ()
    if not _wait_not_alive(env, worker, LIVENESS_WAIT_S):
        after = "SIGKILL" if not graceful or escalated else "its graceful stop"
        problems = (
            f"worker {worker} still reports itself alive {LIVENESS_WAIT_S:g} s after {after}",
        )
    gone = time.time()  # a start after this is a worker that did not stop, like any record
    return _Seen((), gone, gone, IN_PROCESS_MARGIN_S, problems, escalated)


def _inject(env: Env, worker: str, *, graceful: bool) -> InjectedFault:
    kind = SIGTERM if graceful else KILL
    pids = _reported_pids(env, worker)
    env.note(kind, worker, pids=list(pids))
    sent = time.time()
    seen = (
        _signal_processes(env, worker, pids, graceful)
        if pids
        else _in_process(env, worker, graceful)
    )
    fault = InjectedFault(
        kind=kind,
        scope=env.scope,
        worker=worker,
        pids=seen.pids,
        sent_at=sent,
        gone_at=seen.gone_at,
        starts_until=seen.starts_until,
        margin_s=seen.margin_s,
        problems=seen.problems,
        escalated=seen.escalated,
    )
    env.note(f"{kind}.done", worker, escalated=seen.escalated, problems=list(seen.problems))
    env.faults.append(fault)
    return fault


def _of_worker(fault: InjectedFault, attempts: Iterable[Attempt]) -> list[Attempt]:
    return [a for a in attempts if a.worker == fault.worker or (fault.pids and a.pid in fault.pids)]


def unverified(fault: InjectedFault, hist: History) -> list[str]:
    """Say why ``fault`` did not take effect, from what it saw and what the ledger recorded.

    Nothing may be recorded by the worker's attempts after it was gone, and no attempt may
    start on it after it was told to stop.
    """
    reasons = list(fault.problems)
    if fault.kind == BROKER:
        return reasons
    gone, starts = fault.gone_at + fault.margin_s, fault.starts_until + fault.margin_s
    mine = _of_worker(fault, hist.attempts)
    keys = {(a.job_id, a.attempt) for a in mine}
    for attempt in mine:
        if attempt.started_at > starts:
            reasons.append(
                f"job {attempt.job_id} attempt {attempt.attempt} started on worker "
                f"{fault.worker} {attempt.started_at - fault.sent_at:.2f} s after its "
                f"{'stop' if fault.kind == SIGTERM else 'kill'}"
            )
        elif attempt.ended_at is not None and attempt.ended_at > gone:
            reasons.append(
                f"job {attempt.job_id} attempt {attempt.attempt} on worker {fault.worker} "
                f"ended ({attempt.outcome}) {attempt.ended_at - fault.sent_at:.2f} s after "
                "the worker was gone"
            )
    records: list[Effect | CheckpointRecord | ProgressRecord] = [
        *hist.effects,
        *hist.checkpoints,
        *hist.progress,
    ]
    late = [r for r in records if (r.job_id, r.attempt) in keys and r.at > gone]
    if late:
        reasons.append(
            f"{len(late)} effect/checkpoint/progress record(s) of worker {fault.worker} after "
            "it was gone"
        )
    return reasons


def verdict_problems(faults: Sequence[InjectedFault], hist: History) -> list[str]:
    """Evidence lines for every fault of a check that did not take effect (empty: all did)."""
    lines = []
    for fault in faults:
        reasons = unverified(fault, hist)
        if reasons:
            lines.append(f"the {fault.label()} did not take effect: {'; '.join(reasons[:3])}")
    return lines


def restart_broker(env: Env) -> bool:
    """Restart the broker when the adapter can; return whether it did."""
    raw = env.adapter.raw
    if not isinstance(raw, BrokerControl):
        raise ImplementationFault(
            "capability broker_restart is declared but the adapter has no restart_broker()"
        )
    env.note(BROKER)
    sent = time.time()
    env.adapter.call("restart_broker")
    _broker_fault(env, sent)
    return True


def _broker_fault(env: Env, sent: float) -> None:
    """Remember a broker outage, so the kit restores a known-good state after the check."""
    env.faults.append(
        InjectedFault(
            kind=BROKER,
            scope=env.scope,
            worker="",
            pids=(),
            sent_at=sent,
            gone_at=sent,
            starts_until=sent,
            margin_s=0.0,
        )
    )


def heal(env: Env, probe_id: str) -> None:
    """Fix the cause of a healable probe's failures, so a replay can succeed."""
    env.note(HEAL_EVENT, probe_id)


@contextmanager
def broker_down(env: Env) -> Iterator[None]:
    """Keep the broker/store down inside the block (the adapter's ``BrokerOutage``)."""
    raw = env.adapter.raw
    if not isinstance(raw, BrokerOutage):
        raise ImplementationFault(
            "capability broker_restart is declared but the adapter has no stop_broker() and "
            "start_broker() (see jobforge.conformance.faults.BrokerOutage)"
        )
    env.note("fault.broker_down")
    _broker_fault(env, time.time())
    env.adapter.call("stop_broker")
    try:
        yield
    finally:
        env.adapter.call("start_broker")
        env.note("fault.broker_up")
