"""`sochi backup` / `sochi restore`: a consistent snapshot, verified before it is put back."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from sochi_cli.errors import UsageError, ValidationFailed
from sochi_cli.services.backup import backup, check_backup, restore
from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.audit import AuditLog
from sochi_cli.store.journal import Journal, journal_path
from tests.batch.factory import plan_item
from tests.store.test_journal_durability import ENV, ROOT, WRITER
from tests.support import run_cli


def seeded(reports: int = 5) -> list[str]:
    with Journal.for_profile("sandbox") as journal:
        archive, audit = Archive(journal), AuditLog(journal)
        journal.start_batch(
            [plan_item(n) for n in range(reports)], profile="sandbox", api_url="u", command="t"
        )
        shas = []
        for n in range(reports):
            target = Target(client_inn="02010201910123", period=f"2026-{n + 1:02d}", form="STI-077")
            for kind in (ObjectKind.REPORT, ObjectKind.SIGNATURE):
                entry = archive.put_bytes(f"{kind} {n}".encode() * 50, kind, target)
                shas.append(entry.sha256)
            audit.append("submission.sent", {"n": n})
        return shas


def test_backup_then_restore_into_an_empty_profile_round_trips(tmp_path: Path) -> None:
    shas = seeded()
    made = backup("sandbox", tmp_path / "b.zip")
    assert made.objects == len(shas) and (tmp_path / "b.zip").stat().st_mode & 0o777 == 0o600
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        names = set(zf.namelist())
    assert {"sochi-backup.json", "journal.sqlite3"} <= names and "session.json" not in names
    with Journal.reader("sandbox") as journal:  # the backup is in the audit log
        (record,) = AuditLog(journal).records(action="backup.create")
    assert record.details["sha256"] == made.sha256
    data = journal_path("sandbox").parent
    for path in sorted(data.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    result = restore("sandbox", tmp_path / "b.zip")
    assert result.added_objects == len(shas) and result.replaced is None
    assert run_cli("archive", "verify").code == 0
    verified = run_cli("--json", "audit", "verify")
    assert verified.code == 0 and json.loads(verified.stdout)["records"] == 6
    listed = json.loads(run_cli("--json", "audit", "list", "--action", "backup").stdout)
    assert [r["action"] for r in listed] == ["backup.restore"]


def test_restore_keeps_the_journal_it_replaces_and_asks_first(tmp_path: Path) -> None:
    seeded()
    backup("sandbox", tmp_path / "b.zip")
    with Journal.for_profile("sandbox") as journal:
        AuditLog(journal).append("after.backup", {})
    with pytest.raises(UsageError, match="restoring replaces it"):
        restore("sandbox", tmp_path / "b.zip")
    result = restore("sandbox", tmp_path / "b.zip", force=True)
    assert result.replaced is not None and result.replaced.exists()
    with Journal(result.replaced, readonly=True) as old:
        assert [r.action for r in AuditLog(old).records()][-1] == "after.backup"
    with Journal.reader("sandbox") as journal:
        actions = [r.action for r in AuditLog(journal).records()]
    assert actions[-1] == "backup.restore" and "after.backup" not in actions


def test_a_damaged_or_incomplete_backup_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    shas = seeded()
    backup("sandbox", tmp_path / "b.zip")
    before = journal_path("sandbox").read_bytes()
    raw = bytes((tmp_path / "b.zip").read_bytes())
    with zipfile.ZipFile(tmp_path / "b.zip") as zf:
        members = [i for i in zf.infolist() if i.compress_size > 8]
    for info in members:  # one bit flipped in the middle of each member's stored data
        name_length, extra_length = struct.unpack("<HH", raw[info.header_offset + 26 :][:4])
        start = info.header_offset + 30 + name_length + extra_length
        flipped = bytearray(raw)
        flipped[start + info.compress_size // 2] ^= 0x01
        (tmp_path / "flipped.zip").write_bytes(flipped)
        assert not check_backup(tmp_path / "flipped.zip").ok, info.filename
    (tmp_path / "cut.zip").write_bytes(raw[: len(raw) // 2])
    with (
        zipfile.ZipFile(tmp_path / "b.zip") as src,
        zipfile.ZipFile(tmp_path / "missing.zip", "w") as dst,
    ):
        for info in src.infolist():
            if not info.filename.endswith(shas[0][2:]):
                dst.writestr(info, src.read(info))
    for name, words in (
        ("flipped.zip", "damaged"),
        ("cut.zip", "not a sochi backup"),
        ("missing.zip", f"archive object {shas[0]} is indexed but not in the backup"),
    ):
        with pytest.raises(ValidationFailed, match=words):
            if name == "cut.zip":
                check_backup(tmp_path / name)
            else:
                restore("sandbox", tmp_path / name, force=True)
    assert not check_backup(tmp_path / "missing.zip").ok
    assert journal_path("sandbox").read_bytes() == before


def test_a_backup_refuses_an_archive_object_that_is_missing(tmp_path: Path) -> None:
    shas = seeded()
    with Journal.for_profile("sandbox") as journal:
        Archive(journal).object_path(shas[3]).unlink()
    with pytest.raises(ValidationFailed, match=f"archive object {shas[3]} is missing"):
        backup("sandbox", tmp_path / "b.zip")
    assert not (tmp_path / "b.zip").exists() and list(tmp_path.iterdir()) == []


def test_a_backup_taken_while_a_writer_churns_is_consistent(tmp_path: Path) -> None:
    seeded()
    churn = subprocess.Popen(
        [*WRITER, "churn", str(journal_path("sandbox"))],
        cwd=ROOT,
        env=ENV,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert churn.stdout is not None and churn.stdout.readline().strip() == "ready"
        for n in range(3):
            time.sleep(0.3)
            backup("sandbox", tmp_path / f"b{n}.zip")
    finally:
        churn.kill()
        churn.wait(timeout=30)
    for n in range(3):
        check = check_backup(tmp_path / f"b{n}.zip")
        assert check.ok, check.problems
    counts = []
    for n in range(3):
        with zipfile.ZipFile(tmp_path / f"b{n}.zip") as zf:
            (tmp_path / f"j{n}.sqlite3").write_bytes(zf.read("journal.sqlite3"))
        with Journal(tmp_path / f"j{n}.sqlite3", readonly=True) as copy:
            counts.append(copy.query("SELECT COUNT(*) FROM items WHERE state = 'received'")[0][0])
    assert counts == sorted(counts) and counts[-1] > counts[0]  # the writer went on meanwhile


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    seeded()
    made = run_cli("--json", "backup", str(tmp_path / "b.zip"))
    assert made.code == 0 and json.loads(made.stdout)["objects"] == 10
    again = run_cli("backup", str(tmp_path / "b.zip"))
    assert again.code == 2 and "exists" in again.stderr
    checked = run_cli("restore", str(tmp_path / "b.zip"), "--check")
    assert checked.code == 0 and "backup ok: profile sandbox" in checked.stderr
    refused = run_cli("restore", str(tmp_path / "b.zip"))
    assert refused.code == 2 and "--force" in refused.stderr
    assert run_cli("restore", str(tmp_path / "b.zip"), "--force").code == 0
    missing = run_cli("restore", str(tmp_path / "nope.zip"), "--check")
    assert missing.code == 9
    assert sys.platform != "win32"


def test_restore_check_of_a_foreign_zip_says_why_on_stderr_and_in_json(tmp_path: Path) -> None:
    foreign = tmp_path / "photos.zip"
    with zipfile.ZipFile(foreign, "w") as zf:
        zf.writestr("IMG_0001.jpg", b"not a backup")
    line = (
        f"error: {foreign} fails verification: not a sochi backup: the ZIP file has no "
        "sochi-backup.json — nothing was changed\n"
    )
    plain = run_cli("restore", str(foreign), "--check")
    assert (plain.code, plain.stderr) == (4, line)
    as_json = run_cli("--json", "restore", str(foreign), "--check")
    assert as_json.code == 4 and as_json.stderr == line
    document = json.loads(as_json.stdout)
    assert document["ok"] is False and document["problems"] == [
        "not a sochi backup: the ZIP file has no sochi-backup.json"
    ]
    assert document["error"]["code"] == "backup_invalid"
    assert document["error"]["exit_code"] == 4
    assert document["error"]["message"] == line.removeprefix("error: ").split(" — ")[0]
