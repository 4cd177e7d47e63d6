"""The cron grammar's data: Debian cron's fields, names and macros.

Five fields (minute hour day-of-month month day-of-week) of numbers, ``*``, ranges, steps and
lists; month and day names (``JAN``, ``MON-FRI``, any case); day-of-week 0..7 with 0 and 7 both
Sunday; and the macros ``@yearly``, ``@annually``, ``@monthly``, ``@weekly``, ``@daily``,
``@midnight`` and ``@hourly``. With both day-of-month and day-of-week restricted, a day matches
either (``0 0 1 * 1``: the 1st and every Monday). Extensions Debian cron lacks (seconds, ``L``,
``W``, ``#``, ``?``, ``@reboot``) are rejected, as is a single number with a step (``5/3``).

The schedules' check walks this grammar in Jinja (:mod:`.jinja_checks`), so every rejection
names the field and the part, at copier's prompt and in ``jobforge answers check`` alike. The
generated project fires schedules with the ``cronsim`` library; a test proves that every
expression the grammar accepts, cronsim accepts too.
"""

from __future__ import annotations

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
