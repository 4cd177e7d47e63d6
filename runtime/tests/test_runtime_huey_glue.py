"""The Huey glue in one process: JSON messages, claim while taking, settle with the next take."""

from __future__ import annotations

import json
from pathlib import Path

import fixture_app
import pytest

from jobforge_runtime import App, Settings
from jobforge_runtime.records import JobStatus

pytestmark = pytest.mark.unit


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'glue.db'}")
    return App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)


def test_messages_are_json_not_pickle(app: App) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="j"), delay_s=0)
    (data,) = app.runtime.ledger.connection().execute("select data from task").fetchone()
    doc = json.loads(data)
    assert doc["message"]["args"] == [job_id, "test.work"]


def test_a_delayed_jobs_message_carries_its_eta_as_json(app: App) -> None:
    app.enqueue(fixture_app.work, fixture_app.Work(key="later"), delay_s=60)
    (data,) = app.runtime.ledger.connection().execute("select data from task").fetchone()
    assert json.loads(data)["message"]["eta"]["$dt"]


def test_taking_a_message_claims_its_job_in_the_same_transaction(app: App) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="c"))
    huey = app.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    task = huey.dequeue()
    assert task is not None
    record = app.runtime.status(job_id)
    assert record is not None and (record.status, record.attempts) == (JobStatus.RUNNING, 1)


def test_a_completed_job_is_settled_when_the_worker_takes_its_next_message(app: App) -> None:
    first = app.enqueue(fixture_app.work, fixture_app.Work(key="one"))
    second = app.enqueue(fixture_app.work, fixture_app.Work(key="two"))
    huey = app.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    huey.execute(huey.dequeue())
    huey.execute(huey.dequeue())
    done = app.runtime.status(first)
    assert done is not None and done.status is JobStatus.COMPLETED
    assert huey.dequeue() is None  # an empty queue still settles what ran
    done = app.runtime.status(second)
    assert done is not None and done.status is JobStatus.COMPLETED


def test_a_stopping_worker_settles_its_last_completed_job(app: App) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="last"))
    huey = app.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    huey.execute(huey.dequeue())
    for hook in huey._shutdown.values():  # what Huey's worker calls when it stops
        hook()
    done = app.runtime.status(job_id)
    assert done is not None and done.status is JobStatus.COMPLETED
