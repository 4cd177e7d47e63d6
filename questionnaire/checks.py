"""Field-level checks of one answer, chosen by the question's kind.

Every check returns :class:`Problem` values whose text names the value and the fix. The copier
validators generated into ``copier.yml`` (see :mod:`jobforge.questionnaire.jinja_checks`) produce
the same text for the same value; a test proves it.
"""

from __future__ import annotations

import keyword
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .bank import Question
from .cron import CronSyntaxError, parse_cron


@dataclass(frozen=True)
class Problem:
    """One problem with one answer: ``key`` + ``subpath`` locate it, ``message`` explains it."""

    key: str  # the answer key, e.g. "schedules"
    subpath: str  # where inside the answer, e.g. "[1].cron"; "" for the whole answer
    message: str  # what is wrong and how to fix it

    @property
    def local(self) -> str:
        """The problem as copier's validator shows it: ``key[subpath]: message``."""
        return f"{self.key}{self.subpath}: {self.message}"


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


def is_identifier(value: object) -> bool:
    """Return True for a string that is a valid Python identifier."""
    return isinstance(value, str) and value.isidentifier()


def hint(question: Question) -> str:
    """Return the question's hint in parentheses, or nothing."""
    return f" ({question.hint})" if question.hint else ""


def range_problem(question: Question, value: float) -> str | None:
    """Return the out-of-range message for a number, or None when it is in range."""
    low, high = number(question.min), number(question.max)
    assert question.min is not None and question.max is not None
    if question.min_exclusive:
        if not (value > question.min and value <= question.max):  # NaN is out of range too
            return (
                f"{value} is out of range; set a value above {low} and at most {high}"
                f"{hint(question)}"
            )
        return None
    if not (value >= question.min and value <= question.max):
        return (
            f"{value} is out of range {low}..{high}; set a value between {low} and {high}"
            f"{hint(question)}"
        )
    return None


Checked = tuple[Any, list[Problem]]
NAME_FIX = "use letters, digits and underscores, not starting with a digit"
CRON_FIX = "write five fields: minute hour day-of-month month day-of-week, e.g. '0 8 * * *'"


def _text(q: Question, value: object) -> Checked:
    if not isinstance(value, str):
        return value, [Problem(q.key, "", f"{show(value)} is {describe(value)}, not text")]
    if value.strip() == "":
        return value, [Problem(q.key, "", f"the name is empty; write one such as '{q.example}'")]
    return value, []


def _identifier(q: Question, value: object) -> Checked:
    if not isinstance(value, str):
        return value, [Problem(q.key, "", f"{show(value)} is {describe(value)}, not a name")]
    if not value.isidentifier():
        return value, [
            Problem(
                q.key,
                "",
                f"'{value}' is not a valid Python package name; {NAME_FIX} (e.g. '{q.example}')",
            )
        ]
    if keyword.iskeyword(value):
        return value, [
            Problem(
                q.key,
                "",
                f"'{value}' is a Python keyword; choose another name such as '{q.example}'",
            )
        ]
    return value, []


def _int(q: Question, value: object) -> Checked:
    if not is_int(value):
        fix = f"write a whole number between {number(q.min)} and {number(q.max)}"
        return value, [
            Problem(q.key, "", f"{show(value)} is {describe(value)}, not a whole number; {fix}")
        ]
    assert isinstance(value, int)
    message = range_problem(q, value)
    return value, [Problem(q.key, "", message)] if message else []


def _float(q: Question, value: object) -> Checked:
    if not isinstance(value, int | float) or isinstance(value, bool):
        fix = f"write a number between {number(q.min)} and {number(q.max)}"
        return value, [
            Problem(q.key, "", f"{show(value)} is {describe(value)}, not a number; {fix}")
        ]
    converted = float(value)
    message = range_problem(q, converted)
    return converted, [Problem(q.key, "", message)] if message else []


def _bool(q: Question, value: object) -> Checked:
    if not isinstance(value, bool):
        return value, [
            Problem(
                q.key,
                "",
                f"{show(value)} is {describe(value)}, not a yes/no answer; write true or false",
            )
        ]
    return value, []


