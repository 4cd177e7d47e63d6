"""Suggest answers from the job-type decision tree.

Each job type in ``decision_tree.yaml`` carries the answers its pattern implies (``suggests``).
Several job types merge: lists are united in order, numbers take the largest value, anything else
keeps the first suggestion. The result is completed with defaults and validated, so a
recommendation is always a valid answers file.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from jobforge.errors import UsageError

from .bank import Bank
from .model import Answers
from .validation import validate_answers


def _merge(current: Any, new: Any) -> Any:
    if isinstance(current, list) and isinstance(new, list):
        return current + [item for item in new if item not in current]
    if isinstance(current, int | float) and isinstance(new, int | float):
        return max(current, new)
    return current


def recommend(bank: Bank, job_types: Sequence[str], queue_technology: str = "sqlite") -> Answers:
    """Return the answers suggested for the chosen job types on a queue technology."""
    known = {jt.value: jt for jt in bank.decision_tree.job_types}
    unknown = [jt for jt in job_types if jt not in known]
    if unknown or not job_types:
        raise UsageError(
            f"job type {', '.join(unknown) or '(none)'} is not in the decision tree; choose from: "
            f"{', '.join(known)}"
        )
    technologies = {t.value: t for t in bank.technologies}
    if queue_technology not in technologies:
        raise UsageError(
            f"queue technology {queue_technology!r} is unknown; choose from: "
            f"{', '.join(technologies)}"
        )
    chosen = [jt for jt in bank.decision_tree.job_types if jt.value in job_types]
    suggested: dict[str, Any] = {}
    for job_type in chosen:
        for key, value in job_type.suggests.items():
            suggested[key] = _merge(suggested[key], value) if key in suggested else value
    answers: dict[str, Any] = {
        "job_types": [jt.value for jt in chosen],
        "queue_technology": queue_technology,
        **suggested,
    }
    if answers.get("schedules") or "scheduled" in answers["job_types"]:
        native = technologies[queue_technology].native_scheduler
        answers["scheduler_tool"] = native if native and native != "none" else "apscheduler"
    return validate_answers(answers, bank)


def render_recommendation(bank: Bank, answers: Answers) -> str:
    """Render the recommendation as a commented YAML answers file."""
    lines = ["# Answers suggested by `jobforge recommend` from the job-type decision tree."]
    for job_type in bank.decision_tree.job_types:
        if job_type.value in answers.job_types:
            lines.append(f"# {job_type.label}: {job_type.pattern}")
    technology = bank.question("queue_technology").option(answers.queue_technology)
    if technology.generated == "spec_only":
        lines.append(f"# {technology.label}: spec documents only, no generated job subsystem yet.")
    lines.append("# Check it with `jobforge answers check FILE`; generate with `jobforge new`.")
    body = yaml.safe_dump(answers.model_dump(mode="json", exclude_none=True), sort_keys=False)
    return "\n".join(lines) + "\n" + body
