"""The SQS glue against moto's server (a subprocess on a free port) with real worker processes.

Long polling, the visibility heartbeat of a running job, FIFO order within a job type, and the
reconciliation of SQS's dead-letter queue with the ledger's. The ledger is in Redis database 4.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fixture_app
import pytest
from local_sqs import moto_env, run_moto
from runtime_support import HERE, Processes, is_final, redis_url, wait_for

from jobforge_runtime import App, Settings
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.glue.sqs import SqsDispatcher, drain_dead_letters
from jobforge_runtime.glue.sqs_options import SqsOptions, queue_name, sqs_client
from jobforge_runtime.records import JobStatus

LEDGER_DB = 4


def test_options_come_from_the_broker_url_and_a_bad_one_names_its_range() -> None:
    assert SqsOptions.from_url("sqs://") == SqsOptions()
    options = SqsOptions.from_url("sqs://?fifo=true&wait_s=5&visibility_s=30&max_receives=3")
    assert options == SqsOptions(fifo=True, wait_s=5, visibility_s=30, max_receives=3)
    with pytest.raises(SettingsError, match=r"wait_s='30': use a whole number 1\.\.20"):
        SqsOptions.from_url("sqs://?wait_s=30")
    with pytest.raises(SettingsError, match="option 'region' is unknown"):
        SqsOptions.from_url("sqs://?region=x")
    with pytest.raises(SettingsError, match="needs an sqs:// URL"):
        SqsOptions.from_url("redis://localhost")
    assert queue_name("jobs:a.b", "default", fifo=True, dead=True) == "jobs_a_b-default-dlq.fifo"


def test_credentials_come_from_the_environment_only() -> None:
    with pytest.raises(SettingsError, match="AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set"):
        sqs_client({"AWS_REGION": "eu-west-1"})
    with pytest.raises(SettingsError, match="AWS_REGION is not set"):
        sqs_client({"AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"})


# -- on the local server ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    yield from run_moto(tmp_path_factory.mktemp("moto") / "moto.log")


@pytest.fixture
def sqs_env(moto: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    import redis

    aws = moto_env(moto)
    for key, value in aws.items():
        monkeypatch.setenv(key, value)  # the test process enqueues with the same credentials
    prefix = f"jf13_{uuid.uuid4().hex[:10]}"
    ledger = redis_url().rsplit("/", 1)[0] + f"/{LEDGER_DB}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    env.update(aws)
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": "sqs",
            "JOBS_BROKER_URL": "sqs://?wait_s=1",
            "JOBS_LEDGER_URL": ledger,
            "JOBS_KEY_PREFIX": prefix,
            "JOBS_LEASE_S": "1.5",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    yield env
    client = redis.Redis.from_url(ledger)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


def _app(env: dict[str, str]) -> App:
    jobs_env = {k: v for k, v in env.items() if k.startswith("JOBS_")}
    return App(
        settings=Settings.from_env(fixture_app.app.base_settings, jobs_env),
        catalogue=fixture_app.catalogue,
        read_env=False,
        backend="sqs",
    )


def _dispatcher(app: App) -> SqsDispatcher:
    dispatcher = app.runtime.dispatcher
    assert isinstance(dispatcher, SqsDispatcher)
    return dispatcher


def _attributes(app: App) -> dict[str, Any]:
    dispatcher = _dispatcher(app)
    got = dispatcher.client.get_queue_attributes(
        QueueUrl=dispatcher.queue_url("default"), AttributeNames=["All"]
    )
    attributes: dict[str, Any] = got["Attributes"]
    return attributes


@pytest.mark.integration
def test_a_retry_runs_after_its_delay_and_the_queue_long_polls_with_a_redrive_policy(
    sqs_env: dict[str, str], tmp_path: Path
) -> None:
    app = _app(sqs_env)
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="r1", fail_times=1))
    attributes = _attributes(app)
    assert attributes["ReceiveMessageWaitTimeSeconds"] == "1"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"].endswith("-default-dlq")
    assert int(redrive["maxReceiveCount"]) == 10
    workers = Processes(tmp_path, sqs_env)
    try:
        workers.start("worker", "--concurrency", "2")
        record = wait_for(lambda: app.runtime.status(job_id), is_final)
    finally:
        workers.stop_all()
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)


@pytest.mark.integration
def test_a_running_jobs_message_stays_invisible_past_its_visibility_timeout(
    sqs_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(sqs_env, JOBS_BROKER_URL="sqs://?wait_s=1&visibility_s=2")
    app = _app(env)
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="long", sleep_s=5))
    workers = Processes(tmp_path, env)
    try:
        workers.start("worker", "--concurrency", "1")
        wait_for(lambda: app.runtime.status(job_id), lambda r: r.status is JobStatus.RUNNING)
        time.sleep(3.5)  # well past the 2 s visibility timeout
        attributes = _attributes(app)
        assert attributes["ApproximateNumberOfMessagesNotVisible"] == "1"
        assert attributes["ApproximateNumberOfMessages"] == "0"
        record = wait_for(lambda: app.runtime.status(job_id), is_final)
    finally:
        workers.stop_all()
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 1)


@pytest.mark.integration
def test_a_fifo_queue_runs_jobs_of_one_type_in_order(
    sqs_env: dict[str, str], tmp_path: Path
) -> None:
    env = dict(sqs_env, JOBS_BROKER_URL="sqs://?wait_s=1&fifo=true")
    app = _app(env)
    keys = [f"k{i}" for i in range(4)]
    # queued before the workers start: moto does not hold a group back from a consumer already
    # waiting in a long poll when the group's message arrives (AWS does); see runtime/README.md
    slow_first = [fixture_app.Work(key=k, sleep_first_s=1.0 if k == "k0" else 0.0) for k in keys]
    ids = [app.enqueue(fixture_app.work, payload) for payload in slow_first]
    assert _attributes(app)["FifoQueue"] == "true"
    workers = Processes(tmp_path, env)
    try:
        workers.start("worker", "--concurrency", "3")
        for job_id in ids:
            wait_for(lambda job_id=job_id: app.runtime.status(job_id), is_final)
    finally:
        workers.stop_all()
    effects = [
        line.split()[1]
        for line in (tmp_path / "effects.log").read_text().splitlines()
        if line.startswith("effect")
    ]
    assert effects == keys


@pytest.mark.integration
def test_sqs_dead_letters_go_back_for_live_jobs_and_foreign_messages_stay(
    sqs_env: dict[str, str],
) -> None:
    app = _app(sqs_env)
    dispatcher = _dispatcher(app)
    live = app.enqueue(fixture_app.work, fixture_app.Work(key="live"))
    client, main = dispatcher.client, dispatcher.queue_url("default")
    got = client.receive_message(QueueUrl=main, MaxNumberOfMessages=1, WaitTimeSeconds=1)
    client.delete_message(QueueUrl=main, ReceiptHandle=got["Messages"][0]["ReceiptHandle"])
    dlq = dispatcher.queue_url("default", dead=True)
    client.send_message(QueueUrl=dlq, MessageBody=json.dumps({"job_id": live, "job_type": "x"}))
    client.send_message(QueueUrl=dlq, MessageBody=json.dumps({"job_id": "gone", "job_type": "x"}))
    client.send_message(QueueUrl=dlq, MessageBody="not a job")
    assert drain_dead_letters(app.runtime, dispatcher, "default") == 2
    again = client.receive_message(QueueUrl=main, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    assert [json.loads(m["Body"])["job_id"] for m in again["Messages"]] == [live]
    left = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["All"])["Attributes"]
    total = int(left["ApproximateNumberOfMessages"]) + int(
        left["ApproximateNumberOfMessagesNotVisible"]
    )
    assert total == 1  # the foreign message, for an operator
