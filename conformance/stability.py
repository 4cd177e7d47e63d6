"""``jobforge stability``: score the same implementation N times and report every verdict change.

A verdict the kit gives must not depend on luck. This command runs ``jobforge score`` with the
given arguments ``--runs`` times, each in its own process and one after the other, reads each
run's results JSON and lists every check whose outcome was not the same in all runs, with the
evidence of each differing run. Exit codes: 0 no verdict changed, 1 at least one changed,
2 a run produced no results (the score itself could not run).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jobforge.errors import ConformanceError, UsageError

#: ``jobforge score`` options this command sets itself for every run.
_OWNED = ("--json", "--no-progress")


@dataclass(frozen=True)
class RunVerdicts:
    """The outcome (and evidence) of every check in one run."""

    total: str
    duration_s: float
    outcomes: Mapping[str, tuple[str, tuple[str, ...]]]


@dataclass(frozen=True)
class Change:
    """A check whose outcome differed between runs: ``outcomes[i]`` is run ``i + 1``'s."""

    check_id: str
    outcomes: tuple[str, ...]
    evidence: tuple[tuple[str, ...], ...]


def read_run(path: Path) -> RunVerdicts:
    """Read one results JSON written by ``jobforge score --json``."""
    try:
        data = json.loads(path.read_text("utf-8"))
        outcomes = {
            str(item["check_id"]): (str(item["outcome"]), tuple(map(str, item["evidence"])))
            for item in data["outcomes"]
        }
        card = data.get("scorecard") or {}
        total = f"{card.get('total', '?')}/{card.get('max_total', '?')}"
        return RunVerdicts(total, float(data.get("duration_s", 0.0)), outcomes)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConformanceError(f"cannot read the results of a run from {path}: {exc}") from exc


def changes(runs: Sequence[RunVerdicts]) -> list[Change]:
    """Every check whose outcome is not the same in all ``runs`` (missing counts as 'absent')."""
    ids = sorted({check for run in runs for check in run.outcomes})
    found: list[Change] = []
    for check in ids:
        seen = [run.outcomes.get(check, ("absent", ())) for run in runs]
        if len({outcome for outcome, _ in seen}) > 1:
            found.append(
                Change(check, tuple(o for o, _ in seen), tuple(evidence for _, evidence in seen))
            )
    return found


def render(runs: Sequence[RunVerdicts], found: Sequence[Change]) -> str:
    """Render the report: one line per run, then each change with its differing evidence."""
    lines = [
        f"run {i}: {run.total} in {run.duration_s:.1f} s" for i, run in enumerate(runs, start=1)
    ]
    checks = len({check for run in runs for check in run.outcomes})
    if not found:
        lines.append(f"{len(runs)} runs, {checks} checks: 0 verdict changes")
        return "\n".join(lines) + "\n"
    lines.append(f"{len(runs)} runs, {checks} checks: {len(found)} check(s) changed verdict")
    for change in found:
        counts = {o: change.outcomes.count(o) for o in dict.fromkeys(change.outcomes)}
        summary = ", ".join(f"{o} x{n}" for o, n in counts.items())
        lines.append(f"  {change.check_id}: {summary}")
        majority = max(counts, key=lambda o: counts[o])
        for i, (outcome, evidence) in enumerate(
            zip(change.outcomes, change.evidence, strict=True), start=1
        ):
            if outcome != majority:
                lines.append(f"    run {i} {outcome}: {'; '.join(evidence)[:400]}")
    return "\n".join(lines) + "\n"


def run_score(score_args: Sequence[str], results: Path) -> RunVerdicts:
    """Run ``jobforge score`` once in its own process, writing its results to ``results``."""
    command = [sys.executable, "-m", "jobforge", "score", *score_args]
    command += ["--no-progress", "--json", str(results)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if not results.exists():
        tail = (completed.stderr or completed.stdout).strip().splitlines()[-3:]
        raise ConformanceError(
            f"jobforge score {' '.join(score_args)} wrote no results (exit "
            f"{completed.returncode}): {' | '.join(tail)}"
        )
    return read_run(results)


def register(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add the ``stability`` subcommand."""
    parser = subparsers.add_parser(
        "stability",
        help="score an implementation N times and list every verdict that changed",
        description=(
            "Run `jobforge score SCORE_ARGS` --runs times, one after the other, and list every "
            "check whose outcome was not the same in all runs. Example: jobforge stability "
            "--runs 20 -- --reference"
        ),
    )
    parser.add_argument("--runs", type=int, default=3, help="how many runs (default 3)")
    parser.add_argument(
        "--keep", type=Path, metavar="DIR", help="keep each run's results JSON in DIR"
    )
    parser.add_argument("score_args", nargs=argparse.REMAINDER, help="arguments for jobforge score")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    score_args = [a for a in args.score_args if a != "--"]
    if args.runs < 2:
        raise UsageError(
            f"--runs {args.runs}: a change needs at least 2 runs; use --runs 2 or more"
        )
    clash = [a for a in score_args if a.split("=", 1)[0] in _OWNED]
    if clash:
        raise UsageError(
            f"{', '.join(clash)}: jobforge stability sets these for each run; use --keep DIR to "
            "keep the results"
        )
    with tempfile.TemporaryDirectory(prefix="jobforge-stability-") as scratch:
        where = args.keep or Path(scratch)
        where.mkdir(parents=True, exist_ok=True)
        runs: list[RunVerdicts] = []
        for i in range(1, args.runs + 1):
            started = time.monotonic()
            runs.append(run_score(score_args, where / f"run-{i:02d}.json"))
            print(
                f"run {i}/{args.runs}: {runs[-1].total} ({time.monotonic() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
        found = changes(runs)
    sys.stdout.write(render(runs, found))
    return 1 if found else 0
