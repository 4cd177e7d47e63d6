"""The Huey glue in one process: JSON messages, claim while taking, settle with the next take."""

from __future__ import annotations

import json
import time
from pathlib import Path

import fixture_app
import pytest

from jobforge_runtime import App, Settings
from jobforge_runtime.records import JobStatus
from jobforge_runtime.recovery import reap

pytestmark = pytest.mark.unit


@pytest.fixture
def app(tmp_path: Path) -> App:
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'glue.db'}")
    return App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)


def test_messages_are_json_not_pickle(app: App) -> None:
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="j"), delay_s=0)
    (data,) = app.runtime.dispatcher.hueys["default"].storage.enqueued_items()  # type: ignore[attr-defined]
    doc = json.loads(data)
    assert doc["message"]["args"] == [job_id, "test.work"]


def test_a_delayed_jobs_message_carries_its_eta_as_json(app: App) -> None:
    app.enqueue(fixture_app.work, fixture_app.Work(key="later"), delay_s=60)
    (data,) = app.runtime.dispatcher.hueys["default"].storage.enqueued_items()  # type: ignore[attr-defined]
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


def test_messages_are_taken_highest_priority_first_then_oldest_first(app: App) -> None:
    low = [app.enqueue(fixture_app.work, fixture_app.Work(key=f"l{n}")) for n in range(3)]
    high = [
        app.enqueue(fixture_app.work, fixture_app.Work(key=f"h{n}"), priority=9) for n in range(2)
    ]
    huey = app.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    taken = [huey.dequeue().args[0] for _ in range(5)]
    assert taken == high + low
    assert huey.dequeue() is None


def test_a_message_left_in_hueys_own_table_is_moved_and_runs(tmp_path: Path) -> None:
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'old.db'}")
    first = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)
    job_id = first.enqueue(fixture_app.work, fixture_app.Work(key="old"))
    db = first.runtime.ledger.connection()
    storage = first.runtime.dispatcher.hueys["default"].storage  # type: ignore[attr-defined]
    (data,) = storage.enqueued_items()
    with db:  # as an older version of the glue queued it: in Huey's task table
        db.execute("begin")
        db.execute(f"delete from {first.runtime.ledger.table('messages')}")  # type: ignore[attr-defined]
        db.execute(
            "insert into task (queue, data, priority) values (?, ?, 0)", (storage.name, data)
        )
    again = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)
    huey = again.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    assert db.execute("select count(*) from task").fetchone()[0] == 0
    huey.execute(huey.dequeue())
    assert huey.dequeue() is None
    done = again.runtime.status(job_id)
    assert done is not None and done.status is JobStatus.COMPLETED


def test_a_worker_killed_before_writing_its_deferred_completion_loses_nothing(
    tmp_path: Path,
) -> None:
    settings = Settings(broker_url=f"sqlite:///{tmp_path / 'crash.db'}", lease_s=1)
    crashed = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)
    job_id = crashed.enqueue(fixture_app.work, fixture_app.Work(key="once"))
    huey = crashed.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    huey.execute(huey.dequeue())  # ran; its completion waits for the next take, which never comes
    record = crashed.runtime.status(job_id)
    assert record is not None and record.status is JobStatus.RUNNING
    time.sleep(1.1)  # the dead worker's lease lapses
    survivor = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False)
    assert reap(survivor.runtime) == 1  # back as RETRYING, its message queued again
    other = survivor.runtime.dispatcher.hueys["default"]  # type: ignore[attr-defined]
    other.execute(other.dequeue())
    assert other.dequeue() is None
    done = survivor.runtime.status(job_id)
    assert done is not None and (done.status, done.attempts) == (JobStatus.COMPLETED, 2)
