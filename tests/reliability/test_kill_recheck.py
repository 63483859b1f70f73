"""kill -9 while a rerun files reports the operator had refused (checked again, signed anew,
sent): every report is still filed exactly once."""

from __future__ import annotations

import json
import random
from pathlib import Path

from tests.batch.operator import Operator, access_token, behind_this_clock, write_reports
from tests.reliability.checks import assert_filed_exactly_once, submit_killed
from tests.support import run_sochi

COUNT = 120
TRIALS = 6
PERIOD = "2020-05"


def test_rerun_of_refused_reports_killed_at_random_points_files_each_exactly_once(
    op: Operator, tmp_path: Path
) -> None:
    from sochi_cli.store.journal import Journal

    write_reports(tmp_path, count=COUNT, period=PERIOD)
    # the operator refuses every signature (its clock is behind ours): all `failed`
    op.control("PUT", "clock", {"now": behind_this_clock().isoformat(), "frozen": True})
    refused = run_sochi("--json", "submit", str(tmp_path), "--no-wait", timeout=180)
    op.calm()
    assert refused.code == 6, refused.stderr
    assert json.loads(refused.stdout)["counts"] == {"failed": COUNT}
    rng = random.Random(20261130)
    killed_mid_batch = 0
    for trial in range(TRIALS):
        # even trials anywhere (the re-check, re-signing, first sends), odd ones while sending
        submit_killed(op, tmp_path, PERIOD, rng, early=trial % 2 == 0, more=rng.randint(1, 15))
        subs = op.submissions(access_token(), PERIOD)
        clients = [s["client_inn"] for s in subs]
        assert len(clients) == len(set(clients)), f"trial {trial}: a report was filed twice"
        killed_mid_batch += 0 < len(subs) < COUNT
    rerun = run_sochi("--json", "submit", str(tmp_path), "--no-wait", timeout=180)
    assert rerun.code == 0, rerun.stderr
    assert_filed_exactly_once(op, PERIOD, COUNT)
    assert killed_mid_batch >= 1, killed_mid_batch
    with Journal.for_profile("sandbox") as journal:
        superseded = journal.query(
            "SELECT COUNT(*) AS n FROM archive_entries e JOIN items i ON i.id = e.item_id"
            " WHERE i.period = ? AND e.kind = 'superseded_signature'",
            (PERIOD,),
        )[0]["n"]
    assert superseded == COUNT  # each refused signature kept once, replaced once
