"""What a runtime app's own suite ran reaches the kit through jobforge's installed observer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from jobforge.conformance.frameworks.runtime_recording import SuiteObserver
from jobforge.conformance.testing_hooks import EVENTS_ENV
from jobforge_runtime import App, Catalogue, Settings, observers
from jobforge_runtime.logs import OBSERVERS, log_event

pytestmark = pytest.mark.unit


def _events(path: Path) -> list[dict[str, object]]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    stamps = {"pid", "ppid", "at"}
    return [{k: v for k, v in json.loads(line).items() if k not in stamps} for line in lines]


def _suite_observers() -> list[SuiteObserver]:
    return [o for o in OBSERVERS if isinstance(o, SuiteObserver)]


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    """Yield an App on the test's SQLite file; detach jobforge's observer afterwards."""
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'jobs.sqlite3'}")
    yield App(settings=settings, catalogue=Catalogue([]), read_env=False)
    for observer in _suite_observers():
        observers.remove(observer)


def test_jobforge_declares_its_observer_to_the_runtime() -> None:
    declared = {p.value for p in entry_points(group="jobforge_runtime.observers")}
    assert "jobforge.conformance.frameworks.runtime_recording:observer_for" in declared


def test_the_observer_stays_off_unless_a_suite_is_recorded(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(EVENTS_ENV, raising=False)
    assert app.runtime is not None
    assert _suite_observers() == []


def test_runtime_events_become_the_kits_test_recording_events(
    app: App, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    events = tmp_path / "events.jsonl"
    monkeypatch.setenv(EVENTS_ENV, str(events))
    runtime = app.runtime  # the installed observer attaches and records the broker
    for event, fields in [
        ("enqueued", {"job_type": "shop.a"}),
        ("started", {"job_type": "shop.a"}),
        ("failed", {"job_type": "shop.a", "error_kind": "timeout"}),
        ("retrying", {"job_type": "shop.a"}),
        ("failed", {"job_type": "shop.b", "error_kind": "permanent"}),
        ("dead", {"job_type": "shop.b", "error_kind": "permanent"}),
    ]:
        log_event(runtime.logger, event, **fields)
    assert _events(events) == [
        {"event": "broker", "backend": "sqlite+huey", "real": True},
        {"event": "job", "job_type": "shop.a"},
        {"event": "failure_path", "path": "timeout", "job_type": "shop.a"},
        {"event": "failure_path", "path": "retry", "job_type": "shop.a"},
        {"event": "failure_path", "path": "discard", "job_type": "shop.b"},
        {"event": "failure_path", "path": "dead_letter", "job_type": "shop.b"},
    ]
