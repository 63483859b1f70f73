"""Doctor, signing group: PKCS#11 library, SoftHSM2 tokens in each PIN state (subprocesses:
the PKCS#11 library is per process), key file, E-Cloud, the clause-1.5 gate (revoked,
expired), expiry, CRL freshness and requisites drift — each failing and healthy."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from sochi_cli.errors import ExitCode
from tests.doctor.conftest import Hsm, Sandbox, finding, login, result_of, run
from tests.support import run_cli, run_sochi


def _doctor(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    result = run_sochi("--json", "doctor", "--only", "signing", *args, env=env)
    assert result.stdout, result.stderr
    data = json.loads(result.stdout)
    return result.code, {c["id"]: c for c in data["checks"]}


# -- PKCS#11 -----------------------------------------------------------------------------------


def test_missing_pkcs11_library(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCHI_SIGNER", "pkcs11")
    monkeypatch.setenv("SOCHI_PKCS11_LIB", str(tmp_path / "librtpkcs11ecp.so"))
    report = run(sb, "signing")
    library = finding(report, "signing.library")
    assert library.result.value == "fail" and library.exit_code == ExitCode.AUTH
    assert "does not exist" in library.summary and library.clause == "20.1.5"
    assert "sochi config set pkcs11_lib" in library.fix and "rutoken" in library.fix.lower()
    assert any("librtpkcs11ecp" in p for p in library.evidence["searched"])
    assert (
        finding(report, "signing.token").summary
        == "no usable PKCS#11 library (see signing.library)"
    )


def test_unloadable_pkcs11_library(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "librtpkcs11ecp.so"
    fake.write_bytes(b"\x7fELF but not really a shared object")
    monkeypatch.setenv("SOCHI_SIGNER", "pkcs11")
    monkeypatch.setenv("SOCHI_PKCS11_LIB", str(fake))
    library = finding(run(sb, "signing"), "signing.library")
    assert library.result.value == "fail" and "not a usable PKCS#11 library" in library.summary


def test_token_in_good_health_with_the_key_checked_by_pin(sb: Sandbox, hsm: Hsm) -> None:
    env = {**hsm.env("ok"), "SOCHI_API_URL": sb.api, "SOCHI_PIN": hsm.pin}
    _, checks = _doctor(env)
    assert checks["signing.library"]["result"] == "ok"
    token = checks["signing.token"]
    assert token["result"] == "ok" and token["evidence"]["pin_state"] == "ok"
    # PKCS#11 has no counter; SoftHSM2 lacks RuToken's extension, and the evidence says so
    assert token["evidence"]["attempts_left"] is None
    assert token["evidence"]["attempts_source"].startswith(
        "the PKCS#11 library does not report a count (it does not export C_EX_GetTokenInfoExtended"
    )
    assert token["evidence"]["pin_flags"] == "ok"
    assert token["summary"].endswith(": PIN ok")  # no made-up count
    key = checks["signing.key"]
    assert key["result"] == "ok" and "checked with the PIN" in key["summary"]
    assert checks["signing.certificate"]["result"] == "ok"
    assert checks["signing.certificate"]["evidence"]["from"] == "token"
    assert hsm.pin not in json.dumps(checks)


def test_rutoken_extension_structure_matches_the_sdk_header() -> None:
    """CK_TOKEN_INFO_EXTENDED of rtpkcs11t.h on a 64-bit Unix (CK_ULONG = 8 bytes): the
    counters the doctor reads sit where librtpkcs11ecp writes them."""
    import ctypes

    from sochi_cli.token.rutoken import TokenInfoExtended

    if ctypes.sizeof(ctypes.c_ulong) != 8:
        pytest.skip("the offsets below are those of an LP64 platform")
    assert TokenInfoExtended.ulMaxUserRetryCount.offset == 12 * 8
    assert TokenInfoExtended.ulUserRetryCountLeft.offset == 13 * 8
    assert TokenInfoExtended.ATR.offset == 14 * 8 + 8 + 2 * 8
    assert ctypes.sizeof(TokenInfoExtended) == 240


def test_token_without_pin_finds_the_certificate_only(sb: Sandbox, hsm: Hsm) -> None:
    _, checks = _doctor({**hsm.env("ok"), "SOCHI_API_URL": sb.api})
    key = checks["signing.key"]
    assert key["result"] == "ok" and "visible only after login" in key["summary"]


def test_wrong_pin_sets_attempts_low_and_the_doctor_warns(sb: Sandbox, hsm: Hsm) -> None:
    """SoftHSM2 really sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (and clears it after
    a right one): the state is made by a real failed login, not written into the token."""
    env = {**hsm.env("low"), "SOCHI_API_URL": sb.api}
    wrong = run_sochi("token", "keys", env={**env, "SOCHI_PIN": "0000-wrong"})
    assert wrong.code == ExitCode.AUTH and "wrong PIN" in wrong.stderr
    _, checks = _doctor(env)
    token = checks["signing.token"]
    assert token["result"] == "warn" and token["evidence"]["pin_state"] == "count_low"
    assert "never retries" in token["fix"]
    # the doctor does not spend an attempt: with a PIN given it still does not log in
    _, checks = _doctor({**env, "SOCHI_PIN": hsm.pin})
    assert "visible only after login" in checks["signing.key"]["summary"]
    # a right login clears the flag
    assert run_sochi("token", "keys", env={**env, "SOCHI_PIN": hsm.pin}).code == 0
    _, checks = _doctor(env)
    assert checks["signing.token"]["result"] == "ok"


def test_final_try_warns(sb: Sandbox, hsm: Hsm) -> None:
    code, checks = _doctor({**hsm.env("final"), "SOCHI_API_URL": sb.api})
    token = checks["signing.token"]
    assert token["result"] == "warn" and "FINAL TRY" in token["summary"]
    assert code == ExitCode.WARNINGS  # warnings only


def test_locked_pin_fails(sb: Sandbox, hsm: Hsm) -> None:
    code, checks = _doctor({**hsm.env("locked"), "SOCHI_API_URL": sb.api, "SOCHI_PIN": hsm.pin})
    token = checks["signing.token"]
    assert token["result"] == "fail" and token["exit_code"] == ExitCode.AUTH
    assert "PIN locked" in token["summary"] and "SO PIN" in token["fix"]
    assert code == ExitCode.AUTH


def test_token_not_inserted(sb: Sandbox, hsm: Hsm) -> None:
    env = {**hsm.env("ok"), "SOCHI_API_URL": sb.api, "SOCHI_TOKEN_LABEL": "Rutoken ECP"}
    code, checks = _doctor(env)
    token = checks["signing.token"]
    assert token["result"] == "fail" and "insert the RuToken" in token["fix"]
    assert code == ExitCode.AUTH
    assert "doctor-ok" in token["summary"]  # names the tokens that are there
    assert checks["signing.certificate"]["result"] == "skipped"


# -- key file ----------------------------------------------------------------------------------


def test_key_file_readable_by_others_warns(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sb.new_certificate(tmp_path)
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    assert result_of(run(sb, "signing"), "signing.key") == "ok"
    path.chmod(0o644)
    key = finding(run(sb, "signing"), "signing.key")
    assert key.result.value == "warn" and key.fix == f"chmod 600 {path}"
    assert key.clause == "4.3.9"


def test_wrong_passphrase_fails(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "not-the-passphrase")
    key = finding(run(sb, "signing"), "signing.key")
    assert key.result.value == "fail" and "wrong passphrase" in key.summary


def test_locked_key_file_uses_the_session_certificate(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(sb)
    monkeypatch.delenv("SOCHI_KEY_PASSPHRASE")
    report = run(sb, "signing")
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "ok"
    assert certificate.evidence["from"] == "operator (session certificate)"
    # it says what is true with the variable unset: how signing will get the passphrase
    key = finding(report, "signing.key")
    assert key.result.value == "ok"
    assert key.summary.endswith(
        "its certificate was read from the operator (passphrase-protected, SOCHI_KEY_PASSPHRASE "
        "not set: signing asks for the passphrase at a prompt, a script sets the variable or "
        "--passphrase-file)"
    )
    assert "opens it" not in key.summary


# -- the certificate ---------------------------------------------------------------------------


def test_healthy_certificate(sb: Sandbox) -> None:
    login(sb)
    report = run(sb, "signing")
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "ok" and "not revoked" in certificate.summary
    assert certificate.evidence["operator_status"]["status"] == "valid"
    assert result_of(report, "signing.expiry") == "ok"
    assert result_of(report, "signing.crl") == "ok"
    assert result_of(report, "signing.renewal") == "ok"


def test_revoked_certificate_fails(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(sb)
    path = sb.new_certificate(tmp_path)
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    serial = path.stem.removeprefix("cert-")
    revoked = run_cli("cert", "revoke", serial, "--reason", "key-compromise", "--yes")
    assert revoked.code == 0, revoked.stderr
    certificate = finding(run(sb, "signing"), "signing.certificate")
    assert certificate.result.value == "fail" and certificate.exit_code == ExitCode.AUTH
    assert "revoked" in certificate.summary and "key_compromise" in certificate.summary
    assert certificate.clause == "1.5, 8.2"


def test_expiring_certificate_warns(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = sb.now()
    path = sb.new_certificate(
        tmp_path,
        not_before=(now - timedelta(days=355)).isoformat(),
        not_after=(now + timedelta(days=10, hours=1)).isoformat(),
    )
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    report = run(sb, "signing")
    expiry = finding(report, "signing.expiry")
    assert expiry.result.value == "warn" and "expires in 10 days" in expiry.summary
    assert expiry.fix == "sochi cert renew"
    assert result_of(report, "signing.certificate") == "ok"


def test_expired_certificate_fails(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = sb.now()
    path = sb.new_certificate(
        tmp_path,
        not_before=(now - timedelta(days=400)).isoformat(),
        not_after=(now - timedelta(days=5)).isoformat(),
    )
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    report = run(sb, "signing")
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "fail" and "expired" in certificate.summary
    assert finding(report, "signing.expiry").result.value == "fail"


def test_stale_and_missing_crl(sb: Sandbox) -> None:
    assert finding(run(sb, "signing", offline=True), "signing.crl").summary.startswith(
        "no CRL cached"
    )
    moment = sb.now()
    sb.control("PUT", "clock", {"now": (moment - timedelta(days=10)).isoformat()})
    sb.app.state.sandbox.pki.invalidate_crl()  # reissued now, ten days ago
    try:
        assert run_cli("crl", "fetch").code == 0
    finally:
        sb.control("PUT", "clock", {"now": moment.isoformat()})
        sb.app.state.sandbox.pki.invalidate_crl()
    crl = finding(run(sb, "signing"), "signing.crl")
    assert crl.result.value == "warn" and "stale" in crl.summary and crl.fix == "sochi crl fetch"
    assert run_cli("crl", "fetch").code == 0
    assert result_of(run(sb, "signing"), "signing.crl") == "ok"


def _fresh_certificate(sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new certificate of the logged-in representative as the profile's key; its serial."""
    login(sb)
    path = sb.new_certificate(tmp_path)
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    return path.stem.removeprefix("cert-")


