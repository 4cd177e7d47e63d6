"""AWS SQS with boto3: long polling, a visibility heartbeat, redrive to a dead-letter queue, FIFO.

Messages are JSON (``{"job_id", "job_type"}``); the ledger (PostgreSQL or Redis, ``ledger_url``)
holds everything else, as with every backend. Options come from the broker URL and credentials
from the environment (see :mod:`jobforge_runtime.glue.sqs_options`).

- **Long polling**: each receive waits up to ``wait_s`` seconds (20 by default).
- **Heartbeat**: while a job runs, its message's visibility is extended every third of
  ``visibility_s``; the message is deleted once the job settles, so it comes back only when the
  worker stopped without settling (and then the ledger's claim decides whether it runs).
- **Delays**: a standard queue carries a delay as ``DelaySeconds`` (at most 900 s; a longer delay
  is carried again when that runs out). A FIFO queue cannot delay one message, so a message
  received early is made invisible until its job is due: later jobs of the same group wait
  behind it, which is what ordering means.
- **FIFO**: one message group per job type, a deduplication id per dispatch (a send that boto3
  retries is not queued twice).
- **Dead letters**: the runtime's dead-letter queue (the ledger) is authoritative: a job is dead
  when its attempts are spent, whatever SQS counted. SQS's redrive policy moves a message
  received ``max_receives`` times without being deleted to ``<queue>-dlq``; the worker drains
  it: a message of a job still live in the ledger is queued again, one of a settled or unknown
  job is deleted, and a message that is not a job message stays there for an operator.
"""

from __future__ import annotations

import json
import logging
import math
import signal
import threading
import uuid
from typing import Any

from jobforge_runtime.alerts import alerter_for
from jobforge_runtime.catalogue import Catalogue
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.glue.sqs_options import SqsOptions, queue_name, sqs_client
from jobforge_runtime.ledger.choice import ledger_for_url
from jobforge_runtime.logs import LOGGER_NAME, log_event
from jobforge_runtime.records import ClaimOutcome, JobStatus
from jobforge_runtime.recovery import Reaper, worker_name
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings

#: Longest ``DelaySeconds`` SQS accepts, and longest visibility timeout.
MAX_DELAY_S = 900
MAX_VISIBILITY_S = 43200
FINAL = (JobStatus.COMPLETED, JobStatus.DEAD, JobStatus.FAILED)


class SqsDispatcher:
    """Sends job ids to one SQS queue per settings queue (made, with its DLQ, on first use)."""

    def __init__(self, settings: Settings, options: SqsOptions) -> None:
        """Dispatch for ``settings``; the client is made on first use, in each process."""
        self.settings = settings
        self.options = options
        self._client: Any = None
        self._urls: dict[tuple[str, bool], str] = {}
        self._lock = threading.Lock()

    @property
    def client(self) -> Any:
        """The boto3 SQS client (thread-safe), from the environment's credentials."""
        with self._lock:
            if self._client is None:
                self._client = sqs_client()
            return self._client

    def queue_url(self, queue: str, *, dead: bool = False) -> str:
        """Return the URL of ``queue`` (or its DLQ), creating both with their attributes."""
        if queue not in self.settings.queues:
            raise SettingsError(
                f"queue={queue!r} is not one of the settings' queues {list(self.settings.queues)}; "
                "add it to Settings.queues or fix the job's queue"
            )
        if (queue, dead) not in self._urls:
            self._create(queue)
        return self._urls[(queue, dead)]

    def _create(self, queue: str) -> None:
        fifo = self.options.fifo
        common = {"FifoQueue": "true", "ContentBasedDeduplication": "false"} if fifo else {}
        prefix = self.settings.key_prefix
        dlq = self.client.create_queue(
            QueueName=queue_name(prefix, queue, fifo=fifo, dead=True),
            Attributes={**common, "MessageRetentionPeriod": "1209600"},
        )["QueueUrl"]
        arn = self.client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
        redrive = {
            "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
            "maxReceiveCount": str(self.options.max_receives),
        }
        url = self.client.create_queue(
            QueueName=queue_name(prefix, queue, fifo=fifo),
            Attributes={
                **common,
                "VisibilityTimeout": str(self.options.visibility_s),
                "ReceiveMessageWaitTimeSeconds": str(self.options.wait_s),
                "RedrivePolicy": json.dumps(redrive),
            },
        )["QueueUrl"]
        self._urls[(queue, True)] = dlq
        self._urls[(queue, False)] = url

    def dispatch(
        self, job_id: str, job_type: str, *, queue: str, priority: int, delay_s: float
    ) -> None:
        """Send ``job_id`` to ``queue`` (SQS has no priorities; ``priority`` is not carried)."""
        params: dict[str, Any] = {
            "QueueUrl": self.queue_url(queue),
            "MessageBody": json.dumps({"job_id": job_id, "job_type": job_type}),
        }
        if self.options.fifo:
            params["MessageGroupId"] = job_type
            params["MessageDeduplicationId"] = f"{job_id}-{uuid.uuid4().hex[:16]}"
        elif delay_s > 0:
            params["DelaySeconds"] = min(MAX_DELAY_S, math.ceil(delay_s))
        self.client.send_message(**params)

    def purge(self) -> int:
        """Empty every queue of the settings and its DLQ (tools and tests); return how many."""
        for queue in self.settings.queues:
            for dead in (False, True):
                self.client.purge_queue(QueueUrl=self.queue_url(queue, dead=dead))
        return 2 * len(self.settings.queues)

    def ping(self) -> bool:
        """Return True when SQS answers for the first queue."""
        try:
            self.client.get_queue_attributes(
                QueueUrl=self.queue_url(self.settings.queues[0]), AttributeNames=["QueueArn"]
            )
        except Exception:
            return False
        return True


