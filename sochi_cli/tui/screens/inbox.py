"""Inbox: notices and requests from agencies; read one (its signature checked), acknowledge
it with your signature, answer a request with a signed document (receipts go to your
archive)."""

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
    state = "replied" if item.replied_at else "yes" if item.acknowledged_at else "UNREAD"
    waiting = not item.acknowledged_at or (item.kind == "request" and not item.replied_at)
    return Record(
        item.id,
        (item.id, item.agency.code, item.kind, item.subject, received, state),
        "warning" if waiting else "",
    )


def document_text(document: bytes) -> str:
    """The signed document as people read it: JSON indented, anything else as it is."""
    import json

    raw = document.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(raw), indent=2, ensure_ascii=False)
    except ValueError:
        return raw


def item_text(shown: Any) -> Text:
    from sochi_cli.names import readable_dn
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
        said = readable_dn(describe(shown.signature))
        text.append(said + "\n", style="green" if ok else "bold red")
    else:
        text.append("agency signature: none\n", style="bold red")
    text.append("\n" + (item.body or "") + "\n")
    if item.acknowledged_at:
        text.append(f"\nacknowledged (receipt {item.ack_receipt_id})", style="green")
    else:
        text.append("\na: acknowledge with your signature", style="italic")
    if item.replied_at:
        text.append(f"\nanswered (receipt {item.reply_receipt_id})", style="green")
    elif item.kind == "request":
        text.append("\np: answer the request with a signed document", style="bold italic")
    text.append("\n\nThe signed document, as the agency sent it:\n", style="bold dim")
    text.append(document_text(shown.document), style="dim")
    return text


class InboxScreen(TableScreen):
    MODE = "inbox"
    TITLE = "Inbox"
    SUMMARY = "Notices and requests from agencies; Enter reads one, a acknowledges, p answers."
    FILTER_HINT = "filter (agency, kind, subject, 'unread')"
    EMPTY = "the inbox is empty"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("id", "Item", 12, whole=True),
        Column("agency", "Agency", 6),
        Column("kind", "Kind", 8, whole=True),
        Column("subject", "Subject", 20, flex=True),
        Column("received", "Received", 16, drop=1),
        Column("ack", "Read", 6, whole=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("a", "acknowledge", "Acknowledge"),
        Binding("p", "reply", "Answer"),
    ]
    OPEN_HINT = "Enter read"

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with VerticalScroll(classes="detail -closable -hidden"):
                yield Static("", id="inbox-item")

    def reload(self) -> None:
        from sochi_cli.services.inbox_view import inbox_items

        self.run_blocking(lambda: inbox_items(self.ctx.config), self.show)

    def show(self, items: list[Any]) -> None:
        self.items = {i.id: i for i in items}
        self.table.set_records([inbox_record(i) for i in reversed(items)])
        self.update_caption()

    def on_record_table_opened(self, event: Any) -> None:
        self.open(event.key)

    def open(self, item_id: str) -> None:
        from sochi_cli.services.inbox_view import read_item

        pane = self.query_one("#inbox-item", Static)
        self.open_detail()
        pane.update(f"reading {item_id}…")
        self.run_blocking(
            lambda: read_item(self.ctx.config, item_id),
            lambda shown: pane.update(item_text(shown)),
            group="item",
        )

    def _signer(self, title: str) -> Any:
        """In a worker: the signer dialog, then the key's secrets (asked only if needed)."""
        from sochi_cli.tui.screens.signer import SignerScreen
        from sochi_cli.tui.signing import default_choice, signer_factory

        choice = ask_from_thread(self.app, SignerScreen(title, default_choice(self.ctx)))
        return signer_factory(self.app, self.ctx, choice)()

    def _warn(self, text: str) -> None:
        """A warning of the signing gate (clause 1.5), from the worker."""
        self.app.call_from_thread(self.app.notify, text, severity="warning")

    def _signed(self, item_id: str, what: str) -> None:
        self.notify(what)
        self.reload()
        self.open(item_id)
        self.sochi.refresh_snapshot()

    def action_acknowledge(self) -> None:
        from sochi_cli.services.inbox_view import acknowledge_item

        item_id = self.table.current_key
        if item_id is None:
            return

        def work() -> Any:
            signer = self._signer(f"Acknowledge {item_id} — sign with")
            return acknowledge_item(self.ctx.config, item_id, signer, on_warning=self._warn)

        def done(result: Any) -> None:
            how = "was already acknowledged" if result.already else "acknowledged"
            self._signed(item_id, f"{item_id} {how}; receipt {result.receipt.id}")

        self.run_blocking(work, done, group="ack")

    def action_reply(self) -> None:
        from sochi_cli.services.inbox_view import reply_to_item
        from sochi_cli.tui.screens.reply import ReplyScreen

        item_id = self.table.current_key
        item = self.items.get(item_id or "")
        if item_id is None or item is None:
            return
        if item.kind != "request":
            self.notify(f"{item_id} is a notice: acknowledge it (a); only requests are answered")
            return

        def work() -> Any:
            answer = ask_from_thread(self.app, ReplyScreen(item_id, item.subject))
            signer = self._signer(f"Answer {item_id} — sign with")
            return reply_to_item(
                self.ctx.config,
                item_id,
                answer.document,
                signer,
                answer.attachments,
                on_warning=self._warn,
            )

        def done(result: Any) -> None:
            self._signed(item_id, f"{item_id} answered; receipt {result.receipt.id}")

        self.run_blocking(work, done, group="reply")


__all__ = ["InboxScreen", "document_text", "inbox_record", "item_text"]
