"""Test-recording hooks write nothing in production and summarise what a test session did."""

from __future__ import annotations

from pathlib import Path

import pytest
from jobforge.conformance import suite_record, testing_hooks

pytestmark = pytest.mark.unit


def test_hooks_do_nothing_when_not_recording(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(testing_hooks.EVENTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert not testing_hooks.recording()
    testing_hooks.record_job("x")
    testing_hooks.record_failure_path("retry")
    assert list(tmp_path.iterdir()) == []


def test_hooks_append_events_that_summarise(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv(testing_hooks.EVENTS_ENV, str(events))
    testing_hooks.record_broker("redis+celery")
    testing_hooks.record_job("send_email")
    testing_hooks.record_job("send_email")
    testing_hooks.record_failure_path("dead_letter", job_type="send_email")
    testing_hooks.record_broker("memory", real=False)
    recording = suite_record.read_events(events)
    assert recording.seen_job_types == {"send_email"}
    assert recording.seen_failure_paths == {"dead_letter"}
    assert recording.seen_brokers == {("redis+celery", True), ("memory", False)}
    assert recording.events == 5
    assert recording.to_json()["seen_brokers"] == [
        {"backend": "memory", "real": False},
        {"backend": "redis+celery", "real": True},
    ]
    # Outside any test body nothing counts for the suite.
    assert recording.job_types == frozenset() and recording.brokers == frozenset()


def test_unknown_failure_path_is_rejected_with_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="dead_letter"):
        testing_hooks.record_failure_path("explode")


def test_summary_skips_torn_and_foreign_lines() -> None:
    lines = ['{"event": "job", "job_type": "a"}', '{"event": "jo', "[1]", "", '{"event": "x"}']
    recording = suite_record.summarise(lines)
    assert recording.seen_job_types == {"a"} and recording.events == 2


def test_missing_events_file_is_an_empty_recording(tmp_path: Path) -> None:
    assert suite_record.read_events(tmp_path / "none.jsonl").events == 0
