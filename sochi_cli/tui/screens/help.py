"""`?`: the keys of the screen you are on, then the keys that work everywhere."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def help_table(screen: Screen[Any], key_display: Any) -> Table:
    from sochi_cli.tui.app import PLACES
    from sochi_cli.tui.commands import screen_bindings

    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("what")
    title = getattr(screen, "TITLE", "") or "This screen"
    table.add_row(Text(title, style="bold underline"), getattr(screen, "SUMMARY", ""))
    seen: set[tuple[str, str]] = set()
    for binding in screen_bindings(screen):
        entry = (key_display(binding), binding.description)
        if entry in seen:
            continue
        seen.add(entry)
        table.add_row(*entry)
    table.add_row("", "")
    table.add_row(Text("Everywhere", style="bold underline"), "")
    for place in PLACES:
        table.add_row(place.key, f"{place.title} — {place.summary}")
    for key, what in (
        ("ctrl+p", "command palette: every action by name"),
        ("?", "this help (again to close)"),
        ("/", "filter the table (on screens with one)"),
        ("L", "log in (key file, token or E-Cloud)"),
        ("r", "refresh this screen"),
        ("ctrl+c", "stop a running batch cleanly (the journal keeps what was done)"),
        ("q", "quit (asks first while a batch runs)"),
    ):
        table.add_row(key, what)
    return table


class HelpScreen(ModalScreen[None]):
    """Keys of the screen beneath, then the global ones."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss(None)", "Close"),
    ]

    def __init__(self, underneath: Screen[Any]) -> None:
        super().__init__()
        self.underneath = underneath

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Static(help_table(self.underneath, self.app.get_key_display), id="help-keys")


__all__ = ["HelpScreen", "help_table"]
