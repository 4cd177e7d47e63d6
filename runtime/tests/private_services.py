"""Private service instances a test may crash and restart: never the shared Redis or PostgreSQL.

:class:`PrivateRedis` runs ``redis-server`` on a free loopback port with an append-only file
fsynced on every write; :class:`PrivatePostgres` makes a cluster with ``initdb`` and runs it with
``pg_ctl`` on a free port (as the ``postgres`` user when the tests run as root, which PostgreSQL
refuses). ``crash()`` kills the server without a clean shutdown; ``start()`` brings it back on the
same port with the same data.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def free_port() -> int:
    """Return a loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout_s} s")
        time.sleep(0.05)


class PrivateRedis:
    """A redis-server of the test's own, durable across a crash (appendfsync always)."""

    def __init__(self, folder: Path) -> None:
        """Keep the server's data in ``folder``; skip when redis-server is not installed."""
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed; install it to run broker-restart tests")
        self.binary = binary
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        """The server's URL (database 0: the instance is private)."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server on its port with its data."""
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port)

    def crash(self) -> None:
        """SIGKILL the server: no shutdown save, only what the append-only file holds."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server for good."""
        self.crash()


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own, made with initdb, run with pg_ctl."""

    def __init__(self) -> None:
        """Make the cluster in a fresh folder; skip when PostgreSQL's binaries are missing."""
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            pytest.skip("initdb not found under /usr/lib/postgresql/*/bin; install PostgreSQL")
        self.bin = Path(found[-1]).parent
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="jf-private-pg-"))
        self.folder.chmod(0o755)
        self.data = self.folder / "data"
        self._user: list[str] = []
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            owner = pwd.getpwnam("postgres")
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
            self._user = ["runuser", "-u", "postgres", "--"]
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")

    def _run(self, *args: str) -> None:
        subprocess.run([*self._user, *args], check=True, capture_output=True, timeout=120)

    @property
    def url(self) -> str:
        """The cluster's ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start (or restart) the cluster on its port with its data."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.folder / "server.log"),
            "-w",
            "start",
        )
        _wait_port(self.port)

    def crash(self) -> None:
        """Stop at once without a checkpoint (as after a power cut): recovery replays the WAL."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def stop(self) -> None:
        """Stop the cluster and delete its files."""
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
