"""Faults the kit injects, each recorded in the ledger as a ``fault.*`` event.

Planned job failures (transient / permanent / unclassified errors at chosen attempts, jobs
slower than their timeout, partial effects) are written into probe payloads
(:func:`jobforge.conformance.probes.probe_payload`). Duplicate submissions are plain repeated
``submit`` calls. The faults here act on the running system: SIGKILL a worker in the middle of
a job, stop one gracefully (SIGTERM), restart the broker where the adapter can, and "fix the
bug" of a healable probe before a replay.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from .env import Env, ImplementationFault
from .history import History
from .probes import HEAL_EVENT


@runtime_checkable
class BrokerControl(Protocol):
    """Optional adapter extension for implementations that declare ``broker_restart``."""

    def restart_broker(self) -> None:
        """Restart the broker/store the implementation uses (a private instance), then return."""


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


def kill_worker(env: Env, worker: str) -> None:
    """SIGKILL ``worker`` in the middle of its work."""
    env.note("fault.kill_worker", worker)
    env.pool.kill(worker)


def terminate_worker(env: Env, worker: str) -> None:
    """Stop ``worker`` gracefully (SIGTERM: it finishes its current job)."""
    env.note("fault.sigterm", worker)
    env.pool.stop(worker, graceful=True)


def restart_broker(env: Env) -> bool:
    """Restart the broker when the adapter can; return whether it did."""
    raw = env.adapter.raw
    if not isinstance(raw, BrokerControl):
        raise ImplementationFault(
            "capability broker_restart is declared but the adapter has no restart_broker()"
        )
    env.note("fault.broker_restart")
    env.adapter.call("restart_broker")
    return True


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
    env.adapter.call("stop_broker")
    try:
        yield
    finally:
        env.adapter.call("start_broker")
        env.note("fault.broker_up")
