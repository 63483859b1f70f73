"""`sochi submit` against the real sandbox on loopback: the pipeline end to end, exactly once."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from tests.batch.operator import Operator, access_token, write_reports
from tests.support import run_cli


def _json(*args: str) -> tuple[int, dict]:
    result = run_cli("--json", "submit", *args)
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


def test_single_report_is_validated_signed_sent_and_accepted(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=1, period="2026-01")
    report = next(tmp_path.glob("*.xml"))
    code, data = _json(str(report))
    assert code == 0, data
    assert data["counts"] == {"accepted": 1}
    item = data["items"][0]
    assert item["submission_id"] and item["receipt_id"]
    assert len(item["receipt_ids"]) == 2  # delivery receipt + agency protocol
    subs = op.submissions(access_token(), "2026-01")
    assert [s["id"] for s in subs] == [item["submission_id"]]


def test_rerun_reports_already_filed_and_files_nothing_twice(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=5, period="2026-02")
    code, first = _json(str(tmp_path), "--no-wait")
    assert code == 0 and first["counts"] == {"received": 5}
    code, again = _json(str(tmp_path), "--no-wait")
    assert code == 0
    assert again["already_filed"] == 5
    assert len(op.submissions(access_token(), "2026-02")) == 5


def test_invalid_report_and_expired_poa_make_a_partial_batch(op: Operator, tmp_path: Path) -> None:
    samples = write_reports(tmp_path, count=6, period="2026-03", invalid=1)
    expired = op.facts["clients"]["expired_poa"][0]
    text = samples[0].path.read_text().replace(samples[0].client_inn, expired)
    (tmp_path / "expired.xml").write_text(text)
    code, data = _json(str(tmp_path), "--wait-timeout", "60")
    assert code == 8, data
    # broken totals and the expired POA are caught before anything is signed: the first is
    # invalid, the second refused (the operator's terms: state failed, as if it had refused it)
    assert data["counts"] == {"accepted": 5, "invalid": 1, "failed": 1}
    codes = {i["state"]: i["error_code"] for i in data["items"] if i["state"] != "accepted"}
    assert codes == {"invalid": "validation_failed", "failed": "poa_expired"}


def test_an_expired_poa_refuses_the_batch_before_signing_and_a_rerun_after_renewal_files_it(
    op: Operator, tmp_path: Path
) -> None:
    """`sochi submit naryn.xml` said `failed`, exit 4, `validation_failed`; POA is `refused`."""
    import httpx

    (sample,) = write_reports(tmp_path, count=1, period="2024-03")
    expired = op.facts["clients"]["expired_poa"][0]
    naryn = tmp_path / "naryn.xml"
    naryn.write_text(sample.path.read_text().replace(sample.client_inn, expired))
    sample.path.unlink()
    code, data = _json(str(naryn))
    assert code == 6 and data["status"] == "refused" and data["counts"] == {"failed": 1}
    assert data["error"]["code"] == "poa_expired" and data["recheck"] == 1
    assert data["follow_up"] == f"sochi batch resume {data['batch_id']}"
    shown = run_cli("batch", "show", "last", "--summary").stdout
    assert "status\trefused\n" in shown
    assert run_cli("archive", "list").stdout == ""  # nothing was signed
    dry = run_cli("--json", "submit", str(naryn), "--dry-run")
    assert dry.code == 6 and json.loads(dry.stdout)["error"]["code"] == "poa_expired"
    # the client renews its power of attorney at the operator; the same command files it
    headers = {"Authorization": f"Bearer {access_token()}"}
    client = httpx.get(f"{op.api}/clients/{expired}", headers=headers, timeout=30).json()
    renewed = {**client["poa"], "valid_until": "2099-12-31"}
    put = httpx.put(f"{op.api}/clients/{expired}/poa", json=renewed, headers=headers, timeout=30)
    put.raise_for_status()
    try:
        code, again = _json(str(naryn), "--no-wait")
    finally:
        httpx.put(
            f"{op.api}/clients/{expired}/poa", json=client["poa"], headers=headers, timeout=30
        ).raise_for_status()
    assert code == 0 and again["batch_id"] == data["batch_id"] and again["resumed"] is True
    assert again["counts"] == {"received": 1}


def test_dry_run_prices_the_batch_and_sends_nothing(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=3, period="2026-04")
    code, data = _json(str(tmp_path), "--dry-run")
    assert code == 0 and data["dry_run"] is True
    assert data["cost"]["items"] == 3 and Decimal(data["cost"]["required"]) > 0
    assert op.submissions(access_token(), "2026-04") == []


def test_batch_that_cannot_be_paid_stops_before_signing(op: Operator, tmp_path: Path) -> None:
    write_reports(tmp_path, count=3, period="2026-05")
    op.control("PUT", "balance", {"inn": op.rep["inn"], "balance": 1})
    result = run_cli("submit", str(tmp_path))
    assert result.code == 6
    assert "short" in result.stderr and "nothing was signed" in result.stderr
    assert op.submissions(access_token(), "2026-05") == []


def test_no_wait_maintenance_exits_unavailable_having_sent_nothing(
    op: Operator, tmp_path: Path
) -> None:
    from tests.batch.operator import friday_evening

    write_reports(tmp_path, count=3, period="2026-06")
    op.control("PUT", "clock", {"now": friday_evening(op.now).isoformat(), "frozen": True})
    result = run_cli("--json", "submit", str(tmp_path), "--no-wait-maintenance")
    assert result.code == 7, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "maintenance" and error["details"]["batch_status"] == "refused"
    batch = error["details"]["batch_id"]
    assert f"batch {batch} is kept as refused" in result.stderr
    # the batch is journaled as refused, so `batch list` tells the truth
    listed = json.loads(run_cli("--json", "batch", "list").stdout)
    assert (listed[0]["id"], listed[0]["status"]) == (batch, "refused")
    assert listed[0]["follow_up"] == f"sochi batch resume {batch}"
    op.control("PUT", "clock", {"now": op.now.isoformat(), "frozen": False})
    assert op.submissions(access_token(), "2026-06") == []
    rerun = run_cli("--json", "submit", str(tmp_path), "--no-wait")
    assert rerun.code == 0, rerun.stderr
    resumed = json.loads(rerun.stdout)
    assert (resumed["batch_id"], resumed["resumed"]) == (batch, True)
    assert len(op.submissions(access_token(), "2026-06")) == 3


def test_maintenance_window_is_waited_out_then_the_batch_continues(
    op: Operator, tmp_path: Path
) -> None:
    import threading

    from tests.batch.operator import friday_evening

    write_reports(tmp_path, count=3, period="2026-07")
    op.control("PUT", "clock", {"now": friday_evening(op.now).isoformat(), "frozen": True})
    window_ends = threading.Timer(
        1.5, op.control, ("PUT", "clock", {"now": op.now.isoformat(), "frozen": False})
    )
    window_ends.start()
    try:
        code, data = _json(str(tmp_path), "--no-wait")
    finally:
        window_ends.cancel()
    assert code == 0, data
    assert data["counts"] == {"received": 3}
    assert len(op.submissions(access_token(), "2026-07")) == 3


def test_a_wait_timeout_leaves_verdicts_pending_and_batch_resume_follows_them(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=4, period="2026-08")
    op.control("PUT", "agency", {"delivery_delay_seconds": 0, "verdict_delay_seconds": 3600})
    stopped = run_cli("--json", "submit", str(tmp_path), "--wait-timeout", "1")
    assert stopped.code == 12, stopped.stderr  # filed, verdicts still pending
    data = json.loads(stopped.stdout)
    batch = data["batch_id"]
    follow_up = f"sochi batch resume {batch}"
    assert data["status"] == "pending_verdicts" and data["pending"] == 4
    assert data["interrupted"] is False and data["stopped_by"] == "wait_timeout"
    assert data["remaining"] == 4 and data["follow_up"] == follow_up
    assert data["error"]["code"] == "verdicts_pending" and data["error"]["exit_code"] == 12
    (line,) = [x for x in stopped.stderr.splitlines() if x.startswith("error:")]
    assert "pending" in line and follow_up in line
    op.control("POST", "clock/advance", {"seconds": 3700})  # the agency decides meanwhile
    resumed = run_cli("--json", "batch", "resume", str(batch), "--wait-timeout", "60")
    assert resumed.code == 0, resumed.stderr
    data = json.loads(resumed.stdout)
    assert data["resumed"] is True and data["counts"] == {"accepted": 4}
    assert data["status"] == "done" and data["error"] is None
    assert len(op.submissions(access_token(), "2026-08")) == 4


def test_manifest_rows_are_filed_and_a_mismatching_row_is_reported_by_line(
    op: Operator, tmp_path: Path
) -> None:
    samples = write_reports(tmp_path, count=3, period="2026-09")
    lines = ["client,form,period,correction,file"]
    lines += [f"{s.client_inn},STI-077,2026-09,0,{s.path.name}" for s in samples[:2]]
    lines.append(f"{samples[0].client_inn},STI-077,2026-09,0,{samples[2].path.name}")
    manifest = tmp_path / "batch.csv"
    manifest.write_text("\n".join(lines) + "\n")
    code, data = _json("--manifest", str(manifest), "--no-wait")
    assert code == 8, data
    assert data["counts"] == {"received": 2}
    assert [p["where"] for p in data["problems"]] == ["batch.csv:4"]
    assert len(op.submissions(access_token(), "2026-09")) == 2


def test_verdicts_are_followed_after_the_operators_feed_was_reset(
    op: Operator, tmp_path: Path
) -> None:
    """The events cursor the journal kept is one the operator never issued (its feed was
    reset): the follow starts over from the feed's start instead of failing."""
    from sochi_cli.services.submit_send import _CURSOR_KEY
    from sochi_cli.store.journal import Journal

    with Journal.for_profile("sandbox") as journal:
        journal.set_value(f"{_CURSOR_KEY}:{op.api}", "99999999")
    write_reports(tmp_path, count=1, period="2023-09")
    code, data = _json(str(tmp_path), "--wait-timeout", "60")
    assert code == 0, data
    assert data["counts"] == {"accepted": 1}
