"""Suggest answers from the job-type decision tree.

Each job type in ``decision_tree.yaml`` carries the answers its pattern implies (``suggests``);
the answers model already takes those as its defaults (merged by
:meth:`~.bank.DecisionTree.suggestion`), so a recommendation is the validated answers of the job
types and the technology alone: the same defaults copier offers at its prompts.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import yaml

from jobforge.errors import UsageError

from .bank import Bank
from .model import Answers
from .validation import validate_answers


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
    chosen = [jt.value for jt in bank.decision_tree.job_types if jt.value in job_types]
    # Every default a job type suggests derives from the job types (jinja_defaults).
    return validate_answers({"job_types": chosen, "queue_technology": queue_technology}, bank)


def render_recommendation(bank: Bank, answers: Answers) -> str:
    """Render the recommendation as a commented YAML answers file."""
    lines = ["# Answers suggested by `jobforge recommend` from the job-type decision tree."]
    for job_type in bank.decision_tree.job_types:
        if job_type.value in answers.job_types:
            text = f"{job_type.label}: {job_type.pattern}"
            lines.extend(textwrap.wrap(text, 96, initial_indent="# ", subsequent_indent="#   "))
    technology = bank.question("queue_technology").option(answers.queue_technology)
    if technology.generated == "spec_only":
        lines.append(f"# {technology.label}: spec documents only, no generated job subsystem yet.")
    lines.append("# Check it with `jobforge answers check FILE`; generate with `jobforge new`.")
    body = yaml.safe_dump(answers.model_dump(mode="json", exclude_none=True), sort_keys=False)
    return "\n".join(lines) + "\n" + body
