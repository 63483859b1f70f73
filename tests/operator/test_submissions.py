"""`sochi submissions list|show|receipts|download` against the sandbox, plain and JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sochi_cli.cms import verify_detached
from sochi_cli.errors import ExitCode
from tests.api.conftest import Sandbox, as_json, ok
from tests.operator.conftest import ACME, file_report
from tests.support import run_cli


def test_list_filters_by_client_form_period_status_since_and_limit(logged_in: Sandbox) -> None:
    accepted = file_report(logged_in, "2026-05").submission
    rejected = file_report(logged_in, "2026-06", payable="99.00").submission
    items = as_json(run_cli("submissions", "list", "--client", ACME, "--form", "sti-077", "--json"))
    by_id = {s["id"]: s for s in items}
    assert by_id[accepted.id]["status"] == "accepted"
    assert by_id[rejected.id]["status"] == "rejected"
    only = as_json(run_cli("submissions", "list", "--period", "2026-06", "--json"))
    assert [s["id"] for s in only] == [rejected.id]
    states = as_json(run_cli("submissions", "list", "--status", "rejected", "--json"))
    assert rejected.id in {s["id"] for s in states} and accepted.id not in {s["id"] for s in states}
    newest = as_json(run_cli("submissions", "list", "--limit", "1", "--json"))
    assert [s["id"] for s in newest] == [rejected.id]
    assert as_json(run_cli("submissions", "list", "--since", "2099-01-01", "--json")) == []
    plain = ok(run_cli("submissions", "list", "--since", "2020-01-01"))
    assert any(
        line.startswith(f"{rejected.id}\t{ACME}\tSTI-077\t2026-06\t0\trejected")
        for line in plain.stdout.splitlines()
    )


def test_list_refuses_bad_filters_with_one_line(logged_in: Sandbox) -> None:
    cases = {
        ("--since", "27.11.2026"): "--since '27.11.2026' is not a date YYYY-MM-DD",
        ("--status", "lost"): "--status 'lost' is not a submission state",
        ("--period", "2026-13"): "--period '2026-13' is not a period",
        ("--limit", "0"): "--limit 0",
    }
    for args, text in cases.items():
        result = run_cli("submissions", "list", *args)
        assert result.code == ExitCode.USAGE, (args, result.stderr)
        assert text in result.stderr and len(result.stderr.strip().splitlines()) == 1
    bad_inn = run_cli("submissions", "list", "--client", "123")
    assert bad_inn.code == ExitCode.VALIDATION and "--client INN '123'" in bad_inn.stderr


def test_show_renders_the_protocol_errors_of_a_rejected_report(logged_in: Sandbox) -> None:
    sub = file_report(logged_in, "2026-07", payable="50.00").submission
    data = as_json(run_cli("submissions", "show", sub.id, "--json"))
    assert data["id"] == sub.id and data["status"] == "rejected"
    assert data["protocol"]["verdict"] == "rejected" and data["protocol"]["errors"]
    plain = ok(run_cli("submissions", "show", sub.id)).stdout
    assert f"id\t{sub.id}" in plain and "verdict\trejected" in plain
    assert "\nerror\t" in plain  # one key/value line per protocol error


def test_unknown_submission_is_not_found_exit_9(logged_in: Sandbox) -> None:
    for command in ("show", "receipts"):
        result = run_cli("submissions", command, "sub_doesnotexist")
        assert result.code == ExitCode.NOT_FOUND, result.stderr
        assert result.stderr.startswith("error: ") and "sub_doesnotexist" in result.stderr
    data = json.loads(run_cli("submissions", "show", "sub_nope", "--json").stdout)
    assert data["error"]["exit_code"] == ExitCode.NOT_FOUND


def test_receipts_are_listed_with_verified_operator_signatures(logged_in: Sandbox) -> None:
    sub = file_report(logged_in, "2026-08").submission
    items = as_json(run_cli("submissions", "receipts", sub.id, "--json"))
    assert [r["kind"] for r in items] == ["delivery", "protocol"]
    for receipt in items:
        assert receipt["signature"]["verified"] is True
        assert receipt["signature"]["chains_to_root"] is True
    assert items[0]["document"]["submission_id"] == sub.id
    plain = ok(run_cli("submissions", "receipts", sub.id)).stdout
    assert "delivery\toperator" in plain and "verified (" in plain


def test_download_writes_receipts_signatures_and_manifest_atomically(
    logged_in: Sandbox, tmp_path: Path
) -> None:
    sub = file_report(logged_in, "2026-09").submission
    out = tmp_path / "evidence"
    data = as_json(run_cli("submissions", "download", sub.id, "--out", str(out), "--json"))
    folder = out / sub.id
    assert data["folder"] == str(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["submission_id"] == sub.id
    receipts = sorted((folder / "receipts").glob("*.json"))
    assert len(receipts) == 2
    for document in receipts:
        signature = document.with_name(document.name + ".p7s").read_bytes()
        verify_detached(signature, document.read_bytes())  # the saved pair verifies offline
    for entry in manifest["files"]:
        assert hashlib.sha256((folder / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]
    assert json.loads((folder / "submission.json").read_text())["id"] == sub.id
    # filed outside sochi: no local copy, so the report and its signature as filed come from
    # the operator (GET /submissions/{id}/report|signature), checked against the digests
    assert data["missing"] == []
    fetched = {e["kind"]: e for e in manifest["files"] if e["kind"].startswith("operator ")}
    assert set(fetched) == {"operator file", "operator signature"}
    assert fetched["operator file"]["sha256"] == sub.report.sha256  # type: ignore[union-attr]
    report = folder / fetched["operator file"]["path"]
    verify_detached(
        (folder / fetched["operator signature"]["path"]).read_bytes(), report.read_bytes()
    )
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no staging left
    kept = run_cli("submissions", "download", sub.id, "--out", str(out))
    assert kept.code == 2 and "already exists" in kept.stderr and "--force" in kept.stderr
    again = run_cli("submissions", "download", sub.id, "--out", str(out), "--force")
    assert ok(again).stdout.splitlines()[0] == str(folder / "submission.json")
    assert "verified (" in again.stderr and "chains to the Main CA" in again.stderr


def test_download_adds_the_report_and_signature_from_the_local_archive(
    logged_in: Sandbox, tmp_path: Path
) -> None:
    ok(run_cli("sandbox", "sample-reports", "--out", str(tmp_path / "in"), "--clients", "1"))
    report = next((tmp_path / "in").glob("*.xml"))
    ok(run_cli("submit", str(report), "--wait"))
    filed = as_json(run_cli("submissions", "list", "--client", "00101202000000", "--json"))
    sub_id = filed[-1]["id"]
    data = as_json(run_cli("submissions", "download", sub_id, "--out", str(tmp_path), "--json"))
    assert data["missing"] == []
    folder = tmp_path / sub_id
    saved = folder / report.name
    assert saved.read_bytes() == report.read_bytes()
    verify_detached(saved.with_name(report.name + ".p7s").read_bytes(), saved.read_bytes())
