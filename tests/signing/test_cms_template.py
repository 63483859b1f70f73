"""The per-batch DER template is byte-for-byte the asn1crypto reference encoding."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sochi_cli.cms import parse_signature, sign_detached_many, verify_detached
from sochi_cli.cms.build import BatchTemplate, assemble_signed_data, build_signed_attributes
from sochi_cli.errors import SignatureError
from sochi_cli.token.base import (
    ECDSA_P256_SHA256,
    RSA_PKCS1V15_SHA256,
    ecdsa_raw_to_der,
    ecdsa_to_der,
)

UTC = dt.UTC
# UTCTime until 2049, GeneralizedTime from 2050: both encodings and the switch between them
signing_times = st.datetimes(
    min_value=dt.datetime(1950, 1, 1), max_value=dt.datetime(2200, 12, 31)
).map(lambda t: t.replace(microsecond=0, tzinfo=UTC))


def _certificate(test_pki, issuer_unit: str, serial: int) -> x509.Certificate:
    """A certificate whose issuer name (and so every length around it) varies in size."""
    issuer = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "Test CA"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, issuer_unit),
        ]
    )
    key = test_pki.ec.key
    now = dt.datetime(2026, 1, 1, tzinfo=UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Subscriber")]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(test_pki.operator.key, hashes.SHA256())
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    digest=st.binary(min_size=32, max_size=32),
    when=signing_times,
    issuer_unit=st.text(alphabet="abcdefgh ", min_size=1, max_size=400),
    serial=st.integers(min_value=1, max_value=(1 << 159) - 1),
    rsa_signature=st.binary(min_size=1, max_size=600),
    ec_raw=st.binary(min_size=64, max_size=64),
    chain_size=st.integers(min_value=0, max_value=2),
)
def test_template_matches_the_reference_encoder_for_any_sizes(
    test_pki, digest, when, issuer_unit, serial, rsa_signature, ec_raw, chain_size
):
    certificate = _certificate(test_pki, issuer_unit, serial)
    chain = [test_pki.operator.cert, test_pki.root.cert][:chain_size]
    reference_attrs = build_signed_attributes(digest, certificate, when)
    for algorithm, signature in (
        (RSA_PKCS1V15_SHA256, rsa_signature),
        (ECDSA_P256_SHA256, ec_raw),
        (ECDSA_P256_SHA256, ecdsa_raw_to_der(ec_raw)),
    ):
        template = BatchTemplate(algorithm, certificate, chain, when)
        attrs = template.signed_attributes(digest)
        assert attrs == reference_attrs.dump()
        expected = assemble_signed_data(reference_attrs, signature, algorithm, certificate, chain)
        assert template.signed_data(digest, signature) == expected
        assert template.assemble(attrs, signature) == expected


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_batch_signatures_equal_the_reference_and_verify(test_pki, kind):
    signer = test_pki.signer(getattr(test_pki, kind))
    when = dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    contents = [b"", b"x", b"report " * 1000]
    signatures = sign_detached_many(contents, signer, signing_time=when)
    for content, der in zip(contents, signatures, strict=True):
        parsed = parse_signature(der)
        assert parsed.signing_time == when
        verify_detached(der, content)
        attrs = build_signed_attributes(hashlib.sha256(content).digest(), signer.certificate, when)
        value = parsed.signers[0].signature
        if kind == "rsa":  # PKCS#1 v1.5 is deterministic: the signature value is reproducible
            assert [value] == signer.sign_digests([hashlib.sha256(attrs.dump()).digest()])
        assert der == assemble_signed_data(
            attrs, value, signer.algorithm(), signer.certificate, signer.chain
        )


def test_template_refuses_a_digest_of_the_wrong_size(test_pki):
    signer = test_pki.signer(test_pki.ec)
    when = dt.datetime(2026, 1, 1, tzinfo=UTC)
    template = BatchTemplate(signer.algorithm(), signer.certificate, signer.chain, when)
    with pytest.raises(SignatureError) as err:
        template.signed_attributes(b"short")
    assert err.value.code == "digest_invalid"
    with pytest.raises(SignatureError) as err:
        template.assemble(b"\x31\x00", ecdsa_raw_to_der(bytes(64)))
    assert err.value.code == "signature_malformed"


@given(raw=st.sampled_from([64, 96, 132]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_raw_ecdsa_to_der_matches_cryptography(raw):
    half = len(raw) // 2
    expected = encode_dss_signature(
        int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    )
    assert ecdsa_raw_to_der(raw) == expected
    if len(raw) == 64:
        assert ecdsa_to_der(expected) == expected
        assert ecdsa_to_der(raw) == expected


@given(value=st.binary(min_size=0, max_size=80))
def test_ecdsa_to_der_accepts_only_what_cryptography_decodes(value):
    try:
        result = ecdsa_to_der(value)
    except SignatureError:
        return
    if result is value or result == value:  # taken as DER: must decode and re-encode equal
        r, s = decode_dss_signature(value)
        assert encode_dss_signature(r, s) == value
    else:
        assert len(value) == 64
