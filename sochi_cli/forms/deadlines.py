"""Report deadlines from the form catalogue's rule, moved past weekends and public holidays.

Rules (docs/api.md "Forms catalogue"): `day_of_following_month {day}`, `days_after_period
{days}`, `date_of_following_year {month, day}`. The nominal date is computed from the
period's last day; when it falls on a weekend or a Kyrgyz public holiday the deadline is the
next working day (`sochi_cli.workdays`). The sandbox operator uses the same function, so the
client and the operator never disagree on what is late.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sochi_cli.errors import ValidationFailed
from sochi_cli.forms.periods import PERIOD_SYNTAX, period_start

RULE_KINDS = ("day_of_following_month", "days_after_period", "date_of_following_year")


class UnknownDeadlineRule(ValidationFailed):
    """The catalogue names a deadline rule this sochi does not know."""

    code = "deadline_rule_unknown"


@dataclass(frozen=True)
class Deadline:
    """When a period's report is due: `due` (a working day) and why it moved, if it did."""

    nominal: date
    due: date
    moved_because: str | None = None  # "Sunday", "public holiday: Independence Day"

    def to_json(self) -> dict[str, Any]:
        return {
            "nominal": self.nominal,
            "due": self.due,
            "moved_because": self.moved_because,
        }


def period_end(period: str, periodicity: str) -> date | None:
    """Last day of the period, or None if `period` is not this periodicity's syntax."""
    start = period_start(period, periodicity)
    if start is None:
        return None
    months = {"monthly": 1, "quarterly": 3, "annual": 12}[periodicity]
    index = start.year * 12 + start.month - 1 + months - 1
    year, month = divmod(index, 12)
    return date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def _clamped(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def nominal_deadline(rule: Mapping[str, Any], last_day: date, *, form: str = "") -> date:
    """The rule applied to the period's last day, before moving off non-working days."""
    kind = rule.get("kind")
    try:
        if kind == "day_of_following_month":
            following = last_day + timedelta(days=1)
            return _clamped(following.year, following.month, int(rule["day"]))
        if kind == "days_after_period":
            return last_day + timedelta(days=int(rule["days"]))
        if kind == "date_of_following_year":
            return _clamped(last_day.year + 1, int(rule["month"]), int(rule["day"]))
    except (KeyError, TypeError, ValueError):
        raise UnknownDeadlineRule(
            f"form {form or '?'}: deadline rule {kind!r} lacks its parameters ({dict(rule)})",
            hint="refresh the catalogue with `sochi forms list`; report it if it persists",
        ) from None
    raise UnknownDeadlineRule(
        f"form {form or '?'}: unknown deadline rule {kind!r}",
        hint=f"this sochi knows {', '.join(RULE_KINDS)}; upgrade sochi",
    )


def deadline(rule: Mapping[str, Any], period: str, periodicity: str, *, form: str = "") -> Deadline:
    """The deadline of `period`'s report under `rule` (a working day of the Kyrgyz calendar)."""
    from sochi_cli.workdays import next_working_day, why_not_working

    last = period_end(period, periodicity)
    if last is None:
        syntax = PERIOD_SYNTAX.get(periodicity, (None, "?"))[1]
        raise ValidationFailed(
            f"form {form or '?'}: period {period!r} is not {syntax} ({periodicity})",
            code="period_syntax",
        )
    nominal = nominal_deadline(rule, last, form=form)
    due = next_working_day(nominal)
    return Deadline(nominal, due, why_not_working(nominal) if due != nominal else None)


__all__ = [
    "RULE_KINDS",
    "Deadline",
    "UnknownDeadlineRule",
    "deadline",
    "nominal_deadline",
    "period_end",
]
