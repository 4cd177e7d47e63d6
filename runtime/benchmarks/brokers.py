"""No-op job throughput on the dedicated brokers: the runtime layer against the bare client.

``--backend amqp``: bare Celery on RabbitMQ (``BENCH_AMQP_URL``) with the layer's queue and
delivery settings (quorum queue, publisher confirms, prefetch 1, late acks) against the
``celery_amqp`` glue. ``--backend sqs``: a bare boto3 consumer loop (receive one message with long
polling, count, delete; ``--concurrency`` threads) against the ``sqs`` glue, both on a
``moto_server`` this script starts on a free port. The ledger and the bare side's counter are in
Redis (``BENCH_REDIS_URL``, database 4 by default, keys under a unique prefix, deleted afterwards).

Sides alternate, ``--runs`` times; one JSON line per run, then the median ratio (layer / bare)::

    python runtime/benchmarks/brokers.py --backend amqp --jobs 1000 --runs 3
    python runtime/benchmarks/brokers.py --backend sqs --jobs 1000 --runs 3
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import Nothing, completed, noop

from jobforge_runtime import App, Catalogue, Settings

AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")


def layer_app(backend: str, prefix: str, concurrency: int) -> App:
    """Return the layer's app on ``backend`` (``celery_amqp`` or ``sqs``) under ``prefix``."""
    broker = AMQP_URL if backend == "celery_amqp" else "sqs://?wait_s=1"
    settings = Settings(
        broker_url=broker, ledger_url=REDIS_URL, worker_concurrency=concurrency, key_prefix=prefix
    )
    return App(settings=settings, catalogue=Catalogue([noop]), read_env=False, backend=backend)


def bare_celery(prefix: str) -> tuple[Any, Any]:
    """Bare Celery on RabbitMQ with the layer's queue and delivery settings, counting in Redis."""
    import redis
    from celery import Celery
    from kombu.entity import Exchange, Queue

    app = Celery(prefix, broker=AMQP_URL, set_as_current=False)
    queue = Queue(
        f"{prefix}.default",
        Exchange(prefix, type="topic", durable=True),
        routing_key=f"{prefix}.default",
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        task_queues=[queue],
        task_default_queue=queue.name,
        task_default_exchange=prefix,
        task_default_exchange_type="topic",
        task_default_routing_key=queue.routing_key,
        task_default_delivery_mode="persistent",
        broker_transport_options={"confirm_publish": True},
        worker_enable_remote_control=False,
    )
    clients: dict[int, Any] = {}

    @app.task(name=f"{prefix}.bench_noop")  # type: ignore[untyped-decorator]
    def bench_noop() -> None:
        client = clients.get(os.getpid())
        if client is None:
            client = clients[os.getpid()] = redis.Redis.from_url(REDIS_URL)
        client.incr(f"{prefix}:done")

    return app, bench_noop


def run_bare_celery_worker(prefix: str, concurrency: int) -> None:
    """Consume the bare queue with the layer's worker settings."""
    from celery.signals import worker_ready

    app, _ = bare_celery(prefix)
    worker_ready.connect(lambda **_: print("worker ready", file=sys.stderr, flush=True), weak=False)
    app.Worker(
        queues=[f"{prefix}.default"],
        concurrency=concurrency,
        pool="prefork",
        loglevel="WARNING",
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    ).start()


def bare_sqs_url(prefix: str) -> str:
    """Return the bare side's standard queue (long polling of 1 s, as the layer's)."""
    from jobforge_runtime.glue.sqs_options import sqs_client

    created = sqs_client().create_queue(
        QueueName=f"{prefix}-bare", Attributes={"ReceiveMessageWaitTimeSeconds": "1"}
    )
    url: str = created["QueueUrl"]
    return url


def run_bare_sqs_worker(prefix: str, concurrency: int) -> None:
    """Run the bare boto3 loop: ``concurrency`` threads receive one message, count, delete."""
    import redis

    from jobforge_runtime.glue.sqs_options import sqs_client

    client, url = sqs_client(), bare_sqs_url(prefix)
    counter = redis.Redis.from_url(REDIS_URL)
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            got = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1)
            for message in got.get("Messages", []):
                json.loads(message["Body"])
                counter.incr(f"{prefix}:done")
                client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=consume) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    print("worker ready", file=sys.stderr, flush=True)
    for thread in threads:
        thread.join()


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a worker process of this script and wait until it says it is ready."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while b"ready" not in log.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"worker did not start: {log.read_text()}")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a worker process and its children."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def drop(prefix: str) -> None:
    """Delete the run's Redis keys (and only those)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def drop_amqp_queue(prefix: str) -> None:
    """Delete the run's RabbitMQ queue and exchange."""
    import kombu

    with kombu.Connection(AMQP_URL) as conn:
        channel = conn.channel()
        channel.queue_delete(f"{prefix}.default")
        channel.exchange_delete(prefix)


def timed(
    enqueue: Callable[[], None], done: Callable[[], int], jobs: int, timeout_s: float
) -> float:
    """Seconds from the first enqueue until ``done()`` reaches ``jobs``."""
    started = time.perf_counter()
    for _ in range(jobs):
        enqueue()
    deadline = time.monotonic() + timeout_s
    while done() < jobs:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done()} of {jobs} jobs done in {timeout_s} s")
        time.sleep(0.005)
    return time.perf_counter() - started


