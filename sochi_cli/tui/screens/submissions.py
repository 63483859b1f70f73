"""Submissions: every submission, kept live by the operator's event feed; filter by client,
form, period, state or batch; sort by any column; Enter opens the detail pane."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll

from sochi_cli.tui.screens.base import TableScreen
from sochi_cli.tui.widgets.filter_bar import FilterBar
from sochi_cli.tui.widgets.record_table import Column, Record
from sochi_cli.tui.widgets.submission_detail import SubmissionDetail

STATE_TAGS = {"rejected": "error", "accepted": "ok"}
FIELDS = {"client": 1, "form": 2, "period": 3, "state": 5, "status": 5}


def submission_record(sub: Any) -> Record:
    from sochi_cli.services.account import som
    from sochi_cli.timeutil import to_bishkek

    def when(moment: Any) -> str:
        return to_bishkek(moment).strftime("%Y-%m-%d %H:%M") if moment else "-"

    return Record(
        sub.id,
        (
            sub.id,
            sub.client_inn,
            sub.form,
            sub.period,
            str(sub.correction),
            sub.status,
            when(sub.received_at),
            when(sub.decided_at),
            som(sub.fee),
        ),
        STATE_TAGS.get(sub.status, ""),
    )


def parse_query(query: str) -> tuple[str, dict[str, str]]:
    """`client:0201 state:rejected vat` → ("vat", {"client": "0201", "state": "rejected"})."""
    words, fields = [], {}
    for token in query.split():
        name, sep, value = token.partition(":")
        if sep and name.lower() in (*FIELDS, "batch") and value:
            fields[name.lower()] = value.casefold()
        else:
            words.append(token)
    return " ".join(words), fields


class SubmissionsScreen(TableScreen):
    MODE = "submissions"
    TITLE = "Submissions"
    SUMMARY = "Every submission, live; filter client:/form:/period:/state:/batch:; Enter opens."
    FILTER_HINT = "filter: words, or client:INN form:STI-077 period:2026-10 state:rejected batch:N"
    EMPTY = "no submissions match"
    COLUMNS: ClassVar[tuple[Column, ...]] = (
        Column("id", "Submission", 14, whole=True),
        Column("client", "Client", 14, whole=True),
        Column("form", "Form", 9),
        Column("period", "Period", 8),
        Column("corr", "Corr", 4, numeric=True, drop=1),
        Column("state", "State", 9, whole=True),
        Column("received", "Received", 16, drop=2),
        Column("decided", "Decided", 16, drop=3),
        Column("fee", "Fee", 8, numeric=True, drop=4),
    )
    BINDINGS: ClassVar[list[BindingType]] = [
        *TableScreen.BINDINGS,
        Binding("v", "verify", "Verify (clause 8)"),
        Binding("c", "chart", "Chart", show=False),  # the footer is full at 80 columns
    ]

    def __init__(self) -> None:
        super().__init__()
        self.batch_members: dict[str, set[str]] = {}
        self.opened: str | None = None

    def body(self) -> ComposeResult:
        with Horizontal(classes="split -narrow"):
            with Vertical(classes="master"):
                yield from self.table_area()
                yield Vertical(id="chart-pane", classes="-hidden")  # the chart, once asked for
            with VerticalScroll(classes="detail -closable -hidden", id="detail-pane"):
                yield SubmissionDetail(id="detail")

    def on_mount(self) -> None:
        super().on_mount()
        self.sochi.events_arrived.subscribe(self, self.on_events)
        if self.ctx.remembered("charts", self.MODE):
            self.action_chart()

    # the chart ---------------------------------------------------------------------------
    @property
    def charting(self) -> bool:
        return not self.query_one("#chart-pane").has_class("-hidden")

    def action_chart(self) -> None:
        """c: filings per day of the rows the filter shows, under the table (again: hide it)."""
        pane = self.query_one("#chart-pane")
        shown = not self.charting
        pane.set_class(not shown, "-hidden")
        self.ctx.remember("charts", self.MODE, shown)
        if shown:
            if not pane.children:
                from sochi_cli.tui.widgets.filings_chart import FilingsChart

                pane.mount(FilingsChart(id="filings-chart"))
            self.call_after_refresh(self.update_chart)

    def update_chart(self) -> None:
        """Count the shown rows per day in a worker; the chart redraws when they are counted."""
        if not self.charting:
            return
        from sochi_cli.tui.widgets.filings_chart import per_day

        table = self.table
        received = [record.cells[6] for record in table.visible_records()]
        words = self.query_one(FilterBar).value.strip()
        title = f"Filings per day · {words}" if words else "Filings per day"

        def show(counted: tuple[Any, ...]) -> None:
            from sochi_cli.tui.widgets.filings_chart import FilingsChart

            days, counts, earlier = counted
            note = f" (and {earlier} earlier)" if earlier else ""
            for chart in self.query(FilingsChart):
                chart.show(days, counts, title + note if days else title + ": none")

        self.run_blocking(lambda: per_day(received), show, group="chart")

    # loading ---------------------------------------------------------------------------
    def reload(self) -> None:
        from sochi_cli.services.submission_view import iter_submissions

        self.update_caption("loading…")
        self.run_blocking(
            lambda: [submission_record(s) for s in iter_submissions(self.ctx.config)],
            self.show_all,
        )

    def show_all(self, records: list[Record]) -> None:
        self.table.set_records(records)
        self.update_caption("live")
        self.update_chart()

    def on_events(self, events: list[Any]) -> None:
        ids = sorted({e.submission_id for e in events if e.submission_id})
        if not ids or not self.loaded:
            return
        from sochi_cli.services.submission_view import submissions_by_id

        self.run_blocking(
            lambda: submissions_by_id(self.ctx.config, ids),
            self.show_changed,
            group="events",
            exclusive=False,
        )

    def show_changed(self, submissions: list[Any]) -> None:
        self.table.upsert([submission_record(s) for s in submissions])
        self.update_caption("live")
        self.update_chart()
        opened = self.opened
        if opened is not None and opened in {s.id for s in submissions}:
            self.open(opened)

    # filtering -------------------------------------------------------------------------
    def apply_filter(self, query: str) -> None:
        words, fields = parse_query(query)
        batch = fields.pop("batch", None)
        members: set[str] | None = None
        if batch is not None:
            members = self.batch_members.get(batch)
            if members is None:
                self._load_batch(batch, query)
                members = set()

        def keep(record: Record) -> bool:
            for name, value in fields.items():
                if value not in record.cells[FIELDS[name]].casefold():
                    return False
            return members is None or record.key in members

        self.table.set_filter(words, keep if fields or members is not None else None)
        self.update_caption()
        self.update_chart()

    def _load_batch(self, batch: str, query: str) -> None:
        from sochi_cli.services.batches import batch_detail

        if not batch.isdigit():
            self.batch_members[batch] = set()
            return

        def done(found: Any) -> None:
            _summary, rows = found
            self.batch_members[batch] = {r.submission_id for r in rows if r.submission_id}
            self.apply_filter(query)

        self.run_blocking(
            lambda: batch_detail(self.ctx.profile, int(batch)), done, group="batch-filter"
        )

    # detail ----------------------------------------------------------------------------
    def on_record_table_opened(self, event: Any) -> None:
        self.open(event.key)

    def open(self, submission_id: str) -> None:
        from sochi_cli.services.submission_view import submission_detail

        self.opened = submission_id
        self.open_detail()
        self.query_one(SubmissionDetail).update(f"loading {submission_id}…")
        self.run_blocking(
            lambda: submission_detail(self.ctx.config, submission_id),
            self.query_one(SubmissionDetail).show_detail,
            group="detail",
        )

    def focus_key(self, key: str) -> None:
        super().focus_key(key)
        if self.table.current_key == key:
            self.open(key)

    def action_verify(self) -> None:
        from sochi_cli.services.submission_view import verify_submission

        key = self.opened or self.table.current_key
        if key is None:
            return
        self.open_detail()
        detail = self.query_one(SubmissionDetail)
        detail.update(f"verifying {key} (clause 8)…")
        self.run_blocking(
            lambda: verify_submission(self.ctx.config, key),
            lambda lines: detail.show_lines(f"Clause-8 verification of {key}", lines),
            group="detail",
            failed=lambda fault: detail.update(
                Text(f"{key}: not verified — {fault.one_line()}", style="bold red")
            ),
        )

    def close_detail(self) -> bool:
        self.opened = None
        return super().close_detail()


__all__ = ["SubmissionsScreen", "parse_query", "submission_record"]
