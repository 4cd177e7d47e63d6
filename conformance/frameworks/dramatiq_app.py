"""The user's Dramatiq app as the ``dramatiq`` CLI loads it, and what its middleware offers.

``--app`` is what you pass to ``dramatiq``: a module that sets the broker and declares the
actors (``tasks``), or ``module:broker``. The adapter reads the broker's Retries
(present or not: the kit's actors set their own ``max_retries``, ``min_backoff`` and
``max_backoff``), TimeLimit (and how often it checks), AgeLimit and Callbacks middleware, the
Redis broker's ``namespace`` and ``heartbeat_timeout``, and the worker's idle poll
(``dramatiq_worker_timeout``). Only a Redis broker is supported. The adapter and the kit's
worker processes derive the probe catalogue from the same reading (:func:`job_catalogue`).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, replace
from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Retries, TimeLimit

from .. import probes
from ..adapter import Capability, JitterModel, JobSpec, Timing, TimingFacts
from .appref import AppRef, AppRefError, load_app, on_path

#: Dramatiq's worker idle poll (ms), the tick of its delayed messages; read as Dramatiq reads it.
WORKER_TIMEOUT_ENV = "dramatiq_worker_timeout"
#: The probe types Dramatiq carries on Redis (no limits, priorities, unique jobs or cron).
PROBE_TYPES = (probes.PROBE_DEFAULT, probes.PROBE_LONG)


@dataclass(frozen=True, kw_only=True)
class DramatiqConfig:
    """What the user's broker offers the kit's probe actors."""

    app: str  # the CLI argument: module or module:broker
    broker: RedisBroker
    retries: bool  # Retries middleware installed
    time_limit_check_s: float | None  # TimeLimit installed: how often it checks; else None
    age_limit: bool
    callbacks: bool
    heartbeat_timeout_ms: int
    worker_timeout_ms: int

    @property
    def namespace(self) -> str:
        """The Redis key namespace of the broker."""
        return str(self.broker.namespace)

    def facts(self) -> TimingFacts:
        """Equal jitter (1..2x of a base delay); a delay or limit lands on a poll or check tick."""
        tick = max(self.worker_timeout_ms / 1000, self.time_limit_check_s or 0.0)
        return TimingFacts(jitter=JitterModel.EQUAL, resolution_s=tick)

    def capabilities(self) -> frozenset[Capability]:
        """Dead letters, delays and worker faults always; retries and timeouts by middleware."""
        found = {
            Capability.DEAD_LETTER,
            Capability.DELAYED_JOBS,
            Capability.MULTIPLE_WORKERS,
            Capability.KILL_WORKER,
            Capability.GRACEFUL_SHUTDOWN,
        }
        if self.retries:
            found |= {Capability.RETRIES, Capability.BACKOFF}
        if self.time_limit_check_s is not None:
            found.add(Capability.TIMEOUTS)
        return frozenset(found)

    def backoff_delays(self, max_attempts: int) -> tuple[float, ...]:
        """Return the declared retry delays: doubling from two ticks, each step a tick or more.

        Under the worker's poll tick a step of the kit's 0.1 s scale would be lost in when
        the worker polls; Dramatiq's delays are stretched 1..2x (equal jitter of the top), so
        ``min_backoff`` is half the first delay.
        """
        first = 2 * max(self.facts().resolution_s, 0.05)
        return tuple(first * 2**i for i in range(max(max_attempts - 1, 0)))

    def job_catalogue(self, timing: Timing) -> tuple[JobSpec, ...]:
        """Return the probe types with what the middleware offers, at Dramatiq's scale."""
        specs = []
        for spec in probes.probe_catalogue(timing):
            if spec.name not in PROBE_TYPES:
                continue
            spec = replace(spec, backoff_delays_s=self.backoff_delays(spec.max_attempts))
            if not self.retries:
                spec = replace(spec, max_attempts=1, backoff_delays_s=())
            if self.time_limit_check_s is None:
                spec = replace(spec, timeout_s=None)
            specs.append(replace(spec, timing_facts=self.facts()))
        return tuple(specs)


def _find(broker: dramatiq.Broker, kind: type[object]) -> object | None:
    return next((m for m in broker.middleware if isinstance(m, kind)), None)


def read_config(app: str, broker: dramatiq.Broker) -> DramatiqConfig:
    """Read what ``broker`` (the app's) offers; raise naming the fix for a non-Redis broker."""
    if not isinstance(broker, RedisBroker):
        raise AppRefError(
            f"--app {app!r}: the broker is a {type(broker).__name__}; the bundled Dramatiq "
            "adapter drives a RedisBroker (dramatiq[redis]), set with dramatiq.set_broker()"
        )
    limit = _find(broker, TimeLimit)
    check_s = float(getattr(getattr(limit, "manager", None), "interval", 1.0)) if limit else None
    return DramatiqConfig(
        app=app,
        broker=broker,
        retries=_find(broker, Retries) is not None,
        time_limit_check_s=check_s,
        age_limit=_find(broker, AgeLimit) is not None,
        callbacks=_find(broker, Callbacks) is not None,
        heartbeat_timeout_ms=int(broker.heartbeat_timeout),
        worker_timeout_ms=int(os.environ.get(WORKER_TIMEOUT_ENV, "1000")),
    )


def load_config(app: str, search: Path) -> DramatiqConfig:
    """Import ``app`` as ``dramatiq`` does (``module`` or ``module:broker``); read its broker."""
    if ":" in app:
        broker = load_app(
            AppRef.parse(app, framework="dramatiq"),
            search=search,
            kind=dramatiq.Broker,
            framework="dramatiq",
        )
        config = read_config(app, broker)
        dramatiq.set_broker(broker)  # as the `dramatiq module:broker` CLI does
        return config
    else:
        on_path(search)
        try:
            importlib.import_module(app)
        except ImportError as exc:
            raise AppRefError(
                f"--app {app!r}: cannot import it ({exc}); give the module you pass to "
                f"`dramatiq` (tasks, or tasks:broker), importable from {search}"
            ) from exc
        broker = dramatiq.get_broker()
    return read_config(app, broker)
