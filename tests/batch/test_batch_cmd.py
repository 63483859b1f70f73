"""`sochi batch list|show|report` over a real journal, plain and JSON."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from sochi_cli.services.batch_report import REPORT_COLUMNS
from sochi_cli.store.journal import BatchStatus, Journal, Outcome, Stage
from tests.batch.factory import plan_item
from tests.support import run_cli


def seed() -> int:
    with Journal.for_profile("sandbox") as journal:
        started = journal.start_batch(
            [plan_item(n) for n in range(4)],
            profile="sandbox",
            api_url="u",
            command="sochi submit reports/",
        )
        a, b, c, _ = journal.batch_items(started.batch.id)
        for item, outcome in (
            (a, Outcome(state="accepted", submission_id="sub_a", receipt_ids=["rcp_a1", "rcp_a2"])),
            (
                b,
                Outcome(
                    state="failed",
                    error_code="poa_expired",
                    error_message="POA expired on 2026-09-30",
                ),
            ),
        ):
            journal.record_before(item.id, Stage.SEND)
            journal.record_after(item.id, Stage.SEND, outcome)
        journal.record_before(c.id, Stage.SEND)  # in flight: crashed mid-send
        journal.set_batch_status(started.batch.id, BatchStatus.INTERRUPTED)
        return started.batch.id


def test_batch_list_plain_and_json() -> None:
    assert run_cli("batch", "list").stdout == ""
    batch_id = seed()
    plain = run_cli("batch", "list")
    (row,) = [line.split("\t") for line in plain.stdout.splitlines()]
    assert row[0] == str(batch_id) and row[2] == "interrupted" and row[3] == "4"
    assert row[4] == "accepted 1, failed 1, planned 2"
    (data,) = json.loads(run_cli("--json", "batch", "list").stdout)
    assert data["counts"] == {"accepted": 1, "failed": 1, "planned": 2} and data["in_flight"] == 1


def test_batch_show_plain_and_json() -> None:
    batch_id = seed()
    plain = run_cli("batch", "show", "last")
    assert plain.code == 0  # in a pipe: one record type, the items
    rows = [line.split("\t") for line in plain.stdout.splitlines()]
    assert [len(r) for r in rows] == [10] * 4  # #, INN, client, form, period, state, fee, …
    assert [r[9] for r in rows] == ["-"] * 4  # late, last: not known (the forms not cached)
    assert [r[5] for r in rows] == ["accepted", "failed", "planned", "planned"]
    assert rows[1][8] == "POA expired on 2026-09-30"
    summary = run_cli("batch", "show", "last", "--summary").stdout
    assert f"batch\t{batch_id}" in summary and "in flight\t1" in summary
    assert "status\tinterrupted" in summary and f"next\tsochi batch resume {batch_id}" in summary
    assert "accepted" not in summary.split("states\t")[0]  # no item rows in the summary
    data = json.loads(run_cli("batch", "show", str(batch_id), "--json").stdout)
    assert [i["state"] for i in data["items"]] == ["accepted", "failed", "planned", "planned"]
    assert data["items"][2]["in_flight_stage"] == "send"


def test_batch_report_csv_for_clients(tmp_path: Path) -> None:
    batch_id = seed()
    result = run_cli("batch", "report", str(batch_id))
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == list(REPORT_COLUMNS)
    assert rows[0]["state"] == "accepted" and rows[0]["receipt_id"] == "rcp_a1"
    assert rows[1]["error_code"] == "poa_expired" and rows[1]["submission_id"] == ""
    assert {r["late"] for r in rows} == {""}  # not known (the forms not cached): empty
    out = tmp_path / "outcomes.json"
    written = run_cli("batch", "report", "last", "--format", "json", "--out", str(out))
    assert written.code == 0 and "wrote 4 rows" in written.stderr
    data = json.loads(out.read_text())
    assert data["batch"]["id"] == batch_id and data["items"][0]["receipt_ids"] == [
        "rcp_a1",
        "rcp_a2",
    ]
    assert (
        json.loads(run_cli("--json", "batch", "report", "last").stdout)["items"][1]["state"]
        == "failed"
    )


def test_unknown_batches_are_not_found() -> None:
    missing = run_cli("batch", "show", "7")
    assert missing.code == 9 and missing.stderr.startswith("error: no batches yet")
    seed()
    assert run_cli("batch", "show", "99").code == 9
    bad = run_cli("batch", "report", "abc")
    assert bad.code == 2 and "must be a number" in bad.stderr
    assert run_cli("batch", "report", "1", "--format", "xml").code == 2