def _choice(q: Question, value: object) -> Checked:
    if not isinstance(value, str) or value not in q.choices:
        return value, [
            Problem(
                q.key, "", f"{show(value)} is not a choice; choose one of: {', '.join(q.choices)}"
            )
        ]
    return value, []


def _multiselect(q: Question, value: object) -> Checked:
    choices = ", ".join(q.choices)
    if not isinstance(value, list | tuple):
        return value, [
            Problem(
                q.key, "", f"{show(value)} is {describe(value)}, not a list; choose from: {choices}"
            )
        ]
    problems = [
        Problem(q.key, f"[{i}]", f"{show(item)} is not a choice; choose from: {choices}")
        for i, item in enumerate(value)
        if not isinstance(item, str) or item not in q.choices
    ]
    if problems:
        return value, problems
    # Like copier: duplicates collapse and the order follows the options.
    normalized = [choice for choice in q.choices if choice in value]
    if len(normalized) < q.min_items:
        return normalized, [
            Problem(q.key, "", f"nothing is chosen; choose at least one of: {choices}")
        ]
    return normalized, []


def _not_a_list(q: Question, value: object, example: str) -> Problem:
    return Problem(
        q.key,
        "",
        f"{show(value)} is {describe(value)}, not a list; write a YAML list such as {example}",
    )


def _identifier_list(q: Question, value: object) -> Checked:
    if not isinstance(value, list | tuple):
        return value, [_not_a_list(q, value, "[default]")]
    if len(value) == 0:
        return value, [
            Problem(q.key, "", "the list is empty; list at least one queue, e.g. [default]")
        ]
    problems: list[Problem] = []
    seen: list[str] = []
    for i, item in enumerate(value):
        if not is_identifier(item):
            problems.append(
                Problem(q.key, f"[{i}]", f"{show(item)} is not a valid queue name; {NAME_FIX}")
            )
        elif item in seen:
            problems.append(
                Problem(q.key, f"[{i}]", f"'{item}' is listed twice; list each queue once")
            )
        else:
            seen.append(item)
    return list(value), problems


def _delay_list(q: Question, value: object) -> Checked:
    if not isinstance(value, list | tuple):
        return value, [_not_a_list(q, value, "[60, 300, 900]")]
    problems: list[Problem] = []
    for i, item in enumerate(value):
        if not is_int(item):
            problems.append(
                Problem(q.key, f"[{i}]", f"{show(item)} is not a whole number of seconds")
            )
        elif item < 1:
            problems.append(
                Problem(q.key, f"[{i}]", f"{item} is not positive; a delay is at least 1 second")
            )
        elif i > 0 and is_int(value[i - 1]) and item < value[i - 1]:
            problems.append(
                Problem(
                    q.key,
                    f"[{i}]",
                    f"{item} is smaller than the delay before "
                    f"it ({value[i - 1]}); delays must not decrease, the last "
                    "one is the cap",
                )
            )
    return list(value), problems


SCHEDULE_KEYS = ("name", "cron", "every_seconds")
SCHEDULE_EXAMPLE = (
    "{name: daily_report, cron: '0 8 * * *'} or {name: health_check, every_seconds: 300}"
)


