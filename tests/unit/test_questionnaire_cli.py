"""The questionnaire's command line: answers check, answers schema, recommend, and drift checks."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import jsonschema
import pytest
import yaml
from jobforge.questionnaire import load_bank, validate_answers
from jobforge.questionnaire.copier_gen import HELP_WIDTH, render_copier_yml
from jobforge.questionnaire.copier_gen import main as copier_gen_main
from jobforge.questionnaire.recommend import recommend
from jobforge.questionnaire.schema import answers_schema

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


def test_every_help_line_in_copier_yml_fits_76_columns() -> None:
    from copier._jinja_ext import SandboxedEnvironment

    config = yaml.safe_load((ROOT / "copier.yml").read_text())
    # The widest values: every job type, Celery, autoscaling (help of recommended settings).
    context = recommend(BANK, JOB_TYPES, "celery_redis").model_dump(mode="json")
    context["scaling_strategy"] = "autoscale"
    for key in (q.key for q in BANK.questions):
        shown = SandboxedEnvironment().from_string(config[key]["help"]).render(context)
        long = [line for line in shown.splitlines() if len(line) > HELP_WIDTH]
        assert long == [], f"{key}: help lines wider than {HELP_WIDTH}: {long}"


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


def test_new_without_answers_or_a_terminal_says_how_to_run_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["new", str(tmp_path / "app")]) == 2  # pytest's stdin is not a terminal
    assert "pass --answers FILE or --defaults" in capsys.readouterr().err
    assert not (tmp_path / "app").exists()


def test_reference_lists_every_question_option_and_filled_section(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["answers", "reference"]) == 0
    text = capsys.readouterr().out
    for question in BANK.questions:
        assert f"### `{question.key}`" in text
        for option in question.options:
            assert f"| `{option.value}` | {option.label} | {option.pros} |" in text
        for fill in question.fills:
            assert f"`{fill.doc}` ({fill.section})" in text
    assert (
        "A job subsystem is generated for `sqlite`, `celery_redis`, `rq_redis`, "
        "`celery_rabbitmq`, `postgres`, `sqs`; the others get" in text
    )
    assert "`kafka` is spec documents only: no consumer-group worker" in text


# --- bad paths: one line naming the path, the problem and the fix, never a traceback ----------


def one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("jobforge: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("where", "fix"),
    [
        ("missing/dir/x.yml", "does not exist; create it first"),
        (".", "it is a directory; name a file inside it"),
        ("afile/x.yml", "is a file, not a directory"),
    ],
)
def test_recommend_to_a_bad_destination_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, fix: str
) -> None:
    (tmp_path / "afile").write_text("x")
    target = tmp_path / where
    assert main(["recommend", "--job-type", "batch", "-o", str(target)]) == 2
    line = one_error_line(capsys)
    assert f"{target}: cannot write the answers file: " in line
    assert fix in line


def test_copier_gen_write_to_a_missing_directory_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert copier_gen_main(["--write", "--path", str(tmp_path / "no" / "copier.yml")]) == 2
    assert "does not exist; create it first" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\xff\xfe", "not a text file (byte 0xff at offset 1 is not UTF-8); pass a YAML"),
        (None, "is a directory; pass a YAML answers file"),
        ("loop", "cannot read answers file (Too many levels of symbolic links); pass a YAML"),
    ],
    ids=["binary", "directory", "unreadable"],
)
def test_answers_check_names_a_fix_for_a_path_that_is_not_an_answers_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes | str | None, expected: str
) -> None:
    path = tmp_path / "answers.yml"
    if content is None:
        path.mkdir()
    elif content == "loop":
        path.symlink_to(path)  # a symlink to itself: open() fails, even for root
    else:
        assert isinstance(content, bytes)
        path.write_bytes(content)
    assert main(["answers", "check", str(path)]) == 2
    assert f"{path}: {expected}" in one_error_line(capsys)


@pytest.mark.parametrize("text", ["", "# only a comment\n"], ids=["empty", "comments-only"])
def test_answers_check_on_an_empty_file_says_how_to_start_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = tmp_path / "answers.yml"
    path.write_text(text)
    assert main(["answers", "check", str(path)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[1].strip().startswith("answers file: it holds no answers")
    assert "jobforge recommend" in out[1]


def test_a_question_named_like_its_group_is_named_once_in_messages() -> None:
    [message] = validate_errors({"queue_technology": {"queue_technology": "sqlite"}})
    assert message.startswith("queue_technology: {'queue_technology': 'sqlite'} is not a choice")


def validate_errors(data: object) -> list[str]:
    from jobforge.questionnaire import answer_errors

    return answer_errors(data, BANK)


def test_new_into_a_file_or_an_unwritable_place_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert main(["new", str(afile), "--defaults"]) == 2
    assert "cannot generate a project there: it is a file" in one_error_line(capsys)
    assert main(["new", str(afile / "sub"), "--defaults"]) == 2
    assert f"{afile} is a file, not a directory" in one_error_line(capsys)
    assert main(["new", "/proc/jobforge-nowhere/app", "--defaults"]) == 2
    assert "cannot generate a project there: No such file or directory" in one_error_line(capsys)
