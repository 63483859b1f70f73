"""kill -9 during `sochi archive reconcile` and `sochi backup`: nothing is ever half-written.

Each trial kills the command at a random moment, then looks at what it left: the journal
passes SQLite's check, every indexed object is on disk and intact, every journaled filing
has its report, signature and receipt archived; a backup file is complete or absent. A
final run settles everything. Bounded: 5 kills per command, about half a minute each.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sochi_cli.services.backup import check_backup
from sochi_cli.services.records import verify_archive
from sochi_cli.store.archive import Archive
from sochi_cli.store.journal import FILED_STATES, Journal, check_integrity, journal_path
from tests.batch.operator import Operator, access_token, write_reports
from tests.reliability.conftest import BATCH
from tests.support import run_sochi

TRIALS = 5


def _start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "sochi_cli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _wait_for(condition: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not condition():
        time.sleep(0.005)


def _journaled(period: str) -> int:
    """Items of `period` in the journal now, read without disturbing the writer."""
    path = journal_path("sandbox")
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1)
        try:
            return int(
                db.execute("SELECT COUNT(*) FROM items WHERE period = ?", (period,)).fetchone()[0]
            )
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _settled_items(period: str) -> int:
    """Journaled filings of `period`, each checked to have its files archived and intact."""
    path = journal_path("sandbox")
    report = check_integrity(path)
    assert report.state in ("ok", "missing"), report.problems
    if report.state == "missing":
        return 0
    check = verify_archive("sandbox")
    assert not check.missing and not check.corrupt and not check.problems, check.to_json()
    with Journal(path, readonly=True) as journal:
        archive = Archive(journal)
        rows = journal.query("SELECT id, state FROM items WHERE period = ?", (period,))
        for row in rows:
            assert row["state"] in FILED_STATES, dict(row)
            kinds = {e.kind for e in archive.entries(item_id=int(row["id"]))}
            assert {"report", "signature", "receipt", "receipt_signature"} <= kinds, kinds
    return len(rows)


def test_kill_9_during_archive_reconcile_leaves_nothing_half_written(
    op: Operator, tmp_path: Path
) -> None:
    period = "2021-01"
    write_reports(tmp_path, count=BATCH, period=period)
    assert run_sochi("submit", str(tmp_path), "--no-wait", timeout=180).code == 0
    path = journal_path("sandbox")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)  # the journal is lost

    rng = random.Random(13)
    mid_way = 0
    for trial in range(TRIALS):
        before = _journaled(period)
        proc = _start("archive", "reconcile", "--period", period)
        try:
            if trial % 2 == 0:  # anywhere: start-up, listing, the first settlements
                time.sleep(rng.uniform(0.2, 2.0))
            else:  # once it has settled a few more, a moment later
                _wait_for(lambda: _journaled(period) >= before + 5, proc)
                time.sleep(rng.uniform(0, 0.1))
        finally:
            _kill(proc)
        settled = _settled_items(period)
        mid_way += 0 < settled < BATCH

    final = run_sochi("--json", "archive", "reconcile", "--period", period, timeout=180)
    assert final.code == 0, final.stderr
    outcome = json.loads(final.stdout)
    assert len(outcome["recovered"]) + outcome["complete"] == BATCH
    assert _settled_items(period) == BATCH
    assert run_sochi("archive", "verify").code == 0
    assert run_sochi("audit", "verify").code == 0
    assert len(op.submissions(access_token(), period)) == BATCH  # nothing filed again
    assert mid_way >= 1, "no kill landed while reconcile was settling submissions"
    # the rerun resumed what a killed run left and closed it: nothing stays `interrupted`
    batches = json.loads(run_sochi("batch", "list", "--json", timeout=60).stdout)
    reconciles = [b for b in batches if "archive reconcile" in b["command"]]
    assert reconciles and not {b["status"] for b in reconciles} & {"interrupted", "running"}
    assert sum(b["item_count"] for b in reconciles) == BATCH  # each filing recorded once


def test_kill_9_during_backup_leaves_the_file_complete_or_absent(
    op: Operator, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    write_reports(reports, count=BATCH, period="2021-02")
    assert run_sochi("submit", str(reports), "--wait", timeout=180).code == 0
    out = tmp_path / "out"
    out.mkdir()
    dest = out / "sochi.zip"

    rng = random.Random(17)
    caught_writing = 0

    def writing() -> bool:
        return any(p.name.endswith(".partial") for p in out.iterdir())

    for trial in range(TRIALS):
        proc = _start("backup", str(dest), "--force")
        try:
            if trial % 2 == 0:  # anywhere: start-up, the snapshot, the copying
                time.sleep(rng.uniform(0.1, 1.0))
            else:  # while the file is being written
                _wait_for(writing, proc)
                time.sleep(rng.uniform(0, 0.03))
            caught_writing += writing()
        finally:
            _kill(proc)
        if dest.exists():  # a file left there is a whole backup (this run's or an earlier)
            assert check_backup(dest).ok
        assert check_integrity(journal_path("sandbox")).ok

    assert run_sochi("backup", str(dest), "--force").code == 0
    assert check_backup(dest).ok
    assert sorted(p.name for p in out.iterdir()) == ["sochi.zip"]  # leftovers cleaned up
    assert caught_writing >= 1, "no kill landed while the backup was being written"

    # and a backup taken while a batch is running is consistent
    more = tmp_path / "more"
    write_reports(more, count=BATCH, period="2021-03")
    batch = _start("submit", str(more), "--no-wait")
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not op.submissions(access_token(), "2021-03"):
            time.sleep(0.05)
        during = run_sochi("backup", str(out / "during.zip"))
    finally:
        batch.wait(timeout=180)
    assert during.code == 0, during.stderr
    assert check_backup(out / "during.zip").ok
