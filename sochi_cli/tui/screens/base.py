"""What every screen has: the status header, the maintenance banner, an inline fault panel,
the footer, and `run_blocking` — a service call in a thread worker whose result (or fault)
comes back to the UI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, get_current_worker

from sochi_cli.errors import Interrupted
from sochi_cli.tui.faults import Fault, describe
from sochi_cli.tui.widgets.fault_panel import FaultPanel
from sochi_cli.tui.widgets.filter_bar import FilterBar
from sochi_cli.tui.widgets.maintenance_banner import MaintenanceBanner
from sochi_cli.tui.widgets.nav_bar import NavBar
from sochi_cli.tui.widgets.record_table import Column, RecordTable
from sochi_cli.tui.widgets.status_header import StatusHeader

if TYPE_CHECKING:
    from sochi_cli.tui.app import SochiApp
    from sochi_cli.tui.context import TuiContext

T = TypeVar("T")
WIDE = 120  # from this width master/detail panes sit side by side


class SochiScreen(Screen[None]):
    """A top-level screen (one per task); subclasses compose `body()` and implement `reload()`."""

    MODE: ClassVar[str] = ""
    TITLE: ClassVar[str] = ""
    SUMMARY: ClassVar[str] = ""  # one sentence for the help screen and the palette
    # local screens (journal, audit, archive) read their data again each time they are shown
    RELOAD_ON_SHOW: ClassVar[bool] = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        Binding("escape", "back", "Back: leave the filter, close the detail", show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.loaded = False

    @property
    def sochi(self) -> SochiApp:
        from sochi_cli.tui.app import SochiApp

        app = self.app
        assert isinstance(app, SochiApp)
        return app

    @property
    def ctx(self) -> TuiContext:
        return self.sochi.ctx

    def compose(self) -> ComposeResult:
        yield StatusHeader()
        yield NavBar(self.MODE)
        yield MaintenanceBanner()
        yield FaultPanel()
        yield from self.body()
        yield Footer()

    def body(self) -> ComposeResult:
        yield from ()

    def on_resize(self) -> None:
        for split in self.query(".split"):
            wide = self.size.width >= WIDE and not split.has_class("-stacked")
            split.set_class(wide, "-wide")
            split.set_class(not wide, "-narrow")

    def on_screen_resume(self) -> None:
        if not self.loaded:
            self.loaded = True
            self.reload()

    def revisited(self) -> None:
        """Come back to by its key: local screens read their data again, and a screen left
        showing a connection or session fault tries again (the operator may be back)."""
        if not self.loaded:
            return  # first shown: on_screen_resume loads it
        fault = self.query_one(FaultPanel).fault
        if self.RELOAD_ON_SHOW or (fault is not None and fault.action in ("retry", "login")):
            self.action_reload()

    def reload(self) -> None:
        """Fetch this screen's data again (in a worker)."""

    def action_reload(self) -> None:
        self.clear_fault()
        self.reload()

    def action_back(self) -> None:
        """Esc: leave the filter, else close the open detail, else go back a step."""
        focused = self.focused
        if isinstance(focused, FilterBar):
            focused.leave()
            return
        if not self.close_detail():
            self.go_back()

    def close_detail(self) -> bool:
        """Hide an open detail pane (`.detail.-closable`); False if none was open."""
        closed = False
        for pane in self.query(".detail.-closable"):
            if not pane.has_class("-hidden"):
                pane.set_class(True, "-hidden")
                closed = True
        if closed:
            self.focus_main()
        return closed

    def open_detail(self) -> None:
        for pane in self.query(".detail.-closable"):
            pane.set_class(False, "-hidden")

    def go_back(self) -> None:
        """Esc with nothing to leave or close: a pushed screen (a client) goes back."""
        if len(self.app.screen_stack) > 1 and self.app.screen is self:
            self.dismiss(None)

    def focus_main(self) -> None:
        """Give the focus back to the screen's main widget."""

    # faults ----------------------------------------------------------------------------
    def show_fault(self, exc: BaseException | Fault) -> Fault:
        fault = exc if isinstance(exc, Fault) else describe(exc)
        self.query_one(FaultPanel).show(fault)
        if fault.action == "login":
            self.sochi.session_lost(fault)
        return fault

    def clear_fault(self) -> None:
        self.query_one(FaultPanel).clear()

    # workers ---------------------------------------------------------------------------
    def run_blocking(
        self,
        call: Callable[[], T],
        done: Callable[[T], None],
        *,
        group: str = "load",
        exclusive: bool = True,
        failed: Callable[[Fault], None] | None = None,
    ) -> Worker[None]:
        """Run `call` in a thread worker; `done(result)` or the fault panel on the UI thread.

        A newer call of the same group cancels the older (its result is dropped).
        """

        def work() -> None:
            worker = get_current_worker()
            try:
                result = call()
            except BaseException as exc:
                if worker.is_cancelled:
                    return
                self.app.call_from_thread(self._failed, exc, failed)
                return
            if not worker.is_cancelled:
                self.app.call_from_thread(done, result)

        return self.run_worker(work, thread=True, group=group, exclusive=exclusive)

    def _failed(self, exc: BaseException, failed: Callable[[Fault], None] | None) -> None:
        fault = self.show_fault(exc)
        if failed is not None:
            failed(fault)


