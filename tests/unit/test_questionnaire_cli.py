"""The questionnaire's command line: answers check, answers schema, recommend, and drift checks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from jobforge.questionnaire import load_bank, validate_answers
from jobforge.questionnaire.copier_gen import main as copier_gen_main
from jobforge.questionnaire.copier_gen import render_copier_yml
from jobforge.questionnaire.recommend import recommend
from jobforge.questionnaire.schema import answers_schema, schema_json

from jobforge.cli import main

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "answers"
VALID = sorted(EXAMPLES.glob("*.yml"))
INVALID = sorted((EXAMPLES / "invalid").glob("*.yml"))
BANK = load_bank()


def test_there_is_a_valid_example_per_queue_technology() -> None:
    names = {path.stem for path in VALID}
    assert {"sqlite", "celery-redis", "rq-redis", "celery-rabbitmq", "postgres"} <= names
    technologies = {yaml.safe_load(p.read_text())["queue_technology"] for p in VALID}
    assert technologies == set(BANK.question("queue_technology").choices)


@pytest.mark.parametrize("path", VALID, ids=lambda p: p.name)
def test_answers_check_passes_valid_example(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["answers", "check", str(path)]) == 0
    assert f"{path}: valid" in capsys.readouterr().out


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_answers_check_fails_invalid_example_with_its_documented_message(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = path.with_suffix(".expected").read_text().splitlines()
    assert expected, f"{path.name} has no documented message"
    assert main(["answers", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    count = len(expected)
    assert out[0] == f"{path}: {count} error{'' if count == 1 else 's'}"
    assert [line.strip() for line in out[1:]] == expected


def test_answers_check_on_a_missing_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["answers", "check", str(tmp_path / "nope.yml")]) == 2
    assert "no such answers file" in capsys.readouterr().err


def test_answers_check_accepts_copier_answers_file_keys(tmp_path: Path) -> None:
    path = tmp_path / ".copier-answers.jobs.yml"
    path.write_text("_src_path: /tmp/x\n_commit: v1\nmax_retries: 4\n")
    assert main(["answers", "check", str(path)]) == 0


def test_committed_copier_yml_matches_the_question_bank() -> None:
    assert (ROOT / "copier.yml").read_text() == render_copier_yml(BANK), (
        "copier.yml drifted; run python -m jobforge.questionnaire.copier_gen --write"
    )


def test_copier_gen_check_exits_1_on_drift_and_write_repairs_it(tmp_path: Path) -> None:
    path = tmp_path / "copier.yml"
    path.write_text(render_copier_yml(BANK).replace("max_retries", "max_retry"))
    assert copier_gen_main(["--check", "--path", str(path)]) == 1
    assert copier_gen_main(["--write", "--path", str(path)]) == 0
    assert copier_gen_main(["--check", "--path", str(path)]) == 0


def test_copier_yml_needs_no_trust_and_uses_its_own_answers_file() -> None:
    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    assert config["_answers_file"] == ".copier-answers.jobs.yml"
    assert config["_subdirectory"] == "templates/project"
    major, minor, patch = (int(x) for x in str(config["_min_copier_version"]).split("."))
    assert (major, minor, patch) >= (9, 9, 1)
    assert "_tasks" not in config and "_jinja_extensions" not in config
    assert "_migrations" not in config
    assert [k for k in config if not k.startswith("_")] == [q.key for q in BANK.questions]


def test_committed_schema_matches_the_model() -> None:
    committed = (ROOT / "questionnaire" / "answers.schema.json").read_text()
    assert committed == schema_json(), (
        "answers.schema.json drifted; run jobforge answers schema > "
        "questionnaire/answers.schema.json"
    )


def test_schema_command_prints_a_schema_the_examples_satisfy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["answers", "schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == answers_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in VALID:
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"max_retries": "many"}, schema)


JOB_TYPES = [jt.value for jt in BANK.decision_tree.job_types]
COMBINATIONS = [
    list(c) for n in range(1, len(JOB_TYPES) + 1) for c in itertools.combinations(JOB_TYPES, n)
]


@pytest.mark.parametrize("technology", BANK.question("queue_technology").choices)
def test_every_recommendation_validates(technology: str) -> None:
    for job_types in COMBINATIONS:
        answers = recommend(BANK, job_types, technology)
        assert list(answers.job_types) == job_types
        assert (answers.scheduler_tool != "none") == ("scheduled" in job_types)


def test_recommendation_merges_suggestions_of_several_job_types() -> None:
    answers = recommend(BANK, ["long_running", "batch", "event_driven"])
    assert answers.queues == ("default", "long_running", "events", "batch")
    assert answers.job_timeout_seconds == 3600  # the largest suggestion wins
    assert answers.worker_types == "specialized"


def test_recommend_command_prints_an_answers_file_that_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["recommend", "--job-type", "scheduled", "--job-type", "batch"]
    assert main([*argv, "--queue-technology", "celery_redis"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# Answers suggested by `jobforge recommend`")
    answers = validate_answers(yaml.safe_load(text))
    assert answers.scheduler_tool == "celery_beat"
    out = tmp_path / "answers.yml"
    assert main([*argv, "--output", str(out)]) == 0
    assert main(["answers", "check", str(out)]) == 0


def test_recommend_rejects_an_unknown_technology(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--job-type", "batch", "--queue-technology", "beanstalkd"]) == 2
    assert "choose from: sqlite" in capsys.readouterr().err
