"""The README's example application runs: job types listed, a job enqueued and run by a worker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from runtime_support import HERE, Processes

pytestmark = pytest.mark.integration
EXAMPLES = HERE.parent / "examples"


def test_the_example_app_lists_its_jobs_and_runs_one_in_a_worker(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(EXAMPLES), env.get("PYTHONPATH", "")])
    env["JOBS_BROKER_URL"] = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"

    def jobs(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "myapp.jobs", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    listed = jobs("list")
    assert listed.returncode == 0, listed.stderr
    names = {item["job_type"] for item in json.loads(listed.stdout)}
    assert names == {"emails.send_welcome", "uploads.purge_old"}
    submitted = jobs("submit", "emails.send_welcome", '{"user_id": 7, "email": "a@example.com"}')
    assert submitted.returncode == 0, submitted.stderr
    job_id = json.loads(submitted.stdout)["job_id"]
    group = Processes(tmp_path, {**env, "PYTHONPATH": env["PYTHONPATH"]})
    worker = subprocess.Popen(
        [sys.executable, "-m", "myapp.jobs", "worker", "--concurrency", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    group.procs.append(worker)
    try:
        deadline = time.monotonic() + 60
        while json.loads(jobs("status", job_id).stdout)["status"] != "COMPLETED":
            assert time.monotonic() < deadline, jobs("status", job_id).stdout
            time.sleep(0.2)
    finally:
        group.stop_all()
