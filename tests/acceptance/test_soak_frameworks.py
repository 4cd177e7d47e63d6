"""`jobforge soak` on a bare framework: Huey's documented loss on SIGKILL shows, with the job ids.

The Huey calibration app (examples/calibration/huey, a RedisHuey as Huey's guide writes it) runs
under the bundled adapter. Huey's consumer takes a task off the Redis list before running it and
keeps no copy, so a SIGKILLed consumer loses the task it was running; the short soak (200 jobs over
6 s, 2 faults of each kind) always SIGKILLs busy consumers, so the loss shows every time. Huey has
no idempotency keys, so a flaky probe's retry applies its effect again: those duplicates are one
task's attempts, never two tasks.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from services_support import require_service

from jobforge.cli import main

pytestmark = pytest.mark.acceptance

HUEY_APP = Path(__file__).resolve().parents[2] / "examples" / "calibration" / "huey"
SHORT = ["--jobs", "200", "--duration", "6", "--faults-per-kind", "2", "--seed", "11", "--quiet"]


def test_huey_loses_the_jobs_of_killed_consumers_and_the_soak_names_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_service("redis")
    monkeypatch.chdir(HUEY_APP)
    out = tmp_path / "soak.json"
    args = ["soak", "--framework", "huey", "--app", "calib_huey.app:huey", *SHORT]
    code = main([*args, "--drain", "20", "--json", str(out)])
    report = json.loads(out.read_text("utf-8"))
    assert code == 1
    kinds = report["faults"]["by_kind"]
    assert kinds["kill"]["verified"] == 2, report["faults"]["events"]
    lost = {job["job_id"]: job for job in report["jobs"]["lost_jobs"]}
    assert lost and report["verdict"]["lost"] == len(lost)
    signalled = {
        event["target"]
        for event in report["faults"]["events"]
        if event["kind"] in ("kill", "kill_in_backoff", "sigterm")
    }
    # a task lost while running names the consumer the soak killed (one taken off the queue
    # but killed before it started has no attempt to name)
    on_killed = [j for j in lost.values() if any(f" on {w})" in j["reason"] for w in signalled)]
    assert on_killed, lost
    # with no idempotency guard, a retried task applies its effect again; never two tasks at once
    assert all(len(set(d["job_ids"])) == 1 for d in report["effects"]["duplicated"])
    assert report["verdict"]["unexpected"] == 0
    printed = capsys.readouterr().out
    assert any(f"LOST {job_id} " in printed for job_id in lost)
