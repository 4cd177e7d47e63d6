"""The kit's probe actors, declared on the user's Dramatiq broker under a queue of the kit.

The ``dramatiq`` CLI of a kit worker imports the user's app module first (it sets the broker),
then this module, which declares one actor per probe type on that broker when
:data:`QUEUE_ENV` names the kit's queue. The kit's own process declares the same actors through
:func:`declare` to send messages. A probe learns its message id and attempt from Dramatiq's
``CurrentMessage`` middleware, which kit workers add when the app has not.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage

from .. import probes
from ..adapter import JobSpec, JSONObject

#: Environment of a kit worker: the kit's queue, and the probe specs as JSON.
QUEUE_ENV = "JOBFORGE_DRAMATIQ_QUEUE"
SPECS_ENV = "JOBFORGE_DRAMATIQ_SPECS"


def actor_name(job_type: str) -> str:
    """The kit's actor of a probe type: ``jobforge.probe.default``."""
    return f"jobforge.{job_type}"


@dataclass
class DramatiqProbeContext:
    """What the probe sees of its Dramatiq message."""

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
        probes.run_probe(payload, DramatiqProbeContext(message.message_id, attempt), job_type=job_type)

    run.__name__ = actor_name(job_type).replace(".", "_")
    return run


def actor_options(spec: JobSpec, *, retries: bool, time_limit: bool) -> dict[str, Any]:
    """Dramatiq actor options for a declared probe spec (milliseconds, as Dramatiq counts)."""
    options: dict[str, Any] = {}
    if retries:
        delays = spec.backoff_delays_s or (0.0,)
        options |= {
            "max_retries": spec.max_attempts - 1,
            # Dramatiq waits min_backoff * 2**i stretched by 1..2x: declared delays are the top.
            "min_backoff": max(1, round(delays[0] * 1000 / 2)),
            "max_backoff": max(1, round(max(delays) * 1000)),
            "throws": (probes.ProbePermanentError,),
        }
    if time_limit and spec.timeout_s is not None:
        options["time_limit"] = round(spec.timeout_s * 1000)
    return options


def declare(
    broker: dramatiq.Broker, queue: str, specs: Mapping[str, Mapping[str, Any]]
) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare one actor per probe type on ``broker`` and ``queue``; return them by type."""
    return {
        job_type: dramatiq.actor(
            _body(job_type),
            actor_name=actor_name(job_type),
            queue_name=queue,
            broker=broker,
            **options,
        )
        for job_type, options in specs.items()
    }


def specs_json(specs: Mapping[str, Mapping[str, Any]]) -> str:
    """Serialize actor options for the worker environment (exception classes by name)."""
    return json.dumps(
        {
            t: {k: ["ProbePermanentError"] if k == "throws" else v for k, v in o.items()}
            for t, o in specs.items()
        }
    )


def _specs_from_env(raw: str) -> dict[str, dict[str, Any]]:
    doc: dict[str, dict[str, Any]] = json.loads(raw)
    for options in doc.values():
        if "throws" in options:
            options["throws"] = (probes.ProbePermanentError,)
    return doc


def _declare_in_worker() -> None:
    broker = dramatiq.get_broker()
    if not any(isinstance(m, CurrentMessage) for m in broker.middleware):
        broker.add_middleware(CurrentMessage())
    declare(broker, os.environ[QUEUE_ENV], _specs_from_env(os.environ[SPECS_ENV]))


if QUEUE_ENV in os.environ and SPECS_ENV in os.environ:
    _declare_in_worker()
