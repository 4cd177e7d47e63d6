"""The bundled Celery and Huey adapters declare what the app's configuration offers, no more."""

from __future__ import annotations

import textwrap
import uuid
from pathlib import Path

import pytest
from jobforge.conformance.adapter import Adapter, Capability, JitterModel, WorkerProcesses
from jobforge.conformance.frameworks import load_framework_adapter
from jobforge.conformance.frameworks.appref import AppRefError

pytestmark = pytest.mark.unit


def _app(tmp_path: Path, body: str) -> str:
    name = f"fwapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def _celery(tmp_path: Path, conf: str = "") -> str:
    return _app(
        tmp_path,
        f"""
        from celery import Celery
        app = Celery("t", broker="redis://127.0.0.1:6379/8")
        {conf}
        """,
    )


def test_celery_adapter_is_a_full_adapter_that_reports_worker_pids(tmp_path: Path) -> None:
    adapter = load_framework_adapter("celery", f"{_celery(tmp_path)}:app", search=tmp_path)
    assert isinstance(adapter, Adapter)
    assert isinstance(adapter, WorkerProcesses)


def test_celery_default_app_declares_prefork_time_limits_and_full_jitter(tmp_path: Path) -> None:
    description = load_framework_adapter(
        "celery", f"{_celery(tmp_path)}:app", search=tmp_path
    ).describe()
    assert Capability.TIMEOUTS in description.capabilities
    assert Capability.IDEMPOTENCY_KEYS not in description.capabilities
    spec = description.job("probe.default")
    assert spec.backoff_delays_s == (1.0, 2.0, 4.0)
    assert spec.timing_facts is not None and spec.timing_facts.jitter is JitterModel.FULL


def test_celery_threads_pool_declares_no_time_limits(tmp_path: Path) -> None:
    threads = "app.conf.worker_pool = 'threads'"
    ref = f"{_celery(tmp_path, threads)}:app"
    description = load_framework_adapter("celery", ref, search=tmp_path).describe()
    assert Capability.TIMEOUTS not in description.capabilities
    assert description.job("probe.default").timeout_s is None


def test_celery_lost_task_note_follows_task_acks_late(tmp_path: Path) -> None:
    early = load_framework_adapter("celery", f"{_celery(tmp_path)}:app", search=tmp_path)
    late = load_framework_adapter(
        "celery", f"{_celery(tmp_path, 'app.conf.task_acks_late = True')}:app", search=tmp_path
    )
    assert "task_acks_late=False" in early.lost_in_flight  # type: ignore[attr-defined]
    assert "visibility_timeout" in late.lost_in_flight  # type: ignore[attr-defined]


def test_celery_without_a_redis_broker_is_refused_naming_broker_url(tmp_path: Path) -> None:
    name = _app(tmp_path, "from celery import Celery\napp = Celery('t', broker='memory://')\n")
    with pytest.raises(AppRefError, match="broker_url is 'memory://'"):
        load_framework_adapter("celery", f"{name}:app", search=tmp_path)


def test_huey_declares_backoff_on_the_scheduler_tick_without_jitter(tmp_path: Path) -> None:
    name = _app(tmp_path, "from huey import RedisHuey\nhuey = RedisHuey('t', db=9)\n")
    description = load_framework_adapter("huey", f"{name}.huey", search=tmp_path).describe()
    spec = description.job("probe.default")
    assert spec.backoff_delays_s == (1.0, 2.0, 4.0)
    assert spec.timing_facts is not None
    assert (spec.timing_facts.jitter, spec.timing_facts.resolution_s) == (JitterModel.NONE, 1.0)
    assert Capability.TIMEOUTS not in description.capabilities  # thread workers


def test_huey_on_sqlite_is_refused_naming_redis_storage(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    name = _app(tmp_path, f"from huey import SqliteHuey\nhuey = SqliteHuey('t', filename={db!r})\n")
    with pytest.raises(AppRefError, match="needs Redis storage"):
        load_framework_adapter("huey", f"{name}:huey", search=tmp_path)
