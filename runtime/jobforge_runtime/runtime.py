"""The runtime of one process: settings, ledger, catalogue, dispatcher and alerts, as one value.

Glue modules build it (``jobforge_runtime.glue.huey.build_runtime``); request code calls
:meth:`Runtime.enqueue`, which validates, records and queues a job in one store transaction and
touches no logging configuration.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel

from jobforge_runtime.alerts import Alerter
from jobforge_runtime.catalogue import AnyJob, Catalogue, JobDef
from jobforge_runtime.errors import DelayNotAllowedError, NotInDeadLetterQueueError
from jobforge_runtime.ledger import Ledger
from jobforge_runtime.logs import LOGGER_NAME, log_event
from jobforge_runtime.records import ClaimLimits, JobRecord, NewJob
from jobforge_runtime.recovery import LeaseKeeper
from jobforge_runtime.settings import Settings

P = TypeVar("P", bound=BaseModel)


class Dispatcher(Protocol):
    """The framework seam: carry a job id to a worker, now or after a delay."""

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Queue ``job_id``; the worker that takes it calls ``execution.execute``."""

    def ping(self) -> bool:
        """Return True when the broker answers."""


@runtime_checkable
class PublishingDispatcher(Protocol):
    """A dispatcher that can record a job and publish its message in one atomic store step."""

    def create_and_dispatch(
        self, new: NewJob, *, now: float, delay_s: float
    ) -> tuple[JobRecord, bool] | None:
        """Record ``new`` and publish it together; None when it cannot (then: create, dispatch)."""


def new_job_id() -> str:
    """Return a fresh job id: a UUIDv7 (RFC 9562) as 32 hex digits, ordered by creation time.

    Ids that grow with time append to the ledger's primary key instead of landing on a random
    page, so a job's claim and the previous job's settlement touch the same page.
    """
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 74 of its 80 bits are used
    rand_a, rand_b = (rand >> 62) & 0xFFF, rand & ((1 << 62) - 1)
    return f"{(ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b:032x}"


@dataclass(frozen=True, kw_only=True)
class Runtime:
    """Everything a job needs at run time, passed explicitly (no global state)."""

    settings: Settings
    ledger: Ledger
    catalogue: Catalogue
    dispatcher: Dispatcher
    alerter: Alerter
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger(LOGGER_NAME))
    clock: Callable[[], float] = time.time
    leases: LeaseKeeper = field(init=False)
    _limits: dict[str | None, ClaimLimits] = field(init=False, default_factory=dict, repr=False)
    _publishing: PublishingDispatcher | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        """Create the lease keeper of this runtime's running jobs."""
        keeper = LeaseKeeper(self.ledger, lease_s=self.settings.lease_s, clock=self.clock)
        object.__setattr__(self, "leases", keeper)
        if isinstance(self.dispatcher, PublishingDispatcher):
            object.__setattr__(self, "_publishing", self.dispatcher)

    def enqueue(
        self,
        job: JobDef[P],
        payload: P,
        *,
        delay_s: float = 0.0,
        idempotency_key: str | None = None,
        priority: int | None = None,
    ) -> str:
        """Record and queue one job of type ``job``; return its id (the first one's for a key)."""
        return self._submit(
            job, job.validate(payload), delay_s, idempotency_key, priority, None, None
        )

    def enqueue_named(
        self,
        job_type: str,
        payload: Mapping[str, Any],
        *,
        delay_s: float = 0.0,
        idempotency_key: str | None = None,
    ) -> str:
        """Like :meth:`enqueue` for a job type given by name and a JSON payload (CLI, tools)."""
        job = self.catalogue.get(job_type)
        return self._submit(job, job.validate(payload), delay_s, idempotency_key, None, None, None)

    def replay(self, job_id: str) -> str:
        """Queue a dead job again as a new job in the same effect scope; return the new id.

        Effects the dead job already claimed (``ctx.claim_effect``) are not repeated.
        """
        letter = self.ledger.dead_letter(job_id)
        if letter is None:
            raise NotInDeadLetterQueueError(
                f"job_id={job_id!r} is not in the dead-letter queue; see `dlq list` for the ids"
            )
        if letter.replayed_as is not None:
            return letter.replayed_as
        original = self.ledger.get(job_id)
        scope = original.effect_scope if original is not None else job_id
        job = self.catalogue.get(letter.job_type)
        new_id = self._submit(job, job.validate(letter.payload), 0.0, None, None, job_id, scope)
        self.ledger.mark_replayed(job_id, new_id)
        log_event(self.logger, "replayed", job_id=new_id, job_type=letter.job_type)
        return new_id

    def _submit(
        self,
        job: AnyJob,
        model: BaseModel,
        delay_s: float,
        key: str | None,
        priority: int | None,
        replay_of: str | None,
        scope: str | None,
    ) -> str:
        if key is None and job.idempotency_key is not None and replay_of is None:
            key = f"{job.name}:{job.idempotency_key(model)}"
        if delay_s > 0 and not self.settings.delayed_jobs:
            raise DelayNotAllowedError(job.name, delay_s)
        now = self.clock()
        delay = max(0.0, delay_s)
        new = NewJob(
            job_id=new_job_id(),
            job_type=job.name,
            payload=model.model_dump(mode="json"),
            queue=job.queue or self.settings.queues[0],
            priority=job.priority if priority is None else priority,
            max_attempts=job.max_attempts or self.settings.max_attempts,
            idempotency_key=key,
            not_before=now + delay,
            group_key=f"order:{job.name}:{job.ordering_key(model)}" if job.ordering_key else None,
            unique_key=f"{job.name}:{job.unique_key(model)}" if job.unique_key else None,
            replay_of=replay_of,
            effect_scope=scope,
        )

        def dispatch() -> None:
            self.dispatcher.dispatch(
                new.job_id, new.job_type, queue=new.queue, priority=new.priority, delay_s=delay
            )

        done = None
        if self._publishing is not None:
            done = self._publishing.create_and_dispatch(new, now=now, delay_s=delay)
        record, created = done or self.ledger.create(new, now=now, then=dispatch)
        per_job = self.settings.log_job_events
        event = "enqueued" if created else "duplicate"
        log_event(self.logger, event, per_job_info=per_job, job_id=record.job_id, job_type=job.name)
        return record.job_id

    def status(self, job_id: str) -> JobRecord | None:
        """Return the ledger's record of ``job_id``, or None."""
        return self.ledger.get(job_id)

    def limits_for(self, job: AnyJob | None) -> ClaimLimits:
        """Return the limits checked when a job of type ``job`` is claimed (made once per type)."""
        name = None if job is None else job.name
        limits = self._limits.get(name)
        if limits is None:
            if job is None:
                limits = ClaimLimits(lease_s=self.settings.lease_s)
            else:
                limits = ClaimLimits(
                    lease_s=self.settings.lease_s,
                    type_cap=job.concurrency,
                    global_cap=self.settings.global_concurrency,
                    rate_per_s=job.rate_per_s,
                )
            self._limits[name] = limits
        return limits
