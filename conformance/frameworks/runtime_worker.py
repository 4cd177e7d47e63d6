"""The kit's entry point for worker and scheduler processes of a jobforge-runtime app's run.

Started by the jobforge-runtime adapter, never by hand::

    python -m jobforge.conformance.frameworks.runtime_worker worker
    python -m jobforge.conformance.frameworks.runtime_worker scheduler

Both read the run's plan from ``JOBFORGE_RUNTIME_PLAN``, import the user's App, derive the run
app from it (the probe job types added, the run's own store) and run the runtime's own worker or
scheduler on it: the code under test is the user's App on its real backend, and nothing for
scoring is needed in the user's package. The scheduler starts ahead of time and waits on stdin
for the path of its schedules (JSON), so a scheduler restart is as quick as in production, where
the process is already running.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from jobforge_runtime import App
from jobforge_runtime.logs import configure_logging
from jobforge_runtime.recovery import Reaper
from jobforge_runtime.scheduling import Scheduler

from .runtime_app import RunPlan, load_app, run_app, schedules_from

#: Seconds between a scheduler's passes in a run (the runtime's CLI default is 0.5 s).
SCHEDULER_POLL_S = 0.05
#: Line a scheduler process writes once it waits for its schedules.
STANDING_BY = "scheduler standing by"


def _run_app_of(plan: RunPlan) -> App:
    user = load_app(plan.app, search=Path(plan.search))
    return run_app(user, plan.run_settings(), plan.run_timing())


def worker(plan: RunPlan) -> int:
    """Run the app's worker on the run's queue until SIGTERM (graceful) or SIGKILL."""
    run = _run_app_of(plan)
    settings = run.resolved_settings()
    configure_logging(level=settings.log_level, log_file=settings.log_file)
    run.run_worker()
    return 0


def scheduler(plan: RunPlan) -> int:
    """Wait for a schedules file on stdin, then fire its schedules until SIGTERM."""
    run = _run_app_of(plan)
    runtime = run.runtime
    configure_logging(level=runtime.settings.log_level, log_file=runtime.settings.log_file)
    print(STANDING_BY, file=sys.stderr, flush=True)
    line = sys.stdin.readline().strip()
    if not line:
        return 0  # the run ended before this standby scheduler was needed
    doc = json.loads(Path(line).read_text(encoding="utf-8"))
    firing = Scheduler(runtime, schedules_from(doc, run), poll_s=SCHEDULER_POLL_S)

    def _stop(signum: int, frame: FrameType | None) -> None:
        firing.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    reaper = Reaper(runtime).start()
    print("scheduler ready", file=sys.stderr, flush=True)
    try:
        firing.run()
    finally:
        reaper.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run a worker or a scheduler of the run described by ``JOBFORGE_RUNTIME_PLAN``."""
    parser = argparse.ArgumentParser(prog="runtime_worker", description=__doc__)
    parser.add_argument("role", choices=("worker", "scheduler"))
    args = parser.parse_args(argv)
    plan = RunPlan.from_env()
    return worker(plan) if args.role == "worker" else scheduler(plan)


if __name__ == "__main__":
    raise SystemExit(main())
