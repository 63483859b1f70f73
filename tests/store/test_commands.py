"""`sochi archive …` and `sochi audit …` through the real CLI, plain and JSON."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.audit import Actor, AuditLog
from sochi_cli.store.journal import Journal
from tests.support import run_cli

CLIENT = "02010201910123"


def seed_archive() -> list[str]:
    with Journal.for_profile("sandbox") as journal:
        archive = Archive(journal)
        digests = []
        for period in ("2026-09", "2026-10"):
            target = Target(
                submission_id=f"sub_{period}",
                client_inn=CLIENT,
                form="STI-077",
                period=period,
                correction=0,
            )
            for kind, name, data in (
                (ObjectKind.REPORT, "r.xml", f"<report>{period}</report>".encode()),
                (ObjectKind.SIGNATURE, "r.xml.p7s", f"sig {period}".encode()),
            ):
                digests.append(archive.put_bytes(data, kind, target, filename=name).sha256)
        return digests


def test_archive_commands_on_an_empty_profile() -> None:
    listed = run_cli("archive", "list")
    assert listed.code == 0 and listed.stdout == "" and "nothing archived" in listed.stderr
    assert json.loads(run_cli("--json", "archive", "list").stdout) == []
    verified = run_cli("archive", "verify", "--json")
    assert verified.code == 0 and json.loads(verified.stdout)["ok"] is True


def test_archive_list_plain_and_json() -> None:
    seed_archive()
    plain = run_cli("archive", "list", "--period", "2026-10")
    assert plain.code == 0
    lines = [line.split("\t") for line in plain.stdout.splitlines()]
    assert [(row[0], row[1], row[2], row[3], row[4]) for row in lines] == [
        (CLIENT, "2026-10", "STI-077", "report", "r.xml"),
        (CLIENT, "2026-10", "STI-077", "signature", "r.xml.p7s"),
    ]
    data = json.loads(run_cli("archive", "list", "--kind", "report", "--json").stdout)
    assert [e["period"] for e in data] == ["2026-09", "2026-10"]


def test_archive_export_zip_and_dir(tmp_path: Path) -> None:
    seed_archive()
    result = run_cli("archive", "export", "--client", CLIENT, "--out", str(tmp_path / "a.zip"))
    assert result.code == 0 and "exported 5 files" in result.stderr
    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        assert f"{CLIENT}/2026-09/STI-077/r.xml.p7s" in zf.namelist()
    as_json = run_cli(
        "--json", "archive", "export", "--period", "2026-09", "--out", str(tmp_path / "d")
    )
    assert json.loads(as_json.stdout)["files"] == 3
    assert (tmp_path / "d" / CLIENT / "2026-09" / "STI-077" / "r.xml").is_file()
    exports = json.loads(run_cli("--json", "audit", "list", "--action", "archive.export").stdout)
    assert [e["details"]["files"] for e in exports] == [5, 3]
    none = run_cli("archive", "export", "--client", "00203202010077", "--out", str(tmp_path / "e"))
    assert none.code == 9 and none.stderr.startswith("error: nothing archived matches")


def test_archive_verify_exits_non_zero_on_damage() -> None:
    digests = seed_archive()
    with Journal.for_profile("sandbox") as journal:
        archive = Archive(journal)
        archive.object_path(digests[0]).write_bytes(b"tampered")
        archive.object_path(digests[1]).unlink()
    plain = run_cli("archive", "verify")
    assert plain.code == 4
    assert plain.stdout.splitlines() == [f"missing\t{digests[1]}", f"corrupt\t{digests[0]}"]
    assert "error: archive damaged: 1 missing, 1 corrupt, 0 unindexed of 4 indexed" in plain.stderr
    as_json = run_cli("archive", "verify", "--json")
    assert as_json.code == 4
    data = json.loads(as_json.stdout)
    assert data["missing"] == [digests[1]] and data["corrupt"] == [digests[0]]


def seed_audit() -> None:
    with Journal.for_profile("sandbox") as journal:
        log = AuditLog(journal)
        actor = Actor(inn=CLIENT, certificate_serial="0a1b", subject="CN=Tester")
        log.append("login", {"certificate_serial": "0a1b"}, actor=actor)
        log.append("submit.send", {"report_sha256": "ab" * 32}, actor=actor)
        log.append("archive.export", {"out": "x.zip"})


def test_audit_list_plain_and_json() -> None:
    seed_audit()
    plain = run_cli("audit", "list", "--action", "submit")
    assert plain.code == 0
    (row,) = [line.split("\t") for line in plain.stdout.splitlines()]
    assert row[0] == "2" and row[2] == "0a1b" and row[3] == "submit.send"
    data = json.loads(run_cli("--json", "audit", "list", "--since", "2000-01-01").stdout)
    assert [r["action"] for r in data] == ["login", "submit.send", "archive.export"]
    assert data[1]["prev_hash"] == data[0]["hash"]
    bad = run_cli("audit", "list", "--since", "yesterday")
    assert bad.code == 2 and "--since" in bad.stderr


def test_audit_verify_names_the_broken_record() -> None:
    seed_audit()
    ok = run_cli("audit", "verify", "--json")
    assert ok.code == 0 and json.loads(ok.stdout)["records"] == 3
    with Journal.for_profile("sandbox") as journal, journal.transaction() as db:
        db.execute("UPDATE audit SET action = 'login.forged' WHERE seq = 2")
    plain = run_cli("audit", "verify")
    assert plain.code == 4 and "ok\tno" in plain.stdout
    assert (
        "error: audit chain broken at record 2: its content does not match its hash" in plain.stderr
    )
    data = json.loads(run_cli("--json", "audit", "verify").stdout)
    assert data["ok"] is False and data["broken_seq"] == 2


def test_audit_on_an_empty_profile() -> None:
    assert run_cli("audit", "verify").code == 0
    assert json.loads(run_cli("audit", "list", "--json").stdout) == []
