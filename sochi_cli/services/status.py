"""Operator state for `sochi status`: maintenance windows, notices, clock skew (no login)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sochi_cli.timeutil import utcnow

if TYPE_CHECKING:
    from sochi_cli.api.client import OperatorClient
    from sochi_cli.api.models import Status, Window

SKEW_WARNING_SECONDS = 120.0  # signing times more than 300 s ahead are refused (docs/api.md)


@dataclass
class StatusReport:
    status: Status
    api_url: str
    local_time: datetime
    skew_seconds: float  # server minus local; positive = this machine is behind

    @property
    def calendar(self) -> dict[str, Any]:
        """The operator's date on the Kyrgyz calendar: working day or why not, next one."""
        from datetime import timedelta

        from sochi_cli.timeutil import to_bishkek
        from sochi_cli.workdays import next_working_day, why_not_working

        today = to_bishkek(self.status.server_time).date()
        return {
            "date": today,
            "working_day": why_not_working(today) is None,
            "closed_because": why_not_working(today),
            "next_working_day": next_working_day(today + timedelta(days=1)),
        }

    @property
    def state(self) -> str:
        return "maintenance" if self.status.maintenance.active else "up"

    def countdown(self, window: Window | None) -> float | None:
        """Seconds from the server's now to the window's start (or end when it is current)."""
        if window is None:
            return None
        server_now = self.status.server_time
        target = window.ends_at if window.starts_at <= server_now else window.starts_at
        return max(0.0, (target - server_now).total_seconds())

    def to_json(self) -> dict[str, Any]:
        maintenance = self.status.maintenance
        return {
            "api_url": self.api_url,
            "state": self.state,
            "service": self.status.service,
            "sandbox": self.status.sandbox,
            "server_time": self.status.server_time,
            "local_time": self.local_time,
            "clock_skew_seconds": round(self.skew_seconds, 1),
            "maintenance": {
                "active": maintenance.active,
                "current": _window(maintenance.current, self.countdown(maintenance.current)),
                "next": _window(maintenance.next, self.countdown(maintenance.next)),
                "announced": [w.to_json() for w in maintenance.announced],
            },
            "notices": [n.to_json() for n in self.status.notices],
            "calendar": self.calendar,
        }


def _window(window: Window | None, seconds: float | None) -> dict[str, Any] | None:
    if window is None:
        return None
    return {**window.to_json(), "seconds_left": None if seconds is None else int(seconds)}


def operator_status(
    client: OperatorClient, *, clock: Callable[[], datetime] = utcnow
) -> StatusReport:
    """GET /status, timing the call so the skew estimate excludes the round trip.

    `clock` reads this machine's time (the doctor passes its own, tests a controlled one).
    """
    from sochi_cli.api import resources

    before = clock()
    status = client.call(resources.status.get())
    after = clock()
    local = before + (after - before) / 2
    # server_time has whole seconds (truncated): on average it is 0.5 s behind the truth.
    skew = (status.server_time - local).total_seconds() + 0.5
    return StatusReport(status, client.base_url, local.replace(microsecond=0), skew)


def format_duration(seconds: float) -> str:
    """`2d 3h 05m`, `3h 05m`, `12m`, `45s` — countdowns for people."""
    total = int(seconds)
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


__all__ = ["SKEW_WARNING_SECONDS", "StatusReport", "format_duration", "operator_status"]
