"""End to end: `sochi sandbox serve` as a subprocess on loopback; the other sandbox commands."""

from __future__ import annotations

import base64
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sochi_cli.sandbox.catalogue import FORMS_BY_CODE, form_detail
from sochi_cli.sandbox.reports import parse_report
from tests.support import run_cli, serving


@pytest.mark.e2e
def test_serve_starts_on_loopback_answers_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "sandbox"
    with serving("--seed", "demo", "--data-dir", str(data_dir)) as (proc, ready):
        assert ready["url"].startswith("http://127.0.0.1:")
        assert ready["api_url"] == ready["url"] + "/api/v1"
        assert ready["pid"] == proc.pid
        r = httpx.get(ready["api_url"] + "/status", timeout=10)
        assert r.status_code == 200 and r.json()["service"] == "sochi-sandbox"
        r = httpx.post(ready["api_url"] + "/auth/challenge", timeout=10)
        assert r.status_code in (201, 503)  # 503 only inside the real Friday window
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


def _bearer(api_url: str, data_dir: Path) -> dict[str, str]:
    """Log in over the socket as the demo representative (what `sochi login` does)."""
    from cryptography.hazmat.primitives import serialization

    from sochi_cli.cms import sign_detached
    from sochi_cli.sandbox.seed import DEMO_PASSPHRASE
    from sochi_cli.token.file import KeySigner

    p12 = data_dir / "demo" / "representative.p12"
    signer = KeySigner.from_pkcs12(p12, DEMO_PASSPHRASE.encode())
    challenge = httpx.post(api_url + "/auth/challenge", timeout=10).json()
    signature = sign_detached(base64.b64decode(challenge["nonce"]), signer)
    token = httpx.post(
        api_url + "/auth/token",
        json={
            "challenge_id": challenge["challenge_id"],
            "certificate": base64.b64encode(
                signer.certificate.public_bytes(serialization.Encoding.DER)
            ).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text
    return {"Authorization": "Bearer " + token.json()["access_token"]}


@pytest.mark.e2e
@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_serve_stops_at_once_while_a_client_long_polls(
    tmp_path: Path, stop: signal.Signals
) -> None:
    """A client following events holds a 60 s long poll: the stop answers it (an empty page,
    not a 500) and the process exits 0 well within uvicorn's graceful-shutdown bound, with
    nothing on stderr (no "timeout graceful shutdown exceeded", no traceback)."""
    data_dir = tmp_path / "sandbox"
    command = [sys.executable, "-m", "sochi_cli", "--json", "sandbox", "serve", "--port", "0"]
    proc = subprocess.Popen(
        [*command, "--seed", "demo", "--no-history", "--data-dir", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    poll: dict[str, Any] = {}
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else ""
        api_url = json.loads(line)["api_url"]
        headers = _bearer(api_url, data_dir)
        feed = httpx.get(api_url + "/events", headers=headers, timeout=10).json()

        def long_poll() -> None:
            started = time.monotonic()
            r = httpx.get(
                api_url + "/events",
                params={"after": feed["next_cursor"], "wait": 60},
                headers=headers,
                timeout=30,
            )
            poll.update(status=r.status_code, body=r.json(), held=time.monotonic() - started)

        poller = threading.Thread(target=long_poll)
        poller.start()
        time.sleep(1.0)  # the poll is being held by now
        assert not poll
        stopped_at = time.monotonic()
        proc.send_signal(stop)
        proc.wait(timeout=20)
        took = time.monotonic() - stopped_at
        poller.join(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stderr = proc.stderr.read() if proc.stderr else ""
    assert proc.returncode == 0, stderr
    assert took < 5, f"the sandbox took {took:.1f} s to stop"
    assert stderr == ""
    assert poll["status"] == 200 and poll["body"]["events"] == []
    assert poll["held"] < 10


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
