"""Signing-side edges of the script contract: `verify --at` before the declared signing time,
no silent overwrite of a signature."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from sochi_cli.cms import sign_detached
from sochi_cli.errors import ExitCode
from sochi_cli.services.verify import NOT_STANDING, STANDING, verify_dispute
from tests.signing import pki
from tests.support import run_cli

BODY = b"<report form='STI-077'>100</report>"


@pytest.fixture
def work(tmp_path, test_pki):
    (tmp_path / "report.xml").write_bytes(BODY)
    (tmp_path / "root.pem").write_bytes(pki.pem(test_pki.root.cert))
    pki.write_p12(tmp_path / "dev.p12", test_pki.ec, test_pki.chain, None)
    return tmp_path


def test_a_signature_checked_before_its_declared_signing_time_does_not_stand(test_pki):
    signature = sign_detached(BODY, test_pki.signer(test_pki.ec))
    crls = [test_pki.operator.crl(revoked=[]), test_pki.root.crl(revoked=[])]
    roots = [test_pki.root.cert]
    now = verify_dispute(BODY, signature, trust_roots=roots, crls=crls)
    assert now.verdict == STANDING
    signed_at = next(s for s in now.signers[0].steps if s.step == "8.2.3").details["signing_time"]
    from sochi_cli.timeutil import parse_instant

    before = verify_dispute(
        BODY,
        signature,
        trust_roots=roots,
        crls=crls,
        at=parse_instant(signed_at) - timedelta(hours=1),
    )
    assert before.verdict == NOT_STANDING and not before.stands
    step = next(s for s in before.signers[0].steps if s.step == "8.2.3")
    assert step.status == "failed" and "did not exist then" in step.summary


def test_verify_at_before_signing_exits_5_and_sign_keeps_an_existing_signature(work):
    report = work / "report.xml"
    key = [
        "--signer",
        "file",
        "--key-file",
        str(work / "dev.p12"),
        "--trust",
        str(work / "root.pem"),
    ]
    assert run_cli("sign", *key, str(report)).code == 0
    first = (work / "report.xml.p7s").read_bytes()
    again = run_cli("sign", *key, str(report))
    assert again.code == ExitCode.USAGE and "report.xml.p7s already exists" in again.stderr
    assert (work / "report.xml.p7s").read_bytes() == first  # untouched, nothing signed
    assert run_cli("sign", *key, str(report), "--force").code == 0
    # every signature made is in the audit log: what, by which certificate (clause 6.5)
    import hashlib

    audited = json.loads(run_cli("audit", "list", "--action", "document.sign", "--json").stdout)
    assert len(audited) == 2  # the refused attempt signed nothing and is not there
    last = audited[-1]
    assert last["actor"]["certificate_serial"] and "CN=" in last["actor"]["subject"]
    (entry,) = last["details"]["files"]
    assert entry["sha256"] == hashlib.sha256(BODY).hexdigest()
    signature = (work / "report.xml.p7s").read_bytes()
    assert entry["signature_sha256"] == hashlib.sha256(signature).hexdigest()
    assert run_cli("audit", "verify").code == 0
    trust = ["--trust", str(work / "root.pem")]
    early = run_cli("--json", "verify", str(report), *trust, "--at", "2001-01-01T00:00")
    assert early.code == ExitCode.AUTH
    assert json.loads(early.stdout)["stands"] is False


def test_the_remembered_signer_replaces_the_previous_ones_settings(tmp_path):
    """A switch of key forgets the previous key's settings; the same key keeps its padding."""
    from types import SimpleNamespace

    from sochi_cli.services.signers import SIGNER_SETTINGS, SignerOptions, remembered_settings

    before = {"signer": "file", "key_file": str(tmp_path / "k.p12"), "rsa_padding": "pss"}
    token = SimpleNamespace(
        kind="pkcs11",
        token_info=SimpleNamespace(label="Rutoken ECP"),
        key_info=SimpleNamespace(key_id="01"),
    )
    switched = remembered_settings(token, SignerOptions(kind="pkcs11"), before)
    assert switched["signer"] == "pkcs11" and switched["token_label"] == "Rutoken ECP"
    assert switched["key_file"] is None and switched["rsa_padding"] is None  # forgotten
    assert "pkcs11_lib" not in switched  # found without --pkcs11-lib: left as it is
    assert set(switched) <= set(SIGNER_SETTINGS)
    again = remembered_settings(
        SimpleNamespace(kind="file"), SignerOptions(key_file=tmp_path / "k.p12"), before
    )
    assert again["key_file"] == before["key_file"] and "rsa_padding" not in again  # kept
    assert again["token_label"] is None and again["inn"] is None
