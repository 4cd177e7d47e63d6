r"""No-op job throughput on RQ and procrastinate: the runtime layer against the bare framework.

The companion of ``throughput.py`` (Huey, Celery), with the same no-op job, the same way of
stopping workers and of counting the layer's completed jobs, imported from it.

``--backend rq``: bare RQ against the layer's RQ glue on the Redis of ``BENCH_REDIS_URL``
(queues and keys under a prefix of the run's, deleted afterwards). Both sides run
``--concurrency`` forking RQ workers (a work-horse per job), JSON serializer, no result kept.

``--backend procrastinate``: bare procrastinate against the layer's procrastinate glue in the
PostgreSQL database of ``BENCH_PG_URL`` (queues of the run's; the runtime's tables under a prefix
of the run's, dropped afterwards). Both sides run ``--concurrency`` worker processes of one job
at a time, LISTEN/NOTIFY on, finished jobs deleted.

The bare task bumps one counter (a Redis key; a row) so the run can tell when it is done; the
layer runs its full life cycle (ledger record and message, claim with lease, timeout,
settlement with metrics). Each side first runs 50 jobs untimed, then the timed ones. Sides
alternate, bare first, ``--runs`` times, same service, same run. ``--profile`` then profiles
the layer's own work in this process (enqueue, then each job's execution as a worker runs it,
without the framework's delivery) and prints where its time goes. Usage::

    BENCH_REDIS_URL=redis://127.0.0.1:6379/6 python runtime/benchmarks/queues.py --backend rq
    BENCH_PG_URL=postgresql://postgres@127.0.0.1/bench python runtime/benchmarks/queues.py \\
        --backend procrastinate --jobs 1000 --runs 3 --profile

Prints one JSON object per run and a summary with the median ratio (layer / bare).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import Nothing, completed, noop, stop

from jobforge_runtime import App, Catalogue, Settings
from jobforge_runtime.execution import execute

REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
PG_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Untimed jobs each side runs first, as ``throughput.py`` does (its ``--warmup`` default).
WARMUP = 50
_COUNTERS: dict[int, Any] = {}  # one counter connection per worker process


def layer_app(backend: str, prefix: str, concurrency: int) -> App:
    """Return the layer's app on ``backend`` under ``prefix``."""
    url = REDIS_URL if backend == "rq" else PG_URL
    settings = Settings(
        broker_url=url, worker_concurrency=concurrency, key_prefix=prefix, poll_max_delay_s=0.02
    )
    return App(settings=settings, catalogue=Catalogue([noop]), read_env=False, backend=backend)


# bare RQ --------------------------------------------------------------------------------------


def bare_rq_noop(prefix: str) -> None:
    """Count one (the bare RQ task)."""
    import redis

    client = _COUNTERS.get(os.getpid())
    if client is None:
        client = _COUNTERS[os.getpid()] = redis.Redis.from_url(REDIS_URL)
    client.incr(f"{prefix}:done")


def run_bare_rq_worker(prefix: str) -> None:
    """One plain RQ worker on the bare queue (the layer's worker options)."""
    import redis
    from rq import Queue, Worker
    from rq.serializers import JSONSerializer

    connection = redis.Redis.from_url(REDIS_URL)
    queue = Queue(f"{prefix}.default", connection=connection, serializer=JSONSerializer)
    worker = Worker([queue], connection=connection, serializer=JSONSerializer)
    print("worker ready", file=sys.stderr, flush=True)
    worker.work(with_scheduler=False, logging_level="WARNING")


def time_bare_rq(prefix: str, jobs: int, concurrency: int, timeout_s: float, logs: Path) -> float:
    """Seconds for ``concurrency`` bare RQ workers to run ``jobs`` no-op tasks."""
    import redis
    from rq import Queue
    from rq.serializers import JSONSerializer

    client = redis.Redis.from_url(REDIS_URL)
    queue = Queue(f"{prefix}.default", connection=client, serializer=JSONSerializer)
    procs = [
        start(["--bare-rq-worker", prefix], logs / f"bare-{n}.log") for n in range(concurrency)
    ]
    try:

        def submit() -> None:
            queue.enqueue_call(
                bare_rq_noop,
                args=(prefix,),
                result_ttl=0,
                timeout=31,
                job_id=f"{prefix}-{uuid.uuid4().hex}",  # the run's keys, found by drop_redis_keys
            )

        return timed(submit, lambda: int(client.get(f"{prefix}:done") or 0), jobs, timeout_s)
    finally:
        for proc in procs:
            stop(proc)
        drop_redis_keys(prefix)


