"""The kit's probe job as an RQ job function, run in RQ's work-horse.

RQ passes the job no attempt number, so the body counts its own runs in ``job.meta`` (RQ's
documented place for a job's own data, saved with ``save_meta``) and publishes progress there.
RQ has no idempotency guard and no checkpoints: ``claim_effect`` always allows the effect and
``load_checkpoint`` finds nothing (the kit does not ask for either, as they are not declared).
"""

from __future__ import annotations

from dataclasses import dataclass

from rq import get_current_job
from rq.job import Job

from .. import probes
from ..adapter import JSONObject

#: ``job.meta`` keys of the kit.
ATTEMPTS_META = "jobforge_attempts"
PROGRESS_META = "progress"


@dataclass
class RqProbeContext:
    """What the probe sees of its RQ job."""

    job: Job
    attempt: int

    @property
    def job_id(self) -> str:
        """RQ's job id."""
        return str(self.job.id)

    def claim_effect(self, key: str) -> bool:
        """RQ has no idempotency guard: every attempt may apply the effect."""
        return True

    def set_progress(self, fraction: float) -> None:
        """Publish progress in ``job.meta['progress']``, as RQ's docs show."""
        self.job.meta[PROGRESS_META] = fraction
        self.job.save_meta()  # type: ignore[no-untyped-call]

    def save_checkpoint(self, state: JSONObject) -> None:
        """RQ keeps no checkpoints; nothing is saved."""

    def load_checkpoint(self) -> JSONObject | None:
        """RQ keeps no checkpoints."""
        return None


def probe_job(payload: JSONObject) -> JSONObject:
    """Body of every probe job type on RQ."""
    job = get_current_job()
    if job is None:
        raise RuntimeError("probe_job runs only inside an RQ worker (no current job)")
    attempt = int(job.meta.get(ATTEMPTS_META, 0)) + 1
    job.meta[ATTEMPTS_META] = attempt
    job.save_meta()  # type: ignore[no-untyped-call]
    return probes.run_probe(payload, RqProbeContext(job=job, attempt=attempt))
