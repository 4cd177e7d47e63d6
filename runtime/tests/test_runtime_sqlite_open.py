"""Processes opening a new SQLite ledger file at the same moment all get it (none dies locked)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

OPEN = (
    "import sys\n"
    "from jobforge_runtime.ledger.sqlite import SqliteLedger\n"
    "SqliteLedger(sys.argv[1]).ping()\n"
)


@pytest.mark.parametrize("round_", range(3))
def test_six_processes_create_one_new_file_together(tmp_path: Path, round_: int) -> None:
    path = tmp_path / f"new-{round_}.sqlite3"
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN, str(path)], stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, errors
