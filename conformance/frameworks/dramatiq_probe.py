"""The kit's probe actors, declared on the user's Dramatiq broker under a queue of the kit.

A kit worker is ``dramatiq <app> jobforge.conformance.frameworks.dramatiq_probe --queues <kit
queue>``: Dramatiq imports the user's app first (it sets the broker), then this module, which
reads the kit's settings from the environment (:class:`~.settings.KitSettings`) and declares
one actor per probe type on that broker, with the options the app's middleware honours. The
kit's own process declares the same actors through :func:`declare` to send messages. A probe
learns its message id and attempt from Dramatiq's ``CurrentMessage`` middleware, which kit
workers add when the app has not (it only exposes the message being processed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.common import dq_name
from dramatiq.middleware import CurrentMessage

from .. import probes
from ..adapter import JobSpec, JSONObject
from .dramatiq_app import PROBE_TYPES, DramatiqConfig, read_config
from .settings import SETTINGS_ENV, KitSettings


def actor_name(job_type: str) -> str:
    """Return the kit's actor name of a probe type: ``jobforge.probe.default``."""
    return f"jobforge.{job_type}"


@dataclass(frozen=True)
class DramatiqProbeContext:
    """One attempt of a probe on Dramatiq, which keeps no progress, checkpoints or guard."""

    job_id: str
    attempt: int

    def claim_effect(self, key: str) -> bool:
        """Dramatiq has no idempotency guard: every attempt may apply the effect."""
        return True

    def set_progress(self, fraction: float) -> None:
        """Dramatiq keeps no progress."""

    def save_checkpoint(self, state: JSONObject) -> None:
        """Dramatiq keeps no checkpoints."""

    def load_checkpoint(self) -> JSONObject | None:
        """Dramatiq keeps no checkpoints."""
        return None


def _body(job_type: str) -> Any:
    def run(payload: JSONObject) -> None:
        message = CurrentMessage.get_current_message()
        if message is None:
            raise RuntimeError("the kit's probe actor needs Dramatiq's CurrentMessage middleware")
        attempt = int(message.options.get("retries", 0)) + 1
        ctx = DramatiqProbeContext(str(message.message_id), attempt)
        probes.run_probe(payload, ctx, job_type=job_type)

    run.__name__ = actor_name(job_type).replace(".", "_")
    return run


def actor_options(spec: JobSpec, config: DramatiqConfig) -> dict[str, Any]:
    """Dramatiq actor options for a declared probe spec (milliseconds, as Dramatiq counts)."""
    options: dict[str, Any] = {}
    if config.retries and spec.max_attempts > 1:
        delays = spec.backoff_delays_s or (0.0,)
        options |= {
            "max_retries": spec.max_attempts - 1,
            # Dramatiq waits min_backoff * 2**i stretched 1..2x, at most max_backoff: the
            # declared delays are the tops of those ranges.
            "min_backoff": max(1, round(delays[0] * 1000 / 2)),
            "max_backoff": max(1, round(max(delays) * 1000)),
            "throws": (probes.ProbePermanentError,),
        }
    if config.time_limit_check_s is not None and spec.timeout_s is not None:
        options["time_limit"] = round(spec.timeout_s * 1000)
    return options


def withdraw(config: DramatiqConfig, queue: str) -> None:
    """Take the kit's actors and queues off the app's broker object, leaving it as it was."""
    broker = config.broker
    for job_type in PROBE_TYPES:
        broker.actors.pop(actor_name(job_type), None)
    broker.queues.discard(queue)
    broker.delay_queues.discard(dq_name(queue))


def declare(config: DramatiqConfig, queue: str, specs: tuple[JobSpec, ...]) -> dict[str, Any]:
    """Declare one actor per probe spec on the app's broker and ``queue``; return them by type.

    Actors an earlier run in this process left on the broker are withdrawn first.
    """
    for spec in specs:
        config.broker.actors.pop(actor_name(spec.name), None)
    return {
        spec.name: dramatiq.actor(
            actor_name=actor_name(spec.name),
            queue_name=queue,
            broker=config.broker,
            **actor_options(spec, config),
        )(_body(spec.name))
        for spec in specs
    }


def _declare_in_worker() -> None:
    kit = KitSettings.from_env()
    broker = dramatiq.get_broker()
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())
    config = read_config(kit.app, broker)
    declare(config, kit.prefix, config.job_catalogue(kit.timing))


if SETTINGS_ENV in os.environ:
    _declare_in_worker()
