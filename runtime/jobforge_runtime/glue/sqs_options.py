"""The SQS backend's options, read from its broker URL, and its client, from the environment.

``broker_url`` is ``sqs://`` with optional query options, e.g.
``sqs://?fifo=true&wait_s=20&visibility_s=60&max_receives=10``:

- ``fifo``: FIFO queues (``<name>.fifo``), one message group per job type, a deduplication id per
  dispatch; for answers that ask for ordering.
- ``wait_s``: long polling, 1..20 seconds per receive (20 by default).
- ``visibility_s``: the queues' visibility timeout; a running job's message is extended by this
  much every third of it (the heartbeat), so it only lapses when the worker stops.
- ``max_receives``: receives before SQS moves a message to the queue's dead-letter queue.

Credentials come from the environment only (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
optional ``AWS_SESSION_TOKEN``), the region from ``AWS_REGION`` or ``AWS_DEFAULT_REGION``, and a
local SQS-compatible server from ``AWS_ENDPOINT_URL_SQS`` or ``AWS_ENDPOINT_URL``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jobforge_runtime.errors import SettingsError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}
RANGES = {"wait_s": (1, 20), "visibility_s": (1, 43200), "max_receives": (1, 1000)}


@dataclass(frozen=True, kw_only=True)
class SqsOptions:
    """How the queues are made and polled."""

    fifo: bool = False
    wait_s: int = 20
    visibility_s: int = 60
    max_receives: int = 10

    @classmethod
    def from_url(cls, url: str) -> SqsOptions:
        """Parse ``sqs://?option=value&...``; a bad option names itself and its range."""
        parts = urlsplit(url)
        if parts.scheme != "sqs":
            raise SettingsError(
                f"broker_url={url!r}: the sqs backend needs an sqs:// URL, e.g. "
                "JOBS_BROKER_URL='sqs://?fifo=false&wait_s=20'"
            )
        values: dict[str, Any] = {}
        for key, raw in parse_qsl(parts.query, keep_blank_values=True):
            if key == "fifo":
                if raw.lower() not in TRUE | FALSE:
                    raise SettingsError(f"broker_url option fifo={raw!r}: use true or false")
                values[key] = raw.lower() in TRUE
            elif key in RANGES:
                low, high = {
                    "wait_s": (1, 20),
                    "visibility_s": (1, 43200),
                    "max_receives": (1, 1000),
                }[key]
                if not raw.isdigit() or not low <= int(raw) <= high:
                    raise SettingsError(
                        f"broker_url option {key}={raw!r}: use a whole number {low}..{high}"
                    )
                values[key] = int(raw)
            else:
                raise SettingsError(
                    f"broker_url option {key!r} is unknown; use fifo, wait_s, visibility_s or "
                    "max_receives"
                )
        return cls(**values)


def queue_name(prefix: str, queue: str, *, fifo: bool, dead: bool = False) -> str:
    """Return the SQS name of ``queue``: letters, digits, ``-`` and ``_``; ``.fifo`` for FIFO."""
    base = re.sub(r"[^A-Za-z0-9_-]", "_", f"{prefix}-{queue}") + ("-dlq" if dead else "")
    suffix = ".fifo" if fifo else ""
    if len(base) + len(suffix) > 80:
        raise SettingsError(
            f"key_prefix={prefix!r}: the SQS queue name {base + suffix!r} is longer than 80 "
            "characters; shorten the key prefix or the queue name"
        )
    return base + suffix


def sqs_client(env: Mapping[str, str] | None = None) -> Any:
    """Return a boto3 SQS client whose credentials come from the environment only."""
    import boto3

    source = os.environ if env is None else env
    key, secret = source.get("AWS_ACCESS_KEY_ID", ""), source.get("AWS_SECRET_ACCESS_KEY", "")
    if not key or not secret:
        raise SettingsError(
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set: the sqs backend takes "
            "credentials from the environment only; export both (and AWS_SESSION_TOKEN if "
            "temporary)"
        )
    region = source.get("AWS_REGION") or source.get("AWS_DEFAULT_REGION")
    if not region:
        raise SettingsError("AWS_REGION is not set: export the queues' region, e.g. eu-west-1")
    session = boto3.session.Session(
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=source.get("AWS_SESSION_TOKEN") or None,
        region_name=region,
    )
    endpoint = source.get("AWS_ENDPOINT_URL_SQS") or source.get("AWS_ENDPOINT_URL") or None
    return session.client("sqs", endpoint_url=endpoint)
