"""Filings per day: bars of how many submissions were received each day (Bishkek) among the
rows the submissions filter shows — the chosen client, form, period or state."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from sochi_cli.tui.charting import count_ticks, day_ticks

MAX_DAYS = 62  # a longer span shows its last two months (the caption says so)


def per_day(received: list[str]) -> tuple[list[date], list[int], int]:
    """(days, filings on each, filings before the window) from `YYYY-MM-DD…` stamps, every day
    from the first to the last one present, at most the last MAX_DAYS of them."""
    counts = Counter(date.fromisoformat(r[:10]) for r in received if r[:4].isdigit())
    if not counts:
        return [], [], 0
    first, last = min(counts), max(counts)
    first = max(first, last - timedelta(days=MAX_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    earlier = sum(n for day, n in counts.items() if day < first)
    return days, [counts.get(d, 0) for d in days], earlier


class FilingsChart(PlotextPlot):
    """The figure is laid out at each render, for the size the widget has then."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.days: list[date] = []
        self.counts: list[int] = []
        self.title_text = ""

    def show(self, days: list[date], counts: list[int], title: str) -> None:
        self.days, self.counts, self.title_text = days, counts, title
        self.refresh()

    def render(self) -> RenderResult:
        self.draw()
        return super().render()

    def draw(self) -> None:
        if not self.title_text:
            return
        plt = self.plt
        plt.clear_figure()
        plt.title(self.title_text)
        if self.days:
            plt.bar(list(range(1, len(self.days) + 1)), self.counts, width=0.8)
            positions, labels = day_ticks(self.days, self.size.width)
            plt.xticks(positions, labels)
            values, names, top = count_ticks(max(self.counts))
            plt.ylim(0, top)
            plt.yticks(values, names)


__all__ = ["FilingsChart", "per_day"]
