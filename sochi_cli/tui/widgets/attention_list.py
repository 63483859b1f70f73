"""The dashboard's list of things that need the user, most urgent first; Enter goes there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

if TYPE_CHECKING:
    from sochi_cli.services.overview import Attention

_MARK = {"error": ("●", "bold red"), "warning": ("●", "bold yellow"), "info": ("●", "blue")}


class AttentionList(OptionList):
    class Chosen(Message):
        def __init__(self, item: Attention) -> None:
            super().__init__()
            self.item = item

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.items: list[Attention] = []

    def show(self, items: list[Attention]) -> None:
        self.items = list(items)
        self.clear_options()
        for n, item in enumerate(self.items):
            mark, style = _MARK.get(item.severity, ("●", ""))
            text = Text()
            text.append(f"{mark} ", style=style)
            text.append(item.title, style="bold")
            text.append(f"  {item.detail}")
            self.add_option(Option(text, id=str(n)))
        if self.items:
            self.highlighted = 0

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if 0 <= index < len(self.items):
            self.post_message(self.Chosen(self.items[index]))


__all__ = ["AttentionList"]
