"""The line on top of every screen: profile, subscriber and INN, balance, certificate days,
operator state with the next maintenance window counting down, unread inbox."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from sochi_cli.tui.snapshot import Snapshot


def countdown(seconds: float) -> str:
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h {minutes:02d}m"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def _bishkek(moment: datetime) -> str:
    from sochi_cli.timeutil import to_bishkek

    return to_bishkek(moment).strftime("%a %H:%M")


def header_text(profile: str, snapshot: Snapshot) -> Text:
    """The header's content for `snapshot` (pure: the countdown uses the operator's clock)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(" sochi ", style="bold reverse")
    text.append(f" {profile} ", style="bold")
    overview = snapshot.overview
    if overview is not None:
        text.append("│ ")
        text.append(f"{overview.name} ", style="bold")
        text.append(f"{overview.inn} ")
        from sochi_cli.services.account import som

        balance = overview.balance.balance
        style = "bold red" if overview.balance_runs_out_this_month else ""
        text.append("│ ")
        text.append(f"{som(balance.balance)} {balance.currency}", style=style)
        text.append(" ")
        cert = overview.certificate
        if cert is not None and cert.days_left is not None:
            style = "bold red" if cert.days_left <= 30 else ""
            label = f"cert {cert.days_left}d" if cert.days_left >= 0 else "cert EXPIRED"
            text.append("│ ")
            text.append(label, style=style)
            text.append(" ")
        if overview.unread_inbox:
            text.append("│ ")
            text.append(f"✉ {overview.unread_inbox}", style="bold")
            text.append(" ")
    elif snapshot.overview_fault is not None:
        text.append("│ ")
        text.append(snapshot.overview_fault.title.lower(), style="italic")
        text.append(" ")
    text.append("│ ")
    text.append_text(operator_text(snapshot))
    return text


def operator_text(snapshot: Snapshot) -> Text:
    text = Text()
    report = snapshot.operator
    if report is None:
        if snapshot.operator_fault is not None:
            text.append("operator unreachable", style="bold red")
        else:
            text.append("operator …", style="italic")
        return text
    now = snapshot.server_now()
    maintenance = report.status.maintenance
    current = maintenance.current
    if current is not None and now is not None and current.starts_at <= now < current.ends_at:
        text.append("MAINTENANCE", style="bold reverse yellow")
        text.append(f" ends in {countdown((current.ends_at - now).total_seconds())}")
        return text
    text.append("up", style="bold green")
    upcoming = maintenance.next
    if upcoming is not None and now is not None and upcoming.starts_at > now:
        text.append(
            f" · maintenance {_bishkek(upcoming.starts_at)} in "
            f"{countdown((upcoming.starts_at - now).total_seconds())}"
        )
    return text


class StatusHeader(Static):
    """Repainted when the app's snapshot changes and every second for the countdown."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; }
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
        if not isinstance(app, SochiApp):
            return
        self.update(header_text(app.profile_name, app.snapshot))


__all__ = ["StatusHeader", "countdown", "header_text", "operator_text"]
