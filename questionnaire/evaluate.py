"""Evaluate a whole answers mapping against the bank, as copier would, in jobforge's words.

This is the one place the answers model decides which answers are valid. Per question, in asking
order: its type (:mod:`.checks`, what copier's cast does), then its own check, its cross-field
rules and, for an answer a part's recommended settings cover, the recommended value: all of
them the bank's Jinja that copier renders too (:mod:`.jinja_checks`, rendered by
:mod:`.jinja_render`). A default that depends on other answers is the same Jinja as copier's
``default``. A check that reads an answer which failed its own is skipped, so one mistake is
reported once. It never raises on bad input: it returns the normalized answers (defaults filled
in) and every problem found.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .bank import Bank, Question
from .checks import check_type, describe, known_timezone
from .jinja_checks import field_jinja, problems_template, recommended_check, rule_jinja
from .jinja_defaults import default_jinja, derived_default
from .jinja_render import reads, render_json


@dataclass(frozen=True)
class Evaluation:
    """The outcome of evaluating an answers mapping."""

    values: Mapping[str, Any]  # normalized answers, defaults filled in (valid ones only)
    problems: tuple[str, ...]  # full messages, ``group.key[subpath]: message``, asking order

    @property
    def ok(self) -> bool:
        """True when there is no problem."""
        return not self.problems


@dataclass(frozen=True)
class _Templates:
    """One question's Jinja, each piece a template of its own (so each can be skipped)."""

    default: str | None  # renders the default as JSON; None for a fixed default
    field: str | None  # the answer's own check
    rules: tuple[str, ...]  # each cross-field rule
    recommended: str | None  # the recommended value, for an answer its part covers


def _json_template(prefix: str, expr: str) -> str:
    return f"{prefix}{{{{ ({expr}) | tojson }}}}"


def _compile(bank: Bank, question: Question) -> _Templates:
    derived = default_jinja(bank, question)
    field = field_jinja(question)
    recommended = None
    if question.covered_by is not None:
        recommended = problems_template(
            question, recommended_check(question, *derived_default(bank, question))
        )
    return _Templates(
        default=None if derived is None else _json_template(*derived),
        field=problems_template(question, field) if field else None,
        rules=tuple(
            problems_template(question, rule_jinja(bank, question, name)) for name in question.rules
        ),
        recommended=recommended,
    )


#: Each bank's templates by question key; the bank is kept so its id is never reused.
_COMPILED: dict[int, tuple[Bank, dict[str, _Templates]]] = {}


def _templates(bank: Bank) -> dict[str, _Templates]:
    """Return every question's templates, built once per bank (banks are not hashable)."""
    if id(bank) not in _COMPILED:
        _COMPILED[id(bank)] = (bank, {q.key: _compile(bank, q) for q in bank.questions})
    return _COMPILED[id(bank)][1]


def _unknown_key(key: object, bank: Bank) -> str:
    close = difflib.get_close_matches(str(key), list(bank.by_key), n=1)
    guess = f" (did you mean {close[0]}?)" if close else ""
    return f"{key}: unknown answer key{guess}; remove it or correct its spelling"


def _run(template: str | None, context: Mapping[str, Any], failed: set[str]) -> list[str]:
    """Render a check's problems; nothing when it reads an answer that failed its own check."""
    if template is None or reads(template) & failed:
        return []
    return list(render_json(template, context))


def _problems(
    templates: _Templates,
    question: Question,
    value: Any,
    given: bool,
    values: Mapping[str, Any],
    failed: set[str],
) -> list[str]:
    """Every problem of one typed answer: own check, rules, then the recommended value.

    An answer left to its default takes only the rules, as copier validates no default.
    """
    context = {**values, question.key: value}
    problems = _run(templates.field, context, failed) if given else []
    if not problems and question.kind == "timezone":
        problems = [f"{question.path}: {p.message}" for p in known_timezone(question, value)]
    if problems:
        return problems
    for rule in templates.rules:
        problems.extend(_run(rule, context, failed))
    if not problems and given:
        problems = _run(templates.recommended, context, failed)
    return problems


def answer_problems(bank: Bank, question: Question, value: object) -> list[str]:
    """Return the problems of one answer on its own: its type, then its own check (no rules)."""
    typed, found = check_type(question, value)
    if found:
        return [f"{question.path}{p.subpath}: {p.message}" for p in found]
    template = _templates(bank)[question.key].field
    return _run(template, {question.key: typed}, set())


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
    given_answers = {k: v for k, v in answers.items() if k in bank.by_key}
    values: dict[str, Any] = {}
    failed: set[str] = set()
    compiled = _templates(bank)
    for question in bank.questions:
        key, templates = question.key, compiled[question.key]
        if key in answers:
            value, found = check_type(question, answers[key])
            messages = [f"{question.path}{p.subpath}: {p.message}" for p in found]
        elif templates.default is None:
            value, messages = question.default, []
        elif reads(templates.default) & failed:
            failed.add(key)  # its default depends on an invalid earlier answer
            continue
        else:
            # Like copier: given answers are defined before they are asked.
            context = {k: v for k, v in given_answers.items() if k not in failed}
            value, messages = render_json(templates.default, {**context, **values}), []
        if not messages:
            messages = _problems(templates, question, value, key in answers, values, failed)
        if messages:
            failed.add(key)
            problems.extend(messages)
        else:
            values[key] = value
    return Evaluation(values, tuple(problems))
