"""The answers model: one frozen pydantic model whose fields are the answer keys.

Field names and types mirror ``questions.yaml`` (a test fails when they drift); the limits and
defaults of number answers are read from it (:func:`number_field`).
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


def number_field(key: str, description: str | None = None) -> Any:
    """Return a number answer's field: its default and limits as the question bank has them.

    The bank is the one place a number question's range lives; copier's validator, the checks,
    this field and the JSON Schema all read it from there.
    """
    question = default_bank().question(key)
    assert question.min is not None and question.max is not None
    default = PydanticUndefined if question.default is None else question.default
    low, high = _limit(question.min), _limit(question.max)
    if question.min_exclusive:
        return Field(default, gt=low, le=high, description=description)
    return Field(default, ge=low, le=high, description=description)


class Schedule(BaseModel):
    """A recurring job: a name and either a five-field cron expression or an interval."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(description="Python identifier, unique among schedules")
    cron: str | None = Field(
        None, description="five-field cron (minute hour dom month dow, names) or a macro (@daily)"
    )
    every_seconds: int | None = Field(None, ge=1, description="interval in seconds")

    @model_serializer(mode="wrap")
    def _drop_unset_trigger(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Serialize only the trigger in use, so a dump validates again as answers."""
        data: dict[str, Any] = handler(self)
        return {key: value for key, value in data.items() if value is not None}


class Answers(BaseModel):
    """Every answer of the questionnaire, checked against the bank's field and cross rules."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # project
    project_name: str = Field("My App", min_length=1)
    package_name: str = Field("jobs", description="Python identifier, not a keyword")
    # decision tree
    job_types: tuple[JobTypeName, ...] = Field(("immediate",), min_length=1)
    # queue technology
    queue_technology: QueueTechnology = "sqlite"
    broker_url: str = Field(
        description="development URL; scheme fits the technology; no password "
        "(defaults to the technology's local URL)"
    )
    queue_technology_reason: str = Field(
        "", description="the team's own reason, free text; may be empty"
    )
    # worker architecture
    worker_architecture_recommended: bool = Field(True, description=RECOMMENDED)
    worker_count: int = number_field("worker_count")
    worker_concurrency: int = number_field("worker_concurrency")
    queues: tuple[str, ...] = Field(("default",), min_length=1)
    worker_types: Literal["uniform", "specialized"] = "uniform"
    scaling_strategy: Literal["manual", "autoscale", "serverless"] = "manual"
    max_workers: int = number_field(
        "max_workers", ">= worker_count (defaults to 4 x worker_count, at most the maximum)"
    )
    worker_memory_limit_mb: int = number_field("worker_memory_limit_mb")
    worker_cpu_limit: float = number_field("worker_cpu_limit")
    job_timeout_seconds: int = number_field("job_timeout_seconds")
    worker_architecture_reason: str = Field(
        "", description="the team's own reason, free text; may be empty"
    )
    # scheduling
    scheduling_recommended: bool = Field(True, description=RECOMMENDED)
    schedules: tuple[Schedule, ...] = ()
    timezone: str = Field("UTC", description="IANA time zone name that zoneinfo knows")
    delayed_jobs: bool = True
    scheduler_tool: SchedulerTool = Field(
        "none",
        description="must fit the technology; defaults to its own scheduler (APScheduler when it "
        "has none) when there are schedules or the scheduled job type",
    )
    overlap_policy: Literal["skip", "queue", "allow"] = "skip"
    missed_run_policy: Literal["skip", "run_once", "run_all"] = "run_once"
    scheduling_reason: str = Field("", description=REASON)
    # retry logic
    retry_logic_recommended: bool = Field(True, description=RECOMMENDED)
    max_retries: int = number_field("max_retries")
    backoff_strategy: Literal["exponential", "fixed"] = "exponential"
    backoff_delays_seconds: tuple[int, ...] = Field(
        (60, 300, 900),
        description="positive, non-decreasing, the last is the cap; all equal for a fixed "
        "backoff (default [60] then)",
    )
    backoff_jitter: bool = True
    retry_on: tuple[ErrorKind, ...] = (
        "network",
        "timeout",
        "rate_limit",
        "server_error",
        "lock_conflict",
    )
    discard_on: tuple[ErrorKind, ...] = Field(
        ("validation", "not_found", "auth"),
        description="no kind also in retry_on; the default leaves out kinds chosen in retry_on",
    )
    dead_letter_queue: bool = True
    dlq_alert_threshold: int = number_field("dlq_alert_threshold")
    manual_retry: bool = Field(
        True, description="needs dead_letter_queue; defaults to (and is asked only with) it"
    )
    retry_logic_reason: str = Field(
        "", description="the team's own reason, free text; may be empty"
    )
    # monitoring
    monitoring_recommended: bool = Field(True, description=RECOMMENDED)
    metrics: tuple[Metric, ...] = (
        "queue_depth",
        "duration",
        "success_rate",
        "worker_health",
        "dlq_size",
        "throughput",
    )
    queue_depth_alert: int = number_field("queue_depth_alert")
    failure_rate_alert_percent: float = number_field("failure_rate_alert_percent")
    duration_p95_alert_seconds: int = number_field(
        "duration_p95_alert_seconds", "at most job_timeout_seconds, which caps the default"
    )
    monitoring_tools: tuple[MonitoringTool, ...] = ("prometheus", "json_logs")
    alert_channels: tuple[AlertChannel, ...] = ("email",)
    monitoring_reason: str = Field("", description=REASON)

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
