"""`sochi cert list|revoke|renew|status` against the sandbox (clauses 4.3.9 and 18)."""

from __future__ import annotations

import json

import pytest

from sochi_cli.errors import ExitCode
from tests.api.conftest import Sandbox, as_json, ok
from tests.support import run_cli


def _extra_certificate(sb: Sandbox, inn: str) -> str:
    issued = sb.control(
        "POST",
        "certificates",
        {"inn": inn, "owner_name": "Aida Beishenova", "position": "Accountant"},
    )
    return str(issued["serial"])


def test_list_shows_the_accounts_certificates(logged_in: Sandbox) -> None:
    items = as_json(run_cli("cert", "list", "--json"))
    mine = {c["serial"]: c for c in items}
    assert logged_in.rep["serial"] in mine
    assert mine[logged_in.rep["serial"]]["status"] == "valid"
    assert "certificate" not in items[0]  # no base64 blobs in the listing
    plain = ok(run_cli("cert", "list")).stdout
    assert any(
        line.startswith(logged_in.rep["serial"] + "\tvalid\t") for line in plain.splitlines()
    )


def test_revoke_needs_yes_without_a_terminal_then_revokes(logged_in: Sandbox) -> None:
    serial = _extra_certificate(logged_in, logged_in.rep["inn"])
    refused = run_cli("cert", "revoke", serial, "--reason", "key-compromise")
    assert refused.code == ExitCode.USAGE
    assert "needs confirmation but stdin is not a terminal — pass --yes" in refused.stderr
    assert as_json(run_cli("cert", "list", "--json"))[-1]["status"] == "valid"
    done = as_json(
        run_cli("cert", "revoke", serial, "--reason", "key-compromise", "--yes", "--json")
    )
    assert done["status"] == "revoked" and done["revocation_reason"] == "key_compromise"
    again = run_cli("cert", "revoke", serial, "--reason", "superseded", "--yes")
    assert again.code == ExitCode.REFUSED and "revoked" in again.stderr


def test_revoke_refuses_a_certificate_of_another_account_and_bad_reasons(
    logged_in: Sandbox,
) -> None:
    foreign = _extra_certificate(logged_in, logged_in.self_filer["inn"])
    result = run_cli("cert", "revoke", foreign, "--reason", "key-compromise", "--yes")
    assert result.code == ExitCode.REFUSED
    assert f"certificate {foreign} is not one of this account's certificates" in result.stderr
    bad = run_cli("cert", "revoke", foreign, "--reason", "boredom", "--yes")
    assert (
        bad.code == ExitCode.USAGE and "--reason 'boredom' is not a revocation reason" in bad.stderr
    )
    not_hex = run_cli("cert", "revoke", "xyz!", "--reason", "superseded", "--yes")
    assert not_hex.code == ExitCode.USAGE and "'xyz!' is not a certificate serial" in not_hex.stderr


