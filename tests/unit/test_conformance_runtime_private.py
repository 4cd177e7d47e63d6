"""The runtime adapter on RQ and procrastinate: probe delays at scale, private broker restarts.

The probes' retry delays grow with the backend's start latency so jitter shows; a job queued on
the run's private broker or store survives the kit's restart of it and completes afterwards.
"""

from __future__ import annotations

import glob
import shutil
import time
import uuid
from pathlib import Path

import pytest
from jobforge.conformance.adapter import JobStatus, RunContext, Timing
from jobforge.conformance.frameworks import load_framework_adapter
from jobforge.conformance.frameworks.runtime import RuntimeAdapter
from jobforge.conformance.frameworks.runtime_app import run_app, run_settings
from jobforge.conformance.frameworks.runtime_description import START_LATENCY_S, probe_timing
from jobforge.conformance.history import Ledger
from jobforge.conformance.probes import PROBE_DEFAULT

pytestmark = pytest.mark.unit

APP_MODULE = """
from pydantic import BaseModel
from jobforge_runtime import App, Catalogue, JobContext, Settings, job

class Ping(BaseModel):
    n: int

@job("pings.ping", payload=Ping)
def ping(ctx: JobContext, payload: Ping) -> None:
    pass

SETTINGS = Settings(broker_url={url!r}, backoff_jitter={jitter})
APP = App(settings=SETTINGS, catalogue=Catalogue([ping]), backend={backend!r}, read_env=False)
"""
#: Placeholders: a run with a private broker replaces them with the private server's URL.
URLS = {"rq": "redis://127.0.0.1:1/0", "procrastinate": "postgresql://postgres@127.0.0.1:1/none"}


def _adapter(tmp_path: Path, backend: str, jitter: float = 0.25) -> RuntimeAdapter:
    module = f"rt_private_{uuid.uuid4().hex[:8]}"
    text = APP_MODULE.format(url=URLS[backend], jitter=jitter, backend=backend)
    (tmp_path / f"{module}.py").write_text(text, encoding="utf-8")
    adapter = load_framework_adapter("jobforge-runtime", f"{module}:APP", search=tmp_path)
    assert isinstance(adapter, RuntimeAdapter)
    return adapter


def test_probe_retry_delays_grow_until_jitter_outruns_the_start_latency() -> None:
    timing = Timing()
    scaled = probe_timing(timing, "rq", 0.25)
    # The first delay's jitter now spans 1.5 start latencies; the delays keep their shape.
    assert 0.25 * scaled.backoff_base_s == pytest.approx(1.5 * START_LATENCY_S["rq"])
    assert scaled.backoff_cap_s / scaled.backoff_base_s == pytest.approx(4.0)
    assert probe_timing(timing, "procrastinate", 0.25) == timing  # starts due jobs at once
    assert probe_timing(timing, "rq", 0.0) == timing  # no jitter to make visible
    assert (
        probe_timing(Timing(backoff_base_s=2.0, backoff_cap_s=8.0), "rq", 0.25).backoff_base_s
        == 2.0
    )


def test_an_rq_run_declares_the_delays_its_probe_jobs_use(tmp_path: Path) -> None:
    adapter = _adapter(tmp_path, "rq")
    declared = adapter.describe().job(PROBE_DEFAULT).backoff_delays_s
    assert declared == (0.6, 1.2, 2.4)
    settings = run_settings(
        adapter.user_app, timing=Timing(), workdir=tmp_path, run_id="t", log_file=tmp_path / "l"
    )
    run = run_app(adapter.user_app, settings, Timing())
    policy = run.catalogue.get(PROBE_DEFAULT).retry_policy(settings)
    assert tuple(policy.base_delay(n) for n in range(1, policy.max_attempts)) == declared


def _needs_server(backend: str) -> None:
    if backend == "rq" and shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed; install it to run the private-broker test")
    if backend == "procrastinate" and not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("initdb not found under /usr/lib/postgresql/*/bin; install PostgreSQL")


@pytest.mark.parametrize("backend", ["rq", "procrastinate"])
def test_a_job_queued_before_a_private_broker_restart_completes_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    _needs_server(backend)
    monkeypatch.setenv("JOBFORGE_PRIVATE_BROKER", "1")
    adapter = _adapter(tmp_path, backend)
    ledger = Ledger(tmp_path / "ledger.db", run_id="private")
    ledger.initialize()
    adapter.setup(RunContext(ledger_path=ledger.path, workdir=tmp_path / "run", run_id="private"))
    try:
        job_id = adapter.submit(PROBE_DEFAULT, {"probe_id": "queued-before-restart"})
        adapter.restart_broker()  # SIGKILL (redis) or an immediate stop (PostgreSQL), then start
        assert adapter.inspect(job_id).status is JobStatus.PENDING
        adapter.start_workers(1)
        deadline = time.monotonic() + 60
        while (status := adapter.inspect(job_id).status) is not JobStatus.COMPLETED:
            assert time.monotonic() < deadline, f"job {job_id} still {status} after 60 s"
            time.sleep(0.1)
        adapter.stop_broker()
        asked = time.monotonic()
        assert adapter.health()["status"] == "degraded"  # answered, not hung on the dead server
        assert time.monotonic() - asked < 8.0
        adapter.start_broker()  # the run's store is emptied at teardown
    finally:
        adapter.teardown()
