"""Helpers of the tests that generate projects and run them: commands, environment, sharing.

A generated project runs from this repository's virtual environment (which has the runtime from
``./runtime`` installed, see ``scripts/test.sh``) with ``PYTHONPATH`` pointing at the project.
:class:`GeneratedProjects` makes each example's project once per test session (the
``generated_projects`` fixture of ``tests/conftest.py``), so the slow acceptance tests share them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "answers"
RUNTIME = ROOT / "runtime"
BIN = Path(sys.executable).parent
ANSWERS_FILE = ".copier-answers.jobs.yml"
#: Where generated Celery projects' tests put their keys (``JOBS_TEST_BROKER_URL`` overrides).
TEST_REDIS_URL = os.environ.get("JOBS_TEST_BROKER_URL", "redis://127.0.0.1:6379/0")


def run(
    args: Sequence[str | Path],
    cwd: Path,
    *,
    env: dict[str, str] | None = None,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run a command and return it finished (whatever its exit code)."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """Assert a command succeeded, showing its output when it did not; return its stdout."""
    assert done.returncode == 0, (
        f"{' '.join(done.args)} exited {done.returncode}\n"
        f"--- stdout\n{done.stdout[-6000:]}\n--- stderr\n{done.stderr[-6000:]}"
    )
    return done.stdout


def project_env(project: Path) -> dict[str, str]:
    """Return the environment a generated project runs in: this venv first, it importable.

    ``MYPYPATH`` points mypy at ``./runtime``, which an editable install hides from it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JOBS_", "JOBFORGE_"))}
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    env["PYTHONPATH"] = str(project)
    env["MYPYPATH"] = str(RUNTIME)
    env["JOBS_TEST_BROKER_URL"] = TEST_REDIS_URL
    return env


def package_of(project: Path) -> str:
    """Return the package name copier recorded in ``project``."""
    answers = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    return str(answers["package_name"])


class GeneratedProjects:
    """Each example's project, made by ``jobforge new`` the first time a test asks for it."""

    def __init__(self, base: Path) -> None:
        """Generate under ``base``."""
        self.base = base
        self._made: dict[str, Path] = {}

    def get(self, name: str) -> Path:
        """Return the project of ``examples/answers/NAME.yml`` (do not modify it; copy it)."""
        if name not in self._made:
            project = self.base / name
            ok(run([BIN / "jobforge", "new", project, "--answers", EXAMPLES / f"{name}.yml"], ROOT))
            self._made[name] = project
        return self._made[name]
