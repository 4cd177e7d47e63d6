"""No-op job throughput: the runtime layer against the bare framework, same broker, same run.

``--backend huey`` (default): the layer on Huey and SQLite against bare Huey on SQLite;
``--backend celery``: the layer on Celery and Redis against bare Celery on Redis
(``BENCH_REDIS_URL``, default ``redis://127.0.0.1:6379/0``; keys under a unique prefix, deleted
afterwards).

What is compared, per job, on both sides: the main process enqueues it (bare: the framework's
``task()`` / ``delay()``; layer: ``app.enqueue`` with a typed payload, which records the job in
the ledger), a worker process executes it, and its outcome is written (bare: the task bumps a
done-counter, one write per job, which is how the run sees it finish; layer: the settlement in
the ledger). The layer also keeps a lease per job and counts metrics: that is the layer.

Both sides get the same worker processes (one consumer, ``--concurrency`` process workers, the
same polling; Celery: prefork, late acks, prefetch 1), a fresh SQLite file or key prefix, and the
same durability (SQLite: WAL with ``synchronous=normal``). The layer's worker logs at INFO, its
default (per-job lines are debug). Each side first runs ``--warmup`` jobs, untimed, once its
consumer said it is ready; then the clock runs from the first of ``--jobs`` enqueues until the
last of them is done. Sides alternate, bare first, ``--runs`` times; every run prints both rates
and its ratio (layer jobs/s / bare jobs/s), then the median, min and max ratio. The machine's
load moves both sides of a run alike: compare ratios, not absolute rates.

``--profile`` then profiles the layer in one process (enqueue ``--jobs`` jobs, then take and run
them; Celery: run each job's task body as a worker process would, without Celery's consumer) and
prints the top entries by own time. Usage::

    python runtime/benchmarks/throughput.py --jobs 1000 --runs 3
    export BENCH_REDIS_URL=redis://127.0.0.1:6379/14
    python runtime/benchmarks/throughput.py --backend celery --jobs 1000 --runs 3 --profile
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.api import TaskWrapper
from huey.consumer import Consumer
from huey.storage import SqliteStorage
from pydantic import BaseModel

from jobforge_runtime import App, Catalogue, JobContext, Settings, job
from jobforge_runtime.glue.huey import JsonSerializer
from jobforge_runtime.ledger.sqlite import SqliteLedger
from jobforge_runtime.runtime import Runtime


class Nothing(BaseModel):
    """Payload of the no-op job."""

    n: int = 0


@job("bench.noop", payload=Nothing, max_attempts=1, timeout_s=30)
def noop(ctx: JobContext, payload: Nothing) -> None:
    """Do nothing."""


def layer_app(db: Path, concurrency: int) -> App:
    """Return the layer's app on ``db``."""
    settings = Settings(
        broker_url=f"sqlite:///{db}",
        worker_concurrency=concurrency,
        poll_max_delay_s=0.02,
        key_prefix="bench",
    )
    return App(settings=settings, catalogue=Catalogue([noop]), read_env=False)


class NormalSyncStorage(SqliteStorage):  # type: ignore[misc]
    """Huey's SQLite storage with the ledger's durability: WAL and ``synchronous=normal``.

    Huey offers only ``fsync=True`` (FULL, an fsync per commit) or ``False`` (OFF); the layer's
    store runs WAL with NORMAL, so the bare side gets the same, or the run would compare fsyncs.
    """

    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("pragma synchronous=normal")
        return conn


def bare_huey(db: Path) -> tuple[SqliteHuey, TaskWrapper]:
    """Bare Huey on ``db`` with the same JSON serializer, and its counting no-op task."""
    huey = SqliteHuey(
        name="bench.bare",
        filename=str(db),
        results=False,
        serializer=JsonSerializer(),
        utc=True,
        storage_class=NormalSyncStorage,
    )
    connections: dict[int, sqlite3.Connection] = {}

    def bench_noop() -> None:
        conn = connections.get(os.getpid())
        if conn is None:  # one connection per worker process
            conn = sqlite3.connect(f"{db}.count", timeout=30, isolation_level=None)
            conn.execute("pragma journal_mode=wal")
            conn.execute("pragma synchronous=normal")
            connections[os.getpid()] = conn
        conn.execute("update done set n = n + 1")

    return huey, huey.task(name="bench_noop")(bench_noop)


