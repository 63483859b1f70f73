"""End to end: `sochi sandbox serve` as a subprocess on loopback; the other sandbox commands."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE, form_detail
from sochi_cli.sandbox.reports import parse_report
from tests.support import run_cli


@pytest.mark.e2e
def test_serve_starts_on_loopback_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sochi_cli",
            "--json",
            "sandbox",
            "serve",
            "--port",
            "0",
            "--seed",
            "demo",
            "--data-dir",
            str(data_dir),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        ready = json.loads(line)
        assert ready["url"].startswith("http://127.0.0.1:")
        assert ready["api_url"] == ready["url"] + "/api/v1"
        assert ready["pid"] == proc.pid
        r = httpx.get(ready["api_url"] + "/status", timeout=10)
        assert r.status_code == 200 and r.json()["service"] == "sochi-sandbox"
        r = httpx.post(ready["api_url"] + "/auth/challenge", timeout=10)
        assert r.status_code in (201, 503)  # 503 only inside the real Friday window
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert proc.returncode == 0  # a graceful stop on request is a success
    db = sqlite3.connect(data_dir / "sandbox.db")
    try:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 3
    finally:
        db.close()
    assert (
        not (data_dir / "sandbox.db-wal").exists()
        or (data_dir / "sandbox.db-wal").stat().st_size == 0
    )


def test_serve_refuses_a_non_loopback_host(tmp_path: Path) -> None:
    result = run_cli("sandbox", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert result.code == 2
    assert "loopback" in result.stderr


def test_seed_then_reset(tmp_path: Path) -> None:
    data_dir = tmp_path / "sb"
    result = run_cli(
        "--json", "sandbox", "seed", "--data-dir", str(data_dir), "--bulk-clients", "3"
    )
    assert result.code == 0, result.stderr
    facts = json.loads(result.stdout)
    assert Path(facts["representative"]["pkcs12"]).exists()
    assert oct(Path(facts["representative"]["key_pem"]).stat().st_mode & 0o777) == "0o600"
    assert oct((data_dir / "pki" / "root.key").stat().st_mode & 0o777) == "0o600"
    again = run_cli("sandbox", "seed", "--data-dir", str(data_dir))
    assert again.code == 2 and "already holds data" in again.stderr
    assert "`sochi sandbox reset --yes` wipes it and seeds the demo again" in again.stderr
    reset = run_cli(
        "--json", "sandbox", "reset", "--data-dir", str(data_dir), "--seed", "empty", "--yes"
    )
    assert reset.code == 0 and json.loads(reset.stdout)["seed"] == "empty"
    db = sqlite3.connect(data_dir / "sandbox.db")
    try:
        assert db.execute("SELECT COUNT(*) FROM accounts").fetchone()[0] == 0
    finally:
        db.close()


def test_sample_reports_writes_valid_and_broken_reports_with_manifest(tmp_path: Path) -> None:
    """Without a sandbox: the files parse, name their target, and exactly the broken ones fail
    sochi's own checks before signing (the whole outcome, agency included, is filed and
    compared against the demo seed in tests/obligations/test_due.py)."""
    from sochi_cli.api.models import Form
    from sochi_cli.forms.validate import validate_report as sochi_validates

    out = tmp_path / "reports"
    result = run_cli(
        "--json", "sandbox", "sample-reports", "--out", str(out), "--clients", "6",
        "--invalid", "2", "--period", "2026-10", "--today", "2026-11-23",
    )  # fmt: skip
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["files"] == 6
    manifest = json.loads((out / "samples.json").read_text())["expected"]
    assert sorted(m["expected"] for m in manifest).count("accepted") == 4
    form = Form.model_validate(form_detail(FORMS_BY_CODE["STI-077"]))
    from datetime import date

    for item in manifest:
        report = parse_report((out / item["file"]).read_bytes())
        assert report.header["inn"][0] == item["client_inn"]
        assert report.header["period"][0] == "2026-10" and report.form == "STI-077"
        check = sochi_validates(out / item["file"], form, today=date(2026, 11, 23))
        assert check.ok == (item["expected"] != "invalid")
        assert (item["error_code"] == "validation_failed") == (not check.ok)
    bad = run_cli("sandbox", "sample-reports", "--out", str(out), "--period", "2026-Q4")
    assert bad.code == 2
