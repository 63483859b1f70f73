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


__all__ = ["PERIOD_SYNTAX", "month_of", "period_problem", "period_start"]
