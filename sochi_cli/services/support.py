"""Operator support contacts and call-centre hours (clause 3.8); works without network.

Working days are those of the Kyrgyz calendar (`sochi_cli.workdays`): weekends and the
public holidays of the Kyrgyz Republic are closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from sochi_cli.timeutil import BISHKEK, as_utc

PHONE = "(996 312) 960 888"
PORTAL = "https://sochi.dostek.kg"
EMAIL_HINT = "via the support form of the portal sochi.dostek.kg"
OPENS = time(9, 0)
CLOSES = time(17, 30)


@dataclass
class SupportInfo:
    now: datetime
    open_now: bool
    next_opening: datetime | None  # None while open
    closes_at: datetime | None  # set while open
    closed_because: str | None = None  # "Sunday", "public holiday: New Year's Day"

    def to_json(self) -> dict[str, Any]:
        return {
            "phone": PHONE,
            "hours": "working days 09:00–17:30 Asia/Bishkek",
            "portal": PORTAL,
            "email": EMAIL_HINT,
            "open_now": self.open_now,
            "closes_at": self.closes_at,
            "next_opening": self.next_opening,
            "checked_at": self.now,
            "closed_because": self.closed_because,
            "note": "working days of the Kyrgyz calendar (public holidays are closed)",
        }


def support_info(now: datetime) -> SupportInfo:
    """Is the call centre open at `now` (any time zone), and when does it open next."""
    from sochi_cli.workdays import is_working_day, why_not_working

    local = as_utc(now).astimezone(BISHKEK)
    today_open = local.replace(hour=OPENS.hour, minute=OPENS.minute, second=0, microsecond=0)
    today_close = local.replace(hour=CLOSES.hour, minute=CLOSES.minute, second=0, microsecond=0)
    working = is_working_day(local.date())
    if working and today_open <= local < today_close:
        return SupportInfo(as_utc(now), True, None, as_utc(today_close))
    day = today_open if local < today_open else today_open + timedelta(days=1)
    while not is_working_day(day.date()):
        day += timedelta(days=1)
    why = why_not_working(local.date()) if not working else "outside working hours"
    return SupportInfo(as_utc(now), False, as_utc(day), None, why)


__all__ = ["PHONE", "PORTAL", "SupportInfo", "support_info"]
