"""Every screen of `sochi tui`, driven with Pilot against the real sandbox operator."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sochi_cli.tui.app import PLACES, SochiApp
from tests.batch.operator import Operator, write_reports
from tests.tui.conftest import cli, screen_text, wait_for
from tests.tui.test_keys import assert_keys_are_sound


def loading(app: SochiApp) -> bool:
    """The current screen still has a worker running (its data is on the way)."""
    return any(w.node is app.screen and w.is_running for w in app.workers)


async def test_home_shows_the_account_and_what_needs_attention(op: Operator) -> None:
    app = SochiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(
            pilot,
            lambda: app.snapshot.overview and not app.snapshot.overview.obligations_pending,
            what="the account overview with what is due",
        )
        text = await wait_for(pilot, lambda: "POA expired" in screen_text(app) and screen_text(app))
        assert op.rep["inn"] in text
        assert "Naryn Agro LLC" in text  # the demo client whose POA has expired
        # reports due and overdue per client, from the obligations service
        assert app.snapshot.overview.overdue > 0 and "overdue" in text
        widget = app.screen.query_one("StatusHeader")  # repainted by the snapshot or its clock
        header = await wait_for(
            pilot, lambda: op.rep["inn"] in str(widget.content) and str(widget.content)
        )
        assert "KGS" in header and "up" in header


async def test_every_screen_opens_by_its_key_shows_no_fault_and_its_keys_are_sound(
    op: Operator,
) -> None:
    app = SochiApp()
    async with app.run_test(size=(120, 40)) as pilot:
        screens = []
        for place in PLACES:
            await pilot.press(place.key)
            await wait_for(pilot, lambda p=place: app.current_mode == p.mode, what=place.mode)
            await wait_for(pilot, lambda: not loading(app), timeout=60, what=f"{place.mode} loaded")
            panel = app.screen.query_one("FaultPanel")
            assert panel.fault is None or panel.fault.code == "no_clients", (
                place.mode,
                panel.fault,
            )
            assert place.title == app.screen.TITLE
            screens.append(app.screen)
        await assert_keys_are_sound(pilot, app, screens)


async def test_clients_filter_as_you_type_and_enter_opens_the_client(op: Operator) -> None:
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count >= 40, what="clients")
        await pilot.press("slash", *"bakery")
        await wait_for(pilot, lambda: table.visible_count == 1)
        assert table.current_record.cells[1] == "Bishkek Bakery LLC"
        await pilot.press("escape")  # clears the filter, the cursor stays in it
        await pilot.press(*"expired", "enter")
        assert table.visible_count == 1
        naryn = table.current_record
        assert naryn.cells[0] == "02201202010011" and naryn.tag == "error"
        # its open obligations arrive in a second step (the obligations service)
        await wait_for(pilot, lambda: "late" in table.current_record.cells[6], what="open")
        await pilot.press("enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ClientDetailScreen")
        text = await wait_for(pilot, lambda: "POA-" in screen_text(app) and screen_text(app))
        assert "Naryn Agro LLC" in text and "fees paid" in text
        assert "overdue" in text  # its obligations, listed with their deadlines


async def test_submissions_filter_sort_detail_and_verify(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=3, period="2025-01")
    filed = await cli("--json", "submit", str(tmp_path), "--wait-timeout", "60")
    assert filed.code == 0, filed.stderr
    app = SochiApp(first_screen="submissions")
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count >= 3, what="submissions")
        await pilot.press("slash", *"period:2025-01 state:accepted", "enter")
        await wait_for(pilot, lambda: table.visible_count == 3)
        # at 80 columns identifiers stay whole: the less useful columns go instead
        row = table.render_line(1).text
        assert table.current_key in row and "…" not in row.split()[0]
        assert [c.key for c in table.shown_columns][:2] == ["id", "client"]
        assert "fee" not in [c.key for c in table.shown_columns]
        await pilot.press("right", "s")  # sort by the client column
        clients = [table.records[i].cells[1] for i in table._visible]
        assert clients == sorted(clients)
        await pilot.press("enter")
        detail = await wait_for(
            pilot, lambda: "Timeline" in screen_text(app) and screen_text(app), what="detail"
        )
        assert "verified" in detail and "chains to the Main CA" in detail
        app.screen.query_one("#detail-pane").focus()  # reading the detail, then off to 4
        await pilot.press("4")
        await wait_for(pilot, lambda: app.current_mode == "file", what="screen 4 from the detail")
        await pilot.press("3")
        await wait_for(pilot, lambda: app.current_mode == "submissions")
        await pilot.press("v")
        report = await wait_for(
            pilot, lambda: "Verdict:" in screen_text(app) and screen_text(app), what="verify"
        )
        assert "SIGNATURE STANDS" in report
        assert "serialNumber=" in report and "2.5.4." not in report  # names as `cert show` has them


async def test_an_agency_protocol_error_is_shown_next_to_the_report_line_it_names(
    op: Operator, tmp_path: Path
) -> None:
    from sochi_cli.sandbox.samples import write_samples
    from sochi_cli.services.submission_view import line_of

    seeded = date.fromisoformat(op.facts["seeded_on"])
    [sample] = write_samples(tmp_path, clients=0, rejected=1, seeded_on=seeded)  # not registered
    filed = await cli("--json", "submit", str(sample.path), "--wait-timeout", "60")
    [item] = json.loads(filed.stdout)["items"]
    assert item["state"] == "rejected", filed.stdout
    report = sample.path.read_text(encoding="utf-8")
    line = line_of(report, "header/inn")
    assert line is not None and f"<inn>{sample.client_inn}</inn>" in report.splitlines()[line - 1]
    app = SochiApp(first_screen="submissions")
    async with app.run_test(size=(80, 24)) as pilot:
        app.screen.focus_key(item["submission_id"])  # opened once its row has arrived
        text = await wait_for(
            pilot,
            lambda: "Agency protocol: rejected" in screen_text(app) and screen_text(app),
            what="the protocol",
        )
        # the agency names the field; the detail finds its line in the archived report
        assert f"line {line} header/inn: the taxpayer is not registered" in text, text
        assert f"{line:>4} │ <inn>{sample.client_inn}</inn>" in text, text


async def test_submissions_update_live_from_the_event_feed(op: Operator, tmp_path: Path) -> None:
    app = SochiApp(first_screen="submissions")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: app.snapshot.overview, what="login")
        await wait_for(pilot, lambda: app.feed_live, what="the event feed caught up")
        before = table.total_count
        write_reports(tmp_path, count=2, period="2025-02")
        filed = await cli("--json", "submit", str(tmp_path), "--no-wait")
        assert filed.code == 0, filed.stderr
        await wait_for(pilot, lambda: table.total_count == before + 2, what="new rows")
        await wait_for(
            pilot,
            lambda: all(r.cells[5] == "accepted" for r in table.records if r.cells[3] == "2025-02"),
            what="verdicts arriving through the feed",
        )


async def test_batches_show_items_and_inbox_acknowledges_with_a_signature(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=2, period="2025-03", invalid=1)
    await cli("submit", str(tmp_path), "--wait-timeout", "60")
    app = SochiApp(first_screen="batches")
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count >= 1, what="batches")
        assert table.records[0].cells[2] == "partial"
        await pilot.press("enter")
        items = app.screen.query_one("#items")
        await wait_for(pilot, lambda: items.total_count == 2, what="items")
        states = sorted(r.cells[4] for r in items.records)
        assert states == ["accepted", "invalid"]
        await pilot.press("6")
        inbox = app.screen.table
        await wait_for(pilot, lambda: inbox.total_count >= 1, what="inbox")
        unread = next(r for r in inbox.records if r.cells[5] == "UNREAD")
        inbox.move_to_key(unread.key)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "agency signature: verified" in screen_text(app))
        await pilot.press("a")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        await pilot.press("enter")  # the profile's key file; passphrase from the environment
        await wait_for(
            pilot,
            lambda: any(r.key == unread.key and r.cells[5] == "yes" for r in inbox.records),
            what="acknowledged",
        )
        # an agency's request is answered with a signed document (`sochi inbox reply`)
        request = next(r for r in inbox.records if r.cells[2] == "request")
        inbox.move_to_key(request.key)
        answer = tmp_path / "answer.xml"
        answer.write_text("<answer>the invoices are attached</answer>\n", encoding="utf-8")
        await pilot.press("p")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ReplyScreen")
        await pilot.press(*str(answer), "enter", "enter")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "SignerScreen")
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: any(r.key == request.key and r.cells[5] == "replied" for r in inbox.records),
            what="answered",
        )


async def test_audit_and_archive_browse_and_verify(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=1, period="2025-04")
    assert (await cli("submit", str(tmp_path), "--wait-timeout", "60")).code == 0
    app = SochiApp(first_screen="audit")
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count > 0, what="audit records")
        assert any(r.cells[3] == "batch.finish" for r in table.records)
        await pilot.press("v")
        await wait_for(pilot, lambda: "chain verified" in screen_text(app))
        await pilot.press("0")
        archive = app.screen.table
        await wait_for(pilot, lambda: archive.total_count > 0, what="archive")
        await pilot.press("slash", *"2025-04 report", "enter")
        await wait_for(pilot, lambda: archive.visible_count >= 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: "<report" in screen_text(app), what="preview")
        await pilot.press("v")
        await wait_for(
            pilot, lambda: any("archive intact" in str(n.message) for n in app._notifications)
        )


async def test_certificates_screen_shows_chain_crl_and_guards_revocation(op: Operator) -> None:
    app = SochiApp(first_screen="certificates")
    async with app.run_test(size=(160, 48)) as pilot:
        text = await wait_for(
            pilot, lambda: "Main CA" in screen_text(app) and screen_text(app), what="chain"
        )
        assert "requisites drift" in text and "development" in text
        await pilot.press("f")
        await wait_for(pilot, lambda: "fresh" in screen_text(app), what="CRL")
        await pilot.press("x")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
        confirm = app.screen.query_one("#confirm")
        await pilot.press(*"wrong")
        assert confirm.disabled  # only the typed serial prefix enables it
        await pilot.press("escape")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "CertificatesScreen")
        assert "valid" in screen_text(app)


async def test_certificates_screen_asks_for_the_next_year_only_in_the_renewal_window(
    op: Operator,
) -> None:
    """Unpaid next year, the certificate 11 months from expiry: no red "top up" (the doctor
    and `cert status` ask for it only from 30 days before expiry), but when it becomes due."""
    op.control("PUT", "balance", {"inn": op.rep["inn"], "balance": 100})  # calm() restores it
    app = SochiApp(first_screen="certificates")
    async with app.run_test(size=(160, 48)) as pilot:
        text = await wait_for(
            pilot, lambda: "next year paid" in screen_text(app) and screen_text(app), what="facts"
        )
        assert "next year paid: not yet — due from 20" in text
        assert "NO — top up the account" not in text and "top up the account" not in text


async def test_help_lists_the_screen_keys_and_the_palette_reaches_every_screen(
    op: Operator,
) -> None:
    app = SochiApp(first_screen="submissions")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "HelpScreen")
        text = screen_text(app)
        assert "Verify (clause 8)" in text and "command palette" in text
        await pilot.press("escape")
        for place in PLACES:
            await pilot.press("ctrl+p")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "CommandPalette")
            app.screen.query_one("Input").value = f"Go to {place.title}"
            commands = app.screen.query_one("CommandList")
            await wait_for(
                pilot,
                lambda p=place, c=commands: (
                    c.highlighted is not None
                    and f"Go to {p.title}" in str(c.get_option_at_index(c.highlighted).prompt)
                ),
                what=f"the palette's {place.title}",
            )
            await pilot.press("enter")
            await wait_for(pilot, lambda p=place: app.current_mode == p.mode, what=place.title)


async def test_last_screen_filter_and_column_widths_are_remembered_per_profile(
    op: Operator,
) -> None:
    app = SochiApp(first_screen="clients")
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.table
        await wait_for(pilot, lambda: table.total_count > 0)
        await pilot.press("right", "greater_than_sign", "greater_than_sign")
        await pilot.press("slash", *"LLC", "enter")
        await pilot.press("q")
    again = SochiApp()
    async with again.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: again.current_mode == "clients")
        screen = again.screen
        assert screen.query_one("FilterBar").value == "LLC"
        assert screen.table.widths()["name"] == 26 + 4


async def test_doctor_runs_the_checks_shows_the_fix_and_writes_a_bundle(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = SochiApp(first_screen="doctor")
    async with app.run_test(size=(160, 48)) as pilot:
        screen = app.screen
        await wait_for(pilot, lambda: screen.report, timeout=60, what="the checks")
        results = {r.key: r.cells[0] for r in screen.table.records}
        assert results["representation.poa"] == "fail"  # the demo's expired POA
        first_problem = next(k for k, v in results.items() if v in ("fail", "warn"))
        assert screen.table.current_key == first_problem  # the first problem, opened
        assert "Fix:" in screen_text(app)
        screen.table.move_to_key("representation.poa")
        text = await wait_for(
            pilot, lambda: "representation.poa" in screen_text(app) and screen_text(app)
        )
        # the evidence as lines people read, not Python's repr of lists and dates
        assert "- inn=02201202010011, name=Naryn Agro LLC" in text
        assert "{'" not in text and "datetime.date(" not in text
        screen.table.move_to_key("signing.certificate")  # the chain, names as `cert show` has them
        text = await wait_for(
            pilot, lambda: "· signing.certificate" in screen_text(app) and screen_text(app)
        )
        assert f"serialNumber={op.rep['inn']}" in text and "2.5.4." not in text
        await pilot.press("b")
        bundle = await wait_for(pilot, lambda: list(tmp_path.glob("sochi-doctor-*.zip")))
        assert (bundle[0].stat().st_mode & 0o777) == 0o600
        # r runs them again; Ctrl+C stops the run after the check in progress
        op.control("PUT", "chaos", {"latency_ms": 300})  # a slow operator: a run to stop
        await pilot.press("r")
        await wait_for(pilot, lambda: screen.running and screen.findings, what="a new run")
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not screen.running, what="the run stopped")
        assert 0 < len(screen.findings) < len(results)
        assert app.screen is screen  # Ctrl+C stopped the checks, nothing else
