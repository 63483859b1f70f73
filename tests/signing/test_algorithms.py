"""RSASSA-PSS (RFC 4056) and the SHA-2 family for RSA and ECDSA P-256/384/521, both ways
against `openssl cms`, through the clause-8 procedure."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sochi_cli.cms import parse_signature, sign_detached, verify_detached
from sochi_cli.errors import SignatureError
from sochi_cli.services.verify import STANDING, verify_dispute
from sochi_cli.token.file import KeySigner
from tests.signing import pki
from tests.signing.interop import OpensslSigner, openssl_verifies


@pytest.fixture(scope="module")
def ec_keys():
    return {
        "P-384": ec.generate_private_key(ec.SECP384R1()),
        "P-521": ec.generate_private_key(ec.SECP521R1()),
    }


def _stands(test_pki, content, der):
    report = verify_dispute(content, der, trust_roots=[test_pki.root.cert], crls=test_pki.crls)
    assert report.verdict == STANDING, report.reason
    return report


@pytest.mark.parametrize(
    "keyopts",
    [
        ["-keyopt", "rsa_padding_mode:pss"],  # OpenSSL's default salt: the maximum
        ["-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:digest"],
        ["-keyopt", "rsa_padding_mode:pss", "-md", "sha512"],
    ],
    ids=["salt-max", "salt-digest", "sha512"],
)
def test_openssl_rsa_pss_signature_stands(test_pki, tmp_path, keyopts):
    """Issue 14: a valid PSS signature was "algorithm rsassa_pss is not supported", exit 5."""
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>pss</report>\n")
    signer = OpensslSigner.write(tmp_path, "rsa", test_pki.rsa, test_pki.chain)
    der = signer.sign(content, *keyopts)
    assert parse_signature(der).signature_algorithm == "rsassa_pss"
    report = _stands(test_pki, content, der)
    assert "rsassa_pss" in report.signers[0].steps[1].summary
    with pytest.raises(SignatureError) as err:
        verify_detached(der, b"other")
    assert err.value.code == "signature_invalid"


@pytest.mark.parametrize("curve", ["P-256", "P-384", "P-521"])
@pytest.mark.parametrize("md", ["sha256", "sha384", "sha512"])
def test_openssl_ecdsa_sha2_signature_stands(test_pki, ec_keys, tmp_path, curve, md):
    key = test_pki.ec.key if curve == "P-256" else ec_keys[curve]
    issued = test_pki.operator.issue(f"EC {curve}", key=key)
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>ec</report>\n")
    der = OpensslSigner.write(tmp_path, "ec", issued, test_pki.chain).sign(content, "-md", md)
    assert parse_signature(der).digest_algorithm == md
    _stands(test_pki, content, der)


@pytest.mark.parametrize("md", ["sha384", "sha512", "sha224"])
def test_openssl_rsa_sha2_signature_stands(test_pki, tmp_path, md):
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>rsa</report>\n")
    der = OpensslSigner.write(tmp_path, "rsa", test_pki.rsa, test_pki.chain).sign(
        content, "-md", md
    )
    _stands(test_pki, content, der)


@pytest.mark.parametrize("which", ["rsa-pss", "P-384", "P-521"])
def test_openssl_verifies_our_signature(test_pki, ec_keys, tmp_path, which):
    if which == "rsa-pss":
        signer = KeySigner(test_pki.rsa.key, test_pki.rsa.cert, test_pki.chain, rsa_pss=True)
    else:
        issued = test_pki.operator.issue(f"EC {which}", key=ec_keys[which])
        signer = KeySigner(issued.key, issued.cert, test_pki.chain)
    content = tmp_path / "report.xml"
    content.write_bytes(b"<report>ours</report>\n")
    signature = tmp_path / "report.xml.p7s"
    signature.write_bytes(sign_detached(content, signer))
    parsed = parse_signature(signature.read_bytes())
    assert parsed.digest_algorithm == signer.algorithm().digest
    assert openssl_verifies("rsa", signature, content, test_pki.root_pem)
    _stands(test_pki, content, signature.read_bytes())
    content.write_bytes(b"<report>changed</report>\n")
    assert not openssl_verifies("rsa", signature, content, test_pki.root_pem)


def test_pss_with_a_non_sha2_hash_is_undetermined(test_pki, tmp_path):
    content = tmp_path / "report.xml"
    content.write_bytes(b"x")
    der = OpensslSigner.write(tmp_path, "rsa", test_pki.rsa, test_pki.chain).sign(
        content, "-keyopt", "rsa_padding_mode:pss", "-md", "sha1"
    )
    report = verify_dispute(content, der, trust_roots=[test_pki.root.cert], crls=test_pki.crls)
    assert report.verdict == "indeterminate"
    assert report.signers[0].steps[1].details["code"] == "algorithm_unsupported"


def test_pss_certificate_chain_verifies(test_pki, tmp_path):
    """A subscriber certificate signed with RSASSA-PSS by an RSA CA: the chain still builds."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    ca_key = test_pki.rsa.key
    ca_cert = test_pki.root.issue("RSA CA (PSS)", key=ca_key, ca=True).cert
    ca = pki.CA(ca_key, ca_cert)
    sub = ca.issue("PSS-certified", key=pki.ec_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(sub.cert.subject)
        .issuer_name(ca_cert.subject)
        .public_key(sub.key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.NOW - dt.timedelta(days=1))
        .not_valid_after(pki.NOW + dt.timedelta(days=30))
        .add_extension(sub.cert.extensions.get_extension_for_class(x509.KeyUsage).value, True)
        .sign(
            ca_key,
            hashes.SHA256(),
            rsa_padding=padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH),
        )
    )
    der = sign_detached(b"pss chain", KeySigner(sub.key, cert, [ca_cert, test_pki.root.cert]))
    report = verify_dispute(
        b"pss chain",
        der,
        trust_roots=[test_pki.root.cert],
        crls=[ca.crl(revoked=[]), test_pki.root.crl(revoked=[])],
    )
    assert report.verdict == STANDING, report.reason
