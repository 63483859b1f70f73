"""`?`: the keys of the screen you are on, then the keys that work everywhere."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static


def _keys_table() -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("key", style="bold", no_wrap=True, min_width=8)
    table.add_column("what", ratio=1)
    return table


def help_table(screen: Screen[Any], key_display: Any) -> Group:
    """The keys of `screen` (its own, then its widgets'), then the keys that work everywhere."""
    from sochi_cli.tui.app import PLACES
    from sochi_cli.tui.commands import key_groups

    parts: list[Any] = [Text(getattr(screen, "TITLE", "") or "This screen", style="bold underline")]
    summary = getattr(screen, "SUMMARY", "")
    if summary:
        parts.append(Text(summary, style="italic"))
    table = _keys_table()
    section: type = type(screen)
    for node, keys, binding in key_groups(screen, key_display):
        if type(node) is not section:
            section = type(node)
            parts.append(table)
            heading = getattr(node, "KEYS_TITLE", "") or type(node).__name__
            parts.append(Text(f"\n{heading}", style="bold underline"))
            table = _keys_table()
        table.add_row(keys, binding.description)
    parts.append(table)
    parts.append(Text("\nEverywhere", style="bold underline"))
    table = _keys_table()
    for place in PLACES:
        table.add_row(place.key, f"{place.title} — {place.summary}")
    for key, what in (
        ("ctrl+p", "command palette: every screen and action by name"),
        ("?", "this help (again to close)"),
        ("L", "log in (key file, token or E-Cloud)"),
        ("ctrl+c", "stop what is running cleanly: a batch (the journal keeps what was done), "
                   "the doctor's checks"),
        ("q", "quit (asks first while a batch runs)"),
    ):  # fmt: skip
        table.add_row(key, what)
    parts.append(table)
    return Group(*parts)


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
