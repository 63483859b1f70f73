"""kill -9 of `sochi submit` at random points of a 200-report batch, 20 trials: exactly once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch.operator import Operator, write_reports
from tests.reliability.checks import assert_filed_exactly_once, submit_killed
from tests.reliability.conftest import BATCH
from tests.support import run_sochi

TRIALS = 20


def test_batch_killed_at_random_points_files_every_report_exactly_once(
    op: Operator, tmp_path: Path
) -> None:
    from sochi_cli.store.journal import Journal
    from tests.batch.operator import access_token

    rng = random.Random(20261127)
    mid_batch = in_flight_seen = 0
    for trial in range(TRIALS):
        period = f"{2024 + trial // 12}-{trial % 12 + 1:02d}"
        reports = tmp_path / period
        write_reports(reports, count=BATCH, period=period)
        # even trials anywhere early; odd ones in the send phase, after 1–150 were filed
        submit_killed(op, reports, period, rng, early=trial % 2 == 0, more=rng.randint(1, 150))
        filed = len(op.submissions(access_token(), period))
        mid_batch += 0 < filed < BATCH
        journal = Journal.existing("sandbox")
        if journal is not None:
            with journal:
                in_flight_seen += bool(
                    journal.query(
                        "SELECT 1 FROM items WHERE period = ? AND in_flight = 1", (period,)
                    )
                )
        rerun = run_sochi("--json", "submit", str(reports), "--no-wait", timeout=180)
        assert rerun.code == 0, f"trial {trial}: {rerun.stderr}"
        assert_filed_exactly_once(op, period, BATCH)
    # the kills really landed mid-batch (some filed, some not; sends caught in flight)
    assert mid_batch >= TRIALS // 2, mid_batch
    assert in_flight_seen >= 1, in_flight_seen


@pytest.mark.parametrize("period", ["2023-01"])
def test_chaos_5xx_latency_and_lost_answers_still_file_exactly_once(
    op: Operator, tmp_path: Path, period: str
) -> None:
    write_reports(tmp_path, count=BATCH, period=period)
    op.control(
        "PUT",
        "chaos",
        {"error_rate": 0.2, "latency_ms": 20, "drop_after_commit_rate": 0.05, "drop_mode": "error"},
    )
    codes = []
    for _ in range(4):  # a run may stop "unavailable" (exit 7) after bounded retries: rerun
        result = run_sochi("--json", "submit", str(tmp_path), "--no-wait", timeout=180)
        codes.append(result.code)
        if result.code == 0:
            break
        assert result.code == 7, result.stderr
    op.control("PUT", "chaos", {"error_rate": 0, "latency_ms": 0, "drop_after_commit_rate": 0})
    assert codes[-1] == 0, codes
    assert_filed_exactly_once(op, period, BATCH)


@pytest.mark.parametrize(
    ("stop", "period"), [(signal.SIGINT, "2023-02"), (signal.SIGTERM, "2023-03")]
)
def test_ctrl_c_or_sigterm_records_in_flight_sends_exits_130_and_a_rerun_finishes(
    op: Operator, tmp_path: Path, stop: signal.Signals, period: str
) -> None:
    import json

    write_reports(tmp_path, count=BATCH, period=period)
    op.control("PUT", "chaos", {"latency_ms": 30})
    proc = subprocess.Popen(
        [sys.executable, "-m", "sochi_cli", "--json", "submit", str(tmp_path), "--no-wait"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ),
    )
    try:
        from tests.batch.operator import access_token

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not op.submissions(access_token(), period):
            time.sleep(0.1)
        proc.send_signal(stop)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err.decode()
    stopped = json.loads(out)
    assert stopped["interrupted"] is True and stopped["remaining"] > 0
    op.control("PUT", "chaos", {"latency_ms": 0})
    rerun = run_sochi("--json", "submit", str(tmp_path), "--no-wait", timeout=180)
    assert rerun.code == 0, rerun.stderr
    assert_filed_exactly_once(op, period, BATCH)
