"""The balance over this month as a line (end of each day, from the charges ledger) and, from
today to the month's end, the projection the dashboard's balance line speaks of."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from sochi_cli.tui.charting import day_ticks, whole_ticks

if TYPE_CHECKING:
    from sochi_cli.services.balance_history import BalanceMonth


class BalanceChart(PlotextPlot):
    """The figure is laid out at each render, for the size the widget has then."""

    month: BalanceMonth | None = None
    projected: int | None = None  # tyiyn at the month's end (E-Cloud debit, fees still due)

    def show(self, month: BalanceMonth, projected: int | None) -> None:
        self.month, self.projected = month, projected
        self.refresh()

    def render(self) -> RenderResult:
        self.draw()
        return super().render()

    def draw(self) -> None:
        month = self.month
        if month is None:
            return
        plt = self.plt
        plt.clear_figure()
        days = month.days()
        som = [c / 100 for c in month.closing]
        plt.title(f"Balance this month, {month.currency}")
        plt.plot(list(range(1, len(som) + 1)), som, marker="braille", label="balance")
        every_day = [*days]
        if self.projected is not None and month.last_day > month.today:
            end = (month.last_day - month.first_day).days + 1
            plt.plot([len(som), end], [som[-1], self.projected / 100], marker="dot",
                     label="projected")  # fmt: skip
            every_day = [month.first_day.replace(day=n) for n in range(1, end + 1)]
            som = [*som, self.projected / 100]
        positions, labels = day_ticks(every_day, self.size.width)
        plt.xticks(positions, labels)
        low, high = min(som), max(som)
        margin = max((high - low) * 0.1, 1.0)
        plt.ylim(low - margin, high + margin)
        values, names = whole_ticks(low - margin, high + margin)
        plt.yticks(values, names)


__all__ = ["BalanceChart"]
