"""Operator support contacts and call-centre hours (clause 3.8); works without network."""

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
WORKING_DAYS = range(5)  # Monday..Friday; public holidays are not known offline


@dataclass
class SupportInfo:
    now: datetime
    open_now: bool
    next_opening: datetime | None  # None while open
    closes_at: datetime | None  # set while open

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
            "note": "public holidays are not taken into account",
        }


def support_info(now: datetime) -> SupportInfo:
    """Is the call centre open at `now` (any time zone), and when does it open next."""
    local = as_utc(now).astimezone(BISHKEK)
    today_open = local.replace(hour=OPENS.hour, minute=OPENS.minute, second=0, microsecond=0)
    today_close = local.replace(hour=CLOSES.hour, minute=CLOSES.minute, second=0, microsecond=0)
    if local.weekday() in WORKING_DAYS and today_open <= local < today_close:
        return SupportInfo(as_utc(now), True, None, as_utc(today_close))
    day = today_open if local < today_open else today_open + timedelta(days=1)
    while day.weekday() not in WORKING_DAYS:
        day += timedelta(days=1)
    return SupportInfo(as_utc(now), False, as_utc(day), None)


__all__ = ["PHONE", "PORTAL", "SupportInfo", "support_info"]