class ReadyConsumer(Consumer):  # type: ignore[misc]
    """Huey's consumer, saying it is ready once its workers run (as the layer's does)."""

    def start(self) -> None:
        """Start the workers, then say so."""
        super().start()
        print("worker ready", file=sys.stderr, flush=True)


def run_bare_worker(db: Path, concurrency: int) -> None:
    """Consume the bare queue with the layer's consumer settings."""
    huey, _ = bare_huey(db)
    ReadyConsumer(
        huey,
        workers=concurrency,
        worker_type="process",
        periodic=False,
        initial_delay=0.01,
        backoff=1.5,
        max_delay=0.02,
        graceful_signal="TERM",
        check_worker_health=True,
        health_check_interval=1,
    ).run()


REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")


def layer_celery_app(prefix: str, concurrency: int) -> App:
    """Return the layer's app on Celery and Redis under ``prefix``."""
    settings = Settings(broker_url=REDIS_URL, worker_concurrency=concurrency, key_prefix=prefix)
    return App(settings=settings, catalogue=Catalogue([noop]), read_env=False, backend="celery")


def bare_celery(prefix: str) -> tuple[Any, Any]:
    """Bare Celery on Redis with the layer's settings, and its counting no-op task."""
    import redis
    from celery import Celery

    app = Celery(prefix, broker=REDIS_URL, set_as_current=False)
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        task_default_queue=f"{prefix}.default",
        broker_transport_options={"global_keyprefix": f"{prefix}:celery:"},
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
    """Consume the bare Celery queue with the layer's worker settings."""
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


def drop_keys(prefix: str) -> None:
    """Delete the run's keys (and only those) from the shared Redis."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def wait_for(done: Callable[[], int], target: int, timeout_s: float, side: str) -> None:
    """Poll ``done()`` every 5 ms until it reaches ``target``."""
    deadline = time.monotonic() + timeout_s
    while done() < target:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{side} did not finish {target} jobs in {timeout_s} s")
        time.sleep(0.005)


def time_bare_celery(
    prefix: str, jobs: int, warmup: int, concurrency: int, timeout_s: float, log: Path
) -> float:
    """Seconds for bare Celery to run ``jobs`` no-op tasks (after ``warmup`` untimed ones)."""
    import redis

    _, task = bare_celery(prefix)
    proc = start(["--bare-celery-worker", prefix, "--concurrency", str(concurrency)], log)
    client = redis.Redis.from_url(REDIS_URL)

    def done() -> int:
        return int(client.get(f"{prefix}:done") or 0)

    try:
        for _ in range(warmup):
            task.delay()
        wait_for(done, warmup, timeout_s, "bare side")
        started = time.perf_counter()
        for _ in range(jobs):
            task.delay()
        wait_for(done, warmup + jobs, timeout_s, "bare side")
        return time.perf_counter() - started
    finally:
        stop(proc)
        drop_keys(prefix)


def time_layer_celery(
    prefix: str, jobs: int, warmup: int, concurrency: int, timeout_s: float, log: Path
) -> float:
    """Seconds for the layer on Celery to run ``jobs`` no-op jobs (after ``warmup`` untimed)."""
    app = layer_celery_app(prefix, concurrency)
    runtime = app.runtime
    proc = start(["--layer-celery-worker", prefix, "--concurrency", str(concurrency)], log)
    try:
        for n in range(warmup):
            app.enqueue(noop, Nothing(n=n))
        wait_for(lambda: completed(runtime), warmup, timeout_s, "layer")
        started = time.perf_counter()
        for n in range(jobs):
            app.enqueue(noop, Nothing(n=n))
        wait_for(lambda: completed(runtime), warmup + jobs, timeout_s, "layer")
        return time.perf_counter() - started
    finally:
        stop(proc)
        drop_keys(prefix)


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a worker process and wait until it says it is ready."""
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


