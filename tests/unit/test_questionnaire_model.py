"""The answers model enforces types, ranges and cross-field rules with messages that say the fix."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from cronsim import CronSim, CronSimError
from hypothesis import given
from hypothesis import strategies as st
from jobforge.questionnaire import answer_errors, load_bank, validate_answers
from jobforge.questionnaire.cron import MACROS

from jobforge.cli import main
from jobforge.errors import AnswersError

pytestmark = pytest.mark.unit

BANK = load_bank()


def errors(**answers: Any) -> list[str]:
    return answer_errors(answers, BANK)


def cron_problems(expression: str) -> list[str]:
    """Return the problems of a schedule with this cron expression (the bank's Jinja judges)."""
    schedule = {"name": "nightly", "cron": expression}
    return errors(schedules=[schedule], scheduler_tool="apscheduler", scheduling_recommended=False)


def test_error_names_field_value_and_fix() -> None:
    assert errors(max_retries=30) == [
        "retry_logic.max_retries: 30 is out of range 0..25; set a value between 0 and 25 "
        "(3 to 5 is typical)"
    ]


def test_every_error_is_listed_not_just_the_first() -> None:
    with pytest.raises(AnswersError) as exc:
        validate_answers({"worker_count": 0, "max_retries": -1, "queues": "default"})
    assert [e.split(":")[0] for e in exc.value.errors] == [
        "worker_architecture.worker_count",
        "worker_architecture.queues",
        "retry_logic.max_retries",
    ]


def test_keys_starting_with_underscore_are_ignored() -> None:
    answers = validate_answers({"_src_path": "gh:x/y", "_commit": "v1", "max_retries": 5})
    assert answers.max_retries == 5


def test_unknown_key_suggests_the_close_one() -> None:
    assert errors(worker_cout=2) == [
        "worker_cout: unknown answer key (did you mean worker_count?); remove it or correct "
        "its spelling"
    ]


def test_rq_needs_a_redis_url() -> None:
    [message] = errors(queue_technology="rq_redis", broker_url="amqp://localhost//")
    assert message.startswith("queue_technology.broker_url: 'amqp://localhost//' does not fit")
    assert "redis:// or rediss://" in message


def test_default_broker_url_follows_the_technology() -> None:
    assert validate_answers({"queue_technology": "rq_redis"}).broker_url.startswith("redis://")
    assert validate_answers({"queue_technology": "postgres"}).broker_url.startswith("postgresql://")


def test_password_in_broker_url_is_rejected_and_never_echoed() -> None:
    [message] = errors(queue_technology="celery_redis", broker_url="redis://u:hunter2@h:6379/0")
    assert "hunter2" not in message
    assert "'redis://u:***@h:6379/0' contains a password" in message
    [message] = errors(queue_technology="postgres", broker_url="postgresql://h/db?password=x")
    assert "password parameter" in message


@pytest.mark.parametrize(
    ("technology", "tool", "ok"),
    [
        ("sqlite", "huey_periodic", True),
        ("sqlite", "celery_beat", False),
        ("celery_redis", "celery_beat", True),
        ("celery_rabbitmq", "celery_beat", True),
        ("rq_redis", "rq_scheduler", True),
        ("postgres", "rq_scheduler", False),
        ("postgres", "procrastinate_periodic", True),
        ("kafka", "apscheduler", True),
        ("sqs", "cloud_scheduler", True),
    ],
)
def test_scheduler_tool_must_exist_for_the_backend(technology: str, tool: str, ok: bool) -> None:
    found = errors(queue_technology=technology, scheduler_tool=tool)
    assert (found == []) == ok, found


def test_schedules_or_scheduled_jobs_need_a_scheduler() -> None:
    [message] = errors(job_types=["scheduled"], schedules=[], scheduler_tool="none")
    assert message == (
        "scheduling.scheduler_tool: none leaves the scheduled job type without a scheduler; "
        "choose huey_periodic, apscheduler, system_cron or cloud_scheduler"
    )
    [message] = errors(schedules=[{"name": "tick", "every_seconds": 60}], scheduler_tool="none")
    assert "none leaves 1 schedule without a scheduler" in message


def test_backoff_delays_must_not_decrease_and_retries_need_delays() -> None:
    [message] = errors(backoff_delays_seconds=[60, 30])
    assert message.startswith("retry_logic.backoff_delays_seconds[1]: 30 is smaller")
    assert errors(max_retries=0, backoff_delays_seconds=[]) == []
    [message] = errors(max_retries=2, backoff_delays_seconds=[])
    assert "the list is empty but max_retries is 2" in message
    assert errors(backoff_delays_seconds=[0, True, 1.5])[0].endswith("at least 1 second")


def test_defaults_follow_earlier_answers_so_they_stay_valid() -> None:
    answers = validate_answers(
        {
            "queue_technology": "celery_redis",
            "job_types": ["scheduled"],
            "retry_on": ["network", "validation"],
            "job_timeout_seconds": 30,
            "dead_letter_queue": False,
        }
    )
    assert answers.scheduler_tool == "celery_beat"
    assert answers.discard_on == ("not_found", "auth")
    assert answers.duration_p95_alert_seconds == 30
    assert answers.manual_retry is False
    assert (
        validate_answers({"queue_technology": "kafka", "job_types": ["scheduled"]}).scheduler_tool
        == "apscheduler"
    )


def test_fixed_backoff_defaults_to_one_delay() -> None:
    assert validate_answers({"backoff_strategy": "fixed"}).backoff_delays_seconds == (60,)


@pytest.mark.parametrize("value", [0, 25])
def test_retries_accept_the_range_ends(value: int) -> None:
    assert validate_answers({"max_retries": value}).max_retries == value


@pytest.mark.parametrize(
    ("answers", "fragment"),
    [
        ({"job_timeout_seconds": 0}, "job_timeout_seconds: 0 is out of range 1..86400"),
        ({"worker_cpu_limit": 0.05}, "worker_cpu_limit: 0.05 is out of range 0.1..64"),
        ({"failure_rate_alert_percent": 0}, "set a value above 0 and at most 100"),
        ({"failure_rate_alert_percent": 100.5}, "100.5 is out of range"),
        ({"worker_count": True}, "True is a boolean, not a whole number"),
        ({"worker_count": "2"}, "'2' is a string, not a whole number"),
        ({"delayed_jobs": "yes"}, "'yes' is a string, not a yes/no answer"),
        (
            {"job_timeout_seconds": 300, "duration_p95_alert_seconds": 301},
            "301 exceeds job_timeout_seconds 300",
        ),
        (
            {"dead_letter_queue": False, "manual_retry": True},
            "manual_retry: true needs a dead-letter queue",
        ),
        ({"retry_on": ["auth"], "discard_on": ["auth"]}, "auth is in both retry_on and discard_on"),
        ({"monitoring_tools": ["rq_dashboard"]}, "rq_dashboard works only with"),
        ({"worker_count": 9, "scaling_strategy": "autoscale", "max_workers": 8}, "below"),
        ({"package_name": "import"}, "'import' is a Python keyword"),
        ({"package_name": "my-jobs"}, "'my-jobs' is not a valid Python package name"),
        ({"project_name": "  "}, "project_name: the name is empty"),
        ({"queues": ["default", "default"]}, "queues[1]: 'default' is listed twice"),
        ({"job_types": ["immediate", "cron"]}, "job_types[1]: 'cron' is not a choice"),
        ({"queue_technology": "beanstalk"}, "'beanstalk' is not a choice; choose one of"),
    ],
)
def test_rule_violations_produce_their_message(answers: dict[str, Any], fragment: str) -> None:
    found = answer_errors(answers, BANK)
    assert any(fragment in line for line in found), found


def test_multiselect_answers_are_deduplicated_in_option_order() -> None:
    answers = validate_answers({"job_types": ["batch", "immediate", "batch"]})
    assert answers.job_types == ("immediate", "batch")


def test_max_workers_defaults_to_four_times_the_workers_capped() -> None:
    assert validate_answers({"worker_count": 3, "scaling_strategy": "autoscale"}).max_workers == 12


def test_dump_validates_again_to_the_same_answers() -> None:
    answers = validate_answers(
        {"schedules": [{"name": "a", "cron": "0 * * * *"}, {"name": "b", "every_seconds": 9}],
         "scheduler_tool": "apscheduler"}
    )  # fmt: skip
    assert validate_answers(answers.model_dump(mode="json")) == answers


@pytest.mark.parametrize(
    "expression",
    [
        "* * * * *", "0 8 * * *", "*/15 0-23/2 1,15 1-12 0-6", "59 23 31 12 6", "007 1 1 1 0",
        "0 8 * * MON-FRI", "0 0 1 jan,Jul *", "0 0 * * 7", "@daily", "@hourly", "0 0 29 FEB *",
        "0 0 30 2 1",
    ],
)  # fmt: skip
def test_cron_accepts_debian_cron_numbers_names_and_macros(expression: str) -> None:
    assert cron_problems(expression) == []
    # cronsim, the library the generated scheduler fires with, accepts each as well.
    fields = MACROS.get(expression.strip(), expression)
    next(CronSim(fields, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("0 8 * *", "it has 4 fields, a cron expression has 5"),
        ("0 0 8 * * *", "it has 6 fields, a cron expression has 5"),
        ("@reboot", "it has 1 fields, a cron expression has 5"),
        ("60 * * * *", "minute value 60 is out of range 0..59"),
        ("0 24 * * *", "hour value 24 is out of range 0..23"),
        ("0 0 0 * *", "day-of-month value 0 is out of range 1..31"),
        ("0 0 * 13 *", "month value 13 is out of range 1..12"),
        ("0 0 * * 8", "day-of-week value 8 is out of range 0..7"),
        ("5-1 * * * *", "minute range 5-1 runs backwards"),
        ("0 0 * * FRI-MON", "day-of-week range 5-1 runs backwards"),
        ("*/0 * * * *", "minute step in '*/0' must be a whole number of at least 1"),
        ("5/3 * * * *", "minute part '5/3' is not a number, range or step"),
        ("0 8 * * MOO", "day-of-week part 'MOO' is not a number, range or step"),
        ("0 8 MON * *", "day-of-month part 'MON' is not a number, range or step"),
        ("0 0 L * *", "day-of-month part 'L' is not a number, range or step"),
        ("0 0 * * 5#2", "day-of-week part '5#2' is not a number, range or step"),
        ("1,,2 * * * *", "minute field has an empty list item"),
        ("1/2/3 * * * *", "minute part '1/2/3' has more than one '/'"),
        ("0 0 30 2 *", "day-of-month 30 never comes in the chosen months, so it never fires"),
        ("0 0 31 4,6 *", "day-of-month 31 never comes in the chosen months, so it never fires"),
    ],
)
def test_cron_rejects_with_the_reason(expression: str, reason: str) -> None:
    fix = "write five fields: minute hour day-of-month month day-of-week, e.g. '0 8 * * *'"
    assert cron_problems(expression) == [
        f"scheduling.schedules[0].cron: '{expression}' does not parse: {reason}; {fix}"
    ]


CRON_PARTS = [
    "*", "*/5", "0", "59", "60", "1-5", "5-1", "1-5/2", "5/3", "*/0", "1,2", "31", "12", "13",
    "7", "24", "MON", "mon-fri", "JAN", "FEB", "FEB/2", "L", "30", "4,6",
]  # fmt: skip


@given(st.lists(st.sampled_from(CRON_PARTS), min_size=5, max_size=5).map(" ".join))
def test_every_cron_the_grammar_accepts_fires_in_cronsim(expression: str) -> None:
    if cron_problems(expression) == []:
        next(CronSim(expression, dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))


def test_cron_never_firing_check_matches_cronsim() -> None:
    with pytest.raises(CronSimError):
        CronSim("0 0 30 2 *", dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                               max_size=4),
    max_leaves=12,
)  # fmt: skip
KEYS = st.sampled_from([q.key for q in BANK.questions] + ["_src_path", "extra", ""]) | st.integers(
    0, 3
)


