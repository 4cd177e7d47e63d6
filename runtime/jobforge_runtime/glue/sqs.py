"""AWS SQS with boto3: long polling, a visibility heartbeat, redrive to a dead-letter queue, FIFO.

Messages are JSON (``{"job_id", "job_type"}``); the ledger (PostgreSQL or Redis, ``ledger_url``)
holds everything else, as with every backend. Options come from the broker URL and credentials
from the environment (see :mod:`jobforge_runtime.glue.sqs_options`).

- **Long polling**: each receive waits up to ``wait_s`` seconds (20 by default).
- **Heartbeat**: while a job runs, its message's visibility is extended every third of
  ``visibility_s``; the message is deleted once the job settles, so it comes back only when the
  worker stopped without settling (and then the ledger's claim decides whether it runs).
- **Delays**: a standard queue carries a delay's whole seconds as ``DelaySeconds`` (at most
  900 s; a longer delay is carried again when that runs out) and the worker that receives it
  waits out the remaining fraction of a second. A FIFO queue cannot delay one message, so a message
  received early is made invisible until its job is due: later jobs of the same group wait
  behind it, which is what ordering means.
- **Workers** are ``concurrency`` forked processes, each taking one message at a time on its
  main thread (so a job's timeout interrupts it), under a parent that restarts one that dies,
  runs the reaper and drains the DLQ; a consumer dies with its parent.
- **FIFO**: one message group per job type, a deduplication id per dispatch (a send that boto3
  retries is not queued twice).
- **Dead letters**: the runtime's dead-letter queue (the ledger) is authoritative: a job is dead
  when its attempts are spent, whatever SQS counted. SQS's redrive policy moves a message
  received ``max_receives`` times without being deleted to ``<queue>-dlq``; the worker drains
  it: a message of a job still live in the ledger is queued again, one of a settled or unknown
  job is deleted, and a message that is not a job message stays there for an operator.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import math
import os
import signal
import threading
import time
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
#: A job received this close to its due time is waited for in the worker, not sent back.
SUBSECOND_WAIT_S = 1.0


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

    def forget_client(self) -> None:
        """Drop the client (in a forked child, which makes its own on first use)."""
        with self._lock:
            self._client = None

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
        elif delay_s >= 1:
            params["DelaySeconds"] = min(MAX_DELAY_S, math.floor(delay_s))
        self.client.send_message(**params)

    def purge(self) -> int:
        """Receive and delete every visible message of the queues and DLQs; return how many.

        Not ``PurgeQueue``: SQS allows one per queue every 60 s. Delayed and in-flight messages
        stay; once their jobs are gone from the ledger, their claims drop them.
        """
        removed = 0
        for queue in self.settings.queues:
            for dead in (False, True):
                url = self.queue_url(queue, dead=dead)
                while True:
                    got = self.client.receive_message(
                        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0
                    )
                    messages = got.get("Messages", [])
                    if not messages:
                        break
                    entries = [
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(messages)
                    ]
                    self.client.delete_message_batch(QueueUrl=url, Entries=entries)
                    removed += len(messages)
        return removed

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
    if taken.outcome is ClaimOutcome.NOT_YET and taken.retry_in_s < SUBSECOND_WAIT_S:
        time.sleep(taken.retry_in_s)  # the fraction of a second DelaySeconds cannot carry
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


def die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a no-op elsewhere)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0 and os.getppid() != parent:  # PDEATHSIG
            os._exit(1)


def consume(runtime: Runtime, dispatcher: SqsDispatcher, queue: str) -> None:
    """Take one message at a time on this process's main thread until SIGTERM or SIGINT.

    On the main thread a job's timeout can interrupt it (SIGALRM); a receive in progress ends
    within ``wait_s``, a running job is finished before the loop stops.
    """
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    url = dispatcher.queue_url(queue)
    while not stop.is_set():
        got = dispatcher.client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=dispatcher.options.wait_s
        )
        for message in got.get("Messages", []):
            handle(runtime, dispatcher, url, message)


def _fork_consumer(runtime: Runtime, dispatcher: SqsDispatcher, queue: str) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        die_with_parent()
        dispatcher.forget_client()  # boto3 clients are not shared across a fork
        consume(runtime, dispatcher, queue)
    except BaseException:
        logging.getLogger(LOGGER_NAME).exception("SQS consumer process failed")
        code = 1
    finally:
        os._exit(code)


def run_worker(runtime: Runtime, *, queue: str, concurrency: int) -> None:
    """Consume ``queue`` with ``concurrency`` processes; SIGTERM or SIGINT finish running jobs.

    This process makes the queues, forks the consumers (restarting one that dies), runs the
    reaper and drains SQS's dead-letter queue into the ledger's every ``visibility_s``.
    """
    dispatcher = runtime.dispatcher
    if not isinstance(dispatcher, SqsDispatcher):
        raise SettingsError("run_worker: this runtime was not built by glue.sqs.build_runtime")
    dispatcher.queue_url(queue)  # made once, here, before the consumers start
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    children = {_fork_consumer(runtime, dispatcher, queue) for _ in range(concurrency)}
    reaper = Reaper(runtime, worker=worker_name()).start()
    log_event(runtime.logger, "worker_ready", "worker ready", queue=queue, worker=worker_name())
    next_drain = time.monotonic() + dispatcher.options.visibility_s
    try:
        while not stop.wait(0.2):
            for pid in list(children):
                done, _ = os.waitpid(pid, os.WNOHANG)
                if done:
                    children.discard(pid)
                    children.add(_fork_consumer(runtime, dispatcher, queue))
            if time.monotonic() >= next_drain:
                drain_dead_letters(runtime, dispatcher, queue)
                next_drain = time.monotonic() + dispatcher.options.visibility_s
    finally:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        reaper.stop()
