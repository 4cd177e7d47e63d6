"""Celery glue: higher job priorities are served first from Redis."""

from __future__ import annotations

import pytest

from jobforge_runtime import Catalogue, Settings

celery = pytest.importorskip("jobforge_runtime.glue.celery")

pytestmark = pytest.mark.unit


def test_a_higher_job_priority_maps_to_a_step_redis_serves_earlier() -> None:
    steps = [celery.celery_priority(p) for p in (-3, 0, 5, 9, 12)]
    assert steps == [9, 9, 4, 0, 0]


def test_the_app_orders_redis_queues_by_priority() -> None:
    app = celery.celery_app(Settings(broker_url="redis://127.0.0.1:6379/0"), Catalogue([]))
    options = app.conf.broker_transport_options
    assert options["queue_order_strategy"] == "priority"
    assert options["priority_steps"] == list(range(10))
