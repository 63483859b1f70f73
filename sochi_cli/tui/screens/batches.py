"""Batches: the journal's batches (newest first), their items and outcomes; resume an
interrupted one here (the same engine as `sochi batch resume`)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.record_table import Column, Record, RecordTable

STATUS_TAGS = {"interrupted": "warning", "running": "warning", "open": "warning",
               "pending_verdicts": "warning", "partial": "warning", "refused": "error",
               "failed": "error", "done": "ok"}  # fmt: skip
ITEM_TAGS = {"accepted": "ok", "invalid": "error", "failed": "error", "rejected": "error"}


def batch_record(summary: Any) -> Record:
    from sochi_cli.timeutil import local_minute

    batch = summary.batch
    states = " ".join(f"{k}:{v}" for k, v in sorted(summary.counts.items()))
    return Record(
        str(batch.id),
        (str(batch.id), local_minute(batch.created_at), summary.status,
         str(batch.item_count), states, batch.command),
        STATUS_TAGS.get(summary.status, ""),
    )  # fmt: skip


def item_record(row: Any) -> Record:
    state = row.state + (f" ({row.in_flight_stage}…)" if row.in_flight_stage else "")
    return Record(
        str(row.seq),
        (str(row.seq), row.client_inn, row.form, row.period, state, row.submission_id or "-",
         row.error or row.error_code or ""),
        ITEM_TAGS.get(row.state, ""),
    )  # fmt: skip


def item_text(row: Any) -> Text:
    """The highlighted item whole: its file, its state and the full error."""
    text = Text()
    if row is None:
        return text
    text.append(f"#{row.seq} {row.file}", style="bold")
    text.append(f" · {row.client_name or row.client_inn} {row.form} {row.period} · {row.state}")
    if row.error or row.error_code:
        text.append(f"\n{row.error or row.error_code}", style="red")
    if row.submission_id:
        text.append(f"\nEnter opens {row.submission_id}", style="italic")
    return text


class BatchesScreen(TableScreen):
    MODE = "batches"
    TITLE = "Batches"
    SUMMARY = "The journal's batches and their items (times in Bishkek); R resumes one."
    FILTER_HINT = "filter batches (status, command, date)"
    EMPTY = "no batches yet — file reports on screen 4"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("id", "Batch", 5, numeric=True),
        Column("created", "Created", 16),
        Column("status", "Status", 11, whole=True),
        Column("items", "Items", 5, numeric=True),
        Column("states", "States", 30, flex=True),
        Column("command", "Command", 40, drop=1),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("R", "resume", "Resume batch"),
    ]
    OPEN_HINT = "Enter its items (Esc back)"
    RELOAD_ON_SHOW = True

    def __init__(self) -> None:
        super().__init__()
        self.listing: Any = None
        self.items: dict[str, Any] = {}

    def body(self) -> ComposeResult:
        with Vertical(classes="split -stacked"):
            with Vertical(classes="master"):
                yield from self.table_area()
            with Vertical(classes="detail"):
                yield RecordTable(
                    (
                        Column("seq", "#", 4, numeric=True),
                        Column("client", "Client", 14, whole=True),
                        Column("form", "Form", 9, drop=1),
                        Column("period", "Period", 8, drop=2),
                        Column("state", "State", 12, whole=True),
                        Column("submission", "Submission", 14, whole=True),
                        Column("error", "Error", 16, flex=True),
                    ),
                    empty_text="choose a batch (Enter)",
                    id="items",
                )
                yield Static("", id="item-detail")

    def reload(self) -> None:
        from sochi_cli.services.batches import list_batches

        self.run_blocking(lambda: list_batches(self.ctx.profile), self.show)

    def show(self, listing: Any) -> None:
        self.listing = listing
        self.table.set_records([batch_record(s) for s in listing.batches])
        pid = listing.submitting_pid
        extra = ""
        if pid is not None:
            extra = f"a sochi process (pid {pid or '?'}) is filing with this profile now"
        self.update_caption(extra)
        if self.table.current_key:
            self.open(self.table.current_key)

    def on_record_table_opened(self, event: RecordTable.Opened) -> None:
        if event.table.id == "table":
            self.open(event.key)
            self.query_one("#items", RecordTable).focus()
            return
        row = self.items.get(event.key)
        if row is not None and row.submission_id:  # an item: its submission, on screen 3
            self.sochi.action_go("submissions")
            self.sochi.call_after_refresh(self._open_submission, row.submission_id)

    def go_back(self) -> None:
        """Esc in the items: back to the batches."""
        self.table.focus()

    def _open_submission(self, submission_id: str) -> None:
        focus = getattr(self.app.screen, "focus_key", None)
        if callable(focus):
            focus(submission_id)

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        super().on_record_table_highlighted(event)
        if event.table.id == "items":
            self.query_one("#item-detail", Static).update(
                item_text(self.items.get(event.key or ""))
            )

    def open(self, key: str) -> None:
        from sochi_cli.services.batches import batch_detail

        def show(found: Any) -> None:
            _summary, rows = found
            self.items = {str(r.seq): r for r in rows}
            items = self.query_one("#items", RecordTable)
            items.set_records([item_record(r) for r in rows])
            self.query_one("#item-detail", Static).update(
                item_text(self.items.get(items.current_key or ""))
            )

        self.run_blocking(lambda: batch_detail(self.ctx.profile, int(key)), show, group="items")

    def action_resume(self) -> None:
        from sochi_cli.services.batches import is_resumable

        key = self.table.current_key
        if key is None or self.listing is None:
            return
        summary = next((s for s in self.listing.batches if str(s.batch.id) == key), None)
        if summary is None:
            return
        pid = self.listing.submitting_pid
        if pid is not None and pid != self._own_pid():
            self.show_fault(_busy(pid))
            return
        if not is_resumable(summary):
            self.notify(f"batch {key} is {summary.status}: nothing to resume")
            return
        self.sochi.action_go("file")
        self.sochi.call_after_refresh(self._resume_in_file_screen, summary.batch.id)

    def _resume_in_file_screen(self, batch_id: int) -> None:
        resume = getattr(self.app.screen, "resume", None)
        if callable(resume):
            resume(batch_id)

    @staticmethod
    def _own_pid() -> int:
        import os

        return os.getpid()


def _busy(pid: int) -> Any:
    from sochi_cli.errors import StorageError

    return StorageError(
        f"another sochi process (pid {pid or '?'}) is filing with this profile",
        hint="wait for it to finish (or stop it with Ctrl+C there), then resume here",
        code="journal_busy",
    )


__all__ = ["BatchesScreen", "batch_record", "item_record"]
