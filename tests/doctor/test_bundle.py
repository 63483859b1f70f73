"""`sochi doctor --bundle` after real signing and filing (SoftHSM2 token, sandbox operator):
no PIN, passphrase, one-time code, token, report content, signature or unmasked INN in any
file of the zip; `--read` shows it; bad files are one-line errors."""

from __future__ import annotations

import base64
import json
import re
import secrets
import stat
import zipfile
from pathlib import Path
from typing import Any

import pytest

from sochi_cli.errors import ExitCode
from tests.doctor.conftest import Hsm, Sandbox
from tests.support import run_cli, run_sochi

CLIENTS = ("02010201910123", "01503201810045")  # demo clients with valid POAs
NAMES = ("Salyk Kenesh", "Aida Beishenova", "Ak-Suu Trade", "Bishkek Bakery", "salyk-kenesh.kg")
# an INN anywhere, except inside a digest or serial (32+ hex digits) where it is a coincidence
INN = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])|(?<!\d)([0-2]\d{13})(?!\d)")


def _report(client: str, period: str, marker: str, payable: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<report xmlns="urn:sochi:report:1" form="STI-077" version="1"><header>'
        f"<inn>{client}</inn><name>{marker}</name><period>{period}</period>"
        "<correction>0</correction></header><body><turnover>73915.00</turnover>"
        "<vat_charged>8869.80</vat_charged><vat_credit>1000.00</vat_credit>"
        f"<vat_payable>{payable}</vat_payable></body></report>\n"
    )


def _previous_month(sb: Sandbox) -> str:
    from datetime import timedelta

    first = (sb.now() + timedelta(hours=6)).date().replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


@pytest.fixture
def activity(sb: Sandbox, hsm: Hsm, tmp_path: Path) -> dict[str, Any]:
    """Log in with a unique passphrase, sign and file two reports with a token PIN."""
    passphrase = "pp-" + secrets.token_hex(8)
    otp = "otp-" + secrets.token_hex(4)
    from datetime import UTC, datetime, timedelta

    # valid on this machine's clock too: the subprocesses sign with the real time
    since = (datetime.now(UTC) - timedelta(days=2)).isoformat()
    key_file = sb.new_certificate(tmp_path, passphrase=passphrase, not_before=since)
    log = tmp_path / "debug.log"
    base = {"SOCHI_API_URL": sb.api, "SOCHI_LOG_FILE": str(log), "SOCHI_OTP": otp}
    file_env = {**base, "SOCHI_KEY_FILE": str(key_file), "SOCHI_KEY_PASSPHRASE": passphrase}
    token_env = {**base, **hsm.env("ok"), "SOCHI_PIN": hsm.pin, "SOCHI_KEY_PASSPHRASE": passphrase}
    for args in (("login",), ("clients", "list"), ("account", "show")):
        result = run_sochi("-v", *args, env=file_env)
        assert result.code == 0, result.stderr
    marker = "Zx-Marker-" + secrets.token_hex(4)
    reports = tmp_path / "reports"
    reports.mkdir()
    period = _previous_month(sb)
    (reports / "good.xml").write_text(_report(CLIENTS[0], period, marker, "7869.80"))
    (reports / "bad.xml").write_text(_report(CLIENTS[1], period, marker, "5555.55"))
    signed = run_sochi("sign", str(reports / "good.xml"), "--out-dir", str(tmp_path), env=token_env)
    assert signed.code == 0, signed.stderr
    filed = run_sochi("-v", "submit", str(reports), "--wait", env=token_env)
    # one accepted; one breaks a totals rule, which `submit` finds before signing it
    assert filed.code == ExitCode.PARTIAL, filed.stderr + filed.stdout
    session = json.loads(Path(_session_file()).read_text())
    return {
        "env": token_env,
        "secrets": {
            "PIN": hsm.pin,
            "passphrase": passphrase,
            "OTP": otp,
            "access token": session["access_token"],
            "refresh token": session["refresh_token"],
        },
        "content": [marker, "73915.00", "8869.80", "5555.55", "7869.80"],
        "signature": (tmp_path / "good.xml.p7s").read_bytes(),
        "log": log,
    }


def _session_file() -> str:
    from sochi_cli.services.session import session_path

    return str(session_path("sandbox"))


def _members(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name).decode("utf-8") for name in zf.namelist()}


