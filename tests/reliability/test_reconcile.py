"""`sochi archive reconcile` on a journal that is behind the operator, or ahead of it."""

from __future__ import annotations

import json
from pathlib import Path

from sochi_cli.store.journal import Journal, Outcome, Stage
from tests.batch.factory import plan_item
from tests.batch.operator import Operator, write_reports
from tests.support import run_sochi


def test_verdicts_the_journal_missed_are_fetched_and_recorded(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=3, period="2021-04")
    first = run_sochi("--json", "submit", str(tmp_path), "--no-wait")
    assert first.code == 0
    assert {i["state"] for i in json.loads(first.stdout)["items"]} == {"received"}
    settled = run_sochi("--json", "archive", "reconcile", "--period", "2021-04")
    assert settled.code == 0, settled.stderr
    outcome = json.loads(settled.stdout)
    assert [r["state"] for r in outcome["updated"]] == ["accepted"] * 3
    assert outcome["recovered"] == [] and outcome["batch_id"] is None
    protocols = json.loads(run_sochi("--json", "archive", "list", "--kind", "protocol").stdout)
    assert len(protocols) == 3
    again = json.loads(run_sochi("--json", "archive", "reconcile", "--period", "2021-04").stdout)
    assert again["complete"] == 3 and again["updated"] == []


def test_a_filing_only_the_journal_knows_is_listed_and_exits_4(
    op: Operator, tmp_path: Path
) -> None:
    with Journal.for_profile("sandbox") as journal:
        start = journal.start_batch([plan_item(5)], profile="sandbox", api_url=op.api, command="x")
        (item,) = journal.batch_items(start.batch.id)
        journal.record_after(
            item.id, Stage.SEND, Outcome("received", submission_id="sub_never_heard_of")
        )
    result = run_sochi("--json", "archive", "reconcile", "--period", item.period)
    assert result.code == 4
    (row,) = json.loads(result.stdout)["local_only"]
    assert row["submission_id"] == "sub_never_heard_of" and row["item"] == item.id
    assert "1 filing(s) in the journal are unknown to the operator" in result.stderr


def test_submissions_the_operator_has_no_documents_for_are_one_line_and_not_a_failure(
    op: Operator, tmp_path: Path
) -> None:
    import sqlite3

    from sochi_cli.store.journal import journal_path

    write_reports(tmp_path, count=14, period="2021-05")
    assert run_sochi("submit", str(tmp_path), "--no-wait").code == 0
    path = journal_path("sandbox")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # the journal is lost
    listed = json.loads(run_sochi("--json", "submissions", "list", "--period", "2021-05").stdout)
    gone = sorted(s["id"] for s in listed)[:12]  # and the operator lost their documents
    db = sqlite3.connect(op.data_dir / "sandbox.db")
    with db:
        db.executemany("DELETE FROM documents WHERE submission_id = ?", [(i,) for i in gone])
    db.close()

    result = run_sochi("--json", "archive", "reconcile", "--period", "2021-05")
    assert result.code == 0, result.stderr  # a note: nothing here or there can change it
    outcome = json.loads(result.stdout)
    assert outcome["ok"] is True and len(outcome["recovered"]) == 2
    assert sorted(u["submission_id"] for u in outcome["unavailable"]) == gone
    assert {tuple(u["missing"]) for u in outcome["unavailable"]} == {("report", "signature")}
    assert outcome["problems"] == []
    (line,) = [line for line in result.stderr.splitlines() if line.startswith(("warning", "error"))]
    assert line.startswith("warning: 12 submission(s) at the operator have no documents to ")
    assert "`--json` lists them as `unavailable`" in line
