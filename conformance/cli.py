"""``jobforge score``: run the conformance kit against an implementation and report the score.

Exit codes: 0 the policy is met (or no policy and nothing inconclusive), 1 below the policy,
2 inconclusive (the kit's infrastructure failed, e.g. the adapter cannot be imported or the
ledger cannot be written) or a usage error. Heavy imports stay inside the handler.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jobforge.errors import ConformanceError, UsageError

if TYPE_CHECKING:
    from jobforge.rubric.outcomes import CheckOutcome
    from rich.progress import Progress, TaskID

    from .adapter import Adapter
    from .checks import Check


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``score`` subcommand."""
    parser = subparsers.add_parser(
        "score",
        help="score a job-queue implementation on the 35-point rubric",
        description=(
            "Drive an implementation through its conformance adapter, inject faults, check the "
            "recorded history and score it on the rubric. Without --adapter or --framework the "
            "adapter is read from [tool.jobforge] (adapter, or framework and app) in "
            "./pyproject.toml."
        ),
    )
    source = parser.add_argument_group("what to score")
    source.add_argument("--adapter", metavar="MODULE:ATTR", help="the adapter class or factory")
    source.add_argument(
        "--framework",
        metavar="NAME",
        help="score an existing app with the bundled adapter of its framework (needs --app)",
    )
    source.add_argument(
        "--app",
        metavar="REF",
        help="your app for --framework, e.g. proj.celery_app:app (see docs/frameworks.md)",
    )
    source.add_argument(
        "--reference", action="store_true", help="score the in-process reference implementation"
    )
    source.add_argument(
        "--flaw",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a reference flaw (repeatable; needs --reference)",
    )
    source.add_argument("--list-flaws", action="store_true", help="list the flaw names and exit")
    run = parser.add_argument_group("how to run")
    run.add_argument("--profile", default="ci", choices=("ci", "stress"), help="default: ci")
    run.add_argument(
        "--check",
        action="append",
        default=[],
        metavar="ID",
        help="run only this check id or dimension (repeatable)",
    )
    run.add_argument("--no-progress", action="store_true", help="do not draw progress bars")
    run.add_argument(
        "--workdir",
        type=Path,
        metavar="DIR",
        help="keep the run's history ledger (ledger.db) here instead of a temporary directory",
    )
    out = parser.add_argument_group("reports and gate")
    out.add_argument("--json", type=Path, metavar="PATH", help="write the results JSON")
    out.add_argument("--markdown", type=Path, metavar="PATH", help="write a Markdown report")
    out.add_argument("--junit", type=Path, metavar="PATH", help="write JUnit XML")
    out.add_argument("--badge", type=Path, metavar="PATH", help="write an SVG badge")
    out.add_argument("--chart", type=Path, metavar="PATH", help="write an SVG chart")
    out.add_argument("--policy", type=Path, metavar="FILE", help="gate on this policy file")
    parser.set_defaults(handler=run_score)

    checks = subparsers.add_parser(
        "checks",
        help="list the conformance checks: what each needs declared and how to fix a failure",
        description=(
            "Print the check catalogue: each check's id and dimension, what it proves, what the "
            "implementation must declare for it, and how to fix a failure."
        ),
    )
    checks.add_argument(
        "only", nargs="*", metavar="ID_OR_DIMENSION", help="list only these checks or dimensions"
    )
    checks.set_defaults(handler=run_checks)


def run_checks(args: argparse.Namespace) -> int:
    """Handle ``jobforge checks``."""
    from jobforge.rubric.model import load_rubric

    from .catalogue import entries, render, select

    sys.stdout.write(render(entries(load_rubric(), select(args.only))))
    return 0


def _list_flaws() -> int:
    from .reference import FLAWS

    width = max(len(name) for name in FLAWS)
    for name, text in FLAWS.items():
        print(f"{name:<{width}}  {text}")
    return 0


