"""``jobforge soak``: a long fault campaign against any adapter, then the total-queue verdict.

Exit codes: 0 nothing lost, duplicated or unexpected; 1 otherwise; 2 the soak could not be
made (the adapter cannot be loaded or set up, the ledger failed, a bad argument).
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

from jobforge.errors import ConformanceError, UsageError

EXIT_NOT_MADE = 2


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``soak`` subcommand."""
    parser = subparsers.add_parser(
        "soak",
        help="run thousands of jobs through kills, restarts and poison; account for every job",
        description=(
            "Submit --jobs probe jobs of mixed types over --duration seconds while faults land "
            "on a schedule drawn from --seed, drain, then account for every enqueued job and "
            "effect: completed, dead (with its reason), lost, duplicated, unexpected. Exit 0 "
            "when nothing is lost, duplicated or unexpected, 1 otherwise, 2 when the soak "
            "could not be made."
        ),
    )
    source = parser.add_argument_group("what to soak (as for jobforge score)")
    source.add_argument("--adapter", metavar="MODULE:ATTR", help="the adapter class or factory")
    source.add_argument("--framework", metavar="NAME", help="bundled adapter of a framework")
    source.add_argument("--app", metavar="REF", help="your app for --framework")
    source.add_argument("--reference", action="store_true", help="the in-process reference")
    source.add_argument(
        "--flaw", action="append", default=[], metavar="NAME", help="a reference flaw"
    )
    plan = parser.add_argument_group("the plan")
    plan.add_argument("--jobs", type=int, default=2000, help="jobs to submit (default 2000)")
    plan.add_argument(
        "--duration", type=float, default=240.0, help="submission window in seconds (240)"
    )
    plan.add_argument("--seed", type=int, help="seed of the jobs and faults (default: random)")
    plan.add_argument(
        "--faults-per-kind", type=int, default=30, help="faults of each applicable kind (30)"
    )
    plan.add_argument("--workers", type=int, default=3, help="workers kept running (3)")
    plan.add_argument(
        "--storm-size", type=int, default=5, help="submissions per duplicate storm (5)"
    )
    plan.add_argument(
        "--poison-burst", type=int, default=3, help="permanently failing jobs per poison fault"
    )
    plan.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        help="replay the plan (seed, sizes, fault schedule) of a JSON report",
    )
    run = parser.add_argument_group("how to run and report")
    run.add_argument(
        "--drain", type=float, metavar="SECONDS", help="drain period (default: from the timing)"
    )
    run.add_argument("--workdir", type=Path, metavar="DIR", help="keep the ledger here")
    run.add_argument("--json", type=Path, metavar="PATH", help="write the JSON report")
    run.add_argument("--svg", type=Path, metavar="PATH", help="write the SVG timeline")
    run.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run_soak)


def _config(args: argparse.Namespace) -> tuple[Any, Any]:
    from .plan import SoakConfig, replay_config

    if args.replay is not None:
        if args.seed is not None:
            raise UsageError(
                f"--seed {args.seed} with --replay {args.replay}: a replay takes the seed and the "
                "schedule from the report; drop --seed"
            )
        try:
            saved = json.loads(args.replay.read_text("utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(
                f"--replay {args.replay}: cannot read it ({exc}); give a report written by "
                "jobforge soak --json"
            ) from exc
        plan = saved.get("plan") if isinstance(saved, dict) else None
        return replay_config(plan if isinstance(plan, dict) else {})
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    config = SoakConfig(
        seed=seed,
        jobs=args.jobs,
        duration_s=args.duration,
        faults_per_kind=args.faults_per_kind,
        workers=args.workers,
        storm_size=args.storm_size,
        poison_burst=args.poison_burst,
    )
    return config, None


def run_soak(args: argparse.Namespace) -> int:
    """Handle ``jobforge soak``."""
    from .. import faults
    from ..adapter import Capability
    from ..cli import adapter_from_args
    from ..env import Guarded
    from . import report, timeline
    from .checker import account
    from .driver import Driver, describe
    from .plan import applicable, check_replay, make_plan

    config, saved = _config(args)
    try:
        adapter = adapter_from_args(args)
        description = describe(Guarded(adapter))
    except ConformanceError as exc:
        print(f"jobforge soak: the soak could not be made: {exc}", file=sys.stderr)
        return EXIT_NOT_MADE
    seam = isinstance(adapter, faults.BrokerControl | faults.BrokerOutage)
    job_types = {spec.name for spec in description.jobs}
    kinds = applicable(description.capabilities, broker_seam=seam, job_types=job_types)
    plan = make_plan(
        config,
        kinds=kinds,
        job_types=job_types,
        keyed=Capability.IDEMPOTENCY_KEYS in description.capabilities,
    )
    if saved is not None:
        check_replay(plan, saved)
    sys.stdout.write(report.schedule_lines(config.seed, plan.faults, plan.kinds))
    sys.stdout.flush()
    with tempfile.TemporaryDirectory(prefix="jobforge-soak-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            result = Driver(adapter, plan, quiet=args.quiet).run(description, workdir, args.drain)
        except ConformanceError as exc:
            print(f"jobforge soak: the soak could not be made: {exc}", file=sys.stderr)
            return EXIT_NOT_MADE
    accounting = account(result.history)
    document = report.build(result, accounting)
    if args.json:
        report.write(document, args.json)
        print(f"wrote JSON report: {args.json}", file=sys.stderr)
    if args.svg:
        timeline.write(document, args.svg)
        print(f"wrote SVG timeline: {args.svg}", file=sys.stderr)
    sys.stdout.write(report.summary(result, accounting))
    return report.EXIT_CLEAN if accounting.clean else report.EXIT_DIRTY
