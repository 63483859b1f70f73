"""A banner under the header while the operator is in maintenance or about to be (clauses
4.1–4.2: every Friday 17:30–20:30 Bishkek, and announced windows), with a live countdown."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from sochi_cli.tui.snapshot import Snapshot
from sochi_cli.tui.widgets.status_header import countdown

SOON_SECONDS = 3600.0  # warn an hour ahead


def banner_text(snapshot: Snapshot) -> Text | None:
    from sochi_cli.timeutil import format_local

    report = snapshot.operator
    now = snapshot.server_now()
    if report is None or now is None:
        return None
    maintenance = report.status.maintenance
    current, upcoming = maintenance.current, maintenance.next
    if current is not None and current.starts_at <= now < current.ends_at:
        left = countdown((current.ends_at - now).total_seconds())
        return Text(
            f" The operator is in maintenance until {format_local(current.ends_at)} — {left} "
            "left. Reading works from the local journal; filing waits for the end of the window."
        )
    if upcoming is not None and 0 < (upcoming.starts_at - now).total_seconds() <= SOON_SECONDS:
        left = countdown((upcoming.starts_at - now).total_seconds())
        return Text(
            f" Maintenance starts in {left} ({format_local(upcoming.starts_at)}): file now or "
            "after it ends."
        )
    return None


class MaintenanceBanner(Static):
    DEFAULT_CSS = """
    MaintenanceBanner { display: none; height: auto; }
    MaintenanceBanner.-shown { display: block; }
    """

    def on_mount(self) -> None:
        from sochi_cli.tui.app import SochiApp

        app = self.app
        if isinstance(app, SochiApp):
            app.snapshot_changed.subscribe(self, lambda _s: self.repaint())
        self.repaint()
        self.set_interval(1.0, self.repaint)

    def repaint(self) -> None:
        from sochi_cli.tui.app import SochiApp

        app = self.app
        text = banner_text(app.snapshot) if isinstance(app, SochiApp) else None
        self.set_class(text is not None, "-shown")
        if text is not None:
            self.update(text)


__all__ = ["MaintenanceBanner", "banner_text"]
