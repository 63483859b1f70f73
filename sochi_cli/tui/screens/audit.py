"""Audit log: every action, hash-chained (clause 6.5); v walks the chain."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record


def audit_record(record: Any) -> Record:
    actor = record.actor
    who = actor.get("certificate_serial") or actor.get("inn") or actor.get("local_user") or "-"
    details = ", ".join(f"{k}={v}" for k, v in record.details.items())
    return Record(
        str(record.seq),
        (str(record.seq), record.at[:19].replace("T", " "), str(who), record.action, details),
    )


class AuditScreen(TableScreen):
    MODE = "audit"
    TITLE = "Audit log"
    SUMMARY = "Who did what, when, with which certificate; v verifies the hash chain."
    FILTER_HINT = "filter (action, actor, batch…)"
    EMPTY = "no audit records yet"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("seq", "#", 5, numeric=True),
        Column("at", "At (UTC)", 19),
        Column("actor", "Actor", 18),
        Column("action", "Action", 16),
        Column("details", "Details", 60),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("v", "verify", "Verify chain"),
    ]

    def reload(self) -> None:
        from sochi_cli.services.records import audit_records

        self.run_blocking(lambda: audit_records(self.ctx.profile), self.show)

    def show(self, records: list[Any]) -> None:
        self.table.set_records([audit_record(r) for r in reversed(records)])
        self.update_caption()

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


__all__ = ["AuditScreen", "audit_record"]
