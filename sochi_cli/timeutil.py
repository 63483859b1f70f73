"""Time: instants are UTC everywhere inside; people see Asia/Bishkek (UTC+6, no DST)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BISHKEK = ZoneInfo("Asia/Bishkek")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Aware UTC instant; a naive value is taken to be UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_bishkek(moment: datetime) -> datetime:
    return as_utc(moment).astimezone(BISHKEK)


def format_local(moment: datetime) -> str:
    """`2026-11-27 17:30 (Bishkek)` — how instants are shown to people."""
    return to_bishkek(moment).strftime("%Y-%m-%d %H:%M (Bishkek)")


def parse_instant(text: str) -> datetime:
    """ISO-8601 date or date-time; without an offset it means Bishkek local time."""
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BISHKEK)
    return moment.astimezone(UTC)


__all__ = ["BISHKEK", "as_utc", "format_local", "parse_instant", "to_bishkek", "utcnow"]
