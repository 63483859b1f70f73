"""The signing commands end to end: sign, verify, token, cert, crl — exit codes and one-line errors."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import pytest

from sochi_cli.errors import ExitCode
from tests.signing import pki, softhsm
from tests.signing.pki import DAY, NOW
from tests.support import run_cli, run_sochi

AUTH = int(ExitCode.AUTH)


@pytest.fixture
def work(tmp_path, test_pki):
    (tmp_path / "report.xml").write_bytes(b"<report>1</report>\n")
    (tmp_path / "root.pem").write_bytes(pki.pem(test_pki.root.cert))
    from cryptography.hazmat.primitives.serialization import Encoding

    (tmp_path / "op.crl").write_bytes(test_pki.operator.crl(revoked=[]).public_bytes(Encoding.DER))
    (tmp_path / "root.crl").write_bytes(test_pki.root.crl(revoked=[]).public_bytes(Encoding.DER))
    pki.write_p12(tmp_path / "dev.p12", test_pki.ec, test_pki.chain, None)
    return tmp_path


def _trust(work):
    return [
        "--trust",
        str(work / "root.pem"),
        "--crl",
        str(work / "op.crl"),
        "--crl",
        str(work / "root.crl"),
    ]


def _one_line_error(result, code=AUTH):
    assert result.code == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_sign_and_verify_with_key_file(work):
    report = work / "report.xml"
    result = run_cli(
        "sign", "--signer", "file", "--key-file", str(work / "dev.p12"), str(report), *_trust(work)
    )
    assert result.code == 0, result.stderr
    assert (work / "report.xml.p7s").is_file()
    assert "development use only" in result.stderr
    result = run_cli("verify", str(report), *_trust(work))
    assert result.code == 0, result.stdout
    assert "SIGNATURE STANDS" in result.stdout
    result = run_cli(
        "--json", "verify", str(report), "--signature", str(work / "report.xml.p7s"), *_trust(work)
    )
    data = json.loads(result.stdout)
    assert data["stands"] is True and data["signers"][0]["steps"][-1]["step"] == "8.4"


def test_verify_tampered_file_exits_auth(work):
    report = work / "report.xml"
    assert (
        run_cli(
            "sign",
            "--signer",
            "file",
            "--key-file",
            str(work / "dev.p12"),
            str(report),
            *_trust(work),
        ).code
        == 0
    )
    report.write_bytes(b"<report>2</report>\n")
    result = run_cli("verify", str(report), *_trust(work))
    assert result.code == AUTH
    assert "SIGNATURE DOES NOT STAND" in result.stdout and "8.2.2" in result.stdout


def test_sign_refuses_expired_certificate_and_writes_nothing(work, test_pki):
    old = test_pki.operator.issue("Old", not_before=NOW - 400 * DAY, not_after=NOW - DAY)
    pki.write_p12(work / "old.p12", old, test_pki.chain, None)
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "old.p12"),
        str(work / "report.xml"),
        *_trust(work),
    )
    assert "refusing to sign: the certificate expired" in _one_line_error(result)
    assert not list(work.glob("*.p7s"))


def test_sign_refuses_revoked_certificate(work, test_pki):
    from cryptography.hazmat.primitives.serialization import Encoding

    sub = test_pki.operator.issue("Revoked")
    pki.write_p12(work / "rev.p12", sub, test_pki.chain, None)
    (work / "rev.crl").write_bytes(
        test_pki.operator.crl(revoked=[(sub.serial, NOW - DAY)]).public_bytes(Encoding.DER)
    )
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "rev.p12"),
        str(work / "report.xml"),
        "--trust",
        str(work / "root.pem"),
        "--crl",
        str(work / "rev.crl"),
    )
    assert "revoked" in _one_line_error(result)
    assert not list(work.glob("*.p7s"))


def test_sign_refuses_untrusted_root(work, test_pki):
    other = pki.make_root("Other root")
    (work / "other.pem").write_bytes(pki.pem(other.cert))
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "dev.p12"),
        str(work / "report.xml"),
        "--trust",
        str(work / "other.pem"),
    )
    assert "does not chain to a trusted root" in _one_line_error(result)


def test_sign_refuses_wrong_key_usage(work, test_pki):
    sub = test_pki.operator.issue("Encipher", digital_signature=False, non_repudiation=False)
    pki.write_p12(work / "ku.p12", sub, test_pki.chain, None)
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "ku.p12"),
        str(work / "report.xml"),
        *_trust(work),
    )
    assert "key usage" in _one_line_error(result)


def test_encrypted_p12_takes_passphrase_from_environment(work, test_pki, monkeypatch):
    pki.write_p12(work / "enc.p12", test_pki.rsa, test_pki.chain, b"s3cret-pass")
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "wrong")
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "enc.p12"),
        str(work / "report.xml"),
        *_trust(work),
    )
    line = _one_line_error(result)
    assert "wrong passphrase" in line and "s3cret" not in result.stderr
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "s3cret-pass")
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "enc.p12"),
        str(work / "report.xml"),
        *_trust(work),
    )
    assert result.code == 0, result.stderr


def test_sign_through_softhsm_with_pin_file(work, softhsm, monkeypatch):
    pin_file = work / "pin.txt"
    pin_file.write_text(softhsm.pin + "\n")
    pin_file.chmod(0o600)
    files = [work / f"r{i}.xml" for i in range(3)]
    for f in files:
        f.write_bytes(f.name.encode())
    out = work / "signed"
    result = run_cli(
        "--json",
        "sign",
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.library),
        "--token",
        softhsm.rsa_label,
        "--pin-file",
        str(pin_file),
        "--out-dir",
        str(out),
        *map(str, files),
        *_trust(work),
    )
    assert result.code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["signer"] == "pkcs11" and len(data["files"]) == 3
    for f in files:
        assert (
            run_cli(
                "verify", str(f), "--signature", str(out / (f.name + ".p7s")), *_trust(work)
            ).code
            == 0
        )


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--pkcs11-lib", "/nonexistent/librtpkcs11ecp.so"], "does not exist"),
        (["--pkcs11-lib", "FAKE"], "not a usable PKCS#11 library"),
        ([], "several tokens connected"),
        (["--token", "sochi-nocert"], "has a certificate"),
        (["--token", "no-such-token"], "no token with label"),
    ],
    ids=[
        "missing-library",
        "incompatible-library",
        "several-tokens",
        "key-without-cert",
        "unknown-token",
    ],
)
def test_token_problems_are_one_line_auth_errors(work, softhsm, monkeypatch, args, expect):
    monkeypatch.setenv("SOCHI_PIN", softhsm.pin)
    fake = work / "libfake.so"
    fake.write_bytes(b"not a shared object")
    args = [str(fake) if a == "FAKE" else a for a in args]
    lib = [] if "--pkcs11-lib" in args else ["--pkcs11-lib", str(softhsm.library)]
    result = run_cli(
        "sign", "--signer", "pkcs11", *lib, *args, str(work / "report.xml"), *_trust(work)
    )
    assert expect in _one_line_error(result)
    assert not list(work.glob("*.p7s"))


def test_wrong_pin_is_one_line_and_never_echoed(work, softhsm, monkeypatch):
    monkeypatch.setenv("SOCHI_PIN", "999999")
    result = run_cli(
        "sign",
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.library),
        "--token",
        softhsm.wrongpin_label,
        str(work / "report.xml"),
        *_trust(work),
    )
    line = _one_line_error(result)
    assert "wrong PIN" in line and "999999" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (b"this is not a signature", "not a valid CMS signature"),
        (b"", "the file is empty"),
        (None, "truncated"),
    ],
    ids=["garbage", "empty", "truncated"],
)
def test_bad_signature_files_are_one_line_errors(work, data, expect):
    report = work / "report.xml"
    if data is None:
        run_cli(
            "sign",
            "--signer",
            "file",
            "--key-file",
            str(work / "dev.p12"),
            str(report),
            *_trust(work),
        )
        full = (work / "report.xml.p7s").read_bytes()
        data = full[: len(full) - 40]
    (work / "bad.p7s").write_bytes(data)
    result = run_cli("verify", str(report), "--signature", str(work / "bad.p7s"), *_trust(work))
    assert expect in _one_line_error(result)


def test_signature_over_a_different_file(work):
    run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "dev.p12"),
        str(work / "report.xml"),
        *_trust(work),
    )
    other = work / "other.xml"
    other.write_bytes(b"<other/>")
    result = run_cli(
        "verify", str(other), "--signature", str(work / "report.xml.p7s"), *_trust(work)
    )
    assert result.code == AUTH
    assert "messageDigest differs" in result.stdout


def test_token_list_and_keys(softhsm, monkeypatch, test_pki):
    result = run_cli("--json", "token", "list", "--pkcs11-lib", str(softhsm.library))
    assert result.code == 0, result.stderr
    labels = {t["label"] for t in json.loads(result.stdout)["tokens"]}
    assert softhsm.ec_label in labels
    monkeypatch.setenv("SOCHI_PIN", softhsm.pin)
    result = run_cli(
        "--json", "token", "keys", "--pkcs11-lib", str(softhsm.library), "--token", softhsm.ec_label
    )
    assert result.code == 0, result.stderr
    keys = json.loads(result.stdout)["keys"]
    assert keys[0]["id"] == "01" and keys[0]["certificate"]["serial"] == format(
        test_pki.ec.serial, "x"
    )


def test_cert_show_chain_status_from_token_without_pin(softhsm, test_pki, work):
    base = [
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.library),
        "--token",
        softhsm.rsa_label,
    ]
    result = run_cli("--json", "cert", "show", *base)
    assert result.code == 0, result.stderr
    assert json.loads(result.stdout)["serial"] == format(test_pki.rsa.serial, "x")
    result = run_cli("--json", "cert", "chain", *base, "--trust", str(work / "root.pem"))
    assert result.code == 0, result.stderr
    assert len(json.loads(result.stdout)["chain"]) == 3
    result = run_cli("--json", "cert", "status", *base)
    data = json.loads(result.stdout)
    assert data["renewal"] == "office-visit" and 300 < data["days_left"] < 340


def test_cert_status_cloud_mentions_auto_renewal(work, test_pki):
    from sochi_cli.services.certificates import renewal_status

    status = renewal_status(
        test_pki.ec.cert, "cloud", account_requisites={"company_name": "Other LLC"}
    )
    assert status.path == "e-cloud-auto" and "30 days before" in status.summary
    assert status.requisites_drift == ["company_name"]
    result = run_cli(
        "--json",
        "cert",
        "status",
        "--cert",
        str(test_pki.write("ec.pem", pki.pem(test_pki.ec.cert))),
        "--signer",
        "file",
    )
    assert result.code == 0, result.stderr


def _sign_with_dev_key(work, *extra):
    return run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "dev.p12"),
        str(work / "report.xml"),
        *extra,
    )


def _pki_server(routes: dict[str, bytes]):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = routes.get(self.path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _chain_json(test_pki, *, links: bool) -> bytes:
    import base64

    entries = []
    for role, ca in (("operator_ca", test_pki.operator), ("root", test_pki.root)):
        entry = {"role": role, "certificate": base64.b64encode(pki.der(ca.cert)).decode()}
        if links:
            entry["crl"] = f"pki/crl?ca={role}"
        entries.append(entry)
    return json.dumps({"certificates": entries}).encode()


def test_crl_fetch_caches_every_ca_crl_and_show_reads_cache(work, test_pki, monkeypatch):
    from cryptography.hazmat.primitives.serialization import Encoding

    crl_der = test_pki.operator.crl(revoked=[(123, NOW - DAY)]).public_bytes(Encoding.DER)
    root_crl = test_pki.root.crl(revoked=[]).public_bytes(Encoding.DER)
    server = _pki_server(
        {
            "/api/v1/pki/crl": crl_der,
            "/api/v1/pki/crl?ca=operator_ca": crl_der,
            "/api/v1/pki/crl?ca=root": root_crl,
            "/api/v1/pki/chain": _chain_json(test_pki, links=True),
        }
    )
    try:
        monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{server.server_port}/api/v1")
        result = run_cli("--json", "crl", "fetch")
        assert result.code == 0, result.stderr
        data = json.loads(result.stdout)
        assert data["revoked"][0]["serial"] == "7b" and data["next_update"]
        assert len(data["chain"]) == 2 and data["warnings"] == []
        assert [c["issuer"].split(",")[0] for c in data["crls"]] == [
            "CN=DOS TEK GROUP CA (test)",
            "CN=Main CA (test)",
        ]
        assert data["crls"][1]["source"].endswith("/pki/crl?ca=root")
    finally:
        server.shutdown()
        server.server_close()
    result = run_cli("--json", "crl", "show")
    shown = json.loads(result.stdout)
    assert shown["issuer"].startswith("CN=DOS TEK GROUP CA") and len(shown["crls"]) == 2
    # the cached chain + CRLs now serve `sign` and `verify` without --trust/--crl
    assert _sign_with_dev_key(work).code == 0
    result = run_cli("verify", str(work / "report.xml"))
    assert result.code == 0, result.stdout
    assert "CN=DOS TEK GROUP CA (test),O=sochi tests,C=KG: not on the CRL of CN=Main CA" in (
        result.stdout
    )


def test_crl_fetch_says_which_ca_has_no_crl(work, test_pki, monkeypatch):
    from cryptography.hazmat.primitives.serialization import Encoding

    crl_der = test_pki.operator.crl(revoked=[]).public_bytes(Encoding.DER)
    server = _pki_server(
        {"/api/v1/pki/crl": crl_der, "/api/v1/pki/chain": _chain_json(test_pki, links=False)}
    )
    try:
        monkeypatch.setenv("SOCHI_API_URL", f"http://127.0.0.1:{server.server_port}/api/v1")
        result = run_cli("crl", "fetch")
    finally:
        server.shutdown()
        server.server_close()
    assert result.code == 0, result.stderr
    assert "no CRL for CA CN=Main CA (test)" in result.stderr
    # without the Main CA's CRL the operator CA's revocation is unknown: not a verdict
    assert _sign_with_dev_key(work).code == 0
    result = run_cli("verify", str(work / "report.xml"))
    assert result.code == AUTH and "VERDICT UNDETERMINED" in result.stdout
    assert "no CRL of CN=Main CA (test)" in result.stdout


def test_crl_show_without_cache_is_not_found():
    result = run_cli("crl", "show")
    assert "no CRL cached" in _one_line_error(result, int(ExitCode.NOT_FOUND))


def _subprocess_env(conf: Path) -> dict[str, str]:
    return {"SOFTHSM2_CONF": str(conf), "SOCHI_PIN": softhsm.PIN}


def test_no_token_is_one_line_error(tmp_path, work):
    conf = softhsm.write_config(tmp_path / "empty")
    result = run_sochi(
        "sign",
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.LIBRARY),
        str(work / "report.xml"),
        *_trust(work),
        env=_subprocess_env(conf),
    )
    assert "no token found" in _one_line_error(result)


def test_locked_pin_is_reported_before_any_attempt(tmp_path, work):
    conf = softhsm.write_config(tmp_path / "locked")
    softhsm.init_token(conf, "locked-token")
    softhsm.lock_user_pin(conf, "locked-token")
    env = _subprocess_env(conf)
    result = run_sochi("--json", "token", "list", "--pkcs11-lib", str(softhsm.LIBRARY), env=env)
    assert json.loads(result.stdout)["tokens"][0]["pin_state"] == "locked"
    result = run_sochi(
        "sign",
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.LIBRARY),
        str(work / "report.xml"),
        *_trust(work),
        env=env,
    )
    assert "is locked" in _one_line_error(result)


def test_token_import_loads_a_p12_into_softhsm(tmp_path, work, test_pki):
    conf = softhsm.write_config(tmp_path / "import")
    softhsm.init_token(conf, "imported")
    env = {**_subprocess_env(conf), "SOCHI_KEY_PASSPHRASE": "pw"}
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    kyrgyz = x509.Name(  # what a Kyrgyz certificate carries: the INN and the position
        [
            x509.NameAttribute(NameOID.SERIAL_NUMBER, "00203202010077"),
            x509.NameAttribute(NameOID.COMMON_NAME, "Aida Beishenova"),
            x509.NameAttribute(NameOID.TITLE, "Chief accountant"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "KG"),
        ]
    )
    issued = test_pki.operator.issue("-", key=test_pki.rsa.key, subject=kyrgyz)
    pki.write_p12(tmp_path / "k.p12", issued, test_pki.chain, b"pw")
    result = run_sochi(
        "token",
        "import",
        "--p12",
        str(tmp_path / "k.p12"),
        "--token-label",
        "imported",
        "--id",
        "0a0b",
        "--pkcs11-lib",
        str(softhsm.LIBRARY),
        env=env,
    )
    assert result.code == 0, result.stderr
    said = result.stdout + result.stderr
    assert "imported key id 0a0b" in said  # names as people read them, no dotted OIDs
    assert "title=Chief accountant,CN=Aida Beishenova,serialNumber=00203202010077" in said
    assert "2.5.4." not in said
    result = run_sochi(
        "sign",
        "--signer",
        "pkcs11",
        "--pkcs11-lib",
        str(softhsm.LIBRARY),
        "--token",
        "imported",
        "--key",
        "0a0b",
        str(work / "report.xml"),
        *_trust(work),
        env=env,
    )
    assert result.code == 0, result.stderr
    assert run_cli("verify", str(work / "report.xml"), *_trust(work)).code == 0


def _gost_files(work, gost, kind="gost2001"):
    from cryptography.hazmat.primitives.serialization import Encoding

    sub = gost.subscribers[kind]
    (work / "gost.key").write_bytes(sub.key_pem)
    (work / "gost.pem").write_bytes(pki.pem(sub.cert) + pki.pem(gost.operator.cert))
    (work / "gost-root.pem").write_bytes(pki.pem(gost.root.cert))
    for name, crl in (("gost-op.crl", gost.operator), ("gost-root.crl", gost.root)):
        (work / name).write_bytes(crl.crl(revoked=[]).public_bytes(Encoding.DER))
    return [
        "--trust",
        str(work / "gost-root.pem"),
        "--crl",
        str(work / "gost-op.crl"),
        "--crl",
        str(work / "gost-root.crl"),
    ]


def test_sign_and_verify_with_a_gost_key_file(work, gost):
    trust = _gost_files(work, gost)
    report = work / "report.xml"
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "gost.key"),
        "--cert-file",
        str(work / "gost.pem"),
        str(report),
        *trust,
    )
    assert result.code == 0, result.stderr
    result = run_cli("--json", "verify", str(report), *trust)
    assert result.code == 0, result.stdout
    data = json.loads(result.stdout)
    assert data["stands"] is True
    summary = data["signers"][0]["steps"][1]["summary"]
    assert "GOST 34.310-2004" in summary and "GOST 34.311-95" in summary
    report.write_bytes(b"<report>2</report>\n")
    result = run_cli("verify", str(report), *trust)
    assert result.code == AUTH and "SIGNATURE DOES NOT STAND" in result.stdout


@pytest.mark.parametrize(
    ("key", "expect"),
    [(b"garbage", "not a GOST private key"), ("other", "does not match the certificate")],
    ids=["garbage", "other-key"],
)
def test_bad_gost_key_file_is_one_line(work, gost, key, expect):
    trust = _gost_files(work, gost)
    if key == "other":
        key = gost.subscribers["gost2012_512"].key_pem
    (work / "gost.key").write_bytes(key)
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "gost.key"),
        "--cert-file",
        str(work / "gost.pem"),
        str(work / "report.xml"),
        *trust,
    )
    assert expect in _one_line_error(result, int(ExitCode.USAGE))
    assert not list(work.glob("*.p7s"))


def test_sign_with_rsa_pss_option(work, test_pki):
    from sochi_cli.cms import parse_signature
    from tests.signing.interop import openssl_verifies

    pki.write_p12(work / "rsa.p12", test_pki.rsa, test_pki.chain, None)
    report = work / "report.xml"
    result = run_cli(
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "rsa.p12"),
        "--rsa-pss",
        str(report),
        *_trust(work),
    )
    assert result.code == 0, result.stderr
    signature = work / "report.xml.p7s"
    assert parse_signature(signature.read_bytes()).signature_algorithm == "rsassa_pss"
    assert openssl_verifies("rsa", signature, report, work / "root.pem")
    assert run_cli("verify", str(report), *_trust(work)).code == 0


def test_encrypted_gost_key_takes_the_passphrase_from_environment(work, gost, monkeypatch):
    from tests.signing.interop import openssl

    trust = _gost_files(work, gost, "gost2012_256")
    proc = openssl(
        "pkcs8",
        "-topk8",
        "-engine",
        "gost",
        "-in",
        str(work / "gost.key"),
        "-v2",
        "aes-256-cbc",
        "-passout",
        "pass:s3cret-gost",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    (work / "gost.key").write_bytes(proc.stdout)
    args = [
        "sign",
        "--signer",
        "file",
        "--key-file",
        str(work / "gost.key"),
        "--cert-file",
        str(work / "gost.pem"),
        str(work / "report.xml"),
        *trust,
    ]
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "wrong")
    line = _one_line_error(run_cli(*args))
    assert "wrong passphrase" in line and "s3cret" not in line
    monkeypatch.setenv("SOCHI_KEY_PASSPHRASE", "s3cret-gost")
    result = run_cli(*args)
    assert result.code == 0, result.stderr


def test_key_inputs_are_refused_for_what_they_are(work, test_pki):
    """QA R4: each error names the right culprit — the passphrase file the passphrase came
    from, a folder given as a file, a report given as the key."""
    pki.write_p12(work / "enc.p12", test_pki.rsa, test_pki.chain, b"s3cret-pass")
    wrong = work / "pass.txt"
    wrong.write_text("not-it\n")
    wrong.chmod(0o600)
    sign = ["sign", "--signer", "file", str(work / "report.xml"), *_trust(work)]
    by_file = run_cli(*sign, "--key-file", str(work / "enc.p12"), "--passphrase-file", str(wrong))
    assert _one_line_error(by_file) == (
        f"error: {work}/enc.p12: wrong passphrase for the PKCS#12 file — check the passphrase "
        f"in {wrong} (--passphrase-file)"
    )
    folder = run_cli(*sign, "--key-file", str(work / "enc.p12"), "--passphrase-file", str(work))
    assert _one_line_error(folder, 2) == f"error: {work}: is a folder, not a key passphrase file"
    for not_a_key in (work / "report.xml", work / "root.pem"):
        result = run_cli(*sign, "--key-file", str(not_a_key))
        assert _one_line_error(result, 2) == (
            f"error: {not_a_key}: not a key file — expected a PKCS#12 file (.p12/.pfx) or a "
            "PEM private key with --cert-file"
        )
    assert not (work / "report.xml.p7s").exists()


def test_the_two_wrong_verdicts_of_issue_14(work, test_pki):
    """`sochi verify … --crl root.crl --crl ca.crl`: a signer whose CA the root's CRL revoked
    20 days before signing does not stand; an `openssl cms` RSASSA-PSS signature stands."""
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.signing.interop import OpensslSigner

    ca = pki.sub_ca(test_pki.root, "Revoked issuing CA (test)")
    sub = ca.issue("Signer under a revoked CA")
    report = work / "report.xml"
    der = OpensslSigner.write(work / "o1", "ec", sub, [ca.cert, test_pki.root.cert]).sign(report)
    (work / "report.xml.p7s").write_bytes(der)
    (work / "ca.crl").write_bytes(ca.crl(revoked=[]).public_bytes(Encoding.DER))
    (work / "root-revoking.crl").write_bytes(
        test_pki.root.crl(revoked=[(ca.cert.serial_number, NOW - 20 * DAY)]).public_bytes(
            Encoding.DER
        )
    )
    result = run_cli(
        "verify",
        str(report),
        "--trust",
        str(work / "root.pem"),
        "--crl",
        str(work / "root-revoking.crl"),
        "--crl",
        str(work / "ca.crl"),
    )
    assert result.code == AUTH, result.stdout
    assert "SIGNATURE DOES NOT STAND" in result.stdout
    assert "CA CN=Revoked issuing CA (test)" in result.stdout

    signer = OpensslSigner.write(work / "o2", "rsa", test_pki.rsa, test_pki.chain)
    (work / "report.xml.p7s").write_bytes(signer.sign(report, "-keyopt", "rsa_padding_mode:pss"))
    result = run_cli("verify", str(report), *_trust(work))
    assert result.code == 0, result.stdout
    assert "SIGNATURE STANDS" in result.stdout


def test_verify_says_a_folder_is_not_a_document_nor_a_signature(work):
    """A folder where a file is expected is named as a folder, not as missing."""
    folder = work / "evidence"
    folder.mkdir()
    report = work / "report.xml"
    report.write_text("<report/>")
    as_document = run_cli("verify", str(folder))
    assert as_document.code == ExitCode.USAGE
    assert as_document.stderr.strip().splitlines() == [
        f"error: {folder}: a folder, not a document — give the signed document"
    ]
    as_signature = run_cli("verify", str(report), "--signature", str(folder))
    assert as_signature.code == ExitCode.USAGE
    assert f"error: {folder}: a folder, not a signature file — pass --signature SIG" in (
        as_signature.stderr
    )
    missing = run_cli("verify", str(report))
    assert missing.code == ExitCode.USAGE
    assert f"{work / 'report.xml.p7s'}: no such signature file" in missing.stderr