@given(st.one_of(YAML_VALUES, st.dictionaries(KEYS, YAML_VALUES, max_size=12)))
def test_fuzzed_answers_never_raise_anything_but_a_listed_error(data: Any) -> None:
    try:
        validate_answers(data, BANK)
    except AnswersError as exc:
        assert exc.errors
        for line in exc.errors:
            assert ": " in line and "Traceback" not in line
            given_keys = [f"{k}: " for k in data] if isinstance(data, dict) else []
            prefixes = [f"{g.id}." for g in BANK.groups] + ["answers: ", *given_keys]
            assert line.startswith(tuple(prefixes)), line


ANSWER_FILES = st.one_of(
    st.dictionaries(KEYS, YAML_VALUES, max_size=12).map(
        lambda d: yaml.safe_dump(d, allow_unicode=True)
    ),
    st.text(max_size=60),  # anything at all, mostly not YAML answers
    st.lists(st.sampled_from(["max_retries: 3", "queues: [a", "- x", "  :", "{", "'"])).map(
        "\n".join
    ),
)


@given(ANSWER_FILES)
def test_fuzzed_answers_files_exit_0_or_1_listing_every_error(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "answers.yml"
        path.write_text(text, encoding="utf-8")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["answers", "check", str(path)])
    lines = out.getvalue().splitlines()
    assert code in (0, 1)
    if code == 1:
        count = int(lines[0].split(": ")[-1].split()[0])
        assert count == len(lines) - 1 >= 1


