"""The history ledger records attempts from many processes and threads and reads them back."""

from __future__ import annotations

import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from jobforge.conformance.history import (
    OUTCOME_OK,
    OUTCOME_TRANSIENT,
    History,
    Ledger,
    LedgerError,
)

pytestmark = pytest.mark.unit


def _write_attempts(path: str, worker: str, count: int) -> None:
    ledger = Ledger(path, run_id="r1")
    for i in range(count):
        row = ledger.attempt_started(
            scope="s",
            probe_id=f"{worker}-{i}",
            job_id=f"j-{worker}-{i}",
            job_type="probe.default",
            attempt=1,
            worker=worker,
        )
        ledger.record_effect(
            scope="s", probe_id=f"{worker}-{i}", job_id=f"j-{worker}-{i}", attempt=1, key="e"
        )
        ledger.attempt_ended(row, outcome=OUTCOME_OK)


def test_ledger_is_in_wal_mode_and_round_trips_every_table(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db", run_id="r1")
    ledger.initialize()
    row = ledger.attempt_started(
        scope="s", probe_id="p1", job_id="j1", job_type="probe.default", attempt=1, worker="w1"
    )
    ledger.attempt_ended(row, outcome=OUTCOME_TRANSIENT, error="boom")
    ledger.attempt_started(
        scope="s", probe_id="p1", job_id="j1", job_type="probe.default", attempt=2, worker="w1"
    )
    ledger.record_effect(scope="s", probe_id="p1", job_id="j1", attempt=1, key="k")
    ledger.record_checkpoint(
        scope="s", probe_id="p1", job_id="j1", attempt=1, action="save", step=2
    )
    ledger.record_progress(scope="s", probe_id="p1", job_id="j1", attempt=1, fraction=0.5)
    ledger.record_submission(
        scope="s",
        probe_id="p1",
        job_id="j1",
        job_type="probe.default",
        idempotency_key="k1",
        delay_s=0.5,
        priority=3,
    )
    ledger.record_event(scope="s", kind="fault.kill_worker", subject="w1", detail={"n": 1})
    ledger.record_event(scope="other", kind="phase.drain")

    mode = ledger._connection().execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    hist = ledger.read("s")
    assert isinstance(hist, History)
    first, second = hist.attempts_of("p1")
    assert (first.outcome, first.error, first.crashed) == ("transient", "boom", False)
    assert second.crashed and second.outcome is None and second.duration_s is None
    assert first.pid == os.getpid()
    assert hist.effects[0].key == "k"
    assert hist.checkpoints[0].step == 2 and hist.checkpoints[0].action == "save"
    assert hist.progress[0].fraction == 0.5
    sub = hist.submissions[0]
    assert (sub.idempotency_key, sub.delay_s, sub.priority) == ("k1", 0.5, 3)
    assert hist.events == (hist.events[0],) and hist.events[0].detail == {"n": 1}
    assert len(ledger.read().events) == 2
    assert hist.probe_ids() == ("p1",)


def test_ledger_keeps_runs_apart(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path, run_id="a").initialize()
    Ledger(path, run_id="a").record_event(scope="s", kind="x")
    assert Ledger(path, run_id="b").read().events == ()
    assert len(Ledger(path, run_id="a").read().events) == 1


def test_ledger_takes_concurrent_writes_from_processes_and_threads(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Ledger(path, run_id="r1").initialize()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_write_attempts, args=(str(path), f"p{i}", 40)) for i in range(3)]
    threads = [
        threading.Thread(target=_write_attempts, args=(str(path), f"t{i}", 40)) for i in range(3)
    ]
    for p in procs:
        p.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    hist = Ledger(path, run_id="r1").read()
    assert len(hist.attempts) == 240
    assert len(hist.effects) == 240
    assert all(a.outcome == OUTCOME_OK for a in hist.attempts)
    assert len({a.pid for a in hist.attempts}) == 4  # three children and this process


def test_ledger_reconnects_after_fork(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.db", run_id="r1")
    ledger.initialize()
    ledger.record_event(scope="s", kind="before")
    ctx = multiprocessing.get_context("fork")
    proc = ctx.Process(target=ledger.record_event, kwargs={"scope": "s", "kind": "child"})
    proc.start()
    proc.join(timeout=30)
    assert proc.exitcode == 0
    assert [e.kind for e in ledger.read().events] == ["before", "child"]


def test_unwritable_ledger_raises_ledger_error_naming_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    ledger = Ledger(blocker / "ledger.db")
    with pytest.raises(LedgerError, match="ledger"):
        ledger.initialize()


def test_ledger_from_env_requires_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JOBFORGE_LEDGER", raising=False)
    with pytest.raises(LedgerError, match="JOBFORGE_LEDGER"):
        Ledger.from_env()


def test_ledger_from_env_reads_path_and_run_id(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBFORGE_LEDGER", str(tmp_path / "l.db"))
    monkeypatch.setenv("JOBFORGE_RUN_ID", "run-7")
    ledger = Ledger.from_env()
    assert ledger.path == tmp_path / "l.db" and ledger.run_id == "run-7"


def test_attempt_end_rejects_unknown_outcome(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.db")
    ledger.initialize()
    with pytest.raises(ValueError, match="outcome"):
        ledger.attempt_ended(1, outcome="fine")
