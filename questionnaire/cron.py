"""Cron expressions as Debian cron reads them, checked by the ``cronsim`` library.

Five fields (minute hour day-of-month month day-of-week) of numbers, ``*``, ranges, steps and
lists; month and day names (``JAN``, ``MON-FRI``, any case); day-of-week 0..7 with 0 and 7 both
Sunday; and the macros ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``,
``@midnight`` and ``@hourly``. With both day-of-month and day-of-week restricted, a day matches
either (``0 0 1 * 1``: the 1st and every Monday). Extensions Debian cron lacks (seconds, ``L``,
``W``, ``#``, ``?``, ``@reboot``) are rejected, as is a single number with a step (``5/3``).

:func:`parse_cron` first walks the grammar above, so every rejection names the field and the
part; the copier validator in ``copier.yml`` walks the same grammar in Jinja with the same
messages (a test proves they agree). cronsim then has the last word on what it accepts, and the
generated project evaluates schedules with it too.
"""

from __future__ import annotations

import datetime as dt

from cronsim import CronSim, CronSimError

#: (name, lowest, highest) of each field, in order.
FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day-of-month", 1, 31),
    ("month", 1, 12),
    ("day-of-week", 0, 7),
)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
#: The names each field accepts (upper case), mapped to their numbers.
NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {m: i + 1 for i, m in enumerate(MONTHS)},
    {d: i for i, d in enumerate(WEEKDAYS)},
)
#: Each macro and the five fields it stands for.
MACROS: dict[str, str] = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
#: The most days each month can have (February in a leap year).
MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
DIGITS = "0123456789"


class CronSyntaxError(ValueError):
    """A cron expression does not parse; the message says which part and why."""


def _is_number(text: str) -> bool:
    return text != "" and text.strip(DIGITS) == ""


def _atom(text: str, index: int) -> int | None:
    """Return the number of a field atom (digits or a name of the field), or None."""
    if _is_number(text):
        return int(text)
    return NAMES[index].get(text.upper())


def _parse_part(part: str, index: int) -> range:
    name, low, high = FIELDS[index]
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
    ends = base.split("-")
    if base == "*":
        first, last = low, high
    elif len(ends) == 1 and len(pieces) == 1 and (value := _atom(base, index)) is not None:
        first = last = value
    elif len(ends) == 2 and None not in (bounds := [_atom(e, index) for e in ends]):
        first, last = int(bounds[0] or 0), int(bounds[1] or 0)
        if first > last:
            raise CronSyntaxError(f"{name} range {first}-{last} runs backwards")
    else:
        raise CronSyntaxError(f"{name} part '{part}' is not a number, range or step")
    for value in (first, last):
        if value < low or value > high:
            raise CronSyntaxError(f"{name} value {value} is out of range {low}..{high}")
    return range(first, last + 1, step)


def expand(expression: str) -> str:
    """Return the five fields of ``expression`` (a macro replaced by its fields)."""
    return MACROS.get(expression.strip(), expression)


def parse_cron(expression: str) -> str:
    """Check a cron expression; return its five fields or raise :class:`CronSyntaxError`."""
    fields = expand(expression).split()
    if len(fields) != 5:
        raise CronSyntaxError(f"it has {len(fields)} fields, a cron expression has 5")
    parts = [
        [_parse_part(part, index) for part in field.split(",")]
        for index, field in enumerate(fields)
    ]
    # Only day-of-month restricts the day (Debian cron: either day field starts with '*'):
    # a day that no chosen month has never comes.
    if fields[2].startswith("*") or fields[4].startswith("*"):
        first_day = min(r.start for r in parts[2])
        longest = max(MONTH_DAYS[m] for r in parts[3] for m in r)
        if first_day > longest:
            raise CronSyntaxError(
                f"day-of-month {first_day} never comes in the chosen months, so it never fires"
            )
    text = " ".join(fields)
    try:
        next(CronSim(text, dt.datetime(2000, 1, 1, tzinfo=dt.UTC)))
    except (CronSimError, StopIteration) as exc:  # the grammar above should have caught it
        raise CronSyntaxError(f"cronsim rejects it ({exc or 'it never fires'})") from None
    return text