def test_a_teams_reason_is_free_text_that_may_be_empty() -> None:
    assert validate_answers({"scheduling_reason": ""}).scheduling_reason == ""
    reason = "already using Redis for caching"
    assert validate_answers({"queue_technology_reason": reason}).queue_technology_reason == reason
    assert errors(monitoring_reason=5) == [
        "monitoring.monitoring_reason: 5 is a number, not text; write the team's reason in "
        "words, or leave it empty"
    ]


@pytest.mark.parametrize(
    ("job_types", "expected"),
    [
        (
            ["immediate"],
            {"job_timeout_seconds": 60, "queues": ("default",), "worker_concurrency": 4},
        ),
        (
            ["scheduled", "batch"],
            {"job_timeout_seconds": 900, "queues": ("default", "batch"), "worker_concurrency": 8},
        ),
        (
            ["long_running", "event_driven"],
            {"job_timeout_seconds": 3600, "queues": ("default", "long_running", "events")},
        ),
    ],
)
def test_defaults_come_from_the_chosen_job_types(
    job_types: list[str], expected: dict[str, Any]
) -> None:
    answers = validate_answers({"job_types": job_types})
    assert {key: getattr(answers, key) for key in expected} == expected
    # The p95 alert takes the suggestion too, never above the timeout the answers give.
    capped = validate_answers({"job_types": ["long_running"], "job_timeout_seconds": 600})
    assert capped.duration_p95_alert_seconds == 600
