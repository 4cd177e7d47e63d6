"""Generated projects end to end: both ways of generating, their own checks, and their score.

For each of ``examples/answers/sqlite.yml`` and ``examples/answers/celery-redis.yml``:

* ``jobforge new DIR --answers FILE`` and ``copier copy <this repository> DIR --data-file FILE
  --defaults`` generate the same project;
* the package is a thin app on jobforge-runtime: at most 600 lines of Python for the sqlite
  answers, no ``jobforge`` import, nothing for scoring;
* the project is ruff- and ``mypy --strict``-clean and its own tests pass on the real backend,
  with real worker processes; its command line answers in one line, ``/health`` is not ok while
  no worker runs, and each answered schedule fires its own job type from a real scheduler;
* ``jobforge score --json`` in the project gives 35/35 on the real backend, fault checks
  included; the embedded default does so inside a network namespace of its own, where no server
  can be reached;
* with its broker down, the score is inconclusive (exit 2) and says why, blaming nothing;
* the Celery project, on a redis-server of the run's own (``JOBFORGE_PRIVATE_BROKER=1``) that
  is SIGKILLed and restarted while a worker is killed in the middle of jobs, loses no job; while
  it is down, ``/health`` is not ok;
* an existing project keeps its own files, and ``copier update`` with a changed answer works on
  a project made either way.

The projects run from this repository's virtual environment (see ``tests/generated_support.py``)
with ``PYTHONPATH`` pointing at the project; ``jobforge new`` makes each once per session.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from generated_support import (
    ANSWERS_FILE,
    BIN,
    EXAMPLES,
    TEST_REDIS_URL,
    GeneratedProjects,
    ok,
    package_of,
    project_env,
    run,
)
from services_support import IN_CI, require_service
from templates_support import render, template_root

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
CASES = ("sqlite", "celery-redis")
#: Copier's bookkeeping keys in the answers file, which differ with the template's location.
BOOKKEEPING = {"_src_path", "_commit"}
#: What running a project's checks leaves in it.
CACHES = {"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache"}
#: Most lines of Python the package generated for the sqlite answers may have.
PACKAGE_LINES_MAX = 600


@dataclass(frozen=True)
class Generated:
    """One answers file's project, generated both ways."""

    name: str
    package: str
    via_new: Path
    via_copier: Path


def git(*args: str, cwd: Path) -> str:
    """Run git with an identity of its own (CI machines have none configured)."""
    identity = ["-c", "user.name=jobforge tests", "-c", "user.email=tests@jobforge.invalid"]
    return ok(run(["git", *identity, *args], cwd))


def answers_of(project: Path) -> dict[str, Any]:
    """Return the answers copier recorded in ``project``."""
    data: dict[str, Any] = yaml.safe_load((project / ANSWERS_FILE).read_text(encoding="utf-8"))
    return data


def tree(project: Path) -> dict[str, bytes]:
    """Every file of a freshly generated project by relative path, answers file and git aside."""
    return {
        str(path.relative_to(project)): path.read_bytes()
        for path in sorted(project.rglob("*"))
        if path.is_file()
        and path.name != ANSWERS_FILE
        and not {".git", *CACHES} & set(path.relative_to(project).parts)
    }


def network_isolation() -> list[str] | None:
    """Return a prefix running a command in a new network namespace (loopback only), or None.

    Inside it, nothing on the machine's 127.0.0.1 (Redis, PostgreSQL, ...) can be reached.
    """
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return None
    prefix = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "isolated"]
    return prefix if run([*prefix, "true"], ROOT).returncode == 0 else None


@pytest.fixture(scope="module")
def template_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build a git repository of this checkout's files as they are now (committed or not)."""
    repo = tmp_path_factory.mktemp("template-repo")
    listed = ok(run(["git", "ls-files", "-co", "--exclude-standard", "-z"], ROOT))
    for relative in filter(None, listed.split("\0")):
        source = ROOT / relative
        if source.is_file():
            target = repo / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "template", cwd=repo)
    git("tag", "v0.1.0", cwd=repo)
    return repo


