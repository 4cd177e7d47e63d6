"""Helpers for driving the reference job system from tests (its own and the project's)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from .. import history
from ..adapter import Adapter, RunContext, Timing
from .adapter import ReferenceAdapter
from .records import TERMINAL

#: Timings small enough for fast tests, large enough to tell a delay from scheduling noise.
FAST_TIMING = Timing(
    backoff_base_s=0.05,
    backoff_cap_s=0.2,
    jitter_ratio=0.25,
    max_attempts=3,
    timeout_s=0.4,
    schedule_interval_s=0.3,
    lease_s=0.4,
)


def run_context(
    directory: Path, *, timing: Timing = FAST_TIMING, run_id: str = "test"
) -> RunContext:
    """Return a run context whose ledger (initialised) lives in ``directory``."""
    ledger = directory / "ledger.sqlite"
    history.Ledger(ledger, run_id=run_id).initialize()
    return RunContext(ledger_path=ledger, workdir=directory, timing=timing, run_id=run_id)


def wait_until(condition: Callable[[], bool], *, timeout_s: float = 5.0, what: str = "") -> None:
    """Poll ``condition`` until true; raise AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what or condition}")
        time.sleep(0.01)


def wait_finished(adapter: Adapter, *job_ids: str, timeout_s: float = 10.0) -> None:
    """Wait until every job is COMPLETED or DEAD, as the adapter reports them."""

    def done() -> bool:
        return all(adapter.inspect(job_id).status in TERMINAL for job_id in job_ids)

    wait_until(done, timeout_s=timeout_s, what=f"jobs {', '.join(job_ids)} to finish")


@contextmanager
def running_reference(
    directory: Path, *, flaws: frozenset[str] = frozenset(), timing: Timing = FAST_TIMING
) -> Iterator[tuple[ReferenceAdapter, history.Ledger]]:
    """Set up a reference adapter on a fresh ledger in ``directory``; tear it down after."""
    context = run_context(directory, timing=timing)
    adapter = ReferenceAdapter(flaws)
    adapter.setup(context)
    try:
        yield adapter, history.Ledger(context.ledger_path, run_id=context.run_id)
    finally:
        adapter.teardown()
