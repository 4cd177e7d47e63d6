"""The kit's record of its own probe jobs in a framework, kept in the app's Redis.

Frameworks keep little of a job's story (a Celery result has no attempt count; RQ and Huey drop
a task they lost). A bundled adapter therefore writes, from the framework's own signals in the
worker, what the framework did to each of the kit's jobs: accepted, started (attempt n), retried,
completed, failed for good. ``inspect`` reads it back. Everything lives under the kit's key
prefix, so nothing of the user's is touched, and ``clear`` removes it all.

A *generation* counter lets ``reset`` disown jobs still held by a framework (a retry waiting in a
worker's memory): a job submitted in an earlier generation is skipped when it finally runs.
"""

from __future__ import annotations

import time
from typing import cast

import redis

from ..adapter import JobInfo, JobStatus

_FIELDS = ("job_type", "status", "attempts", "progress", "error", "generation")
_SCAN_BATCH = 500

# KEYS[1] the job; ARGV: status, error, has-error flag, attempt ('' = any). One atomic write.
_ENDED = """
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[4] then return 0 end
if ARGV[3] == '1' then redis.call('HSET', KEYS[1], 'error', ARGV[2])
elseif ARGV[1] == 'COMPLETED' then redis.call('HDEL', KEYS[1], 'error') end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
return 1
"""


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode()


class JobBook:
    """Per-job records of the kit's probe jobs under ``prefix`` in ``client``'s Redis."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        """Keep records in ``client`` under keys starting with ``prefix``."""
        self.client = client
        self.prefix = prefix

    def _key(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def generation(self) -> int:
        """Return the current generation (bumped by every reset)."""
        raw = cast(bytes | None, self.client.get(f"{self.prefix}:generation"))
        return int(raw) if raw else 0

    def submitted(self, job_id: str, job_type: str) -> None:
        """Record a job the adapter just enqueued: PENDING, in the current generation."""
        self.client.hset(
            self._key(job_id),
            mapping={
                "job_type": job_type,
                "status": JobStatus.PENDING.value,
                "attempts": "0",
                "generation": str(self.generation()),
                "submitted_at": repr(time.time()),
            },
        )

    def current(self, job_id: str) -> bool:
        """Whether ``job_id`` belongs to the current generation (unknown jobs do not)."""
        (raw,) = cast(list[bytes | None], self.client.hmget(self._key(job_id), ["generation"]))
        return raw is not None and int(raw) == self.generation()

    def started(self, job_id: str, worker: str | None = None) -> int:
        """Record the start of an attempt on ``worker``; return its number (1 for the first)."""
        attempt = self.client.hincrby(self._key(job_id), "attempts", 1)
        if worker:
            self.client.hset(self._key(job_id), "worker", worker)
        self.client.hdel(self._key(job_id), "error")  # the last attempt's, if any
        self.client.hset(self._key(job_id), "status", JobStatus.RUNNING.value)
        return attempt

    def worker_of(self, job_id: str) -> str | None:
        """Return the worker that started the last attempt (its JOBFORGE_WORKER_ID), if known."""
        (raw,) = cast(list[bytes | None], self.client.hmget(self._key(job_id), ["worker"]))
        return _text(raw)

    def progress(self, job_id: str, fraction: float) -> None:
        """Record the progress a running job published."""
        self.client.hset(self._key(job_id), "progress", repr(fraction))

    def ended(
        self,
        job_id: str,
        status: JobStatus,
        error: str | None = None,
        *,
        attempt: int | None = None,
    ) -> bool:
        """Record what the framework did when an attempt ended (completed, retrying, dead).

        With ``attempt``, the write applies only while that attempt is the job's latest: a
        framework may run the next attempt (a retry due at once, on another process) before
        the one that scheduled it reports, and a late "retrying" must not hide its outcome.
        Returns whether the status was written.
        """
        written = self.client.eval(
            _ENDED,
            1,
            self._key(job_id),
            status.value,
            "" if error is None else error[:500],
            "1" if error is not None else "0",
            "" if attempt is None else str(attempt),
        )
        return bool(written)

    def info(self, job_id: str) -> JobInfo | None:
        """Return the record of ``job_id`` as a JobInfo, or None when the kit never saw it."""
        values = cast(list[bytes | None], self.client.hmget(self._key(job_id), list(_FIELDS)))
        raw = dict(zip(_FIELDS, values, strict=True))
        status = _text(raw["status"])
        if status is None:
            return None
        progress = _text(raw["progress"])
        return JobInfo(
            job_id=job_id,
            job_type=_text(raw["job_type"]) or "unknown",
            status=JobStatus(status),
            attempts=int(_text(raw["attempts"]) or 0),
            progress=float(progress) if progress is not None else None,
            error=_text(raw["error"]),
        )

    def reset(self) -> None:
        """Forget every job and start a new generation (older jobs are skipped if they run)."""
        self.client.incr(f"{self.prefix}:generation")
        self.clear(keep_generation=True)

    def clear(self, *, keep_generation: bool = False) -> None:
        """Delete every key under the prefix (the generation too, unless ``keep_generation``)."""
        keys = [
            key.decode() if isinstance(key, bytes) else str(key)
            for key in self.client.scan_iter(match=f"{self.prefix}:job:*", count=_SCAN_BATCH)
        ]
        if not keep_generation:
            keys.append(f"{self.prefix}:generation")
        for start in range(0, len(keys), _SCAN_BATCH):
            self.client.delete(*keys[start : start + _SCAN_BATCH])
