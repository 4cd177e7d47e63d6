"""What ``jobforge new`` says and does around a generation: notice, first commit, next steps.

``copier update`` works only in a git-tracked project whose work tree is clean, so a project
generated outside any repository gets ``git init`` and a first commit here; inside a repository
(the template layered onto an existing project) the user's own history is left alone and the
steps say to commit. Nothing here runs copier.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .bank import Bank, Option
from .copier_gen import ANSWERS_FILE

#: Message of the project's first commit.
FIRST_COMMIT = "Generate the job subsystem with jobforge"


def technology(bank: Bank, queue_technology: str) -> Option:
    """Return the bank's option for a ``queue_technology`` answer."""
    return bank.question("queue_technology").option(queue_technology)


def spec_only_notice(option: Option) -> str | None:
    """Return the one line saying a technology gets spec documents only, or None."""
    if option.generated != "spec_only":
        return None
    why = f": {option.spec_only_reason}" if option.spec_only_reason else ""
    return (
        f"{option.value}: jobforge has no job subsystem for {option.label} yet{why}, so it writes "
        "the spec documents only (docs/, mkdocs.jobs.yml) and no code"
    )


@dataclass(frozen=True, kw_only=True)
class GitOutcome:
    """What happened to version control after generating."""

    committed: bool  # this run made the project's first commit
    advice: tuple[str, ...] = ()  # what the user still has to run, one line each


def _git(destination: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["git", "-c", "init.defaultBranch=main", *args],
        cwd=destination,
        capture_output=True,
        text=True,
        check=False,
    )


def _quoted(path: Path) -> str:
    return shlex.quote(str(path))


def first_commit(destination: Path) -> GitOutcome:
    """Put a project generated outside any repository under git with a first commit.

    Without git (then the template was copied from a temporary directory copier cannot find
    again), or without a git identity for the commit, nothing fails: the outcome's advice says
    exactly what to run.
    """
    where = _quoted(destination)
    if shutil.which("git") is None:
        return GitOutcome(
            committed=False,
            advice=(
                "git was not found, so copier cannot update this project later; install git, "
                f"then run: jobforge new {where} --answers "
                f"{_quoted(destination / ANSWERS_FILE)} --overwrite",
            ),
        )
    inside = _git(destination, "rev-parse", "--is-inside-work-tree")
    if inside.returncode == 0 and inside.stdout.strip() == "true":
        return GitOutcome(
            committed=False,
            advice=(
                f"commit the generated files (git -C {where} add -A && git -C {where} commit), "
                "which copier update needs",
            ),
        )
    commit = f"git -C {where} commit -m {shlex.quote(FIRST_COMMIT)}"
    for args in (("init", "-q"), ("add", "-A")):
        done = _git(destination, *args)
        if done.returncode != 0:
            return GitOutcome(
                committed=False,
                advice=(
                    f"git {args[0]} failed ({_first_line(done.stderr)}); fix that, then run: "
                    f"git -C {where} init && git -C {where} add -A && {commit}",
                ),
            )
    done = _git(destination, "commit", "-q", "-m", FIRST_COMMIT)
    if done.returncode == 0:
        return GitOutcome(committed=True)
    return GitOutcome(
        committed=False,
        advice=(
            f"git could not commit ({_first_line(done.stderr)}); set your identity with "
            "git config --global user.name 'Your Name' and "
            "git config --global user.email you@example.com, then run: "
            f"{commit}",
        ),
    )


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no reason given"


#: The runtime extra that brings each generated technology's queue framework.
RUNTIME_EXTRAS = {
    "sqlite": "huey",
    "celery_redis": "celery",
    "rq_redis": "rq",
    "postgres": "procrastinate",
    "celery_rabbitmq": "amqp,postgres",
    "sqs": "sqs,redis,postgres",
}

#: The services each generated technology needs running, with the variables that point at them.
SERVICES = {
    "sqlite": "",
    "celery_redis": "start Redis; export JOBS_BROKER_URL=redis://...",
    "rq_redis": "start Redis; export JOBS_BROKER_URL=redis://...",
    "postgres": "start PostgreSQL; export JOBS_BROKER_URL=postgresql://...",
    "celery_rabbitmq": (
        "start RabbitMQ and Redis or PostgreSQL; "
        "export JOBS_BROKER_URL=amqp://... JOBS_LEDGER_URL=redis://... (or postgresql://...)"
    ),
    "sqs": (
        "export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_REGION (AWS_ENDPOINT_URL for a local "
        "server); start Redis or PostgreSQL; export JOBS_LEDGER_URL=redis://... (or postgresql://...)"
    ),
}


def requirements(option: Option) -> str:
    """Return what to ``pip install`` beside the project: the runtime and the kit.

    From the jobforge checkout this command runs from, when it is one (neither is on a package
    index yet); by name otherwise.
    """
    extra = RUNTIME_EXTRAS.get(option.value, option.value)
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "runtime" / "pyproject.toml").is_file():
        return f"{shlex.quote(f'{checkout}/runtime[{extra}]')} {shlex.quote(str(checkout))}"
    return f"'jobforge-runtime[{extra}]' jobforge"


def next_steps(option: Option, package: str, destination: Path) -> list[str]:
    """Return the commands to run next in a freshly generated project, one per line."""
    where = _quoted(destination)
    if option.generated == "spec_only":
        return [
            f"cd {where}",
            "pip install mkdocs-material && mkdocs serve -f mkdocs.jobs.yml   # read the specs",
            f"copier update --answers-file {ANSWERS_FILE} --data KEY=VALUE   # change an answer",
        ]
    return [
        f"cd {where}",
        "python -m venv .venv && . .venv/bin/activate && "
        f"pip install {requirements(option)} -e '.[dev]'",
        *([f"# {service}"] if (service := SERVICES.get(option.value, "")) else []),
        f"python -m {package}.worker   # run a worker (and python -m {package}.scheduler)",
        f"python -m pytest tests/{package}   # the project's own tests",
        "jobforge score --policy jobforge-policy.yml   # the 35-point conformance score",
        f"copier update --answers-file {ANSWERS_FILE} --data KEY=VALUE   # change an answer",
    ]
