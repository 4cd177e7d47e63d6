"""Observers see every job event at any log level; installed ones attach when an App builds."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import fixture_app
import pytest
from runtime_support import Clock

from jobforge_runtime import App, Runtime, Settings, observers
from jobforge_runtime.execution import execute
from jobforge_runtime.runtime import Runtime as RuntimeType

Seen = list[tuple[str, dict[str, Any]]]
Build = Callable[..., Any]


@pytest.fixture
def seen() -> Iterator[Seen]:
    """Collect the events an observer is handed; remove it afterwards."""
    events: Seen = []

    def observer(event: str, fields: Mapping[str, Any]) -> None:
        events.append((event, dict(fields)))

    observers.add(observer)
    observers.add(observer)  # added twice, attached once
    yield events
    observers.remove(observer)


def test_an_observer_sees_per_job_events_that_are_not_logged(
    make_runtime: Build, seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime()
    with caplog.at_level(logging.INFO, logger="jobforge_runtime"):
        job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="seen"))
    assert seen == [("enqueued", {"job_id": job_id, "job_type": "test.work"})]
    assert caplog.records == []  # the debug-level event still is not logged


def test_an_observer_follows_a_job_through_its_attempts_to_the_dead_letter_queue(
    make_runtime: Build, seen: Seen, clock: Clock
) -> None:
    runtime, dispatcher = make_runtime()
    runtime.enqueue(fixture_app.work, fixture_app.Work(key="down", fail_times=1))
    runtime.enqueue(fixture_app.work, fixture_app.Work(key="bad", outcome="permanent"))
    for _ in range(3):
        job_id, job_type, *_ = dispatcher.sent.pop(0)
        execute(runtime, job_id, job_type, worker="w1")
        clock.now += 1
    flow = [(event, fields.get("error_kind")) for event, fields in seen]
    assert flow == [
        ("enqueued", None),
        ("enqueued", None),
        ("started", None),
        ("failed", "transient"),
        ("retrying", None),
        ("started", None),
        ("failed", "permanent"),
        ("dead", "permanent"),
        ("started", None),
        ("completed", None),
    ]
    assert {fields["job_type"] for _, fields in seen} == {"test.work"}


def test_a_failing_observer_never_fails_the_job_layer(make_runtime: Build) -> None:
    def broken(event: str, fields: Mapping[str, Any]) -> None:
        raise RuntimeError("observer bug")

    runtime, dispatcher = make_runtime()
    observers.add(broken)
    try:
        job_id = runtime.enqueue(fixture_app.work, fixture_app.Work(key="robust"))
    finally:
        observers.remove(broken)
    assert [sent[0] for sent in dispatcher.sent] == [job_id]


class _Point:
    """An entry point as importlib.metadata gives it."""

    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self.target = name, f"tests:{name}", target

    def load(self) -> object:
        if isinstance(self.target, Exception):
            raise self.target
        return self.target


def test_installed_factories_are_asked_when_an_app_builds_its_runtime(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events: Seen = []
    asked: list[tuple[App, Runtime]] = []

    def observer(event: str, fields: Mapping[str, Any]) -> None:
        events.append((event, dict(fields)))

    def factory(app: App, runtime: Runtime) -> Callable[[str, Mapping[str, Any]], None]:
        asked.append((app, runtime))
        return observer

    points = [_Point("good", factory), _Point("broken", ImportError("no module named x"))]
    monkeypatch.setattr(observers, "entry_points", lambda group: points)
    monkeypatch.setattr(observers, "_installed", None)
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    app = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)
    try:
        with caplog.at_level(logging.WARNING, logger="jobforge_runtime"):
            job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="installed"))
    finally:
        observers.remove(observer)
    assert [(a, type(r)) for a, r in asked] == [(app, RuntimeType)]
    assert ("enqueued", {"job_id": job_id, "job_type": "test.work"}) in events
    assert "observer entry point broken = tests:broken cannot be loaded" in caplog.text
