"""The link between the job system and its store, which can go down for a moment.

The reference's store is durable across a restart (like Redis with an append-only file): a
restart is an outage of the link, not a loss of data. While the link is down, workers claim
nothing and lease renewals are skipped (a lease outlives a short outage); submissions and
settlements wait for the link to come back, up to a bound.
"""

from __future__ import annotations

import threading
import time

from jobforge.errors import JobforgeError

#: Longest a submission or a settlement waits for the store to come back.
RECONNECT_TIMEOUT_S = 10.0


class StoreUnavailable(JobforgeError):
    """The job store stayed unreachable longer than the reconnect bound."""


class StoreLink:
    """Availability of the store: up, or down during a restart."""

    def __init__(self) -> None:
        self._up = threading.Event()
        self._up.set()
        self._restarts = 0
        self._lock = threading.Lock()

    @property
    def up(self) -> bool:
        """Whether the store is reachable now."""
        return self._up.is_set()

    @property
    def restarts(self) -> int:
        """How many restarts the store went through."""
        with self._lock:
            return self._restarts

    def wait_up(self, what: str, timeout_s: float = RECONNECT_TIMEOUT_S) -> None:
        """Return once the store is reachable; raise StoreUnavailable naming ``what`` after."""
        if not self._up.wait(timeout_s):
            raise StoreUnavailable(
                f"cannot {what}: the job store has been unreachable for {timeout_s:g} s; "
                "check that it came back after its restart"
            )

    def restart(self, outage_s: float) -> None:
        """Take the store down for ``outage_s`` seconds, then bring it back (blocks)."""
        if outage_s < 0:
            raise ValueError(f"outage_s is {outage_s!r}; pass 0 or more seconds")
        with self._lock:
            self._restarts += 1
        self._up.clear()
        try:
            time.sleep(outage_s)
        finally:
            self._up.set()
