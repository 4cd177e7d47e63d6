"""The RQ glue's traps on real Redis: no RQ retry, sub-second delays, horses that die with workers.

Messages are JSON without RQ's retry, delays wait outside RQ's whole-second scheduler, and a
killed worker's horse dies with it so the lease recovers its job.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path

import fixture_app
import pytest
from rq import Queue
from rq.job import Job
from rq.serializers import JSONSerializer
from runtime_support import HERE, Processes, is_final, redis_url, wait_for

from jobforge_runtime import App, Settings
from jobforge_runtime.glue.rq import RqDispatcher
from jobforge_runtime.records import JobStatus

pytestmark = pytest.mark.integration


@pytest.fixture
def app() -> Iterator[App]:
    prefix = f"rt-test-{uuid.uuid4().hex[:12]}"
    settings = Settings(broker_url=redis_url(), key_prefix=prefix)
    built = App(settings=settings, catalogue=fixture_app.catalogue, read_env=False, backend="rq")
    yield built
    _delete_keys(settings.broker_url, prefix)


def _delete_keys(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def _dispatcher(app: App) -> RqDispatcher:
    dispatcher = app.runtime.dispatcher
    assert isinstance(dispatcher, RqDispatcher)
    return dispatcher


def test_a_message_is_json_with_no_rq_retry_and_a_whole_second_backstop_timeout(app: App) -> None:
    job_id = app.enqueue(fixture_app.slow, fixture_app.Slow(sleep_s=0))
    queue: Queue = _dispatcher(app).queues["default"]
    (rq_id,) = queue.get_job_ids()
    raw = zlib.decompress(queue.connection.hget(f"rq:job:{rq_id}", "data"))  # RQ compresses
    assert json.loads(raw)[2:] == [[job_id, "test.slow"], {}]  # [func, instance, args, kwargs]
    job = Job.fetch(rq_id, connection=queue.connection, serializer=JSONSerializer)
    assert job.retries_left is None
    assert job.timeout == 2  # test.slow times out after 0.5 s in the runtime; RQ's backstop: 2 s
    assert job.result_ttl == 0


def test_a_delay_waits_in_the_runtimes_set_and_moves_when_due_not_to_the_second(app: App) -> None:
    app.enqueue(fixture_app.work, fixture_app.Work(key="later"), delay_s=0.3)
    dispatcher = _dispatcher(app)
    queue = dispatcher.queues["default"]
    assert queue.count == 0
    assert dispatcher.move_due(now=time.time() + 0.1) == 0  # not due: stays
    assert dispatcher.move_due(now=time.time() + 0.31) == 1
    assert dispatcher.move_due(now=time.time() + 10) == 0  # taken once only
    assert queue.count == 1


@pytest.fixture
def rq_processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    prefix = f"rt-test-{uuid.uuid4().hex[:12]}"
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": "rq",
            "JOBS_BROKER_URL": redis_url(),
            "JOBS_KEY_PREFIX": prefix,
            "JOBS_LEASE_S": "1.5",
            "JOBS_POLL_MAX_DELAY_S": "0.05",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    group = Processes(tmp_path, env)
    yield group
    group.stop_all()
    _delete_keys(env["JOBS_BROKER_URL"], prefix)


def _horse_pids(log: Path) -> list[int]:
    pids = []
    for line in log.read_text().splitlines():
        if line.startswith("{") and json.loads(line).get("event") == "horse_started":
            pids.append(int(json.loads(line)["worker"].rpartition(":")[2]))
    return pids


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_sigkill_of_the_worker_alone_kills_its_horse_and_the_lease_recovers_the_job_promptly(
    rq_processes: Processes,
) -> None:
    env = {k: v for k, v in rq_processes.env.items() if k.startswith("JOBS_")}
    app = App(
        settings=Settings.from_env(fixture_app.app.base_settings, env),
        catalogue=fixture_app.catalogue,
        read_env=False,
        backend="rq",
    )
    first = rq_processes.start("worker", "--concurrency", "1")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="victim", sleep_first_s=60))
    wait_for(lambda: app.runtime.status(job_id), lambda r: r.status is JobStatus.RUNNING)
    deadline = time.monotonic() + 10
    while not (horses := _horse_pids(rq_processes.tmp / "worker-0.log")):
        assert time.monotonic() < deadline, "no horse_started line in the worker's log"
        time.sleep(0.05)
    rq_processes.kill(first, signal.SIGKILL, group=False)  # the supervisor's pid only
    deadline = time.monotonic() + 5
    while _alive(horses[0]):
        assert time.monotonic() < deadline, f"horse {horses[0]} outlived its worker"
        time.sleep(0.05)
    killed_at = time.monotonic()
    rq_processes.start("worker", "--concurrency", "1")
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)
    assert time.monotonic() - killed_at < 20  # a few leases, not RQ's cleanup after the timeout


def test_a_higher_priority_goes_to_an_rq_queue_the_worker_takes_from_first(app: App) -> None:
    dispatcher = _dispatcher(app)
    dispatcher.dispatch("j-low", "test.work", queue="default", priority=0, delay_s=0)
    dispatcher.dispatch("j-high", "test.work", queue="default", priority=5, delay_s=0)
    dispatcher.dispatch("j-top", "test.work", queue="default", priority=50, delay_s=0)
    levels = dispatcher.levels["default"]
    assert [levels[n].count for n in (0, 5, 9)] == [1, 1, 1]
    assert dispatcher.purge() == 3
