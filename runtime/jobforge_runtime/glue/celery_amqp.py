"""Celery on RabbitMQ: quorum queues, publisher confirms, one prefetched job per process.

What this changes from ``glue.celery`` (Celery on Redis), whose dispatcher and worker it reuses:

- queues are durable **quorum queues** (replicated, fsynced before the publisher is confirmed) on
  a topic exchange named after the key prefix; a broker older than 3.8 gets durable classic
  queues. Quorum queues ignore message priorities before RabbitMQ 4.0.
- **publisher confirms** (``confirm_publish``): ``enqueue`` returns once the broker has the
  message, persistent delivery mode.
- **prefetch 1 with late acks**: a message is acknowledged after its job settles; a worker
  process lost mid-job gets its message redelivered (``task_reject_on_worker_lost``).
- delays (retries' backoff, ``submit --delay``) use Celery's native delayed delivery on quorum
  queues for their whole seconds (the broker holds the message, not the worker); the worker that
  receives it waits out the rest (under a second) before it claims the job.
- RabbitMQ cancels a consumer that holds an unacknowledged message longer than its
  ``consumer_timeout`` (30 minutes by default, rabbitmq.conf). A message can wait behind one
  running job and then run for its own timeout, so the longest job timeout ``T`` needs
  ``2 T + 60 s`` below it. When it is not, RabbitMQ 3.12+ gets ``x-consumer-timeout`` on each
  queue; an older broker is refused at build, in one line.
- no remote control (Celery's pidbox is an exclusive queue per host name on RabbitMQ, so a
  second worker on one host would fail to start); the runtime's CLI manages jobs.
- the ledger lives in PostgreSQL or Redis, named by ``ledger_url`` (``JOBS_LEDGER_URL``); RabbitMQ
  keeps none.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from celery import Celery
from kombu.entity import Exchange, Queue

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.glue.celery import CeleryDispatcher, celery_priority
from jobforge_runtime.glue.celery import run_worker as run_worker
from jobforge_runtime.ledger.choice import ledger_for_url
from jobforge_runtime.logs import LOGGER_NAME
from jobforge_runtime.records import ClaimOutcome
from jobforge_runtime.recovery import worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings

#: RabbitMQ's default ``consumer_timeout`` (rabbitmq.conf), in seconds.
DEFAULT_CONSUMER_TIMEOUT_S = 1800.0
#: First RabbitMQ versions with quorum queues and with the per-queue ``x-consumer-timeout``.
QUORUM_SINCE = (3, 8)
QUEUE_CONSUMER_TIMEOUT_SINCE = (3, 12)
#: Slack above two job timeouts for the unacknowledged time of one message.
MARGIN_S = 60.0
#: A job received this close to its due time is waited for in the worker, not sent back.
SUBSECOND_WAIT_S = 1.0

BrokerVersion = Callable[[], tuple[int, int] | None]


def longest_timeout_s(settings: Settings, catalogue: Catalogue) -> float:
    """Return the longest per-attempt timeout of any job (the settings' default included)."""
    return max([settings.timeout_s, *(j.timeout_s or 0.0 for j in catalogue)])


def unacked_bound_s(settings: Settings, catalogue: Catalogue) -> float:
    """Return how long one message can stay unacknowledged: behind a job, then its own run."""
    return 2 * longest_timeout_s(settings, catalogue) + MARGIN_S


def queue_arguments(
    settings: Settings,
    catalogue: Catalogue,
    version: BrokerVersion,
    *,
    consumer_timeout_s: float = DEFAULT_CONSUMER_TIMEOUT_S,
) -> dict[str, Any]:
    """Return the queues' arguments: quorum type, and a consumer timeout where one is needed."""
    needed = unacked_bound_s(settings, catalogue)
    found = version()  # None: not reachable now; quorum queues are assumed (3.8 is from 2019)
    arguments: dict[str, Any] = {}
    if found is None or found >= QUORUM_SINCE:
        arguments["x-queue-type"] = "quorum"
    if needed <= consumer_timeout_s:
        return arguments
    if found is not None and found >= QUEUE_CONSUMER_TIMEOUT_SINCE:
        arguments["x-consumer-timeout"] = math.ceil(needed * 1000)
        return arguments
    broker = "an unreachable broker" if found is None else "RabbitMQ {}.{}".format(*found)
    raise SettingsError(
        f"timeout_s={longest_timeout_s(settings, catalogue):g}: a message waits behind one job and "
        f"runs for its own, {needed:g} s unacknowledged, past the consumer_timeout of "
        f"{consumer_timeout_s:g} s, and {broker} cannot set x-consumer-timeout per queue (3.12+); "
        "lower the longest job timeout, or raise consumer_timeout in rabbitmq.conf and set "
        "JOBS_AMQP_CONSUMER_TIMEOUT_S to it"
    )


def broker_version(app: Celery) -> BrokerVersion:
    """Return a probe of the broker's (major, minor) version, None when it does not answer."""
    cache: list[tuple[int, int] | None] = []

    def probe() -> tuple[int, int] | None:
        if cache:
            return cache[0]
        try:
            with app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1, timeout=3)
                raw = conn.connection.server_properties.get("version", "")
        except Exception:
            return None  # not cached: the broker may come up later
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        parts = text.split(".")
        found = (int(parts[0]), int(parts[1])) if len(parts) >= 2 and parts[1].isdigit() else None
        cache.append(found)
        return found

    return probe


