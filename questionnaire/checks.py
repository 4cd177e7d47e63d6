"""What copier's question types check before any validator runs, for answers files.

Copier casts an answer to its question's type (``str``, ``int``, ``float``, ``bool``, a choice)
and only then renders the validator. An answers file is YAML and may hold anything, so the model
first checks here that each answer has its question's type, in jobforge's words (the value and
the fix), and normalizes it as copier's cast does. Every other check and rule is the bank's Jinja
(:mod:`.jinja_checks`), which the model renders after these (:mod:`.evaluate`). The one check
Jinja cannot make, whether zoneinfo knows a time zone, is :func:`known_timezone`.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .bank import Question


@dataclass(frozen=True)
class Problem:
    """One problem with one answer: ``key`` + ``subpath`` locate it, ``message`` explains it."""

    key: str  # the answer key, e.g. "schedules"
    subpath: str  # where inside the answer, e.g. "[1].cron"; "" for the whole answer
    message: str  # what is wrong and how to fix it


def describe(value: object) -> str:
    """Say what kind of YAML value this is, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return "an unsupported value"


def show(value: object) -> str:
    """Show a value in a message: strings quoted, everything else as Python prints it."""
    return f"'{value}'" if isinstance(value, str) else str(value)


def number(value: float | None) -> str:
    """Format a limit from the bank: whole numbers without a decimal point."""
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def is_int(value: object) -> bool:
    """Return True for a whole number that is not a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def hint(question: Question) -> str:
    """Return the question's hint in parentheses, or nothing."""
    return f" ({question.hint})" if question.hint else ""


Checked = tuple[Any, list[Problem]]
TIMEZONE_FIX = "use an IANA time zone name such as 'UTC' or 'Europe/Berlin'"


def _not(q: Question, value: object, what: str, fix: str = "") -> Checked:
    return value, [Problem(q.key, "", f"{show(value)} is {describe(value)}, not {what}{fix}")]


def _text(q: Question, value: object) -> Checked:
    return (value, []) if isinstance(value, str) else _not(q, value, "text")


def _reason(q: Question, value: object) -> Checked:
    if isinstance(value, str):
        return value, []
    return _not(q, value, "text", "; write the team's reason in words, or leave it empty")


def _identifier(q: Question, value: object) -> Checked:
    return (value, []) if isinstance(value, str) else _not(q, value, "a name")


def _int(q: Question, value: object) -> Checked:
    if is_int(value):
        return value, []
    fix = f"; write a whole number between {number(q.min)} and {number(q.max)}"
    return _not(q, value, "a whole number", fix)


def _float(q: Question, value: object) -> Checked:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), []
    return _not(
        q, value, "a number", f"; write a number between {number(q.min)} and {number(q.max)}"
    )


def _bool(q: Question, value: object) -> Checked:
    if isinstance(value, bool):
        return value, []
    return _not(q, value, "a yes/no answer", "; write true or false")


def _choice(q: Question, value: object) -> Checked:
    if isinstance(value, str) and value in q.choices:
        return value, []
    message = f"{show(value)} is not a choice; choose one of: {', '.join(q.choices)}"
    return value, [Problem(q.key, "", message)]


def _multiselect(q: Question, value: object) -> Checked:
    choices = ", ".join(q.choices)
    if not isinstance(value, list | tuple):
        return _not(q, value, "a list", f"; choose from: {choices}")
    problems = [
        Problem(q.key, f"[{i}]", f"{show(item)} is not a choice; choose from: {choices}")
        for i, item in enumerate(value)
        if not isinstance(item, str) or item not in q.choices
    ]
    # Like copier: duplicates collapse and the order follows the options.
    return (value, problems) if problems else ([c for c in q.choices if c in value], [])


def _yaml(q: Question, value: object) -> Checked:
    """Pass a YAML answer on, as copier does; the bank's Jinja checks its shape."""
    if isinstance(value, list | tuple):
        return [dict(item) if isinstance(item, Mapping) else item for item in value], []
    return value, []


def _url(q: Question, value: object) -> Checked:
    return (value, []) if isinstance(value, str) else _not(q, value, "a URL")


def _timezone(q: Question, value: object) -> Checked:
    return (value, []) if isinstance(value, str) else _not(q, value, "a time zone name")


TYPE_CHECKS: Mapping[str, Callable[[Question, object], Checked]] = {
    "text": _text,
    "reason": _reason,
    "identifier": _identifier,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "choice": _choice,
    "multiselect": _multiselect,
    "identifier_list": _yaml,
    "delay_list": _yaml,
    "schedule_list": _yaml,
    "broker_url": _url,
    "timezone": _timezone,
}


def check_type(question: Question, value: object) -> Checked:
    """Check that an answer has its question's type; return it normalized, and its problems."""
    return TYPE_CHECKS[question.kind](question, value)


def known_timezone(question: Question, value: str) -> list[Problem]:
    """Ask zoneinfo whether it knows a well-formed time zone name (Jinja cannot)."""
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        message = f"'{value}' is not a time zone zoneinfo knows; {TIMEZONE_FIX}"
        return [Problem(question.key, "", message)]
    return []
