"""Home: the account at a glance and what needs you today (the overview service)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from sochi_cli.tui.screens.base import SochiScreen
from sochi_cli.tui.snapshot import Snapshot
from sochi_cli.tui.widgets.attention_list import AttentionList

ROOMY = (120, 34)  # columns and rows from which the balance chart sits beside the cards


def cards(snapshot: Snapshot, profile: str, api_url: str) -> Table:
    """Account, balance, certificate, clients and inbox as a two-column grid."""
    from sochi_cli.services.account import som
    from sochi_cli.timeutil import format_local

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    overview = snapshot.overview
    grid.add_row("profile", profile)
    if overview is None:
        fault = snapshot.overview_fault
        grid.add_row("account", fault.one_line() if fault else "loading…")
        return grid
    kind = "tax representative" if overview.kind == "tax_representative" else "self-filer"
    grid.add_row("account", f"{overview.name} · INN {overview.inn} · {kind}")
    balance = overview.balance
    line = Text(f"{som(balance.balance.balance)} {balance.balance.currency}")
    if balance.runs_out_on is not None:
        style = "bold red" if overview.balance_runs_out_this_month else ""
        line.append(f" · runs out {balance.runs_out_on:%d.%m.%Y}", style=style)
    if balance.subscribed:
        line.append(f" · E-Cloud {som(balance.monthly_fee)}/month")
    grid.add_row("balance", line)
    cert = overview.certificate
    if cert is not None and cert.not_after is not None:
        days = cert.days_left if cert.days_left is not None else 0
        style = "bold red" if days <= 30 else ""
        grid.add_row(
            "certificate",
            Text(f"{cert.key_kind or '-'} key · valid until {format_local(cert.not_after)} "
                 f"({days} days) · details on 7", style=style),
        )  # fmt: skip
    if overview.kind == "tax_representative":
        grid.add_row("clients", f"{overview.clients} active")
    if overview.obligations_pending:
        grid.add_row("reports", Text("working out what is due…", style="italic"))
    else:
        due = Text(f"{overview.overdue} overdue", style="bold red" if overview.overdue else "")
        due.append(f" · {overview.due_soon} due within a week")
        grid.add_row("reports", due)
    grid.add_row("inbox", f"{overview.unread_inbox} unread" if overview.unread_inbox else "read")
    for problem in overview.problems:
        grid.add_row("not checked", Text(problem, style="italic"))
    return grid


class HomeScreen(SochiScreen):
    MODE = "home"
    TITLE = "Home"
    SUMMARY = (
        "What needs you today: reports due and overdue, batches, rejections, POAs, "
        "certificate, balance."
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        Binding("c", "chart", "Chart"),
        Binding("enter", "open", "Go to it", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        # None: beside the cards when the terminal is big enough; True/False: `c` decided
        self.chart_wanted: bool | None = None
        self.charted_balance: int | None = None  # the balance the chart was drawn for

    def body(self) -> ComposeResult:
        with Horizontal(id="home-top"):
            yield Static("", id="home-cards")
            yield Vertical(id="home-chart")  # the balance chart, mounted with its data
        yield Static("What needs you today", classes="pane-title", id="attention-title")
        yield AttentionList(id="attention")
        yield Static("", id="home-empty", classes="empty")

    def on_mount(self) -> None:
        wanted = self.ctx.remembered("charts", self.MODE)
        self.chart_wanted = wanted if isinstance(wanted, bool) else None
        self.sochi.snapshot_changed.subscribe(self, self.show)
        self.show(self.sochi.snapshot)
        self.query_one(AttentionList).focus()

    def reload(self) -> None:
        self.charted_balance = None  # r fetches the ledger again too
        self.sochi.refresh_snapshot()

    # the balance chart ---------------------------------------------------------------------
    @property
    def roomy(self) -> bool:
        """Room for the chart beside the cards without taking the list's place."""
        return self.size.width >= ROOMY[0] and self.size.height >= ROOMY[1]

    @property
    def charting(self) -> bool:
        return self.roomy if self.chart_wanted is None else self.chart_wanted

    def on_resize(self) -> None:
        super().on_resize()
        self.lay_out()

    def action_chart(self) -> None:
        """c: the balance chart on or off (remembered); when small it takes the list's place."""
        self.chart_wanted = not self.charting
        self.ctx.remember("charts", self.MODE, self.chart_wanted)
        self.lay_out()
        self.load_chart(self.sochi.snapshot)

    def lay_out(self) -> None:
        charting, roomy = self.charting, self.roomy
        top = self.query_one("#home-top")
        top.set_class(charting and roomy, "-beside")
        top.set_class(charting and not roomy, "-instead")
        self.query_one("#home-chart").display = charting
        instead = charting and not roomy  # small: the chart takes the list's place
        for selector in ("#attention-title", "#attention"):
            self.query_one(selector).display = not instead
        listed = self.query_one(AttentionList).option_count > 0
        self.query_one("#home-empty").display = not instead and not listed

    def load_chart(self, snapshot: Snapshot) -> None:
        """The ledger is read once the dashboard is complete, and again when the balance moved."""
        overview = snapshot.overview
        if not self.charting or overview is None or overview.obligations_pending:
            return
        balance = overview.balance.balance.balance
        if balance == self.charted_balance:
            return
        self.charted_balance = balance
        from sochi_cli.services.balance_history import balance_this_month

        report = overview.balance
        pane = self.query_one("#home-chart")

        def draw(month: Any) -> None:
            from sochi_cli.tui.widgets.balance_chart import BalanceChart

            if not pane.children:
                pane.mount(BalanceChart(id="balance-chart"))
            projected = (
                report.projected_month_end_balance if report.month_end == month.last_day else None
            )
            self.call_after_refresh(lambda: self.query_one(BalanceChart).show(month, projected))

        def failed(_fault: Any) -> None:
            self.charted_balance = None  # r tries again

        self.run_blocking(
            lambda: balance_this_month(self.ctx.config), draw, group="chart", failed=failed
        )

    def show(self, snapshot: Snapshot) -> None:
        self.query_one("#home-cards", Static).update(
            cards(snapshot, self.sochi.profile_name, self.ctx.api_url)
        )
        overview = snapshot.overview
        items = overview.attention if overview is not None else []
        self.query_one(AttentionList).show(items)
        empty = self.query_one("#home-empty", Static)
        if overview is None:
            fault = snapshot.overview_fault
            empty.update(
                (fault.one_line() if fault else "loading the account…")
                if snapshot.operator_fault is None
                else snapshot.operator_fault.one_line()
            )
        else:
            empty.update("" if items else "Nothing needs you today.")
        self.lay_out()
        self.load_chart(snapshot)

    def action_open(self) -> None:
        """Enter anywhere on the dashboard: go to the highlighted item."""
        attention = self.query_one(AttentionList)
        index = attention.highlighted
        if index is not None and 0 <= index < len(attention.items):
            self.go_to(attention.items[index])

    def focus_main(self) -> None:
        self.query_one(AttentionList).focus()

    def on_attention_list_chosen(self, event: AttentionList.Chosen) -> None:
        self.go_to(event.item)

    def go_to(self, item: Any) -> None:
        if item.screen in ("home", self.MODE):
            return
        self.sochi.action_go(item.screen)
        if item.key:
            self.sochi.call_after_refresh(self._focus_in_target, item.key)

    def _focus_in_target(self, key: str) -> None:
        focus = getattr(self.app.screen, "focus_key", None)
        if callable(focus):
            focus(key)


__all__ = ["HomeScreen", "cards"]
