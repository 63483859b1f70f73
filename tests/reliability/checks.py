"""Exactly-once checks: the operator's submissions against the local journal."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from sochi_cli.store.journal import Journal
from tests.batch.operator import Operator, access_token


def submit_killed(
    op: Operator, reports: Path, period: str, rng: random.Random, *, early: bool, more: int
) -> None:
    """`sochi submit REPORTS --no-wait` in a subprocess, killed with SIGKILL: after a random
    0.3–2.5 s (`early`: start-up, plan, validate, sign, first sends), or once `more` reports
    of `period` beyond those already there reached the operator (the send phase)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sochi_cli", "--json", "submit", str(reports), "--no-wait"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
    )
    try:
        if early:
            time.sleep(rng.uniform(0.3, 2.5))
        else:
            target = len(op.submissions(access_token(), period)) + more
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                if len(op.submissions(access_token(), period)) >= target:
                    break
                time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def assert_filed_exactly_once(op: Operator, period: str, expected: int) -> None:
    """Every report of `period` filed once on the operator; the journal agrees, none in flight."""
    subs = op.submissions(access_token(), period)
    clients = [s["client_inn"] for s in subs]
    assert len(clients) == len(set(clients)), "a report was filed twice"
    assert len(subs) == expected, f"{len(subs)} of {expected} reports filed"
    journal = Journal.for_profile("sandbox")
    try:
        assert journal.integrity_check() == "ok"
        rows = journal.query(
            "SELECT submission_id, in_flight, state FROM items WHERE period = ?", (period,)
        )
    finally:
        journal.close()
    assert len(rows) == expected
    assert not any(r["in_flight"] for r in rows), "an item is still in flight"
    assert {r["state"] for r in rows} <= {"received", "delivered", "accepted"}
    assert {r["submission_id"] for r in rows} == {s["id"] for s in subs}
