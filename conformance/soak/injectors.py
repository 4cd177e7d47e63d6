"""One injector per fault kind: each applies its fault through the kit's fault machinery.

Worker faults go through :mod:`jobforge.conformance.faults` (the kit signals the reported
process tree itself, or uses the in-process seam) and are verified afterwards on the ledger
with :func:`jobforge.conformance.faults.unverified`. A worker fault picks the worker running a
soak job (or, for ``kill_in_backoff``, the worker whose job just failed and waits out its retry
delay) and records the jobs it had in flight; the pool is topped up again afterwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from .. import faults
from ..adapter import JSONObject, JSONValue, ScheduleEntry
from ..env import Env, ImplementationFault
from ..history import OUTCOME_TRANSIENT, Attempt
from ..probes import probe_payload
from .plan import SCOPE, FaultKind, FaultPlan, SoakConfig, effect_key

#: How long a worker fault waits for a suitable victim (a busy worker, a job in backoff).
TARGET_WAIT_S: Final = 3.0
_POLL_S: Final = 0.05
#: How long a broker outage lasts when the adapter offers stop/start instead of restart.
OUTAGE_S: Final = 1.0


@dataclass(frozen=True, kw_only=True)
class Injected:
    """What one injector did."""

    plan: FaultPlan
    at: float  # unix time the fault was sent
    target: str  # worker, scheduler or probe id it acted on ("" when none)
    detail: JSONObject = field(default_factory=dict)
    problems: tuple[str, ...] = ()  # why it could not be applied as planned
    worker_fault: faults.InjectedFault | None = None  # verified later on the ledger


class Scheduling(Protocol):
    """The soak's scheduler instance, restarted by ``scheduler_kill``."""

    def restart(self) -> tuple[str, str]:
        """Stop the running instance and start a new one; return (old id, new id)."""


@dataclass
class SchedulerSlot:
    """The one scheduler instance a soak keeps running."""

    env: Env
    entries: Sequence[ScheduleEntry]
    current: str = ""

    def start(self) -> str:
        """Start the instance."""
        self.current = self.env.pool.start_scheduler(self.entries)
        return self.current

    def restart(self) -> tuple[str, str]:
        """Stop the running instance and start a new one."""
        old = self.current
        if old:
            self.env.pool.stop_scheduler(old)
        return old, self.start()


Injector = Callable[[Env, FaultPlan, SoakConfig, Scheduling | None], Injected]


def _running(env: Env) -> list[Attempt]:
    """Soak attempts in flight on a worker of the pool, latest start first."""
    hist = env.ledger.read(SCOPE)
    live = set(env.pool.workers)
    return sorted(
        (a for a in hist.attempts if a.ended_at is None and a.worker in live),
        key=lambda a: a.started_at,
        reverse=True,
    )


def _in_backoff(env: Env, since: float) -> list[Attempt]:
    """Last attempts that failed transiently since ``since``, with no attempt after them."""
    hist = env.ledger.read(SCOPE)
    latest: dict[str, Attempt] = {}
    for attempt in sorted(hist.attempts, key=lambda a: (a.started_at, a.row)):
        latest[attempt.job_id] = attempt
    live = set(env.pool.workers)
    return [
        a
        for a in latest.values()
        if a.outcome == OUTCOME_TRANSIENT
        and a.ended_at is not None
        and a.ended_at >= since
        and a.worker in live
    ]


def _wait_for(find: Callable[[], list[Attempt]]) -> list[Attempt]:
    deadline = time.monotonic() + TARGET_WAIT_S
    while True:
        found = find()
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(_POLL_S)


def _worker_fault(env: Env, plan: FaultPlan, config: SoakConfig) -> Injected:
    graceful = plan.kind is FaultKind.SIGTERM
    if plan.kind is FaultKind.KILL_IN_BACKOFF:
        backoff = env.timing.backoff_cap_s
        victims = _wait_for(lambda: _in_backoff(env, time.time() - backoff))
        aim = "job in retry backoff"
    else:
        victims = _wait_for(lambda: _running(env))
        aim = "job in flight"
    detail: dict[str, JSONValue] = {}
    if victims:
        worker = victims[0].worker
    elif env.pool.workers:
        worker = env.pool.workers[0]
        detail["note"] = f"no {aim} within {TARGET_WAIT_S:g} s; hit worker {worker} anyway"
    else:
        return Injected(plan=plan, at=time.time(), target="", problems=("no worker running",))
    in_flight = [a.job_id for a in _running(env) if a.worker == worker]
    at = time.time()
    fault = faults.terminate_worker(env, worker) if graceful else faults.kill_worker(env, worker)
    detail["in_flight"] = list(in_flight)
    if plan.kind is FaultKind.KILL_IN_BACKOFF and victims:
        detail["in_backoff"] = [a.job_id for a in victims if a.worker == worker]
    env.pool.ensure(config.workers)
    return Injected(plan=plan, at=at, target=worker, detail=detail, worker_fault=fault)


