"""Workers: threads that claim jobs and run them, ``concurrency`` slots per worker.

A graceful stop lets each slot finish its current attempt and then exit. A kill is the
in-process SIGKILL: the worker stops at once, its in-flight attempts are abandoned without an ack
and without running any more job code, and their leases are left to expire so the job system
redelivers them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from .records import Claim

#: Pause after an error outside a job body, so a persistent fault does not spin.
ERROR_PAUSE_S = 0.1
#: Bounded wait when joining a slot thread.
JOIN_TIMEOUT_S = 5.0


class WorkSource(Protocol):
    """What a worker needs from the job system."""

    def claim(self, worker_id: str) -> Claim | None:
        """Lease the next claimable job, or None."""

    def execute(self, claim: Claim, worker_id: str, killed: Callable[[], bool]) -> None:
        """Run one claimed attempt and settle it unless ``killed()`` turns true."""

    def idle(self) -> None:
        """Sleep briefly until work may be claimable."""

    def report_error(self, worker_id: str, error: BaseException) -> None:
        """Record an error the worker hit outside any job body."""


class Worker:
    """One worker: ``concurrency`` slot threads sharing a stop and a kill switch."""

    def __init__(self, worker_id: str, source: WorkSource, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError(f"worker concurrency is {concurrency!r}; it must be at least 1")
        self.worker_id = worker_id
        self._source = source
        self._stopping = threading.Event()
        self._killed = threading.Event()
        self._threads = [
            threading.Thread(target=self._slot, name=f"{worker_id}-slot-{index}", daemon=True)
            for index in range(concurrency)
        ]

    def start(self) -> None:
        """Start every slot thread."""
        for thread in self._threads:
            thread.start()

    def _slot(self) -> None:
        while not self._stopping.is_set() and not self._killed.is_set():
            try:
                claim = self._source.claim(self.worker_id)
                if claim is None:
                    self._source.idle()
                    continue
                if self._killed.is_set():
                    return  # claimed just as the kill landed: the lease will expire
                self._source.execute(claim, self.worker_id, self._killed.is_set)
            except Exception as error:  # a slot survives its own errors, reports them, goes on
                self._source.report_error(self.worker_id, error)
                self._stopping.wait(ERROR_PAUSE_S)

    def stop(self) -> None:
        """Graceful stop (SIGTERM): take no new job; finish the current ones, then exit."""
        self._stopping.set()

    def kill(self) -> None:
        """SIGKILL: stop at once, abandoning in-flight jobs without acking them."""
        self._killed.set()

    @property
    def alive(self) -> bool:
        """Whether any slot thread is still running and the worker was not killed."""
        return not self._killed.is_set() and any(t.is_alive() for t in self._threads)

    @property
    def killed(self) -> bool:
        """Whether the worker was killed."""
        return self._killed.is_set()

    def join(self, timeout_s: float = JOIN_TIMEOUT_S) -> bool:
        """Wait up to ``timeout_s`` in total for every slot to exit; True when all did."""
        deadline = time.monotonic() + timeout_s
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self._threads)