def drop_redis_keys(prefix: str) -> None:
    """Delete the run's keys (and only those) from the Redis database."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


# bare procrastinate ---------------------------------------------------------------------------


def bare_pg_app(prefix: str) -> Any:
    """Bare procrastinate on ``PG_URL`` with its counting no-op task."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=PG_URL))

    @app.task(name=f"{prefix}.bare_noop", queue=f"{prefix}.default")
    async def bare_noop() -> None:
        import psycopg

        conn = _COUNTERS.get(os.getpid())
        if conn is None:
            conn = _COUNTERS[os.getpid()] = psycopg.connect(PG_URL, autocommit=True)
        conn.execute(f'update "{prefix}_done" set n = n + 1')

    return app


def run_bare_pg_worker(prefix: str) -> None:
    """One plain procrastinate worker on the bare queue (the layer's worker options)."""
    app = bare_pg_app(prefix)
    print("worker ready", file=sys.stderr, flush=True)
    app.run_worker(
        queues=[f"{prefix}.default"],
        concurrency=1,
        wait=True,
        listen_notify=True,
        fetch_job_polling_interval=0.02,
        delete_jobs="always",
        install_signal_handlers=True,
    )


def time_bare_pg(prefix: str, jobs: int, concurrency: int, timeout_s: float, logs: Path) -> float:
    """Seconds for ``concurrency`` bare procrastinate workers to run ``jobs`` no-op tasks."""
    import procrastinate
    import psycopg

    conn = psycopg.connect(PG_URL, autocommit=True)
    conn.execute(f'create table "{prefix}_done" (n integer)')
    conn.execute(f'insert into "{prefix}_done" values (0)')
    defer_app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(conninfo=PG_URL))
    task = defer_app.task(name=f"{prefix}.bare_noop", queue=f"{prefix}.default")(lambda: None)
    procs = [
        start(["--bare-pg-worker", prefix], logs / f"bare-{n}.log") for n in range(concurrency)
    ]
    try:

        def done() -> int:
            row = conn.execute(f'select n from "{prefix}_done"').fetchone()
            return int(row[0]) if row else 0

        with defer_app.open():
            return timed(task.defer, done, jobs, timeout_s)
    finally:
        for proc in procs:
            stop(proc)
        conn.execute(f'drop table if exists "{prefix}_done"')
        conn.close()


def drop_pg_tables(prefix: str) -> None:
    """Drop the layer's tables of the run (and only those)."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "select tablename from pg_tables where tablename like %s", (f"{prefix}%",)
        ).fetchall()
        for (table,) in rows:
            conn.execute(f'drop table if exists "{table}" cascade')


def ensure_pg_schema() -> None:
    """Create procrastinate's schema in ``PG_URL`` when missing (the layer's own way)."""
    runtime = layer_app("procrastinate", "bench_schema", 1).runtime
    try:
        runtime.dispatcher.ensure_schema()  # type: ignore[attr-defined]
    finally:
        close_ledger(runtime.ledger)
        drop_pg_tables("bench_schema")


# both -----------------------------------------------------------------------------------------


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a worker process of this module and wait until it says it is ready."""
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


def close_ledger(ledger: object) -> None:
    """Close a ledger's connection pool where it has one (PostgreSQL's)."""
    close = getattr(ledger, "close", None)
    if callable(close):
        close()


def timed(
    submit: Callable[[], Any], count: Callable[[], int], jobs: int, timeout_s: float
) -> float:
    """Run :data:`WARMUP` jobs untimed, then return the seconds ``jobs`` more take to finish."""
    for _ in range(WARMUP):
        submit()
    wait_for(count, WARMUP, timeout_s, time.perf_counter())
    started = time.perf_counter()
    for _ in range(jobs):
        submit()
    return wait_for(count, WARMUP + jobs, timeout_s, started)


def wait_for(count: Callable[[], int], jobs: int, timeout_s: float, started: float) -> float:
    """Wait until ``count()`` reaches ``jobs``; return the seconds since ``started``."""
    deadline = time.monotonic() + timeout_s
    while count() < jobs:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{jobs} jobs did not finish in {timeout_s} s")
        time.sleep(0.005)
    return time.perf_counter() - started


