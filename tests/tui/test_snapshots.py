"""Snapshots of the main screens at 80×24 and 160×48 against a sandbox whose clock stands still
(`frozen_operator`): same data, same countdowns, same pixels on every run. The SVGs live in
`tests/tui/__snapshots__/` and are reviewed like code (`pytest --snapshot-update` rewrites them).

What cannot be the same twice is masked before the picture is taken, keeping its width: the
operator's random ids (`sub_…`, `rcp_…`, `inb_…`), the serials and digests of keys and
signatures made with fresh randomness, and the temporary folder the batch was filed from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
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
    home = frozen_operator["home"]  # the journal, archive and caches of the batch filed there
    for name, where in (("CONFIG", "config"), ("DATA", "data"), ("CACHE", "cache")):
        monkeypatch.setenv(f"SOCHI_{name}_DIR", str(home / where))
    MASKS[:] = [*VOLATILE, (re.escape(str(home)), lambda _n, text: "~" + " " * (len(text) - 1))]


# random ids, serials, digests: the n-th one seen becomes n, as wide as it was
VOLATILE: list[tuple[str, Callable[[int, str], str]]] = [
    (r"\b(sub|rcp|inb|ntc|chg|rpl)_[0-9a-f]{20}\b", lambda n, t: f"{t[:4]}{n:020d}"),
    (r"\b[0-9a-f]{64}\b", lambda n, t: f"{n:064d}"),
    (r"\b[0-9a-f]{32,40}\b", lambda n, t: f"{n:040d}"),  # a serial may lose a leading 0
]
# the operator signs receipts with ECDSA: a fresh signature (and its length) every time
# (and the certificate they carry, made afresh with each sandbox, may be a byte shorter)
ARCHIVE = [(r"\b[0-9a-f]{16}\b", lambda n, t: f"{n:016d}"), (r"^2\d\d\d$", lambda n, t: "2…")]
# this machine's clock against the frozen operator's, and its free disk space
DOCTOR = [
    (r"\d+ s (ahead|behind)", lambda n, t: "N s " + t.split()[-1]),
    (r"skew seconds: -?[\d.]+", lambda n, t: "skew seconds: N"),
    (r"local time: [^\n]*", lambda n, t: "local time: (this machine's)"),
    (r"[\d.]+ GiB free", lambda n, t: "N GiB free"),
    (r"archive holds [\d.]+ K", lambda n, t: "archive holds N K"),
    (r"in \d+ ms", lambda n, t: "in N ms"),
    (r"127\.0\.0\.1:\d+", lambda n, t: "127.0.0.1:PORT"),
    (r"head [0-9a-f]{6,}", lambda n, t: "head " + "0" * (len(t) - 5)),  # the actor's serial
]
MASKS = list(VOLATILE)  # and the folder of this run's batch (frozen_env)


def masked(text: str, seen: dict[Any, str], extra: list[Any] | None = None) -> str:
    """`text` with each volatile value replaced; `seen` numbers them per kind, first seen 1."""
    for kind, (pattern, stand_in) in enumerate([*MASKS, *(extra or [])]):

        def one(match: re.Match[str], kind: int = kind, stand_in: Any = stand_in) -> str:
            if (kind, match[0]) not in seen:
                number = 1 + sum(1 for k in seen if k[0] == kind)
                seen[(kind, match[0])] = stand_in(number, match[0])
            return seen[(kind, match[0])]

        text = re.sub(pattern, one, text)
    return text


async def mask(pilot: Any, extra: list[Any] | None = None) -> None:
    """Every table's cells and every plain text of the screen, masked (the texts once what
    the tables' new rows set off — a detail pane shown again — has run)."""
    from rich.text import Text
    from textual.widgets import Static

    from sochi_cli.tui.widgets.record_table import Record, RecordTable

    app = pilot.app
    seen: dict[Any, str] = {}
    for table in app.screen.query(RecordTable):  # keys stay: they are not shown, and panes
        table.set_records(  # find what to show by them
            [Record(r.key, tuple(masked(c, seen, extra) for c in r.cells), r.tag)
             for r in table.records]
        )  # fmt: skip
    await pilot.pause()
    for static in app.screen.query(Static):
        content = static.content
        plain = content.plain if isinstance(content, Text) else str(content)
        if masked(plain, dict(seen), extra) != plain:
            if isinstance(content, Text):
                copy = content.copy()
                copy.plain = masked(plain, seen, extra)  # same length: the styles stay in place
                static.update(copy)
            else:
                static.update(masked(plain, seen, extra))


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

    def test_with_rows_and_the_filings_chart(
        self, snap_compare: Any, size: tuple[int, int]
    ) -> None:
        async def ready(pilot: Any) -> None:
            from sochi_cli.tui.widgets.filings_chart import FilingsChart

            app = pilot.app
            await loaded(pilot)
            await wait_for(pilot, lambda: app.screen.table.total_count >= 20, what="the rows")
            if size == SIZES["standard"]:  # the one chart snapshot; 80×24 keeps the table
                await pilot.press("c")
                chart = await wait_for(pilot, lambda: app.screen.query(FilingsChart).first())
                await wait_for(pilot, lambda: chart.days, what="the chart's days")
            await mask(pilot)

        assert snap_compare(frozen_app("submissions"), terminal_size=size, run_before=ready)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestLocalRecords:
    """The journal's batches, the audit log and the archive of the batch filed at FIXED_NOW."""

    def test_batches_and_the_items_of_the_newest(
        self, snap_compare: Any, size: tuple[int, int]
    ) -> None:
        async def ready(pilot: Any) -> None:
            screen = pilot.app.screen
            await loaded(pilot)
            items = screen.query_one("#items")
            await wait_for(pilot, lambda: items.total_count == 3, what="the batch's items")
            await mask(pilot)

        assert snap_compare(frozen_app("batches"), terminal_size=size, run_before=ready)

    def test_audit_log(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            table = pilot.app.screen.table
            await wait_for(pilot, lambda: table.total_count >= 5, what="the audit records")
            await mask(pilot)

        assert snap_compare(frozen_app("audit"), terminal_size=size, run_before=ready)

    def test_archive(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            await loaded(pilot)
            table = pilot.app.screen.table
            await wait_for(pilot, lambda: table.total_count >= 6, what="the archived objects")
            table.sort_by("file")  # the order objects were stored in may vary
            await mask(pilot, ARCHIVE)

        assert snap_compare(frozen_app("archive"), terminal_size=size, run_before=ready)


@pytest.mark.usefixtures("frozen_env")
@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
class TestOperatorScreens:
    def test_inbox_with_a_notice_read(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            app = pilot.app
            await loaded(pilot)
            await wait_for(pilot, lambda: app.screen.table.total_count >= 1, what="the inbox")
            await pilot.press("enter")
            item = app.screen.query_one("#inbox-item")
            await wait_for(pilot, lambda: "agency signature" in str(item.render()), what="it")
            await mask(pilot)

        assert snap_compare(frozen_app("inbox"), terminal_size=size, run_before=ready)

    def test_certificates(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            app = pilot.app
            await loaded(pilot)
            await wait_for(pilot, lambda: app.screen.overview, what="the certificates")
            await mask(pilot)

        assert snap_compare(frozen_app("certificates"), terminal_size=size, run_before=ready)

    def test_doctor(self, snap_compare: Any, size: tuple[int, int]) -> None:
        async def ready(pilot: Any) -> None:
            app = pilot.app
            await loaded(pilot)
            await wait_for(pilot, lambda: app.screen.report, timeout=60, what="the checks")
            await mask(pilot, DOCTOR)

        assert snap_compare(frozen_app("doctor"), terminal_size=size, run_before=ready)