def time_bare(
    backend: str, prefix: str, jobs: int, concurrency: int, timeout: float, log: Path
) -> float:
    """Seconds for the bare side to run ``jobs`` no-op tasks."""
    import redis

    counter = redis.Redis.from_url(REDIS_URL)
    flag = "--bare-celery-worker" if backend == "celery_amqp" else "--bare-sqs-worker"
    proc = start([flag, prefix, "--concurrency", str(concurrency)], log)
    try:
        if backend == "celery_amqp":
            _, task = bare_celery(prefix)
            enqueue: Callable[[], None] = task.delay
        else:
            from jobforge_runtime.glue.sqs_options import sqs_client

            client, url = sqs_client(), bare_sqs_url(prefix)

            def enqueue() -> None:
                client.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 0}))

        return timed(enqueue, lambda: int(counter.get(f"{prefix}:done") or 0), jobs, timeout)
    finally:
        stop(proc)
        drop(prefix)
        if backend == "celery_amqp":
            drop_amqp_queue(prefix)


def time_layer(
    backend: str, prefix: str, jobs: int, concurrency: int, timeout: float, log: Path
) -> float:
    """Seconds for the layer to run ``jobs`` no-op jobs."""
    app = layer_app(backend, prefix, concurrency)
    runtime = app.runtime
    proc = start(["--layer-worker", backend, prefix, "--concurrency", str(concurrency)], log)
    try:
        return timed(
            lambda: _discard(app.enqueue(noop, Nothing())),
            lambda: completed(runtime),
            jobs,
            timeout,
        )
    finally:
        stop(proc)
        drop(prefix)
        if backend == "celery_amqp":
            drop_amqp_queue(prefix)


@contextmanager
def moto_server(log: Path) -> Iterator[None]:
    """Run ``moto_server`` on a free port with throwaway credentials in this environment."""
    binary = shutil.which("moto_server")
    if binary is None:
        raise SystemExit("moto_server is not installed: pip install 'moto[server]'")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [binary, "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_SQS": endpoint,
        }
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    try:
        yield
    finally:
        stop(proc)


def main(argv: list[str] | None = None) -> int:
    """Run both sides ``--runs`` times and print the numbers as JSON lines."""
    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--backend", choices=["amqp", "sqs"], default="amqp")
    cli.add_argument("--jobs", type=int, default=1000)
    cli.add_argument("--runs", type=int, default=3)
    cli.add_argument("--concurrency", type=int, default=4)
    cli.add_argument("--timeout", type=float, default=600.0)
    cli.add_argument("--bare-celery-worker", help=argparse.SUPPRESS)
    cli.add_argument("--bare-sqs-worker", help=argparse.SUPPRESS)
    cli.add_argument("--layer-worker", nargs=2, help=argparse.SUPPRESS)
    args = cli.parse_args(argv)
    if args.bare_celery_worker:
        run_bare_celery_worker(args.bare_celery_worker, args.concurrency)
        return 0
    if args.bare_sqs_worker:
        run_bare_sqs_worker(args.bare_sqs_worker, args.concurrency)
        return 0
    if args.layer_worker:
        from jobforge_runtime.logs import configure_logging

        configure_logging(level="WARNING")
        print("worker ready", file=sys.stderr, flush=True)
        backend, prefix = args.layer_worker
        layer_app(backend, prefix, args.concurrency).run_worker()
        return 0
    backend = "celery_amqp" if args.backend == "amqp" else "sqs"
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"jf-bench-{uuid.uuid4().hex[:8]}"
    tmp.mkdir(parents=True)
    ratios: list[float] = []
    server = moto_server(tmp / "moto.log") if backend == "sqs" else _nothing()
    with server:
        for run in range(1, args.runs + 1):
            tag = f"jf13_bench_{os.getpid()}_{run}"
            bare_s = time_bare(
                backend, f"{tag}_bare", args.jobs, args.concurrency, args.timeout, tmp / "bare.log"
            )
            layer_s = time_layer(
                backend,
                f"{tag}_layer",
                args.jobs,
                args.concurrency,
                args.timeout,
                tmp / "layer.log",
            )
            ratios.append(bare_s / layer_s)
            result = {
                "run": run,
                "backend": backend,
                "jobs": args.jobs,
                "concurrency": args.concurrency,
                "bare_jobs_per_s": round(args.jobs / bare_s, 1),
                "layer_jobs_per_s": round(args.jobs / layer_s, 1),
                "ratio_layer_over_bare": round(bare_s / layer_s, 3),
            }
            print(json.dumps(result), flush=True)
    summary = {
        "median_ratio": round(statistics.median(ratios), 3),
        "min_ratio": round(min(ratios), 3),
    }
    print(json.dumps({**summary, "max_ratio": round(max(ratios), 3)}))
    return 0


def _discard(_: object) -> None:
    return None


@contextmanager
def _nothing() -> Iterator[None]:
    yield


if __name__ == "__main__":
    raise SystemExit(main())
