"""The whole file-reports flow of `sochi tui` against the real sandbox: pick → check → cost →
sign → progress → summary; exactly once with the CLI, Ctrl+C, and resume after a crash."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from sochi_cli.tui.app import SochiApp
from sochi_cli.tui.widgets.report_picker import ReportPicker
from tests.batch.operator import Operator, access_token, write_reports
from tests.reliability.checks import assert_filed_exactly_once
from tests.tui.conftest import cli, screen_text, wait_for


def step(app: Any) -> str:
    return str(app.screen.query_one("#file-steps").current)


async def pick_and_check(pilot: Any, app: Any, folder: Path) -> Any:
    """Mark `folder` in the picker, press c, wait for the preview."""
    picker = app.screen.query_one(ReportPicker)
    picker.path = folder
    await wait_for(pilot, lambda: picker.cursor_node is not None and picker.cursor_node.data)
    picker.focus()
    await pilot.press("space", "c")
    return await wait_for(pilot, lambda: app.screen.preview, what="the preview")


async def sign_with_profile_key(pilot: Any, app: Any) -> None:
    """The signer dialog comes after plan, validate and preflight: on a loaded machine, late."""
    await wait_for(
        pilot, lambda: type(app.screen).__name__ == "SignerScreen", timeout=60, what="signer"
    )
    await pilot.press("enter")  # the profile's key file; the passphrase from the environment


async def test_file_reports_checks_prices_signs_files_and_the_cli_agrees(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=5, period="2024-01", invalid=1)
    app = SochiApp(first_screen="batches")
    async with app.run_test(size=(80, 24)) as pilot:  # a representative's 80×24 terminal
        batches = app.screen.table
        screen = app.screen
        await wait_for(pilot, lambda: screen.listing is not None, what="the batches")
        known = batches.total_count
        await pilot.press("4")
        await wait_for(pilot, lambda: app.current_mode == "file")
        preview = await pick_and_check(pilot, app, tmp_path)
        assert (preview.valid, len(preview.checks)) == (4, 5)
        assert preview.affordable and preview.cost.items == 4
        bad = next(c for c in preview.checks if not c.ok)
        app.screen.query_one("#checks").move_to_key(bad.file)
        issue = bad.issues[0]
        text = await wait_for(
            pilot, lambda: "▶" in screen_text(app) and screen_text(app), what="its issues"
        )
        # the broken total shown against the report line it names, with its neighbours
        assert f"line {issue.line}" in text and "▶" in text and "[totals]" in text
        assert "can be filed" in text and "cost" in text
        await pilot.press("f")
        await sign_with_profile_key(pilot, app)
        await wait_for(pilot, lambda: step(app) == "file-done", timeout=60, what="the summary")
        summary = screen_text(app)
        assert "partial" in summary and "accepted 4" in summary and "What to fix" in summary
        assert app.busy is None
        await pilot.press("5")  # the batches screen, seen before the filing, shows it now
        await wait_for(pilot, lambda: batches.total_count == known + 1, what="the new batch")
    assert len(op.submissions(access_token(), "2024-01")) == 4
    again = await cli("--json", "submit", str(tmp_path), "--no-wait")
    rerun = json.loads(again.stdout)  # the CLI sees the TUI's batch: it resumes it
    assert (rerun["batch_id"], rerun["resumed"], rerun["sent"]) == (1, True, 0)
    assert rerun["counts"] == {"accepted": 4, "invalid": 1} and rerun["recheck"] == 1
    assert len(op.submissions(access_token(), "2024-01")) == 4  # filed exactly once


async def test_ctrl_c_stops_a_tui_batch_cleanly_and_the_cli_resumes_it(
    op: Operator, tmp_path: Path
) -> None:
    period, count = "2024-02", 40
    write_reports(tmp_path, count=count, period=period)
    app = SochiApp(first_screen="file")
    async with app.run_test(size=(120, 40)) as pilot:
        await pick_and_check(pilot, app, tmp_path)
        await pilot.press("f")
        await wait_for(
            pilot, lambda: type(app.screen).__name__ == "SignerScreen", timeout=60, what="signer"
        )
        op.control("PUT", "chaos", {"latency_ms": 300})  # slow sends: a batch to stop midway
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: op.submissions(access_token(), period),
            timeout=60,
            what="the first sends",
        )
        await pilot.press("ctrl+c")
        progress = app.screen.query_one("#progress-counts")
        # said at once, and kept on screen while what is in flight still reports
        assert any("stopping" in str(n.message) for n in app._notifications)
        while step(app) == "file-run":
            assert "stopping" in str(progress.render()), str(progress.render())
            await pilot.pause(0.05)
        await wait_for(pilot, lambda: step(app) == "file-done", timeout=60, what="a clean stop")
        assert "Stopped by Ctrl+C" in screen_text(app)
        assert app.is_running  # the app stays up
    filed = len(op.submissions(access_token(), period))
    assert 0 < filed < count
    op.control("PUT", "chaos", {"latency_ms": 0})
    resumed = await cli("--json", "batch", "resume", "last", "--no-wait")
    assert resumed.code == 0, resumed.stderr
    assert_filed_exactly_once(op, period, count)


async def test_the_tui_resumes_a_batch_that_a_killed_cli_run_left_behind(
    op: Operator, tmp_path: Path
) -> None:
    period, count = "2024-03", 40
    write_reports(tmp_path, count=count, period=period)
    op.control("PUT", "chaos", {"latency_ms": 40})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sochi_cli", "submit", str(tmp_path), "--no-wait"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(op.submissions(access_token(), period)) < 3:
            await asyncio.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # a crash: no chance to record anything more
        proc.wait(timeout=30)
    assert len(op.submissions(access_token(), period)) < count
    op.control("PUT", "chaos", {"latency_ms": 0})
    app = SochiApp(first_screen="batches")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count >= 1, what="batches")
        assert table.records[0].cells[2] in ("running", "interrupted")
        await pilot.press("R")
        await wait_for(pilot, lambda: app.current_mode == "file")
        await wait_for(
            pilot,
            lambda: step(app) == "file-done" or type(app.screen).__name__ == "SignerScreen",
            timeout=60,
        )
        if type(app.screen).__name__ == "SignerScreen":  # items left unsigned by the crash
            await pilot.press("enter")
        await wait_for(pilot, lambda: step(app) == "file-done", timeout=60, what="the resume")
        assert "Resuming batch" in screen_text(app) or "Batch" in screen_text(app)
    assert_filed_exactly_once(op, period, count)
