"""``python -m jobforge.conformance.calibration [--runs N] [DIR ...]``: score the calibration apps.

Scores each app with its framework's bundled adapter (``ci`` profile), prints one table per run
(check, expected, got, and the evidence of every mismatch and failure), and exits 1 on any mismatch.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from jobforge.rubric.outcomes import Outcome

from jobforge.errors import JobforgeError

from ..frameworks import load_framework_adapter
from ..runner import run
from .compare import Row, compare
from .spec import DEFAULT_ROOT, CalibrationSpec, discover, load_spec


def score(spec: CalibrationSpec) -> tuple[list[Row], float]:
    """Score one calibration app once; return its rows and the run's duration in seconds."""
    adapter = load_framework_adapter(spec.framework, spec.app, search=spec.directory)
    results = run(adapter, profile="ci")
    return compare(spec, results), results.duration_s


def render(spec: CalibrationSpec, rows: Sequence[Row], run_no: int, duration_s: float) -> str:
    """One run's table: a line per check, the evidence under every mismatch and failure."""
    width = max(len(r.check_id) for r in rows)
    bad = sum(not r.matches for r in rows)
    lines = [
        f"== {spec.directory.name} ({spec.framework}, {spec.app}) run {run_no}: "
        f"{len(rows) - bad}/{len(rows)} as expected, {duration_s:.1f} s",
        f"{'check'.ljust(width)}  {'expected':<12}  {'got':<12}",
    ]
    for row in rows:
        mark = "" if row.matches else "  MISMATCH"
        lines.append(
            f"{row.check_id.ljust(width)}  {row.expected.value:<12}  {row.got.value:<12}{mark}"
        )
        if not row.matches or row.got is Outcome.FAIL:
            lines.extend(f"{'':{width}}    evidence: {line}" for line in row.evidence)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the calibration; return 0 when every verdict matched in every run."""
    parser = argparse.ArgumentParser(prog="python -m jobforge.conformance.calibration")
    parser.add_argument("--runs", type=int, default=1, help="consecutive runs of each app")
    parser.add_argument(
        "dirs",
        nargs="*",
        type=Path,
        help=f"calibration directories (default: all of {DEFAULT_ROOT})",
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: give 1 or more")
    try:
        dirs = list(args.dirs) or discover(DEFAULT_ROOT)
        if not dirs:
            parser.error(f"no calibration.yml under {DEFAULT_ROOT}; run from the repository root")
        specs = [load_spec(d) for d in dirs]
        mismatches = 0
        for spec in specs:
            for run_no in range(1, args.runs + 1):
                clock = time.monotonic()
                rows, duration_s = score(spec)
                print(render(spec, rows, run_no, duration_s or time.monotonic() - clock))
                mismatches += sum(not r.matches for r in rows)
                sys.stdout.flush()
    except JobforgeError as exc:
        print(f"calibration: {exc}", file=sys.stderr)
        return 2
    print(f"calibration: {mismatches} mismatch(es)")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
