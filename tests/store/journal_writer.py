"""Child process for crash and disk-full tests: writes to a journal until killed or refused.

Usage: python -m tests.store.journal_writer MODE DB_PATH
  churn   batches of 200 items, each sent (before/after), forever; prints "ready" once
  fill    audit records of 4 KiB until the disk refuses; prints a JSON verdict
  hold    take the writer lock and wait to be killed
  create  a journal with one batch and one audit record
  write   try one audit append; prints "ok" or the error line
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from sochi_cli.errors import SochiError
from sochi_cli.store.audit import AuditLog
from sochi_cli.store.journal import Journal, Outcome, Stage
from tests.batch.factory import plan_item

BATCH_SIZE = 200


def churn(path: Path) -> None:
    journal = Journal(path)
    base = os.getpid() * 1_000_000
    round_ = 0
    while True:
        items = [plan_item(base + round_ * BATCH_SIZE + i) for i in range(BATCH_SIZE)]
        start = journal.start_batch(items, profile="sandbox", api_url="x", command="churn")
        if round_ == 0:
            print("ready", flush=True)
        for item in journal.batch_items(start.batch.id):
            journal.record_before(item.id, Stage.SEND)
            journal.record_after(
                item.id,
                Stage.SEND,
                Outcome(
                    state="received", submission_id=f"sub_{item.id}", receipt_ids=[f"rcp_{item.id}"]
                ),
            )
        round_ += 1


def hold(path: Path) -> None:
    with Journal(path) as journal, journal.writer_lock():
        print("locked", flush=True)
        sys.stdin.read()  # until the test kills us


def fill(path: Path) -> None:
    committed = 0
    try:
        journal = Journal(path)
        audit = AuditLog(journal)
        start = journal.start_batch([plan_item(1)], profile="sandbox", api_url="x", command="fill")
        while True:
            audit.append("test.fill", {"n": committed, "blob": os.urandom(2048).hex()})
            committed += 1
    except SochiError as err:
        error = err.one_line()
    verdict = {
        "error": error,
        "committed": committed,
        "integrity": journal.integrity_check(),
        "audit_ok": audit.verify().ok,
        "audit_records": audit.verify().records,
        "batch_items": len(journal.batch_items(start.batch.id)),
    }
    print(json.dumps(verdict), flush=True)


def create(path: Path) -> None:
    with Journal(path) as journal:
        journal.start_batch([plan_item(1)], profile="sandbox", api_url="x", command="create")
        AuditLog(journal).append("test.create")
    print("ok", flush=True)


def write(path: Path) -> None:
    try:
        with Journal(path) as journal:
            AuditLog(journal).append("test.write")
    except SochiError as err:
        print(f"error: {err.one_line()}", flush=True)
        return
    print("ok", flush=True)


if __name__ == "__main__":
    mode, db = sys.argv[1], Path(sys.argv[2])
    {"churn": churn, "hold": hold, "fill": fill, "create": create, "write": write}[mode](db)
