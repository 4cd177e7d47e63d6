"""Command line of a job subsystem: worker, scheduler, submit, status, job types, DLQ, health.

A project's ``__main__`` is ``raise SystemExit(cli.main(app))``. Bad input ends in one line on
stderr that names the fix; exit codes: 0 done, 1 failed or not found, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from types import FrameType
from typing import Any

from jobforge_runtime.app import App
from jobforge_runtime.errors import JobforgeRuntimeError
from jobforge_runtime.health import HealthServer, health_document
from jobforge_runtime.logs import configure_logging
from jobforge_runtime.records import JobStatus
from jobforge_runtime.recovery import Reaper
from jobforge_runtime.scheduling import Scheduler


class UsageError(JobforgeRuntimeError):
    """The command line asks for something it cannot do (exit code 2)."""


def _print(doc: Any) -> None:
    print(json.dumps(doc, indent=2, default=str))


def _worker(app: App, args: argparse.Namespace) -> int:
    settings = app.runtime.settings
    configure_logging(level=settings.log_level, log_file=settings.log_file)
    app.run_worker(queue=args.queue, concurrency=args.concurrency)
    return 0


def _scheduler(app: App, args: argparse.Namespace) -> int:
    runtime = app.runtime
    configure_logging(level=runtime.settings.log_level, log_file=runtime.settings.log_file)
    if not app.schedules:
        print("no schedules declared in this app; nothing to fire", file=sys.stderr)
        return 1
    scheduler = Scheduler(runtime, app.schedules, poll_s=args.poll)

    def _stop(signum: int, frame: FrameType | None) -> None:
        scheduler.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    reaper = Reaper(runtime).start()
    runtime.logger.info(
        "scheduler ready",
        extra={"event": "scheduler_ready", "schedule": ",".join(s.name for s in app.schedules)},
    )
    try:
        scheduler.run()
    finally:
        reaper.stop()
    return 0


def _list(app: App, args: argparse.Namespace) -> int:
    _print(
        [
            {
                "job_type": j.name,
                "queue": j.queue or app.base_settings.queues[0],
                "payload": j.payload.model_json_schema(),
                "description": j.description,
            }
            for j in app.catalogue
        ]
    )
    return 0


def _submit(app: App, args: argparse.Namespace) -> int:
    try:
        payload = json.loads(args.payload)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"payload={args.payload!r} is not JSON ({exc.msg} at column {exc.colno}); "
            """give an object such as '{"user_id": 1}'"""
        ) from None
    if not isinstance(payload, dict):
        raise UsageError(f"payload={args.payload!r} is not a JSON object; wrap it in {{...}}")
    job_id = app.enqueue_named(args.job_type, payload, idempotency_key=args.key, delay_s=args.delay)
    _print({"job_id": job_id})
    return 0


def _status(app: App, args: argparse.Namespace) -> int:
    record = app.runtime.status(args.job_id)
    if record is None:
        print(f"job_id={args.job_id!r} is not in the ledger; see `recent` for ids", file=sys.stderr)
        return 1
    _print(asdict(record))
    return 0


def _recent(app: App, args: argparse.Namespace) -> int:
    status = JobStatus(args.status) if args.status else None
    _print([asdict(r) for r in app.runtime.ledger.list_jobs(status=status, limit=args.limit)])
    return 0


def _dlq(app: App, args: argparse.Namespace) -> int:
    runtime = app.runtime
    ledger = runtime.ledger
    if args.dlq_command == "list":
        letters = ledger.dead_letters(limit=args.limit, include_replayed=args.all)
        _print([asdict(d) for d in letters])
    elif args.dlq_command == "inspect":
        letter = ledger.dead_letter(args.job_id)
        if letter is None:
            print(
                f"job_id={args.job_id!r} is not in the dead-letter queue; see `dlq list`",
                file=sys.stderr,
            )
            return 1
        record = ledger.get(args.job_id)
        _print({"dead_letter": asdict(letter), "job": asdict(record) if record else None})
    elif args.dlq_command == "replay":
        if not runtime.settings.manual_retry:
            raise UsageError(
                "manual_retry=False in the settings; set JOBS_MANUAL_RETRY=1 to replay"
            )
        if args.all == bool(args.job_id):
            raise UsageError("give one job id or --all")
        ids = [args.job_id] if args.job_id else [d.job_id for d in ledger.dead_letters(limit=10**6)]
        _print({"replayed": {old: runtime.replay(old) for old in ids}})
    elif args.dlq_command == "purge":
        if not args.yes:
            raise UsageError("purge deletes dead letters for good; add --yes to confirm")
        before = None if args.older_than is None else runtime.clock() - args.older_than
        _print({"purged": ledger.purge(before=before)})
    return 0


def _health(app: App, args: argparse.Namespace) -> int:
    runtime = app.runtime
    if not args.serve:
        doc = health_document(runtime)
        _print(doc)
        return 0 if doc["status"] == "ok" else 1
    port = runtime.settings.health_port if args.port is None else args.port
    server = HealthServer(runtime, host=args.host, port=port).start()
    print(f"serving {server.url}/health and {server.url}/metrics", file=sys.stderr)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


def parser(prog: str = "jobs") -> argparse.ArgumentParser:
    """Return the argument parser."""
    root = argparse.ArgumentParser(prog=prog, description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)
    p = commands.add_parser("worker", help="run a worker until SIGTERM (finishes running jobs)")
    p.add_argument("--queue", default=None, help="queue to consume; default: the first")
    p.add_argument("--concurrency", type=int, default=None, help="worker processes")
    p.set_defaults(run=_worker)
    p = commands.add_parser("scheduler", help="fire the app's schedules until SIGTERM")
    p.add_argument("--poll", type=float, default=0.5, help="seconds between passes")
    p.set_defaults(run=_scheduler)
    p = commands.add_parser("list", help="list the job types with their payload schemas")
    p.set_defaults(run=_list)
    p = commands.add_parser("submit", help="queue a job: submit TYPE '{json payload}'")
    p.add_argument("job_type")
    p.add_argument("payload", help="JSON object")
    p.add_argument("--key", default=None, help="idempotency key")
    p.add_argument("--delay", type=float, default=0.0, help="seconds before it may start")
    p.set_defaults(run=_submit)
    p = commands.add_parser("status", help="show one job")
    p.add_argument("job_id")
    p.set_defaults(run=_status)
    p = commands.add_parser("recent", help="list recent jobs")
    p.add_argument("--status", choices=[s.value for s in JobStatus])
    p.add_argument("--limit", type=int, default=50)
    p.set_defaults(run=_recent)
    p = commands.add_parser("dlq", help="dead-letter queue: list / inspect / replay / purge")
    sub = p.add_subparsers(dest="dlq_command", required=True)
    q = sub.add_parser("list")
    q.add_argument("--limit", type=int, default=100)
    q.add_argument("--all", action="store_true", help="include replayed letters")
    q = sub.add_parser("inspect")
    q.add_argument("job_id")
    q = sub.add_parser("replay")
    q.add_argument("job_id", nargs="?")
    q.add_argument("--all", action="store_true")
    q = sub.add_parser("purge")
    q.add_argument("--older-than", type=float, default=None, help="seconds")
    q.add_argument("--yes", action="store_true")
    p.set_defaults(run=_dlq)
    p = commands.add_parser("health", help="print health (exit 1 when degraded), or --serve")
    p.add_argument("--serve", action="store_true")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=None)
    p.set_defaults(run=_health)
    return root


def main(app: App, argv: Sequence[str] | None = None, *, prog: str = "jobs") -> int:
    """Run one command against ``app``; return its exit code."""
    args = parser(prog).parse_args(argv)
    try:
        code: int = args.run(app, args)
    except UsageError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    except JobforgeRuntimeError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    return code
