"""The journal is checked before it is trusted, opened read-only for inspection, and keeps
file names that are not UTF-8 exactly."""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from sochi_cli.store.audit import AuditLog
from sochi_cli.store.journal import (
    Journal,
    JournalDamaged,
    StorageError,
    check_integrity,
    journal_path,
)
from tests.batch.factory import plan_item
from tests.reliability.unprivileged import Nobody, unprivileged_user


def filled(path: Path, items: int = 400) -> None:
    with Journal(path) as journal:
        journal.start_batch(
            [plan_item(n) for n in range(items)], profile="p", api_url="u", command="t"
        )
        AuditLog(journal).append("batch.start", {"items": items})


def damage(path: Path, pages: int = 5, seed: int = 1) -> None:
    rng = random.Random(seed)
    total = path.stat().st_size // 4096
    with open(path, "r+b") as fh:
        for page in rng.sample(range(2, total), pages):
            fh.seek(page * 4096)
            fh.write(rng.randbytes(4096))


def test_check_integrity_says_ok_damaged_missing_or_empty(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    assert check_integrity(path).state == "missing"
    path.write_bytes(b"")
    assert check_integrity(path).state == "empty"
    path.unlink()
    filled(path)
    report = check_integrity(path)
    assert report.ok and report.schema and not report.problems
    assert check_integrity(path, full=True).to_json()["check"] == "integrity_check"
    damage(path)
    broken = check_integrity(path)
    assert broken.state == "damaged" and broken.problems and not broken.ok
    assert check_integrity(path, full=True).state == "damaged"


def test_a_damaged_journal_is_refused_when_opened_for_writing_or_reading(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    filled(path)
    damage(path)
    before = path.read_bytes()
    for readonly in (False, True):
        with pytest.raises(JournalDamaged) as caught:
            Journal(path, readonly=readonly)
        assert caught.value.code == "journal_damaged" and caught.value.exit_code == 10
        assert caught.value.message.startswith(f"the journal at {path} is damaged (")
        assert "sochi archive reconcile" in (caught.value.hint or "")
    assert path.read_bytes() == before  # refusing it changed nothing


def test_a_folder_where_the_journal_should_be_is_a_damaged_journal(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.mkdir()  # not "no journal" (exit 9): it is there, and it is not one
    for readonly in (False, True):
        with pytest.raises(JournalDamaged, match=r"is damaged \(it is not a file\)"):
            Journal(path, readonly=readonly)
    assert check_integrity(path).state == "damaged"


def test_reading_migrates_nothing_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    filled(path)
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version = 1")  # an older schema
    db.close()
    before = path.read_bytes()
    with Journal(path, readonly=True) as journal:
        assert journal.schema == 1 and len(journal.batches()) == 1
        with pytest.raises(StorageError, match="read-only"):
            journal.set_value("x", "y")
    assert path.read_bytes() == before  # (SQLite may add its -wal/-shm beside it)


def test_a_file_name_that_is_not_utf8_round_trips_through_the_journal(tmp_path: Path) -> None:
    name = os.fsdecode(b"/reports/b\xe9.xml")
    with Journal(tmp_path / "journal.sqlite3") as journal:
        start = journal.start_batch(
            [plan_item(1, source=Path(name))],
            profile="p",
            api_url="u",
            command=f"sochi submit {name}",
        )
        (item,) = journal.batch_items(start.batch.id)
        assert item.source_path == name and os.fsencode(item.source_path) == b"/reports/b\xe9.xml"
        assert journal.batch(start.batch.id).command == "sochi submit /reports/b\\xe9.xml"


@pytest.fixture
def nobody() -> Iterator[Nobody]:
    yield from unprivileged_user()


@pytest.mark.parametrize("layout", ["checkpointed", "wal+shm", "wal only"])
def test_a_read_only_copy_is_readable_whatever_state_its_wal_is_in(
    tmp_path: Path, nobody: Nobody, layout: str
) -> None:
    source = tmp_path / "journal.sqlite3"
    filled(source, items=3)
    copy = nobody.home / "data" / "profiles" / "sandbox"
    copy.mkdir(parents=True)
    if layout == "checkpointed":
        shutil.copyfile(source, copy / source.name)
    else:  # a second batch that lives only in the WAL while a writer holds it open
        writer = sqlite3.connect(source, isolation_level=None)
        writer.execute("SELECT COUNT(*) FROM batches").fetchone()  # holds the WAL open
        with Journal(source) as journal:
            journal.start_batch([plan_item(9)], profile="p", api_url="u", command="in the wal")
        for suffix in ("", "-wal") + (("-shm",) if layout == "wal+shm" else ()):
            shutil.copyfile(f"{source}{suffix}", f"{copy / source.name}{suffix}")
        writer.close()
        assert (copy / "journal.sqlite3-wal").stat().st_size > 0
    nobody.give(nobody.home / "data")
    for folder, _dirs, files in os.walk(nobody.home / "data", topdown=False):
        for name in files:
            os.chmod(os.path.join(folder, name), 0o400)
        os.chmod(folder, 0o500)
    result = nobody.run("--json", "batch", "list")
    assert result.code == 0, result.stderr
    commands = [b["command"] for b in json.loads(result.stdout)]
    assert commands == (["t"] if layout == "checkpointed" else ["in the wal", "t"])
    assert sorted(p.name for p in copy.iterdir()) == sorted(
        ["journal.sqlite3"]
        + ([] if layout == "checkpointed" else ["journal.sqlite3-wal"])
        + (["journal.sqlite3-shm"] if layout == "wal+shm" else [])
    )


def test_profile_journal_path_is_where_the_readers_look() -> None:
    assert Journal.reader("sandbox") is None
    filled(journal_path("sandbox"))
    reader = Journal.reader("sandbox")
    assert reader is not None and reader.readonly
    reader.close()


def test_the_scan_is_skipped_only_for_a_file_exactly_as_a_checked_run_left_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.store import journal as module

    scans: list[bool] = []
    real = module._run_check
    monkeypatch.setattr(module, "_run_check", lambda db, full: scans.append(full) or real(db, full))
    path = tmp_path / "journal.sqlite3"
    filled(path)  # created, checked, written, closed cleanly: stamped
    scans.clear()
    with Journal(path) as journal:
        AuditLog(journal).append("more", {})
    with Journal(path, readonly=True):
        pass
    assert scans == []  # unchanged since sochi last had it open: no scan
    os.utime(path)  # anything else touched it (a copy, an editor, dd…)
    Journal(path, readonly=True).close()  # a reader checks (and stamps where it can)
    Journal(path).close()
    assert scans == [False]
    os.utime(path)
    Journal(path).close()  # a writer checks, then stamps
    Journal(path).close()
    assert scans == [False, False]
    killed = Journal(path)  # a run that dies without closing leaves the stamp stale
    AuditLog(killed).append("unfinished", {})
    Journal(path).close()
    assert scans == [False, False, False]
    killed.close()
