"""`submit --wait` gets every verdict even when the event feed fails it: a feed reset since the
stored cursor, a feed that loses events. Against the real sandbox on loopback."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sochi_cli.store.journal import Journal
from tests.batch.operator import Operator, access_token, write_reports
from tests.support import run_cli


def _submit(*args: str) -> tuple[int, dict]:
    result = run_cli("--json", "submit", *args)
    assert result.stdout, result.stderr
    return result.code, json.loads(result.stdout)


@contextmanager
def feed_losing_verdicts(op: Operator) -> Iterator[None]:
    """The operator's feed drops every delivered/accepted/rejected event as it is written
    (a trigger in the sandbox's own database): only a direct look finds the verdicts."""
    db = sqlite3.connect(op.data_dir / "sandbox.db", timeout=30)
    try:
        db.execute(
            "CREATE TRIGGER lose_verdicts AFTER INSERT ON events WHEN NEW.type IN"
            " ('submission.delivered', 'submission.accepted', 'submission.rejected')"
            " BEGIN DELETE FROM events WHERE seq = NEW.seq; END"
        )
        db.commit()
        yield
    finally:
        db.execute("DROP TRIGGER IF EXISTS lose_verdicts")
        db.commit()
        db.close()


def test_a_cursor_the_reset_feed_does_not_know_falls_back_to_the_submissions(
    op: Operator, tmp_path: Path
) -> None:
    write_reports(tmp_path, count=4, period="2020-07")
    with Journal.for_profile("sandbox") as journal:  # as a run before a feed reset left it
        journal.set_value(f"events.cursor:{op.api}", str(10**9))
    code, data = _submit(str(tmp_path), "--wait-timeout", "25")
    assert code == 0, data
    assert data["counts"] == {"accepted": 4} and data["stopped_by"] is None
    with Journal.for_profile("sandbox") as journal:
        assert int(journal.get_value(f"events.cursor:{op.api}") or 0) < 10**9  # started over
    assert len(op.submissions(access_token(), "2020-07")) == 4


def test_verdicts_the_feed_never_announces_are_found_by_the_direct_check(
    op: Operator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sochi_cli.services import submit_send

    monkeypatch.setattr(submit_send, "DIRECT_CHECK_SECONDS", 1.0)  # 15 s in real use
    write_reports(tmp_path, count=3, period="2020-08")
    with feed_losing_verdicts(op):
        code, data = _submit(str(tmp_path), "--wait-timeout", "30")
    assert code == 0, data
    assert data["counts"] == {"accepted": 3} and data["seconds"] < 20


def test_an_outage_while_following_verdicts_still_prints_the_batch_summary(
    op: Operator, tmp_path: Path
) -> None:
    import threading
    import time

    write_reports(tmp_path, count=3, period="2020-09")
    op.control("PUT", "agency", {"delivery_delay_seconds": 1, "verdict_delay_seconds": 3600})
    token = access_token()

    def outage_once_filed() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(op.submissions(token, "2020-09")) < 3:
            time.sleep(0.05)
        op.control("PUT", "chaos", {"error_rate": 1})

    outage = threading.Thread(target=outage_once_filed)
    outage.start()
    try:
        stopped = run_cli("--json", "submit", str(tmp_path))
    finally:
        outage.join()
        op.calm()
    assert stopped.code == 7, stopped.stderr
    data = json.loads(stopped.stdout)  # the whole summary, not just the error
    batch = data["batch_id"]
    assert data["status"] == "interrupted" and data["stopped_by"] == "unavailable"
    assert data["total"] == 3 and len(data["items"]) == 3 and data["remaining"] == 3
    assert sum(data["counts"].values()) == 3 and data["pending"] == 3
    assert data["follow_up"] == f"sochi batch resume {batch}"
    assert data["error"]["exit_code"] == 7 and data["error"]["details"]["batch_id"] == batch
    (line,) = [x for x in stopped.stderr.splitlines() if x.startswith("error:")]
    assert f"batch {batch} interrupted (the operator is unavailable" in line
    assert f"`sochi batch resume {batch}`" in line
    op.control("POST", "clock/advance", {"seconds": 3700})  # the agency decides meanwhile
    resumed = run_cli("--json", "batch", "resume", str(batch), "--wait-timeout", "60")
    assert resumed.code == 0, resumed.stderr
    assert json.loads(resumed.stdout)["counts"] == {"accepted": 3}
