"""Every answer in the question bank changes what a generated project runs or is configured with.

Each answer of ``examples/answers/sqlite.yml`` is changed alone (with the companions validation
requires, e.g. a Redis URL with Celery) and the project rendered again: the files that differ,
leaving aside the spec documents and Markdown, must not be empty. Answers that only justify a
choice (``*_reason``) may change the specs alone.

A part's "use the recommended settings" answer (``*_recommended``) is turned on with the part's
own answers removed (validation refuses both at once): the part then takes the recommended
values and the project changes with them. Where the example's answers already are the
recommended ones, the comparison starts from the example with one answer of the part changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jobforge.questionnaire import load_bank
from templates_support import answers, render, template_root

pytestmark = pytest.mark.acceptance

#: One change per answer: the answer's new value, plus what validation needs with it.
CHANGES: dict[str, dict[str, Any]] = {
    "project_name": {"project_name": "Billing Portal"},
    "package_name": {"package_name": "billing_jobs"},
    "job_types": {"job_types": ["immediate", "scheduled", "batch"]},
    "queue_technology": {
        "queue_technology": "celery_redis",
        "broker_url": "redis://localhost/0",
        "scheduler_tool": "celery_beat",
    },
    "broker_url": {"broker_url": "sqlite:///data/queue.db"},
    "worker_count": {"worker_count": 3},
    "worker_concurrency": {"worker_concurrency": 8},
    "queues": {"queues": ["default", "reports"]},
    "scaling_strategy": {"scaling_strategy": "autoscale", "max_workers": 6},
    "max_workers": {"scaling_strategy": "autoscale", "max_workers": 9},
    "worker_memory_limit_mb": {"worker_memory_limit_mb": 1024},
    "worker_cpu_limit": {"worker_cpu_limit": 2.0},
    "job_timeout_seconds": {"job_timeout_seconds": 300},
    "schedules": {"schedules": [{"name": "daily_report", "cron": "0 9 * * *"}]},
    "timezone": {"timezone": "Europe/Berlin"},
    "delayed_jobs": {"delayed_jobs": False},
    "scheduler_tool": {"scheduler_tool": "apscheduler"},
    "overlap_policy": {"overlap_policy": "queue"},
    "missed_run_policy": {"missed_run_policy": "skip"},
    "max_retries": {"max_retries": 5},
    "backoff_strategy": {"backoff_strategy": "fixed", "backoff_delays_seconds": [60]},
    "backoff_delays_seconds": {"backoff_delays_seconds": [30, 300, 900]},
    "backoff_jitter": {"backoff_jitter": False},
    "retry_on": {"retry_on": ["network", "timeout"]},
    "discard_on": {"discard_on": ["validation"]},
    "dead_letter_queue": {"dead_letter_queue": False, "manual_retry": False},
    "dlq_alert_threshold": {"dlq_alert_threshold": 20},
    "manual_retry": {"manual_retry": False},
    "metrics": {"metrics": ["queue_depth", "duration"]},
    "queue_depth_alert": {"queue_depth_alert": 100},
    "failure_rate_alert_percent": {"failure_rate_alert_percent": 10},
    "duration_p95_alert_seconds": {"duration_p95_alert_seconds": 30},
    "monitoring_tools": {"monitoring_tools": ["prometheus", "grafana", "json_logs"]},
    "alert_channels": {"alert_channels": ["slack"]},
    "worker_architecture_recommended": {"worker_architecture_recommended": True},
    "scheduling_recommended": {"scheduling_recommended": True},
    "retry_logic_recommended": {"retry_logic_recommended": True},
    "monitoring_recommended": {"monitoring_recommended": True},
}
#: Where the example already has the recommended values: the part's answer changed to start from.
RECOMMENDED_BASELINE: dict[str, dict[str, Any]] = {
    "retry_logic_recommended": {"max_retries": 5},
}
#: Answers that may change the spec documents only: they record why a choice was made.
SPEC_ONLY_ANSWERS_SUFFIX = "_reason"
#: Answers that change no generated code or configuration yet (to be given one, or dropped).
NO_EFFECT_YET = {
    "scheduler_tool",  # the runtime's scheduler fires the schedules whichever tool is named
}


def _covered() -> dict[str, tuple[str, ...]]:
    """Return each "use the recommended settings" answer with the part's answers it covers."""
    return {q.key: q.covers for g in load_bank().groups for q in g.questions if q.covers}


def _changed(base: dict[str, Any], key: str, change: dict[str, Any]) -> dict[str, Any]:
    """Return ``base`` with one change; a part taking the recommended settings drops its own."""
    covers = _covered().get(key, ())
    return {**{k: v for k, v in base.items() if k not in covers}, **change}


def _files(project: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(project)): p.read_bytes()
        for p in project.rglob("*")
        if p.is_file() and not p.name.startswith(".copier-answers")
    }


def _code_level(path: str) -> bool:
    return not (path.startswith("docs/") or path == "mkdocs.jobs.yml" or path.endswith(".md"))


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    """Render the sqlite answers, and once more per change; key "" is the unchanged project."""
    root = template_root(tmp_path_factory.mktemp("root"))
    out = tmp_path_factory.mktemp("projects")
    base = answers("sqlite")
    projects = {"": _files(render(root, out / "base", base))}
    for key, start in RECOMMENDED_BASELINE.items():
        projects[f"{key}:from"] = _files(render(root, out / f"{key}-from", {**base, **start}))
    for key, change in CHANGES.items():
        projects[key] = _files(render(root, out / key, _changed(base, key, change)))
    return projects


def test_every_answer_in_the_bank_has_a_change() -> None:
    keys = {q.key for g in load_bank().groups for q in g.questions}
    justified = {k for k in keys if k.endswith(SPEC_ONLY_ANSWERS_SUFFIX)}
    assert set(CHANGES) == keys - justified


def test_each_answer_changes_the_generated_code_or_configuration(
    rendered: dict[str, dict[str, bytes]],
) -> None:
    without_effect = set()
    for key in CHANGES:
        base = rendered.get(f"{key}:from", rendered[""])
        got = rendered[key]
        changed = {f for f in set(base) | set(got) if base.get(f) != got.get(f)}
        if not [f for f in changed if _code_level(f)]:
            without_effect.add(key)
    assert without_effect == NO_EFFECT_YET
