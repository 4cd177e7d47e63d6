"""``jobforge new`` as a user meets it: what it says, what it writes, and ``copier update``.

The project must be ready for ``copier update`` at once.

Each test runs the installed ``jobforge`` command in a fresh directory outside any repository,
with a git identity of its own (or, where the test says so, none).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
import yaml
from jobforge.questionnaire import load_bank

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "answers"
BIN = Path(sys.executable).parent
ANSWERS_FILE = ".copier-answers.jobs.yml"
SPEC_ONLY = sorted(o.value for o in load_bank().technologies if o.generated == "spec_only")
#: What a spec-only project holds: the specs site, its answers, a README and a .gitignore.
SPEC_ONLY_FILES = {
    ".copier-answers.jobs.yml",
    ".gitignore",
    "README.md",
    "mkdocs.jobs.yml",
    "docs/jobs/index.md",
    "docs/patterns/background_jobs.md",
    "docs/specs/codebase_spec.md",
    "docs/specs/implementation_options_spec.md",
    "docs/specs/technical_design_spec.md",
}
IDENTITY = {
    "GIT_AUTHOR_NAME": "A User",
    "GIT_AUTHOR_EMAIL": "user@example.com",
    "GIT_COMMITTER_NAME": "A User",
    "GIT_COMMITTER_EMAIL": "user@example.com",
}


def env_of(home: Path, **extra: str) -> dict[str, str]:
    """Return an environment with its own empty HOME (no global git config) plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "JOBS_"))}
    env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", **extra)
    return env


