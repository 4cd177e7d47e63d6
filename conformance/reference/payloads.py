"""Payload validation: job payloads are JSON objects, copied on the way in. Never pickle."""

from __future__ import annotations

import json
import math
from typing import cast

from jobforge.errors import UsageError

from ..adapter import JSONObject


def _check(value: object, where: str) -> None:
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise UsageError(f"payload{where} is {value!r}; JSON has no NaN or infinity: use null")
        return
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check(item, f"{where}[{index}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise UsageError(
                    f"payload{where} has key {key!r} of type {type(key).__name__}; "
                    "JSON object keys must be strings"
                )
            _check(item, f"{where}[{key!r}]")
        return
    raise UsageError(
        f"payload{where} is {value!r} of type {type(value).__name__}, which is not JSON; "
        "pass only dict, list, str, int, float, bool or None"
    )


def validate_payload(payload: object) -> JSONObject:
    """Return a private deep copy of ``payload`` after proving it is a JSON object.

    Raises UsageError naming the offending path, its value and the fix.
    """
    if not isinstance(payload, dict):
        raise UsageError(
            f"payload is {payload!r} of type {type(payload).__name__}; "
            "a job payload must be a JSON object (a dict with string keys)"
        )
    _check(payload, "")
    return cast(JSONObject, json.loads(json.dumps(payload, allow_nan=False)))


def canonical(payload: JSONObject) -> str:
    """Return a stable text form of a payload: the key of unique jobs."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))
