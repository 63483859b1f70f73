"""Reporting periods by periodicity: monthly `YYYY-MM`, quarterly `YYYY-Qn`, annual `YYYY`."""

from __future__ import annotations

import re
from datetime import date

PERIOD_SYNTAX = {
    "monthly": (re.compile(r"(\d{4})-(0[1-9]|1[0-2])"), "YYYY-MM"),
    "quarterly": (re.compile(r"(\d{4})-Q([1-4])"), "YYYY-Qn"),
    "annual": (re.compile(r"(\d{4})"), "YYYY"),
}


def period_start(period: str, periodicity: str) -> date | None:
    """First day of the period, or None if `period` is not this periodicity's syntax."""
    syntax = PERIOD_SYNTAX.get(periodicity)
    if syntax is None:
        return None
    match = syntax[0].fullmatch(period)
    if not match:
        return None
    year = int(match.group(1))
    if periodicity == "monthly":
        return date(year, int(match.group(2)), 1)
    if periodicity == "quarterly":
        return date(year, 3 * (int(match.group(2)) - 1) + 1, 1)
    return date(year, 1, 1)


def period_problem(period: str, periodicity: str, today: date) -> str | None:
    """Why `period` is not acceptable for the form, or None."""
    syntax = PERIOD_SYNTAX.get(periodicity)
    if syntax is None:
        return f"unknown periodicity '{periodicity}'"
    start = period_start(period, periodicity)
    if start is None:
        return f"a {periodicity} form takes a period {syntax[1]}, not '{period}'"
    if start > today:
        return f"the period {period} has not started yet"
    return None


def periodicity_of(period: str) -> str | None:
    """`monthly`, `quarterly` or `annual` from the syntax of `period`, or None."""
    for periodicity, (pattern, _syntax) in PERIOD_SYNTAX.items():
        if pattern.fullmatch(period) and period_start(period, periodicity) is not None:
            return periodicity
    return None


def period_containing(day: date, periodicity: str) -> str:
    """The period of `periodicity` that `day` falls in."""
    if periodicity == "monthly":
        return f"{day.year:04d}-{day.month:02d}"
    if periodicity == "quarterly":
        return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year:04d}"


def shift_period(period: str, periodicity: str, steps: int) -> str:
    """The period `steps` periods after `period` (before it when negative)."""
    start = period_start(period, periodicity)
    if start is None:
        raise ValueError(f"{period!r} is not a {periodicity} period")
    months = {"monthly": 1, "quarterly": 3, "annual": 12}[periodicity] * steps
    index = start.year * 12 + start.month - 1 + months
    return period_containing(date(index // 12, index % 12 + 1, 1), periodicity)


def month_of(period: str) -> tuple[str, str] | None:
    """(first month, last month) as YYYY-MM of any period syntax, for POA period bounds."""
    for periodicity in PERIOD_SYNTAX:
        start = period_start(period, periodicity)
        if start is None:
            continue
        span = {"monthly": 0, "quarterly": 2, "annual": 11}[periodicity]
        last = start.month + span
        return f"{start.year:04d}-{start.month:02d}", f"{start.year:04d}-{last:02d}"
    return None


__all__ = [
    "PERIOD_SYNTAX",
    "month_of",
    "period_containing",
    "period_problem",
    "period_start",
    "periodicity_of",
    "shift_period",
]
