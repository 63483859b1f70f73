"""Audit log: every action, hash-chained (clause 6.5); Enter shows a record whole, v walks
the chain."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record


def actor_text(actor: dict[str, Any]) -> str:
    return str(
        actor.get("certificate_serial") or actor.get("inn") or actor.get("local_user") or "-"
    )


def audit_record(record: Any) -> Record:
    from sochi_cli.services.facts_text import inline_text
    from sochi_cli.timeutil import local_minute

    return Record(
        str(record.seq),
        (str(record.seq), local_minute(record.at), actor_text(record.actor), record.action,
         inline_text(record.details)),
    )  # fmt: skip


def record_text(record: Any) -> Text:
    """One record whole: when, who, what, its details line by line and its place in the chain."""
    from sochi_cli.services.facts_text import fact_lines
    from sochi_cli.timeutil import local_minute

    text = Text()
    text.append(f"#{record.seq} {record.action}\n", style="bold")
    text.append(f"{local_minute(record.at)} (Bishkek) · {record.at}\n")
    text.append("\nActor\n", style="bold underline")
    text.append("\n".join(fact_lines(record.actor)) or "-")
    text.append("\n\nDetails\n", style="bold underline")
    text.append("\n".join(fact_lines(record.details)) or "none")
    text.append("\n\nChain\n", style="bold underline")
    text.append(f"hash      {record.hash}\nprevious  {record.prev_hash}", style="dim")
    return text


class AuditScreen(TableScreen):
    MODE = "audit"
    TITLE = "Audit log"
    SUMMARY = "Who did what, when (Bishkek), with which certificate; v verifies the hash chain."
    FILTER_HINT = "filter (action, actor, batch…)"
    EMPTY = "no audit records yet"
    OPEN_HINT = "Enter show"
    RELOAD_ON_SHOW = True
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("seq", "#", 5, numeric=True),
        Column("at", "At", 16),
        Column("actor", "Actor", 14, whole=True, drop=1),
        Column("action", "Action", 14, whole=True),
        Column("details", "Details", 20, flex=True),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("v", "verify", "Verify chain"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with VerticalScroll(classes="detail -closable -hidden"):
                yield Static("", id="audit-record")

    def reload(self) -> None:
        from sochi_cli.services.records import audit_records

        self.run_blocking(lambda: audit_records(self.ctx.profile), self.show)

    def show(self, records: list[Any]) -> None:
        self.records = {str(r.seq): r for r in records}
        self.table.set_records([audit_record(r) for r in reversed(records)])
        self.update_caption()

    def on_record_table_opened(self, event: Any) -> None:
        record = self.records.get(event.key)
        if record is not None:
            self.query_one("#audit-record", Static).update(record_text(record))
            self.open_detail()

    def action_verify(self) -> None:
        from sochi_cli.errors import ValidationFailed
        from sochi_cli.services.records import verify_audit

        def done(result: Any) -> None:
            if result.ok:
                self.clear_fault()
                self.notify(f"audit chain intact: {result.records} record(s)")
                self.update_caption(f"chain verified: {result.records} records")
            else:
                self.show_fault(
                    ValidationFailed(
                        f"the audit chain is broken at record {result.broken_seq}: {result.reason}",
                        hint="records from there on cannot be trusted; keep a copy of the "
                        "journal and report it",
                        code="audit_broken",
                    )
                )
                self.focus_key(str(result.broken_seq))

        self.run_blocking(lambda: verify_audit(self.ctx.profile), done, group="verify")


__all__ = ["AuditScreen", "audit_record", "record_text"]
