"""The run's private broker or store (``JOBFORGE_PRIVATE_BROKER=1``): one seam, one per backend.

A runtime app's own broker is never restarted by the kit. With the variable set, the adapter runs
the app on a server of the run's own instead and declares ``broker_restart``: a ``redis-server``
for Celery and RQ (:mod:`.private_redis`), a PostgreSQL cluster for procrastinate
(:mod:`.private_postgres`). Huey on SQLite has no server to restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from jobforge.errors import UsageError

from .private_postgres import PrivatePostgres
from .private_redis import PRIVATE_BROKER_ENV, PrivateRedis

#: The backends with a server the run can own, and the kind of server.
SERVER_OF = {"celery": "redis-server", "rq": "redis-server", "procrastinate": "PostgreSQL"}


class PrivateBroker(Protocol):
    """A server of the run's own that the kit may crash and start again with its data."""

    @property
    def url(self) -> str:
        """The URL the run's app uses as its broker (and ledger)."""
        ...

    def start(self) -> None:
        """Start the server (again, with its data); return once it answers."""
        ...

    def crash(self) -> None:
        """Kill the server without a clean shutdown and leave it down."""
        ...

    def restart(self) -> None:
        """Crash the server, then start it again with its data."""
        ...

    def close(self) -> None:
        """Stop the server for good at the end of the run."""
        ...


def check_backend(backend: str, app_ref: str) -> None:
    """Refuse a private broker for a backend without a server, naming the fix."""
    if backend not in SERVER_OF:
        raise UsageError(
            f"{PRIVATE_BROKER_ENV}=1: the app {app_ref!r} runs on {backend!r}, which has no "
            f"broker to restart; unset {PRIVATE_BROKER_ENV} (private brokers exist for "
            f"{', '.join(sorted(SERVER_OF))})"
        )


def private_broker(backend: str, workdir: Path) -> PrivateBroker:
    """Return the private server for ``backend``, not yet started."""
    if SERVER_OF.get(backend) == "PostgreSQL":
        return PrivatePostgres()
    return PrivateRedis(workdir / "redis")
