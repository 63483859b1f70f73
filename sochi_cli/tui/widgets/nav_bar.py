"""The row of screens and their keys under the header, the current one highlighted: full
titles when they fit, short names at 80 columns, and below that keys only with the current
screen's name, so every screen's key stays on the screen."""

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

        def entries(names: list[str], gap: str) -> list[tuple[str, str, str]]:
            return [(p.mode, f"{p.key} {name}", gap) for p, name in zip(PLACES, names, strict=True)]

        tiers = [
            entries([p.title for p in PLACES], "  "),
            entries([p.short for p in PLACES], "  "),
            entries([p.short for p in PLACES], " "),
            [(p.mode, f"{p.key} {p.short}" if p.mode == self.current else p.key, " ")
             for p in PLACES],
        ]  # fmt: skip
        chosen = tiers[-1]
        for tier in tiers:
            if sum(len(label) + len(gap) for _mode, label, gap in tier) - len(tier[-1][2]) <= width:
                chosen = tier
                break
        text = Text(no_wrap=True, overflow="ellipsis")
        for n, (mode, label, gap) in enumerate(chosen):
            key, _, name = label.partition(" ")
            current = mode == self.current
            text.append(key, style="bold reverse" if current else "bold")
            if name:
                text.append(f" {name}", style="bold reverse" if current else "")
            if n < len(chosen) - 1:
                text.append(gap)
        return text


__all__ = ["NavBar"]
