"""The TUI's charts (textual-plotext): filings per day of the rows the submissions filter
shows, and the balance over this month from the charges ledger — drawn in characters, so
they read the same with NO_COLOR, and out of the way at 80×24 until asked for (`c`)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sochi_cli.tui.app import SochiApp
from tests.batch.operator import Operator, write_reports
from tests.tui.conftest import cli, wait_for


def drawn(chart: object) -> str:
    """What the chart shows, as plain text (its marks are characters)."""
    return str(chart.render())  # type: ignore[attr-defined]


async def test_filings_per_day_follow_the_filter_and_the_balance_follows_the_ledger(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.tui.widgets.balance_chart import BalanceChart
    from sochi_cli.tui.widgets.filings_chart import FilingsChart

    write_reports(tmp_path, count=3, period="2025-07")
    assert (await cli("submit", str(tmp_path), "--wait-timeout", "60")).code == 0
    monkeypatch.setenv("NO_COLOR", "1")
    app = SochiApp(first_screen="submissions")
    async with app.run_test(size=(80, 24)) as pilot:
        assert app.no_color  # monochrome: what follows is read in characters alone
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count >= 3, what="submissions")
        await pilot.press("c")
        chart = await wait_for(pilot, lambda: app.screen.query(FilingsChart).first())
        await wait_for(pilot, lambda: sum(chart.counts) > 0, what="the chart of every row")
        await pilot.press("slash", *"period:2025-07", "enter")
        await wait_for(pilot, lambda: chart.counts == [3], what="the chosen period's filings")
        day = date.fromisoformat(table.current_record.cells[6][:10])
        assert chart.days == [day]
        text = drawn(chart)
        assert "Filings per day · period:2025-07" in text and "█" in text
        assert day.strftime("%d.%m") in text
        await pilot.press("1")  # 80×24: the dashboard keeps its list until `c`
        await wait_for(pilot, lambda: app.current_mode == "home")
        overview = await wait_for(
            pilot,
            lambda: app.snapshot.overview and not app.snapshot.overview.obligations_pending
            and app.snapshot.overview,
            what="the dashboard",
        )  # fmt: skip
        assert not app.screen.query_one("#home-chart").display
        await pilot.press("c")
        balance = await wait_for(pilot, lambda: app.screen.query(BalanceChart).first())
        month = await wait_for(pilot, lambda: balance.month, what="this month's ledger")
        assert month.closing[-1] == overview.balance.balance.balance  # ends at the balance
        assert month.days()[-1] == month.today and month.movements >= 3  # the fees just paid
        assert not app.screen.query_one("#attention").display  # the chart took its place
        text = drawn(balance)
        assert f"Balance this month, {month.currency}" in text and "balance" in text
        assert month.first_day.strftime("%d.%m") in text
        await pilot.press("c")  # and gives it back
        await wait_for(pilot, lambda: app.screen.query_one("#attention").display)
