"""The four server backends' generated projects: clean, their own tests green, and their score.

For each of ``examples/answers/{rq-redis,postgres,celery-rabbitmq,sqs}.yml`` the project made by
``jobforge new`` (shared per session) is ruff- and ``mypy --strict``-clean and passes its own
tests on the real service with real worker processes: Redis, PostgreSQL, RabbitMQ (ledger in
Redis), and for SQS a ``moto_server`` subprocess on a free port reached through
``AWS_ENDPOINT_URL`` (ledger in Redis). ``jobforge score`` runs for the backends named in
``JOBFORGE_SCORE_BACKENDS`` (comma-separated; ``postgres,celery-rabbitmq`` by default, to keep
``.ci/run`` inside its limit; README "Scoring the server backends" runs all four and says what
RQ and SQS measured): 35/35 for RQ and procrastinate; 33/35 for RabbitMQ and SQS, whose only miss
is ``concurrency.priority_order`` (unsupported: quorum queues before RabbitMQ 4.0 and SQS carry no
priorities).

Where the services live can be moved with ``JOBFORGE_TEST_POSTGRES_URL``,
``JOBFORGE_TEST_AMQP_URL``, ``JOBS_TEST_BROKER_URL`` (Redis) and ``JOBFORGE_TEST_KEY_PREFIX``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from generated_support import (
    BIN,
    TEST_REDIS_URL,
    GeneratedProjects,
    ok,
    package_of,
    project_env,
    run,
)
from services_support import IN_CI, require_service

pytestmark = pytest.mark.acceptance

NAMES = ["rq-redis", "postgres", "celery-rabbitmq", "sqs"]
SCORED = os.environ.get("JOBFORGE_SCORE_BACKENDS", "postgres,celery-rabbitmq").split(",")
#: What each backend cannot earn on its broker, and why (the only checks allowed not to pass).
UNSUPPORTED = {
    "celery-rabbitmq": {"concurrency.priority_order"},  # quorum queues: no priorities before 4.0
    "sqs": {"concurrency.priority_order"},  # SQS has no message priorities
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start ``moto_server`` (an SQS-compatible server) on a free port; yield its URL."""
    binary = shutil.which("moto_server") or shutil.which("moto_server", path=str(BIN))
    if binary is None:
        reason = "moto_server is not installed: pip install 'moto[server]'"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    port = _free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
    yield url
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=10)


def _env(name: str, project: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """Return the project's environment with its service's URLs, for its tests and the kit."""
    env = project_env(project)
    env["JOBS_TEST_KEY_PREFIX"] = os.environ.get("JOBFORGE_TEST_KEY_PREFIX", "jf-accept")
    if name == "rq-redis":
        require_service("redis")
        broker = TEST_REDIS_URL
    elif name == "postgres":
        broker = os.environ.get("JOBFORGE_TEST_POSTGRES_URL") or require_service("postgres")
    else:
        require_service("redis")
        env["JOBS_LEDGER_URL"] = env["JOBS_TEST_LEDGER_URL"] = TEST_REDIS_URL
        if name == "celery-rabbitmq":
            broker = os.environ.get("JOBFORGE_TEST_AMQP_URL") or require_service("rabbitmq")
        else:
            endpoint = request.getfixturevalue("moto")
            broker = "sqs://?wait_s=1"
            env.update(
                AWS_ENDPOINT_URL=endpoint,
                AWS_ACCESS_KEY_ID="testing",
                AWS_SECRET_ACCESS_KEY="testing",
                AWS_REGION="us-east-1",
            )
    env["JOBS_BROKER_URL"] = env["JOBS_TEST_BROKER_URL"] = broker
    return env


@pytest.fixture(scope="module", params=NAMES)
def backend(
    request: pytest.FixtureRequest, generated_projects: GeneratedProjects
) -> tuple[str, Path, dict[str, str]]:
    """One example's project and the environment pointing it at its service."""
    name: str = request.param
    project = generated_projects.get(name)
    return name, project, _env(name, project, request)


def test_the_project_is_lint_and_type_clean(backend: tuple[str, Path, dict[str, str]]) -> None:
    _, project, env = backend
    package = package_of(project)
    paths = [package, f"tests/{package}"]
    ok(run([BIN / "ruff", "check", *paths], project, env=env))
    ok(run([BIN / "ruff", "format", "--check", *paths], project, env=env))
    ok(run([BIN / "mypy", *paths], project, env=env))


def test_the_projects_own_tests_pass_on_the_real_service(
    backend: tuple[str, Path, dict[str, str]],
) -> None:
    _, project, env = backend
    command = [BIN / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    out = ok(run(command, project, env=env))
    assert " passed" in out and "skipped" not in out, out


def test_the_project_scores_what_its_backend_can(
    backend: tuple[str, Path, dict[str, str]],
) -> None:
    name, project, env = backend
    if name not in SCORED:
        pytest.skip(f"{name} is scored when JOBFORGE_SCORE_BACKENDS names it (README)")
    out = project.parent / f"{name}-backend-score.json"
    done = run([BIN / "jobforge", "score", "--no-progress", "--json", out], project, env=env)
    shown = f"{done.stdout[-6000:]}\n{done.stderr[-3000:]}"
    results = json.loads(out.read_text(encoding="utf-8"))
    missed = {o["check_id"]: o["outcome"] for o in results["outcomes"] if o["outcome"] != "pass"}
    allowed = UNSUPPORTED.get(name, set())
    assert missed == dict.fromkeys(allowed, "unsupported"), shown
    assert results["scorecard"]["total"] == 35 - 2 * len(allowed), shown
