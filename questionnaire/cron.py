"""A strict five-field cron parser: numbers, ``*``, ranges, steps and lists.

Names (``MON``, ``JAN``), ``?``, ``L`` and ``#`` are rejected on purpose: every backend jobforge
generates for (Huey, Celery, procrastinate, rq-scheduler, system cron) reads this subset the same
way. Day-of-week runs 0..6 with 0 = Sunday. The copier validator in ``copier.yml`` implements the
same grammar in Jinja with the same messages; a test proves they agree.
"""

from __future__ import annotations

from dataclasses import dataclass

#: (name, lowest, highest) of each field, in order.
FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 6),
)

DIGITS = "0123456789"


class CronSyntaxError(ValueError):
    """A cron expression does not parse; the message says which part and why."""


@dataclass(frozen=True, kw_only=True)
class CronExpression:
    """A parsed cron expression: the set of matching values for each of the five fields."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]


def _is_number(text: str) -> bool:
    return text != "" and text.strip(DIGITS) == ""


def _parse_part(part: str, name: str, low: int, high: int) -> set[int]:
    if part == "":
        raise CronSyntaxError(f"{name} field has an empty list item")
    pieces = part.split("/")
    if len(pieces) > 2:
        raise CronSyntaxError(f"{name} part '{part}' has more than one '/'")
    step = 1
    if len(pieces) == 2:
        if not _is_number(pieces[1]) or int(pieces[1]) < 1:
            raise CronSyntaxError(f"{name} step in '{part}' must be a whole number of at least 1")
        step = int(pieces[1])
    base = pieces[0]
    if base == "*":
        first, last = low, high
    elif _is_number(base) and len(pieces) == 1:
        first = last = int(base)
    elif "-" in base and len(base.split("-")) == 2:
        start, end = base.split("-")
        if not (_is_number(start) and _is_number(end)):
            raise CronSyntaxError(f"{name} part '{part}' is not a number, range or step")
        first, last = int(start), int(end)
        if first > last:
            raise CronSyntaxError(f"{name} range {first}-{last} runs backwards")
    else:
        raise CronSyntaxError(f"{name} part '{part}' is not a number, range or step")
    for value in (first, last):
        if value < low or value > high:
            raise CronSyntaxError(f"{name} value {value} is out of range {low}..{high}")
    return set(range(first, last + 1, step))


def parse_cron(expression: str) -> CronExpression:
    """Parse a five-field cron expression or raise :class:`CronSyntaxError` saying why not."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronSyntaxError(f"it has {len(fields)} fields, a cron expression has 5")
    values = [
        frozenset(
            value for part in field.split(",") for value in _parse_part(part, name, low, high)
        )
        for field, (name, low, high) in zip(fields, FIELDS, strict=True)
    ]
    return CronExpression(
        minutes=values[0],
        hours=values[1],
        days_of_month=values[2],
        months=values[3],
        days_of_week=values[4],
    )