def run(
    args: Sequence[str | Path], cwd: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """Run a command to the end and return it, whatever its exit code."""
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    """Assert a command succeeded, showing its output when not; return its stdout."""
    assert done.returncode == 0, (
        f"{done.args} exited {done.returncode}\n{done.stdout}\n{done.stderr}"
    )
    return done.stdout


def example(technology: str) -> Path:
    """Return the example answers file of a queue technology."""
    return EXAMPLES / f"{technology.replace('_', '-')}.yml"


def files_of(project: Path) -> set[str]:
    """Every file in ``project`` by relative path, git's own aside."""
    return {
        str(p.relative_to(project))
        for p in project.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(project).parts
    }


def test_every_spec_only_technology_is_covered_by_an_example() -> None:
    assert SPEC_ONLY == ["kafka"]
    for technology in SPEC_ONLY:
        assert yaml.safe_load(example(technology).read_text())["queue_technology"] == technology


@pytest.mark.parametrize("technology", SPEC_ONLY)
def test_a_spec_only_technology_gets_the_specs_and_nothing_that_claims_to_run(
    technology: str, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    out = ok(
        run(
            [BIN / "jobforge", "new", project, "--answers", example(technology)],
            tmp_path,
            env_of(tmp_path, **IDENTITY),
        )
    )
    lines = out.splitlines()
    # One line, first, before anything is written, naming the technology and what it gets.
    assert lines[0].startswith(f"{technology}: jobforge has no job subsystem for ")
    assert "spec documents only" in lines[0]
    reason = load_bank().question("queue_technology").option(technology).spec_only_reason
    assert reason and reason in lines[0]  # and why, in the same line
    assert [line for line in lines if "spec documents only" in line] == [lines[0]]
    assert files_of(project) == SPEC_ONLY_FILES
    # Nothing importable, installable or runnable: no Python, no package metadata, no workflow.
    assert not list(project.rglob("*.py")) and not (project / "pyproject.toml").exists()
    readme = (project / "README.md").read_text()
    assert "no code here to run" in readme and "mkdocs.jobs.yml" in readme
    steps = out.split("next steps:\n", 1)[1]
    assert "mkdocs.jobs.yml" in steps
    for claim in ("python -m", "pytest tests", "jobforge score", "pip install -e"):
        assert claim not in steps, steps


def test_a_technology_with_a_subsystem_gets_no_spec_only_notice(tmp_path: Path) -> None:
    project = tmp_path / "app"
    out = ok(
        run(
            [BIN / "jobforge", "new", project, "--answers", example("sqlite")],
            tmp_path,
            env_of(tmp_path, **IDENTITY),
        )
    )
    assert "spec documents only" not in out
    assert out.startswith(f"generated {project} for sqlite")
    steps = out.split("next steps:\n", 1)[1]
    for step in (
        "runtime[huey]",
        "-e '.[dev]'",
        "python -m jobs.worker",
        "pytest",
        "jobforge score",
    ):
        assert step in steps, out


def test_copier_update_works_right_after_jobforge_new_outside_a_repository(
    tmp_path: Path,
) -> None:
    project = tmp_path / "app"
    env = env_of(tmp_path, **IDENTITY)
    out = ok(run([BIN / "jobforge", "new", project, "--answers", example("sqlite")], tmp_path, env))
    assert f"git: initialized {project} with a first commit" in out
    assert ok(run(["git", "status", "--porcelain"], project, env)) == ""
    assert "max_attempts=4," in (project / "jobs" / "settings.py").read_text()

    ok(
        run(
            [
                BIN / "copier",
                "update",
                "--answers-file",
                ANSWERS_FILE,
                "--data",
                "max_retries=5",
                "--defaults",
            ],
            project,
            env,
        )
    )

    assert "max_attempts=6," in (project / "jobs" / "settings.py").read_text()
    assert yaml.safe_load((project / ANSWERS_FILE).read_text())["max_retries"] == 5


def test_without_a_git_identity_it_says_exactly_how_to_make_the_first_commit(
    tmp_path: Path,
) -> None:
    project = tmp_path / "app"
    no_identity = env_of(
        tmp_path,
        GIT_CONFIG_COUNT="1",
        GIT_CONFIG_KEY_0="user.useConfigOnly",
        GIT_CONFIG_VALUE_0="true",
    )
    out = ok(
        run(
            [BIN / "jobforge", "new", project, "--answers", example("sqlite")],
            tmp_path,
            no_identity,
        )
    )
    assert "git: initialized" not in out
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    command = f"git -C {project} commit -m 'Generate the job subsystem with jobforge'"
    assert note.endswith(f"then run: {command}"), note
    # The advice works: with an identity, that command makes the project updatable.
    ok(run(["bash", "-c", command], tmp_path, {**no_identity, **IDENTITY}))
    ok(
        run(
            [BIN / "copier", "update", "--answers-file", ANSWERS_FILE, "--defaults"],
            project,
            env_of(tmp_path, **IDENTITY),
        )
    )


def test_generating_inside_a_repository_leaves_its_history_alone(tmp_path: Path) -> None:
    env = env_of(tmp_path, **IDENTITY)
    ok(run(["git", "init", "-q"], tmp_path, env))
    out = ok(
        run(
            [BIN / "jobforge", "new", tmp_path / "app", "--answers", example("sqlite")],
            tmp_path,
            env,
        )
    )
    assert not (tmp_path / "app" / ".git").exists()
    assert run(["git", "rev-parse", "--verify", "-q", "HEAD"], tmp_path, env).returncode != 0
    assert "commit the generated files" in out


def test_the_gitignore_covers_what_the_generated_cli_leaves_behind(tmp_path: Path) -> None:
    project = tmp_path / "app"
    env = env_of(tmp_path, **IDENTITY)
    ok(run([BIN / "jobforge", "new", project, "--answers", example("sqlite")], tmp_path, env))
    project_env = {**env, "PYTHONPATH": str(project)}
    payload = '{"user_id": 1, "email": "a@example.com"}'
    submit = [sys.executable, "-m", "jobs", "submit", "emails.send_welcome", payload]
    ok(run(submit, project, project_env))
    broker = yaml.safe_load(example("sqlite").read_text())["broker_url"].removeprefix("sqlite:///")
    assert (project / broker).is_file()
    (project / f"{broker}-wal").write_bytes(b"")  # as a worker killed mid-write leaves them
    (project / f"{broker}-shm").write_bytes(b"")
    (project / ".venv" / "bin").mkdir(parents=True)
    (project / ".venv" / "bin" / "python").write_text("")
    ok(run([sys.executable, "-m", "compileall", "-q", "jobs"], project, project_env))
    assert ok(run(["git", "status", "--porcelain", "--untracked-files=all"], project, env)) == ""


def test_without_git_it_says_exactly_what_to_run_and_that_works(tmp_path: Path) -> None:
    project = tmp_path / "app"
    env = env_of(tmp_path, **IDENTITY)
    env["PATH"] = os.pathsep.join([str(BIN), env.get("PATH", "")])
    no_git = {**env, "PATH": str(BIN)}  # the virtual environment only: no git there
    command = [BIN / "jobforge", "new", project, "--answers", example("sqlite")]
    out = ok(run(command, tmp_path, no_git))
    assert "git: initialized" not in out and not (project / ".git").exists()
    (note,) = [line for line in out.splitlines() if line.startswith("note: ")]
    advised = note.split("then run: ", 1)[1]
    assert advised == f"jobforge new {project} --answers {project / ANSWERS_FILE} --overwrite"
    # With git installed, the advised command makes the project updatable.
    ok(run(["bash", "-c", advised], tmp_path, env))
    ok(run([BIN / "copier", "update", "--answers-file", ANSWERS_FILE, "--defaults"], project, env))