def consumer_timeout_setting() -> float:
    """Return the broker's consumer_timeout as told by ``JOBS_AMQP_CONSUMER_TIMEOUT_S``."""
    import os

    raw = os.environ.get("JOBS_AMQP_CONSUMER_TIMEOUT_S", "")
    if not raw:
        return DEFAULT_CONSUMER_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise SettingsError(
            f"JOBS_AMQP_CONSUMER_TIMEOUT_S={raw!r}: not a positive number of seconds; set it to "
            "the broker's consumer_timeout in ms / 1000 (1800 by default)"
        )
    return value


def amqp_app(settings: Settings, catalogue: Catalogue) -> Celery:
    """Return the Celery app on RabbitMQ (see the module's docstring for each choice)."""
    if not settings.broker_url.startswith(("amqp://", "amqps://", "pyamqp://")):
        raise SettingsError(
            f"broker_url={settings.broker_url!r}: the celery_amqp backend needs an amqp:// URL, "
            "e.g. JOBS_BROKER_URL=amqp://guest:guest@localhost:5672//"
        )
    app = Celery(settings.key_prefix, broker=settings.broker_url, set_as_current=False)
    arguments = queue_arguments(
        settings, catalogue, broker_version(app), consumer_timeout_s=consumer_timeout_setting()
    )
    exchange = Exchange(settings.key_prefix, type="topic", durable=True)  # type: ignore[no-untyped-call]
    queues = [
        Queue(  # type: ignore[no-untyped-call]
            f"{settings.key_prefix}.{name}",
            exchange,
            routing_key=f"{settings.key_prefix}.{name}",
            durable=True,
            queue_arguments=dict(arguments),
        )
        for name in settings.queues
    ]
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        task_queues=queues,
        task_create_missing_queues=False,
        task_default_queue=queues[0].name,
        task_default_exchange=settings.key_prefix,
        task_default_exchange_type="topic",
        task_default_routing_key=queues[0].routing_key,
        task_default_delivery_mode="persistent",
        broker_transport_options={"confirm_publish": True},
        # no pidbox: on RabbitMQ it is an exclusive queue per host name, which a second worker
        # on the same host cannot declare; the runtime's CLI, not Celery's, controls workers
        worker_enable_remote_control=False,
    )
    return app


class AmqpDispatcher(CeleryDispatcher):
    """Publishes job ids with confirms; the whole seconds of a delay go through the broker."""

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Publish ``job_id`` on ``queue``, held by the broker for ``delay_s``'s whole seconds."""
        if queue not in self.settings.queues:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.settings.queues)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        self.task.apply_async(
            args=(job_id, job_type),
            queue=f"{self.settings.key_prefix}.{queue}",
            priority=celery_priority(priority),
            countdown=math.floor(delay_s) if delay_s >= 1 else None,
        )


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on Celery and RabbitMQ with its ledger at ``ledger_url``."""
    from jobforge_runtime.execution import claim, execute

    ledger = ledger_for_url(settings.ledger_url, prefix=settings.key_prefix, backend="celery_amqp")
    app = amqp_app(settings, catalogue)
    dispatcher = AmqpDispatcher(settings, app)
    runtime = Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=dispatcher,
        alerter=alerter_for(settings, ledger, logging.getLogger(LOGGER_NAME)),
    )

    @app.task(name=f"{settings.key_prefix}.run_job")  # type: ignore[untyped-decorator]
    def run_job(job_id: str, job_type: str) -> None:
        worker = worker_name()
        taken = claim(runtime, job_id, job_type, worker=worker)
        if taken.outcome is ClaimOutcome.NOT_YET and taken.retry_in_s < SUBSECOND_WAIT_S:
            time.sleep(taken.retry_in_s)  # the part of the delay the broker cannot hold
            taken = claim(runtime, job_id, job_type, worker=worker)
        execute(runtime, job_id, job_type, worker=worker, claimed=taken)

    dispatcher.bind(run_job)
    return runtime


__all__ = ["AmqpDispatcher", "amqp_app", "build_runtime", "queue_arguments", "run_worker"]
