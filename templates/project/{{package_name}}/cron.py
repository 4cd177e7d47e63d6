"""Five-field cron expressions (minute hour day-of-month month day-of-week), evaluated in UTC."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))
_NAMES = ("minute", "hour", "day of month", "month", "day of week")


def _field(text: str, index: int) -> frozenset[int]:
    low, high = _RANGES[index]
    values: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body == "*":
            start, end = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(body)
            if step_text:
                end = high
        if not (low <= start <= high and low <= end <= high and start <= end and step >= 1):
            raise ValueError(
                f"cron {_NAMES[index]} field {text!r} is out of range {low}-{high}; "
                "fix the schedule's cron expression"
            )
        values.update(range(start, end + 1, step))
    if index == 4:
        return frozenset(v % 7 for v in values)  # 7 is Sunday too
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A parsed cron expression."""

    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday

    @classmethod
    def parse(cls, expression: str) -> Cron:
        """Parse ``expression`` or raise ValueError naming the bad field."""
        parts = expression.split()
        if len(parts) != 5:
            raise ValueError(
                f"cron {expression!r} has {len(parts)} fields; use five: minute hour "
                "day-of-month month day-of-week"
            )
        return cls(*(_field(text, i) for i, text in enumerate(parts)))

    def matches(self, moment: dt.datetime) -> bool:
        """Return True when ``moment`` (UTC, whole minute) is a firing time."""
        weekday = (moment.weekday() + 1) % 7
        return (
            moment.minute in self.minutes
            and moment.hour in self.hours
            and moment.day in self.days
            and moment.month in self.months
            and weekday in self.weekdays
        )

    def next_after(self, ts: float) -> float:
        """Return the first firing time strictly after unix time ``ts``."""
        moment = dt.datetime.fromtimestamp(ts, dt.UTC).replace(second=0, microsecond=0)
        moment += dt.timedelta(minutes=1)
        for _ in range(60 * 24 * 366 * 5):
            if self.matches(moment):
                return moment.timestamp()
            moment += dt.timedelta(minutes=1)
        raise ValueError("cron expression never fires within five years")