def test_renew_token_key_needs_an_office_visit_cloud_key_renews(
    logged_in: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = as_json(run_cli("cert", "renew", "--early", "--json"))
    assert data["serial"] == logged_in.rep["serial"]
    assert data["state"] == "office_visit_required" and data["certificate"] is None
    plain = ok(run_cli("cert", "renew", "--early"))
    assert "state\toffice_visit_required" in plain.stdout and "office" in plain.stdout
    monkeypatch.setenv("SOCHI_KEY_FILE", logged_in.self_filer["pkcs12"])
    ok(run_cli("login"))
    cloud = next(c for c in as_json(run_cli("cert", "list", "--json")) if c["key_kind"] == "cloud")
    renewed = as_json(run_cli("cert", "renew", "--serial", cloud["serial"], "--early", "--json"))
    assert renewed["state"] == "issued" and renewed["certificate"]["serial"] != cloud["serial"]
    missing = run_cli("cert", "renew", "--serial", "abcdef0123")
    assert missing.code == ExitCode.NOT_FOUND


def test_renewal_is_suggested_and_done_only_inside_its_window(logged_in: Sandbox, tmp_path) -> None:
    """`cert status` suggested `cert renew --csr` with 334 days left; the three commands
    now share one decision: renewal is due 30 days before expiry (clause 18), not sooner."""
    import base64
    from datetime import timedelta

    from tests.api.conftest import WEDNESDAY_NOON

    status = as_json(run_cli("cert", "status", "--json"))
    assert status["days_left"] > 30 and status["renewal_due"] is False
    assert status["actions"] == [] and status["renewal_from"]
    text = ok(run_cli("cert", "status")).stdout
    assert "cert renew" not in text and f"nothing to do before {status['renewal_from']}" in text
    mine = next(
        c for c in as_json(run_cli("cert", "list", "--json")) if c["serial"] == status["serial"]
    )
    assert (mine["renewal_due"], mine["renewal_from"]) == (False, status["renewal_from"])
    balance = as_json(run_cli("account", "balance", "--json"))["balance"]
    early = run_cli("--json", "cert", "renew")
    assert early.code == ExitCode.USAGE
    assert json.loads(early.stdout)["error"]["code"] == "renewal_not_due"
    assert f"renewal is not due before {status['renewal_from']}" in early.stderr
    assert "--early" in early.stderr
    assert as_json(run_cli("account", "balance", "--json"))["balance"] == balance  # no fee
    # a certificate ten days from expiry: inside the window, for all three commands
    issued = logged_in.control(
        "POST",
        "certificates",
        {
            "inn": logged_in.rep["inn"],
            "owner_name": "Aida Beishenova",
            "position": "Chief accountant",
            "not_after": (WEDNESDAY_NOON + timedelta(days=10)).isoformat(),
        },
    )
    pem = tmp_path / "soon.pem"
    body = issued["certificate"]
    pem.write_bytes(body.encode() if "BEGIN" in body else base64.b64decode(body))
    soon = as_json(run_cli("cert", "status", "--cert", str(pem), "--json"))
    assert soon["renewal_due"] is True and soon["actions"][0].startswith("expires in ")
    listed = next(
        c for c in as_json(run_cli("cert", "list", "--json")) if c["serial"] == issued["serial"]
    )
    assert listed["renewal_due"] is True
    renewed = run_cli("--json", "cert", "renew", "--serial", issued["serial"])
    assert renewed.code == 0, renewed.stderr


def test_status_shows_requisites_drift_and_whether_next_year_is_paid(logged_in: Sandbox) -> None:
    data = as_json(run_cli("cert", "status", "--json"))
    assert data["operator_checked"] is True
    assert data["days_left"] > 0 and data["requisites_drift"] == []
    assert data["next_year_paid"] is True and data["renewal_fee"] == "1500.00"
    account = as_json(run_cli("account", "show", "--json"))
    position = account["requisites"]["head_position"]
    ok(run_cli("account", "update", "--set", "head_position=Director"))
    try:
        drifted = as_json(run_cli("cert", "status", "--json"))
        assert drifted["requisites_drift"] == ["position"]
        logged_in.control("PUT", "balance", {"inn": logged_in.rep["inn"], "balance": 100})
        poor = ok(run_cli("cert", "status")).stdout
        assert "requisites drift\tposition" in poor
        assert "next year paid\tNO (balance 1.00 KGS, fee 1500.00 KGS)" in poor
        # the top-up is suggested inside the renewal window only (the test below)
        assert "action\t" not in poor
    finally:
        ok(run_cli("account", "update", "--set", f"head_position={position}"))
        logged_in.control("PUT", "balance", {"inn": logged_in.rep["inn"], "balance": 5_000_000})


def test_status_without_a_session_warns_and_shows_the_local_part(cli_env: Sandbox) -> None:
    result = run_cli("cert", "status", "--json")
    data = json.loads(ok(result).stdout)
    assert data["operator_checked"] is False and data["next_year_paid"] is None
    assert "requisites and renewal payment not checked: not logged in" in result.stderr


def _second_key(sb: Sandbox, tmp_path, monkeypatch) -> str:
    """A new key + certificate of the representative, logged in with, CRL fetched before."""
    from tests.batch.operator import second_key

    serial, key = second_key(sb.control, sb.rep["inn"], tmp_path)
    monkeypatch.setenv("SOCHI_KEY_FILE", str(key))
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "pw2")
    ok(run_cli("login"))
    ok(run_cli("crl", "fetch"))
    (tmp_path / "d.xml").write_text("<a/>\n")
    return serial


def test_a_certificate_revoked_by_cert_revoke_cannot_sign_and_cert_status_says_so(
    cli_env: Sandbox, tmp_path, monkeypatch
) -> None:
    serial = _second_key(cli_env, tmp_path, monkeypatch)
    revoked = run_cli("cert", "revoke", serial, "--reason", "key-compromise", "--yes")
    assert revoked.code == 0, revoked.stderr
    assert "crl fetch" not in revoked.stderr  # sochi refreshed the CRL itself
    signed = run_cli("sign", str(tmp_path / "d.xml"))
    assert signed.code == ExitCode.AUTH, signed.stderr
    assert "refusing to sign: the certificate was revoked" in signed.stderr
    assert not (tmp_path / "d.xml.p7s").exists()
    status = as_json(run_cli("cert", "status", "--json"))
    assert status["status"] == "revoked" and status["revocation_reason"] == "key_compromise"
    assert status["revoked_at"] and status["actions"] == [
        "it cannot sign any more: get a new certificate at the operator's office, then "
        "`sochi login` with the new key"
    ]
    plain = ok(run_cli("cert", "status")).stdout
    assert "status\trevoked" in plain and "revocation reason\tkey compromise" in plain
    # offline (the operator out of reach) the recorded revocation still refuses
    monkeypatch.setenv("SOCHI_API_URL", "http://127.0.0.1:9/api/v1")
    offline = run_cli("sign", str(tmp_path / "d.xml"))
    assert offline.code == ExitCode.AUTH and "revoked" in offline.stderr


def test_sign_refreshes_the_crl_and_refuses_a_certificate_revoked_elsewhere(
    cli_env: Sandbox, tmp_path, monkeypatch
) -> None:
    import httpx

    from tests.batch.operator import access_token

    serial = _second_key(cli_env, tmp_path, monkeypatch)
    # revoked at the operator by someone else (another machine, the office): the CRL
    # cached by `crl fetch` above does not list it yet
    httpx.post(
        f"{cli_env.api}/certificates/{serial}/revoke",
        json={"reason": "key_compromise"},
        headers={"Authorization": f"Bearer {access_token()}"},
    ).raise_for_status()
    signed = run_cli("sign", str(tmp_path / "d.xml"))
    assert signed.code == ExitCode.AUTH, signed.stderr
    assert "refusing to sign: the certificate was revoked" in signed.stderr
    status = as_json(run_cli("cert", "status", "--json"))
    assert status["status"] == "revoked"
