"""A small app for the runtime's tests, run in worker processes as ``python -m fixture_app``.

Each attempt appends ``attempt <key> <n>`` and each first-time effect ``effect <key>`` to the file
named by ``RT_TEST_LOG``, so a test can count what really ran across processes.
"""

from __future__ import annotations

import os
import time

from pydantic import BaseModel, Field

from jobforge_runtime import (
    App,
    Catalogue,
    ConfigurationError,
    JobContext,
    PermanentError,
    Schedule,
    Settings,
    TransientError,
    job,
)


def note(line: str) -> None:
    """Append one line to the test's log file (one write, safe across processes)."""
    path = os.environ.get("RT_TEST_LOG")
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)


class Work(BaseModel):
    """Payload of ``test.work``."""

    key: str = Field(min_length=1)
    fail_times: int = 0  # attempts that fail transiently before one succeeds
    sleep_s: float = 0.0  # how long each attempt works
    sleep_first_s: float = 0.0  # extra work of the first attempt only
    outcome: str = "ok"  # ok | permanent | configuration | bug


@job(
    "test.work",
    payload=Work,
    max_attempts=3,
    backoff_base_s=0.05,
    backoff_max_s=0.2,
    idempotency_key=lambda p: p.key,
)
def work(ctx: JobContext, payload: Work) -> None:
    """Record the attempt, work, then fail or make the effect once."""
    note(f"attempt {payload.key} {ctx.attempt}")
    time.sleep(payload.sleep_s + (payload.sleep_first_s if ctx.attempt == 1 else 0.0))
    if payload.outcome == "permanent":
        raise PermanentError(f"record {payload.key} is invalid")
    if payload.outcome == "configuration":
        raise ConfigurationError("API_TOKEN is not set; set it in the environment")
    if payload.outcome == "bug":
        raise ZeroDivisionError("division by zero")
    if ctx.attempt <= payload.fail_times:
        raise TransientError(f"downstream busy (attempt {ctx.attempt})")
    if ctx.claim_effect(f"effect:{payload.key}"):
        note(f"effect {payload.key}")


class Slow(BaseModel):
    """Payload of ``test.slow``."""

    sleep_s: float


@job("test.slow", payload=Slow, timeout_s=0.5, max_attempts=2, backoff_base_s=0.05)
def slow(ctx: JobContext, payload: Slow) -> None:
    """Sleep past the timeout."""
    note(f"slow {ctx.attempt}")
    time.sleep(payload.sleep_s)


class Batch(BaseModel):
    """Payload of ``test.batch``: items to work through, failing once at ``fail_at``."""

    name: str
    items: int = Field(ge=1)
    fail_at: int = -1  # the first attempt fails transiently when it reaches this item


@job(
    "test.batch",
    payload=Batch,
    max_attempts=2,
    backoff_base_s=0.05,
    unique_key=lambda p: f"{p.name}:{p.items}",
    ordering_key=lambda p: p.name,
)
def batch(ctx: JobContext, payload: Batch) -> None:
    """Work through the items from the last checkpoint, publishing progress."""
    start = (ctx.load_checkpoint() or {}).get("done", 0)
    for item in range(start, payload.items):
        if item == payload.fail_at and ctx.attempt == 1:
            raise TransientError(f"item {item} failed")
        note(f"item {payload.name} {item}")
        ctx.save_checkpoint({"done": item + 1})
        ctx.set_progress((item + 1) / payload.items)


class Tick(BaseModel):
    """Payload of a scheduled job: the tick it runs for."""

    tick: float


@job("test.tick_a", payload=Tick)
def tick_a(ctx: JobContext, payload: Tick) -> None:
    """Note the tick of schedule a."""
    note(f"a {payload.tick!r}")


@job("test.tick_b", payload=Tick)
def tick_b(ctx: JobContext, payload: Tick) -> None:
    """Note the tick of schedule b."""
    note(f"b {payload.tick!r}")


catalogue = Catalogue([work, slow, batch, tick_a, tick_b])
app = App(
    backend=os.environ.get("RT_TEST_BACKEND", "huey"),
    settings=Settings(worker_concurrency=2),
    catalogue=catalogue,
    schedules=[
        Schedule(name="every-second-a", job=tick_a, every_s=1.0),
        Schedule(name="every-second-b", job=tick_b, every_s=1.0),
    ],
)


if __name__ == "__main__":
    from jobforge_runtime.cli import main

    raise SystemExit(main(app, prog="fixture_app"))
