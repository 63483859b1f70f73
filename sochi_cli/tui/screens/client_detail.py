"""One client: its power of attorney, its submissions and the fees paid for it."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from sochi_cli.tui.screens.base import SochiScreen
from sochi_cli.tui.widgets.record_table import Column, Record, RecordTable

STATE_TAGS = {"rejected": "error", "accepted": "ok", "received": "", "delivered": ""}


OBLIGATION_STYLES = {"accepted": "green", "overdue": "bold red", "rejected": "bold red",
                     "missing": "yellow", "unsent": "yellow", "in_progress": ""}  # fmt: skip


def obligations_text(obligations: list[Any]) -> Text:
    """One line per obligation of the window (two months back to the next deadlines)."""
    if not obligations:
        return Text("nothing due in the window", style="italic")
    text = Text()
    for n, o in enumerate(obligations):
        if n:
            text.append("\n")
        text.append(f"{o.form} {o.period} due {o.deadline:%d.%m.%Y} ")
        text.append(o.state, style=OBLIGATION_STYLES.get(o.state, ""))
        if o.reason:
            text.append(f" — {o.reason}", style="italic")
    return text


class ClientDetailScreen(SochiScreen):
    MODE = "clients"
    TITLE = "Client"
    SUMMARY = "One client: POA, obligations, submissions, fees; Enter opens a submission."
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("backspace", "back", "Back to the clients"),
    ]

    def __init__(self, inn: str) -> None:
        super().__init__()
        self.inn = inn

    def body(self) -> ComposeResult:
        yield Static(f"client {self.inn} …", id="client-facts")
        yield Static("Submissions", classes="pane-title")
        yield RecordTable(
            (
                Column("id", "Submission", 14, whole=True),
                Column("form", "Form", 9),
                Column("period", "Period", 8),
                Column("status", "State", 9, whole=True),
                Column("received", "Received (Bishkek)", 18),
                Column("fee", "Fee", 9, numeric=True, drop=1),
            ),
            empty_text="nothing filed for this client yet",
            id="client-subs",
        )

    def on_mount(self) -> None:
        self.query_one(RecordTable).focus()

    def reload(self) -> None:
        from sochi_cli.services.client_view import client_detail

        self.run_blocking(lambda: client_detail(self.ctx.config, self.inn), self.show)

    def show(self, detail: Any) -> None:
        from sochi_cli.services.account import som
        from sochi_cli.timeutil import format_local

        client = detail.client
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row(
            "client", f"{client.name} · INN {client.inn} · {client.kind} · {client.status}"
        )
        poa = client.poa
        if poa is None:
            grid.add_row("POA", Text("none on file", style="bold red"))
        else:
            covers = ""
            if poa.period_from or poa.period_to:
                covers = f" · periods {poa.period_from or '…'}–{poa.period_to or '…'}"
            grid.add_row(
                "POA",
                f"No {poa.number} · {poa.issued_on} – {poa.valid_until} · "
                f"{'notarised' if poa.notarised else 'not notarised'}{covers} · "
                f"{client.poa_state or ''}",
            )
        grid.add_row(
            "fees paid", f"{som(detail.fees_paid)} KGS for {len(detail.charges)} charge(s)"
        )
        grid.add_row("filings", f"{len(detail.submissions)}")
        grid.add_row("obligations", obligations_text(detail.obligations))
        for problem in detail.problems:
            grid.add_row("not checked", Text(problem, style="italic"))
        self.query_one("#client-facts", Static).update(grid)
        rows = [
            Record(
                s.id,
                (
                    s.id,
                    s.form,
                    s.period,
                    s.status,
                    format_local(s.received_at)[:16] if s.received_at else "-",
                    som(s.fee),
                ),
                STATE_TAGS.get(s.status, ""),
            )
            for s in reversed(detail.submissions)
        ]
        self.query_one(RecordTable).set_records(rows)

    def on_record_table_opened(self, event: RecordTable.Opened) -> None:
        self.sochi.action_go("submissions")
        self.sochi.call_after_refresh(self._open, event.key)

    def _open(self, key: str) -> None:
        focus = getattr(self.app.screen, "focus_key", None)
        if callable(focus):
            focus(key)


__all__ = ["ClientDetailScreen"]
