"""The content-addressed archive: put, dedup, index, export (dir and zip), verify."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.errors import NotFound
from sochi_cli.store.archive import Archive, ObjectKind, Target
from sochi_cli.store.journal import Journal

CLIENT = "02010201910123"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Journal(tmp_path / "profile" / "journal.sqlite3") as journal:
        yield Archive(journal)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_one_report(
    archive: Archive, tmp_path: Path, client: str = CLIENT, period: str = "2026-10"
):
    report = tmp_path / f"{client}-{period}.xml"
    report.write_bytes(f"<report>{client}{period}</report>".encode())
    target = Target(
        submission_id=f"sub_{client}_{period}",
        client_inn=client,
        form="STI-077",
        period=period,
        correction=0,
    )
    archive.put_file(report, ObjectKind.REPORT, target)
    archive.put_bytes(
        b"signature " + report.read_bytes(),
        ObjectKind.SIGNATURE,
        target,
        filename=report.name + ".p7s",
    )
    archive.put_bytes(
        b'{"type": "delivery_receipt"}' + client.encode(),
        ObjectKind.RECEIPT,
        target,
        filename="rcp_1.json",
    )
    archive.put_bytes(
        b"receipt signature" + client.encode(),
        ObjectKind.RECEIPT_SIGNATURE,
        target,
        filename="rcp_1.json.p7s",
    )
    return report


def test_objects_are_stored_by_digest_and_deduplicated(archive: Archive) -> None:
    data = b"<report>same bytes</report>"
    first = archive.put_bytes(data, ObjectKind.REPORT, Target(client_inn=CLIENT))
    again = archive.put_bytes(data, ObjectKind.REPORT, Target(client_inn=CLIENT))
    other = archive.put_bytes(data, ObjectKind.ATTACHMENT, Target(client_inn=CLIENT))
    path = archive.object_path(sha(data))
    assert path == archive.root / "objects" / sha(data)[:2] / sha(data)[2:]
    assert path.read_bytes() == data and path.stat().st_mode & 0o777 == 0o600
    assert first == again and other.id != first.id  # one file, two meanings
    assert len(list((archive.root / "objects").rglob("*"))) == 2  # one dir + one file
    assert archive.read(sha(data)) == data
    assert first.size == len(data) and first.kind == "report"


def test_a_damaged_object_is_rewritten_when_stored_again(archive: Archive) -> None:
    data = b"<report>heal me</report>"
    archive.put_bytes(data, ObjectKind.REPORT)
    archive.object_path(sha(data)).write_bytes(b"<report>heal ME</report>")
    archive.put_bytes(data, ObjectKind.REPORT)
    assert archive.read(sha(data)) == data


def test_entries_filter_by_client_period_form_and_kind(archive: Archive, tmp_path: Path) -> None:
    file_one_report(archive, tmp_path)
    file_one_report(archive, tmp_path, period="2026-11")
    file_one_report(archive, tmp_path, client="00203202010077")
    assert len(archive.entries()) == 12
    assert len(archive.entries(client=CLIENT)) == 8
    assert len(archive.entries(client=CLIENT, period="2026-11")) == 4
    assert len(archive.entries(form="sti-077", kind="report")) == 3
    assert archive.entries(form="SF-001") == []


def test_submission_id_links_objects_archived_before_sending(archive: Archive) -> None:
    archive.put_bytes(b"sig", ObjectKind.SIGNATURE, Target(item_id=None))
    with archive.journal.transaction() as db:
        db.execute(
            "INSERT INTO batches (id, created_at, updated_at, command, profile, api_url, status,"
            " plan_digest) VALUES (1, 'now', 'now', 'c', 'p', 'u', 'open', 'd')"
        )
        db.execute(
            "INSERT INTO items (id, batch_id, seq, idempotency_key, source_path, file_sha256,"
            " file_size, client_inn, form, period, correction, stage, state, created_at,"
            " updated_at) VALUES (7, 1, 1, 'k', 'f', 's', 1, 'c', 'STI-077', '2026-10', 0,"
            " 'plan', 'planned', 'now', 'now')"
        )
    archive.put_bytes(b"report", ObjectKind.REPORT, Target(item_id=7))
    archive.link_submission(7, "sub_7")
    assert [e.submission_id for e in archive.entries(item_id=7)] == ["sub_7"]


def test_export_to_a_directory_is_browsable_with_a_manifest(
    archive: Archive, tmp_path: Path
) -> None:
    report = file_one_report(archive, tmp_path)
    file_one_report(archive, tmp_path, client="00203202010077")
    out = tmp_path / "export"
    result = archive.export(out, client=CLIENT)
    folder = out / CLIENT / "2026-10" / "STI-077"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [report.name, report.name + ".p7s", "rcp_1.json", "rcp_1.json.p7s"]
    )
    assert (folder / report.name).read_bytes() == report.read_bytes()
    manifest = json.loads((out / "manifest.json").read_text())
    assert result.files == 5 and len(manifest["files"]) == 4
    for entry in manifest["files"]:
        assert sha((out / entry["path"]).read_bytes()) == entry["sha256"]
    assert not (out / "00203202010077").exists()


def test_export_to_a_zip_holds_the_same_layout(archive: Archive, tmp_path: Path) -> None:
    report = file_one_report(archive, tmp_path)
    out = tmp_path / "out" / "archive.zip"
    archive.export(out, period="2026-10")
    with zipfile.ZipFile(out) as zf:
        names = set(zf.namelist())
        assert f"{CLIENT}/2026-10/STI-077/{report.name}" in names and "manifest.json" in names
        manifest = json.loads(zf.read("manifest.json"))
        for entry in manifest["files"]:
            assert sha(zf.read(entry["path"])) == entry["sha256"]
    assert [p.name for p in out.parent.iterdir()] == ["archive.zip"]  # no temp file left


def test_same_name_for_different_objects_gets_the_digest_prefix(
    archive: Archive, tmp_path: Path
) -> None:
    target = Target(client_inn=CLIENT, form="STI-077", period="2026-10")
    archive.put_bytes(b"one", ObjectKind.REPORT, target, filename="r.xml")
    archive.put_bytes(b"two", ObjectKind.REPORT, target, filename="r.xml")
    archive.export(tmp_path / "x")
    names = sorted(p.name for p in (tmp_path / "x" / CLIENT / "2026-10" / "STI-077").iterdir())
    assert names == sorted(["r.xml", f"r-{sha(b'two')[:8]}.xml"])


def test_export_of_nothing_is_not_found(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="nothing archived matches"):
        archive.export(tmp_path / "x", client=CLIENT)


def test_verify_finds_corrupt_and_missing_objects(archive: Archive, tmp_path: Path) -> None:
    file_one_report(archive, tmp_path)
    assert archive.verify().ok and archive.verify().checked == 4
    entries = archive.entries(client=CLIENT)
    corrupt, missing = entries[0].sha256, entries[1].sha256
    path = archive.object_path(corrupt)
    path.write_bytes(path.read_bytes()[:-1] + b"!")
    archive.object_path(missing).unlink()
    check = archive.verify()
    assert not check.ok and check.checked == 4
    assert check.corrupt == [corrupt] and check.missing == [missing]
    with pytest.raises(NotFound, match="missing"):
        archive.export(tmp_path / "x")


def test_unwritable_archive_is_a_clear_error(tmp_path: Path) -> None:
    from sochi_cli.store.journal import StorageError

    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the archive should be")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        archive = Archive(journal, root=blocker / "archive")
        with pytest.raises(StorageError) as caught:
            archive.put_bytes(b"report", ObjectKind.REPORT)
        assert caught.value.one_line().startswith(f"cannot write the archive at {blocker}/archive/")
        assert archive.entries() == []  # not indexed: the index never points at nothing


def test_verify_lists_files_no_index_names_and_leftover_temporary_files(
    archive: Archive,
) -> None:
    entry = archive.put_bytes(b"indexed", ObjectKind.REPORT, Target(client_inn="1"))
    stray = b"written, never indexed (a killed run)"
    sha, _ = archive.write_unsynced([stray])
    folder = archive.object_path(entry.sha256).parent
    (folder / ".obj.123.tmp").write_bytes(b"half")
    (archive.root / "objects" / "notes.txt").write_text("not an object")
    check = archive.verify()
    assert check.checked == 1 and not check.missing and not check.corrupt
    assert sorted(check.unindexed) == sorted([f"{sha[0][:2]}/{sha[0][2:]}", "notes.txt"])
    assert check.temporary == [f"{entry.sha256[:2]}/.obj.123.tmp"] and not check.ok
    assert archive.unindexed_objects() == [f"{sha[0][:2]}/{sha[0][2:]}"]


def test_unindexed_objects_are_set_aside_only_when_old_enough(archive: Archive) -> None:
    import os
    import time

    (sha,), _ = archive.write_unsynced([b"orphan"])
    assert archive.set_aside_unindexed(min_age=600) == []  # may be a write in progress
    old = time.time() - 3600
    os.utime(archive.object_path(sha), (old, old))
    name = f"{sha[:2]}/{sha[2:]}"
    assert archive.set_aside_unindexed(min_age=600) == [name]
    assert (archive.root / "unindexed" / name).read_bytes() == b"orphan"
    assert archive.verify().ok


def test_signatures_not_filed_are_marked_superseded(archive: Archive) -> None:
    from tests.batch.factory import plan_item

    journal = archive.journal
    start = journal.start_batch([plan_item(1)], profile="p", api_url="u", command="t")
    (item,) = journal.batch_items(start.batch.id)
    mine = archive.put_bytes(b"my signature", ObjectKind.SIGNATURE, Target(item_id=item.id))
    filed = archive.put_bytes(b"the filed one", ObjectKind.SIGNATURE, Target(item_id=item.id))
    assert archive.supersede_signatures(item.id, {filed.sha256}) == [mine.sha256]
    kinds = {e.sha256: e.kind for e in archive.entries(item_id=item.id)}
    assert kinds == {mine.sha256: "superseded_signature", filed.sha256: "signature"}
