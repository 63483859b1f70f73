"""Snapshots of the main screens at 80×24 and 160×48 against a sandbox whose clock stands still
(`frozen_operator`): same data, same countdowns, same pixels on every run. The SVGs live in
`tests/tui/__snapshots__/` and are reviewed like code (`pytest --snapshot-update` rewrites them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sochi_cli.tui.app import SochiApp
from tests.batch.operator import write_reports
from tests.tui.conftest import FIXED_NOW, wait_for

SIZES = {"compact": (80, 24), "standard": (160, 48)}


@pytest.fixture
def frozen_env(frozen_operator: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_API_URL", frozen_operator["api"])
    monkeypatch.setenv("SOCHI_ACCESS_TOKEN", frozen_operator["token"])


def frozen_app(screen: str) -> SochiApp:
    return SochiApp(live=False, first_screen=screen)


async def loaded(pilot: Any) -> None:
    app = pilot.app
    await wait_for(
        pilot,
        lambda: app.snapshot.overview and not app.snapshot.overview.obligations_pending,
        what="the account and what is due",
    )
    await pilot.pause(0.2)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestHome:
    def test_dashboard(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            await wait_for(pilot, lambda: pilot.app.screen.query_one("AttentionList").option_count)

        assert snap_compare(frozen_app("home"), terminal_size=size, run_before=ready)

    def test_help_screen(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            await pilot.press("question_mark")

        assert snap_compare(frozen_app("home"), terminal_size=size, run_before=ready)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestClients:
    def test_list(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            await wait_for(pilot, lambda: pilot.app.screen.table.total_count >= 10)

        assert snap_compare(frozen_app("clients"), terminal_size=size, run_before=ready)

    def test_filtered(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            await wait_for(pilot, lambda: pilot.app.screen.table.total_count >= 10)
            await pilot.press("slash", *"llc", "enter")

        assert snap_compare(frozen_app("clients"), terminal_size=size, run_before=ready)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestFileReports:
    def test_picker(self, snap_compare: Any, size: tuple[int, int], tmp_path: Path) -> None:
        folder = tmp_path / "reports"
        write_reports(folder, count=3, period="2026-10", today=FIXED_NOW.date())

        async def ready(pilot: Any) -> None:
            from sochi_cli.tui.widgets.report_picker import ReportPicker

            await loaded(pilot)
            picker = pilot.app.screen.query_one(ReportPicker)
            picker.path = folder
            await wait_for(pilot, lambda: picker.cursor_node and picker.cursor_node.children)
            await pilot.press("down", "space", "down", "space")

        assert snap_compare(frozen_app("file"), terminal_size=size, run_before=ready)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestSubmissions:
    def test_empty_with_a_structured_filter(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            await pilot.press("slash", *"state:rejected", "enter")

        assert snap_compare(frozen_app("submissions"), terminal_size=size, run_before=ready)