def adapter_from_args(args: argparse.Namespace) -> Adapter:
    """Load the adapter named by --reference [--flaw], --framework/--app, --adapter or pyproject."""
    from .frameworks import load_framework_adapter
    from .loading import adapter_spec_from_pyproject, framework_from_pyproject, load_adapter

    if args.flaw and not args.reference:
        raise UsageError("--flaw switches on a flaw of the reference; add --reference")
    if args.reference:
        if args.adapter:
            raise UsageError("give either --reference or --adapter, not both")
        from .reference import ReferenceAdapter

        return ReferenceAdapter(frozenset(args.flaw))
    cwd = Path.cwd()
    if args.app and not args.framework:
        raise UsageError("--app names the app of a bundled adapter; add --framework NAME")
    if args.framework:
        if args.adapter:
            raise UsageError("give either --framework or --adapter, not both")
        return load_framework_adapter(args.framework, args.app or "", search=cwd)
    if args.adapter:
        return load_adapter(args.adapter, search=cwd)
    named = framework_from_pyproject(cwd)
    if named is not None:
        return load_framework_adapter(*named, search=cwd)
    return load_adapter(adapter_spec_from_pyproject(cwd), search=cwd)


def _select(wanted: Sequence[str]) -> tuple[Check, ...]:
    from .catalogue import select

    return select(wanted)


class _Bars:
    """One progress bar per dimension, advanced as checks finish."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, TaskID] = {}

    def run_started(self, checks: Sequence[Check]) -> None:
        for check in checks:
            if check.dimension not in self.tasks:
                total = sum(1 for c in checks if c.dimension == check.dimension)
                self.tasks[check.dimension] = self.progress.add_task(check.dimension, total=total)

    def check_finished(self, check: Check, outcome: CheckOutcome) -> None:
        self.progress.update(
            self.tasks[check.dimension],
            advance=1,
            description=f"{check.dimension} ({outcome.check_id.split('.', 1)[1]}: "
            f"{outcome.outcome.value})",
        )


def run_score(args: argparse.Namespace) -> int:
    """Handle ``jobforge score``."""
    if args.list_flaws:
        return _list_flaws()
    from jobforge.rubric.policy import EXIT_INCONCLUSIVE, evaluate, load_policy
    from jobforge.rubric.reports import print_scorecard, write_reports
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from .runner import Runner, inconclusive_results

    policy = load_policy(args.policy) if args.policy else None
    checks = _select(args.check)
    err = Console(stderr=True)
    try:
        adapter = adapter_from_args(args)
    except ConformanceError as exc:
        err.print(f"jobforge score: inconclusive: {exc}", markup=False, highlight=False)
        results = inconclusive_results(str(exc), args.profile, checks)
        _write(results, args, write_reports)
        return EXIT_INCONCLUSIVE
    progress = Progress(
        TextColumn("{task.description:<48}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        disable=args.no_progress,
    )
    with progress:
        results = Runner(
            adapter,
            profile=args.profile,
            checks=checks,
            workdir=args.workdir,
            observer=_Bars(progress),
        ).run()
    _write(results, args, write_reports)
    print_scorecard(results)
    timings = ", ".join(f"{d} {s:.1f} s" for d, s in results.dimension_durations_s.items())
    print(f"run took {results.duration_s:.1f} s ({timings})")
    for note in results.notes:
        err.print(f"jobforge score: {note}", markup=False, highlight=False)
    if any(note.startswith("inconclusive") for note in results.notes):
        return EXIT_INCONCLUSIVE
    if policy is not None:
        verdict = evaluate(policy, results.scorecard())
        for reason in verdict.reasons:
            print(f"policy {reason}")
        return verdict.exit_code
    if any(o.outcome.value == "inconclusive" for o in results.outcomes):
        err.print("jobforge score: some checks were inconclusive; the score is incomplete")
        return EXIT_INCONCLUSIVE
    return 0


def _write(results: Any, args: argparse.Namespace, write_reports: Any) -> None:
    written = write_reports(
        results,
        json=args.json,
        markdown=args.markdown,
        junit=args.junit,
        badge=args.badge,
        chart=args.chart,
    )
    for fmt, path in written.items():
        print(f"wrote {fmt} report: {path}", file=sys.stderr)
