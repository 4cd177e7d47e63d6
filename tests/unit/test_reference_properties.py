"""Properties of the reference's pure parts: retry decisions, payload validation, rate buckets."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jobforge.conformance.adapter import JobSpec
from jobforge.conformance.reference.limits import TokenBucket
from jobforge.conformance.reference.payloads import validate_payload
from jobforge.conformance.reference.records import ErrorKind
from jobforge.conformance.reference.retry import RetryPolicy

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

delays = st.lists(st.floats(0.001, 60.0), min_size=1, max_size=5).map(lambda ds: tuple(sorted(ds)))
unit = st.floats(0.0, 1.0, exclude_max=True)


@given(delays, st.integers(0, 20), st.floats(0.0, 0.5), unit)
def test_retry_delay_stays_within_the_jitter_of_its_declared_step(
    declared: tuple[float, ...], index: int, jitter: float, draw: float
) -> None:
    spec = JobSpec(name="j", kind="immediate", max_attempts=30, backoff_delays_s=declared)
    delay = RetryPolicy(jitter_ratio=jitter, rand=lambda: draw).delay_s(spec, index)
    step = declared[min(index, len(declared) - 1)]
    assert step * (1 - jitter) - 1e-9 <= delay <= step * (1 + jitter) + 1e-9


@given(st.integers(1, 10), st.integers(0, 3), st.sampled_from(list(ErrorKind)))
def test_attempts_never_exceed_max_plus_allowed_extra(
    max_attempts: int, extra: int, kind: ErrorKind
) -> None:
    spec = JobSpec(name="j", kind="immediate", max_attempts=max_attempts)
    policy = RetryPolicy(extra_attempts=extra)
    attempts = 1
    while policy.decide(spec, attempts, kind).retry:
        attempts += 1
        assert attempts <= 100
    retryable = kind in (ErrorKind.TRANSIENT, ErrorKind.TIMEOUT, ErrorKind.LOST)
    assert attempts == (max_attempts + extra if retryable else 1)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), json_values, max_size=5))
def test_any_json_object_is_accepted_and_copied(payload: dict[str, object]) -> None:
    copied = validate_payload(payload)
    assert json.dumps(copied, sort_keys=True) == json.dumps(payload, sort_keys=True)
    if payload:
        assert copied is not payload


@given(st.sampled_from([b"bytes", (1, 2), {3}, math.inf, object()]))
def test_non_json_values_are_rejected_by_path(value: object) -> None:
    with pytest.raises(UsageError, match=r"payload\['data'\]\[0\]"):
        validate_payload({"data": [value]})


@given(
    st.floats(0.5, 50.0),
    st.lists(st.floats(0.0, 0.5), min_size=1, max_size=60),
)
def test_token_bucket_never_admits_more_than_rate_times_window_plus_one(
    rate: float, steps: list[float]
) -> None:
    now = [0.0]
    bucket = TokenBucket(rate, clock=lambda: now[0])
    taken: list[float] = []
    for step in steps:
        now[0] += step
        if bucket.available():
            bucket.take()
            taken.append(now[0])
    for i, start in enumerate(taken):
        in_window = [t for t in taken[i:] if t < start + 1.0]
        assert len(in_window) <= math.floor(rate) + 1
