"""`sochi due`, filing once, agency rejections, clients by name, money per client, inbox
replies — the CLI against the demo-seeded sandbox with its filing history on loopback."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from sochi_cli.sandbox.history import month_back
from sochi_cli.sandbox.seed import bulk_client_inn
from tests.batch.operator import Operator
from tests.obligations.support import as_json, sandbox_today
from tests.support import run_cli


def test_due_shows_a_month_of_every_client_with_states_from_the_history(op: Operator) -> None:
    last = month_back(sandbox_today(op), 1)
    code, data = as_json("due", "--form", "STI-077", "--period", last)
    assert code == 0
    states = {o["client_inn"]: o["state"] for o in data["obligations"]}  # type: ignore[index]
    assert states[bulk_client_inn(7)] == "rejected"
    assert states[bulk_client_inn(9)] == "in_progress"
    assert states[bulk_client_inn(6)] == "accepted"
    assert states[bulk_client_inn(0)] in ("overdue", "missing")
    assert "00712201610078" not in states  # inactive taxpayer: nothing due
    rejected = next(o for o in data["obligations"] if o["state"] == "rejected")  # type: ignore[index]
    assert "VAT payable" in rejected["reason"]
    code, everything = as_json("due")
    assert code == 0
    forms = {o["form"] for o in everything["obligations"]}  # type: ignore[index]
    assert {"STI-077", "STI-100", "SF-001", "NSC-1T"} <= forms
    counts = everything["counts"]  # type: ignore[index]
    assert counts["accepted"] > counts.get("overdue", 0) > 0
    plain = run_cli("due", "--overdue")
    assert plain.code == 0
    lines = plain.stdout.splitlines()
    assert lines and all(line.split("\t")[5] in ("overdue", "rejected") for line in lines)


def test_a_window_years_long_finds_the_same_states_as_the_default_one(op: Operator) -> None:
    """The default window lists period by period, a long one reads everything in one listing:
    where they overlap, they agree; the older part has the accepted history too."""
    from sochi_cli.services.obligations import PERIODS_LISTED_ONE_BY_ONE

    _, default = as_json("due")
    since = date.fromisoformat(default["since"])  # type: ignore[index]
    _, long = as_json("due", "--since", (since - timedelta(days=500)).isoformat())
    obligations = long["obligations"]  # type: ignore[index]
    assert len({o["period"] for o in obligations}) > PERIODS_LISTED_ONE_BY_ONE
    recent = [o for o in obligations if o["deadline"] >= default["since"]]  # type: ignore[index]
    assert recent == default["obligations"]  # type: ignore[index]
    older = [o for o in obligations if o["deadline"] < default["since"]]  # type: ignore[index]
    assert any(o["state"] == "accepted" for o in older)


def _on_a_terminal(monkeypatch: pytest.MonkeyPatch, *args: str) -> list[str]:
    """`sochi due ARGS` on an 80-column terminal without colour: its stdout lines."""
    from unittest import mock

    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.setenv("NO_COLOR", "1")
    with mock.patch("sochi_cli.commands._output._isatty", return_value=True):
        result = run_cli("due", *args)
    assert result.code == 0, result.stderr
    return result.stdout.splitlines()


def _state_of(header: str, line: str) -> str:
    found = re.match(r"(\w+)", line[header.index("STATE") :])
    assert found, line
    return found.group(1)


def test_due_at_80_columns_lists_what_needs_attention_first_with_reasons_whole(
    op: Operator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.commands.due_cmd import ATTENTION

    _, data = as_json("due")
    obligations, counts = data["obligations"], data["counts"]  # type: ignore[index]
    lines = _on_a_terminal(monkeypatch)
    header, body = lines[0], lines[1:]
    assert header.split() == ["DUE", "CLIENT", "FORM", "PERIOD", "STATE", "DAYS"]
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]
    rows = [line for line in body if re.match(r"\d{4}-\d{2}-\d{2}", line)]
    names = {o["client_name"] for o in obligations}
    assert all(any(f"  {name}  " in row for name in names) for row in rows)  # one line each
    states = [_state_of(header, row) for row in rows]
    assert "accepted" not in states and len(rows) == len(obligations) - counts["accepted"]
    assert [ATTENTION[s] for s in states] == sorted(ATTENTION[s] for s in states)
    assert states[0] == "overdue" and "upcoming" in states
    assert f"{counts['accepted']} accepted not listed: sochi due --all lists them" in body
    rejected = next(o for o in obligations if o["state"] == "rejected")
    at = next(
        n for n, line in enumerate(body) if rejected["client_name"] in line and "rejected" in line
    )
    note = []
    for line in body[at + 1 :]:
        if not line.startswith(" " * 13):
            break
        note.append(line.strip())
    assert " ".join(note) == rejected["reason"] and len(note) > 1  # folded under the row, whole
    if any(o["deadline_moved_because"] for o in obligations if o["state"] != "accepted"):
        assert any(row.split()[0].endswith("*") for row in rows)
        assert any(line.startswith("* moved to the next working day: ") for line in body)

    everything = _on_a_terminal(monkeypatch, "--all")
    every_state = [
        _state_of(everything[0], line)
        for line in everything[1:]
        if re.match(r"\d{4}-\d{2}-\d{2}", line)
    ]
    assert len(every_state) == len(obligations)
    assert every_state[-counts["accepted"] :] == ["accepted"] * counts["accepted"]
    one_client = _on_a_terminal(monkeypatch, "--client", "ak-suu")  # its whole picture
    assert any(_state_of(one_client[0], line) == "accepted" for line in one_client[1:])

    piped = run_cli("due").stdout.splitlines()  # scripts: every row, every column, as before
    assert len(piped) == len(obligations)
    assert [line.split("\t")[0] for line in piped] == [o["deadline"] for o in obligations]
    assert all(len(line.split("\t")) == 10 for line in piped)  # LATE appended last


def test_due_takes_names_and_prefixes_and_says_when_input_is_wrong(op: Operator) -> None:
    code, data = as_json("due", "--client", "ak-suu")
    assert code == 0
    assert {o["client_inn"] for o in data["obligations"]} == {"02010201910123"}  # type: ignore[index]
    ambiguous = run_cli("due", "--client", "Client 0000")
    assert ambiguous.code == 2
    assert "matches 10 clients" in ambiguous.stderr and ambiguous.stderr.count("\n") == 1
    # the line names five and says how to see them all, as docs/cli.md says
    assert ambiguous.stderr.count(" LLC (") == 5 and "and 5 more" in ambiguous.stderr
    assert "sochi --json" in ambiguous.stderr and "error.details.matches" in ambiguous.stderr
    listed = json.loads(run_cli("--json", "due", "--client", "Client 0000").stdout)
    matches = listed["error"]["details"]["matches"]
    assert [m["inn"] for m in matches] == [bulk_client_inn(i) for i in range(10)]
    assert run_cli("due", "--client", "Nobody LLC").code == 9
    bad = run_cli("due", "--form", "STI-077", "--period", "2026-Q3")
    assert bad.code == 2 and "a monthly form takes a period YYYY-MM" in bad.stderr
    assert run_cli("due", "--within", "soon").code == 2
    shown = run_cli("clients", "show", "Bishkek")
    assert shown.code == 0 and "01503201810045" in shown.stdout


def test_a_second_original_stops_before_signing_and_a_correction_files(
    op: Operator, tmp_path: Path
) -> None:
    from sochi_cli.sandbox.samples import write_samples

    period = month_back(sandbox_today(op), 3)
    # client 10 filed its STI-077 three months back (history): a new one is a second original
    write_samples(tmp_path, clients=11, period=period, today=sandbox_today(op))
    report = tmp_path / f"STI-077_{bulk_client_inn(10)}_{period}_0.xml"
    code, dry = as_json("submit", str(report), "--dry-run")
    assert code == 4
    item = dry["items"][0]  # type: ignore[index]
    assert item["error_code"] == "original_exists" and item["on_file"][0]["status"] == "accepted"
    assert dry["cost"]["required"] == "0.00"  # type: ignore[index]
    before = as_json("account", "balance")[1]["balance"]  # type: ignore[index]
    result = run_cli("submit", str(report))
    assert result.code == 4
    assert item["on_file"][0]["submission_id"] in result.stdout
    assert "Client 00010 LLC" in result.stdout
    # the report says <correction>0</correction>: the hint sends the user there, with its line
    line = report.read_text().splitlines().index("    <correction>0</correction>") + 1
    assert f"set <correction>1</correction> at {report}:{line} and submit it again" in (
        result.stdout
    )
    overridden = run_cli("submit", str(report), "--correction", "1")  # not a way round it
    assert overridden.code == 4 and "set <correction>1</correction> in the report" in (
        overridden.stderr
    )
    without = tmp_path / "without" / "r.xml"  # a report without the element: --correction
    without.parent.mkdir()
    without.write_text(report.read_text().replace("    <correction>0</correction>\n", ""))
    refused = run_cli("submit", str(without), "--dry-run")
    assert refused.code == 4 and "submit it again with --correction 1" in refused.stdout
    assert run_cli("submit", str(without), "--correction", "1", "--dry-run").code == 0
    # following the hint as written files the correction
    report.write_text(report.read_text().replace("<correction>0<", "<correction>1<"))
    code, filed = as_json("submit", str(report), "--wait-timeout", "60")
    assert code == 0, filed
    assert filed["items"][0]["correction"] == 1  # type: ignore[index]
    assert as_json("account", "balance")[1]["balance"] != before  # type: ignore[index]


def test_a_whole_sample_set_files_as_samples_json_says(op: Operator, tmp_path: Path) -> None:
    """The README's sample set, all kinds at once (every generated client, broken ones,
    agency rejections), written for the demo seed with its history and filed through the
    CLI: every file ends as samples.json expects — those whose original the history holds
    go in as corrections, broken totals are stopped before signing."""
    out = tmp_path / "samples"
    result = run_cli(
        "sandbox", "sample-reports", "--out", str(out), "--clients", "12", "--invalid", "2",
        "--rejected", "8", "--today", sandbox_today(op).isoformat(), "--data-dir", str(op.data_dir),
    )  # fmt: skip
    assert result.code == 0, result.stderr
    manifest = out / "samples.json"
    expected = {
        e["file"]: (e["expected"], e["error_code"])
        for e in json.loads(manifest.read_text())["expected"]
    }
    code, data = as_json("submit", "--manifest", str(manifest), "--wait-timeout", "60")
    assert code == 8, data
    found = {Path(i["file"]).name: (i["state"], i["error_code"]) for i in data["items"]}  # type: ignore[index]
    assert found == expected
    assert [state for state, _ in found.values()].count("rejected") == 8
    assert {state for state, _ in found.values()} == {"accepted", "invalid", "rejected"}
    corrections = [name for name in found if name.endswith("_1.xml")]
    # last month's STI-077 of clients 6, 8, 9 and 10 is in the history (9 still at the agency)
    assert sorted(corrections) == [
        f"STI-077_{bulk_client_inn(i)}_{month_back(sandbox_today(op), 1)}_1.xml"
        for i in (6, 8, 9, 10)
    ]
    too_many = run_cli(
        "sandbox", "sample-reports", "--out", str(out), "--clients", "13",
        "--data-dir", str(op.data_dir),
    )  # fmt: skip
    assert too_many.code == 2 and "has 12 generated clients" in too_many.stderr


def test_batch_report_and_charges_name_clients_with_fees(op: Operator, tmp_path: Path) -> None:
    from sochi_cli.sandbox.samples import write_samples

    period = month_back(sandbox_today(op), 4)  # before the seeded history, long past its deadline
    write_samples(tmp_path, clients=3, period=period, today=sandbox_today(op))
    code, _data = as_json("submit", str(tmp_path / f"STI-077_{bulk_client_inn(1)}_{period}_0.xml"))
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(run_cli("batch", "report", "last").stdout)))
    assert rows[0]["client_name"] == "Client 00001 LLC" and rows[0]["fee"] == "20.00"
    assert rows[0]["late"] == "yes"  # as the tab-separated outputs say it
    piped = run_cli("batch", "show", "last").stdout.splitlines()[0].split("\t")
    assert piped[-1] == rows[0]["late"]
    code, charges = as_json("account", "charges", "--client", "Client 00001", "--period", period)
    assert code == 0
    assert [(c["client_inn"], c["form"], c["amount"]) for c in charges] == [  # type: ignore[union-attr]
        (bulk_client_inn(1), "STI-077", "-20.00")
    ]
    code, balance = as_json("account", "balance")
    assert code == 0
    # overdue obligations (e.g. Naryn Agro's VAT) are still to be filed: their fees are projected
    assert balance["projected_filings"] > 0  # type: ignore[index]
    assert float(balance["projected_filing_fees"]) > 0  # type: ignore[index]


def test_clients_renew_and_attach_record_a_new_poa(op: Operator, tmp_path: Path) -> None:
    scan = tmp_path / "poa.pdf"
    scan.write_bytes(b"%PDF scan")
    args = ["--poa-scan", str(scan), "--poa-number", "N-9", "--issued", "2026-11-01",
            "--valid-until", "2027-11-01"]  # fmt: skip
    code, renewed = as_json("clients", "renew", "Naryn", *args)
    assert code == 0 and renewed["poa_state"] == "valid"  # type: ignore[index]
    assert run_cli("clients", "renew", "Osh", *args).code == 6  # detached: attach it instead
    code, attached = as_json("clients", "attach", "Osh Textile", *args)
    assert code == 0 and attached["status"] == "active"  # type: ignore[index]


def test_inbox_items_name_client_and_submission_and_a_reply_is_signed_and_kept(
    op: Operator, tmp_path: Path
) -> None:
    code, items = as_json("inbox", "list")  # no client list cached yet: fetched for the names
    request = next(i for i in items if i["kind"] == "request")  # type: ignore[union-attr]
    assert request["client_inn"] and request["submission_id"]
    assert request["client_name"] == "Ak-Suu Trade LLC"
    shown = run_cli("inbox", "show", request["id"]).stdout.splitlines()
    assert f"client\t{request['client_inn']}" in shown and "client name\tAk-Suu Trade LLC" in shown
    _, detail = as_json("inbox", "show", request["id"])
    assert detail["client_name"] == "Ak-Suu Trade LLC"  # type: ignore[index]
    answer = tmp_path / "answer.xml"
    answer.write_text("<answer>the invoices are attached</answer>")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF invoices")
    reply = ["inbox", "reply", request["id"], "--file", str(answer), "--attach", str(scan)]
    code, sent = as_json(*reply)
    assert code == 0, sent
    assert sent["receipt_signature"]["verified"] and sent["archived"] == 6  # type: ignore[index]
    assert sent["client_name"] == "Ak-Suu Trade LLC"  # type: ignore[index]
    code, again = as_json(*reply)
    assert code == 0 and again["receipt_id"] == sent["receipt_id"]  # type: ignore[index]
    archived = run_cli("archive", "list", "--json").stdout
    assert "reply_document" in archived and "answer.xml" in archived
    audit = json.loads(run_cli("--json", "audit", "list", "--action", "inbox.reply").stdout)
    assert audit and audit[-1]["details"]["inbox_id"] == request["id"]
    op.control("POST", "inbox", {"inn": op.rep["inn"], "agency": "SF", "subject": "News"})
    code, items = as_json("inbox", "list")
    notice = next(i for i in items if i["kind"] == "notice")  # type: ignore[union-attr]
    refused = run_cli("inbox", "reply", notice["id"], "--file", str(answer))
    assert refused.code == 2 and "not a request" in refused.stderr


def test_an_empty_account_refuses_before_signing_and_charges_nothing(
    op: Operator, tmp_path: Path
) -> None:
    from sochi_cli.sandbox.samples import write_samples

    period = month_back(sandbox_today(op), 5)
    write_samples(tmp_path, clients=1, period=period, today=sandbox_today(op))
    op.control("PUT", "balance", {"inn": op.rep["inn"], "balance": 0})
    result = run_cli("submit", str(tmp_path))
    assert result.code == 6
    assert result.stderr.count("error:") == 1 and "nothing was signed or sent" in result.stderr
    code, listing = as_json("submissions", "list", "--period", period)
    assert code == 0 and listing == []
    # in the journal, not sent: what `due` calls unsent, until a rerun files it
    where = ["--client", bulk_client_inn(0), "--form", "STI-077", "--period", period]
    _, due = as_json("due", *where)
    assert [o["state"] for o in due["obligations"]] == ["unsent"]  # type: ignore[index]
    op.calm()  # the balance back
    assert run_cli("submit", str(tmp_path), "--wait-timeout", "60").code == 0
    _, due = as_json("due", *where)
    assert [o["state"] for o in due["obligations"]] == ["accepted"]  # type: ignore[index]


def test_a_lost_journal_is_rebuilt_from_the_seeded_history_reports_included(
    op: Operator, tmp_path: Path
) -> None:
    """The documented recovery rehearsed on the demo seed: a profile with no journal runs
    `sochi archive reconcile --period P`; every past filing comes back with its report and
    signature, the archive verifies and a recovered signature stands (clause 8)."""
    period = month_back(sandbox_today(op), 2)
    code, result = as_json("archive", "reconcile", "--period", period)
    assert code == 0, result
    assert result["problems"] == [] and result["ok"]  # type: ignore[index]
    recovered = {r["submission_id"] for r in result["recovered"]}  # type: ignore[index]
    assert len(recovered) == result["operator_submissions"] > 20  # type: ignore[index]
    _, archived = as_json("archive", "list", "--period", period)
    kinds = {(o["submission_id"], o["kind"]) for o in archived}  # type: ignore[union-attr]
    assert {(s, k) for s in recovered for k in ("report", "signature")} <= kinds
    assert run_cli("archive", "verify").code == 0
    one = sorted(recovered)[0]
    assert run_cli("submissions", "download", one, "--out", str(tmp_path)).code == 0
    report = next((tmp_path / one).glob("*.xml"))
    verified = run_cli("verify", str(report), "--signature", f"{report}.p7s")
    assert verified.code == 0, verified.stdout
