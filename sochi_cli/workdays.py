"""The Kyrgyz working-day calendar: weekends and public holidays of the Kyrgyz Republic.

One calendar for everything that depends on working days: report deadlines (a deadline on a
weekend or a public holiday moves to the next working day), the call centre's hours
(clause 3.8) and `sochi status`. Holidays come from the `holidays` package (its `KG`
calendar, including the Eid dates it estimates years ahead) rather than a hand-kept list;
it is imported on first use (~80 ms), never at CLI start-up.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache
from typing import Any

WEEKEND = frozenset({5, 6})  # Saturday, Sunday


@lru_cache(maxsize=64)
def _holidays(year: int) -> dict[date, str]:
    import holidays

    calendar: Any = holidays.country_holidays("KG", years=year)
    return {day: str(name) for day, name in calendar.items()}


def holiday_name(day: date) -> str | None:
    """The public holiday on `day` (e.g. "New Year's Day"), or None."""
    return _holidays(day.year).get(day)


def is_working_day(day: date) -> bool:
    return day.weekday() not in WEEKEND and holiday_name(day) is None


def why_not_working(day: date) -> str | None:
    """`"Saturday"`, `"public holiday: Independence Day"`, or None on a working day."""
    name = holiday_name(day)
    if name is not None:
        return f"public holiday: {name}"
    if day.weekday() in WEEKEND:
        return day.strftime("%A")
    return None


def next_working_day(day: date) -> date:
    """`day` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


def add_working_days(day: date, count: int) -> date:
    """The `count`-th working day after `day` (count ≥ 0; 0 → `day` itself)."""
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day):
            count -= 1
    return day


__all__ = [
    "add_working_days",
    "holiday_name",
    "is_working_day",
    "next_working_day",
    "why_not_working",
]
