"""Faults in `sochi tui`: no network, maintenance, session gone, 5xx/429, no clients, a journal
locked by a CLI run, a bug — the app stays up and says what to do, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from sochi_cli.tui.app import SochiApp
from tests.batch.operator import Operator, access_token, friday_evening, write_reports
from tests.tui.conftest import cli, screen_text, wait_for
from tests.tui.test_file_reports import pick_and_check, sign_with_profile_key, step


def fault_of(app: SochiApp) -> object:
    return app.screen.query_one("FaultPanel").fault


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_no_network_says_so_and_the_app_stays_up(
    op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_ACCESS_TOKEN", access_token())  # a session, but no route to it
    monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{closed_port()}/api/v1")
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        fault = await wait_for(pilot, lambda: fault_of(app), what="the fault panel")
        assert fault.title == "No connection" and "connection refused" in fault.message
        assert "r retries" in (fault.hint or "")
        await wait_for(pilot, lambda: app.snapshot.operator_fault is not None)
        header = app.screen.query_one("StatusHeader")  # repainted by the snapshot or its clock
        await wait_for(pilot, lambda: "operator unreachable" in str(header.content))
        await pilot.press("1")
        await wait_for(pilot, lambda: app.current_mode == "home")
        assert app.is_running


async def test_maintenance_shows_a_countdown_and_filing_waits_until_stopped(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=2, period="2024-04")
    app = SochiApp(first_screen="file")
    async with app.run_test(size=(120, 40)) as pilot:
        await pick_and_check(pilot, app, tmp_path)  # checked just before the window
        op.control("PUT", "clock", {"now": friday_evening(op.now).isoformat(), "frozen": False})
        app.refresh_snapshot()
        header = app.screen.query_one("StatusHeader")
        await wait_for(pilot, lambda: "MAINTENANCE" in str(header.content), what="the header")
        banner = app.screen.query_one("MaintenanceBanner")
        assert "in maintenance until" in str(banner.content) and "left" in str(banner.content)
        await pilot.press("f")
        await wait_for(
            pilot, lambda: "operator maintenance" in screen_text(app), what="the waiting batch"
        )
        await pilot.press("ctrl+c")
        fault = await wait_for(pilot, lambda: fault_of(app), what="the stop")
        assert "nothing was sent" in fault.message
        assert app.busy is None and app.is_running


async def test_an_ended_session_offers_the_login_inside_the_tui(op: Operator) -> None:
    assert (await cli("logout")).code == 0
    app = SochiApp(first_screen="inbox")
    async with app.run_test(size=(120, 40)) as pilot:
        fault = await wait_for(pilot, lambda: fault_of(app), what="not logged in")
        assert fault.action == "login" and "press L" in (fault.hint or "")
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.snapshot.overview, what="logged in")
        await wait_for(pilot, lambda: app.screen.table.total_count > 0, what="the inbox")
        assert fault_of(app) is None


async def test_operator_errors_and_rate_limits_are_reported_and_a_retry_recovers(
    op: Operator,
) -> None:
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen.table.total_count > 0)
        op.control("PUT", "chaos", {"error_rate": 1.0})
        await pilot.press("r")
        fault = await wait_for(pilot, lambda: fault_of(app), what="the 5xx fault")
        assert fault.title == "Operator busy" and fault.action == "retry"
        op.control("PUT", "limits", {"requests_per_second": 0.01, "burst": 1})
        op.control("PUT", "chaos", {"error_rate": 0})
        await pilot.press("r")
        await pilot.press("r")
        fault = await wait_for(
            pilot, lambda: fault_of(app) and "rate" in fault_of(app).code and fault_of(app)
        )
        assert fault.title == "Operator busy"
        op.control("PUT", "limits", {"requests_per_second": 100000, "burst": 100000})
        await pilot.press("r")
        await wait_for(pilot, lambda: fault_of(app) is None and app.screen.table.total_count)
        assert app.is_running


async def test_an_account_without_clients_is_told_what_to_do(
    op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_KEY_FILE", op.facts["self_filer"]["pkcs12"])
    assert (await cli("login")).code == 0
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.snapshot.overview)
        await pilot.press("r")
        fault = await wait_for(pilot, lambda: fault_of(app), what="no clients")
        assert fault.code == "no_clients" and "only for itself" in fault.message


async def test_a_journal_locked_by_a_cli_run_is_reported_not_raised(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path / "reports", count=2, period="2024-05")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from sochi_cli.store.journal import Journal\n"
            "j = Journal.for_profile('sandbox')\n"
            "with j.writer_lock():\n"
            "    print('locked', flush=True)\n"
            "    sys.stdin.readline()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        app = SochiApp(first_screen="file")
        async with app.run_test(size=(120, 40)) as pilot:
            await pick_and_check(pilot, app, tmp_path / "reports")
            await pilot.press("f")
            fault = await wait_for(pilot, lambda: fault_of(app), what="journal busy")
            assert fault.code == "journal_busy" and str(holder.pid) in fault.message
            assert step(app) == "file-check" and app.busy is None
            await pilot.press("5")
            await wait_for(
                pilot, lambda: f"pid {holder.pid}" in screen_text(app), what="the holder"
            )
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    # once the CLI run is gone, the same reports file normally from the TUI
    app = SochiApp(first_screen="file")
    async with app.run_test(size=(120, 40)) as pilot:
        await pick_and_check(pilot, app, tmp_path / "reports")
        await pilot.press("f")
        await sign_with_profile_key(pilot, app)
        await wait_for(pilot, lambda: step(app) == "file-done", timeout=60)


async def test_a_bug_becomes_one_line_not_a_traceback(
    op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.services import client_view

    def broken(config: object) -> list[object]:
        raise KeyError("surprise")

    monkeypatch.setattr(client_view, "client_list", broken)
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        fault = await wait_for(pilot, lambda: fault_of(app), what="the internal error")
        assert fault.title == "Internal error" and "KeyError" in fault.message
        assert "Traceback" not in screen_text(app)
        assert app.is_running


async def test_a_bug_in_a_key_handler_closes_with_one_line_and_the_traceback_only_in_the_log(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    """Textual would print its traceback over the terminal; sochi logs it and says one line
    (`sochi` prints it as `error: …` and exits 1 — the tmux smoke test sees that)."""
    from sochi_cli.logs import setup_logging
    from sochi_cli.tui.app import internal_error
    from sochi_cli.tui.screens.home import HomeScreen

    log = tmp_path / "sochi.log"
    setup_logging(log_file=log)  # as `SOCHI_LOG_FILE=… sochi tui` starts
    request.addfinalizer(setup_logging)  # the next tests log as before

    def broken(self: HomeScreen) -> None:
        raise KeyError("surprise")

    monkeypatch.setattr(HomeScreen, "action_reload", broken)
    app = SochiApp(first_screen="home")
    with pytest.raises(KeyError):  # Pilot re-raises what closed the app; `sochi tui` does not
        async with app.run_test(size=(80, 24)) as pilot:
            await wait_for(pilot, lambda: app.snapshot.overview, what="the dashboard")
            await pilot.press("r")
            await wait_for(pilot, lambda: app.crashed is not None, what="the bug")
    assert app._exit_renderables == []  # nothing of Textual's is printed over the terminal
    line = internal_error(app.crashed).one_line()
    assert line.startswith("sochi tui stopped: internal error: KeyError: 'surprise'"), line
    assert "Traceback" not in line and "--verbose" in line
    logged = log.read_text()
    assert "Traceback" in logged and "surprise" in logged and "in broken" in logged


async def test_at_80_columns_every_header_keeps_the_operator_state_and_the_unread_inbox(
    op: Operator,
) -> None:
    op.control(
        "POST", "inbox",
        {"inn": op.rep["inn"], "agency": "STS", "kind": "notice", "subject": "Header test",
         "body": "an unread notice"},
    )  # fmt: skip
    soon = friday_evening(op.now) - timedelta(minutes=120)  # Friday 16:00 Bishkek
    op.control("PUT", "clock", {"now": soon.isoformat(), "frozen": False})
    app = SochiApp(first_screen="home")
    async with app.run_test(size=(80, 24)) as pilot:
        overview = await wait_for(pilot, lambda: app.snapshot.overview, what="the account")
        assert overview.unread_inbox >= 1
        for key in ("1", "3", "6", "0"):
            await pilot.press(key)
            header = app.screen.query_one("StatusHeader")
            text = await wait_for(
                pilot,
                lambda h=header: (t := str(h.render())) and "maintenance in 1h" in t and t,
                what=f"the header of screen {key}",
            )
            assert f"✉ {overview.unread_inbox}" in text and "up" in text, text
            assert len(text) <= 80, text  # nothing cut off the right-hand side
        op.control("PUT", "clock", {"now": friday_evening(op.now).isoformat(), "frozen": False})
        app.refresh_snapshot()
        await wait_for(
            pilot,
            lambda: "MAINTENANCE ends in 2h" in str(app.screen.query_one("StatusHeader").render()),
            what="the window in the header",
        )


async def test_without_a_token_driver_the_tui_says_how_to_give_it(op: Operator) -> None:
    app = SochiApp(first_screen="certificates")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")  # the token's keys: no PKCS#11 library on this machine
        fault = await wait_for(pilot, lambda: fault_of(app), what="the missing driver")
        assert fault.code == "pkcs11_library_missing"
        assert "--pkcs11-lib" not in fault.one_line()
        assert "token driver field" in fault.one_line() and "config set pkcs11_lib" in (
            fault.hint or ""
        )
        await pilot.press("L")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        app.screen.query_one("#kind").focus()
        await pilot.press("down", "enter")  # the token
        tokens = app.screen.query_one("#tokens")
        await wait_for(pilot, lambda: "type its path above" in str(tokens.render()))
        app.screen.query_one("#pkcs11-lib").focus()
        await pilot.press(*"/no/driver.so")
        await wait_for(pilot, lambda: "no file at /no/driver.so" in str(tokens.render()))
