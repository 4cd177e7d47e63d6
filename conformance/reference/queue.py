"""The job store: every job record, and the queue workers claim from.

Waiting jobs are claimed highest priority first, then in submission order, once their
``ready_at`` has come (delays and retry backoff) and the admission limits allow their type.
A claimed job carries a lease that its worker renews while the attempt runs; a job whose lease
expires (its worker died) is handed back by :meth:`JobStore.expired_leases` for redelivery.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from ..adapter import JobStatus
from .limits import Limits
from .records import TERMINAL, WAITING, Claim, JobRecord

#: Longest a worker sleeps between looks at the queue, whatever else it waits for.
MAX_IDLE_WAIT_S = 0.05


class UnknownJobError(KeyError):
    """No job has this id."""


class JobStore:
    """Thread-safe job records plus the claimable queue."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self._limits = limits
        self._clock = clock
        self._cond = threading.Condition()
        self._jobs: dict[str, JobRecord] = {}
        self._waiting: set[str] = set()

    # -- records -------------------------------------------------------------------------------

    def add(self, job: JobRecord) -> None:
        """Store a new job; a waiting one becomes claimable at its ``ready_at``."""
        with self._cond:
            self._jobs[job.job_id] = job
            if job.status in WAITING:
                self._waiting.add(job.job_id)
            self._cond.notify_all()

    def get(self, job_id: str) -> JobRecord:
        """Return the current record of ``job_id``; raise UnknownJobError when unknown."""
        with self._cond:
            try:
                return self._jobs[job_id]
            except KeyError:
                raise UnknownJobError(
                    f"job {job_id!r} is unknown to the reference job system "
                    "(never submitted, or dropped by reset())"
                ) from None

    def all(self) -> list[JobRecord]:
        """Every record, in submission order."""
        with self._cond:
            return sorted(self._jobs.values(), key=lambda job: job.seq)

    def update(
        self,
        job_id: str,
        when: Callable[[JobRecord], bool] | None = None,
        **changes: object,
    ) -> JobRecord | None:
        """Replace fields of ``job_id`` if ``when(record)`` holds; return the new record or None.

        ``when`` is evaluated under the store's lock, so a check-and-set is atomic (for example
        "still RUNNING, still held by this worker, still this attempt").
        """
        with self._cond:
            job = self._jobs.get(job_id)
            if job is None or (when is not None and not when(job)):
                return None
            new = dataclasses.replace(job, **changes)  # type: ignore[arg-type]
            self._jobs[job_id] = new
            if new.status in WAITING:
                self._waiting.add(job_id)
                self._cond.notify_all()
            else:
                self._waiting.discard(job_id)
            return new

    def depth(self) -> int:
        """Jobs waiting for a worker (ready or not yet)."""
        with self._cond:
            return len(self._waiting)

    def unfinished(self) -> int:
        """Jobs not yet COMPLETED or DEAD."""
        with self._cond:
            return sum(1 for job in self._jobs.values() if job.status not in TERMINAL)

    def clear(self) -> None:
        """Forget every job."""
        with self._cond:
            self._jobs.clear()
            self._waiting.clear()
            self._cond.notify_all()

    # -- claiming ------------------------------------------------------------------------------

    def claim(self, worker_id: str, lease_s: float) -> Claim | None:
        """Lease the best claimable job to ``worker_id``, or return None when none is."""
        now = self._clock()
        with self._cond:
            ready = [self._jobs[i] for i in self._waiting if self._jobs[i].ready_at <= now]
            ready.sort(key=lambda job: (-job.priority, job.seq))
            for job in ready:
                if self._limits.global_full():
                    return None
                if not self._limits.try_admit(job.spec):
                    continue
                attempt = job.attempts + 1
                claimed = dataclasses.replace(
                    job,
                    status=JobStatus.RUNNING,
                    attempts=attempt,
                    worker_id=worker_id,
                    lease_until=now + lease_s,
                    progress=None,
                )
                self._jobs[job.job_id] = claimed
                self._waiting.discard(job.job_id)
                return Claim(job=claimed, attempt=attempt)
            return None

    @staticmethod
    def held_by(worker_id: str, attempt: int) -> Callable[[JobRecord], bool]:
        """Return a ``when`` guard: the job is RUNNING under this worker's lease and attempt."""

        def check(job: JobRecord) -> bool:
            return (
                job.status is JobStatus.RUNNING
                and job.worker_id == worker_id
                and job.attempts == attempt
            )

        return check

    def renew(self, job_id: str, worker_id: str, attempt: int, lease_s: float) -> bool:
        """Extend a running job's lease; False when the lease is no longer this worker's."""
        until = self._clock() + lease_s
        guard = self.held_by(worker_id, attempt)
        return self.update(job_id, guard, lease_until=until) is not None

    def expired_leases(self) -> list[JobRecord]:
        """Return the running jobs whose lease ran out (their worker stopped renewing it)."""
        now = self._clock()
        with self._cond:
            return [
                job
                for job in self._jobs.values()
                if job.status is JobStatus.RUNNING
                and job.lease_until is not None
                and job.lease_until < now
            ]

    def wait_for_work(self, limit_s: float = MAX_IDLE_WAIT_S) -> None:
        """Sleep until new work may be claimable: a notify, the next ready_at, or ``limit_s``."""
        now = self._clock()
        with self._cond:
            # A job already ready but refused by the limits wakes us via notify() on release.
            soonest = min(
                (self._jobs[i].ready_at for i in self._waiting if self._jobs[i].ready_at > now),
                default=now + limit_s,
            )
            timeout = min(limit_s, max(0.0, soonest - now))
            if timeout > 0:
                self._cond.wait(timeout)

    def notify(self) -> None:
        """Wake sleeping workers (a running attempt ended and freed a slot)."""
        with self._cond:
            self._cond.notify_all()
