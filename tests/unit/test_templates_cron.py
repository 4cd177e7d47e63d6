"""The generated project's cron module: Debian cron's meaning through cronsim, in a time zone.

The module is plain Python in the template (no Jinja), so it is loaded straight from there.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim

pytestmark = pytest.mark.unit

SOURCE = Path(__file__).resolve().parents[2] / "templates/project/{{package_name}}/cron.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generated_cron", SOURCE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


CRON = _load()


def firings(expression: str, timezone: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    """Return the next ``count`` firing times after ``start``, in ``timezone``."""
    cron, ts, zone = CRON.Cron.parse(expression, timezone), start.timestamp(), ZoneInfo(timezone)
    out = []
    for _ in range(count):
        ts = cron.next_after(ts)
        out.append(dt.datetime.fromtimestamp(ts, zone))
    return out


def reference(expression: str, timezone: str, start: dt.datetime, count: int) -> list[dt.datetime]:
    """Return cronsim's own next ``count`` firing times."""
    begin = start.astimezone(ZoneInfo(timezone))
    return list(itertools.islice(CronSim(expression, begin), count))


def test_day_of_month_or_day_of_week_fires_on_either() -> None:
    start = dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)
    (first,) = firings("0 0 1 * 1", "UTC", start, 1)
    assert first == dt.datetime(2026, 12, 7, tzinfo=dt.UTC)  # not 2027-02-01
    assert firings("0 0 1 * 1", "UTC", start, 6) == reference("0 0 1 * 1", "UTC", start, 6)


def test_daily_macro_fires_at_midnight() -> None:
    start = dt.datetime(2026, 12, 1, 0, 30, tzinfo=dt.UTC)
    assert firings("@daily", "UTC", start, 3) == reference("0 0 * * *", "UTC", start, 3)
    assert firings("@daily", "UTC", start, 1) == [dt.datetime(2026, 12, 2, tzinfo=dt.UTC)]


@pytest.mark.parametrize("month", [3, 10])
def test_weekday_mornings_follow_the_zones_wall_clock_across_dst(month: int) -> None:
    start = dt.datetime(2026, month, 20, 12, tzinfo=dt.UTC)
    got = firings("0 8 * * MON-FRI", "Europe/Berlin", start, 10)
    assert got == reference("0 8 * * MON-FRI", "Europe/Berlin", start, 10)
    assert all((f.hour, f.minute, f.weekday() < 5) == (8, 0, True) for f in got)
    assert {f.utcoffset() for f in got} == {dt.timedelta(hours=1), dt.timedelta(hours=2)}


def test_a_time_the_clocks_skip_fires_after_the_gap_and_a_repeated_time_once() -> None:
    spring = firings("30 2 * * *", "Europe/Berlin", dt.datetime(2026, 3, 28, 12, tzinfo=dt.UTC), 2)
    assert [f.isoformat() for f in spring] == [
        "2026-03-29T03:00:00+02:00",
        "2026-03-30T02:30:00+02:00",
    ]
    autumn = firings("30 2 * * *", "Europe/Berlin", dt.datetime(2026, 10, 24, 12, tzinfo=dt.UTC), 2)
    assert [f.isoformat() for f in autumn] == [
        "2026-10-25T02:30:00+02:00",
        "2026-10-26T02:30:00+01:00",
    ]


def test_next_firing_is_strictly_after_the_given_time() -> None:
    cron = CRON.Cron.parse("0 * * * *")
    top = dt.datetime(2026, 12, 1, 5, tzinfo=dt.UTC).timestamp()
    assert cron.next_after(top) == top + 3600
    assert cron.next_after(top - 0.5) == top


@pytest.mark.parametrize(
    ("expression", "timezone", "words"),
    [
        ("* * *", "UTC", "3 fields"),
        ("0 0 0 0 0 0", "UTC", "6 fields"),
        ("61 * * * *", "UTC", "minute"),
        ("0 0 30 2 *", "UTC", "day-of-month"),
        ("@daily", "Mars/Olympus", "not an IANA time zone"),
    ],
)
def test_bad_expressions_and_zones_are_rejected_naming_the_fix(
    expression: str, timezone: str, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        CRON.Cron.parse(expression, timezone)