@pytest.fixture(scope="module", params=CASES)
def generated(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    template_repo: Path,
    generated_projects: GeneratedProjects,
) -> Generated:
    """Return one example's project, by ``jobforge new`` (shared) and by copier."""
    name: str = request.param
    if name == "celery-redis":
        require_service("redis")
    answers = EXAMPLES / f"{name}.yml"
    base = tmp_path_factory.mktemp(name)
    via_new, via_copier = generated_projects.get(name), base / "copier"
    ok(
        run(
            [
                BIN / "copier",
                "copy",
                template_repo,
                via_copier,
                "--data-file",
                answers,
                "--defaults",
            ],
            base,
        )
    )
    return Generated(name=name, package=package_of(via_new), via_new=via_new, via_copier=via_copier)


@dataclass(frozen=True)
class Score:
    """A ``jobforge score`` run in a generated project."""

    returncode: int
    output: str
    results: dict[str, Any]
    isolated: bool  # run where no server could be reached


@pytest.fixture(scope="module")
def score(generated: Generated) -> Score:
    """Score the generated project; the embedded default without any network."""
    project = generated.via_new
    prefix = network_isolation() if generated.name == "sqlite" else None
    out = project.parent / f"{generated.name}-score.json"  # the shared project stays as made
    env = project_env(project)
    if generated.name == "celery-redis":
        env["JOBS_BROKER_URL"] = TEST_REDIS_URL
    done = run([*(prefix or []), BIN / "jobforge", "score", "--json", out], project, env=env)
    output = f"{done.stdout[-8000:]}\n{done.stderr[-4000:]}"
    results = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    return Score(done.returncode, output, results, isolated=prefix is not None)


def test_jobforge_new_and_copier_copy_generate_the_same_project(generated: Generated) -> None:
    assert tree(generated.via_new) == tree(generated.via_copier)
    recorded_new, recorded_copier = answers_of(generated.via_new), answers_of(generated.via_copier)
    for key in BOOKKEEPING:
        recorded_new.pop(key, None)
        recorded_copier.pop(key, None)
    assert recorded_new == recorded_copier
    given = yaml.safe_load((EXAMPLES / f"{generated.name}.yml").read_text(encoding="utf-8"))
    assert {k: recorded_new[k] for k in given} == given


def test_the_answers_copier_recorded_validate(generated: Generated) -> None:
    for project in (generated.via_new, generated.via_copier):
        ok(run([BIN / "jobforge", "answers", "check", project / ANSWERS_FILE], project))


def test_the_generated_project_is_ruff_and_mypy_clean(generated: Generated) -> None:
    project = generated.via_new
    env = project_env(project)
    ok(run([BIN / "ruff", "check", "."], project, env=env))
    ok(run([BIN / "mypy", generated.package, "tests"], project, env=env))


def test_the_ci_workflows_lint_and_type_steps_pass_as_written(generated: Generated) -> None:
    project = generated.via_new
    workflow = yaml.safe_load((project / ".github" / "workflows" / "jobs.yml").read_text())
    steps = {step.get("name"): step for step in workflow["jobs"]["test"]["steps"]}
    for name in ("Lint", "Types"):
        ok(
            run(
                ["bash", "-euo", "pipefail", "-c", steps[name]["run"]],
                project,
                env=project_env(project),
            )
        )


def test_the_generated_projects_own_tests_pass(generated: Generated) -> None:
    project = generated.via_new
    out = ok(
        run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            project,
            env=project_env(project),
        )
    )
    assert " passed" in out and " skipped" not in out, out[-3000:]


def python_lines(package: Path) -> int:
    """Count the lines of every Python file of ``package``."""
    return sum(len(p.read_text(encoding="utf-8").splitlines()) for p in package.rglob("*.py"))


def test_the_package_is_a_thin_app_with_nothing_for_scoring(generated: Generated) -> None:
    package = generated.via_new / generated.package
    lines = python_lines(package)
    if generated.name == "sqlite":
        assert lines <= PACKAGE_LINES_MAX, f"{lines} lines of Python in {package}"
    for path in package.rglob("*.py"):
        tree_ = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(tree_) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree_) if isinstance(n, ast.ImportFrom)}
        assert not [m for m in imported if m == "jobforge" or m.startswith("jobforge.")], path
    text = "\n".join(p.read_text(encoding="utf-8") for p in package.rglob("*.py"))
    for scoring in ("conformance", "JOBS_EXTRA_CATALOGUE", "--standby", "adapter"):
        assert scoring not in text, scoring
    pyproject = tomllib.loads((generated.via_new / "pyproject.toml").read_text())
    assert pyproject["tool"]["jobforge"]["app"] == f"{generated.package}.app:APP"


