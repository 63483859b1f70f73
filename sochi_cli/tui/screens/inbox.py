"""Inbox: notices and requests from agencies; read one (its signature checked) and
acknowledge it with your signature (the receipt goes to your archive)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from sochi_cli.tui.screens.base import TableScreen, ask_from_thread
from sochi_cli.tui.widgets.record_table import Column, Record


def inbox_record(item: Any) -> Record:
    from sochi_cli.timeutil import to_bishkek

    received = to_bishkek(item.received_at).strftime("%Y-%m-%d %H:%M") if item.received_at else "-"
    acked = "yes" if item.acknowledged_at else "UNREAD"
    return Record(
        item.id,
        (item.id, item.agency.code, item.kind, item.subject, received, acked),
        "" if item.acknowledged_at else "warning",
    )


def item_text(shown: Any) -> Text:
    from sochi_cli.services.receipts import describe

    item = shown.item
    text = Text()
    text.append(f"{item.subject}\n", style="bold")
    text.append(f"{item.agency.name or item.agency.code} · {item.kind} · {item.id}\n")
    if item.submission_id:
        text.append(f"about submission {item.submission_id}\n")
    if shown.signature is not None:
        ok = shown.signature.verified and shown.signature.chained is not False
        text.append("agency signature: ", style="bold")
        text.append(describe(shown.signature) + "\n", style="green" if ok else "bold red")
    else:
        text.append("agency signature: none\n", style="bold red")
    text.append("\n" + (item.body or "") + "\n\n")
    text.append(shown.document.decode("utf-8", "replace"), style="dim")
    if item.acknowledged_at:
        text.append(f"\n\nacknowledged (receipt {item.ack_receipt_id})", style="green")
    else:
        text.append("\n\na: acknowledge with your signature", style="italic")
    return text


class InboxScreen(TableScreen):
    MODE = "inbox"
    TITLE = "Inbox"
    SUMMARY = "Notices and requests from agencies; Enter reads one, a acknowledges it."
    FILTER_HINT = "filter (agency, kind, subject, 'unread')"
    EMPTY = "the inbox is empty"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("id", "Item", 12),
        Column("agency", "Agency", 6),
        Column("kind", "Kind", 10),
        Column("subject", "Subject", 36),
        Column("received", "Received", 16),
        Column("ack", "Ack", 6),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("a", "acknowledge", "Acknowledge (sign)"),
    ]

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with VerticalScroll(classes="detail"):
                yield Static("Enter reads the highlighted item", id="inbox-item")

    def reload(self) -> None:
        from sochi_cli.services.inbox_view import inbox_items

        self.run_blocking(lambda: inbox_items(self.ctx.config), self.show)

    def show(self, items: list[Any]) -> None:
        self.table.set_records([inbox_record(i) for i in reversed(items)])
        self.update_caption()

    def on_record_table_opened(self, event: Any) -> None:
        self.open(event.key)

    def open(self, item_id: str) -> None:
        from sochi_cli.services.inbox_view import read_item

        pane = self.query_one("#inbox-item", Static)
        pane.update(f"reading {item_id}…")
        self.run_blocking(
            lambda: read_item(self.ctx.config, item_id),
            lambda shown: pane.update(item_text(shown)),
            group="item",
        )

    def action_acknowledge(self) -> None:
        from sochi_cli.services.inbox_view import acknowledge_item
        from sochi_cli.tui.screens.signer import SignerScreen
        from sochi_cli.tui.signing import default_choice, signer_factory

        item_id = self.table.current_key
        if item_id is None:
            return
        app = self.app

        def work() -> Any:
            choice = ask_from_thread(
                app, SignerScreen(f"Acknowledge {item_id} — sign with", default_choice(self.ctx))
            )
            signer = signer_factory(app, self.ctx, choice)()
            return acknowledge_item(
                self.ctx.config,
                item_id,
                signer,
                on_warning=lambda text: app.call_from_thread(app.notify, text, severity="warning"),
            )

        def done(result: Any) -> None:
            how = "was already acknowledged" if result.already else "acknowledged"
            self.notify(f"{item_id} {how}; receipt {result.receipt.id}")
            self.reload()
            self.open(item_id)
            self.sochi.refresh_snapshot()

        self.run_blocking(work, done, group="ack")


__all__ = ["InboxScreen", "inbox_record", "item_text"]