class Heartbeat:
    """Extends one message's visibility every third of the timeout until stopped."""

    def __init__(self, client: Any, url: str, receipt: str, visibility_s: int) -> None:
        """Keep ``receipt`` on ``url`` invisible for ``visibility_s`` from each beat."""
        self.client, self.url, self.receipt, self.visibility_s = client, url, receipt, visibility_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="sqs-heartbeat", daemon=True)

    def __enter__(self) -> Heartbeat:
        """Start beating."""
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop beating."""
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.visibility_s / 3):
            try:
                self.client.change_message_visibility(
                    QueueUrl=self.url,
                    ReceiptHandle=self.receipt,
                    VisibilityTimeout=self.visibility_s,
                )
            except Exception:
                logging.getLogger(LOGGER_NAME).warning("visibility heartbeat failed", exc_info=True)


def parse_body(body: str) -> tuple[str, str] | None:
    """Return ``(job_id, job_type)`` of a job message, None for anything else."""
    try:
        data = json.loads(body)
        job_id, job_type = data["job_id"], data["job_type"]
    except (ValueError, TypeError, KeyError):
        return None
    if isinstance(job_id, str) and isinstance(job_type, str):
        return job_id, job_type
    return None


def handle(runtime: Runtime, dispatcher: SqsDispatcher, url: str, message: dict[str, Any]) -> None:
    """Claim, run and settle one received message; delete it unless it must come back."""
    from jobforge_runtime.execution import claim, execute

    client, receipt = dispatcher.client, message["ReceiptHandle"]
    parsed = parse_body(message["Body"])
    if parsed is None:
        log_event(runtime.logger, "unreadable_message", "not a job message; left for the DLQ")
        return
    job_id, job_type = parsed
    worker = worker_name()
    taken = claim(runtime, job_id, job_type, worker=worker)
    if taken.outcome in (ClaimOutcome.NOT_YET, ClaimOutcome.BUSY) and dispatcher.options.fifo:
        wait = min(MAX_VISIBILITY_S, max(1, math.ceil(taken.retry_in_s)))
        client.change_message_visibility(
            QueueUrl=url, ReceiptHandle=receipt, VisibilityTimeout=wait
        )
        return
    with Heartbeat(client, url, receipt, dispatcher.options.visibility_s):
        execute(runtime, job_id, job_type, worker=worker, claimed=taken)
    client.delete_message(QueueUrl=url, ReceiptHandle=receipt)


def drain_dead_letters(runtime: Runtime, dispatcher: SqsDispatcher, queue: str) -> int:
    """Reconcile SQS's DLQ of ``queue`` with the ledger; return the messages handled."""
    client, url = dispatcher.client, dispatcher.queue_url(queue, dead=True)
    handled = 0
    while True:
        got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = got.get("Messages", [])
        if not messages:
            return handled
        for message in messages:
            parsed = parse_body(message["Body"])
            if parsed is None:
                continue  # not ours: an operator looks at it
            record = runtime.ledger.get(parsed[0])
            if record is not None and record.status not in FINAL:
                dispatcher.dispatch(
                    record.job_id, record.job_type, queue=queue, priority=0, delay_s=0.0
                )
                log_event(
                    runtime.logger, "redriven", job_id=record.job_id, job_type=record.job_type
                )
            client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1


def build_runtime(settings: Settings, catalogue: Catalogue) -> Runtime:
    """Return a runtime on SQS with its ledger at ``ledger_url``."""
    options = SqsOptions.from_url(settings.broker_url)
    ledger = ledger_for_url(settings.ledger_url, prefix=settings.key_prefix, backend="sqs")
    return Runtime(
        settings=settings,
        ledger=ledger,
        catalogue=catalogue,
        dispatcher=SqsDispatcher(settings, options),
        alerter=alerter_for(settings, ledger, logging.getLogger(LOGGER_NAME)),
    )


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Consume ``queue`` with ``concurrency`` threads; SIGTERM or SIGINT finish running jobs."""
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, SqsDispatcher):
        raise SettingsError("run_worker: this runtime was not built by glue.sqs.build_runtime")
    url = dispatcher.queue_url(queue)
    stop = threading.Event()
    wait_s = dispatcher.options.wait_s

    def consume() -> None:
        while not stop.is_set():
            got = dispatcher.client.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_s
            )
            for message in got.get("Messages", []):
                handle(runtime, dispatcher, url, message)

    def on_signal(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reaper = Reaper(runtime, worker=worker_name()).start()
    threads = [threading.Thread(target=consume, name=f"sqs-{i}") for i in range(concurrency)]
    for thread in threads:
        thread.start()
    log_event(runtime.logger, "worker_ready", "worker ready", queue=queue, worker=worker_name())
    try:
        while not stop.wait(max(5.0, dispatcher.options.visibility_s)):
            drain_dead_letters(runtime, dispatcher, queue)
    finally:
        for thread in threads:
            thread.join()
        reaper.stop()
