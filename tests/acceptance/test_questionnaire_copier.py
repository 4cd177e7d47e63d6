"""Copier end to end: the real ``run_copy``, ``jobforge new``, and a person answering the prompts.

These tests assert only on the answers file and the copy mechanism: the rest of
``templates/project`` (the generated job subsystem) is tested by its own part.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import copier
import pexpect
import pytest
import yaml
from jobforge.questionnaire import Answers, answer_errors, load_answers, load_bank
from jobforge.questionnaire.copier_gen import ANSWERS_FILE, wrap
from jobforge.questionnaire.generate import BundledTemplate
from jobforge.questionnaire.recommend import recommend

from jobforge.cli import main

pytestmark = pytest.mark.acceptance

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "answers"
BANK = load_bank()


@pytest.fixture(scope="module")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return BundledTemplate(BANK).materialize(tmp_path_factory.mktemp("template"))


def run_copy(src: Path | str, dst: Path, data: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # copier warns about dirty or untagged local templates
        copier.run_copy(str(src), dst, data=data, defaults=True, unsafe=False, quiet=True)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return data


def test_copier_copy_from_the_repository_top_writes_valid_answers(tmp_path: Path) -> None:
    run_copy(ROOT, tmp_path / "app", {})
    answers = load_answers(tmp_path / "app" / ANSWERS_FILE)
    assert answers == Answers.model_validate({})


@pytest.mark.parametrize("name", ["sqlite.yml", "celery-redis.yml", "postgres.yml"])
def test_run_copy_records_exactly_the_given_valid_answers(
    template_root: Path, tmp_path: Path, name: str
) -> None:
    run_copy(template_root, tmp_path / "app", example(name))
    recorded = yaml.safe_load((tmp_path / "app" / ANSWERS_FILE).read_text())
    assert {k for k in recorded if k.startswith("_")} <= {"_src_path", "_commit"}
    assert load_answers(tmp_path / "app" / ANSWERS_FILE) == Answers.model_validate(example(name))


@pytest.mark.parametrize(
    "name",
    [
        "rq-needs-redis.yml",
        "cron-does-not-parse.yml",
        "backoff-decreasing.yml",
        "manual-retry-without-dlq.yml",
        "retries-out-of-range.yml",
    ],
)
def test_run_copy_rejects_invalid_answers_with_the_models_message(
    template_root: Path, tmp_path: Path, name: str
) -> None:
    data = example(f"invalid/{name}")
    [expected] = answer_errors(data)
    with pytest.raises(ValueError) as exc:
        run_copy(template_root, tmp_path / "app", data)
    key = expected.split(":")[0].split("[")[0].split(".")[-1]
    assert str(exc.value) == f"Validation error for question '{key}': {expected}"
    assert not (tmp_path / "app" / ANSWERS_FILE).exists()


def test_run_copy_disables_a_scheduler_that_does_not_fit_the_backend(
    template_root: Path, tmp_path: Path
) -> None:
    data = example("invalid/scheduler-wrong-backend.yml")
    [expected] = answer_errors(data)
    with pytest.raises(ValueError) as exc:
        run_copy(template_root, tmp_path / "app", data)
    # The same words, wrapped to fit the select list where the choice shows as disabled.
    assert " ".join(str(exc.value).split()) == "Invalid choice for 'scheduler_tool': " + expected


def test_jobforge_new_with_an_answers_file_generates_and_records_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = EXAMPLES / "celery-redis.yml"
    assert main(["new", str(tmp_path / "app"), "--answers", str(source)]) == 0
    assert "generated" in capsys.readouterr().out
    assert load_answers(tmp_path / "app" / ANSWERS_FILE) == load_answers(source)


@pytest.mark.parametrize("how", ["--answers", "--defaults"])
def test_jobforge_new_validates_the_answers_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    from jobforge.questionnaire import model

    calls: list[object] = []

    def counted(bank: Any, data: object) -> Any:
        calls.append(data)
        return evaluate(bank, data)

    evaluate = model.evaluate
    monkeypatch.setattr(model, "evaluate", counted)
    source = ["--answers", str(EXAMPLES / "sqlite.yml")] if how == "--answers" else [how]
    assert main(["new", str(tmp_path / "app"), *source]) == 0
    assert len(calls) == 1


def test_jobforge_new_with_defaults_accepts_every_default(tmp_path: Path) -> None:
    assert main(["new", str(tmp_path / "app"), "--defaults"]) == 0
    assert load_answers(tmp_path / "app" / ANSWERS_FILE) == Answers.model_validate({})


def test_jobforge_new_refuses_invalid_answers_and_generates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = EXAMPLES / "invalid" / "several-errors.yml"
    assert main(["new", str(tmp_path / "app"), "--answers", str(source)]) == 1
    out = capsys.readouterr().out
    assert "6 error(s); nothing generated" in out
    for line in (source.with_suffix(".expected")).read_text().splitlines():
        assert line in out
    assert not (tmp_path / "app").exists()


# --- a person at the terminal -----------------------------------------------------------------

DOWN, SPACE, ENTER, CLEAR = "\x1b[B", " ", "\r", "\x15"


def typed(text: str) -> str:
    """Replace the pre-filled default with ``text`` and submit."""
    return CLEAR + text + ENTER


#: What the person does at each question, in asking order; absent = press Enter (the default).
KEYS: dict[str, str] = {
    "project_name": typed("Billing Service"),
    "package_name": typed("billing_jobs"),
    "job_types": DOWN + SPACE + ENTER,  # also tick "scheduled"
    "queue_technology": DOWN + ENTER,  # Redis + Celery
    "worker_count": typed("3"),
    "queues": typed("[default, emails]"),
    "scaling_strategy": DOWN + ENTER,  # autoscale, so max_workers is asked
    "job_timeout_seconds": typed("600"),
    "schedules": typed('[{name: nightly_report, cron: "0 2 * * *"}]'),
    "delayed_jobs": "n",
    "max_retries": typed("5"),
    "monitoring_tools": DOWN + DOWN + SPACE + ENTER,  # also tick Flower
    # Decline every part's recommended settings, so each of its questions is asked.
    **{q.key: "n" for q in BANK.questions if q.covers},
}


@pytest.mark.timeout(240)
def test_a_person_answers_the_interactive_prompts_and_the_answers_validate(
    tmp_path: Path,
) -> None:
    destination = tmp_path / "app"
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", NO_COLOR="1")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "jobforge", "new", str(destination)],
        env=env,
        dimensions=(60, 220),
        encoding="utf-8",
        timeout=60,
    )
    transcript = tmp_path / "transcript.txt"
    with transcript.open("w") as log:
        child.logfile_read = log
        for question in BANK.questions:  # max_workers and manual_retry are asked here too
            child.expect(re.escape(wrap(question.prompt)[0]))
            if question.key == "worker_count":
                child.send(typed("0"))  # a slip first: the validator must refuse it
                child.expect(re.escape("worker_architecture.worker_count: 0 is out of range 1..64"))
            child.send(KEYS.get(question.key, ENTER))
        child.expect(pexpect.EOF, timeout=120)
    child.close()
    assert child.exitstatus == 0, transcript.read_text()[-3000:]
    answers = load_answers(destination / ANSWERS_FILE)
    assert answers.project_name == "Billing Service"
    assert answers.package_name == "billing_jobs"
    assert answers.job_types == ("immediate", "scheduled")
    assert answers.queue_technology == "celery_redis"
    assert answers.broker_url == "redis://localhost:6379/0"  # default follows the technology
    assert (answers.worker_count, answers.max_workers) == (3, 12)
    assert answers.queues == ("default", "emails")
    assert answers.scaling_strategy == "autoscale"
    assert answers.job_timeout_seconds == 600
    assert [s.model_dump() for s in answers.schedules] == [
        {"name": "nightly_report", "cron": "0 2 * * *"}
    ]
    assert answers.delayed_jobs is False
    assert answers.scheduler_tool == "celery_beat"  # default: Celery's own scheduler
    assert answers.max_retries == 5
    assert answers.monitoring_tools == ("prometheus", "flower", "json_logs")
    assert answers.manual_retry is True


@pytest.mark.timeout(240)
def test_the_recommended_path_takes_at_most_10_answers_and_equals_recommend(
    tmp_path: Path,
) -> None:
    """The sqlite example's job types and technology, every part's recommended settings."""
    target = example("sqlite.yml")
    assert target["job_types"] == ["immediate", "scheduled"]
    destination = tmp_path / "app"
    env = dict(os.environ, PROMPT_TOOLKIT_NO_CPR="1", TERM="xterm", NO_COLOR="1")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "jobforge", "new", str(destination)],
        env=env,
        dimensions=(60, 120),
        encoding="utf-8",
        timeout=60,
    )
    keys = {"job_types": DOWN + SPACE + ENTER}  # tick "scheduled" too; Enter everywhere else
    answered: list[str] = []
    questions = list(BANK.questions)
    with (tmp_path / "transcript.txt").open("w") as log:
        child.logfile_read = log
        while True:
            # Only questions after the last one answered: copier reprints an answered prompt.
            patterns = [re.escape(wrap(q.prompt)[0]) for q in questions]
            index = child.expect([*patterns, pexpect.EOF], timeout=120)
            if index == len(questions):
                break
            question = questions[index]
            answered.append(question.key)
            child.send(keys.get(question.key, ENTER))
            questions = questions[index + 1 :]
    child.close()
    assert child.exitstatus == 0
    assert len(answered) <= 10, answered
    assert not any(BANK.question(key).covered_by for key in answered), answered
    recorded = load_answers(destination / ANSWERS_FILE)
    expected = recommend(BANK, target["job_types"], target["queue_technology"])
    assert recorded == expected
    assert (recorded.job_timeout_seconds, recorded.scheduler_tool) == (60, "huey_periodic")
