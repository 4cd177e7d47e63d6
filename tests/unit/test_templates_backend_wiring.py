"""The four server backends render a subsystem on the right runtime backend, with no secret.

RQ on Redis, procrastinate on PostgreSQL, Celery on RabbitMQ and SQS: each example's project
sets its App's backend, depends on the runtime extras that bring the framework (and, where the
broker keeps no job records, both ledger clients), reads its URLs from the environment, and its
README names the services to start.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from templates_support import answers, render, template_root

pytestmark = pytest.mark.unit

#: example -> (runtime backend, runtime extras, the broker keeps no job records)
BACKENDS = {
    "rq-redis": ("rq", "rq", False),
    "postgres": ("procrastinate", "procrastinate", False),
    "celery-rabbitmq": ("celery_amqp", "amqp,postgres", True),
    "sqs": ("sqs", "sqs,redis,postgres", True),
}


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Render each example once for the module."""
    root = template_root(tmp_path_factory.mktemp("root"))
    out = tmp_path_factory.mktemp("projects")
    return {name: render(root, out / name, answers(name)) for name in BACKENDS}


def _package(project: Path, name: str) -> Path:
    return project / str(answers(name)["package_name"])


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_the_app_runs_on_the_backend_of_its_technology(
    name: str, projects: dict[str, Path]
) -> None:
    backend, extras, _ = BACKENDS[name]
    project = projects[name]
    assert f'backend="{backend}"' in (_package(project, name) / "app.py").read_text()
    pyproject = tomllib.loads((project / "pyproject.toml").read_text())
    assert pyproject["project"]["dependencies"] == [f"jobforge-runtime[{extras}]>=0.1,<0.2"]
    assert f"runtime[{extras}]" in (project / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_urls_come_from_the_environment_and_no_file_holds_a_secret(
    name: str, projects: dict[str, Path]
) -> None:
    _, _, separate_ledger = BACKENDS[name]
    project = projects[name]
    settings = (_package(project, name) / "settings.py").read_text()
    assert ("ledger_url=" in settings) == separate_ledger
    assert ("JOBS_LEDGER_URL" in settings) == separate_ledger
    readme = (project / "README.md").read_text()
    assert "export JOBS_BROKER_URL=" in readme
    assert ("export JOBS_LEDGER_URL=" in readme) == separate_ledger
    for path in project.rglob("*"):
        if path.is_file() and path.suffix in {".py", ".toml", ".yml", ".yaml", ".md"}:
            text = path.read_text(encoding="utf-8")
            assert "guest:guest" not in text or path.name == "jobs.yml", path
            assert "AWS_SECRET_ACCESS_KEY=" not in text or "..." in text or "testing" in text, path


def test_the_sqs_project_reaches_a_local_server_through_the_environment(
    projects: dict[str, Path],
) -> None:
    project = projects["sqs"]
    conftest = next(project.glob("tests/*/conftest.py")).read_text()
    assert "AWS_ENDPOINT_URL" in conftest
    workflow = (project / ".github" / "workflows" / "jobs.yml").read_text()
    assert "moto_server" in workflow and "AWS_ENDPOINT_URL" in workflow
