"""Waiting for a job of the shop's App to finish."""

from __future__ import annotations

import time

import pytest
from jobforge_runtime import JobRecord, JobStatus

TERMINAL = {JobStatus.COMPLETED, JobStatus.DEAD, JobStatus.FAILED}


def wait_done(job_id: str, timeout_s: float = 30.0) -> JobRecord:
    """Return the job's record once it is finished (or fail the test after ``timeout_s``)."""
    from shop_jobs.app import APP

    deadline = time.monotonic() + timeout_s
    while True:
        record = APP.runtime.status(job_id)
        if record is not None and record.status in TERMINAL:
            return record
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} is not finished after {timeout_s} s: {record}")
        time.sleep(0.05)
