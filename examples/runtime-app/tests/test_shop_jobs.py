"""The shop's jobs on the real backend, through a real worker process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from jobforge_runtime import JobStatus
from shop_jobs import tasks
from shop_jobs.app import APP
from shop_support import wait_done

pytestmark = pytest.mark.usefixtures("worker")


def lines(store: Path, name: str) -> list[str]:
    path = store / "outbox" / name
    return path.read_text().splitlines() if path.exists() else []


def test_a_receipt_is_sent_once_however_often_it_is_enqueued(store: Path) -> None:
    payload = tasks.ReceiptEmail(order_id=7, email="ada@example.com")
    first = APP.enqueue(tasks.send_receipt, payload)
    assert APP.enqueue(tasks.send_receipt, payload) == first
    record = wait_done(first)
    assert record.status is JobStatus.COMPLETED
    assert lines(store, "receipts.txt").count("7 ada@example.com") == 1


def test_a_busy_mail_server_is_retried_and_the_receipt_still_sent_once(store: Path) -> None:
    payload = tasks.ReceiptEmail(order_id=8, email="bo@busy.example")
    record = wait_done(APP.enqueue(tasks.send_receipt, payload))
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)
    assert lines(store, "receipts.txt").count("8 bo@busy.example") == 1


def test_an_order_from_an_unknown_source_is_dead_lettered_at_once(store: Path) -> None:
    job_id = APP.enqueue(tasks.import_order, tasks.OrderImport(order_id=9, source="fax"))
    record = wait_done(job_id)
    assert (record.status, record.attempts) == (JobStatus.DEAD, 1)
    assert "source='fax'" in (record.error or "")
    letter = APP.runtime.ledger.dead_letter(job_id)
    assert letter is not None and letter.error_kind == "permanent"
    assert "9 fax" not in lines(store, "orders.txt")


def test_an_order_is_imported(store: Path) -> None:
    payload = tasks.OrderImport(order_id=10, source="web")
    record = wait_done(APP.enqueue(tasks.import_order, payload))
    assert record.status is JobStatus.COMPLETED
    assert "10 web" in lines(store, "orders.txt")


def test_the_nightly_report_is_built_with_its_progress(store: Path) -> None:
    job_id = APP.enqueue(tasks.nightly_report, tasks.ReportRun(tick=1.0, rows=5))
    record = wait_done(job_id)
    assert (record.status, record.progress) == (JobStatus.COMPLETED, 1.0)
    assert "1.0 5" in lines(store, "reports.txt")


def test_a_report_past_its_timeout_is_cut_off_and_dead_after_its_attempts(store: Path) -> None:
    slow = tasks.ReportRun(tick=2.0, rows=80, row_s=0.1)  # 8 s of work, timeout 2 s per attempt
    record = wait_done(APP.enqueue(tasks.nightly_report, slow))
    assert (record.status, record.attempts) == (JobStatus.DEAD, 2)
    assert "timeout" in (record.error or "")
    assert "2.0 80" not in lines(store, "reports.txt")


def test_the_cli_lists_every_job_type() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "shop_jobs", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert all(name in listed for name in APP.catalogue.names())
