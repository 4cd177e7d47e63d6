"""Cron expressions, evaluated by the ``cronsim`` library in a time zone.

Five fields (minute hour day-of-month month day-of-week) with Debian cron's meaning: names such
as ``MON`` or ``JAN``, ``7`` for Sunday too, and when both day-of-month and day-of-week are
restricted (neither starts with ``*``) a day matches either. Macros ``@yearly``, ``@annually``,
``@monthly``, ``@weekly``, ``@daily``, ``@midnight`` and ``@hourly`` stand for their five fields.

Firing times are wall-clock times in the schedule's time zone. Across a daylight-saving change
(as Debian cron does): a time that does not exist that day (the clocks jump forward over it)
fires at the first minute after the gap; a time that occurs twice (the clocks go back) fires
once, at its first occurrence. An expression whose minute or hour field starts with ``*`` follows
real (UTC) time instead, so it neither skips nor repeats across the change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
FIX = "use five fields (minute hour day-of-month month day-of-week) or a macro such as @daily"


def zone(name: str) -> ZoneInfo:
    """Return the IANA time zone ``name`` or raise ValueError saying how to fix it."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name; use one such as 'UTC' or "
            "'Europe/Berlin' (on a machine without tz data, pip install tzdata)"
        ) from None


@dataclass(frozen=True)
class Cron:
    """A cron expression checked by cronsim, in a time zone."""

    expression: str  # five fields, macros expanded
    timezone: str = "UTC"  # IANA name

    @classmethod
    def parse(cls, expression: str, timezone: str = "UTC") -> Cron:
        """Check ``expression`` in ``timezone`` or raise ValueError naming what is wrong."""
        text = " ".join(expression.split())
        fields = MACROS.get(text.lower(), text)
        count = len(fields.split())
        if count != 5:
            raise ValueError(f"cron {expression!r} has {count} fields; {FIX}")
        tz = zone(timezone)
        try:
            next(CronSim(fields, dt.datetime(2000, 1, 1, tzinfo=tz)))
        except CronSimError as exc:
            raise ValueError(f"cron {expression!r}: {exc} field; {FIX}") from None
        except StopIteration:
            raise ValueError(f"cron {expression!r} never fires; {FIX}") from None
        return cls(fields, timezone)

    def next_after(self, ts: float) -> float:
        """Return the first firing time strictly after unix time ``ts``, as unix time."""
        start = dt.datetime.fromtimestamp(ts, zone(self.timezone))
        return next(CronSim(self.expression, start)).timestamp()
