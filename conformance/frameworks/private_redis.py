"""A redis-server of the run's own, which the kit may crash and restart (``broker_restart``).

Off by default: a run uses the Redis of the app's settings, which the kit never restarts. With
``JOBFORGE_PRIVATE_BROKER=1`` (and ``redis-server`` on the PATH) the jobforge-runtime adapter
starts one on a free loopback port for a Redis-backed app, declares ``broker_restart``, and the
kit SIGKILLs it in the middle of its crash-recovery check and stops it to see health notice. It
syncs every write to an append-only file, as a production broker that must not lose jobs would,
so a crash loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from jobforge.errors import ConformanceError

#: Environment variable switching the private broker on.
PRIVATE_BROKER_ENV = "JOBFORGE_PRIVATE_BROKER"


def wanted() -> bool:
    """Return whether ``JOBFORGE_PRIVATE_BROKER`` asks for a private broker."""
    return os.environ.get(PRIVATE_BROKER_ENV, "").strip().lower() in {"1", "true", "yes"}


def free_port() -> int:
    """Return a loopback TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(port: int, timeout_s: float, *, what: str) -> None:
    """Wait until something accepts connections on loopback ``port``, or raise naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise ConformanceError(
                f"{what} does not accept connections after {timeout_s:g} s; see its log"
            )
        time.sleep(0.02)


class PrivateRedis:
    """One redis-server process on a free port, keeping its data in ``directory``."""

    def __init__(self, directory: Path) -> None:
        """Prepare a server; nothing runs until :meth:`start`."""
        self.directory = directory
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the server (again, with its data) and wait until it answers PING."""
        import redis

        binary = shutil.which("redis-server")
        if binary is None:
            raise ConformanceError(
                f"{PRIVATE_BROKER_ENV}=1 needs redis-server on the PATH; install it (Debian: "
                f"apt-get install redis-server) or unset {PRIVATE_BROKER_ENV}"
            )
        self.directory.mkdir(parents=True, exist_ok=True)
        self._process = subprocess.Popen(
            [
                binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "yes", "--appendfsync", "always"),
                *("--dir", str(self.directory), "--logfile", str(self.directory / "redis.log")),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                with contextlib.suppress(redis.ConnectionError):
                    if client.ping():
                        return
                if self._process.poll() is not None or time.monotonic() > deadline:
                    raise ConformanceError(
                        f"the private redis-server on port {self.port} did not start; see "
                        f"{self.directory / 'redis.log'}"
                    )
                time.sleep(0.02)
        finally:
            client.close()

    def crash(self) -> None:
        """SIGKILL the server: what a crashed broker host looks like to its clients."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None

    def restart(self) -> None:
        """Crash the server, then start it again on the same port with the same data."""
        self.crash()
        self.start()

    def close(self) -> None:
        """Stop the server for good (its files stay in the run's directory)."""
        self.crash()
