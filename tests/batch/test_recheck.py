"""Reports never filed (invalid locally, refused by the operator) are checked again by a rerun
and filed once their cause is gone — against the real sandbox on loopback."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

from sochi_cli.store.journal import Journal
from tests.batch.operator import (
    Operator,
    access_token,
    behind_this_clock,
    second_key,
    write_reports,
)
from tests.support import run_cli


def _submit(*args: str) -> tuple[int, dict, str]:
    result = run_cli("--json", "submit", *args)
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout), result.stderr


def test_a_report_refused_for_an_expired_poa_is_filed_once_the_poa_is_renewed(
    op: Operator, tmp_path: Path
) -> None:
    sample = write_reports(tmp_path / "src", count=1, period="2020-03")[0]
    expired = op.facts["clients"]["expired_poa"][0]
    (tmp_path / "naryn").mkdir()
    report = tmp_path / "naryn" / "n.xml"
    report.write_text(sample.path.read_text().replace(sample.client_inn, expired))
    token = access_token()
    old_poa = op.api_call("GET", f"clients/{expired}", token)["poa"]
    try:
        code, first, stderr = _submit(str(report.parent))
        assert code == 6, first  # refused by the operator's terms, before signing
        assert first["status"] == "refused" and first["recheck"] == 1
        assert first["items"][0]["error_code"] == "poa_expired"
        assert "sochi clients renew" in stderr and f"sochi batch resume {first['batch_id']}" in (
            stderr
        )
        (tmp_path / "scan.pdf").write_bytes(b"%PDF scan")
        today = op.now.date()
        renewed = run_cli(
            "clients", "renew", expired, "--poa-scan", str(tmp_path / "scan.pdf"),
            "--poa-number", "77", "--issued", str(today - timedelta(days=1)),
            "--valid-until", str(today + timedelta(days=365)),
        )  # fmt: skip
        assert renewed.code == 0, renewed.stderr
        dry = run_cli("--json", "submit", str(report.parent), "--dry-run")
        assert dry.code == 0 and json.loads(dry.stdout)["items"][0]["state"] == "validated"
        # the real run agrees with the dry run: the same batch, checked again and filed
        code, filed, _ = _submit(str(report.parent), "--wait-timeout", "60")
        assert code == 0, filed
        assert filed["batch_id"] == first["batch_id"] and filed["resumed"] is True
        assert filed["counts"] == {"accepted": 1} and filed["recheck"] == 0
        # the same bytes from another folder are the same filing: nothing to do
        shutil.copytree(report.parent, tmp_path / "copy")
        code, again, _ = _submit(str(tmp_path / "copy"))
        assert code == 0 and again["nothing_to_do"] is True and again["already_filed"] == 1
        subs = [s for s in op.submissions(token, "2020-03") if s["client_inn"] == expired]
        assert [s["id"] for s in subs] == [filed["items"][0]["submission_id"]]
    finally:
        op.api_call("PUT", f"clients/{expired}/poa", token, old_poa)


def test_reports_whose_signature_the_operator_refused_fail_and_a_rerun_signs_them_anew(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=3, period="2020-04")
    op.control("PUT", "clock", {"now": behind_this_clock().isoformat(), "frozen": True})
    code, refused, stderr = _submit(str(tmp_path), "--no-wait")
    op.calm()
    # every signed report refused by the operator: nothing filed, so the batch failed (exit 6);
    # `refused` is kept for a run stopped before signing (balance, maintenance)
    assert code == 6, refused
    assert refused["status"] == "failed" and refused["counts"] == {"failed": 3}
    assert {i["error_code"] for i in refused["items"]} == {"signature_invalid"}
    batch = refused["batch_id"]
    assert refused["recheck"] == 3 and refused["follow_up"] == f"sochi batch show {batch}"
    (line,) = [x for x in stderr.splitlines() if x.startswith("error:")]
    assert "3 of 3 report(s) refused by the operator" in line
    assert f"`sochi batch resume {batch}`: the 3 report(s) never filed are checked again" in line
    listed = json.loads(run_cli("batch", "list", "--json").stdout)[0]
    assert listed["id"] == batch and listed["status"] == "failed"
    code, filed, _ = _submit(str(tmp_path), "--no-wait")
    assert code == 0, filed
    assert filed["batch_id"] == batch and filed["counts"] == {"received": 3}
    assert {i["submission_id"] for i in filed["items"]} == {
        s["id"] for s in op.submissions(access_token(), "2020-04")
    }
    assert len(op.submissions(access_token(), "2020-04")) == 3
    # the refused signatures are kept in the archive, marked superseded by the new ones
    with Journal.for_profile("sandbox") as journal:
        kinds = journal.query(
            "SELECT e.kind, COUNT(*) AS n FROM archive_entries e JOIN items i ON i.id = e.item_id"
            " WHERE i.period = '2020-04' AND e.kind IN ('signature', 'superseded_signature')"
            " GROUP BY e.kind"
        )
    assert {r["kind"]: r["n"] for r in kinds} == {"signature": 3, "superseded_signature": 3}


def test_submit_with_a_certificate_just_revoked_signs_nothing_and_files_with_the_next_key(
    op: Operator, tmp_path: Path, monkeypatch
) -> None:
    serial, key = second_key(op.control, op.rep["inn"], tmp_path)
    monkeypatch.setenv("SOCHI_KEY_FILE", str(key))
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "pw2")
    assert run_cli("login").code == 0
    assert run_cli("crl", "fetch").code == 0
    revoked = run_cli("cert", "revoke", serial, "--reason", "key-compromise", "--yes")
    assert revoked.code == 0, revoked.stderr
    write_reports(tmp_path / "in", count=2, period="2020-06")
    code, refused, stderr = _submit(str(tmp_path / "in"), "--no-wait")
    assert code == 5 and refused["error"]["code"] == "certificate_revoked", stderr
    assert op.submissions(access_token(), "2020-06") == []
    # with a valid key the rerun continues the same batch: signed and filed once
    monkeypatch.setenv("SOCHI_KEY_FILE", op.rep["pkcs12"])
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", op.facts["passphrase"])
    assert run_cli("login").code == 0
    code, filed, _ = _submit(str(tmp_path / "in"), "--no-wait")
    assert code == 0, filed
    assert filed["counts"] == {"received": 2} and filed["resumed"] is True
    assert len(op.submissions(access_token(), "2020-06")) == 2


def test_a_report_edited_since_it_was_refused_is_a_new_report_not_a_resumed_one(
    op: Operator, tmp_path: Path
) -> None:
    import re

    sample = write_reports(tmp_path / "src", count=1, period="2020-10")[0]
    good = sample.path.read_text()
    (tmp_path / "in").mkdir()
    report = tmp_path / "in" / "r.xml"
    report.write_text(re.sub(r"\s*<turnover>[^<]*</turnover>", "", good))  # a field missing
    code, first, _ = _submit(str(report.parent), "--no-wait")
    assert code == 4 and first["items"][0]["error_code"] == "validation_failed", first
    report.write_text(good)  # fixed in place: other bytes, another idempotency key
    resumed = run_cli("--json", "batch", "resume", str(first["batch_id"]), "--no-wait")
    assert resumed.code == 4, resumed.stderr
    (item,) = json.loads(resumed.stdout)["items"]
    assert item["error_code"] == "file_changed" and "sochi submit" in item["error"]
    code, filed, _ = _submit(str(report.parent), "--no-wait")
    assert code == 0 and filed["batch_id"] != first["batch_id"], filed
    assert filed["counts"] == {"received": 1}
    assert len(op.submissions(access_token(), "2020-10")) == 1
