"""Archive: your own copy of every report, signature, receipt and protocol (clause 16.5);
v recomputes every object's digest."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record

PREVIEW_BYTES = 4000


def archive_record(entry: Any, damaged: set[str]) -> Record:
    return Record(
        f"{entry.sha256}:{entry.kind}:{entry.filename or ''}",
        (entry.client_inn or "-", entry.period or "-", entry.form or "-", entry.kind,
         entry.filename or "-", entry.submission_id or "-", str(entry.size), entry.sha256[:16]),
        "error" if entry.sha256 in damaged else "",
    )  # fmt: skip


class ArchiveScreen(TableScreen):
    MODE = "archive"
    TITLE = "Archive"
    SUMMARY = "Your copy of everything filed; Enter previews an object, v verifies them all."
    FILTER_HINT = "filter (client, period, form, kind, file, submission)"
    EMPTY = "nothing archived yet"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("client", "Client", 14, whole=True),
        Column("period", "Period", 8, drop=4),
        Column("form", "Form", 9, drop=3),
        Column("kind", "Kind", 18, whole=True),
        Column("file", "File", 28, whole=True),
        Column("submission", "Submission", 14, whole=True, drop=2),
        Column("size", "Bytes", 7, numeric=True, drop=1),
        Column("sha", "SHA-256", 16, drop=5),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("v", "verify", "Verify archive"),
    ]
    OPEN_HINT = "Enter preview"
    RELOAD_ON_SHOW = True

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[Any] = []
        self.damaged: set[str] = set()

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with VerticalScroll(classes="detail -closable -hidden"):
                yield Static("", id="archive-object")

    def reload(self) -> None:
        from sochi_cli.services.records import archive_entries

        self.run_blocking(lambda: archive_entries(self.ctx.profile), self.show)

    def show(self, entries: list[Any]) -> None:
        self.entries = entries
        self.table.set_records([archive_record(e, self.damaged) for e in entries])
        self.update_caption()

    def on_record_table_opened(self, event: Any) -> None:
        from sochi_cli.services.records import read_archived

        sha = event.key.split(":", 1)[0]
        pane = self.query_one("#archive-object", Static)
        pane.update(f"reading {sha[:16]}…")
        self.open_detail()

        def show(data: bytes) -> None:
            text = Text(f"{event.key.split(':', 2)[2] or sha}\nsha256 {sha}\n\n", style="bold")
            if b"\0" in data[:PREVIEW_BYTES]:
                text.append(f"{len(data)} bytes of binary data (a CMS signature)", style="dim")
            else:
                text.append(data[:PREVIEW_BYTES].decode("utf-8", "replace"))
            pane.update(text)

        self.run_blocking(lambda: read_archived(self.ctx.profile, sha), show, group="object")

    def action_verify(self) -> None:
        from sochi_cli.errors import ValidationFailed
        from sochi_cli.services.records import verify_archive

        def done(check: Any) -> None:
            self.damaged = set(check.missing) | set(check.corrupt)
            self.show(self.entries)
            if check.ok:
                self.clear_fault()
                self.notify(f"archive intact: {check.checked} object(s) verified")
            else:
                self.show_fault(
                    ValidationFailed(
                        f"archive damaged: {len(check.missing)} missing, {len(check.corrupt)} "
                        f"corrupt of {check.checked} objects (red rows)",
                        hint="restore them from a backup or an export",
                        code="archive_damaged",
                    )
                )

        self.run_blocking(lambda: verify_archive(self.ctx.profile), done, group="verify")


__all__ = ["ArchiveScreen", "archive_record"]