class TableScreen(SochiScreen):
    """A screen around one `RecordTable` with a filter line; remembers filter, sort, widths."""

    COLUMNS: ClassVar[tuple[Column, ...]] = ()
    FILTER_HINT: ClassVar[str] = "filter…"
    EMPTY: ClassVar[str] = "nothing to show"
    OPEN_HINT: ClassVar[str] = "Enter open"  # what Enter does, for the caption
    _pending_key: str | None = None  # a row to go to once the rows have arrived
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "reload", "Refresh"),
        # priority: handled before the next key is routed, so `/bakery` typed fast all lands
        Binding("slash", "filter", "Filter", priority=True),
    ]

    def table_area(self) -> ComposeResult:
        yield FilterBar(self.FILTER_HINT, id="filter")
        yield Static("", id="caption", classes="caption")
        yield RecordTable(self.COLUMNS, empty_text=self.EMPTY, id="table")

    def body(self) -> ComposeResult:
        yield from self.table_area()

    @property
    def table(self) -> RecordTable:
        return self.query_one("#table", RecordTable)

    def focus_main(self) -> None:
        self.table.focus()

    def on_mount(self) -> None:
        table = self.table
        widths = self.ctx.remembered("widths", self.MODE)
        if isinstance(widths, dict):
            table.apply_widths(widths)
        sort = self.ctx.remembered("sort", self.MODE)
        if isinstance(sort, list) and len(sort) == 2:
            table.sort_by(str(sort[0]) if sort[0] else None, reverse=bool(sort[1]))
        query = self.ctx.remembered("filters", self.MODE, "")
        if isinstance(query, str) and query:
            self.query_one(FilterBar).value = query
            self.apply_filter(query)
        table.focus()

    def _failed(self, exc: BaseException, failed: Callable[[Fault], None] | None) -> None:
        super()._failed(exc, failed)
        if self.table.total_count == 0:
            self.update_caption("nothing loaded · r tries again")

    def apply_filter(self, query: str) -> None:
        """Filter the table by `query`; screens with structured filters override this."""
        self.table.set_filter(query)
        self.update_caption()

    def update_caption(self, extra: str = "") -> None:
        table = self.table
        shown, total = table.visible_count, table.total_count
        text = f"{shown} of {total}" if shown != total else f"{total}"
        if extra:  # the state of things first: the keys' reminder is cut at narrow widths
            text += f" · {extra}"
        key, reverse = table.sort_state
        if key:
            text += f" · sorted by {key}{' ↓' if reverse else ''}"
        text += " · / filter · ←→ column · s sort · < > width"
        if self.OPEN_HINT:
            text += f" · {self.OPEN_HINT}"
        self.query_one("#caption", Static).update(text)

    def on_input_changed(self, event: Input.Changed) -> None:
        if isinstance(event.input, FilterBar):
            self.apply_filter(event.value)
            self.ctx.remember("filters", self.MODE, event.value)

    def on_record_table_columns_resized(self, event: RecordTable.ColumnsResized) -> None:
        self.ctx.remember("widths", self.MODE, event.widths)

    def on_record_table_highlighted(self, event: RecordTable.Highlighted) -> None:
        key, reverse = self.table.sort_state
        if key is not None:
            self.ctx.remember("sort", self.MODE, [key, reverse])
        pending = self._pending_key
        if pending is not None and event.table is self.table and self.table.total_count:
            self._pending_key = None  # the rows asked for before they had arrived
            self.focus_key(pending)

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        if bar.has_focus:
            bar.insert_text_at_cursor("/")  # a `/` typed inside the filter is just a character
            return
        # at once, not via call_later: keys typed right after `/` must land in the filter
        self.set_focus(bar)

    def focus_key(self, key: str) -> None:
        """Put the cursor on the row `key` (from the dashboard), clearing a hiding filter;
        on a screen still loading, as soon as its rows arrive."""
        table = self.table
        if table.total_count == 0:
            self._pending_key = key
            return
        if not table.move_to_key(key):
            self.query_one(FilterBar).value = ""
            self.apply_filter("")
            table.move_to_key(key)
        table.focus()


def ask_from_thread(app: Any, screen: ModalScreen[Any]) -> Any:
    """Push a modal from a worker thread and wait for its answer; Esc (None) stops the work."""
    answered = threading.Event()
    box: dict[str, Any] = {}

    def receive(value: Any) -> None:
        box["value"] = value
        answered.set()

    app.call_from_thread(app.push_screen, screen, receive)
    worker = get_current_worker()
    while not answered.wait(0.1):
        if worker.is_cancelled:
            raise Interrupted("cancelled")
    value = box.get("value")
    if value is None:
        raise Interrupted("cancelled at the prompt", hint="nothing was signed or sent")
    return value


__all__ = ["WIDE", "SochiScreen", "TableScreen", "ask_from_thread"]
