"""Fixtures of the runtime's tests: a runtime on a real SQLite ledger, worker processes."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import fixture_app
import pytest
from runtime_support import HERE, Clock, Processes, RecordingDispatcher

from jobforge_runtime.alerts import Alerter, LedgerSink
from jobforge_runtime.ledger.sqlite import SqliteLedger
from jobforge_runtime.runtime import Runtime
from jobforge_runtime.settings import Settings


@pytest.fixture
def clock() -> Clock:
    """Return a clock the test moves by hand."""
    return Clock()


@pytest.fixture
def make_runtime(
    tmp_path: Path, clock: Clock
) -> Callable[..., tuple[Runtime, RecordingDispatcher]]:
    """Build a runtime on a real SQLite ledger in ``tmp_path`` and a recording dispatcher."""

    def build(**settings: object) -> tuple[Runtime, RecordingDispatcher]:
        values = {"broker_url": f"sqlite:///{tmp_path / 'jobs.db'}", **settings}
        chosen = Settings.parse(values)
        ledger = SqliteLedger(chosen.sqlite_path(), prefix=chosen.key_prefix)
        dispatcher = RecordingDispatcher()
        runtime = Runtime(
            settings=chosen,
            ledger=ledger,
            catalogue=fixture_app.catalogue,
            dispatcher=dispatcher,
            alerter=Alerter([LedgerSink(ledger)]),
            clock=clock,
        )
        return runtime, dispatcher

    return build


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Start real worker processes on a SQLite file in ``tmp_path``; stop them afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "JOBS_BROKER_URL": f"sqlite:///{tmp_path / 'jobs.db'}",
            "JOBS_LEASE_S": "0.6",
            "JOBS_WORKER_ALIVE_S": "1.5",
            "JOBS_POLL_MAX_DELAY_S": "0.05",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    group = Processes(tmp_path, env)
    yield group
    group.stop_all()
