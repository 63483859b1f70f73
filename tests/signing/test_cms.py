"""CAdES-BES build/parse/verify, and interoperability with `openssl cms` in both directions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sochi_cli.cms import parse_signature, sign_detached, sign_detached_many, verify_detached
from sochi_cli.errors import SignatureError
from tests.signing import pki
from tests.signing.interop import openssl

KINDS = ["rsa", "ec"]


_openssl = openssl


@pytest.mark.parametrize("kind", KINDS)
def test_signature_carries_cades_bes_attributes(test_pki, kind):
    signer = test_pki.signer(getattr(test_pki, kind))
    der = sign_detached(b"report body", signer)
    parsed = parse_signature(der)
    assert parsed.detached
    assert parsed.signer_certificate == signer.certificate
    assert parsed.digest_algorithm == "sha256"
    assert parsed.signing_time is not None and parsed.signing_time.tzinfo is not None
    assert parsed.signer.ess_certificate_hash is not None
    assert parsed.signer.content_type == "data"
    assert len(parsed.certificates) == 3
    assert verify_detached(der, b"report body").signer_certificate == signer.certificate


@pytest.mark.parametrize("kind", KINDS)
def test_openssl_verifies_our_signature(test_pki, kind, tmp_path):
    signer = test_pki.signer(getattr(test_pki, kind))
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>42</report>\n")
    sig = tmp_path / "report.xml.p7s"
    sig.write_bytes(sign_detached(content, signer))
    proc = _openssl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(sig),
        "-content",
        str(content),
        "-CAfile",
        str(test_pki.root_pem),
        "-purpose",
        "any",
        "-out",
        str(tmp_path / "out"),
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert b"Verification successful" in proc.stderr
    content.write_bytes(b"<report>43</report>\n")
    proc = _openssl(
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        str(sig),
        "-content",
        str(content),
        "-noverify",
        "-out",
        str(tmp_path / "out"),
    )
    assert proc.returncode != 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("attrs", [True, False], ids=["signed-attrs", "noattr"])
def test_we_verify_openssl_signature(test_pki, kind, attrs, tmp_path):
    issued = getattr(test_pki, kind)
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>7</report>\n")
    cert = test_pki.write(f"{kind}.pem", pki.pem(issued.cert))
    key = tmp_path / "key.pem"
    key.write_bytes(pki.key_pem(issued.key))
    sig = tmp_path / "report.p7s"
    args = [
        "cms",
        "-sign",
        "-binary",
        "-outform",
        "DER",
        "-in",
        str(content),
        "-signer",
        str(cert),
        "-inkey",
        str(key),
        "-md",
        "sha256",
        "-out",
        str(sig),
        "-certfile",
        str(test_pki.bundle_pem),
    ]
    if not attrs:
        args.append("-noattr")
    proc = _openssl(*args)
    assert proc.returncode == 0, proc.stderr.decode()
    parsed = verify_detached(sig.read_bytes(), content)
    assert parsed.signer_certificate == issued.cert
    assert (parsed.signing_time is not None) is attrs
    from sochi_cli.services.verify import STANDING, verify_dispute

    report = verify_dispute(
        content,
        sig.read_bytes(),
        trust_roots=[test_pki.root.cert],
        crls=test_pki.crls,
    )
    assert report.verdict == STANDING, report.reason
    with pytest.raises(SignatureError) as err:
        verify_detached(sig.read_bytes(), b"something else")
    assert err.value.code == "signature_invalid"


def test_batch_signs_each_content(test_pki):
    signer = test_pki.signer(test_pki.ec)
    contents = [b"a", b"b", io.BytesIO(b"c")]
    sigs = sign_detached_many(contents, signer)
    for sig, body in zip(sigs, [b"a", b"b", b"c"], strict=True):
        verify_detached(sig, body)


def test_pem_signature_is_accepted(test_pki, tmp_path):
    signer = test_pki.signer(test_pki.rsa)
    der = sign_detached(b"x", signer)
    proc = _openssl("cms", "-cmsout", "-inform", "DER", "-outform", "PEM", input=der)
    assert proc.returncode == 0
    verify_detached(proc.stdout, b"x")


def test_signature_over_other_file_is_invalid(test_pki):
    der = sign_detached(b"first", test_pki.signer(test_pki.rsa))
    with pytest.raises(SignatureError, match="messageDigest differs") as err:
        verify_detached(der, b"second")
    assert err.value.code == "signature_invalid"


def test_signature_by_another_key_is_invalid(test_pki):
    genuine = test_pki.signer(test_pki.ec)
    impostor = pki.Issued(pki.ec_key(), test_pki.ec.cert)

    class Forger:
        kind = "file"
        certificate = genuine.certificate
        chain = genuine.chain

        def algorithm(self):
            return genuine.algorithm()

        def sign_digests(self, digests):
            from sochi_cli.token.file import KeySigner as KS

            other = test_pki.operator.issue("forger", key=impostor.key)
            return KS(impostor.key, other.cert).sign_digests(digests)

    der = sign_detached(b"x", Forger())
    with pytest.raises(SignatureError, match="does not verify") as err:
        verify_detached(der, b"x")
    assert err.value.code == "signature_invalid"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"garbage, not DER",
        b"\x30\x82\x10\x00\x06\x09",
        b"-----BEGIN CMS-----\nzz\n-----END CMS-----\n",
    ],
    ids=["empty", "text", "truncated-header", "bad-pem"],
)
def test_garbage_is_malformed(data):
    with pytest.raises(SignatureError) as err:
        parse_signature(data)
    assert err.value.code == "signature_malformed"
    assert "\n" not in err.value.one_line()


def test_truncated_signature_is_malformed(test_pki):
    der = sign_detached(b"x", test_pki.signer(test_pki.rsa))
    with pytest.raises(SignatureError) as err:
        parse_signature(der[: len(der) // 2])
    assert err.value.code == "signature_malformed"


def test_non_signed_data_cms_is_malformed(tmp_path):
    content = tmp_path / "c"
    content.write_bytes(b"hello")
    proc = _openssl("cms", "-data_create", "-binary", "-in", str(content), "-outform", "DER")
    assert proc.returncode == 0
    with pytest.raises(SignatureError, match="not signedData") as err:
        parse_signature(proc.stdout)
    assert err.value.code == "signature_malformed"


def test_digest_streams_a_file(tmp_path: Path):
    import hashlib

    from sochi_cli.cms import digest_content

    path = tmp_path / "big"
    with path.open("wb") as fh:
        for _ in range(5):
            fh.write(b"z" * (1 << 20) + b"q")
    assert digest_content(path) == hashlib.sha256(path.read_bytes()).digest()


@pytest.mark.parametrize("kind", KINDS)
def test_batch_template_matches_the_reference_encoder(test_pki, kind):
    import hashlib

    from sochi_cli.cms.build import BatchTemplate, assemble_signed_data, build_signed_attributes
    from sochi_cli.timeutil import utcnow

    signer = test_pki.signer(getattr(test_pki, kind))
    when = utcnow().replace(microsecond=0)
    digest = hashlib.sha256(b"content").digest()
    template = BatchTemplate(signer.algorithm(), signer.certificate, signer.chain, when)
    attrs = build_signed_attributes(digest, signer.certificate, when)
    assert template.signed_attributes(digest) == attrs.dump()
    sig = signer.sign_digests([hashlib.sha256(attrs.dump()).digest()])[0]
    expected = assemble_signed_data(
        attrs, sig, signer.algorithm(), signer.certificate, signer.chain
    )
    assert template.assemble(template.signed_attributes(digest), sig) == expected
