"""Maintenance windows: weekly Friday 17:30–20:30 Asia/Bishkek plus announced ones."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sochi_cli.timeutil import BISHKEK

WEEKLY_WEEKDAY = 4  # Friday
WEEKLY_START = time(17, 30)
WEEKLY_END = time(20, 30)
WEEKLY_TITLE = "Planned maintenance (every Friday 17:30–20:30 Bishkek)"


@dataclass(frozen=True)
class Window:
    starts_at: datetime
    ends_at: datetime
    kind: str  # "weekly" | "announced"
    title: str

    def contains(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at


def weekly_windows(now: datetime) -> list[Window]:
    """This week's and next week's Friday windows (UTC instants)."""
    local = now.astimezone(BISHKEK)
    friday = local.date() + timedelta(days=(WEEKLY_WEEKDAY - local.weekday()) % 7)
    if local.weekday() == WEEKLY_WEEKDAY and local.time() >= WEEKLY_END:
        friday += timedelta(days=7)
    out = []
    for day in (friday - timedelta(days=7), friday, friday + timedelta(days=7)):
        start = datetime.combine(day, WEEKLY_START, BISHKEK).astimezone(UTC)
        end = datetime.combine(day, WEEKLY_END, BISHKEK).astimezone(UTC)
        out.append(Window(start, end, "weekly", WEEKLY_TITLE))
    return out


def current_and_next(now: datetime, announced: list[Window]) -> tuple[Window | None, Window | None]:
    windows = sorted([*weekly_windows(now), *announced], key=lambda w: w.starts_at)
    current = None
    for window in windows:
        # overlapping windows: report the one ending last
        if window.contains(now) and (current is None or window.ends_at > current.ends_at):
            current = window
    upcoming = [w for w in windows if w.starts_at > now]
    return current, (upcoming[0] if upcoming else None)


__all__ = ["Window", "current_and_next", "weekly_windows"]
