"""Celery on Redis: a job due now is recorded and its Celery message pushed in one script.

The message the ledger's script pushes must be the one Celery itself publishes (same list, same
envelope); a duplicate pushes nothing; an unknown kombu layout falls back to Celery's publish.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from typing import Any

import fixture_app
import pytest
from runtime_support import redis_url

from jobforge_runtime import Settings
from jobforge_runtime.records import JobStatus
from jobforge_runtime.runtime import Runtime

celery_glue = pytest.importorskip("jobforge_runtime.glue.celery")
celery_message = pytest.importorskip("jobforge_runtime.glue.celery_message")
redis = pytest.importorskip("redis")

pytestmark = pytest.mark.integration


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    url = redis_url()
    prefix = f"rt-msg-{uuid.uuid4().hex[:12]}"
    settings = Settings(broker_url=url, key_prefix=prefix)
    yield celery_glue.build_runtime(settings, fixture_app.catalogue)
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def _queue_key(runtime: Runtime, priority: int = 0) -> str:
    name = f"{runtime.settings.key_prefix}.{runtime.settings.queues[0]}"
    step = celery_glue.celery_priority(priority)
    suffix = f"\x06\x16{step}" if step else ""
    return f"{runtime.settings.key_prefix}:celery:{name}{suffix}"


def _messages(runtime: Runtime, key: str) -> list[dict[str, Any]]:
    client = redis.Redis.from_url(runtime.settings.broker_url)
    return [json.loads(raw) for raw in client.lrange(key, 0, -1)]


def _comparable(message: dict[str, Any]) -> dict[str, Any]:
    """Return ``message`` without what differs per publish (task id, delivery tag, origin)."""
    out = json.loads(json.dumps(message))
    out["body"] = json.loads(base64.b64decode(out["body"]))
    for name in ("id", "root_id", "origin"):
        out["headers"].pop(name)
    for name in ("correlation_id", "delivery_tag"):
        out["properties"].pop(name)
    return out


def test_the_pushed_message_is_the_one_celery_publishes(runtime: Runtime) -> None:
    job_id = runtime.enqueue_named("test.work", {"key": "a"})
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, celery_glue.CeleryDispatcher)
    assert dispatcher.layout() is not None
    dispatcher.task.apply_async(
        args=(job_id, "test.work"),
        queue=f"{runtime.settings.key_prefix}.{runtime.settings.queues[0]}",
        priority=celery_glue.celery_priority(0),
    )
    celery_sent, pushed = _messages(runtime, _queue_key(runtime))  # LPUSH: newest first
    assert _comparable(pushed) == _comparable(celery_sent)
    assert pushed["headers"]["id"] == pushed["properties"]["correlation_id"]
    assert pushed["properties"]["delivery_tag"] != celery_sent["properties"]["delivery_tag"]


def test_a_job_goes_to_the_list_of_its_priority(runtime: Runtime) -> None:
    job = fixture_app.catalogue.get("test.work")
    runtime.enqueue(job, job.validate({"key": "b"}), priority=7)
    (pushed,) = _messages(runtime, _queue_key(runtime, priority=7))
    assert pushed["properties"]["priority"] == celery_glue.celery_priority(7)
    assert _messages(runtime, _queue_key(runtime)) == []


def test_the_job_and_its_message_are_written_together_and_a_duplicate_pushes_nothing(
    runtime: Runtime,
) -> None:
    first = runtime.enqueue_named("test.work", {"key": "c"}, idempotency_key="once")
    again = runtime.enqueue_named("test.work", {"key": "c"}, idempotency_key="once")
    assert again == first
    (pushed,) = _messages(runtime, _queue_key(runtime))
    assert json.loads(base64.b64decode(pushed["body"]))[0] == [first, "test.work"]
    record = runtime.status(first)
    assert record is not None and record.status is JobStatus.PENDING


def test_an_unknown_kombu_layout_falls_back_to_celerys_publish(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(celery_message, "SUPPORTED_KOMBU_MAJOR", 0)
    dispatcher = runtime.dispatcher
    assert isinstance(dispatcher, celery_glue.CeleryDispatcher)
    assert dispatcher.layout() is None
    job_id = runtime.enqueue_named("test.work", {"key": "d"})
    (sent,) = _messages(runtime, _queue_key(runtime))
    assert json.loads(base64.b64decode(sent["body"]))[0] == [job_id, "test.work"]