def _schedule(q: Question, i: int, item: object, names: list[str]) -> list[Problem]:
    at = f"[{i}]"
    if not isinstance(item, Mapping):
        return [Problem(q.key, at, f"{show(item)} is not a mapping; write {SCHEDULE_EXAMPLE}")]
    problems = [
        Problem(
            q.key,
            at,
            f"unknown key {show(key)}; a schedule has name and either cron or every_seconds",
        )
        for key in item
        if key not in SCHEDULE_KEYS
    ]
    if "name" not in item:
        problems.append(
            Problem(q.key, f"{at}.name", "missing; name each schedule, e.g. daily_report")
        )
    elif not is_identifier(item["name"]):
        problems.append(
            Problem(q.key, f"{at}.name", f"{show(item['name'])} is not a valid name; {NAME_FIX}")
        )
    elif item["name"] in names:
        problems.append(
            Problem(
                q.key,
                f"{at}.name",
                f"'{item['name']}' is used twice; give each schedule its own name",
            )
        )
    else:
        names.append(item["name"])
    if "cron" in item and "every_seconds" in item:
        problems.append(Problem(q.key, at, "has both cron and every_seconds; keep one"))
    elif "cron" in item:
        cron = item["cron"]
        if not isinstance(cron, str):
            problems.append(
                Problem(q.key, f"{at}.cron", f"{show(cron)} is not a cron expression; {CRON_FIX}")
            )
        else:
            try:
                parse_cron(cron)
            except CronSyntaxError as exc:
                problems.append(
                    Problem(q.key, f"{at}.cron", f"'{cron}' does not parse: {exc}; {CRON_FIX}")
                )
    elif "every_seconds" in item:
        every = item["every_seconds"]
        if not is_int(every) or every < 1:
            problems.append(
                Problem(
                    q.key,
                    f"{at}.every_seconds",
                    f"{show(every)} is not a whole number of seconds of at least 1; e.g. 300",
                )
            )
    else:
        problems.append(
            Problem(
                q.key,
                at,
                "has neither cron nor every_seconds; add cron: '0 8 * * *' or every_seconds: 300",
            )
        )
    return problems


def _schedule_list(q: Question, value: object) -> Checked:
    if not isinstance(value, list | tuple):
        return value, [
            _not_a_list(q, value, "[{name: daily_report, cron: '0 8 * * *'}], or [] for none")
        ]
    names: list[str] = []
    problems = [p for i, item in enumerate(value) for p in _schedule(q, i, item, names)]
    return [dict(item) for item in value] if not problems else value, problems


def _broker_url(q: Question, value: object) -> Checked:
    if not isinstance(value, str):
        return value, [Problem(q.key, "", f"{show(value)} is {describe(value)}, not a URL")]
    if value == "" or "".join(value.split()) != value or "://" not in value:
        return value, [Problem(q.key, "", f"'{value}' is not a URL; write one such as {q.example}")]
    scheme, rest = value.split("://", 1)
    netloc = rest.split("/", 1)[0]
    secret_fix = "remove it and set the real URL in JOBS_BROKER_URL at run time"
    if "@" in netloc and ":" in netloc.rsplit("@", 1)[0]:
        user = netloc.rsplit("@", 1)[0].split(":", 1)[0]
        masked = f"{scheme}://{user}:***@{netloc.rsplit('@', 1)[1]}{rest[len(netloc) :]}"
        return value, [Problem(q.key, "", f"'{masked}' contains a password; {secret_fix}")]
    if "password=" in value.lower():
        return value, [Problem(q.key, "", f"the URL contains a password parameter; {secret_fix}")]
    return value, []


TIMEZONE_FIX = "use an IANA time zone name such as 'UTC' or 'Europe/Berlin'"


def _timezone(q: Question, value: object) -> Checked:
    if not isinstance(value, str):
        return value, [
            Problem(q.key, "", f"{show(value)} is {describe(value)}, not a time zone name")
        ]
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return value, [
            Problem(q.key, "", f"'{value}' is not a time zone zoneinfo knows; {TIMEZONE_FIX}")
        ]
    return value, []


FIELD_CHECKS: Mapping[str, Callable[[Question, object], Checked]] = {
    "text": _text,
    "identifier": _identifier,
    "int": _int,
    "float": _float,
    "bool": _bool,
    "choice": _choice,
    "multiselect": _multiselect,
    "identifier_list": _identifier_list,
    "delay_list": _delay_list,
    "schedule_list": _schedule_list,
    "broker_url": _broker_url,
    "timezone": _timezone,
}


def check_field(question: Question, value: object) -> Checked:
    """Check one answer on its own; return the normalized value and its problems."""
    return FIELD_CHECKS[question.kind](question, value)