def cli(generated: Generated, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run ``python -m PACKAGE ARGS`` in the generated project."""
    return run([sys.executable, "-m", generated.package, *args], generated.via_new, env=env)


@pytest.mark.parametrize("generated", ["sqlite"], indirect=True)
def test_the_command_line_answers_in_one_line_and_health_needs_a_worker(
    generated: Generated, tmp_path: Path
) -> None:
    env = {**project_env(generated.via_new), "JOBS_BROKER_URL": f"sqlite:///{tmp_path / 'j.db'}"}
    listed = json.loads(ok(cli(generated, "list", env=env)))
    assert {j["job_type"] for j in listed} == {
        "emails.send_welcome",
        "schedules.daily_report",
        "schedules.purge_old_uploads",
    }
    for args, code, says in [
        (("submit", "emails.sendwelcome", "{}"), 1, "emails.send_welcome"),
        (("submit", "emails.send_welcome", '{"user_id": 0}'), 1, "user_id"),
        (("submit", "emails.send_welcome", "not json"), 2, "is not JSON"),
        (("status", "nope"), 1, "not in the ledger"),
    ]:
        done = cli(generated, *args, env=env)
        assert (done.returncode, len(done.stderr.strip().splitlines())) == (code, 1), done.stderr
        assert says in done.stderr and "Traceback" not in done.stderr
    assert json.loads(ok(cli(generated, "dlq", "list", env=env))) == []
    health = cli(generated, "health", env=env)
    assert health.returncode == 1 and json.loads(health.stdout)["status"] == "degraded"
    assert "no worker was seen" in health.stdout


@pytest.mark.parametrize("generated", ["sqlite"], indirect=True)
def test_two_schedules_each_fire_their_own_job_type_in_real_processes(
    generated: Generated, tmp_path: Path
) -> None:
    answers = {
        **answers_of(generated.via_new),
        "job_types": ["immediate"],
        "schedules": [
            {"name": "purge_old_uploads", "every_seconds": 2},
            {"name": "sync_prices", "every_seconds": 2},
        ],
    }
    answers = {k: v for k, v in answers.items() if not k.startswith("_")}
    project = render(template_root(tmp_path), tmp_path / "two", answers)
    env = {**project_env(project), "JOBS_BROKER_URL": f"sqlite:///{tmp_path / 'two.db'}"}
    logs = {role: tmp_path / f"{role}.log" for role in ("worker", "scheduler")}
    procs = []
    for role, log in logs.items():
        with log.open("wb") as out:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", f"{generated.package}.{role}"],
                    cwd=project,
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        completed: set[str] = set()
        deadline = time.monotonic() + 60
        while len(completed) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            done = run(
                [sys.executable, "-m", generated.package, "recent", "--status", "COMPLETED"],
                project,
                env=env,
            )
            completed = {r["job_type"] for r in json.loads(done.stdout or "[]")}
    finally:
        for proc in procs:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    said = {role: log.read_text()[-1500:] for role, log in logs.items()}
    assert completed == {"schedules.purge_old_uploads", "schedules.sync_prices"}, (done, said)


def test_the_generated_project_scores_35_on_its_real_backend(score: Score) -> None:
    assert score.returncode == 0, score.output
    assert score.results["scorecard"]["total"] == 35, score.output
    outcomes = {entry["check_id"]: entry["outcome"] for entry in score.results["outcomes"]}
    not_passed = {check: outcome for check, outcome in outcomes.items() if outcome != "pass"}
    assert not not_passed, score.output
    # A worker SIGKILLed in the middle of a job loses nothing.
    assert outcomes["scalability.sigkill_recovery"] == "pass"
    # The job logs go to the run's log file, not over the scorecard.
    assert not [line for line in score.output.splitlines() if line.startswith('{"ts"')]


@pytest.mark.parametrize("generated", ["sqlite"], indirect=True)
def test_the_embedded_default_needs_no_server(generated: Generated, score: Score) -> None:
    dependencies = tomllib.loads((generated.via_new / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    assert not [d for d in dependencies if d.startswith(("celery", "redis", "psycopg", "kombu"))]
    if not score.isolated:
        pytest.skip("no network namespace here (needs root, unshare and ip)")
    # The whole score, its worker processes and the project's own suite ran with no network.
    assert score.returncode == 0 and score.results["scorecard"]["total"] == 35, score.output


@pytest.mark.parametrize("generated", ["celery-redis"], indirect=True)
def test_a_broker_that_is_down_makes_the_score_inconclusive(generated: Generated) -> None:
    project = generated.via_new
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**project_env(project), "JOBS_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    out = project.parent / "down.json"
    done = run([BIN / "jobforge", "score", "--json", out], project, env=env, timeout=300)
    assert done.returncode == 2, f"{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    results = json.loads(out.read_text(encoding="utf-8"))
    assert {entry["outcome"] for entry in results["outcomes"]} == {"inconclusive"}
    assert "cannot be reached" in done.stdout + done.stderr


@pytest.mark.parametrize("generated", ["celery-redis"], indirect=True)
def test_a_crashed_and_restarted_broker_loses_no_job(generated: Generated) -> None:
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    project = generated.via_new
    env = {**project_env(project), "JOBFORGE_PRIVATE_BROKER": "1"}
    out = project.parent / "restart.json"
    check = "scalability.sigkill_recovery"
    done = run([BIN / "jobforge", "score", "--check", check, "--json", out], project, env=env)
    results = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    (outcome,) = [o for o in results.get("outcomes", []) if o["check_id"] == check] or [{}]
    assert outcome.get("outcome") == "pass", f"{outcome}\n{done.stdout[-4000:]}"
    assert "the broker was restarted too" in outcome["evidence"][0]


@pytest.mark.parametrize("generated", ["celery-redis"], indirect=True)
def test_health_is_not_ok_while_the_private_broker_is_down(generated: Generated) -> None:
    if shutil.which("redis-server") is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        pytest.fail(reason) if IN_CI else pytest.skip(reason)
    project = generated.via_new
    env = {**project_env(project), "JOBFORGE_PRIVATE_BROKER": "1"}
    out = project.parent / "health.json"
    check = "observability.health"
    done = run([BIN / "jobforge", "score", "--check", check, "--json", out], project, env=env)
    results = json.loads(out.read_text(encoding="utf-8")) if out.is_file() else {}
    (outcome,) = [o for o in results.get("outcomes", []) if o["check_id"] == check] or [{}]
    assert outcome.get("outcome") == "pass", f"{outcome}\n{done.stdout[-4000:]}"
    assert "not ok while the broker/store was down" in outcome["evidence"][0]


@pytest.fixture
def existing_project(tmp_path: Path) -> Iterator[Path]:
    """Make a project of the user's own, with its pyproject.toml and README.md."""
    project = tmp_path / "existing"
    project.mkdir()
    (project / "pyproject.toml").write_text('[project]\nname = "mine"\nversion = "3.1"\n')
    (project / "README.md").write_text("# Mine\n\nThe user's own words.\n")
    yield project


def test_generating_into_an_existing_project_overwrites_none_of_its_files(
    existing_project: Path,
) -> None:
    before = tree(existing_project)
    ok(
        run(
            [BIN / "jobforge", "new", existing_project, "--answers", EXAMPLES / "sqlite.yml"],
            existing_project,
        )
    )
    after = tree(existing_project)
    assert {path: after[path] for path in before} == before
    assert (existing_project / "jobs" / "app.py").is_file()


@pytest.mark.parametrize("route", ["jobforge new", "copier copy"])
def test_copier_update_applies_a_changed_answer_and_keeps_the_users_edits(
    route: str, template_repo: Path, tmp_path: Path
) -> None:
    project = tmp_path / "app"
    answers = EXAMPLES / "sqlite.yml"
    if route == "jobforge new":
        ok(run([BIN / "jobforge", "new", project, "--answers", answers], tmp_path))
    else:
        copy = [BIN / "copier", "copy", template_repo, project, "--data-file", answers]
        ok(run([*copy, "--defaults"], tmp_path))
    settings = project / "jobs" / "settings.py"
    assert "max_attempts=4," in settings.read_text()
    readme = project / "README.md"
    readme.write_text(readme.read_text() + "\nA note of the user's own.\n")
    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)

    ok(
        run(
            [
                BIN / "copier",
                "update",
                "--answers-file",
                ANSWERS_FILE,
                "--defaults",
                "--data",
                "max_retries=5",
                "--data",
                "backoff_delays_seconds=[60, 300, 900, 1800, 3600]",
            ],
            project,
        )
    )

    assert "max_attempts=6," in settings.read_text()
    assert "A note of the user's own." in readme.read_text()
    recorded = answers_of(project)
    assert recorded["max_retries"] == 5
    ok(run([BIN / "jobforge", "answers", "check", project / ANSWERS_FILE], project))