def time_bare(tmp: Path, jobs: int, warmup: int, concurrency: int, timeout_s: float) -> float:
    """Seconds for bare Huey to run ``jobs`` no-op tasks (after ``warmup`` untimed ones)."""
    db = tmp / "bare.db"
    with sqlite3.connect(f"{db}.count") as conn:
        conn.execute("create table done (n integer)")
        conn.execute("insert into done values (0)")
    _, task = bare_huey(db)
    proc = start(["--bare-worker", str(db), "--concurrency", str(concurrency)], tmp / "bare.log")
    counter = sqlite3.connect(f"{db}.count", timeout=30)

    def done() -> int:
        return int(counter.execute("select n from done").fetchone()[0])

    try:
        for _ in range(warmup):
            task()
        wait_for(done, warmup, timeout_s, "bare side")
        started = time.perf_counter()
        for _ in range(jobs):
            task()
        wait_for(done, warmup + jobs, timeout_s, "bare side")
        return time.perf_counter() - started
    finally:
        stop(proc)


def time_layer(tmp: Path, jobs: int, warmup: int, concurrency: int, timeout_s: float) -> float:
    """Seconds for the runtime layer to run ``jobs`` no-op jobs (after ``warmup`` untimed)."""
    db = tmp / "layer.db"
    app = layer_app(db, concurrency)
    runtime = app.runtime
    proc = start(["--layer-worker", str(db), "--concurrency", str(concurrency)], tmp / "layer.log")
    try:
        for n in range(warmup):
            app.enqueue(noop, Nothing(n=n))
        wait_for(lambda: completed(runtime), warmup, timeout_s, "layer")
        started = time.perf_counter()
        for n in range(jobs):
            app.enqueue(noop, Nothing(n=n))
        wait_for(lambda: completed(runtime), warmup + jobs, timeout_s, "layer")
        return time.perf_counter() - started
    finally:
        stop(proc)


def completed(runtime: Runtime) -> int:
    """Return how many jobs completed: one small read, like the bare side's counter."""
    ledger = runtime.ledger
    if isinstance(ledger, SqliteLedger):  # the attempt rows, not the whole job table
        table = ledger._t("attempts")
        query = f"select coalesce(sum(n), 0) from {table} where outcome = 'COMPLETED'"
        (n,) = ledger.connection().execute(query).fetchone()
        return int(n)
    from jobforge_runtime.ledger.redis import RedisLedger  # needs the celery extra's redis

    if isinstance(ledger, RedisLedger):  # one hash read, like the bare side's counter
        counts = ledger.client.hgetall(f"{ledger.prefix}:attempts")
        return sum(int(n) for key, n in counts.items() if key.startswith("bench.noop|COMPLETED|"))
    return int(ledger.counters().get(("jobs_completed_total", "bench.noop"), 0))


