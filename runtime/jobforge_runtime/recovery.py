"""Leases: running jobs keep their claim alive; lapsed claims are taken back.

A worker renews the leases of all jobs it runs from one background thread (every third of the
lease), so a job running many times the lease keeps its claim. A worker that dies stops renewing:
its claims lapse and the :class:`Reaper` retries those jobs (or dead-letters them when their
attempts are used up). The reaper also re-publishes due jobs whose message was lost.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from jobforge_runtime.logs import log_event
from jobforge_runtime.records import JobStatus

if TYPE_CHECKING:
    from jobforge_runtime.ledger import JobStore, RecoveryStore
    from jobforge_runtime.runtime import Runtime


_HOST = socket.gethostname()


_NAME = [f"{_HOST}:{os.getpid()}"]  # made once per process, again in a forked child
os.register_at_fork(after_in_child=lambda: _NAME.__setitem__(0, f"{_HOST}:{os.getpid()}"))


def worker_name() -> str:
    """Return this process's worker identity: ``host:pid``."""
    return _NAME[0]


class LeaseKeeper:
    """Renew the leases of the jobs this process runs, from one thread started on first use."""

    def __init__(self, ledger: JobStore, *, lease_s: float, clock: Callable[[], float]) -> None:
        """Keep leases of ``lease_s`` seconds in ``ledger``."""
        self._ledger = ledger
        self._lease_s = lease_s
        self._clock = clock
        self._held: dict[str, str] = {}  # job id -> worker
        self._lock = threading.Lock()
        self._pid = 0
        self._wake = threading.Event()

    def hold(self, job_id: str, worker: str) -> None:
        """Keep renewing ``job_id``'s lease until :meth:`release`."""
        with self._lock:
            self._held[job_id] = worker
            if self._pid != os.getpid():  # first use in this process (or after a fork)
                self._pid = os.getpid()
                threading.Thread(target=self._loop, name="lease-keeper", daemon=True).start()

    def release(self, job_id: str) -> None:
        """Stop renewing ``job_id``'s lease."""
        with self._lock:
            self._held.pop(job_id, None)

    def held(self) -> list[str]:
        """Return the job ids whose leases are being renewed."""
        with self._lock:
            return list(self._held)

    def _loop(self) -> None:
        while not self._wake.wait(self._lease_s / 3):
            with self._lock:
                by_worker: dict[str, list[str]] = {}
                for job_id, worker in self._held.items():
                    by_worker.setdefault(worker, []).append(job_id)
            for worker, ids in by_worker.items():
                try:
                    kept = self._ledger.renew(ids, worker, self._lease_s, now=self._clock())
                except Exception:  # a store hiccup: try again next round, the lease has slack
                    continue
                with self._lock:
                    for job_id in set(ids) - kept:  # lost: another worker took it back
                        self._held.pop(job_id, None)


def reap(runtime: Runtime, *, stale: bool = True) -> int:
    """Take back every job whose claim lapsed; with ``stale``, re-publish lost messages too."""
    from jobforge_runtime.execution import alert_dead

    now = runtime.clock()
    taken = runtime.ledger.reap(now=now, retry_at=now)
    for record in taken:
        log_event(
            runtime.logger,
            "recovered",
            "claim lapsed; worker presumed dead",
            job_id=record.job_id,
            job_type=record.job_type,
            attempt=record.attempts,
            status=record.status.value,
        )
        if record.status is JobStatus.RETRYING:
            runtime.dispatcher.dispatch(
                record.job_id,
                record.job_type,
                queue=record.queue,
                priority=record.priority,
                delay_s=0.0,
            )
        elif record.status is JobStatus.DEAD:
            alert_dead(runtime, record, record.error or "worker lost", "transient")
    lost = (
        runtime.ledger.stale(now=now, stale_s=runtime.settings.redispatch_after_s) if stale else []
    )
    for record in lost:
        log_event(runtime.logger, "redispatched", job_id=record.job_id, job_type=record.job_type)
        runtime.dispatcher.dispatch(
            record.job_id,
            record.job_type,
            queue=record.queue,
            priority=record.priority,
            delay_s=0.0,
        )
    return len(taken)


class Reaper:
    """Every ``interval_s``: mark this worker alive, and :func:`reap`; in a daemon thread."""

    def __init__(
        self, runtime: Runtime, *, worker: str | None = None, interval_s: float | None = None
    ) -> None:
        """Prepare a reaper; the default interval is a third of the lease (at most 5 s)."""
        self._runtime = runtime
        self._worker = worker
        self._interval = interval_s or max(0.05, min(5.0, runtime.settings.lease_s / 3))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reaper", daemon=True)
        self._next_stale = 0.0  # lost messages are looked for less often: a scan of waiting jobs

    def pass_once(self) -> None:
        """Beat, then reap, once."""
        store: RecoveryStore = self._runtime.ledger
        now = self._runtime.clock()
        if self._worker is not None:
            store.beat(self._worker, now=now)
        stale = now >= self._next_stale
        if stale:
            self._next_stale = now + self._runtime.settings.redispatch_after_s / 4
        reap(self._runtime, stale=stale)

    def _loop(self) -> None:
        while True:
            try:
                self.pass_once()
            except Exception:  # keep going through a broker or store hiccup
                self._runtime.logger.exception("reaper pass failed")
            if self._stop.wait(self._interval):
                return

    def start(self) -> Reaper:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread (if it was started)."""
        self._stop.set()
        if self._thread.ident is not None:
            self._thread.join(timeout=5)
