"""Retry policy, error classification, the catalogue's validation, settings from the environment."""

from __future__ import annotations

import random

import fixture_app
import pytest
from pydantic import BaseModel

from jobforge_runtime import Catalogue, PayloadError, SettingsError, UnknownJobTypeError, job
from jobforge_runtime.errors import (
    ConfigurationError,
    ErrorKind,
    JobTimeoutError,
    PermanentError,
    TransientError,
    classify,
)
from jobforge_runtime.retry import RetryPolicy
from jobforge_runtime.settings import Settings

pytestmark = pytest.mark.unit


def test_backoff_doubles_per_retry_up_to_the_cap() -> None:
    policy = RetryPolicy(max_attempts=6, base_delay_s=1.0, max_delay_s=5.0, jitter=0)
    assert [policy.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_jitter_spreads_delays_within_its_fraction() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay_s=4.0, jitter=0.25)
    rng = random.Random(7)
    delays = [policy.delay(1, rng) for _ in range(200)]
    assert all(3.0 <= d <= 5.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 100


def test_attempts_run_out_at_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [policy.should_retry(n) for n in (1, 2, 3)] == [True, True, False]


def test_a_policy_without_attempts_is_rejected_naming_the_field() -> None:
    with pytest.raises(SettingsError, match=r"max_attempts=0: must be at least 1"):
        RetryPolicy(max_attempts=0)


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (TransientError("x"), ErrorKind.TRANSIENT),
        (PermanentError("x"), ErrorKind.PERMANENT),
        (ConfigurationError("x"), ErrorKind.CONFIGURATION),
        (JobTimeoutError("x"), ErrorKind.TIMEOUT),
        (ConnectionResetError("x"), ErrorKind.TRANSIENT),
        (ValueError("x"), ErrorKind.PERMANENT),
        (ZeroDivisionError("x"), ErrorKind.TRANSIENT),  # server_error is in retry_on
    ],
)
def test_failures_are_classified_by_kind_and_reason(exc: Exception, kind: ErrorKind) -> None:
    settings = Settings()
    assert classify(exc, retry_on=settings.retry_on, discard_on=settings.discard_on) is kind


def test_an_unforeseen_error_is_permanent_when_its_reason_is_not_retried() -> None:
    assert classify(ZeroDivisionError(), retry_on=("network",), discard_on=()) is (
        ErrorKind.PERMANENT
    )


def test_a_jobs_retry_for_types_make_an_error_transient() -> None:
    kind = classify(
        KeyError("x"), retry_on=(), discard_on=("not_found",), transient_types=(KeyError,)
    )
    assert kind is ErrorKind.TRANSIENT


def test_an_invalid_payload_is_reported_field_by_field() -> None:
    with pytest.raises(PayloadError) as caught:
        fixture_app.work.validate({"key": "", "fail_times": "many"})
    message = str(caught.value)
    assert "key=''" in message
    assert "fail_times='many'" in message
    assert message.startswith("payload of 'test.work' is invalid")


def test_an_unknown_job_type_names_the_known_ones() -> None:
    with pytest.raises(UnknownJobTypeError, match=r"'nope'.*known: test.batch, test.slow, test"):
        fixture_app.catalogue.get("nope")


def test_two_job_types_of_one_name_are_rejected() -> None:
    class Empty(BaseModel):
        pass

    first = job("same.name", payload=Empty)(lambda ctx, p: None)
    second = job("same.name", payload=Empty)(lambda ctx, p: None)
    with pytest.raises(SettingsError, match=r"'same.name' is declared twice"):
        Catalogue([first, second])


def test_a_job_with_a_nonpositive_timeout_is_rejected() -> None:
    class Empty(BaseModel):
        pass

    with pytest.raises(SettingsError, match=r"timeout_s=0"):
        job("x.y", payload=Empty, timeout_s=0)(lambda ctx, p: None)


def test_catalogue_from_modules_collects_the_decorated_jobs() -> None:
    names = Catalogue.from_modules(fixture_app).names()
    assert names == ["test.batch", "test.slow", "test.tick_a", "test.tick_b", "test.work"]


def test_environment_overrides_the_projects_settings() -> None:
    base = Settings(lease_s=30, queues=("default",))
    env = {"JOBS_LEASE_S": "2.5", "JOBS_QUEUES": "high, low", "JOBS_LOG_JOB_EVENTS": "true"}
    settings = Settings.from_env(base, env)
    assert settings.lease_s == 2.5
    assert settings.queues == ("high", "low")
    assert settings.log_job_events is True


def test_a_bad_environment_value_names_field_value_and_variable() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(Settings(), {"JOBS_LEASE_S": "soon"})
    message = str(caught.value)
    assert "lease_s='soon'" in message
    assert "JOBS_LEASE_S" in message


def test_a_non_sqlite_broker_url_is_rejected_by_the_sqlite_backend_with_the_fix() -> None:
    with pytest.raises(SettingsError, match=r"broker_url='redis://x'.*sqlite:///"):
        Settings(broker_url="redis://x").sqlite_path()
