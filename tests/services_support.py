"""Real services for the tests: where they listen, and skip (locally) or fail (CI) when one is down.

Kept out of ``conftest.py`` so test modules can import it by a name no other conftest shares
(``runtime/tests`` has a conftest of its own, and both run in one pytest session).
"""

from __future__ import annotations

import os
import socket

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

SERVICES: dict[str, tuple[str, int, str]] = {
    "redis": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/0"),
    "postgres": ("127.0.0.1", 5432, "postgresql://postgres@127.0.0.1:5432/test"),
    "rabbitmq": ("127.0.0.1", 5672, "amqp://guest:guest@127.0.0.1:5672//"),
}


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str) -> str:
    """Return the service URL, or skip (locally) / fail (CI) when it is not reachable."""
    host, port, url = SERVICES[name]
    if not _reachable(host, port):
        reason = f"{name} is not reachable on {host}:{port}; start it (see README 'Services')"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return url
