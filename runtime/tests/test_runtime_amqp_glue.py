"""Celery on RabbitMQ: quorum queues, confirms, the consumer timeout, a broker crash survived.

Workers run as real processes on the shared RabbitMQ (queues named ``jf13_<hex>.*``, deleted
after each test) with the ledger in Redis; the crash test runs on a private node of its own.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import fixture_app
import pytest
from private_rabbitmq import private_rabbit
from pydantic import BaseModel
from runtime_support import HERE, IN_CI, Processes, is_final, redis_url, wait_for

from jobforge_runtime import App, Catalogue, JobContext, Settings, job
from jobforge_runtime.errors import SettingsError
from jobforge_runtime.glue.celery_amqp import queue_arguments
from jobforge_runtime.ledger.choice import ledger_for_url
from jobforge_runtime.records import JobStatus

AMQP_URL = os.environ.get("RUNTIME_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672//")
LEDGER_DB = 4  # the Redis database these tests keep their ledgers in


def amqp_url() -> str:
    """Return the shared RabbitMQ's URL, or skip (locally) / fail (under CI) when it is down."""
    import kombu

    try:
        with kombu.Connection(AMQP_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:
        reason = f"RabbitMQ at {AMQP_URL} is not reachable ({exc}); start it (README 'Services')"
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    return AMQP_URL


def ledger_url() -> str:
    """Return the Redis URL of the tests' ledgers (database 4)."""
    return redis_url().rsplit("/", 1)[0] + f"/{LEDGER_DB}"


def _cleanup(broker: str, ledger: str, prefix: str) -> None:
    import kombu
    import redis

    with kombu.Connection(broker, connect_timeout=2) as conn:
        channel = conn.channel()
        for name in ("default", "slow", "other"):
            try:
                channel.queue_delete(f"{prefix}.{name}")
            except Exception:
                channel = conn.channel()
        with contextlib.suppress(Exception):
            channel.exchange_delete(prefix)
    client = redis.Redis.from_url(ledger)
    keys = list(client.scan_iter(match=f"*{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


# -- the consumer timeout, without a broker -------------------------------------------------------


class Nothing(BaseModel):
    """Payload of the long job below."""


@job("test.long", payload=Nothing, timeout_s=1000)
def long_job(ctx: JobContext, payload: Nothing) -> None:
    """Do nothing, allowed 1,000 s per attempt."""


def test_jobs_that_fit_the_consumer_timeout_get_quorum_queues_and_no_timeout_argument() -> None:
    args = queue_arguments(Settings(timeout_s=120), fixture_app.catalogue, lambda: (3, 10))
    assert args == {"x-queue-type": "quorum"}
    assert queue_arguments(Settings(), fixture_app.catalogue, lambda: (3, 7)) == {}


def test_a_job_longer_than_the_consumer_timeout_sets_it_per_queue_on_312_or_is_refused() -> None:
    catalogue = Catalogue([long_job])
    args = queue_arguments(Settings(), catalogue, lambda: (3, 13))
    assert args == {"x-queue-type": "quorum", "x-consumer-timeout": 2_060_000}
    with pytest.raises(SettingsError, match=r"timeout_s=1000: .* 2060 s .* RabbitMQ 3\.10 "):
        queue_arguments(Settings(), catalogue, lambda: (3, 10))
    with pytest.raises(SettingsError, match="an unreachable broker"):
        queue_arguments(Settings(), catalogue, lambda: None)
    # the operator raised consumer_timeout in rabbitmq.conf and said so
    assert queue_arguments(Settings(), catalogue, lambda: (3, 10), consumer_timeout_s=3600) == {
        "x-queue-type": "quorum"
    }


def test_the_ledger_is_postgresql_or_redis_by_url_and_nothing_else() -> None:
    with pytest.raises(SettingsError, match=r"ledger_url='': .* JOBS_LEDGER_URL=postgresql://"):
        ledger_for_url("", prefix="x", backend="celery_amqp")
    with pytest.raises(SettingsError, match="ledger_url='sqlite:///x'"):
        ledger_for_url("sqlite:///x", prefix="x", backend="sqs")
    assert (
        type(ledger_for_url("redis://h:1/4", prefix="x", backend="sqs")).__name__ == "RedisLedger"
    )
    postgres = ledger_for_url("postgresql://app@h/db", prefix="x", backend="sqs")  # lazy
    assert type(postgres).__name__ == "PostgresLedger"


# -- on the shared broker ------------------------------------------------------------------


@pytest.fixture
def amqp_processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBS_")}
    prefix = f"jf13_{uuid.uuid4().hex[:10]}"
    env.update(
        {
            "PYTHONPATH": os.pathsep.join([str(HERE), env.get("PYTHONPATH", "")]),
            "RT_TEST_BACKEND": "celery_amqp",
            "JOBS_BROKER_URL": amqp_url(),
            "JOBS_LEDGER_URL": ledger_url(),
            "JOBS_KEY_PREFIX": prefix,
            "JOBS_LEASE_S": "1.5",
            "RT_TEST_LOG": str(tmp_path / "effects.log"),
        }
    )
    group = Processes(tmp_path, env)
    yield group
    group.stop_all()
    _cleanup(env["JOBS_BROKER_URL"], env["JOBS_LEDGER_URL"], prefix)


def _app(env: dict[str, str]) -> App:
    jobs_env = {k: v for k, v in env.items() if k.startswith("JOBS_")}
    return App(
        settings=Settings.from_env(fixture_app.app.base_settings, jobs_env),
        catalogue=fixture_app.catalogue,
        read_env=False,
        backend="celery_amqp",
    )


@pytest.mark.integration
def test_a_retry_waits_in_the_broker_and_the_queue_is_a_quorum_queue(
    amqp_processes: Processes,
) -> None:
    import amqp
    import kombu

    app = _app(amqp_processes.env)
    amqp_processes.start("worker", "--concurrency", "2")
    job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="r1", fail_times=1))
    record = wait_for(lambda: app.runtime.status(job_id), is_final)
    assert (record.status, record.attempts) == (JobStatus.COMPLETED, 2)
    prefix = amqp_processes.env["JOBS_KEY_PREFIX"]
    with (
        kombu.Connection(amqp_processes.env["JOBS_BROKER_URL"]) as conn,
        pytest.raises(amqp.exceptions.PreconditionFailed, match="x-queue-type"),
    ):
        conn.channel().queue_declare(f"{prefix}.default", durable=True, auto_delete=False)


@pytest.mark.integration
def test_building_on_the_shared_broker_refuses_a_job_past_its_consumer_timeout() -> None:
    settings = Settings(broker_url=amqp_url(), ledger_url=ledger_url(), key_prefix="jf13_refuse")
    app = App(
        settings=settings, catalogue=Catalogue([long_job]), read_env=False, backend="celery_amqp"
    )
    with pytest.raises(SettingsError, match=r"consumer_timeout of 1800 s, and RabbitMQ 3\.\d+"):
        _ = app.runtime


@pytest.mark.integration
def test_a_job_queued_before_a_broker_restart_completes_after_it(
    tmp_path: Path, amqp_processes: Processes
) -> None:
    import amqp
    import kombu

    node = private_rabbit(tmp_path / "rabbit")
    node.start()
    try:
        env = dict(amqp_processes.env, JOBS_BROKER_URL=node.url)
        app = _app(env)
        job_id = app.enqueue(fixture_app.work, fixture_app.Work(key="survivor"))
        with kombu.Connection(node.url) as conn:  # the control: no durability, lost in a crash
            transient = kombu.Queue("jf13_transient", durable=False, auto_delete=False)
            with conn.Producer() as producer:
                producer.publish(
                    {"x": 1}, routing_key=transient.name, declare=[transient], delivery_mode=1
                )
        node.stop()
        node.start()
        with kombu.Connection(node.url) as conn, pytest.raises(amqp.exceptions.NotFound):
            conn.channel().queue_declare("jf13_transient", passive=True)
        workers = Processes(amqp_processes.tmp, env)
        try:
            workers.start("worker", "--concurrency", "1")
            record = wait_for(lambda: app.runtime.status(job_id), is_final)
        finally:
            workers.stop_all()
        assert record.status is JobStatus.COMPLETED
        assert "effect survivor" in (amqp_processes.tmp / "effects.log").read_text()
    finally:
        node.stop()
