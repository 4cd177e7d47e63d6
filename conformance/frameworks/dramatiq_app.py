"""The user's Dramatiq app as the ``dramatiq`` CLI loads it, and what its middleware offers.

``--app`` is what you pass to ``dramatiq``: a module that sets the broker and declares the
actors (``tasks``), or ``module:broker``. The adapter reads the broker's Retries
(``max_retries``, ``min_backoff``, ``max_backoff``), TimeLimit (``time_limit``, its check
``interval``), AgeLimit (``max_age``) and Callbacks middleware, and the Redis broker's
``namespace`` and ``heartbeat_timeout``. Only a Redis broker is supported.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Retries, TimeLimit

from jobforge.errors import UsageError

#: Dramatiq's worker poll timeout (ms), the tick of its delayed messages; env as Dramatiq reads it.
WORKER_TIMEOUT_ENV = "dramatiq_worker_timeout"


@dataclass(frozen=True, kw_only=True)
class DramatiqConfig:
    """What the user's broker offers the kit's probe actors."""

    app: str  # the CLI argument: module or module:broker
    broker: RedisBroker
    namespace: str
    retries: Retries | None
    time_limit: TimeLimit | None
    age_limit: AgeLimit | None
    callbacks: bool
    heartbeat_timeout_ms: int
    worker_timeout_ms: int

    @property
    def tick_s(self) -> float:
        """How late a delayed message may be fetched: the worker's idle poll, at most."""
        return self.worker_timeout_ms / 1000


def _middleware(broker: dramatiq.Broker, kind: type[object]) -> object | None:
    return next((m for m in broker.middleware if isinstance(m, kind)), None)


def load_app(app: str, search: Path) -> DramatiqConfig:
    """Import ``app`` as ``dramatiq`` does and read its broker's configuration."""
    module_name, _, attr = app.partition(":")
    if str(search) not in sys.path:
        sys.path.insert(0, str(search))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(
            f"--app {app!r}: cannot import {module_name!r} ({exc}); give the module you pass to "
            f"`dramatiq` (e.g. tasks or tasks:broker), importable from {search}"
        ) from exc
    broker = getattr(module, attr) if attr else dramatiq.get_broker()
    if not isinstance(broker, RedisBroker):
        raise UsageError(
            f"--app {app!r}: the broker is a {type(broker).__name__}; the bundled Dramatiq "
            "adapter drives a RedisBroker (dramatiq[redis]), set with dramatiq.set_broker()"
        )
    dramatiq.set_broker(broker)
    retries = _middleware(broker, Retries)
    time_limit = _middleware(broker, TimeLimit)
    age_limit = _middleware(broker, AgeLimit)
    return DramatiqConfig(
        app=app,
        broker=broker,
        namespace=str(broker.namespace),
        retries=retries if isinstance(retries, Retries) else None,
        time_limit=time_limit if isinstance(time_limit, TimeLimit) else None,
        age_limit=age_limit if isinstance(age_limit, AgeLimit) else None,
        callbacks=_middleware(broker, Callbacks) is not None,
        heartbeat_timeout_ms=int(broker.heartbeat_timeout),
        worker_timeout_ms=int(os.environ.get(WORKER_TIMEOUT_ENV, "1000")),
    )
