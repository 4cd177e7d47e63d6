"""The shop's jobs: typed payloads, declared by decorator.

Side effects go to files in the outbox folder (``SHOP_OUTBOX``, default ``var/outbox``), each
guarded by ``ctx.claim_effect`` so a retried or replayed job never repeats one.
"""

import os
import time
from pathlib import Path

from jobforge_runtime import JobContext, PermanentError, TransientError, job
from pydantic import BaseModel, Field

#: Sources orders can be imported from.
SOURCES = frozenset({"web", "pos", "marketplace"})


def outbox() -> Path:
    """Return the folder the jobs write their effects to."""
    folder = Path(os.environ.get("SHOP_OUTBOX", "var/outbox"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_line(name: str, line: str) -> None:
    """Append one line to an outbox file (one write, safe across worker processes)."""
    fd = os.open(outbox() / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


class ReceiptEmail(BaseModel):
    """Payload of ``receipts.send``."""

    order_id: int = Field(ge=1)
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+$")


@job(
    "receipts.send",
    payload=ReceiptEmail,
    priority=5,
    timeout_s=30,
    idempotency_key=lambda p: str(p.order_id),
)
def send_receipt(ctx: JobContext, payload: ReceiptEmail) -> None:
    """Send the receipt of an order, once; a busy mail server is retried."""
    if payload.email.endswith("@busy.example") and ctx.attempt == 1:
        raise TransientError(f"mail server of {payload.email} is busy; try again")
    if ctx.claim_effect(f"receipt:{payload.order_id}"):
        write_line("receipts.txt", f"{payload.order_id} {payload.email}")


class OrderImport(BaseModel):
    """Payload of ``orders.import``."""

    order_id: int = Field(ge=1)
    source: str


@job("orders.import", payload=OrderImport, concurrency=4)
def import_order(ctx: JobContext, payload: OrderImport) -> None:
    """Import one order from a sales channel; an unknown channel is dead-lettered at once."""
    if payload.source not in SOURCES:
        raise PermanentError(f"source={payload.source!r} is not one of {sorted(SOURCES)}")
    if ctx.claim_effect(f"import:{payload.order_id}"):
        write_line("orders.txt", f"{payload.order_id} {payload.source}")


class ReportRun(BaseModel):
    """Payload of ``reports.nightly``: the schedule tick it runs for, and its size."""

    tick: float
    rows: int = Field(100, ge=1)
    row_s: float = Field(0.0, ge=0)  # time to build one row


@job("reports.nightly", payload=ReportRun, timeout_s=2.0, max_attempts=2)
def nightly_report(ctx: JobContext, payload: ReportRun) -> None:
    """Build the nightly report row by row, resuming from the last checkpoint."""
    done = int((ctx.load_checkpoint() or {}).get("rows", 0))
    for row in range(done, payload.rows):
        time.sleep(payload.row_s)
        ctx.save_checkpoint({"rows": row + 1})
        ctx.set_progress((row + 1) / payload.rows)
    if ctx.claim_effect(f"report:{payload.tick!r}"):
        write_line("reports.txt", f"{payload.tick!r} {payload.rows}")