def time_layer(
    backend: str, prefix: str, jobs: int, concurrency: int, timeout_s: float, log: Path
) -> float:
    """Seconds for the layer on ``backend`` to run ``jobs`` no-op jobs."""
    app = layer_app(backend, prefix, concurrency)
    runtime = app.runtime
    proc = start(["--layer-worker", backend, prefix, "--concurrency", str(concurrency)], log)
    try:

        def submit() -> None:
            app.enqueue(noop, Nothing())

        return timed(submit, lambda: completed(runtime), jobs, timeout_s)
    finally:
        stop(proc)
        close_ledger(runtime.ledger)
        if backend == "rq":
            drop_redis_keys(prefix)
        else:
            drop_pg_tables(prefix)


def profile_layer(backend: str, jobs: int, top: int) -> str:
    """Profile the layer's own work in this process; return the top entries by own time."""
    prefix = f"bench_profile_{os.getpid()}"
    app = layer_app(backend, prefix, 1)
    runtime = app.runtime
    profiler = cProfile.Profile()
    try:
        profiler.enable()
        ids = [app.enqueue(noop, Nothing(n=n)) for n in range(jobs)]
        for job_id in ids:
            execute(runtime, job_id, noop.name, worker="profile")
        profiler.disable()
    finally:
        close_ledger(runtime.ledger)
        if backend == "rq":
            drop_redis_keys(prefix)
        else:
            import psycopg

            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(
                    "delete from procrastinate_jobs where queue_name like %s", (f"{prefix}%",)
                )
            drop_pg_tables(prefix)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Run both sides ``--runs`` times and print the numbers as JSON lines."""
    cli = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    cli.add_argument("--backend", choices=["rq", "procrastinate"], default="rq")
    cli.add_argument("--jobs", type=int, default=1000)
    cli.add_argument("--runs", type=int, default=3)
    cli.add_argument("--concurrency", type=int, default=4)
    cli.add_argument("--timeout", type=float, default=300.0)
    cli.add_argument("--profile", action="store_true", help="profile the layer afterwards")
    cli.add_argument("--bare-rq-worker", help=argparse.SUPPRESS)
    cli.add_argument("--bare-pg-worker", help=argparse.SUPPRESS)
    cli.add_argument("--layer-worker", nargs=2, help=argparse.SUPPRESS)
    args, _ = cli.parse_known_args(argv)
    if args.bare_rq_worker:
        run_bare_rq_worker(args.bare_rq_worker)
        return 0
    if args.bare_pg_worker:
        run_bare_pg_worker(args.bare_pg_worker)
        return 0
    if args.layer_worker:
        from jobforge_runtime.logs import configure_logging

        configure_logging(level="WARNING")
        print("worker ready", file=sys.stderr, flush=True)
        backend, prefix = args.layer_worker
        layer_app(backend, prefix, args.concurrency).run_worker()
        return 0
    if args.backend == "procrastinate":
        ensure_pg_schema()
    ratios: list[float] = []
    for run in range(1, args.runs + 1):
        tag = f"bench_{os.getpid()}_{run}"
        with tempfile.TemporaryDirectory(prefix="rt-bench-") as tmp_name:
            logs = Path(tmp_name)
            if args.backend == "rq":
                bare_s = time_bare_rq(
                    f"{tag}_bare", args.jobs, args.concurrency, args.timeout, logs
                )
            else:
                bare_s = time_bare_pg(
                    f"{tag}_bare", args.jobs, args.concurrency, args.timeout, logs
                )
            layer_s = time_layer(
                args.backend,
                f"{tag}_layer",
                args.jobs,
                args.concurrency,
                args.timeout,
                logs / "layer.log",
            )
        ratios.append(bare_s / layer_s)
        result = {
            "run": run,
            "backend": args.backend,
            "jobs": args.jobs,
            "concurrency": args.concurrency,
            "bare_jobs_per_s": round(args.jobs / bare_s, 1),
            "layer_jobs_per_s": round(args.jobs / layer_s, 1),
            "ratio_layer_over_bare": round(bare_s / layer_s, 3),
        }
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
        print(profile_layer(args.backend, args.jobs, 25))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