def test_bundle_after_real_activity_leaks_nothing(activity: dict[str, Any], tmp_path: Path) -> None:
    out = tmp_path / "support.zip"
    made = run_sochi("doctor", "--bundle", str(out), env=activity["env"])
    assert "bundle written" in made.stderr, made.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    members = _members(out)
    assert set(members) >= {"README.txt", "manifest.json", "report.json", "journal.json",
                            "problems.json", "environment.json", "config.json", "log-tail.txt"}  # fmt: skip
    with zipfile.ZipFile(out) as zf:
        assert all("/" not in name for name in zf.namelist())  # README.txt etc. at the root
    session = json.loads(Path(_session_file()).read_text())  # the doctor may have refreshed
    leaks = {**activity["secrets"], "access token now": session["access_token"],
             "refresh token now": session["refresh_token"]}  # fmt: skip
    signature = activity["signature"]
    forbidden = {
        **leaks,
        **{f"report content {c}": c for c in activity["content"]},
        "signature (hex)": signature[-32:].hex(),
        "signature (base64)": base64.b64encode(signature[-48:]).decode(),
        **{f"name {n}": n for n in NAMES},
    }
    for name, text in members.items():
        for what, value in forbidden.items():
            assert value not in text, f"{what} found in {name}"
        inns = [m.group(1) for m in INN.finditer(text) if m.group(1)]
        assert not inns, f"unmasked INN in {name}: {inns[:3]}"
    # what support needs is there, masked
    journal = json.loads(members["journal.json"])
    assert journal["batches"][0]["counts"] == {"accepted": 1, "invalid": 1}
    problems = json.loads(members["problems.json"])
    invalid = next(p for p in problems if p["state"] == "invalid")
    assert invalid["client_inn"] == "**********0045"
    assert "‹protocol text withheld" in invalid["error_message"], invalid
    assert "**********0077" in members["report.json"]  # the representative, masked
    assert "‹name:" in members["report.json"]
    assert "httpcore" in members["log-tail.txt"]  # the debug log's tail, redacted
    assert "SOCHI_PIN" in json.loads(members["environment.json"])["variables"]
    assert json.loads(members["environment.json"])["variables"]["SOCHI_PIN"] == "set"
    readme = members["README.txt"]
    assert "Never included: PINs" in readme and "masked to their last 4 digits" in readme

    # support's side: the same report, plus the journal summary
    shown = run_cli("doctor", "--read", str(out))
    assert shown.code == 0, shown.stderr
    lines = [line.split("\t") for line in shown.stdout.splitlines()]
    ids = [line[0] for line in lines]
    assert ids == [c["id"] for c in json.loads(members["report.json"])["checks"]]
    assert "accepted=1 invalid=1" in shown.stderr  # the journal summary, beside the checks
    data = json.loads(run_cli("--json", "doctor", "--read", str(out)).stdout)
    assert data["bundle"]["format"] == "sochi-doctor-bundle" and data["bundle"]["masked"] is True
    assert data["report"]["checks"][0]["id"] == "setup.config"

    # --no-mask shows INNs and names, still no secret and no report content
    plain = tmp_path / "plain.zip"
    run_sochi("doctor", "--offline", "--bundle", str(plain), "--no-mask", env=activity["env"])
    members = _members(plain)
    assert any("00203202010077" in text for text in members.values())
    for name, text in members.items():
        for what, value in {**leaks, "marker": activity["content"][0]}.items():
            assert value not in text, f"{what} found in {name} (--no-mask)"


def test_bundle_refuses_to_overwrite_without_force(sb: Sandbox, tmp_path: Path) -> None:
    out = tmp_path / "b.zip"
    out.write_bytes(b"keep me")
    refused = run_cli("doctor", "--offline", "--bundle", str(out))
    assert refused.code == ExitCode.USAGE and "exists" in refused.stderr
    assert refused.stderr.count("\n") == 1 and out.read_bytes() == b"keep me"
    forced = run_cli("doctor", "--offline", "--bundle", str(out), "--force")
    assert "bundle written" in forced.stderr
    assert zipfile.is_zipfile(out) and stat.S_IMODE(out.stat().st_mode) == 0o600


def test_reading_something_that_is_not_a_bundle(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"\x00\x01 not a zip at all" * 50)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("hello.txt", "an ordinary zip")
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as zf:
        zf.writestr("manifest.json", '{"format": "sochi-doctor-bundle", "version": 1}')
        zf.writestr("report.json", '{"checks": [{"id": 1}]}')
    cases = {
        garbage: "not a zip file",
        other: "not a sochi doctor bundle",
        broken: "report.json",
        tmp_path / "missing.zip": "no such file",
    }
    for path, expected in cases.items():
        result = run_cli("doctor", "--read", str(path))
        assert result.code == ExitCode.USAGE, (path, result.stderr)
        assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_masker_rules() -> None:
    from sochi_cli.logs import register_secret
    from sochi_cli.services.diagnostics_redact import Masker

    digest = "ab" * 10 + "12345678901234" + "cd" * 10  # an INN-like run inside a digest
    register_secret("hunter2-unique")
    masker = Masker(
        names=["Aida Beishenova", "ID"],  # too short to mask safely: "ID" stays
        public=["Main CA (test)"],
        withheld=["body/x: totals differ (expected 1.00, found 2.00)"],
    )
    masked = masker.value(
        {
            "summary": "Aida Beishenova (aida@salyk.kg) filed for 02010201910123 and "
            f"inn00203202010077; digest {digest}; ID card; pin=9876; token hunter2-unique; "
            "body/x: totals differ (expected 1.00, found 2.00)",
            "subject": "CN=Someone Else,O=Firm LLC,serialNumber=00203202010077,C=KG",
            "issuer": "CN=Main CA (test),C=KG",
            "02010201910123": "keys too",
        }
    )
    text = json.dumps(masked, ensure_ascii=False)
    for gone in ("Aida", "aida@", "02010201910123", "00203202010077", "Someone", "Firm LLC",
                 "9876", "hunter2", "expected 1.00"):  # fmt: skip
        assert gone not in text, gone
    for kept in ("**********0123", "inn**********0077", digest, "C=KG", "ID card",
                 "CN=Main CA (test),C=KG", "body/x: ‹protocol text withheld",
                 "serialNumber=**********0077"):  # fmt: skip
        assert kept in text, kept
    assert text.count(masker.pseudonym("Aida Beishenova")) == 1
    assert masked["subject"].startswith("CN=‹name:")
    assert Masker(mask=False).text("02010201910123") == "02010201910123"
