"""The row of screens and their keys under the header, the current one highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class NavBar(Static):
    def __init__(self, current: str) -> None:
        super().__init__("")
        self.current = current

    def on_mount(self) -> None:
        self.update(self.render_places(self.size.width or 80))

    def on_resize(self) -> None:
        self.update(self.render_places(self.size.width))

    def render_places(self, width: int) -> Text:
        from sochi_cli.tui.app import PLACES

        long_form = sum(len(p.title) + len(p.key) + 2 for p in PLACES) <= width
        text = Text(no_wrap=True, overflow="ellipsis")
        for place in PLACES:
            name = place.title if long_form else place.short
            style = "bold reverse" if place.mode == self.current else ""
            text.append(f"{place.key}", style="bold")
            text.append(f" {name} ", style=style)
            text.append(" ")
        return text


__all__ = ["NavBar"]
