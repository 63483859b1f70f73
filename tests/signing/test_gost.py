"""GOST R 34.10-2001/2012 and R 34.11-94/Streebog through OpenSSL's gost engine: digests, the
test PKI as OpenSSL sees it, and CMS interop with `openssl cms -engine gost` both ways."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from sochi_cli.cms import digest_content, gost, sign_detached, verify_detached
from sochi_cli.errors import SignatureError
from sochi_cli.services.verify import STANDING, verify_dispute
from tests.signing import pki
from tests.signing.interop import GOST_KINDS, OpensslSigner, openssl, openssl_verifies
from tests.signing.pki import DAY, NOW

OPENSSL_DIGEST = {
    "gostr3411_94": "-md_gost94",
    "streebog256": "-md_gost12_256",
    "streebog512": "-md_gost12_512",
}


@pytest.mark.parametrize("name", list(OPENSSL_DIGEST))
def test_digest_matches_openssl_dgst(name, tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"\x00\x01 streamed in chunks " * 100_000)  # > 1 MiB: several chunks
    proc = openssl("dgst", "-engine", "gost", OPENSSL_DIGEST[name], "-r", str(path))
    assert proc.returncode == 0, proc.stderr.decode()
    assert digest_content(path, name).hex() == proc.stdout.split()[0].decode()
    assert digest_content(path.read_bytes(), name) == digest_content(path, name)


def test_gost_test_pki_is_what_openssl_accepts(gost, tmp_path):
    """The fixtures are standard: OpenSSL builds the chain and checks both CRLs."""
    sub = gost.subscribers["gost2012_256"]
    files = {
        "root.pem": pki.pem(gost.root.cert),
        "op.pem": pki.pem(gost.operator.cert),
        "sub.pem": pki.pem(sub.cert),
        "root.crl": gost.root.crl(revoked=[]).public_bytes(Encoding.PEM),
        "op.crl": gost.operator.crl(revoked=[]).public_bytes(Encoding.PEM),
        "revoked.crl": gost.operator.crl(revoked=[(sub.serial, NOW - DAY)]).public_bytes(
            Encoding.PEM
        ),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)

    def verify(op_crl: str) -> bytes:
        proc = openssl(
            "verify",
            "-engine",
            "gost",
            "-CAfile",
            str(tmp_path / "root.pem"),
            "-untrusted",
            str(tmp_path / "op.pem"),
            "-CRLfile",
            str(tmp_path / "root.crl"),
            "-CRLfile",
            str(tmp_path / op_crl),
            "-crl_check_all",
            str(tmp_path / "sub.pem"),
        )
        return proc.stdout + proc.stderr

    assert b"sub.pem: OK" in verify("op.crl")
    assert b"certificate revoked" in verify("revoked.crl")


@pytest.mark.parametrize("kind", GOST_KINDS)
def test_openssl_verifies_our_gost_signature(gost, kind, tmp_path):
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>42</report>\n")
    signature = tmp_path / "report.xml.p7s"
    signature.write_bytes(sign_detached(content, gost.signer(gost.subscribers[kind])))
    root = gost.write("root.pem", pki.pem(gost.root.cert))
    assert openssl_verifies(kind, signature, content, root)
    content.write_bytes(b"<report>43</report>\n")
    assert not openssl_verifies(kind, signature, content, root)


@pytest.mark.parametrize("kind", GOST_KINDS)
@pytest.mark.parametrize("attrs", [True, False], ids=["signed-attrs", "noattr"])
def test_we_verify_openssl_gost_signature(gost, kind, attrs, tmp_path):
    issued = gost.subscribers[kind]
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>7</report>\n")
    signer = OpensslSigner.write(tmp_path, kind, issued, gost.chain)
    der = signer.sign(content, *([] if attrs else ["-noattr"]))
    parsed = verify_detached(der, content)
    assert parsed.signer_certificate == issued.cert
    assert parsed.signer.signature_algorithm == "gost"
    assert parsed.digest_algorithm == gost.subscribers[kind].key.digest
    report = verify_dispute(content, der, trust_roots=[gost.root.cert], crls=gost.crls)
    assert report.verdict == STANDING, report.reason
    with pytest.raises(SignatureError) as err:
        verify_detached(der, b"something else")
    assert err.value.code == "signature_invalid"


def test_gost_key_that_does_not_match_the_certificate_is_refused(gost):
    from sochi_cli.errors import UsageError
    from sochi_cli.token.file import KeySigner

    a, b = gost.subscribers["gost2012_256"], gost.subscribers["gost2001"]
    with pytest.raises(UsageError, match="does not match"):
        KeySigner(b.key.key, a.cert, gost.chain)


def test_engine_missing_is_a_clear_error(monkeypatch):
    """Where the engine cannot load, GOST is refused with how to install it (no crash)."""
    monkeypatch.setattr(gost, "_state", {"failure": "OpenSSL's gost engine is not installed"})
    with pytest.raises(gost.GostUnavailable, match="not installed"):
        digest_content(b"x", "streebog256")
    assert not gost.available()
