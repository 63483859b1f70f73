"""Crash consistency (SIGKILL mid-write), disk full and read-only data directories.

Techniques that work as root (where chmod 0555 stops nothing):
- disk full, portable: RLIMIT_FSIZE in the child with SIGXFSZ ignored, so SQLite's write
  gets EFBIG/short writes exactly as on a full disk;
- disk full, real ENOSPC: a 256 KiB tmpfs mounted in a private user+mount namespace
  (`unshare -rm`), where an unprivileged process is root of its own mounts;
- read-only: the same namespace with the tmpfs remounted `ro` (EROFS even for root), and,
  everywhere, a data dir whose parent is a regular file (ENOTDIR).
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sochi_cli.store.audit import AuditLog
from sochi_cli.store.journal import Journal, StorageError
from tests.store.journal_writer import BATCH_SIZE

ROOT = Path(__file__).resolve().parents[2]
WRITER = [sys.executable, "-m", "tests.store.journal_writer"]
ENV = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}


def _namespaces_available() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", "mount -t tmpfs tmpfs /tmp 2>/dev/null && echo yes"],
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() == "yes"


NAMESPACES = _namespaces_available()


def test_sigkill_mid_write_leaves_a_consistent_journal(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    rng = random.Random(6)
    for _ in range(4):
        child = subprocess.Popen(
            [*WRITER, "churn", str(db)], cwd=ROOT, env=ENV, stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.02, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
    with Journal(db) as journal:
        assert journal.integrity_check() == "ok"
        batches = journal.batches()
        assert len(batches) >= 4
        for batch in batches:  # a batch is created whole or not at all
            assert batch.item_count == BATCH_SIZE
        rows = journal.query(
            "SELECT id, state, in_flight, stage, submission_id, receipt_ids FROM items"
        )
        in_flight = [r for r in rows if r["in_flight"]]
        assert len(in_flight) <= 4  # at most the one step each killed writer was in
        for row in rows:  # no half transition: state and its data move together
            if row["state"] == "received":
                assert row["submission_id"] == f"sub_{row['id']}"
                assert json.loads(row["receipt_ids"]) == [f"rcp_{row['id']}"]
                assert not row["in_flight"]
            else:
                assert row["state"] == "planned" and row["submission_id"] is None
            if row["in_flight"]:
                assert row["stage"] == "send" and row["state"] == "planned"


def _fsize_limit() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))


def test_file_size_limit_is_a_clear_error_and_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    proc = subprocess.run(
        [*WRITER, "fill", str(db)],
        cwd=ROOT,
        env=ENV,
        preexec_fn=_fsize_limit,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    verdict = json.loads(proc.stdout)
    assert verdict["error"].startswith(f"cannot write the journal at {db}: ")
    assert "nothing was lost" in verdict["error"]
    assert verdict["integrity"] == "ok" and verdict["audit_ok"]
    assert verdict["audit_records"] == verdict["committed"] > 0
    with Journal(db) as journal:  # reopened without the limit: everything committed is there
        assert journal.integrity_check() == "ok"
        check = AuditLog(journal).verify()
        assert check.ok and check.records == verdict["committed"]


@pytest.mark.skipif(not NAMESPACES, reason="needs unprivileged user namespaces (unshare -rm)")
def test_real_disk_full_says_so(tmp_path: Path) -> None:
    mount = tmp_path / "small"
    mount.mkdir()
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {mount} && "
        f"exec {' '.join(WRITER)} fill {mount}/journal.sqlite3"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    verdict = json.loads(proc.stdout)
    assert verdict["error"] == (
        f"cannot write the journal at {mount}/journal.sqlite3: disk full — "
        "free space and rerun; nothing was lost"
    )
    assert verdict["integrity"] == "ok" and verdict["audit_ok"]
    assert verdict["audit_records"] == verdict["committed"] and verdict["batch_items"] == 1


@pytest.mark.skipif(not NAMESPACES, reason="needs unprivileged user namespaces (unshare -rm)")
def test_read_only_mount_is_a_clear_error_for_writers_and_fine_for_readers(
    tmp_path: Path,
) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    writer = " ".join(WRITER)
    db = mount / "profiles" / "sandbox" / "journal.sqlite3"
    script = (
        f"mount -t tmpfs tmpfs {mount} && {writer} create {db} && "
        f"mount -o remount,ro {mount} && {writer} write {db} && "
        f"{writer} write {mount}/new/j.sqlite3 && "
        f"SOCHI_DATA_DIR={mount} {sys.executable} -m sochi_cli audit verify; echo rc=$?"
    )
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "ok"
    for line, path in zip(lines[1:3], (db, f"{mount}/new/j.sqlite3"), strict=True):
        assert line.startswith(f"error: cannot write the journal at {path}: read-only — ")
    # inspection opens the journal read-only: it works on the read-only file system
    assert lines[3:5] == ["ok\tyes", "records\t1"] and lines[-1] == "rc=0", proc.stdout
    assert proc.stderr == "", proc.stderr


def test_data_dir_that_cannot_be_created_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the data directory should be")
    monkeypatch.setenv("SOCHI_DATA_DIR", str(blocker / "data"))
    with pytest.raises(StorageError) as caught:
        Journal.for_profile("sandbox")
    line = caught.value.one_line()
    assert line.startswith(f"cannot write the journal at {blocker}/data/profiles/sandbox/")
    assert "not a directory" in line and "SOCHI_DATA_DIR" in line
    assert blocker.read_text() == "a file where the data directory should be"


def test_one_submitting_process_per_profile_and_no_stale_lock(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite3"
    child = subprocess.Popen(
        [*WRITER, "hold", str(db)],
        cwd=ROOT,
        env=ENV,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "locked"
        with Journal(db) as journal:
            with pytest.raises(StorageError) as caught, journal.writer_lock():
                pass
            assert caught.value.code == "journal_busy"
            assert f"pid {child.pid}" in caught.value.message
            child.send_signal(signal.SIGKILL)
            child.wait()
            with journal.writer_lock():  # the dead holder's lock went with it
                pass
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
