"""The run's private redis-server keeps its data through a crash and restart (broker_restart)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from jobforge.conformance.frameworks import load_framework_adapter
from jobforge.conformance.frameworks.private_redis import PrivateRedis

from jobforge.errors import UsageError

pytestmark = pytest.mark.unit

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "runtime-app"


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_a_crashed_private_broker_comes_back_with_its_data(tmp_path: Path) -> None:
    import redis

    broker = PrivateRedis(tmp_path / "redis")
    broker.start()
    try:
        client = redis.Redis.from_url(broker.url, socket_connect_timeout=0.5)
        client.rpush("queue", "job-1")
        broker.crash()
        with pytest.raises(redis.ConnectionError):
            client.ping()
        broker.start()
        assert client.lrange("queue", 0, -1) == [b"job-1"]  # every write synced before the crash
        broker.restart()
        assert client.llen("queue") == 1
        client.close()
    finally:
        broker.crash()


def test_a_private_broker_for_an_app_on_sqlite_names_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JOBFORGE_PRIVATE_BROKER", "1")
    monkeypatch.delenv("SHOP_JOBS_BACKEND", raising=False)
    with pytest.raises(UsageError, match="has no broker to restart; unset JOBFORGE_PRIVATE_BROKER"):
        load_framework_adapter("jobforge-runtime", "shop_jobs.app:APP", search=EXAMPLE)