def _revoke(serial: str) -> None:
    """Revoked at the operator behind this profile's back (the office, another machine):
    `sochi cert revoke` would refresh the cached CRL and record the revocation itself."""
    from sochi_cli.services.session import FileTokens

    tokens = FileTokens("sandbox", os.environ["SOCHI_API_URL"])
    httpx.post(
        f"{os.environ['SOCHI_API_URL']}/certificates/{serial}/revoke",
        json={"reason": "key_compromise"},
        headers={"Authorization": f"Bearer {tokens.access_token()}"},
        timeout=30,
    ).raise_for_status()


def test_revoked_certificate_with_a_crl_cached_before_the_revocation(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    serial = _fresh_certificate(sb, tmp_path, monkeypatch)
    assert run_cli("crl", "fetch").code == 0  # the cache, then the revocation
    _revoke(serial)
    report = run(sb, "signing")
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "fail" and certificate.exit_code == ExitCode.AUTH
    assert "revoked" in certificate.summary and "(see signing.crl)" in certificate.summary
    crl = finding(report, "signing.crl")
    assert crl.result.value == "warn" and crl.fix == "sochi crl fetch"
    assert crl.summary.startswith("the cached CRL of DOS TEK GROUP LLC CA (sandbox) is out of")
    assert crl.summary.endswith(
        "lists 1 more revoked certificate(s), your signing certificate among them"
    )
    assert crl.evidence["compared_with_operator"] is True
    # the fix, as the finding says: the cache agrees again, the certificate stays revoked
    assert run_cli("crl", "fetch").code == 0
    report = run(sb, "signing")
    assert result_of(report, "signing.crl") == "ok"
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "fail" and "signing.crl" not in certificate.summary


def test_revocation_the_operator_has_not_published_in_a_crl_yet(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The operator's GET /certificates already says revoked; its CRL is the old one."""
    serial = _fresh_certificate(sb, tmp_path, monkeypatch)
    assert run_cli("crl", "fetch").code == 0
    pki = sb.app.state.sandbox.pki
    published = pki.crl([], sb.now())  # the CRL the operator serves now (cached by the sandbox)
    _revoke(serial)
    pki._crl = published  # not republished yet (a real CA publishes on its own schedule)
    try:
        report = run(sb, "signing")
    finally:
        pki.invalidate_crl()
    certificate = finding(report, "signing.certificate")
    assert certificate.result.value == "fail"
    assert f"the operator lists certificate {serial} as revoked" in certificate.summary
    crl = finding(report, "signing.crl")
    assert crl.result.value == "warn" and crl.fix == "sochi crl fetch"
    assert f"the operator lists your signing certificate {serial} as revoked" in crl.summary
    assert "nor the one it publishes now does yet" in crl.summary


def test_crl_of_every_ca_of_the_chain_is_compared(sb: Sandbox) -> None:
    """Not only the operator CA's: a Main CA CRL missing from the cache warns too."""
    from sochi_cli.services.certificates import pki_cache_dir

    assert run_cli("crl", "fetch").code == 0
    assert result_of(run(sb, "signing"), "signing.crl") == "ok"
    others = list((pki_cache_dir("sandbox") / "crls").glob("*.crl"))
    assert others, "crl fetch caches the Main CA's CRL beside the operator CA's"
    for path in others:
        path.unlink()
    crl = finding(run(sb, "signing"), "signing.crl")
    assert crl.result.value == "warn" and crl.fix == "sochi crl fetch"
    assert crl.summary.startswith("no CRL of CA ") and "Main CA" in crl.summary
    assert crl.summary.endswith("is cached, though the operator publishes one")


def test_requisites_drift_blocks_renewal(sb: Sandbox) -> None:
    login(sb)
    assert run_cli("account", "update", "--set", "head_name=Someone Else").code == 0
    try:
        renewal = finding(run(sb, "signing"), "signing.renewal")
    finally:
        assert run_cli("account", "update", "--set", "head_name=Aida Beishenova").code == 0
    assert renewal.result.value == "warn" and "owner_name" in renewal.summary
    assert renewal.clause == "18"


@pytest.mark.parametrize(("days", "due"), [(45, False), (20, True)])
def test_unpaid_renewal_is_asked_for_in_the_window_cert_status_uses(
    sb: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, days: int, due: bool
) -> None:
    """The next year unpaid: 45 days before expiry neither the doctor nor `cert status` asks
    for money (renewal opens 30 days before); 20 days before both do."""
    login(sb)
    now = sb.now()
    path = sb.new_certificate(
        tmp_path,
        position="Chief accountant",  # the account's requisites: no drift
        not_before=(now - timedelta(days=300)).isoformat(),
        not_after=(now + timedelta(days=days, hours=1)).isoformat(),
    )
    monkeypatch.setenv("SOCHI_KEY_FILE", str(path))
    sb.control("PUT", "balance", {"inn": sb.rep["inn"], "balance": 100})  # 1.00 KGS
    renewal = finding(run(sb, "signing"), "signing.renewal")
    status = json.loads(run_cli("cert", "status", "--json").stdout)
    assert renewal.evidence["next_year_paid"] is False and status["next_year_paid"] is False
    assert renewal.evidence["renewal_due"] is due and status["renewal_due"] is due
    top_up = [a for a in status["actions"] if a.startswith("top up the account")]
    if due:
        assert renewal.result.value == "warn"
        assert renewal.summary.startswith("the next year is not paid: balance 1.00 KGS")
        assert f"renewal due since {renewal.evidence['renewal_from']}" in renewal.summary
        assert top_up == ["top up the account: balance 1.00 KGS is below the renewal fee "
                          "1500.00 KGS (clause 18.3)"]  # fmt: skip
    else:
        assert renewal.result.value == "ok", renewal.summary
        assert f"nothing to do before {renewal.evidence['renewal_from']}" in renewal.summary
        assert top_up == []


# -- E-Cloud -----------------------------------------------------------------------------------


def test_ecloud_credential_active_then_locked(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCHI_SIGNER", "cloud")
    monkeypatch.setenv("SOCHI_INN", sb.self_filer["inn"])
    monkeypatch.delenv("SOCHI_KEY_FILE")
    report = run(sb, "signing")
    ecloud = finding(report, "signing.ecloud")
    assert ecloud.result.value == "ok" and sb.self_filer["credential_id"] in ecloud.summary
    assert finding(report, "signing.certificate").evidence["from"] == "E-Cloud"
    assert result_of(report, "signing.library") == "skipped"
    for _ in range(5):  # wrong PINs lock the credential
        httpx.post(
            f"{sb.api}/csc/v2/credentials/authorize",
            json={"credentialID": sb.self_filer["credential_id"], "numSignatures": 1,
                  "PIN": "000000", "OTP": "000000"},
            timeout=10,
        )  # fmt: skip
    ecloud = finding(run(sb, "signing"), "signing.ecloud")
    assert ecloud.result.value == "fail" and ecloud.exit_code == ExitCode.AUTH
    assert "disabled" in ecloud.summary and "sochi support" in ecloud.fix


def test_pkcs11_checks_skip_for_a_key_file(sb: Sandbox) -> None:
    report = run(sb, "signing")
    assert finding(report, "signing.token").summary == "the profile signs with signer = file"
    assert os.environ["SOCHI_KEY_FILE"] == sb.rep["pkcs12"]
