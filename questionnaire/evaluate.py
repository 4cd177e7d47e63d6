"""Evaluate a whole answers mapping against the bank: every field check, then every cross rule.

This is the one place that decides which answers are valid. It never raises on bad input: it
returns the normalized answers (defaults filled in) and every problem found, in asking order.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bank import Bank, Question
from .checks import Problem, check_field, describe, is_int, show
from .rules import RULES, default_scheduler, needs_scheduler


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating an answers mapping."""

    values: Mapping[str, Any]  # normalized answers, defaults filled in (valid ones only)
    problems: tuple[str, ...]  # full messages, ``group.key[subpath]: message``, asking order

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems


def default_for(question: Question, values: Mapping[str, Any], bank: Bank) -> Any:
    """Return the default of a question given valid earlier answers, or None if unknown."""
    source = question.default_from
    if source is None:
        return question.default
    base = question.default
    if source.suggested:
        if "job_types" not in values:
            return None
        found = bank.decision_tree.suggestion(question.key, values["job_types"])
        base = question.default if found is None else found
        if source.key == "job_types":
            return base
    earlier = values.get(source.key)
    if earlier is None:
        return None
    if source.option_field is not None:
        return getattr(bank.question(source.key).option(earlier), source.option_field)
    if source.scheduler:
        if "schedules" not in values or "job_types" not in values:
            return None
        if needs_scheduler(values["schedules"], values["job_types"]):
            return default_scheduler(bank, earlier)
        return "none"
    if source.copy_value:
        return earlier
    if source.minus:
        return [item for item in question.default if item not in earlier]
    if source.at_most:
        return min(base, earlier)
    if source.table is not None:
        return source.table.get(earlier, source.otherwise)
    if source.factor is not None and is_int(earlier) and question.max is not None:
        return min(earlier * source.factor, int(question.max))
    return None


def _unknown_key(key: object, bank: Bank) -> str:
    close = difflib.get_close_matches(str(key), list(bank.by_key), n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return f"{key}: unknown answer key{guess}; remove it or correct its spelling"


def _off_recommendation(
    question: Question, value: Any, values: Mapping[str, Any], bank: Bank
) -> list[Problem]:
    """Flag an answer the recommended settings cover that is not their value (copier skips it)."""
    expected = default_for(question, values, bank)
    if expected is None or value == expected:
        return []
    flag = question.covered_by
    return [
        Problem(
            question.key,
            "",
            f"{show(value)} is not the recommended {show(expected)}, but {flag} is true; set "
            f"{flag} to false to choose your own, or remove this answer",
        )
    ]


def evaluate(bank: Bank, data: object) -> Evaluation:
    """Check every answer in ``data`` (keys starting with ``_`` are ignored)."""
    if not isinstance(data, Mapping):
        return Evaluation(
            {},
            (
                f"answers: {describe(data)} is not a mapping of answers; write one 'key: value' "
                "line per answer, e.g. 'queue_technology: sqlite'",
            ),
        )
    answers = {k: v for k, v in data.items() if not (isinstance(k, str) and k.startswith("_"))}
    problems: list[str] = [_unknown_key(k, bank) for k in answers if k not in bank.by_key]
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for question in bank.questions:
        if question.key in answers:
            value, found = check_field(question, answers[question.key])
        elif question.covers:
            value, found = not any(key in answers for key in question.covers), []
        else:
            value, found = default_for(question, values, bank), []
            if value is None:
                failed.add(question.key)  # its default depends on an invalid earlier answer
                continue
        if not found:
            values[question.key] = value
            for name in question.rules:
                rule = RULES[name]
                if any(read in failed for read in rule.reads):
                    continue
                messages = rule.check(bank, question, {**values, question.key: value})
                found.extend(Problem(question.key, "", message) for message in messages)
            given = question.key in answers and question.covered_by is not None
            if not found and given and values.get(str(question.covered_by)) is True:
                found = _off_recommendation(question, value, values, bank)
        if found:
            failed.add(question.key)
            values.pop(question.key, None)
            problems.extend(f"{question.path}{p.subpath}: {p.message}" for p in found)
    return Evaluation(values, tuple(problems))