def profile_layer(jobs: int, top: int) -> str:
    """Profile the layer in one process (enqueue, dequeue, execute); return the top entries."""
    with tempfile.TemporaryDirectory(prefix="rt-profile-") as tmp:
        app = layer_app(Path(tmp) / "profile.db", 1)
        runtime = app.runtime
        huey = next(iter(runtime.dispatcher.hueys.values()))  # type: ignore[attr-defined]
        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(jobs):
            app.enqueue(noop, Nothing(n=n))
        while (task := huey.dequeue()) is not None:
            huey.execute(task)
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def profile_layer_celery(prefix: str, jobs: int, top: int) -> str:
    """Profile the layer on Celery in one process: enqueue, then run each job's task body."""
    app = layer_celery_app(prefix, 1)
    runtime = app.runtime
    run_job = runtime.dispatcher.task.run  # type: ignore[attr-defined]  # what a worker runs
    try:
        profiler = cProfile.Profile()
        profiler.enable()
        ids = [app.enqueue(noop, Nothing(n=n)) for n in range(jobs)]
        for job_id in ids:
            run_job(job_id, noop.name)
        profiler.disable()
    finally:
        time.sleep(0.1)  # a completion held for a next job is written after 20 ms
        drop_keys(prefix)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run both sides ``--runs`` times and print the numbers as JSON lines."""
    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--jobs", type=int, default=1000, help="timed jobs per side and run")
    cli.add_argument("--warmup", type=int, default=50, help="untimed jobs per side first")
    cli.add_argument("--runs", type=int, default=3, help="runs; each runs bare, then layer")
    cli.add_argument("--concurrency", type=int, default=4, help="worker processes per side")
    cli.add_argument("--timeout", type=float, default=300.0, help="seconds a side may take")
    cli.add_argument("--profile", action="store_true", help="profile the layer afterwards")
    cli.add_argument(
        "--backend",
        choices=["huey", "celery"],
        default="huey",
        help="huey: Huey on SQLite; celery: Celery on Redis at BENCH_REDIS_URL",
    )
    cli.add_argument("--bare-worker", type=Path, help=argparse.SUPPRESS)
    cli.add_argument("--bare-celery-worker", help=argparse.SUPPRESS)
    cli.add_argument("--layer-celery-worker", help=argparse.SUPPRESS)
    cli.add_argument("--layer-worker", type=Path, help=argparse.SUPPRESS)
    args = cli.parse_args(argv)
    if args.bare_worker:
        run_bare_worker(args.bare_worker, args.concurrency)
        return 0
    if args.bare_celery_worker:
        run_bare_celery_worker(args.bare_celery_worker, args.concurrency)
        return 0
    if args.layer_celery_worker or args.layer_worker:
        from jobforge_runtime.logs import configure_logging

        # INFO, the worker's default: its "worker ready" line, logged once the consumer runs,
        # is what start() waits for; per-job lines are debug.
        configure_logging(level="INFO")
        if args.layer_celery_worker:
            layer_celery_app(args.layer_celery_worker, args.concurrency).run_worker()
        else:
            layer_app(args.layer_worker, args.concurrency).run_worker()
        return 0
    ratios: list[float] = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp_name:
            tmp = Path(tmp_name)
            if args.backend == "huey":
                bare_s = time_bare(tmp, args.jobs, args.warmup, args.concurrency, args.timeout)
                layer_s = time_layer(tmp, args.jobs, args.warmup, args.concurrency, args.timeout)
            else:
                tag = f"bench-{os.getpid()}-{run}"
                sizes = (args.jobs, args.warmup)
                bare_s = time_bare_celery(
                    f"{tag}-bare", *sizes, args.concurrency, args.timeout, tmp / "bare.log"
                )
                layer_s = time_layer_celery(
                    f"{tag}-layer", *sizes, args.concurrency, args.timeout, tmp / "layer.log"
                )
        result: dict[str, Any] = {
            "run": run,
            "backend": args.backend,
            "jobs": args.jobs,
            "warmup": args.warmup,
            "concurrency": args.concurrency,
            "bare_jobs_per_s": round(args.jobs / bare_s, 1),
            "layer_jobs_per_s": round(args.jobs / layer_s, 1),
            "ratio_layer_over_bare": round(bare_s / layer_s, 3),
        }
        ratios.append(bare_s / layer_s)
        print(json.dumps(result), flush=True)
    print(
        json.dumps(
            {
                "median_ratio": round(statistics.median(ratios), 3),
                "min_ratio": round(min(ratios), 3),
                "max_ratio": round(max(ratios), 3),
            }
        )
    )
    if args.profile:
        if args.backend == "huey":
            print(profile_layer(args.jobs, 25))
        else:
            print(profile_layer_celery(f"bench-{os.getpid()}-profile", args.jobs, 25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