def _broker(env: Env, plan: FaultPlan, config: SoakConfig, _: Scheduling | None) -> Injected:
    at = time.time()
    if isinstance(env.adapter.raw, faults.BrokerControl):
        faults.restart_broker(env)
        how = "restart_broker"
    else:
        with faults.broker_down(env):
            time.sleep(OUTAGE_S)
        how = f"stop_broker, {OUTAGE_S:g} s down, start_broker"
    return Injected(plan=plan, at=at, target="broker", detail={"how": how})


def _poison(env: Env, plan: FaultPlan, config: SoakConfig, _: Scheduling | None) -> Injected:
    at = time.time()
    ids: list[JSONValue] = []
    for k in range(config.poison_burst):
        probe_id = f"soak-poison-{plan.index:03d}-{k}"
        payload = probe_payload(
            probe_id,
            scope=SCOPE,
            job_type="probe.default",
            fail={"*": "permanent"},
            effect=effect_key(probe_id),
        )
        ids.append(env.submit("probe.default", payload))
    return Injected(plan=plan, at=at, target=f"soak-poison-{plan.index:03d}", detail={"jobs": ids})


def _storm(env: Env, plan: FaultPlan, config: SoakConfig, _: Scheduling | None) -> Injected:
    probe_id = f"soak-storm-{plan.index:03d}"
    key = f"storm:{config.seed}:{plan.index}"
    payload = probe_payload(
        probe_id, scope=SCOPE, job_type="probe.default", sleep_s=0.05, effect=effect_key(probe_id)
    )
    returned: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    gate = threading.Barrier(config.storm_size)

    def one() -> None:
        gate.wait()
        try:
            job_id = env.submit("probe.default", payload, idempotency_key=key)
        except ImplementationFault as exc:
            with lock:
                errors.append(str(exc))
            return
        finally:
            env.ledger.close()  # this thread's connection
        with lock:
            returned.append(job_id)

    at = time.time()
    threads = [threading.Thread(target=one, daemon=True) for _ in range(config.storm_size)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30.0)
    job_ids: list[JSONValue] = []
    job_ids.extend(sorted(set(returned)))
    refused: list[JSONValue] = []
    refused.extend(errors[:3])
    detail: dict[str, JSONValue] = {
        "idempotency_key": key,
        "submitted": config.storm_size,
        "job_ids": job_ids,
        "refused": refused,  # a refused duplicate is fine: the storm took effect if one went in
    }
    problems = () if returned else (f"every submission was refused: {errors[0]}",)
    return Injected(plan=plan, at=at, target=probe_id, detail=detail, problems=problems)


def _scheduler(env: Env, plan: FaultPlan, config: SoakConfig, slot: Scheduling | None) -> Injected:
    at = time.time()
    if slot is None:
        return Injected(plan=plan, at=at, target="", problems=("no scheduler instance running",))
    old, new = slot.restart()
    return Injected(plan=plan, at=at, target=old, detail={"stopped": old, "started": new})


def _worker(env: Env, plan: FaultPlan, config: SoakConfig, _: Scheduling | None) -> Injected:
    return _worker_fault(env, plan, config)


INJECTORS: Final[Mapping[FaultKind, Injector]] = {
    FaultKind.KILL: _worker,
    FaultKind.SIGTERM: _worker,
    FaultKind.KILL_IN_BACKOFF: _worker,
    FaultKind.BROKER_RESTART: _broker,
    FaultKind.POISON: _poison,
    FaultKind.DUPLICATE_STORM: _storm,
    FaultKind.SCHEDULER_KILL: _scheduler,
}


def inject(env: Env, plan: FaultPlan, config: SoakConfig, slot: Scheduling | None) -> Injected:
    """Apply one planned fault; an implementation error becomes a problem of the fault."""
    env.note("soak.fault", plan.kind.value, index=plan.index, planned_at_s=plan.at_s)
    try:
        return INJECTORS[plan.kind](env, plan, config, slot)
    except ImplementationFault as exc:
        return Injected(plan=plan, at=time.time(), target="", problems=(str(exc),))
