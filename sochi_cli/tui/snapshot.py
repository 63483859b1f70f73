"""The operator's and the account's state as last fetched: what every header shows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sochi_cli.tui.faults import Fault

if TYPE_CHECKING:
    from sochi_cli.services.overview import AccountOverview
    from sochi_cli.services.status import StatusReport


@dataclass
class Snapshot:
    operator: StatusReport | None = None
    operator_fault: Fault | None = None
    overview: AccountOverview | None = None
    overview_fault: Fault | None = None
    fetched_at: float = field(default_factory=time.monotonic)  # when `operator` arrived
    frozen: bool = False  # snapshot tests: the operator's clock does not move on screen

    def server_now(self) -> datetime | None:
        """The operator's clock now: its last answer plus the time since (no new request)."""
        if self.operator is None:
            return None
        elapsed = 0.0 if self.frozen else time.monotonic() - self.fetched_at
        return self.operator.status.server_time + timedelta(seconds=elapsed)

    def today(self) -> date:
        """The operator's date in Bishkek (its clock decides POA validity), else this machine's."""
        from sochi_cli.timeutil import to_bishkek, utcnow

        return to_bishkek(self.server_now() or utcnow()).date()

    @property
    def logged_in(self) -> bool:
        return self.overview is not None


__all__ = ["Snapshot"]
