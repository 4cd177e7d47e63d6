"""The answers model: one frozen pydantic model whose fields are the answer keys.

Field names and types mirror ``questions.yaml`` (a test fails when they drift); every default,
limit and least count is read from it (:func:`bank_field`).
Validation runs the bank's checks first (:func:`jobforge.questionnaire.evaluate.evaluate`: the
same Jinja copier renders at its prompts), so an invalid mapping fails with every problem listed
in jobforge's own words, and a constructed :class:`Answers` always satisfies every field and
cross-field rule. Keys starting with ``_`` (such
as copier's ``_src_path`` and ``_commit``) are ignored.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationInfo,
    model_serializer,
    model_validator,
)
from pydantic_core import PydanticCustomError, PydanticUndefined

from .bank import Bank, load_bank
from .evaluate import evaluate

JobTypeName = Literal["immediate", "scheduled", "long_running", "event_driven", "batch"]
QueueTechnology = Literal[
    "sqlite", "celery_redis", "rq_redis", "celery_rabbitmq", "postgres", "sqs", "kafka"
]
SchedulerTool = Literal[
    "none",
    "celery_beat",
    "huey_periodic",
    "rq_scheduler",
    "procrastinate_periodic",
    "apscheduler",
    "system_cron",
    "cloud_scheduler",
]
ErrorKind = Literal[
    "network",
    "timeout",
    "rate_limit",
    "server_error",
    "lock_conflict",
    "validation",
    "not_found",
    "auth",
]
Metric = Literal[
    "queue_depth", "duration", "success_rate", "worker_health", "dlq_size", "throughput"
]
MonitoringTool = Literal[
    "prometheus", "grafana", "flower", "rq_dashboard", "datadog", "new_relic", "json_logs"
]
AlertChannel = Literal["slack", "pagerduty", "email", "webhook"]

#: What each Phase 9 question's optional reason field holds.
REASON = "the team's own reason, free text; may be empty"

#: What each "use the recommended settings" answer means.
RECOMMENDED = (
    "true: the rest of this part takes its defaults (none of it may be given); defaults to true "
    "unless some of it is given"
)

#: Error code of the single pydantic error that carries every problem of an answers mapping.
ANSWERS_ERROR_TYPE = "jobforge_answers"


@cache
def default_bank() -> Bank:
    """Return the bank shipped with the package, loaded once."""
    return load_bank()


def _limit(value: float) -> float:
    return int(value) if float(value).is_integer() else value


def bank_field(key: str, description: str | None = None) -> Any:
    """Return an answer's field with its default, limits and least count as the bank has them.

    The bank is the one place a question's default and range live; copier's validators, the
    checks, this field and the JSON Schema all read them from there. A default the bank derives
    from other answers (``default_from``) is left to :func:`.evaluate.evaluate`.
    """
    question = default_bank().question(key)
    default: Any = question.default
    if default is None:
        default = PydanticUndefined
    elif isinstance(default, list):
        default = tuple(default)
    low = None if question.min is None else _limit(question.min)
    high = None if question.max is None else _limit(question.max)
    return Field(
        default,
        description=description,
        gt=low if question.min_exclusive else None,
        ge=None if question.min_exclusive else low,
        le=high,
        min_length=question.min_items or None,
    )


def _factor(key: str) -> int | None:
    source = default_bank().question(key).default_from
    return None if source is None else source.factor


def _fixed_delays() -> object:
    source = default_bank().question("backoff_delays_seconds").default_from
    return None if source is None or source.table is None else source.table.get("fixed")


class Schedule(BaseModel):
    """A recurring job: a name and either a five-field cron expression or an interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Python identifier, unique among schedules")
    cron: str | None = Field(
        None, description="five-field cron (minute hour dom month dow, names) or a macro (@daily)"
    )
    every_seconds: int | None = Field(None, description="interval in seconds")

    @model_serializer(mode="wrap")
    def _drop_unset_trigger(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Serialize only the trigger in use, so a dump validates again as answers."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class Answers(BaseModel):
    """Every answer of the questionnaire, checked against the bank's field and cross rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # project
    project_name: str = bank_field("project_name", "not empty")
    package_name: str = bank_field("package_name", "Python identifier, not a keyword")
    # decision tree
    job_types: tuple[JobTypeName, ...] = bank_field("job_types")
    # queue technology
    queue_technology: QueueTechnology = bank_field("queue_technology")
    broker_url: str = bank_field(
        "broker_url",
        "development URL; scheme fits the technology; no password "
        "(defaults to the technology's local URL)",
    )
    queue_technology_reason: str = bank_field("queue_technology_reason", REASON)
    # worker architecture
    worker_architecture_recommended: bool = bank_field(
        "worker_architecture_recommended", RECOMMENDED
    )
    worker_count: int = bank_field("worker_count")
    worker_concurrency: int = bank_field("worker_concurrency")
    queues: tuple[str, ...] = bank_field("queues", "at least one; Python identifiers, each once")
    scaling_strategy: Literal["manual", "autoscale", "serverless"] = bank_field("scaling_strategy")
    max_workers: int = bank_field(
        "max_workers",
        f">= worker_count (defaults to {_factor('max_workers')} x worker_count, at most the "
        "maximum)",
    )
    worker_memory_limit_mb: int = bank_field("worker_memory_limit_mb")
    worker_cpu_limit: float = bank_field("worker_cpu_limit")
    job_timeout_seconds: int = bank_field("job_timeout_seconds")
    worker_architecture_reason: str = bank_field("worker_architecture_reason", REASON)
    # scheduling
    scheduling_recommended: bool = bank_field("scheduling_recommended", RECOMMENDED)
    schedules: tuple[Schedule, ...] = bank_field("schedules")
    timezone: str = bank_field("timezone", "IANA time zone name that zoneinfo knows")
    delayed_jobs: bool = bank_field("delayed_jobs")
    scheduler_tool: SchedulerTool = bank_field(
        "scheduler_tool",
        "must fit the technology; defaults to its own scheduler (APScheduler when it has none) "
        "when there are schedules or the scheduled job type",
    )
    overlap_policy: Literal["skip", "queue", "allow"] = bank_field("overlap_policy")
    missed_run_policy: Literal["skip", "run_once", "run_all"] = bank_field("missed_run_policy")
    scheduling_reason: str = bank_field("scheduling_reason", REASON)
    # retry logic
    retry_logic_recommended: bool = bank_field("retry_logic_recommended", RECOMMENDED)
    max_retries: int = bank_field("max_retries")
    backoff_strategy: Literal["exponential", "fixed"] = bank_field("backoff_strategy")
    backoff_delays_seconds: tuple[int, ...] = bank_field(
        "backoff_delays_seconds",
        "positive, non-decreasing, the last is the cap; all equal for a fixed backoff "
        f"(default {_fixed_delays()} then)",
    )
    backoff_jitter: bool = bank_field("backoff_jitter")
    retry_on: tuple[ErrorKind, ...] = bank_field("retry_on")
    discard_on: tuple[ErrorKind, ...] = bank_field(
        "discard_on",
        "no kind also in retry_on; the default leaves out kinds chosen in retry_on",
    )
    dead_letter_queue: bool = bank_field("dead_letter_queue")
    dlq_alert_threshold: int = bank_field("dlq_alert_threshold")
    manual_retry: bool = bank_field(
        "manual_retry", "needs dead_letter_queue; defaults to (and is asked only with) it"
    )
    retry_logic_reason: str = bank_field("retry_logic_reason", REASON)
    # monitoring
    monitoring_recommended: bool = bank_field("monitoring_recommended", RECOMMENDED)
    metrics: tuple[Metric, ...] = bank_field("metrics")
    queue_depth_alert: int = bank_field("queue_depth_alert")
    failure_rate_alert_percent: float = bank_field("failure_rate_alert_percent")
    duration_p95_alert_seconds: int = bank_field(
        "duration_p95_alert_seconds", "at most job_timeout_seconds, which caps the default"
    )
    monitoring_tools: tuple[MonitoringTool, ...] = bank_field("monitoring_tools")
    alert_channels: tuple[AlertChannel, ...] = bank_field("alert_channels")
    monitoring_reason: str = bank_field("monitoring_reason", REASON)

    @model_validator(mode="before")
    @classmethod
    def _check_against_bank(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, Answers):
            return data.model_dump()  # already valid; validate the plain data again
        context = info.context if isinstance(info.context, dict) else {}
        bank = context.get("bank") or default_bank()
        evaluation = evaluate(bank, data)
        if not evaluation.ok:
            raise PydanticCustomError(
                ANSWERS_ERROR_TYPE,
                "{count} problem(s) in the answers",
                {"count": len(evaluation.problems), "problems": list(evaluation.problems)},
            )
        return dict(evaluation.values)
