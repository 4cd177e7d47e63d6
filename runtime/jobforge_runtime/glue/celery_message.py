"""Celery's Redis message for a job, made by the runtime so the ledger's create script pushes it.

Celery on Redis publishes a task as one ``LPUSH`` of kombu's JSON envelope onto the queue's list
(one list per priority step). The runtime records a job and publishes its message in one Lua
script (one round trip, and no window where a job exists without its message) by pushing the
same envelope itself. The envelope is not made by hand: :func:`message_layout` publishes one
sample task through Celery with kombu's ``_put`` captured, checks the envelope has the fields
this module fills in (task id, arguments, delivery tag), and returns ``None`` when it does not
(another kombu major version, another body encoding, another layout); the runtime then
publishes through Celery as before. Celery's ``before_task_publish``/``after_task_publish``
signals are not sent for messages pushed this way.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any

import kombu

_ID, _TYPE, _TASK = "@JOB-ID@", "@JOB-TYPE@", "@TASK-ID@"
SUPPORTED_KOMBU_MAJOR = 5


@dataclass(frozen=True)
class MessageLayout:
    """kombu's envelope for the runtime's task: fixed parts captured once, per-job parts filled."""

    body: str  # the decoded JSON body with the placeholders
    #: (celery queue, celery priority) -> the Redis list key and the envelope without its body
    #: (its routing and priority are the queue's and the priority's; ids are replaced per message)
    envelopes: dict[tuple[str, int], tuple[str, dict[str, Any]]]

    def render(self, job_id: str, job_type: str, *, queue: str, priority: int) -> tuple[str, str]:
        """Return the Redis list key and the message publishing ``job_id`` as Celery would."""
        key, envelope = self.envelopes[(queue, priority)]
        task_id = str(uuid.uuid4())
        body = self.body.replace(_ID, job_id).replace(_TYPE, _json_inner(job_type))
        headers = dict(envelope["headers"])
        headers["id"] = headers["root_id"] = task_id
        headers["argsrepr"] = repr((job_id, job_type))
        properties = dict(envelope["properties"])
        properties["correlation_id"] = task_id
        properties["delivery_tag"] = str(uuid.uuid4())
        message = dict(envelope)
        message["body"] = base64.b64encode(body.encode()).decode()
        message["headers"] = headers
        message["properties"] = properties
        return key, json.dumps(message)


def _json_inner(text: str) -> str:
    return json.dumps(text)[1:-1]


def message_layout(task: Any, queues: list[str], priorities: range) -> MessageLayout | None:
    """Capture Celery's envelope for ``task`` on ``queues``; None when its layout is not known."""
    if int(kombu.__version__.split(".")[0]) != SUPPORTED_KOMBU_MAJOR:
        return None
    app = task.app
    envelopes: dict[tuple[str, int], tuple[str, dict[str, Any]]] = {}
    bodies: set[str] = set()
    with app.producer_or_acquire() as producer:
        channel = producer.channel
        prefix = getattr(channel, "global_keyprefix", "") or ""
        captured: list[tuple[str, dict[str, Any]]] = []

        def capture(queue: str, message: dict[str, Any], **_: Any) -> None:
            captured.append((queue, message))

        channel._put = capture
        try:
            for queue in queues:
                for priority in priorities:
                    task.apply_async(
                        args=(_ID, _TYPE),
                        queue=queue,
                        priority=priority,
                        task_id=_TASK,
                        producer=producer,
                    )
                    name, message = captured.pop()
                    if not _known(message):
                        return None
                    pri = channel._get_message_priority(message, reverse=False)
                    envelope = dict(message)
                    bodies.add(base64.b64decode(envelope.pop("body")).decode())
                    key = prefix + channel._q_for_pri(name, pri)
                    envelopes[(queue, priority)] = (key, envelope)
        finally:
            del channel._put
    if len(bodies) != 1:  # the body must not depend on the queue or the priority
        return None
    return MessageLayout(body=bodies.pop(), envelopes=envelopes)


def _known(message: dict[str, Any]) -> bool:
    """Return True when ``message`` is the envelope :meth:`MessageLayout.render` knows to fill."""
    headers = message.get("headers") or {}
    properties = message.get("properties") or {}
    if set(message) != {"body", "content-encoding", "content-type", "headers", "properties"}:
        return False
    if message["content-type"] != "application/json" or message["content-encoding"] != "utf-8":
        return False
    if properties.get("body_encoding") != "base64" or "delivery_tag" not in properties:
        return False
    if properties.get("correlation_id") != _TASK:
        return False
    if headers.get("id") != _TASK or headers.get("root_id") != _TASK:
        return False
    try:
        body = json.loads(base64.b64decode(message["body"]))
    except ValueError:
        return False
    return isinstance(body, list) and body[:2] == [[_ID, _TYPE], {}]
