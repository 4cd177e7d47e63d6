"""Shared test set-up: hypothesis profiles and real-service fixtures.

A test that needs a service takes its fixture. Locally a missing service skips the test with the
reason; under ``CI=true`` it fails, so CI can never go green by skipping.
"""

from __future__ import annotations

import os

import pytest
from generated_support import GeneratedProjects
from hypothesis import HealthCheck, settings
from services_support import IN_CI, require_service

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


@pytest.fixture(autouse=True, scope="session")
def _template_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep ``jobforge new``'s template repository out of the user's cache during the tests."""
    os.environ["JOBFORGE_TEMPLATE_CACHE"] = str(tmp_path_factory.mktemp("cache") / "template")


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


@pytest.fixture(scope="session")
def generated_projects(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProjects:
    """Return the examples' projects, each made once per session and shared (copy to edit)."""
    return GeneratedProjects(tmp_path_factory.mktemp("generated"))
