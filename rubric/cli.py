"""``jobforge report`` and ``jobforge rubric``: render results and print the rubric.

``jobforge report RESULTS.json --format md|junit|badge|chart|json|terminal [--output P]
[--policy F]`` renders any report from a saved results file and, with a policy, gates on it
(exit 0 met, 1 below policy, 2 inconclusive or error). ``jobforge rubric [--format md|json]``
prints the rubric.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

REPORT_FORMATS = ("terminal", "md", "json", "junit", "badge", "chart")


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``report`` and ``rubric`` subcommands."""
    report = subparsers.add_parser(
        "report",
        help="render a results file as a scorecard, Markdown, JUnit XML, JSON or SVG",
        description="Render a conformance results file; with --policy, gate on it "
        "(exit 0 met, 1 below policy, 2 inconclusive or error).",
    )
    report.add_argument("results", type=Path, metavar="RESULTS.json", help="results file")
    report.add_argument(
        "--format", choices=REPORT_FORMATS, default="terminal", help="report format"
    )
    report.add_argument("--output", "-o", type=Path, help="write here instead of stdout")
    report.add_argument("--policy", type=Path, help="policy YAML file to gate on")
    report.add_argument("--rubric", type=Path, help="rubric YAML (default: the bundled one)")
    report.set_defaults(handler=run_report)

    rubric = subparsers.add_parser(
        "rubric", help="print the 35-point rubric", description="Print the rubric."
    )
    rubric.add_argument("--format", choices=("md", "json"), default="md", help="output format")
    rubric.add_argument("--rubric", type=Path, help="rubric YAML (default: the bundled one)")
    rubric.set_defaults(handler=run_rubric)


def _emit(text: str, output: Path | None) -> None:
    from jobforge.errors import UsageError

    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, "utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write --output {str(output)!r}: {exc.strerror}") from exc


def run_report(args: argparse.Namespace) -> int:
    """Render one report and apply the policy, if given; return the exit code."""
    from .model import load_rubric
    from .policy import evaluate, load_policy
    from .reports import print_scorecard, render
    from .results import load_results

    results = load_results(args.results)
    rubric = load_rubric(args.rubric)
    policy = load_policy(args.policy) if args.policy is not None else None
    card = results.scorecard(rubric)
    if args.format == "terminal" and args.output is None:
        print_scorecard(results, rubric=rubric)
    else:
        _emit(render(results, args.format, rubric), args.output)
    if policy is None:
        return 0
    verdict = evaluate(policy, card)
    for reason in verdict.reasons:
        print(f"policy: {reason}", file=sys.stderr)
    outcome = {0: "met", 1: "below policy", 2: "undecided (inconclusive checks)"}
    print(f"policy: {outcome[verdict.exit_code]}", file=sys.stderr)
    return verdict.exit_code


def run_rubric(args: argparse.Namespace) -> int:
    """Print the rubric as Markdown or JSON."""
    from .docs import rubric_json, rubric_markdown
    from .model import load_rubric

    rubric = load_rubric(args.rubric)
    sys.stdout.write(rubric_markdown(rubric) if args.format == "md" else rubric_json(rubric))
    return 0
