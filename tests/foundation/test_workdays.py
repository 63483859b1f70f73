"""The Kyrgyz working-day calendar: deadlines move off weekends and holidays; support hours."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from sochi_cli.errors import ValidationFailed
from sochi_cli.forms.deadlines import deadline, period_end
from sochi_cli.services.support import support_info
from sochi_cli.workdays import add_working_days, holiday_name, is_working_day, next_working_day

MONTHLY_1ST = {"kind": "day_of_following_month", "day": 1}


def test_public_holidays_of_kyrgyzstan_are_not_working_days() -> None:
    assert holiday_name(date(2026, 8, 31)) == "Independence Day"
    assert not is_working_day(date(2026, 8, 31))  # a Monday
    assert not is_working_day(date(2026, 11, 28))  # a Saturday
    assert is_working_day(date(2026, 11, 30))
    assert next_working_day(date(2026, 12, 31)) == date(2026, 12, 31)
    assert add_working_days(date(2026, 11, 27), 1) == date(2026, 11, 30)


def test_a_deadline_on_a_public_holiday_moves_to_the_next_working_day() -> None:
    # 1 January 2027 is New Year's Day; the New Year holidays and Christmas (7 January) follow
    due = deadline(MONTHLY_1ST, "2026-12", "monthly")
    assert due.nominal == date(2027, 1, 1)
    assert due.due == date(2027, 1, 8)
    assert due.moved_because == "public holiday: New Year's Day"
    # Independence Day (Monday 31 August 2026) moves the 31st-of-the-month rule to 1 September
    assert deadline({"kind": "day_of_following_month", "day": 31}, "2026-07", "monthly").due == (
        date(2026, 9, 1)
    )


def test_a_deadline_on_a_weekend_moves_to_monday_and_others_stay() -> None:
    vat = {"kind": "day_of_following_month", "day": 20}
    assert deadline(vat, "2026-08", "monthly").due == date(2026, 9, 21)  # 20 Sep is a Sunday
    assert deadline(vat, "2026-09", "monthly").due == date(2026, 10, 20)
    annual = {"kind": "date_of_following_year", "month": 3, "day": 1}
    assert deadline(annual, "2025", "annual").due == date(2026, 3, 2)  # 1 March 2026: Sunday
    quarterly = {"kind": "days_after_period", "days": 15}
    assert deadline(quarterly, "2026-Q3", "quarterly").due == date(2026, 10, 15)
    assert period_end("2026-Q4", "quarterly") == date(2026, 12, 31)


def test_an_unknown_deadline_rule_is_one_clear_error() -> None:
    with pytest.raises(ValidationFailed, match="unknown deadline rule 'lunar'") as caught:
        deadline({"kind": "lunar"}, "2026-10", "monthly", form="XX-1")
    assert caught.value.code == "deadline_rule_unknown"
    with pytest.raises(ValidationFailed, match="is not YYYY-MM"):
        deadline(MONTHLY_1ST, "2026-Q1", "monthly")


def test_support_is_closed_on_new_years_day_and_opens_after_the_holidays() -> None:
    info = support_info(datetime(2026, 1, 1, 6, 0, tzinfo=UTC))  # Thursday 12:00 Bishkek
    assert not info.open_now
    assert info.closed_because == "public holiday: New Year's Day"
    assert info.next_opening == datetime(2026, 1, 8, 3, 0, tzinfo=UTC)  # 09:00 Bishkek
    assert support_info(datetime(2026, 11, 30, 6, 0, tzinfo=UTC)).open_now
