"""A RabbitMQ node of one test's own, on free ports, with its data in the test's directory.

Tests that stop or kill a broker use this node, never the shared one: its own node name, AMQP
and distribution ports, mnesia and log directories, an empty plugin list and a config file that
names only its listener (so the machine's rabbitmq.conf and its port are not read).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from runtime_support import IN_CI

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def free_port() -> int:
    """Return a TCP port that was free on loopback a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PrivateRabbit:
    """One private node; :meth:`start` and :meth:`kill` may alternate on the same data."""

    base: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    name: str = field(default_factory=lambda: f"jf13_{uuid.uuid4().hex[:8]}@localhost")
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The AMQP URL of the node's default vhost."""
        return f"amqp://guest:guest@127.0.0.1:{self.port}//"

    def env(self) -> dict[str, str]:
        """Return the environment that makes ``rabbitmq-server`` this node."""
        self.base.mkdir(parents=True, exist_ok=True)
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        (self.base / "rabbitmq-env.conf").write_text("")
        env = dict(os.environ)
        env.update(
            {
                "RABBITMQ_NODENAME": self.name,
                "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
                "RABBITMQ_NODE_PORT": str(self.port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "RABBITMQ_MNESIA_BASE": str(self.base / "mnesia"),
                "RABBITMQ_LOG_BASE": str(self.base / "log"),
                "RABBITMQ_CONFIG_FILE": str(self.base / "rabbitmq.conf"),
                "RABBITMQ_CONF_ENV_FILE": str(self.base / "rabbitmq-env.conf"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.base / "enabled_plugins"),
                "RABBITMQ_PID_FILE": str(self.base / "node.pid"),
                "ERL_EPMD_ADDRESS": "127.0.0.1",
            }
        )
        return env

    def start(self, timeout_s: float = 60.0) -> None:
        """Start (or restart) the node and wait until it accepts AMQP connections."""
        import kombu

        env = self.env()
        with (self.base / "server.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(SERVER)], env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with kombu.Connection(self.url, connect_timeout=1) as conn:
                    conn.ensure_connection(max_retries=1, timeout=1)
                return
            except Exception as exc:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    tail = (self.base / "server.log").read_text(errors="replace")[-2000:]
                    raise AssertionError(f"private RabbitMQ did not start ({exc}): {tail}") from exc
                time.sleep(0.3)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop the node: SIGTERM shuts it down cleanly, SIGKILL crashes it."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # epmd forgets the name once the node is gone
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)


def private_rabbit(base: Path) -> PrivateRabbit:
    """Return an unstarted private node under ``base``; skip (fail under CI) without RabbitMQ."""
    if not SERVER.exists() or shutil.which("erl") is None:
        reason = f"{SERVER} (Debian package rabbitmq-server) is not installed"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return PrivateRabbit(base)
