"""The generated projects are ruff clean as generated: formatted, and lint-free.

Ruff runs inside the generated project, so it reads that project's own ``[tool.ruff]`` settings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from templates_support import answers, render, template_root

pytestmark = pytest.mark.unit

ANSWERS = ["sqlite", "celery-redis", "rq-redis", "postgres", "celery-rabbitmq", "sqs"]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build one template root for the module."""
    return template_root(tmp_path_factory.mktemp("root"))


@pytest.fixture(scope="module", params=ANSWERS)
def project(
    request: pytest.FixtureRequest, root: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """Generate a project from one of the answers files."""
    name: str = request.param
    return render(root, tmp_path_factory.mktemp(name) / "app", answers(name))


def _ruff(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def test_generated_project_is_ruff_formatted(project: Path) -> None:
    assert len(list(project.rglob("*.py"))) >= 10
    result = _ruff(project, "format", "--check", "--diff", "--no-cache", ".")
    assert result.returncode == 0, _report(result)


def test_generated_project_passes_ruff_check(project: Path) -> None:
    result = _ruff(project, "check", "--no-cache", ".")
    assert result.returncode == 0, _report(result)
    assert "All checks passed" in result.stdout, _report(result)
