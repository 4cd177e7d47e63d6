"""Jinja computing a question's default from earlier answers: each derivation written once.

Copier renders it as a question's ``default``; the answers model renders the same Jinja
(:mod:`.evaluate`). Also used for the values a recommended-settings question lists, and by the
validator that keeps a skipped answer at its recommended value.
"""

from __future__ import annotations

from .bank import Bank, Question, default_scheduler
from .jinja_checks import lit


def suggested_jinja(bank: Bank, question: Question) -> str:
    """Jinja setting ``sg.v`` to the chosen job types' merged suggestion (or the bank default).

    The one merge of the job types' suggestions: in tree order, lists unite, numbers take the
    larger, anything else keeps the first.
    """
    pairs = [
        [jt.value, jt.suggests[question.key]]
        for jt in bank.decision_tree.job_types
        if question.key in jt.suggests
    ]
    sample = pairs[0][1]
    if isinstance(sample, list):
        merge = "sg.v + (s | reject('in', sg.v) | list)"
    elif isinstance(sample, int | float):
        merge = "[sg.v, s] | max"
    else:
        merge = "sg.v"
    return (
        "{%- set sg = namespace(v=none) -%}"
        f"{{%- for jt, s in {lit(pairs)} if jt in job_types -%}}"
        f"{{%- set sg.v = s if sg.v is none else {merge} -%}}"
        "{%- endfor -%}"
        f"{{%- set sg.v = {lit(question.default)} if sg.v is none else sg.v -%}}"
    )


def derived_default(bank: Bank, question: Question) -> tuple[str, str]:
    """Jinja statements and an expression computing a question's default from earlier answers.

    Used for the question's own default and for the recommended-settings summary, which
    computes every default of a part before any of them is asked.
    """
    source = question.default_from
    if source is None:
        return "", lit(question.default)
    if source.suggested:
        prefix = suggested_jinja(bank, question)
        if source.key == "job_types":
            return prefix, "sg.v"
        assert source.at_most, f"{question.key}: suggested defaults combine only with at_most"
        return prefix, f"[sg.v, {source.key}] | min"
    if source.option_field is not None:
        table = {
            option.value: getattr(option, source.option_field)
            for option in bank.question(source.key).options
        }
        return "", f"{lit(table)}[{source.key}]"
    if source.scheduler:
        tools = lit({t.value: default_scheduler(bank, t.value) for t in bank.technologies})
        return "", (
            f"{tools}[{source.key}] if (schedules | length > 0 or 'scheduled' in job_types)"
            " else 'none'"
        )
    if source.copy_value:
        return "", source.key
    if source.minus:
        return "", f"{lit(question.default)} | reject('in', {source.key}) | list"
    if source.at_most:
        return "", f"[{lit(question.default)}, {source.key}] | min"
    if source.table is not None:
        lookup = lit(dict(source.table))
        return "", f"{lookup}.get({source.key}, {lit(source.otherwise)})"
    assert source.factor is not None and question.max is not None
    return "", f"[{source.key} * {source.factor}, {int(question.max)}] | min"


def default_jinja(bank: Bank, question: Question) -> tuple[str, str] | None:
    """Jinja statements and an expression for a default that depends on other answers.

    None for a fixed default. A recommended-settings question defaults to true unless an
    answer it covers is given (copier sees given answers before they are asked).
    """
    if question.covers:
        given = " or ".join(f"{key} is defined" for key in question.covers)
        return "", f"not ({given})"
    if question.default_from is None:
        return None
    return derived_default(bank, question)
