"""The template renders the right files for each queue technology, with safe defaults."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from templates_support import ANSWERS_FILE, answers, render, template_root

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build one template root for the module."""
    return template_root(tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module")
def sqlite_project(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a project from the sqlite answers."""
    return render(root, tmp_path_factory.mktemp("sqlite") / "app", answers("sqlite"))


@pytest.fixture(scope="module")
def celery_project(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generate a project from the celery-redis answers."""
    return render(root, tmp_path_factory.mktemp("celery") / "app", answers("celery-redis"))


def _package(project: Path) -> Path:
    name = yaml.safe_load((project / ANSWERS_FILE).read_text())["package_name"]
    return project / name


def _python_files(project: Path) -> list[Path]:
    return sorted(p for p in project.rglob("*.py") if "__pycache__" not in p.parts)


#: The modules of a generated package: what the team edits, and nothing of the engine.
PACKAGE_FILES = {
    "__init__.py",
    "__main__.py",
    "app.py",
    "scheduled.py",
    "scheduler.py",
    "settings.py",
    "tasks.py",
    "worker.py",
}


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_the_package_holds_only_what_the_team_edits(
    name: str, sqlite_project: Path, celery_project: Path
) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    package = _package(project)
    assert {p.name for p in package.glob("*.py")} == PACKAGE_FILES
    assert not [p for p in package.iterdir() if p.is_dir() and p.name != "__pycache__"]
    backend = "huey" if name == "sqlite" else "celery"
    assert f'backend="{backend}"' in (package / "app.py").read_text()
    assert not list(project.rglob("*.jinja"))


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_every_generated_python_file_parses(
    name: str, sqlite_project: Path, celery_project: Path
) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    files = _python_files(project)
    assert len(files) >= 10
    for path in files:
        ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_generated_code_never_pickles(
    name: str, sqlite_project: Path, celery_project: Path
) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    for path in _python_files(project):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        }
        imported |= {
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        }
        assert not {"pickle", "cloudpickle", "dill"} & imported, path


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_pyproject_depends_on_the_runtime_and_names_the_app(
    name: str, sqlite_project: Path, celery_project: Path
) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    data = tomllib.loads((project / "pyproject.toml").read_text())
    extra = "huey" if name == "sqlite" else "celery"
    assert data["project"]["dependencies"] == [f"jobforge-runtime[{extra}]>=0.1,<0.2"]
    assert data["tool"]["jobforge"] == {
        "framework": "jobforge-runtime",
        "app": f"{_package(project).name}.app:APP",
    }
    assert "conformance" not in data["project"].get("optional-dependencies", {})


def _settings(project: Path) -> dict[str, Any]:
    code = (
        "import json\n"
        f"from {_package(project).name}.settings import SETTINGS\n"
        "print(SETTINGS.model_dump_json())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project)},
    ).stdout
    loaded: dict[str, Any] = json.loads(out)
    return loaded


def test_settings_carry_the_answers(celery_project: Path) -> None:
    chosen = answers("celery-redis")
    settings = _settings(celery_project)
    assert settings["broker_url"] == chosen["broker_url"]
    assert settings["queues"] == chosen["queues"]
    assert settings["worker_concurrency"] == chosen["worker_concurrency"]
    assert settings["global_concurrency"] is None  # worker_count plans processes, it caps nothing
    assert settings["log_job_events"] is ("json_logs" in chosen["monitoring_tools"])
    assert settings["max_attempts"] == chosen["max_retries"] + 1
    assert settings["timeout_s"] == chosen["job_timeout_seconds"]
    delays = chosen["backoff_delays_seconds"]
    assert (settings["backoff_base_s"], settings["backoff_max_s"]) == (delays[0], delays[-1])
    assert settings["timezone"] == chosen["timezone"]
    assert settings["alert_webhook_format"] == "slack"  # the first of slack, pagerduty
    assert (settings["overlap_policy"], settings["missed_run_policy"]) == (
        chosen["overlap_policy"],
        chosen["missed_run_policy"],
    )


def test_celery_settings_avoid_the_known_traps(celery_project: Path) -> None:
    code = (
        "import json\n"
        "from jobforge_runtime.glue.celery import celery_app\n"
        f"from {_package(celery_project).name}.app import APP\n"
        "conf = celery_app(APP.base_settings, APP.catalogue).conf\n"
        "keys = ['task_acks_late', 'task_reject_on_worker_lost', 'worker_prefetch_multiplier',\n"
        "        'task_serializer', 'accept_content', 'broker_transport_options']\n"
        "print(json.dumps({k: conf[k] for k in keys}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=celery_project,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(celery_project)},
    ).stdout
    config: dict[str, Any] = json.loads(out)
    assert config["task_acks_late"] and config["task_reject_on_worker_lost"]
    assert config["worker_prefetch_multiplier"] == 1
    assert config["task_serializer"] == "json" and config["accept_content"] == ["json"]
    timeout = answers("celery-redis")["job_timeout_seconds"]
    assert config["broker_transport_options"]["visibility_timeout"] > timeout


def test_only_chosen_job_types_are_generated(root: Path, tmp_path: Path) -> None:
    chosen = {
        **answers("sqlite"),
        "job_types": ["immediate"],
        "schedules": [],
        "scheduler_tool": "none",
    }
    project = render(root, tmp_path / "app", chosen)
    text = (_package(project) / "tasks.py").read_text()
    assert "emails.send_welcome" in text
    assert "imports.records" not in text and "batch.run" not in text
    assert not (_package(project) / "scheduled.py").exists()
    assert "Schedule" not in (_package(project) / "app.py").read_text()
    ast.parse(text)


def test_existing_project_files_are_never_overwritten(root: Path, tmp_path: Path) -> None:
    project = tmp_path / "existing"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "mine"\n')
    (project / "README.md").write_text("# Mine\n")
    render(root, project, answers("sqlite"))
    assert (project / "pyproject.toml").read_text() == '[project]\nname = "mine"\n'
    assert (project / "README.md").read_text() == "# Mine\n"
    assert (_package(project) / "app.py").is_file()


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_alert_rules_pass_promtool(name: str, sqlite_project: Path, celery_project: Path) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    promtool = shutil.which("promtool")
    if promtool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool is missing: install Debian's prometheus package")
        pytest.skip("promtool not installed (apt-get install prometheus)")
    result = subprocess.run(
        [promtool, "check", "rules", str(project / "monitoring" / "alerts.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    chosen = answers("sqlite" if name == "sqlite" else "celery-redis")["metrics"]
    assert f"SUCCESS: {len(chosen)} rules found" in result.stdout  # one rule per chosen metric


def test_alert_thresholds_come_from_the_answers(celery_project: Path) -> None:
    chosen = answers("celery-redis")
    rules = yaml.safe_load((celery_project / "monitoring" / "alerts.yml").read_text())
    exprs = {r["alert"]: r["expr"] for r in rules["groups"][0]["rules"]}
    assert exprs["JobsQueueDepthHigh"].endswith(f"> {chosen['queue_depth_alert']}")
    assert exprs["JobsDeadLetterQueueFilling"].endswith(f">= {chosen['dlq_alert_threshold']}")


def test_ci_workflow_starts_redis_and_gates_the_score(celery_project: Path) -> None:
    workflow = yaml.safe_load((celery_project / ".github" / "workflows" / "jobs.yml").read_text())
    job = workflow["jobs"]["test"]
    assert "redis" in job["services"]
    commands = " ".join(step.get("run", "") for step in job["steps"])
    assert "jobforge score" in commands and "--policy jobforge-policy.yml" in commands
    policy = yaml.safe_load((celery_project / "jobforge-policy.yml").read_text())
    assert policy["minimum_total"] == 28


@pytest.mark.parametrize("name", ["sqlite", "celery-redis"])
def test_ci_workflow_passes_zizmor_with_no_findings(
    name: str, sqlite_project: Path, celery_project: Path
) -> None:
    project = sqlite_project if name == "sqlite" else celery_project
    zizmor = Path(sys.executable).parent / "zizmor"
    assert zizmor.is_file(), "zizmor is missing: pip install -e '.[dev]'"
    workflow = project / ".github" / "workflows" / "jobs.yml"
    result = subprocess.run(
        [str(zizmor), "--offline", "--no-progress", "--format", "json", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []
    # Every action is pinned to a full commit SHA with its release tag beside it.
    uses = [
        s["uses"]
        for s in yaml.safe_load(workflow.read_text())["jobs"]["test"]["steps"]
        if "uses" in s
    ]
    assert len(uses) == 3
    for line in workflow.read_text().splitlines():
        if "uses:" in line:
            assert re.search(r"@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), line


def test_each_schedule_fires_its_own_job_type_even_without_the_scheduled_kind(
    root: Path, tmp_path: Path
) -> None:
    chosen = {
        **answers("sqlite"),
        "job_types": ["immediate"],
        "schedules": [
            {"name": "purge_old_uploads", "cron": "30 2 * * 0"},
            {"name": "sync_prices", "every_seconds": 600},
        ],
    }
    project = render(root, tmp_path / "app", chosen)
    package = _package(project).name
    code = (
        "import json\n"
        f"from {package}.app import APP\n"
        "print(json.dumps({s.name: [s.job.name, s.cron or s.every_s] for s in APP.schedules}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(project)},
    ).stdout
    assert json.loads(out) == {
        "purge_old_uploads": ["schedules.purge_old_uploads", "30 2 * * 0"],
        "sync_prices": ["schedules.sync_prices", 600],
    }
    assert "def purge_old_uploads(" in (_package(project) / "scheduled.py").read_text()
