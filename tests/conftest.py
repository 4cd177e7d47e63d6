"""Shared test set-up: hypothesis profiles and real-service fixtures.

A test that needs a service takes its fixture. Locally a missing service skips the test with the
reason; under ``CI=true`` it fails, so CI can never go green by skipping.
"""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, settings

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "stress", max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if IN_CI else "dev"))

SERVICES: dict[str, tuple[str, int, str]] = {
    "redis": ("127.0.0.1", 6379, "redis://127.0.0.1:6379/0"),
    "postgres": ("127.0.0.1", 5432, "postgresql://postgres@127.0.0.1:5432/test"),
    "rabbitmq": ("127.0.0.1", 5672, "amqp://guest:guest@127.0.0.1:5672//"),
}


@pytest.fixture(autouse=True, scope="session")
def _template_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep ``jobforge new``'s template repository out of the user's cache during the tests."""
    os.environ["JOBFORGE_TEMPLATE_CACHE"] = str(tmp_path_factory.mktemp("cache") / "template")


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


@pytest.fixture
def redis_url() -> str:
    """URL of the real Redis service."""
    return require_service("redis")


@pytest.fixture
def postgres_url() -> str:
    """URL of the real PostgreSQL service."""
    return require_service("postgres")


@pytest.fixture
def rabbitmq_url() -> str:
    """URL of the real RabbitMQ service."""
    return require_service("rabbitmq")
