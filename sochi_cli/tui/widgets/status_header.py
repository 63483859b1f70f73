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


def header_text(profile: str, snapshot: Snapshot, width: int | None = None) -> Text:
    """The header's content for `snapshot` (pure: the countdown uses the operator's clock).

    The operator's state (with the maintenance countdown) and the unread inbox count are on
    the right and always whole. When `width` is too narrow for everything, the subscriber's
    name goes first (the INN stays), then the countdown to a window more than a day away,
    then the brand; what is still too long is the account part, cut with an ellipsis.
    """
    tiers = [(True, False, True), (False, False, True), (False, True, True), (False, True, False)]
    left, right = Text(), Text()
    for name, compact, brand in tiers:
        left = _account(profile, snapshot, name=name, brand=brand)
        right = _state(snapshot, compact=compact)
        if width is None or left.cell_len + right.cell_len <= width:
            break
    if width is not None and left.cell_len + right.cell_len > width:
        room = max(0, width - right.cell_len)
        left.truncate(room, overflow="ellipsis")
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append_text(left)
    text.append_text(right)
    return text


def _account(profile: str, snapshot: Snapshot, *, name: bool, brand: bool) -> Text:
    """Profile, subscriber, balance and certificate: what may be cut at narrow widths."""
    text = Text(no_wrap=True)
    if brand:
        text.append(" sochi ", style="bold reverse")
    text.append(f" {profile} ", style="bold")
    overview = snapshot.overview
    if overview is not None:
        text.append("│ ")
        if name:
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
    elif snapshot.overview_fault is not None:
        text.append("│ ")
        text.append(snapshot.overview_fault.title.lower(), style="italic")
        text.append(" ")
    return text


def _state(snapshot: Snapshot, *, compact: bool) -> Text:
    """Unread inbox and the operator's state: never cut."""
    text = Text(no_wrap=True)
    overview = snapshot.overview
    if overview is not None and overview.unread_inbox:
        text.append("│ ")
        text.append(f"✉ {overview.unread_inbox}", style="bold")
        text.append(" ")
    text.append("│ ")
    text.append_text(operator_text(snapshot, compact=compact))
    return text


def operator_text(snapshot: Snapshot, *, compact: bool = False) -> Text:
    """`up · maintenance Fri 17:30 in 4d 16h 18m`, or `MAINTENANCE ends in 1h 02m`; compact
    leaves out a window more than a day away (the banner warns an hour ahead anyway)."""
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
        seconds = (upcoming.starts_at - now).total_seconds()
        if not compact:
            text.append(f" · maintenance {_bishkek(upcoming.starts_at)} in {countdown(seconds)}")
        elif seconds < 86400:
            text.append(f" · maintenance in {countdown(seconds)}")
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

    def on_resize(self) -> None:
        self.repaint()

    def repaint(self) -> None:
        from sochi_cli.tui.app import SochiApp

        app = self.app
        if not isinstance(app, SochiApp):
            return
        self.update(header_text(app.profile_name, app.snapshot, self.size.width or None))


__all__ = ["StatusHeader", "countdown", "header_text", "operator_text"]
