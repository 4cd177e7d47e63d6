"""A Markdown reference of the question bank, for the documentation site.

Generated from the same YAML as ``copier.yml`` and the answers model, so the documentation cannot
disagree with what copier asks: ``jobforge answers reference > docs/questionnaire.md``.
"""

from __future__ import annotations

import yaml

from .bank import Bank, Question
from .checks import number

KIND_TEXT = {
    "text": "text",
    "identifier": "Python identifier",
    "int": "whole number",
    "float": "number",
    "bool": "true / false",
    "choice": "one of the options",
    "multiselect": "list of options",
    "identifier_list": "list of identifiers",
    "delay_list": "list of seconds",
    "schedule_list": "list of schedules",
    "broker_url": "URL",
    "timezone": "IANA time zone name",
}


def _limits(question: Question) -> str:
    if question.min is None or question.max is None:
        return ""
    low = f"above {number(question.min)}" if question.min_exclusive else number(question.min)
    return f"; range {low} .. {number(question.max)}"


def _question(question: Question) -> list[str]:
    shown = yaml.safe_dump(question.default, default_flow_style=True).removesuffix("\n...\n")
    default = "derived from earlier answers" if question.default_from else f"`{shown.strip()}`"
    fills = "; ".join(f"`{fill.doc}` ({fill.section})" for fill in question.fills)
    lines = [
        f"### `{question.key}`",
        "",
        question.prompt,
        "",
        f"- Answer: {KIND_TEXT[question.kind]}{_limits(question)}; default {default}",
        f"- Fills: {fills}",
    ]
    if question.ask_when is not None:
        lines.append(f"- Asked only when `{question.ask_when.key}` is `{question.ask_when.equals}`")
    if question.rules:
        lines.append(f"- Cross-field rules: {', '.join(f'`{r}`' for r in question.rules)}")
    if question.help:
        lines += ["", question.help]
    if question.options:
        lines += ["", "| option | pros | cons | best for |", "| --- | --- | --- | --- |"]
        lines += [
            f"| `{o.value}` {o.display} | {o.pros} | {o.cons} | {o.best_for} |"
            for o in question.options
        ]
    return [*lines, ""]


def render_reference(bank: Bank) -> str:
    """Render every group, question and option of the bank as Markdown."""
    lines = ["# Questionnaire reference", "", "## Job-type decision tree", ""]
    lines += [bank.decision_tree.question, ""]
    for job_type in bank.decision_tree.job_types:
        lines += [
            f"- **{job_type.label}** (`{job_type.value}`): {job_type.when} "
            f"Pattern: {job_type.pattern} Example: {job_type.example}",
        ]
    lines.append("")
    for group in bank.groups:
        lines += [f"## {group.title}", ""]
        for question in group.questions:
            lines += _question(question)
    return "\n".join(lines).rstrip("\n") + "\n"
