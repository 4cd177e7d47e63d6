"""The pieces every bundled adapter shares: app references, worker processes, settings, job book."""

from __future__ import annotations

import sys
import textwrap
import uuid
from pathlib import Path

import psutil
import pytest
import redis
from jobforge.conformance.adapter import JobStatus, Timing
from jobforge.conformance.frameworks.appref import AppRef, AppRefError, load_app
from jobforge.conformance.frameworks.jobbook import JobBook
from jobforge.conformance.frameworks.settings import KitSettings
from jobforge.conformance.frameworks.workers import WorkerCommand, WorkerSet, WorkerStartError
from services_support import require_service


@pytest.mark.parametrize(
    ("ref", "module", "attr"),
    [("proj.celery_app:app", "proj.celery_app", "app"), ("proj.tasks.huey", "proj.tasks", "huey")],
)
def test_app_ref_parses_both_cli_spellings(ref: str, module: str, attr: str) -> None:
    parsed = AppRef.parse(ref, framework="celery")
    assert (parsed.module, parsed.attr) == (module, attr)


def test_app_ref_without_module_names_the_form_to_use() -> None:
    with pytest.raises(AppRefError, match="module:attr"):
        AppRef.parse("app", framework="celery")


def _project(tmp_path: Path, body: str) -> str:
    name = f"userapp_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_load_app_returns_the_named_object(tmp_path: Path) -> None:
    name = _project(tmp_path, "app = {'kind': 'app'}\n")
    app = load_app(
        AppRef.parse(f"{name}:app", framework="x"), search=tmp_path, kind=dict, framework="x"
    )
    assert app == {"kind": "app"}


def test_load_app_missing_attribute_lists_what_the_module_has(tmp_path: Path) -> None:
    name = _project(tmp_path, "celery_app = 1\n")
    with pytest.raises(AppRefError, match=r"no attribute 'app' \(it has celery_app\)"):
        load_app(
            AppRef.parse(f"{name}:app", framework="x"), search=tmp_path, kind=int, framework="x"
        )


def test_load_app_of_the_wrong_kind_says_what_it_found(tmp_path: Path) -> None:
    name = _project(tmp_path, "app = 'not an app'\n")
    with pytest.raises(AppRefError, match=r"is a str, not a builtins\.int"):
        load_app(
            AppRef.parse(f"{name}:app", framework="x"), search=tmp_path, kind=int, framework="x"
        )


def test_load_app_missing_module_names_the_directory(tmp_path: Path) -> None:
    with pytest.raises(AppRefError, match="not importable from"):
        load_app(
            AppRef.parse("no_such_mod_x:app", framework="x"),
            search=tmp_path,
            kind=int,
            framework="x",
        )


def test_kit_settings_round_trip_through_the_environment(tmp_path: Path) -> None:
    settings = KitSettings(
        framework="huey", app="p.t:huey", search=tmp_path, prefix="jf-1", timing=Timing(grace_s=3.0)
    )
    env = settings.to_env()
    assert KitSettings.from_env(env) == settings
    assert str(tmp_path) in env["PYTHONPATH"]


# A worker that starts a child (like a prefork pool), says it is ready, and waits.
_WORKER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("worker ready.", flush=True)
time.sleep(60)
"""


def _workers(tmp_path: Path, script: str = _WORKER) -> WorkerSet:
    return WorkerSet(
        logs=tmp_path / "logs",
        command_for=lambda worker: WorkerCommand(
            argv=(sys.executable, "-c", script), ready_marker="worker ready."
        ),
        ready_timeout_s=20.0,
    )


def test_worker_set_reports_the_whole_process_tree_and_kills_it(tmp_path: Path) -> None:
    workers = _workers(tmp_path)
    (worker,) = workers.start(1)
    pids = list(workers.pids(worker))
    assert len(pids) == 2  # the main process and its child
    workers.stop(worker, graceful=False, grace_s=0.0)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids)
    assert workers.pids(worker) == []


def test_worker_that_exits_before_ready_raises_with_its_log(tmp_path: Path) -> None:
    workers = _workers(tmp_path, "print('config broken'); raise SystemExit(3)")
    with pytest.raises(WorkerStartError, match=r"exited with 3 .*config broken"):
        workers.start(1)


def test_job_book_follows_a_job_and_disowns_it_after_reset() -> None:
    url = require_service("redis")
    client = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/8")
    book = JobBook(client, f"jobforge-test-{uuid.uuid4().hex[:8]}")
    try:
        book.submitted("j1", "probe.default")
        assert book.info("j1").status is JobStatus.PENDING  # type: ignore[union-attr]
        assert book.started("j1", "w1") == 1
        book.ended("j1", JobStatus.RETRYING, "retry in 1 s")
        assert book.started("j1", "w2") == 2
        book.ended("j1", JobStatus.COMPLETED)
        info = book.info("j1")
        assert info is not None
        assert (info.status, info.attempts, info.error) == (JobStatus.COMPLETED, 2, None)
        assert book.worker_of("j1") == "w2"
        assert book.current("j1")
        book.reset()
        assert not book.current("j1")
        assert book.info("j1") is None
    finally:
        book.clear()


def test_a_late_report_of_an_earlier_attempt_does_not_hide_the_latest_outcome() -> None:
    url = require_service("redis")
    client = redis.Redis.from_url(url.rsplit("/", 1)[0] + "/8")
    book = JobBook(client, f"jobforge-test-{uuid.uuid4().hex[:8]}")
    try:
        book.submitted("j1", "probe.default")
        book.started("j1", "w1")
        book.started("j1", "w2")  # the retry ran at once, before attempt 1 reported
        assert book.ended("j1", JobStatus.COMPLETED, attempt=2)
        assert not book.ended("j1", JobStatus.RETRYING, "retry: boom", attempt=1)
        info = book.info("j1")
        assert info is not None
        assert (info.status, info.error) == (JobStatus.COMPLETED, None)
    finally:
        book.clear()
