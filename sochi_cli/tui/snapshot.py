"""The operator's and the account's state as last fetched: what every header shows."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
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

    def server_now(self) -> datetime | None:
        """The operator's clock now: its last answer plus the time since (no new request)."""
        if self.operator is None:
            return None
        elapsed = time.monotonic() - self.fetched_at
        return self.operator.status.server_time + timedelta(seconds=elapsed)

    @property
    def logged_in(self) -> bool:
        return self.overview is not None


__all__ = ["Snapshot"]
