"""No-op job throughput: the runtime layer against the bare framework on the same store, in one run.

``--backend huey`` (default): bare Huey on SQLite; ``--backend celery``: bare Celery on Redis
(``BENCH_REDIS_URL``, keys under a unique prefix, deleted afterwards).

Each side gets the same worker processes (one consumer, ``--concurrency`` process workers, the
same polling) and a fresh SQLite file; the main process enqueues ``--jobs`` no-op jobs and times
until all have run. The bare task bumps a counter in a second file (one write per job) so the
run can tell when it is done; the layer runs its full life cycle (ledger record and message in
one transaction, claim with lease, timeout, settlement with metrics). Sides alternate, ``--runs``
times. ``--profile`` then profiles the layer in one process (enqueue, dequeue, execute) and prints
where its time goes. Usage::

    python runtime/benchmarks/throughput.py --jobs 1000 --runs 3 --profile

Prints one JSON object per run and a summary with the median ratio (layer / bare).
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


def run_bare_worker(db: Path, concurrency: int) -> None:
    """Consume the bare queue with the layer's consumer settings."""
    huey, _ = bare_huey(db)
    print("worker ready", file=sys.stderr, flush=True)
    Consumer(
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


def time_bare_celery(
    prefix: str, jobs: int, concurrency: int, timeout_s: float, log: Path
) -> float:
    """Seconds for bare Celery to run ``jobs`` no-op tasks."""
    import redis

    _, task = bare_celery(prefix)
    proc = start(["--bare-celery-worker", prefix, "--concurrency", str(concurrency)], log)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        started = time.perf_counter()
        for _ in range(jobs):
            task.delay()
        deadline = time.monotonic() + timeout_s
        while int(client.get(f"{prefix}:done") or 0) < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bare side did not finish {jobs} jobs in {timeout_s} s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        stop(proc)
        drop_keys(prefix)


def time_layer_celery(
    prefix: str, jobs: int, concurrency: int, timeout_s: float, log: Path
) -> float:
    """Seconds for the layer on Celery to run ``jobs`` no-op jobs."""
    app = layer_celery_app(prefix, concurrency)
    runtime = app.runtime
    proc = start(["--layer-celery-worker", prefix, "--concurrency", str(concurrency)], log)
    try:
        started = time.perf_counter()
        for n in range(jobs):
            app.enqueue(noop, Nothing(n=n))
        deadline = time.monotonic() + timeout_s
        while completed(runtime) < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"layer did not finish {jobs} jobs in {timeout_s} s")
            time.sleep(0.005)
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


def time_bare(tmp: Path, jobs: int, concurrency: int, timeout_s: float) -> float:
    """Seconds for bare Huey to run ``jobs`` no-op tasks."""
    db = tmp / "bare.db"
    with sqlite3.connect(f"{db}.count") as conn:
        conn.execute("create table done (n integer)")
        conn.execute("insert into done values (0)")
    _, task = bare_huey(db)
    proc = start(["--bare-worker", str(db), "--concurrency", str(concurrency)], tmp / "bare.log")
    try:
        started = time.perf_counter()
        for _ in range(jobs):
            task()
        counter = sqlite3.connect(f"{db}.count", timeout=30)
        deadline = time.monotonic() + timeout_s
        while counter.execute("select n from done").fetchone()[0] < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bare side did not finish {jobs} jobs in {timeout_s} s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        stop(proc)


def time_layer(tmp: Path, jobs: int, concurrency: int, timeout_s: float) -> float:
    """Seconds for the runtime layer to run ``jobs`` no-op jobs."""
    db = tmp / "layer.db"
    app = layer_app(db, concurrency)
    runtime = app.runtime
    proc = start(["--layer-worker", str(db), "--concurrency", str(concurrency)], tmp / "layer.log")
    try:
        started = time.perf_counter()
        for n in range(jobs):
            app.enqueue(noop, Nothing(n=n))
        deadline = time.monotonic() + timeout_s
        while completed(runtime) < jobs:
            if time.monotonic() > deadline:
                raise TimeoutError(f"layer did not finish {jobs} jobs in {timeout_s} s")
            time.sleep(0.005)
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


def main(argv: list[str] | None = None) -> int:
    """Run both sides ``--runs`` times and print the numbers as JSON lines."""
    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--jobs", type=int, default=1000)
    cli.add_argument("--runs", type=int, default=3)
    cli.add_argument("--concurrency", type=int, default=4)
    cli.add_argument("--timeout", type=float, default=300.0)
    cli.add_argument("--profile", action="store_true", help="profile the layer afterwards")
    cli.add_argument("--backend", choices=["huey", "celery"], default="huey")
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
    if args.layer_celery_worker:
        from jobforge_runtime.logs import configure_logging

        configure_logging(level="WARNING")
        print("worker ready", file=sys.stderr, flush=True)
        layer_celery_app(args.layer_celery_worker, args.concurrency).run_worker()
        return 0
    if args.layer_worker:
        from jobforge_runtime.logs import configure_logging

        configure_logging(level="WARNING")
        print("worker ready", file=sys.stderr, flush=True)
        layer_app(args.layer_worker, args.concurrency).run_worker()
        return 0
    ratios: list[float] = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp_name:
            tmp = Path(tmp_name)
            if args.backend == "huey":
                bare_s = time_bare(tmp, args.jobs, args.concurrency, args.timeout)
                layer_s = time_layer(tmp, args.jobs, args.concurrency, args.timeout)
            else:
                tag = f"bench-{os.getpid()}-{run}"
                bare_s = time_bare_celery(
                    f"{tag}-bare", args.jobs, args.concurrency, args.timeout, tmp / "bare.log"
                )
                layer_s = time_layer_celery(
                    f"{tag}-layer", args.jobs, args.concurrency, args.timeout, tmp / "layer.log"
                )
        result: dict[str, Any] = {
            "run": run,
            "backend": args.backend,
            "jobs": args.jobs,
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
        print(profile_layer(args.jobs, 25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
